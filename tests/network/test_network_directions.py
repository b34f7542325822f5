"""Turn-by-turn directions (network.directions, StreetNetwork.steps / directions) on hand-made
towns: the six-node tiny town (A-B-C bottom row, A-D and C-F verticals) and a corner town
whose streets bend named and unnamed."""

from __future__ import annotations

import math

import networkx as nx
import pytest

from network.bearings import COMPASS, compass, maneuver, turn_deg
from network.directions import MANEUVERS, Piece, steps
from network.errors import NetworkError
from network.streets import StreetNetwork
from tests.network.conftest import add_street, build_tiny_graph, grid


@pytest.fixture(scope="module")
def town() -> StreetNetwork:
    """The six-node tiny town (tests.network.conftest.build_tiny_graph)."""
    return StreetNetwork.from_graph(build_tiny_graph())


def _moves(found: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(s.maneuver, s.street) for s in found]


def test_east_along_the_bottom_row_then_left_up_c_f(town: StreetNetwork) -> None:
    """From near A to halfway up C-F: east on street 12, straight on into 23 at B, left
    into 36 at C, and arrive; the metres are the path's, as the matrix counts them."""
    a, b = grid(0.3, 0), grid(2, 0.6)
    found = town.steps(a, b)
    assert _moves(found) == [
        ("depart", "street 12"),
        ("straight", "street 23"),
        ("left", "street 36"),
        ("arrive", "street 36"),
    ]
    assert found[0].heading == "east"
    assert [s.text() for s in found] == [
        "Head east on street 12",
        "Continue straight onto street 23",
        "Turn left onto street 36",
        "Arrive at the stop",
    ]
    matrix = town.matrix([a, b])
    driven = sum(s.distance_m for s in found)
    assert driven == pytest.approx(matrix.distance_m[0, 1], abs=1.0)
    assert sum(s.duration_s for s in found) == pytest.approx(matrix.duration_s[0, 1], abs=1.0)
    assert (found[2].lon, found[2].lat) == pytest.approx(grid(2, 0))  # the turn is at C


def test_the_way_back_turns_right_at_c(town: StreetNetwork) -> None:
    found = town.steps(grid(2, 0.6), grid(0.3, 0))
    assert _moves(found)[:3] == [
        ("depart", "street 36"),
        ("right", "street 23"),
        ("straight", "street 12"),
    ]
    assert found[0].heading == "south"


def test_down_a_d_then_left_along_the_bottom_row(town: StreetNetwork) -> None:
    found = town.steps(grid(0, 0.5), grid(1.2, 0))
    assert _moves(found)[:2] == [("depart", "street 14"), ("left", "street 12")]
    assert found[0].heading == "south"


def test_a_kerb_side_stop_is_reached_after_a_u_turn_and_is_on_the_right(
    town: StreetNetwork,
) -> None:
    """A stop on the north kerb of A-B, east of the start: driving east it is on the left;
    taken from the kerb the truck drives on to B, turns back and has it on its right."""
    start, north = grid(0.1, 0), grid(0.5, 0.1)
    plain = town.steps(start, north)
    assert _moves(plain) == [("depart", "street 12"), ("arrive", "street 12")]
    assert plain[-1].side == "left"
    assert plain[-1].text("bin q") == "Arrive at bin q, on the left"
    kerb = town.steps(start, north, kerb_side=(False, True))
    assert _moves(kerb) == [
        ("depart", "street 12"),
        ("u-turn", "street 12"),
        ("arrive", "street 12"),
    ]
    assert kerb[-1].side == "right"
    assert (kerb[1].lon, kerb[1].lat) == pytest.approx(grid(1, 0))  # turned back at B
    assert kerb[1].text() == "Make a U-turn and drive on along street 12"
    matrix = town.matrix([start, north], kerb_side=[False, True])
    assert sum(s.distance_m for s in kerb) == pytest.approx(matrix.distance_m[0, 1], abs=1.0)


def test_a_stop_where_the_truck_stands_is_the_arrival_alone(town: StreetNetwork) -> None:
    found = town.steps(grid(0.5, 0), grid(0.5, 0))
    assert _moves(found) == [("arrive", "street 12")]
    assert found[0].distance_m == 0


