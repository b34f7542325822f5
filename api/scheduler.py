"""Nightly planning: APScheduler with a persistent job store in the service's own database.

The job has a fixed id and is added with ``replace_existing=True``, so restarts keep one job;
``coalesce`` and ``max_instances=1`` stop catch-up storms, and ``misfire_grace_time`` lets a
run missed during a short outage still start. A row in ``nightly_runs`` per plan date is the
database-level guard: a second scheduler or a restart mid-run cannot plan the same day twice.
A failed run is tried again ``nightly_retry_delay_min`` later, ``nightly_retries`` times at
most (a stored job of its own; the run's row keeps when it is due, so a retry that a stop
kept from being stored is stored at the next start). At the start, today's nightly plan
that a stop cut short, or that the service was down for, is made at once while the day's
first shift has not begun. The runs' record in the database is ``api.nightly_runs``'s.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select

from api import repo
from api.db import DowntimeRow, NightlyRunRow
from api.ingest import ingest_dir
from api.jobs import error_text
from api.nightly_runs import (
    _attempts,
    _claim,
    _failed_message,
    _missing_today,
    _record,
    _retry_at,
    _retry_moved,
    by_hand,
    prune_readings,
)
from api.planner import Planner
from api.routing import Routing

if TYPE_CHECKING:
    from api.deps import Runtime


log = logging.getLogger(__name__)


JOB_ID = "binroute-nightly-plan"


RERUN_JOB_ID = "binroute-nightly-rerun"  # today's nightly run at the start: cut short, or missed


RETRY_JOB_ID = "binroute-nightly-retry"  # a failed nightly run tried again after a delay


_RUNTIMES: dict[str, Runtime] = {}


def runtime_key(database_url: str) -> str:
    """A stable, secret-free key of a database (stored as the job's argument)."""
    return hashlib.sha256(database_url.encode()).hexdigest()[:16]


def nightly_job(key: str) -> None:
    """Entry point stored in the job store: plan today (city time, on the service's clock)
    for the runtime ``key``."""
    runtime = _RUNTIMES.get(key)
    if runtime is None:
        log.warning("nightly job fired but no app is running for database %s", key)
        return
    run_nightly(runtime, runtime.jobs.today())


def _retry_later(runtime: Runtime, plan_date: date, attempt: int, at: datetime) -> bool:
    """Store the job that tries the failed nightly run of ``plan_date`` again at ``at``
    (attempt ``attempt + 1``); once the run is marked failed, which the retry takes over.
    False when the service is stopping (its scheduler taken away): the run's row keeps
    ``retry_at``, and the next start stores the job (:func:`_resume_retry`)."""
    with runtime.scheduling:
        if runtime.scheduler is None:
            return False
        _store_retry(runtime.scheduler, runtime, plan_date, attempt, at)
    return True


def _store_retry(
    scheduler: BackgroundScheduler, runtime: Runtime, plan_date: date, attempt: int, at: datetime
) -> None:
    """Add the retry job of :func:`_retry_later` to ``scheduler``."""
    scheduler.add_job(
        nightly_retry_job,
        DateTrigger(run_date=at),
        args=[runtime_key(runtime.db.url), plan_date.isoformat(), attempt + 1],
        id=RETRY_JOB_ID,
        name=f"nightly plan of {plan_date} again (attempt {attempt + 1})",
        replace_existing=True,
        misfire_grace_time=None,  # stored: a stop before it runs leaves it due at the next
    )  # start, and the job checks the day is not over


def _failed(
    runtime: Runtime, plan_date: date, plan_id: int | None, attempt: int, reason: str
) -> None:
    """Record the failed nightly run of ``plan_date`` and store its retry. When none follows
    (none left, or the retry or the failure could not be stored) the run's message, if it
    can be written, and the log tell the dispatcher to make the plan by hand."""
    retry_at = _retry_at(runtime, attempt)
    message = _failed_message(runtime, plan_date, attempt, reason, retry_at)
    unrecorded = _record(runtime, plan_date, "failed", plan_id, message, retry_at)
    if unrecorded is not None:  # a retry takes over a run that reads failed only
        log.error(
            "nightly plan for %s failed: %s; the failure could not be recorded (%s), so no "
            "retry follows: %s",
            plan_date,
            reason,
            unrecorded,
            by_hand(plan_date),
        )
        return
    if retry_at is None:
        if _attempts(runtime) > 1:
            log.error("nightly plan for %s: %s", plan_date, message)
        return
    try:  # once the run reads failed: a retry firing before could not take it over
        stored = _retry_later(runtime, plan_date, attempt, retry_at)
    except Exception as exc:  # the job store is the database: down or locked
        why = f"its retry could not be stored ({error_text(exc)})"
        message = _failed_message(runtime, plan_date, attempt, reason, why)
        log.error("nightly plan for %s: %s", plan_date, message)
        _record(runtime, plan_date, "failed", plan_id, message)  # the log has it if not
        return
    if not stored:
        log.warning(
            "nightly plan for %s failed while the service stopped: its retry at %s is "
            "stored when the service starts again",
            plan_date,
            retry_at.isoformat(),
        )
        return
    log.info("nightly plan for %s tried again at %s", plan_date, retry_at.isoformat())


def nightly_retry_job(key: str, plan_date: str, attempt: int) -> None:
    """Entry point stored in the job store: try the failed nightly run of ``plan_date``
    again (attempt ``attempt``), unless the day is over or has a finished plan since (a
    dispatcher's: the nightly would plan it over)."""
    runtime = _RUNTIMES.get(key)
    if runtime is None:
        log.warning("nightly retry fired but no app is running for database %s", key)
        return
    day = date.fromisoformat(plan_date)
    if day < runtime.jobs.today():
        log.info("nightly plan for %s not tried again: the day is over", day)
        return
    with runtime.db.reader() as s:
        if repo.latest_done_plan(s, day) is not None:
            log.info("nightly plan for %s not tried again: the day has a finished plan", day)
            return
    run_nightly(runtime, day, attempt=attempt)


def run_nightly(
    runtime: Runtime,
    plan_date: date,
    *,
    planner: Planner | None = None,
    routing: Routing | None = None,
    attempt: int = 1,
) -> int | None:
    """Ingest -> forecast -> plan -> store -> publish for ``plan_date``, at most once.

    Ingest stores the reading files of ``settings.ingest_dir`` (if set; when the folder
    cannot be read or written, the night plans on what is stored and says so), then the job reads
    the inventory, readings and reports committed so far; forecast and plan run
    in ``planner.plan``; store writes the plan version with its exports; publish marks the
    night's run done so dispatchers and trucks pick up the newest version, after deleting
    the readings older than the days kept (:func:`prune_readings`). A run that fails
    (the solver, the database briefly locked...) is tried again ``nightly_retry_delay_min``
    later by the scheduler, ``nightly_retries`` times at most; the run's message says which
    attempt failed why, and when the next is, or, when none follows, to make the plan by hand
    with POST /plans (:func:`by_hand`). A database error writing the failure down is logged
    with the same advice, not raised.

    Parameters
    ----------
    attempt : int
        Which try of the night's plan this is (1 the first; :func:`nightly_retry_job`'s).

    Returns
    -------
    int or None
        The plan id, or None when the date was already planned by a nightly run (or its
        plan job could not even be stored).
    """
    claimed = _claim(runtime, plan_date, attempt)
    if claimed is None:
        log.info("nightly plan for %s already produced; skipping", plan_date)
        return None
    settings = runtime.settings  # the night has time: its own, longer solver budget
    ingested = ""
    plan_id: int | None = None
    try:
        if settings.ingest_dir:
            try:
                history = repo.history_window(
                    plan_date, settings.readings_history_days, settings.tz
                )
                report = ingest_dir(
                    runtime.db, Path(settings.ingest_dir), history, runtime.jobs.reading_refused
                )
                ingested = f"; {report}"
            except OSError as exc:  # the folder, not a file: plan on what is stored
                log.exception(
                    "ingest of %s for the nightly plan of %s failed", settings.ingest_dir, plan_date
                )
                ingested = f"; ingest failed, planned on the readings stored: {exc}"
        plan_id = runtime.jobs.create_plan(plan_date, settings.nightly_time_limit_s, "nightly").id
        runtime.jobs.run_plan(plan_id, planner or runtime.planner, routing or runtime.routing)
    except Exception as exc:  # any failure is the run's, and is tried again
        log.error("nightly plan %s for %s failed: %s", plan_id, plan_date, error_text(exc))
        _failed(runtime, plan_date, plan_id, claimed.attempt, error_text(exc) + ingested)
        return plan_id
    published = "published" + ingested + prune_readings(runtime, plan_date)
    if claimed.attempt > 1:
        published += f" at attempt {claimed.attempt} of {_attempts(runtime)}; {claimed.after}"
    unrecorded = _record(runtime, plan_date, "done", plan_id, published)
    if unrecorded is not None:  # the plan is stored and published all the same
        log.error(
            "nightly plan %s for %s published, but its run could not be marked done (%s): "
            "GET /nightly-runs shows it running until the next start",
            plan_id,
            plan_date,
            unrecorded,
        )
        return plan_id
    log.info("nightly plan %s for %s published", plan_id, plan_date)
    return plan_id


def back_job_id(downtime_id: int) -> str:
    """The id of the job that re-plans the day when downtime ``downtime_id`` ends."""
    return f"binroute-back-in-service-{downtime_id}"


def back_in_service_job(key: str, downtime_id: int) -> None:
    """Entry point stored in the job store: at a downtime's end, re-plan its day (city time)
    when it is today and has a finished plan, so the truck takes bins again."""
    runtime = _RUNTIMES.get(key)
    if runtime is None:
        log.warning("back-in-service job fired but no app is running for database %s", key)
        return
    with runtime.db.reader() as s:
        row = s.get(DowntimeRow, downtime_id)
        if row is None or row.end_at is None:
            return  # deleted, or made open-ended since
        day = row.end_at.astimezone(runtime.settings.tz).date()
        planned = day == runtime.jobs.today() and repo.latest_done_plan(s, day) is not None
    if planned:
        runtime.jobs.submit_replan(day, "downtime", runtime.planner, runtime.routing)


def schedule_back_in_service(runtime: Runtime, downtime_id: int, end: datetime | None) -> None:
    """Re-plan the day at the downtime's ``end`` (a later job replaces an earlier one; none
    without an end, or without a running scheduler)."""
    with runtime.scheduling:  # a stop waits until it is stored (or takes the scheduler first)
        if runtime.scheduler is not None:
            _schedule_back(runtime.scheduler, runtime, downtime_id, end)


def _schedule_back(
    scheduler: BackgroundScheduler, runtime: Runtime, downtime_id: int, end: datetime | None
) -> None:
    job_id = back_job_id(downtime_id)
    if end is None or end <= runtime.jobs.clock():
        if scheduler.get_job(job_id) is not None:
            scheduler.remove_job(job_id)
        return
    scheduler.add_job(
        back_in_service_job,
        DateTrigger(run_date=end),
        args=[runtime_key(runtime.db.url), downtime_id],
        id=job_id,
        name=f"downtime {downtime_id} ends: re-plan its day",
        replace_existing=True,
        misfire_grace_time=None,  # however late the service is up again: the job checks
    )  # the day is still today, and a truck left out of its day's plan would stay out


def _same_job(job: Job | None, trigger: CronTrigger, key: str, grace_s: int) -> bool:
    return (
        job is not None
        and str(job.trigger) == str(trigger)
        and str(getattr(job.trigger, "timezone", "")) == str(trigger.timezone)
        and tuple(job.args) == (key,)
        and job.misfire_grace_time == grace_s
    )


def start_scheduler(runtime: Runtime) -> BackgroundScheduler:
    """Start the background scheduler with the nightly job (registered once per database).

    The stored job is kept as it is when its settings did not change, so a run missed while
    the service was down is still due at start (and runs if within the misfire grace);
    re-adding it would recompute its next run time and silently drop the missed run.
    """
    settings = runtime.settings
    key = runtime_key(runtime.db.url)
    _RUNTIMES[key] = runtime
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=runtime.db.engine)},
        timezone=settings.tz,
    )
    trigger = CronTrigger.from_crontab(settings.nightly_cron, timezone=settings.tz)
    scheduler.start(paused=True)  # load the stored job without running anything yet
    if not _same_job(scheduler.get_job(JOB_ID), trigger, key, settings.misfire_grace_s):
        scheduler.add_job(
            nightly_job,
            trigger,
            args=[key],
            id=JOB_ID,
            name="nightly plan",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=settings.misfire_grace_s,
        )
    _rerun_interrupted(runtime, scheduler, key, trigger)
    _resume_retry(runtime, scheduler)
    with runtime.scheduling:  # before a job runs: a failed one stores its retry there
        runtime.scheduler = scheduler
    scheduler.resume()
    return scheduler


