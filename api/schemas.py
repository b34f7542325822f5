"""Wire schemas (pydantic), one per direction: ``*In`` requests, ``*Out`` responses.

Requests forbid unknown fields and bound every number and string, so bad input is a 422 that
names the field, never a 500. Instants must carry an offset (ISO 8601, e.g.
``2026-11-25T07:30:00+02:00``); clock times of day are local to the city and carry none.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)


def _in_a_path(value: str) -> str:
    if set(value) == {"."}:
        raise ValueError(
            f"id {value!r} cannot be used in a URL path (a browser reads it as a folder); "
            "give it a letter or a digit"
        )
    return value


Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$"),
    AfterValidator(_in_a_path),
]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(
            "contains a NUL character (\\x00), which the database cannot store; remove it"
        )
    return value


NoNul = AfterValidator(_no_nul)
"""Text and ids the service stores or looks up: no NUL (PostgreSQL text cannot hold one)."""
UrlKey = Annotated[str, NoNul]
"""An id in the URL (path or query): looked up as given (unknown: 404), but no NUL."""
Name = Annotated[str, StringConstraints(max_length=200), NoNul]
MAX_ROW_ID = 2**31 - 1
"""The largest id of a table's Integer primary key (PostgreSQL's integer): a larger one in
a URL is a 422, not a database error."""
Stream = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_\-]*$")
]


def _a_set(value: list[str]) -> list[str]:
    return sorted(set(value))  # a set: the order given changes nothing (nor re-plans)


Streams = Annotated[list[Stream], Field(min_length=1, max_length=16), AfterValidator(_a_set)]
Equipment = Annotated[
    list[Stream],  # each name written as a stream's is
    Field(max_length=16),
    AfterValidator(_a_set),
]
"""Names of pieces of truck equipment (``crane``, ``comb``), as streams are written."""
Lon = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
Seconds = Annotated[int, Field(ge=0, le=86_400)]
Count = Annotated[int, Field(gt=0, le=10_000_000)]
Money = Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False)]
FIRST_YEAR, LAST_YEAR = 1970, 2200


def _plausible_instant(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year {value.year} is outside {FIRST_YEAR}..{LAST_YEAR}")
    return value


def _plausible_date(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year {value.year} is outside {FIRST_YEAR}..{LAST_YEAR}")
    return value


Instant = Annotated[
    AwareDatetime,
    AfterValidator(_plausible_instant),
    Field(description="ISO 8601 with an offset"),
]
PlanDate = Annotated[date, AfterValidator(_plausible_date)]


def _naive(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("clock times are local to the city; drop the offset")
    return value


_CLOCK_SCHEMA = {
    "type": "string",
    "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
    "description": "local clock time HH:MM[:SS], no offset",
    "examples": ["06:30"],
}
LocalTime = Annotated[time, AfterValidator(_naive), WithJsonSchema(_CLOCK_SCHEMA)]
ClockOut = Annotated[
    time,
    PlainSerializer(lambda t: t.strftime("%H:%M:%S"), return_type=str),
    WithJsonSchema(_CLOCK_SCHEMA),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class CityIn(_In):
    """A street network source: ``helsinki``, ``haversine`` or a server-side .osm.pbf path."""

    city_id: Id
    name: Name = ""
    source: Annotated[str, StringConstraints(min_length=1, max_length=500), NoNul] = "helsinki"
    timezone: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+\-/]*$")
    ] = "Europe/Helsinki"


class CityOut(_Out):
    city_id: str
    name: str
    source: str
    timezone: str


class DepotIn(_In):
    depot_id: Id
    lon: Lon
    lat: Lat
    name: Name = ""


class DepotOut(_Out):
    depot_id: str
    lon: float
    lat: float
    name: str


class VehicleIn(_In):
    vehicle_id: Id
    depot_id: Id
    capacity_l: Count
    capacity_kg: Count
    streams: Streams = ["residual"]
    shift_start: LocalTime = time(6, 0)
    shift_end: LocalTime = time(14, 0)
    break_s: Seconds = 0
    break_start: LocalTime | None = None
    break_end: LocalTime | None = None
    cost_per_km: Money = 1.0
    cost_per_hour: Money = 30.0
    fixed_cost: Money = 0.0
    max_stops: Annotated[int, Field(gt=0, le=100_000)] | None = None
    max_daily_kg: Count | None = None
    equipment: Equipment = Field(
        default=[],
        description="what the truck carries to empty bins that need it (a bin's needs): "
        "crane, comb, ...",
    )

    @model_validator(mode="after")
    def _break_pair(self) -> VehicleIn:
        if (self.break_start is None) != (self.break_end is None):
            raise ValueError("give both break_start and break_end, or neither")
        return self


class VehicleOut(_Out):
    vehicle_id: str
    depot_id: str
    capacity_l: int
    capacity_kg: int
    streams: list[str]
    shift_start: ClockOut
    shift_end: ClockOut
    break_s: int
    break_start: ClockOut | None
    break_end: ClockOut | None
    cost_per_km: float
    cost_per_hour: float
    fixed_cost: float
    max_stops: int | None
    max_daily_kg: int | None
    equipment: list[str]


class SiteIn(_In):
    site_id: Id
    lon: Lon
    lat: Lat
    streams: Streams = ["residual"]
    open_start: LocalTime = time(0, 0)
    open_end: LocalTime = time(23, 59)
    unload_s: Seconds = 900
    name: Name = ""


class SiteOut(_Out):
    site_id: str
    lon: float
    lat: float
    streams: list[str]
    open_start: ClockOut
    open_end: ClockOut
    unload_s: int
    name: str


class BinIn(_In):
    bin_id: Id
    lon: Lon
    lat: Lat
    capacity_l: Count
    stream: Stream = "residual"
    service_s: Seconds = 60
    window_start: LocalTime | None = None
    window_end: LocalTime | None = None
    has_sensor: bool = True
    density_kg_per_l: Annotated[float, Field(gt=0.0, le=5.0, allow_inf_nan=False)] | None = None
    street: Name | None = None
    kerb_side: bool = Field(
        default=False,
        description="a truck stops with the bin on its kerb side (a side-loaded container, "
        "or a street the crew may not cross): on a two-way street it passes the bin driving "
        "one way only",
    )
    needs: Equipment = Field(
        default=[],
        description="the equipment a truck must have to empty it (a truck's equipment): "
        "crane for an underground container, ...",
    )

    @model_validator(mode="after")
    def _window_pair(self) -> BinIn:
        if (self.window_start is None) != (self.window_end is None):
            raise ValueError("give both window_start and window_end, or neither")
        return self


class BinOut(_Out):
    bin_id: str
    lon: float
    lat: float
    capacity_l: int
    stream: str
    service_s: int
    window_start: ClockOut | None
    window_end: ClockOut | None
    has_sensor: bool
    density_kg_per_l: float | None
    street: str | None
    kerb_side: bool
    needs: list[str]


class BinDensityOut(_Out):
    """What a bin's waste weighs: the density set on it, the one its weights (sensors,
    lift scales) show over the readings' history, and the one plans load it at."""

    bin_id: str
    stream: str
    density_kg_per_l: float | None
    measured_density_kg_per_l: float | None
    planned_kg_per_l: float
    source: Literal["set", "measured", "stream"]
    notes: list[str]


