"""OR-Tools routing engine: the ONLY module importing ortools.

Model
-----
Nodes are, in order: one start node and one end node per vehicle, one node per stop, then
``K`` optional copies of each disposal site (intermediate facilities: a truck may visit
several). Each node maps to a matrix row through ``_Nodes.loc``. All data goes in as
matrices or vectors (``RegisterTransitMatrix`` / ``RegisterUnaryTransitVector``), never as
per-arc Python callbacks.

* Costs: objective units are 1/3600 of a cost unit. An arc costs
  ``cost_per_km * km + cost_per_hour * (travel + service at the from-node) hours`` in its
  vehicle's cost class, and the time dimension's slack (waiting, and the break) costs
  ``cost_per_hour`` too: the search costs a route's span, as the reported route cost
  (``optimiser.costs.route_cost``) does. Counting driving and service only, it waited 3.5 h
  for an optional bin worth far less; on 60 random small problems (1 s) the sum of
  objectives fell 12 %. The finalizer starts trucks as late as possible.
* Volume and weight: "reload" dimensions. A site copy has demand ``-max capacity`` and may
  use slack up to that, so the load can drop to anything >= 0 there; every other node has
  slack 0. With ``return_empty`` the load at each vehicle end is fixed to 0, forcing a final
  disposal trip. The start cumul is the truck's initial load (rerouting).
* Daily limits: cumulative volume/weight dimensions without reset; max stops: a count
  dimension over stop nodes.
* Time: transit = travel + service/unload at the from-node, slack for waiting; windows of
  stops and site copies, a soft upper bound at a stop's response target (``due_s``, cost
  ``LATE_PER_S`` a second late; none on a stop the start leaves out), shift bounds at
  start/end, a break interval per vehicle (``SetBreakIntervalsOfVehicle`` with the node
  visit times; when rerouting, optional and performed whenever the rest of the route spans
  the break window, the checker's rule).
* Streams: ``SetAllowedVehiclesForIndex`` for stops (trucks taking the stream) and site
  copies (trucks whose every stream the site takes).
* Optional stops: ``AddDisjunction([i], prize)``; required stops have none, unless the solve
  with them all required fails: then they get a huge penalty and the dropped ones are
  reported unserved.

Search: the start is the warm start (rerouting) or ``optimiser.greedy.greedy_routes``
(nearest-neighbour routes, feasible by construction and verified by the checker), read with
``ReadAssignmentFromRoutes`` within half the time left or a second (it searches the start's
times with no limit of its own); required stops it could not place get the huge drop penalty.
OR-Tools' own first-solution strategies (``SolveParams.first_solutions``, a short share of
the budget each, greedy descent) are also tried on problems of up to ``STRATEGY_MAX_STOPS``
stops: on larger ones with site copies they rarely find anything (measured: none of
PATH_CHEAPEST_ARC, PARALLEL/SEQUENTIAL/LOCAL_CHEAPEST_INSERTION, SAVINGS within 60 s at
1000 bins). The cheapest start is improved by the configured metaheuristic for the rest of
the time limit (``SolveFromAssignmentWithParameters``) and the result kept only when
strictly cheaper, so a warm start is not changed for nothing.

Known limit (OR-Tools 9.15): with driver-break intervals on ~2000-stop models,
``SolveFromAssignmentWithParameters`` fails at once (ROUTING_FAIL) from a start that
``ReadAssignmentFromRoutes`` accepts; the plan is then the (valid) start itself. Without
breaks, or at 1000 stops, the local search runs normally.

OR-Tools routing search has no random choices: for a given model and parameters it is
deterministic, up to how much search fits in the time limit.

Memory (OR-Tools 9.15): the driver-break constraint copies the time dimension's transit
evaluator, and with it the whole time matrix (``8 * nodes**2`` bytes, about 41 MB at 2 262
nodes), each time it propagates a vehicle. glibc returns the freed copy to the system and
the next copy faults it in again: a reroute of 5 000 bins (2 262 nodes, 50 trucks) took 6 s
instead of 1.7 s in a process that had not solved a big model before (the service after a
start), and a 20 s search of the whole day 39 s. :func:`_keep_heap` asks glibc to keep
that much free memory on its heaps (``mallopt(M_TOP_PAD)``).
"""

from __future__ import annotations

import ctypes
import math
import platform
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimiser.build import from_cents
from optimiser.costs import LATE_COST_PER_H, route_cost
from optimiser.explain import UNFIT
from optimiser.greedy import greedy_routes
from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus, Route, Unserved, UnservedKind, Visit, VisitKind
from optimiser.problem import Problem, Stop, VehicleSpec, drop_weight, takes
from optimiser.screen import needs_disposal, usable_sites

