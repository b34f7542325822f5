"""The PyVRP translation's numbers that need no ``pyvrp``: cost and load units, the
limit of the day folded into the distance, windows in model time (the break taken off the
clock), and the cheapest "unload, then drive home" leg.

See :mod:`optimiser._pyvrp` for the translation these serve.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from optimiser.problem import Problem, Site, Stop, VehicleSpec

COST_SCALE = 1000  # PyVRP cost units per binroute cost unit
DAILY_M = 2_000_000  # metres; > any real route length (see the package docstring)
FOLD_M_MAX = 50 * DAILY_M  # metres per folded unit at most (else the limit is not folded)
FORBID_D = 10**9  # distance of a prohibited edge, metres (a million km)
FORBID_T = 10**9  # duration of a prohibited edge, seconds
OPEN_T = 10**9  # "no time window" upper bound, seconds
PENALTY_RANGE = (0.1, 100_000.0)  # PyVRP's default penalty bounds, per unit cost of a metre/second
OVERFLOW_GUARD = 1e18  # bound on penalty x excess (int64 max ~9.2e18)
STOP_UNIT = 1000  # load units per stop in the stop-count dimension (weighs it vs. penalties)


def _break_due(v: VehicleSpec) -> int:
    """Seconds of break the truck still has to take today."""
    if v.break_s > 0 and not v.break_taken and v.break_window_s is not None:
        return v.break_s
    return 0


def _break_shape(vehicles: Sequence[VehicleSpec]) -> tuple[int, int, int] | None:
    """(longest break, earliest window start, earliest window end) over ``vehicles``, the
    trucks that may serve a visit; None when none of them has a break still due, or some
    have none: shifted by a break, the window would have a truck without one serve the
    visit late (the break of a truck that may not serve it had shifted every window)."""
    due = [v for v in vehicles if _break_due(v)]
    if not due or len(due) < len(vehicles):
        return None
    windows = [v.break_window_s for v in due if v.break_window_s is not None]
    return (
        max(v.break_s for v in due),
        min(w[0] for w in windows),
        min(w[1] for w in windows),
    )


def _model_window(
    window: tuple[int, int] | None, brk: tuple[int, int, int] | None, service_s: int = 0
) -> tuple[int, int]:
    """A service-start window in model time (the break removed from the clock).

    A visit is served either before the truck's break, which must then still start by the
    break window's end once the visit's ``service_s`` is over, or after it, ``break_s``
    later in real time than in model time. The model window admits the starts that one of
    the two makes valid; its lower bound stays the real one unless only serving after the
    break can work.
    """
    lo, hi = window if window is not None else (0, OPEN_T)
    if brk is None:
        return lo, hi
    length, _, b_hi = brk
    after = (max(lo - length, 0), max(hi - length, 0))
    if lo > b_hi:  # only reachable after the break
        return after
    before_hi = min(hi, b_hi - service_s)  # the break can still start after the service
    if hi <= b_hi:
        return (lo, before_hi) if before_hi >= lo else after
    top = max(before_hi, hi - length)
    return (lo, top) if top >= lo else after


def _group_vehicles(vehicles: Sequence[VehicleSpec]) -> list[list[VehicleSpec]]:
    """Trucks identical in every field but ``ref``, in first-seen order."""
    groups: dict[VehicleSpec, list[VehicleSpec]] = {}
    for v in vehicles:
        groups.setdefault(dataclasses.replace(v, ref=""), []).append(v)
    return list(groups.values())


def _daily_resource(problem: Problem, stops: Sequence[Stop]) -> str | None:
    """Which limit of the day to fold into the distance: a daily volume ("l") or weight
    ("kg") limit, else the stop count ("stops") of trucks that may unload during the day;
    None when none binds or a truck has no distance cost (the fold needs one)."""
    if any(v.cost_per_km <= 0 for v in problem.vehicles):
        return None
    if any(v.max_daily_l is not None for v in problem.vehicles):
        return "l"
    if any(v.max_daily_kg is not None for v in problem.vehicles):
        return "kg"
    if problem.sites and _stops_bind(problem, stops):
        return "stops"
    return None


def _daily_limit(v: VehicleSpec, resource: str | None) -> int | None:
    if resource == "l" and v.max_daily_l is not None:
        return max(v.max_daily_l - v.initial_daily_l, 0)
    if resource == "kg" and v.max_daily_kg is not None:
        return max(v.max_daily_kg - v.initial_daily_kg, 0)
    if resource == "stops":
        return v.max_stops
    return None


def _stop_amount(s: Stop, resource: str | None) -> int:
    if resource == "l":
        return s.volume_l
    if resource == "kg":
        return s.weight_kg
    return 1 if resource == "stops" else 0


def _fold_cost(units: Sequence[int]) -> int | None:
    """PyVRP cost of one folded unit, the same on every truck (see the package docstring).

    ``units`` are the trucks' costs per metre (PyVRP units). A truck's folded metres per
    unit are this cost / its own cost per metre, at least :data:`DAILY_M`; None when the
    costs are so unlike (their least common multiple so large) that some truck would need
    more than ``FOLD_M_MAX`` metres per unit.
    """
    lcm = math.lcm(*units)
    cost = lcm * -(-DAILY_M * max(units) // lcm)
    return cost if cost // min(units) <= FOLD_M_MAX else None


def _unit_costs(v: VehicleSpec) -> tuple[int, int]:
    """PyVRP (per metre, per second) costs, scaled by COST_SCALE."""
    return v.cost_per_km, round(v.cost_per_hour * COST_SCALE / 3600)


def _via_leg(
    problem: Problem, sites: Sequence[Site], end: int, v: VehicleSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Per matrix row: (distance, duration) of the cheapest ``row -> site -> end`` leg."""
    dist, dur = problem.matrix.distance_m, problem.matrix.duration_s
    c_d, c_t = _unit_costs(v)
    best_cost = np.full(problem.matrix.size, np.iinfo(np.int64).max, dtype=np.int64)
    best_d = np.zeros(problem.matrix.size, dtype=np.int64)
    best_t = np.zeros(problem.matrix.size, dtype=np.int64)
    for site in sites:
        d = dist[:, site.location] + dist[site.location, end]
        t = dur[:, site.location] + site.unload_s + dur[site.location, end]
        cost = c_d * d + c_t * t + 1  # +1: prefer the shorter leg on cost ties
        better = cost < best_cost
        best_cost = np.where(better, cost, best_cost)
        best_d = np.where(better, d, best_d)
        best_t = np.where(better, t, best_t)
    return best_d, best_t


