"""Plans: request a day plan (background job), follow it, fetch it and its exports; see the
per-truck diff of a rerouted version. Trucks' progress on it is ``api.routes.progress``'s."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from sqlalchemy import select

from api import repo
from api.db import PlanDiffRow, PlanRow
from api.deps import DbDep, JobsDep, PlannerDep, RoutingDep, SettingsDep
from api.errors import ConflictError, NotFoundError, RecordError
from api.schemas import (
    ERROR_RESPONSES,
    MAX_ROW_ID,
    PlanDiffOut,
    PlanIn,
    PlanOut,
    PlanRequestOut,
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
