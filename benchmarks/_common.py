"""Shared machinery of ``benchmarks.kim`` and ``benchmarks.cvrplib``.

Each engine runs on the same Problem with the same wall-clock budget; every plan is judged
by the independent checker (``optimiser.check.check``) and must serve every stop to count
as feasible. Timings are wall-clock seconds on a shared machine: compare engines within
one run, not across runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus
from optimiser.problem import Problem

Engine = Callable[[Problem, float, int], Plan]
Metric = Callable[[Problem, Plan], float]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a plan is feasible and, if not, the first few reasons."""

    feasible: bool
    reasons: tuple[str, ...]


def judge(problem: Problem, plan: Plan) -> Verdict:
    """Feasible = a solution serving every stop that ``optimiser.check.check`` accepts."""
    reasons: list[str] = []
    if plan.status is PlanStatus.NO_SOLUTION:
        reasons.append("no solution")
    if plan.unserved:
        reasons.append(f"{len(plan.unserved)} stops unserved")
    try:
        check = importlib.import_module("optimiser.check").check
    except (ImportError, AttributeError):  # checker not written yet
        reasons.append("optimiser.check unavailable")
    else:
        reasons.extend(str(v) for v in check(problem, plan))
    return Verdict(not reasons, tuple(reasons[:3]))


def binroute_engine(problem: Problem, seconds: float, seed: int) -> Plan:
    """binroute's default: ``optimiser.solve.solve`` with default parameters at the budget."""
    solve = importlib.import_module("optimiser.solve").solve
    return solve(problem, SolveParams(time_limit_s=seconds, seed=seed))  # type: ignore[no-any-return]


def pyvrp_engine(problem: Problem, seconds: float, seed: int) -> Plan:
    """binroute's PyVRP engine alone."""
    from optimiser._pyvrp import solve_pyvrp

    return solve_pyvrp(problem, SolveParams(time_limit_s=seconds, seed=seed))


def ortools_engine(problem: Problem, seconds: float, seed: int) -> Plan:
    """binroute's OR-Tools engine with its default parameters (no PyVRP)."""
    from optimiser._ortools import solve_ortools

    return solve_ortools(problem, SolveParams(time_limit_s=seconds, seed=seed))


def pyvrp_then_ortools(problem: Problem, seconds: float, seed: int, share: float = 0.5) -> Plan:
    """PyVRP for ``share`` of the budget, then OR-Tools warm-started from its routes.

    The better of the two plans is returned, ranked as ``optimiser.solve`` ranks them
    (solved, valid, every required stop served, then cost): by route cost alone, a plan
    leaving stops out beat a complete one.
    """
    from optimiser._ortools import solve_ortools
    from optimiser._pyvrp import solve_pyvrp
    from optimiser.solve import rank

    t0 = time.perf_counter()
    first = solve_pyvrp(problem, SolveParams(time_limit_s=seconds * share, seed=seed))
    if first.status is PlanStatus.NO_SOLUTION:
        rest = seconds - (time.perf_counter() - t0)
        return solve_ortools(problem, SolveParams(time_limit_s=max(rest, 0.1), seed=seed))
    warm = first.sequences()
    rest = seconds - (time.perf_counter() - t0)
    second = solve_ortools(
        problem, SolveParams(time_limit_s=max(rest, 0.1), seed=seed), warm_start=warm
    )
    return min((first, second), key=lambda plan: rank(problem, plan))


def _cpu_s() -> float:
    """CPU seconds of this process and of its children waited for, user + system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_engine(
    name: str, engine: Engine, problem: Problem, seconds: float, seed: int, metric: Metric
) -> dict[str, Any]:
    """Run one engine and summarise: vehicles, distance (``metric``), feasible, seconds
    (wall clock) and cpu_seconds (this process and the children it waited for: binroute's
    portfolio runs PyVRP in a second process beside its own search)."""
    t0, cpu0 = time.perf_counter(), _cpu_s()
    try:
        plan = engine(problem, seconds, seed)
    except Exception as exc:  # a benchmark reports a crash instead of dying
        return {"engine": name, "error": f"{type(exc).__name__}: {exc}"}
    elapsed, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
    verdict = judge(problem, plan)
    out: dict[str, Any] = {
        "vehicles": sum(1 for r in plan.routes if r.used),
        "distance": round(metric(problem, plan), 3),
        "feasible": verdict.feasible,
        "seconds": round(elapsed, 2),
        "cpu_seconds": round(cpu, 2),
    }
    if not verdict.feasible:
        out["why"] = list(verdict.reasons)
    return out


def parser(description: str) -> argparse.ArgumentParser:
    """The command line shared by the benchmark scripts."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("file", help="instance file")
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds per engine")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--engines",
        default="binroute,ortools_plain,pyvrp",
        help="comma-separated subset of: binroute, ortools_plain, pyvrp, ortools, "
        "pyvrp+ortools (the first one fills the top-level keys)",
    )
    return p


def run_all(
    instance: str,
    problem: Problem,
    args: argparse.Namespace,
    engines: Mapping[str, Engine],
    metric: Metric,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """One JSON-ready record: the first engine at top level, the others beside it."""
    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    unknown = [n for n in names if n not in engines]
    if unknown:
        raise SystemExit(f"unknown engine(s) {unknown}; choose from {sorted(engines)}")
    record: dict[str, Any] = {"instance": instance, "time_limit": args.time_limit}
    for k, name in enumerate(names):
        result = run_engine(name, engines[name], problem, args.time_limit, args.seed, metric)
        if k == 0:
            record["engine"] = name
            record.update(result)
        else:
            record[name] = result
    record.update(extra)
    return record


def emit(record: Mapping[str, Any]) -> None:
    """Print one JSON line."""
    print(json.dumps(record, separators=(",", ":")), flush=True)


def engines(ortools_plain: Engine) -> dict[str, Engine]:
    """The engines a benchmark compares, with that benchmark's plain OR-Tools baseline."""
    return {
        "binroute": binroute_engine,
        "ortools_plain": ortools_plain,
        "pyvrp": pyvrp_engine,
        "ortools": ortools_engine,
        "pyvrp+ortools": pyvrp_then_ortools,
    }
