"""A reroute from where each truck is: between stops, out sooner or late, fuller than
planned, over its limits, sent home, away from its route, loaded with no site to take it."""

from __future__ import annotations

import dataclasses

from optimiser.check import check, check_reroute, check_route, plan_from_sequences
from optimiser.costs import route_cost
from optimiser.plan import Plan, PlanStatus, Route, Visit, VisitKind
from optimiser.problem import Problem, Stop
from optimiser.reroute import Progress, plan_stands, with_urgent
from tests.optimiser.reroute.helpers import FAST, WORK, done_as_planned, reroute, standing_at


def test_truck_between_stops_gets_a_waypoint(kit, day) -> None:
    """The truck reports from the next bin's row, 1 s later than it could have arrived."""
    plan = kit.solved(day)
    route = next(r for r in plan.routes if len(r.bin_refs) >= 2)
    work = [v for v in route.visits if v.kind in WORK]
    first, nxt = work[0], work[1]
    travel = int(day.matrix.duration_s[first.location, nxt.location])
    p = Progress(
        vehicle_ref=route.vehicle_ref,
        done=(first.ref,),
        location=nxt.location,
        time_s=first.end_s + travel + 1,
        volume_l=first.volume_l,
        weight_kg=first.weight_kg,
        daily_l=first.daily_l,
        daily_kg=first.daily_kg,
    )
    new = reroute(day, plan, [p], [], FAST)
    assert check(day, new) == []
    kinds = kit.kinds(new, route.vehicle_ref)
    assert VisitKind.WAYPOINT in kinds


def test_a_truck_out_sooner_than_planned_with_nothing_done_set_out_by_its_report(kit) -> None:
    """The plan has truck a leave its depot at 08:00 for bins open from 08:15; at 07:40 its
    crew reports emptying a bin off its route (a waypoint there then): the rerouted day has
    it set out by 07:40, not at 08:00 after being out. Before, its departure stayed 08:00,
    after the waypoint: visits overlapping in time."""
    pts = [(0, 0), (5, 0), (1, 0), (2, 0), (3, 0)]
    opens = (8 * kit.H + 900, 12 * kit.H)
    stops = tuple(kit.stop(f"b{i}", i, window_s=opens) for i in (2, 3))
    day = Problem(
        matrix=kit.matrix(pts), stops=stops, vehicles=(kit.truck("a"),), sites=(kit.site(),)
    )
    plan = kit.solved(day)
    route = kit.route_of(plan, "a")
    start = route.visits[0]
    late = dataclasses.replace(start, arrival_s=8 * kit.H, start_s=8 * kit.H, end_s=8 * kit.H)
    leaves_at_eight = dataclasses.replace(route, visits=(late, *route.visits[1:]))
    plan = dataclasses.replace(plan, routes=(leaves_at_eight,))
    out = Progress(vehicle_ref="a", done=(), location=4, time_s=7 * kit.H + 2400)
    new = reroute(day, plan, [out], [], FAST)
    assert check(day, new) == []
    visits = kit.route_of(new, "a").visits
    assert [v.kind for v in visits[:2]] == [VisitKind.START, VisitKind.WAYPOINT]
    assert visits[0].end_s <= out.time_s == visits[1].start_s


def test_a_truck_done_with_all_its_work_keeps_its_planned_route(kit, day) -> None:
    """Every bin and unloading of a truck reported done, the reroute hours later, the truck
    home (as the service reports it once its planned return has passed): its route is the
    plan as driven (its return to the depot included), not a wait until the reroute."""
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.bin_refs)
    n_work = len([v for v in route.visits if v.kind in WORK])
    done = done_as_planned(route, n_work)
    home = route.visits[-1]
    later = dataclasses.replace(done, location=home.location, time_s=home.end_s + 2 * kit.H)
    new = reroute(day, plan, [later], [], FAST)
    assert check(day, new) == []
    assert kit.route_of(new, route.vehicle_ref) == route


