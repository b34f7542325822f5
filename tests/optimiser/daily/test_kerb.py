"""Kerb-side bins in a day's plan, its reroutes and its drawn routes: on the tiny street
town (tests.network), where a bin on the north kerb of the bottom row A-B-C is taken
driving west."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fleet.models import Bin, FillReading
from network.providers import HaversineProvider, StreetProvider
from network.streets import StreetNetwork
from optimiser.check import check
from optimiser.daily import DayPlan, plan_day, replan_day, reroute_day
from optimiser.export import route_json, routes_geojson
from optimiser.kerb import takes_kerb
from optimiser.params import SolveParams
from tests.network.conftest import build_tiny_graph, grid, polyline_m
from tests.optimiser.conftest import street_town

TZ = ZoneInfo("Europe/Helsinki")
DAY = date(2026, 11, 25)
NORTH = grid(0.75, 0.07)  # on the north kerb of A-B, three quarters of the way from A
ON_LINE = grid(1.5, 0.0)  # on B-C's centre line: no kerb
PARAMS = SolveParams(time_limit_s=1.0, seed=1)


@pytest.fixture(scope="module")
def streets() -> StreetProvider:
    """The six-node street town, traffic keeping right."""
    return StreetProvider(StreetNetwork.from_graph(build_tiny_graph()), max_snap_m=250.0)


def _town(kerb: bool, bins: tuple[tuple[str, tuple[float, float]], ...] = (("q", NORTH),)):
    """Depot at A, site at C, one truck; full bins at the given places, kerb-side or not."""
    inventory = street_town(
        [Bin(bin_id=b, lon=at[0], lat=at[1], capacity_l=240, kerb_side=kerb) for b, at in bins]
    )
    eve = datetime.combine(DAY - timedelta(days=1), time(20), tzinfo=TZ)
    readings = [FillReading(bin_id=b, at=eve, fill_fraction=0.95) for b, _ in bins]
    return inventory, readings


def _plan(kerb: bool, provider, **kw) -> DayPlan:
    inventory, readings = _town(kerb, **kw)
    return plan_day(inventory, readings, [], provider, plan_date=DAY, tz=TZ, params=PARAMS)


def test_a_kerb_side_bin_is_collected_driving_west_past_b_and_back(streets) -> None:
    """From the depot at A the truck drives east past the bin to B, turns, takes it driving
    west, turns at A and drives to the site at C: two units of street more than the plan
    without the flag (A-C-A plus a return to B); the checker agrees with either plan."""
    free, kerb = _plan(False, streets), _plan(True, streets)
    for day in (free, kerb):
        assert day.plan.served_refs == {"q"} and check(day.built.problem, day.plan) == []
    unit = polyline_m([grid(0, 0), grid(1, 0)])
    extra = kerb.plan.routes[0].distance_m - free.plan.routes[0].distance_m
    assert abs(extra - 2 * unit) <= 3
    row = kerb.built.point_refs.index("q")
    assert kerb.built.problem.matrix.kerb_side[row] and free.built.problem.matrix.kerb_side == ()
    said = [
        v["kerb_side"]
        for v in route_json(kerb, kerb.plan.routes[0])["visits"]
        if v["kind"] == "bin"
    ]
    assert said == [True]
    assert kerb.built.notes == ()


def test_the_drawn_route_keeps_the_kerb_rule(streets) -> None:
    """The route line drawn along the streets is as long as the plan's route."""
    day = _plan(True, streets)
    net = streets.network

    def geometry(points, kerb):
        return net.polyline(points, kerb_side=kerb)

    (line,) = [
        f
        for f in routes_geojson(day, geometry)["features"]
        if f["geometry"]["type"] == "LineString"
    ]
    drawn = polyline_m([tuple(c) for c in line["geometry"]["coordinates"]])
    assert abs(drawn - day.plan.routes[0].distance_m) <= 5


def test_straight_line_times_say_the_kerb_rule_is_not_applied() -> None:
    """A straight-line estimate knows no street sides: the plan is made and says so."""
    assert not takes_kerb(HaversineProvider()) and takes_kerb(StreetProvider.__call__)
    day = _plan(True, HaversineProvider())
    assert day.plan.served_refs == {"q"}
    (note,) = day.built.notes
    assert note.startswith("bin q is to be taken from the kerb") and "straight-line" in note


def test_a_kerb_side_bin_on_the_centre_line_is_named_with_the_fix(streets) -> None:
    """A bin mapped on its two-way street's centre line is on neither kerb: it is passed
    either way and the plan names it, with the fix."""
    day = _plan(True, streets, bins=(("q", NORTH), ("c", ON_LINE)))
    assert day.plan.served_refs == {"q", "c"}
    (note,) = day.built.notes
    assert note.startswith("bin c is to be taken from the kerb, but it stands on its two-way")
    assert note.endswith("trucks may pass it either way; move it to the kerb it stands at")
    two = _plan(True, streets, bins=(("c", ON_LINE), ("c2", grid(0.5, 0.0))))
    (note,) = two.built.notes
    assert note.startswith("bins c, c2 are to be taken from the kerb, but each stands on")
    assert note.endswith("may pass them either way; move each to the kerb it stands at")


