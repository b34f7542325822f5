"""Database queries shared by routers and jobs (rows in, fleet records out)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import and_, delete, false, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, undefer

from api import mapping
from api.db import (
    AlertRow,
    BinRow,
    DepotRow,
    DowntimeRow,
    NightlyRunRow,
    PlanRow,
    ProgressRow,
    ReadingRow,
    ReportRow,
    SiteRow,
    VehicleRow,
    utcnow,
)
from api.errors import NotFoundError
from api.planner import TruckProgress
from fleet import density
from fleet.fill import last_emptying_read
from fleet.models import (
    Bin,
    CitizenReport,
    FillReading,
    Inventory,
    PickupRecord,
    WeightReading,
)
from network.table import haversine_m

RowT = TypeVar("RowT")
# A bin reported emptied again this long after its last report was emptied a second time
# (a second visit of the day is planned at least an hour after the first); the same gap
# tells a truck's second unloading at a site from a resent report of the first.
REPEAT_REPORT_GAP = timedelta(hours=1)

_Routes = dict[str, tuple[tuple[str, str], ...]]  # truck -> its ("bin"|"disposal", id) visits


def get_or_404(session: Session, row_type: type[RowT], ident: Any, kind: str) -> RowT:
    """The row with primary key ``ident`` or ``NotFoundError`` (404)."""
    row = session.get(row_type, ident)
    if row is None:
        raise NotFoundError(kind, ident)
    return row


def nightly_runs(session: Session, limit: int) -> list[NightlyRunRow]:
    """The last ``limit`` nightly runs by plan date, newest first."""
    query = select(NightlyRunRow).order_by(NightlyRunRow.plan_date.desc()).limit(limit)
    return list(session.scalars(query))


def load_inventory(session: Session) -> Inventory:
    """All bins, depots, vehicles and sites, and the trucks' downtimes, as a validated
    ``Inventory``."""
    return Inventory(
        bins=tuple(mapping.bin_record(r) for r in session.scalars(select(BinRow))),
        depots=tuple(mapping.depot_record(r) for r in session.scalars(select(DepotRow))),
        vehicles=tuple(mapping.vehicle_record(r) for r in session.scalars(select(VehicleRow))),
        sites=tuple(mapping.site_record(r) for r in session.scalars(select(SiteRow))),
        downtimes=tuple(
            mapping.downtime_record(r)
            for r in session.scalars(select(DowntimeRow).order_by(DowntimeRow.id))
        ),
    )


def load_fleet(session: Session) -> Inventory:
    """The trucks, their depots and their downtimes as an ``Inventory`` without bins or sites:
    when each stream's trucks next come (``optimiser.daily.stream_opportunities``)."""
    return Inventory(
        bins=(),
        depots=tuple(mapping.depot_record(r) for r in session.scalars(select(DepotRow))),
        vehicles=tuple(mapping.vehicle_record(r) for r in session.scalars(select(VehicleRow))),
        sites=(),
        downtimes=tuple(
            mapping.downtime_record(r)
            for r in session.scalars(select(DowntimeRow).order_by(DowntimeRow.id))
        ),
    )


def load_readings(
    session: Session, since: datetime, until: datetime, bin_ids: Iterable[str] | None = None
) -> list[FillReading]:
    """Readings with ``since <= at < until`` (of ``bin_ids`` only, when given), oldest first."""
    query = select(ReadingRow).where(ReadingRow.at >= since, ReadingRow.at < until)
    if bin_ids is not None:
        query = query.where(ReadingRow.bin_id.in_(set(bin_ids)))
    rows = session.scalars(query.order_by(ReadingRow.at, ReadingRow.bin_id))
    return [mapping.reading_record(r) for r in rows]


def fills_from_weights(
    session: Session,
    readings: Sequence[FillReading | WeightReading],
    history_days: int = 14,
    window: tuple[datetime, datetime] | None = None,
) -> list[FillReading | str]:
    """``readings`` with those of sensors that only weigh as fill readings at their bins'
    density, or the reason each is refused (:func:`fleet.density.fills_from_weights`): the
    density set on the bin, else the one its readings stored in the ``history_days``
    before (or in ``window``, (start, end), when given; and those of ``readings``) and its
    pickups then (the fills the trucks found, the weights their lift scales took) show,
    else its stream's default. Only the weighed bins' readings, and the reports of the
    trucks that emptied them, are read."""
    weights = [r for r in readings if isinstance(r, WeightReading)]
    if not weights:
        return [r for r in readings if isinstance(r, FillReading)]  # all are
    if window is None:
        start = min(w.at for w in weights) - timedelta(days=history_days)
        window = (start, max(w.at for w in weights) + timedelta(seconds=1))
    since, until = window
    ids = {w.bin_id for w in weights}
    bins, stored, found = _density_evidence(session, ids, since, until)
    return density.fills_from_weights(bins, readings, stored, found)


