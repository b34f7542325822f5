"""Wire schemas (pydantic), one per direction: ``*In`` requests, ``*Out`` responses.

Requests forbid unknown fields and bound every number and string, so bad input is a 422 that
names the field, never a 500. Instants must carry an offset (ISO 8601, e.g.
``2026-11-25T07:30:00+02:00``); clock times of day are local to the city and carry none.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    model_validator,
)

from api.schemas_day import (
    AlertIn,
    AlertOut,
    DowntimeEndIn,
    DowntimeIn,
    DowntimeOut,
    HealthOut,
    KeyCreated,
    KeyIn,
    KeyOut,
    NightlyRunOut,
    PlanDiffOut,
    PlanIn,
    PlanOut,
    PlanRequestOut,
    ProgressIn,
    ProgressOut,
    ProgressPosted,
    Reason,
    RouteDiffOut,
)
from api.schemas_types import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_ROW_ID,
    ClockOut,
    Count,
    Equipment,
    Id,
    Instant,
    Lat,
    LocalTime,
    Lon,
    Money,
    Name,
    NoNul,
    PlanDate,
    Seconds,
    Stream,
    Streams,
    UrlKey,
    _In,
    _Out,
)

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "MAX_ROW_ID",
    "AlertIn",
    "AlertOut",
    "ClockOut",
    "Count",
    "DowntimeEndIn",
    "DowntimeIn",
    "DowntimeOut",
    "Equipment",
    "HealthOut",
    "Id",
    "Instant",
    "KeyCreated",
    "KeyIn",
    "KeyOut",
    "Lat",
    "LocalTime",
    "Lon",
    "Money",
    "Name",
    "NightlyRunOut",
    "NoNul",
    "PlanDate",
    "PlanDiffOut",
    "PlanIn",
    "PlanOut",
    "PlanRequestOut",
    "ProgressIn",
    "ProgressOut",
    "ProgressPosted",
    "Reason",
    "RouteDiffOut",
    "Seconds",
    "Stream",
    "Streams",
    "UrlKey",
]


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
    received_at: datetime


class ChangeOut(_Out):
    """A record of the inventory created, changed (``fields``: which) or deleted, and by
    which key (its id and name, kept when the key is revoked)."""

    id: int
    at: datetime
    resource: str
    ref: str
    change: str
    fields: list[str]
    key_id: str | None
    key_name: str | None = None


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
