"""Rerouting after an overflow alert: the done prefix kept, the urgent bin served or refused
with its reason, response targets, prizes; the change to each route minimal; the checker passes."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from optimiser.check import check, check_reroute, objective, plan_from_sequences
from optimiser.errors import InvalidProblemError
from optimiser.plan import Plan, PlanStatus, Route, Unserved, UnservedKind, Visit, VisitKind
from optimiser.problem import Problem
from optimiser.reroute import Progress, RouteChange, route_changes, with_urgent
from optimiser.reroute import reroute as _reroute
from tests.optimiser.reroute.helpers import (
    FAST,
    WORK,
    done_as_planned,
    mid_day,
    reroute,
    standing_at,
)


def test_alert_inserts_the_urgent_bin_and_keeps_the_done_prefix(kit, day) -> None:
    plan = kit.solved(day)
    progress = mid_day(plan)
    assert progress
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, progress, [urgent], FAST)
    full = with_urgent(day, [urgent])
    assert check(full, new) == []
    assert "urgent" in new.served_refs
    assert new.served_refs == {s.ref for s in full.stops}
    old = {r.vehicle_ref: r for r in plan.routes}
    for p in progress:
        route = kit.route_of(new, p.vehicle_ref)
        n = next(i for i, v in enumerate(route.visits) if v.ref == p.done[-1]) + 1
        assert route.visits[:n] == old[p.vehicle_ref].visits[:n]
        assert all(v.start_s >= p.time_s for v in route.visits[n:])


def test_the_oracle_passes_a_real_reroute_and_sees_a_done_visit_moved(kit, day) -> None:
    """``check_reroute`` finds nothing in a real reroute (both trucks two visits in, an
    alert), and finds a visit done moved a minute in it: it guards every reroute here
    (:func:`reroute`), so it must see what it is there for."""
    plan = kit.solved(day)
    progress = mid_day(plan)
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    full = with_urgent(day, [urgent])
    new = _reroute(day, plan, progress, [urgent], FAST)
    assert check_reroute(full, plan, new, progress) == []
    route = kit.route_of(new, progress[0].vehicle_ref)
    first = next(x for x in route.visits if x.kind in WORK)
    later = dataclasses.replace(
        first, arrival_s=first.arrival_s + 60, start_s=first.start_s + 60, end_s=first.end_s + 60
    )
    visits = tuple(later if x is first else x for x in route.visits)
    moved = dataclasses.replace(route, visits=visits)
    broken = dataclasses.replace(new, routes=tuple(moved if r is route else r for r in new.routes))
    found = check_reroute(full, plan, broken, progress)
    assert [(v.vehicle_ref, v.ref, v.code) for v in found] == [
        (route.vehicle_ref, first.ref, "done_time")
    ]


def test_no_alert_and_state_as_planned_changes_nothing(kit, day) -> None:
    plan = kit.solved(day)
    new = reroute(day, plan, mid_day(plan), [], FAST)
    assert check(day, new) == []
    changes = route_changes(plan, new)
    assert not any(c.changed for c in changes.values()), changes
    for old_route in plan.routes:
        new_route = kit.route_of(new, old_route.vehicle_ref)
        assert [v.ref for v in new_route.visits if v.kind in WORK] == [
            v.ref for v in old_route.visits if v.kind in WORK
        ]


def test_progress_off_the_plan_is_rejected(kit, day) -> None:
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.bin_refs)
    p = Progress(vehicle_ref=route.vehicle_ref, done=("nope",), location=0, time_s=7 * kit.H)
    with pytest.raises(InvalidProblemError, match="not the start"):
        reroute(day, plan, [p], [], FAST)


def test_route_changes_lists_added_removed_and_reordered(kit) -> None:
    def plan_of(routes: dict[str, tuple[str, ...]]) -> Plan:
        out = []
        for ref, bins in routes.items():
            visits = [kit_visit(VisitKind.START, ref)]
            visits += [kit_visit(VisitKind.BIN, b) for b in bins]
            visits.append(kit_visit(VisitKind.END, ref))
            out.append(
                Route(vehicle_ref=ref, visits=tuple(visits), distance_m=0, duration_s=0, cost=0)
            )
        return Plan(status=PlanStatus.FEASIBLE, routes=tuple(out))

    old = plan_of({"a": ("x", "y", "z"), "b": ("p", "q")})
    new = plan_of({"a": ("x", "z", "y", "u"), "b": ("p", "q")})
    changes = route_changes(old, new)
    assert changes["a"] == RouteChange(added=("u",), removed=(), order_changed=True)
    assert not changes["b"].changed


def kit_visit(kind: VisitKind, ref: str) -> Visit:
    return Visit(kind=kind, ref=ref, location=0, arrival_s=0, start_s=0, end_s=0)


def test_urgent_bin_no_truck_can_take_is_unserved_with_the_blocking_rule(kit, day) -> None:
    """Both trucks are at their stop limit once the alert comes: the reason says so."""
    day = dataclasses.replace(
        day, vehicles=tuple(dataclasses.replace(v, max_stops=4) for v in day.vehicles)
    )
    plan = kit.solved(day)
    assert plan.served_refs == {s.ref for s in day.stops}
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, mid_day(plan), [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    assert [(u.ref, u.reason) for u in new.unserved] == [
        ("urgent", "could not fit in any route: stop limit (a, b)")
    ]
    assert [(u.kind, u.rules) for u in new.unserved] == [
        (UnservedKind.COULD_NOT_FIT, ("max_stops",))
    ]


def test_the_reasons_of_the_routes_kept_are_those_of_the_routes_kept(
    kit, day, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above, but the search returns a worse plan (no routes: every bin left out), so
    the routes being driven are kept, the alert left out. Its reason is read from the
    routes kept (both trucks at their stop limit), not from the search's empty routes
    (where either truck could take it: "the search left it out")."""
    reroute_module = importlib.import_module("optimiser.reroute")

    def worse(residual, params, warm, soft):
        left = tuple(
            Unserved(ref=s.ref, reason="could not fit in any route") for s in residual.stops
        )
        return Plan(status=PlanStatus.FEASIBLE, routes=(), unserved=left)

    day = dataclasses.replace(
        day, vehicles=tuple(dataclasses.replace(v, max_stops=4) for v in day.vehicles)
    )
    plan = kit.solved(day)
    monkeypatch.setattr(reroute_module, "_search_rest", worse)
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, mid_day(plan), [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    assert new.served_refs == {s.ref for s in day.stops}
    assert [(u.ref, u.reason) for u in new.unserved] == [
        ("urgent", "could not fit in any route: stop limit (a, b)")
    ]


def test_reroute_without_any_plan_keeps_the_current_one(kit, day) -> None:
    """The only site closed at 12:00 and a truck is still loaded at 13:00: no plan can
    return it empty, so the plan being driven stands and the alert is reported unserved."""
    day = dataclasses.replace(day, sites=(kit.site(window_s=(0, 12 * 3600)),))
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.used)
    prog = standing_at(route, 2, 13 * 3600)
    assert prog.volume_l > 0
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, [prog], [urgent], FAST)
    assert new.routes == plan.routes
    assert check(with_urgent(day, [urgent]), new) == []
    (u,) = [u for u in new.unserved if u.ref == "urgent"]
    assert "the plan being driven stands" in u.reason