def _rerun_interrupted(
    runtime: Runtime, scheduler: BackgroundScheduler, key: str, trigger: CronTrigger
) -> None:
    """Today's nightly run, when a stop cut it short or the service was down at its time,
    runs as the scheduler starts (:func:`_missing_today`). A failed run (the solver, say)
    is not retried here: its own stored job tries it again (:func:`nightly_retry_job`)."""
    why = _missing_today(runtime, trigger)
    if why is None:
        return
    today = runtime.jobs.today()
    log.info("nightly plan for %s was %s: running it now", today, why)
    scheduler.add_job(
        nightly_job,
        DateTrigger(),  # now
        args=[key],
        id=RERUN_JOB_ID,
        name=f"nightly plan of today ({why})",
        replace_existing=True,
        misfire_grace_time=None,  # stored: a stop before it runs leaves it due at the next start
    )


def _resume_retry(runtime: Runtime, scheduler: BackgroundScheduler) -> None:
    """Store again the retry of a failed nightly run of today or later that a stop kept from
    being stored (its row's ``retry_at``, no retry job stored): at that time, or at once
    when it has passed. The retry checks the day is not over or planned since."""
    if scheduler.get_job(RETRY_JOB_ID) is not None:
        return
    with runtime.db.reader() as s:
        run = s.scalars(
            select(NightlyRunRow)
            .where(
                NightlyRunRow.status == "failed",
                NightlyRunRow.retry_at.is_not(None),
                NightlyRunRow.plan_date >= runtime.jobs.today(),
            )
            .order_by(NightlyRunRow.plan_date.desc())
            .limit(1)
        ).first()
    if run is None or run.retry_at is None:
        return
    at = max(run.retry_at, runtime.jobs.clock())
    log.info("nightly plan for %s: its retry, due at %s, stored again", run.plan_date, at)
    if at > run.retry_at:
        _retry_moved(runtime, run, at)
    _store_retry(scheduler, runtime, run.plan_date, run.attempts, at)


def stop_scheduler(runtime: Runtime) -> None:
    """Stop the scheduler, letting a running nightly plan finish (the job stays stored).

    The scheduler is taken away first (under ``runtime.scheduling``): a job finishing
    meanwhile stores nothing on it (APScheduler's shutdown holds its job store until the
    running jobs end: the job would wait for it, and the stop for the job, for ever); a
    failed run's retry stays on its row for the next start (:func:`_resume_retry`).
    The solve cannot be cut short, so this may wait ``nightly_time_limit_s`` and more: a
    service manager must allow it (api/README.md, ``TimeoutStopSec``); a process killed
    meanwhile leaves the run to :meth:`JobRunner.recover` and :func:`_rerun_interrupted`."""
    with runtime.scheduling:
        scheduler, runtime.scheduler = runtime.scheduler, None
    if scheduler is not None:
        scheduler.shutdown(wait=True)
    _RUNTIMES.pop(runtime_key(runtime.db.url), None)
