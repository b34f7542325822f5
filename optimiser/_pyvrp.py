"""PyVRP engine: translate a Problem to ``pyvrp.ProblemData``, solve, decode into a Plan.

This is the only module importing ``pyvrp``. The translation:

- Every depot row, disposal site and stop gets its own PyVRP location (rows may repeat).
  Disposal sites become *reload depots* (window = site window, service = unload time);
  a truck may reload at every site taking all its streams (``screen.usable_sites``).
- Identical trucks (all fields but ``ref``) share one vehicle type with ``num_available``.
- Loads: dimension 0 volume, 1 weight, and 2 a stop count per trip when some ``max_stops``
  binds and is not folded into the distance (below).
- Costs are scaled by 1000 (``unit_distance_cost`` = cost per km per metre x 1000, and so
  on), then divided by the gcd of all coefficients (PyVRP's penalty bounds are absolute);
  the decoded plan's costs come from :func:`optimiser.costs.route_cost` (span-based).
- Optional stops are non-required clients whose prize is their ``prize``.
- ``return_empty``: a truck's end depot is a virtual location "unload at the best usable
  site, then drive home": reaching it from ``x`` costs the cheapest ``x -> site ->
  end`` leg (site unload time included). The decoder then picks, for each route, the site
  (among those open) giving the cheapest end, so the plan shows the DISPOSAL visit.
- Limits of the day: PyVRP resets every load dimension at a reload, so one limit that
  spans a truck's trips is folded into the distance of a route: the daily volume limit
  (``max_daily_l``), else the daily weight limit (``max_daily_kg``), else the stop limit
  (``max_stops``) when trucks may unload during the day. Edges into stop ``j`` get
  ``+ M * q_j`` and ``max_distance = M * limit + M - 1``, where ``q_j`` is the stop's
  litres, kg or 1, and ``M`` >= :data:`DAILY_M` metres > any real route. Each truck gets
  its own ``M`` (a distance profile per ``M``) so that ``M`` times its cost per metre is one
  constant for all trucks (:func:`_fold_cost`); because each stop is served once, the
  added term is then a constant of the objective (prizes get the same term). The search
  neighbourhoods are computed on the plain distances. Needs a cost per km on every truck,
  and costs not too unlike (else the limit is left to the checker).
- Streams: trucks that do not take a stream get a PyVRP profile in which edges into those
  stops are prohibitively long.
- Driver break: PyVRP has no breaks. The model's shift ends ``break_s`` earlier, windows
  that can only be met after the break are shifted back by ``break_s``, a visit before the
  break must end by the break window's end (:func:`_model_window`), and the decoder
  inserts the break in the gap of each route where the real schedule (recomputed from the
  travel matrix with the break) meets every window and ends earliest.

Search: PyVRP's iterated local search (its default operators and parameters, seeded by
``SolveParams.seed``). When trucks carry a fixed cost and every stop is required, the
budget is split: 40 % search; up to 30 % fleet reduction (drop the shortest route, cap
that vehicle type at one truck fewer, search from the rest until feasible; kept only when
cheaper; repeated); the rest polishes the best solution. ``warm_start`` routes (e.g. from
OR-Tools) replace the random start, and so do ``optimiser.greedy``'s routes from
``GREEDY_START_MIN_STOPS`` stops on, or with a budget under ``GREEDY_START_S_PER_STOP``
seconds a stop (the random start's first descent cannot be cut short). A search with
required stops that has found no solution serving them all by half the budget gives up,
and the rest of the budget (a quarter at least) searches with them optional (each with a
drop penalty twice the most a stop can add to a plan), from the routes found so far.

Limitations (reported by :func:`optimiser.check.check`, never hidden): only one limit of
the day is folded, so with a daily volume or weight limit, ``max_stops`` counts per trip
(a third load dimension), not per day, for trucks that reload, and a daily weight limit
beside a volume limit is not encoded; site windows are ignored on the final virtual leg
during the search (the decoder falls back to an open site); the break is placed after the
search, so a route may rarely miss a window because of it. A truck the search leaves
without stops still drives to its end depot (and unloads first when loaded), but the
search does not count that drive. Response targets (``Stop.due_s``, an alert's; only
reroutes set them, and those run OR-Tools) are not modelled: ``solve``'s portfolio ranks
plans with their lateness. When PyVRP ends without a feasible solution the plan has
status ``NO_SOLUTION`` and every stop is unserved.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pyvrp import (
    Activity,
    ActivityType,
    Client,
    CostEvaluator,
    Depot,
    Location,
    ProblemData,
    RandomNumberGenerator,
    Solution,
    VehicleType,
)
from pyvrp import (
    Route as PyvrpRoute,
)
from pyvrp.IteratedLocalSearch import (
    IteratedLocalSearch,
    IteratedLocalSearchCallbacks,
    IteratedLocalSearchParams,
)
from pyvrp.PenaltyManager import PenaltyManager, PenaltyParams
from pyvrp.search import (
    OPERATORS,
    LocalSearch,
    NeighbourhoodParams,
    PerturbationManager,
    PerturbationParams,
    compute_neighbours,
)
from pyvrp.stop import FirstFeasible, MultipleCriteria, StoppingCriterion

from optimiser.build import from_cents
from optimiser.costs import route_cost
from optimiser.explain import UNFIT
from optimiser.greedy import greedy_routes
from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus, Route, Unserved, UnservedKind, Visit, VisitKind
from optimiser.problem import Problem, Site, Stop, VehicleSpec, day_start, drop_weight, takes
from optimiser.screen import needs_disposal, screen, usable_sites

ENGINE = "pyvrp"
COST_SCALE = 1000  # PyVRP cost units per binroute cost unit
DAILY_M = 2_000_000  # metres; > any real route length (see module docstring)
FOLD_M_MAX = 50 * DAILY_M  # metres per folded unit at most (else the limit is not folded)
FORBID_D = 10**9  # distance of a prohibited edge, metres (a million km)
FORBID_T = 10**9  # duration of a prohibited edge, seconds
OPEN_T = 10**9  # "no time window" upper bound, seconds
MIN_SEARCH_S = 0.05
PENALTY_RANGE = (0.1, 100_000.0)  # PyVRP's default penalty bounds, per unit cost of a metre/second
OVERFLOW_GUARD = 1e18  # bound on penalty x excess (int64 max ~9.2e18)
STOP_UNIT = 1000  # load units per stop in the stop-count dimension (weighs it vs. penalties)
FALLBACK_SHARE = 0.25  # of the budget at least, for the retry with required stops made soft
GIVE_UP_SHARE = 0.5  # of the budget: no solution serving every required stop by then, retry
# From this many stops a search without a warm start starts from optimiser.greedy's routes,
# not from a random solution: that one's first descent cannot be cut short (3.7 s on 2000
# all-must bins, 14 s on 5000), and at 10 s the search from it ended 12-14 % dearer on
# 1000- and 2000-bin cities (0.5 % on 500; Kim's 335-804 stops: -2.5 to +1.1 %).
GREEDY_START_MIN_STOPS = 1000
# ... and so does one whose budget is under this many seconds a stop: the random start's
# descent took 3.2 s on 900 stops for a 1 s budget (OR-Tools 1.09 s); 804 stops at 10 s
# (Kim's largest) keep the random start
GREEDY_START_S_PER_STOP = 0.005
DECODE_S_PER_STOP = 0.0003  # budget kept back for decoding (measured: ~0.2 s for 800 stops)
FIRST_SHARE = 0.4  # of the budget: first search when trucks have fixed costs
FLEET_SHARE = 0.3  # of the budget: at most this for trying one truck fewer


@dataclass(slots=True)
class _Node:
    """What a PyVRP depot or client stands for."""

    kind: str  # "start" | "end" | "site" | "via" | "stop"
    row: int  # matrix row (the end row for "via")
    ref: str = ""  # stop or site ref


@dataclass(slots=True)
class _Model:
    """The PyVRP data and the maps needed to decode it."""

    data: ProblemData
    plain: ProblemData
    depots: list[_Node]
    stops: list[Stop]
    groups: list[list[VehicleSpec]]
    via_sites: dict[int, list[Site]] = field(default_factory=dict)
    penalty_scale: float = 1.0  # PyVRP's penalty bounds are absolute: scale them with costs
    # the granular neighbourhood of ``plain`` (:func:`_neighbours`): computed once per model
    neighbours: dict[Activity, list[Activity]] | None = None


def _neighbours(model: _Model) -> dict[Activity, list[Activity]]:
    """Each client's nearest clients by the plain distances (PyVRP's granular
    neighbourhood), computed on first use: 0.3 s on 2000 stops, 2.4 s on 5000, and the same
    for every search of the model (the fleet's size and the stops' prizes do not enter it)."""
    if model.neighbours is None:
        model.neighbours = compute_neighbours(model.plain, NeighbourhoodParams())
    return model.neighbours


# --------------------------------------------------------------------------- building


def _greedy_start(n_stops: int, time_limit_s: float) -> bool:
    """Whether a search without a warm start starts from ``optimiser.greedy``'s routes."""
    return n_stops >= GREEDY_START_MIN_STOPS or time_limit_s < GREEDY_START_S_PER_STOP * n_stops


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
    """PyVRP cost of one folded unit, the same on every truck (see the module docstring).

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


class _Builder:
    """Collects PyVRP locations, depots and clients for one Problem."""

    def __init__(self, problem: Problem, stops: Sequence[Stop], *, soft_required: bool) -> None:
        self.problem = problem
        self.stops = list(stops)
        self.soft_required = soft_required
        self.unit = _cost_unit(problem, self.stops)
        self.resource = _daily_resource(problem, self.stops)
        fold = None
        if self.resource is not None:
            fold = _fold_cost([_unit_costs(v)[0] // self.unit for v in problem.vehicles])
            if fold is None:
                self.resource = None  # left to the checker, as the module docstring says
        self.fold_cost = fold or 0
        self.q_unit = _amount_unit(problem, self.stops, self.resource)
        self.groups = _group_vehicles(problem.vehicles)
        self.depot_nodes: list[_Node] = []
        self.depots: list[Depot] = []
        self.depot_index: dict[tuple[str, int, str], int] = {}
        self.via_columns: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.via_sites: dict[int, list[Site]] = {}

    @functools.cached_property
    def big_prize(self) -> int:
        """:func:`_big_prize` of the problem, computed once (it scans the whole matrix)."""
        return _big_prize(self.problem)

    def amount(self, s: Stop) -> int:
        """The stop's daily-limit amount in units of ``q_unit`` (exact: a common divisor)."""
        return _stop_amount(s, self.resource) // self.q_unit

    def fold_m(self, v: VehicleSpec) -> int:
        """Metres added per folded unit on truck ``v``'s edges into a stop (0: no fold)."""
        if self.resource is None:
            return 0
        return self.fold_cost // (_unit_costs(v)[0] // self.unit)

    def depot(self, node: _Node, window: tuple[int, int] = (0, OPEN_T), service_s: int = 0) -> int:
        key = (node.kind, node.row, node.ref)
        if key not in self.depot_index:
            self.depot_index[key] = len(self.depots)
            self.depot_nodes.append(node)
            self.depots.append(
                Depot(
                    location=len(self.depots),
                    tw_early=window[0],
                    tw_late=window[1],
                    service_duration=service_s,
                )
            )
        return self.depot_index[key]

    def site_depot(self, site: Site) -> int:
        users = [v for v in self.problem.vehicles if v.streams <= site.streams]
        lo, hi = _model_window(site.window_s, _break_shape(users), site.unload_s)
        return self.depot(_Node("site", site.location, site.ref), (lo, hi), site.unload_s)

    def via_depot(self, v: VehicleSpec, sites: list[Site]) -> int:
        refs = ",".join(s.ref for s in sites) + f"|{_unit_costs(v)}"
        idx = self.depot(_Node("via", v.end, refs))
        if idx not in self.via_columns:
            self.via_columns[idx] = _via_leg(self.problem, sites, v.end, v)
            self.via_sites[idx] = sites
        return idx

    def vehicle_type(self, group: list[VehicleSpec], profile: int, dims: int) -> VehicleType:
        v = group[0]
        start = self.depot(_Node("start", v.start))
        sites = list(usable_sites(self.problem, v))
        reloads = [self.site_depot(s) for s in sites]
        if needs_disposal(self.problem, v) and sites:
            end = self.via_depot(v, sites)
        else:
            end = self.depot(_Node("end", v.end))
        ready = v.ready_s if v.ready_s is not None else v.shift_s[0]
        c_d, c_t = _unit_costs(v)
        initial = [v.initial_volume_l, v.initial_weight_kg]
        capacity = [v.capacity_l, v.capacity_kg]
        if needs_disposal(self.problem, v) and not sites:  # it could not unload: no room
            capacity = list(initial)  # (it came home loaded, as OR-Tools never has it)
        if dims == 3:
            stops = v.max_stops if v.max_stops is not None else len(self.stops) + 1
            capacity.append(stops * STOP_UNIT)
            initial.append(0)
        limit = _daily_limit(v, self.resource)
        limit = None if limit is None else limit // self.q_unit
        m = self.fold_m(v)
        max_distance = m * limit + m - 1 if limit is not None else np.iinfo(np.int64).max
        return VehicleType(
            num_available=len(group),
            capacity=capacity,
            start_depot=start,
            end_depot=end,
            fixed_cost=v.fixed_cost * COST_SCALE // self.unit,
            tw_early=max(v.shift_s[0], ready),
            tw_late=max(v.shift_s[1] - _break_due(v), max(v.shift_s[0], ready)),
            max_distance=int(max_distance),
            unit_distance_cost=c_d // self.unit,
            unit_duration_cost=c_t // self.unit,
            profile=profile,
            initial_load=initial,
            reload_depots=reloads,
            name=v.ref,
        )

    def client(self, s: Stop, dims: int, loc: int) -> Client:
        takers = [v for v in self.problem.vehicles if takes(v, s)]
        lo, hi = _model_window(s.window_s, _break_shape(takers), s.service_s)
        pickup = [s.volume_l, s.weight_kg] + ([STOP_UNIT] if dims == 3 else [])
        required = s.required and not self.soft_required
        prize = s.prize * COST_SCALE if not s.required else 0
        if s.required and self.soft_required:
            prize = self.big_prize * drop_weight(s)
        return Client(
            location=loc,
            pickup=pickup,
            service_duration=s.service_s,
            tw_early=lo,
            tw_late=hi,
            prize=prize // self.unit + self.fold_cost * self.amount(s),
            required=required,
            name=s.ref,
        )


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


