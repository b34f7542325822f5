"""Drivers' breaks across a reroute: owed, had while waiting or idle, taken whole, noted
when missed, and a loaded truck cornered between its break and its site."""

from __future__ import annotations

import dataclasses

import pytest

from optimiser.check import check, check_reroute, plan_from_sequences
from optimiser.plan import Plan, VisitKind
from optimiser.problem import Problem
from optimiser.reroute import Progress, plan_stands, with_urgent
from optimiser.solve import solve
from tests.optimiser.conftest import progress_after
from tests.optimiser.reroute.helpers import (
    FAST,
    WORK,
    done_as_planned,
    reroute,
    skipped_as_s1_closes,
)


@pytest.mark.parametrize(("service_h", "breaks"), [(0.01, 0), (1.0, 1)])
def test_a_truck_on_the_road_breaks_only_if_its_rest_of_day_spans_the_window(
    kit, service_h: float, breaks: int
) -> None:
    """Ready at 10:00, break window 10:00-11:30: two quick bins end the day by 10:30, so no
    break (OR-Tools used to break at once, 30 min for nothing); two 1 h bins need it."""
    stops = tuple(kit.stop(f"b{i}", i, service_s=int(service_h * kit.H)) for i in (2, 3))
    truck = kit.truck(
        capacity_l=1000,
        shift_s=(6 * kit.H, 14 * kit.H),
        break_s=1800,
        break_window_s=(10 * kit.H, 11 * kit.H + 1800),
        ready_s=10 * kit.H,
    )
    m = kit.matrix([(0, 0), (5, 0), (1, 0), (2, 0)])
    problem = Problem(matrix=m, stops=stops, vehicles=(truck,), sites=(kit.site(),))
    plan = solve(problem, FAST, engine="ortools")
    assert check(problem, plan) == []
    assert plan.served_refs == {"b2", "b3"}
    assert kit.kinds(plan, "t1").count(VisitKind.BREAK) == breaks


def test_truck_on_the_road_still_owes_its_break_when_rerouted_late_in_the_window(kit) -> None:
    """Out since 06:00, at 11:00 without its break (window 10:00-11:30) and work until
    after 11:30: the rest of its day must hold the break, though 'now' is past 10:30."""
    h = kit.H
    pts = [(0, 0), (5, 0)] + [(0.5 * i, 1) for i in range(1, 9)]
    stops = tuple(kit.stop(f"b{i}", i, service_s=900) for i in range(2, 10))
    brk = {"break_s": 1800, "break_window_s": (10 * h, 11 * h + 1800)}
    day = Problem(
        matrix=kit.matrix(pts),
        stops=stops,
        vehicles=(kit.truck("a", **brk),),
        sites=(kit.site(),),
    )
    plan = kit.solved(day)
    (route,) = plan.routes
    prog = dataclasses.replace(done_as_planned(route, 2), time_s=11 * h, break_taken=False)
    new = reroute(day, plan, [prog], [], FAST)
    assert check(day, new) == []
    assert new.routes[0].visits[-1].end_s > 11 * h + 1800
    (taken,) = [v for v in new.routes[0].visits if v.kind is VisitKind.BREAK]
    assert 11 * h <= taken.start_s <= 11 * h + 1800


