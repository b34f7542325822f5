"""``solve``: screen the problem, run an engine (or several), merge the unserved stops.

Orchestration only. The default engine ``"auto"`` is chosen by measurement
(benchmarks/RESULTS.md): PyVRP wins on most Kim and CVRPLIB instances, OR-Tools on a few
(Kim 277 at short budgets, 444 by distance with one truck more). With a budget of at least
``PORTFOLIO_MIN_S`` seconds and two cores, the two cores run a small portfolio and the plan
that ranks best by the independent checker is kept:

* a child process runs PyVRP from scratch with the whole budget (exactly what
  ``engine="pyvrp"`` does on its own, same seed);
* this process runs OR-Tools for ``ORTOOLS_SHARE`` of the budget, then PyVRP (next seed)
  warm-started from the OR-Tools routes for the rest (a relay: OR-Tools' constructive
  heuristics plus PyVRP's local search).

With a smaller budget, on one core, or in a process that may not start children (a daemonic
worker, such as a Dask worker running a scenario sweep), PyVRP runs alone and OR-Tools is the
fallback when PyVRP raises, or its plan is missing or breaks a rule, or empties a bin after
its response target (``Stop.due_s``: PyVRP knows no targets; the better of the two plans is
kept; OR-Tools then searches what is left of the budget, but at least ``FALLBACK_SHARE``
of it, so such a solve takes up to 1.5 times its budget). A PyVRP exception is noted on
the plan kept ("pyvrp failed: ..."), in the portfolio too, not raised.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from multiprocessing.connection import Connection

from optimiser.check import objective, score
from optimiser.explain import explain_unfit
from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus
from optimiser.problem import Problem
from optimiser.screen import screen

ENGINES = ("auto", "ortools", "pyvrp")
PORTFOLIO_MIN_S = 5.0
FALLBACK_SHARE = 0.5  # of the budget, at least, for OR-Tools after PyVRP (below the above)
ORTOOLS_SHARE = 0.4  # of the budget, for OR-Tools before the relay hands over to PyVRP
RELAY_MIN_S = 1.0  # below this, the relay skips its PyVRP leg
SPAWN_OVERHEAD_S = 1.5  # starting a fresh interpreter and importing PyVRP (no fork)
CHILD_GRACE_S = 60.0  # past the budget, before a silent PyVRP child is killed


def _engine(name: str, problem: Problem, params: SolveParams) -> Plan:
    if name == "ortools":
        from optimiser._ortools import solve_ortools

        return solve_ortools(problem, params)
    if name == "pyvrp":
        from optimiser._pyvrp import solve_pyvrp

        return solve_pyvrp(problem, params)
    raise ValueError(f"unknown engine {name!r}; use one of {ENGINES}")


def rank(problem: Problem, plan: Plan) -> tuple[bool, bool, int, int]:
    """Sort key of plans (smaller is better): solved, valid, required served (weighed by
    priority: an alerted bin before a thousand others), cost + lost prizes + lateness
    against response targets."""
    s = score(problem, plan)
    return (
        plan.status is PlanStatus.NO_SOLUTION,
        not s.valid,
        s.dropped_weight,
        s.cost + s.prize_lost + s.late_cost,
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
    """Fork where available (PyVRP imported first, so the child starts at once), else spawn.

    Returns the context and the seconds the child loses before it can start searching.
    """
    if "fork" in multiprocessing.get_all_start_methods():
        import optimiser._pyvrp  # noqa: F401  (loaded before the fork)

        return multiprocessing.get_context("fork"), 0.0
    return multiprocessing.get_context("spawn"), SPAWN_OVERHEAD_S


def _relay(problem: Problem, params: SolveParams, deadline: float) -> list[Plan]:
    """OR-Tools for ``ORTOOLS_SHARE`` of the budget, then PyVRP from its routes until ``deadline``.

    Returns the OR-Tools plan and, when there was time and a plan to start from, the PyVRP
    plan (engine ``"ortools+pyvrp"``); ``deadline`` is in ``time.perf_counter()`` seconds.
    """
    first = _engine(
        "ortools",
        problem,
        dataclasses.replace(params, time_limit_s=ORTOOLS_SHARE * params.time_limit_s),
    )
    return pyvrp_after(problem, first, params, deadline)


def pyvrp_after(problem: Problem, first: Plan, params: SolveParams, deadline: float) -> list[Plan]:
    """``first`` (an OR-Tools plan) and, when at least ``RELAY_MIN_S`` is left before
    ``deadline`` (``time.perf_counter()`` seconds) and ``first`` has routes, PyVRP's search
    from them until then (next seed; engine ``"ortools+pyvrp"``). A PyVRP failure is noted
    on ``first``, never raised."""
    left = deadline - time.perf_counter()
    if first.status is PlanStatus.NO_SOLUTION or left < RELAY_MIN_S:
        return [first]
    from optimiser._pyvrp import solve_pyvrp

    try:
        second = solve_pyvrp(
            problem,
            dataclasses.replace(params, time_limit_s=left, seed=params.seed + 1),
            warm_start=first.sequences(),
        )
    except Exception as err:  # an engine failure must not lose the OR-Tools plan
        return [_noted(first, f"relay's pyvrp failed: {err!r}")]
    return [first, dataclasses.replace(second, engine="ortools+pyvrp")]


def _noted(plan: Plan, note: str) -> Plan:
    return dataclasses.replace(plan, notes=(*plan.notes, note))


def _child_pyvrp(conn: Connection, problem: Problem, params: SolveParams) -> None:
    """Child process: send back ``("plan", Plan)`` or ``("error", repr)``, then exit."""
    try:
        conn.send(("plan", _engine("pyvrp", problem, params)))
    except BaseException as err:  # reported by the parent, which keeps its own plans
        conn.send(("error", repr(err)))
    finally:
        conn.close()


def _child_answer(conn: Connection, wait_s: float) -> Plan:
    """The child's plan, waiting at most ``wait_s`` seconds; raises RuntimeError otherwise."""
    if not conn.poll(max(wait_s, 0.0)):
        raise RuntimeError(f"no answer {wait_s:.0f} s after the relay ended; child killed")
    try:
        kind, payload = conn.recv()
    except EOFError:  # the child died without a word (killed, out of memory, crashed)
        raise RuntimeError("the child process ended without a plan") from None
    if kind == "error":
        raise RuntimeError(payload)
    return payload  # type: ignore[no-any-return]


