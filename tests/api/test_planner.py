"""Service-side helpers of the planning seam: progress conversion, JSON cleaning, diffs."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np

from api.jobs import jsonable, route_diffs
from api.planner import (
    RouteMatch,
    TruckProgress,
    found_at_visits,
    match_reports,
    missed_visits,
    off_route,
    positions,
    to_progress,
)
from network.matrix import TravelMatrix
from optimiser.build import instant_to_s
from optimiser.plan import Plan, PlanStatus, Route, Visit, VisitKind
from optimiser.problem import Problem, Site, Stop, VehicleSpec

TZ = ZoneInfo("Europe/Helsinki")
MIDNIGHT = datetime.combine(date(2026, 11, 25), time(0), tzinfo=TZ)


def _visit(kind: VisitKind, ref: str, loc: int, t: int, vol: int = 0) -> Visit:
    return Visit(
        kind=kind,
        ref=ref,
        location=loc,
        arrival_s=t,
        start_s=t,
        end_s=t + 60,
        volume_l=vol,
        weight_kg=vol // 10,
        daily_l=vol,
        daily_kg=vol // 10,
    )


def _day(visits: tuple[Visit, ...] | None = None) -> SimpleNamespace:
    """Truck v1 on ``visits`` (default: a, b, disposal, c) and an idle truck v2."""
    visits = visits or (
        _visit(VisitKind.START, "v1", 0, 21600),
        _visit(VisitKind.BIN, "a", 1, 22000, 100),
        _visit(VisitKind.BIN, "b", 2, 23000, 200),
        _visit(VisitKind.DISPOSAL, "s", 3, 24000, 0),
        _visit(VisitKind.BIN, "c", 4, 25000, 100),
        _visit(VisitKind.END, "v1", 0, 26000),
    )
    route = Route(vehicle_ref="v1", visits=visits, distance_m=1, duration_s=1, cost=1)
    idle = Route(
        vehicle_ref="v2", visits=(visits[0], visits[-1]), distance_m=0, duration_s=0, cost=0
    )
    plan = Plan(status=PlanStatus.FEASIBLE, routes=(route, idle))

    def seconds(at: datetime) -> int:
        return instant_to_s(at, plan_date=MIDNIGHT.date(), tz=TZ)

    no_bins = SimpleNamespace(bins=())
    return SimpleNamespace(plan=plan, midnight=MIDNIGHT, seconds=seconds, inventory=no_bins)


def test_progress_is_the_planned_prefix_up_to_the_last_bin_done() -> None:
    now = MIDNIGHT + timedelta(hours=7)
    (p,) = to_progress(_day(), [TruckProgress(vehicle_id="v1", done_bin_ids=("a", "b"))], now)
    assert (p.vehicle_ref, p.done, p.location) == ("v1", ("a", "b"), 2)
    assert p.time_s == 7 * 3600
    assert (p.volume_l, p.weight_kg) == (200, 20)


def test_disposal_before_a_done_bin_counts_as_done() -> None:
    early = MIDNIGHT + timedelta(hours=1)  # reported before the planned time: planned end wins
    (p,) = to_progress(_day(), [TruckProgress(vehicle_id="v1", done_bin_ids=("c",))], early)
    assert p.done == ("a", "b", "s", "c")
    assert p.time_s == 25060


def test_trucks_without_done_bins_are_left_to_the_optimiser() -> None:
    progress = [TruckProgress(vehicle_id="v2", lon=24.9, lat=60.2), TruckProgress(vehicle_id="v1")]
    assert to_progress(_day(), progress, MIDNIGHT) == []


def test_jsonable_cleans_nan_enums_and_dataclasses() -> None:
    doc = jsonable(
        {
            "km": math.nan,
            "kind": VisitKind.BIN,
            "when": date(2026, 1, 2),
            "tags": frozenset({"b", "a"}),
            "visit": _visit(VisitKind.BIN, "a", 1, 0),
        }
    )
    assert doc["km"] is None
    assert doc["kind"] == "bin"
    assert doc["when"] == "2026-01-02"
    assert doc["tags"] == ["a", "b"]
    assert doc["visit"]["ref"] == "a"


def test_route_diffs_per_truck() -> None:
    diffs = route_diffs({"v1": ["a", "b"], "v2": ["c"]}, {"v1": ["b", "a", "x"], "v3": ["c"]}, {})
    assert diffs["v1"] == {
        "before": ["a", "b"],
        "after": ["b", "a", "x"],
        "added": ["x"],
        "removed": [],
        "changed": True,
    }
    assert diffs["v2"]["removed"] == ["c"]
    assert diffs["v3"]["added"] == ["c"]


def _second_visit_day() -> SimpleNamespace:
    """Truck v1 on a, b, b#2 (b's second visit of the day), c."""
    return _day(
        (
            _visit(VisitKind.START, "v1", 0, 21600),
            _visit(VisitKind.BIN, "a", 1, 22000, 100),
            _visit(VisitKind.BIN, "b", 2, 23000, 200),
            _visit(VisitKind.BIN, "b#2", 2, 40000, 250),
            _visit(VisitKind.BIN, "c", 4, 41000, 300),
            _visit(VisitKind.END, "v1", 0, 46000),
        )
    )