class ReadingIn(_In):
    """A sensor's reading: its fill, and the net weight of the contents when it weighs. A
    sensor that only weighs gives ``weight_kg`` alone: the fill is derived at the bin's
    density (``fill_from_weight`` in the stored reading). One of the two is required."""

    bin_id: Id
    at: Instant
    fill_fraction: Annotated[float, Field(ge=0.0, le=1.5, allow_inf_nan=False)] | None = None
    weight_kg: Annotated[float, Field(ge=0.0, le=1e5, allow_inf_nan=False)] | None = None


class ReadingOut(_Out):
    bin_id: str
    at: datetime
    fill_fraction: float
    weight_kg: float | None
    fill_from_weight: bool


class ReportIn(_In):
    report_id: Id
    at: Instant
    text: Annotated[str, StringConstraints(max_length=2000), NoNul] = ""
    bin_id: Id | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    overflowing: bool = True


class ReportOut(_Out):
    report_id: str
    at: datetime
    text: str
    bin_id: str | None
    lon: float | None
    lat: float | None
    overflowing: bool
    alert_id: int | None = None


class RowError(_Out):
    """A rejected record of a bulk request: its index, the field path and why."""

    index: int
    loc: list[str | int]
    msg: str
    record: str | None


class BulkResult(_Out):
    stored: int
    duplicates: int = 0
    rejected: list[RowError] = []
    alert_ids: list[int] = []