SCALE = 3600  # objective units per cost unit
SOFT_REQUIRED_PENALTY = 10**13  # objective units for dropping a required stop (fallback)
LATE_PER_S = LATE_COST_PER_H * SCALE // 3600  # objective units per second after ``due_s``
MAX_SITE_COPIES = 400
STRATEGY_MAX_STOPS = 300  # above this OR-Tools' first-solution strategies rarely succeed
READ_SHARE = 0.5  # of the time left for reading the starts (``_Model._limit_reads``)...
READ_MIN_S = 1.0  # ...or this, per start, when more: a start of 2000 bins reads in 0.1-0.2 s
M_TOP_PAD = -2  # glibc mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's own ceiling for its moving threshold (64-bit)
HEAP_PAD_MAX_BYTES = 2**30


class _Heap:
    """The heap pad asked of glibc so far (bytes; 0: none), and its ``mallopt``."""

    lock = threading.Lock()
    pad_bytes = 0
    mallopt: Any = None


def _glibc_mallopt() -> Any:
    """glibc's ``mallopt`` (None elsewhere: musl, macOS, Windows)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None


def heap_pad_bytes(n_nodes: int) -> int:
    """Free heap memory to keep for a model of ``n_nodes`` nodes: two copies of its time
    matrix (int64, with each row's vector header), at most ``HEAP_PAD_MAX_BYTES``."""
    return min(2 * n_nodes * (8 * n_nodes + 32), HEAP_PAD_MAX_BYTES)


def _keep_heap(n_nodes: int) -> None:
    """Have glibc keep enough free heap memory for the time matrix copies of a model of
    ``n_nodes`` nodes (see the module's "Memory" note), instead of returning it to the
    system after each copy and faulting it in again. The pad only grows (it is process
    wide); the allocations glibc serves from the heap stay those below its usual 32 MB
    ceiling (``M_TOP_PAD`` stops that threshold from moving by itself)."""
    want = heap_pad_bytes(n_nodes)
    with _Heap.lock:
        if want <= _Heap.pad_bytes:
            return
        if _Heap.mallopt is None:
            _Heap.mallopt = _glibc_mallopt() or False
        if _Heap.mallopt and _Heap.mallopt(M_TOP_PAD, want) == 1:
            _Heap.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        _Heap.pad_bytes = want


@dataclass(slots=True)
class _Nodes:
    """Per-node data (node = OR-Tools manager node)."""

    loc: np.ndarray
    service: np.ndarray
    volume: np.ndarray
    weight: np.ndarray
    is_site: np.ndarray
    is_stop: np.ndarray
    refs: list[str]
    stop_node: dict[str, int] = field(default_factory=dict)
    site_nodes: dict[str, list[int]] = field(default_factory=dict)


def _site_copies(problem: Problem, used: Mapping[str, int]) -> dict[str, int]:
    """Visits of each site a plan may need: the reload trips of full trucks plus a final
    trip per truck, and at least the visits of the start routes (``used``) plus one per truck.
    """
    if not problem.sites:
        return {}
    n_v = len(problem.vehicles)
    vol = sum(s.volume_l for s in problem.stops) + sum(v.initial_volume_l for v in problem.vehicles)
    wt = sum(s.weight_kg for s in problem.stops) + sum(
        v.initial_weight_kg for v in problem.vehicles
    )
    cap_l = min(v.capacity_l for v in problem.vehicles)
    cap_kg = min(v.capacity_kg for v in problem.vehicles)
    trips = max(math.ceil(vol / cap_l), math.ceil(wt / cap_kg))
    base = min(trips + 2 * n_v + 1, len(problem.stops) + 2 * n_v + 1, MAX_SITE_COPIES)
    return {s.ref: max(base, used.get(s.ref, 0) + n_v + 1) for s in problem.sites}


def _layout(problem: Problem, used_sites: Mapping[str, int]) -> _Nodes:
    vs, n_v = problem.vehicles, len(problem.vehicles)
    copies = _site_copies(problem, used_sites)
    refs = [v.ref for v in vs] + [v.ref for v in vs] + [s.ref for s in problem.stops]
    loc = [v.start for v in vs] + [v.end for v in vs] + [s.location for s in problem.stops]
    service = [0] * (2 * n_v) + [s.service_s for s in problem.stops]
    volume = [0] * (2 * n_v) + [s.volume_l for s in problem.stops]
    weight = [0] * (2 * n_v) + [s.weight_kg for s in problem.stops]
    nodes = _Nodes(
        loc=np.empty(0),
        service=np.empty(0),
        volume=np.empty(0),
        weight=np.empty(0),
        is_site=np.empty(0),
        is_stop=np.empty(0),
        refs=refs,
    )
    nodes.stop_node = {s.ref: 2 * n_v + i for i, s in enumerate(problem.stops)}
    for site in problem.sites:
        k = copies[site.ref]
        nodes.site_nodes[site.ref] = list(range(len(refs), len(refs) + k))
        refs.extend([site.ref] * k)
        loc.extend([site.location] * k)
        service.extend([site.unload_s] * k)
    n_sites = len(refs) - len(volume)
    volume.extend([0] * n_sites)
    weight.extend([0] * n_sites)
    nodes.loc = np.array(loc, dtype=np.int64)
    nodes.service = np.array(service, dtype=np.int64)
    nodes.volume = np.array(volume, dtype=np.int64)
    nodes.weight = np.array(weight, dtype=np.int64)
    nodes.is_site = np.zeros(len(refs), dtype=bool)
    nodes.is_site[len(refs) - n_sites :] = True
    nodes.is_stop = np.zeros(len(refs), dtype=bool)
    nodes.is_stop[2 * n_v : 2 * n_v + len(problem.stops)] = True
    return nodes


def _search_params(
    params: SolveParams, strategy: str, metaheuristic: str, seconds: float, nodes: int
) -> Any:
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, strategy)
    sp.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic
    )
    sp.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
    # The LNS limit also bounds restoring a start and finalizing a solution (cumuls, breaks):
    # the 100 ms default makes SolveFromAssignment fail outright on ~1000+ stop models.
    sp.lns_time_limit.FromMilliseconds(max(100, min(int(seconds * 1000), nodes)))
    sp.log_search = params.log_search
    return sp