def _dims(b: _Builder) -> int:
    """3 load dimensions (the third counts stops per trip) when a stop limit binds and is
    not folded into the distance, else 2."""
    return 3 if b.resource != "stops" and _stops_bind(b.problem, b.stops) else 2


def _matrices(b: _Builder, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance, duration) over PyVRP locations, with the virtual end legs."""
    m = b.problem.matrix
    dist = m.distance_m[np.ix_(rows, rows)].astype(np.int64)
    dur = m.duration_s[np.ix_(rows, rows)].astype(np.int64)
    for k, (col_d, col_t) in b.via_columns.items():
        dist[:, k], dur[:, k] = col_d[rows], col_t[rows]
        dist[k, :], dur[k, :] = FORBID_D, FORBID_T
        dist[k, k] = dur[k, k] = 0
    return dist, dur


def _profiles(
    b: _Builder, dist: np.ndarray, dur: np.ndarray, n_depots: int
) -> tuple[list[int], list[np.ndarray], list[np.ndarray]]:
    """One profile per set of stops a vehicle group cannot take (their stream, or the
    equipment they need: ``problem.takes``) and metres per folded
    unit (:meth:`_Builder.fold_m`): edges into stop ``j`` get ``+ m * amount_j``."""
    keys: list[tuple[frozenset[int], int]] = []
    profile_of: list[int] = []
    for group in b.groups:
        bad = frozenset(n_depots + i for i, s in enumerate(b.stops) if not takes(group[0], s))
        key = (bad, b.fold_m(group[0]))
        if key not in keys:
            keys.append(key)
        profile_of.append(keys.index(key))
    amounts = np.zeros(len(dist), dtype=np.int64)
    amounts[n_depots:] = [b.amount(s) for s in b.stops]
    dists, durs = [], []
    for bad, m in keys:
        d, t = dist + m * amounts[None, :], dur.copy()
        np.fill_diagonal(d, 0)
        cols = sorted(bad)
        d[:, cols], t[:, cols] = FORBID_D, FORBID_T
        d[cols, cols], t[cols, cols] = 0, 0
        dists.append(d)
        durs.append(t)
    return profile_of, dists, durs


def _ints(matrices: list[np.ndarray]) -> list[Any]:
    """int64 matrices as PyVRP's stubs type them."""
    return [np.ascontiguousarray(m, dtype=np.int64) for m in matrices]


