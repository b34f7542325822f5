"""Database queries of the trucks' reports: each truck's progress, the collection log, resent
reports, and bins emptied off the plan being driven.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from api import mapping
from api.db import (
    AlertRow,
    BinRow,
    PlanRow,
    ProgressRow,
)
from api.planner import TruckProgress
from api.repo_plans import _work_planned, latest_done_plan
from fleet.models import (
    PickupRecord,
)

# A bin reported emptied again this long after its last report was emptied a second time
# (a second visit of the day is planned at least an hour after the first); the same gap
# tells a truck's second unloading at a site from a resent report of the first.
REPEAT_REPORT_GAP = timedelta(hours=1)


def _alert_times(session: Session, *where: Any) -> dict[str, list[datetime]]:
    """When each bin's alerts (matching ``where``) were raised, in time order."""
    rows = session.execute(select(AlertRow.bin_id, AlertRow.at).where(*where).order_by(AlertRow.at))
    out: dict[str, list[datetime]] = {}
    for bin_id, at in rows:
        out.setdefault(bin_id, []).append(at)
    return out


def _new_emptying(
    alerts: Mapping[str, Sequence[datetime]] | None = None,
) -> Callable[[ProgressRow], bool]:
    """A filter of ``visit_done``, ``visit_missed`` and ``disposal_done`` rows taken in time
    order: False for a resend. A report identical to one of its truck's kept ones (the same
    kind, bin or site, ``at`` and ``reason``: a tablet retrying) is always one. So is the
    same truck's report of the same bin, or site, within ``REPEAT_REPORT_GAP`` of its last
    kept one, with no other bin or unloading reported by the truck in between (a button
    pressed twice). A report after other work is never a resend: a short trip may bring a
    truck back to a site, or an alert back to a bin, within the hour; nor is a bin's report
    (emptied, or missed again: its crew still could not empty it) after an alert on the bin
    raised since its last kept one (``alerts``: bin id -> when; a deleted bin's too, which
    it keeps): the alert sent the truck straight back. For a bin missed, that counts the
    alert raised at the kept report's own time (the crew's alert, ``post_progress``, which
    sends a truck back); an alert raised at an emptying's time was answered by it
    (``emptied_since``), and sends none. Nor is an emptying on its truck's route in a newer
    plan than the kept one's (``off_route`` False): that plan sent the truck back to the bin
    (a second visit, ``<bin>#2``, of a bin that refills fast)."""
    kept: dict[tuple[str, str, str | None], tuple[datetime, int]] = {}  # at, plan id
    last: dict[str, tuple[str, str | None]] = {}  # per truck: what its last kept report was
    seen: set[tuple[str, str, str | None, datetime, str | None]] = set()  # kept, as sent
    raised = alerts or {}

    def sent_back(r: ProgressRow, since: datetime) -> bool:
        if r.kind == "disposal_done":
            return False
        times = raised.get(r.bin_id or "", ())
        if r.kind == "visit_missed":  # the kept one's crew alert too
            return any(since <= at <= r.at for at in times)
        return any(since < at <= r.at for at in times)

    def replanned(r: ProgressRow, plan_id: int) -> bool:
        return r.kind == "visit_done" and r.off_route is False and r.plan_id > plan_id

    def is_new(r: ProgressRow) -> bool:
        what = (r.kind, r.site_id if r.kind == "disposal_done" else r.bin_id)
        key = (r.vehicle_id, *what)
        sent = (*key, r.at, r.reason)
        if sent in seen:
            return False
        prev = kept.get(key)
        if (
            prev is not None
            and r.at - prev[0] < REPEAT_REPORT_GAP
            and last[r.vehicle_id] == what
            and not sent_back(r, prev[0])
            and not replanned(r, prev[1])
        ):
            return False
        kept[key] = (r.at, r.plan_id)
        last[r.vehicle_id] = what
        seen.add(sent)
        return True

    return is_new


WORK_KINDS = ("visit_done", "visit_missed", "disposal_done")  # reports of work, not places


def is_resend(session: Session, row: ProgressRow) -> bool:
    """Whether stored report ``row`` (an emptying, a bin missed, an unloading) repeats one of
    its truck's earlier reports of the day (:func:`resend_ids`): the same report sent twice
    (a tablet retrying, a button pressed twice), which changes nothing."""
    if row.kind not in WORK_KINDS:
        return False
    return row.id in resend_ids(session, row.plan_date, vehicle_id=row.vehicle_id, until=row.at)


