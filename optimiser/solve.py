"""``solve``: screen the problem, run an engine (or both), merge the unserved stops.

Orchestration only. The default engine ``"auto"`` is chosen by measurement
(benchmarks/RESULTS.md): PyVRP wins on most Kim and CVRPLIB instances, OR-Tools on a few
(Kim 277, 444 by distance), so with a budget of at least ``PORTFOLIO_MIN_S`` seconds and two
cores both run side by side (PyVRP in a child process) and the better checked plan is kept;
with a smaller budget PyVRP runs alone and OR-Tools is the fallback when PyVRP's plan is
missing or breaks a rule.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

from optimiser.check import score
from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus
from optimiser.problem import Problem
from optimiser.screen import screen

ENGINES = ("auto", "ortools", "pyvrp")
PORTFOLIO_MIN_S = 5.0
FORK_OVERHEAD_S = 0.2  # forking the child and shipping the problem to it
SPAWN_OVERHEAD_S = 1.5  # starting a fresh interpreter and importing PyVRP (no fork)


def _engine(name: str, problem: Problem, params: SolveParams) -> Plan:
    if name == "ortools":
        from optimiser._ortools import solve_ortools

        return solve_ortools(problem, params)
    if name == "pyvrp":
        from optimiser._pyvrp import solve_pyvrp

        return solve_pyvrp(problem, params)
    raise ValueError(f"unknown engine {name!r}; use one of {ENGINES}")


def rank(problem: Problem, plan: Plan) -> tuple[bool, bool, int, int]:
    """Sort key of plans (smaller is better): solved, valid, required served, cost + lost prizes."""
    s = score(problem, plan)
    return (
        plan.status is PlanStatus.NO_SOLUTION,
        not s.valid,
        s.required_unserved,
        s.cost + s.prize_lost,
    )


def _pick(problem: Problem, plans: list[Plan]) -> Plan:
    ranked = sorted(plans, key=lambda p: rank(problem, p))
    if len(ranked) == 1:
        return ranked[0]
    costs = ", ".join(f"{p.engine} {rank(problem, p)[3]}" for p in plans)
    best = ranked[0]
    return dataclasses.replace(
        best, notes=(*best.notes, f"portfolio cost: {costs}; kept {best.engine}")
    )


def _child_context() -> tuple[multiprocessing.context.BaseContext, float]:
    """Fork where available (PyVRP imported first, so the child starts at once), else spawn."""
    if "fork" in multiprocessing.get_all_start_methods():
        import optimiser._pyvrp  # noqa: F401  (loaded before the fork)

        return multiprocessing.get_context("fork"), FORK_OVERHEAD_S
    return multiprocessing.get_context("spawn"), SPAWN_OVERHEAD_S


def _portfolio(problem: Problem, params: SolveParams) -> list[Plan]:
    """PyVRP in a child process and OR-Tools here, both within the budget."""
    context, overhead = _child_context()
    child = dataclasses.replace(params, time_limit_s=max(params.time_limit_s - overhead, 1.0))
    plans: list[Plan] = []
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(_engine, "pyvrp", problem, child)
        plans.append(_engine("ortools", problem, params))
        try:
            plans.append(future.result(timeout=params.time_limit_s + 60.0))
        except Exception as err:  # a crashed child must not lose the OR-Tools plan
            plans[0] = dataclasses.replace(
                plans[0], notes=(*plans[0].notes, f"pyvrp failed: {err!r}")
            )
    return plans


def _auto(problem: Problem, params: SolveParams) -> Plan:
    if params.time_limit_s >= PORTFOLIO_MIN_S and (os.cpu_count() or 1) >= 2:
        return _pick(problem, _portfolio(problem, params))
    plan = _engine("pyvrp", problem, params)
    no_solution, invalid, required_unserved, _ = rank(problem, plan)
    if not (no_solution or invalid or required_unserved):
        return plan
    return _pick(problem, [plan, _engine("ortools", problem, params)])


def solve(problem: Problem, params: SolveParams | None = None, *, engine: str = "auto") -> Plan:
    """Plan the day's routes.

    Parameters
    ----------
    problem : Problem
        The routing problem (integer units, see ``optimiser.problem``).
    params : SolveParams, optional
        Time limit (seconds), seed and search settings; defaults to ``SolveParams()``.
    engine : {"auto", "ortools", "pyvrp"}
        The solver; "auto" (see the module docstring) picks by the checker's score.

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
    plan = _auto(reduced, params) if engine == "auto" else _engine(engine, reduced, params)
    return dataclasses.replace(
        plan,
        unserved=unservable + plan.unserved,
        solve_time_s=time.perf_counter() - t0,
    )
