"""Bins on streets trucks may drive only at some hours (``optimiser.street_hours``): on the
square of tests.network whose diagonal is a pedestrian zone open for deliveries Monday to
Saturday 06:00-11:00, in a day's plan, its reroutes and re-plans."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fleet.models import Bin, FillReading, Inventory, TimeWindow
from network import load_network
from network.hours import TimedStreet
from network.providers import HaversineProvider, StreetProvider
from optimiser.check import check
from optimiser.daily import DayPlan, plan_day, replan_day, reroute_day
from optimiser.export import plan_json
from optimiser.params import SolveParams
from optimiser.plan import UnservedKind, VisitKind, clock
from optimiser.sheets import day_sheets_html, language
from optimiser.street_hours import street_hours, visit_window
from optimiser.street_told import CLOSED_STREET, told_day
from tests.network.conftest import ON_YARD, osm_tags, write_square, write_yard
from tests.optimiser.conftest import street_town

TZ = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 12, 7)
SUNDAY = MONDAY + timedelta(days=6)
H = 3600
NEAR_1 = (10.0001, 50.0)  # on the square, by corner 1: the depot
NEAR_3 = (10.0009, 50.001)  # on the square, by corner 3: the site
ON_DIAGONAL = ((10.0005, 50.0005), (10.0003, 50.0003), (10.0007, 50.0007))
ON_SQUARE = (10.001, 50.0005)  # on way 12 (2-3), open at all hours
PARAMS = SolveParams(time_limit_s=1.0, seed=1)
ZONE = {
    "highway": "pedestrian",
    "name": "Market Street",
    "motor_vehicle:conditional": "destination @ (Mo-Sa 06:00-11:00)",
}


@pytest.fixture(scope="module")
def streets(tmp_path_factory: pytest.TempPathFactory) -> StreetProvider:
    folder = tmp_path_factory.mktemp("square")
    _, pbf = write_square(folder, "zone", osm_tags(**ZONE))
    return StreetProvider(load_network(pbf, cache_dir=folder), max_snap_m=100.0)


def _bin(bin_id: str, at: tuple[float, float], **kw: object) -> Bin:
    return Bin(bin_id=bin_id, lon=at[0], lat=at[1], capacity_l=240, **kw)  # type: ignore[arg-type]


def _town(shift: tuple[int, int] = (6, 14), **windows: TimeWindow) -> Inventory:
    """Bins m1, m2 in the zone, r1 on the square; one truck working ``shift`` (hours)."""
    bins = [
        _bin("m1", ON_DIAGONAL[0], access_window=windows.get("m1")),
        _bin("m2", ON_DIAGONAL[1]),
        _bin("r1", ON_SQUARE),
    ]
    inventory = street_town(bins, depot=NEAR_1, site=NEAR_3)
    truck = dataclasses.replace(
        inventory.vehicles[0], shift=TimeWindow(time(shift[0]), time(shift[1]))
    )
    return dataclasses.replace(inventory, vehicles=(truck,))


def _plan(inventory: Inventory, streets: StreetProvider, day: date = MONDAY) -> DayPlan:
    eve = datetime.combine(day - timedelta(days=1), time(20), tzinfo=TZ)
    readings = [FillReading(bin_id=b.bin_id, at=eve, fill_fraction=0.95) for b in inventory.bins]
    return plan_day(inventory, readings, [], streets, plan_date=day, tz=TZ, params=PARAMS)


def _zone_times(streets: StreetProvider, at: tuple[float, float]) -> TimedStreet:
    found = streets.street_hours([at])[0]
    assert found is not None
    return found


def _starts(day: DayPlan) -> dict[str, int]:
    return {v.ref: v.start_s for r in day.plan.routes for v in r.visits if v.kind is VisitKind.BIN}


def test_bins_in_the_zone_are_emptied_in_its_delivery_hours(streets: StreetProvider) -> None:
    """On a Monday, with a shift 06:00-14:00: the zone's bins are emptied with the truck in
    the zone only between 06:00 and 11:00 (driving in, emptying, driving out), the bin on
    the square any time; the checker agrees; the plan says why."""
    day = _plan(_town(), streets)
    assert day.violations == () and check(day.built.problem, day.plan) == []
    assert day.plan.served_refs == {"m1", "m2", "r1"}
    starts = _starts(day)
    for ref, at in zip(("m1", "m2"), ON_DIAGONAL, strict=False):
        zone = _zone_times(streets, at)
        stop = day.built.problem.stop(ref)
        assert stop.window_s is not None
        lo, hi = stop.window_s
        assert lo >= 6 * H + zone.enter_s
        assert hi + stop.service_s + zone.leave_s <= 11 * H
        assert lo <= starts[ref] <= hi
    assert day.built.problem.stop("r1").window_s is None
    said = [n for n in day.plan.notes if "Market Street" in n]
    assert said == [
        "bins m1, m2 are on Market Street, open to trucks 06:00-11:00 on Monday (motor_vehicle "
        "destination @ (Mo-Sa 06:00-11:00); access no): their visits are timed to be done "
        "within those hours"
    ]
    assert day.inventory.bin("m1").access_window is None  # the day keeps the bins as listed
    assert set(day.street_hours) == {"m1", "m2"}
    visits = [v for r in plan_json(day)["routes"] for v in r["visits"] if v["kind"] == "bin"]
    timed = {v["bin_id"]: v.get("street_hours") for v in visits}
    assert timed["r1"] is None and timed["m1"] == day.street_hours["m1"].text
    assert timed["m1"].startswith("Market Street, open to trucks 06:00-11:00 on Monday")
    opened = {v["bin_id"]: v.get("street_open") for v in visits}
    assert opened["r1"] is None and opened["m1"] == {
        "street": "Market Street",
        "hours": [["06:00", "11:00"]],
        "rule": "motor_vehicle destination @ (Mo-Sa 06:00-11:00); access no",
    }
    sheet = day_sheets_html(day)
    assert sheet.count("timed street: Market Street, open to trucks 06:00-11:00") == 2
    german = day_sheets_html(day, lang=language("de"))  # said from street_open, its day's name
    assert (
        german.count("Straße mit Zeitregel: Market Street, für Lkw befahrbar 06:00-11:00 am Montag")
        == 2
    )


def test_a_bins_own_window_is_narrowed_by_its_streets_hours(streets: StreetProvider) -> None:
    day = _plan(_town(m1=TimeWindow(time(10), time(12))), streets)
    zone = _zone_times(streets, ON_DIAGONAL[0])
    stop = day.built.problem.stop("m1")
    assert stop.window_s is not None and stop.window_s[0] == 10 * H
    assert stop.window_s[1] == 11 * H - stop.service_s - int(zone.leave_s) - 1
    assert day.violations == () and "m1" in day.plan.served_refs


def test_a_bins_own_window_outside_its_streets_hours_is_said_so(
    streets: StreetProvider,
) -> None:
    day = _plan(_town(m1=TimeWindow(time(12), time(13))), streets)
    (u,) = [u for u in day.unserved if u.ref == "m1"]
    assert u.kind is UnservedKind.STREET_CLOSED
    assert u.reason.startswith(f"{CLOSED_STREET} within its access window 12:00-13:00: ")
    assert "widen its access window, or empty it by hand" in u.reason
    assert day.violations == () and {"m2", "r1"} <= day.plan.served_refs


@pytest.mark.parametrize(
    ("shift", "day", "hours"),
    [((12, 20), MONDAY, "06:00-11:00 on Monday"), ((6, 14), SUNDAY, "at no time on Sunday")],
)
def test_bins_in_the_zone_are_unserved_when_it_is_closed_whenever_trucks_work(
    streets: StreetProvider, shift: tuple[int, int], day: date, hours: str
) -> None:
    """An afternoon shift on a Monday, or any shift on a Sunday: the zone's bins cannot be
    emptied, unserved with the reason (kind street_closed) and not sent to the solver; the
    bin on the square is emptied."""
    planned = _plan(_town(shift), streets, day)
    assert planned.violations == () and planned.plan.served_refs == {"r1"}
    assert {s.ref for s in planned.built.problem.stops} == {"r1"}
    closed = {u.ref: u for u in planned.unserved}
    assert set(closed) == {"m1", "m2"}
    for u in closed.values():
        assert u.kind is UnservedKind.STREET_CLOSED
        assert u.reason.startswith(CLOSED_STREET)
        assert f"Market Street on {day:%A %Y-%m-%d}" in u.reason
        assert f"is open to trucks {hours.split(' on ')[0]}" in u.reason
        assert u.reason.endswith("empty it on a day its street is open, or empty it by hand")
    doc = plan_json(planned)
    assert {u["kind"] for u in doc["unserved"]} == {"street_closed"}
    assert planned.kpis["unserved_must"] == 2


def test_an_alert_in_the_zone_is_rerouted_within_its_hours(streets: StreetProvider) -> None:
    """At 07:00 a new bin in the zone overflows: emptied by 11:00 less the drive out; a
    re-plan at 08:00 times its bins the same way."""
    inventory = _town()
    day = _plan(inventory, streets)
    alert = _bin("m3", ON_DIAGONAL[2])
    now_inventory = dataclasses.replace(inventory, bins=(*inventory.bins, alert))
    new_day, _ = reroute_day(
        day, [], ["m3"], streets, now=day.at(7 * H), params=PARAMS, inventory=now_inventory
    )
    assert new_day.violations == () and "m3" in new_day.plan.served_refs
    zone = _zone_times(streets, ON_DIAGONAL[2])
    stop = new_day.built.problem.stop("m3")
    assert stop.window_s is not None
    assert stop.window_s[1] + stop.service_s + zone.leave_s <= 11 * H
    assert new_day.inventory.bin("m3").access_window is None
    assert set(new_day.street_hours) == {"m1", "m2", "m3"}
    said = [n for n in new_day.plan.notes if "Market Street" in n]  # m1, m2: the day said so
    assert said == [
        "bin m3 is on Market Street, open to trucks 06:00-11:00 on Monday (motor_vehicle "
        "destination @ (Mo-Sa 06:00-11:00); access no): its visit is timed to be done "
        "within those hours"
    ]
    eve = datetime.combine(MONDAY - timedelta(days=1), time(20), tzinfo=TZ)
    readings = [FillReading(bin_id=b.bin_id, at=eve, fill_fraction=0.95) for b in inventory.bins]
    again, _ = replan_day(
        new_day, [], readings, [], streets, now=day.at(8 * H), inventory=now_inventory
    )
    assert again.violations == ()
    for s in again.built.problem.stops:
        if s.ref in {"m1", "m2", "m3"}:
            assert s.window_s is not None and s.window_s[1] < 11 * H, s.ref


def test_an_alert_in_the_zone_on_a_sunday_is_unserved_with_the_reason(
    streets: StreetProvider,
) -> None:
    """An alert on a zone bin on a Sunday, and a re-plan: still unserved, its street
    closed; the bin on the square is emptied."""
    inventory = _town()
    day = _plan(inventory, streets, SUNDAY)
    new_day, _ = reroute_day(
        day, [], ["m1"], streets, now=day.at(7 * H), params=PARAMS, inventory=inventory
    )
    assert new_day.violations == ()
    closed = [u for u in new_day.unserved if u.ref == "m1"]
    assert len(closed) == 1 and closed[0].kind is UnservedKind.STREET_CLOSED
    eve = datetime.combine(SUNDAY - timedelta(days=1), time(20), tzinfo=TZ)
    readings = [FillReading(bin_id=b.bin_id, at=eve, fill_fraction=0.95) for b in inventory.bins]
    again, _ = replan_day(new_day, [], readings, [], streets, now=day.at(8 * H))
    assert again.violations == () and again.plan.served_refs == {"r1"}
    assert {u.ref: u.kind for u in again.unserved} == {
        "m1": UnservedKind.STREET_CLOSED,
        "m2": UnservedKind.STREET_CLOSED,
    }


def test_a_bin_moved_into_the_zone_is_rerouted_within_its_hours(
    streets: StreetProvider,
) -> None:
    """r1, planned on the square, is moved onto the zone's lane by 07:00: the reroute
    empties it there, within the lane's hours."""
    inventory = _town()
    day = _plan(inventory, streets)
    assert day.built.problem.stop("r1").window_s is None
    moved = dataclasses.replace(inventory.bin("r1"), lon=ON_DIAGONAL[2][0], lat=ON_DIAGONAL[2][1])
    now = dataclasses.replace(
        inventory, bins=tuple(moved if b.bin_id == "r1" else b for b in inventory.bins)
    )
    new_day, _ = reroute_day(day, [], [], streets, now=day.at(7 * H), params=PARAMS, inventory=now)
    assert new_day.violations == () and "r1" in new_day.plan.served_refs
    stop = new_day.built.problem.stop("r1")
    zone = _zone_times(streets, ON_DIAGONAL[2])
    assert stop.window_s is not None and stop.window_s[0] >= 6 * H + zone.enter_s
    assert stop.window_s[1] + stop.service_s + zone.leave_s <= 11 * H
    assert stop.window_s[0] <= _starts(new_day)["r1"] <= stop.window_s[1]


