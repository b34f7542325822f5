"""Database queries shared by routers and jobs (rows in, fleet records out)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from api import mapping
from api.db import (
    AlertRow,
    BinRow,
    DepotRow,
    DowntimeRow,
    NightlyRunRow,
    ProgressRow,
    ReadingRow,
    ReportRow,
    SiteRow,
    VehicleRow,
    utcnow,
)
from api.errors import NotFoundError
from api.repo_alerts import BIN_DELETED
from api.repo_plans import (
    ReportsRead,
    bin_of_the_day,
    drop_states,
    latest_done_plan,
    newer_done,
    next_version,
    pending_request,
    plan_job_pending,
    planned_days,
    queued_plan_job,
    report_flags,
    reports_read,
    serialise,
    site_of_the_day,
    vehicle_of_the_day,
)
from api.repo_progress import (
    collection_log,
    is_resend,
    off_route,
    resend_ids,
    truck_progress,
    visit_to_come,
)
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

__all__ = [
    "ReportsRead",
    "add_alert",
    "bin_density",
    "bin_of_the_day",
    "collection_log",
    "delete_readings_before",
    "drop_states",
    "emptied_since",
    "fills_from_weights",
    "get_or_404",
    "history_window",
    "insert_reading",
    "is_resend",
    "km_from_depots_and_sites",
    "last_emptied_on",
    "last_emptied_since",
    "latest_done_plan",
    "lifted_weight_refused",
    "load_fleet",
    "load_inventory",
    "load_readings",
    "load_reports",
    "newer_done",
    "next_version",
    "nightly_runs",
    "off_route",
    "pending_request",
    "plan_job_pending",
    "planned_days",
    "queued_plan_job",
    "read_empty",
    "reading_clash",
    "report_flags",
    "reports_read",
    "resend_ids",
    "serialise",
    "site_of_the_day",
    "truck_progress",
    "vehicle_of_the_day",
    "visit_to_come",
]

RowT = TypeVar("RowT")


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
    :func:`read_empty`), nor one closed when its bin was deleted (a bin listed again under
    its id starts afresh, as its readings do).
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
            AlertRow.status.not_in(("dismissed", BIN_DELETED)),  # a false alarm; bin gone
        )
    )
    reports += [
        CitizenReport(report_id=f"alert-{a.id}", at=a.at, bin_id=a.bin_id, text=a.note)
        for a in alerts
        if not emptied_since(a, {}, empty or {})
    ]
    return reports


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
    until a truck empties the bin), bar those closed when the bin was deleted (listed again
    since). Nothing is added for a bin not listed: the bin's row is locked first (on
    PostgreSQL; SQLite's writers are serialised), so a deletion either sees the alert and
    closes it (``repo_alerts``) or comes first.
    """
    lock = select(BinRow.bin_id).where(BinRow.bin_id == bin_id).with_for_update()
    if session.scalar(lock) is None:
        return None
    plan_date = at.astimezone(tz).date()
    if once_per_day:
        since = last_emptied_on(session, plan_date, [bin_id]).get(bin_id)
        query = select(AlertRow.id).where(
            AlertRow.bin_id == bin_id,
            AlertRow.plan_date == plan_date,
            AlertRow.status != BIN_DELETED,
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
