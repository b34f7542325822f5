"""Background plan and reroute jobs: a thread pool, status and progress stored in the database.

A plan job turns a ``plans`` row from ``queued`` to ``running`` to ``done`` (or ``failed`` with
the reason). Rerouting is coalesced per plan date: alerts are committed first, then one worker
per date takes *all* open alerts, builds one new plan version from the newest finished one and
stores a diff per truck; alerts arriving meanwhile trigger another pass, so none is lost.
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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from api import repo, state
from api.db import (
    AlertRow,
    Database,
    NightlyRunRow,
    PlanDiffRow,
    PlanRow,
    ProgressRow,
    utcnow,
)
from api.planner import Planner, ProgressFn, TruckProgress
from api.routing import Routing
from api.settings import Settings
from fleet.models import Inventory, collection_period

log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Claim:
    """Open alerts taken into a new running plan version: the plan to reroute (``state`` of
    plan ``base_id``), the bins alerted, now (the latest alert's, truck report's or, for a
    reroute of today or with an earlier day's alert or no alert, the clock's time: an alert
    that arrives late is routed from when it arrives) and each bin's response target
    (empty when targets are off), for the alerts taken and for those of the day left
    unserved, which it may serve (:func:`_unserved_of`). A version for a bin another
    truck's crew emptied has no alert (:meth:`JobRunner.request_emptied`). ``why``: the
    note of each bin's newest alert a crew raised (it could not empty the bin), which its
    unserved reason begins with."""

    plan_id: int
    base_id: int
    state: bytes
    alert_ids: tuple[int, ...]
    urgent: list[str]
    now: datetime
    due: dict[str, datetime]
    reports_seen_id: int | None = None
    why: dict[str, str] = dataclasses.field(default_factory=dict)


# alerts a new plan of their day takes in: those not closed (emptied, dismissed), bar the open
# ones, which a reroute takes into its plan once stored
_TAKEN_BY_PLANS = ("no_plan", "failed", "rerouting", "rerouted", "unserved", "planned")
# alerts no truck was sent to: the next days' plans take them in; a dispatcher may dismiss them
NOT_SENT = ("no_plan", "unserved", "failed")
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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Waiting:
    """The alerts a plan job takes in (ids; their bins, each with its response target when
    targets are on: ``JobRunner._waiting``), those a truck emptied since
    (``emptied_ids``) and the crews' notes on bins they could not empty (``why``)."""

    alert_ids: tuple[int, ...] = ()
    emptied_ids: tuple[int, ...] = ()
    bins: tuple[str, ...] = ()
    due: dict[str, datetime] = dataclasses.field(default_factory=dict)
    why: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Coming:
    """A visit an alert asked for, as a plan has it: its ref, the truck, when it starts and
    the alert's response target."""

    ref: str
    bin_id: str
    vehicle_id: str
    eta: datetime
    respond_by: datetime | None


def _alert_visits(plan: Mapping[str, Any]) -> list[_Coming]:
    """The visits alerts asked for in a plan JSON (``optimiser.export.plan_json``)."""
    return [
        _Coming(
            ref=v["ref"],
            bin_id=v["bin_id"],
            vehicle_id=route["vehicle_id"],
            eta=datetime.fromisoformat(v["start"]),
            respond_by=datetime.fromisoformat(v["respond_by"]) if v.get("respond_by") else None,
        )
        for route in plan.get("routes", [])
        for v in route.get("visits", [])
        if v.get("alert")
    ]


def _newest(coming: list[_Coming]) -> dict[str, _Coming]:
    """Each bin's newest visit among ``coming``."""
    return {c.bin_id: c for c in sorted(coming, key=lambda c: c.eta)}