def test_a_truck_idle_through_its_break_window_has_had_its_break(kit, day) -> None:
    """Break window 10:00-12:00 (30 min). A truck done with its work by 08:00 waits at its
    last site; at 13:00 an alert sends it out again. It rested while it waited, so the day
    records that break (10:00-10:30) instead of breaking the rule; no break can be placed
    after 13:00 any more."""
    h = kit.H
    trucks = tuple(
        dataclasses.replace(v, break_s=1800, break_window_s=(10 * h, 12 * h)) for v in day.vehicles
    )
    day = dataclasses.replace(day, vehicles=trucks)
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.used)
    assert route.visits[-1].end_s < 10 * h  # the plan needs no break
    n_work = sum(v.kind in WORK for v in route.visits)
    prog = dataclasses.replace(done_as_planned(route, n_work), time_s=13 * h)
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, [prog], [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    assert "urgent" in new.served_refs
    served_by = next(r for r in new.routes if "urgent" in r.bin_refs)
    if served_by.vehicle_ref == route.vehicle_ref:  # the truck that waited went out again
        breaks = [v for v in served_by.visits if v.kind is VisitKind.BREAK]
        assert [(b.start_s, b.end_s) for b in breaks] == [(10 * h, 10 * h + 1800)]


def test_a_truck_that_waited_at_a_bin_for_its_hours_had_its_break_then(kit, day) -> None:
    """Break window 10:00-12:00 (30 min). The truck reaches b3 before 07:00 and waits there
    for its hours, 11:30-14:00; its day ends before 12:00, so the plan needs no break (as
    OR-Tools leaves it: after the route's end, not in the plan). Reported done at 12:05, 26
    minutes after its last unload (too few for the break), an alert sends it out again: its
    day now spans the window, and its break was the wait at b3 (10:00-10:30), not a rule
    broken."""
    h = kit.H
    truck = dataclasses.replace(day.vehicles[0], break_s=1800, break_window_s=(10 * h, 12 * h))
    stops = tuple(
        dataclasses.replace(s, window_s=(11 * h + 1800, 14 * h)) if s.ref == "b3" else s
        for s in day.stops
    )
    day = dataclasses.replace(day, vehicles=(truck,), stops=stops)
    timed = plan_from_sequences(day, {"a": ["b2", "b3", "s1"]})
    (route,) = timed.routes
    route = dataclasses.replace(
        route, visits=tuple(v for v in route.visits if v.kind is not VisitKind.BREAK)
    )
    plan = dataclasses.replace(timed, routes=(route,))
    assert check(day, plan) == []
    b3 = next(v for v in route.visits if v.ref == "b3")
    assert b3.arrival_s < 7 * h and b3.start_s == 11 * h + 1800
    assert route.visits[-1].end_s < 12 * h
    prog = dataclasses.replace(done_as_planned(route, 3), time_s=12 * h + 300)
    assert prog.time_s - route.visits[-2].end_s < 1800
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, [prog], [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    (again,) = new.routes
    assert "urgent" in again.bin_refs
    kinds = [v.ref if v.kind is not VisitKind.BREAK else "break" for v in again.visits]
    assert kinds[:4] == ["a", "b2", "break", "b3"]
    brk = again.visits[2]
    assert (brk.start_s, brk.end_s) == (10 * h, 10 * h + 1800)


def test_a_truck_done_with_its_day_keeps_the_break_it_had_while_it_waited(kit, day) -> None:
    """Break window 10:00-11:40 (30 min). The truck reaches b3 before 07:00 and waits there
    for its hours, 11:30-14:00; the plan it drives has no break (the wait was it) and it is
    home after 11:40. Reported home at 12:30, with no new work, it keeps its plan, with the
    break it had at b3 (10:00-10:30). Before, the plan kept had none: the day broke the
    break rule, and no note said why (seed 36 of a service-day fuzz)."""
    h = kit.H
    hi = 11 * h + 2400
    truck = dataclasses.replace(day.vehicles[0], break_s=1800, break_window_s=(10 * h, hi))
    stops = tuple(
        dataclasses.replace(s, window_s=(11 * h + 1800, 14 * h)) if s.ref == "b3" else s
        for s in day.stops
        if s.ref in ("b2", "b3")  # no bin left to give it
    )
    day = dataclasses.replace(day, vehicles=(truck,), stops=stops)
    timed = plan_from_sequences(day, {"a": ["b2", "b3", "s1"]})
    (route,) = timed.routes
    route = dataclasses.replace(
        route, visits=tuple(v for v in route.visits if v.kind is not VisitKind.BREAK)
    )
    assert route.visits[-1].end_s > hi  # no break: the route breaks the rule as it stands
    plan = dataclasses.replace(timed, routes=(route,))
    home = int(route.visits[-1].location or 0)
    prog = dataclasses.replace(done_as_planned(route, 3), location=home, time_s=12 * h + 1800)
    new = reroute(day, plan, [prog], [], FAST)
    assert check(day, new) == []
    (kept,) = new.routes
    assert [v for v in kept.visits if v.kind is not VisitKind.BREAK] == list(route.visits)
    (brk,) = [v for v in kept.visits if v.kind is VisitKind.BREAK]
    assert (brk.start_s, brk.end_s) == (10 * h, 10 * h + 1800)


def test_a_truck_home_since_morning_keeps_its_plan_through_its_break_window(kit, day) -> None:
    """Break window 10:00-12:00 (30 min). The truck is home by 08:00, its plan needing no
    break, and is reported there at 13:00 with nothing new to do: it keeps its plan as
    driven. The rest found in its wait at home (10:00) is no visit of a day that ended
    before it (inserted before its return, it overlapped the drive home)."""
    h = kit.H
    truck = dataclasses.replace(day.vehicles[0], break_s=1800, break_window_s=(10 * h, 12 * h))
    stops = tuple(s for s in day.stops if s.ref in ("b2", "b3"))
    day = dataclasses.replace(day, vehicles=(truck,), stops=stops)
    plan = plan_from_sequences(day, {"a": ["b2", "b3", "s1"]})
    (route,) = plan.routes
    assert route.visits[-1].end_s < 8 * h
    home = int(route.visits[-1].location or 0)
    prog = dataclasses.replace(done_as_planned(route, 3), location=home, time_s=13 * h)
    new = reroute(day, plan, [prog], [], FAST)
    assert check(day, new) == []
    assert new.routes == (route,)


def test_a_kept_plan_without_room_for_the_rest_found_says_why_it_breaks_the_rule(kit) -> None:
    """Break window 10:00-10:30 (30 min). The plan being driven has no break: the truck
    unloads until 10:25 and is home at 10:40. Reported home at 11:00, it keeps that plan
    (done); the wait since its unloading looked like its break, but the plan has its
    drive home then, so the day still breaks the break rule, and now says why. Before,
    that wait counted the break as taken, and no note said why (seed 233 of a
    service-day fuzz)."""
    h = kit.H
    truck = kit.truck(
        "a", break_s=1800, break_window_s=(10 * h, 10 * h + 1800), shift_s=(9 * h + 1800, 14 * h)
    )
    stops = (kit.stop("b2", 2, service_s=600), kit.stop("b3", 3, service_s=600))
    matrix = kit.matrix([(0, 0), (9, 0), (1, 0), (2, 0)])
    day = Problem(matrix=matrix, stops=stops, vehicles=(truck,), sites=(kit.site(unload_s=1200),))
    bare = dataclasses.replace(truck, break_s=0, break_window_s=None)
    timed = plan_from_sequences(
        dataclasses.replace(day, vehicles=(bare,)), {"a": ["b2", "b3", "s1"]}
    )
    plan = dataclasses.replace(timed, notes=())
    (route,) = plan.routes
    assert route.visits[-2].end_s == 10 * h + 1500 and route.visits[-1].end_s == 10 * h + 2400
    home = int(route.visits[-1].location or 0)
    prog = dataclasses.replace(done_as_planned(route, 3), location=home, time_s=11 * h)
    new = reroute(day, plan, [prog], [], FAST)
    assert new.routes == plan.routes
    assert [v.code for v in check(day, new)] == ["break"]
    assert (
        "a was reported at 11:00, after its break window (10:00-10:30), without its break: "
        "its day to 10:40 breaks the break rule (no break can be placed any more)"
    ) in new.notes


def test_a_finished_truck_with_its_break_planned_last_keeps_one_break(kit) -> None:
    """Break window 10:00-12:00 (30 min). The truck waits at b3 for its hours (09:45-10:40)
    and has its break planned after unloading (11:00-11:30), home at 11:38:20. Reported
    home at 12:30, it keeps that plan: one break, the planned one. The wait at b3 is not
    taken for a second one (seed 9104 of a service-day fuzz: "2 breaks, expected one")."""
    h = kit.H
    truck = kit.truck(
        "a", break_s=1800, break_window_s=(10 * h, 12 * h), shift_s=(9 * h + 1800, 14 * h)
    )
    stops = (
        kit.stop("b2", 2, service_s=600),
        kit.stop("b3", 3, service_s=600, window_s=(10 * h + 2400, 14 * h)),
    )
    matrix = kit.matrix([(0, 0), (5, 0), (1, 0), (2, 0)])
    day = Problem(matrix=matrix, stops=stops, vehicles=(truck,), sites=(kit.site(),))
    bare = dataclasses.replace(truck, break_s=0, break_window_s=None)
    timed = plan_from_sequences(
        dataclasses.replace(day, vehicles=(bare,)), {"a": ["b2", "b3", "s1"]}
    )
    (route,) = timed.routes
    s1, end = route.visits[-2], route.visits[-1]
    at = {"arrival_s": s1.end_s, "start_s": s1.end_s, "end_s": s1.end_s + 1800}
    brk = dataclasses.replace(s1, kind=VisitKind.BREAK, ref="a", location=None, **at)
    later = {f: getattr(end, f) + 1800 for f in ("arrival_s", "start_s", "end_s")}
    route = dataclasses.replace(
        route,
        visits=(*route.visits[:-1], brk, dataclasses.replace(end, **later)),
        duration_s=route.duration_s + 1800,
        cost=route.cost + truck.cost_per_hour * 1800 // 3600,
    )
    plan = dataclasses.replace(timed, routes=(route,), notes=())
    assert check(day, plan) == []
    home = int(end.location or 0)
    prog = dataclasses.replace(done_as_planned(route, 3), location=home, time_s=12 * h + 1800)
    new = reroute(day, plan, [prog], [], FAST)
    assert check(day, new) == []
    assert new.routes == plan.routes


@pytest.fixture
def busy_morning(kit) -> tuple[Problem, Plan]:
    """Break window 10:00-12:00 (30 min). The truck empties four bins of 25 min each from
    09:50, no wait long enough for a break, unloads at s1 until 11:41:40 and is home at
    11:50: its plan needs no break (as OR-Tools leaves it: after the route's end). A spare
    row (6) for an alert."""
    h = kit.H
    pts = [(0, 0), (5, 0), (1, 0), (2, 0), (3, 0), (4, 0), (4, 3)]
    stops = tuple(
        kit.stop(f"b{i}", i, service_s=1500, window_s=(9 * h + 3000, 14 * h) if i == 2 else None)
        for i in range(2, 6)
    )
    truck = kit.truck("a", break_s=1800, break_window_s=(10 * h, 12 * h))
    day = Problem(matrix=kit.matrix(pts), stops=stops, vehicles=(truck,), sites=(kit.site(),))
    bare = dataclasses.replace(truck, break_s=0, break_window_s=None)
    plan = plan_from_sequences(
        dataclasses.replace(day, vehicles=(bare,)), {"a": ["b2", "b3", "b4", "b5", "s1"]}
    )
    assert check(day, plan) == []
    (route,) = plan.routes
    assert route.visits[-2].end_s == 11 * h + 2500 and route.visits[-1].end_s == 11 * h + 3000
    return day, plan


def test_a_truck_reported_past_its_break_window_without_a_break_is_noted(kit, busy_morning) -> None:
    """The busy morning's truck reported at its last site at 12:05, 23 minutes late: its
    day now spans the window with no break, and none can be placed any more. The checker
    reports it, and the plan's notes say why. Reported home at 12:05 instead, its day
    ended as planned: no note."""
    day, plan = busy_morning
    (route,) = plan.routes
    late = dataclasses.replace(done_as_planned(route, 5), time_s=12 * kit.H + 300)
    urgent = kit.stop("urgent", 6)
    new = reroute(day, plan, [late], [urgent], FAST)
    assert "urgent" in new.served_refs
    assert [(v.vehicle_ref, v.code) for v in check(with_urgent(day, [urgent]), new)] == [
        ("a", "break")
    ]
    (note,) = [n for n in new.notes if "break rule" in n]
    assert note.startswith("a was reported at 12:05, after its break window (10:00-12:00)")
    home = dataclasses.replace(late, location=0)
    new = reroute(day, plan, [home], [], FAST)
    assert check(day, new) == []
    assert not [n for n in new.notes if "break rule" in n]


def test_a_truck_reported_away_from_its_last_site_drove_rather_than_rested(
    kit, busy_morning
) -> None:
    """The busy morning's truck unloads at s1 until 11:41:40; at 12:15 it is reported at
    row 6, 400 s' drive from s1. Of its 33 minutes since, 6 min 40 s were driving: no
    30-minute break fitted, and the plan says so. Before, the whole time counted as a wait
    and a break 11:41:40-12:11:40 was recorded. Reported at s1 at 12:15, it did rest."""
    h = kit.H
    day, plan = busy_morning
    (route,) = plan.routes
    assert int(day.matrix.duration_s[1, 6]) == 400
    away = dataclasses.replace(done_as_planned(route, 5), location=6, time_s=12 * h + 900)
    urgent = kit.stop("urgent", 6)
    new = reroute(day, plan, [away], [urgent], FAST)
    assert [(v.vehicle_ref, v.code) for v in check(with_urgent(day, [urgent]), new)] == [
        ("a", "break")
    ]
    (note,) = [n for n in new.notes if "break rule" in n]
    assert note.startswith("a was reported at 12:15, after its break window (10:00-12:00)")
    still = dataclasses.replace(away, location=1)
    new = reroute(day, plan, [still], [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    breaks = [v for v in kit.route_of(new, "a").visits if v.kind is VisitKind.BREAK]
    assert [(b.start_s, b.end_s) for b in breaks] == [(11 * h + 2500, 12 * h + 700)]


def test_the_rest_of_a_day_that_owes_a_break_is_planned_as_if_taken(
    kit, busy_morning, warm_starts: list[dict[str, list[str]]]
) -> None:
    """The busy morning's truck reported at b5, loaded, at 12:04 (after its window, 29 min
    after b5, too few for its break): every rest of its day breaks the break rule, the way
    to its unload too. Its
    rest is planned as if the break were taken: the warm start keeps its unload at s1
    (the rule cut it, and the warm start was empty), the day unloads there, and only the
    break rule is broken, as noted."""
    day, plan = busy_morning
    (route,) = plan.routes
    late = dataclasses.replace(done_as_planned(route, 4), time_s=12 * kit.H + 240)
    new = reroute(day, plan, [late], [], FAST)
    (warm,) = warm_starts
    assert warm == {"a": ["s1"]}
    (again,) = new.routes
    assert [v.ref for v in again.visits if v.kind in WORK][-2:] == ["b5", "s1"]
    assert [(v.vehicle_ref, v.code) for v in check(day, new)] == [("a", "break")]
    assert [n for n in new.notes if "breaks the break rule" in n]


def test_a_truck_on_its_break_after_an_earlier_report_keeps_that_report(kit, busy_morning) -> None:
    """The busy morning's truck reported after b2 at 10:15 with 80 l / 8 kg, not the 100 l /
    10 kg planned, and an alert that keeps it out past 12:00: a reroute goes on from a
    waypoint there with that load and breaks at once (10:15-10:45). Reported again at
    10:20, on that break: the day keeps the waypoint (the earlier report, with its load)
    before the break. Without it the break carried the measured load right after b2, and
    the checker rejected the day."""
    day, plan = busy_morning
    h = kit.H
    (route,) = plan.routes
    first = dataclasses.replace(done_as_planned(route, 1), volume_l=80, weight_kg=8)
    first = dataclasses.replace(first, daily_l=80, daily_kg=8)
    urgent = kit.stop("urgent", 6, service_s=1500)
    day1 = reroute(day, plan, [first], [urgent], FAST)
    day = with_urgent(day, [urgent])
    assert check(day, day1) == []
    assert "urgent" in day1.served_refs
    (route1,) = day1.routes
    kinds = [v.kind for v in route1.visits]
    at = kinds.index(VisitKind.WAYPOINT)
    assert kinds[at + 1] is VisitKind.BREAK and route1.visits[at + 1].start_s == 10 * h + 900
    on_break = dataclasses.replace(first, time_s=10 * h + 1200)
    day2 = reroute(day, day1, [on_break], [], FAST)
    assert check(day, day2) == []
    (route2,) = day2.routes
    assert route2.visits[at : at + 2] == route1.visits[at : at + 2]


def test_a_truck_with_nothing_left_in_its_break_window_breaks_on_its_way_home(
    kit, busy_morning
) -> None:
    """The busy morning's truck reported at its last site at 11:55, nothing left to do: home
    after 12:00, its day would span the window, so it takes its break now (11:55-12:25) and
    the day shows it. It was timed in, but its visit was dropped, as if the truck stayed home
    (the checker: "no break although the route spans the window")."""
    day, plan = busy_morning
    h = kit.H
    (route,) = plan.routes
    prog = dataclasses.replace(done_as_planned(route, 5), time_s=11 * h + 3300)
    new = reroute(day, plan, [prog], [], FAST)
    assert check(day, new) == []
    (again,) = new.routes
    kinds = [v.kind for v in again.visits]
    assert kinds[-2:] == [VisitKind.BREAK, VisitKind.END]
    assert (again.visits[-2].start_s, again.visits[-1].end_s) == (11 * h + 3300, 12 * h + 2000)


def test_a_truck_that_waited_before_an_earlier_reroute_had_its_break_then(kit, day) -> None:
    """Break window 10:00-12:00 (30 min). A truck done by 08:00 waits at its last site; at
    11:25 an alert sends it out on a short trip back by 12:00 (no break needed yet); at 12:10
    a second alert sends it out again. Its day now spans the window, and its break was the
    wait before 11:25: the minutes after its short trip are too few."""
    h = kit.H
    trucks = tuple(
        dataclasses.replace(v, break_s=1800, break_window_s=(10 * h, 12 * h)) for v in day.vehicles
    )
    day = dataclasses.replace(day, vehicles=trucks[:1])
    plan = kit.solved(day)
    (route,) = plan.routes
    assert route.visits[-1].end_s < 10 * h
    n_work = sum(v.kind in WORK for v in route.visits)
    first = kit.stop("first", 10, volume_l=100, weight_kg=10)
    prog = dataclasses.replace(done_as_planned(route, n_work), time_s=11 * h + 1500)
    day1 = with_urgent(day, [first])
    plan1 = reroute(day, plan, [prog], [first], FAST)
    assert check(day1, plan1) == []
    (route1,) = plan1.routes
    assert "first" in route1.bin_refs and route1.visits[-1].end_s <= 12 * h
    assert VisitKind.BREAK not in [v.kind for v in route1.visits]
    n_work1 = sum(v.kind in WORK for v in route1.visits)
    second = kit.stop("second", 6, volume_l=100, weight_kg=10)
    prog2 = dataclasses.replace(done_as_planned(route1, n_work1), time_s=12 * h + 600)
    plan2 = reroute(day1, plan1, [prog2], [second], FAST)
    assert check(with_urgent(day1, [second]), plan2) == []
    (route2,) = plan2.routes
    assert "second" in route2.bin_refs
    (brk,) = [v for v in route2.visits if v.kind is VisitKind.BREAK]
    assert 10 * h <= brk.start_s and brk.end_s <= 11 * h + 1500


def test_a_truck_on_its_planned_break_when_rerouted_takes_it_whole(kit, day) -> None:
    """Truck a's 30 min break, to start 06:05-06:10, is planned right after b3
    (06:05:20-06:35:20: b4 opens at 06:40). At 06:20 an alert comes: a stands at b3, on its
    break. The day keeps that break and a goes on at its end. Before, the break was
    dropped (not done by the last visit done, its window closed by now): a was sent on at
    once, mid-break, and the rerouted day broke the break rule."""
    h = kit.H
    a = dataclasses.replace(
        day.vehicles[0], break_s=1800, break_window_s=(6 * h + 300, 6 * h + 600)
    )
    later = {"b4", "b5"}
    stops = tuple(
        dataclasses.replace(s, window_s=(6 * h + 2400, 12 * h) if s.ref in later else None)
        for s in day.stops
        if s.ref in {"b2", "b3", *later}
    )
    day = dataclasses.replace(day, stops=stops, vehicles=(a,))
    plan = plan_from_sequences(day, {"a": ["b2", "b3", "b4", "s1", "b5", "s1"]})
    assert check(day, plan) == []
    (route,) = plan.routes
    brk = route.visits[3]
    assert brk.kind is VisitKind.BREAK and route.visits[2].ref == "b3"
    prog = dataclasses.replace(done_as_planned(route, 2), time_s=brk.start_s + 900)
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, [prog], [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    assert "urgent" in new.served_refs
    visits = new.routes[0].visits
    assert visits[:4] == route.visits[:4]
    assert all(v.start_s >= brk.end_s for v in visits[4:])


def test_a_truck_that_went_on_without_its_planned_break_did_its_visits_after_it_sooner(
    kit, break_then_unload
) -> None:
    """The crew went on without the break (``break_taken`` False) and reported its last
    unloading by 10:30, when s1 closes. The day keeps b3 and the unloading, done, sooner:
    b3 at 10:05 (its opening; the drive has the truck there at 10:01:40), the unloading
    10:20-10:25, inside s1's hours, then home; done by 10:38:20, before the window's end,
    it needs no break. Before, the truck, done with its work where planned, kept its
    planned route: the break, and the unloading after s1 closed."""
    closed, plan, skipped = skipped_as_s1_closes(kit, break_then_unload)
    h = kit.H
    (route,) = plan.routes
    new = reroute(closed, plan, [skipped], [], FAST)
    assert check(closed, new) == []
    (again,) = new.routes
    assert [(v.ref, v.arrival_s, v.start_s, v.end_s) for v in again.visits[1:4]] == [
        ("b2", route.visits[1].arrival_s, 9 * h + 3000, 10 * h),
        ("b3", 10 * h + 100, 10 * h + 300, 10 * h + 900),
        ("s1", 10 * h + 1200, 10 * h + 1200, 10 * h + 1500),
    ]
    assert again.visits[-1].kind is VisitKind.END
    assert VisitKind.BREAK not in [v.kind for v in again.visits]


def _cornered(kit, shift_end_s: int) -> tuple[Problem, Plan, Progress]:
    """Truck a (shift to ``shift_end_s``, 30 min break in 10:00-11:00) reported at 10:40,
    b2 and b3 emptied, loaded; s1 (5 km on) closes at 11:00 and unloading takes 30 min: a
    break first has it at s1 after it closed, unloading first has the break start after its
    window. The day, its plan and the report."""
    h = kit.H
    stops = (kit.stop("b2", 2), kit.stop("b3", 3))
    truck = kit.truck(
        "a", break_s=1800, break_window_s=(10 * h, 11 * h), shift_s=(6 * h, shift_end_s)
    )
    site = kit.site(window_s=(0, 11 * h), unload_s=1800)
    matrix = kit.matrix([(0, 0), (5, 0), (1, 0), (2, 0)])
    day = Problem(matrix=matrix, stops=stops, vehicles=(truck,), sites=(site,))
    plan = plan_from_sequences(day, {"a": ["b2", "b3", "s1"]})
    assert check(day, plan) == []
    b3 = plan.routes[0].visits[2]
    late = progress_after("a", ["b2", "b3"], b3, late_s=10 * h + 2400 - b3.end_s)
    return day, plan, late


def test_a_loaded_truck_that_cannot_both_unload_and_break_in_time_unloads_first(
    kit, warm_starts: list[dict[str, list[str]]]
) -> None:
    """The truck of ``_cornered`` (shift to 14:00) unloads (10:45-11:15) and breaks right
    after, with a note that its day breaks the break rule (a site's hours cannot be kept
    late; a break can), and the day goes on (check_reroute). Before, no plan went on: the
    plan being driven stood, and the truck went home loaded. The search starts from its
    planned unloading (checked against its stretched break window; against the window as
    it was, the warm start had it go home loaded)."""
    h = kit.H
    day, plan, late = _cornered(kit, 14 * h)
    new = reroute(day, plan, [late], [], FAST)
    assert warm_starts[0] == {"a": ["s1"]}
    assert not plan_stands(new), new.notes
    assert [v.code for v in check(day, new)] == ["break"]
    assert check_reroute(day, plan, new, [late]) == []
    (again,) = new.routes
    rest = [(v.kind, v.start_s) for v in again.visits if v.start_s >= late.time_s]
    assert rest[:2] == [(VisitKind.DISPOSAL, 10 * h + 2700), (VisitKind.BREAK, 11 * h + 900)]
    assert (
        "a cannot both unload in a site's hours and start its break by 11:00: it unloads "
        "first and starts its break by 11:15, so its day breaks the break rule"
    ) in new.notes


@pytest.mark.parametrize("at_min", [0, 10, 40], ids=["starts it", "on it", "after it"])
def test_a_late_break_given_by_an_earlier_reroute_is_said_again(kit, at_min: int) -> None:
    """The truck of ``_cornered`` unloaded (10:45-11:15) and breaks after its window, as
    a reroute gave it. Rerouted again as it starts its break, on it, or after it: the
    break stands as taken and the day says again why it breaks the break rule. Before,
    only the plan that gave it the break said so (seed 57 of a service-day fuzz)."""
    h = kit.H
    day, plan, late = _cornered(kit, 14 * h)
    first = reroute(day, plan, [late], [], FAST)
    (route,) = first.routes
    unload = next(v for v in route.visits if v.kind is VisitKind.DISPOSAL)
    brk = next(v for v in route.visits if v.kind is VisitKind.BREAK)
    done = dataclasses.replace(
        late,
        done=(*late.done, unload.ref),
        location=int(unload.location or 0),
        time_s=brk.start_s + 60 * at_min,
        volume_l=0,
        weight_kg=0,
        break_taken=at_min >= 30,
    )
    again = reroute(day, first, [done], [], FAST)
    assert [v.code for v in check(day, again)] == ["break"]
    assert check_reroute(day, first, again, [done]) == []
    assert (
        "a took its break at 11:15, outside its break window (10:00-11:00): its day breaks "
        "the break rule"
    ) in again.notes


def test_a_cornered_truck_whose_late_break_would_pass_its_shift_end_goes_home(kit) -> None:
    """As above, but the shift ends at 11:50: a break after unloading would have the truck
    home at 11:53:20. It unloads and ends its day (home at 11:23:20) without a break, with
    a note saying so (seed 9012 of the session-53 fuzz: the plan stood, loaded home)."""
    h = kit.H
    day, plan, late = _cornered(kit, 11 * h + 3000)
    new = reroute(day, plan, [late], [], FAST)
    assert not plan_stands(new), new.notes
    assert [v.code for v in check(day, new)] == ["break"]
    assert check_reroute(day, plan, new, [late]) == []
    (again,) = new.routes
    assert [v.kind for v in again.visits if v.start_s >= late.time_s] == [
        VisitKind.DISPOSAL,
        VisitKind.END,
    ]
    assert again.visits[-1].end_s == 11 * h + 1400
    assert (
        "a cannot both unload in a site's hours and start its break by 11:00: it unloads "
        "and ends its day without it, so its day breaks the break rule"
    ) in new.notes


def test_an_unloading_done_sooner_without_the_break_stays_where_the_site_was_then(
    kit, break_then_unload
) -> None:
    """s1 moved at 10:45 (``since_s``: 6 km out before, 5 km now) and the plan of then has
    the truck unload at its new place at 10:46:40, after the break. The crew went on without
    the break and reported the unloading done: the day keeps it sooner, but not before
    10:45, when s1 was where the truck unloaded (b3 10:05-10:15, at s1 10:20, unloading
    10:45-10:50). Before, it was timed 10:20-10:25, before s1 moved: an unloading at the
    new place while the site was at the old one, which the checker rejects ("location";
    the service's busy days, Heidelberg seed 635)."""
    day, _ = break_then_unload
    h = kit.H
    moved_at = 10 * h + 2700
    old = kit.site(location=4)
    site = kit.site(location=1, since_s=moved_at, before=old)
    matrix = kit.matrix([(0, 0), (5, 0), (1, 0), (2, 0), (6, 0)])
    moved = dataclasses.replace(day, matrix=matrix, sites=(site,))
    plan = plan_from_sequences(moved, {"a": ["b2", "b3", "s1"]})
    assert check(moved, plan) == []
    (route,) = plan.routes
    assert route.visits[4].start_s == 10 * h + 2800  # after the break, where s1 is now
    done = progress_after("a", ["b2", "b3", "s1"], route.visits[4])
    new = reroute(moved, plan, [done], [], FAST)
    assert check(moved, new) == []
    (again,) = new.routes
    assert [(v.ref, v.arrival_s, v.start_s, v.end_s) for v in again.visits[2:4]] == [
        ("b3", 10 * h + 100, 10 * h + 300, 10 * h + 900),
        ("s1", 10 * h + 1200, moved_at, moved_at + 300),
    ]
