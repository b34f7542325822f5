"""The core of the job runner (:class:`api.jobs.JobRunner`): its pools and bookkeeping, the
service's clock and date, plan rows, and storing a plan made (its drivers' changes, its
alerts, the truck reports judged again by it).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from api import repo, state
from api.db import (
    Database,
    PlanDiffRow,
    PlanRow,
    ProgressRow,
    utcnow,
)
from api.jobs_alerts import _Waiting, settle_planned, settle_rerouted
from api.planner import Planner, ProgressFn
from api.routing import Routing
from api.settings import Settings

log = logging.getLogger("api.jobs")  # one logger for the jobs' modules


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dataclasses, enums, dates; NaN/inf -> None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    return str(value)


def route_diffs(
    before: Mapping[str, list[str]], after: Mapping[str, list[str]], changes: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per truck: bins before and after, bins added and removed, and the optimiser's change."""
    out: dict[str, dict[str, Any]] = {}
    for vid in sorted(set(before) | set(after)):
        b, a = list(before.get(vid, [])), list(after.get(vid, []))
        diff: dict[str, Any] = {
            "before": b,
            "after": a,
            "added": [x for x in a if x not in b],
            "removed": [x for x in b if x not in a],
            "changed": a != b,
        }
        if vid in changes:
            diff["change"] = jsonable(changes[vid])
        out[vid] = diff
    return out


class PlanNotStoredError(RuntimeError):
    """A plan was made but the database did not store it (locked, down, full); the message
    says so in one line, with what the database said (:func:`error_text`)."""


def error_text(exc: BaseException) -> str:
    """An error in one line; a database error as the database gave it, without the SQL, its
    parameters (a plan's exports, say) and the link SQLAlchemy adds."""
    orig = getattr(exc, "orig", None) if isinstance(exc, SQLAlchemyError) else None
    return " ".join(str(exc if orig is None else orig).split())


@contextmanager
def _storing() -> Iterator[None]:
    """A database error in the block is :class:`PlanNotStoredError`: the plan is made, and
    the message says it is not stored, not the SQL with the plan's exports."""
    try:
        yield
    except SQLAlchemyError as exc:
        text = f"the plan could not be stored: database error ({error_text(exc)})"
        raise PlanNotStoredError(text) from exc


