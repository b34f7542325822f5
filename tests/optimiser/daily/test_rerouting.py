"""Rerouting a driven day (``reroute_day``): alerts, positions, targets and places no street
reaches, on the tiny city."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fleet.errors import FleetDataError
from fleet.models import Action, CitizenReport, FillReading, Inventory
from network.errors import NetworkError, SnapError
from network.matrix import TravelMatrix
from network.providers import HaversineProvider
from optimiser.check import check
from optimiser.daily import DayPlan, plan_day, replan_day, reroute_day
from optimiser.export import plan_json
from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus, Route, Visit, VisitKind
from optimiser.problem import bin_of
from optimiser.reroute import Progress
from tests.optimiser.daily.city import (
    DAY,
    TZ,
    alert_visit,
    alerted_day,
    bins_done_by,
    plan_tiny_day,
)


def test_reroute_day_adds_an_overflowing_bin_and_keeps_what_is_done(day: DayPlan) -> None:
    """An alert on a skipped bin: new matrix row, bin served today, done prefix untouched."""
    progress = bins_done_by(day, 1)
    now = day.at(progress[0].time_s)
    new_day, changes = reroute_day(
        day, progress, ["b5"], HaversineProvider(), now=now, params=SolveParams(time_limit_s=1)
    )
    assert new_day.violations == ()
    assert check(new_day.built.problem, new_day.plan) == []
    assert "b5" in new_day.plan.served_refs
    assert new_day.built.problem.matrix.size == day.built.problem.matrix.size + 1
    assert new_day.built.point_refs[-1] == "b5"
    old = next(r for r in day.plan.routes if r.vehicle_ref == "t1")
    new = next(r for r in new_day.plan.routes if r.vehicle_ref == "t1")
    assert new.bin_refs[0] == old.bin_refs[0]  # what is done stays done
    assert "b5" in changes["t1"].added
    decision = next(d for d in new_day.decisions if d.bin_id == "b5")
    assert decision.action is Action.MUST and decision.reason == "overflow alert"


def test_reroute_day_rejects_an_unknown_bin(day: DayPlan) -> None:
    """An alert naming a bin not in the inventory is a clear error."""
    with pytest.raises(FleetDataError, match="unknown bin 'ghost'"):
        reroute_day(day, [], ["ghost"], HaversineProvider(), now=day.at(9 * 3600))


def test_second_visit_finds_what_came_in_since_the_first() -> None:
    """A bin at 0.5 filling 5 %/h, emptied at 08:00 and again at 12:00: 0.55 then 0.2."""
    from fleet.forecast import FillModel
    from optimiser.daily import fill_at_pickup
    from optimiser.plan import Visit, VisitKind

    tz = ZoneInfo("Europe/Lisbon")
    start = datetime(2026, 6, 1, 0, 0, tzinfo=tz)
    model = FillModel(
        bin_id="b1",
        anchor_at=start + timedelta(hours=7),
        anchor_fill=0.5,
        anchor_sd=0.0,
        rate_per_h=0.05,
        rate_sd_per_h=0.0,
    )

    def visit(ref: str, hours: int) -> Visit:
        s = hours * 3600
        return Visit(kind=VisitKind.BIN, ref=ref, location=3, arrival_s=s, start_s=s, end_s=s + 60)

    route = Route(
        vehicle_ref="v1",
        visits=(visit("b1#2", 12), visit("b1", 8)),  # any order: the earlier one is the first
        distance_m=0,
        duration_s=0,
        cost=0,
    )
    fills = fill_at_pickup(start, Plan(status=PlanStatus.FEASIBLE, routes=(route,)), {"b1": model})
    assert fills == {"b1": pytest.approx(0.55), "b1#2": pytest.approx(0.2)}


def test_a_bin_refilling_within_hours_is_planned_twice_and_survives_a_reroute(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """b0 fills 6 %/h (full ~17 h after an emptying): emptied early and again late the same
    day, both visits checked; an alert after the first visit keeps the second one."""
    inventory, readings, reports = tiny_city
    t0 = datetime.combine(DAY - timedelta(days=3), time(0), tzinfo=TZ)
    sawtooth = [  # emptied every 15 h, 3-hourly readings
        FillReading(bin_id="b0", at=t0 + timedelta(hours=h), fill_fraction=0.06 * (h % 15))
        for h in range(0, 72, 3)
    ]
    fast = [r for r in readings if r.bin_id != "b0"] + sawtooth
    day = plan_tiny_day(inventory, fast, reports)
    b0 = next(d for d in day.decisions if d.bin_id == "b0")
    assert b0.action is Action.MUST and b0.release_at is not None
    assert {"b0", "b0#2"} <= day.plan.served_refs
    assert day.violations == () and check(day.built.problem, day.plan) == []
    starts = {v.ref: v.start_s for r in day.plan.routes for v in r.visits}
    assert starts["b0#2"] - starts["b0"] >= 3600
    doc = plan_json(day)
    second = [v for r in doc["routes"] for v in r["visits"] if v["ref"] == "b0#2"]
    assert second[0]["bin_id"] == "b0" and second[0]["expected_fill"] < 0.9
    weights = {d.bin_id: d.expected_weight_kg for d in day.decisions}
    refill_kg = next(s.weight_kg for s in day.built.problem.stops if s.ref == "b0#2")
    assert refill_kg > 0
    expected_kg = sum(weights[r] for r in day.plan.served_refs if r != "b0#2") + refill_kg
    assert day.kpis["kg"] == pytest.approx(expected_kg, abs=0.1)  # the second load counts
    progress = bins_done_by(day, 1)
    new_day, _ = reroute_day(
        day,
        progress,
        ["b5"],
        HaversineProvider(),
        now=day.at(progress[0].time_s),
        params=SolveParams(time_limit_s=1),
    )
    assert check(new_day.built.problem, new_day.plan) == []
    assert {"b0#2", "b5"} <= new_day.plan.served_refs
    assert new_day.kpis["kg"] >= day.kpis["kg"]  # b5 added, b0#2 still counted


def test_reroute_day_starts_a_truck_from_its_reported_position(day: DayPlan) -> None:
    """t1 reports a position 3 km east after its first bin: a matrix row is added for it,
    and its new route goes on from there at the time of the reroute (a waypoint)."""
    progress = bins_done_by(day, 1)
    now = day.at(progress[0].time_s + 600)
    there = (24.99, 60.17)
    new_day, _ = reroute_day(
        day,
        progress,
        ["b5"],
        HaversineProvider(),
        now=now,
        params=SolveParams(time_limit_s=1),
        positions={"t1": there},
    )
    assert new_day.violations == ()
    assert check(new_day.built.problem, new_day.plan) == []
    matrix = new_day.built.problem.matrix
    assert (new_day.built.point_refs[-1], new_day.built.point_kinds[-1]) == ("t1", "truck")
    assert matrix.points[-1] == pytest.approx(there)
    route = next(r for r in new_day.plan.routes if r.vehicle_ref == "t1")
    waypoint = next(v for v in route.visits if v.kind is VisitKind.WAYPOINT)
    assert (waypoint.location, waypoint.start_s) == (matrix.size - 1, progress[0].time_s + 600)


def test_reroute_day_ignores_a_position_off_the_streets(day: DayPlan) -> None:
    """A position no street reaches (a GPS glitch) is noted, not fatal."""

    class Snapless(HaversineProvider):
        def extend(self, matrix, points):
            if any(lon > 100 for lon, _ in points):
                raise NetworkError("(120.0, 60.0) is 5000 km from the nearest street")
            return super().extend(matrix, points)

    progress = bins_done_by(day, 1)
    new_day, _ = reroute_day(
        day,
        progress,
        [],
        Snapless(),
        now=day.at(progress[0].time_s),
        params=SolveParams(time_limit_s=1),
        positions={"t1": (120.0, 60.0)},
    )
    assert new_day.violations == ()
    assert any(n.startswith("truck positions ignored") for n in new_day.plan.notes)
    assert new_day.built.problem.matrix.size == day.built.problem.matrix.size


class _Island(HaversineProvider):
    """Straight lines, but no street east of 24.98 (lon): as a StreetProvider, a matrix
    of such a point raises SnapError, and ``far_points`` lists them first."""

    max_snap_m = 250.0

    def far_points(self, points: Sequence[tuple[float, float]]) -> dict[int, float]:
        return {i: 900.0 for i, (lon, _) in enumerate(points) if lon > 24.98}

    def __call__(self, points: Sequence[tuple[float, float]]) -> TravelMatrix:
        far = self.far_points(points)
        if far:
            i = min(far)
            raise SnapError.of_point(i, f"{points[i]} is 900 m from the nearest drivable street")
        return super().__call__(points)


def test_a_bin_no_street_reaches_is_unserved_not_fatal(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """b0 (a must bin) sits where no street is (coordinates typed wrong): the day is planned
    without it, and it is unserved with the reason (the whole plan failed on 'point 2'),
    also after a re-plan; the KPIs count it (a re-plan's did not)."""
    inventory, readings, reports = tiny_city
    far = dataclasses.replace(inventory.bin("b0"), lon=24.99)
    moved = dataclasses.replace(
        inventory, bins=(far, *(b for b in inventory.bins if b.bin_id != "b0"))
    )
    params = SolveParams(time_limit_s=1.0, seed=1)
    day = plan_day(moved, readings, reports, _Island(), plan_date=DAY, tz=TZ, params=params)
    assert day.violations == ()
    assert [(u.ref, u.reason) for u in day.unserved] == [
        (
            "b0",
            "no truck can reach it: (24.990000, 60.170000) is 900 m from the nearest drivable "
            "street (limit 250 m); fix its coordinates",
        )
    ]
    assert (day.kpis["unserved"], day.kpis["unserved_must"]) == (1, 1)
    doc = plan_json(day)
    assert [(u["bin_id"], u["required"]) for u in doc["unserved"]] == [("b0", True)]
    assert "b0" in {d["bin_id"] for d in doc["decisions"]}  # its forecast is still shown
    again, _ = replan_day(day, [], readings, reports, _Island(), now=day.at(7 * 3600))
    assert again.violations == () and [u.ref for u in again.unserved] == ["b0"]
    assert (again.kpis["unserved"], again.kpis["unserved_must"]) == (1, 1)  # they said 0


def test_a_depot_no_street_reaches_is_named(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """The only depot off the streets stops the plan, naming it (it said 'point 0'): no
    truck is left to plan (a depot of several is left out, with its trucks, and a note)."""
    inventory, readings, reports = tiny_city
    depot = dataclasses.replace(inventory.depots[0], lon=24.99)
    moved = dataclasses.replace(inventory, depots=(depot,))
    with pytest.raises(SnapError, match=r"^depot d \(24.990000, 60.165000\) is 900 m from"):
        plan_day(moved, readings, reports, _Island(), plan_date=DAY, tz=TZ)


def test_reroute_day_says_when_a_planned_unloading_went_unreported(day: DayPlan) -> None:
    """t1 reported its last bin but not the unloading after it, which the plan had done by
    now: it is taken to still carry its load, and the new plan says so."""
    route = next(r for r in day.plan.routes if r.vehicle_ref == "t1")
    progress = bins_done_by(day, len(route.bin_refs))
    work = [v for v in route.visits if v.kind in (VisitKind.BIN, VisitKind.DISPOSAL)]
    unload = work[len(progress[0].done)]
    assert unload.kind is VisitKind.DISPOSAL
    fast = SolveParams(time_limit_s=0.5)
    before, _ = reroute_day(
        day, progress, [], HaversineProvider(), now=day.at(unload.start_s), params=fast
    )
    assert not any("no unloading reported" in n for n in before.plan.notes)
    after, _ = reroute_day(
        day, progress, [], HaversineProvider(), now=day.at(unload.end_s + 600), params=fast
    )
    (note,) = [n for n in after.plan.notes if "no unloading reported" in n]
    assert note.startswith(f"t1: no unloading reported after {route.bin_refs[-1]}")
    assert after.violations == ()


def test_an_alert_on_a_bin_emptied_earlier_today_sends_a_truck_again(day: DayPlan) -> None:
    """b-first was emptied at dawn and overflows again three hours later: the reroute adds a
    second visit (``<bin>#2``), loaded full, and the first stays done. It used to take the
    alert as served by the visit already done."""
    (done,) = bins_done_by(day, 1)
    first = done.done[-1]
    new_day, t1 = alerted_day(day, first, done.time_s + 3 * 3600)
    again = f"{first}#2"
    assert {first, again} <= new_day.plan.served_refs
    assert new_day.violations == ()
    stop = new_day.built.problem.stop(again)
    assert stop.required and stop.volume_l == 660  # full: it overflows
    assert new_day.fill_at_pickup[again] == 1.0
    visit = next(v for r in new_day.plan.routes for v in r.visits if v.ref == again)
    assert visit.start_s >= t1.time_s
    doc = plan_json(new_day)
    rows = [v for r in doc["routes"] for v in r["visits"] if v["ref"] == again]
    assert rows[0]["bin_id"] == first


def test_hours_leave_out_a_truck_waiting_at_its_depot_between_outings(day: DayPlan) -> None:
    """t1 was back by mid-morning and is sent out at noon for an alert: the hours count the
    two outings, not the hours it stood at its depot in between."""
    route = next(r for r in day.plan.routes if r.vehicle_ref == "t1")
    work = [v for v in route.visits if v.kind in (VisitKind.BIN, VisitKind.DISPOSAL)]
    end = route.visits[-1]
    noon = 12 * 3600
    assert end.arrival_s < noon - 3 * 3600
    back = Progress(
        vehicle_ref="t1",
        done=tuple(v.ref for v in work),
        location=int(end.location or 0),
        time_s=noon,
        volume_l=0,
        weight_kg=0,
        daily_l=work[-1].daily_l,
        daily_kg=work[-1].daily_kg,
        break_taken=any(v.kind is VisitKind.BREAK for v in route.visits),
    )
    new_day, _ = reroute_day(
        day,
        [back],
        ["b5"],
        HaversineProvider(),
        now=day.at(noon),
        params=SolveParams(time_limit_s=1),
    )
    assert new_day.violations == ()
    new = next(r for r in new_day.plan.routes if r.vehicle_ref == "t1")
    idle_s = noon - end.arrival_s
    outing_s = new.visits[-1].end_s - noon  # from the depot to b5, the site, and back
    assert new.duration_s == pytest.approx(route.duration_s + idle_s + outing_s, abs=1)
    assert new_day.kpis["hours"] == pytest.approx((route.duration_s + outing_s) / 3600, abs=0.01)
    (doc,) = [r for r in plan_json(new_day)["routes"] if r["vehicle_id"] == "t1"]
    assert doc["duration_s"] - doc["waiting_at_depot_s"] == route.duration_s + outing_s


def test_an_alert_too_late_to_serve_counts_as_a_must_bin_left_out(day: DayPlan) -> None:
    """The bin emptied at dawn overflows again at 13:55, too late for a truck (nor can it
    still empty its other two must bins): the second visit is unserved with the reason, and
    the KPIs count it among the must bins left out."""
    first = bins_done_by(day, 1)[0].done[-1]
    new_day, _ = alerted_day(day, first, 13 * 3600 + 55 * 60)
    (u,) = [u for u in new_day.unserved if u.ref == f"{first}#2"]
    assert "within its shift" in u.reason
    must = {d.bin_id for d in new_day.decisions if d.action is Action.MUST}
    assert {bin_of(u.ref) for u in new_day.unserved} <= must
    assert new_day.kpis["unserved_must"] == len(new_day.unserved) == 3
    # the plan JSON tells the alert's visit from the other must bins left out
    listed = {u["ref"]: u["alert"] for u in plan_json(new_day)["unserved"]}
    assert listed.pop(f"{first}#2") is True and not any(listed.values())
    assert new_day.alerted == (f"{first}#2",)


def test_an_alert_on_a_bin_planned_later_loads_it_full(day: DayPlan) -> None:
    """The plan empties b1 next, before its forecast overflow, at its forecast fill; an
    alert says it overflows now: the visit stays in the day, loaded full (as an alert on a
    bin the plan skipped is), within the bin's own access hours (any time)."""
    route = next(r for r in day.plan.routes if r.vehicle_ref == "t1")
    later = route.bin_refs[1]
    planned = day.built.problem.stop(later)
    assert planned.volume_l < 660 and planned.window_s is not None
    new_day, _ = alerted_day(day, later)
    stop = new_day.built.problem.stop(later)
    assert stop.required and stop.volume_l == 660 and stop.window_s is None
    assert later in new_day.plan.served_refs and new_day.violations == ()
    assert new_day.fill_at_pickup[later] == 1.0


def test_an_alert_after_the_planned_deadline_still_brings_a_truck(day: DayPlan) -> None:
    """b1 was due by 06:33 (its forecast overflow); at 07:30 the truck is late and the alert
    comes: the bin is served, not dropped as out of its planned window."""
    route = next(r for r in day.plan.routes if r.vehicle_ref == "t1")
    b1 = route.bin_refs[1]
    window = day.built.problem.stop(b1).window_s
    late = 7 * 3600 + 1800
    assert window is not None and window[1] < late
    new_day, _ = alerted_day(day, b1, late)
    assert b1 in new_day.plan.served_refs and new_day.violations == ()


def test_a_must_bin_whose_deadline_passed_is_emptied_late_not_dropped(day: DayPlan) -> None:
    """b1 was due by 06:33 (its forecast overflow); t1 is held up at its first bin until
    09:00 and an alert comes for another bin: b1 stays in the day, emptied as soon as a
    truck can, with a note, rather than left out as out of its window."""
    route = next(r for r in day.plan.routes if r.vehicle_ref == "t1")
    b1 = route.bin_refs[1]
    window = day.built.problem.stop(b1).window_s
    assert window is not None and window[1] < 9 * 3600
    new_day, _ = alerted_day(day, "b5", 9 * 3600)
    assert {b1, "b5"} <= new_day.plan.served_refs
    assert new_day.violations == ()
    assert new_day.built.problem.stop(b1).window_s is None  # b1 has no access hours of its own
    assert any(b1 in n and "deadline" in n for n in new_day.plan.notes), new_day.plan.notes


def test_an_alert_with_a_response_target_is_emptied_by_it(day: DayPlan) -> None:
    """b5 (skipped by the plan) overflows; its target is 2 h later: emptied by then, and the
    plan JSON gives the target (``respond_by``) and ``late_s`` 0."""
    new_day, now = alerted_day(day, "b5", respond_s=7200)
    assert new_day.violations == () and "b5" in new_day.plan.served_refs
    assert new_day.built.problem.stop("b5").due_s == now.time_s + 7200
    visit = alert_visit(new_day, "b5")
    assert visit["respond_by"] == day.at(now.time_s + 7200).isoformat() and visit["late_s"] == 0
    bins = [v for r in plan_json(new_day)["routes"] for v in r["visits"] if v["kind"] == "bin"]
    assert [v["bin_id"] for v in bins if v["alert"]] == ["b5"]
    assert not any("response target" in n for n in new_day.plan.notes)


def test_an_alert_whose_target_no_truck_can_meet_is_emptied_late_with_a_note(
    day: DayPlan,
) -> None:
    """A target at the alert's own time cannot be met (the truck must drive there): b5 is
    still emptied, no rule is broken, and a note says how late."""
    new_day, _ = alerted_day(day, "b5", respond_s=0)
    assert new_day.violations == () and "b5" in new_day.plan.served_refs
    visit = alert_visit(new_day, "b5")
    assert isinstance(visit["late_s"], int) and visit["late_s"] > 0
    (note,) = [n for n in new_day.plan.notes if "response target" in n]
    assert note.startswith("b5: emptied at ") and "after its alert's response target" in note


def test_a_second_alert_keeps_the_first_alerts_sooner_target(day: DayPlan) -> None:
    """b5 is alerted with a 2 h target, then again half an hour later (a 2 h target of its
    own): the visit keeps the first, sooner target."""
    first, now = alerted_day(day, "b5", respond_s=7200)
    again, _ = reroute_day(
        first,
        [dataclasses.replace(now, time_s=now.time_s + 60)],
        ["b5"],
        HaversineProvider(),
        now=day.at(now.time_s + 1800),
        params=SolveParams(time_limit_s=1),
        due={"b5": day.at(now.time_s + 1800 + 7200)},
    )
    assert again.built.problem.stop("b5").due_s == now.time_s + 7200
    assert again.violations == ()