def test_a_street_open_all_day_today_leaves_its_bins_as_they_are(
    streets: StreetProvider,
) -> None:
    """A street closed only at weekends is a timed street, but on a Monday its bins are
    emptied at any hour, with no note."""
    rule = streets.street_hours([ON_DIAGONAL[0]])[0]
    assert rule is not None
    weekend = TimedStreet(
        rule='[["motor_vehicle",null,[["no","Sa,Su 07:00-20:00"]]]]',
        street="Beira-Rio",
        enter_s=rule.enter_s,
        leave_s=rule.leave_s,
    )

    class Weekend:
        def street_hours(self, points: list[tuple[float, float]]) -> list[TimedStreet]:
            return [weekend for _ in points]

    bins = [_bin("w", ON_DIAGONAL[0])]
    monday = street_hours(bins, Weekend(), plan_date=MONDAY, shifts_s=(6 * H, 14 * H))
    assert monday.windows == {} and monday.closed == {} and monday.notes({"w"}) == ()
    sunday = street_hours(bins, Weekend(), plan_date=SUNDAY, shifts_s=(6 * H, 14 * H))
    assert sunday.windows["w"][1] < 7 * H and sunday.notes({"w"})


def test_a_street_closed_on_public_holidays_is_closed_on_christmas_day(
    tmp_path: Path,
) -> None:
    """``motor_vehicle:conditional=no @ (PH)`` on a German street: read as open at all hours
    before (the week the way was prepared in has no holiday), so Christmas Day's plan sent
    a truck down it; now its bins are unserved that day (kind street_closed, the street's
    country's holiday), and emptied at any hour on the Monday after, with no note."""
    tags = osm_tags(
        highway="residential", name="Kirchgasse", **{"motor_vehicle:conditional": "no @ (PH)"}
    )
    _, pbf = write_square(tmp_path, "holidays", tags)
    holidays = StreetProvider(load_network(pbf, cache_dir=tmp_path), max_snap_m=100.0)
    christmas = _plan(_town(), holidays, date(2026, 12, 25))
    closed = {u.ref: u for u in christmas.unserved}
    assert set(closed) == {"m1", "m2"} and christmas.plan.served_refs == {"r1"}
    assert all(u.kind is UnservedKind.STREET_CLOSED for u in closed.values())
    assert "Kirchgasse on Friday 2026-12-25" in closed["m1"].reason
    assert "open to trucks at no time (motor_vehicle no @ (PH))" in closed["m1"].reason
    monday = _plan(_town(), holidays, MONDAY)
    assert monday.plan.served_refs == {"m1", "m2", "r1"} and monday.street_hours == {}
    assert monday.built.problem.stop("m1").window_s is None
    assert christmas.violations == () and monday.violations == ()


