"""A route's legs as the insertions see them (:func:`_legs`): when each leg ends, the load
up to the next unloading, the room left in the shift; the detour of a stop put on each
leg (:func:`detours`), its earliest start there, whether it fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from optimiser.check import time_route
from optimiser.plan import Route, Visit, VisitKind
from optimiser.problem import Problem, Stop, VehicleSpec

FAR = np.iinfo(np.int64).max // 4


def detours(problem: Problem, v: VehicleSpec, refs: list[str], stop: Stop) -> np.ndarray:
    """Travel seconds added by inserting ``stop`` at each position ``0..len(refs)`` of truck
    ``v``'s route ``refs`` (stop and site refs, between its start and end)."""
    return _detours(problem, _rows(problem, v, refs), stop)


def _rows(problem: Problem, v: VehicleSpec, refs: list[str]) -> np.ndarray:
    """Matrix rows of truck ``v``'s start, the stops and sites ``refs``, and its end."""
    stops, sites = problem.stops_by_ref(), problem.sites_by_ref()
    where = [stops[r].location if r in stops else sites[r].location for r in refs]
    return np.array([v.start, *where, v.end], dtype=np.int64)


def _detours(problem: Problem, rows: np.ndarray, stop: Stop) -> np.ndarray:
    """:func:`detours` along the matrix rows ``rows`` of a route (:func:`_rows`)."""
    dur = problem.matrix.duration_s
    a, b = rows[:-1], rows[1:]
    extra: np.ndarray = dur[a, stop.location] + dur[stop.location, b] - dur[a, b]
    return extra


def start_of(route: Route, ref: str) -> int:
    """When ``route`` starts emptying bin stop ``ref`` (seconds since midnight)."""
    return next(x.start_s for x in route.visits if x.kind is VisitKind.BIN and x.ref == ref)


def start_in(
    problem: Problem, v: VehicleSpec, refs: list[str], ref: str, memo: LegsMemo | None = None
) -> int:
    """When truck ``v`` starts emptying bin stop ``ref`` in its route ``refs`` (seconds
    since midnight), timed as ``check.time_route`` does; ``memo`` as :func:`insert_cheapest`'s
    (the route timed once for both)."""
    legs = _legs(problem, v, refs, memo).legs
    return next(x.start_s for x in legs if x.kind is VisitKind.BIN and x.ref == ref)


@dataclass(frozen=True, slots=True)
class _Timed:
    """A truck's route as the insertions read it (:func:`_legs`): its START, bin and
    disposal visits timed as ``check.time_route`` does (leg ``k`` is where the truck leaves
    from to a stop inserted at position ``k``), the matrix rows of its start, stops and end
    (for the detours), when each leg ends and where, the break's seconds in each leg's end
    (0 before the break), the load on board after each leg and just before the next
    unloading after it (litres, kg), and ``room_s``, the seconds the route may still grow
    (:func:`_room_s`)."""

    legs: list[Visit]
    rows: np.ndarray
    ends_s: np.ndarray
    rested_s: np.ndarray
    leg_rows: np.ndarray
    load_l: np.ndarray
    load_kg: np.ndarray
    ahead_l: np.ndarray
    ahead_kg: np.ndarray
    room_s: int


# a truck's route timed (:func:`_legs`) by (vehicle ref, refs), for one problem
LegsMemo = dict[tuple[str, tuple[str, ...]], _Timed]


def _legs(
    problem: Problem, v: VehicleSpec, refs: list[str], memo: LegsMemo | None = None
) -> _Timed:
    """Route ``refs`` of truck ``v`` timed for insertions (:class:`_Timed`). ``memo`` (of
    ``problem`` only) keeps them for routes asked for again."""
    key = (v.ref, tuple(refs))
    if memo is not None and key in memo:
        return memo[key]
    work = (VisitKind.START, VisitKind.BIN, VisitKind.DISPOSAL)
    route = time_route(problem, v, refs)
    legs: list[Visit] = []
    rested, after = 0, []  # the break's seconds in each leg's end
    for x in route.visits:
        if x.kind is VisitKind.BREAK:
            rested = v.break_s
        elif x.kind in work:
            legs.append(x)
            after.append(rested)
    load_l = np.array([x.volume_l for x in legs], dtype=np.int64)
    load_kg = np.array([x.weight_kg for x in legs], dtype=np.int64)
    vol, wt = load_l.copy(), load_kg.copy()
    for j in range(len(legs) - 2, -1, -1):  # the load on board just before the next unload
        if legs[j + 1].kind is not VisitKind.DISPOSAL:
            vol[j], wt[j] = vol[j + 1], wt[j + 1]
    timed = _Timed(
        legs=legs,
        rows=_rows(problem, v, refs),
        ends_s=np.array([x.end_s for x in legs], dtype=np.int64),
        rested_s=np.array(after, dtype=np.int64),
        leg_rows=np.array([x.location for x in legs], dtype=np.int64),
        load_l=load_l,
        load_kg=load_kg,
        ahead_l=vol,
        ahead_kg=wt,
        room_s=_room_s(problem, v, route),
    )
    if memo is not None:
        memo[key] = timed
    return timed


