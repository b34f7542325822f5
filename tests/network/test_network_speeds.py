"""maxspeed parsing, truck way filter, one-way rules, haversine provider."""

from __future__ import annotations

import math

import numpy as np
import pytest

from network import (
    GraphSettings,
    HaversineProvider,
    NetworkError,
    StreetProvider,
    WithinReach,
    parse_maxspeed,
    strays,
    within_reach,
)
from network.speeds import (
    KPH_PER_MPH,
    M_PER_INCH,
    blocks_trucks,
    is_truck_way,
    lifted_for_destinations,
    oneway_direction,
    over_limit,
    parse_length_m,
    parse_maxweight_kg,
    truck_kph,
)


@pytest.mark.parametrize(
    ("raw", "kph"),
    [
        ("50", 50.0),
        ("30 mph", 30 * KPH_PER_MPH),
        ("PT:urban", 50.0),
        ("PT:rural", 90.0),
        ("DE:zone30", 30.0),
        ("DE:zone:20", 20.0),  # a 20 zone, not the residential fallback (30)
        ("DE:zone10", 10.0),
        ("IT:zona:30", None),  # not a zone value OSM documents: the fallback
        ("walk", 7.0),
        ("50;30", 40.0),
        ("60 km/h", 60.0),
        ("none", None),
        ("signals", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_maxspeed(raw: str | None, kph: float | None) -> None:
    assert parse_maxspeed(raw) == (pytest.approx(kph) if kph is not None else None)


def test_truck_kph_falls_back_per_highway_and_caps() -> None:
    s = GraphSettings(truck_speed_factor=1.0, truck_max_kph=70.0)
    assert truck_kph(None, "residential", s) == dict(s.fallback_kph)["residential"]
    assert truck_kph("none", "motorway", s) == 70.0
    assert truck_kph(None, "weird_class", s) == s.default_kph


@pytest.mark.parametrize(
    ("tags", "keep"),
    [
        ({"highway": "residential"}, True),
        ({"highway": "primary_link"}, True),
        ({"highway": "service"}, True),
        ({"highway": "service", "service": "parking_aisle"}, False),
        ({"highway": "service", "service": "driveway"}, False),
        ({"highway": "residential", "access": "private"}, False),
        ({"highway": "residential", "motor_vehicle": "no"}, False),
        ({"highway": "pedestrian"}, False),
        ({"highway": "footway"}, False),
        ({"highway": "track"}, False),
        ({"highway": "residential", "area": "yes"}, False),
        ({"highway": "residential", "hgv": "no"}, False),
        ({"highway": "service", "motor_vehicle": "agricultural"}, False),  # a farm track
        ({"highway": "unclassified", "vehicle": "agricultural;forestry"}, False),
        ({"highway": "service", "access": "psv"}, False),  # a bus road
        ({"highway": "residential", "access": "Private"}, False),
        ({"highway": "residential", "access": "private;delivery"}, True),
        ({"highway": "residential", "motor_vehicle": "destination"}, True),
        # motorcar is the cars' key: it may close a way to trucks too (the sign 'no motor
        # vehicles with more than two wheels' is often tagged motorcar=no), never open one
        ({"highway": "residential", "motor_vehicle": "no", "motorcar": "yes"}, False),
        ({"highway": "service", "access": "no", "motorcar": "destination"}, False),
        ({"highway": "residential", "motorcar": "no"}, False),
        ({"highway": "residential", "motorcar": "destination"}, True),
        ({"highway": "residential", "motorcar": "no", "hgv": "yes"}, True),
    ],
)
def test_is_truck_way(tags: dict[str, str], keep: bool) -> None:
    assert is_truck_way(tags, GraphSettings()) is keep


@pytest.mark.parametrize(
    ("tags", "direction"),
    [
        ({"oneway": "yes"}, 1),
        ({"oneway": "1"}, 1),
        ({"oneway": "true"}, 1),
        ({"oneway": "-1"}, -1),
        ({"oneway": "no"}, 0),
        ({"oneway": "reversible"}, 0),
        ({"junction": "roundabout"}, 1),
        ({"junction": "roundabout", "oneway": "no"}, 0),
        ({}, 0),
    ],
)
def test_oneway_direction(tags: dict[str, str], direction: int) -> None:
    assert oneway_direction(tags) == direction


@pytest.mark.parametrize(
    ("tags", "blocks"),
    [
        ({"barrier": "bollard"}, True),
        ({"barrier": "gate"}, False),
        ({"barrier": "gate", "access": "private"}, True),
        ({"barrier": "gate", "access": "private", "motorcar": "yes"}, True),  # cars only
        ({"barrier": "lift_gate", "access": "customers", "motorcar": "yes"}, False),
        ({"barrier": "bollard", "hgv": "yes"}, False),
        ({"highway": "traffic_signals"}, False),
    ],
)
def test_blocks_trucks(tags: dict[str, str], blocks: bool) -> None:
    assert blocks_trucks(tags, GraphSettings()) is blocks


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="truck_speed_factor"):
        GraphSettings(truck_speed_factor=0.0)


@pytest.mark.parametrize(
    ("raw", "metres"),
    [
        ("3.5", 3.5),
        ("3.5 m", 3.5),
        ("3,5", 3.5),
        ("12'6\"", (12 * 12 + 6) * M_PER_INCH),
        ("14'", 14 * 12 * M_PER_INCH),
        ("3.2;4.0", 3.2),  # a list (osmnx's merged ways): the lowest holds
        ("none", None),
        ("default", None),
        ("below_default", None),
        ("0", None),
        (None, None),
    ],
)
def test_parse_length_m(raw: str | None, metres: float | None) -> None:
    assert parse_length_m(raw) == (None if metres is None else pytest.approx(metres))


@pytest.mark.parametrize(
    ("raw", "kg"),
    [
        ("7.5", 7500.0),  # tonnes when no unit
        ("7.5 t", 7500.0),
        ("3,5", 3500.0),
        ("7500 kg", 7500.0),
        ("10 st", 9071.8474),
        ("20000 lbs", 9071.8474),
        ("12 t;7.5", 7500.0),
        ("2 tons", None),
        ("none", None),
        (None, None),
    ],
)
def test_parse_maxweight_kg(raw: str | None, kg: float | None) -> None:
    assert parse_maxweight_kg(raw) == (None if kg is None else pytest.approx(kg))


@pytest.mark.parametrize(
    ("conditional", "lifted"),
    [
        ("none @ destination", True),
        ("none @ (delivery)", True),
        ("3.5 @ (Mo-Fr 06:00-18:00); none @ destination", True),
        ("none @ (Mo-Fr 22:00-06:00)", False),
        ("7.5 @ destination", False),
        (None, False),
    ],
)
def test_a_weight_limit_lifted_for_destinations(conditional: str | None, lifted: bool) -> None:
    assert lifted_for_destinations(conditional) is lifted


@pytest.mark.parametrize(
    ("tags", "over"),
    [
        ({"maxheight": "3.7"}, True),
        ({"maxheight": "3.8"}, False),  # as high as the truck: it passes
        ({"maxheight": "4", "maxheight:physical": "3.6"}, True),
        ({"maxweight": "25.9"}, True),
        ({"maxweight": "26"}, False),
        ({"maxweight": "7.5", "maxweight:conditional": "none @ delivery"}, False),
        ({"maxheight": "3", "maxweight:conditional": "none @ delivery"}, True),  # weight only
        ({"maxwidth": "2.4"}, True),  # narrower than the 2.55 m truck
        ({"maxwidth": "2.55"}, False),
        ({"maxwidth:physical": "1.8 m"}, True),
        ({"maxlength": "10"}, False),  # as long as the truck
        ({"maxlength:hgv": "8"}, True),
        ({"maxaxleload": "8"}, True),  # its heaviest axle carries 10 t
        ({"maxaxleload": "11.5 t"}, False),
        ({"maxaxleload": "8", "maxweight:conditional": "none @ delivery"}, True),
        ({}, False),
    ],
)
def test_over_limit_for_the_default_truck(tags: dict[str, str], over: bool) -> None:
    assert over_limit(tags, GraphSettings()) is over
    assert is_truck_way({"highway": "residential", **tags}, GraphSettings()) is not over


def test_a_smaller_truck_passes_the_limits_a_larger_one_does_not() -> None:
    tags = {"maxheight": "3", "maxweight": "7.5", "maxwidth": "2.2", "maxlength": "7"}
    tags |= {"maxaxleload": "4"}
    assert over_limit(tags, GraphSettings())
    small = GraphSettings(
        truck_height_m=2.9,
        truck_weight_kg=7000.0,
        truck_width_m=2.1,
        truck_length_m=6.5,
        truck_axle_load_kg=4000.0,
    )
    assert not over_limit(tags, small)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("truck_height_m", 0.0),
        ("truck_height_m", 380.0),
        ("truck_weight_kg", 26e6),
        ("truck_width_m", 255.0),
        ("truck_length_m", 0.0),
        ("truck_axle_load_kg", 1e7),
    ],
)
def test_a_truck_size_beyond_any_road_vehicle_is_refused_naming_the_field(
    field: str, value: float
) -> None:
    with pytest.raises(ValueError, match=f"{field}={value} must be in"):
        GraphSettings(**{field: value})  # type: ignore[arg-type]