class ReadingsResult(BulkResult):
    """Readings stored, with ``notes`` on what they show that needs a look (weights heavier
    than their bins hold at the density planned)."""

    notes: list[str] = []


class ReplanBulkResult(BulkResult):
    """A bulk change that re-plans (trucks, disposal sites), with the plan jobs it queued
    (``replans``)."""

    replans: list[int] = []


class DowntimeIn(_In):
    """A truck out of service (broken down, in the workshop) from ``start_at`` (default now)
    until ``end_at`` (None: until further notice)."""

    start_at: Instant | None = None
    end_at: Instant | None = None
    reason: Annotated[str, StringConstraints(max_length=500), NoNul] = ""


class DowntimeEndIn(_In):
    """The truck is back in service at ``at`` (default now)."""

    at: Instant | None = None


class DowntimeOut(_Out):
    """A truck's downtime. ``replans``: the plan jobs queued for the days it changes (their
    plans of today and later; made while trucks are out, each re-plans the rest of its day
    from where they are)."""

    id: int
    vehicle_id: str
    start_at: datetime
    end_at: datetime | None
    reason: str
    created_at: datetime
    replans: list[int] = []


class AlertIn(_In):
    """A dispatcher's overflow alert for a bin (sensor and citizen alerts are raised for you)."""

    bin_id: Id
    at: Instant | None = None
    fill_fraction: Annotated[float, Field(ge=0.0, le=1.5, allow_inf_nan=False)] | None = None
    note: Annotated[str, StringConstraints(max_length=2000), NoNul] = ""


class AlertOut(_Out):
    """An overflow alert. Once ``rerouted``: the truck that empties its bin (``vehicle_id``)
    and when it starts (``eta``), and the alert's response target (``respond_by``, None when
    targets are off), as the newest reroute of the day has them (``plan_id``): a reroute for
    another alert may move the visit, or leave it out (``unserved``)."""

    id: int
    bin_id: str
    plan_date: date
    source: str
    at: datetime
    fill_fraction: float | None
    report_id: str | None
    note: str
    status: str
    plan_id: int | None
    vehicle_id: str | None = None
    eta: datetime | None = None
    respond_by: datetime | None = None


class PlanIn(_In):
    plan_date: PlanDate
    time_limit_s: Annotated[int, Field(ge=1, le=3600)] | None = None


class PlanOut(_Out):
    id: int
    plan_date: date
    version: int
    parent_id: int | None
    origin: str
    status: str
    progress: float
    message: str
    time_limit_s: int
    created_at: datetime
    finished_at: datetime | None
    kpis: dict[str, Any] | None


class PlanRequestOut(PlanOut):
    """The plan job a ``POST /plans`` answers; ``note`` says when it is the job of the same
    request already queued or running (no other job was queued)."""

    note: str | None = None


class RouteDiffOut(_Out):
    vehicle_id: str
    diff: dict[str, Any]


class PlanDiffOut(_Out):
    plan_id: int
    parent_id: int | None
    trucks: list[RouteDiffOut]


Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]


