"""The bins' stops of a problem (part of :mod:`optimiser.build`): each decision's load and
prize, its deadline and release as stop windows, a second stop of a bin that needs two
visits that day (:func:`timed_stops`), an alert's urgent stop, and the load a crew found.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, tzinfo

from fleet.models import (
    Action,
    Bin,
    BinDecision,
    Inventory,
    TimeWindow,
)
from fleet.policy import bin_decision
from network.matrix import TravelMatrix
from optimiser.build_units import instant_to_s, round_up, to_cents, window_to_s
from optimiser.errors import InvalidProblemError
from optimiser.problem import SECOND_VISIT, Site, Stop, VehicleSpec, takes

SECOND_VISIT_GAP_S = 3600  # a release this long after the deadline makes a second visit
LATE_WINDOW_S = 3600  # width of a release window moved to the end of the shifts


def with_deadline(
    stop: Stop, due_s: int | None, matrix: TravelMatrix, vehicles: Sequence[VehicleSpec]
) -> Stop:
    """``stop`` with its window closed at ``due_s`` (a forecast overflow), when some truck can
    start there by then; otherwise (or without a deadline) unchanged.

    A deadline no truck can keep would only make the bin unservable: it is dropped, and
    the bin is served when the routes reach it.
    """
    if due_s is None:
        return stop
    lo, hi = stop.window_s if stop.window_s is not None else (0, due_s)
    end = min(hi, due_s)
    reach = min(
        (
            v.shift_s[0] + int(matrix.duration_s[v.start, stop.location])
            for v in vehicles
            if takes(v, stop)
        ),
        default=None,
    )
    if reach is None or end < max(lo, reach):
        return stop
    return replace(stop, window_s=(lo, end))


def _latest_start_s(
    stop: Stop, matrix: TravelMatrix, vehicles: Sequence[VehicleSpec], via: Sequence[Site]
) -> int:
    """Latest service start at ``stop`` from which some truck still reaches its end in shift,
    through the nearest disposal site of ``via`` when given (trucks return empty)."""
    dur = matrix.duration_s

    def back(v: VehicleSpec) -> int:
        to_end = int(dur[stop.location, v.end])
        trips = [
            int(dur[stop.location, s.location]) + s.unload_s + int(dur[s.location, v.end])
            for s in via
            if stop.stream in s.streams
        ]
        return min(trips, default=to_end)

    return max(
        (v.shift_s[1] - stop.service_s - back(v) for v in vehicles if takes(v, stop)),
        default=-1,
    )


def _refill(b: Bin, d: BinDecision) -> tuple[int, int]:
    """(litres, kg) a second visit of bin ``b`` is expected to load."""
    litres = min(max(d.refill_fraction, 0.0), 1.0) * b.capacity_l
    return round_up(litres), round_up(litres * b.density)


def timed_stops(
    stop: Stop,
    due_s: int | None,
    release_s: int | None,
    refill: tuple[int, int],
    matrix: TravelMatrix,
    vehicles: Sequence[VehicleSpec],
    via: Sequence[Site] = (),
) -> tuple[Stop, ...]:
    """The stop(s) of a bin with a deadline ``due_s`` and a release ``release_s`` (seconds).

    Without a release: the stop with its deadline (:func:`with_deadline`). A release later
    than trucks can come (the bin refills faster than the night lasts) moves to the last
    ``LATE_WINDOW_S`` they can (``via``: the disposal sites trucks pass before the end).
    A release at least ``SECOND_VISIT_GAP_S`` after the deadline (or a bin without a
    deadline: full when the day starts; its deadline is then that gap before the release)
    needs two visits: the stop by its deadline, and a second one (ref ``<bin>#2``, loading
    ``refill`` (litres, kg)) from the release; when the deadline cannot be kept, one visit.
    Otherwise one visit from the release to the deadline, when that window is open.
    """
    first = with_deadline(stop, due_s, matrix, vehicles)
    if release_s is None:
        return (first,)
    latest = _latest_start_s(stop, matrix, vehicles, via)
    lo, hi = stop.window_s if stop.window_s is not None else (0, latest)
    release_s = min(release_s, min(hi, latest) - LATE_WINDOW_S)  # else: as late as can be
    if release_s < lo:
        return (first,)
    if due_s is None or release_s >= due_s + SECOND_VISIT_GAP_S:
        by_s = release_s - SECOND_VISIT_GAP_S
        early = first if due_s is not None else with_deadline(stop, by_s, matrix, vehicles)
        if early.window_s is None or early.window_s[1] > by_s:
            return (first,)  # the first visit could not be kept ahead of the second
        second = replace(
            stop,
            ref=stop.ref + SECOND_VISIT,
            volume_l=refill[0],
            weight_kg=refill[1],
            window_s=(max(lo, release_s), min(hi, latest)),
        )
        return (early, second)
    f_lo, f_hi = first.window_s if first.window_s is not None else (lo, latest)
    if max(f_lo, release_s) > f_hi:
        return (first,)
    return (replace(first, window_s=(max(f_lo, release_s), f_hi)),)


def found_load(b: Bin, fill: float, weight_kg: float | None = None) -> tuple[int, int]:
    """(litres, kg) a truck took from bin ``b`` found at ``fill`` (a fraction of the bin;
    capped at 1, as planned loads are), in the solver's integers; the kg are
    ``weight_kg`` when the truck's lift scale weighed it, else the fill's at ``b``'s
    density."""
    d = bin_decision(b, Action.MUST, fill, "found at pickup")
    kg = d.expected_weight_kg if weight_kg is None else weight_kg
    return round_up(d.expected_volume_l), round_up(kg)


def _decisions(inventory: Inventory, decisions: Sequence[BinDecision]) -> list[BinDecision]:
    seen: set[str] = set()
    bins = {b.bin_id for b in inventory.bins}
    out = []
    for d in decisions:
        if d.bin_id not in bins:
            raise InvalidProblemError(f"decision for bin {d.bin_id!r}: not in the inventory")
        if d.bin_id in seen:
            raise InvalidProblemError(f"bin {d.bin_id!r} has two decisions; keep one")
        seen.add(d.bin_id)
        if d.action is not Action.SKIP:
            out.append(d)
    return out


def _stop(b: Bin, d: BinDecision, row: int, clock: Callable[[TimeWindow], tuple[int, int]]) -> Stop:
    return Stop(
        ref=b.bin_id,
        location=row,
        volume_l=round_up(d.expected_volume_l),
        weight_kg=round_up(d.expected_weight_kg),
        service_s=b.service_s,
        window_s=clock(b.access_window) if b.access_window is not None else None,
        stream=b.stream,
        required=d.action is Action.MUST,
        prize=to_cents(d.prize) if d.action is Action.MAY else 0,
        needs=b.needs,
    )


def urgent_stop(b: Bin, row: int, *, plan_date: date, tz: tzinfo, reason: str) -> Stop:
    """A required stop for a bin reported overflowing: it is loaded full (its capacity).

    Returns the stop at matrix ``row``; ``reason`` is kept for the decision record only.
    """
    decision = overflow_decision(b, reason)

    def clock(w: TimeWindow) -> tuple[int, int]:
        return window_to_s(w, plan_date=plan_date, tz=tz)

    return _stop(b, decision, row, clock)


def overflow_decision(b: Bin, reason: str) -> BinDecision:
    """The MUST decision for an overflowing bin: full volume, weight from its density."""
    return BinDecision(
        bin_id=b.bin_id,
        action=Action.MUST,
        expected_fill_fraction=1.0,
        expected_volume_l=float(b.capacity_l),
        expected_weight_kg=b.capacity_l * b.density,
        reason=reason,
    )


def decision_stops(
    inventory: Inventory,
    decisions: Sequence[BinDecision],
    rows: Mapping[str, int],
    matrix: TravelMatrix,
    vehicles: Sequence[VehicleSpec],
    via: Sequence[Site],
    *,
    plan_date: date,
    tz: tzinfo,
) -> list[Stop]:
    """The stops of MUST and MAY ``decisions`` (SKIP ones are left out), each bin at its
    matrix row ``rows[bin id]``, timed by its deadline and release (:func:`timed_stops`,
    ``via`` the sites trucks pass before the end of the day)."""

    def clock(w: TimeWindow) -> tuple[int, int]:
        return window_to_s(w, plan_date=plan_date, tz=tz)

    def secs(at: datetime | None) -> int | None:
        return None if at is None else instant_to_s(at, plan_date=plan_date, tz=tz)

    bins = {b.bin_id: b for b in inventory.bins}
    out: list[Stop] = []
    for d in decisions:
        if d.action is Action.SKIP:
            continue
        b = bins[d.bin_id]
        stop = _stop(b, d, rows[d.bin_id], clock)
        out.extend(
            timed_stops(
                stop, secs(d.due_at), secs(d.release_at), _refill(b, d), matrix, vehicles, via
            )
        )
    return out