def test_haversine_provider() -> None:
    provider = HaversineProvider(speed_kph=36.0, detour=1.0)
    m = provider([(10.0, 50.0), (10.0, 50.01)])
    assert m.distance_m[0, 1] == m.distance_m[1, 0] == 1112  # 0.01 deg latitude
    assert m.duration_s[0, 1] == round(1111.95 / 10)
    assert m.duration_s.dtype == np.int64
    with pytest.raises(NetworkError):
        HaversineProvider(detour=0.5)


def test_a_truck_covers_its_speed_over_its_detour_in_a_straight_line() -> None:
    assert HaversineProvider(speed_kph=36.0, detour=2.0).reach_m(100) == pytest.approx(500)


def test_strays_are_the_points_far_from_the_median_and_say_if_swapped() -> None:
    """Three Helsinki places, one with a digit dropped from its latitude, one written
    (lat, lon), one with a longitude no latitude can be: the median stays in Helsinki."""
    town = [(24.94, 60.17), (24.95, 60.18), (24.93, 60.16), (24.945, 60.175)]
    points = [*town, (24.94, 6.017), (60.17, 24.94), (124.94, 60.17)]
    middle, far = strays(points, 100_000)
    assert middle == (24.945, 60.17)
    assert sorted(far) == [4, 5, 6]
    assert far[4].away_m == pytest.approx(54.153 * 111_195, rel=1e-3)  # degrees of latitude
    assert far[4].swapped_m > 100_000  # (6.017, 24.94) is no nearer
    assert far[5].swapped_m < 1_000  # (24.94, 60.17)
    assert far[6].swapped_m == math.inf
    assert strays(town, 100_000)[1] == {}
    assert strays([], 1.0)[1] == {}


