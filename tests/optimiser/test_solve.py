"""OR-Tools engine through ``solve``: every plan passes the checker, then properties."""

from __future__ import annotations

import dataclasses
import math

import pytest

from optimiser.check import check, late_s, score
from optimiser.errors import InvalidProblemError
from optimiser.params import SolveParams
from optimiser.plan import PlanStatus, UnservedKind, VisitKind
from optimiser.problem import Problem
from optimiser.solve import solve


def test_capacity_forces_several_disposal_trips(kit, line_problem) -> None:
    """Six 400 l bins in a 1000 l truck need three loads: three unloads (one before home)."""
    plan = kit.solved(line_problem)
    kinds = kit.kinds(plan, "t1")
    assert plan.served_refs == {s.ref for s in line_problem.stops}
    total = sum(s.volume_l for s in line_problem.stops)
    assert kinds.count(VisitKind.DISPOSAL) >= math.ceil(total / 1000)
    assert kinds[-2] is VisitKind.DISPOSAL


def test_return_empty_forces_a_final_disposal(kit) -> None:
    """One small bin: with return_empty the truck still goes to the site before home."""
    m = kit.matrix([(0, 0), (5, 0), (1, 0)])
    base = Problem(
        matrix=m,
        stops=(kit.stop("b", 2),),
        vehicles=(kit.truck(),),
        sites=(kit.site(location=1),),
    )
    kinds = kit.kinds(kit.solved(base), "t1")
    assert kinds == [VisitKind.START, VisitKind.BIN, VisitKind.DISPOSAL, VisitKind.END]
    loose = dataclasses.replace(base, return_empty=False)
    assert VisitKind.DISPOSAL not in kit.kinds(kit.solved(loose), "t1")


def test_windows_are_respected_and_order_follows_them(kit) -> None:
    """The far bin opens early and the near one late: the truck goes far first."""
    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (3, 0)])
    problem = Problem(
        matrix=m,
        stops=(
            kit.stop("near", 1, window_s=(9 * h, 10 * h)),
            kit.stop("far", 2, window_s=(6 * h, 7 * h)),
        ),
        vehicles=(kit.truck(),),
    )
    plan = kit.solved(problem)
    route = kit.route_of(plan, "t1")
    assert route.bin_refs == ("far", "near")
    near = next(v for v in route.visits if v.ref == "near")
    assert 9 * h <= near.start_s <= 10 * h


def test_break_is_taken_inside_its_window(kit, line_problem) -> None:
    """A 30 min break due 06:10-06:20 interrupts the morning round."""
    h = kit.H
    truck = kit.truck(capacity_l=1000, break_s=1800, break_window_s=(6 * h + 600, 6 * h + 1200))
    problem = dataclasses.replace(line_problem, vehicles=(truck,))
    route = kit.route_of(kit.solved(problem), "t1")
    breaks = [v for v in route.visits if v.kind is VisitKind.BREAK]
    assert len(breaks) == 1
    assert 6 * h + 600 <= breaks[0].start_s <= 6 * h + 1200
    assert breaks[0].end_s - breaks[0].start_s == 1800


