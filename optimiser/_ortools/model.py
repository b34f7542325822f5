"""One OR-Tools routing model of a problem: costs, reload and daily dimensions, time with
windows, response targets and breaks, allowed trucks and drop penalties; its search from the
starts, and its routes read back (see :mod:`optimiser._ortools`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimiser._ortools.decode import _timed_visits, _without_repeated_unloads
from optimiser._ortools.heap import _keep_heap
from optimiser._ortools.layout import _layout
from optimiser.costs import LATE_COST_PER_H, route_cost
from optimiser.params import SolveParams
from optimiser.plan import PlanStatus, Route
from optimiser.problem import Problem, VehicleSpec, drop_weight, takes
from optimiser.screen import needs_disposal, usable_sites

SCALE = 3600  # objective units per cost unit
SOFT_REQUIRED_PENALTY = 10**13  # objective units for dropping a required stop (fallback)
LATE_PER_S = LATE_COST_PER_H * SCALE // 3600  # objective units per second after ``due_s``
STRATEGY_MAX_STOPS = 300  # above this OR-Tools' first-solution strategies rarely succeed
READ_SHARE = 0.5  # of the time left for reading the starts (``_Model._limit_reads``)...
READ_MIN_S = 1.0  # ...or this, per start, when more: a start of 2000 bins reads in 0.1-0.2 s


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