def lifted_weight_refused(session: Session, bin_id: str, weight_kg: float) -> str | None:
    """Why ``weight_kg`` cannot be what a truck's lift scale took from bin ``bin_id``
    (:func:`fleet.density.weight_refused`: a scale in grams), or None; a bin not
    listed is not refused here (a visit of it is a report like any other)."""
    row = session.get(BinRow, bin_id)
    if row is None:
        return None
    return density.weight_refused(mapping.bin_record(row), weight_kg)


def bin_density(
    session: Session, bin_id: str, since: datetime, until: datetime
) -> tuple[Bin, tuple[str, ...]]:
    """Bin ``bin_id`` (404 when not listed) with the density its readings and the trucks'
    pickups stored with ``since <= at < until`` show
    (:func:`fleet.density.with_measured_densities`: ``measured_density_kg_per_l``, None
    when they show none in range), and a plan's notes on it
    (:func:`fleet.density.planned_at_densities`: which density is used; its weights alone
    still heavier than it holds at it)."""
    get_or_404(session, BinRow, bin_id, "bin")
    alone, stored, found = _density_evidence(session, {bin_id}, since, until)
    measured, _, _, notes = density.planned_at_densities(alone, stored, found)
    return measured.bins[0], notes


def _density_evidence(
    session: Session, ids: set[str], since: datetime, until: datetime
) -> tuple[Inventory, list[FillReading], list[PickupRecord]]:
    """The bins ``ids`` listed, and their readings and pickups stored with ``since <= at <
    until`` (to measure densities from)."""
    rows = session.scalars(select(BinRow).where(BinRow.bin_id.in_(ids)))
    bins = Inventory(bins=tuple(map(mapping.bin_record, rows)), depots=(), vehicles=(), sites=())
    stored = load_readings(session, since, until, ids)
    found = list(collection_log(session, since, until, ids).pickups)
    return bins, stored, found


_NEVER = datetime.min.replace(tzinfo=UTC)


def read_empty(readings: Iterable[FillReading]) -> dict[str, datetime]:
    """Per bin, when its sensor's readings last show it emptied (a confirmed drop,
    :func:`fleet.fill.last_emptying_read`; a lone low last reading may be a glitch)."""
    by_bin: dict[str, list[FillReading]] = {}
    for r in readings:
        by_bin.setdefault(r.bin_id, []).append(r)
    out = {b: last_emptying_read(rs) for b, rs in by_bin.items()}
    return {b: at for b, at in out.items() if at is not None}


def emptied_since(
    alert: AlertRow, emptied: Mapping[str, datetime], empty: Mapping[str, datetime]
) -> bool:
    """Whether ``alert``'s bin was emptied since it was raised: a truck reported it
    (``emptied``: the last emptying per bin) or, for a sensor's alert, the sensor's readings
    show it emptied later (``empty``: :func:`read_empty`). A citizen's or dispatcher's alert is
    not closed by a reading: the waste may lie beside the bin."""
    if emptied.get(alert.bin_id, _NEVER) >= alert.at:
        return True
    return alert.source == "sensor" and empty.get(alert.bin_id, _NEVER) > alert.at


