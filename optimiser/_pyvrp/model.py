"""Translate a Problem into ``pyvrp.ProblemData``: locations, reload depots, clients,
vehicle types and one distance/duration profile per set of stops a truck group may not take
(see :mod:`optimiser._pyvrp`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pyvrp import (
    Activity,
    Client,
    Depot,
    Location,
    ProblemData,
    VehicleType,
)
from pyvrp.search import (
    NeighbourhoodParams,
    compute_neighbours,
)

from optimiser._pyvrp.terms import (
    COST_SCALE,
    FORBID_D,
    FORBID_T,
    OPEN_T,
    OVERFLOW_GUARD,
    PENALTY_RANGE,
    STOP_UNIT,
    _amount_unit,
    _big_prize,
    _break_due,
    _break_shape,
    _cost_unit,
    _daily_limit,
    _daily_resource,
    _fold_cost,
    _group_vehicles,
    _model_window,
    _stop_amount,
    _stops_bind,
    _unit_costs,
    _via_leg,
)
from optimiser.problem import Problem, Site, Stop, VehicleSpec, drop_weight, takes
from optimiser.screen import needs_disposal, usable_sites


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
                self.resource = None  # left to the checker, as the package docstring says
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
