"""Kim et al. (2006) benchmark: ``python -m benchmarks.kim FILE --time-limit S``.

Prints one JSON line: ``instance``, ``vehicles``, ``distance`` (total miles, Manhattan on
the feet coordinates), ``feasible``, ``seconds`` for binroute's default solve, and beside
it the same figures for "plain OR-Tools" and PyVRP at the same time limit, plus Kim's own
published result (``kim2006``: vehicles, miles).

Rules (``benchmarks.instances.read_kim``): 40 mph, a one-hour lunch starting 11:00-12:00,
vehicle and daily capacity, every route unloads at a landfill before the depot; trucks
carry a large fixed cost so fewer vehicles come first, then distance (Kim's own order).
``--fixed-cost 0`` makes every engine minimise distance alone (the line then carries
``"fixed_cost": 0``).

"Plain OR-Tools": Kim's rules need reload trips, a break and a daily limit, which the
OR-Tools samples cover only piecewise (``cvrp_reload``, ``vrp_breaks``), so the baseline
is binroute's OR-Tools model with the samples' minimal search: PATH_CHEAPEST_ARC for the
first solution, then GUIDED_LOCAL_SEARCH, same time limit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks._common import (
    Engine,
    emit,
    engines,
    parser,
    run_all,
)
from benchmarks.instances import KIM_FIXED_COST, kim_route_miles, read_kim
from optimiser.params import SolveParams
from optimiser.plan import Plan
from optimiser.problem import Problem

# Kim, Kim & Sahoo (2006), algorithm A2: (vehicles, total miles); see shared/data/SOURCES.md.
KIM_PUBLISHED = {
    "102_stop": (3, 205.1),
    "277_stop": (3, 527.3),
    "335_stop": (6, 205.0),
    "444_stop": (11, 87.0),
    "804_stop": (5, 769.5),
}


def kim_miles(problem: Problem, plan: Plan) -> float:
    """Total Manhattan miles of the plan, from the raw feet coordinates."""
    points = problem.matrix.points
    return sum(
        kim_route_miles(points, [v.location for v in r.visits if v.location is not None])
        for r in plan.routes
        if r.used
    )


def ortools_plain(problem: Problem, seconds: float, seed: int) -> Plan:
    """binroute's OR-Tools model with PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH only."""
    from optimiser._ortools import solve_ortools

    params = SolveParams(
        time_limit_s=seconds,
        seed=seed,
        first_solutions=("PATH_CHEAPEST_ARC",),
        first_solution_share=0.05,
        metaheuristic="GUIDED_LOCAL_SEARCH",
    )
    return solve_ortools(problem, params)


ENGINES: dict[str, Engine] = engines(ortools_plain)


def _cost(text: str) -> int:
    """A ``--fixed-cost`` value: an integer >= 0 (argparse reports anything else)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse, solve with each engine, print one JSON line."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--fixed-cost",
        type=_cost,
        default=KIM_FIXED_COST,
        help="cost units per truck used (default: fewest trucks first; 0: distance alone)",
    )
    args = p.parse_args(argv)
    path = Path(args.file)
    problem = read_kim(path, fixed_cost=args.fixed_cost)
    name = path.name.removesuffix(".txt")
    published = KIM_PUBLISHED.get(name)
    extra: dict[str, object] = {"fixed_cost": args.fixed_cost}
    if published:
        extra["kim2006"] = {"vehicles": published[0], "distance": published[1]}
    emit(run_all(name, problem, args, ENGINES, kim_miles, extra))


if __name__ == "__main__":
    main(sys.argv[1:])