def test_a_truck_out_of_its_depot_has_paid_its_fixed_cost(kit) -> None:
    """Left the depot (a reported position), nothing done yet: using it costs no fixed cost;
    still at the depot, it does."""
    from optimiser.reroute_done import _residual_vehicle

    truck = kit.truck(fixed_cost=5000)
    out = Progress(vehicle_ref="t1", done=(), location=3, time_s=8 * kit.H)
    home = Progress(vehicle_ref="t1", done=(), location=truck.start, time_s=8 * kit.H)
    assert _residual_vehicle(truck, out, 8 * kit.H, 0).fixed_cost == 0
    assert _residual_vehicle(truck, home, 8 * kit.H, 0).fixed_cost == 5000


def test_truck_running_late_goes_home_and_the_day_keeps_its_done_bins(
    kit, day, warm_starts: list[dict[str, list[str]]]
) -> None:
    """At 13:55, loaded, 5 min before its shift ends: it can only unload and go home. The
    search starts from that (its shift stretched to the soonest return: its planned next
    unloading kept); before, its warm start was checked against its shift as it was, and
    had it go home loaded, with no unloading."""
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.used)
    done = [v.ref for v in route.visits if v.kind is VisitKind.BIN][:2]
    prog = standing_at(route, 2, 13 * 3600 + 55 * 60)
    assert prog.volume_l > 0
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, [prog], [urgent], FAST)
    assert new.status is not PlanStatus.NO_SOLUTION
    late = kit.route_of(new, route.vehicle_ref)
    assert list(late.bin_refs) == done
    assert [v.kind for v in late.visits[-2:]] == [VisitKind.DISPOSAL, VisitKind.END]
    assert late.visits[-2].start_s >= prog.time_s
    assert [(x.vehicle_ref, x.code) for x in check(with_urgent(day, [urgent]), new)] == [
        (route.vehicle_ref, "shift")
    ]
    assert any(f"{route.vehicle_ref} cannot be back" in n for n in new.notes)
    assert "urgent" in {u.ref for u in new.unserved}
    assert warm_starts[0][route.vehicle_ref] == [late.visits[-2].ref]


def test_truck_near_a_site_not_open_yet_unloads_at_an_open_one_and_is_not_late(kit) -> None:
    """Loaded at 13:00 next to a site that opens at 15:00; the other site, open all day,
    still gets it home by 14:00: no late note, no overrun."""
    h = kit.H
    pts = [(0, 0), (2.5, 0), (5, 0), (2, 0), (1, 1)]
    problem = Problem(
        matrix=kit.matrix(pts),
        stops=(kit.stop("b", 3, volume_l=300), kit.stop("c", 4, volume_l=300)),
        vehicles=(kit.truck("a", capacity_l=1000),),
        sites=(kit.site("near", 1, window_s=(15 * h, 21 * h)), kit.site("open", 2)),
    )
    plan = plan_from_sequences(problem, {"a": ["b", "c", "open"]})
    assert check(problem, plan) == []
    prog = standing_at(plan.routes[0], 1, 13 * h)  # "b" done, at its place, 300 l on board
    new = reroute(problem, plan, [prog], [], FAST)
    assert check(problem, new) == []
    assert not any("cannot be back" in n for n in new.notes)
    unloads = [v.ref for v in new.routes[0].visits if v.kind is VisitKind.DISPOSAL]
    assert unloads == ["open"]


