"""Background plan and reroute jobs: a thread pool, status and progress stored in the database.

A plan job turns a ``plans`` row from ``queued`` to ``running`` to ``done`` (or ``failed`` with
the reason). Rerouting is coalesced per plan date: alerts are committed first, then one worker
per date takes *all* open alerts, builds one new plan version from the newest finished one and
stores a diff per truck; alerts arriving meanwhile trigger another pass, so none is lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from api import repo, state
from api.db import (
    AlertRow,
    NightlyRunRow,
    PlanRow,
    utcnow,
)
from api.jobs_alerts import _TAKEN_BY_PLANS, _crews_notes, _targets, _Waiting
from api.jobs_core import (
    PlanNotStoredError,
    _failure_text,
    error_text,
    jsonable,
    route_diffs,
)
from api.jobs_reroute import Rerouting
from api.planner import Planner, TruckProgress
from api.repo_alerts import NOT_SENT
from api.routing import Routing
from fleet.models import Inventory, collection_period

__all__ = [
    "NIGHTLY_INTERRUPTED",
    "JobRunner",
    "PlanNotStoredError",
    "error_text",
    "jsonable",
    "route_diffs",
]

log = logging.getLogger(__name__)


# a nightly run a stop cut short (:meth:`JobRunner.recover`): today's runs again at the start
NIGHTLY_INTERRUPTED = "interrupted by a restart; today's runs again when the service starts"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Driven:
    """The plan trucks are out on (its id, day plan and ``PlanRow.reports_seen_id``) and
    their progress along it."""

    plan_id: int
    day: Any
    progress: tuple[TruckProgress, ...]
    reports_seen_id: int | None = None


def _out(p: TruckProgress) -> bool:
    """Whether a truck is out: it reported work done (a bin emptied, an unloading) or where
    it is (on its way to its first bin)."""
    return bool(p.done_bin_ids or p.done_site_ids) or p.lon is not None


class JobRunner(Rerouting):
    """Runs plan and reroute jobs on a thread pool; state lives in the database."""

    def recover(self) -> int:
        """Mark plans (and nightly runs) left queued/running by a previous process as failed,
        and reopen the alerts an interrupted reroute had taken (``rerouting``).

        A failed nightly run may run again; returns how many plans were marked.
        """
        note = "interrupted by a restart; request it again"
        with self.db.writer() as s:
            result = s.execute(
                update(PlanRow)
                .where(PlanRow.status.in_(("queued", "running")))
                .values(status="failed", message=note)
            )
            s.execute(
                update(NightlyRunRow)
                .where(NightlyRunRow.status == "running")
                .values(status="failed", message=NIGHTLY_INTERRUPTED)
            )
            s.execute(update(AlertRow).where(AlertRow.status == "rerouting").values(status="open"))
            return int(getattr(result, "rowcount", 0) or 0)

    def submit_plan(
        self, plan_date: date, time_limit_s: int, origin: str, planner: Planner, routing: Routing
    ) -> PlanRow:
        """Queue a plan job; returns its row at once."""
        row = self.create_plan(plan_date, time_limit_s, origin)
        self._track(self._pool.submit(self.run_plan, row.id, planner, routing))
        return row

    def submit_request(
        self, plan_date: date, time_limit_s: int, planner: Planner, routing: Routing
    ) -> tuple[PlanRow, bool]:
        """Queue the plan job a dispatcher requested (``POST /plans``), unless the same
        request (its date and budget) is still queued or running: then that job's row and
        True (a request sent twice, a double click, runs once), else the new row and
        False."""
        with self._submitting:  # one check-and-queue at a time
            with self.db.reader() as s:
                same = repo.pending_request(s, plan_date, time_limit_s)
            if same is not None:
                return same, True
            return self.submit_plan(plan_date, time_limit_s, "request", planner, routing), False

    def submit_replan(
        self, plan_date: date, origin: str, planner: Planner, routing: Routing
    ) -> PlanRow:
        """Queue a plan job of ``plan_date`` with the default budget, for a change of its
        inputs (``origin``: what changed); returns its row at once. A plan job of the date
        still queued (it has not read its inputs yet) takes the change in: its row is
        returned, and no other job is queued."""
        limit = min(self.settings.default_time_limit_s, self.settings.max_time_limit_s)
        with self._submitting:  # one check-and-queue at a time
            with self.db.reader() as s:
                queued = repo.queued_plan_job(s, plan_date)
            if queued is not None:
                return queued
            return self.submit_plan(plan_date, limit, origin, planner, routing)

    def _waiting(
        self,
        s: Any,
        plan_date: date,
        emptied: Mapping[str, datetime],
        read_empty: Mapping[str, datetime],
        inventory: Inventory,
    ) -> _Waiting:
        """The alerts a plan of ``plan_date`` (today or later) takes in: those of its day in
        ``_TAKEN_BY_PLANS`` (with those of earlier days an earlier plan of the day took in),
        and those of the days before that no truck was sent to (``NOT_SENT``; within the
        readings history). Targets when on: an alert of the day, its first alert's time +
        the response time; one carried from an earlier day (its own target passed), the
        start of the day's first shift (``inventory``'s): emptied as soon as a truck can.
        Alerts whose bin was emptied since are listed apart (``repo.emptied_since``: a truck
        reported it, ``emptied``, or a sensor's readings show it, ``read_empty``)."""
        earliest = plan_date - timedelta(days=self.settings.readings_history_days)
        of_date = select(PlanRow.id).where(PlanRow.plan_date == plan_date)
        day = and_(
            or_(AlertRow.plan_date == plan_date, AlertRow.plan_id.in_(of_date)),
            AlertRow.status.in_(_TAKEN_BY_PLANS),
        )
        before = and_(
            AlertRow.plan_date < plan_date,
            AlertRow.plan_date >= earliest,
            AlertRow.status.in_(NOT_SENT),
        )
        alerts = list(s.scalars(select(AlertRow).where(or_(day, before)).order_by(AlertRow.id)))
        gone = tuple(a.id for a in alerts if repo.emptied_since(a, emptied, read_empty))
        alerts = [a for a in alerts if a.id not in gone]
        start = collection_period(inventory, plan_date, self.settings.tz)[0]
        due = _targets(alerts, self.settings.alert_response_min, plan_date, start)
        return _Waiting(
            alert_ids=tuple(a.id for a in alerts),
            emptied_ids=gone,
            bins=tuple(dict.fromkeys(a.bin_id for a in alerts)),
            due=due,
            why=_crews_notes(alerts),
        )

    def _driven(self, s: Any, plan_date: date, planner: Planner) -> _Driven | None:
        """The day's newest finished plan and the trucks' progress along it (reports from
        its start, and those dated before that came late: ``repo.truck_progress``), when a
        truck is out on it; else None."""
        base = repo.latest_done_plan(s, plan_date, with_state=True)
        if base is None or base.state is None:
            return None
        day = state.loads(base.state)  # written by this service only
        since, seen = planner.started_at(day), base.reports_seen_id
        progress = repo.truck_progress(s, plan_date, since, late_after=seen)
        if not any(_out(p) for p in progress):
            return None
        return _Driven(plan_id=base.id, day=day, progress=tuple(progress), reports_seen_id=seen)

    def _reopen(self, plan_date: date, waiting: _Waiting) -> None:
        """Reopen the alerts of ``plan_date`` that found no finished plan while a plan job had
        already read its inputs (not in ``waiting``): a reroute of its plan takes them in."""
        with self.db.writer() as s:
            parked = list(
                s.scalars(
                    select(AlertRow).where(
                        AlertRow.plan_date == plan_date,
                        AlertRow.status == "no_plan",
                        AlertRow.id.not_in(waiting.alert_ids),
                    )
                )
            )
            for a in parked:
                a.status = "open"

    def run_plan(self, plan_id: int, planner: Planner, routing: Routing) -> None:
        """Ingest -> forecast -> plan -> store for plan row ``plan_id`` (in this thread).

        A plan of today starts now (``start_at``); the day's alerts no reroute holds become
        its alerted bins, with their response targets, and follow the plan's visits. Made
        while trucks are out on the day's newest plan, it re-plans the rest of that plan's day
        from where they are (``Planner.replan``; the drivers' changes are stored as after a
        reroute). Plan jobs of one date run one at a time, in turn: each reads its inputs,
        and the plan it goes on from, when the one before has finished."""
        with self.db.reader() as s:
            plan_date = repo.get_or_404(s, PlanRow, plan_id, "plan").plan_date
        with self._lock:
            turn = self._day_locks.setdefault(plan_date, threading.Lock())
        if not turn.acquire(blocking=False):
            self._set(plan_id, message="waiting for the plan job of its day running now")
            turn.acquire()
        try:
            self._run_plan(plan_id, planner, routing)
        finally:
            turn.release()

    def _run_plan(self, plan_id: int, planner: Planner, routing: Routing) -> None:
        """:meth:`run_plan` once it is the job's turn."""
        plan_date: date | None = None
        try:  # running before it reads: a change from now on queues another job
            self._set(plan_id, status="running", message="reading the inputs")
            now = self.clock()
            with self.db.reader() as s:
                row = repo.get_or_404(s, PlanRow, plan_id, "plan")
                plan_date, limit = row.plan_date, row.time_limit_s
                since, until = repo.history_window(
                    plan_date, self.settings.readings_history_days, self.settings.tz
                )
                inventory = repo.load_inventory(s)
                read = repo.reports_read(s, plan_date)  # the truck reports it knows
                readings = repo.load_readings(s, since, until)
                empty = repo.read_empty(readings)  # emptyings the sensors' readings show
                reports = repo.load_reports(s, since, until, empty)
                collected = repo.collection_log(s, since, until)
                local = now.astimezone(self.settings.tz).date()
                today, replay = plan_date == local, plan_date < local
                # a replay of a past day: its routes run before that day's alerts came
                waiting = (
                    _Waiting()
                    if replay
                    else self._waiting(s, plan_date, collected.last_emptied, empty, inventory)
                )
                driven = self._driven(s, plan_date, planner) if today else None
            if driven is not None:
                self._set(
                    plan_id,
                    status="running",
                    progress=0.01,
                    parent_id=driven.plan_id,
                    message="re-planning the rest of the day from where the trucks are",
                    reports_seen_id=driven.reports_seen_id,  # its start is the driven plan's
                )
                day, changes = planner.replan(
                    driven.day,
                    driven.progress,
                    readings,
                    reports,
                    routing.provider(),
                    now=now,
                    time_limit_s=float(limit),
                    inventory=inventory,
                    last_emptied=collected.last_emptied,
                    pickups=collected.pickups,
                    alerted=waiting.bins,
                    due=waiting.due,
                    why=waiting.why,
                )
                routes = planner.routes(driven.day), planner.routes(day)
                diffs = (driven.plan_id, route_diffs(*routes, changes))
                stored = self._store(
                    plan_id, day, planner, routing, diffs, waiting=waiting, read=read
                )
                self.reroute_emptied(stored, planner, routing)
            else:
                self._set(
                    plan_id,
                    status="running",
                    progress=0.01,
                    message="inputs loaded",
                    reports_seen_id=read.upto,
                )
                day = planner.plan(
                    inventory,
                    readings,
                    reports,
                    routing.provider(),
                    plan_date=plan_date,
                    tz=self.settings.tz,
                    time_limit_s=float(limit),
                    progress=self._progress(plan_id),
                    last_emptied=collected.last_emptied,
                    pickups=collected.pickups,
                    start_at=now if today else None,
                    alerted=waiting.bins,
                    due=waiting.due,
                )
                stored = self._store(plan_id, day, planner, routing, waiting=waiting, read=read)
                self.reroute_emptied(stored, planner, routing)
            if not replay:
                self._reopen(plan_date, waiting)
                self.request_reroute(plan_date, planner, routing)  # alerts kept open meanwhile
        except Exception as exc:
            log.exception("plan %s failed", plan_id)
            self._set(plan_id, status="failed", message=_failure_text(exc), finished_at=utcnow())
            if plan_date is not None:  # alerts kept open meanwhile: into the plan being driven
                self.request_reroute(plan_date, planner, routing)
            raise
