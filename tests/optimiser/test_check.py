"""The checker: hand-made plans pass, each hand-broken rule is detected; timing and scoring."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from optimiser.check import (
    Violation,
    check,
    check_reroute,
    plan_from_sequences,
    score,
    time_route,
)
from optimiser.errors import InvalidProblemError
from optimiser.plan import (
    Plan,
    PlanStatus,
    Progress,
    Route,
    Unserved,
    UnservedKind,
    VisitKind,
    span,
)
from optimiser.problem import Problem
from tests.optimiser.conftest import progress_after

SEQ = ("b2", "b3", "s1", "b4", "b5", "s1")


@pytest.fixture
def manual(kit) -> Problem:
    """Depot 0, site at 5 km, 400 l bins at 1..4 km, 1000 l truck with a 15 min break."""
    h = kit.H
    m = kit.matrix([(0, 0), (5, 0), (1, 0), (2, 0), (3, 0), (4, 0), (9, 9)])
    stops = tuple(
        kit.stop(
            f"b{i}", i, volume_l=400, weight_kg=40, window_s=(6 * h, 12 * h) if i == 3 else None
        )
        for i in range(2, 6)
    )
    truck = kit.truck(capacity_l=1000, break_s=900, break_window_s=(6 * h + 300, 6 * h + 1200))
    return Problem(matrix=m, stops=stops, vehicles=(truck,), sites=(kit.site(location=1),))


def _with_truck(problem: Problem, **kw: Any) -> Problem:
    return dataclasses.replace(problem, vehicles=(dataclasses.replace(problem.vehicles[0], **kw),))


def _with_stop(problem: Problem, ref: str, **kw: Any) -> Problem:
    stops = tuple(dataclasses.replace(s, **kw) if s.ref == ref else s for s in problem.stops)
    return dataclasses.replace(problem, stops=stops)


def _edit_route(plan: Plan, **kw: Any) -> Plan:
    return dataclasses.replace(plan, routes=(dataclasses.replace(plan.routes[0], **kw),))


def _edit_visit(plan: Plan, target: str, **kw: Any) -> Plan:
    route = plan.routes[0]
    visits = tuple(dataclasses.replace(v, **kw) if v.ref == target else v for v in route.visits)
    return _edit_route(plan, visits=visits)


def _drop_kind(plan: Plan, kind: VisitKind) -> Plan:
    route = plan.routes[0]
    return _edit_route(plan, visits=tuple(v for v in route.visits if v.kind is not kind))


def _visit(plan: Plan, ref: str):
    return next(v for v in plan.routes[0].visits if v.ref == ref)


def test_hand_made_route_is_valid_and_timed_as_early_as_possible(manual) -> None:
    plan = plan_from_sequences(manual, {"t1": SEQ})
    assert check(manual, plan) == []
    route = plan.routes[0]
    assert route.visits[0].start_s == manual.vehicles[0].shift_s[0]
    assert route.visits[1].arrival_s == route.visits[0].end_s + 100  # 1 km
    kinds = [v.kind for v in route.visits]
    assert kinds.count(VisitKind.BREAK) == 1 and kinds.count(VisitKind.DISPOSAL) == 2


def test_score_recomputes_totals_of_a_manual_plan(manual) -> None:
    plan = plan_from_sequences(manual, {"t1": SEQ})
    s = score(manual, plan)
    route = plan.routes[0]
    assert s.valid
    assert (s.distance_m, s.duration_s, s.cost) == (route.distance_m, route.duration_s, route.cost)
    # 0 -> 1 -> 2 -> 5 (site) -> 3 -> 4 -> 5 -> 0 km along the line
    assert s.distance_m == 1000 * (1 + 1 + 3 + 2 + 1 + 1 + 5)
    assert (s.bins_served, s.unserved, s.vehicles_used) == (4, 0, 1)


def test_score_counts_what_a_manual_plan_leaves_out(manual) -> None:
    plan = plan_from_sequences(manual, {"t1": ("b2", "s1")})
    s = score(manual, plan)
    assert s.valid and s.unserved == 3 and s.required_unserved == 3
    assert {u.kind for u in plan.unserved} == {UnservedKind.NOT_IN_MANUAL_PLAN}


def test_manual_plan_with_unknown_ref_is_rejected(manual) -> None:
    with pytest.raises(InvalidProblemError, match="nope"):
        plan_from_sequences(manual, {"t1": ("nope",)})


Breaker = Callable[[Problem, Plan], tuple[Problem, Plan]]


def _seq(problem: Problem, seq: tuple[str, ...]) -> tuple[Problem, Plan]:
    return problem, plan_from_sequences(problem, {"t1": seq})


BREAKERS: dict[str, Breaker] = {
    "served_twice": lambda p, _: _seq(p, ("b2", "b2", "b3", "s1", "b4", "b5", "s1")),
    "stream": lambda p, _: _seq(_with_stop(p, "b2", stream="glass"), SEQ),
    "site_stream": lambda p, _: _seq(
        dataclasses.replace(p, sites=(dataclasses.replace(p.sites[0], streams=frozenset({"x"})),)),
        SEQ,
    ),
    "capacity_volume": lambda p, _: _seq(p, ("b2", "b3", "b4", "s1", "b5", "s1")),
    "capacity_weight": lambda p, _: _seq(_with_truck(p, capacity_kg=50), SEQ),
    "return_empty": lambda p, _: _seq(p, ("b2", "b3", "s1", "b4", "b5")),
    "daily_volume": lambda p, _: _seq(_with_truck(p, max_daily_l=1000), SEQ),
    "daily_weight": lambda p, _: _seq(_with_truck(p, max_daily_kg=100), SEQ),
    "max_stops": lambda p, _: _seq(_with_truck(p, max_stops=3), SEQ),
    "window": lambda p, _: _seq(_with_stop(p, "b3", window_s=(0, 6 * 3600)), SEQ),
    "shift": lambda p, _: _seq(_with_truck(p, shift_s=(6 * 3600, 6 * 3600 + 1800)), SEQ),
    "travel": lambda p, plan: (
        p,
        _edit_visit(plan, "b4", arrival_s=_visit(plan, "s1").end_s),
    ),
    "timing": lambda p, plan: (p, _edit_visit(plan, "b2", end_s=_visit(plan, "b2").end_s + 5)),
    "overlap": lambda p, plan: (
        p,
        _edit_visit(plan, "t1", start_s=_visit(plan, "b2").start_s),
    ),
    "break": lambda p, plan: (p, _drop_kind(plan, VisitKind.BREAK)),
    "location": lambda p, plan: (p, _edit_visit(plan, "b5", location=6)),
    "load": lambda p, plan: (p, _edit_visit(plan, "b2", volume_l=1)),
    "distance": lambda p, plan: (p, _edit_route(plan, distance_m=plan.routes[0].distance_m + 1)),
    "duration": lambda p, plan: (p, _edit_route(plan, duration_s=plan.routes[0].duration_s - 1)),
    "cost": lambda p, plan: (p, _edit_route(plan, cost=plan.routes[0].cost + 1)),
    "unaccounted": lambda p, _: (
        p,
        dataclasses.replace(plan_from_sequences(p, {"t1": ("b2", "s1")}), unserved=()),
    ),
    "served_and_unserved": lambda p, plan: (
        p,
        dataclasses.replace(plan, unserved=(Unserved(ref="b2", reason="x"),)),
    ),
    "no_reason": lambda p, _: (
        p,
        dataclasses.replace(
            plan_from_sequences(p, {"t1": ("b2", "b3", "s1", "b4", "s1")}),
            unserved=(Unserved(ref="b5", reason=""),),
        ),
    ),
    "listed_twice": lambda p, _: (
        p,
        dataclasses.replace(
            plan_from_sequences(p, {"t1": ("b2", "b3", "s1", "b4", "s1")}),
            unserved=(Unserved(ref="b5", reason="x"), Unserved(ref="b5", reason="y")),
        ),
    ),
    "status": lambda p, plan: (p, dataclasses.replace(plan, status=PlanStatus.NO_SOLUTION)),
    "unknown_ref": lambda p, plan: (p, _edit_visit(plan, "b5", ref="nope")),
    "vehicle": lambda p, plan: (p, dataclasses.replace(plan, routes=plan.routes * 2)),
    "shape": lambda p, plan: (p, _drop_kind(plan, VisitKind.END)),
    "ref": lambda p, plan: (p, _edit_visit(plan, "t1", ref="nobody")),
}


@pytest.mark.parametrize("code", sorted(BREAKERS))
def test_each_broken_rule_is_detected(manual, code: str) -> None:
    good = plan_from_sequences(manual, {"t1": SEQ})
    problem, bad = BREAKERS[code](manual, good)
    codes = {v.code for v in check(problem, bad)}
    assert code in codes, codes


def test_break_outside_its_window_is_detected(manual) -> None:
    good = plan_from_sequences(manual, {"t1": SEQ})
    moved = _with_truck(manual, break_window_s=(12 * 3600, 13 * 3600))
    messages = [v.message for v in check(moved, good) if v.code == "break"]
    assert any("outside" in m for m in messages)


def test_no_break_needed_when_the_route_ends_before_the_window(kit) -> None:
    h = kit.H
    m = kit.matrix([(0, 0), (1, 0)])
    truck = kit.truck(break_s=1800, break_window_s=(11 * h, 12 * h))
    problem = Problem(matrix=m, stops=(kit.stop("b", 1),), vehicles=(truck,))
    plan = plan_from_sequences(problem, {"t1": ("b",)})
    assert all(v.kind is not VisitKind.BREAK for v in plan.routes[0].visits)
    assert check(problem, plan) == []


def test_route_totals_match_their_definition(manual) -> None:
    plan = plan_from_sequences(manual, {"t1": SEQ})
    route: Route = plan.routes[0]
    truck = manual.vehicles[0]
    km, hours = route.distance_m / 1000, route.duration_s / 3600
    expected = truck.cost_per_km * km + truck.cost_per_hour * hours + truck.fixed_cost
    assert abs(route.cost - expected) <= 0.5


def _measured_after(plan: Plan, ref: str, extra_l: int) -> Plan:
    """``plan`` with a WAYPOINT after visit ``ref`` (same place and time) that restates the
    load as ``extra_l`` more than planned, and later loads carried on from that."""
    out = []
    after = on_board = False
    for v in plan.routes[0].visits:
        if after:
            on_board = on_board and v.kind is not VisitKind.DISPOSAL
            vol = v.volume_l + extra_l if on_board else v.volume_l
            out.append(dataclasses.replace(v, volume_l=vol, daily_l=v.daily_l + extra_l))
        else:
            out.append(v)
        if v.ref == ref:
            at = v.end_s
            out.append(
                dataclasses.replace(
                    v,
                    kind=VisitKind.WAYPOINT,
                    ref="t1",
                    arrival_s=at,
                    start_s=at,
                    volume_l=v.volume_l + extra_l,
                    daily_l=v.daily_l + extra_l,
                )
            )
            after = on_board = True
    return _edit_route(plan, visits=tuple(out))


def test_a_waypoint_restates_the_load_measured_on_the_road(manual) -> None:
    """A reroute's waypoint carries the load measured there (bins fuller than forecast):
    later loads count from it, and they break the capacity where they exceed it."""
    good = plan_from_sequences(manual, {"t1": SEQ})
    assert check(manual, _measured_after(good, "b2", 0)) == []
    fuller = check(manual, _measured_after(good, "b2", 100))  # b3: 900 l of 1000
    assert fuller == []
    over = check(manual, _measured_after(good, "b2", 300))  # b3: 1100 l
    assert [(v.code, v.ref) for v in over] == [("capacity_volume", "b3")]
    over_daily = check(_with_truck(manual, max_daily_l=1800), _measured_after(good, "b2", 300))
    assert ("daily_volume", "b5") in {(v.code, v.ref) for v in over_daily}


def test_times_in_messages_are_clock_times(manual) -> None:
    """A dispatcher reads 'after its shift end 06:30', not seconds since midnight."""
    short = _with_truck(manual, shift_s=(6 * 3600, 6 * 3600 + 1800))
    (late,) = [v.message for v in check(short, plan_from_sequences(short, {"t1": SEQ}))]
    assert late.startswith("returns at 0") and late.endswith("after its shift end 06:30"), late
    moved = _with_truck(manual, break_window_s=(12 * 3600, 13 * 3600))
    good = plan_from_sequences(manual, {"t1": SEQ})
    assert any(v.message.endswith("outside 12:00-13:00") for v in check(moved, good))
    rushed = _edit_visit(good, "b4", arrival_s=_visit(good, "s1").end_s)
    (travel,) = [v.message for v in check(manual, rushed) if v.code == "travel"]
    assert re.search(r"\(\d+ min( \d+ s)? from s1\)$", travel), travel
    visits = tuple(
        dataclasses.replace(v, end_s=v.start_s + 600) if v.kind is VisitKind.BREAK else v
        for v in good.routes[0].visits
    )
    short_break = _edit_route(good, visits=visits)
    assert "break lasts 10 min, not 15 min" in {v.message for v in check(manual, short_break)}


def test_durations_read_as_people_say_them() -> None:
    assert [span(s) for s in (45, 60, 350, 1800, 3600, 3900, 3905, 890_000)] == [
        "45 s",
        "1 min",
        "5 min 50 s",
        "30 min",
        "1 h 00 min",
        "1 h 05 min",
        "1 h 05 min 05 s",
        "10 d 07 h 13 min",
    ]


def test_a_route_timed_after_the_break_could_be_over_takes_none(manual) -> None:
    """Shift from 11:00, break window 10:00-13:00 (30 min): the day begins after a break at
    10:00 would be over, so the checker needs none and timing adds none."""
    h = 3600
    late = _with_truck(
        manual, shift_s=(11 * h, 20 * h), break_s=1800, break_window_s=(10 * h, 13 * h)
    )
    plan = plan_from_sequences(late, {"t1": SEQ})
    assert VisitKind.BREAK not in [v.kind for v in plan.routes[0].visits]
    assert check(late, plan) == []
    early = _with_truck(late, shift_s=(10 * h, 20 * h))  # out at 10:00: a break is owed
    plan = plan_from_sequences(early, {"t1": SEQ})
    assert VisitKind.BREAK in [v.kind for v in plan.routes[0].visits]
    assert check(early, plan) == []


def test_no_stops_timed_need_a_break_only_on_the_road(manual) -> None:
    """Break window 10:00-13:00 (30 min), no stops, ready at 10:00 at the depot. A truck not
    out yet stays home: no break, its END when it is ready (the break's 30 minutes were
    counted in it, the break visit dropped). One on the road since 06:00 (``departed_s``,
    a reroute) owes its break and takes it on its way home."""
    h = 3600
    owes = _with_truck(manual, break_s=1800, break_window_s=(10 * h, 13 * h))
    home = dataclasses.replace(owes.vehicles[0], ready_s=10 * h)
    route = time_route(owes, home, [])
    assert [(v.kind, v.end_s) for v in route.visits] == [
        (VisitKind.START, 10 * h),
        (VisitKind.END, 10 * h),
    ]
    out = dataclasses.replace(home, departed_s=6 * h)
    route = time_route(owes, out, [])
    assert [(v.kind, v.start_s, v.end_s) for v in route.visits] == [
        (VisitKind.START, 10 * h, 10 * h),
        (VisitKind.BREAK, 10 * h, 10 * h + 1800),
        (VisitKind.END, 10 * h + 1800, 10 * h + 1800),
    ]


def test_timing_takes_the_break_where_no_window_is_missed_for_it(manual) -> None:
    """Break window 06:05-06:40 (15 min); b4 must be emptied by 06:20. The earliest point
    for the break (after b3, 06:05:20) would bring b4 at 06:30:20: the route is timed with
    the break after b4 instead, and every rule holds. Without a window to keep, the break
    stays at the earliest point."""
    h = 3600
    owes = _with_truck(manual, break_window_s=(6 * h + 300, 6 * h + 2400))
    tight = _with_stop(owes, "b4", window_s=(6 * h, 6 * h + 1200))
    plan = plan_from_sequences(tight, {"t1": SEQ})
    assert check(tight, plan) == []
    refs = [v.ref for v in plan.routes[0].visits if v.kind is not VisitKind.END]
    assert refs[refs.index("b4") + 1] == "t1"  # the break, right after b4
    loose = plan_from_sequences(owes, {"t1": SEQ}).routes[0].visits
    assert [v.ref for v in loose][:4] == ["t1", "b2", "b3", "t1"]  # START, b2, b3, break


def test_a_waypoint_is_where_the_truck_reported_whatever_the_drive_into_it(manual) -> None:
    """A position reported a second after b2, 14 km away by the matrix: the truck is there
    (GPS against a travel model); the drive on from there to b3 is still checked."""
    good = plan_from_sequences(manual, {"t1": SEQ})
    visits = list(good.routes[0].visits)
    i = next(k for k, v in enumerate(visits) if v.ref == "b2")
    at = visits[i].end_s + 1
    far = dataclasses.replace(
        visits[i], kind=VisitKind.WAYPOINT, ref="t1", location=6, arrival_s=at, start_s=at, end_s=at
    )
    plan = _edit_route(good, visits=(*visits[: i + 1], far, *visits[i + 1 :]))
    found = {(v.code, v.ref) for v in check(manual, plan)}
    assert ("travel", "t1") not in found
    assert ("travel", "b3") in found  # 13 km back from (9, 9) cannot be driven in time


def test_an_unloading_is_judged_by_the_site_record_in_force_when_it_started(manual) -> None:
    """A site's record changed during the day (``Site.before``, ``since_s``): the unloading
    that started before the change stands under the old record, the one from it on is
    judged by the new (a longer unloading, no residual waste taken)."""
    plan = plan_from_sequences(manual, {"t1": SEQ})
    first, second = [v for v in plan.routes[0].visits if v.kind is VisitKind.DISPOSAL]
    old = manual.sites[0]
    new = dataclasses.replace(
        old,
        unload_s=old.unload_s + 60,
        streams=frozenset({"organic"}),
        since_s=second.start_s,
        before=old,
    )
    assert new.at(first.start_s) is old and new.at(second.start_s) is new
    found = [v.code for v in check(dataclasses.replace(manual, sites=(new,)), plan)]
    assert sorted(found) == ["site_stream", "timing"]  # the second unloading's, once each
    later = dataclasses.replace(new, since_s=second.start_s + 1)
    assert check(dataclasses.replace(manual, sites=(later,)), plan) == []


def test_lateness_against_a_response_target_is_scored_not_a_violation(kit) -> None:
    """u's target is 06:03:30; served second it starts at 06:04:20, 50 s late: the plan is
    valid, ``late_s`` gives the 50 s, and the score prices them (1 a second, 100 units).
    Served first, it starts at 06:03:20, on time."""
    from optimiser.check import late_s
    from optimiser.costs import late_cost

    m = kit.matrix([(0, 0), (1, 0), (2, 0)])
    u = kit.stop("u", 2, due_s=6 * kit.H + 210)
    problem = Problem(matrix=m, stops=(kit.stop("x", 1), u), vehicles=(kit.truck(),))
    plan = plan_from_sequences(problem, {"t1": ["x", "u"]})
    assert check(problem, plan) == []
    assert late_s(problem, plan) == {"u": 50}
    assert score(problem, plan).late_cost == late_cost(50) == 5_000
    on_time = plan_from_sequences(problem, {"t1": ["u", "x"]})
    assert late_s(problem, on_time) == {} and score(problem, on_time).late_cost == 0


def test_a_negative_response_target_is_rejected(kit) -> None:
    m = kit.matrix([(0, 0), (1, 0)])
    with pytest.raises(InvalidProblemError, match="due_s"):
        Problem(matrix=m, stops=(kit.stop("u", 1, due_s=-1),), vehicles=(kit.truck(),))


def test_a_hand_made_plan_is_priced_as_solvers_price_theirs(kit) -> None:
    """Route costs, the prize of the optional bin left out and 50 s late at u."""
    from optimiser.costs import late_cost

    m = kit.matrix([(0, 0), (1, 0), (2, 0), (0, 3)])
    u = kit.stop("u", 2, due_s=6 * kit.H + 210)
    spare = kit.stop("spare", 3, required=False, prize=400)
    problem = Problem(matrix=m, stops=(kit.stop("x", 1), u, spare), vehicles=(kit.truck(),))
    plan = plan_from_sequences(problem, {"t1": ["x", "u"]})
    assert plan.objective == sum(r.cost for r in plan.routes) + 400 + late_cost(50)


def test_a_visit_out_of_place_or_at_no_row_is_detected(manual) -> None:
    """An END or START inside the route, a break given a place (it is taken where the truck
    is), a waypoint at no row or at a negative one (numpy would read row -7 from the end):
    each is a violation, and the checker does not fail on them."""
    good = plan_from_sequences(manual, {"t1": SEQ})
    visits = good.routes[0].visits
    b2 = next(i for i, v in enumerate(visits) if v.ref == "b2")
    end_inside = dataclasses.replace(visits[-1], start_s=visits[b2].end_s, end_s=visits[b2].end_s)
    waypoint = dataclasses.replace(visits[b2], kind=VisitKind.WAYPOINT, ref="t1")
    waypoint = dataclasses.replace(waypoint, start_s=waypoint.end_s, arrival_s=waypoint.end_s)
    cases = {
        "shape": (*visits[: b2 + 1], end_inside, *visits[b2 + 1 :]),
        "break": tuple(
            dataclasses.replace(v, location=6) if v.kind is VisitKind.BREAK else v for v in visits
        ),
        "location": (
            *visits[: b2 + 1],
            dataclasses.replace(waypoint, location=None),
            *visits[b2 + 1 :],
        ),
    }
    for code, changed in cases.items():
        found = {(v.code, v.ref) for v in check(manual, _edit_route(good, visits=changed))}
        assert code in {c for c, _ in found}, (code, found)
    far = (*visits[: b2 + 1], dataclasses.replace(waypoint, location=-7), *visits[b2 + 1 :])
    assert ("location", "t1") in {
        (v.code, v.ref) for v in check(manual, _edit_route(good, visits=far))
    }


def test_a_load_on_board_at_the_start_goes_to_a_site_that_takes_the_trucks_streams(kit) -> None:
    """A truck rerouted with 500 l on board (residual) unloads it at a glass-only site: the
    site does not take what it carries. At a residual site it may."""
    m = kit.matrix([(0, 0), (1, 0), (2, 0)])
    truck = kit.truck(initial_volume_l=500, initial_weight_kg=50)
    glass = kit.site("glass", 1, streams=frozenset({"glass"}))
    problem = Problem(matrix=m, stops=(), vehicles=(truck,), sites=(glass, kit.site("s1", 2)))
    to_glass = plan_from_sequences(problem, {"t1": ["glass"]})
    assert {(v.code, v.ref) for v in check(problem, to_glass)} >= {("site_stream", "glass")}
    assert check(problem, plan_from_sequences(problem, {"t1": ["s1"]})) == []


def test_a_negative_load_measured_at_a_waypoint_is_detected(manual) -> None:
    """b2, b3, b4 put 1200 l on the 1000 l truck; a waypoint after b2 restating -300 l on
    board (and today) would count the loads on from there and hide the overload: a load
    below zero is no measurement, and is reported."""
    seq = ("b2", "b3", "b4", "s1", "b5", "s1")
    plan = plan_from_sequences(manual, {"t1": seq})
    assert ("capacity_volume", "b4") in {(v.code, v.ref) for v in check(manual, plan)}
    negative = _measured_after(plan, "b2", -700)
    assert _visit(negative, "b4").volume_l == 500  # counted on from -300 l
    found = {(v.code, v.ref) for v in check(manual, negative)}
    assert ("load", "t1") in found, found


def test_a_truck_that_must_move_needs_a_route(kit) -> None:
    """A plan may leave a truck out (it stays where it starts), but not one that must drive:
    one carrying waste it must unload first, or one away from its end depot (a truck
    rerouted on the road). An empty truck at its end depot may stay home, and a plan with
    no solution is not held to it."""
    m = kit.matrix([(0, 0), (1, 0), (2, 0)])
    site = kit.site("s1", 1)
    home = kit.truck("home")
    loaded = kit.truck("loaded", initial_volume_l=500, initial_weight_kg=50)
    away = kit.truck("away", start=2, ready_s=8 * kit.H)
    problem = Problem(matrix=m, stops=(), vehicles=(home, loaded, away), sites=(site,))
    plan = plan_from_sequences(problem, {"loaded": ["s1"]})
    assert check(problem, plan) == []
    kept = {"loaded", "away"}
    without_home = dataclasses.replace(
        plan, routes=tuple(r for r in plan.routes if r.vehicle_ref in kept)
    )
    assert check(problem, without_home) == []
    for left_out in kept:
        cut = dataclasses.replace(
            plan, routes=tuple(r for r in plan.routes if r.vehicle_ref != left_out)
        )
        found = {(v.code, v.vehicle_ref) for v in check(problem, cut)}
        assert ("vehicle", left_out) in found, (left_out, found)
    none = Plan(status=PlanStatus.NO_SOLUTION, routes=())
    assert check(problem, none) == []


def test_a_visit_at_no_row_is_scored_without_failing(manual) -> None:
    """A hand-made visit of b4 at row 99 (no row of the 7-point matrix) or -3 (numpy would
    read a row from the end): the score reports the location and counts the distance as
    the checker does, over the visits at real rows (s1 -> b5 straight: 2 km less)."""
    good = plan_from_sequences(manual, {"t1": SEQ})
    planned = good.routes[0].distance_m
    for row in (99, -3):
        s = score(manual, _edit_visit(good, "b4", location=row))
        assert ("location", "b4") in {(v.code, v.ref) for v in s.violations}
        recomputed = [v.message for v in s.violations if v.code == "distance"]
        assert recomputed == [f"route distance {planned}, recomputed {s.distance_m}"]
        assert s.distance_m == planned - 2000


# -- a reroute against the day driven -----------------------------------------------------


def _driven(manual: Problem, n_done: int = 3, late_s: int = 0) -> tuple[Plan, Progress]:
    """The hand-made day of ``manual`` and its truck's progress: its first ``n_done`` bins
    and unloadings done as planned, reported at the last of them ``late_s`` after its end."""
    plan = plan_from_sequences(manual, {"t1": SEQ})
    work = [v for v in plan.routes[0].visits if v.kind in (VisitKind.BIN, VisitKind.DISPOSAL)]
    return plan, progress_after("t1", SEQ[:n_done], work[n_done - 1], late_s)


def _found(violations: Sequence[Violation]) -> list[tuple[str | None, str]]:
    return [(v.ref, v.code) for v in violations]


def test_a_rerouted_day_going_on_as_driven_keeps_what_is_done(manual) -> None:
    driven, prog = _driven(manual)
    assert check_reroute(manual, driven, driven, [prog]) == []


@pytest.mark.parametrize(
    ("seq", "found"),
    [
        (("b2", "s1", "b3", "b4", "s1", "b5", "s1"), [("b3", "done_order"), ("s1", "done_order")]),
        (("b2", "s1", "b4", "b5", "s1"), [("b3", "done_dropped")]),
        (("b3", "b2", "s1", "b4", "b5", "s1"), [("b2", "done_order"), ("b3", "done_order")]),
    ],
    ids=["reordered-with-a-site", "dropped", "reordered"],
)
def test_a_rerouted_day_that_rewrites_the_visits_done_is_caught(
    manual, seq: tuple[str, ...], found: list[tuple[str, str]]
) -> None:
    """Checked alone, each of these days is valid: only the day driven shows the rewrite."""
    driven, prog = _driven(manual)
    new = plan_from_sequences(manual, {"t1": seq})
    assert check(manual, new) == []
    assert _found(check_reroute(manual, driven, new, [prog])) == found


def test_a_visit_done_retimed_is_caught(manual) -> None:
    driven, prog = _driven(manual)
    b3 = _visit(driven, "b3")
    new = _edit_visit(driven, "b3", arrival_s=b3.arrival_s - 60, start_s=b3.start_s - 60)
    new = _edit_visit(new, "b3", end_s=b3.end_s - 60)
    (v,) = check_reroute(manual, driven, new, [prog])
    assert (v.vehicle_ref, v.ref, v.code) == ("t1", "b3", "done_time")
    assert "as driven" in v.message


def test_a_visit_not_done_before_the_trucks_report_is_caught(manual) -> None:
    """Reported at the site an hour after its planned unloading: the rest as planned is in
    its past."""
    driven, prog = _driven(manual, late_s=3600)
    found = _found(check_reroute(manual, driven, driven, [prog]))
    assert found[:2] == [("b4", "past"), ("b5", "past")] and {c for _, c in found} == {"past"}


def test_a_rerouted_day_that_forgets_a_truck_on_the_road_is_caught(manual) -> None:
    driven, prog = _driven(manual)
    empty = dataclasses.replace(driven, routes=())
    assert _found(check_reroute(manual, driven, empty, [prog])) == [(None, "no_route")]
    home = Progress(vehicle_ref="t1", done=(), location=0, time_s=prog.time_s)
    assert check_reroute(manual, driven, empty, [home]) == []


def test_a_rest_of_the_day_from_other_loads_than_reported_is_caught(manual) -> None:
    """The site is reported not to have taken it all: 100 l still on board. A full truck,
    reported over its capacity, is taken as full."""
    driven, prog = _driven(manual)
    fuller = dataclasses.replace(prog, volume_l=100)
    assert _found(check_reroute(manual, driven, driven, [fuller])) == [("s1", "done_load")]
    two, at_b3 = _driven(manual, n_done=2)  # 800 l on board after b3, as planned
    over = dataclasses.replace(at_b3, volume_l=5000)
    assert _found(check_reroute(manual, two, two, [over])) == [("b3", "done_load")]
    assert check_reroute(_with_truck(manual, capacity_l=800), two, two, [over]) == []
