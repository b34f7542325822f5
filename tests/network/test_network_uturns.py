"""U-turns only at dead ends (``GraphSettings(u_turns=False)``): matrices and paths that turn
back nowhere else, checked against an independent edge-based Dijkstra on random grids."""

from __future__ import annotations

import numpy as np
import pytest

from network import GraphSettings, StreetNetwork, load_network
from network.graph import cache_key
from network.table import EdgeTable, split_strong_component, street_edges
from network.table_nx import table_from_graph
from network.turns import TurnRestriction, restrict_turns
from network.zones import split_local_zones
from tests.network.conftest import (
    ENGINES,
    LAT0,
    add_street,
    build_tiny_graph,
    grid,
    polyline_m,
    write_square,
)
from tests.network.test_network_kerb import P_SOUTH, Q_NORTH
from tests.network.towns import (
    banned_turns,
    beside,
    oracle_matrix,
    random_restrictions,
    random_town,
    reachable_kerb_points,
    twin_of,
)


def _no_u_turns(table: EdgeTable, **kw) -> StreetNetwork:
    return StreetNetwork(restrict_turns(table, [], u_turns=False).table, workers=1, **kw)


def _u_turn_pairs(table: EdgeTable, banned: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Every (edge, its twin) turn where the edge may go on another way (a street leaving
    its end other than the twin, the turn not ``banned``): the U-turns the rule forbids,
    from the table's text alone (a way is one piece here)."""
    pairs = set()
    for e in range(table.n_edges):
        twin = twin_of(table, e)
        others = np.flatnonzero(table.edge_u == table.edge_v[e]).tolist()
        if twin is not None and any(f != twin and (e, f) not in banned for f in others):
            pairs.add((e, twin))
    return pairs


@pytest.mark.parametrize("engine", ENGINES)
def test_a_kerb_side_bin_past_the_truck_is_reached_round_a_block(engine: str) -> None:
    """From P (south kerb of A-B) to Q (north kerb, taken driving west) the truck used to
    drive on to B and turn back there; without U-turns it leaves P westbound and goes round
    the town by A, D, F and C, reaching Q westbound along the bottom row: longer, and the
    drawn path is as long as the matrix says."""
    graph = build_tiny_graph()
    free = StreetNetwork.from_graph(graph, workers=1, engine=engine)
    net = _no_u_turns(table_from_graph(graph), engine=engine)
    turned = free.matrix([P_SOUTH, Q_NORTH], kerb_side=[False, True]).distance_m[0, 1]
    m = net.matrix([P_SOUTH, Q_NORTH], kerb_side=[False, True])
    around = polyline_m([grid(0.25, 0), grid(0, 0), grid(0, 1), grid(1, 1.3), grid(2, 1)])
    around += polyline_m([grid(2, 1), grid(2, 0), grid(0.75, 0)])
    assert m.distance_m[0, 1] > turned + 100
    slack = 2 + 5  # rounding, and the metre a connector counts at each of 5 junctions passed
    assert abs(m.distance_m[0, 1] - around) <= slack
    line = net.path(P_SOUTH, Q_NORTH, kerb_side=(False, True))
    assert abs(polyline_m(line) - m.distance_m[0, 1]) <= slack


def test_a_truck_turns_back_where_no_other_way_on_is_open_to_it() -> None:
    """A stub street ending nowhere stays reachable: the truck turns back at its end (only
    there: at A, where it came from, it may not). So does the two-way street C-G, whose only
    other street at G is one-way towards G (from H, reached from B). At H, with the one-way
    street on, the truck may not turn back: B-H is driven southwards only (its other
    direction is cut off, as no truck could drive it)."""
    graph = build_tiny_graph()
    for node, (x, y) in {9: (0, -1), 11: (2, -1), 12: (1, -1)}.items():
        lon, lat = grid(x, y)
        graph.add_node(node, x=lon, y=lat)
    add_street(graph, 1, 9, osmid=19)  # A - a dead end south of it
    add_street(graph, 3, 11, osmid=31)  # C - G
    add_street(graph, 2, 12, osmid=21)  # B - H
    add_street(graph, 12, 11, oneway=True, osmid=41)  # H -> G
    done = restrict_turns(table_from_graph(graph), [], u_turns=False)
    _, cut = split_strong_component(done.table, "t")
    (gone,) = np.flatnonzero(street_edges(cut))  # H -> B: H is reached from B only
    assert cut.edge_osmid[gone] == 21 and cut.node_lat[cut.edge_u[gone]] < LAT0
    assert done.u_turn_junctions == 6  # A, B, C, D, F and H: not the dead end, nor G
    net = StreetNetwork(done.table, workers=1)
    stub = grid(-0.07, -0.5)  # west of the stub: on the kerb of a truck driving south
    at_g = grid(1.93, -0.5)  # west of C-G: on the kerb of a truck driving south
    m = net.matrix([stub, grid(0.5, 0), at_g, grid(1.5, 0)], kerb_side=[True, False, True, False])
    via_dead_end = polyline_m([grid(0, -0.5), grid(0, -1), grid(0, 0), grid(0.5, 0)])
    via_g = polyline_m([grid(2, -0.5), grid(2, -1), grid(2, 0), grid(1.5, 0)])
    slack = 2 + 2  # rounding, and a metre per connector at A and C
    assert abs(m.distance_m[0, 1] - via_dead_end) <= slack
    assert abs(m.distance_m[2, 3] - via_g) <= slack


def test_a_truck_turns_back_where_a_restriction_forbids_every_other_way_on() -> None:
    """At G the only other street, G-H (two-way here), is forbidden to a truck coming from
    C by a turn restriction: it turns back at G instead (as without the restriction it
    could not, going on to H)."""
    graph = build_tiny_graph()
    for node, (x, y) in {11: (2, -1), 12: (1, -1)}.items():
        lon, lat = grid(x, y)
        graph.add_node(node, x=lon, y=lat)
    add_street(graph, 3, 11, osmid=31)  # C - G
    add_street(graph, 2, 12, osmid=21)  # B - H
    add_street(graph, 12, 11, osmid=41)  # H - G
    no_turn = TurnRestriction(relation=1, from_ways=(31,), via_node=11, to_ways=(41,), kind="no")
    at_g = grid(1.93, -0.5)  # west of C-G: on the kerb of a truck driving south
    pts, kerb = [at_g, grid(1.5, 0)], [True, False]
    for restrictions, route in (
        ([no_turn], [grid(2, -0.5), grid(2, -1), grid(2, 0), grid(1.5, 0)]),
        ([], [grid(2, -0.5), grid(2, -1), grid(1, -1), grid(1, 0), grid(1.5, 0)]),
    ):
        done = restrict_turns(table_from_graph(graph), restrictions, u_turns=False)
        m = StreetNetwork(done.table, workers=1).matrix(pts, kerb_side=kerb)
        assert abs(m.distance_m[0, 1] - polyline_m(route)) <= 2 + 3  # a metre per connector


@pytest.mark.parametrize("seed", [4, 6, 7])
@pytest.mark.parametrize("engine", ENGINES)
def test_matrices_without_u_turns_match_an_edge_based_dijkstra(seed: int, engine: str) -> None:
    """Oracle: Dijkstra over directed edges with the restrictions' turns and every U-turn at
    a node of two neighbours or more left out, kerb-side points passed one way; local-only
    streets and restrictions split the junctions as a city's are. Some trips get longer
    than with U-turns."""
    rng = np.random.default_rng(seed)
    table = random_town(rng, local_share=0.2)
    restrictions = random_restrictions(table, rng, 8)
    done = restrict_turns(split_local_zones(table), restrictions, u_turns=False)
    net = StreetNetwork(done.table, workers=1, engine=engine)
    banned = banned_turns(table, restrictions)
    banned |= _u_turn_pairs(table, banned)
    chosen = reachable_kerb_points(table, banned, rng, "right")
    expected = oracle_matrix(table, banned, chosen)
    m = net.matrix([beside(table, e, s) for e, s, _ in chosen], kerb_side=[k for *_, k in chosen])
    assert np.abs(m.duration_s - expected).max() <= 1.0
    free = oracle_matrix(table, banned_turns(table, restrictions), chosen)
    assert (expected > free + 1).any()


def test_the_setting_reads_another_table(tmp_path) -> None:
    """``GraphSettings(u_turns=False)`` is read into its own cached table, with connectors
    at the junctions; the default keeps U-turns (no connector on the square)."""
    _, pbf = write_square(tmp_path, "square")
    assert cache_key(pbf, GraphSettings()) != cache_key(pbf, GraphSettings(u_turns=False))
    plain = load_network(pbf, cache_dir=tmp_path, settings=GraphSettings())
    strict = load_network(pbf, cache_dir=tmp_path, settings=GraphSettings(u_turns=False))
    assert strict.table.n_edges > plain.table.n_edges