def test_straight_line_times_know_no_street_hours() -> None:
    bins = [_bin("m1", ON_DIAGONAL[0])]
    found = street_hours(bins, HaversineProvider(), plan_date=MONDAY, shifts_s=(6 * H, 14 * H))
    assert found.windows == {} and found.closed == {}


@pytest.mark.parametrize(
    ("shifts", "window"),
    [
        ((6 * H, 14 * H), (100, 7 * H + 1800 - 300 - 100)),  # the early span
        ((18 * H, 22 * H), (19 * H + 100, 86_399)),  # the late span
        ((6 * H, 22 * H), (19 * H + 100, 86_399)),  # the late span overlaps more
        ((8 * H, 18 * H), None),  # closed whenever trucks work
    ],
)
def test_the_visit_window_is_the_span_overlapping_the_shifts_most(
    shifts: tuple[int, int], window: tuple[int, int] | None
) -> None:
    """A street closed to trucks 07:30-19:00, 100 s into it each way, a 300 s emptying."""
    b = _bin("x", (10.0, 50.0), service_s=300)
    timed = TimedStreet(rule="", street="", enter_s=100.0, leave_s=100.0)
    spans = [(0, 7 * H + 1800), (19 * H, 86_400)]
    assert visit_window(b, timed, spans, shifts) == window