def test_within_reach_names_the_places_a_day_s_drive_from_the_middle() -> None:
    """Straight lines at 25 km/h and detour 1.3 reach 462 km in a day: a latitude with a
    digit dropped is that far from the middle of the places, one written (lat, lon) reads
    near it the other way round; the matrix is the straight lines' own."""
    town = [(24.94, 60.17), (24.95, 60.18), (24.93, 60.16), (24.945, 60.175)]
    base = HaversineProvider()
    near = within_reach(base, town)
    assert isinstance(near, WithinReach)
    assert near.middle == pytest.approx((24.9425, 60.1725))
    assert near.limit_m == pytest.approx(461_538, abs=1)
    points = [town[0], (24.94, 6.017), (60.17, 24.94)]
    far = near.far_points(points)
    assert sorted(far) == [1, 2]
    assert far[1] == pytest.approx(54.155 * 111_195, rel=1e-3)
    assert near.swapped_near(points, far) == {
        2: "its lon and lat look swapped: (24.940000, 60.170000) is 0.3 km from the middle; "
        "give lon first, then lat"
    }
    assert near.far_said(far[1]) == (
        "6,022 km from the middle of the city's places (24.942500, 60.172500), farther than a "
        "truck drives in a day (462 km in a straight line)"
    )
    assert near(points).duration_s.tolist() == base(points).duration_s.tolist()
    assert near.far_points(town) == {}


def test_within_reach_leaves_streets_and_too_few_places_as_they_are() -> None:
    """A street network names places off the map itself; two places have no middle."""
    streets = StreetProvider(network=None)  # type: ignore[arg-type]
    assert within_reach(streets, [(24.94, 60.17)] * 5) is streets
    base = HaversineProvider()
    assert within_reach(base, [(24.94, 60.17), (24.94, 6.017)]) is base
