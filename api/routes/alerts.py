"""Overflow alerts: each reroutes the running plan of its day into a new plan version."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api import repo
from api.db import AlertRow, PlanRow
from api.deps import DbDep, JobsDep, PlannerDep, RoutingDep, SettingsDep
from api.errors import ConflictError, RecordError
from api.repo_alerts import NOT_SENT, SENT
from api.schemas import ERROR_RESPONSES, MAX_ROW_ID, AlertIn, AlertOut
from api.security import CanDispatch, CanRead

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=ERROR_RESPONSES)

DISMISSIBLE = (*NOT_SENT, *SENT)

AlertStatus = Literal[
    "open",
    "rerouting",
    "rerouted",
    "planned",
    "unserved",
    "emptied",
    "no_plan",
    "failed",
    "dismissed",
    "bin_deleted",
]


@router.post(
    "",
    response_model=AlertOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Raise an overflow alert (reroutes the day's plan)",
)
def raise_alert(
    item: AlertIn,
    db: DbDep,
    jobs: JobsDep,
    settings: SettingsDep,
    planner: PlannerDep,
    routing: RoutingDep,
    _: CanDispatch,
) -> AlertOut:
    """Commit the alert, then queue a reroute of the newest finished plan of its day (of
    today, for an alert of an earlier day: that day is over).

    Follow ``GET /alerts/{id}``: ``rerouted`` with ``plan_id`` of the new version, or
    ``unserved`` when no truck can collect the bin today (the new version's ``unserved``
    gives the reason), or ``emptied`` when a truck reported the bin emptied after the
    alert's time (no new visit; ``plan_id`` is the plan being driven), or ``no_plan`` when
    the day has no finished plan. The next plan of the day then collects the bin by the
    alert's response target (a plan of today starts when it is made): the alert reads
    ``planned``, with the truck and time, or ``unserved``; or, when that plan job was already
    running, a reroute of its plan takes the alert in once it is stored. A ``rerouted`` or
    ``planned`` alert whose bin another truck's crew empties (off its route) reads
    ``emptied`` once a new version takes its visit out.
    """
    at = item.at or jobs.clock()
    record = f"bin_id={item.bin_id!r}"
    ahead = jobs.ahead_of_clock(at)
    if ahead is not None:
        raise RecordError(["body", "at"], ahead, record)
    old = jobs.before_history(at)  # POST /reports checks its overflow reports so too
    if old is not None:
        raise RecordError(["body", "at"], f"{old}, or leave out at (now)", record)
    with db.writer() as s:
        row = repo.add_alert(
            s,
            bin_id=item.bin_id,
            source="dispatcher",
            at=at,
            tz=settings.tz,
            fill_fraction=item.fill_fraction,
            note=item.note,
        )
        if row is None:  # not listed
            raise RecordError(
                ["body", "bin_id"],
                f"unknown bin {item.bin_id!r}: not listed (a mistyped id: ids are "
                "case-sensitive; or a bin taken off the street); fix the id, or add the bin "
                "under /bins",
                f"bin_id={item.bin_id!r}",
            )
        out = AlertOut.model_validate(row)
    jobs.request_reroute(out.plan_date, planner, routing)
    return out


@router.get("", response_model=list[AlertOut], summary="List alerts")
def list_alerts(
    db: DbDep,
    _: CanRead,
    plan_date: date | None = None,
    alert_status: Annotated[AlertStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[AlertOut]:
    """Alerts by id; ``plan_date``: those raised that day and those a plan of that day took
    in from an earlier day (no truck was sent then)."""
    query = select(AlertRow)
    if plan_date is not None:
        of_date = select(PlanRow.id).where(PlanRow.plan_date == plan_date)
        query = query.where(or_(AlertRow.plan_date == plan_date, AlertRow.plan_id.in_(of_date)))
    if alert_status is not None:
        query = query.where(AlertRow.status == alert_status)
    with db.reader() as s:
        rows = s.scalars(query.order_by(AlertRow.id).limit(limit))
        return [AlertOut.model_validate(r) for r in rows]


@router.get("/{alert_id}", response_model=AlertOut, summary="Get an alert")
def get_alert(
    alert_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)], db: DbDep, _: CanRead
) -> AlertOut:
    with db.reader() as s:
        return AlertOut.model_validate(repo.get_or_404(s, AlertRow, alert_id, "alert"))


@router.post(
    "/{alert_id}/dismiss",
    response_model=AlertOut,
    summary="Dismiss an alert (a false alarm); one a truck was sent to re-plans its day",
    responses={202: {"description": "Dismissed; a plan job of its day drops the visit"}},
)
def dismiss_alert(
    alert_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    response: Response,
    db: DbDep,
    jobs: JobsDep,
    planner: PlannerDep,
    routing: RoutingDep,
    _: CanDispatch,
) -> AlertOut:
    """Close an alert as ``dismissed``: no later plan takes it in, and plans no longer read
    it as an overflow report (a sensor's readings still count as readings).

    An alert a truck was sent to (``rerouted``, ``planned``) whose bin is not emptied yet,
    on a plan of today or later, queues a plan job of that day (202, ``Location`` its
    ``/plans/{id}``; the alert's ``plan_id``): made while trucks are out, it re-plans the
    rest of the day from where they are, the bin chosen again like any other (by its
    fill), no longer as an alert. An alert being rerouted, or closed, is a 409 saying so.
    """
    today = jobs.today()
    with db.writer() as s:
        alert = repo.get_or_404(s, AlertRow, alert_id, "alert")
        if alert.status not in DISMISSIBLE:
            raise ConflictError(_not_dismissible(alert))
        day = _visit_to_come(s, alert, today)
        alert.status = "dismissed"
        if day is None:
            return AlertOut.model_validate(alert)
        alert.vehicle_id = alert.eta = None  # no truck is sent for it any more
    job = jobs.submit_replan(day, "dismissal", planner, routing)
    with db.writer() as s:
        alert = repo.get_or_404(s, AlertRow, alert_id, "alert")
        alert.plan_id = job.id
        out = AlertOut.model_validate(alert)
    response.status_code = status.HTTP_202_ACCEPTED
    response.headers["Location"] = f"/plans/{job.id}"
    return out


def _visit_to_come(s: Session, alert: AlertRow, today: date) -> date | None:
    """The day of the plan that sends a truck to ``alert``'s bin, when that day is
    ``today`` or later and no truck reported the bin emptied since the alert; else None."""
    plan = s.get(PlanRow, alert.plan_id) if alert.status in SENT and alert.plan_id else None
    if plan is None:
        return None
    day = plan.plan_date
    emptied = repo.last_emptied_on(s, day, [alert.bin_id]).get(alert.bin_id)
    if day < today or (emptied is not None and emptied >= alert.at):
        return None
    return day


def _not_dismissible(alert: AlertRow) -> str:
    """Why alert ``alert`` cannot be dismissed, and what to do."""
    if alert.status in ("open", "rerouting"):
        return f"alert {alert.id} is {alert.status}: a reroute is taking it in; try again after"
    return f"alert {alert.id} is already closed ({alert.status})"
