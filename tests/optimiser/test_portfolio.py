"""The "auto" engine's two-core portfolio: PyVRP alone in a child, OR-Tools -> PyVRP relay here."""

from __future__ import annotations

import dataclasses
import importlib
import multiprocessing
import re
import time

import pytest

from optimiser.check import check, score
from optimiser.params import SolveParams
from optimiser.plan import PlanStatus
from optimiser.problem import Problem
from optimiser.solve import rank, solve

solve_module = importlib.import_module("optimiser.solve")  # the package exports solve()


@pytest.fixture
def small_portfolio(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a 2-3 s budget run the portfolio (its threshold is 5 s)."""
    monkeypatch.setattr(solve_module, "PORTFOLIO_MIN_S", 1.0)
    monkeypatch.setattr(solve_module.os, "cpu_count", lambda: 2)


@pytest.fixture
def relay_leg(monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay's PyVRP leg runs however long OR-Tools' share took: with the child forked
    beside it on a loaded machine, OR-Tools can outlast its share by more than the leg's
    margin, and the leg (``RELAY_MIN_S``) is skipped."""
    real = solve_module.pyvrp_after

    def after(problem, first, params, deadline):
        at_least = time.perf_counter() + 2 * solve_module.RELAY_MIN_S
        return real(problem, first, params, max(deadline, at_least))

    monkeypatch.setattr(solve_module, "pyvrp_after", after)


def _costs(plan_notes: tuple[str, ...]) -> dict[str, int]:
    note = next(n for n in plan_notes if n.startswith("portfolio cost:"))
    return {m[0]: int(m[1]) for m in re.findall(r"([\w+]+) (-?\d+)", note.split(";")[0])}


def test_portfolio_keeps_the_cheapest_of_three_checked_plans(
    small_portfolio: None, relay_leg: None, random_problem: Problem
) -> None:
    """All three plans are made; the kept one passes the checker and costs the least."""
    plan = solve(random_problem, SolveParams(time_limit_s=3.0, seed=3))
    assert check(random_problem, plan) == []
    costs = _costs(plan.notes)
    assert set(costs) == {"ortools", "ortools+pyvrp", "pyvrp"}
    s = score(random_problem, plan)
    assert s.cost + s.prize_lost == min(costs.values())
    assert plan.engine == min(costs, key=lambda k: costs[k])


def test_relay_starts_pyvrp_from_the_ortools_routes(random_problem: Problem) -> None:
    """The relay's PyVRP leg begins at OR-Tools' plan, so it ranks no worse; both in time."""
    t0 = time.perf_counter()
    first, second = solve_module._relay(
        random_problem, SolveParams(time_limit_s=2.5, seed=1), t0 + 2.5
    )
    assert first.engine == "ortools" and second.engine == "ortools+pyvrp"
    assert second.status is PlanStatus.FEASIBLE
    assert check(random_problem, second) == []
    assert rank(random_problem, second) <= rank(random_problem, first)
    assert not any("warm start ignored" in n for n in second.notes)


def test_relay_without_time_left_returns_the_ortools_plan(random_problem: Problem) -> None:
    plans = solve_module._relay(
        random_problem, SolveParams(time_limit_s=1.0, seed=1), time.perf_counter() + 0.5
    )
    assert [p.engine for p in plans] == ["ortools"]


def test_crashed_child_keeps_this_process_plans(
    small_portfolio: None, random_problem: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing PyVRP child is noted; the relay's plans still answer."""

    def boom(name: str, problem: Problem, params: SolveParams):
        if name == "pyvrp":
            raise RuntimeError("child died")
        return real(name, problem, params)

    real = solve_module._engine
    monkeypatch.setattr(solve_module, "_engine", boom)
    monkeypatch.setattr(solve_module, "_child_context", _spawnless_fork)
    plan = solve(random_problem, SolveParams(time_limit_s=2.0, seed=3))
    assert check(random_problem, plan) == []
    assert any("pyvrp failed" in n for n in plan.notes)


def _spawnless_fork():
    import multiprocessing

    return multiprocessing.get_context("fork"), 0.0


def _solve_in_worker(problem: Problem, out: multiprocessing.queues.Queue) -> None:  # type: ignore[type-arg]
    try:
        plan = solve(problem, SolveParams(time_limit_s=2.0, seed=5))
        out.put((plan.engine, check(problem, plan)))
    except BaseException as err:  # the parent reports what went wrong
        out.put(("error", repr(err)))


def test_daemonic_worker_solves_without_the_portfolio(
    small_portfolio: None, random_problem: Problem
) -> None:
    """A Dask worker (daemonic: no children allowed) runs PyVRP alone instead of failing."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    worker = ctx.Process(target=_solve_in_worker, args=(random_problem, out), daemon=True)
    worker.start()
    engine, violations = out.get(timeout=120)
    worker.join(timeout=30)
    assert (engine, violations) == ("pyvrp", [])


def _hang(name: str, problem: Problem, params: SolveParams):
    """A PyVRP child that never answers (the parent's engines run as usual)."""
    if name == "pyvrp" and multiprocessing.parent_process() is not None:
        time.sleep(3600)
    return _REAL_ENGINE(name, problem, params)


_REAL_ENGINE = solve_module._engine


@pytest.mark.timeout(120)
def test_hung_child_is_killed_and_this_process_plans_answer(
    small_portfolio: None, random_problem: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PyVRP child that hangs past the budget and the grace is killed, not waited for."""
    monkeypatch.setattr(solve_module, "_engine", _hang)
    monkeypatch.setattr(solve_module, "_child_context", _spawnless_fork)
    monkeypatch.setattr(solve_module, "CHILD_GRACE_S", 1.0)
    before = set(multiprocessing.active_children())
    plan = solve(random_problem, SolveParams(time_limit_s=2.0, seed=3))
    assert check(random_problem, plan) == []
    assert any("pyvrp failed" in n and "no answer" in n for n in plan.notes)
    assert set(multiprocessing.active_children()) <= before


def _spawn():
    return multiprocessing.get_context("spawn"), 0.0


def test_portfolio_child_answers_through_a_spawned_process(
    small_portfolio: None, random_problem: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where fork is missing (Windows), the child is a fresh interpreter; its plan still counts."""
    monkeypatch.setattr(solve_module, "_child_context", _spawn)
    plan = solve(random_problem, SolveParams(time_limit_s=3.0, seed=3))
    assert check(random_problem, plan) == []
    assert set(_costs(plan.notes)) == {"ortools", "ortools+pyvrp", "pyvrp"}


def _pyvrp_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import optimiser._pyvrp as pyvrp_engine

    def boom(*args: object, **kw: object) -> None:
        raise ValueError("engine bug")

    monkeypatch.setattr(pyvrp_engine, "solve_pyvrp", boom)


def test_failing_pyvrp_on_one_core_falls_back_to_ortools(
    random_problem: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below the portfolio's budget PyVRP runs alone; if it raises, OR-Tools answers."""
    _pyvrp_raises(monkeypatch)
    plan = solve(random_problem, SolveParams(time_limit_s=1.0, seed=1))
    assert plan.engine == "ortools"
    assert check(random_problem, plan) == []
    assert "pyvrp failed: ValueError('engine bug')" in plan.notes


def test_failing_relay_leg_keeps_the_ortools_plan(
    random_problem: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pyvrp_raises(monkeypatch)
    plans = solve_module._relay(
        random_problem, SolveParams(time_limit_s=2.5, seed=1), time.perf_counter() + 2.5
    )
    assert [p.engine for p in plans] == ["ortools"]
    assert "relay's pyvrp failed: ValueError('engine bug')" in plans[0].notes


@pytest.mark.parametrize("pyvrp_fails", [False, True])
def test_or_tools_after_pyvrp_searches_what_is_left_of_the_budget(
    random_problem: Problem, monkeypatch: pytest.MonkeyPatch, pyvrp_fails: bool
) -> None:
    """Below the portfolio's budget, PyVRP used the whole 0.4 s and its plan has no
    solution (or it raised): OR-Tools then gets half the budget, not all of it again (the
    solve took twice its budget)."""
    budgets: dict[str, float] = {}
    real = solve_module._engine

    def timed(name: str, problem: Problem, params: SolveParams):
        budgets[name] = params.time_limit_s
        if name == "ortools":
            return real(name, problem, params)
        time.sleep(params.time_limit_s)  # the whole budget, as PyVRP takes it
        if pyvrp_fails:
            raise RuntimeError("no PyVRP today")
        return dataclasses.replace(real("ortools", problem, params), status=PlanStatus.NO_SOLUTION)

    monkeypatch.setattr(solve_module, "_engine", timed)
    plan = solve(random_problem, SolveParams(time_limit_s=0.4, seed=3))
    assert budgets["pyvrp"] == 0.4
    assert budgets["ortools"] == pytest.approx(0.2)
    assert plan.status is not PlanStatus.NO_SOLUTION and check(random_problem, plan) == []
