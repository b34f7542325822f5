"""Plans: request a day plan (background job), follow it, fetch it and its exports;
report truck progress; see the per-truck diff of a rerouted version."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from sqlalchemy import select

from api import repo
from api.db import PlanDiffRow, PlanRow, ProgressRow
from api.deps import DbDep, JobsDep, PlannerDep, RoutingDep, SettingsDep
from api.errors import ConflictError, NotFoundError, RecordError
from api.schemas import (
    ERROR_RESPONSES,
    MAX_ROW_ID,
    PlanDiffOut,
    PlanIn,
    PlanOut,
    PlanRequestOut,
    ProgressIn,
    ProgressOut,
    RouteDiffOut,
)
from api.security import CanDispatch, CanRead
from network.language import UnknownLanguage
from optimiser.plan import UnservedKind
from optimiser.sheets import (
    NO_DIRECTIONS,
    PLANNED_BEFORE,
    Language,
    localized,
    route_sheets_html,
)
from optimiser.sheets import language as sheet_language

router = APIRouter(prefix="/plans", tags=["plans"], responses=ERROR_RESPONSES)

PlanId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
LanguageQuery = Annotated[
    str | None,
    Query(
        description="The drivers' language: ca, de, en, es, fi, ko, pt, sv or zh (a tag like "
        "pt-BR is read as its language); the service's LANGUAGE setting when none is named"
    ),
]


def _exports(db: DbDep, plan_id: int) -> dict[str, Any]:
    """The stored exports of a finished plan; 404 unknown, 409 not finished."""
    with db.reader() as s:
        row = repo.get_or_404(s, PlanRow, plan_id, "plan")
        if row.status != "done" or row.exports is None:
            raise ConflictError(
                f"plan {plan_id} is {row.status}, not done; poll GET /plans/{plan_id}"
            )
        return row.exports


@router.post(
    "",
    response_model=PlanRequestOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Request a plan for a date (runs in the background)",
)
def request_plan(
    item: PlanIn,
    db: DbDep,
    jobs: JobsDep,
    settings: SettingsDep,
    planner: PlannerDep,
    routing: RoutingDep,
    _: CanDispatch,
) -> PlanRequestOut:
    """Queue a new plan version of ``plan_date``; poll ``GET /plans/{id}`` for progress.

    The same request (``plan_date`` and the budget, ``time_limit_s`` as capped: the default
    when left out) while a job of it is queued or running answers that job, with a
    ``note``: a request sent twice (a double click) queues one job, not two."""
    limit = min(item.time_limit_s or settings.default_time_limit_s, settings.max_time_limit_s)
    row, same = jobs.submit_request(item.plan_date, limit, planner, routing)
    out = PlanRequestOut.model_validate(row)
    if not same:
        return out
    note = (
        f"the same request (plan_date {row.plan_date.isoformat()}, time_limit_s {limit}) is "
        f"already {row.status} as plan {row.id}: no other job was queued; poll GET "
        f"/plans/{row.id}, and request again once it is done to plan with the inputs of then"
    )
    return out.model_copy(update={"note": note})


@router.get("", response_model=list[PlanOut], summary="List plans")
def list_plans(
    db: DbDep,
    _: CanRead,
    plan_date: date | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[PlanOut]:
    query = select(PlanRow)
    if plan_date is not None:
        query = query.where(PlanRow.plan_date == plan_date)
    with db.reader() as s:
        rows = s.scalars(
            query.order_by(PlanRow.plan_date.desc(), PlanRow.version.desc()).limit(limit)
        )
        return [PlanOut.model_validate(r) for r in rows]


@router.get("/{plan_id}", response_model=PlanOut, summary="Plan status, progress and KPIs")
def get_plan(plan_id: PlanId, db: DbDep, _: CanRead) -> PlanOut:
    with db.reader() as s:
        return PlanOut.model_validate(repo.get_or_404(s, PlanRow, plan_id, "plan"))


@router.get("/{plan_id}/kpis", summary="KPIs of a finished plan")
def get_kpis(plan_id: PlanId, db: DbDep, _: CanRead) -> dict[str, Any]:
    _exports(db, plan_id)
    with db.reader() as s:
        return repo.get_or_404(s, PlanRow, plan_id, "plan").kpis or {}


@router.get("/{plan_id}/routes", summary="The plan as JSON (routes, visits, unserved)")
def get_routes(plan_id: PlanId, db: DbDep, _: CanRead) -> dict[str, Any]:
    plan: dict[str, Any] = _exports(db, plan_id)["plan"]
    return _with_kinds(plan)


def _with_kinds(plan: dict[str, Any]) -> dict[str, Any]:
    """``plan`` (a stored plan JSON) with each unserved entry's ``kind``: ``"other"``
    (``UnservedKind.OTHER``, not recorded) for a plan stored before entries had one."""
    if all("kind" in u for u in plan.get("unserved", [])):
        return plan
    other = str(UnservedKind.OTHER)
    unserved = [u if "kind" in u else {**u, "kind": other} for u in plan["unserved"]]
    return {**plan, "unserved": unserved}


class GeoJsonResponse(JSONResponse):
    media_type = "application/geo+json"


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


class GpxResponse(PlainTextResponse):
    media_type = "application/gpx+xml"


@router.get(
    "/{plan_id}/geojson",
    response_class=GeoJsonResponse,
    summary="Routes and stops as a GeoJSON FeatureCollection",
)
def get_geojson(plan_id: PlanId, db: DbDep, _: CanRead) -> GeoJsonResponse:
    return GeoJsonResponse(_exports(db, plan_id)["geojson"])


@router.get("/{plan_id}/csv", response_class=CsvResponse, summary="One row per visit, CSV")
def get_csv(plan_id: PlanId, db: DbDep, _: CanRead) -> CsvResponse:
    text: str = _exports(db, plan_id)["csv"]
    return CsvResponse(
        "\ufeff" + text,  # UTF-8 with a byte-order mark: Excel reads the ids as UTF-8 then
        headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.csv"'},
    )


@router.get(
    "/{plan_id}/gpx/{vehicle_id}", response_class=GpxResponse, summary="GPX 1.1 of one truck"
)
def get_gpx(plan_id: PlanId, vehicle_id: str, db: DbDep, _: CanRead) -> GpxResponse:
    gpx: dict[str, str] = _exports(db, plan_id)["gpx"]
    if vehicle_id not in gpx:
        raise NotFoundError(f"vehicle in plan {plan_id}", vehicle_id)
    return GpxResponse(gpx[vehicle_id])


@router.get(
    "/{plan_id}/directions/{vehicle_id}",
    summary="Turn-by-turn directions of one truck, leg by leg (for a driver's app)",
)
def get_directions(
    plan_id: PlanId,
    vehicle_id: str,
    db: DbDep,
    settings: SettingsDep,
    _: CanRead,
    language: LanguageQuery = None,
) -> dict[str, Any]:
    """One leg per visit with a place after the first (``to_order``: the visit's index in
    the truck's route of ``GET /plans/{id}/routes``), each with its steps: ``maneuver``,
    ``instruction`` in words (in ``language``, the document's ``language``), ``street``,
    metres, seconds and where (lon, lat)."""
    lang = _language(language, settings.language)
    exports = _exports(db, plan_id)
    if "directions" not in exports:
        raise ConflictError(f"plan {plan_id}: {PLANNED_BEFORE}")
    found: dict[str, Any] = _directions(exports).get(vehicle_id) or {}
    if not found:
        _route_or_404(exports, plan_id, vehicle_id)
        found = {"vehicle_id": vehicle_id, "legs": []}  # a truck that stays at its depot
    return localized(exports["plan"], found, lang)


@router.get(
    "/{plan_id}/sheets",
    response_class=HTMLResponse,
    summary="Printable route sheets: a page per truck, stops with directions",
)
def get_sheets(
    plan_id: PlanId,
    db: DbDep,
    settings: SettingsDep,
    _: CanRead,
    vehicle_id: Annotated[
        list[str] | None, Query(description="Only these trucks (repeat the parameter)")
    ] = None,
    language: LanguageQuery = None,
) -> HTMLResponse:
    """Each truck's stops in order with their times, street, load and what the crew should
    know, each preceded by the turn-by-turn directions to it; print one page per truck.
    Written in ``language`` (the service's ``LANGUAGE`` setting when none is named)."""
    lang = _language(language, settings.language)
    exports = _exports(db, plan_id)
    found = _directions(exports)
    for v in vehicle_id or ():
        _route_or_404(exports, plan_id, v)
    return HTMLResponse(
        route_sheets_html(
            exports["plan"],
            found,
            vehicle_id,
            missing=PLANNED_BEFORE if "directions" not in exports else NO_DIRECTIONS,
            geojson=exports.get("geojson"),
            lang=lang,
        )
    )


def _language(asked: str | None, default: str) -> Language:
    """The words of ``asked`` (a request's ``language``), else of ``default``; 422 naming
    the languages there are for one not among them."""
    try:
        return sheet_language(asked or default)
    except UnknownLanguage as err:
        raise RecordError(["query", "language"], str(err), None) from None


def _directions(exports: dict[str, Any]) -> dict[str, Any]:
    """The stored directions of each truck (none for a plan made before they were)."""
    found: dict[str, Any] = exports.get("directions") or {}
    return found


def _route_or_404(exports: dict[str, Any], plan_id: int, vehicle_id: str) -> None:
    """404 naming ``vehicle_id`` when the plan has no route of it."""
    if all(r.get("vehicle_id") != vehicle_id for r in exports["plan"].get("routes", [])):
        raise NotFoundError(f"vehicle in plan {plan_id}", vehicle_id)


@router.get("/{plan_id}/vroom", summary="VROOM-style solution JSON")
def get_vroom(plan_id: PlanId, db: DbDep, _: CanRead) -> dict[str, Any]:
    vroom: dict[str, Any] = _exports(db, plan_id)["vroom"]
    return vroom


@router.get(
    "/{plan_id}/diff",
    response_model=PlanDiffOut,
    summary="Per-truck changes against the parent version",
)
def get_diff(plan_id: PlanId, db: DbDep, _: CanRead) -> PlanDiffOut:
    with db.reader() as s:
        row = repo.get_or_404(s, PlanRow, plan_id, "plan")
        diffs = s.scalars(
            select(PlanDiffRow)
            .where(PlanDiffRow.plan_id == plan_id)
            .order_by(PlanDiffRow.vehicle_id)
        )
        trucks = [RouteDiffOut(vehicle_id=d.vehicle_id, diff=d.diff) for d in diffs]
        return PlanDiffOut(plan_id=plan_id, parent_id=row.parent_id, trucks=trucks)


@router.post(
    "/{plan_id}/progress",
    response_model=ProgressOut,
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
) -> ProgressOut:
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
    the shifts began; the report came late) is off its routes. A report that comes while
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
        out = ProgressOut.model_validate(row).model_copy(update={"resend": resend})
        to_come = plan.plan_date >= jobs.today()
        if item.bin_id is not None:
            sent = jobs.still_sent(s, plan.plan_date, item.vehicle_id, item.bin_id, off, item.kind)
        missed = (
            item.kind == "visit_missed"
            and to_come
            and not resend  # its alert was raised with the first
            and _missed_alert(s, item, settings.tz)
        )
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