@pytest.fixture(scope="module")
def yard(tmp_path_factory: pytest.TempPathFactory) -> StreetProvider:
    """Yard Road, open at all hours, reached only by Market Lane (tests.network)."""
    folder = tmp_path_factory.mktemp("yard")
    _, pbf = write_yard(folder, "yard", {k: v for k, v in ZONE.items() if k != "name"})
    return StreetProvider(load_network(pbf, cache_dir=folder), max_snap_m=100.0)


def _yard_town() -> Inventory:
    """Bin y1 in the yard, r1 on the square; the depot and site on the square."""
    return street_town([_bin("y1", ON_YARD), _bin("r1", ON_SQUARE)], depot=NEAR_1, site=NEAR_3)


def test_a_bin_in_a_yard_reached_by_a_timed_lane_is_emptied_in_the_lanes_hours(
    yard: StreetProvider,
) -> None:
    """Before, a street open at all hours behind a pedestrian lane gave its bin no window,
    so a truck drove the lane out of its delivery hours to reach it. Now its visit keeps
    the lane's hours, driving in and out; the plan, plan.json and the sheets say so."""
    day = _plan(_yard_town(), yard)
    assert day.violations == () and check(day.built.problem, day.plan) == []
    assert day.plan.served_refs == {"y1", "r1"}
    zone = _zone_times(yard, ON_YARD)
    stop = day.built.problem.stop("y1")
    assert stop.window_s is not None
    assert stop.window_s[0] >= 6 * H + zone.enter_s
    assert stop.window_s[1] + stop.service_s + zone.leave_s <= 11 * H
    assert stop.window_s[0] <= _starts(day)["y1"] <= stop.window_s[1]
    assert day.built.problem.stop("r1").window_s is None
    assert [n for n in day.plan.notes if "Yard Road" in n] == [
        "bin y1 is on Yard Road (reached through Market Lane), open to trucks 06:00-11:00 on "
        "Monday (motor_vehicle destination @ (Mo-Sa 06:00-11:00); access no): its visit is "
        "timed to be done within those hours"
    ]
    visits = [v for r in plan_json(day)["routes"] for v in r["visits"] if v["kind"] == "bin"]
    opened = {v["bin_id"]: v.get("street_open") for v in visits}
    assert opened["y1"] == {
        "street": "Yard Road",
        "hours": [["06:00", "11:00"]],
        "rule": "motor_vehicle destination @ (Mo-Sa 06:00-11:00); access no",
        "through": [["Market Lane"]],
    }
    assert "timed street: Yard Road (reached through Market Lane), open to trucks" in (
        day_sheets_html(day)
    )
    german = day_sheets_html(day, lang=language("de"))
    assert "Yard Road (Zufahrt über Market Lane), für Lkw befahrbar 06:00-11:00 am Montag" in (
        german
    )