def test_stream_no_truck_takes_is_unserved_with_reason(kit) -> None:
    m = kit.matrix([(0, 0), (1, 0), (2, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("res", 1), kit.stop("glass", 2, stream="glass")),
        vehicles=(kit.truck(),),
    )
    plan = kit.solved(problem)
    assert plan.served_refs == {"res"}
    (u,) = plan.unserved
    assert u.ref == "glass" and "glass" in u.reason


def test_a_truck_no_site_can_unload_is_named_with_the_fix(kit) -> None:
    """t1 collects residual and glass, one load; s_res takes residual, s_glass glass: no
    site takes its load, so its bins are unserved, the reason saying so (it said "no
    vehicle takes stream 'residual'", though t1 does)."""
    m = kit.matrix([(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("r1", 1), kit.stop("g1", 2, stream="glass")),
        vehicles=(kit.truck("t1", streams=frozenset({"residual", "glass"})),),
        sites=(
            kit.site("s_res", 3),
            kit.site("s_glass", 4, streams=frozenset({"glass"})),
        ),
    )
    plan = kit.solved(problem)
    assert plan.served_refs == set()
    reasons = {u.ref: u.reason for u in plan.unserved}
    assert reasons["r1"] == (
        "no truck taking stream 'residual' can unload: no disposal site takes every stream "
        "t1 collects (glass, residual); add a site that does, or give the truck fewer streams"
    )
    assert {u.ref: u.kind for u in plan.unserved}["r1"] is UnservedKind.NO_SITE


@pytest.mark.parametrize(("prize", "kept"), [(1, False), (1_000_000, True)])
def test_optional_bin_kept_only_when_its_prize_pays_the_detour(kit, prize, kept) -> None:
    """A 10 km detour costs about 10 EUR + 33 min; a 1 cent prize does not pay for it."""
    m = kit.matrix([(0, 0), (1, 0), (0, 5)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("must", 1), kit.stop("may", 2, required=False, prize=prize)),
        vehicles=(kit.truck(),),
    )
    plan = kit.solved(problem)
    assert ("may" in plan.served_refs) is kept
    assert "must" in plan.served_refs
    assert ({u.ref for u in plan.unserved} == {"may"}) is not kept


def test_max_stops_splits_the_work(kit) -> None:
    m = kit.matrix([(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)])
    problem = Problem(
        matrix=m,
        stops=tuple(kit.stop(f"b{i}", i) for i in range(1, 5)),
        vehicles=(kit.truck("a", max_stops=2), kit.truck("b", max_stops=2)),
    )
    plan = kit.solved(problem)
    assert len(plan.served_refs) == 4
    assert all(len(r.bin_refs) <= 2 for r in plan.routes)


def test_daily_limit_spans_disposal_trips(kit, line_problem) -> None:
    """A 1500 l daily limit: one truck cannot take all 2400 l even with unloads."""
    trucks = (
        kit.truck("a", capacity_l=1000, max_daily_l=1500),
        kit.truck("b", capacity_l=1000, max_daily_l=1500),
    )
    problem = dataclasses.replace(line_problem, vehicles=trucks)
    plan = kit.solved(problem)
    assert len(plan.served_refs) == 6
    for route in plan.routes:
        assert route.visits[-1].daily_l <= 1500
    assert all(r.used for r in plan.routes)


def test_each_depot_serves_its_cluster(kit) -> None:
    """Two depots 20 km apart, two bins next to each: each truck stays home-side."""
    m = kit.matrix([(0, 0), (20, 0), (0, 1), (1, 0), (20, 1), (19, 0)])
    problem = Problem(
        matrix=m,
        stops=tuple(kit.stop(f"b{i}", i) for i in range(2, 6)),
        vehicles=(kit.truck("west", start=0, end=0), kit.truck("east", start=1, end=1)),
    )
    plan = kit.solved(problem)
    assert set(kit.route_of(plan, "west").bin_refs) == {"b2", "b3"}
    assert set(kit.route_of(plan, "east").bin_refs) == {"b4", "b5"}


def test_cheaper_truck_does_the_work(kit) -> None:
    m = kit.matrix([(0, 0), (1, 0), (2, 0), (2, 2)])
    problem = Problem(
        matrix=m,
        stops=tuple(kit.stop(f"b{i}", i) for i in range(1, 4)),
        vehicles=(
            kit.truck("dear", cost_per_km=1000, cost_per_hour=30000, fixed_cost=5000),
            kit.truck("cheap"),
        ),
    )
    plan = kit.solved(problem)
    assert not kit.route_of(plan, "dear").used
    assert len(kit.route_of(plan, "cheap").bin_refs) == 3


def test_required_stop_outside_every_shift_is_reported_not_raised(kit) -> None:
    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (2, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("ok", 1), kit.stop("night", 2, window_s=(22 * h, 23 * h))),
        vehicles=(kit.truck(),),
    )
    plan = kit.solved(problem)
    assert plan.status is not PlanStatus.NO_SOLUTION
    assert plan.served_refs == {"ok"}
    assert [u.ref for u in plan.unserved] == ["night"]
    assert "window" in plan.unserved[0].reason


def test_required_stops_that_do_not_fit_together_fall_back(kit) -> None:
    """Each bin alone fits the 1 h shift, both do not: one is served, one reported."""
    h = kit.H
    m = kit.matrix([(0, 0), (-14, 0), (14, 0)])  # 1400 s each way
    problem = Problem(
        matrix=m,
        stops=(kit.stop("west", 1), kit.stop("east", 2)),
        vehicles=(kit.truck(shift_s=(6 * h, 7 * h)),),
    )
    plan = kit.solved(problem)
    assert plan.status is PlanStatus.FEASIBLE
    assert len(plan.served_refs) == 1
    (u,) = plan.unserved
    assert "could not fit" in u.reason
    assert u.kind is UnservedKind.COULD_NOT_FIT and "shift" in u.rules
    assert plan.notes


def test_plan_costs_equal_recomputed_totals(kit, line_problem) -> None:
    """Route totals are the checker's; the objective is close to the sum of route costs."""
    plan = kit.solved(line_problem)
    route = kit.route_of(plan, "t1")
    assert route.duration_s == route.visits[-1].end_s - route.visits[0].start_s
    assert check(line_problem, plan) == []


def test_negative_vehicle_cost_is_rejected_naming_the_vehicle(kit, line_problem) -> None:
    for cost in ({"fixed_cost": -1}, {"cost_per_km": -100}, {"cost_per_hour": -1}):
        with pytest.raises(InvalidProblemError, match=r"vehicle 't1'.*must be >= 0"):
            dataclasses.replace(line_problem, vehicles=(kit.truck(capacity_l=1000, **cost),))


def test_unknown_engine_is_a_value_error(line_problem) -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        solve(line_problem, SolveParams(time_limit_s=0.1), engine="gurobi")


def test_seeded_random_instance_is_fully_served(kit, random_problem) -> None:
    """30 random bins, 3 trucks, 2 sites, windows on some: valid plan, all served."""
    plan = kit.solved(random_problem, seconds=1.0)
    assert len(plan.served_refs) == 30


@pytest.mark.parametrize("engine", ["ortools", "pyvrp", "auto"])
def test_site_that_opens_after_every_shift_is_left_aside(kit, line_problem, engine) -> None:
    """An evening-only transfer station (17:00-21:00) and trucks that finish at 14:00: the
    day is planned with the other site (OR-Tools used to fail building its model)."""
    h = kit.H
    evening = kit.site("evening", 1, window_s=(17 * h, 21 * h))
    problem = dataclasses.replace(
        line_problem, sites=(evening, dataclasses.replace(line_problem.sites[0], ref="day"))
    )
    plan = solve(problem, SolveParams(time_limit_s=0.5), engine=engine)
    assert check(problem, plan) == []
    assert plan.served_refs == {s.ref for s in problem.stops}
    visited = {v.ref for r in plan.routes for v in r.visits if v.kind is VisitKind.DISPOSAL}
    assert visited == {"day"}


def test_a_bin_out_of_reach_says_how_far_the_nearest_truck_is(kit) -> None:
    """A bin 600 km off (lon and lat swapped in the inventory, say): the reason gives the
    drive from the nearest truck, so the dispatcher sees why at once."""
    m = kit.matrix([(0, 0), (1, 0), (600, 0)])
    problem = Problem(
        matrix=m, stops=(kit.stop("near", 1), kit.stop("far", 2)), vehicles=(kit.truck(),)
    )
    plan = kit.solved(problem)
    (u,) = plan.unserved
    assert u.ref == "far"
    assert u.reason == (
        "no truck can reach it within its time window and return within its shift "
        "(the nearest truck is 16 h 40 min away)"
    )
    assert u.kind is UnservedKind.WINDOW_OR_SHIFT


def test_a_bin_whose_window_is_over_before_the_shifts_start_says_so(kit) -> None:
    """Emptied only 00:00-05:00, with shifts from 06:00 and 07:00: the reason names its
    window and the shifts, not the drive from the nearest truck."""
    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (2, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("ok", 1), kit.stop("night", 2, window_s=(0, 5 * h))),
        vehicles=(kit.truck(), kit.truck("t2", shift_s=(7 * h, 15 * h))),
    )
    plan = kit.solved(problem)
    (u,) = plan.unserved
    assert u.ref == "night"
    assert u.reason == (
        "its time window 00:00-05:00 is over before any truck taking stream 'residual' can "
        "leave (t1 06:00, t2 07:00); widen the window or start a shift earlier"
    )
    assert u.kind is UnservedKind.WINDOW_OR_SHIFT