@pytest.fixture
def slow_line(kit) -> tuple[Problem, Plan]:
    """One truck emptying four 30 min bins along a line (1..4 km), then the site at 5 km;
    row 6 at (4, 1) is beside the last bin, spare for an alert. The plan as driven."""
    pts = [(0, 0), (5, 0), (1, 0), (2, 0), (3, 0), (4, 0), (4, 1)]
    stops = tuple(kit.stop(f"b{i}", i, service_s=1800) for i in range(2, 6))
    problem = Problem(
        matrix=kit.matrix(pts), stops=stops, vehicles=(kit.truck("a"),), sites=(kit.site(),)
    )
    return problem, plan_from_sequences(problem, {"a": ["b2", "b3", "b4", "b5", "s1"]})


def _emptied(plan: Plan, ref: str) -> int:
    return next(v.start_s for r in plan.routes for v in r.visits if v.ref == ref)


def test_an_alert_with_a_response_target_is_emptied_by_it(kit, slow_line) -> None:
    """a has emptied b2 (06:31:40) when u, beside b5, overflows. Without a target u goes
    beside b5 (07:38, 2 km of detour); with a target 15 min after the alert the truck goes
    there first (4 km more) and starts it by the target."""
    from optimiser.check import late_s

    problem, plan = slow_line
    (progress,) = [done_as_planned(plan.routes[0], 1)]
    u = kit.stop("u", 6)
    anytime = reroute(problem, plan, [progress], [u], FAST)
    assert check(with_urgent(problem, [u]), anytime) == []
    assert _emptied(anytime, "u") > 7.5 * kit.H
    target = dataclasses.replace(u, due_s=progress.time_s + 900)
    urgent = with_urgent(problem, [target])
    new = reroute(problem, plan, [progress], [target], FAST)
    assert check(urgent, new) == [] and late_s(urgent, new) == {}
    assert kit.route_of(new, "a").bin_refs[:2] == ("b2", "u")