def test_a_bin_in_a_yard_behind_a_lane_closed_on_sunday_is_unserved_then(
    yard: StreetProvider,
) -> None:
    day = _plan(_yard_town(), yard, SUNDAY)
    assert day.violations == () and day.plan.served_refs == {"r1"}
    (closed,) = day.unserved
    assert closed.ref == "y1" and closed.kind is UnservedKind.STREET_CLOSED
    assert "Yard Road (reached through Market Lane) on Sunday" in closed.reason
    assert "open to trucks at no time (motor_vehicle destination" in closed.reason


def test_a_street_reached_through_one_with_other_hours_is_told_with_both() -> None:
    """A timed yard behind a lane: the note names both streets, each rule after its name,
    and the hours both are open."""
    yard = '[["motor_vehicle",null,[["no","Mo-Fr 09:00-10:00"]]]]'
    lane = '[["motor_vehicle",null,[["destination","Mo-Sa 06:00-11:00"]]],["access","no",[]]]'
    timed = TimedStreet(yard, "Yard Road", 10.0, 10.0, None, ((("Market Lane", lane),),))
    told = told_day(timed, MONDAY)
    assert told.text == (
        "Yard Road (reached through Market Lane), open to trucks 06:00-09:00, 10:00-11:00 on "
        "Monday (Yard Road [motor_vehicle no @ (Mo-Fr 09:00-10:00)], Market Lane "
        "[motor_vehicle destination @ (Mo-Sa 06:00-11:00); access no])"
    )
    assert told.json()["through"] == [["Market Lane"]]
    assert told.json()["hours"] == [["06:00", "09:00"], ["10:00", "11:00"]]
    alone = told_day(dataclasses.replace(timed, through=()), MONDAY)
    assert alone.text == (
        "Yard Road, open to trucks 00:00-09:00, 10:00-24:00 on Monday (motor_vehicle no @ "
        "(Mo-Fr 09:00-10:00))"
    )
    assert "through" not in alone.json()


