"""Translate between wire schemas, database rows and fleet records (unit conversion #3).

Wire schemas and rows share field names, so one function per record type builds the
validated fleet record from either. Building the record is the domain check: a
``FleetDataError`` from it becomes a 422 naming the record.
"""

from __future__ import annotations

from datetime import time
from typing import Any, Protocol

from fleet.models import (
    Bin,
    CitizenReport,
    Depot,
    DisposalSite,
    Downtime,
    FillReading,
    PickupRecord,
    TimeWindow,
    Vehicle,
    WeightReading,
)
from fleet.weights import pickup_of_weight


def window(start: time | None, end: time | None, field: str) -> TimeWindow | None:
    """A ``TimeWindow`` of the record field ``field`` (its fix named when past midnight)
    from two local clock times, or None when either is missing."""
    if start is None or end is None:
        return None
    return TimeWindow.of(start, end, field)


class _DepotLike(Protocol):
    depot_id: str
    lon: float
    lat: float
    name: str


def depot_record(x: _DepotLike) -> Depot:
    """A validated ``Depot``."""
    return Depot(depot_id=x.depot_id, lon=x.lon, lat=x.lat, name=x.name)


def vehicle_record(x: Any) -> Vehicle:
    """A validated ``Vehicle`` (shift and break windows are local clock times)."""
    shift = TimeWindow.of(x.shift_start, x.shift_end, "shift")
    return Vehicle(
        vehicle_id=x.vehicle_id,
        depot_id=x.depot_id,
        capacity_l=x.capacity_l,
        capacity_kg=x.capacity_kg,
        streams=frozenset(x.streams),
        shift=shift,
        break_s=x.break_s,
        break_window=window(x.break_start, x.break_end, "break_window"),
        cost_per_km=x.cost_per_km,
        cost_per_hour=x.cost_per_hour,
        fixed_cost=x.fixed_cost,
        max_stops=x.max_stops,
        max_daily_kg=x.max_daily_kg,
        equipment=frozenset(x.equipment or ()),
    )


def site_record(x: Any) -> DisposalSite:
    """A validated ``DisposalSite``."""
    return DisposalSite(
        site_id=x.site_id,
        lon=x.lon,
        lat=x.lat,
        streams=frozenset(x.streams),
        opening=TimeWindow.of(x.open_start, x.open_end, "opening"),
        unload_s=x.unload_s,
        name=x.name,
    )


def bin_record(x: Any) -> Bin:
    """A validated ``Bin``."""
    return Bin(
        bin_id=x.bin_id,
        lon=x.lon,
        lat=x.lat,
        capacity_l=x.capacity_l,
        stream=x.stream,
        service_s=x.service_s,
        access_window=window(x.window_start, x.window_end, "access_window"),
        has_sensor=x.has_sensor,
        density_kg_per_l=x.density_kg_per_l,
        street=x.street,
        kerb_side=x.kerb_side,
        needs=frozenset(x.needs or ()),
    )


def city_record(x: Any) -> None:
    """Cities have no fleet record; their zone is checked by the schema."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from fleet.errors import FleetDataError

    try:
        ZoneInfo(x.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FleetDataError(
            f"city {x.city_id!r}: unknown time zone {x.timezone!r}; use an IANA name"
        ) from exc


def reading_record(x: Any) -> FillReading:
    """A validated ``FillReading`` (tz-aware ``at``)."""
    return FillReading(
        bin_id=x.bin_id,
        at=x.at,
        fill_fraction=x.fill_fraction,
        weight_kg=x.weight_kg,
        fill_from_weight=bool(getattr(x, "fill_from_weight", False)),
    )


def weight_record(x: Any) -> WeightReading:
    """A validated ``WeightReading`` (a sensor that only weighs; tz-aware ``at``)."""
    return WeightReading(bin_id=x.bin_id, at=x.at, weight_kg=x.weight_kg)


def pickup_record(x: Any, b: Bin) -> PickupRecord:
    """A validated ``PickupRecord`` from a ``visit_done`` progress row of bin ``b``: with
    the fill found, or the weight the lift scale took alone (then the fill is the one that
    weight makes at ``b``'s density, at most 1; plans derive it again at the density known
    then, :func:`fleet.weights.at_densities`), or neither (an emptying, no fill known)."""
    if x.fill_fraction is None and x.weight_kg is not None:
        return pickup_of_weight(b, x.at, x.weight_kg)
    return PickupRecord(
        bin_id=x.bin_id, at=x.at, fill_fraction=x.fill_fraction, weight_kg=x.weight_kg
    )


def report_record(x: Any) -> CitizenReport:
    """A validated ``CitizenReport``."""
    return CitizenReport(
        report_id=x.report_id,
        at=x.at,
        text=x.text,
        bin_id=x.bin_id,
        lon=x.lon,
        lat=x.lat,
        overflowing=x.overflowing,
    )


def _window_fields(w: TimeWindow | None, start: str, end: str) -> dict[str, Any]:
    return {start: w.start if w else None, end: w.end if w else None}


def depot_wire(d: Depot) -> dict[str, Any]:
    """A ``Depot`` as the fields of ``DepotIn``."""
    return {"depot_id": d.depot_id, "lon": d.lon, "lat": d.lat, "name": d.name}


def site_wire(s: DisposalSite) -> dict[str, Any]:
    """A ``DisposalSite`` as the fields of ``SiteIn``."""
    return {
        "site_id": s.site_id,
        "lon": s.lon,
        "lat": s.lat,
        "streams": sorted(s.streams),
        **_window_fields(s.opening, "open_start", "open_end"),
        "unload_s": s.unload_s,
        "name": s.name,
    }


def bin_wire(b: Bin) -> dict[str, Any]:
    """A ``Bin`` as the fields of ``BinIn``."""
    return {
        "bin_id": b.bin_id,
        "lon": b.lon,
        "lat": b.lat,
        "capacity_l": b.capacity_l,
        "stream": b.stream,
        "service_s": b.service_s,
        **_window_fields(b.access_window, "window_start", "window_end"),
        "has_sensor": b.has_sensor,
        "density_kg_per_l": b.density_kg_per_l,
        "street": b.street,
        "kerb_side": b.kerb_side,
        "needs": sorted(b.needs),
    }


def vehicle_wire(v: Vehicle) -> dict[str, Any]:
    """A ``Vehicle`` as the fields of ``VehicleIn``."""
    return {
        "vehicle_id": v.vehicle_id,
        "depot_id": v.depot_id,
        "capacity_l": v.capacity_l,
        "capacity_kg": v.capacity_kg,
        "streams": sorted(v.streams),
        **_window_fields(v.shift, "shift_start", "shift_end"),
        "break_s": v.break_s,
        **_window_fields(v.break_window, "break_start", "break_end"),
        "cost_per_km": v.cost_per_km,
        "cost_per_hour": v.cost_per_hour,
        "fixed_cost": v.fixed_cost,
        "max_stops": v.max_stops,
        "max_daily_kg": v.max_daily_kg,
        "equipment": sorted(v.equipment),
    }


def downtime_record(x: Any) -> Downtime:
    """A validated ``Downtime`` (tz-aware ``start_at``, ``end_at``)."""
    return Downtime(vehicle_id=x.vehicle_id, start=x.start_at, end=x.end_at, reason=x.reason)