def _penalty_scale(b: _Builder, vehicle_types: Sequence[VehicleType]) -> float:
    """Factor on PyVRP's penalty bounds so that they weigh like its defaults on unit costs.

    With required stops made soft, penalties must also be able to exceed their prize
    (else violating a window beats dropping a stop). Capped so that penalty x excess stays
    far from int64 overflow.
    """
    units = [max(vt.unit_distance_cost, vt.unit_duration_cost) for vt in vehicle_types]
    scale = float(max(1, *units))
    if b.soft_required:
        scale = max(scale, 10 * b.big_prize / b.unit / PENALTY_RANGE[1])
    most_m = max(b.fold_m(v) for v in b.problem.vehicles)
    worst = 10**7 + FORBID_D + most_m * sum(b.amount(s) for s in b.stops)
    return min(scale, OVERFLOW_GUARD / (PENALTY_RANGE[1] * worst))


def build_model(problem: Problem, stops: Sequence[Stop], *, soft_required: bool = False) -> _Model:
    """Translate ``problem`` (restricted to ``stops``) into PyVRP data.

    ``soft_required`` makes required stops optional with a prize above any plan's cost
    (the fallback when no plan serves them all).
    """
    b = _Builder(problem, stops, soft_required=soft_required)
    dims = _dims(b)
    # Depots first (PyVRP numbering), then clients; vehicle types create depots lazily.
    types_raw = [(g, b.vehicle_type(g, 0, dims)) for g in b.groups]
    n_depots = len(b.depots)
    rows = np.array(
        [node.row for node in b.depot_nodes] + [s.location for s in b.stops], dtype=np.int64
    )
    plain, dur = _matrices(b, rows)
    profile_of, dists, durs = _profiles(b, plain, dur, n_depots)
    vehicle_types = [vt.replace(profile=profile_of[i]) for i, (_, vt) in enumerate(types_raw)]
    clients = [b.client(s, dims, n_depots + i) for i, s in enumerate(b.stops)]
    locations = [Location(x=0.0, y=0.0) for _ in range(len(rows))]
    data = ProblemData(locations, clients, b.depots, vehicle_types, _ints(dists), _ints(durs))
    plain_types = [vt.replace(profile=0) for vt in vehicle_types]
    plain_data = ProblemData(
        locations, clients, b.depots, plain_types, _ints([plain]), _ints([dur])
    )
    scale = _penalty_scale(b, vehicle_types)
    return _Model(
        data, plain_data, b.depot_nodes, b.stops, b.groups, b.via_sites, penalty_scale=scale
    )