class ProgressIn(_In):
    """A truck's progress: a bin emptied (``visit_done``), a bin its crew could not empty
    (``visit_missed``, with an optional ``reason``: a parked car, a locked enclosure, the
    bin missing), a load unloaded at a disposal site (``disposal_done``) or its position
    (``position``). A bin emptied may come with the fill the crew found
    (``fill_fraction``) and the net weight the truck's lift scale took from it
    (``weight_kg``): the weights teach the bins' densities, and a weight without a fill is
    a fill at the bin's density."""

    vehicle_id: Id
    at: Instant
    kind: Literal["visit_done", "visit_missed", "disposal_done", "position"]
    bin_id: Id | None = None
    site_id: Id | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    fill_fraction: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    weight_kg: Annotated[float, Field(ge=0.0, le=1e5, allow_inf_nan=False)] | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ProgressIn:
        if self.kind in ("visit_done", "visit_missed") and self.bin_id is None:
            raise ValueError(f"{self.kind} needs bin_id")
        if self.kind != "visit_missed" and self.reason is not None:
            raise ValueError(
                "reason (why the crew could not empty the bin) needs kind visit_missed"
            )
        if self.kind == "disposal_done" and (self.site_id is None or self.bin_id is not None):
            raise ValueError("disposal_done needs site_id (the disposal site) and no bin_id")
        if self.kind != "disposal_done" and self.site_id is not None:
            raise ValueError("site_id (where the truck unloaded) needs kind disposal_done")
        if self.kind != "visit_done" and self.fill_fraction is not None:
            raise ValueError("fill_fraction (the fill found at a pickup) needs kind visit_done")
        if self.kind != "visit_done" and self.weight_kg is not None:
            raise ValueError("weight_kg (the weight a lift scale took) needs kind visit_done")
        if self.kind == "position" and (self.lon is None or self.lat is None):
            raise ValueError("position needs lon and lat")
        return self


class ProgressOut(_Out):
    id: int
    plan_id: int
    vehicle_id: str
    kind: str
    at: datetime
    bin_id: str | None
    site_id: str | None
    fill_fraction: float | None
    weight_kg: float | None = None
    lon: float | None
    lat: float | None
    # a bin emptied, or an unloading, off the truck's route in that plan (an unloading
    # before the bins planned ahead of it: the truck was full sooner than planned)
    off_route: bool | None = None
    reason: str | None = None  # visit_missed: why the crew could not empty the bin
    # an earlier report sent again (a tablet retrying), or the truck's last one repeated
    # within the hour: it changes nothing, and is no second visit of the bin (repo.is_resend)
    resend: bool = False


class KeyIn(_In):
    """A key to issue; with ``expires_at`` (an instant with an offset, in the future) it is
    refused from then on (401 saying so), e.g. a contractor's or a trial's."""

    role: Literal["sensor", "viewer", "dispatcher", "admin"]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]
    expires_at: AwareDatetime | None = None


class KeyOut(_Out):
    key_id: str
    name: str
    role: str
    created_at: datetime
    revoked: bool
    expires_at: datetime | None = None


class KeyCreated(_Out):
    """The new key; ``key`` is shown once and never stored."""

    key: str
    key_id: str
    role: str
    name: str
    expires_at: datetime | None = None


class NightlyRunOut(_Out):
    """A nightly planning run: the day it planned (``plan_date``, city time), when it started,
    its ``status`` (``running``, ``done``: plan ``plan_id`` published, ``failed``: ``message``
    says why) and its message (what was ingested, or the failure's reason); ``attempts``, the
    tries so far, and ``retry_at``, when a failed run is tried again (none: no try is due)."""

    plan_date: date
    status: str = Field(description="running | done | failed")
    started_at: datetime
    plan_id: int | None
    message: str
    attempts: int = Field(description="tries so far (1: the night's first)")
    retry_at: datetime | None = Field(description="the next automatic try of a failed run")