def test_directions_give_a_leg_per_pair_of_points(town: StreetNetwork) -> None:
    """Each leg is that pair's steps, and its metres add up to the matrix's trip."""
    points = [grid(0.3, 0), grid(2, 0.6), grid(0, 0.5), grid(1.5, 0)]
    legs = town.directions(points)
    matrix = town.matrix(points)
    assert len(legs) == 3
    for i, leg in enumerate(legs):
        assert leg == town.steps(points[i], points[i + 1])
        driven = sum(s.distance_m for s in leg)
        assert driven == pytest.approx(matrix.distance_m[i, i + 1], abs=1.0)
    with pytest.raises(NetworkError, match="2 flags for 4 points"):
        town.directions(points, kerb_side=[True, False])


def test_paths_draw_the_pieces_the_directions_read(town: StreetNetwork) -> None:
    """The drawn path starts where the truck departs and ends where it arrives."""
    a, b = grid(0.3, 0), grid(2, 0.6)
    line = town.path(a, b)
    found = town.steps(a, b)
    assert (found[0].lon, found[0].lat) == pytest.approx(line[0])
    assert (found[-1].lon, found[-1].lat) == pytest.approx(line[-1])


def _corner_town() -> StreetNetwork:
    """Two streets that bend 90 degrees at a corner, named (Bend Road: 1-2-3) and unnamed
    (4-5-6, service), with a straight street 3-6 joining their ends::

        1           4---5
        |               |
        2---3-----------6      (3-6: 'Link Street')
    """
    graph = nx.MultiDiGraph(crs="epsg:4326")
    places = {1: (0, 1), 2: (0, 0), 3: (1, 0), 4: (3, 1), 5: (4, 1), 6: (4, 0)}
    for node, (x, y) in places.items():
        lon, lat = grid(x, y)
        graph.add_node(node, x=lon, y=lat)
    add_street(graph, 1, 2, osmid=1)
    add_street(graph, 2, 3, osmid=2)
    add_street(graph, 3, 6, osmid=3)
    add_street(graph, 4, 5, osmid=4)
    add_street(graph, 5, 6, osmid=5)
    names = {1: "Bend Road", 2: "Bend Road", 3: "Link Street", 4: "", 5: ""}
    for _, _, data in graph.edges(data=True):
        data["name"] = names[data["osmid"]]
        if data["osmid"] in (4, 5):
            data["highway"] = "service"
    return StreetNetwork.from_graph(graph)


def test_a_named_street_that_bends_is_one_step_an_unnamed_one_turns() -> None:
    net = _corner_town()
    found = net.steps(grid(0, 0.8), grid(3.2, 1))
    assert _moves(found) == [
        ("depart", "Bend Road"),  # round its corner at 2: the same street
        ("straight", "Link Street"),
        ("left", ""),  # onto the unnamed road at 6
        ("left", ""),  # its corner at 5 is a turn of its own
        ("arrive", ""),
    ]
    assert found[2].text() == "Turn left onto the unnamed service road"


@pytest.mark.parametrize(
    ("angle", "told"),
    [
        (0.0, "straight"),
        (-19.0, "straight"),
        (30.0, "slight right"),
        (-45.0, "slight left"),
        (90.0, "right"),
        (-90.0, "left"),
        (150.0, "sharp right"),
        (-150.0, "sharp left"),
        (170.0, "u-turn"),
        (-179.0, "u-turn"),
    ],
)
def test_turns_are_named_by_their_angle(angle: float, told: str) -> None:
    assert maneuver(angle) == told
    assert told in MANEUVERS


def test_turn_angles_wrap_and_compass_points_round() -> None:
    assert turn_deg(350.0, 10.0) == pytest.approx(20.0)
    assert turn_deg(10.0, 350.0) == pytest.approx(-20.0)
    assert turn_deg(0.0, 180.0) == pytest.approx(180.0)
    assert compass(0.0) == "north" and compass(100.0) == "east"
    assert compass(337.0) == "north-west" and compass(359.0) == "north"
    assert len(COMPASS) == 8


def test_a_stretch_off_the_streets_is_named_so() -> None:
    """A piece with no edge (a straight stretch between two places) has no street."""
    net = StreetNetwork.from_graph(build_tiny_graph())
    piece = Piece(-1, coords=(grid(0, 0), grid(0, 0.2)))
    found = steps(net.table, [piece])
    assert _moves(found) == [("depart", ""), ("arrive", "")]
    assert found[0].text() == "Head north on the way off the street"
    assert found[0].distance_m == pytest.approx(22.2, abs=0.2)