def resend_ids(
    session: Session,
    plan_date: date,
    *,
    vehicle_id: str | None = None,
    until: datetime | None = None,
) -> set[int]:
    """The ids of the reports (emptyings, bins missed, unloadings) of ``plan_date`` that
    repeat an earlier one of their truck's (:func:`_new_emptying`): the same report sent
    twice, which changes nothing. Only truck ``vehicle_id``'s, and only
    those dated ``until`` or before, when given (a truck's reports are judged alone, in
    time order, so the others do not change the answer)."""
    where = [ProgressRow.plan_date == plan_date, ProgressRow.kind.in_(WORK_KINDS)]
    if vehicle_id is not None:
        where.append(ProgressRow.vehicle_id == vehicle_id)
    if until is not None:
        where.append(ProgressRow.at <= until)
    rows = session.scalars(
        select(ProgressRow).where(*where).order_by(ProgressRow.at, ProgressRow.id)
    )
    is_new = _new_emptying(_alert_times(session, AlertRow.plan_date == plan_date))
    return {r.id for r in rows if not is_new(r)}


@dataclass(frozen=True, slots=True)
class CollectionLog:
    """What the trucks reported emptying (``visit_done``): the last emptying of each bin and
    every pickup, with the fill found or the weight lifted when the crew gave one
    (``fleet.fill.estimate_models`` takes both; an emptying without a fill still starts a
    bin's next fill cycle)."""

    last_emptied: dict[str, datetime]
    pickups: tuple[PickupRecord, ...]


def collection_log(
    session: Session, since: datetime, until: datetime, bin_ids: Iterable[str] | None = None
) -> CollectionLog:
    """The trucks' ``visit_done`` reports with ``since <= at < until``, any plan or day, of
    the bins listed now (a bin taken off the street leaves the log with it), or of those of
    ``bin_ids`` only, when given (their trucks' unloadings are read too, to tell resends).

    A resend (:func:`_new_emptying`: an earlier report sent again, or the truck's last
    report repeated within ``REPEAT_REPORT_GAP``, no alert on the bin between) is dropped, as in
    :func:`truck_progress`. With ``bin_ids``, only the reports of the trucks that reported
    one of those bins in the window are read (whether a report is a resend depends on its
    truck's reports alone), not the whole city's log.
    """
    window = (ProgressRow.at >= since, ProgressRow.at < until)
    visits = (ProgressRow.kind == "visit_done", *window)
    alerts: list[Any] = [AlertRow.at >= since, AlertRow.at < until]
    # the unloadings and bins missed too: a bin reported again after one is a second
    # emptying, not a resend (as truck_progress reads them); a bin missed is no emptying
    query = select(ProgressRow).where(ProgressRow.kind.in_(WORK_KINDS), *window)
    wanted = select(BinRow)
    if bin_ids is not None:
        ids = set(bin_ids)
        trucks = select(ProgressRow.vehicle_id).where(*visits, ProgressRow.bin_id.in_(ids))
        query = query.where(ProgressRow.vehicle_id.in_(trucks.distinct()))
        alerts.append(AlertRow.bin_id.in_(ids))  # other bins' kept or not: same `last`
        wanted = wanted.where(BinRow.bin_id.in_(ids))
    rows = session.scalars(query.order_by(ProgressRow.at, ProgressRow.id))
    last: dict[str, datetime] = {}
    pickups: list[PickupRecord] = []
    is_new = _new_emptying(_alert_times(session, *alerts))
    listed = {b.bin_id: mapping.bin_record(b) for b in session.scalars(wanted)}
    for r in rows:  # each goes through is_new: the truck's other reports tell resends
        if not is_new(r) or r.kind != "visit_done" or r.bin_id not in listed:
            continue
        last[r.bin_id] = r.at
        pickups.append(mapping.pickup_record(r, listed[r.bin_id]))
    return CollectionLog(last_emptied=last, pickups=tuple(pickups))


