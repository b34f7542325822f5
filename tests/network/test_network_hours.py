"""Street hours: conditional access tags (``motor_vehicle:conditional=destination @
(Mo-Sa 06:00-11:00)``) read into a street's rule, the rule's hours on a day, and the
timed streets of the square (tests.network.conftest) from either OSM file."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from network import GraphSettings, load_network
from network.hours import (
    DAY_S,
    TimedStreet,
    day_states,
    describe,
    open_intervals,
    place_of,
    rule_text,
    split_clauses,
    way_rule,
    week_states,
)
from network.reach import zones
from network.speeds import DEFAULT_SETTINGS
from tests.network.conftest import ON_YARD, osm_tags, write_square, write_yard

MONDAY = date(2026, 12, 7)
SATURDAY = MONDAY + timedelta(days=5)
SUNDAY = MONDAY + timedelta(days=6)
H = 3600
NEAR_1 = (10.0001, 50.0)  # on way 11, 7 m east of node 1
NEAR_3 = (10.0009, 50.001)  # on way 13, 7 m west of node 3
BY_CHURCH_LANE = (10.0022, 50.0009)  # on Yard Road by its end at Church Lane (node 7)
ON_DIAGONAL = (10.0005, 50.0005)  # the middle of the diagonal 1-3 (way 15, about 130 m)
ACROSS_M = 160  # 1 to 3 across the diagonal: about 150 m; round the square: about 180 m
DELIVERY = {"motor_vehicle:conditional": "destination @ (Mo-Sa 06:00-11:00)"}
WEEKEND = {"motor_vehicle:conditional": "no @ (Sa,Su,PH 07:00-20:00)"}


def _ways(on: TimedStreet) -> list[list[str]]:
    """The names of the streets of each of ``on``'s ways through other timed streets."""
    return [sorted(name for name, _ in way) for way in on.through]


def _rule(tags: dict[str, str], settings: GraphSettings = DEFAULT_SETTINGS) -> str | None:
    return way_rule(tags, settings, MONDAY)


def test_clauses_split_at_semicolons_outside_parentheses() -> None:
    value = "no @ (Mo-Fr 07:00-09:00; Sa 08:00-12:00); destination @ Su"
    assert split_clauses(value) == ["no @ (Mo-Fr 07:00-09:00; Sa 08:00-12:00)", "destination @ Su"]


def test_a_pedestrian_zone_with_delivery_hours_is_a_timed_street_open_only_then() -> None:
    """Heidelberg's old town: 82 pedestrian ways tagged so. Open to trucks going to a place
    on it (local) 06:00-11:00 Monday to Saturday, closed on Sunday; a pedestrian street
    without the tag is no street for trucks."""
    rule = _rule({"highway": "pedestrian", **DELIVERY})
    assert rule
    assert day_states(rule, MONDAY) == (
        (0, 6 * H, "closed"),
        (6 * H, 11 * H, "local"),
        (11 * H, DAY_S, "closed"),
    )
    assert open_intervals(rule, SATURDAY) == [(6 * H, 11 * H)]
    assert open_intervals(rule, SUNDAY) == []
    assert describe(rule) == "motor_vehicle destination @ (Mo-Sa 06:00-11:00); access no"
    assert _rule({"highway": "pedestrian"}) is None
    assert _rule({"highway": "footway", "access:conditional": "yes @ (Tu-Su 12:00-19:00)"}) is None


@pytest.mark.parametrize(
    ("tags", "day", "spans"),
    [
        # a night ban for heavy goods vehicles (wrapping past midnight)
        ({"hgv:conditional": "no @ (19:00-6:00)"}, MONDAY, [(6 * H, 19 * H)]),
        # Porto Alegre: a road closed for leisure at weekends, open on weekdays
        ({"motor_vehicle:conditional": "no @ (Sa,Su,PH 07:00-20:00)"}, MONDAY, [(0, DAY_S)]),
        (
            {"motor_vehicle:conditional": "no @ (Sa,Su,PH 07:00-20:00)"},
            SUNDAY,
            [(0, 7 * H), (20 * H, DAY_S)],
        ),
        # heavier than 7.5 t: the truck (26 t by default) is
        (
            {"access:conditional": "no @ (7:30-19:00 AND weight>7.5)"},
            MONDAY,
            [(0, 7 * H + 1800), (19 * H, DAY_S)],
        ),
        # the last clause that holds wins
        (
            {"motor_vehicle:conditional": "no @ (06:00-20:00); yes @ (10:00-12:00)"},
            MONDAY,
            [(0, 6 * H), (10 * H, 12 * H), (20 * H, DAY_S)],
        ),
        # the truck's own key holds over the general one at all times
        (
            {"motor_vehicle:conditional": "no @ (08:00-10:00)", "hgv": "yes"},
            MONDAY,
            [(0, DAY_S)],
        ),
    ],
)
def test_a_streets_hours_on_a_day(
    tags: dict[str, str], day: date, spans: list[tuple[int, int]]
) -> None:
    rule = _rule({"highway": "residential", **tags})
    assert rule is not None
    assert open_intervals(rule, day) == spans


