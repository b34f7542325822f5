"""``solve``: screen the problem, run an engine, merge the unserved stops. Orchestration only."""

from __future__ import annotations

import dataclasses
import time

from optimiser.params import SolveParams
from optimiser.plan import Plan
from optimiser.problem import Problem
from optimiser.screen import screen

ENGINES = ("ortools", "pyvrp")


def _engine(name: str, problem: Problem, params: SolveParams) -> Plan:
    if name == "ortools":
        from optimiser._ortools import solve_ortools

        return solve_ortools(problem, params)
    if name == "pyvrp":
        from optimiser._pyvrp import solve_pyvrp

        return solve_pyvrp(problem, params)
    raise ValueError(f"unknown engine {name!r}; use one of {ENGINES}")


def solve(problem: Problem, params: SolveParams | None = None, *, engine: str = "ortools") -> Plan:
    """Plan the day's routes.

    Parameters
    ----------
    problem : Problem
        The routing problem (integer units, see ``optimiser.problem``).
    params : SolveParams, optional
        Time limit (seconds), seed and search settings; defaults to ``SolveParams()``.
    engine : {"ortools", "pyvrp"}
        The solver.

    Returns
    -------
    Plan
        Stops no truck can serve (stream, size, window/shift) are listed unserved with the
        reason before solving; infeasibility is ``PlanStatus.NO_SOLUTION``, never an exception.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {ENGINES}")
    params = params or SolveParams()
    t0 = time.perf_counter()
    reduced, unservable = screen(problem)
    plan = _engine(engine, reduced, params)
    return dataclasses.replace(
        plan,
        unserved=unservable + plan.unserved,
        solve_time_s=time.perf_counter() - t0,
    )