@dataclass(slots=True)
class _TruckLog:
    """One truck's reports read so far, in time order (:func:`truck_progress`): its stops
    (bins emptied, and bins of its route missed), unloadings, and last report with
    coordinates."""

    bins: list[str] = field(default_factory=list)
    fills: list[float | None] = field(default_factory=list)
    kgs: list[float | None] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    flags: list[bool | None] = field(default_factory=list)
    passed: list[bool] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    site_flags: list[bool | None] = field(default_factory=list)
    unloaded_at: datetime | None = None
    last: ProgressRow | None = None

    def read(
        self, r: ProgressRow, is_new: Callable[[ProgressRow], bool], since: datetime | None
    ) -> None:
        """Take in report ``r``; ``is_new``: the resend filter of the work reports
        (:func:`_new_emptying`, which reads each of them once, in time order); ``since``: the
        plan's start, when given (a report dated before it is late work, off the plan's
        routes)."""
        before = since is not None and r.at < since
        if r.kind == "visit_done" and r.bin_id is not None and is_new(r):
            off = True if before else r.off_route
            self._stop(r.bin_id, r.fill_fraction, r.weight_kg, r.at, off, passed=False)
        missed_off = before or bool(r.off_route)  # a bin missed off its route: no stop passed
        if r.kind == "visit_missed" and r.bin_id is not None and is_new(r) and not missed_off:
            self._stop(r.bin_id, 0.0, None, r.at, r.off_route, passed=True)  # nothing taken
        if r.kind == "disposal_done" and r.site_id is not None and is_new(r):
            self.sites.append(r.site_id)
            self.site_flags.append(True if before else r.off_route)
            self.unloaded_at = r.at
        if r.lon is not None and r.lat is not None:
            self.last = r
        elif r.kind != "position":  # a done report without coordinates: the truck moved on
            self.last = None

    def _stop(
        self,
        bin_id: str,
        fill: float | None,
        kg: float | None,
        at: datetime,
        off: bool | None,
        *,
        passed: bool,
    ) -> None:
        """A stop at ``bin_id`` at ``at``: the fill found and weight lifted (0 and None for a
        bin passed with nothing taken, ``passed``), and whether it was off the route."""
        self.bins.append(bin_id)
        self.fills.append(fill)
        self.kgs.append(kg)
        self.times.append(at)
        self.flags.append(off)
        self.passed.append(passed)

    def progress(self, vehicle_id: str) -> TruckProgress:
        """The progress of truck ``vehicle_id`` these reports tell."""
        pos = self.last
        return TruckProgress(
            vehicle_id=vehicle_id,
            done_bin_ids=tuple(self.bins),
            found_fills=tuple(self.fills),
            found_kg=tuple(self.kgs),
            done_site_ids=tuple(self.sites),
            lon=pos.lon if pos else None,
            lat=pos.lat if pos else None,
            at=pos.at if pos else None,
            done_at=tuple(self.times),
            unloaded_at=self.unloaded_at,
            off_route=tuple(self.flags),
            unloaded_off_route=tuple(self.site_flags),
            missed=tuple(self.passed),
        )


def truck_progress(
    session: Session,
    plan_date: date,
    since: datetime | None = None,
    vehicle_id: str | None = None,
    late_after: int | None = None,
    before_id: int | None = None,
) -> list[TruckProgress]:
    """Per truck (or truck ``vehicle_id`` only): bins emptied (with the fill found and the
    weight lifted, when reported) and sites unloaded at so far, in time order, and its
    position, when the last report with coordinates is not older than its last done
    report. Only reports at or after ``since`` count, when given (a plan made during the
    day: earlier work was done on an earlier plan), and, with ``late_after``, the bins
    emptied and unloadings dated before it whose report came after report id
    ``late_after`` (``PlanRow.reports_seen_id``: work that plan did not know of), each off
    the plan's routes (``TruckProgress.off_route``). With ``before_id``, only the reports
    stored before report id ``before_id`` count (those a report was judged with).

    A bin its crew could not empty (``visit_missed``) on its route is a stop passed with
    nothing taken: it is listed with the bins emptied (the k-th report of a bin is its k-th
    visit), at a fill found of 0, so that nothing counts on the truck's load (a reroute
    sends a truck to it again: ``post_progress`` raises an alert); one off its route, or
    dated before the plan's start, passed no stop of it and is left out.

    A report repeating the truck's last one (the same bin, or site) within
    ``REPEAT_REPORT_GAP`` is the same emptying sent twice; later, after other work, or after
    an alert on the bin, it is a second emptying (a second visit of the day) or a second
    trip (:func:`_new_emptying`).
    """
    query = select(ProgressRow).where(ProgressRow.plan_date == plan_date)
    if since is not None:
        query = query.where(or_(ProgressRow.at >= since, _late(late_after)))
    if vehicle_id is not None:
        query = query.where(ProgressRow.vehicle_id == vehicle_id)
    if before_id is not None:
        query = query.where(ProgressRow.id < before_id)
    is_new = _new_emptying(_alert_times(session, AlertRow.plan_date == plan_date))
    logs: dict[str, _TruckLog] = {}
    for r in session.scalars(query.order_by(ProgressRow.at)):
        logs.setdefault(r.vehicle_id, _TruckLog()).read(r, is_new, since)
    return [log.progress(vid) for vid, log in sorted(logs.items())]


def _late(late_after: int | None) -> Any:
    """The filter of the done reports (bins emptied, unloadings) stored after report id
    ``late_after`` (none when None)."""
    if late_after is None:
        return false()
    return and_(ProgressRow.id > late_after, ProgressRow.kind.in_(("visit_done", "disposal_done")))