def _square_bins() -> list[Bin]:
    return [_bin("r1", ON_SQUARE), _bin("r2", (10.0005, 50.0)), _bin("r3", (10.0, 50.0005))]


def test_a_site_in_a_yard_behind_a_timed_lane_is_used_in_the_lanes_hours(
    yard: StreetProvider,
) -> None:
    """The disposal site stands in the yard, reached only by Market Lane (Monday to
    Saturday 06:00-11:00): on a Monday the trucks unload there within the lane's hours,
    driving in and out (every route ends with an unload: back by 11:00); the plan says so.
    Before, its hours were not read and a truck drove the lane at any hour."""
    inventory = street_town(_square_bins(), depot=NEAR_1, site=ON_YARD)
    day = _plan(inventory, yard)
    assert day.violations == () and check(day.built.problem, day.plan) == []
    assert day.plan.served_refs == {"r1", "r2", "r3"}
    zone = _zone_times(yard, ON_YARD)
    (site,) = day.built.problem.sites
    assert site.window_s is not None
    assert site.window_s[0] >= 6 * H + zone.enter_s
    assert site.window_s[1] + site.unload_s + zone.leave_s <= 11 * H
    unloads = [v for r in day.plan.routes for v in r.visits if v.kind is VisitKind.DISPOSAL]
    assert unloads and all(site.window_s[0] <= v.start_s <= site.window_s[1] for v in unloads)
    assert (
        "disposal site s is on Yard Road (reached through Market Lane), open to trucks "
        "06:00-11:00 on Monday (motor_vehicle destination @ (Mo-Sa 06:00-11:00); access no): "
        "unloading there is timed to be done within those hours"
    ) in day.plan.notes
    assert day.inventory.sites[0].opening == inventory.sites[0].opening  # as listed