def _failure_text(exc: BaseException) -> str:
    if isinstance(exc, ValueError | PlanNotStoredError):  # they name the record and the fix
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class JobsCore:
    """Runs jobs on thread pools (plan jobs, and reroutes with threads of their own);
    state lives in the database. Stores plans made: :meth:`_store`."""

    def __init__(
        self, db: Database, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock  # now (UTC): plans of today start then
        self._pool = ThreadPoolExecutor(settings.job_workers, thread_name_prefix="binroute-job")
        # reroutes have threads of their own: trucks wait for them, and a plan job waiting
        # for its date's turn holds a thread of the pool above meanwhile
        self._reroutes = ThreadPoolExecutor(
            settings.job_workers, thread_name_prefix="binroute-reroute"
        )
        self._lock = threading.Lock()
        self._active: set[date] = set()
        self._dirty: set[date] = set()
        self._futures: set[Future[Any]] = set()
        self._day_locks: dict[date, threading.Lock] = {}  # one plan job of a date at a time
        # per date: (truck, bin) emptied off its route that a truck (another, or its own
        # later on its route) may still be sent to, with the report's time; a reroute pass
        # takes that trip out
        self._emptied_off_route: dict[date, dict[tuple[str, str], datetime]] = {}
        self._submitting = threading.Lock()
        self._stopping = False

    def _track(self, fut: Future[Any]) -> None:
        with self._lock:
            self._futures.add(fut)
        fut.add_done_callback(self._untrack)

    def _untrack(self, fut: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(fut)

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Block until no job is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                pending = list(self._futures)
            if not pending:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for fut in pending:
                try:
                    fut.result(timeout=max(left, 0.01))
                except Exception:  # failures are stored on the plan row
                    log.debug("job ended with an error (stored on its plan row)")

    @property
    def stopping(self) -> bool:
        """Whether :meth:`shutdown` began: no reroute is queued any more."""
        with self._lock:
            return self._stopping

    def shutdown(self) -> None:
        """Stop taking jobs and wait for the running ones. A job finishing meanwhile queues
        no reroute: the alerts it kept open wait for the next start (:meth:`resume`)."""
        with self._lock:
            self._stopping = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._reroutes.shutdown(wait=True, cancel_futures=True)

    def ahead_of_clock(self, at: datetime) -> str | None:
        """Why a device's record dated ``at`` cannot be: later than the clock by more than
        the settings' ``clock_skew_min``; None when it may be."""
        now = self.clock()
        if at <= now + timedelta(minutes=self.settings.clock_skew_min):
            return None
        local = now.astimezone(self.settings.tz).isoformat(timespec="minutes")
        return (
            f"at {at.isoformat()} is after the service's clock ({local}, "
            f"{self.settings.clock_skew_min} min allowed): check the device's clock"
        )

    def reading_refused(self, at: datetime) -> str | None:
        """Why a sensor reading dated ``at`` is not stored: after the service's clock
        (:meth:`ahead_of_clock`), or before the readings the database keeps (the settings'
        ``readings_keep_days`` before today: the nightly run would delete it, unseen);
        None when it is stored."""
        ahead = self.ahead_of_clock(at)
        keep = self.settings.readings_keep_days
        if ahead is not None or not keep:
            return ahead
        first, _ = repo.history_window(self.today(), keep, self.settings.tz)
        if at >= first:
            return None
        return (
            f"at {at.isoformat()} is before the readings kept (readings_keep_days {keep}: "
            f"from {first.date()}); the nightly run deletes older ones: not stored"
        )

    def before_history(self, at: datetime) -> str | None:
        """Why an overflow alert dated ``at`` would never be taken by a plan: its day (city
        time) is before the readings history (:meth:`carried_from` today), whose days' alerts
        the plans take in; None when it is within it. The caller adds its other fix."""
        first = self.carried_from(self.today())
        if at.astimezone(self.settings.tz).date() >= first:
            return None
        days = self.settings.readings_history_days
        return (
            f"{at.isoformat()} is older than the readings history ({days} days, from "
            f"{first.isoformat()}): no plan would take the alert; check the date"
        )

    def today(self) -> date:
        """The city's date now (``clock``, in the settings' time zone)."""
        return self.clock().astimezone(self.settings.tz).date()

    def carried_from(self, today: date) -> date:
        """The first day whose alerts left open ``today``'s reroute takes in (the readings
        history)."""
        return today - timedelta(days=self.settings.readings_history_days)

    def _set(self, plan_id: int, **values: Any) -> None:
        with self.db.writer() as s:
            s.execute(update(PlanRow).where(PlanRow.id == plan_id).values(**values))

    def _progress(self, plan_id: int) -> ProgressFn:
        def report(fraction: float, message: str) -> None:
            clipped = min(max(float(fraction), 0.0), 0.99)
            self._set(plan_id, progress=clipped, message=str(message)[:500])

        return report

    def create_plan(
        self,
        plan_date: date,
        time_limit_s: int,
        origin: str,
        *,
        status: str = "queued",
        parent_id: int | None = None,
    ) -> PlanRow:
        """Insert a new plan version row (version = 1 + newest of the date)."""
        with self.db.writer() as s:
            row = PlanRow(
                plan_date=plan_date,
                version=repo.next_version(s, plan_date),
                parent_id=parent_id,
                origin=origin,
                status=status,
                progress=0.0,
                message="",
                time_limit_s=time_limit_s,
            )
            s.add(row)
            s.flush()
            return row

    def _store(
        self,
        plan_id: int,
        day: Any,
        planner: Planner,
        routing: Routing,
        diffs: tuple[int, dict[str, dict[str, Any]]] | None = None,
        alert_ids: tuple[int, ...] = (),
        waiting: _Waiting | None = None,
        read: repo.ReportsRead | None = None,
    ) -> list[tuple[date, str, str, datetime]]:
        """Store plan ``plan_id`` done (its day plan, exports and KPIs, the drivers' changes
        and its alerts), and judge again by it the truck reports its job did not read as
        they are (``read``: stored while it ran, judged by the plan it replaces, or judged
        again since by another job's plan; :meth:`_judge_again`).

        Returns
        -------
        list of (date, str, str, datetime)
            The bins emptied off route among those reports that the plans still send a
            truck to (date, truck, bin, when): the caller reroutes them
            (:meth:`api.jobs_reroute.Rerouting.reroute_emptied`).

        Raises
        ------
        PlanNotStoredError
            The database did not take the write (the plan is made, but not stored).
        """
        exports = jsonable(planner.exports(day, routing.geometry(), routing.directions()).to_json())
        kpis = jsonable(planner.kpis(day))
        stored = state.dumps(day)
        emptied: list[tuple[date, str, str, datetime]] = []
        with _storing(), self.db.writer() as s:
            s.execute(
                update(PlanRow)
                .where(PlanRow.id == plan_id)
                .values(
                    status="done",
                    progress=1.0,
                    message="done",
                    kpis=kpis,
                    exports=exports,
                    state=stored,
                    finished_at=utcnow(),
                )
            )
            repo.drop_states(s, repo.get_or_404(s, PlanRow, plan_id, "plan"), self.today())
            if diffs is not None:
                parent_id, per_truck = diffs
                for vid, diff in per_truck.items():
                    s.add(
                        PlanDiffRow(plan_id=plan_id, parent_id=parent_id, vehicle_id=vid, diff=diff)
                    )
            if diffs is not None:
                settle_rerouted(s, plan_id, exports["plan"], alert_ids)
            if waiting is not None:
                settle_planned(s, plan_id, exports["plan"], waiting)
            if read is not None:
                emptied = self._judge_again(s, plan_id, read)
        return emptied

    def _judge_again(
        self, s: Any, plan_id: int, read: repo.ReportsRead
    ) -> list[tuple[date, str, str, datetime]]:
        """Judge again, as ``POST /plans/{id}/progress`` does, by the day's newest finished
        plan (``plan_id``, just stored, unless a newer one is) the truck reports of its day
        that its job did not read as they are now: those stored after report id
        ``read.upto``, and those whose off-route flag another job's plan changed since
        (``read.flags``: a reroute stored meanwhile judged on route a bin emptied ahead that
        the re-plan had read off route and taken off the truck's route). Each one's flag as
        that plan has it (kept when it shows no visits). The bins emptied off route among
        them that it still sends a truck to (today or later), as (date, truck, bin, when):
        a reroute takes that trip out (:meth:`request_emptied`)."""
        plan_date = repo.get_or_404(s, PlanRow, plan_id, "plan").plan_date
        newest = repo.latest_done_plan(s, plan_date)
        if newest is None:  # never: plan_id was just stored done
            return []
        flags = repo.report_flags(s, plan_date).items()
        ids = [i for i, off in flags if i > read.upto or read.flags.get(i, off) != off]
        judged = select(ProgressRow).where(ProgressRow.id.in_(ids)).order_by(ProgressRow.id)
        emptied = []
        for r in list(s.scalars(judged)) if ids else []:
            off = repo.off_route(
                s, newest, r.vehicle_id, bin_id=r.bin_id, site_id=r.site_id, at=r.at, before_id=r.id
            )
            if off is None:
                continue
            r.off_route = off
            s.flush()  # the next report of the truck is judged with this one's flag
            if r.bin_id is not None and self.still_sent(
                s, plan_date, r.vehicle_id, r.bin_id, off, r.kind
            ):
                emptied.append((plan_date, r.vehicle_id, r.bin_id, r.at))
        return emptied

    def still_sent(
        self,
        s: Any,
        plan_date: date,
        vehicle_id: str,
        bin_id: str,
        off_route: bool | None,
        kind: str = "visit_done",
    ) -> bool:
        """Whether bin ``bin_id``, reported emptied (``kind`` visit_done: not missed) by
        ``vehicle_id`` off its route (``off_route``) on ``plan_date``, today or later, is
        one the day's plans still send a truck to (another truck, or its own: the crew took
        it ahead of its route, ``repo.visit_to_come``): a reroute then takes that trip out
        (:meth:`request_emptied`)."""
        return (
            bool(off_route)
            and kind == "visit_done"
            and plan_date >= self.today()
            and repo.visit_to_come(s, plan_date, vehicle_id, bin_id)
        )
