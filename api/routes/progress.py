"""Trucks' progress on a plan's day: a crew's report of a visit done, missed or a bin
emptied off the route, a truck's position or unloading, each checked against the plan (422
naming the field and the fix) and stored, rerouting the day when it asks for it; and the
day's reports listed in time order."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, status
from sqlalchemy import select

from api import repo
from api.db import PlanRow, ProgressRow
from api.deps import DbDep, JobsDep, PlannerDep, RoutingDep, SettingsDep
from api.errors import RecordError
from api.routes.plans import PlanId
from api.schemas import (
    ERROR_RESPONSES,
    ProgressIn,
    ProgressOut,
    ProgressPosted,
)
from api.security import CanDispatch, CanRead

router = APIRouter(prefix="/plans", tags=["plans"], responses=ERROR_RESPONSES)


@router.post(
    "/{plan_id}/progress",
    response_model=ProgressPosted,
    status_code=status.HTTP_201_CREATED,
    summary="Report a truck's progress",
)
def post_progress(
    plan_id: PlanId,
    item: ProgressIn,
    db: DbDep,
    jobs: JobsDep,
    planner: PlannerDep,
    routing: RoutingDep,
    settings: SettingsDep,
    _: CanDispatch,
) -> ProgressPosted:
    """A bin emptied (``visit_done`` with ``bin_id``), an unloading (``disposal_done`` with
    ``site_id``) or a position (``position`` with lon/lat). Reroutes start from the reported
    progress. A bin its crew could not empty (``visit_missed`` with ``bin_id`` and an
    optional ``reason``) is a stop passed with nothing taken: no emptying in the collection
    log, nothing on the truck's load; on a plan of today or later it raises an alert
    (source ``crew``, its note saying who, when and why), whose reroute sends a truck to
    the bin again after the report, or lists it unserved with that note. A bin emptied
    may carry the fill the crew found and the net weight the lift
    scale took (``weight_kg``); a weight no waste in the bin could weigh (a scale in
    grams) is refused (422 at ``weight_kg``). A bin emptied off the truck's
    route that the day's newest plan still sends a truck to (another truck, for an alert or
    as planned; or its own, later on its route: the crew took the bin ahead of the route's
    order) reroutes the day (today or later; origin ``emptied``, in seconds, as for an
    alert): the rest of the day goes on without that trip to an empty bin. A report is
    judged by the day's newest finished plan, whichever version it names (a tablet may
    still show one replaced since); work dated before that plan's start (a plan made after
    the shifts began; the report came late) is off its routes, and so is a bin or an
    unloading dated before a reroute that had the truck unload first (the plan went on
    from where the truck was after that work was done). A report that comes while
    a plan job or reroute of the day runs is judged again by the plan it stores
    (``JobRunner._judge_again``).

    Refused (422, naming the field): a truck, site or bin neither listed nor in a plan of
    the day (a mistyped id; one deleted after it was planned still counts: a tablet
    syncing late); a report whose ``at`` is not on the plan's day in the city's time (a
    tablet's clock off);
    a position of (0, 0) (no GPS fix) or more than ``POSITION_REACH_KM`` from every depot
    and disposal site (lon and lat swapped, say)."""
    sent = missed = False
    with db.writer() as s:
        plan = repo.get_or_404(s, PlanRow, plan_id, "plan")
        _check_report(s, plan, item, settings.tz)
        ahead = jobs.ahead_of_clock(item.at)
        if ahead is not None:
            raise RecordError(["body", "at"], ahead, f"vehicle_id={item.vehicle_id!r}")
        if item.weight_kg is not None and item.bin_id is not None:
            refused = repo.lifted_weight_refused(s, item.bin_id, item.weight_kg)
            if refused is not None:
                raise RecordError(
                    ["body", "weight_kg"],
                    f"{refused}; or report the visit without weight_kg",
                    f"bin_id={item.bin_id!r}",
                )
        off = None
        if item.kind != "position":
            judged = _newest_of_day(s, plan)
            off = repo.off_route(
                s, judged, item.vehicle_id, bin_id=item.bin_id, site_id=item.site_id, at=item.at
            )
        row = ProgressRow(
            plan_date=plan.plan_date, plan_id=plan_id, off_route=off, **item.model_dump()
        )
        s.add(row)
        s.flush()
        resend = repo.is_resend(s, row)
        out = ProgressPosted.model_validate(row)
        to_come = plan.plan_date >= jobs.today()
        if item.bin_id is not None:
            sent = jobs.still_sent(s, plan.plan_date, item.vehicle_id, item.bin_id, off, item.kind)
        missed = (
            item.kind == "visit_missed"
            and to_come
            and not resend  # its alert was raised with the first
            and _missed_alert(s, item, settings.tz)
        )
    out = out.model_copy(update={"resend": resend, "rerouting": sent or missed})
    if sent and item.bin_id is not None:
        jobs.request_emptied(
            plan.plan_date, item.vehicle_id, item.bin_id, item.at, planner, routing
        )
    if missed:
        jobs.request_reroute(plan.plan_date, planner, routing)
    return out


def _missed_alert(s: Any, item: ProgressIn, tz: ZoneInfo) -> bool:
    """Raise an alert (source ``crew``) on the bin ``item`` reports its crew could not
    empty, at the report's time, its note saying who, when and why: the day's reroute sends
    a truck to it again, or lists it unserved with that note
    (``JobRunner._claim_alerts``). False for a bin no longer listed (deleted since it was
    planned; ``repo.add_alert`` adds none): nothing is left to empty."""
    if item.bin_id is None:
        return False
    note = missed_note(item.vehicle_id, item.at.astimezone(tz), item.reason)
    alert = repo.add_alert(s, bin_id=item.bin_id, source="crew", at=item.at, tz=tz, note=note)
    return alert is not None


def missed_note(vehicle_id: str, local: datetime, reason: str | None) -> str:
    """What an unserved entry and the alert of a bin a crew could not empty say."""
    why = f" ({reason})" if reason else ""
    return f"{vehicle_id}'s crew could not empty it at {local:%H:%M}{why}"


def _newest_of_day(s: Any, plan: PlanRow) -> PlanRow:
    """The plan a report against ``plan`` is judged by: the day's newest finished version
    when it is newer (a crew's tablet may still show a version a re-plan or reroute has
    replaced since: its trucks now drive the newest), else ``plan``."""
    newest = repo.latest_done_plan(s, plan.plan_date)
    return newest if newest is not None and newest.version > plan.version else plan


POSITION_REACH_KM = 100.0  # a truck's position farther than this from every depot and site


def _check_report(s: Any, plan: PlanRow, item: ProgressIn, tz: ZoneInfo) -> None:
    """Raise ``RecordError`` (422) when ``item`` cannot be a report of ``plan``'s day (see
    :func:`post_progress`)."""
    day = plan.plan_date.isoformat()
    if not repo.vehicle_of_the_day(s, plan.plan_date, item.vehicle_id):
        raise RecordError(
            ["body", "vehicle_id"],
            f"unknown vehicle {item.vehicle_id!r}: not in the fleet and in no plan of {day}; "
            "fix the id (ids are case-sensitive) or add it under /vehicles",
            f"vehicle_id={item.vehicle_id!r}",
        )
    if item.site_id is not None and not repo.site_of_the_day(s, plan.plan_date, item.site_id):
        raise RecordError(
            ["body", "site_id"],
            f"unknown disposal site {item.site_id!r}: not listed and in no plan of {day}; "
            "add it under /sites or fix the id",
            f"site_id={item.site_id!r}",
        )
    if item.bin_id is not None and not repo.bin_of_the_day(s, plan.plan_date, item.bin_id):
        raise RecordError(
            ["body", "bin_id"],
            f"unknown bin {item.bin_id!r}: not listed and in no plan of {day}; fix the id "
            "(ids are case-sensitive)",
            f"bin_id={item.bin_id!r}",
        )
    local = item.at.astimezone(tz)
    if local.date() != plan.plan_date:
        raise RecordError(
            ["body", "at"],
            f"at {local.isoformat()} is not on plan {plan.id}'s day "
            f"{plan.plan_date.isoformat()} ({tz.key}); check the tablet's clock, or report "
            "against that day's plan",
            f"vehicle_id={item.vehicle_id!r}",
        )
    if item.lon is None or item.lat is None:
        return
    if (item.lon, item.lat) == (0.0, 0.0):
        why = "position (0, 0) is what a GPS without a fix sends; send positions with a fix"
    else:
        far = repo.km_from_depots_and_sites(s, item.lon, item.lat)
        if far is None or far <= POSITION_REACH_KM:
            return
        why = (
            f"position ({item.lon}, {item.lat}) is {far:.0f} km from the nearest depot or "
            f"disposal site (over {POSITION_REACH_KM:.0f} km): send lon, lat in that order, "
            "with a GPS fix"
        )
    raise RecordError(["body", "lon"], why, f"vehicle_id={item.vehicle_id!r}")


@router.get(
    "/{plan_id}/progress",
    response_model=list[ProgressOut],
    summary="Progress reported for the plan's day",
)
def list_progress(plan_id: PlanId, db: DbDep, _: CanRead) -> list[ProgressOut]:
    """Every report of the plan's day, in time order; ``resend`` marks a report repeating
    an earlier one of its truck's (``repo.resend_ids``): no second visit."""
    with db.reader() as s:
        plan = repo.get_or_404(s, PlanRow, plan_id, "plan")
        resent = repo.resend_ids(s, plan.plan_date)
        rows = s.scalars(
            select(ProgressRow)
            .where(ProgressRow.plan_date == plan.plan_date)
            .order_by(ProgressRow.at, ProgressRow.id)
        )
        return [
            ProgressOut.model_validate(r).model_copy(update={"resend": r.id in resent})
            for r in rows
        ]