def test_a_truck_fuller_than_planned_unloads_before_its_next_bin(kit, day) -> None:
    """The crew found the first two bins fuller than forecast: the truck carries 900 l, not
    the planned 600 l, so its next 300 l bin no longer fits (1000 l truck). The rest of its
    day starts with an unloading, the day's record restates the load where it was measured,
    and the checker passes the full day."""
    plan = kit.solved(day)
    route = next(r for r in plan.routes if len(r.bin_refs) >= 3)
    prog = done_as_planned(route, 2)
    assert prog.volume_l == 600
    measured = dataclasses.replace(prog, volume_l=900, weight_kg=90, daily_l=900, daily_kg=90)
    new = reroute(day, plan, [measured], [], FAST)
    assert check(day, new) == []
    visits = kit.route_of(new, route.vehicle_ref).visits
    cut = next(i for i, v in enumerate(visits) if v.ref == prog.done[-1]) + 1
    assert visits[:cut] == route.visits[:cut]  # the done prefix as planned
    rest = [v for v in visits[cut:] if v.kind is not VisitKind.BREAK]
    assert rest[0].kind is VisitKind.WAYPOINT
    assert (rest[0].volume_l, rest[0].weight_kg, rest[0].daily_l) == (900, 90, 900)
    assert rest[1].kind is VisitKind.DISPOSAL
    assert any("900 l" in n and "600 l" in n for n in new.notes), new.notes


def test_a_truck_reported_carrying_more_than_it_holds_is_taken_as_full(kit, day) -> None:
    """Fills found add up to 1200 l in a 1000 l truck (the crew overestimated): no error,
    the truck is full, and a note says what was reported."""
    plan = kit.solved(day)
    route = next(r for r in plan.routes if len(r.bin_refs) >= 3)
    prog = done_as_planned(route, 2)
    over = dataclasses.replace(prog, volume_l=1200, weight_kg=120, daily_l=1200, daily_kg=120)
    new = reroute(day, plan, [over], [], FAST)
    assert check(day, new) == []
    visits = kit.route_of(new, route.vehicle_ref).visits
    waypoint = next(v for v in visits if v.kind is VisitKind.WAYPOINT)
    assert (waypoint.volume_l, waypoint.weight_kg, waypoint.daily_l) == (1000, 120, 1200)
    assert any("1200 l" in n and "taken as full" in n for n in new.notes), new.notes


def test_a_truck_reported_over_its_daily_limit_collects_no_more_today(kit, day) -> None:
    """A 900 kg daily limit; the fills found add up to 950 kg by its second bin (the crew
    overestimated, or the forecast was low): no rule broken by the report itself, the truck
    takes no more bins today, and a note says what was reported."""
    trucks = tuple(dataclasses.replace(v, max_daily_kg=900) for v in day.vehicles)
    day = dataclasses.replace(day, vehicles=trucks)
    plan = kit.solved(day)
    route = next(r for r in plan.routes if len(r.bin_refs) >= 3)
    prog = done_as_planned(route, 2)
    over = dataclasses.replace(prog, weight_kg=950, daily_kg=950)
    new = reroute(day, plan, [over], [], FAST)
    assert check(day, new) == []
    visits = kit.route_of(new, route.vehicle_ref).visits
    waypoint = next(v for v in visits if v.kind is VisitKind.WAYPOINT)
    assert waypoint.daily_kg == 900
    after = visits[visits.index(waypoint) + 1 :]
    assert not [v for v in after if v.kind is VisitKind.BIN]
    assert any("950 kg" in n and "daily limit" in n for n in new.notes), new.notes


def test_a_truck_not_out_whose_shift_starts_later_now_leaves_by_it(kit, day) -> None:
    """Truck a has nothing to do in the plan being driven (it leaves and is back at
    06:00), nor after it: its shift now starts at 10:00, and it is rerouted at 07:00, home:
    its day does not start before 10:00. Before, a truck not out with no work kept its
    plan, which left at 06:00, before its shift."""
    h = kit.H
    stops: tuple[Stop, ...] = ()
    truck = dataclasses.replace(day.vehicles[0], shift_s=(6 * h, 14 * h))
    day = dataclasses.replace(day, vehicles=(truck,), stops=stops)
    plan = plan_from_sequences(day, {"a": []})
    later = dataclasses.replace(
        day, vehicles=(dataclasses.replace(truck, shift_s=(10 * h, 14 * h)),)
    )
    idle = Progress(vehicle_ref="a", done=(), location=truck.start, time_s=7 * h)
    new = reroute(later, plan, [idle], [], FAST)
    assert check(later, new) == []
    (again,) = new.routes
    assert again.visits[0].start_s >= 10 * h