def _left_out(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The unserved entries of a plan JSON for visits alerts asked for (plans stored before
    "alert" existed: any required visit)."""
    return [u for u in plan.get("unserved", []) if u.get("alert", u.get("required", True))]


def _settle(
    alert: AlertRow,
    plan_id: int,
    coming: _Coming | None,
    missed: str | None,
    served: str = "rerouted",
) -> None:
    """Record on ``alert`` what plan ``plan_id`` does with its visit: ``unserved`` when it is
    left out (``missed``: its ref, "" when unknown), else ``served`` (``rerouted`` by a
    reroute, ``planned`` by a plan job) with the truck, the time and the target (when the
    plan shows the visit)."""
    alert.plan_id = plan_id
    if missed is not None:
        alert.status, alert.visit_ref = "unserved", missed or alert.visit_ref
        alert.vehicle_id = alert.eta = None
    else:
        alert.status = served
        if coming is not None:
            alert.visit_ref, alert.vehicle_id = coming.ref, coming.vehicle_id
            alert.eta, alert.respond_by = coming.eta, coming.respond_by


def _emptied(alert: AlertRow, plan_id: int) -> None:
    """Close ``alert`` as ``emptied`` with plan ``plan_id``: its bin was emptied since it was
    raised, so no truck is sent for it any more (nor its time kept)."""
    alert.status, alert.plan_id = "emptied", plan_id
    alert.vehicle_id = alert.eta = None


def _targets(
    alerts: list[AlertRow], respond_min: int, plan_date: date, carried_at: datetime
) -> dict[str, datetime]:
    """Each alerted bin's response target (none when ``respond_min`` is 0: targets are off):
    its first alert of ``plan_date``'s time + ``respond_min`` minutes; an earlier day's
    alert's own target passed, so it is ``carried_at`` (as soon as a truck can), unless one
    of the day's is sooner."""
    if not respond_min:
        return {}
    first: dict[str, datetime] = {}
    for a in alerts:
        if a.plan_date == plan_date:
            first[a.bin_id] = min(first.get(a.bin_id, a.at), a.at)
    due = {b: at + timedelta(minutes=respond_min) for b, at in first.items()}
    for a in alerts:
        if a.plan_date != plan_date:
            due[a.bin_id] = min(due.get(a.bin_id, carried_at), carried_at)
    return due


def _unserved_of(s: Any, plan_date: date) -> list[AlertRow]:
    """The alerts the plans of ``plan_date`` left unserved (raised that day, or taken in by
    one of its plans). A reroute may serve them, whichever alert it is for (a bin no street
    reached, placed since: ``optimiser.daily.driven._alerts_left_out``): they need their targets
    then, as the alerts it takes in do and as a re-plan gives them (:func:`_targets`)."""
    of_date = select(PlanRow.id).where(PlanRow.plan_date == plan_date)
    unserved = select(AlertRow).where(
        or_(AlertRow.plan_date == plan_date, AlertRow.plan_id.in_(of_date)),
        AlertRow.status == "unserved",
    )
    return list(s.scalars(unserved))


def _crews_notes(alerts: list[AlertRow]) -> dict[str, str]:
    """Per bin, the note of its newest alert (by id) a crew raised: it could not empty the
    bin, when and why (``visit_missed``); an unserved visit of the bin says so first."""
    return {a.bin_id: a.note for a in sorted(alerts, key=lambda a: a.id) if a.source == "crew"}


def _out(p: TruckProgress) -> bool:
    """Whether a truck is out: it reported work done (a bin emptied, an unloading) or where
    it is (on its way to its first bin)."""
    return bool(p.done_bin_ids or p.done_site_ids) or p.lon is not None


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


class JobRunner:
    """Runs plan and reroute jobs on a thread pool; state lives in the database."""

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
        # per date: (truck, bin) emptied off its route that another truck may still be sent
        # to, with the report's time; a reroute pass takes that trip out
        self._emptied_elsewhere: dict[date, dict[tuple[str, str], datetime]] = {}
        self._submitting = threading.Lock()
        self._stopping = False

    # -- bookkeeping -------------------------------------------------------------------------
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

    def resume(self, planner: Planner, routing: Routing) -> list[date]:
        """Queue a reroute pass for each day from today with open alerts (left by a stop:
        raised while a plan job ran, or taken by a reroute the stop interrupted; those of
        earlier days, within the readings history, reroute today), and for today when a
        bin a truck emptied off its route is still another truck's to empty (a stop came
        before its reroute: :meth:`request_emptied`); the days."""
        today = self.today()
        open_days = select(AlertRow.plan_date).where(
            AlertRow.status == "open", AlertRow.plan_date >= self.carried_from(today)
        )
        with self.db.reader() as s:
            days = {self._rerouted_day(d) for d in s.scalars(open_days.distinct())}
            emptied = self._emptied_elsewhere_on(s, today)
        if emptied:
            with self._lock:
                self._emptied_elsewhere.setdefault(today, {}).update(emptied)
            days.add(today)
        for day in sorted(days):
            self.request_reroute(day, planner, routing)
        return sorted(days)

    def _emptied_elsewhere_on(self, s: Any, plan_date: date) -> dict[tuple[str, str], datetime]:
        """The bins trucks emptied off their routes on ``plan_date`` that its newest plan
        still sends another truck to, by (truck, bin), with the last such report's time."""
        off = select(ProgressRow).where(
            ProgressRow.plan_date == plan_date,
            ProgressRow.kind == "visit_done",
            ProgressRow.off_route.is_(True),
        )
        last: dict[tuple[str, str], datetime] = {}
        for row in s.scalars(off):
            if row.bin_id is not None:
                key = (row.vehicle_id, row.bin_id)
                last[key] = max(last.get(key, row.at), row.at)
        return {k: at for k, at in last.items() if repo.visit_elsewhere_to_come(s, plan_date, *k)}

    # -- plan jobs ---------------------------------------------------------------------------
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

    def _set(self, plan_id: int, **values: Any) -> None:
        with self.db.writer() as s:
            s.execute(update(PlanRow).where(PlanRow.id == plan_id).values(**values))

    def _progress(self, plan_id: int) -> ProgressFn:
        def report(fraction: float, message: str) -> None:
            clipped = min(max(float(fraction), 0.0), 0.99)
            self._set(plan_id, progress=clipped, message=str(message)[:500])

        return report

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
                seen = repo.last_report_id(s)  # the truck reports this job knows
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
                self._store(plan_id, day, planner, routing, diffs, waiting=waiting, read_upto=seen)
            else:
                self._set(
                    plan_id,
                    status="running",
                    progress=0.01,
                    message="inputs loaded",
                    reports_seen_id=seen,
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
                self._store(plan_id, day, planner, routing, waiting=waiting, read_upto=seen)
            if not replay:
                self._reopen(plan_date, waiting)
                self.request_reroute(plan_date, planner, routing)  # alerts kept open meanwhile
        except Exception as exc:
            log.exception("plan %s failed", plan_id)
            self._set(plan_id, status="failed", message=_failure_text(exc), finished_at=utcnow())
            if plan_date is not None:  # alerts kept open meanwhile: into the plan being driven
                self.request_reroute(plan_date, planner, routing)
            raise

    def _store(
        self,
        plan_id: int,
        day: Any,
        planner: Planner,
        routing: Routing,
        diffs: tuple[int, dict[str, dict[str, Any]]] | None = None,
        alert_ids: tuple[int, ...] = (),
        waiting: _Waiting | None = None,
        read_upto: int | None = None,
    ) -> None:
        """Store plan ``plan_id`` done (its day plan, exports and KPIs, the drivers' changes
        and its alerts), and judge again by it the truck reports stored after report id
        ``read_upto`` (while the job ran, after it read its inputs: judged by the plan it
        replaces; :meth:`_judge_again`).

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
                self._settle_alerts(s, plan_id, exports["plan"], alert_ids)
            if waiting is not None:
                self._settle_planned(s, plan_id, exports["plan"], waiting)
            if read_upto is not None:
                emptied = self._judge_again(s, plan_id, read_upto)
        for plan_date, vehicle_id, bin_id, at in emptied:
            self.request_emptied(plan_date, vehicle_id, bin_id, at, planner, routing)

    def _judge_again(
        self, s: Any, plan_id: int, read_upto: int
    ) -> list[tuple[date, str, str, datetime]]:
        """Judge the truck reports of plan ``plan_id``'s day stored after report id
        ``read_upto`` again, as ``POST /plans/{id}/progress`` does, by the day's newest
        finished plan (``plan_id``, just stored, unless a newer one is): each one's off-route
        flag as that plan has it (kept when it shows no visits). The bins emptied off route
        among them that it sends another truck to (today or later), as (date, truck, bin,
        when): a reroute takes that trip out (:meth:`request_emptied`)."""
        plan_date = repo.get_or_404(s, PlanRow, plan_id, "plan").plan_date
        newest = repo.latest_done_plan(s, plan_date)
        if newest is None:  # never: plan_id was just stored done
            return []
        rows = s.scalars(
            select(ProgressRow)
            .where(
                ProgressRow.plan_date == plan_date,
                ProgressRow.id > read_upto,
                ProgressRow.kind != "position",
            )
            .order_by(ProgressRow.id)
        )
        emptied = []
        for r in list(rows):
            off = repo.off_route(
                s, newest, r.vehicle_id, bin_id=r.bin_id, site_id=r.site_id, at=r.at, before_id=r.id
            )
            if off is None:
                continue
            r.off_route = off
            s.flush()  # the next report of the truck is judged with this one's flag
            if r.bin_id is not None and self.sent_elsewhere(
                s, plan_date, r.vehicle_id, r.bin_id, off, r.kind
            ):
                emptied.append((plan_date, r.vehicle_id, r.bin_id, r.at))
        return emptied

    def sent_elsewhere(
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
        one the day's plans still send another truck to: a reroute then takes that trip out
        (:meth:`request_emptied`)."""
        return (
            bool(off_route)
            and kind == "visit_done"
            and plan_date >= self.today()
            and repo.visit_elsewhere_to_come(s, plan_date, vehicle_id, bin_id)
        )

    def _settle_planned(
        self, s: Any, plan_id: int, plan: Mapping[str, Any], waiting: _Waiting
    ) -> None:
        """After plan job ``plan_id``: each alert it took in reads ``planned`` with its
        visit's truck, time and target, or ``unserved`` when the visit is left out; those a
        truck emptied since read ``emptied``. An alert a reroute took meanwhile is its own."""
        coming = _newest(_alert_visits(plan))
        left = {u["bin_id"]: u.get("ref", "") for u in _left_out(plan)}
        ids = waiting.alert_ids + waiting.emptied_ids
        for alert in s.scalars(select(AlertRow).where(AlertRow.id.in_(ids))):
            if alert.status not in _TAKEN_BY_PLANS:
                continue
            if alert.id in waiting.emptied_ids:
                _emptied(alert, plan_id)
            else:
                _settle(alert, plan_id, coming.get(alert.bin_id), left.get(alert.bin_id), "planned")

    def _settle_alerts(
        self, s: Any, plan_id: int, plan: Mapping[str, Any], alert_ids: tuple[int, ...]
    ) -> None:
        """After a reroute into plan ``plan_id``: each alert it took in reads ``rerouted``
        with its visit's truck, time and target, or ``unserved`` when the visit it asked for
        is left out; earlier rerouted alerts of the day follow their visits into this plan
        (a reroute for another alert may move them, or leave them out), and one whose visit
        left the plan because a truck emptied the bin since the alert (off its route) reads
        ``emptied``."""
        coming = _alert_visits(plan)
        latest = _newest(coming)
        by_ref = {c.ref: c for c in coming}
        left = _left_out(plan)  # by bin and by ref
        left_bins = {u["bin_id"]: u.get("ref", "") for u in left}
        left_refs = {u["ref"] for u in left if "ref" in u}
        claimed = select(AlertRow).where(
            AlertRow.id.in_(alert_ids),
            AlertRow.plan_id == plan_id,  # a newer plan job may have taken them meanwhile
        )
        for alert in s.scalars(claimed):
            _settle(alert, plan_id, latest.get(alert.bin_id), left_bins.get(alert.bin_id))
        row = s.get(PlanRow, plan_id)
        plan_date = row.plan_date
        if repo.newer_done(s, plan_date, row.version):
            return  # a plan job finished while this reroute ran: its alerts follow that one
        of_date = select(PlanRow.id).where(PlanRow.plan_date == plan_date)
        earlier = select(AlertRow).where(
            or_(AlertRow.plan_date == plan_date, AlertRow.plan_id.in_(of_date)),
            AlertRow.status.in_(("rerouted", "unserved", "planned")),
            AlertRow.visit_ref.is_not(None),
            AlertRow.id.not_in(alert_ids),
        )
        alerts = list(s.scalars(earlier))
        emptied = repo.last_emptied_on(s, plan_date, (a.bin_id for a in alerts))
        for alert in alerts:
            ref = alert.visit_ref
            if ref in by_ref or ref in left_refs:
                served = "planned" if alert.status == "planned" else "rerouted"
                missed = ref if ref in left_refs else None
                _settle(alert, plan_id, by_ref.get(ref), missed, served)
            elif alert.bin_id in emptied and emptied[alert.bin_id] >= alert.at:
                _emptied(alert, plan_id)

    # -- rerouting ---------------------------------------------------------------------------
    def request_reroute(self, plan_date: date, planner: Planner, routing: Routing) -> None:
        """Make sure a reroute pass for ``plan_date`` runs after the alerts committed so far
        (none while stopping: the next start resumes the alerts left open). An earlier day's
        alerts reroute today's plan (:meth:`_rerouted_day`)."""
        plan_date = self._rerouted_day(plan_date)
        with self._lock:
            if self._stopping:
                log.info("stopping: the open alerts of %s wait for the next start", plan_date)
                return
            if plan_date in self._active:
                self._dirty.add(plan_date)
                return
            self._active.add(plan_date)
        self._track(self._reroutes.submit(self._reroute_loop, plan_date, planner, routing))

    def request_emptied(
        self,
        plan_date: date,
        vehicle_id: str,
        bin_id: str,
        at: datetime,
        planner: Planner,
        routing: Routing,
    ) -> None:
        """Truck ``vehicle_id`` emptied ``bin_id`` off its route at ``at`` while the newest
        plan of ``plan_date`` sends another truck there: a reroute pass of the day (origin
        ``emptied``, the reroute's budget) takes that trip to an empty bin out, or the reroute
        for an alert, or the plan job, that comes first (:meth:`_claim_alerts`)."""
        with self._lock:
            self._emptied_elsewhere.setdefault(plan_date, {})[vehicle_id, bin_id] = at
        self.request_reroute(plan_date, planner, routing)

    def _reroute_loop(self, plan_date: date, planner: Planner, routing: Routing) -> None:
        try:
            while True:
                with self._lock:
                    self._dirty.discard(plan_date)
                self.reroute_once(plan_date, planner, routing)
                with self._lock:
                    if plan_date not in self._dirty:
                        self._active.discard(plan_date)
                        return
        except BaseException:
            with self._lock:
                self._active.discard(plan_date)
            raise

    def _claim_alerts(self, plan_date: date) -> _Claim | None:
        """Take the open alerts of the date into a new running plan version, in one commit.

        Today's reroute takes in the open alerts of earlier days too (within the readings
        history): overflows known only after their day was over (a report typed in late, a
        sensor's gateway sending late, a stop of the service). An alert whose bin was
        emptied since (``repo.emptied_since``: a truck reported it, or for a sensor's alert
        its readings show it) is closed as ``emptied`` (with the plan being driven): the
        overflow it reported is gone. Each bin's response target is its first alert's time +
        ``alert_response_min``, among those taken and those of the day left unserved (the
        reroute may serve them too: a bin placed on a street since, :func:`_unserved_of`);
        an earlier day's alert's target passed, so it is now (emptied as soon as a truck
        can), and now is when the reroute runs.
        With no alert, a bin a truck emptied off its route that the plan being driven still
        sends another truck to (:meth:`request_emptied`) makes a version of its own (origin
        ``emptied``, now is the clock's); every reroute takes such trips out.
        While a plan job of the date is queued or running, the alerts stay open: the job
        reroutes them into its plan once done (a reroute of the plan it replaces would be
        lost with it). A job takes in the alerts being rerouted when it reads its inputs.
        """
        with self._lock:
            reported = dict(self._emptied_elsewhere.get(plan_date, {}))
        with self.db.writer() as s:
            alerts = list(
                s.scalars(
                    select(AlertRow).where(self._open_alerts_of(plan_date)).order_by(AlertRow.id)
                )
            )
            if not alerts and not reported:
                return None
            base = repo.latest_done_plan(s, plan_date, with_state=True)
            if base is None or base.state is None:
                for a in alerts:
                    a.status = "no_plan"
                self._forget_emptied(plan_date, reported)  # no plan sends a truck there
                return None
            if repo.plan_job_pending(s, plan_date):
                return None  # kept open: the plan job reroutes them into its plan once done
            self._forget_emptied(plan_date, reported)  # this pass takes them in, or need not
            elsewhere = [
                at
                for (truck, bin_id), at in reported.items()
                if repo.visit_elsewhere_to_come(s, plan_date, truck, bin_id)
            ]
            again = _unserved_of(s, plan_date)  # it may serve them: they need targets
            if alerts or again:
                emptied, empty = self._emptied_since(s, plan_date, [*alerts, *again])
                for a in alerts:  # the bin was emptied after the alert: no new visit
                    if repo.emptied_since(a, emptied, empty):
                        _emptied(a, base.id)
                alerts = [a for a in alerts if a.status == "open"]
                again = [a for a in again if not repo.emptied_since(a, emptied, empty)]
            if not alerts and not elsewhere:
                return None
            new = PlanRow(
                plan_date=plan_date,
                version=repo.next_version(s, plan_date),
                parent_id=base.id,
                origin="reroute" if alerts else "emptied",
                status="running",
                progress=0.0,
                time_limit_s=self.settings.reroute_time_limit_s,  # trucks wait: seconds
                reports_seen_id=base.reports_seen_id,  # its start is the base's
                message=(
                    f"rerouting for {len(alerts)} alert(s)"
                    if alerts
                    else "rerouting: a truck is sent to a bin another truck's crew emptied"
                ),
            )
            s.add(new)
            s.flush()
            for a in alerts:
                a.status, a.plan_id = "rerouting", new.id
            urgent = list(dict.fromkeys(a.bin_id for a in alerts))
            own = [a.at for a in alerts if a.plan_date == plan_date]
            carried = not alerts or len(own) < len(alerts)
            running = carried or plan_date == self.today()  # now is when this runs
            now = max(own + elsewhere + ([self.clock()] if running else []))
            due = _targets([*alerts, *again], self.settings.alert_response_min, plan_date, now)
            return _Claim(
                plan_id=new.id,
                base_id=base.id,
                state=base.state,
                alert_ids=tuple(a.id for a in alerts),
                urgent=urgent,
                now=now,
                due=due,
                reports_seen_id=base.reports_seen_id,
                why=_crews_notes(alerts),
            )

    def _forget_emptied(self, plan_date: date, seen: Mapping[tuple[str, str], datetime]) -> None:
        """Drop the emptyings ``seen`` of :meth:`request_emptied` (those reported again since
        stay)."""
        with self._lock:
            left = {
                k: at
                for k, at in self._emptied_elsewhere.get(plan_date, {}).items()
                if seen.get(k) != at
            }
            if left:
                self._emptied_elsewhere[plan_date] = left
            else:
                self._emptied_elsewhere.pop(plan_date, None)

    def _rerouted_day(self, plan_date: date) -> date:
        """The day whose plan the alerts of ``plan_date`` reroute: today for an earlier day
        within the readings history (that day is over: a truck can only go today), else
        their own."""
        today = self.today()
        return today if self.carried_from(today) <= plan_date < today else plan_date

    def carried_from(self, today: date) -> date:
        """The first day whose alerts left open ``today``'s reroute takes in (the readings
        history)."""
        return today - timedelta(days=self.settings.readings_history_days)

    def _open_alerts_of(self, plan_date: date) -> Any:
        """The filter of the open alerts a reroute of ``plan_date`` takes in: the day's, and
        today's reroute those of earlier days within the readings history too."""
        own = AlertRow.plan_date == plan_date
        if plan_date == self.today():
            earliest = self.carried_from(plan_date)
            own = and_(AlertRow.plan_date <= plan_date, AlertRow.plan_date >= earliest)
        return and_(own, AlertRow.status == "open")

    def _emptied_since(
        self, s: Any, plan_date: date, alerts: list[AlertRow]
    ) -> tuple[dict[str, datetime], dict[str, datetime]]:
        """For ``repo.emptied_since`` of ``alerts``: the bins' last reported emptyings since
        the first alert, and when their sensors' readings (to ``plan_date``'s end) last show
        them emptied, for the sensors' alerts."""
        since = min(a.at for a in alerts)
        emptied = repo.last_emptied_since(s, since, {a.bin_id for a in alerts})
        sensed = {a.bin_id for a in alerts if a.source == "sensor"}
        if not sensed:
            return emptied, {}
        until = repo.history_window(plan_date, 0, self.settings.tz)[1]
        return emptied, repo.read_empty(repo.load_readings(s, since, until, sensed))

    def reroute_once(self, plan_date: date, planner: Planner, routing: Routing) -> int | None:
        """One reroute pass over the open alerts of ``plan_date``; the new plan id or None."""
        claimed = self._claim_alerts(plan_date)
        if claimed is None:
            return None
        new_id, base_id, alert_ids = claimed.plan_id, claimed.base_id, claimed.alert_ids
        try:
            base_day = state.loads(claimed.state)  # written by this service only
            since = planner.started_at(base_day)  # work reported before: an earlier plan's
            with self.db.reader() as s:
                seen = repo.last_report_id(s)  # the truck reports this reroute knows
                progress = repo.truck_progress(
                    s, plan_date, since, late_after=claimed.reports_seen_id
                )
                limit = repo.get_or_404(s, PlanRow, new_id, "plan").time_limit_s
                inventory = repo.load_inventory(s)
            listed = {b.bin_id for b in inventory.bins}
            urgent = [b for b in claimed.urgent if b in listed]  # deleted since (with its alerts)
            if claimed.urgent and not urgent:
                gone = ", ".join(claimed.urgent)
                raise ValueError(f"the alerted bin(s) {gone} were deleted meanwhile: no reroute")
            new_day, changes = planner.reroute(
                base_day,
                progress,
                urgent,
                routing.provider(),
                now=claimed.now,
                time_limit_s=float(limit),
                inventory=inventory,
                due={b: t for b, t in claimed.due.items() if b in listed},
                why=claimed.why,
            )
            diffs = route_diffs(planner.routes(base_day), planner.routes(new_day), changes)
            diffs_of = (base_id, diffs)
            self._store(new_id, new_day, planner, routing, diffs_of, alert_ids, read_upto=seen)
        except Exception as exc:
            log.exception("reroute %s failed", new_id)
            self._set(new_id, status="failed", message=_failure_text(exc), finished_at=utcnow())
            with self.db.writer() as s:
                s.execute(  # unless a plan job took them in meanwhile
                    update(AlertRow)
                    .where(AlertRow.id.in_(alert_ids), AlertRow.plan_id == new_id)
                    .values(status="failed")
                )
        return new_id
