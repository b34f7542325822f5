"""Kerb-side points: which side of its street a point stands on, and matrices and paths that
pass a kerb-side point with it on the truck's kerb (both engines, both traffic sides),
checked against an independent edge-based Dijkstra on random grids."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from network import StreetNetwork
from network.errors import NetworkError
from network.table import haversine_m
from network.turns import restrict_turns
from network.zones import split_local_zones
from tests.network.conftest import ENGINES, grid, polyline_m
from tests.network.towns import (
    banned_turns,
    beside,
    oracle_matrix,
    oracle_s,
    random_restrictions,
    random_town,
    reachable_kerb_points,
)

OFF = 0.07  # grid steps north / south of the bottom row A-B-C: about 7.8 m, at the kerb
P_SOUTH = grid(0.25, -OFF)  # beside A-B, a quarter of the way from A, on its south side
Q_NORTH = grid(0.75, OFF)  # beside A-B, three quarters of the way from A, on its north side


def _net(graph: nx.MultiDiGraph, engine: str = "scipy", drive_side: str = "right") -> StreetNetwork:
    return StreetNetwork.from_graph(graph, workers=1, engine=engine, drive_side=drive_side)


def _ab_m(x0: float, x1: float) -> float:
    """Metres along the bottom row between grid x positions ``x0`` and ``x1``."""
    return polyline_m([grid(x0, 0), grid(x1, 0)])


def test_a_point_is_on_the_left_or_right_of_its_edge_or_on_neither(tiny_graph) -> None:
    """North of the bottom row is the left of an eastbound edge and the right of a
    westbound one; a point on the centre line, or past the street's end, is on neither."""
    net = _net(tiny_graph)
    north, south, on_line, past_end = net.snap([Q_NORTH, P_SOUTH, grid(0.5, 0.0), grid(-0.05, 0.0)])
    t = net.table
    eastbound = (
        1 if t.node_lon[t.edge_v[north.edge_index]] > t.node_lon[t.edge_u[north.edge_index]] else -1
    )
    assert north.side == eastbound and south.side == -eastbound
    assert on_line.side == 0 and past_end.side == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_a_kerb_side_bin_is_reached_driving_with_it_on_the_right(tiny_graph, engine) -> None:
    """Q stands on the north side of A-B: where traffic keeps right, a truck takes it driving
    west, so from P (south side, a quarter of the way) it drives on to B, turns there and
    comes back; from Q it leaves westbound, past P. Where traffic keeps left Q is on the
    eastbound kerb: the direct half unit. Without the flag both ways are direct."""
    pts = [P_SOUTH, Q_NORTH]
    free = _net(tiny_graph, engine).matrix(pts)
    kerb = _net(tiny_graph, engine).matrix(pts, kerb_side=[False, True])
    left = _net(tiny_graph, engine, "left").matrix(pts, kerb_side=[False, True])
    half = _ab_m(0.25, 0.75)
    assert abs(free.distance_m[0, 1] - half) <= 1 and abs(free.distance_m[1, 0] - half) <= 1
    assert abs(kerb.distance_m[0, 1] - (_ab_m(0.25, 1) + _ab_m(0.75, 1))) <= 1
    assert abs(kerb.distance_m[1, 0] - half) <= 1
    assert abs(left.distance_m[0, 1] - half) <= 1
    assert abs(left.distance_m[1, 0] - (_ab_m(0, 0.75) + _ab_m(0, 0.25))) <= 1
    assert kerb.kerb_side == (False, True) and free.kerb_side == ()
    flags = np.array([False, True])  # an array works as the sequence of flags
    as_array = _net(tiny_graph, engine).matrix(pts, kerb_side=flags)  # type: ignore[arg-type]
    np.testing.assert_array_equal(as_array.distance_m, kerb.distance_m)


@pytest.mark.parametrize("engine", ENGINES)
def test_two_kerb_side_bins_facing_each_other_each_need_a_turn(tiny_graph, engine) -> None:
    """P on the south kerb is taken eastbound, Q on the north kerb westbound: from P to Q
    the truck turns at B, from Q to P at A."""
    m = _net(tiny_graph, engine).matrix([P_SOUTH, Q_NORTH], kerb_side=[True, True])
    assert abs(m.distance_m[0, 1] - (_ab_m(0.25, 1) + _ab_m(0.75, 1))) <= 1
    assert abs(m.distance_m[1, 0] - (_ab_m(0, 0.75) + _ab_m(0, 0.25))) <= 1


def test_paths_follow_the_kerb_rule_as_long_as_the_matrix_says(tiny_graph) -> None:
    """The drawn path from P to kerb-side Q goes on to B and back: as long as its matrix
    entry, and it passes B; a route drawn through the points with their flags does too."""
    net = _net(tiny_graph)
    m = net.matrix([P_SOUTH, Q_NORTH], kerb_side=[False, True])
    line = net.path(P_SOUTH, Q_NORTH, kerb_side=(False, True))
    assert abs(polyline_m(line) - m.distance_m[0, 1]) <= 2
    assert min(haversine_m(x, y, *grid(1, 0)) for x, y in line) < 0.5
    feature = net.route_geojson([P_SOUTH, Q_NORTH], kerb_side=[False, True])
    drawn = [tuple(c) for c in feature["geometry"]["coordinates"]]
    assert abs(polyline_m(drawn) - m.distance_m[0, 1]) <= 2
    assert polyline_m(net.path(P_SOUTH, Q_NORTH)) < m.distance_m[0, 1] - 30