def test_public_holidays_are_those_of_the_streets_country() -> None:
    """Porto Alegre's riverside avenues are closed 07:00-20:00 at weekends and on public
    holidays: on Friday 2026-12-25 in Brazil (and in Germany), not on Friday 2026-11-20 in
    Germany (Brazil's Consciência Negra); with no place, no day is a holiday."""
    rule = _rule({"highway": "secondary", **WEEKEND})
    assert rule
    christmas, consciencia = date(2026, 12, 25), date(2026, 11, 20)
    closed = [(0, 7 * H), (20 * H, DAY_S)]
    assert open_intervals(rule, christmas, place_of(-51.23, -30.03)) == closed
    assert open_intervals(rule, christmas, place_of(8.69, 49.41)) == closed
    assert open_intervals(rule, consciencia, place_of(-51.23, -30.03)) == closed
    assert open_intervals(rule, consciencia, place_of(8.69, 49.41)) == [(0, DAY_S)]
    assert open_intervals(rule, christmas) == [(0, DAY_S)]


def test_a_street_closed_on_public_holidays_alone_is_timed() -> None:
    """``no @ (PH)``: the week read when the way is prepared has no holiday, so the way
    seemed open at all hours and holidays' plans drove it; it is timed (local-only, its
    bins' visits told its hours on the plan's day): closed all Christmas Day in Germany,
    open all day on a Monday."""
    rule = _rule({"highway": "residential", "motor_vehicle:conditional": "no @ (PH)"})
    assert rule and week_states(rule, MONDAY) == {"open"}
    heidelberg = place_of(8.69, 49.41)
    assert open_intervals(rule, date(2026, 12, 25), heidelberg) == []
    assert open_intervals(rule, MONDAY, heidelberg) == [(0, DAY_S)]
    closed = _rule({"highway": "residential", "access": "no", "access:conditional": "no @ (PH)"})
    assert closed is None  # closed on every day, holidays too: no street
    plain = _rule({"highway": "residential", "motor_vehicle:conditional": "no @ (Su)"})
    assert plain and week_states(plain, MONDAY) == {"open", "closed"}


@pytest.mark.parametrize(
    "tags",
    [
        {"access:conditional": "no @ (7:30-19:00 AND weight>30)"},  # a lighter truck is not
        {"access:conditional": "no @ (2016 Apr 25 - 2016 Sep 26)"},  # a closure long past
        {"motor_vehicle:conditional": "no @ wet"},  # not a time
        {"motor_vehicle:conditional": "no @ (Mo-Xx 25:00)"},  # not opening_hours at all
        {"motorcar:conditional": "yes @ (08:00-10:00)"},  # cars' key: a truck is no motorcar
    ],
)
def test_clauses_that_never_hold_for_the_truck_leave_the_street_untimed(
    tags: dict[str, str],
) -> None:
    assert _rule({"highway": "residential", **tags}) == ""


def test_the_hgv_clause_counts_only_when_hgv_tags_are_respected() -> None:
    tags = {"highway": "residential", "hgv:conditional": "no @ (19:00-6:00)"}
    assert _rule(tags)
    assert _rule(tags, GraphSettings(respect_hgv=False)) == ""
    assert rule_text(tags, GraphSettings(respect_hgv=False), MONDAY) == ""


def test_a_street_closed_at_every_hour_of_the_week_is_no_street() -> None:
    """Whether its plain tags close it and no clause opens it this week, or a clause closes
    it at every hour."""
    always = {"highway": "residential", "motor_vehicle:conditional": "no @ (Mo-Su 00:00-24:00)"}
    assert _rule(always) is None
    assert _rule(always, GraphSettings(street_hours=False)) == ""
    tags = {"highway": "residential", "motor_vehicle": "no"}
    assert (
        _rule({**tags, "motor_vehicle:conditional": "destination @ (2016 Jan 01-2016 Jan 02)"})
        is None
    )
    assert _rule({**tags, "motor_vehicle:conditional": "destination @ (Mo 06:00-07:00)"})