def test_a_site_behind_a_timed_lane_keeps_the_lanes_hours_when_rerouted(
    yard: StreetProvider,
) -> None:
    """The day of the site in the yard is rerouted at 07:00 for an alert, then re-planned
    at 08:00: the site keeps the hours its lane narrowed it to (no note that its hours
    changed). Before, a reroute took the site's hours as listed, open all day."""
    inventory = street_town(_square_bins(), depot=NEAR_1, site=ON_YARD)
    day = _plan(inventory, yard)
    (site,) = day.built.problem.sites
    new_day, _ = reroute_day(day, [], ["r2"], yard, now=day.at(7 * H), params=PARAMS)
    assert new_day.built.problem.sites == (site,)
    assert not [n for n in new_day.plan.notes if "changed" in n]
    assert new_day.violations == ()
    eve = datetime.combine(MONDAY - timedelta(days=1), time(20), tzinfo=TZ)
    readings = [FillReading(bin_id=b.bin_id, at=eve, fill_fraction=0.95) for b in inventory.bins]
    again, _ = replan_day(new_day, [], readings, [], yard, now=day.at(8 * H), params=PARAMS)
    assert again.built.problem.sites == (site,) and again.violations == ()


def test_a_site_behind_a_lane_closed_on_sunday_is_not_used_then(yard: StreetProvider) -> None:
    """On a Sunday the lane is closed: the site is closed all day, and the bins, which no
    truck could unload, are unserved with the reason, not driven to a closed site."""
    day = _plan(street_town(_square_bins(), depot=NEAR_1, site=ON_YARD), yard, SUNDAY)
    assert day.violations == () and day.plan.served_refs == set()
    assert {u.kind for u in day.unserved} == {UnservedKind.SITES_CLOSED}
    assert all("(s closed all day)" in u.reason for u in day.unserved)
    (said,) = [n for n in day.plan.notes if n.startswith("disposal site s")]
    assert said.startswith(f"disposal site s is not used today: {CLOSED_STREET}: Yard Road")


def test_trucks_of_a_depot_behind_a_timed_lane_work_within_its_hours(
    yard: StreetProvider,
) -> None:
    """The depot stands in the yard: on a Monday its truck leaves after 06:00 and is back
    before 11:00, the lane's hours (the shift, 06:00-14:00, cut as for a downtime); on a
    Sunday it does not work and the bins are unserved."""
    inventory = street_town(_square_bins(), depot=ON_YARD, site=NEAR_3)
    day = _plan(inventory, yard)
    assert day.violations == () and check(day.built.problem, day.plan) == []
    assert day.plan.served_refs == {"r1", "r2", "r3"}
    zone = _zone_times(yard, ON_YARD)
    (truck,) = day.built.problem.vehicles
    assert truck.shift_s[0] >= 6 * H + zone.enter_s
    assert truck.shift_s[1] + zone.leave_s <= 11 * H
    (route,) = day.plan.routes
    assert route.visits[0].start_s >= truck.shift_s[0]
    assert route.visits[-1].end_s <= truck.shift_s[1]
    (said,) = [n for n in day.plan.notes if n.startswith("t1 is out of service")]
    assert "(depot d is on Yard Road (reached through Market Lane), open to trucks" in said
    assert said.endswith(f"it works {clock(truck.shift_s[0])}-{clock(truck.shift_s[1])}")
    assert day.inventory.downtimes == ()  # the day keeps the inventory as listed
    sunday = _plan(inventory, yard, SUNDAY)
    assert sunday.violations == () and sunday.plan.served_refs == set()
    assert any(n.startswith("the trucks of depot d do not work today") for n in sunday.plan.notes)
    assert any(n.startswith("t1 is out of service") for n in sunday.plan.notes)