class HealthOut(_Out):
    status: str
    database: str
    city: str = Field(description="the street network plans are made on (setting CITY)")
    timezone: str = Field(description="the city's time zone (setting TIMEZONE)")
    max_snap_m: float = Field(
        description="how far in metres a bin, depot or site may stand from the nearest drivable "
        "street of the city (setting MAX_SNAP_M): plans list a bin farther unserved"
    )
    truck_height_m: float = Field(
        description="the trucks' height in metres (setting TRUCK_HEIGHT_M): a street signed "
        "lower (maxheight) is not driven"
    )
    truck_weight_kg: float = Field(
        description="the loaded trucks' weight in kg (setting TRUCK_WEIGHT_KG): a street signed "
        "lighter (maxweight) is not driven, unless lifted for destinations"
    )
    truck_width_m: float = Field(
        description="the trucks' width in metres (setting TRUCK_WIDTH_M): a street signed "
        "narrower (maxwidth) is not driven"
    )
    truck_length_m: float = Field(
        description="the trucks' length in metres (setting TRUCK_LENGTH_M): a street signed "
        "shorter (maxlength) is not driven"
    )
    truck_axle_load_kg: float = Field(
        description="the load in kg on the loaded trucks' heaviest axle (setting "
        "TRUCK_AXLE_LOAD_KG): a street signed lighter per axle (maxaxleload) is not driven"
    )
    turn_restrictions: bool = Field(
        description="whether the city file's turn restrictions are obeyed (setting "
        "TURN_RESTRICTIONS)"
    )
    local_access: bool = Field(
        description="whether streets open only to reach a place on them (access=destination, "
        "delivery, customers) are never driven through (setting LOCAL_ACCESS)"
    )
    u_turns: bool = Field(
        description="whether trucks may turn back at any junction; false: only at dead ends "
        "(setting U_TURNS)"
    )
    drive_side: Literal["right", "left"] = Field(
        description="the side of the street traffic keeps to (setting DRIVE_SIDE): a bin "
        "flagged kerb_side is passed with it on that side of the truck"
    )
    street_hours: bool = Field(
        description="whether access that changes with the time (a pedestrian zone's delivery "
        "hours, a night ban on lorries) is obeyed: such a street's bins are emptied in its "
        "hours (setting STREET_HOURS)"
    )
    language: str = Field(
        description="the drivers' language of route sheets and directions when a request "
        "names none (setting LANGUAGE)"
    )
    languages: list[str] = Field(
        description="the languages route sheets and directions are written in (their "
        "language parameter)"
    )
    scheduler: Literal["running", "stopped", "disabled"] = Field(
        description="the nightly scheduler: disabled by setting SCHEDULER_ENABLED, running, or "
        "stopped although enabled (the answer is then a 503, status 'degraded')"
    )
    scheduler_problem: str | None = Field(
        default=None,
        description="why the enabled scheduler is stopped: not running, paused, its thread dead "
        "(its state still reading running), or the nightly job missing or paused; None otherwise",
    )
    next_nightly_run: datetime | None = Field(
        description="when the nightly plan runs next, in the city's zone (None unless running)"
    )
    last_nightly_run: NightlyRunOut | None = Field(
        description="the nightly run of the latest plan date (None before the first)"
    )


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    # explicit application/json: CSV/GPX/GeoJSON endpoints answer errors in JSON too
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_DETAIL = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}
_FIELD_ERROR = {
    "type": "object",
    "required": ["loc", "msg", "record"],
    "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"},
        "record": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _json(_DETAIL, "Missing, unknown or revoked X-API-Key"),
    403: _json(_DETAIL, "The key's role may not do this"),
    404: _json(_DETAIL, "Unknown id"),
    409: _json(_DETAIL, "Clashes with stored data (duplicate id, record in use, plan not done)"),
    413: _json(_DETAIL, "Request body larger than 20 MB (api.limits.MAX_BODY_BYTES)"),
    422: _json(
        {
            "type": "object",
            "required": ["detail"],
            "properties": {"detail": {"type": "array", "items": _FIELD_ERROR}},
        },
        "Bad input: the field (loc), what is wrong (msg) and the record",
    ),
}


def bulk_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI ``requestBody`` of a bulk endpoint: an array of ``model`` objects.

    Bulk endpoints validate each row themselves (to keep the good rows and report the bad
    ones), so the documented item schema comes from here.
    """
    schema = {
        "type": "array",
        "minItems": 1,
        "maxItems": 10_000,
        "items": model.model_json_schema(),
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