@pytest.mark.parametrize("name", ["delivery", "night"])
def test_the_square_reads_its_timed_diagonal_from_either_file(name: str, tmp_path: Path) -> None:
    """The diagonal 1-3 as a pedestrian zone open for deliveries, or a residential street
    with a night ban: a street of the graph from both readers (osmnx's XML, pyosmium's
    .pbf), local-only (no shortcut across the square at any hour), still driven to reach a
    place on it; a point on it is told its rule, its name, and the seconds driven on it to
    reach the point and to leave it (half the diagonal each way); a point on the square
    has no street hours."""
    tags = (
        {"highway": "pedestrian", "name": "Market Street", **DELIVERY}
        if name == "delivery"
        else {
            "highway": "residential",
            "name": "Market Street",
            "hgv:conditional": "no @ (19:00-06:00)",
        }
    )
    for path in write_square(tmp_path, name, osm_tags(**tags)):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}")
        timed = net.table.timed_edges
        assert timed.sum() == 2 and net.table.edge_local[timed].all(), path.name
        m = net.matrix([NEAR_1, NEAR_3, ON_DIAGONAL])
        assert m.distance_m[0, 1] > ACROSS_M and m.distance_m[1, 0] > ACROSS_M, path.name
        assert m.distance_m[0, 2] < 90 and m.distance_m[2, 1] < 90, path.name
        on, off = net.street_hours([ON_DIAGONAL, NEAR_1])
        assert off is None and on is not None, path.name
        assert on.street == "Market Street" and on.rule == net.table.rule_of(
            int(np.flatnonzero(timed)[0])
        )
        assert on.place == (10.0, 50.0)
        half = float(net.table.edge_time_s[timed][0]) / 2
        assert on.enter_s == pytest.approx(half, abs=1.0), path.name
        assert on.leave_s == pytest.approx(half, abs=1.0), path.name


def test_a_plain_pedestrian_diagonal_is_no_street_and_points_are_snapped_beside_it(
    tmp_path: Path,
) -> None:
    for path in write_square(tmp_path, "plain", osm_tags(highway="pedestrian")):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}")
        assert not net.table.timed_edges.any() and list(net.table.hours_rules) == [""]
        assert "pedestrian" not in set(net.table.edge_highway.tolist())
        assert net.street_hours([ON_DIAGONAL]) == [None]


def test_a_town_of_timed_streets_only_has_no_way_in_to_time(tmp_path: Path) -> None:
    """Every street of the square timed (a night ban on the whole town): no street open at
    all hours to drive in from, so nothing to add before or after a stop."""
    for path in write_square(tmp_path, "night", osm_tags(highway="residential")):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}")
        table = net.table
        rule = _rule({"highway": "residential", "hgv:conditional": "no @ (19:00-06:00)"})
        assert rule
        every = dataclasses.replace(
            table,
            edge_hours=np.ones(table.n_edges, dtype=np.int32),
            hours_rules=np.array(["", rule]),
        )
        found = zones(every)
        assert (found.enter_s == 0).all() and (found.leave_s == 0).all()
        assert not found.free.any() and not found.behind(every).any()


def test_a_yard_reached_only_through_a_timed_lane_keeps_the_lanes_hours(tmp_path: Path) -> None:
    """Yard Road is open at all hours, but trucks reach it only by Market Lane (delivery
    hours Monday to Saturday 06:00-11:00): a point on it keeps the lane's hours, driving
    the lane in and out; the square's streets are free."""
    for path in write_yard(tmp_path, "yard", DELIVERY):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}")
        table = net.table
        found = zones(table)
        behind = found.behind(table)
        assert set(table.edge_name[behind].tolist()) == {"Yard Road"}, path.name
        assert set(table.edge_name[table.timed_edges].tolist()) == {"Market Lane"}, path.name
        on, off = net.street_hours([ON_YARD, NEAR_1])
        assert off is None and on is not None, path.name
        lane = table.rule_of(int(np.flatnonzero(table.timed_edges)[0]))
        assert (on.street, on.rule, on.through) == ("Yard Road", "", ((("Market Lane", lane),),))
        assert on.rules == (lane,)
        lane_s = float(table.edge_time_s[table.timed_edges][0])
        assert lane_s < on.enter_s < 3 * lane_s and lane_s < on.leave_s < 3 * lane_s
        assert on.open_on(MONDAY) == [(6 * H, 11 * H)]
        assert on.open_on(SUNDAY) == []


def test_a_yard_entered_by_one_lane_and_left_by_another_keeps_both_hours(
    tmp_path: Path,
) -> None:
    """Market Lane (06:00-11:00) leads one way into the yard, Church Lane (08:00-12:00)
    one way out: trucks may be at the yard only while both are open, 08:00-11:00."""
    market = {**DELIVERY, "oneway": "yes"}
    church = {"motor_vehicle:conditional": "destination @ (Mo-Sa 08:00-12:00)", "oneway": "yes"}
    for path in write_yard(tmp_path, "lanes", market, church):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}")
        (on,) = net.street_hours([ON_YARD])
        assert on is not None and on.street == "Yard Road", path.name
        assert _ways(on) == [["Church Lane", "Market Lane"]], path.name  # one way, both
        assert on.open_on(MONDAY) == [(8 * H, 11 * H)]
        assert on.open_on(SATURDAY) == [(8 * H, 11 * H)]
        assert on.open_on(SUNDAY) == []