# --------------------------------------------------------------------------- solving


def _warm_solution(model: _Model, warm_start: Mapping[str, Sequence[str]]) -> Solution | None:
    """A PyVRP solution from routes given as stop/site refs per vehicle ref (None if unusable).

    A trailing disposal is dropped where the model's end depot already includes it.
    """
    data = model.data
    client_of = {s.ref: i for i, s in enumerate(model.stops)}
    site_idx = {n.ref: k for k, n in enumerate(model.depots) if n.kind == "site"}
    routes = []
    for t_idx, group in enumerate(model.groups):
        vt = data.vehicle_type(t_idx)
        via = model.depots[vt.end_depot].kind == "via"
        for v in group:
            refs = list(warm_start.get(v.ref, ()))
            while via and refs and refs[-1] in site_idx and refs[-1] not in client_of:
                refs.pop()
            acts = []
            for ref in refs:
                if ref in client_of:
                    acts.append(Activity(ActivityType.CLIENT, client_of[ref]))
                elif ref in site_idx and site_idx[ref] in vt.reload_depots:
                    acts.append(Activity(ActivityType.DEPOT, site_idx[ref]))
                else:
                    return None
            if any(a.is_client() for a in acts):
                routes.append(PyvrpRoute(data, acts, t_idx))
    try:
        return Solution(data, routes)
    except (RuntimeError, ValueError, IndexError):
        return None


