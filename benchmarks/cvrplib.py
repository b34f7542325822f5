"""CVRPLIB benchmark: ``python -m benchmarks.cvrplib FILE.vrp --time-limit S``.

Prints one JSON line: ``instance``, ``vehicles``, ``distance`` (integer CVRPLIB cost),
``feasible``, ``seconds`` and ``gap_pct`` (to the best-known solution read from the
``.sol`` beside the ``.vrp``) for binroute's default solve, and the same figures for
"plain OR-Tools" (the OR-Tools CVRP sample: distance matrix, capacity dimension,
PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH, same time limit) and for PyVRP
(``optimiser._pyvrp``) beside it. Every plan is judged by ``optimiser.check.check``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from benchmarks._common import (
    Engine,
    emit,
    engines,
    parser,
    run_all,
)
from benchmarks.instances import read_cvrplib, read_cvrplib_solution
from optimiser.check import plan_from_sequences
from optimiser.plan import Plan, PlanStatus
from optimiser.problem import Problem


def ortools_plain(problem: Problem, seconds: float, seed: int) -> Plan:
    """The OR-Tools CVRP sample (depot row 0; no windows, no sites), same time limit."""
    n = problem.matrix.size
    vehicles = len(problem.vehicles)
    manager = pywrapcp.RoutingIndexManager(n, vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    transit = routing.RegisterTransitMatrix(problem.matrix.distance_m.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    demand = [0] * n
    for s in problem.stops:
        demand[s.location] = s.volume_l
    demand_cb = routing.RegisterUnaryTransitVector(demand)
    routing.AddDimensionWithVehicleCapacity(
        demand_cb, 0, [v.capacity_l for v in problem.vehicles], True, "Capacity"
    )
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    search.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    search.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(search)
    if solution is None:
        return Plan(status=PlanStatus.NO_SOLUTION, routes=(), engine="ortools-plain")
    row_to_ref = {s.location: s.ref for s in problem.stops}
    sequences: dict[str, list[str]] = {}
    for v in range(vehicles):
        index = routing.Start(v)
        seq = sequences.setdefault(problem.vehicles[v].ref, [])
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            if node in row_to_ref:
                seq.append(row_to_ref[node])
            index = solution.Value(routing.NextVar(index))
    plan = plan_from_sequences(problem, sequences)  # timed by the checker's clock
    return dataclasses.replace(plan, solve_time_s=seconds, engine="ortools-plain")


def cvrp_distance(problem: Problem, plan: Plan) -> float:
    """Total integer distance (the CVRPLIB cost)."""
    return float(sum(r.distance_m for r in plan.routes))


ENGINES: dict[str, Engine] = engines(ortools_plain)


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse, solve with each engine, print one JSON line."""
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    path = Path(args.file)
    problem = read_cvrplib(path)
    sol = path.with_suffix(".sol")
    bks = read_cvrplib_solution(sol)[1] if sol.exists() else None
    record = run_all(path.stem, problem, args, ENGINES, cvrp_distance, {"bks": bks})
    if bks:
        record["gap_pct"] = _gap(record.get("distance"), bks)
        for name in ENGINES:
            sub = record.get(name)
            if isinstance(sub, dict) and "distance" in sub:
                sub["gap_pct"] = _gap(sub["distance"], bks)
    emit(record)


def _gap(distance: float | None, bks: int) -> float | None:
    return None if distance is None else round(100.0 * (distance - bks) / bks, 2)


if __name__ == "__main__":
    main(sys.argv[1:])