def test_an_alerted_kerb_side_bin_gets_its_flag_in_the_rerouted_matrix(streets) -> None:
    """A bin not in the plan, alerted at 7:00, is added to the matrix taken from the kerb:
    the grown matrix equals one computed whole with the flags."""
    day = _plan(False, streets)
    inventory, _ = _town(False)
    alerted = Bin(bin_id="n", lon=NORTH[0], lat=NORTH[1] - 0.00014, capacity_l=240, kerb_side=True)
    now = dataclasses.replace(inventory, bins=(*inventory.bins, alerted))
    new_day, _ = reroute_day(
        day, [], ["n"], streets, now=day.at(7 * 3600), params=PARAMS, inventory=now
    )
    assert "n" in new_day.plan.served_refs and check(new_day.built.problem, new_day.plan) == []
    m = new_day.built.problem.matrix
    row = new_day.built.point_refs.index("n")
    assert m.kerb_side[row] and sum(m.kerb_side) == 1
    whole = streets(list(m.points), kerb_side=list(m.kerb_side))
    np.testing.assert_array_equal(whole.distance_m, m.distance_m)


def test_a_bin_flagged_after_the_plan_is_passed_from_its_kerb_in_a_reroute(streets) -> None:
    """q was planned without the flag; the inventory flags it since (the dispatcher learnt
    it is a side-loader's container): a reroute gives q a row taken from the kerb, the
    route drives past it and back as the plan with the flag does, and a note names q. The
    flag cleared again goes back the same way. Before, q kept its old row until a re-plan."""
    free, kerb = _plan(False, streets), _plan(True, streets)
    flagged, _ = _town(True)
    new_day, _ = reroute_day(
        free, [], [], streets, now=free.at(5 * 3600), inventory=flagged, params=PARAMS
    )
    m = new_day.built.problem.matrix
    row = max(i for i, ref in enumerate(new_day.built.point_refs) if ref == "q")
    assert m.kerb_side[row] and check(new_day.built.problem, new_day.plan) == []
    (stop,) = [s for s in new_day.built.problem.stops if s.ref == "q"]
    assert stop.location == row
    assert new_day.plan.routes[0].distance_m == kerb.plan.routes[0].distance_m
    assert any(
        n.startswith("bins whose kerb_side flag changed") and n.endswith(": q")
        for n in new_day.plan.notes
    )
    cleared, _ = _town(False)
    back, _ = reroute_day(
        kerb, [], [], streets, now=kerb.at(5 * 3600), inventory=cleared, params=PARAMS
    )
    assert back.plan.routes[0].distance_m == free.plan.routes[0].distance_m
    same, _ = reroute_day(
        kerb, [], [], streets, now=kerb.at(5 * 3600), inventory=flagged, params=PARAMS
    )
    assert not any("kerb_side flag changed" in n for n in same.plan.notes)


def _replanned_with_q(provider) -> DayPlan:
    """The day planned with bin m alone, re-planned at 7:00 with kerb-side bin q (entered
    since, read full at 6:00) on the north kerb of A-B."""
    inventory, readings = _town(False, bins=(("m", grid(2, 0.5)),))
    day = plan_day(inventory, readings, [], provider, plan_date=DAY, tz=TZ, params=PARAMS)
    q = Bin(bin_id="q", lon=NORTH[0], lat=NORTH[1], capacity_l=240, kerb_side=True)
    now = dataclasses.replace(inventory, bins=(*inventory.bins, q))
    full = FillReading(bin_id="q", at=day.at(6 * 3600), fill_fraction=0.95)
    again, _ = replan_day(
        day, [], [*readings, full], [], provider, now=day.at(7 * 3600), inventory=now, params=PARAMS
    )
    return again


def test_a_kerb_side_bin_new_to_a_re_plan_keeps_its_flag(streets) -> None:
    """The day was planned with bin m alone; at 7:00 the re-plan finds kerb-side bin q full
    (entered since): q's new row is taken from the kerb (its flag was dropped there), the
    grown matrix equals one computed whole with the flags."""
    again = _replanned_with_q(streets)
    assert "q" in again.plan.served_refs and check(again.built.problem, again.plan) == []
    m = again.built.problem.matrix
    assert m.kerb_side[again.built.point_refs.index("q")] and sum(m.kerb_side) == 1
    whole = streets(list(m.points), kerb_side=list(m.kerb_side))
    np.testing.assert_array_equal(whole.distance_m, m.distance_m)


def test_an_alerted_kerb_side_bin_on_straight_line_times_is_noted() -> None:
    """Rerouted on straight-line times, a kerb-side bin alerted is passed either way: the
    plan says so, as a day plan does for its own."""
    day = _plan(False, HaversineProvider())
    inventory, _ = _town(False)
    n = Bin(bin_id="n", lon=NORTH[0], lat=NORTH[1] - 0.0003, capacity_l=240, kerb_side=True)
    now = dataclasses.replace(inventory, bins=(*inventory.bins, n))
    new_day, _ = reroute_day(
        day, [], ["n"], HaversineProvider(), now=day.at(7 * 3600), params=PARAMS, inventory=now
    )
    assert "n" in new_day.plan.served_refs
    said = [x for x in new_day.plan.notes if x.startswith("bin n is to be taken from the kerb")]
    assert len(said) == 1 and "straight-line" in said[0]


def test_a_kerb_side_bin_new_to_a_re_plan_on_straight_line_times_is_noted() -> None:
    """The same re-plan on straight-line times: q is passed either way, and the plan says so."""
    again = _replanned_with_q(HaversineProvider())
    assert "q" in again.plan.served_refs
    said = [x for x in again.plan.notes if x.startswith("bin q is to be taken from the kerb")]
    assert len(said) == 1 and "straight-line" in said[0]