def test_an_alert_on_a_bin_planned_late_brings_it_forward_to_its_target(
    kit, slow_line, warm_starts: list[dict[str, list[str]]]
) -> None:
    """The alert names b5, planned last (07:36:40); its target, 15 min after the alert,
    moves it right after the bin done, in the warm start already (a search that cannot run,
    as OR-Tools' on large days with breaks, keeps the warm start)."""
    from optimiser.check import late_s

    problem, plan = slow_line
    (progress,) = [done_as_planned(plan.routes[0], 1)]
    b5 = dataclasses.replace(problem.stop("b5"), due_s=progress.time_s + 900)
    urgent = with_urgent(problem, [b5])
    new = reroute(problem, plan, [progress], [b5], FAST)
    assert warm_starts == [{"a": ["b5", "b3", "b4", "s1"]}]
    assert check(urgent, new) == [] and late_s(urgent, new) == {}
    assert kit.route_of(new, "a").bin_refs[:2] == ("b2", "b5")


def test_identical_trucks_not_out_yet_keep_their_own_bins(kit, day) -> None:
    """Trucks a and b are alike and both still at the depot when an alert comes: a keeps
    the bins of its planned route (OR-Tools' search handed the whole new day to b, at the
    same cost, as on the dashboard's test town)."""
    plan = kit.solved(day)
    assert any(r.bin_refs for r in plan.routes)  # bins a driver could lose
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, [], [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    for change in route_changes(plan, new).values():
        assert not change.removed, change


def test_a_must_bin_with_no_place_takes_that_of_a_bin_worth_a_prize(
    kit, warm_starts: list[dict[str, list[str]]]
) -> None:
    """Truck a is full (two stops) of bins worth a prize when a re-plan brings a must bin:
    the nearest optional bin makes room in the warm start, and the must bin is emptied."""
    m = kit.matrix([(0, 0), (5, 0), (1, 0), (3, 0), (4, 0)])
    optional = tuple(kit.stop(f"o{i}", i, required=False, prize=400) for i in (2, 3))
    problem = Problem(
        matrix=m,
        stops=optional,
        vehicles=(kit.truck("a", max_stops=2),),
        sites=(kit.site(),),
    )
    plan = plan_from_sequences(problem, {"a": ["o2", "o3", "s1"]})
    assert check(problem, plan) == []
    must = kit.stop("must", 4)
    new = reroute(problem, plan, [], [must], FAST)
    (warm,) = warm_starts
    assert "must" in warm["a"] and "o3" not in warm["a"]
    assert check(with_urgent(problem, [must]), new) == []
    assert "must" in new.served_refs


def test_the_rerouted_day_prices_the_bins_it_leaves_as_a_plan_does(kit, day) -> None:
    """An optional bin no truck can take (food waste) stays out of the day: the rerouted
    plan's objective counts its prize, as the day plan's does."""
    m = kit.matrix([*day.matrix.points, (1, 3)])
    food = kit.stop("food", 11, required=False, prize=900, stream="food")
    problem = dataclasses.replace(day, matrix=m, stops=(*day.stops, food))
    plan = kit.solved(problem)
    assert plan.objective == sum(r.cost for r in plan.routes) + 900
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(problem, plan, mid_day(plan), [urgent], FAST)
    assert check(with_urgent(problem, [urgent]), new) == []
    assert "food" not in new.served_refs
    assert new.objective == sum(r.cost for r in new.routes) + 900


def test_an_alert_that_takes_the_place_of_a_late_must_bin_leaves_it_unserved(kit) -> None:
    """One stop a day: b2 (a must bin whose deadline gave way to a target, 08:00) is
    planned, b1 left out; b1 overflows and its alert outranks b2, which no route can take
    back. b1 is served and b2 is unserved with its reason (the reroute raised
    StopIteration looking for b2's route)."""
    m = kit.matrix([(0, 0), (5, 0), (1, 0), (2, 0)])
    stops = (kit.stop("b1", 2), kit.stop("b2", 3, due_s=8 * kit.H))
    day = Problem(
        matrix=m, stops=stops, vehicles=(kit.truck("a", max_stops=1),), sites=(kit.site("s0", 1),)
    )
    plan = plan_from_sequences(day, {"a": ["b2", "s0"]})
    urgent = [kit.stop("b1", 2, priority=1)]
    new = reroute(day, plan, [], urgent, FAST)
    assert check(with_urgent(day, urgent), new) == []
    assert new.served_refs == {"b1"}
    (left,) = new.unserved
    assert left.ref == "b2" and "alerted bins go first (b1)" in left.reason


def test_with_no_alert_and_the_day_as_planned_no_bin_goes_to_a_dearer_truck(kit) -> None:
    """Both trucks just unloaded as planned; a's drive home is free to OR-Tools (an empty
    route), so the search handed b4 to b, three times dearer a km. The routes being
    driven cost no more than anything it finds: they stand."""

    m = kit.matrix([(0, 0), (10, 0), (9, 0), (10, 1), (9, 1), (10, 0)])
    stops = (kit.stop("b2", 2), kit.stop("b4", 3), kit.stop("b1", 4))
    trucks = (kit.truck("a", cost_per_km=100), kit.truck("b", start=5, end=5, cost_per_km=300))
    day = Problem(matrix=m, stops=stops, vehicles=trucks, sites=(kit.site("s0", 1),))
    plan = plan_from_sequences(day, {"a": ["b2", "s0", "b4", "s0"], "b": ["b1", "s0"]})
    progress = [done_as_planned(plan.routes[0], 2), done_as_planned(plan.routes[1], 2)]
    new = reroute(day, plan, progress, [], FAST)
    assert check(day, new) == []
    assert not any(c.changed for c in route_changes(plan, new).values())
    assert objective(day, new) == objective(day, plan)


def test_an_urgent_stop_already_emptied_today_is_refused_not_lost(kit, day) -> None:
    """b2 was emptied this morning and overflows again: given as urgent under its own ref,
    the visit done would count as serving it and the alert would be lost; the call names
    the fix (a visit ref of its own, as reroute_day gives it)."""
    plan = kit.solved(day)
    progress = mid_day(plan)
    done = progress[0].done[0]
    with pytest.raises(InvalidProblemError, match=rf"\['{done}'\] were already emptied today"):
        reroute(day, plan, progress, [kit.stop(done, 2, priority=1)], FAST)