def test_a_bin_reported_twice_has_done_its_second_visit_too() -> None:
    """Route a, b, b#2, c: one report of b stops at b; a second one reaches b#2."""
    day = _second_visit_day()
    now = MIDNIGHT + timedelta(hours=12)
    (once,) = to_progress(day, [TruckProgress(vehicle_id="v1", done_bin_ids=("a", "b"))], now)
    assert once.done == ("a", "b")
    (twice,) = to_progress(day, [TruckProgress(vehicle_id="v1", done_bin_ids=("a", "b", "b"))], now)
    assert twice.done == ("a", "b", "b#2") and twice.volume_l == 250


def test_a_reported_unloading_after_the_last_bin_empties_the_truck() -> None:
    """Bins a, b done and s reported: the truck is at s, empty; unreported, it still carries
    the load of a and b (test above)."""
    now = MIDNIGHT + timedelta(hours=7)
    report = TruckProgress(vehicle_id="v1", done_bin_ids=("a", "b"), done_site_ids=("s",))
    (p,) = to_progress(_day(), [report], now)
    assert (p.done, p.location, p.time_s) == (("a", "b", "s"), 3, 7 * 3600)
    assert (p.volume_l, p.weight_kg) == (0, 0)


def test_the_kth_unloading_at_a_site_is_its_kth_planned_visit() -> None:
    """A route unloading twice at s: one report matches the first visit, two the second."""
    day = _day(
        (
            _visit(VisitKind.START, "v1", 0, 21600),
            _visit(VisitKind.BIN, "a", 1, 22000, 100),
            _visit(VisitKind.DISPOSAL, "s", 3, 23000, 0),
            _visit(VisitKind.BIN, "b", 2, 24000, 200),
            _visit(VisitKind.DISPOSAL, "s", 3, 25000, 0),
            _visit(VisitKind.END, "v1", 0, 26000),
        )
    )
    now = MIDNIGHT + timedelta(hours=8)
    once = TruckProgress(vehicle_id="v1", done_bin_ids=("a",), done_site_ids=("s",))
    twice = TruckProgress(vehicle_id="v1", done_bin_ids=("a", "b"), done_site_ids=("s", "s"))
    assert to_progress(day, [once], now)[0].done == ("a", "s")
    (p,) = to_progress(day, [twice], now)
    assert (p.done, p.volume_l) == (("a", "s", "b", "s"), 0)


def test_a_truck_done_with_all_its_work_is_back_at_its_depot_after_its_planned_return() -> None:
    """a, b, s, c all reported: at c until the planned return (26 000 s), at the depot after."""
    report = TruckProgress(vehicle_id="v1", done_bin_ids=("a", "b", "c"), done_site_ids=("s",))
    (driving,) = to_progress(_day(), [report], MIDNIGHT + timedelta(seconds=25_900))
    (back,) = to_progress(_day(), [report], MIDNIGHT + timedelta(hours=8))
    assert (driving.location, back.location) == (4, 0)
    assert back.done == ("a", "b", "s", "c") and back.time_s == 8 * 3600