def _room_s(problem: Problem, v: VehicleSpec, route: Route) -> int:
    """Seconds truck ``v``'s timed ``route`` may still grow: its shift end less when it
    leaves, its driving, its bins' and unloadings' service and its break (its waiting left
    out). An insertion adding more driving and service than that cannot be valid whatever
    the waiting it takes up (the truck would be back after its shift end), so the
    insertions do not check such positions: on a day with more bins than the trucks have
    time for, each insertion of a bin left out checked its 80 positions in vain."""
    visits = route.visits
    rows = np.array([x.location for x in visits if x.location is not None], dtype=np.int64)
    drive = int(problem.matrix.duration_s[rows[:-1], rows[1:]].sum())
    work = (VisitKind.BIN, VisitKind.DISPOSAL)
    busy = sum(x.end_s - x.start_s for x in visits if x.kind in work)
    pause = v.break_s if any(x.kind is VisitKind.BREAK for x in visits) else 0
    return v.shift_s[1] - visits[0].start_s - drive - busy - pause


def _arrivals(problem: Problem, timed: _Timed, stop: Stop) -> np.ndarray:
    """Earliest arrival (seconds since midnight) at ``stop`` inserted after each leg (a
    break the insertion would move is not counted)."""
    arrive: np.ndarray = timed.ends_s + problem.matrix.duration_s[timed.leg_rows, stop.location]
    return arrive


def _soonest_starts(problem: Problem, timed: _Timed, stop: Stop) -> np.ndarray:
    """The earliest ``stop`` may start inserted after each leg, however the new route is
    timed (seconds since midnight): not before its window opens, nor before the leg ends
    and the truck drives there, less the break for a leg after it (``check.time_route``
    moves the break later, past the stop, when a later window would be missed; no move
    makes a leg end sooner than that). A lower bound of the start, unlike
    :func:`_arrivals`, which ranks."""
    dur = problem.matrix.duration_s
    soonest = timed.ends_s - timed.rested_s + dur[timed.leg_rows, stop.location]
    start: np.ndarray = soonest if stop.window_s is None else np.maximum(soonest, stop.window_s[0])
    return start


def _fits(v: VehicleSpec, timed: _Timed, stop: Stop) -> np.ndarray:
    """Whether ``stop`` inserted after each leg keeps the truck within its capacities up to
    its next unloading, and within its daily limits (a necessary condition only)."""
    ok = _under(v, timed.ahead_l, timed.ahead_kg, stop.volume_l, stop.weight_kg)
    within: np.ndarray = ok & _daily_room(v, timed.legs, stop.volume_l, stop.weight_kg)
    return within


def _under(v: VehicleSpec, load_l: Any, load_kg: Any, volume_l: Any, weight_kg: Any) -> np.ndarray:
    """Whether ``volume_l`` litres and ``weight_kg`` kg on top of loads ``load_l`` and
    ``load_kg`` stay within truck ``v``'s capacities (arrays broadcast: loads by stops)."""
    fits: np.ndarray = np.asarray(load_l + volume_l <= v.capacity_l) & np.asarray(
        load_kg + weight_kg <= v.capacity_kg
    )
    return fits


def _daily_room(v: VehicleSpec, legs: list[Visit], volume_l: Any, weight_kg: Any) -> np.ndarray:
    """Whether ``volume_l`` litres and ``weight_kg`` kg more (a stop's, or arrays of several
    stops') keep truck ``v`` (route ``legs``) within its daily limits."""
    ok = np.ones(np.shape(volume_l), dtype=bool)
    if v.max_daily_l is not None:
        ok &= legs[-1].daily_l + volume_l <= v.max_daily_l
    if v.max_daily_kg is not None:
        ok &= legs[-1].daily_kg + weight_kg <= v.max_daily_kg
    return ok