def test_a_street_beside_a_timed_one_but_reached_freely_is_no_timed_street(
    tmp_path: Path,
) -> None:
    """The square's streets meet the timed diagonal, but trucks reach them and leave at
    any hour: none is behind it."""
    for path in write_square(tmp_path, "beside", osm_tags(highway="pedestrian", **DELIVERY)):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}")
        assert not zones(net.table).behind(net.table).any(), path.name
        assert net.street_hours([NEAR_1, NEAR_3]) == [None, None]


def test_a_timed_street_reached_through_another_keeps_both_hours(tmp_path: Path) -> None:
    """Yard Road is closed to trucks Monday to Friday 09:00-10:00 and reached only by
    Market Lane (Monday to Saturday 06:00-11:00): a point on it keeps its own rule and the
    lane's; on a Monday trucks may be there 06:00-09:00 and 10:00-11:00."""
    yard = {"motor_vehicle:conditional": "no @ (Mo-Fr 09:00-10:00)"}
    for path in write_yard(tmp_path, "timed_yard", DELIVERY, yard=yard):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}")
        (on,) = net.street_hours([ON_YARD])
        assert on is not None and on.street == "Yard Road" and on.rule, path.name
        assert _ways(on) == [["Market Lane"]], path.name
        assert len(on.rules) == 2
        assert on.open_on(MONDAY) == [(6 * H, 9 * H), (10 * H, 11 * H)]
        assert on.open_on(SATURDAY) == [(6 * H, 11 * H)]


def test_a_yard_reached_by_either_of_two_lanes_is_open_while_one_is(tmp_path: Path) -> None:
    """Market Lane (06:00-11:00) and Church Lane (08:00-12:00) both lead into the yard and
    out: a truck takes either, so the yard is open 06:00-12:00, whichever is the faster."""
    church = {"motor_vehicle:conditional": "destination @ (Mo-Sa 08:00-12:00)"}
    for path in write_yard(tmp_path, "either", DELIVERY, church):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}")
        (on,) = net.street_hours([ON_YARD])
        assert on is not None and on.rule == "", path.name
        assert sorted(_ways(on)) == [["Church Lane"], ["Market Lane"]], path.name
        assert on.open_on(MONDAY) == [(6 * H, 12 * H)]
        assert on.open_on(SUNDAY) == []


def test_a_lane_reached_through_a_lane_of_its_own_hours_keeps_its_own(tmp_path: Path) -> None:
    """Yard Road, tagged as Market Lane is (06:00-11:00), is reached through Market Lane or
    Church Lane (Monday to Friday from 16:00): the way through Market Lane needs no other
    hours, so on a Monday its own hold, 06:00-11:00, whichever way is the faster (the
    fastest alone made such a lane never open on a Monday, as Heidelberg's Pfaffengasse
    behind Am Brückentor was)."""
    church = {"motor_vehicle:conditional": "destination @ (Mo-Fr 16:00-24:00)"}
    for path in write_yard(tmp_path, "own", DELIVERY, church, yard={"access": "no", **DELIVERY}):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}")
        for on in net.street_hours([ON_YARD, BY_CHURCH_LANE]):  # fastest by either lane
            assert on is not None and on.rule, path.name
            assert on.through == (), path.name  # the way through Market Lane: no other hours
            assert on.open_on(MONDAY) == [(6 * H, 11 * H)]
            assert on.open_on(SATURDAY) == [(6 * H, 11 * H)]


def test_a_zone_of_too_many_rules_is_told_its_fastest_ways_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more other rules than ``reach.MAX_RULES`` in its zone (here none allowed), a
    point is told the rules of its fastest ways in and out alone: one way, not two."""
    import network.reach

    monkeypatch.setattr(network.reach, "MAX_RULES", 0)
    church = {"motor_vehicle:conditional": "destination @ (Mo-Sa 08:00-12:00)"}
    _, pbf = write_yard(tmp_path, "many", DELIVERY, church)
    (on,) = load_network(pbf, cache_dir=tmp_path / "c").street_hours([ON_YARD])
    assert on is not None and _ways(on) == [["Market Lane"]]  # ON_YARD lies by Market Lane
    assert on.open_on(MONDAY) == [(6 * H, 11 * H)]