def load_reports(
    session: Session,
    since: datetime,
    until: datetime,
    empty: Mapping[str, datetime] | None = None,
) -> list[CitizenReport]:
    """Citizen reports in the window, plus the overflow alerts raised for ``until``'s day.

    Alerts become overflowing reports (``alert-<id>``) so the policy collects those bins. A
    dismissed alert (a false alarm) counts for nothing, nor does the report that raised it,
    nor a sensor's alert whose sensor's readings show the bin emptied later (``empty``:
    :func:`read_empty`).
    """
    dismissed = select(AlertRow.report_id).where(
        AlertRow.status == "dismissed", AlertRow.report_id.is_not(None)
    )
    rows = session.scalars(
        select(ReportRow)
        .where(ReportRow.at >= since, ReportRow.at < until, ReportRow.report_id.not_in(dismissed))
        .order_by(ReportRow.at)
    )
    reports = [mapping.report_record(r) for r in rows]
    alerts = session.scalars(
        select(AlertRow).where(
            AlertRow.at >= since,
            AlertRow.at < until,
            AlertRow.report_id.is_(None),
            AlertRow.status != "dismissed",  # a false alarm
        )
    )
    reports += [
        CitizenReport(report_id=f"alert-{a.id}", at=a.at, bin_id=a.bin_id, text=a.note)
        for a in alerts
        if not emptied_since(a, {}, empty or {})
    ]
    return reports


def serialise(session: Session, name: str) -> None:
    """Hold the PostgreSQL advisory lock ``name`` until this transaction ends (no-op elsewhere).

    SQLite writers are serialised by ``Database.writer``; on PostgreSQL (READ COMMITTED) two
    writers doing check-then-insert (the next plan version, one sensor alert per bin and day)
    would both see the old state and insert twice.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest, signed=True))))


def next_version(session: Session, plan_date: date) -> int:
    """1 + the highest plan version of ``plan_date`` (1 for the first).

    Locks the date's version numbers until the caller's transaction ends (PostgreSQL).
    """
    serialise(session, f"plan-version {plan_date.isoformat()}")
    top = session.scalar(select(func.max(PlanRow.version)).where(PlanRow.plan_date == plan_date))
    return 1 if top is None else int(top) + 1


def last_report_id(session: Session) -> int:
    """The id of the newest truck progress report stored (0: none yet)."""
    return int(session.scalar(select(func.max(ProgressRow.id))) or 0)


def latest_done_plan(
    session: Session, plan_date: date, *, with_state: bool = False
) -> PlanRow | None:
    """The newest finished plan version of ``plan_date``; ``with_state``: its stored day
    plan read by the same query (a later read could find it dropped: :func:`drop_states`)."""
    query = select(PlanRow).where(PlanRow.plan_date == plan_date, PlanRow.status == "done")
    if with_state:
        query = query.options(undefer(PlanRow.state))
    return session.scalars(query.order_by(PlanRow.version.desc()).limit(1)).first()


def drop_states(session: Session, plan: PlanRow, today: date) -> None:
    """Drop the stored day plans no job will read again, now that ``plan`` is finished:
    those of its day's earlier versions (reroutes and re-plans start from the day's newest
    finished plan) and of the days before yesterday (``today`` the city's date; such a day
    is over). A city's day plan holds its travel matrices: 65 MB for 2000 bins, stored
    again by every reroute of the day. The plans' documents (routes, sheets, KPIs) stay."""
    stale = or_(
        and_(PlanRow.plan_date == plan.plan_date, PlanRow.version < plan.version),
        PlanRow.plan_date < today - timedelta(days=1),
    )
    session.execute(
        update(PlanRow)
        .where(PlanRow.id != plan.id, PlanRow.state.is_not(None), stale)
        .values(state=None)
    )


def planned_days(session: Session, since: date) -> list[date]:
    """The dates from ``since`` on with a finished plan, or a plan job queued or running (a
    change to the fleet then needs a plan after it: it may have read its inputs), in order."""
    job = and_(PlanRow.status.in_(("queued", "running")), PlanRow.origin.not_in(REROUTE_ORIGINS))
    return sorted(
        session.scalars(
            select(PlanRow.plan_date)
            .where(or_(PlanRow.status == "done", job), PlanRow.plan_date >= since)
            .distinct()
        )
    )


# origins of the versions a reroute pass makes (``JobRunner.reroute_once``): for alerts, and
# for a bin another truck's crew emptied; every other origin is a plan job's
REROUTE_ORIGINS = ("reroute", "emptied")


def queued_plan_job(session: Session, plan_date: date) -> PlanRow | None:
    """The oldest plan job (not a reroute) of ``plan_date`` still queued, if any."""
    return session.scalars(
        select(PlanRow)
        .where(
            PlanRow.plan_date == plan_date,
            PlanRow.status == "queued",
            PlanRow.origin.not_in(REROUTE_ORIGINS),
        )
        .order_by(PlanRow.version)
        .limit(1)
    ).first()