def test_a_response_target_pyvrp_alone_misses_brings_in_ortools(kit) -> None:
    """An alerted bin must be emptied by 06:10. The truck out at 06:00 costs 500 a day more
    than the one out at 12:00. PyVRP knows no targets and sends the cheap one, 6 h late;
    with a short budget (PyVRP alone) ``auto`` then asks OR-Tools, which is on time."""
    h = kit.H
    m = kit.matrix([(0, 0), (1, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("alerted", 1, due_s=6 * h + 600),),
        vehicles=(
            kit.truck("early", fixed_cost=50_000),
            kit.truck("late", shift_s=(12 * h, 20 * h)),
        ),
    )
    alone = solve(problem, SolveParams(time_limit_s=0.5), engine="pyvrp")
    assert kit.route_of(alone, "late").used  # the premise: PyVRP alone is late
    plan = kit.solved(problem)
    assert kit.route_of(plan, "early").bin_refs == ("alerted",)
    assert late_s(problem, plan) == {}


@pytest.mark.parametrize("engine", ["auto", "ortools", "pyvrp"])
def test_when_not_every_required_bin_fits_an_alerted_one_goes_first(kit, engine) -> None:
    """Two stops a day (``max_stops``), three required bins: two forecast must bins by the
    depot and an overflowing bin (an alert, priority 1) further out. The alerted bin is
    emptied, a must bin is left out (the cheaper choice would leave out the alerted one)."""
    m = kit.matrix([(0, 0), (1, 0), (1, 1), (9, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("must1", 1), kit.stop("must2", 2), kit.stop("alerted", 3, priority=1)),
        vehicles=(kit.truck(max_stops=2),),
    )
    plan = solve(problem, SolveParams(time_limit_s=0.5), engine=engine)
    assert check(problem, plan) == []
    assert "alerted" in plan.served_refs and len(plan.served_refs) == 2
    (left,) = plan.unserved
    assert left.ref in ("must1", "must2")
    assert score(problem, plan).dropped_weight == 1


def test_a_stop_priority_is_zero_or_one(kit) -> None:
    with pytest.raises(InvalidProblemError, match="priority 2 must be 0, or 1"):
        Problem(
            matrix=kit.matrix([(0, 0), (1, 0)]),
            stops=(kit.stop("b1", 1, priority=2),),
            vehicles=(kit.truck(),),
        )


@pytest.mark.parametrize("engine", ["ortools", "pyvrp", "auto"])
def test_the_objective_is_the_same_sum_whatever_the_engine(kit, engine: str) -> None:
    """Route costs + prizes of the optional bins left (one no truck can take: food waste,
    screened before any engine) + lateness: u's target is 06:00, the truck reaches it at
    06:03:20 at the soonest."""
    from optimiser.costs import late_cost

    m = kit.matrix([(0, 0), (5, 0), (2, 0), (1, 1)])
    food = kit.stop("food", 3, required=False, prize=700, stream="food")
    u = kit.stop("u", 2, due_s=6 * kit.H)
    problem = Problem(matrix=m, stops=(u, food), vehicles=(kit.truck(),), sites=(kit.site(),))
    plan = solve(problem, SolveParams(time_limit_s=0.3, seed=0), engine=engine)
    assert check(problem, plan) == []
    assert [u.ref for u in plan.unserved] == ["food"]
    late = late_s(problem, plan)
    assert late["u"] >= 200
    routes = sum(r.cost for r in plan.routes)
    assert plan.objective == routes + 700 + late_cost(late["u"])


@pytest.mark.parametrize(
    ("engine", "said"), [("ortools", "its prize (12.50) does"), ("pyvrp", "its prize 12.50 is")]
)
def test_an_unserved_optional_bins_reason_gives_its_prize_in_currency(kit, engine, said) -> None:
    """A 12.50 prize (1250 cents inside the solver) does not pay a 10 km detour: the reason
    says 12.50, as plan.json's decisions and costs show money (it said 1250)."""
    m = kit.matrix([(0, 0), (1, 0), (0, 5)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("must", 1), kit.stop("may", 2, required=False, prize=1250)),
        vehicles=(kit.truck(),),
    )
    plan = solve(problem, SolveParams(time_limit_s=0.3), engine=engine)
    assert check(problem, plan) == []
    [unserved] = plan.unserved
    assert unserved.ref == "may"
    assert said in unserved.reason
    assert "1250" not in unserved.reason
    assert unserved.kind is UnservedKind.OPTIONAL
