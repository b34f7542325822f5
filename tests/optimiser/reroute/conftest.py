"""Fixtures of the reroute tests: the day of two trucks and eight bins, and the days built on it."""

from __future__ import annotations

import pytest

from optimiser.check import check, plan_from_sequences
from optimiser.plan import Plan, VisitKind
from optimiser.problem import Problem


@pytest.fixture
def day(kit) -> Problem:
    """Two 1000 l trucks, a site at 5 km, eight 300 l bins, a spare row (9) for the alert."""
    pts = [(0, 0), (5, 0), (1, 0), (2, 0), (3, 0), (4, 0), (1, 2), (2, 2), (3, 2), (2, 4), (4, 3)]
    stops = tuple(kit.stop(f"b{i}", i, volume_l=300, weight_kg=30) for i in range(2, 10))
    trucks = (kit.truck("a", capacity_l=1000), kit.truck("b", capacity_l=1000))
    return Problem(matrix=kit.matrix(pts), stops=stops, vehicles=trucks, sites=(kit.site(),))


@pytest.fixture
def warm_starts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, list[str]]]:
    """The warm start of every OR-Tools solve a test runs (vehicle ref -> refs)."""
    import optimiser._ortools as engine

    starts: list[dict[str, list[str]]] = []
    solve = engine.solve_ortools

    def spy(problem, params, *, warm_start=None, soft_required=frozenset()):
        starts.append({k: list(v) for k, v in (warm_start or {}).items()})
        return solve(problem, params, warm_start=warm_start, soft_required=soft_required)

    monkeypatch.setattr(engine, "solve_ortools", spy)
    return starts


@pytest.fixture
def break_then_unload(kit) -> tuple[Problem, Plan]:
    """Break window 10:00-11:00 (30 min). The truck empties b2 (it opens 09:50) until
    10:00, breaks 10:00-10:30, empties b3 (it opens 10:05) 10:31:40-10:41:40, unloads at
    s1 10:46:40-10:51:40 and is home at 11:00."""
    h = kit.H
    stops = (
        kit.stop("b2", 2, service_s=600, window_s=(9 * h + 3000, 14 * h)),
        kit.stop("b3", 3, service_s=600, window_s=(10 * h + 300, 14 * h)),
    )
    truck = kit.truck("a", break_s=1800, break_window_s=(10 * h, 11 * h))
    matrix = kit.matrix([(0, 0), (5, 0), (1, 0), (2, 0)])
    day = Problem(matrix=matrix, stops=stops, vehicles=(truck,), sites=(kit.site(),))
    plan = plan_from_sequences(day, {"a": ["b2", "b3", "s1"]})
    assert check(day, plan) == []
    (route,) = plan.routes
    assert [(v.kind, v.start_s) for v in route.visits[2:5]] == [
        (VisitKind.BREAK, 10 * h),
        (VisitKind.BIN, 10 * h + 1900),
        (VisitKind.DISPOSAL, 10 * h + 2800),
    ]
    return day, plan
