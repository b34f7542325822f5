"""Turn restrictions: read from either OSM file, obeyed by matrices and paths (both engines),
checked against an independent edge-based Dijkstra on random grids."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from network import GraphSettings, StreetNetwork, fastpath, load_graph, load_network
from network.errors import NetworkError
from network.osm import read_turn_restrictions
from network.table import CONNECTOR_HIGHWAY, haversine_m
from network.turns import TurnRestriction, restrict_turns
from network.zones import split_local_zones
from tests.network.conftest import write_osm
from tests.network.towns import (
    banned_turns,
    middle,
    oracle_s,
    random_restrictions,
    random_town,
    reachable_pieces,
)

# A junction 5 with four two-way arms (way 51 north to node 1, 52 east to 2, 53 south to 3,
# 54 west to 4) and a ring road through the arms' ends and the corners 6-9. Way 53 runs
# 3 -> 5, so a truck on it arrives at the junction northbound.
CROSS_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="50.002" lon="10.001" version="1"/>
  <node id="2" lat="50.001" lon="10.002" version="1"/>
  <node id="3" lat="50.000" lon="10.001" version="1"/>
  <node id="4" lat="50.001" lon="10.000" version="1"/>
  <node id="5" lat="50.001" lon="10.001" version="1"/>
  <node id="6" lat="50.000" lon="10.000" version="1"/>
  <node id="7" lat="50.000" lon="10.002" version="1"/>
  <node id="8" lat="50.002" lon="10.002" version="1"/>
  <node id="9" lat="50.002" lon="10.000" version="1"/>
  <way id="51" version="1"><nd ref="5"/><nd ref="1"/><tag k="highway" v="residential"/></way>
  <way id="52" version="1"><nd ref="5"/><nd ref="2"/><tag k="highway" v="residential"/></way>
  <way id="53" version="1"><nd ref="3"/><nd ref="5"/><tag k="highway" v="residential"/></way>
  <way id="54" version="1"><nd ref="5"/><nd ref="4"/><tag k="highway" v="residential"/></way>
  <way id="61" version="1"><nd ref="3"/><nd ref="7"/><nd ref="2"/>
    <tag k="highway" v="residential"/></way>
  <way id="62" version="1"><nd ref="2"/><nd ref="8"/><nd ref="1"/>
    <tag k="highway" v="residential"/></way>
  <way id="63" version="1"><nd ref="1"/><nd ref="9"/><nd ref="4"/>
    <tag k="highway" v="residential"/></way>
  <way id="64" version="1"><nd ref="4"/><nd ref="6"/><nd ref="3"/>
    <tag k="highway" v="residential"/></way>
  {relation}
</osm>
"""
ARM = {"N": (10.001, 50.0015), "E": (10.0015, 50.001), "S": (10.001, 50.0005),
       "W": (10.0005, 50.001)}  # fmt: skip
THROUGH_M = 150  # arm to arm through the junction: under 120 m; round the ring: over 200 m


def _cross(tmp_path: Path, name: str, to_way: int = 54, **tags: str) -> tuple[Path, Path]:
    """The crossing as .osm and .osm.pbf with one restriction from way 53 (the south arm)
    through node 5 to ``to_way`` tagged ``tags`` (none without tags)."""
    relation = ""
    if tags:
        tagged = "".join(f'<tag k="{k}" v="{html.escape(v)}"/>' for k, v in tags.items())
        relation = (
            '<relation id="100" version="1"><member type="way" ref="53" role="from"/>'
            '<member type="node" ref="5" role="via"/>'
            f'<member type="way" ref="{to_way}" role="to"/>'
            f'<tag k="type" v="restriction"/>{tagged}</relation>'
        )
    return write_osm(tmp_path, name, CROSS_OSM.format(relation=relation))


def _from_south(net: StreetNetwork) -> dict[str, float]:
    """Metres from the south arm to each other arm, and from the west arm to the south."""
    names = ["S", "N", "E", "W"]
    m = net.matrix([ARM[a] for a in names])
    out = {f"S>{b}": float(m.distance_m[0, j]) for j, b in enumerate(names) if b != "S"}
    return out | {"W>S": float(m.distance_m[3, 0])}