class _Model:
    """One OR-Tools routing model of a problem (closed on first solve, so built per attempt)."""

    def __init__(
        self,
        problem: Problem,
        *,
        soft: frozenset[str],
        start_routes: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.problem = problem
        self.soft = soft
        used = Counter(r for refs in (start_routes or {}).values() for r in refs)
        self.nodes = _layout(problem, used)
        n_v = len(problem.vehicles)
        self.n_nodes = len(self.nodes.refs)
        _keep_heap(self.n_nodes)
        self.manager = pywrapcp.RoutingIndexManager(
            self.n_nodes, n_v, list(range(n_v)), list(range(n_v, 2 * n_v))
        )
        self.routing = pywrapcp.RoutingModel(self.manager)
        self.breaks: dict[int, Any] = {}
        # node -> routing index (starts/ends have their own indices)
        self.index = np.array(
            [self.manager.NodeToIndex(n) for n in range(self.n_nodes)], dtype=np.int64
        )
        for v in range(n_v):
            self.index[v] = self.routing.Start(v)
            self.index[n_v + v] = self.routing.End(v)
        self._costs()
        self._loads()
        self._limits()
        self._time()
        self._allowed_and_optional()

    # -- matrices --------------------------------------------------------------------------
    def _pair(self, matrix: np.ndarray) -> np.ndarray:
        loc = self.nodes.loc
        pair: np.ndarray = matrix[np.ix_(loc, loc)]
        return pair

    def _costs(self) -> None:
        dist = self._pair(self.problem.matrix.distance_m)
        work = self._pair(self.problem.matrix.duration_s) + self.nodes.service[:, None]
        self.time_matrix = work
        classes: dict[tuple[int, int], int] = {}
        for v, spec in enumerate(self.problem.vehicles):
            key = (spec.cost_per_km, spec.cost_per_hour)
            if key not in classes:
                arc = (spec.cost_per_km * dist * 36 + 5) // 10 + spec.cost_per_hour * work
                classes[key] = self.routing.RegisterTransitMatrix(arc.tolist())
            self.routing.SetArcCostEvaluatorOfVehicle(classes[key], v)
            self.routing.SetFixedCostOfVehicle(spec.fixed_cost * SCALE, v)

    # -- volume and weight -------------------------------------------------------------------
    def _load_dimension(
        self, name: str, demand: np.ndarray, caps: list[int], init: list[int]
    ) -> None:
        routing, reset = self.routing, bool(self.problem.sites)
        big = max(caps)
        vector = np.where(self.nodes.is_site, -big, demand) if reset else demand
        cb = routing.RegisterUnaryTransitVector(vector.tolist())
        routing.AddDimensionWithVehicleCapacity(cb, big if reset else 0, caps, False, name)
        dim = routing.GetDimensionOrDie(name)
        if reset:
            for i in range(routing.Size()):
                if not self.nodes.is_site[self.manager.IndexToNode(i)]:
                    dim.SlackVar(i).SetValue(0)
        for v, spec in enumerate(self.problem.vehicles):
            dim.CumulVar(routing.Start(v)).SetValue(init[v])
            if needs_disposal(self.problem, spec):
                dim.CumulVar(routing.End(v)).SetValue(0)

    def _loads(self) -> None:
        vs = self.problem.vehicles
        self._load_dimension(
            "Volume",
            self.nodes.volume,
            [v.capacity_l for v in vs],
            [v.initial_volume_l for v in vs],
        )
        self._load_dimension(
            "Weight",
            self.nodes.weight,
            [v.capacity_kg for v in vs],
            [v.initial_weight_kg for v in vs],
        )

    def _counter(self, name: str, vector: np.ndarray, caps: list[int], init: list[int]) -> None:
        cb = self.routing.RegisterUnaryTransitVector(vector.tolist())
        self.routing.AddDimensionWithVehicleCapacity(cb, 0, caps, False, name)
        dim = self.routing.GetDimensionOrDie(name)
        for v in range(len(caps)):
            # a truck already past its daily limit (a measured total, when rerouting) takes
            # nothing more; beyond the dimension's capacity OR-Tools fails building the model
            dim.CumulVar(self.routing.Start(v)).SetValue(min(init[v], caps[v]))

    def _limits(self) -> None:
        vs = self.problem.vehicles
        total_l = int(self.nodes.volume.sum()) + max(v.initial_daily_l for v in vs) + 1
        total_kg = int(self.nodes.weight.sum()) + max(v.initial_daily_kg for v in vs) + 1
        if any(v.max_daily_l is not None for v in vs):
            caps = [v.max_daily_l if v.max_daily_l is not None else total_l for v in vs]
            self._counter("DailyVolume", self.nodes.volume, caps, [v.initial_daily_l for v in vs])
        if any(v.max_daily_kg is not None for v in vs):
            caps = [v.max_daily_kg if v.max_daily_kg is not None else total_kg for v in vs]
            self._counter("DailyWeight", self.nodes.weight, caps, [v.initial_daily_kg for v in vs])
        if any(v.max_stops is not None for v in vs):
            n = len(self.problem.stops) + 1
            caps = [v.max_stops if v.max_stops is not None else n for v in vs]
            self._counter("Stops", self.nodes.is_stop.astype(np.int64), caps, [0] * len(vs))

    # -- time ----------------------------------------------------------------------------------
    def _time(self) -> None:
        routing, problem = self.routing, self.problem
        horizon = max(v.shift_s[1] for v in problem.vehicles) + 1
        cb = routing.RegisterTransitMatrix(self.time_matrix.tolist())
        routing.AddDimension(cb, horizon, horizon, False, "Time")
        dim = routing.GetDimensionOrDie("Time")
        self.time_dim = dim
        for stop in problem.stops:
            index = int(self.index[self.nodes.stop_node[stop.ref]])
            if stop.window_s is not None:
                dim.CumulVar(index).SetRange(*stop.window_s)
            # a response target: each second later costs; not on a stop the start leaves
            # out: when not every such stop fits, the search drops those that cost most
            # served, and the lateness made it drop the alert's bin (optimiser.greedy
            # placed the bin by its target wherever it could)
            if stop.due_s is not None and stop.ref not in self.soft:
                dim.SetCumulVarSoftUpperBound(index, stop.due_s, LATE_PER_S)
        for site in problem.sites:
            for node in self.nodes.site_nodes[site.ref]:
                dim.CumulVar(int(self.index[node])).SetRange(*site.window_s)
        visit = self.nodes.service[[self.manager.IndexToNode(i) for i in range(routing.Size())]]
        for v, spec in enumerate(problem.vehicles):
            self._vehicle_time(v, spec, visit.tolist())

    def _vehicle_time(self, v: int, spec: VehicleSpec, visit: list[int]) -> None:
        routing, dim = self.routing, self.time_dim
        lo, hi = spec.shift_s
        ready = max(lo, spec.ready_s) if spec.ready_s is not None else lo
        # the break before the cumul variables, as the search was tuned with (taken after
        # them, the same model searched differently: Kim 804 at 10 s, 887.5 against 870.1 mi)
        if spec.break_s > 0 and not spec.break_taken and spec.break_window_s is not None:
            blo, bhi = spec.break_window_s
            if spec.ready_s is None:
                self.breaks[v] = self._break_interval(v, spec, (blo, bhi), visit)
            elif ready <= bhi:  # rerouting: a break not taken yet is not in the past either
                self.breaks[v] = self._break_interval(v, spec, (max(blo, ready), bhi), visit)
        if spec.cost_per_hour:  # waiting (and the break) cost as driving does
            dim.SetSlackCostCoefficientForVehicle(spec.cost_per_hour, v)
        start, end = dim.CumulVar(routing.Start(v)), dim.CumulVar(routing.End(v))
        end.SetRange(lo, hi)
        routing.AddVariableMinimizedByFinalizer(end)  # finish early, then leave late
        if spec.ready_s is not None:  # on the road (rerouting): the route goes on from now
            start.SetValue(min(ready, hi))
        else:
            start.SetRange(lo, hi)
            routing.AddVariableMaximizedByFinalizer(start)

    def _break_interval(
        self,
        v: int,
        spec: VehicleSpec,
        window: tuple[int, int],
        visit: list[int],
    ) -> Any:
        """The driver's break interval; for a truck already on the road (rerouting), optional
        but taken whenever the rest of its route spans the window.

        As ``optimiser.check``: a route may skip the break only if it ends by the window's
        end or starts after a break that begins at the window's start would be over (a truck
        out since ``departed_s`` counts its day from then). When rerouting, ``window`` starts
        no earlier than the truck's ``ready_s``: OR-Tools may otherwise place a break before
        a route's start, i.e. in the past. A mandatory interval made a truck rerouted at the
        window's start break at once, though its rest of the day ended before the window
        did. Day plans keep the mandatory
        interval: OR-Tools can still leave it after a route's end there, and the optional one
        searched worse on Kim 804 (888.0 against 870.1 mi at 10 s, plain OR-Tools).
        """
        routing, solver = self.routing, self.routing.solver()
        blo, bhi = window
        optional = spec.ready_s is not None
        brk = solver.FixedDurationIntervalVar(blo, bhi, spec.break_s, optional, f"break {spec.ref}")
        self.time_dim.SetBreakIntervalsOfVehicle([brk], v, visit)
        if optional:
            start, end = (
                self.time_dim.CumulVar(routing.Start(v)),
                self.time_dim.CumulVar(routing.End(v)),
            )
            assert spec.break_window_s is not None  # an interval is made only with a window
            over = spec.break_window_s[0] + spec.break_s  # skippable once it starts after this
            late = solver.IsGreaterCstVar(end, bhi)
            if spec.departed_s is None or spec.departed_s >= over:
                late = late * solver.IsLessCstVar(start, over)
            solver.Add(brk.PerformedExpr() >= late)
        routing.AddIntervalToAssignment(brk)
        routing.AddVariableMinimizedByFinalizer(brk.StartExpr().Var())
        return brk

    # -- streams and optional stops --------------------------------------------------------------
    def _allowed_and_optional(self) -> None:
        problem, routing = self.problem, self.routing
        for stop in problem.stops:
            index = int(self.index[self.nodes.stop_node[stop.ref]])
            allowed = [v for v, spec in enumerate(problem.vehicles) if takes(spec, stop)]
            self._allow(allowed, index)
            if not stop.required:
                routing.AddDisjunction([index], stop.prize * SCALE)
            elif stop.ref in self.soft:
                routing.AddDisjunction([index], SOFT_REQUIRED_PENALTY * drop_weight(stop))
        usable = [{s.ref for s in usable_sites(problem, spec)} for spec in problem.vehicles]
        for site in problem.sites:
            allowed = [v for v, refs in enumerate(usable) if site.ref in refs]
            for node in self.nodes.site_nodes[site.ref]:
                index = int(self.index[node])
                self._allow(allowed, index)
                routing.AddDisjunction([index], 0)

    def _allow(self, allowed: list[int], index: int) -> None:
        if len(allowed) < len(self.problem.vehicles):
            self.routing.VehicleVar(index).SetValues([-1, *allowed])

    # -- search ------------------------------------------------------------------------------------
    def routes_to_nodes(self, routes: Mapping[str, Sequence[str]]) -> list[list[int]]:
        """Refs per vehicle (stops and site refs) -> routing indices, distinct site copies."""
        free = {ref: list(nodes) for ref, nodes in self.nodes.site_nodes.items()}
        out: list[list[int]] = []
        for spec in self.problem.vehicles:
            seq: list[int] = []
            for ref in routes.get(spec.ref, ()):
                if ref in self.nodes.stop_node:
                    seq.append(int(self.index[self.nodes.stop_node[ref]]))
                elif free.get(ref):
                    seq.append(int(self.index[free[ref].pop(0)]))
            out.append(seq)
        return out

    def search(
        self, params: SolveParams, deadline: float, starts: list[list[list[int]]]
    ) -> tuple[Any, PlanStatus]:
        """Best assignment found before ``deadline`` (perf_counter seconds) and its status.

        ``starts`` are initial routes (routing indices) tried first; OR-Tools' own
        first-solution strategies follow on small problems. Assignments are copied as they
        come: ``ReadAssignmentFromRoutes`` is only usable before the first solve (it runs
        under the last solve's exhausted limits).
        """
        routing = self.routing
        best: Any = None
        if starts:
            self._limit_reads(params, deadline, len(starts))
        for routes in starts:
            read = routing.ReadAssignmentFromRoutes(routes, True)
            if read is not None and (best is None or read.ObjectiveValue() < best.ObjectiveValue()):
                best = routing.solver().Assignment(read)
        if best is None or len(self.problem.stops) <= STRATEGY_MAX_STOPS:
            best = self._first_solution(params, deadline, best)
        if best is None:
            return None, PlanStatus.NO_SOLUTION
        return self._improve(params, deadline, best)

    def _limit_reads(self, params: SolveParams, deadline: float, reads: int) -> None:
        """Close the model with a time limit per read of ``reads`` starts: ``READ_SHARE`` of
        the time left before ``deadline`` between them, or ``READ_MIN_S`` when more.
        ``ReadAssignmentFromRoutes`` searches the dimensions' values (times, waits, the
        break) under the limit the model was closed with, unbounded by default, and goes on
        lowering the objective after its first solution: on a 9-stop reroute with a break
        window and windows it ran for hours (service fuzz seed 54). Stopped by the limit it
        returns the best found, or nothing when it found none: the floor keeps a reroute
        left 0.1 s of its budget from failing its read of 2000 bins (it did, and the
        fallbacks took 16-26 s, `benchmarks.api_overload`)."""
        left = max(deadline - time.perf_counter(), 0.0)
        seconds = max(left * READ_SHARE / reads, READ_MIN_S)
        sp = _search_params(
            params, params.first_solutions[0], params.metaheuristic, left, self.n_nodes
        )
        sp.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))  # the LNS limit as the search's
        self.routing.CloseModelWithParameters(sp)

    def _first_solution(self, params: SolveParams, deadline: float, best: Any) -> Any:
        routing = self.routing
        share = params.time_limit_s * params.first_solution_share / len(params.first_solutions)
        for strategy in params.first_solutions:
            left = deadline - time.perf_counter()
            if left <= 0 and best is not None:
                break
            sp = _search_params(
                params, strategy, "GREEDY_DESCENT", max(min(share, left), 0.01), self.n_nodes
            )
            sol = routing.SolveWithParameters(sp)
            if sol is not None and (best is None or sol.ObjectiveValue() < best.ObjectiveValue()):
                best = routing.solver().Assignment(sol)
        return best

    def _improve(self, params: SolveParams, deadline: float, best: Any) -> tuple[Any, PlanStatus]:
        routing = self.routing
        left = deadline - time.perf_counter()
        if left > 0.02:
            sp = _search_params(
                params, params.first_solutions[0], params.metaheuristic, left, self.n_nodes
            )
            sol = routing.SolveFromAssignmentWithParameters(best, sp)
            if sol is not None and sol.ObjectiveValue() < best.ObjectiveValue():
                optimal = routing.status() == routing_enums_pb2.RoutingSearchStatus.ROUTING_OPTIMAL
                return sol, PlanStatus.OPTIMAL if optimal else PlanStatus.FEASIBLE
        return best, PlanStatus.FEASIBLE

    # -- decode ------------------------------------------------------------------------------------
    def objective(self, assignment: Any) -> int:
        """Objective in cost units (rounded)."""
        return round(float(assignment.ObjectiveValue()) / SCALE)

    def decode_routes(self, assignment: Any) -> tuple[Route, ...]:
        """Routes of every vehicle, times from the time dimension's cumuls."""
        return tuple(
            self._route(assignment, v, spec) for v, spec in enumerate(self.problem.vehicles)
        )

    def _routes(self, assignment: Any) -> list[list[int]]:
        return [self._sequence(assignment, v)[1:-1] for v in range(len(self.problem.vehicles))]

    def _sequence(self, assignment: Any, v: int) -> list[int]:
        routing, index = self.routing, self.routing.Start(v)
        seq = [index]
        while not routing.IsEnd(index):
            index = assignment.Value(routing.NextVar(index))
            seq.append(index)
        return seq

    def _break(self, assignment: Any, v: int) -> tuple[int, int] | None:
        brk = self.breaks.get(v)
        if brk is None or not assignment.PerformedValue(brk):
            return None
        start = assignment.StartValue(brk)
        return start, start + self.problem.vehicles[v].break_s

    def _route(self, assignment: Any, v: int, spec: VehicleSpec) -> Route:
        seq = _without_repeated_unloads(self, self._sequence(assignment, v))
        nodes = [self.manager.IndexToNode(i) for i in seq]
        cumul = [assignment.Min(self.time_dim.CumulVar(i)) for i in seq]
        visits = _timed_visits(self, spec, nodes, cumul, self._break(assignment, v))
        dist = self.problem.matrix.distance_m
        locs = self.nodes.loc[nodes]
        distance = int(dist[locs[:-1], locs[1:]].sum())
        duration = visits[-1].end_s - visits[0].start_s
        used = len(nodes) > 2
        cost = route_cost(spec, distance_m=distance, duration_s=duration, used=used)
        return Route(
            vehicle_ref=spec.ref,
            visits=tuple(visits),
            distance_m=distance,
            duration_s=duration,
            cost=cost,
        )