def off_route(
    session: Session,
    plan: PlanRow,
    vehicle_id: str,
    *,
    bin_id: str | None = None,
    site_id: str | None = None,
    at: datetime | None = None,
    before_id: int | None = None,
) -> bool | None:
    """Whether truck ``vehicle_id`` emptying ``bin_id`` (or unloading at ``site_id``) at
    ``at`` is off its route in ``plan`` (the plan its crew reports against), its reports
    since the plan starts not known off route counted: work dated before the plan's start
    (done before it began: a report that came late); a bin beyond that route's visits of
    it, or an unloading beyond the route's unloadings at that site; either with bins the
    route empties between its last visit reported (:func:`_last_reported`) and that next
    visit there (the crew took its bins in another order, or the truck was full sooner
    than planned; those bins are still to do, never taken for done), or with an unloading
    there that the route has after it went on from where the truck was at a time later
    than ``at`` (:func:`_restarted_after`). With ``before_id``,
    the report stored as that id is judged again: its truck's reports stored before it are
    counted. None when the plan shows no visits (not done yet, or a planner whose documents
    have none)."""
    worked = _work_planned(session, plan)
    if worked is None:
        return None
    routes, since = worked
    if since is not None and at is not None and at < since:
        return True
    visits = routes.get(vehicle_id, ())
    p = _truck(session, plan.plan_date, since, vehicle_id, before_id)
    reported = _reported(p)
    visit = ("bin", bin_id) if bin_id is not None else ("disposal", site_id or "")
    stops = [i for i, v in enumerate(visits) if v == visit]
    if reported[visit] >= len(stops):
        return True
    skipped = visits[_last_reported(visits, reported) + 1 : stops[reported[visit]]]
    return any(kind == "bin" for kind, _ in skipped) or _restarted_after(skipped, at)


def _restarted_after(skipped: Sequence[tuple[str, str]], at: datetime | None) -> bool:
    """Whether the visits ``skipped`` (between a truck's last visit reported and the one a
    report dated ``at`` names) hold a waypoint later than ``at`` with an unloading after
    it. The plan went on from where the truck was then, after the work reported was done
    (the crew reported by the plan it had before, the report coming while the new one was
    made): the truck cannot have made that unloading first. Taken on the route, the
    unloading counted as done (an unloading skipped counts so: mostly one not reported),
    the truck as empty, timed as the plan had it, maybe after its site closed."""
    if at is None:
        return False
    restarted = False
    for kind, ident in skipped:
        if kind == "waypoint":
            restarted = restarted or datetime.fromisoformat(ident) > at
        elif kind == "disposal" and restarted:
            return True
    return False


def _reported(p: TruckProgress) -> Counter[tuple[str, str]]:
    """How often truck progress ``p`` reports each ("bin", bin id) emptied or passed and
    each ("disposal", site id) unloaded at, reports known off route not counted."""
    bins = {("bin", b): n for b, n in p.bins_on_route().items()}
    return Counter(bins | {("disposal", s): n for s, n in p.sites_on_route().items()})


def _last_reported(visits: Sequence[tuple[str, str]], reported: Counter[tuple[str, str]]) -> int:
    """The index in a route's ``visits`` of its last visit ``reported`` (the k-th report of a
    bin or site is its k-th visit there); -1: none."""
    seen: Counter[tuple[str, str]] = Counter()
    last = -1
    for i, v in enumerate(visits):
        seen[v] += 1
        if seen[v] <= reported[v]:
            last = i
    return last


def visit_to_come(session: Session, plan_date: date, vehicle_id: str, bin_id: str) -> bool:
    """Whether the newest finished plan of ``plan_date`` still sends a truck to ``bin_id``
    that truck ``vehicle_id``'s crew emptied off its route: a route visits the bin more
    often than its crew reported emptying it there (reports off its route not counted).
    Another truck's route, or ``vehicle_id``'s own: its crew emptied the bin ahead of the
    route's order (:func:`off_route`), and its planned visit there is still to come."""
    plan = latest_done_plan(session, plan_date)
    worked = _work_planned(session, plan) if plan is not None else None
    if worked is None:
        return False
    routes, since = worked
    for truck, visits in routes.items():
        planned = sum(1 for v in visits if v == ("bin", bin_id))
        if planned and planned > _truck(session, plan_date, since, truck).bins_on_route()[bin_id]:
            return True
    return False


def _truck(
    session: Session,
    plan_date: date,
    since: datetime | None,
    vehicle_id: str,
    before_id: int | None = None,
) -> TruckProgress:
    """Truck ``vehicle_id``'s progress on ``plan_date`` from ``since`` on, of the reports
    stored before report id ``before_id`` when given (none reported: nothing done)."""
    mine = truck_progress(session, plan_date, since, vehicle_id, before_id=before_id)
    return mine[0] if mine else TruckProgress(vehicle_id=vehicle_id)