@pytest.mark.parametrize(
    ("tags", "to_way", "detours"),
    [
        ({}, 54, set()),
        ({"restriction": "no_left_turn"}, 54, {"S>W"}),
        ({"restriction": "no_left_turn", "except": "psv;hgv"}, 54, set()),
        ({"restriction:hgv": "no_left_turn"}, 54, {"S>W"}),
        ({"restriction": "no_right_turn", "day_on": "Mo", "day_off": "Fr"}, 52, {"S>E"}),
        ({"restriction": "only_straight_on"}, 51, {"S>E", "S>W"}),
        ({"restriction": "give_way"}, 54, set()),  # no turn restriction
    ],
)
@pytest.mark.parametrize("engine", ["scipy", "ch"])
def test_a_forbidden_turn_is_not_driven_from_either_file(
    tags: dict[str, str], to_way: int, detours: set[str], engine: str, tmp_path: Path
) -> None:
    """From the south arm a truck turns into the other arms through the junction (under
    150 m) unless a restriction forbids that turn: then it goes round the ring road (over
    200 m). Only the named turns are lost: the west arm's truck still turns into the south
    arm. Matrices were computed as if every turn were allowed before."""
    if engine == "ch" and not fastpath.AVAILABLE:
        pytest.skip("numba not installed")
    for path in _cross(tmp_path, "cross", to_way, **tags):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}", engine=engine)
        long = {pair for pair, m in _from_south(net).items() if m > THROUGH_M}
        assert long == detours, path.name


def test_turns_may_be_ignored_by_setting(tmp_path: Path) -> None:
    """``GraphSettings(turn_restrictions=False)`` drives the forbidden turn (a city whose
    restrictions are mapped wrong), with a cache file of its own."""
    xml, pbf = _cross(tmp_path, "cross", restriction="no_left_turn")
    free = GraphSettings(turn_restrictions=False)
    for path in (xml, pbf):
        obeyed = load_network(path, cache_dir=tmp_path / "c")
        ignored = load_network(path, cache_dir=tmp_path / "c", settings=free)
        assert _from_south(obeyed)["S>W"] > 200 > _from_south(ignored)["S>W"], path.name


def _downloaded_crossing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: object
) -> list[str]:
    """The crossing as a download (osmnx's graph of the file without its relation) with
    Overpass answering the restrictions' query with ``answer`` (raised when an exception);
    the queries asked, returned."""
    import osmnx as ox
    from osmnx import _overpass

    xml, _ = _cross(tmp_path, "plain")

    def download(query: str, **kwargs: Any) -> Any:
        return ox.graph_from_xml(xml, simplify=False, retain_all=True)

    asked: list[str] = []

    def overpass(data: dict[str, str]) -> object:
        asked.append(data["data"])
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(ox, "graph_from_place", download)
    monkeypatch.setattr(_overpass, "_overpass_request", overpass)
    return asked


NO_LEFT_FROM_SOUTH = {
    "elements": [
        {
            "type": "relation",
            "id": 100,
            "members": [
                {"type": "way", "ref": 53, "role": "from"},
                {"type": "node", "ref": 5, "role": "via"},
                {"type": "way", "ref": 54, "role": "to"},
            ],
            "tags": {"type": "restriction", "restriction": "no_left_turn"},
        },
        {  # through a via way: counted, not read
            "type": "relation",
            "id": 101,
            "members": [
                {"type": "way", "ref": 51, "role": "from"},
                {"type": "way", "ref": 52, "role": "via"},
                {"type": "way", "ref": 61, "role": "to"},
            ],
            "tags": {"type": "restriction", "restriction": "no_u_turn"},
        },
    ]
}


def test_a_downloaded_city_obeys_its_turn_restrictions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """osmnx reads no relations: a downloaded city's trucks turned where its signs forbid.
    Its restrictions are asked of Overpass for the streets' bounding box and obeyed as a
    file's; without ``turn_restrictions`` none is asked for."""
    asked = _downloaded_crossing(tmp_path, monkeypatch, NO_LEFT_FROM_SOUTH)
    net = load_network("Tiny Crossing", cache_dir=tmp_path / "c")
    assert _from_south(net)["S>W"] > 200 > max(_from_south(net)[p] for p in ("S>N", "S>E"))
    (query,) = asked
    assert 'relation["type"="restriction"](50.000000,10.000000,50.002000,10.002000)' in query
    free = GraphSettings(turn_restrictions=False)
    ignored = load_network("Tiny Crossing", cache_dir=tmp_path / "c", settings=free)
    assert _from_south(ignored)["S>W"] < THROUGH_M and len(asked) == 1


def test_restrictions_that_cannot_be_downloaded_stop_the_load_saying_how_to_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overpass down: the load stops (a plan would drive forbidden turns without a word),
    naming the setting that plans without restrictions."""
    _downloaded_crossing(tmp_path, monkeypatch, ConnectionError("overpass-api.de unreachable"))
    with pytest.raises(
        NetworkError, match=r"could not be downloaded .*unreachable.*turn_restrictions=False"
    ):
        load_network("Tiny Crossing", cache_dir=tmp_path / "c")


def test_paths_go_round_a_forbidden_turn_and_through_the_junction_as_matrices_say(
    tmp_path: Path,
) -> None:
    """The drawn paths from the south arm are as long as their matrix entries: round the
    ring to the west arm (the left turn is forbidden), straight through the split junction
    to the north arm, drawn without a point twice where it crosses a connector. The graph
    handed to osmnx users holds the junction's connectors."""
    _, pbf = _cross(tmp_path, "cross", restriction="no_left_turn")
    net = load_network(pbf, cache_dir=tmp_path)
    for arm, (low, high) in {"W": (200, 300), "N": (100, 120)}.items():
        path = np.array(net.path(ARM["S"], ARM[arm]))
        drawn = float(haversine_m(path[:-1, 0], path[:-1, 1], path[1:, 0], path[1:, 1]).sum())
        assert drawn == pytest.approx(_from_south(net)[f"S>{arm}"], abs=3), arm
        assert low < drawn < high, arm
        assert (np.diff(path, axis=0) != 0).any(axis=1).all(), arm  # no point twice
    g = load_graph(pbf, cache_dir=tmp_path)
    turns = [d for *_, d in g.edges(data=True) if d["highway"] == CONNECTOR_HIGHWAY]
    assert turns and all(d["length"] == 0 for d in turns)