def test_a_truck_sent_home_unloads_where_it_is_home_first(kit) -> None:
    """A loaded truck sent home from where it is (e.g. the plan stands, and it was reported
    away from its route), 10 min before its shift end: the site nearest by the drive takes
    15 min to unload, another 200 s farther none. It unloads at that one and is home in
    time; it went home loaded, the nearest site alone tried."""
    from optimiser.reroute_stands import _way_home

    h = kit.H
    truck = kit.truck(
        "t", start=3, end=0, initial_volume_l=500, initial_weight_kg=50, ready_s=10 * h
    )
    truck = dataclasses.replace(truck, shift_s=(6 * h, 10 * h + 600))
    sites = (kit.site("near", 1, unload_s=900), kit.site("quick", 2, unload_s=0))
    matrix = kit.matrix([(0, 0), (1, 0), (0, 2), (1, 1)])
    day = Problem(matrix=matrix, stops=(), vehicles=(truck,), sites=sites)
    way = _way_home(day, truck)
    assert [v.ref for v in way.visits if v.kind is VisitKind.DISPOSAL] == ["quick"]
    assert check_route(day, truck, way) == []
    assert way.visits[-1].end_s == 10 * h + 400


def test_bins_a_full_truck_can_no_longer_take_as_planned_stay_in_the_day(
    kit, day, warm_starts
) -> None:
    """Truck a's crew found b2 and b3 fuller than forecast: a is full (1000 l) with b4,
    its bins after it and b9 of b's to come. The warm start kept a's rest only up to the
    first bin that no longer fits (none: an unloading), so b4 and b5 were left to the
    search, which has to add a bin and an unloading at once to place them, and left b4
    out ("a could take it (try a longer time limit)"): a must bin dropped. They are put
    back where they fit, in a's route first (its driver keeps them; the search may still
    find a strictly cheaper day)."""
    plan = plan_from_sequences(
        day, {"a": ["b2", "b3", "b4", "s1", "b5", "s1"], "b": ["b6", "b7", "b8", "s1", "b9", "s1"]}
    )
    a, b = done_as_planned(plan.routes[0], 2), done_as_planned(plan.routes[1], 2)
    full = dataclasses.replace(a, volume_l=1000, weight_kg=100, daily_l=1000, daily_kg=100)
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, [full, b], [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    assert new.unserved == ()
    assert {"b4", "b5"} <= set(warm_starts[0]["a"])


def test_a_truck_reported_before_its_last_visit_done_was_planned_to_end_goes_on_after_it(
    kit, day
) -> None:
    """The crew emptied b3 faster than planned and the truck reports it done 60 s before
    the planned end of that visit. The done visits stand as planned, so the rest of its
    day starts when the last of them ends; it started at the reported time, before that
    end, and the rerouted day broke the travel rule (arrives before it can)."""
    plan = plan_from_sequences(
        day, {"a": ["b2", "b3", "b4", "s1", "b5", "s1"], "b": ["b6", "b7", "b8", "s1", "b9", "s1"]}
    )
    route = plan.routes[0]
    prog = done_as_planned(route, 2)
    early = dataclasses.replace(prog, time_s=prog.time_s - 60)
    new = reroute(day, plan, [early, done_as_planned(plan.routes[1], 2)], [], FAST)
    assert check(day, new) == []
    visits = kit.route_of(new, "a").visits
    assert visits[:3] == route.visits[:3]
    assert all(v.start_s >= prog.time_s for v in visits[3:])


def test_a_must_bin_the_plan_being_driven_left_out_goes_in_where_a_truck_has_room(kit, day) -> None:
    """b5 and b9 (must bins) are in no route of the plan being driven (a re-plan added
    them, or the fleet was full when it was made). Both trucks have emptied their three
    bins and head for the site, with the day ahead of them: the reroute serves b5 and b9.
    Before, they were left to the search alone, which must add a bin and an unloading at
    once to place one, and left both out ('the search left it out, but a could take it')."""
    plan = plan_from_sequences(day, {"a": ["b2", "b3", "b4", "s1"], "b": ["b6", "b7", "b8", "s1"]})
    assert {u.ref for u in plan.unserved} == {"b5", "b9"}
    progress = [done_as_planned(r, 3) for r in plan.routes]
    new = reroute(day, plan, progress, [], FAST)
    assert check(day, new) == []
    assert new.unserved == ()


def test_a_truck_reported_home_after_its_shift_end_ends_its_day_then(kit, day) -> None:
    """Truck a emptied b2 and b3, then went home and unloaded there (nothing on board); it
    is reported at its depot at 15:00, an hour after its shift end. Its day ends where it
    is, then: the checker reports the overrun, and nothing else. Before, its END was put
    at 14:00, after a waypoint at 15:00: a day that went back in time (overlap, travel)."""
    plan = plan_from_sequences(
        day, {"a": ["b2", "b3", "b4", "s1", "b5", "s1"], "b": ["b6", "b7", "b8", "s1", "b9", "s1"]}
    )
    route = plan.routes[0]
    home = Progress(vehicle_ref="a", done=("b2", "b3"), location=0, time_s=15 * kit.H)
    new = reroute(day, plan, [home, done_as_planned(plan.routes[1], 6)], [], FAST)
    assert [(v.vehicle_ref, v.code) for v in check(day, new)] == [("a", "shift")]
    visits = kit.route_of(new, "a").visits
    assert visits[:3] == route.visits[:3]
    assert [v.kind for v in visits[3:]] == [VisitKind.WAYPOINT, VisitKind.END]
    assert visits[-1].end_s == 15 * kit.H


def _joined(kit) -> tuple[Problem, Plan]:
    """Truck a's day planned alone; truck b joined the fleet since (no route in the plan)."""
    pts = [(0, 0), (5, 0), (1, 0), (2, 0), (3, 0), (4, 3)]
    stops = tuple(kit.stop(f"b{i}", i) for i in (2, 3, 4))
    alone = Problem(
        matrix=kit.matrix(pts), stops=stops, vehicles=(kit.truck("a"),), sites=(kit.site(),)
    )
    plan = kit.solved(alone)
    return dataclasses.replace(alone, vehicles=(kit.truck("a"), kit.truck("b"))), plan


def test_a_truck_with_no_route_reported_away_goes_on_from_its_position(kit) -> None:
    """Truck b has no route in the plan being driven and is reported at row 5 (4 km east,
    3 km north) at 09:00, nothing done, when an alert comes for a bin there: its day sets
    out from its depot by then (the checker's START) and goes on from its position (a
    waypoint there then). Before, its route began with a START at row 5, which the checker
    rejects (a START away from the truck's depot)."""
    day, plan = _joined(kit)
    out = Progress(vehicle_ref="b", done=(), location=5, time_s=9 * kit.H)
    urgent = kit.stop("u", 5)
    new = reroute(day, plan, [out], [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    visits = kit.route_of(new, "b").visits
    assert [(v.kind, v.location) for v in visits[:2]] == [
        (VisitKind.START, 0),
        (VisitKind.WAYPOINT, 5),
    ]
    assert visits[0].end_s <= out.time_s == visits[1].start_s


def test_the_oracle_sees_a_truck_reported_away_set_out_from_its_depot_instead(kit) -> None:
    """``check_reroute`` finds a rerouted day in which truck b, with no route in the plan
    being driven (or with its route not started) and reported at row 5 at 09:00, sets out
    from its depot at 09:00 as if it had never left: its rest of the day does not go on
    from where it is. Before, it found nothing."""
    day, plan = _joined(kit)
    out = Progress(vehicle_ref="b", done=(), location=5, time_s=9 * kit.H)
    home = dataclasses.replace(day.vehicles[1], ready_s=9 * kit.H)
    at_depot = dataclasses.replace(day, vehicles=(day.vehicles[0], home))
    from_depot = kit.route_of(plan_from_sequences(at_depot, {"b": ["b2"]}), "b")
    new = dataclasses.replace(plan, routes=(kit.route_of(plan, "a"), from_depot))
    found = check_reroute(day, plan, new, [out])
    assert [(v.vehicle_ref, v.code) for v in found] == [("b", "done_place")]
    unused = plan_from_sequences(day, {"a": kit.route_of(plan, "a").bin_refs})
    found = check_reroute(day, unused, new, [out])  # its START not as driven, too
    assert ("b", "done_place") in [(v.vehicle_ref, v.code) for v in found]


def test_a_loaded_truck_whose_streams_no_site_takes_comes_back_loaded_with_a_note(kit) -> None:
    """Truck a collects residual and paper; the only site takes residual alone. Reported
    at row 5 at 09:00 with 300 l on board, it cannot unload anywhere: it comes back to its
    depot loaded, with no more bins (the checker reports that, as it must), a note says
    why, and truck b's day goes on. Before, no plan went on from the trucks' positions:
    the plan being driven stood, truck a in it at its depot."""
    pts = [(0, 0), (5, 0), (1, 0), (2, 0), (3, 0), (4, 3)]
    both = frozenset({"residual", "paper"})
    stops = (kit.stop("b2", 2), kit.stop("b3", 3))
    trucks = (kit.truck("a", streams=both), kit.truck("b"))
    day = Problem(matrix=kit.matrix(pts), stops=stops, vehicles=trucks, sites=(kit.site(),))
    plan = kit.solved(day)
    loaded = Progress(
        vehicle_ref="a", done=(), location=5, time_s=9 * kit.H, volume_l=300, weight_kg=30
    )
    new = reroute(day, plan, [loaded], [], FAST)
    assert not plan_stands(new)
    assert new.served_refs == {"b2", "b3"}
    assert [(v.vehicle_ref, v.code) for v in check(day, new)] == [("a", "return_empty")]
    assert kit.route_of(new, "a").bin_refs == ()
    visits = kit.route_of(new, "a").visits
    assert (visits[-1].kind, visits[-1].location) == (VisitKind.END, 0)
    assert (visits[-1].volume_l, visits[-1].weight_kg) == (300, 30)
    assert [n for n in new.notes if n.startswith("a ")] == [
        "a carries 300 l / 30 kg, but no disposal site takes every stream it collects "
        "(paper, residual): it comes back to its depot loaded, with no more bins"
    ]


def test_a_truck_done_reported_at_its_last_visit_after_its_planned_return_drives_home(
    kit, day
) -> None:
    """Every bin and unloading of a truck reported done, and the truck reported at its last
    visit (the site) an hour after it was planned to be home: it drives home from there,
    then. Reported there before its planned return, it keeps its plan. Before, it kept its
    planned return, an hour before the report (as if it were home already), and
    ``check_reroute`` let it."""
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.bin_refs)
    n_work = len([v for v in route.visits if v.kind in WORK])
    done = done_as_planned(route, n_work)
    late = dataclasses.replace(done, time_s=route.visits[-1].arrival_s + kit.H)
    new = reroute(day, plan, [late], [], FAST)
    assert check(day, new) == []
    visits = kit.route_of(new, route.vehicle_ref).visits
    assert visits[:-1] == route.visits[:-1]
    drive = int(day.matrix.duration_s[done.location, route.visits[-1].location])
    assert (visits[-1].kind, visits[-1].location) == (VisitKind.END, route.visits[-1].location)
    assert visits[-1].arrival_s == late.time_s + drive
    kept = check_reroute(day, plan, plan, [late])  # the oracle: its planned return is past
    assert [(v.vehicle_ref, v.code) for v in kept] == [(route.vehicle_ref, "past")]
    in_time = dataclasses.replace(done, time_s=route.visits[-1].arrival_s - 1)
    assert kit.route_of(reroute(day, plan, [in_time], [], FAST), route.vehicle_ref) == route


def test_an_idle_truck_whose_shift_was_cut_short_leaves_its_old_empty_route(kit, day) -> None:
    """Truck g (glass: nothing here for it) has its empty route at its shift end, as an
    engine may place an idle truck's; booked out of service later today, its shift now
    ends three hours sooner. The reroute kept that route as if g had finished its day
    there, and the plan broke g's shift ("returns at 14:00, after its shift end 11:00";
    the service's random days on Heidelberg, seed 10). Now g's day starts where it is."""
    glass = kit.truck("g", streams=frozenset({"glass"}))
    solo = dataclasses.replace(day, vehicles=(day.vehicles[0],))
    planned = kit.solved(solo)
    end = kit.SHIFT[1]
    idle = Route(
        vehicle_ref="g",
        visits=tuple(
            Visit(kind=k, ref="g", location=0, arrival_s=end, start_s=end, end_s=end)
            for k in (VisitKind.START, VisitKind.END)
        ),
        distance_m=0,
        duration_s=0,
        cost=0,
    )
    plan = dataclasses.replace(planned, routes=(*planned.routes, idle))
    assert check(dataclasses.replace(day, vehicles=(day.vehicles[0], glass)), plan) == []
    cut = dataclasses.replace(glass, shift_s=(kit.SHIFT[0], end - 3 * kit.H))
    short = dataclasses.replace(day, vehicles=(day.vehicles[0], cut))
    on = done_as_planned(planned.routes[0], 2)
    home = Progress(vehicle_ref="g", done=(), location=0, time_s=on.time_s)  # as daily's
    new = reroute(short, plan, [on, home], [], FAST)
    assert check(short, new) == []
    assert kit.route_of(new, "g").visits[-1].end_s <= end - 3 * kit.H


def test_a_truck_home_empty_after_an_unloading_reported_late_does_not_keep_its_load(kit) -> None:
    """Seed 537 of a service-day fuzz on Helsinki's streets: a re-plan at 11:31 had the
    truck, 660 l on board (a waypoint restating it), come home loaded, its only site just
    closed; its unloading there at 11:23 was reported only after. Home at 12:00, its
    reports leave it empty: its day as driven was kept, home with 660 l, which breaks
    return_empty. Its day now ends as its reports leave it: empty."""
    h = kit.H
    day = Problem(
        matrix=kit.matrix([(0, 0), (5, 0), (1, 0)]),
        stops=(),
        vehicles=(kit.truck("a", capacity_l=3000),),
        sites=(kit.site(window_s=(0, 11 * h + 1894)),),
    )
    (empty,) = plan_from_sequences(day, {"a": []}).routes
    start, end = empty.visits
    at = 11 * h + 1894
    loaded = dataclasses.replace(end, volume_l=660, weight_kg=66, daily_l=660, daily_kg=66)
    waypoint = dataclasses.replace(
        loaded, kind=VisitKind.WAYPOINT, location=2, arrival_s=at, start_s=at, end_s=at
    )
    home = at + int(day.matrix.duration_s[2, 0])
    back = dataclasses.replace(loaded, arrival_s=home, start_s=home, end_s=home)
    visits, span = (start, waypoint, back), home - start.end_s
    cost = route_cost(day.vehicles[0], distance_m=2000, duration_s=span, used=True)
    driven = Route(vehicle_ref="a", visits=visits, distance_m=2000, duration_s=span, cost=cost)
    assert [v.code for v in check(day, Plan(status=PlanStatus.FEASIBLE, routes=(driven,)))] == [
        "return_empty"  # as driven: s1 closed at 11:31:34, before it could unload
    ]
    plan = Plan(status=PlanStatus.FEASIBLE, routes=(driven,), unserved=(), objective=0)
    prog = Progress(vehicle_ref="a", done=(), location=0, time_s=12 * h, daily_l=660, daily_kg=66)
    new = reroute(day, plan, [prog])
    assert check(day, new) == []
    (route,) = new.routes
    assert (route.visits[-1].volume_l, route.visits[-1].weight_kg) == (0, 0)
