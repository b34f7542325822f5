"""Trucks changed during the day: added, gone, out of service, broken down, back, on the
tiny city."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta

import pytest

from fleet.models import CitizenReport, Downtime, FillReading, Inventory
from network.providers import HaversineProvider
from optimiser.build import clock_to_s
from optimiser.daily import DayPlan, replan_day, reroute_day
from optimiser.params import SolveParams
from optimiser.plan import Route, VisitKind
from optimiser.problem import bin_of
from optimiser.reroute import Progress, plan_stands
from tests.optimiser.conftest import at_row, done_through, route_work
from tests.optimiser.daily.city import (
    TZ,
    bins_done_by,
    late_truck,
    local_time,
    no_plan_goes_on,
    plan_tiny_day,
    replanned_as,
    replanned_day,
    rerouted_with,
    two_trucks,
)


def _down(
    city: tuple[Inventory, list[FillReading], list[CitizenReport]], *down: Downtime
) -> Inventory:
    """``city``'s inventory with ``down`` downtimes."""
    return dataclasses.replace(city[0], downtimes=down)


def test_a_truck_out_of_service_from_ten_is_back_at_its_depot_by_then(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t1 goes to the workshop at 10:00 (until further notice): the plan has it back at its
    depot by 10:00, breaks no rule and says why."""
    down = Downtime(vehicle_id="t1", start=local_time(10), reason="brake check")
    made = plan_tiny_day(_down(tiny_city, down), *tiny_city[1:])
    assert made.violations == ()
    (route,) = made.plan.routes
    assert route.visits[-1].end_s <= 10 * 3600 and route.bin_refs
    assert "t1 is out of service from 10:00 (brake check): it works 06:00-10:00" in (
        made.plan.notes
    )


def test_a_truck_out_of_service_all_day_gets_no_route_and_its_bins_say_why(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t1, the only truck, is in the workshop since the evening before, until further
    notice: no route, and no truck comes on a later day either, so every bin, the nearly
    empty ones too, is a must bin, unserved with a reason; the notes say why."""
    evening = local_time(18) - timedelta(days=1)
    made = plan_tiny_day(_down(tiny_city, Downtime(vehicle_id="t1", start=evening)), *tiny_city[1:])
    assert made.violations == () and made.plan.served_refs == frozenset()
    assert {u.ref for u in made.unserved} == {f"b{i}" for i in range(6)}
    assert {u.reason for u in made.unserved} == {
        "every truck taking stream 'residual' is out of service for the rest of the day (t1): "
        "none can collect it today"
    }
    empty = {d.bin_id: d.reason for d in made.decisions if d.bin_id in ("b3", "b4", "b5")}
    assert set(empty.values()) == {
        "no truck taking stream 'residual' is in service within 14 days: no next opportunity"
    }
    assert any(n.endswith(": it takes no bins today") for n in made.plan.notes)


def test_a_truck_broken_down_mid_day_takes_no_more_bins_on_a_replan(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 breaks down just after its first bin (out of service from then, until further
    notice): the re-plan keeps that bin done, gives t2 no other and says so; the truck
    stays in the fleet."""
    inventory, day = two_trucks(tiny_city)
    (route,) = [r for r in day.plan.routes if r.vehicle_ref == "t2"]
    assert len(route.bin_refs) >= 2
    (done,) = bins_done_by(day, 1, "t2")
    broke = day.at(done.time_s)
    down = dataclasses.replace(inventory, downtimes=(Downtime(vehicle_id="t2", start=broke),))
    new_day, _, _ = replanned_day(day, tiny_city, broke, [], [], "t2", inventory=down)
    assert new_day.violations == ()
    (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    assert after.bin_refs == (done.done[-1],)
    note = f"t2 is out of service from {broke:%H:%M}: it takes no more bins today"
    assert note in new_day.plan.notes
    assert new_day.unserved  # t1 takes one bin a day: the others say why
    assert all("out of service (t2)" in u.reason for u in new_day.unserved)
    assert [v.vehicle_id for v in new_day.inventory.vehicles] == ["t1", "t2"]


def test_a_truck_broken_down_mid_day_drives_no_more_bins_when_the_plan_stands(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As above, but the search finds no plan from the trucks' positions (as one that could
    not start did before 8f57a6f): the plan being driven stands, yet t2 drives none of its
    bins still to do. They are unserved with a reason naming t2, and the day breaks no rule
    (t2 had kept them all, over its limit of the bin done)."""
    no_plan_goes_on(monkeypatch)
    inventory, day = two_trucks(tiny_city)
    (route,) = [r for r in day.plan.routes if r.vehicle_ref == "t2"]
    (done,) = bins_done_by(day, 1, "t2")
    broke = day.at(done.time_s)
    down = dataclasses.replace(inventory, downtimes=(Downtime(vehicle_id="t2", start=broke),))
    new_day, _, _ = replanned_day(day, tiny_city, broke, [], [], "t2", inventory=down)
    assert plan_stands(new_day.plan)
    assert new_day.violations == ()
    (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    assert after.bin_refs == (done.done[-1],)
    rest = [r for r in route.bin_refs if r not in done.done]
    reasons = {u.ref: u.reason for u in new_day.unserved}
    assert rest and all("planned for t2, out of service" in reasons[r] for r in rest), reasons


def test_a_truck_whose_shift_a_downtime_cuts_is_home_by_then_when_the_plan_stands(
    day: DayPlan,
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """t1 (one bin done) goes to the workshop at 07:00, before its planned return at 07:19:
    its shift ends then, and it is not out of service before. The search finds no plan, so
    the plan being driven stands, yet t1 keeps only the bins it can still empty and unload
    before 07:00, and is home by then; the others are unserved with a reason naming t1 and
    its shift end, and the day breaks no rule (t1 drove its whole route, past 07:00)."""
    no_plan_goes_on(monkeypatch)
    (route,) = day.plan.routes
    cut = local_time(7)
    assert route.visits[-1].end_s > day.seconds(cut)
    down = Downtime(vehicle_id="t1", start=cut, reason="brake check")
    (done,) = bins_done_by(day, 1)
    now = day.at(done.time_s)
    new_day, _, t1 = replanned_day(day, tiny_city, now, [], [], inventory=_down(tiny_city, down))
    assert plan_stands(new_day.plan)
    assert new_day.violations == ()
    (after,) = new_day.plan.routes
    assert after.visits[-1].end_s <= day.seconds(cut)
    assert after.visits[-2].kind is VisitKind.DISPOSAL  # home empty
    rest = [r for r in route.bin_refs if r not in t1.done]
    kept = [r for r in after.bin_refs if r not in t1.done]
    assert kept and kept == rest[: len(kept)] and len(kept) < len(rest)
    reasons = {u.ref: u.reason for u in new_day.unserved}
    left = rest[len(kept) :]
    assert all("planned for t1, whose shift ends at 07:00" in reasons[r] for r in left), reasons


def test_a_truck_in_the_workshop_drives_no_bin_before_it_is_back_when_the_plan_stands(
    day: DayPlan,
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """t1 (one bin done) goes to the workshop as the day is re-planned, until 13:00: it goes
    on from 13:00 (its progress), not shift-cut. The search finds no plan, so the plan being
    driven stands, yet t1 drives none of its bins before 13:00: from where it is, then, it
    keeps the start of its rest it can still empty and unload in its shift (to 14:00), the
    others unserved with a reason naming t1 and 13:00, and a note. (It drove them all
    around 06:30-07:10, in the workshop; the checker, knowing no downtime, said nothing.)"""
    no_plan_goes_on(monkeypatch)
    (route,) = day.plan.routes
    (done,) = bins_done_by(day, 1)
    now, back = day.at(done.time_s), local_time(13)
    down = Downtime(vehicle_id="t1", start=now, end=back, reason="tyre")
    new_day, _, t1 = replanned_day(day, tiny_city, now, [], [], inventory=_down(tiny_city, down))
    assert plan_stands(new_day.plan)
    assert new_day.violations == ()
    (after,) = new_day.plan.routes
    cut = [x.ref for x in after.visits].index(t1.done[-1])
    later = [x for x in after.visits[cut + 1 :] if x.kind in (VisitKind.BIN, VisitKind.DISPOSAL)]
    assert later and all(x.start_s >= day.seconds(back) for x in later), later
    rest = [r for r in route.bin_refs if r not in t1.done]
    kept = [r for r in after.bin_refs if r not in t1.done]
    assert kept == rest[: len(kept)] and len(kept) < len(rest)
    reasons = {u.ref: u.reason for u in new_day.unserved}
    left = rest[len(kept) :]
    assert all("planned for t1, which can go on only at 13:00" in reasons[r] for r in left), reasons
    assert any(n.startswith("t1 can go on only at 13:00") for n in new_day.plan.notes)


def test_a_bin_the_truck_back_from_the_workshop_can_no_longer_empty_does_not_cost_the_next(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """t1 (b1, then b2, planned) goes to the workshop at 06:03, before its first bin, until
    13:00, and the plan being driven stands. b1 must be emptied by its deadline, long past
    at 13:00: it is unserved, but t1 still empties b2 from 13:00, straight from its depot
    (it kept only the start of its bins, so it lost b2 too, and drove empty to the site
    first)."""
    no_plan_goes_on(monkeypatch)
    inventory, readings, reports = tiny_city
    t1 = dataclasses.replace(inventory.vehicles[0], max_stops=2)
    t2 = dataclasses.replace(t1, vehicle_id="t2")
    inventory = dataclasses.replace(inventory, vehicles=(t1, t2))
    day = plan_tiny_day(inventory, readings, reports)
    (route,) = [r for r in day.plan.routes if r.vehicle_ref == "t1"]
    first, second = route.bin_refs
    (deadline,) = [d.due_at for d in day.decisions if d.bin_id == bin_of(first)]
    now, back = local_time(6, 3), local_time(13)
    assert deadline is not None and deadline < back
    down = Downtime(vehicle_id="t1", start=now, end=back, reason="tyre")
    new_day, _ = replan_day(
        day,
        [],
        readings,
        reports,
        HaversineProvider(),
        now=now,
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=dataclasses.replace(inventory, downtimes=(down,)),
    )
    assert plan_stands(new_day.plan)
    assert new_day.violations == ()
    (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t1"]
    assert after.bin_refs == (second,)
    work = [x for x in after.visits if x.kind in (VisitKind.BIN, VisitKind.DISPOSAL)]
    assert [x.kind for x in work] == [VisitKind.BIN, VisitKind.DISPOSAL]  # no empty unload
    assert work[0].start_s >= day.seconds(back)
    reasons = {u.ref: u.reason for u in new_day.unserved}
    assert "planned for t1, which can go on only at 13:00" in reasons[first]


def test_a_truck_in_the_workshop_until_noon_goes_on_from_where_it_is_then(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """At 10:30 t1 (one bin done) goes to a workshop nearby until 12:00: the re-plan has it
    wait there and empty its other bins from 12:00."""
    down = Downtime(vehicle_id="t1", start=local_time(10, 30), end=local_time(12), reason="tyre")
    new_day, _, t1 = replanned_day(
        day, tiny_city, local_time(10, 30), [], [], inventory=_down(tiny_city, down)
    )
    assert new_day.violations == ()
    (route,) = new_day.plan.routes
    cut = route.visits.index(next(v for v in route.visits if v.ref == t1.done[-1]))
    later = [v for v in route.visits[cut + 1 :] if v.kind is VisitKind.BIN]
    assert later and all(v.start_s >= 12 * 3600 for v in later)
    assert (
        "t1 is out of service from 10:30 until 12:00 (tyre): it works 12:00-14:00"
        in new_day.plan.notes
    )


def test_a_truck_out_all_day_when_planned_is_back_in_service_on_a_replan(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 was in the workshop when the day was planned (t1 took one bin, the rest were
    unserved); repaired, its downtime is closed at 09:00 and the day re-planned: t2 leaves
    its depot then for the bins left."""
    inventory, _ = two_trucks(tiny_city)
    evening = local_time(18) - timedelta(days=1)
    down = Downtime(vehicle_id="t2", start=evening, end=local_time(9))
    still = dataclasses.replace(down, end=None)
    day = plan_tiny_day(dataclasses.replace(inventory, downtimes=(still,)), *tiny_city[1:])
    assert [r.vehicle_ref for r in day.plan.routes if r.bin_refs] == ["t1"] and day.unserved
    back = dataclasses.replace(inventory, downtimes=(down,))
    new_day, _, _ = replanned_day(day, tiny_city, local_time(9), [], [], inventory=back)
    assert new_day.violations == ()
    (t2,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    assert t2.bin_refs and t2.visits[0].start_s >= 9 * 3600
    assert not any("out of service" in n for n in new_day.plan.notes)


@pytest.mark.parametrize("changed", [date(2026, 3, 29), date(2026, 10, 25)])
def test_solver_seconds_are_local_clock_times_on_a_day_the_clocks_change(
    day: DayPlan, changed: date
) -> None:
    """The solver counts seconds elapsed since local midnight (06:00 is 5 h in on the day
    the clocks go forward, 7 h on the day they go back); the day plan's times read back as
    the same local clock times, and an instant as the same seconds."""
    on = dataclasses.replace(day, plan_date=changed)
    six = clock_to_s(time(6), plan_date=changed, tz=TZ)
    assert six == (5 if changed.month == 3 else 7) * 3600
    at = on.at(six)
    assert (at.date(), at.timetz().replace(tzinfo=None)) == (changed, time(6))
    assert on.seconds(datetime.combine(changed, time(10, 30), tzinfo=TZ)) == six + 4.5 * 3600


def test_an_idle_truck_back_in_service_breaks_no_rule_when_it_gets_no_bin(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """t2 was in the workshop when the day was planned (no route); back at 09:00, the day is
    re-planned then: t1 keeps its bins, t2 stays at its depot, and no rule is broken (its
    empty route is not read as leaving before it came back)."""
    inventory = tiny_city[0]
    t2 = dataclasses.replace(inventory.vehicles[0], vehicle_id="t2", max_stops=1)
    evening = local_time(18) - timedelta(days=1)
    fleet = dataclasses.replace(inventory, vehicles=(*inventory.vehicles, t2))
    still = Downtime(vehicle_id="t2", start=evening)
    planned = plan_tiny_day(dataclasses.replace(fleet, downtimes=(still,)), *tiny_city[1:])
    assert not any(r.bin_refs for r in planned.plan.routes if r.vehicle_ref == "t2")
    back = dataclasses.replace(fleet, downtimes=(dataclasses.replace(still, end=local_time(9)),))
    for now in (local_time(9), local_time(8, 30)):  # back now; and still out until 09:00
        new_day, _, _ = replanned_day(planned, tiny_city, now, [], [], inventory=back)
        assert new_day.violations == ()
        (route,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
        assert all(v.start_s >= 9 * 3600 for v in route.visits if v.kind is VisitKind.BIN)


def test_a_truck_broken_down_at_the_moment_of_the_replan_gets_no_second_of_shift(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 reports its first bin done and breaks down 0.6 s after (not a whole second): the
    moment of the re-plan and the downtime's start are read alike, so t2 takes no more
    bins and breaks no rule (it is not left a second of shift to get home in)."""
    inventory, day = two_trucks(tiny_city)
    (done,) = bins_done_by(day, 1, "t2")
    broke = day.at(done.time_s) + timedelta(seconds=0.6)
    down = dataclasses.replace(inventory, downtimes=(Downtime(vehicle_id="t2", start=broke),))
    new_day = replanned_as(day, done, tiny_city, down, broke)
    assert new_day.violations == ()
    (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    assert after.bin_refs == (done.done[-1],)


def test_a_reroute_sends_no_truck_gone_from_the_fleet(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 emptied its first bin and was taken off the fleet, the day not planned again; an
    alert on b5 then: the reroute keeps t2's bin done and gives it no other (its other bins
    and b5 go to t1 where it can, or are unserved with the reason), and says why."""
    inventory, day = two_trucks(tiny_city)
    (done,) = bins_done_by(day, 1, "t2")
    gone = dataclasses.replace(inventory, vehicles=inventory.vehicles[:1])
    new_day, _ = rerouted_with(day, done, "b5", gone)
    assert new_day.violations == ()
    (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    assert after.bin_refs == (done.done[-1],)
    assert any(n.startswith("t2 is no longer in the fleet") for n in new_day.plan.notes)
    left = {u.ref: u.reason for u in new_day.unserved}
    assert "b5" in new_day.plan.served_refs or "b5" in left


def test_a_reroute_sends_no_truck_out_of_service(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 breaks down just after its first bin (until further notice), and an alert on b5
    comes at once, before any re-plan: the reroute gives t2 no new bin, and the bins left
    say why."""
    inventory, day = two_trucks(tiny_city)
    (done,) = bins_done_by(day, 1, "t2")
    down = Downtime(vehicle_id="t2", start=day.at(done.time_s), reason="hydraulics")
    broken = dataclasses.replace(inventory, downtimes=(down,))
    new_day, _ = rerouted_with(day, done, "b5", broken)
    assert new_day.violations == ()
    (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    assert after.bin_refs == (done.done[-1],)
    note = f"t2 is out of service from {down.start:%H:%M} (hydraulics): it takes no more bins"
    assert any(n.startswith(note) for n in new_day.plan.notes)
    assert all("out of service (t2)" in u.reason for u in new_day.unserved)


def _stands_after(route: Route, done: Progress) -> None:
    """``route`` ends where ``done`` left its truck, with that load: no drive after it."""
    cut = next(i for i, v in enumerate(route.visits) if v.ref == done.done[-1])
    rest = route.visits[cut + 1 :]
    assert [v.kind for v in rest if v.kind is not VisitKind.BREAK] == [VisitKind.END]
    assert rest[-1].location == done.location
    assert (rest[-1].volume_l, rest[-1].weight_kg) == (done.volume_l, done.weight_kg)


def _stranded_note(done: Progress) -> str:
    return (
        f"t2 stands where it was last reported ({done.done[-1]}): its route ends there, "
        f"with {done.volume_l} l / {done.weight_kg} kg on board"
    )


def test_a_truck_broken_down_on_the_road_stands_there_with_its_load(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 breaks down on the road just after its first bin, loaded: the re-plan ends its
    route there, carrying that load (no drive to a site or its depot it cannot make), and
    says so; a second re-plan keeps it there."""
    inventory, day = two_trucks(tiny_city)
    (done,) = bins_done_by(day, 1, "t2")
    assert done.volume_l > 0
    down = Downtime(vehicle_id="t2", start=day.at(done.time_s), reason="hydraulics")
    broken = dataclasses.replace(inventory, downtimes=(down,))
    new_day = replanned_as(day, done, tiny_city, broken)
    assert new_day.violations == ()
    (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    _stands_after(after, done)
    assert _stranded_note(done) in new_day.plan.notes
    again = replanned_as(new_day, done, tiny_city, broken, day.at(done.time_s + 1800))
    assert again.violations == ()
    (after,) = [r for r in again.plan.routes if r.vehicle_ref == "t2"]
    _stands_after(after, done)


def _all_done(day: DayPlan, truck: str) -> Progress:
    """``truck`` has done all the work of its route in ``day``, as planned (all reported)."""
    work = route_work(day, truck)
    return done_through(truck, work, len(work) - 1)


def test_a_truck_broken_down_on_its_way_home_stands_at_its_last_stop(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 has done all its work (its last unloading reported) and breaks down driving home:
    its route ends where it unloaded, not at its depot (its planned return no longer
    stands), and no rule is broken."""
    inventory, day = two_trucks(tiny_city)
    done = _all_done(day, "t2")
    assert done.volume_l == 0  # its last visit: an unloading
    down = Downtime(vehicle_id="t2", start=day.at(done.time_s + 60))
    broken = dataclasses.replace(inventory, downtimes=(down,))
    new_day = replanned_as(day, done, tiny_city, broken, day.at(done.time_s + 60))
    assert new_day.violations == ()
    (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    assert after.visits[-1].location == done.location


def test_a_truck_done_with_its_work_and_seen_elsewhere_goes_home_from_there(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t1 has done all its work (its last unloading reported) and reports a position away
    from its way home ten minutes later: a reroute routes it home from there (a waypoint),
    not along its planned return, which had it home before then."""
    inventory, readings, reports = tiny_city
    day = plan_tiny_day(inventory, readings, reports)
    done = _all_done(day, "t1")
    (planned,) = day.plan.routes
    now = planned.visits[-1].arrival_s + 600
    new_day, _ = reroute_day(
        day,
        [dataclasses.replace(done, time_s=now)],
        [],
        HaversineProvider(),
        now=day.at(now),
        params=SolveParams(time_limit_s=1, seed=1),
        positions={"t1": (24.945, 60.176)},
    )
    assert new_day.violations == ()
    (t1,) = new_day.plan.routes
    assert t1.visits[-2].kind is VisitKind.WAYPOINT and t1.visits[-2].start_s >= now
    assert new_day.built.problem.matrix.points[at_row(t1.visits[-2])] == (24.945, 60.176)
    assert t1.visits[-1].arrival_s > now


def test_a_reroute_leaves_a_truck_broken_down_on_the_road_where_it_stands(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """An alert comes just after t2 broke down on the road, loaded: the reroute ends t2's
    route there too."""
    inventory, day = two_trucks(tiny_city)
    (done,) = bins_done_by(day, 1, "t2")
    down = Downtime(vehicle_id="t2", start=day.at(done.time_s))
    new_day, _ = rerouted_with(day, done, "b5", dataclasses.replace(inventory, downtimes=(down,)))
    assert new_day.violations == ()
    (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    _stands_after(after, done)
    assert _stranded_note(done) in new_day.plan.notes


def test_a_truck_repaired_where_it_broke_down_goes_on_and_ends_at_its_depot(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2 broke down on the road (its route ended there); repaired on the spot, its
    downtime ends half an hour later: the next re-plan sends it on from there and home."""
    inventory, day = two_trucks(tiny_city)
    (done,) = bins_done_by(day, 1, "t2")
    down = Downtime(vehicle_id="t2", start=day.at(done.time_s))
    stranded = replanned_as(day, done, tiny_city, dataclasses.replace(inventory, downtimes=(down,)))
    repaired = dataclasses.replace(down, end=day.at(done.time_s + 1800))
    fixed = dataclasses.replace(inventory, downtimes=(repaired,))
    new_day = replanned_as(stranded, done, tiny_city, fixed, day.at(done.time_s + 600))
    assert new_day.violations == ()
    (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    assert after.visits[-1].location == after.visits[0].location  # home
    assert not any(n.startswith("t2 stands where") for n in new_day.plan.notes)


def test_a_truck_booked_into_the_workshop_drives_home_for_it_on_a_replan(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """t2's workshop slot from 10:00 was known when the day was planned (its route ends at
    its depot by then). Its work all reported, a re-plan at 10:30 takes it home, as it
    drove there itself; with work left unreported it was still on the road, and stands
    where it was last reported."""
    inventory, _ = two_trucks(tiny_city)
    down = Downtime(vehicle_id="t2", start=local_time(10), reason="service")
    booked = dataclasses.replace(inventory, downtimes=(down,))
    day = plan_tiny_day(booked, *tiny_city[1:])
    (planned,) = [r for r in day.plan.routes if r.vehicle_ref == "t2"]
    assert planned.visits[-1].arrival_s <= 10 * 3600
    (first,) = bins_done_by(day, 1, "t2")
    for done, home in ((_all_done(day, "t2"), True), (first, False)):
        new_day = replanned_as(day, done, tiny_city, booked, local_time(10, 30))
        assert new_day.violations == ()
        (after,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
        at_depot = after.visits[-1].location == after.visits[0].location
        assert at_depot is home
        assert any(n.startswith("t2 stands where") for n in new_day.plan.notes) is not home


def test_a_reroute_may_send_a_truck_added_since_the_day_was_planned(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """At 13:30 t1 has half an hour of shift left when b5 overflows; t2 (on duty until
    18:00) joined the fleet since the plan: the reroute sends t2, leaving its depot no
    earlier than then, and the day's inventory lists it."""
    inventory = tiny_city[0]
    extra = late_truck(inventory)
    (done,) = bins_done_by(day, 1)
    late = dataclasses.replace(done, time_s=13 * 3600 + 30 * 60)
    now = dataclasses.replace(inventory, vehicles=(*inventory.vehicles, extra))
    new_day, _ = rerouted_with(day, late, "b5", now)
    assert new_day.violations == ()
    (t2,) = [r for r in new_day.plan.routes if r.vehicle_ref == "t2"]
    assert "b5" in t2.bin_refs and t2.visits[0].start_s >= late.time_s
    assert "t2 joined the fleet: it leaves its depot now" in new_day.plan.notes
    assert [v.vehicle_id for v in new_day.inventory.vehicles] == ["t1", "t2"]


def test_a_reroute_goes_on_from_the_position_of_a_truck_added_since_the_plan(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """As above, and t2 reports a position 3 km east at 13:30: a matrix row is added for it
    and its day sets out from its depot by then and goes on from there (a waypoint at that
    row). Before, the position was dropped (only trucks of the plan were placed) and t2
    left its depot at 13:30."""
    inventory = tiny_city[0]
    extra = late_truck(inventory)
    (done,) = bins_done_by(day, 1)
    late = dataclasses.replace(done, time_s=13 * 3600 + 30 * 60)
    now = dataclasses.replace(inventory, vehicles=(*inventory.vehicles, extra))
    new_day, _ = reroute_day(
        day,
        [late],
        ["b5"],
        HaversineProvider(),
        now=day.at(late.time_s),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=now,
        positions={"t2": (24.99, 60.17)},
    )
    assert new_day.violations == ()
    _goes_on_from_its_position(new_day, "t2", late.time_s)


def test_a_replan_goes_on_from_the_position_of_a_truck_added_since_the_plan(
    day: DayPlan, tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]
) -> None:
    """As above, for a re-plan at 13:30 (t1 after its first bin, t2 added and reported 3 km
    east): t2 goes on from its position. Before, it left its depot at 13:30."""
    inventory = tiny_city[0]
    now = dataclasses.replace(inventory, vehicles=(*inventory.vehicles, late_truck(inventory)))
    at = local_time(13, 30)
    positions = {"t2": (24.99, 60.17)}
    new_day, _, _ = replanned_day(day, tiny_city, at, [], [], inventory=now, positions=positions)
    assert new_day.violations == ()
    _goes_on_from_its_position(new_day, "t2", day.seconds(at))


def _goes_on_from_its_position(new_day: DayPlan, truck: str, at_s: int) -> None:
    """``truck``'s day sets out from its depot and goes on from the matrix row added for its
    reported position (a waypoint there at ``at_s``)."""
    built = new_day.built
    kinds = zip(built.point_refs, built.point_kinds, strict=True)
    row = next(i for i, point in enumerate(kinds) if point == (truck, "truck"))
    (route,) = [r for r in new_day.plan.routes if r.vehicle_ref == truck]
    (spec,) = [v for v in built.problem.vehicles if v.ref == truck]
    assert [(v.kind, v.location) for v in route.visits[:2]] == [
        (VisitKind.START, spec.start),
        (VisitKind.WAYPOINT, row),
    ]
    assert route.visits[1].start_s == at_s