def test_one_way_streets_and_centre_line_points_keep_every_way(tiny_graph) -> None:
    """The kerb rule binds on two-way streets only: a one-way street is driven its one way
    whichever side the point stands on, and a point on the centre line tells no side."""
    net = _net(tiny_graph)
    beside_one_way = grid(0.5 - OFF, 0.5 + OFF)  # north-west of the one-way B->D diagonal
    pts = [grid(0, 0.5), beside_one_way, grid(0.5, 0.0), grid(2, 0.5)]
    free = net.matrix(pts)
    kerb = net.matrix(pts, kerb_side=[False, True, True, False])
    np.testing.assert_array_equal(free.distance_m, kerb.distance_m)


@pytest.mark.parametrize("engine", ENGINES)
def test_extending_a_kerb_matrix_equals_computing_it_whole(tiny_graph, engine) -> None:
    """Old points keep their flags (``matrix.kerb_side``), the new ones bring theirs."""
    net = _net(tiny_graph, engine)
    old, new = [P_SOUTH, grid(2, 0.5)], [Q_NORTH, grid(1.5, -OFF)]
    flags = [True, False, True, True]
    whole = net.matrix(old + new, kerb_side=flags)
    grown = net.extend_matrix(net.matrix(old, kerb_side=flags[:2]), new, kerb_side=flags[2:])
    np.testing.assert_array_equal(whole.distance_m, grown.distance_m)
    np.testing.assert_array_equal(whole.duration_s, grown.duration_s)
    assert grown.kerb_side == tuple(flags)
    later = net.extend_matrix(net.matrix(old), new, kerb_side=[True, False])
    assert later.kerb_side == (False, False, True, False)


def test_flags_must_match_the_points_and_the_traffic_side_be_known(tiny_graph) -> None:
    net = _net(tiny_graph)
    with pytest.raises(NetworkError, match="2 flags for 3 points"):
        net.matrix([P_SOUTH, Q_NORTH, grid(2, 0.5)], kerb_side=[True, False])
    with pytest.raises(NetworkError, match="1 flags for 2 new points"):
        net.extend_matrix(net.matrix([P_SOUTH]), [Q_NORTH, grid(2, 0.5)], kerb_side=[True])
    with pytest.raises(NetworkError, match="drive_side"):
        _net(tiny_graph, drive_side="middle")


# --------------------------------------------------------------- random grids, an oracle
@pytest.mark.parametrize("seed", [4, 6, 7])
@pytest.mark.parametrize("drive_side", ["right", "left"])
@pytest.mark.parametrize("engine", ENGINES)
def test_kerb_matrices_on_random_restricted_grids_match_an_edge_based_dijkstra(
    seed: int, drive_side: str, engine: str
) -> None:
    """Oracle: Dijkstra over directed edges, leaving and reaching each kerb-side point's
    piece only in the direction that has the point on the kerb; random turn restrictions and
    local-only streets split the junctions as a city's are. Some trips get longer."""
    rng = np.random.default_rng(seed)
    table = random_town(rng, local_share=0.2)
    restrictions = random_restrictions(table, rng, 8)
    net = StreetNetwork(
        restrict_turns(split_local_zones(table), restrictions).table,
        workers=1,
        engine=engine,
        drive_side=drive_side,
    )
    banned = banned_turns(table, restrictions)
    chosen = reachable_kerb_points(table, banned, rng, drive_side)
    expected = oracle_matrix(table, banned, chosen, drive_side)
    m = net.matrix([beside(table, e, s) for e, s, _ in chosen], kerb_side=[k for *_, k in chosen])
    assert np.abs(m.duration_s - expected).max() <= 1.0
    free = np.array([[oracle_s(table, banned, a, b) for b, *_ in chosen] for a, *_ in chosen])
    np.fill_diagonal(free, 0.0)
    assert (expected > free + 1).any()


def test_the_traffic_side_is_read_from_the_settings_and_changes_no_street(tmp_path) -> None:
    """``GraphSettings.drive_side`` reaches the loaded network, and both sides share the one
    street table cached (the side changes which way a kerb-side bin is passed, no street);
    a side that is neither is refused with the choices."""
    from network import GraphSettings, load_network
    from network.graph import cache_key
    from tests.network.conftest import write_square

    _, pbf = write_square(tmp_path, "square")
    right = load_network(pbf, cache_dir=tmp_path, settings=GraphSettings())
    left = load_network(pbf, cache_dir=tmp_path, settings=GraphSettings(drive_side="left"))
    assert (right.drive_side, left.drive_side) == ("right", "left")
    assert cache_key(pbf, GraphSettings()) == cache_key(pbf, GraphSettings(drive_side="left"))
    with pytest.raises(ValueError, match="'right', 'left'"):
        GraphSettings(drive_side="middle")


def test_the_kerb_benchmark_counts_the_points_and_finds_no_trip_shortened(tmp_path) -> None:
    """``python -m benchmarks.kerb``: on the square town every point is bound, on a one-way
    street or on neither kerb; some trips get longer, none shorter; both plans of six of
    them serve every bin and pass the checker; a missing file is a usage error."""
    from benchmarks.kerb import main, run
    from tests.network.conftest import write_square

    _, pbf = write_square(tmp_path, "square")
    record = run(pbf, points=30, offset_m=8.0, plan_bins=6, trucks=1, time_limit_s=0.5)
    assert record["bound"] + record["one_way"] + record["sideless"] == record["points"] == 30
    assert record["bound"] > 0 and record["shorter_pairs"] == 0 and record["longer_share"] > 0
    plans = (record["plan_free"], record["plan_kerb"])
    assert all(p["unserved"] == 0 and p["checker_findings"] == 0 for p in plans)
    assert record["plan_kerb"]["km"] >= record["plan_free"]["km"] > 0
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "nowhere.osm.pbf")])
    assert stop.value.code == 2