def _day_with_bins() -> SimpleNamespace:
    """Truck v1 on a (100 l planned), b (200 l), disposal s, c (100 l): 1000 l bins at
    0.1 kg/l, with the planned loads carried along the route."""
    from fleet.models import Bin
    from optimiser.problem import Stop

    def carried(visit: Visit, on_board: int, today: int) -> Visit:
        return dataclasses.replace(
            visit,
            volume_l=on_board,
            weight_kg=on_board // 10,
            daily_l=today,
            daily_kg=today // 10,
        )

    start, a, b, s, c, end = _day().plan.routes[0].visits
    day = _day(
        (
            start,
            carried(a, 100, 100),
            carried(b, 300, 300),
            carried(s, 0, 300),
            carried(c, 100, 400),
            carried(end, 0, 400),
        )
    )
    planned = {"a": 100, "b": 200, "c": 100}
    bins = {
        ref: Bin(bin_id=ref, lon=24.9, lat=60.2, capacity_l=1000, density_kg_per_l=0.1)
        for ref in planned
    }
    stops = tuple(
        Stop(ref=ref, location=i + 1, volume_l=vol, weight_kg=vol // 10, service_s=60)
        for i, (ref, vol) in enumerate(planned.items())
    )
    day.built = SimpleNamespace(problem=SimpleNamespace(stops=stops))
    day.inventory = SimpleNamespace(bin=bins.__getitem__, bins=tuple(bins.values()))
    return day


def test_a_bin_reported_with_the_fill_found_counts_at_that_fill() -> None:
    """b was planned at 200 l and found at 0.5 (500 l, 50 kg): the truck carries 600 l, not
    the planned 300 l, and has collected as much today; a (no fill given) counts as planned."""
    now = MIDNIGHT + timedelta(hours=7)
    report = TruckProgress(vehicle_id="v1", done_bin_ids=("a", "b"), found_fills=(None, 0.5))
    (p,) = to_progress(_day_with_bins(), [report], now)
    assert (p.volume_l, p.weight_kg, p.daily_l, p.daily_kg) == (600, 60, 600, 60)


def test_a_bin_reported_with_the_weight_its_lift_scale_took_counts_at_that_weight() -> None:
    """b (1000 l at 0.1 kg/l) was planned at 200 l; the lift scale took 50 kg (500 l) and
    the crew gave no fill: 500 l and 50 kg. Where the crew gave a fill too, the litres are
    the fill's and the kg the weight's (a at 0.3 and 80 kg: 300 l, 80 kg, not 30 kg): the
    truck carries 800 l and 130 kg."""
    now = MIDNIGHT + timedelta(hours=7)
    report = TruckProgress(
        vehicle_id="v1",
        done_bin_ids=("a", "b"),
        found_fills=(0.3, None),
        found_kg=(80.0, 50.0),
    )
    (p,) = to_progress(_day_with_bins(), [report], now)
    assert (p.volume_l, p.weight_kg) == (800, 130)
    assert found_at_visits(_day_with_bins(), [report]) == (
        {"a": 0.3, "b": 0.5},
        {"a": 80.0, "b": 50.0},
    )


def test_fills_found_before_an_unloading_count_only_in_the_days_total() -> None:
    """a at 0.3 (300 l, planned 100), b as planned (200 l), s, then c at 0.25 (250 l,
    planned 100): 250 l on board; today 300 + 200 + 250 = 750 l."""
    report = TruckProgress(
        vehicle_id="v1",
        done_bin_ids=("a", "b", "c"),
        found_fills=(0.3, None, 0.25),
        done_site_ids=("s",),
    )
    (p,) = to_progress(_day_with_bins(), [report], MIDNIGHT + timedelta(seconds=25_100))
    assert p.done == ("a", "b", "s", "c")
    assert (p.volume_l, p.weight_kg, p.daily_l, p.daily_kg) == (250, 25, 750, 75)


def test_found_fills_are_matched_to_the_planned_visits() -> None:
    """The k-th report of a bin is its k-th visit: b#2 gets the second report's fill."""
    day = _second_visit_day()
    report = TruckProgress(
        vehicle_id="v1", done_bin_ids=("a", "b", "b"), found_fills=(None, 0.4, 0.3)
    )
    assert found_at_visits(day, [report]) == ({"b": 0.4, "b#2": 0.3}, {})
    assert found_at_visits(day, []) == ({}, {})


def test_one_match_of_the_reports_serves_the_progress_the_fills_and_the_missed() -> None:
    """v1 emptied a at 0.3 at 06:10, could not empty b (nothing taken), unloaded at s and
    emptied c: one match of its reports to its route has its last work at c (index 4), a's
    fill, b's 0 and b missed, and when a was emptied; v2 reported nothing. Handed on, it
    gives what each helper works out on its own."""
    day = _day_with_bins()
    at = MIDNIGHT + timedelta(hours=6, minutes=10)
    report = TruckProgress(
        vehicle_id="v1",
        done_bin_ids=("a", "b", "c"),
        found_fills=(0.3, 0.0, None),
        missed=(False, True, False),
        done_site_ids=("s",),
        done_at=(at, at + timedelta(minutes=5), at + timedelta(minutes=40)),
    )
    matched = match_reports(day, [report])
    assert matched == {
        "v1": RouteMatch(
            last=4,
            fills={"a": 0.3, "b": 0.0},
            emptied_at={1: at, 2: at + timedelta(minutes=5), 4: at + timedelta(minutes=40)},
            missed=("b",),
        ),
        "v2": RouteMatch(),
    }
    now = MIDNIGHT + timedelta(hours=7)
    progress = [report]
    assert to_progress(day, progress, now, matched=matched) == to_progress(day, progress, now)
    assert found_at_visits(day, progress, matched=matched) == ({"a": 0.3, "b": 0.0}, {})
    assert missed_visits(day, progress, matched=matched) == missed_visits(day, progress)
    assert missed_visits(day, progress) == ["b"]


def test_a_fill_found_before_an_earlier_reroute_is_not_counted_twice() -> None:
    """Route as rerouted once: a (found at 0.3 then: 300 l, planned 100), b, then a waypoint
    that restated the load (500 l: 300 + 200), c (100 l planned). With a, b and c reported
    now, the truck carries 600 l: the waypoint's 500 l plus c, not a's extra 200 l again."""
    day = _day_with_bins()
    start, a, b, _unload, c, end = day.plan.routes[0].visits
    waypoint = dataclasses.replace(
        b,
        kind=VisitKind.WAYPOINT,
        ref="v1",
        volume_l=500,
        weight_kg=50,
        daily_l=500,
        daily_kg=50,
    )
    c_after = dataclasses.replace(c, volume_l=600, weight_kg=60, daily_l=600, daily_kg=60)
    route = dataclasses.replace(day.plan.routes[0], visits=(start, a, b, waypoint, c_after, end))
    day.plan = dataclasses.replace(day.plan, routes=(route,))
    report = TruckProgress(
        vehicle_id="v1", done_bin_ids=("a", "b", "c"), found_fills=(0.3, None, None)
    )
    (p,) = to_progress(day, [report], MIDNIGHT + timedelta(hours=8))
    assert p.done == ("a", "b", "c")
    assert (p.volume_l, p.weight_kg, p.daily_l, p.daily_kg) == (600, 60, 600, 60)


def test_off_route_lists_bins_beyond_the_trucks_planned_visits_with_their_fills() -> None:
    """v1 empties a and b of its route, then x (no route's) found half full, its lift
    scale weighing 70 kg, and a a second time (its route visits a once); v2 (no bins
    planned) empties c, v1's: each is off its truck's route, in report order."""
    v1 = TruckProgress(
        vehicle_id="v1",
        done_bin_ids=("a", "b", "x", "a"),
        found_fills=(None, None, 0.5, None),
        found_kg=(None, None, 70.0, None),
    )
    v2 = TruckProgress(vehicle_id="v2", done_bin_ids=("c",))
    assert off_route(_day(), [v1, v2]) == {
        "v1": [("x", 0.5, True, 70.0), ("a", None, True, None)],
        "v2": [("c", None, True, None)],
    }


def test_off_route_marks_a_bin_emptied_before_the_trucks_last_unloading_as_unloaded() -> None:
    """v2 empties c (v1's) at 09:00 and unloads at 09:30: that waste is gone, but c is
    listed still (v1 need not go there; before, it was left out and v1 was sent to a bin
    already emptied); d, emptied at 10:00, is still on board."""
    at = [MIDNIGHT + timedelta(hours=h) for h in (9, 10)]
    v2 = TruckProgress(
        vehicle_id="v2",
        done_bin_ids=("c", "d"),
        done_site_ids=("s",),
        done_at=tuple(at),
        unloaded_at=MIDNIGHT + timedelta(hours=9, minutes=30),
    )
    assert off_route(_day(), [v2]) == {"v2": [("c", None, False, None), ("d", None, True, None)]}


def _bins_at(**where: tuple[float, float]) -> SimpleNamespace:
    """An inventory stand-in listing bins at (lon, lat), and site s at (24.98, 60.2)."""
    bins = [SimpleNamespace(bin_id=b, lon=lon, lat=lat) for b, (lon, lat) in where.items()]
    return SimpleNamespace(bins=bins, sites=[SimpleNamespace(site_id="s", lon=24.98, lat=60.2)])


def test_a_truck_whose_last_report_is_a_bin_off_its_route_is_at_that_bin() -> None:
    """v1 empties a (its route's), then x (no route's): it is at x, not at a. v2, which
    emptied c (v1's) and unloaded since, is at the site its plan does not know: no
    position; a truck with a reported position is there."""
    at = [MIDNIGHT + timedelta(hours=h) for h in (9, 10)]
    v1 = TruckProgress(vehicle_id="v1", done_bin_ids=("a", "x"), done_at=tuple(at))
    v2 = TruckProgress(
        vehicle_id="v2",
        done_bin_ids=("c",),
        done_at=tuple(at[:1]),
        unloaded_at=at[1],
        done_site_ids=("s",),
    )
    v3 = TruckProgress(vehicle_id="v3", done_bin_ids=("d",), lon=24.9, lat=60.1)
    inventory = _bins_at(x=(24.95, 60.17), c=(24.96, 60.18), d=(24.97, 60.19))
    got = positions(_day(), [v1, v2, v3], inventory)  # type: ignore[arg-type]
    assert got == {"v1": (24.95, 60.17), "v3": (24.9, 60.1)}


def test_a_truck_back_on_its_route_after_a_bin_off_it_is_at_its_route() -> None:
    """v1 empties x (off its route), then b (its route's): no position; it is at b."""
    v1 = TruckProgress(vehicle_id="v1", done_bin_ids=("a", "x", "b"))
    assert positions(_day(), [v1], _bins_at(x=(24.95, 60.17))) == {}  # type: ignore[arg-type]


def test_a_report_known_off_route_is_never_taken_for_a_later_visit_of_the_route() -> None:
    """v1 emptied c off its route (its crew's plan had no c for it); the plan now gives
    v1 a visit of c, after b (an alert since, say). v1's reports are a and that c: the
    truck has done a only, not b and c, and carries c's waste (off route)."""
    v1 = TruckProgress(vehicle_id="v1", done_bin_ids=("a", "c"), off_route=(False, True))
    now = MIDNIGHT + timedelta(hours=7)
    (p,) = to_progress(_day(), [v1], now)
    assert p.done == ("a",)
    assert off_route(_day(), [v1]) == {"v1": [("c", None, True, None)]}
    unknown = dataclasses.replace(v1, off_route=())  # as before: the k-th report, k-th visit
    assert to_progress(_day(), [unknown], now)[0].done == ("a", "b", "s", "c")


def _unloaded_early(*bins_after: str) -> TruckProgress:
    """v1 (route a, b, s, c) empties a at 09:00, unloads at s at 09:20, the truck full
    sooner than planned (the service flags it off route: b, ahead of s, is not reported),
    then empties ``bins_after`` from 09:40."""
    at = [MIDNIGHT + timedelta(hours=9, minutes=20 * i) for i in (0, 2, 3)]
    return TruckProgress(
        vehicle_id="v1",
        done_bin_ids=("a", *bins_after),
        done_at=(at[0], *at[1 : 1 + len(bins_after)]),
        done_site_ids=("s",),
        unloaded_at=MIDNIGHT + timedelta(hours=9, minutes=20),
        unloaded_off_route=(True,),
    )


def test_an_unloading_sooner_than_planned_takes_no_bin_ahead_of_it_as_done() -> None:
    """Before, the unloading was matched to the planned one after b, and b was taken as
    done, never emptied. Now b is still to do, and the truck stands at s, empty."""
    now = MIDNIGHT + timedelta(hours=9, minutes=30)
    report = _unloaded_early()
    (p,) = to_progress(_day(), [report], now)
    assert p.done == ("a",)
    assert (p.volume_l, p.weight_kg, p.daily_l, p.daily_kg) == (0, 0, 100, 10)
    assert positions(_day(), [report], _bins_at()) == {"v1": (24.98, 60.2)}  # type: ignore[arg-type]
    unknown = dataclasses.replace(report, unloaded_off_route=())  # as before: matched
    assert to_progress(_day(), [unknown], now)[0].done == ("a", "b", "s")


def test_a_weighed_bin_unloaded_since_leaves_the_truck_at_the_weight_lifted() -> None:
    """a (1000 l at 0.1 kg/l) found at 0.3 with 80 kg lifted, then the truck unloads sooner
    than planned: nothing on board (the 80 kg are gone, not 30 of them), 80 kg today."""
    report = dataclasses.replace(_unloaded_early(), found_fills=(0.3,), found_kg=(80.0,))
    (p,) = to_progress(_day_with_bins(), [report], MIDNIGHT + timedelta(hours=9, minutes=30))
    assert p.done == ("a",)
    assert (p.volume_l, p.weight_kg, p.daily_l, p.daily_kg) == (0, 0, 300, 80)


def test_after_an_unloading_sooner_than_planned_the_truck_is_on_its_route_again() -> None:
    """Then b is emptied: the truck is at b, no longer at s, carrying b's waste only (a's
    was unloaded: before, a's counted too); the planned unloading after b is still to do."""
    report = _unloaded_early("b")
    (p,) = to_progress(_day(), [report], MIDNIGHT + timedelta(hours=10))
    assert (p.done, p.location) == (("a", "b"), 2)
    assert (p.volume_l, p.weight_kg, p.daily_l, p.daily_kg) == (100, 10, 200, 20)
    assert positions(_day(), [report], _bins_at()) == {}  # type: ignore[arg-type]


def test_a_truck_whose_last_visit_was_reported_after_its_planned_return_is_not_home_yet() -> None:
    """a, b, s, c all reported, c at 26 500 s, after the planned return (26 000 s); the drive
    home after c is planned at 940 s: at c until 27 440 s (a reroute sends it home from
    there), at the depot after. Before, it was taken home from 26 000 s on: at its depot
    while its crew was still at c."""

    def at(seconds: int) -> datetime:
        return MIDNIGHT + timedelta(seconds=seconds)

    report = TruckProgress(
        vehicle_id="v1",
        done_bin_ids=("a", "b", "c"),
        done_site_ids=("s",),
        done_at=(at(22_000), at(23_000), at(26_500)),
    )
    (late,) = to_progress(_day(), [report], at(26_600))
    (back,) = to_progress(_day(), [report], at(27_440))
    assert (late.location, late.time_s) == (4, 26_600)
    assert (back.location, back.time_s) == (0, 27_440)


def _break_day(window_h: tuple[int, int] = (10, 11), a_to_s: int = 100) -> SimpleNamespace:
    """Truck v1 empties a (09:00), breaks 10:00-10:30, unloads at s (10:40) and empties c
    (11:00); its break window ``window_h`` (hours), 30 min; 100 s between any two rows,
    ``a_to_s`` between a and s."""
    h = 3600
    brk = Visit(
        kind=VisitKind.BREAK, ref="v1", location=None, arrival_s=10 * h, start_s=10 * h,
        end_s=10 * h + 1800, volume_l=100, weight_kg=10, daily_l=100, daily_kg=10,
    )  # fmt: skip
    day = _day(
        (
            _visit(VisitKind.START, "v1", 0, 6 * h),
            _visit(VisitKind.BIN, "a", 1, 9 * h, 100),
            brk,
            _visit(VisitKind.DISPOSAL, "s", 3, 10 * h + 2400, 0),
            _visit(VisitKind.BIN, "c", 4, 11 * h, 100),
            _visit(VisitKind.END, "v1", 0, 12 * h),
        )
    )
    duration = np.full((5, 5), 100, dtype=np.int64) - 100 * np.eye(5, dtype=np.int64)
    duration[1, 3] = duration[3, 1] = a_to_s
    matrix = TravelMatrix(duration_s=duration, distance_m=duration * 10, points=((0.0, 0.0),) * 5)
    truck = VehicleSpec(
        ref="v1", start=0, end=0, capacity_l=1000, capacity_kg=1000,
        streams=frozenset({"residual"}), shift_s=(6 * h, 14 * h), break_s=1800,
        break_window_s=(window_h[0] * h, window_h[1] * h),
    )  # fmt: skip
    bins = tuple(
        Stop(ref=r, location=i, volume_l=100, weight_kg=10, service_s=60)
        for r, i in [("a", 1), ("c", 4)]
    )
    site = Site(ref="s", location=3, streams=truck.streams, window_s=(0, 24 * h), unload_s=60)
    problem = Problem(matrix=matrix, stops=bins, vehicles=(truck,), sites=(site,))
    return SimpleNamespace(**vars(day), built=SimpleNamespace(problem=problem))


def _unloaded(at_h: float, *off_route_h: float) -> TruckProgress:
    """v1 reported a at 09:01, bins x, y, ... off its route at ``off_route_h`` and unloading
    at s at ``at_h`` (hours)."""
    at = [MIDNIGHT + timedelta(hours=t) for t in (9 + 1 / 60, *off_route_h)]
    return TruckProgress(
        vehicle_id="v1",
        done_bin_ids=("a", *("xyz"[: len(off_route_h)])),
        done_at=tuple(at),
        off_route=(False, *(True,) * len(off_route_h)),
        done_site_ids=("s",),
        unloaded_at=MIDNIGHT + timedelta(hours=at_h),
    )


def test_an_unloading_reported_before_the_planned_break_ended_skipped_it() -> None:
    """The crew unloaded at 10:05, before its break planned 10:00-10:30 and the unloading
    after it: no 30 min inside its window (10:00-11:00) before that report. The break
    counts as not had (owed), and the unloading as sooner: at 09:01 + 100 s, not 10:40.
    Reported at 10:45 instead (after the planned break), the break stands as planned."""
    now = MIDNIGHT + timedelta(hours=10, minutes=10)
    (p,) = to_progress(_break_day(), [_unloaded(10 + 5 / 60)], now)
    assert (p.done, p.location, p.break_taken) == (("a", "s"), 3, False)
    assert p.time_s == 10 * 3600 + 600  # now: the unloading's retimed end (09:03:40) is past
    (late,) = to_progress(_break_day(), [_unloaded(10.75)], now + timedelta(minutes=40))
    assert late.break_taken
    assert late.time_s == 10 * 3600 + 3000  # now (10:50): the planned end (10:41) is past


def test_a_break_the_reports_leave_room_for_counts_as_had() -> None:
    """Window 09:00-11:00: from a at 09:01 to the unloading at 10:20 the crew had time for
    its break (09:01-09:31, say), so it stands as planned, the truck held to the planned
    end of its unloading. Off-route bins reported at 09:25 and 09:54 leave no 30 min: the
    break was not had."""
    now = MIDNIGHT + timedelta(hours=10, minutes=25)
    (p,) = to_progress(_break_day((9, 11)), [_unloaded(10 + 1 / 3)], now)
    assert (p.break_taken, p.time_s) == (True, 10 * 3600 + 2460)
    busy = _unloaded(10 + 1 / 3, 9 + 25 / 60, 9 + 54 / 60)
    (q,) = to_progress(_break_day((9, 11)), [busy], now)
    assert (q.done, q.break_taken, q.time_s) == (("a", "s"), False, 10 * 3600 + 1500)


def test_a_break_counts_as_had_only_in_the_time_its_drives_leave() -> None:
    """Window 09:00-11:00: a reported at 09:01, the unloading at s at 10:20, 79 minutes
    on, but s is 50 minutes' drive from a (and its unloading 1 minute): at most 28 minutes
    stood still, no 30-minute break. It was counted as had (the whole 79 minutes); now the
    crew owes it. With s 40 minutes away, 38 minutes leave room: had."""
    now = MIDNIGHT + timedelta(hours=10, minutes=25)
    far = _break_day((9, 11), a_to_s=3000)
    (p,) = to_progress(far, [_unloaded(10 + 1 / 3)], now)
    assert (p.done, p.break_taken) == (("a", "s"), False)
    (q,) = to_progress(_break_day((9, 11), a_to_s=2400), [_unloaded(10 + 1 / 3)], now)
    assert q.break_taken