def _without_repeated_unloads(model: _Model, seq: list[int]) -> list[int]:
    """``seq`` (solver indices) without an unload right after one at the same site: the
    truck is empty then. A site's spare copies cost nothing with ``unload_s`` 0, nor while
    a truck would wait anyway (waiting costs as working does), so the search may chain them,
    and a route sheet would show the truck unloading several times in a row. Leaving one
    out keeps every other visit's time (the truck waits instead), load and distance."""
    nodes = model.nodes
    keep = seq[:1]
    for i in seq[1:]:
        node, prev = model.manager.IndexToNode(i), model.manager.IndexToNode(keep[-1])
        repeat = (
            nodes.is_site[node] and nodes.is_site[prev] and nodes.refs[node] == nodes.refs[prev]
        )
        if not repeat:
            keep.append(i)
    return keep


def _kind(model: _Model, node: int, position: int, last: int) -> VisitKind:
    if position == 0:
        return VisitKind.START
    if position == last:
        return VisitKind.END
    return VisitKind.DISPOSAL if model.nodes.is_site[node] else VisitKind.BIN


@dataclass(slots=True)
class _Loads:
    volume_l: int
    weight_kg: int
    daily_l: int
    daily_kg: int

    def after(self, model: _Model, node: int, kind: VisitKind) -> None:
        if kind is VisitKind.DISPOSAL:
            self.volume_l = self.weight_kg = 0
        elif kind is VisitKind.BIN:
            vol, wt = int(model.nodes.volume[node]), int(model.nodes.weight[node])
            self.volume_l += vol
            self.weight_kg += wt
            self.daily_l += vol
            self.daily_kg += wt


