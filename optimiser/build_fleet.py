"""The trucks and disposal sites of a problem (part of :mod:`optimiser.build`): each
vehicle's spec, and the part of its shift it is on duty outside its downtimes
(:func:`on_duty`), each site's spec.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, tzinfo

from fleet.models import (
    DisposalSite,
    Downtime,
    TimeWindow,
    Vehicle,
)
from optimiser.build_units import instant_to_s, s_to_instant, to_cents, window_to_s
from optimiser.plan import clock
from optimiser.problem import Site, VehicleSpec


def _vehicle(v: Vehicle, row: int, clock: Callable[[TimeWindow], tuple[int, int]]) -> VehicleSpec:
    return VehicleSpec(
        ref=v.vehicle_id,
        start=row,
        end=row,
        capacity_l=v.capacity_l,
        capacity_kg=v.capacity_kg,
        streams=v.streams,
        shift_s=clock(v.shift),
        break_s=v.break_s,
        break_window_s=clock(v.break_window) if v.break_window is not None else None,
        cost_per_km=to_cents(v.cost_per_km),
        cost_per_hour=to_cents(v.cost_per_hour),
        fixed_cost=to_cents(v.fixed_cost),
        max_stops=v.max_stops,
        max_daily_kg=v.max_daily_kg,
        equipment=v.equipment,
    )


def vehicle_spec(
    v: Vehicle, row: int, *, plan_date: date, tz: tzinfo, start_s: int = 0
) -> VehicleSpec:
    """Truck ``v`` of ``plan_date`` at matrix ``row`` (its depot), leaving no earlier than
    ``start_s`` (seconds since local midnight)."""

    def clock(w: TimeWindow) -> tuple[int, int]:
        return window_to_s(w, plan_date=plan_date, tz=tz)

    return _starting_from((_vehicle(v, row, clock),), start_s)[0]


UNTIL_FURTHER_NOTICE_S = 10**9  # the end of a downtime without one, seconds


def site_spec(site: DisposalSite, row: int, *, plan_date: date, tz: tzinfo) -> Site:
    """Disposal ``site`` at matrix ``row`` on ``plan_date``: its hours in seconds since
    local midnight."""
    return Site(
        ref=site.site_id,
        location=row,
        streams=site.streams,
        window_s=window_to_s(site.opening, plan_date=plan_date, tz=tz),
        unload_s=site.unload_s,
    )


def duty_pieces(
    shift_s: tuple[int, int], down_s: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The parts of ``shift_s`` outside every ``down_s`` interval, in time order (seconds
    since local midnight; empty parts dropped)."""
    pieces = [shift_s]
    for lo, hi in down_s:
        pieces = [
            part
            for a, b in pieces
            for part in (((a, b),) if hi <= a or lo >= b else ((a, min(b, lo)), (max(a, hi), b)))
            if part[1] > part[0]
        ]
    return pieces


def on_duty(
    spec: VehicleSpec,
    downtimes: Sequence[Downtime],
    *,
    plan_date: date,
    tz: tzinfo,
    after_s: int | None = None,
) -> tuple[VehicleSpec | None, str | None]:
    """Truck ``spec`` working only outside its ``downtimes`` on ``plan_date``, and a note
    saying so (None when none touches its shift).

    A plan gives it the longest part of its shift left; a truck on the road at ``after_s``
    (seconds since local midnight) goes on in the first part that ends after it (it waits
    where it is until that part starts). None when no part is left.
    """
    lo = spec.shift_s[0] if after_s is None else max(spec.shift_s[0], after_s)
    window = tuple(s_to_instant(s, plan_date=plan_date, tz=tz) for s in (lo, spec.shift_s[1]))
    hits = [d for d in downtimes if d.vehicle_id == spec.ref and d.covers(*window)]
    if not hits:
        return spec, None
    down = sorted(
        (
            instant_to_s(d.start, plan_date=plan_date, tz=tz),
            UNTIL_FURTHER_NOTICE_S
            if d.end is None
            else instant_to_s(d.end, plan_date=plan_date, tz=tz),
        )
        for d in hits
    )
    pieces = duty_pieces(spec.shift_s, down)
    if after_s is None:
        piece = max(pieces, key=lambda p: p[1] - p[0], default=None)
    else:
        piece = next((p for p in pieces if p[1] > after_s), None)
    when = "; ".join(_downtime_text(d, plan_date, tz) for d in hits)
    if piece is None:
        rest = "it takes no bins today" if after_s is None else "it takes no more bins today"
        return None, f"{spec.ref} is out of service {when}: {rest}"
    note = f"{spec.ref} is out of service {when}: it works {clock(piece[0])}-{clock(piece[1])}"
    return replace(spec, shift_s=piece), note


def _downtime_text(d: Downtime, plan_date: date, tz: tzinfo) -> str:
    """``d`` for people: local times, with the date when not ``plan_date``, and why."""

    def local(at: datetime) -> str:
        here = at.astimezone(tz)
        return f"{here:%H:%M}" if here.date() == plan_date else f"{here:%Y-%m-%d %H:%M}"

    when = f"from {local(d.start)}" + (f" until {local(d.end)}" if d.end else "")
    return when + (f" ({d.reason})" if d.reason else "")


def _starting_from(specs: Sequence[VehicleSpec], start_s: int) -> tuple[VehicleSpec, ...]:
    """``specs`` with each shift starting no earlier than ``start_s`` (seconds since local
    midnight), up to its end."""
    return tuple(
        replace(v, shift_s=(min(max(v.shift_s[0], start_s), v.shift_s[1]), v.shift_s[1]))
        for v in specs
    )
