"""Citizen reports; an overflowing report about a bin raises an overflow alert."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import mapping, repo
from api.db import BinRow, ReportRow
from api.deps import DbDep, JobsDep, PlannerDep, RoutingDep, SettingsDep
from api.errors import ConflictError, NotFoundError, RecordError
from api.schemas import ERROR_RESPONSES, PlanDate, ReportIn, ReportOut, UrlKey
from api.security import CanDispatch, CanRead
from fleet.errors import FleetDataError
from network.table import haversine_m

router = APIRouter(prefix="/reports", tags=["reports"], responses=ERROR_RESPONSES)

NEAREST_BIN_M = 100.0
ONE_DAY = timedelta(days=1)


def nearest_bin(session: Session, lon: float, lat: float, within_m: float) -> str | None:
    """The id of the bin closest to (lon, lat) if within ``within_m`` metres."""
    rows = session.execute(select(BinRow.bin_id, BinRow.lon, BinRow.lat)).all()
    if not rows:
        return None
    ids, lons, lats = zip(*rows, strict=True)
    metres = haversine_m(lon, lat, np.array(lons, dtype=float), np.array(lats, dtype=float))
    best = int(np.argmin(metres))
    return str(ids[best]) if metres[best] <= within_m else None


def _target_bin(session: Session, item: ReportIn) -> str | None:
    record = f"report_id={item.report_id!r}"
    if item.bin_id is not None:
        if session.get(BinRow, item.bin_id) is None:
            why = (
                f"unknown bin {item.bin_id!r}: not listed (a mistyped id: ids are "
                "case-sensitive; or a bin taken off the street); fix the id, or send the "
                f"report with lon, lat instead (the nearest bin within {NEAREST_BIN_M:.0f} m "
                "is taken)"
            )
            raise RecordError(["body", "bin_id"], why, record)
        return item.bin_id
    if item.lon is not None and item.lat is not None:
        return nearest_bin(session, item.lon, item.lat, NEAREST_BIN_M)
    return None


@router.post(
    "",
    response_model=ReportOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a citizen report",
)
def create_report(
    item: ReportIn,
    db: DbDep,
    jobs: JobsDep,
    settings: SettingsDep,
    planner: PlannerDep,
    routing: RoutingDep,
    _: CanDispatch,
) -> Any:
    """Store the report; if it says a bin overflows (by id, or the nearest bin within 100 m
    of lon/lat), raise an overflow alert that reroutes the running plan.

    An overflowing report dated before the readings history is a 422, as ``POST /alerts``
    dated so (no plan would take its alert); one that says no overflow is stored."""
    record = f"report_id={item.report_id!r}"
    try:
        mapping.report_record(item)
    except FleetDataError as exc:
        raise RecordError(["body"], str(exc), record) from exc
    ahead = jobs.ahead_of_clock(item.at)
    if ahead is not None:
        raise RecordError(["body", "at"], ahead, record)
    old = jobs.before_history(item.at) if item.overflowing else None
    if old is not None:
        fix = "or send it with overflowing false (stored, no alert)"
        raise RecordError(["body", "at"], f"{old}, {fix}", record)
    with db.writer() as s:
        if s.get(ReportRow, item.report_id) is not None:
            raise ConflictError(f"report {item.report_id!r} exists")
        bin_id = _target_bin(s, item)
        s.add(ReportRow(**item.model_dump()))
        alert = None
        if item.overflowing and bin_id is not None:
            alert = repo.add_alert(
                s,
                bin_id=bin_id,
                source="report",
                at=item.at,
                tz=settings.tz,
                report_id=item.report_id,
                note=item.text[:500],
            )
        alert_id = alert.id if alert else None
        plan_date = alert.plan_date if alert else None
    if plan_date is not None:
        jobs.request_reroute(plan_date, planner, routing)
    return ReportOut(**item.model_dump(), alert_id=alert_id)


@router.get("", response_model=list[ReportOut], summary="List citizen reports")
def list_reports(
    db: DbDep,
    settings: SettingsDep,
    _: CanRead,
    day: PlanDate | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[ReportOut]:
    """Citizen reports, newest first; ``day``: those made that day in the city's time zone
    (``BINROUTE_TZ``), the reports a map of that day shows."""
    query = select(ReportRow)
    if day is not None:
        start, end = (
            datetime.combine(d, time(0), tzinfo=settings.tz) for d in (day, day + ONE_DAY)
        )
        query = query.where(ReportRow.at >= start, ReportRow.at < end)
    with db.reader() as s:
        rows = s.scalars(query.order_by(ReportRow.at.desc(), ReportRow.report_id).limit(limit))
        return [ReportOut.model_validate(r) for r in rows]


@router.get("/{report_id}", response_model=ReportOut, summary="Get a citizen report")
def get_report(report_id: UrlKey, db: DbDep, _: CanRead) -> ReportOut:
    with db.reader() as s:
        row = s.get(ReportRow, report_id)
        if row is None:
            raise NotFoundError("report", report_id)
        return ReportOut.model_validate(row)