def _timed_visits(
    model: _Model,
    spec: VehicleSpec,
    nodes: list[int],
    cumul: list[int],
    brk: tuple[int, int] | None,
) -> list[Visit]:
    dur = model.problem.matrix.duration_s
    loads = _Loads(
        spec.initial_volume_l, spec.initial_weight_kg, spec.initial_daily_l, spec.initial_daily_kg
    )
    visits: list[Visit] = []
    last = len(nodes) - 1
    prev_end = cumul[0]
    for pos, node in enumerate(nodes):
        kind = _kind(model, node, pos, last)
        loc = int(model.nodes.loc[node])
        start = cumul[pos]
        arrival = start
        if pos > 0:
            arrival = prev_end + int(dur[visits[-1].location, loc])
            if brk is not None and prev_end <= brk[0] and brk[1] <= start:
                visits.append(_break_visit(spec, brk, visits[-1]))
                arrival += spec.break_s
        end = start + int(model.nodes.service[node])
        loads.after(model, node, kind)
        visits.append(
            Visit(
                kind=kind,
                ref=model.nodes.refs[node],
                location=loc,
                arrival_s=arrival,
                start_s=start,
                end_s=end,
                volume_l=loads.volume_l,
                weight_kg=loads.weight_kg,
                daily_l=loads.daily_l,
                daily_kg=loads.daily_kg,
            )
        )
        prev_end = end
    return visits


