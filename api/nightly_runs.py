"""The nightly runs' record (a ``nightly_runs`` row per plan date): claiming a date's run
once, the message of a failed one (which attempt, when the next, or to plan by hand),
writing its end, whether today's was cut short or missed, a retry moved past a stop; and
the readings deleted once a night's plan is published. Scheduling is ``api.scheduler``'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from api import repo
from api.db import NightlyRunRow, VehicleRow
from api.jobs import NIGHTLY_INTERRUPTED, error_text

if TYPE_CHECKING:
    from api.deps import Runtime

log = logging.getLogger("api.scheduler")  # the nightly run's log, as before the split


@dataclass(frozen=True, slots=True)
class _Claimed:
    """A nightly run that starts: its attempt (1 the first) and the message of the failed
    run it takes over ("" for a first run), kept so that the failure stays visible."""

    attempt: int
    after: str


def _attempts(runtime: Runtime) -> int:
    """How many times a nightly run is tried at most: once without a scheduler
    (``scheduler_enabled`` off: no job could try it again), else once and
    ``nightly_retries`` more, also while a stop takes the scheduler away (the next start
    stores the retry, :func:`_resume_retry`)."""
    return 1 + runtime.settings.nightly_retries if runtime.settings.scheduler_enabled else 1


def _claim(runtime: Runtime, plan_date: date, attempt: int) -> _Claimed | None:
    """Record that the nightly run of ``plan_date`` starts; None if it ran or is running."""
    try:
        with runtime.db.writer() as s:
            s.add(
                NightlyRunRow(plan_date=plan_date, status="running", message="", attempts=attempt)
            )
        return _Claimed(attempt, "")
    except IntegrityError:
        with runtime.db.writer() as s:
            row = s.get(NightlyRunRow, plan_date)
            if row is None or row.status != "failed":
                return None
            after = row.message
            if attempt > 1:
                note = f"attempt {attempt} of {_attempts(runtime)} running; {after}"
            else:
                note = f"running again; {after}"
            retried = s.execute(
                update(NightlyRunRow)
                .where(NightlyRunRow.plan_date == plan_date, NightlyRunRow.status == "failed")
                .values(status="running", message=note[:2000], attempts=attempt, retry_at=None)
            )
            return _Claimed(attempt, after) if getattr(retried, "rowcount", 0) else None


def _retry_at(runtime: Runtime, attempt: int) -> datetime | None:
    """When the nightly run that failed at ``attempt`` is tried again:
    ``nightly_retry_delay_min`` from now (on the service's clock), or None when no attempt
    is left (or no scheduler runs)."""
    if attempt >= _attempts(runtime):
        return None
    now = runtime.jobs.clock().astimezone(runtime.settings.tz)
    return now + timedelta(minutes=runtime.settings.nightly_retry_delay_min)


def by_hand(plan_date: date) -> str:
    """What a dispatcher does when no nightly plan of ``plan_date`` is coming."""
    return f'make the plan of {plan_date} by hand: POST /plans {{"plan_date": "{plan_date}"}}'


def _failed_message(
    runtime: Runtime, plan_date: date, attempt: int, reason: str, then: datetime | str | None
) -> str:
    """The failed run's message: the reason, and with a scheduler which attempt it was and
    when the next is, ``then`` (a time), or why none is (a text, or None: no retry left),
    and to make the plan by hand (:func:`by_hand`)."""
    most = _attempts(runtime)
    if most == 1:
        return reason
    if isinstance(then, datetime):
        after = f"retry at {then:%H:%M}"
    else:
        after = f"{then or 'no retry left'}: {by_hand(plan_date)}"
    return f"attempt {attempt} of {most} failed: {reason[:1500]}; {after}"


def _record(
    runtime: Runtime,
    plan_date: date,
    status: str,
    plan_id: int | None,
    message: str,
    retry_at: datetime | None = None,
) -> str | None:
    """Write the nightly run's end (:func:`_finish`); None, or the database's error in one
    line when it could not (not raised: the job would end in a traceback)."""
    try:
        _finish(runtime, plan_date, status, plan_id, message, retry_at)
    except Exception as exc:  # the database down or locked
        return error_text(exc)
    return None


def _finish(
    runtime: Runtime,
    plan_date: date,
    status: str,
    plan_id: int | None,
    message: str,
    retry_at: datetime | None = None,
) -> None:
    with runtime.db.writer() as s:
        s.execute(
            update(NightlyRunRow)
            .where(NightlyRunRow.plan_date == plan_date)
            .values(status=status, plan_id=plan_id, message=message[:2000], retry_at=retry_at)
        )


PRUNE_BATCH = 5000  # readings deleted per write: sensors' readings are stored between


def prune_readings(runtime: Runtime, plan_date: date) -> str:
    """Delete the readings dated before ``readings_keep_days`` before ``plan_date`` (none
    when 0), ``PRUNE_BATCH`` per write; what the nightly run's message says of it ("" when
    nothing is kept short). A database error stops the pruning, logged and said (the next
    night goes on with it): the plan is published all the same."""
    keep = runtime.settings.readings_keep_days
    if not keep:
        return ""
    before, _ = repo.history_window(plan_date, keep, runtime.settings.tz)
    gone = 0
    try:
        while True:
            with runtime.db.writer() as s:
                n = repo.delete_readings_before(s, before, PRUNE_BATCH)
            gone += n
            if n < PRUNE_BATCH:
                break
    except SQLAlchemyError as exc:
        log.exception("pruning the readings before %s stopped", before.date())
        return (
            f"; pruning the readings before {before.date()} stopped after {gone}: {error_text(exc)}"
        )
    return f"; {gone} reading(s) dated before {before.date()} deleted (readings_keep_days {keep})"


def _missing_today(runtime: Runtime, trigger: CronTrigger) -> str | None:
    """Why today's nightly plan is to be made as the scheduler starts, or None.

    Its run was cut short by a stop (``JobRunner.recover`` marked it): its job had fired, so
    it would not be due again before tomorrow. Or it has no run while the nightly's time
    today has passed and the day's first shift has not begun: the service was down then,
    longer than ``misfire_grace_s`` (or the stop cut the day before's run, and the service
    was up again after midnight), and the trucks would go out on no plan. Never when the
    day has a finished plan (a dispatcher's)."""
    tz = runtime.settings.tz
    today = runtime.jobs.today()
    now = runtime.jobs.clock().astimezone(tz)
    with runtime.db.reader() as s:
        if repo.latest_done_plan(s, today) is not None:
            return None
        run = s.get(NightlyRunRow, today)
        if run is not None:
            cut = run.status == "failed" and run.message == NIGHTLY_INTERRUPTED
            return "interrupted by a restart" if cut else None
        first_shift = s.scalar(select(func.min(VehicleRow.shift_start)))
    midnight = datetime.combine(today, time(0), tzinfo=tz)
    due = trigger.get_next_fire_time(None, midnight)
    if first_shift is None or due is None or due > now:
        return None  # no truck to plan for, or its time today is still to come
    if now >= datetime.combine(today, first_shift, tzinfo=tz):
        return None  # the day has begun: a dispatcher asks for a plan of the rest of it
    return "missed while the service was down"


def _retry_moved(runtime: Runtime, run: NightlyRunRow, at: datetime) -> None:
    """Write on the failed nightly ``run`` that its retry, due while the service was
    stopped, runs at ``at`` instead: its message said "retry at" the time it missed, and
    kept saying so in the retry's own message, even once it had published the plan."""
    tz = runtime.settings.tz
    due, now = run.retry_at.astimezone(tz), at.astimezone(tz)  # type: ignore[union-attr]
    said = f"; retry at {due:%H:%M}"
    message = run.message.replace(
        said, f"; retry at {now:%H:%M} (due at {due:%H:%M}, while the service was stopped)"
    )
    with runtime.db.writer() as s:
        s.execute(
            update(NightlyRunRow)
            .where(NightlyRunRow.plan_date == run.plan_date, NightlyRunRow.status == "failed")
            .values(message=message[:2000], retry_at=at)
        )
