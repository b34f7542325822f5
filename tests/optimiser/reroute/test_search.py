"""The search of a reroute: warm starts from the plan being driven, bins no route may take
left out of it, and the PyVRP relay of a re-plan's budget."""

from __future__ import annotations

import importlib

import pytest

from optimiser.check import check, plan_from_sequences
from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus, Unserved
from optimiser.problem import Problem
from optimiser.reroute import route_changes, with_urgent
from tests.optimiser.reroute.helpers import FAST, done_as_planned, mid_day, reroute


def test_an_alert_on_a_bin_planned_later_keeps_the_plan_as_warm_start(
    kit, day, warm_starts: list[dict[str, list[str]]]
) -> None:
    """The alert names a bin a truck still visits later: the rest of the plan is the warm
    start as it is (the bin once, not inserted a second time, which made OR-Tools reject the
    whole start), and with nothing else changed no route changes."""
    plan = kit.solved(day)
    progress = mid_day(plan)
    route = next(r for r in plan.routes if r.vehicle_ref == progress[0].vehicle_ref)
    later = route.bin_refs[-1]
    assert later not in progress[0].done
    new = reroute(day, plan, progress, [day.stop(later)], FAST)
    (warm,) = warm_starts
    for refs in warm.values():
        bins = [r for r in refs if r.startswith("b")]
        assert len(bins) == len(set(bins)), warm
    assert check(with_urgent(day, [day.stop(later)]), new) == []
    assert not any(c.changed for c in route_changes(plan, new).values())


@pytest.fixture
def relay_from_1s(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Budgets from 1 s search the rest of the day with OR-Tools, then PyVRP; the calls of
    the PyVRP leg (its warm start and budget), which runs the real engine."""
    import sys

    import optimiser._pyvrp as engine

    monkeypatch.setattr(sys.modules["optimiser.reroute"], "RELAY_MIN_S", 1.0)
    calls: list[dict[str, object]] = []
    solve_pyvrp = engine.solve_pyvrp

    def spy(problem, params, *, warm_start=None):
        calls.append({"warm_start": dict(warm_start or {}), "seconds": params.time_limit_s})
        return solve_pyvrp(problem, params, warm_start=warm_start)

    monkeypatch.setattr(engine, "solve_pyvrp", spy)
    return calls


def test_a_replan_budget_searches_on_with_pyvrp_from_the_ortools_routes(
    kit, day, relay_from_1s: list[dict[str, object]]
) -> None:
    """A budget of RELAY_MIN_S or more (here 1 s, 2.4 s given): OR-Tools searches half, then
    PyVRP from OR-Tools' routes (trucks on the road, with loads and the day's amounts); the
    plan kept breaks no rule and serves every bin."""
    plan = kit.solved(day)
    progress = mid_day(plan)
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    relay_from_1s.clear()  # the day plan's
    new = reroute(day, plan, progress, [urgent], SolveParams(time_limit_s=2.4))
    full = with_urgent(day, [urgent])
    assert len(relay_from_1s) == 1
    assert relay_from_1s[0]["warm_start"], "PyVRP starts from OR-Tools' routes"
    assert check(full, new) == []
    assert new.served_refs == {s.ref for s in full.stops}
    assert new.engine in ("ortools-reroute", "ortools+pyvrp-reroute")


def test_a_replan_keeps_the_ortools_plan_when_pyvrp_fails_or_ranks_below(
    kit, day, relay_from_1s: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyVRP raising, or answering no solution, costs the re-plan nothing: OR-Tools' plan is
    kept (a failure is noted)."""
    import optimiser._pyvrp as engine

    plan = kit.solved(day)
    progress = mid_day(plan)

    def boom(problem, params, *, warm_start=None):
        raise RuntimeError("pyvrp down")

    def nothing(problem, params, *, warm_start=None):
        unserved = tuple(Unserved(ref=s.ref, reason="none") for s in problem.stops)
        return Plan(status=PlanStatus.NO_SOLUTION, routes=(), unserved=unserved, engine="pyvrp")

    for fake, noted in ((boom, True), (nothing, False)):
        monkeypatch.setattr(engine, "solve_pyvrp", fake)
        new = reroute(day, plan, progress, [], SolveParams(time_limit_s=2.4))
        assert new.engine == "ortools-reroute"
        assert check(day, new) == []
        assert any("pyvrp failed: RuntimeError('pyvrp down')" in n for n in new.notes) is noted


def test_a_replan_with_a_response_target_searches_with_ortools_alone(
    kit, day, relay_from_1s: list[dict[str, object]]
) -> None:
    """PyVRP knows no response targets: an alert's bin with one keeps the search OR-Tools'."""
    plan = kit.solved(day)
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20, due_s=9 * 3600)
    relay_from_1s.clear()  # the day plan's
    new = reroute(day, plan, mid_day(plan), [urgent], SolveParams(time_limit_s=2.4))
    assert relay_from_1s == []
    assert new.engine == "ortools-reroute"
    assert "urgent" in new.served_refs


def test_bins_no_route_may_take_are_not_tried_and_the_warm_start_is_the_same(
    kit, warm_starts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day with more bins than the trucks have time for (shifts 06:00-08:00, 40 bins of
    5 min over 8 km x 8 km): the plan being driven leaves about half out, and an alert
    comes. The reroute puts each bin left out back where it fits, but skips the insertion
    of a bin no route may take (``greedy.RoomLeft``): fewer insertions, and the warm start
    the search gets is the same as when every bin is tried."""
    import numpy as np

    from optimiser.greedy import RoomLeft, greedy_routes

    rr = importlib.import_module("optimiser.reroute_warm")
    h = kit.H
    rng = np.random.default_rng(5)
    pts = [(0.0, 0.0), (3.0, 3.0), (0.5, 0.5)]
    pts += [(float(x), float(y)) for x, y in rng.uniform(-4, 4, (40, 2))]
    problem = Problem(
        matrix=kit.matrix(pts),
        stops=tuple(
            kit.stop(f"b{i}", i, volume_l=int(rng.integers(100, 500)), service_s=300)
            for i in range(3, 43)
        ),
        vehicles=tuple(
            kit.truck(ref, capacity_l=2000, shift_s=(6 * h, 8 * h)) for ref in ("a", "b")
        ),
        sites=(kit.site("s", 1),),
    )
    plan = plan_from_sequences(problem, greedy_routes(problem))
    assert check(problem, plan) == []
    assert 10 <= len(plan.unserved) <= 30
    progress = [done_as_planned(r, 2) for r in plan.routes]
    urgent = [kit.stop("urgent", 2, volume_l=200)]
    tries: list[str] = []
    insert = rr.insert_cheapest

    def counted(problem, routes, stop, **kw):
        tries.append(stop.ref)
        return insert(problem, routes, stop, **kw)

    monkeypatch.setattr(rr, "insert_cheapest", counted)
    reroute(problem, plan, progress, urgent, FAST)
    skipping = len(tries)
    monkeypatch.setattr(RoomLeft, "fits", lambda self, v, refs, ref: True)
    reroute(problem, plan, progress, urgent, FAST)
    assert warm_starts[0] == warm_starts[1]
    assert 0 < skipping < len(tries) - skipping