def _portfolio(problem: Problem, params: SolveParams) -> list[Plan]:
    """PyVRP in a child process and the OR-Tools -> PyVRP relay here, both within the budget.

    A child silent ``CHILD_GRACE_S`` seconds past the budget is killed, never waited for: the
    relay's plans then answer, with a note saying why PyVRP's is missing.
    """
    deadline = time.perf_counter() + params.time_limit_s
    context, overhead = _child_context()
    child = dataclasses.replace(params, time_limit_s=max(params.time_limit_s - overhead, 1.0))
    reader, writer = context.Pipe(duplex=False)
    proc = context.Process(  # type: ignore[attr-defined]
        target=_child_pyvrp, args=(writer, problem, child), daemon=True
    )
    proc.start()
    writer.close()  # the child holds the only writer: its exit reads as EOF here
    try:
        plans = _relay(problem, params, deadline)
        wait_s = deadline - time.perf_counter() + overhead + CHILD_GRACE_S
        try:
            plans.append(_child_answer(reader, wait_s))
        except Exception as err:  # a lost child (or a garbled answer) must not lose ours
            note = f"pyvrp failed: {err}"  # on every plan: whichever is kept reports it
            plans = [_noted(p, note) for p in plans]
    finally:
        reader.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
    return plans


def _portfolio_fits(params: SolveParams) -> bool:
    """Whether the budget, the cores and this process allow the two-process portfolio.

    Daemonic processes (Dask and multiprocessing pool workers) may not have children.
    """
    return (
        params.time_limit_s >= PORTFOLIO_MIN_S
        and (os.cpu_count() or 1) >= 2
        and not multiprocessing.current_process().daemon
    )


def _auto(problem: Problem, params: SolveParams) -> Plan:
    if _portfolio_fits(params):
        return _pick(problem, _portfolio(problem, params))
    deadline = time.perf_counter() + params.time_limit_s
    try:
        plan = _engine("pyvrp", problem, params)
    except Exception as err:  # an engine failure must not cost the day's plan: OR-Tools answers
        return _noted(_fallback(problem, params, deadline), f"pyvrp failed: {err!r}")
    s = score(problem, plan)
    solved = plan.status is not PlanStatus.NO_SOLUTION
    if solved and s.valid and not (s.dropped_weight or s.late_cost):
        return plan
    return _pick(problem, [plan, _fallback(problem, params, deadline)])


def _fallback(problem: Problem, params: SolveParams, deadline: float) -> Plan:
    """OR-Tools after PyVRP, with what is left of the budget by ``deadline``
    (``time.perf_counter``), but at least ``FALLBACK_SHARE`` of it: the whole solve takes
    at most 1.5 times its budget (it took twice, OR-Tools searching the whole budget again)."""
    left = max(deadline - time.perf_counter(), FALLBACK_SHARE * params.time_limit_s)
    return _engine("ortools", problem, dataclasses.replace(params, time_limit_s=left))


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
        reason before solving; required stops the engine could not fit in are listed with
        the rules that block them (``optimiser.explain``); infeasibility is
        ``PlanStatus.NO_SOLUTION``, never an exception. Its ``objective`` is
        ``optimiser.check.objective`` of ``problem``, whichever engine planned it.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {ENGINES}")
    params = params or SolveParams()
    t0 = time.perf_counter()
    reduced, unservable = screen(problem)
    plan = _auto(reduced, params) if engine == "auto" else _engine(engine, reduced, params)
    plan = explain_unfit(reduced, plan)
    plan = dataclasses.replace(plan, unserved=unservable + plan.unserved)
    return dataclasses.replace(
        plan, objective=objective(problem, plan), solve_time_s=time.perf_counter() - t0
    )