def test_the_benchmark_reads_directions_that_follow_the_matrix(tmp_path) -> None:
    """``python -m benchmarks.sheets``: on the square town, 30 points in 3 routes give 27
    legs whose metres are the matrix's; a missing file is a usage error."""
    from benchmarks.sheets import main, routes_of, run
    from tests.network.conftest import write_square

    _, pbf = write_square(tmp_path, "square")
    record = run(pbf, points=30, trucks=3)
    assert (record["routes"], record["legs"]) == (3, 27)
    assert record["max_gap_m"] <= 2.0 and record["steps_per_leg"] >= 1
    assert record["max_time_gap_s"] <= 1.0
    assert record["seconds_old"] > 0 and record["seconds_new"] > 0
    ordered = routes_of([(0.0, 0.0), (1.0, 0.0), (0.5, 0.01), (0.2, 0.0)], 2)
    assert ordered == [[(0.0, 0.0), (0.2, 0.0)], [(1.0, 0.0), (0.5, 0.01)]]
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "nowhere.osm.pbf")])
    assert stop.value.code == 2


def test_a_stop_on_a_loop_street_is_reached_the_short_way_round(tmp_path) -> None:
    """Loop Close (3-8-9-3) is one closed way: both its directions start and end at node 3.
    A stop near its end (coming back to 3) is reached backwards along it, as the matrix
    counts; the drawn path and the directions went all the way round (forwards) before."""
    from network import load_network
    from tests.network.conftest import polyline_m, write_square

    _, pbf = write_square(tmp_path, "square")
    net = load_network(pbf, cache_dir=tmp_path)
    start, stop = (10.0005, 50.0), (10.00112, 50.00148)  # on 1-2; on the loop's last leg 9-3
    matrix = net.matrix([start, stop])
    found = net.steps(start, stop)
    assert found[-1].street == "Loop Close"
    assert sum(s.distance_m for s in found) == pytest.approx(matrix.distance_m[0, 1], abs=1.0)
    assert polyline_m(net.path(start, stop)) == pytest.approx(matrix.distance_m[0, 1], abs=2.0)
    back = net.steps(stop, start)
    assert sum(s.distance_m for s in back) == pytest.approx(matrix.distance_m[1, 0], abs=1.0)


def test_a_road_with_a_number_and_no_name_is_read_by_its_number(tmp_path) -> None:
    """The square's diagonal is a primary road with a number (``ref``) and no name: both
    readers name its edges by the number, as the signs do, and the directions say it; and
    both mark a roundabout's edges (``junction=roundabout`` on the loop)."""
    from network import load_table
    from network.speeds import street_name
    from tests.network.conftest import osm_tags, write_square

    assert street_name({"name": "Rua A", "ref": "N 13"}) == "Rua A"
    assert street_name({"ref": "N 13; IC 1"}) == "N 13 / IC 1"
    assert street_name({"ref": " "}) == "" and street_name({}) == ""
    xml, pbf = write_square(tmp_path, "numbered", osm_tags(highway="primary", ref="N 13;IC 1"))
    for source in (xml, pbf):
        table = load_table(source, cache_dir=tmp_path)
        diagonal = table.edge_osmid == 15
        assert diagonal.any() and set(table.edge_name[diagonal].tolist()) == {"N 13 / IC 1"}
        assert set(table.edge_name[table.edge_osmid == 11].tolist()) == {""}
    for source in write_square(tmp_path, "ring", loop=osm_tags(junction="roundabout")):
        table = load_table(source, cache_dir=tmp_path)
        assert set(table.edge_roundabout[table.edge_osmid == 17].tolist()) == {True}
        assert not table.edge_roundabout[table.edge_osmid != 17].any()
    net = StreetNetwork(load_table(pbf, cache_dir=tmp_path))
    found = net.steps((10.0005, 50.0), (10.0006, 50.0006))  # on 1-2; on the diagonal 1-3
    assert [s.street for s in found] == ["", "N 13 / IC 1", "N 13 / IC 1"]
    assert found[1].text() == "Turn right onto N 13 / IC 1"  # west, then north-east