def _cost_unit(problem: Problem, stops: Sequence[Stop]) -> int:
    """The gcd of all scaled cost coefficients: dividing by it keeps PyVRP's numbers small.

    PyVRP's penalty bounds are absolute, so an objective scaled up by 1000 for nothing
    would weaken its capacity and time-window penalties.
    """
    values = [c for v in problem.vehicles for c in _unit_costs(v)]
    values += [v.fixed_cost * COST_SCALE for v in problem.vehicles]
    values += [s.prize * COST_SCALE for s in stops]
    return math.gcd(*values) or 1


def _amount_unit(problem: Problem, stops: Sequence[Stop], resource: str | None) -> int:
    """The gcd of the stops' daily amounts and the trucks' remaining daily limits."""
    values = [_stop_amount(s, resource) for s in stops]
    values += [x for v in problem.vehicles if (x := _daily_limit(v, resource)) is not None]
    return math.gcd(*values) or 1


def _big_prize(problem: Problem) -> int:
    """Drop penalty of a required stop made soft (COST_SCALE units).

    Twice the most a stop can add to a plan: a detour over the longest edge and back, the
    longest service, and a truck's fixed cost.
    """
    m = problem.matrix
    longest_service = max((s.service_s for s in problem.stops), default=0)
    longest_m, longest_s = int(m.distance_m.max()), int(m.duration_s.max())
    top = 0
    for v in problem.vehicles:
        c_d, c_t = _unit_costs(v)
        detour = 2 * c_d * longest_m + c_t * (2 * longest_s + longest_service)
        top = max(top, detour + v.fixed_cost * COST_SCALE)
    return 2 * max(top, 1)


def _stops_bind(problem: Problem, stops: Sequence[Stop]) -> bool:
    return any(v.max_stops is not None and v.max_stops < len(stops) for v in problem.vehicles)