def _break_visit(spec: VehicleSpec, brk: tuple[int, int], prev: Visit) -> Visit:
    return Visit(
        kind=VisitKind.BREAK,
        ref=spec.ref,
        location=None,
        arrival_s=brk[0],
        start_s=brk[0],
        end_s=brk[1],
        volume_l=prev.volume_l,
        weight_kg=prev.weight_kg,
        daily_l=prev.daily_l,
        daily_kg=prev.daily_kg,
    )


def _unserved(model: _Model, routes: tuple[Route, ...]) -> tuple[Unserved, ...]:
    served = {ref for r in routes for ref in r.bin_refs}
    out = []
    for stop in model.problem.stops:
        if stop.ref not in served:
            out.append(_dropped(stop))
    return tuple(out)


def _dropped(stop: Stop) -> Unserved:
    """``stop``, left out by the search, unserved: a required one fits in no route (the
    reason explained later, ``optimiser.explain``), an optional one does not pay."""
    if stop.required:
        return Unserved(ref=stop.ref, reason=UNFIT, kind=UnservedKind.COULD_NOT_FIT)
    why = (
        f"optional: its prize ({from_cents(stop.prize):.2f}) does not pay for the detour, "
        "or it does not fit"
    )
    return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.OPTIONAL)


def _no_solution(problem: Problem, seconds: float, notes: tuple[str, ...]) -> Plan:
    reason = "the solver found no solution within the time limit"
    return Plan(
        status=PlanStatus.NO_SOLUTION,
        routes=(),
        unserved=tuple(
            Unserved(ref=s.ref, reason=reason, kind=UnservedKind.NO_SOLUTION) for s in problem.stops
        ),
        solve_time_s=seconds,
        engine="ortools",
        notes=notes,
    )


