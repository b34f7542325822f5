"""Rerouting after an overflow alert: done prefix kept, urgent bin served, checker passes."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from optimiser.check import check, check_reroute, check_route, objective, plan_from_sequences
from optimiser.errors import InvalidProblemError
from optimiser.params import SolveParams
from optimiser.plan import (
    Plan,
    PlanStatus,
    Route,
    Unserved,
    UnservedKind,
    Visit,
    VisitKind,
    clock,
)
from optimiser.problem import Problem, Stop
from optimiser.reroute import Progress, RouteChange, plan_stands, route_changes, with_urgent
from optimiser.reroute import reroute as _reroute
from optimiser.solve import solve
from tests.optimiser.conftest import progress_after

WORK = (VisitKind.BIN, VisitKind.DISPOSAL)
FAST = SolveParams(time_limit_s=0.5, first_solution_share=0.5)


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


def reroute(
    problem: Problem,
    plan: Plan,
    progress: list[Progress],
    urgent: list[Stop] | tuple[Stop, ...] = (),
    params: SolveParams | None = None,
) -> Plan:
    """``optimiser.reroute.reroute``, its answer checked against the day driven: the visits
    done stand, nothing else is before a truck's report, the loads go on from the reported
    ones (``check_reroute``; when no plan goes on, as the notes say, the plan driven
    stands). Every test here reroutes through it."""
    new = _reroute(problem, plan, progress, urgent, params)
    stands = plan_stands(new)
    assert check_reroute(with_urgent(problem, urgent), plan, new, progress, stands=stands) == []
    return new


def _progress(route: Route, n_done: int) -> Progress:
    """The truck has just finished its first ``n_done`` bins/unloads, as planned."""
    work = [v for v in route.visits if v.kind in WORK]
    return progress_after(route.vehicle_ref, [v.ref for v in work[:n_done]], work[n_done - 1])


def _mid_day(plan: Plan) -> list[Progress]:
    return [
        _progress(r, 2) for r in plan.routes if len([v for v in r.visits if v.kind in WORK]) > 2
    ]


def test_alert_inserts_the_urgent_bin_and_keeps_the_done_prefix(kit, day) -> None:
    plan = kit.solved(day)
    progress = _mid_day(plan)
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
    progress = _mid_day(plan)
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
    new = reroute(day, plan, _mid_day(plan), [], FAST)
    assert check(day, new) == []
    changes = route_changes(plan, new)
    assert not any(c.changed for c in changes.values()), changes
    for old_route in plan.routes:
        new_route = kit.route_of(new, old_route.vehicle_ref)
        assert [v.ref for v in new_route.visits if v.kind in WORK] == [
            v.ref for v in old_route.visits if v.kind in WORK
        ]


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


def test_a_truck_done_with_all_its_work_keeps_its_planned_route(kit, day) -> None:
    """Every bin and unloading of a truck reported done, the reroute hours later, the truck
    home (as the service reports it once its planned return has passed): its route is the
    plan as driven (its return to the depot included), not a wait until the reroute."""
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.bin_refs)
    n_work = len([v for v in route.visits if v.kind in WORK])
    done = _progress(route, n_work)
    home = route.visits[-1]
    later = dataclasses.replace(done, location=home.location, time_s=home.end_s + 2 * kit.H)
    new = reroute(day, plan, [later], [], FAST)
    assert check(day, new) == []
    assert kit.route_of(new, route.vehicle_ref) == route


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


def test_a_truck_out_of_its_depot_has_paid_its_fixed_cost(kit) -> None:
    """Left the depot (a reported position), nothing done yet: using it costs no fixed cost;
    still at the depot, it does."""
    from optimiser.reroute_done import _residual_vehicle

    truck = kit.truck(fixed_cost=5000)
    out = Progress(vehicle_ref="t1", done=(), location=3, time_s=8 * kit.H)
    home = Progress(vehicle_ref="t1", done=(), location=truck.start, time_s=8 * kit.H)
    assert _residual_vehicle(truck, out, 8 * kit.H, 0).fixed_cost == 0
    assert _residual_vehicle(truck, home, 8 * kit.H, 0).fixed_cost == 5000


def test_urgent_bin_no_truck_can_take_is_unserved_with_the_blocking_rule(kit, day) -> None:
    """Both trucks are at their stop limit once the alert comes: the reason says so."""
    day = dataclasses.replace(
        day, vehicles=tuple(dataclasses.replace(v, max_stops=4) for v in day.vehicles)
    )
    plan = kit.solved(day)
    assert plan.served_refs == {s.ref for s in day.stops}
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, _mid_day(plan), [urgent], FAST)
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
    new = reroute(day, plan, _mid_day(plan), [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    assert new.served_refs == {s.ref for s in day.stops}
    assert [(u.ref, u.reason) for u in new.unserved] == [
        ("urgent", "could not fit in any route: stop limit (a, b)")
    ]


def _late(route: Route, n_done: int, time_s: int) -> Progress:
    """The truck has done its first ``n_done`` bins/unloads and stands there at ``time_s``."""
    return dataclasses.replace(_progress(route, n_done), time_s=time_s, break_taken=True)


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
    prog = _late(route, 2, 13 * 3600 + 55 * 60)
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


def test_reroute_without_any_plan_keeps_the_current_one(kit, day) -> None:
    """The only site closed at 12:00 and a truck is still loaded at 13:00: no plan can
    return it empty, so the plan being driven stands and the alert is reported unserved."""
    day = dataclasses.replace(day, sites=(kit.site(window_s=(0, 12 * 3600)),))
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.used)
    prog = _late(route, 2, 13 * 3600)
    assert prog.volume_l > 0
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, [prog], [urgent], FAST)
    assert new.routes == plan.routes
    assert check(with_urgent(day, [urgent]), new) == []
    (u,) = [u for u in new.unserved if u.ref == "urgent"]
    assert "the plan being driven stands" in u.reason


def test_when_the_plan_stands_every_stop_of_the_day_is_accounted_for(kit, day) -> None:
    """No plan goes on (as above) for a day that has a stop the plan being driven does not
    know (a bin a re-plan added): it is listed unserved with that reason, and no unserved
    entry names a stop the day no longer has."""
    day = dataclasses.replace(day, sites=(kit.site(window_s=(0, 12 * 3600)),))
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.used)
    prog = _late(route, 2, 13 * 3600)
    extra = kit.stop("extra", 10, volume_l=100, weight_kg=10, required=False)
    gone = Unserved(ref="gone", reason="no longer a stop of the day")
    stale = dataclasses.replace(plan, unserved=(*plan.unserved, gone))
    wider = dataclasses.replace(day, stops=(*day.stops, extra))
    new = reroute(wider, stale, [prog], [], FAST)
    assert new.routes == plan.routes
    assert check(wider, new) == []
    (u,) = [u for u in new.unserved if u.ref == "extra"]
    assert "the plan being driven stands" in u.reason
    assert "gone" not in {u.ref for u in new.unserved}


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
    prog = dataclasses.replace(_progress(route, 2), time_s=11 * h, break_taken=False)
    new = reroute(day, plan, [prog], [], FAST)
    assert check(day, new) == []
    assert new.routes[0].visits[-1].end_s > 11 * h + 1800
    (taken,) = [v for v in new.routes[0].visits if v.kind is VisitKind.BREAK]
    assert 11 * h <= taken.start_s <= 11 * h + 1800


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
    prog = _late(plan.routes[0], 1, 13 * h)  # "b" done, at its place, 300 l on board
    new = reroute(problem, plan, [prog], [], FAST)
    assert check(problem, new) == []
    assert not any("cannot be back" in n for n in new.notes)
    unloads = [v.ref for v in new.routes[0].visits if v.kind is VisitKind.DISPOSAL]
    assert unloads == ["open"]


def test_when_the_plan_stands_an_alert_on_a_bin_it_still_visits_stays_served(kit, day) -> None:
    """No plan goes on (as above), but the alert names a bin the plan visits later today:
    it is served as planned, not listed unserved as well."""
    day = dataclasses.replace(day, sites=(kit.site(window_s=(0, 12 * 3600)),))
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.used)
    prog = _late(route, 2, 13 * 3600)
    later = route.bin_refs[-1]
    urgent = day.stop(later)
    new = reroute(day, plan, [prog], [urgent], FAST)
    assert new.routes == plan.routes
    assert later in new.served_refs
    assert later not in {u.ref for u in new.unserved}
    assert check(with_urgent(day, [urgent]), new) == []


@pytest.mark.parametrize(
    ("done", "stranded"),
    [(("b7",), True), (("b7", "b8", "s1"), False)],
    ids=["broken-down-loaded-on-the-road", "out-of-service-after-unloading"],
)
def test_when_the_plan_stands_a_truck_out_of_service_drives_none_of_its_bins(
    kit, day, done: tuple[str, ...], stranded: bool
) -> None:
    """No plan goes on (truck a loaded at 13:00, the only site closed at 12:00), and truck b
    is out of service (``off_duty``, held to its bins done, as a downtime's re-plan has it):
    broken down where it stands with its load, or empty after unloading. The plan stands
    for a, but b drives none of its bins still to do: they, and the alert on one of them,
    are unserved with a reason naming b, a note says so, and the checker passes the day."""
    h = kit.H
    day = dataclasses.replace(day, sites=(kit.site(window_s=(0, 12 * h)),))
    plan = plan_from_sequences(
        day, {"a": ["b2", "b6", "b9", "s1", "b3", "s1"], "b": ["b7", "b8", "s1", "b5", "b4", "s1"]}
    )
    assert check(day, plan) == []
    route_a, route_b = kit.route_of(plan, "a"), kit.route_of(plan, "b")
    prog_a, prog_b = _late(route_a, 2, 13 * h), _late(route_b, len(done), 13 * h)
    assert prog_a.volume_l > 0 and prog_b.done == done
    b = dataclasses.replace(day.vehicles[1], off_duty=True, max_stops=sum(r != "s1" for r in done))
    if stranded:  # its day ends where it stands, with what it carries
        assert prog_b.volume_l > 0
        b = dataclasses.replace(b, end=prog_b.location, comes_back_loaded=True)
    down = dataclasses.replace(day, vehicles=(day.vehicles[0], b))
    urgent = day.stop("b5")
    new = reroute(down, plan, [prog_a, prog_b], [urgent], FAST)
    full = with_urgent(down, [urgent])
    assert check(full, new) == []
    assert kit.route_of(new, "a") == route_a  # the plan being driven stands for a
    rest = [r for r in route_b.bin_refs if r not in done]
    assert kit.route_of(new, "b").bin_refs == tuple(r for r in done if r != "s1")
    reasons = {u.ref: u.reason for u in new.unserved}
    assert set(rest) <= reasons.keys() and "b5" in rest
    assert all("planned for b, out of service" in reasons[r] for r in rest), reasons
    assert {u.kind for u in new.unserved if u.ref in rest} == {UnservedKind.NO_SOLUTION}
    assert new.served_refs | reasons.keys() == {s.ref for s in full.stops}
    assert any(n.startswith("b is out of service") for n in new.notes), new.notes


def test_when_the_plan_stands_a_truck_whose_shift_was_cut_is_home_unloaded_by_its_end(
    kit, day, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No plan goes on (the search finds none), and truck b's shift now ends (a downtime)
    before its planned return, but after the time it needs, from b7 done, to empty b8 and
    b5, unload and drive home: it keeps those, unloads after b5 (the plan had it go on to
    b4), and is home by its shift end; b4 is unserved with a reason naming b and its shift
    end, a note says so, and the checker passes the day (b drove on past its shift end)."""
    reroute_module = importlib.import_module("optimiser.reroute")

    def nothing(residual, params, warm, soft):
        left = tuple(Unserved(ref=s.ref, reason="could not fit") for s in residual.stops)
        return Plan(status=PlanStatus.NO_SOLUTION, routes=(), unserved=left)

    monkeypatch.setattr(reroute_module, "_search_rest", nothing)
    planned = {"a": ["b2", "b6", "b9", "s1", "b3", "s1"], "b": ["b7", "b8", "s1", "b5", "b4", "s1"]}
    plan = plan_from_sequences(day, planned)
    shorter = plan_from_sequences(day, {"b": ["b7", "b8", "s1", "b5", "s1"]})
    end_s = kit.route_of(shorter, "b").visits[-1].end_s  # b's soonest return with b8 and b5
    route_b = kit.route_of(plan, "b")
    assert check(day, plan) == [] and route_b.visits[-1].end_s > end_s
    b = dataclasses.replace(day.vehicles[1], shift_s=(day.vehicles[1].shift_s[0], end_s))
    cut = dataclasses.replace(day, vehicles=(day.vehicles[0], b))
    new = reroute(cut, plan, [_progress(route_b, 1)], [], FAST)
    assert plan_stands(new), new.notes
    assert check(cut, new) == []
    assert kit.route_of(new, "a") == kit.route_of(plan, "a")
    after = kit.route_of(new, "b")
    assert [x.ref for x in after.visits if x.kind in WORK] == ["b7", "b8", "s1", "b5", "s1"]
    assert after.visits[-1].end_s <= end_s
    reasons = {u.ref: u.reason for u in new.unserved}
    assert reasons.keys() == {"b4"}
    assert reasons["b4"].startswith(f"planned for b, whose shift ends at {clock(end_s)}")
    assert [u.kind for u in new.unserved] == [UnservedKind.NO_SOLUTION]
    assert any(n.startswith(f"b's shift ends at {clock(end_s)}") for n in new.notes), new.notes


def test_when_the_plan_stands_each_note_is_said_once(
    kit, day, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No plan goes on, and the search says again what the plan being driven said (a site
    no longer listed, a truck out of service): the plan that stands says it once. Before,
    the dispatcher read such notes twice, the plan's and the search's."""
    reroute_module = importlib.import_module("optimiser.reroute")
    said = "disposal site s1 is no longer listed: no truck unloads there from 09:00"

    def nothing(residual, params, warm, soft):
        return Plan(status=PlanStatus.NO_SOLUTION, routes=(), unserved=(), notes=(said,))

    monkeypatch.setattr(reroute_module, "_search_rest", nothing)
    plan = plan_from_sequences(day, {"a": ["b2", "b6", "s1"], "b": ["b7", "b8", "s1"]})
    plan = dataclasses.replace(plan, notes=(said,))
    new = reroute(day, plan, [_progress(kit.route_of(plan, "b"), 1)], [], FAST)
    assert plan_stands(new), new.notes
    assert new.notes.count(said) == 1 and len(set(new.notes)) == len(new.notes)


def test_when_the_plan_stands_its_objective_is_that_of_the_day_rerouted(kit, day) -> None:
    """No plan goes on (truck a loaded at 13:00, the only site closed at 12:00); the alert
    names b9, an optional bin the plan left out (its prize counted in the plan's
    objective). The plan stands with b9 unserved, now a required stop whose loss is counted
    apart: the objective is that of the day rerouted, as ``objective`` prices it, as it is
    when a truck out of service is cut (it kept the plan's, prize and all)."""
    h = kit.H
    b9 = dataclasses.replace(day.stop("b9"), required=False, prize=5000)
    day = dataclasses.replace(
        day,
        sites=(kit.site(window_s=(0, 12 * h)),),
        stops=tuple(b9 if s.ref == "b9" else s for s in day.stops),
    )
    plan = plan_from_sequences(
        day, {"a": ["b2", "b6", "s1", "b3", "s1"], "b": ["b7", "b8", "s1", "b5", "b4", "s1"]}
    )
    assert check(day, plan) == [] and "b9" not in plan.served_refs
    progress = [
        _late(kit.route_of(plan, "a"), 2, 13 * h),
        _late(kit.route_of(plan, "b"), 3, 13 * h),
    ]
    new = reroute(day, plan, progress, [b9], FAST)
    full = with_urgent(day, [b9])
    assert plan_stands(new), new.notes
    assert check(full, new) == [] and "b9" not in new.served_refs
    assert new.objective == objective(full, new)


def test_a_truck_fuller_than_planned_unloads_before_its_next_bin(kit, day) -> None:
    """The crew found the first two bins fuller than forecast: the truck carries 900 l, not
    the planned 600 l, so its next 300 l bin no longer fits (1000 l truck). The rest of its
    day starts with an unloading, the day's record restates the load where it was measured,
    and the checker passes the full day."""
    plan = kit.solved(day)
    route = next(r for r in plan.routes if len(r.bin_refs) >= 3)
    prog = _progress(route, 2)
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
    prog = _progress(route, 2)
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
    prog = _progress(route, 2)
    over = dataclasses.replace(prog, weight_kg=950, daily_kg=950)
    new = reroute(day, plan, [over], [], FAST)
    assert check(day, new) == []
    visits = kit.route_of(new, route.vehicle_ref).visits
    waypoint = next(v for v in visits if v.kind is VisitKind.WAYPOINT)
    assert waypoint.daily_kg == 900
    after = visits[visits.index(waypoint) + 1 :]
    assert not [v for v in after if v.kind is VisitKind.BIN]
    assert any("950 kg" in n and "daily limit" in n for n in new.notes), new.notes


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
    prog = dataclasses.replace(_progress(route, n_work), time_s=13 * h)
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
    prog = dataclasses.replace(_progress(route, 3), time_s=12 * h + 300)
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
    prog = dataclasses.replace(_progress(route, 3), location=home, time_s=12 * h + 1800)
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
    prog = dataclasses.replace(_progress(route, 3), location=home, time_s=13 * h)
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
    prog = dataclasses.replace(_progress(route, 3), location=home, time_s=11 * h)
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
    prog = dataclasses.replace(_progress(route, 3), location=home, time_s=12 * h + 1800)
    new = reroute(day, plan, [prog], [], FAST)
    assert check(day, new) == []
    assert new.routes == plan.routes


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
    late = dataclasses.replace(_progress(route, 5), time_s=12 * kit.H + 300)
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
    away = dataclasses.replace(_progress(route, 5), location=6, time_s=12 * h + 900)
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
    late = dataclasses.replace(_progress(route, 4), time_s=12 * kit.H + 240)
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
    first = dataclasses.replace(_progress(route, 1), volume_l=80, weight_kg=8)
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
    prog = dataclasses.replace(_progress(route, 5), time_s=11 * h + 3300)
    new = reroute(day, plan, [prog], [], FAST)
    assert check(day, new) == []
    (again,) = new.routes
    kinds = [v.kind for v in again.visits]
    assert kinds[-2:] == [VisitKind.BREAK, VisitKind.END]
    assert (again.visits[-2].start_s, again.visits[-1].end_s) == (11 * h + 3300, 12 * h + 2000)


def test_an_alert_on_a_bin_planned_later_keeps_the_plan_as_warm_start(
    kit, day, warm_starts: list[dict[str, list[str]]]
) -> None:
    """The alert names a bin a truck still visits later: the rest of the plan is the warm
    start as it is (the bin once, not inserted a second time, which made OR-Tools reject the
    whole start), and with nothing else changed no route changes."""
    plan = kit.solved(day)
    progress = _mid_day(plan)
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
    prog = dataclasses.replace(_progress(route, n_work), time_s=11 * h + 1500)
    day1 = with_urgent(day, [first])
    plan1 = reroute(day, plan, [prog], [first], FAST)
    assert check(day1, plan1) == []
    (route1,) = plan1.routes
    assert "first" in route1.bin_refs and route1.visits[-1].end_s <= 12 * h
    assert VisitKind.BREAK not in [v.kind for v in route1.visits]
    n_work1 = sum(v.kind in WORK for v in route1.visits)
    second = kit.stop("second", 6, volume_l=100, weight_kg=10)
    prog2 = dataclasses.replace(_progress(route1, n_work1), time_s=12 * h + 600)
    plan2 = reroute(day1, plan1, [prog2], [second], FAST)
    assert check(with_urgent(day1, [second]), plan2) == []
    (route2,) = plan2.routes
    assert "second" in route2.bin_refs
    (brk,) = [v for v in route2.visits if v.kind is VisitKind.BREAK]
    assert 10 * h <= brk.start_s and brk.end_s <= 11 * h + 1500


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
    (progress,) = [_progress(plan.routes[0], 1)]
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
    (progress,) = [_progress(plan.routes[0], 1)]
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
    progress = _mid_day(plan)
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
    progress = _mid_day(plan)

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
    new = reroute(day, plan, _mid_day(plan), [urgent], SolveParams(time_limit_s=2.4))
    assert relay_from_1s == []
    assert new.engine == "ortools-reroute"
    assert "urgent" in new.served_refs


def test_the_rerouted_day_prices_the_bins_it_leaves_as_a_plan_does(kit, day) -> None:
    """An optional bin no truck can take (food waste) stays out of the day: the rerouted
    plan's objective counts its prize, as the day plan's does."""
    m = kit.matrix([*day.matrix.points, (1, 3)])
    food = kit.stop("food", 11, required=False, prize=900, stream="food")
    problem = dataclasses.replace(day, matrix=m, stops=(*day.stops, food))
    plan = kit.solved(problem)
    assert plan.objective == sum(r.cost for r in plan.routes) + 900
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(problem, plan, _mid_day(plan), [urgent], FAST)
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
    from optimiser.check import objective

    m = kit.matrix([(0, 0), (10, 0), (9, 0), (10, 1), (9, 1), (10, 0)])
    stops = (kit.stop("b2", 2), kit.stop("b4", 3), kit.stop("b1", 4))
    trucks = (kit.truck("a", cost_per_km=100), kit.truck("b", start=5, end=5, cost_per_km=300))
    day = Problem(matrix=m, stops=stops, vehicles=trucks, sites=(kit.site("s0", 1),))
    plan = plan_from_sequences(day, {"a": ["b2", "s0", "b4", "s0"], "b": ["b1", "s0"]})
    progress = [_progress(plan.routes[0], 2), _progress(plan.routes[1], 2)]
    new = reroute(day, plan, progress, [], FAST)
    assert check(day, new) == []
    assert not any(c.changed for c in route_changes(plan, new).values())
    assert objective(day, new) == objective(day, plan)


def test_an_urgent_stop_already_emptied_today_is_refused_not_lost(kit, day) -> None:
    """b2 was emptied this morning and overflows again: given as urgent under its own ref,
    the visit done would count as serving it and the alert would be lost; the call names
    the fix (a visit ref of its own, as reroute_day gives it)."""
    plan = kit.solved(day)
    progress = _mid_day(plan)
    done = progress[0].done[0]
    with pytest.raises(InvalidProblemError, match=rf"\['{done}'\] were already emptied today"):
        reroute(day, plan, progress, [kit.stop(done, 2, priority=1)], FAST)


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
    a, b = _progress(plan.routes[0], 2), _progress(plan.routes[1], 2)
    full = dataclasses.replace(a, volume_l=1000, weight_kg=100, daily_l=1000, daily_kg=100)
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, [full, b], [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    assert new.unserved == ()
    assert {"b4", "b5"} <= set(warm_starts[0]["a"])


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
    prog = dataclasses.replace(_progress(route, 2), time_s=brk.start_s + 900)
    urgent = kit.stop("urgent", 10, volume_l=200, weight_kg=20)
    new = reroute(day, plan, [prog], [urgent], FAST)
    assert check(with_urgent(day, [urgent]), new) == []
    assert "urgent" in new.served_refs
    visits = new.routes[0].visits
    assert visits[:4] == route.visits[:4]
    assert all(v.start_s >= brk.end_s for v in visits[4:])


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
    prog = _progress(route, 2)
    early = dataclasses.replace(prog, time_s=prog.time_s - 60)
    new = reroute(day, plan, [early, _progress(plan.routes[1], 2)], [], FAST)
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
    progress = [_progress(r, 3) for r in plan.routes]
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
    new = reroute(day, plan, [home, _progress(plan.routes[1], 6)], [], FAST)
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
    done = _progress(route, n_work)
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


def test_when_the_plan_stands_a_truck_with_nothing_done_reported_loaded_goes_on_from_there(
    kit, day
) -> None:
    """No plan goes on (the only site closed at 12:00, truck a loaded at 13:00). Truck b
    has done none of its route and is reported at 07:00 out of its depot with 100 l on
    board (waste it took off its plan): the plan that stood showed it leaving its depot
    empty. Now it goes on from where it was reported, with that load; the checker, told
    the plan stands, holds a truck with nothing done to its load too."""
    day = dataclasses.replace(day, sites=(kit.site(window_s=(0, 12 * 3600)),))
    plan = kit.solved(day)
    a = next(r for r in plan.routes if r.used)
    b = next(r for r in plan.routes if r.vehicle_ref != a.vehicle_ref)
    here = next(s.location for s in day.stops if s.location != b.visits[0].location)
    off = Progress(
        vehicle_ref=b.vehicle_ref,
        done=(),
        location=here,
        time_s=max(b.visits[0].end_s, 7 * 3600),
        volume_l=100,
        weight_kg=10,
        daily_l=100,
        daily_kg=10,
    )
    progress = [_late(a, 2, 13 * 3600), off]
    assert check_reroute(day, plan, plan, progress, stands=True) != []  # the old answer
    new = reroute(day, plan, progress, [], FAST)
    assert plan_stands(new), new.notes
    moved = kit.route_of(new, b.vehicle_ref)
    at = next(x for x in moved.visits if x.kind is VisitKind.WAYPOINT)
    assert (at.location, at.volume_l) == (here, 100)
    assert any(n.startswith(f"{b.vehicle_ref} was reported away from its route") for n in new.notes)


def test_when_the_plan_stands_a_truck_reported_away_goes_on_from_where_it_is(kit, day) -> None:
    """No plan goes on (the only site closed at 12:00, a truck loaded at 13:00), and the
    truck is reported away from its route (at another bin's place, with more on board):
    the plan that stands shows it where it was reported, with the reported load, not at
    its planned place; the checker, told the plan stands, holds it to that too."""
    day = dataclasses.replace(day, sites=(kit.site(window_s=(0, 12 * 3600)),))
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.used)
    prog = _late(route, 2, 13 * 3600)
    here = next(s.location for s in day.stops if s.location != prog.location)
    away = dataclasses.replace(prog, location=here, volume_l=prog.volume_l + 50)
    assert check_reroute(day, plan, plan, [away], stands=True) != []  # the old answer
    new = reroute(day, plan, [away], [], FAST)
    assert plan_stands(new), new.notes
    moved = kit.route_of(new, route.vehicle_ref)
    at = next(x for x in moved.visits if x.kind is VisitKind.WAYPOINT)
    assert (at.location, at.volume_l) == (here, away.volume_l)


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
    progress = [_progress(r, 2) for r in plan.routes]
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


def _skipped_as_s1_closes(
    kit, break_then_unload: tuple[Problem, Plan]
) -> tuple[Problem, Plan, Progress]:
    """The day of ``break_then_unload`` with s1 closed at 10:30, its plan, and the truck
    reported there at 10:30 with all its work done and its break not taken."""
    day, plan = break_then_unload
    h = kit.H
    (route,) = plan.routes
    skipped = progress_after("a", ["b2", "b3", "s1"], route.visits[4])
    skipped = dataclasses.replace(skipped, time_s=10 * h + 1800)
    closed = dataclasses.replace(day, sites=(kit.site(window_s=(0, 10 * h + 1800)),))
    return closed, plan, skipped


def test_a_truck_that_went_on_without_its_planned_break_did_its_visits_after_it_sooner(
    kit, break_then_unload
) -> None:
    """The crew went on without the break (``break_taken`` False) and reported its last
    unloading by 10:30, when s1 closes. The day keeps b3 and the unloading, done, sooner:
    b3 at 10:05 (its opening; the drive has the truck there at 10:01:40), the unloading
    10:20-10:25, inside s1's hours, then home; done by 10:38:20, before the window's end,
    it needs no break. Before, the truck, done with its work where planned, kept its
    planned route: the break, and the unloading after s1 closed."""
    closed, plan, skipped = _skipped_as_s1_closes(kit, break_then_unload)
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


def test_when_the_plan_stands_a_truck_that_went_on_without_its_break_is_cut(
    kit, break_then_unload, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above, but no plan goes on (the search finds none): the plan being driven stands,
    but not the route of that truck, which did not drive it as planned. Its day goes on
    from its visits done, sooner, home from s1, and a note says why. Before, it stood
    whole: the break, and the unloading after s1 closed."""
    reroute_module = importlib.import_module("optimiser.reroute")

    def nothing(residual, params, warm, soft):
        return Plan(status=PlanStatus.NO_SOLUTION, routes=(), unserved=())

    monkeypatch.setattr(reroute_module, "_search_rest", nothing)
    closed, plan, skipped = _skipped_as_s1_closes(kit, break_then_unload)
    h = kit.H
    new = reroute(closed, plan, [skipped], [], FAST)
    assert plan_stands(new), new.notes
    assert check(closed, new) == []
    (again,) = new.routes
    assert [(v.ref, v.start_s) for v in again.visits if v.kind in WORK] == [
        ("b2", 9 * h + 3000),
        ("b3", 10 * h + 300),
        ("s1", 10 * h + 1200),
    ]
    assert [n for n in new.notes if n.startswith("a went on without its planned break")]


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
    on = _progress(planned.routes[0], 2)
    home = Progress(vehicle_ref="g", done=(), location=0, time_s=on.time_s)  # as daily's
    new = reroute(short, plan, [on, home], [], FAST)
    assert check(short, new) == []
    assert kit.route_of(new, "g").visits[-1].end_s <= end - 3 * kit.H


def test_when_the_plan_stands_a_truck_no_longer_goes_to_a_bin_the_day_no_longer_has(
    kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Truck a has emptied b2; b3, next on its route, is no longer in the day's problem
    (another truck's crew emptied it, say), and no plan goes on (the search finds none):
    the plan being driven stands, but a goes from b2 straight to b4, then s1, its stops
    timed again (check_reroute holds its visits done as driven), with a note. Before, it
    still drove to b3."""
    reroute_module = importlib.import_module("optimiser.reroute")

    def nothing(residual, params, warm, soft):
        return Plan(status=PlanStatus.NO_SOLUTION, routes=(), unserved=())

    monkeypatch.setattr(reroute_module, "_search_rest", nothing)
    stops = tuple(kit.stop(f"b{i}", i) for i in (2, 3, 4))
    matrix = kit.matrix([(0, 0), (5, 0), (1, 0), (2, 3), (3, 0)])
    day = Problem(matrix=matrix, stops=stops, vehicles=(kit.truck("a"),), sites=(kit.site(),))
    plan = plan_from_sequences(day, {"a": ["b2", "b3", "b4", "s1"]})
    assert check(day, plan) == []
    prog = _progress(plan.routes[0], 1)
    without = dataclasses.replace(day, stops=tuple(s for s in stops if s.ref != "b3"))
    new = reroute(without, plan, [prog], [], FAST)
    assert plan_stands(new), new.notes
    assert check(without, new) == []
    (again,) = new.routes
    assert [v.ref for v in again.visits if v.kind in WORK] == ["b2", "b4", "s1"]
    b4 = next(v for v in again.visits if v.ref == "b4")
    assert b4.arrival_s < next(v for v in plan.routes[0].visits if v.ref == "b4").arrival_s
    assert [n for n in new.notes if n.startswith("a no longer goes to b3, which the day")]