def test_trucks_of_a_depot_behind_a_timed_lane_keep_its_hours_when_rerouted(
    yard: StreetProvider,
) -> None:
    """The day of the depot in the yard is rerouted at 07:00 for an alert: its truck must
    still be back before the lane closes at 11:00, as the day's plan had it, and the plan
    says why. Before, the reroute gave it its shift as listed, to 14:00."""
    inventory = street_town(_square_bins(), depot=ON_YARD, site=NEAR_3)
    day = _plan(inventory, yard)
    (truck,) = day.built.problem.vehicles
    new_day, _ = reroute_day(day, [], ["r2"], yard, now=day.at(7 * H), params=PARAMS)
    (again,) = new_day.built.problem.vehicles
    assert again.shift_s == truck.shift_s and new_day.violations == ()
    assert any("depot d is on Yard Road" in n for n in new_day.plan.notes)


def test_depots_and_sites_on_a_street_with_a_day_ban_are_narrowed_to_its_hours() -> None:
    """A street closed to trucks 07:30-19:00, 100 s in and out: a site on it used by a
    08:00-18:00 shift is closed whenever they work (its opening the early span, so reasons
    say its hours); a depot on it lets a 06:00-14:00 truck out and back only until 07:28."""
    ban = TimedStreet('[["hgv",null,[["no","07:30-19:00"]]]]', "Ring", 100.0, 100.0)

    class Ring:
        def street_hours(self, points: list[tuple[float, float]]) -> list[TimedStreet]:
            return [ban for _ in points]

    inventory = street_town([], depot=NEAR_1, site=NEAR_3)
    late = street_hours(
        [], Ring(), plan_date=MONDAY, shifts_s=(8 * H, 18 * H), tz=TZ, sites=inventory.sites
    )
    (site,) = late.places
    assert site.window is None and site.opening == (100, 7 * H + 1800 - 100 - 900)
    assert site.note().startswith(f"disposal site s is not used today: {CLOSED_STREET}: Ring")
    narrowed = late.narrowed(inventory)
    assert narrowed.sites[0].opening == TimeWindow(time(0, 1, 40), time(7, 13, 20))
    early = street_hours(
        [], Ring(), plan_date=MONDAY, shifts_s=(6 * H, 14 * H), tz=TZ, depots=inventory.depots
    )
    (depot,) = early.places
    assert depot.window == (100, 7 * H + 1800 - 100)
    assert depot.note() == (
        "depot d is on Ring, open to trucks 00:00-07:30, 19:00-24:00 on Monday (hgv no @ "
        "(07:30-19:00)): its trucks leave it and are back within 00:01-07:28"
    )
    before, after = early.narrowed(inventory).downtimes  # 00:00-00:01:40 and from 07:28:20
    assert after.vehicle_id == "t1" and after.start.astimezone(TZ).time() == time(7, 28, 20)
    assert before.end is not None and before.end.astimezone(TZ).time() == time(0, 1, 40)
    evening = street_hours(
        [], Ring(), plan_date=MONDAY, shifts_s=(20 * H, 23 * H), tz=TZ, depots=inventory.depots
    )
    assert evening.places == ()  # open the whole shift long: nothing to narrow


def test_a_yard_reached_by_either_of_two_lanes_is_told_both_ways() -> None:
    """Two ways into the yard, each through one lane: the plan says "or", opens the yard
    while either lane is, and the sheets say it in the drivers' language."""
    from optimiser.sheet_page import _timed_street

    lane = '[["motor_vehicle",null,[["destination","Mo-Sa 06:00-11:00"]]],["access","no",[]]]'
    church = '[["motor_vehicle",null,[["destination","Mo-Sa 08:00-12:00"]]],["access","no",[]]]'
    ways = ((("Market Lane", lane),), (("Church Lane", church),))
    told = told_day(TimedStreet("", "Yard Road", 10.0, 10.0, None, ways), MONDAY)
    assert told.name == "Yard Road (reached through Market Lane or Church Lane)"
    assert told.spans_s == ((6 * H, 12 * H),)
    visit = {"street_open": told.json()}
    assert told.json()["through"] == [["Market Lane"], ["Church Lane"]]
    german = _timed_street(visit, language("de").sheets, MONDAY.isoformat())
    assert german.startswith(
        "Yard Road (Zufahrt über Market Lane oder Church Lane), für Lkw befahrbar 06:00-12:00"
    )
