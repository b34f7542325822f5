"""Database queries shared by routers and jobs (rows in, fleet records out)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import mapping
from api.db import (
    AlertRow,
    BinRow,
    DepotRow,
    DowntimeRow,
    NightlyRunRow,
    ProgressRow,
    ReportRow,
    SiteRow,
    VehicleRow,
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
from api.repo_readings import (
    delete_readings_before,
    density_evidence,
    fills_from_weights,
    insert_reading,
    lifted_weight_refused,
    load_readings,
    reading_clash,
)
from fleet.fill import last_emptying_read
from fleet.models import Bin, CitizenReport, FillReading, Inventory
from fleet.weights import planned_at_densities
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


def bin_density(
    session: Session, bin_id: str, since: datetime, until: datetime
) -> tuple[Bin, tuple[str, ...]]:
    """Bin ``bin_id`` (404 when not listed) with the density its readings and the trucks'
    pickups stored with ``since <= at < until`` show
    (:func:`fleet.density.with_measured_densities`: ``measured_density_kg_per_l``, None
    when they show none in range), and a plan's notes on it
    (:func:`fleet.weights.planned_at_densities`: which density is used; its weights alone
    still heavier than it holds at it)."""
    get_or_404(session, BinRow, bin_id, "bin")
    alone, stored, found = density_evidence(session, {bin_id}, since, until)
    measured, _, _, notes = planned_at_densities(alone, stored, found)
    return measured.bins[0], notes


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
