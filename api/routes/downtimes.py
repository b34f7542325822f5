"""Trucks out of service: each downtime re-plans the days it changes (today and later): the
days it touches, and the days before whose bins' next collection it puts off."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import mapping, repo
from api.db import DowntimeRow, VehicleRow
from api.deps import DbDep, JobsDep, PlannerDep, RoutingDep, RuntimeDep
from api.errors import NotFoundError, RecordError
from api.jobs import JobRunner
from api.planner import Planner
from api.routing import Routing
from api.scheduler import schedule_back_in_service
from api.schemas import (
    ERROR_RESPONSES,
    MAX_ROW_ID,
    DowntimeEndIn,
    DowntimeIn,
    DowntimeOut,
    NoNul,
)
from api.security import CanDispatch, CanRead
from fleet.models import Inventory

router = APIRouter(
    prefix="/vehicles/{vehicle_id}/downtimes", tags=["vehicles"], responses=ERROR_RESPONSES
)

VehicleId = Annotated[str, Path(min_length=1, max_length=64), NoNul]
DowntimeId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
REPLANNED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Stored; plan jobs of the days it changes are queued"}
}


@router.post(
    "",
    response_model=DowntimeOut,
    status_code=status.HTTP_201_CREATED,
    summary="Take a truck out of service (re-plans the days it changes)",
    responses=REPLANNED,
)
def add_downtime(
    vehicle_id: VehicleId,
    item: DowntimeIn,
    response: Response,
    db: DbDep,
    jobs: JobsDep,
    planner: PlannerDep,
    routing: RoutingDep,
    runtime: RuntimeDep,
    _: CanDispatch,
) -> DowntimeOut:
    """The truck is out of service from ``start_at`` (default now) until ``end_at`` (None:
    until further notice). Plans then give it only the part of its shift outside, or no
    bin, with a note. Each day from today with a finished plan that the downtime touches
    is planned again (202; ``replans``): made while trucks are out, the rest of the day is
    re-planned from where they are, the truck keeping the visits it did and its bins going
    to the others. So is each such day whose bins it gives a later next collection (the
    truck's streams have no other truck in service then: a downtime tomorrow makes today's
    plan take the bins that would overflow before the trucks come again). At its ``end``
    the nightly scheduler re-plans that day again (when it is today and has a plan), so the
    truck back in service takes bins again."""
    with db.writer() as s:
        repo.get_or_404(s, VehicleRow, vehicle_id, "vehicle")
        before = repo.load_fleet(s)
        row = DowntimeRow(
            vehicle_id=vehicle_id,
            start_at=item.start_at or jobs.clock(),
            end_at=item.end_at,
            reason=item.reason,
        )
        mapping.downtime_record(row)  # FleetDataError -> 422 naming the record
        s.add(row)
        s.flush()
        s.refresh(row)  # its instants as stored: UTC
        days = _days_changed(s, jobs, row.start_at, row.end_at, before)
        out = DowntimeOut.model_validate(row)
    schedule_back_in_service(runtime, out.id, out.end_at)
    return _replanned(out, days, response, jobs, planner, routing)


@router.get("", response_model=list[DowntimeOut], summary="A truck's downtimes")
def list_downtimes(vehicle_id: VehicleId, db: DbDep, _: CanRead) -> list[DowntimeOut]:
    with db.reader() as s:
        repo.get_or_404(s, VehicleRow, vehicle_id, "vehicle")
        rows = s.scalars(
            select(DowntimeRow)
            .where(DowntimeRow.vehicle_id == vehicle_id)
            .order_by(DowntimeRow.start_at, DowntimeRow.id)
        )
        return [DowntimeOut.model_validate(r) for r in rows]


@router.post(
    "/{downtime_id}/end",
    response_model=DowntimeOut,
    summary="The truck is back in service (re-plans the days it changes)",
    responses=REPLANNED,
)
def end_downtime(
    vehicle_id: VehicleId,
    downtime_id: DowntimeId,
    item: DowntimeEndIn,
    response: Response,
    db: DbDep,
    jobs: JobsDep,
    planner: PlannerDep,
    routing: RoutingDep,
    runtime: RuntimeDep,
    _: CanDispatch,
) -> DowntimeOut:
    """The downtime ends at ``at`` (default now; an end later than it had is a 422: give
    it a new downtime). The days from ``at`` to its former end are planned again, as when
    it was added. Ended at or before its start (a planned one called off), it is deleted:
    the response shows it ending at its start."""
    with db.writer() as s:
        row = _own(s, vehicle_id, downtime_id)
        before = repo.load_fleet(s)
        at = item.at or jobs.clock()
        called_off = at <= row.start_at  # it never applies
        if called_off:
            out = DowntimeOut.model_validate(row).model_copy(update={"end_at": row.start_at})
            s.delete(row)
            s.flush()
            days = _days_changed(s, jobs, row.start_at, row.end_at, before)
        else:
            out, days = _ended(s, jobs, row, at, downtime_id, before)
    schedule_back_in_service(runtime, downtime_id, None if called_off else out.end_at)
    return _replanned(out, days, response, jobs, planner, routing)


def _ended(
    s: Session,
    jobs: JobRunner,
    row: DowntimeRow,
    at: datetime,
    downtime_id: int,
    before: Inventory,
) -> tuple[DowntimeOut, list[date]]:
    """Downtime ``row`` ending at ``at`` (after its start), and the days that changes (the
    fleet ``before`` it: :func:`_days_changed`); a 422 when that would lengthen it."""
    was = row.end_at
    if was is not None and at >= was:
        raise RecordError(
            ["body", "at"],
            f"downtime {downtime_id} already ends at {was.isoformat()}, before "
            f"{at.isoformat()}; add a new downtime to keep the truck out longer",
            f"downtime {downtime_id}",
        )
    row.end_at = at
    s.flush()
    s.refresh(row)  # its instants as stored: UTC
    return DowntimeOut.model_validate(row), _days_changed(s, jobs, at, was, before)


@router.delete(
    "/{downtime_id}",
    response_model=DowntimeOut,
    summary="Delete a downtime entered by mistake (re-plans the days it changed)",
    responses=REPLANNED,
)
def delete_downtime(
    vehicle_id: VehicleId,
    downtime_id: DowntimeId,
    response: Response,
    db: DbDep,
    jobs: JobsDep,
    planner: PlannerDep,
    routing: RoutingDep,
    runtime: RuntimeDep,
    _: CanDispatch,
) -> DowntimeOut:
    with db.writer() as s:
        row = _own(s, vehicle_id, downtime_id)
        before = repo.load_fleet(s)
        out = DowntimeOut.model_validate(row)
        s.delete(row)
        s.flush()
        days = _days_changed(s, jobs, row.start_at, row.end_at, before)
    schedule_back_in_service(runtime, downtime_id, None)
    return _replanned(out, days, response, jobs, planner, routing)


def _own(s: Session, vehicle_id: str, downtime_id: int) -> DowntimeRow:
    """Downtime ``downtime_id`` of truck ``vehicle_id``, or a 404."""
    row = s.get(DowntimeRow, downtime_id)
    if row is None or row.vehicle_id != vehicle_id:
        raise NotFoundError(f"downtime of vehicle {vehicle_id!r}", downtime_id)
    return row


def _days_changed(
    s: Session, jobs: JobRunner, start: datetime, end: datetime | None, before: Inventory
) -> list[date]:
    """The days from today with a finished plan (or a plan job under way) that a change of
    the downtimes over the instants [start, end) (end None: every one from ``start``'s day)
    changes, the fleet ``before`` it and as stored now: each day it touches (its trucks'
    hours), and each day whose streams it gives another next collection
    (``optimiser.daily.stream_opportunities``: the policy's must bins of that day)."""
    from optimiser.daily import stream_opportunities

    tz = jobs.settings.tz
    after = repo.load_fleet(s)

    def touched(day: date) -> bool:
        midnight = datetime.combine(day, time(0), tzinfo=tz)
        return start < midnight + timedelta(days=1) and (end is None or end > midnight)

    def sooner_or_later(day: date) -> bool:
        return stream_opportunities(before, day, tz) != stream_opportunities(after, day, tz)

    return [d for d in repo.planned_days(s, jobs.today()) if touched(d) or sooner_or_later(d)]


def _replanned(
    out: DowntimeOut,
    days: list[date],
    response: Response,
    jobs: JobRunner,
    planner: Planner,
    routing: Routing,
) -> DowntimeOut:
    """``out`` with a plan job queued for each of ``days`` (202 when there is one)."""
    if not days:
        return out
    response.status_code = status.HTTP_202_ACCEPTED
    jobs_ = [jobs.submit_replan(d, "downtime", planner, routing).id for d in days]
    return out.model_copy(update={"replans": jobs_})
