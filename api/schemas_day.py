"""Wire schemas of the day's work (:mod:`api.schemas` re-exports them): downtimes, alerts,
plans and their differences, trucks' progress, API keys, nightly runs and health.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    Field,
    StringConstraints,
    model_validator,
)

from api.schemas_types import Id, Instant, Lat, Lon, NoNul, PlanDate, _In, _Out


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
    another alert may move the visit, or leave it out (``unserved``). ``bin_deleted``: its
    bin was deleted while a plan could still send a truck for it (no truck, no time); a
    deleted bin's alerts stay listed."""

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


class ProgressPosted(ProgressOut):
    """A report as ``POST /plans/{id}/progress`` answers it: ``rerouting`` when it reroutes
    the day (a bin emptied off the truck's route that a truck is still sent to, or a bin
    missed: its alert's reroute); the day's next version comes from that reroute, or from
    the alert's reroute or plan job of the day that comes first."""

    rerouting: bool = False


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