def test_restrictions_are_read_with_their_members_and_the_rest_counted(tmp_path: Path) -> None:
    """The reader keeps a node-via restriction that binds trucks, counts one through a way,
    and leaves out one excepting trucks and one whose ``to`` is missing (an extract cut)."""
    xml, _ = _cross(tmp_path, "cross", restriction="no_u_turn")
    via_way = (
        '<relation id="101" version="1"><member type="way" ref="53" role="from"/>'
        '<member type="way" ref="64" role="via"/><member type="way" ref="54" role="to"/>'
        '<tag k="type" v="restriction"/><tag k="restriction" v="no_left_turn"/></relation>'
        '<relation id="102" version="1"><member type="way" ref="51" role="from"/>'
        '<member type="node" ref="5" role="via"/><member type="way" ref="52" role="to"/>'
        '<tag k="type" v="restriction"/><tag k="restriction" v="no_left_turn"/>'
        '<tag k="except" v="hgv"/></relation>'
        '<relation id="103" version="1"><member type="way" ref="51" role="from"/>'
        '<member type="node" ref="5" role="via"/>'
        '<tag k="type" v="restriction"/><tag k="restriction" v="no_left_turn"/></relation>'
    )
    xml.write_text(xml.read_text().replace("</osm>", via_way + "</osm>"))
    found, via_ways = read_turn_restrictions(xml)
    assert found == [TurnRestriction(100, (53,), 5, (54,), "no", u_turn=True)]
    assert via_ways == 1


# --------------------------------------------------------------- random grids, an oracle
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("local_share", [0.0, 0.3])
@pytest.mark.parametrize("engine", ["scipy", "ch"])
def test_matrices_on_random_restricted_grids_match_an_edge_based_dijkstra(
    seed: int, local_share: float, engine: str
) -> None:
    """Oracle: Dijkstra over directed edges with the banned turns left out and the fewest
    entries into local-only streets first, on the table before any junction is split;
    points at the middle of random street pieces. The junctions are split as a city's are
    (local streets first, then turns); some trips take a detour for a turn, or, with local
    streets, to keep out of them."""
    if engine == "ch" and not fastpath.AVAILABLE:
        pytest.skip("numba not installed")
    rng = np.random.default_rng(seed)
    table = random_town(rng, local_share=local_share)
    restrictions = random_restrictions(table, rng, 12)
    done = restrict_turns(split_local_zones(table), restrictions)
    assert done.applied == len(restrictions) and done.skipped == 0
    net = StreetNetwork(done.table, workers=1, engine=engine)
    banned = banned_turns(table, restrictions)
    assert banned
    pieces, expected = reachable_pieces(table, banned, rng, 8)
    m = net.matrix([middle(table, e) for e in pieces])
    assert np.abs(m.duration_s - expected).max() <= 1.0, seed
    if local_share:  # some pair keeps out of local streets
        free = [[oracle_s(table, banned, a, b, zones=False) for b in pieces] for a in pieces]
        assert (expected > np.array(free) + 1).any()
    else:  # some pair takes a detour for a turn
        unbanned = [[oracle_s(table, set(), a, b) for b in pieces] for a in pieces]
        assert (expected > np.array(unbanned) + 1).any()


def test_the_turns_benchmark_counts_the_restriction_and_finds_no_trip_shortened(
    tmp_path: Path,
) -> None:
    """``python -m benchmarks.turns``: on the crossing, one restriction obeyed, its junction
    split, no street cut off and no trip made shorter; a missing file is a usage error."""
    from benchmarks.turns import main, run

    _, pbf = _cross(tmp_path, "cross", restriction="no_left_turn")
    record = run(pbf, points=30)
    assert (record["obeyed"], record["not_on_truck_streets"], record["via_way_not_read"]) == (
        1,
        0,
        0,
    )
    assert record["connectors"] > 0 and record["street_pieces_cut_off"] == 0
    assert record["shorter_pairs"] == 0 and record["longer_share"] > 0
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "nowhere.osm.pbf")])
    assert stop.value.code == 2