def _roundabout_town() -> StreetNetwork:
    """A one-way roundabout (counter-clockwise: W -> S -> E -> N -> W) with two-way West,
    North and East Roads and a one-way South Road that only leads into it::

                 North Road
                     |
        West Road -- W  ring  E -- East Road
                     |
                 South Road (into the ring only)
    """
    graph = nx.MultiDiGraph(crs="epsg:4326")
    r, far = 0.3, 2.3  # ring radius and road ends, in grid units from the centre (5, 0)
    places = {
        1: (5 - r, 0), 2: (5, -r), 3: (5 + r, 0), 4: (5, r),  # W S E N
        10: (5 - far, 0), 11: (5, far), 12: (5 + far, 0), 13: (5, -far),
    }  # fmt: skip
    for node, (x, y) in places.items():
        lon, lat = grid(x, y)
        graph.add_node(node, x=lon, y=lat)
    ring = [(1, 2), (2, 3), (3, 4), (4, 1)]
    for k, (u, v) in enumerate(ring):
        add_street(graph, u, v, oneway=True, osmid=100 + k)
    add_street(graph, 10, 1, osmid=1)
    add_street(graph, 11, 4, osmid=2)
    add_street(graph, 12, 3, osmid=3)
    add_street(graph, 13, 2, oneway=True, osmid=4)
    names = {1: "West Road", 2: "North Road", 3: "East Road", 4: "South Road"}
    for _, _, data in graph.edges(data=True):
        data["roundabout"] = data["osmid"] >= 100
        data["name"] = names.get(data["osmid"], "")
    return StreetNetwork.from_graph(graph)


def test_a_roundabout_is_one_step_naming_the_exit() -> None:
    """From West Road the truck enters at W; South Road only leads in, so East Road is the
    first exit and North Road the second; from East Road, West Road is the second (North
    Road passed). The step counts the ring's metres with the road's."""
    net = _roundabout_town()
    west, north, east = grid(3.5, 0), grid(5, 1.5), grid(6.5, 0)
    to_east = net.steps(west, east)
    assert [(s.maneuver, s.street, s.exit_number) for s in to_east] == [
        ("depart", "West Road", 0),
        ("roundabout", "East Road", 1),
        ("arrive", "East Road", 0),
    ]
    assert to_east[1].text() == "At the roundabout, take the 1st exit onto East Road"
    matrix = net.matrix([west, east])
    # the matrix rounds each edge to the metre: 4 edges here
    assert sum(s.distance_m for s in to_east) == pytest.approx(matrix.distance_m[0, 1], abs=2.0)
    assert net.steps(west, north)[1].text() == (
        "At the roundabout, take the 2nd exit onto North Road"
    )
    assert net.steps(east, west)[1].exit_number == 2
    on_ring = net.steps(west, grid(5, -0.3))  # a stop at S, on the ring: told by its turns
    assert all(s.maneuver != "roundabout" for s in on_ring)


@pytest.mark.parametrize("seed", range(4))
def test_a_bounded_search_draws_the_path_the_whole_graph_gives(seed: int, monkeypatch) -> None:
    """A path search looks a bounded time beyond the straight line first
    (``_search_limit``), and the whole graph when the goal lies beyond it: on random towns
    with local-only streets, with a limit tight enough to miss many goals and with none,
    every path's pieces are the same."""
    import numpy as np

    import network.street_paths as paths
    from tests.network.towns import random_town

    rng = np.random.default_rng(seed)
    table = random_town(rng, size=7, local_share=0.2)
    points = [grid(*xy) for xy in rng.uniform(0, 6, size=(12, 2))]
    pairs = [(a, b) for a in points for b in points if a != b]
    found = {}
    for name, base_s, mps in [
        ("tight", 0.0, 50.0),  # below every trip (streets at 5 m/s): all searched again
        ("mid", 0.0, 3.5),  # some trips within, those with detours beyond
        ("none", math.inf, 1.0),
        ("default", None, None),
    ]:
        if base_s is not None:
            monkeypatch.setattr(paths, "PATH_LIMIT_S", base_s)
            monkeypatch.setattr(paths, "PATH_LIMIT_MPS", mps)
        else:
            monkeypatch.undo()
        net = StreetNetwork(table)
        found[name] = [net._route(a, b, 250.0, (False, False)) for a, b in pairs]
    assert found["tight"] == found["mid"] == found["none"] == found["default"]
