"""When no reroute is found, the plan being driven stands: every stop accounted for, trucks
out of service, shifts cut, the notes and the objective of the day rerouted."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from optimiser.check import check, check_reroute, objective, plan_from_sequences
from optimiser.plan import Plan, PlanStatus, Unserved, UnservedKind, VisitKind, clock
from optimiser.problem import Problem
from optimiser.reroute import Progress, plan_stands, with_urgent
from tests.optimiser.reroute.helpers import (
    FAST,
    WORK,
    done_as_planned,
    reroute,
    skipped_as_s1_closes,
    standing_at,
)


def test_when_the_plan_stands_every_stop_of_the_day_is_accounted_for(kit, day) -> None:
    """No plan goes on (the only site closes at 12:00, a truck still loaded at 13:00: as in
    ``test_alerts.py``'s ``test_reroute_without_any_plan_keeps_the_current_one``) for a day
    that has a stop the plan being driven does not know (a bin a re-plan added): it is
    listed unserved with that reason, and no unserved entry names a stop the day no longer
    has."""
    day = dataclasses.replace(day, sites=(kit.site(window_s=(0, 12 * 3600)),))
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.used)
    prog = standing_at(route, 2, 13 * 3600)
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


def test_when_the_plan_stands_an_alert_on_a_bin_it_still_visits_stays_served(kit, day) -> None:
    """No plan goes on (as above), but the alert names a bin the plan visits later today:
    it is served as planned, not listed unserved as well."""
    day = dataclasses.replace(day, sites=(kit.site(window_s=(0, 12 * 3600)),))
    plan = kit.solved(day)
    route = next(r for r in plan.routes if r.used)
    prog = standing_at(route, 2, 13 * 3600)
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
    prog_a, prog_b = standing_at(route_a, 2, 13 * h), standing_at(route_b, len(done), 13 * h)
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
    new = reroute(cut, plan, [done_as_planned(route_b, 1)], [], FAST)
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
    new = reroute(day, plan, [done_as_planned(kit.route_of(plan, "b"), 1)], [], FAST)
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
        standing_at(kit.route_of(plan, "a"), 2, 13 * h),
        standing_at(kit.route_of(plan, "b"), 3, 13 * h),
    ]
    new = reroute(day, plan, progress, [b9], FAST)
    full = with_urgent(day, [b9])
    assert plan_stands(new), new.notes
    assert check(full, new) == [] and "b9" not in new.served_refs
    assert new.objective == objective(full, new)


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
    progress = [standing_at(a, 2, 13 * 3600), off]
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
    prog = standing_at(route, 2, 13 * 3600)
    here = next(s.location for s in day.stops if s.location != prog.location)
    away = dataclasses.replace(prog, location=here, volume_l=prog.volume_l + 50)
    assert check_reroute(day, plan, plan, [away], stands=True) != []  # the old answer
    new = reroute(day, plan, [away], [], FAST)
    assert plan_stands(new), new.notes
    moved = kit.route_of(new, route.vehicle_ref)
    at = next(x for x in moved.visits if x.kind is VisitKind.WAYPOINT)
    assert (at.location, at.volume_l) == (here, away.volume_l)


def test_when_the_plan_stands_a_truck_that_went_on_without_its_break_is_cut(
    kit, break_then_unload, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``test_breaks.py``'s
    ``test_a_truck_that_went_on_without_its_planned_break_did_its_visits_after_it_sooner``,
    but no plan goes on (the search finds none): the plan being driven stands,
    but not the route of that truck, which did not drive it as planned. Its day goes on
    from its visits done, sooner, home from s1, and a note says why. Before, it stood
    whole: the break, and the unloading after s1 closed."""
    reroute_module = importlib.import_module("optimiser.reroute")

    def nothing(residual, params, warm, soft):
        return Plan(status=PlanStatus.NO_SOLUTION, routes=(), unserved=())

    monkeypatch.setattr(reroute_module, "_search_rest", nothing)
    closed, plan, skipped = skipped_as_s1_closes(kit, break_then_unload)
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
    prog = done_as_planned(plan.routes[0], 1)
    without = dataclasses.replace(day, stops=tuple(s for s in stops if s.ref != "b3"))
    new = reroute(without, plan, [prog], [], FAST)
    assert plan_stands(new), new.notes
    assert check(without, new) == []
    (again,) = new.routes
    assert [v.ref for v in again.visits if v.kind in WORK] == ["b2", "b4", "s1"]
    b4 = next(v for v in again.visits if v.ref == "b4")
    assert b4.arrival_s < next(v for v in plan.routes[0].visits if v.ref == "b4").arrival_s
    assert [n for n in new.notes if n.startswith("a no longer goes to b3, which the day")]


def test_when_the_plan_stands_a_truck_is_not_sent_to_a_site_closed_since(
    kit, day, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No plan goes on (the search finds none), and s2, where truck b was to unload last,
    was taken off the list just as b emptied b5 (closed from then, as a re-plan keeps a
    site gone). b goes on from its visits done through b4 and unloads at s1, still open,
    instead; a note says so, and the checker passes the day. Before, the plan stood as
    driven, b sent to s2 after it closed (the service's busy days, Heidelberg seed 635:
    "v0 unloads at s3, closed")."""
    reroute_module = importlib.import_module("optimiser.reroute")

    def nothing(residual, params, warm, soft):
        left = tuple(Unserved(ref=s.ref, reason="could not fit") for s in residual.stops)
        return Plan(status=PlanStatus.NO_SOLUTION, routes=(), unserved=left)

    monkeypatch.setattr(reroute_module, "_search_rest", nothing)
    s2 = kit.site("s2", location=10)
    two = dataclasses.replace(day, sites=(*day.sites, s2))
    planned = {"a": ["b2", "b6", "b9", "s1", "b3", "s1"], "b": ["b7", "b8", "s2", "b5", "b4", "s2"]}
    plan = plan_from_sequences(two, planned)
    assert check(two, plan) == []
    prog = done_as_planned(kit.route_of(plan, "b"), 4)
    gone = dataclasses.replace(s2, window_s=(0, prog.time_s), unlisted_s=prog.time_s)
    closed = dataclasses.replace(two, sites=(day.sites[0], gone))
    new = reroute(closed, plan, [prog], [], FAST)
    assert plan_stands(new), new.notes
    assert check(closed, new) == []
    assert kit.route_of(new, "a") == kit.route_of(plan, "a")
    after = kit.route_of(new, "b")
    assert [x.ref for x in after.visits if x.kind in WORK] == ["b7", "b8", "s2", "b5", "b4", "s1"]
    assert new.unserved == ()
    assert any(n.startswith("b's route as planned") and "s2" in n for n in new.notes), new.notes