class _GiveUp(IteratedLocalSearchCallbacks):
    """Stopping rule (and callbacks) of a search: at ``end``, or at ``give_up`` while it has
    no feasible solution (``time.perf_counter()`` seconds). A best solution once feasible
    stays so: PyVRP ranks every infeasible one above it."""

    def __init__(self, initial: Solution, give_up: float, end: float) -> None:
        self.feasible = initial.is_feasible()
        self.give_up, self.end = give_up, end

    def on_best(self, best: Solution) -> None:
        self.feasible = best.is_feasible()

    def __call__(self, best_cost: float) -> bool:
        now = time.perf_counter()
        return now >= self.end or (now >= self.give_up and not self.feasible)


def _ils(
    data: ProblemData,
    neighbours: dict[Activity, list[Activity]],
    deadline: float,
    seed: int,
    initial: Solution | None = None,
    *,
    first_feasible: bool = False,
    penalty_scale: float = 1.0,
    give_up: float | None = None,
) -> Solution:
    """PyVRP's iterated local search until ``deadline`` (``time.perf_counter()`` seconds).

    ``neighbours``: :func:`_neighbours` of the model. Without ``initial`` the search starts
    from a random solution improved by local search (that first descent is not
    interruptible). ``first_feasible`` stops at the first feasible solution; ``give_up``
    (seconds as ``deadline``) at that time when none is feasible yet.
    """
    rng = RandomNumberGenerator(seed=seed)
    ls = LocalSearch(data, rng, neighbours, PerturbationManager(PerturbationParams()))
    for op in OPERATORS:
        if op.supports(data):
            ls.add_operator(op(data))
    penalty = PenaltyParams(
        min_penalty=PENALTY_RANGE[0] * penalty_scale, max_penalty=PENALTY_RANGE[1] * penalty_scale
    )
    pm = PenaltyManager(penalty.midpoint_penalties(data), penalty)
    init = initial
    if init is None:
        init = ls(Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    end = max(deadline, time.perf_counter() + MIN_SEARCH_S)
    rule = _GiveUp(init, end if give_up is None else give_up, end)
    algo = IteratedLocalSearch(data, pm, ls, init, IteratedLocalSearchParams(callbacks=rule))
    stop: StoppingCriterion = MultipleCriteria([FirstFeasible(), rule]) if first_feasible else rule
    return algo.run(stop, collect_stats=False).best


def _cost(data: ProblemData, sol: Solution) -> int:
    return int(CostEvaluator([0] * data.num_load_dimensions, 0, 0).cost(sol))


def _routes_on(data: ProblemData, sol: Solution, drop: int | None = None) -> Solution:
    """``sol``'s routes on ``data`` (the same clients, depots and vehicle types, numbered
    alike), without its route ``drop`` when given (its clients become unplanned)."""
    routes = []
    for k, r in enumerate(sol.routes()):
        if k != drop:
            acts = [Activity(a.type, a.idx) for a in list(r)[1:-1]]
            routes.append(PyvrpRoute(data, acts, r.vehicle_type()))
    return Solution(data, routes)


def _reduce_fleet(
    model: _Model, best: Solution, deadline: float, seed: int
) -> tuple[ProblemData, Solution]:
    """Try to serve everything with one route fewer, while fixed costs make that pay.

    The shortest route whose type has another route is removed (PyVRP needs a truck per
    type), the fleet of its type capped at what is left, and the
    search restarts from the rest until it is feasible again (or ``deadline``,
    ``time.perf_counter()`` seconds). A smaller fleet is kept only when it costs less.
    """
    data = model.data
    while best.num_routes() > 1 and time.perf_counter() < deadline:
        routes = best.routes()
        used = Counter(r.vehicle_type() for r in routes)
        # PyVRP needs at least one truck per type: the only route of a type stays
        droppable = [k for k, r in enumerate(routes) if used[r.vehicle_type()] > 1]
        if not droppable:
            break
        drop = min(droppable, key=lambda k: routes[k].num_clients())
        t_idx = routes[drop].vehicle_type()
        if data.vehicle_type(t_idx).fixed_cost == 0:
            break
        types = [
            vt.replace(num_available=used[t_idx] - 1) if k == t_idx else vt
            for k, vt in enumerate(data.vehicle_types())
        ]
        smaller = data.replace(vehicle_types=types)
        start = _routes_on(smaller, best, drop)
        found = _ils(
            smaller,
            _neighbours(model),
            deadline,
            seed,
            start,
            first_feasible=True,
            penalty_scale=model.penalty_scale,
        )
        if not found.is_feasible() or _cost(smaller, found) >= _cost(data, best):
            break
        data, best = smaller, found
    return data, best


def _search(
    model: _Model,
    seconds: float,
    seed: int,
    initial: Solution | None = None,
    give_up: float | None = None,
) -> Solution:
    """Search, then (with fixed vehicle costs) shrink the fleet, then polish.

    Shares of the budget: :data:`FIRST_SHARE` for the first search, up to
    :data:`FLEET_SHARE` for fleet reduction, the rest to improve the best solution.
    ``give_up`` (``time.perf_counter()`` seconds): stop then when no solution is feasible.
    """
    t0 = time.perf_counter()
    end = t0 + seconds
    fixed = any(vt.fixed_cost > 0 for vt in model.data.vehicle_types())
    optional = any(not c.required for c in model.data.clients())
    scale, near = model.penalty_scale, _neighbours(model)
    if not fixed or optional:
        return _ils(model.data, near, end, seed, initial, penalty_scale=scale, give_up=give_up)
    first = t0 + seconds * FIRST_SHARE
    best = _ils(model.data, near, first, seed, initial, penalty_scale=scale, give_up=give_up)
    if not best.is_feasible():
        return _ils(model.data, near, end, seed + 1, best, penalty_scale=scale, give_up=give_up)
    data, best = _reduce_fleet(model, best, t0 + seconds * (FIRST_SHARE + FLEET_SHARE), seed)
    model.data = data
    return _ils(data, near, end, seed + 1, best, penalty_scale=scale)


def solve_pyvrp(
    problem: Problem,
    params: SolveParams,
    *,
    warm_start: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """Solve ``problem`` with PyVRP within ``params.time_limit_s`` (seed ``params.seed``).

    Parameters
    ----------
    problem : Problem
        The problem (screened here again: unservable stops are listed unserved).
    params : SolveParams
        Time limit (seconds) and seed; the OR-Tools strategy fields are ignored.
    warm_start : mapping of vehicle ref -> refs, optional
        Initial routes (stop and site refs in order, e.g. another engine's plan); ignored
        when they do not fit the model (unknown refs, a site the truck may not use).

    Returns
    -------
    Plan
        Status FEASIBLE with routes, or NO_SOLUTION (every stop unserved) when PyVRP found
        no feasible solution; engine ``"pyvrp"``.
    """
    t0 = time.perf_counter()
    reduced, screened = screen(problem)
    stops = list(reduced.stops)
    notes: list[str] = []
    if not stops:  # no bin to search for; trucks on the road still drive home
        routes = tuple(_idle_route(problem, v) for v in problem.vehicles)
        return Plan(
            status=PlanStatus.FEASIBLE,
            routes=routes,
            unserved=screened,
            solve_time_s=time.perf_counter() - t0,
            engine=ENGINE,
        )
    model = build_model(problem, stops)
    if model.data.num_load_dimensions == 3 and problem.sites:
        notes.append("max_stops is enforced per trip between unloads, not per day")
    initial = _warm_solution(model, warm_start) if warm_start else None
    if warm_start and initial is None:
        notes.append("warm start ignored: it does not fit the PyVRP model")
    if initial is None and _greedy_start(len(stops), params.time_limit_s):
        initial = _warm_solution(model, greedy_routes(reduced))
    reserve = min(0.1 * params.time_limit_s, DECODE_S_PER_STOP * len(stops))
    remaining = params.time_limit_s - (time.perf_counter() - t0) - reserve
    required = any(s.required for s in stops)
    give_up = t0 + GIVE_UP_SHARE * params.time_limit_s if required else None
    best = _search(model, remaining, params.seed, initial, give_up)
    strict = model
    if not best.is_feasible() and required:
        notes.append("no solution serves every required stop; solved again with them optional")
        model = build_model(problem, stops, soft_required=True)
        model.neighbours = strict.neighbours  # the same stops, only their prizes differ
        elapsed = time.perf_counter() - t0
        budget = max(params.time_limit_s - elapsed, FALLBACK_SHARE * params.time_limit_s)
        # from the routes searched so far: a random start's first descent cannot be cut
        # short (2.4 s on 2000 all-must bins, 12 s on 5000)
        best = _search(model, budget - reserve, params.seed + 1, _routes_on(model.data, best))
    if not best.is_feasible():
        unserved = screened + tuple(
            Unserved(
                ref=s.ref,
                reason="PyVRP found no feasible solution within the time limit",
                kind=UnservedKind.NO_SOLUTION,
            )
            for s in stops
        )
        return Plan(
            status=PlanStatus.NO_SOLUTION,
            routes=tuple(_empty_route(v) for v in problem.vehicles),
            unserved=unserved,
            solve_time_s=time.perf_counter() - t0,
            engine=ENGINE,
            notes=(
                *notes,
                f"pyvrp best: time warp {best.time_warp()}, "
                f"excess load {best.excess_load()}, excess distance {best.excess_distance()}",
            ),
        )
    return _decode(problem, model, best, screened, notes, t0)


# --------------------------------------------------------------------------- decoding


@dataclass(frozen=True, slots=True)
class _Step:
    """A visit to schedule: what, where, how long, and its start window."""

    kind: VisitKind
    ref: str
    location: int
    service_s: int
    window: tuple[int, int]
    volume_l: int = 0
    weight_kg: int = 0


def _empty_route(v: VehicleSpec) -> Route:
    """Truck ``v`` staying where it starts, with what it carries and has collected today."""
    t = v.ready_s if v.ready_s is not None else v.shift_s[0]
    loads = {
        "volume_l": v.initial_volume_l,
        "weight_kg": v.initial_weight_kg,
        "daily_l": v.initial_daily_l,
        "daily_kg": v.initial_daily_kg,
    }
    visits = tuple(
        Visit(kind=kind, ref=v.ref, location=at, arrival_s=t, start_s=t, end_s=t, **loads)
        for kind, at in ((VisitKind.START, v.start), (VisitKind.END, v.end))
    )
    return Route(vehicle_ref=v.ref, visits=visits, distance_m=0, duration_s=0, cost=0)


def _timed_route(v: VehicleSpec, timed: _Timed) -> Route:
    """The plan's route of a timed schedule, costed as :func:`optimiser.costs.route_cost`."""
    duration = timed.end_s - timed.visits[0].start_s
    used = any(x.kind in (VisitKind.BIN, VisitKind.DISPOSAL) for x in timed.visits)
    return Route(
        vehicle_ref=v.ref,
        visits=tuple(timed.visits),
        distance_m=timed.distance_m,
        duration_s=duration,
        cost=route_cost(v, distance_m=timed.distance_m, duration_s=duration, used=used),
    )


def _idle_route(problem: Problem, v: VehicleSpec) -> Route:
    """The route of a truck the search gave no stop (PyVRP leaves it out of the solution).

    A truck waiting empty at its end depot stays there. Otherwise (rerouting: a truck on
    the road, or one carrying waste) it drives to its end depot when it is ready, unloading
    at the best usable site first when it carries waste and ``return_empty`` holds.
    """
    sites = list(usable_sites(problem, v))
    unload = v.starts_loaded and needs_disposal(problem, v)
    if v.start == v.end and not unload:
        return _empty_route(v)
    open_window = (0, OPEN_T)
    steps = [_Step(VisitKind.START, v.ref, v.start, 0, open_window)]
    if unload and sites:  # without a usable site the checker reports the load left on board
        steps.append(_Step(VisitKind.DISPOSAL, "", -1, 0, open_window))  # site chosen on time
    steps.append(_Step(VisitKind.END, v.ref, v.end, 0, open_window))
    depart = v.ready_s if v.ready_s is not None else v.shift_s[0]
    return _timed_route(v, _schedule(problem, v, steps, depart, sites))


def _final_site(problem: Problem, sites: Sequence[Site], v: VehicleSpec, last: int, t: int) -> Site:
    """The site giving the cheapest open ``last -> site -> end`` leg when leaving at ``t``."""
    dist, dur = problem.matrix.distance_m, problem.matrix.duration_s
    c_d, c_t = _unit_costs(v)

    def key(s: Site) -> tuple[bool, int]:
        arrive = t + int(dur[last, s.location])
        late = arrive > s.window_s[1]
        leg_d = int(dist[last, s.location] + dist[s.location, v.end])
        leg_t = max(arrive, s.window_s[0]) - t + s.unload_s + int(dur[s.location, v.end])
        return late, c_d * leg_d + c_t * leg_t

    return min(sites, key=key)


def _steps(problem: Problem, model: _Model, route: PyvrpRoute, v: VehicleSpec) -> list[_Step]:
    """The START ... END steps of a PyVRP route (sites expanded)."""
    open_window = (0, OPEN_T)
    steps = [_Step(VisitKind.START, v.ref, v.start, 0, open_window)]
    for act in route:
        idx = act.idx
        if act.is_depot():
            node = model.depots[idx]
            if node.kind == "site":
                site = problem.site(node.ref)
                steps.append(
                    _Step(VisitKind.DISPOSAL, site.ref, site.location, site.unload_s, site.window_s)
                )
            continue
        s = model.stops[idx]
        steps.append(
            _Step(
                VisitKind.BIN,
                s.ref,
                s.location,
                s.service_s,
                s.window_s or open_window,
                s.volume_l,
                s.weight_kg,
            )
        )
    # drop a trailing unload followed by nothing (re-chosen below) and leading reloads
    end_node = model.depots[route.end_depot()]
    if end_node.kind == "via":
        while steps[-1].kind is VisitKind.DISPOSAL:
            steps.pop()
        steps.append(_Step(VisitKind.DISPOSAL, "", -1, 0, open_window))  # placeholder
    steps.append(_Step(VisitKind.END, v.ref, v.end, 0, open_window))
    return steps


@dataclass(slots=True)
class _Timed:
    visits: list[Visit]
    lateness: int
    end_s: int
    distance_m: int


def _simulate(
    problem: Problem,
    v: VehicleSpec,
    steps: Sequence[_Step],
    depart: int,
    brk_after: int | None,
    sites: Sequence[Site],
) -> _Timed:
    """Earliest-start schedule of ``steps`` with the break after step ``brk_after``."""
    dist, dur = problem.matrix.distance_m, problem.matrix.duration_s
    vol, wt = v.initial_volume_l, v.initial_weight_kg
    day_l, day_kg = v.initial_daily_l, v.initial_daily_kg
    t = depart
    loc = steps[0].location
    visits = [
        Visit(
            kind=VisitKind.START,
            ref=v.ref,
            location=loc,
            arrival_s=t,
            start_s=t,
            end_s=t,
            volume_l=vol,
            weight_kg=wt,
            daily_l=day_l,
            daily_kg=day_kg,
        )
    ]
    lateness = 0
    meters = 0
    for k, step in enumerate(steps[1:], start=1):
        if brk_after is not None and k - 1 == brk_after and v.break_window_s is not None:
            b_start = max(t, v.break_window_s[0])
            lateness += max(0, b_start - v.break_window_s[1])
            visits.append(
                Visit(
                    kind=VisitKind.BREAK,
                    ref=v.ref,
                    location=None,
                    arrival_s=t,
                    start_s=b_start,
                    end_s=b_start + v.break_s,
                    volume_l=vol,
                    weight_kg=wt,
                    daily_l=day_l,
                    daily_kg=day_kg,
                )
            )
            t = b_start + v.break_s
        if step.kind is VisitKind.DISPOSAL and step.location < 0:
            site = _final_site(problem, sites, v, loc, t)
            step = _Step(VisitKind.DISPOSAL, site.ref, site.location, site.unload_s, site.window_s)
        arrive = t + int(dur[loc, step.location])
        meters += int(dist[loc, step.location])
        begin = max(arrive, step.window[0])
        lateness += max(0, begin - step.window[1])
        t = begin + step.service_s
        if step.kind is VisitKind.BIN:
            vol, wt = vol + step.volume_l, wt + step.weight_kg
            day_l, day_kg = day_l + step.volume_l, day_kg + step.weight_kg
        elif step.kind is VisitKind.DISPOSAL:
            vol, wt = 0, 0
        visits.append(
            Visit(
                kind=step.kind,
                ref=step.ref,
                location=step.location,
                arrival_s=arrive,
                start_s=begin,
                end_s=t,
                volume_l=vol,
                weight_kg=wt,
                daily_l=day_l,
                daily_kg=day_kg,
            )
        )
        loc = step.location
    lateness += max(0, t - v.shift_s[1])
    return _Timed(visits, lateness, t, meters)


def _break_optional(v: VehicleSpec, timed: _Timed) -> bool:
    """Whether the route, timed without a break, fits wholly before or after one."""
    assert v.break_window_s is not None
    lo, hi = v.break_window_s
    start = day_start(v, timed.visits[0].start_s)
    return timed.lateness == 0 and (timed.end_s <= hi or start >= lo + v.break_s)


def _schedule(
    problem: Problem, v: VehicleSpec, steps: Sequence[_Step], depart: int, sites: Sequence[Site]
) -> _Timed:
    """The best schedule: none if the route fits before or after the break window, else
    the break in the gap giving no lateness and the earliest end."""
    plain = _simulate(problem, v, steps, depart, None, sites)
    if not _break_due(v) or _break_optional(v, plain):
        return plain
    best: _Timed | None = None
    for gap in range(len(steps) - 1):
        timed = _simulate(problem, v, steps, depart, gap, sites)
        if best is None or (timed.lateness, timed.end_s) < (best.lateness, best.end_s):
            best = timed
    assert best is not None
    return best


def _dropped(stop: Stop) -> Unserved:
    """``stop``, left out by the search, unserved: a required one fits in no route (the
    reason explained later, ``optimiser.explain``), an optional one does not pay."""
    if stop.required:
        return Unserved(ref=stop.ref, reason=UNFIT, kind=UnservedKind.COULD_NOT_FIT)
    why = f"optional; its prize {from_cents(stop.prize):.2f} is below the cost to serve it"
    return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.OPTIONAL)


def _decode(
    problem: Problem,
    model: _Model,
    best: Solution,
    screened: tuple[Unserved, ...],
    notes: list[str],
    t0: float,
) -> Plan:
    by_type: dict[int, list[PyvrpRoute]] = {}
    for r in best.routes():
        by_type.setdefault(r.vehicle_type(), []).append(r)
    routes: dict[str, Route] = {}
    lateness = 0
    for t_idx, group in enumerate(model.groups):
        for v, r in zip(group, by_type.get(t_idx, []), strict=False):
            sites = model.via_sites.get(r.end_depot(), [])
            steps = _steps(problem, model, r, v)
            timed = _schedule(problem, v, steps, int(r.start_time()), sites)
            lateness += timed.lateness
            routes[v.ref] = _timed_route(v, timed)
    all_routes = tuple(routes.get(v.ref) or _idle_route(problem, v) for v in problem.vehicles)
    served = {ref for r in all_routes for ref in r.bin_refs}
    dropped = tuple(_dropped(s) for s in model.stops if s.ref not in served)
    if lateness:
        notes.append(f"break placement left {lateness} s of lateness; see check()")
    objective = sum(r.cost for r in all_routes) + sum(problem.stop(u.ref).prize for u in dropped)
    return Plan(
        status=PlanStatus.FEASIBLE,
        routes=all_routes,
        unserved=screened + dropped,
        objective=objective,
        solve_time_s=time.perf_counter() - t0,
        engine=ENGINE,
        notes=tuple(notes),
    )