def _soft(problem: Problem, unplaced: frozenset[str]) -> frozenset[str]:
    """The required stops modelled with a drop penalty: ``unplaced`` (not in the start), and
    when one of them outranks other required stops (an alert), those too, so that the
    search may leave one out to make room for it (``optimiser.problem.drop_weight``)."""
    stops = problem.stops_by_ref()
    top = max((stops[r].priority for r in unplaced if r in stops), default=0)
    return unplaced | {s.ref for s in problem.stops if s.required and s.priority < top}


def _allowed_start(
    problem: Problem, warm_start: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """``warm_start`` without the visits its trucks may no longer make: a bin whose stream
    or needs changed since (:func:`optimiser.problem.takes`), a disposal site that no longer
    takes each of the truck's streams. OR-Tools refused the whole start for one of them
    (logging "Vehicle 1 is not allowed at index 3"), and the search went on from another:
    any driver's route could change for it (service fuzz: a site's streams changed during
    the day). A bin left out of it is placed by the search (a required one as soft)."""
    stops = {s.ref: s for s in problem.stops}
    sites = {s.ref for s in problem.sites}
    out = {ref: list(refs) for ref, refs in warm_start.items()}
    for v in problem.vehicles:
        usable = {s.ref for s in usable_sites(problem, v)}
        out[v.ref] = [
            ref
            for ref in warm_start.get(v.ref, ())
            if (takes(v, stops[ref]) if ref in stops else ref not in sites or ref in usable)
        ]
    return out


def solve_ortools(
    problem: Problem,
    params: SolveParams,
    *,
    warm_start: Mapping[str, Sequence[str]] | None = None,
    soft_required: frozenset[str] = frozenset(),
) -> Plan:
    """Solve ``problem`` with OR-Tools routing.

    Parameters
    ----------
    problem : Problem
        Screened (``optimiser.screen``): stops no truck can serve make the strict model
        infeasible and cost the fallback solve, and a site opening after every shift ends
        cannot be modelled (OR-Tools fails on its time window).
    params : SolveParams
        Time limit (seconds), strategies and metaheuristic.
    warm_start : mapping of vehicle ref -> refs, optional
        Initial routes (stop and site refs in order); the first-solution phase is skipped
        when they are feasible. A visit its truck may no longer make is left out of it
        (:func:`_allowed_start`).
    soft_required : frozenset of str
        Required stops modelled with a huge drop penalty instead of as hard constraints
        (rerouting: urgent bins absent from the warm start).

    Returns
    -------
    Plan
        Status NO_SOLUTION when nothing was found; required stops that could not be fitted
        are listed unserved (status FEASIBLE, with a note).
    """
    t0 = time.perf_counter()
    deadline = t0 + params.time_limit_s
    initial = greedy_routes(problem) if warm_start is None else _allowed_start(problem, warm_start)
    placed = {ref for refs in initial.values() for ref in refs}
    required = frozenset(s.ref for s in problem.stops if s.required)
    soft = _soft(problem, soft_required | (required - placed))
    model = _Model(problem, soft=soft, start_routes=initial)
    assignment, status = model.search(params, deadline, [model.routes_to_nodes(initial)])
    if assignment is None and warm_start is not None:
        # the warm start breaks a rule (a loaded truck sent home without unloading) and no
        # strategy found a start: from greedy_routes, as without one (it had no plan)
        initial = greedy_routes(problem)
        placed = {ref for refs in initial.values() for ref in refs}
        soft = _soft(problem, soft_required | (required - placed))
        model = _Model(problem, soft=soft, start_routes=initial)
        retry_deadline = max(deadline, time.perf_counter() + 0.25 * params.time_limit_s)
        assignment, status = model.search(params, retry_deadline, [model.routes_to_nodes(initial)])
    notes: tuple[str, ...] = ()
    if assignment is None and required - soft:
        notes = ("no solution serves every required stop; solved again with them optional",)
        model = _Model(problem, soft=required)
        fallback_deadline = max(deadline, time.perf_counter() + 0.25 * params.time_limit_s)
        assignment, status = model.search(params, fallback_deadline, [])
    seconds = time.perf_counter() - t0
    if assignment is None:
        return _no_solution(problem, seconds, notes)
    routes = model.decode_routes(assignment)
    unserved = _unserved(model, routes)
    if any(u.reason == UNFIT for u in unserved):
        status = PlanStatus.FEASIBLE
        notes = (*notes, "some required stops could not be fitted into any route")
    return Plan(
        status=status,
        routes=routes,
        unserved=unserved,
        objective=model.objective(assignment),
        solve_time_s=seconds,
        engine="ortools",
        notes=notes,
    )