def pending_request(session: Session, plan_date: date, time_limit_s: int) -> PlanRow | None:
    """The oldest plan job a dispatcher requested (``POST /plans``) of ``plan_date`` with the
    budget ``time_limit_s`` still queued or running, if any: the same request."""
    return session.scalars(
        select(PlanRow)
        .where(
            PlanRow.plan_date == plan_date,
            PlanRow.origin == "request",
            PlanRow.time_limit_s == time_limit_s,
            PlanRow.status.in_(("queued", "running")),
        )
        .order_by(PlanRow.version)
        .limit(1)
    ).first()


def plan_job_pending(session: Session, plan_date: date) -> bool:
    """Whether a plan job (not a reroute) of ``plan_date`` is queued or running."""
    return (
        session.scalars(
            select(PlanRow.id)
            .where(
                PlanRow.plan_date == plan_date,
                PlanRow.status.in_(("queued", "running")),
                PlanRow.origin.not_in(REROUTE_ORIGINS),
            )
            .limit(1)
        ).first()
        is not None
    )


def newer_done(session: Session, plan_date: date, version: int) -> bool:
    """Whether a finished plan version of ``plan_date`` is newer than ``version``."""
    return (
        session.scalars(
            select(PlanRow.id)
            .where(
                PlanRow.plan_date == plan_date,
                PlanRow.status == "done",
                PlanRow.version > version,
            )
            .limit(1)
        ).first()
        is not None
    )


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
    raised since its last kept one (``alerts``: bin id -> when): the alert sent the truck
    straight back. For a bin missed, that counts the alert raised at the kept report's own
    time (the crew's alert, ``post_progress``, which sends a truck back); an alert raised
    at an emptying's time was answered by it (``emptied_since``), and sends none. Nor is
    an emptying on its truck's route in a newer plan than the kept one's (``off_route``
    False): that plan sent the truck back to the bin (a second visit, ``<bin>#2``, of a
    bin that refills fast)."""
    kept: dict[tuple[str, str, str | None], tuple[datetime, int]] = {}  # at, plan id
    last: dict[str, tuple[str, str | None]] = {}  # per truck: what its last kept report was
    seen: set[tuple[str, str, str | None, datetime, str | None]] = set()  # kept, as sent
    raised = alerts or {}

    def sent_back(r: ProgressRow, since: datetime) -> bool:
        if r.kind == "disposal_done":
            return False
        times = raised.get(r.bin_id or "", ())
        if r.kind == "visit_missed":
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
    rows = session.scalars(query.order_by(ProgressRow.at))
    done: dict[str, list[str]] = {}
    fills: dict[str, list[float | None]] = {}
    kgs: dict[str, list[float | None]] = {}
    times: dict[str, list[datetime]] = {}
    flags: dict[str, list[bool | None]] = {}
    passed: dict[str, list[bool]] = {}
    unloaded: dict[str, list[str]] = {}
    unloaded_flags: dict[str, list[bool | None]] = {}
    unloaded_at: dict[str, datetime] = {}
    last: dict[str, ProgressRow] = {}
    is_new = _new_emptying(_alert_times(session, AlertRow.plan_date == plan_date))

    def before(r: ProgressRow) -> bool:  # a late report of work before the plan's start
        return since is not None and r.at < since

    def missed_off(r: ProgressRow) -> bool:  # a bin missed off its route: no stop passed
        return before(r) or bool(r.off_route)

    for r in rows:
        done.setdefault(r.vehicle_id, [])
        fills.setdefault(r.vehicle_id, [])
        kgs.setdefault(r.vehicle_id, [])
        times.setdefault(r.vehicle_id, [])
        flags.setdefault(r.vehicle_id, [])
        passed.setdefault(r.vehicle_id, [])
        if r.kind == "visit_done" and r.bin_id is not None and is_new(r):
            passed[r.vehicle_id].append(False)
            done[r.vehicle_id].append(r.bin_id)
            fills[r.vehicle_id].append(r.fill_fraction)
            kgs[r.vehicle_id].append(r.weight_kg)
            times[r.vehicle_id].append(r.at)
            flags[r.vehicle_id].append(True if before(r) else r.off_route)
        if r.kind == "visit_missed" and r.bin_id is not None and is_new(r) and not missed_off(r):
            passed[r.vehicle_id].append(True)  # a stop of its route passed, nothing taken
            done[r.vehicle_id].append(r.bin_id)
            fills[r.vehicle_id].append(0.0)
            kgs[r.vehicle_id].append(None)
            times[r.vehicle_id].append(r.at)
            flags[r.vehicle_id].append(r.off_route)
        if r.kind == "disposal_done" and r.site_id is not None and is_new(r):
            unloaded.setdefault(r.vehicle_id, []).append(r.site_id)
            unloaded_flags.setdefault(r.vehicle_id, []).append(True if before(r) else r.off_route)
            unloaded_at[r.vehicle_id] = r.at
        if r.lon is not None and r.lat is not None:
            last[r.vehicle_id] = r
        elif r.kind != "position":  # a done report without coordinates: the truck moved on
            last.pop(r.vehicle_id, None)
    out = []
    for vid, bins in sorted(done.items()):
        pos = last.get(vid)
        out.append(
            TruckProgress(
                vehicle_id=vid,
                done_bin_ids=tuple(bins),
                found_fills=tuple(fills[vid]),
                found_kg=tuple(kgs[vid]),
                done_site_ids=tuple(unloaded.get(vid, ())),
                lon=pos.lon if pos else None,
                lat=pos.lat if pos else None,
                at=pos.at if pos else None,
                done_at=tuple(times[vid]),
                unloaded_at=unloaded_at.get(vid),
                off_route=tuple(flags[vid]),
                unloaded_off_route=tuple(unloaded_flags.get(vid, ())),
                missed=tuple(passed[vid]),
            )
        )
    return out


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
    it; an unloading beyond the route's unloadings at that site, or before the bins the
    route empties ahead of the next one were all reported (the truck was full sooner than
    planned: those bins are still to do). With ``before_id``, the report stored as that id
    is judged again: its truck's reports stored before it are counted. None when the plan
    shows no visits (not done yet, or a planner whose documents have none)."""
    worked = _work_planned(session, plan)
    if worked is None:
        return None
    routes, since = worked
    if since is not None and at is not None and at < since:
        return True
    visits = routes.get(vehicle_id, ())
    p = _truck(session, plan.plan_date, since, vehicle_id, before_id)
    emptied = p.bins_on_route()
    if bin_id is not None:
        return emptied[bin_id] + 1 > sum(1 for v in visits if v == ("bin", bin_id))
    unloaded = p.sites_on_route()[site_id or ""]
    stops = [i for i, v in enumerate(visits) if v == ("disposal", site_id)]
    if unloaded >= len(stops):
        return True
    ahead = Counter(ident for kind, ident in visits[: stops[unloaded]] if kind == "bin")
    return any(emptied[b] < n for b, n in ahead.items())


def visit_elsewhere_to_come(
    session: Session, plan_date: date, vehicle_id: str, bin_id: str
) -> bool:
    """Whether the newest finished plan of ``plan_date`` still sends a truck other than
    ``vehicle_id`` to ``bin_id``: its route visits the bin more often than its crew reported
    emptying it there (reports off its route not counted)."""
    plan = latest_done_plan(session, plan_date)
    worked = _work_planned(session, plan) if plan is not None else None
    if worked is None:
        return False
    routes, since = worked
    for truck, visits in routes.items():
        planned = sum(1 for v in visits if v == ("bin", bin_id))
        if truck == vehicle_id or not planned:
            continue
        if planned > _truck(session, plan_date, since, truck).bins_on_route()[bin_id]:
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


# per (database, plan id): each truck's bin and disposal visits in order and the plan's
# start; a finished plan's documents never change, and reading them takes ~45 ms on 2000 bins
_WORK_PLANNED: OrderedDict[tuple[str, int], tuple[_Routes, datetime | None]] = OrderedDict()
_WORK_PLANNED_SIZE = 16
_WORK_PLANNED_LOCK = threading.Lock()


def bin_of_the_day(session: Session, plan_date: date, bin_id: str) -> bool:
    """Whether ``bin_id`` is listed, or in the routes of a plan of ``plan_date`` (a bin
    deleted after a truck was sent to it)."""
    if session.get(BinRow, bin_id) is not None:
        return True
    return _planned_on(session, plan_date, lambda truck, work: ("bin", bin_id) in work)


def vehicle_of_the_day(session: Session, plan_date: date, vehicle_id: str) -> bool:
    """Whether ``vehicle_id`` is in the fleet, or has work in a plan of ``plan_date`` (a
    truck deleted from the fleet after it was sent out: its crew's reports of that day,
    a tablet syncing late, still count)."""
    if session.get(VehicleRow, vehicle_id) is not None:
        return True
    return _planned_on(session, plan_date, lambda truck, work: truck == vehicle_id)


def site_of_the_day(session: Session, plan_date: date, site_id: str) -> bool:
    """Whether ``site_id`` is listed, or a truck unloads there in a plan of ``plan_date``
    (a site closed after a truck was sent to it: the unloading done before still counts)."""
    if session.get(SiteRow, site_id) is not None:
        return True
    return _planned_on(session, plan_date, lambda truck, work: ("disposal", site_id) in work)


def _planned_on(
    session: Session,
    plan_date: date,
    holds: Callable[[str, tuple[tuple[str, str], ...]], bool],
) -> bool:
    """Whether a truck's work (its ("bin"|"disposal", id) visits) in a finished plan of
    ``plan_date`` ``holds``."""
    plans = session.scalars(
        select(PlanRow).where(PlanRow.plan_date == plan_date, PlanRow.status == "done")
    )
    for plan in plans:
        worked = _work_planned(session, plan)
        if worked and any(holds(truck, work) for truck, work in worked[0].items()):
            return True
    return False


def km_from_depots_and_sites(session: Session, lon: float, lat: float) -> float | None:
    """Great-circle km from (lon, lat) to the nearest depot or disposal site; None when
    there is none."""
    rows = [
        *session.execute(select(DepotRow.lon, DepotRow.lat)),
        *session.execute(select(SiteRow.lon, SiteRow.lat)),
    ]
    if not rows:
        return None
    lons, lats = np.array(rows, dtype=float).T
    return float(np.min(haversine_m(lon, lat, lons, lats))) / 1000.0


def _work_planned(session: Session, plan: PlanRow) -> tuple[_Routes, datetime | None] | None:
    """Each truck's ("bin", bin id) and ("disposal", site id) visits in ``plan``'s routes,
    in order, and when the plan starts (its JSON's ``start_at``); None when its documents
    show no visits (not done yet, or a planner whose documents have none)."""
    key = (str(session.get_bind().engine.url), plan.id)
    with _WORK_PLANNED_LOCK:
        if key in _WORK_PLANNED:
            _WORK_PLANNED.move_to_end(key)
            return _WORK_PLANNED[key]
    doc = (plan.exports or {}).get("plan") or {}
    routes = doc.get("routes")
    if not isinstance(routes, list) or not all("visits" in r for r in routes):
        return None
    work: dict[str, list[tuple[str, str]]] = {}
    for r in routes:
        for v in r["visits"]:
            if v.get("kind") in ("bin", "disposal"):
                ident = v["bin_id"] if v["kind"] == "bin" else v["ref"]
                work.setdefault(r.get("vehicle_id", ""), []).append((v["kind"], ident))
    since = datetime.fromisoformat(doc["start_at"]) if doc.get("start_at") else None
    got = ({k: tuple(v) for k, v in work.items()}, since)
    if plan.status == "done":  # its documents are final
        with _WORK_PLANNED_LOCK:
            _WORK_PLANNED[key] = got
            while len(_WORK_PLANNED) > _WORK_PLANNED_SIZE:
                _WORK_PLANNED.popitem(last=False)
    return got


def history_window(plan_date: date, days: int, tz: Any) -> tuple[datetime, datetime]:
    """(start, end) of the readings a plan of ``plan_date`` sees: ``days`` up to its midnight
    after the day (so same-day readings before the run count)."""
    end = datetime.combine(plan_date + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return end - timedelta(days=days + 1), end


def last_emptied_on(
    session: Session, plan_date: date, bin_ids: Iterable[str]
) -> dict[str, datetime]:
    """When each of ``bin_ids`` was last reported emptied (``visit_done``) on ``plan_date``."""
    return _last_emptied(session, bin_ids, ProgressRow.plan_date == plan_date)


def last_emptied_since(
    session: Session, since: datetime, bin_ids: Iterable[str]
) -> dict[str, datetime]:
    """When each of ``bin_ids`` was last reported emptied (``visit_done``) from ``since`` on,
    any day."""
    return _last_emptied(session, bin_ids, ProgressRow.at >= since)


def _last_emptied(session: Session, bin_ids: Iterable[str], where: Any) -> dict[str, datetime]:
    rows = session.execute(
        select(ProgressRow.bin_id, func.max(ProgressRow.at))
        .where(where, ProgressRow.kind == "visit_done", ProgressRow.bin_id.in_(set(bin_ids)))
        .group_by(ProgressRow.bin_id)
    )
    return {str(b): at for b, at in rows if b is not None}


def add_alert(
    session: Session,
    *,
    bin_id: str,
    source: str,
    at: datetime,
    tz: Any,
    fill_fraction: float | None = None,
    report_id: str | None = None,
    note: str = "",
    once_per_day: bool = False,
) -> AlertRow | None:
    """Insert an open overflow alert for the plan date of ``at`` (city time).

    With ``once_per_day`` nothing is added when the bin already has an alert that day since
    its last emptying (a sensor above the threshold keeps reporting; one reroute is enough
    until a truck empties the bin).
    """
    plan_date = at.astimezone(tz).date()
    if once_per_day:
        since = last_emptied_on(session, plan_date, [bin_id]).get(bin_id)
        query = select(AlertRow.id).where(
            AlertRow.bin_id == bin_id, AlertRow.plan_date == plan_date
        )
        if since is not None:
            query = query.where(AlertRow.at >= since)
        if session.scalar(query.limit(1)) is not None:
            return None
    row = AlertRow(
        bin_id=bin_id,
        plan_date=plan_date,
        source=source,
        at=at,
        fill_fraction=fill_fraction,
        report_id=report_id,
        note=note,
        status="open",
    )
    session.add(row)
    session.flush()
    return row


def delete_readings_before(session: Session, before: datetime, limit: int) -> int:
    """Delete the oldest ``limit`` at most of the readings dated before ``before``; how many
    (fewer than ``limit``: none is left)."""
    oldest = select(ReadingRow.id).where(ReadingRow.at < before).order_by(ReadingRow.at)
    ids = list(session.scalars(oldest.limit(limit)))
    if ids:
        session.execute(delete(ReadingRow).where(ReadingRow.id.in_(ids)))
    return len(ids)


def reading_clash(session: Session, r: FillReading) -> str | None:
    """Why ``r`` is not used when the reading stored at its bin and instant has other
    values (the first stored stays: a bin has one reading per instant); None when there is
    none or it has the same values (``r`` was sent again)."""
    stored = session.scalars(
        select(ReadingRow).where(ReadingRow.bin_id == r.bin_id, ReadingRow.at == r.at)
    ).first()
    if stored is None:
        return None
    kept = mapping.reading_record(stored)
    if (kept.fill_fraction, kept.weight_kg) == (r.fill_fraction, r.weight_kg):
        return None

    def values(x: FillReading) -> str:
        return f"fill {x.fill_fraction:g}" + (
            f", {x.weight_kg:g} kg" if x.weight_kg is not None else ""
        )

    return (
        f"{r.bin_id}: the reading of {r.at.isoformat()} ({values(r)}) is not used: the one "
        f"stored at that instant ({values(kept)}) stays; a bin has one reading per instant"
    )


def insert_reading(session: Session, reading: FillReading) -> bool:
    """Insert one reading unless (bin_id, at) is stored already; True when inserted.

    One statement per dialect (``ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL), so two
    writers sending the same reading cannot both store it.
    """
    values = {f.name: getattr(reading, f.name) for f in dataclasses.fields(reading)}
    values["received_at"] = utcnow()
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect in ("postgresql", "sqlite"):
        # RETURNING tells inserted from skipped: with implicit RETURNING (PostgreSQL)
        # the result's rowcount is -1 either way.
        upsert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = upsert(ReadingRow).values(**values)
        stmt = stmt.on_conflict_do_nothing(index_elements=["bin_id", "at"])
        return session.execute(stmt.returning(ReadingRow.id)).first() is not None
    exists = session.scalar(
        select(ReadingRow.id).where(
            ReadingRow.bin_id == values["bin_id"], ReadingRow.at == values["at"]
        )
    )
    if exists is not None:
        return False
    session.execute(insert(ReadingRow).values(**values))
    return True
