"""Loading real OSM data: the pbf reader, the XML path, the cache, waste features."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from network import (
    GraphSettings,
    NetworkError,
    SnapError,
    helsinki_pbf,
    load_graph,
    load_network,
    load_table,
    waste_features,
)
from network.graph import cache_key
from network.table import CONNECTOR_HIGHWAY
from network.table_nx import graph_from_table
from tests.network.conftest import SQUARE_OSM, osm_tags, write_osm, write_square

TINY_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="50.000" lon="10.000" version="1"/>
  <node id="2" lat="50.000" lon="10.001" version="1"/>
  <node id="3" lat="50.000" lon="10.002" version="1"/>
  <node id="4" lat="50.0005" lon="10.0015" version="1"/>
  <node id="5" lat="50.001" lon="10.001" version="1"/>
  <node id="6" lat="50.001" lon="10.003" version="1">
    <tag k="amenity" v="waste_basket"/>
  </node>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="maxspeed" v="30"/><tag k="name" v="Low St"/></way>
  <way id="11" version="1"><nd ref="2"/><nd ref="4"/><nd ref="5"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
  <way id="12" version="1"><nd ref="3"/><nd ref="6"/><tag k="highway" v="footway"/></way>
  <way id="13" version="1"><nd ref="5"/><nd ref="1"/><tag k="highway" v="tertiary"/></way>
</osm>
"""


@pytest.fixture
def tiny_osm(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.osm"
    path.write_text(TINY_OSM)
    return path


@pytest.fixture
def tiny_pbf(tiny_osm: Path, tmp_path: Path) -> Path:
    return write_osm(tmp_path, "tiny", TINY_OSM)[1]


def test_cache_dir_may_be_a_string(tiny_pbf: Path, tmp_path: Path) -> None:
    g = load_graph(tiny_pbf, cache_dir=str(tmp_path / "cache"))  # as typed in a notebook
    assert set(g.nodes) == {1, 2, 3, 5}
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1


def test_pbf_splits_ways_at_intersections(tiny_pbf: Path, tmp_path: Path) -> None:
    g = load_graph(tiny_pbf, cache_dir=tmp_path / "cache")
    # node 4 is an interior vertex of way 11; node 6 only sits on a footway
    assert set(g.nodes) == {1, 2, 3, 5}
    assert g.number_of_edges() == 7  # 1-2, 2-3, 5-1 both ways + one-way 2->5
    assert g.has_edge(2, 5) and not g.has_edge(5, 2)
    data = g.edges[2, 5, 0]
    assert len(data["geometry"].coords) == 3 and data["oneway"]
    assert g.edges[1, 2, 0]["speed_kph"] == pytest.approx(30 * GraphSettings().truck_speed_factor)
    assert g.edges[1, 2, 0]["name"] == "Low St"
    assert g.edges[2, 1, 0]["reversed"] and not g.edges[1, 2, 0]["reversed"]
    for _, _, d in g.edges(data=True):
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))
    assert g.graph["crs"] == "epsg:4326"


def test_xml_path_matches_pbf(tiny_osm: Path, tiny_pbf: Path, tmp_path: Path) -> None:
    from_xml = load_graph(tiny_osm, cache_dir=tmp_path / "c1")
    from_pbf = load_graph(tiny_pbf, cache_dir=tmp_path / "c2")
    assert set(from_xml.nodes) == set(from_pbf.nodes)
    assert set(from_xml.edges()) == set(from_pbf.edges())
    for u, v in from_pbf.edges():
        assert from_xml.edges[u, v, 0]["travel_time"] == pytest.approx(
            from_pbf.edges[u, v, 0]["travel_time"], rel=1e-3
        )


def test_waste_features_on_tiny_file(tiny_pbf: Path) -> None:
    (feature,) = waste_features(tiny_pbf)
    assert (feature.osm_id, feature.kind) == (6, "waste_basket")
    assert (feature.lon, feature.lat) == pytest.approx((10.003, 50.001))


def test_bad_files_raise_network_error_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"not a pbf at all")
    with pytest.raises(NetworkError, match=r"junk\.osm\.pbf"):
        load_graph(junk, cache_dir=tmp_path)
    empty = tmp_path / "empty.osm"
    empty.write_text("<?xml version='1.0'?><osm version='0.6'><node id='1' lat='1' lon='1'/></osm>")
    with pytest.raises(NetworkError, match=r"empty\.osm"):
        load_graph(empty, cache_dir=tmp_path)
    with pytest.raises(NetworkError, match="unknown OSM file type"):
        load_graph(tmp_path / "x.csv", cache_dir=tmp_path)
    with pytest.raises(NetworkError, match="no such OSM file"):
        load_graph(str(tmp_path / "missing.osm.pbf"), cache_dir=tmp_path)


@pytest.mark.parametrize("source", [(10.0, 50.0), "", "   "])
def test_bad_download_arguments_fail_before_any_download(source, tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="neither an OSM file"):
        load_graph(source, cache_dir=tmp_path)


def test_helsinki_graph_is_plausible(tmp_path: Path) -> None:
    g = load_graph(helsinki_pbf(), cache_dir=tmp_path)
    assert 500 < g.number_of_nodes() < 5000
    assert g.number_of_edges() > g.number_of_nodes()
    assert nx.is_strongly_connected(g)
    edges = [d for _, _, d in g.edges(data=True) if d["highway"] != CONNECTOR_HIGHWAY]
    assert all(d["travel_time"] > 0 and d["speed_kph"] > 0 for d in edges)
    turns = [d for _, _, d in g.edges(data=True) if d["highway"] == CONNECTOR_HIGHWAY]
    assert turns  # the extract's turn restrictions split some junctions
    assert all(d["travel_time"] == 0 and d["length"] == 0 for d in turns)
    assert any(d["oneway"] for d in edges)
    assert {d["highway"] for d in edges} >= {"residential", "primary"}


def test_helsinki_waste_features() -> None:
    features = waste_features(helsinki_pbf())
    kinds = [f.kind for f in features]
    assert (kinds.count("waste_basket"), kinds.count("recycling")) == (36, 2)
    assert kinds.count("waste_disposal") == 14


def test_cache_hit_and_settings_miss(tmp_path: Path) -> None:
    first = load_table(helsinki_pbf(), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = load_table(helsinki_pbf(), cache_dir=tmp_path)
    assert again.equals(first)
    slower = GraphSettings(truck_speed_factor=0.5)
    assert cache_key(helsinki_pbf(), slower) != cache_key(helsinki_pbf(), GraphSettings())
    changed = load_table(helsinki_pbf(), cache_dir=tmp_path, settings=slower)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    assert not changed.equals(first)
    assert load_graph(helsinki_pbf(), cache_dir=tmp_path).number_of_edges() == first.n_edges


ENTERED = 10**9  # an entry into local-only streets outweighs any trip's deciseconds


def test_matrix_matches_networkx_on_helsinki(tmp_path: Path) -> None:
    """Oracle: networkx Dijkstra with the same 0.1 s edge rounding, entries into local-only
    streets counted first, points on graph nodes (not at a junction split for its turns or
    local streets: a point there is reached from more sides than one of its nodes is)."""
    g = load_graph(helsinki_pbf(), cache_dir=tmp_path)
    net = load_network(helsinki_pbf(), cache_dir=tmp_path, workers=1)
    split = {
        x for u, v, d in g.edges(data=True) if d["highway"] == CONNECTOR_HIGHWAY for x in (u, v)
    }
    whole = [n for n in g.nodes if n not in split]
    rng = np.random.default_rng(5)
    nodes = [whole[i] for i in rng.choice(len(whole), 30, replace=False)]
    m = net.matrix([(g.nodes[n]["x"], g.nodes[n]["y"]) for n in nodes])

    def weight(u: int, v: int, data: dict[int, dict[str, Any]]) -> float:
        """Deciseconds, after the entries into local-only streets (no through traffic)."""
        entry = any(d["highway"] == CONNECTOR_HIGHWAY and d["local"] for d in data.values())
        return ENTERED * entry + min(round(d["travel_time"] * 10) for d in data.values())

    for i, a in enumerate(nodes):
        dist = nx.single_source_dijkstra_path_length(g, a, weight=weight)
        expected = np.array([dist[b] % ENTERED for b in nodes]) / 10
        # rounding to whole seconds, and partial edges of points snapped next to a node
        assert np.abs(m.duration_s[i] - expected).max() <= 1.0
    assert (m.duration_s != m.duration_s.T).any()  # one-way streets make it asymmetric


@pytest.mark.parametrize("name", ["heidelberg", "porto_alegre"])
def test_shared_small_cities_load(name: str, shared_osm: Path, tmp_path: Path) -> None:
    pbf = shared_osm / f"{name}.osm.pbf"
    if not pbf.is_file():
        pytest.skip(f"{pbf} not available")
    net = load_network(pbf, cache_dir=tmp_path, workers=1)
    assert 2000 < net.table.n_nodes < 30000
    pts = [(p.lon, p.lat) for p in net.sample_street_points(20, seed=1)]
    m = net.matrix(pts)
    assert (m.duration_s[~np.eye(20, dtype=bool)] > 0).all()


def test_helsinki_routes_follow_streets(tmp_path: Path) -> None:
    g = load_graph(helsinki_pbf(), cache_dir=tmp_path)
    net = load_network(helsinki_pbf(), cache_dir=tmp_path, workers=1)
    pts = [(p.lon, p.lat) for p in net.sample_street_points(6, seed=11)]
    for snap in net.snap(pts):
        assert g.has_edge(*snap.edge)
    coords = np.array(net.route_geojson(pts, {})["geometry"]["coordinates"])
    table = net.table
    steps = np.hypot(np.diff(table.geom_lon), np.diff(table.geom_lat))
    inside = np.ones(len(steps), dtype=bool)
    inside[table.geom_offset[1:-1] - 1] = False  # steps between two edges' geometries
    seg = steps[inside].max()
    jumps = np.hypot(*np.diff(coords, axis=0).T)
    assert jumps.max() <= seg + 1e-9  # no straight-line shortcuts between streets
    assert np.allclose(coords[0], net.snap(pts[:1])[0].snapped)


def test_parallel_matrix_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import network.streets as streets

    monkeypatch.setattr(streets, "PARALLEL_MIN_WORK", 0)
    table = load_table(helsinki_pbf(), cache_dir=tmp_path)
    two = streets.StreetNetwork(table, workers=2, engine="scipy")
    one = streets.StreetNetwork(table, workers=1, engine="scipy")
    pts = [(p.lon, p.lat) for p in two.sample_street_points(25, seed=2)]
    a, b = two.matrix(pts), one.matrix(pts)
    np.testing.assert_array_equal(a.duration_s, b.duration_s)
    np.testing.assert_array_equal(a.distance_m, b.distance_m)


def test_a_far_point_is_named_by_its_place_among_the_points_given(tmp_path: Path) -> None:
    """The second point is at sea: the error says point 1 also when the first point's snap
    was cached (it counted among the points not cached, and said point 0), and the
    provider lists it among the far points with its distance."""
    import network.streets as streets
    from network.providers import StreetProvider

    net = streets.StreetNetwork(load_table(helsinki_pbf(), cache_dir=tmp_path), workers=1)
    land = (24.9405, 60.1680)
    sea = (24.90, 60.14)
    net.snap([land])
    with pytest.raises(SnapError, match=r"^point 1 \(lon=24.900000, lat=60.140000\)") as err:
        net.snap([land, sea])
    assert err.value.index == 1
    assert err.value.named("bin at-sea").args[0].startswith("bin at-sea (lon=24.900000")
    far = StreetProvider(net).far_points([land, sea, land])
    assert list(far) == [1] and 3000 < far[1] < 4000


def test_two_threads_parallel_matrices_keep_their_own_graphs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan job's and a reroute's matrices at once, of other points: both threads' pools
    are made before either forks its workers (a barrier), and each gets its own graph.
    With one graph handed to the workers through a module global, both computed the
    second thread's."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import network.streets as streets

    monkeypatch.setattr(streets, "PARALLEL_MIN_WORK", 0)
    both_made = threading.Barrier(2, timeout=60)
    real_pool = streets.ProcessPoolExecutor  # type: ignore[attr-defined]  # patched where used

    def pool_after_the_other(*args: Any, **kwargs: Any) -> Any:
        made = real_pool(*args, **kwargs)
        both_made.wait()
        return made

    table = load_table(helsinki_pbf(), cache_dir=tmp_path)
    two = streets.StreetNetwork(table, workers=2, engine="scipy")
    one = streets.StreetNetwork(table, workers=1, engine="scipy")
    sets = [[(p.lon, p.lat) for p in two.sample_street_points(n, seed=n)] for n in (12, 20)]
    alone = [one.matrix(pts).distance_m for pts in sets]
    monkeypatch.setattr(streets, "ProcessPoolExecutor", pool_after_the_other)
    with ThreadPoolExecutor(2) as threads:
        together = list(threads.map(lambda pts: two.matrix(pts).distance_m, sets))
    for got, expected in zip(together, alone, strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("tags", "usable"),
    [
        ({"hgv": "no"}, False),
        ({"motor_vehicle": "no"}, False),
        ({"vehicle": "no"}, False),
        ({"motor_vehicle": "no", "hgv": "yes"}, True),  # the most specific tag holds
        ({"access": "no", "motor_vehicle": "destination"}, True),
        ({"access": "private"}, False),
    ],
)
def test_trucks_read_the_most_specific_access_tag_from_either_file(
    tags: dict[str, str], usable: bool, tmp_path: Path
) -> None:
    """The diagonal 1-3 (way 15) with these tags is driven both ways, or not, alike from
    .pbf and .osm (osmnx kept no hgv or motor_vehicle tag before)."""
    for path in write_square(tmp_path, "sq", diagonal=osm_tags(highway="residential", **tags)):
        g = load_graph(path, cache_dir=tmp_path / f"cache-{path.suffix}")
        diagonal = [d["reversed"] for *_, d in g.edges(data=True) if d["osmid"] == 15]
        assert sorted(diagonal) == ([False, True] if usable else []), path.name


SMALL_TRUCK = GraphSettings(
    truck_height_m=2.5,
    truck_weight_kg=3500.0,
    truck_width_m=1.7,
    truck_length_m=5.0,
    truck_axle_load_kg=2000.0,
)


@pytest.mark.parametrize(
    ("tags", "usable"),
    [
        ({"maxheight": "3"}, False),  # a low bridge: the 3.8 m truck does not pass
        ({"maxheight": "12'6\""}, True),  # 3.81 m
        ({"maxheight:physical": "3.5 m"}, False),
        ({"maxheight": "default"}, True),
        ({"maxweight": "7.5"}, False),  # a weak bridge: 7.5 t, the loaded truck 26 t
        ({"maxweight": "30 t"}, True),
        ({"maxweight:hgv": "12000 kg"}, False),
        ({"maxweight": "7.5", "maxweight:conditional": "none @ destination"}, True),
        ({"maxwidth": "1.8 m"}, False),  # a narrow lane: the truck is 2.55 m wide
        ({"maxlength": "8"}, False),  # the truck is 10 m long
        ({"maxaxleload": "8"}, False),  # its heaviest axle carries 10 t
        ({"maxwidth": "3", "maxlength": "12", "maxaxleload": "11.5"}, True),
    ],
)
def test_a_height_or_weight_limit_below_the_truck_closes_a_street_from_either_file(
    tags: dict[str, str], usable: bool, tmp_path: Path
) -> None:
    """The diagonal 1-3 signed with these limits is driven, or not, alike from .pbf and .osm
    (trucks were sent under low bridges, over weak ones, and down lanes narrower or shorter
    than them); a small truck (2.5 m high, 3.5 t, 1.7 m wide, 5 m long), with a cache of
    its own, drives it whatever the limit."""
    for path in write_square(tmp_path, "lim", diagonal=osm_tags(highway="residential", **tags)):
        g = load_graph(path, cache_dir=tmp_path / "cache")
        assert g.has_edge(1, 3) is usable and g.has_edge(3, 1) is usable, path.name
        small = load_graph(path, cache_dir=tmp_path / "cache", settings=SMALL_TRUCK)
        assert small.has_edge(1, 3) and small.has_edge(3, 1), path.name


@pytest.mark.parametrize(
    ("tags", "ahead_kph", "back_kph"),
    [
        ({"maxspeed:forward": "70", "maxspeed:backward": "30"}, 70, 30),
        ({"maxspeed": "50", "maxspeed:backward": "30"}, 50, 30),
        ({"maxspeed:forward": "signals", "maxspeed": "40"}, 40, 40),
    ],
)
def test_a_speed_limit_per_direction_is_read_from_either_file(
    tags: dict[str, str], ahead_kph: float, back_kph: float, tmp_path: Path
) -> None:
    """A primary road (the diagonal 1-3) with maxspeed:forward / :backward (its node order)
    and no maxspeed was driven at the primary fallback (60 km/h) both ways."""
    factor = GraphSettings().truck_speed_factor
    for path in write_square(tmp_path, "dir", diagonal=osm_tags(highway="primary", **tags)):
        g = load_graph(path, cache_dir=tmp_path / f"cache-{path.suffix}")
        assert g.edges[1, 3, 0]["speed_kph"] == pytest.approx(ahead_kph * factor), path.name
        assert g.edges[3, 1, 0]["speed_kph"] == pytest.approx(back_kph * factor), path.name


@pytest.mark.parametrize("oneway", ["-1", "reverse"])
def test_a_way_one_way_against_its_node_order_reads_alike_from_either_file(
    oneway: str, tmp_path: Path
) -> None:
    """The diagonal 1-3 tagged oneway=-1 is driven 3->1 only, against its node order, from
    .pbf and .osm alike: marked reversed and at its maxspeed:backward. osmnx reverses such a
    way's nodes and keeps no oneway=-1, so the .osm reader marked 3->1 not reversed and drove
    it at maxspeed:forward (70 km/h where 30 is signed)."""
    factor = GraphSettings().truck_speed_factor
    tags = {"highway": "primary", "oneway": oneway}
    tags |= {"maxspeed:forward": "70", "maxspeed:backward": "30"}
    for path in write_square(tmp_path, "back", diagonal=osm_tags(**tags)):
        g = load_graph(path, cache_dir=tmp_path / f"cache-{path.suffix}")
        assert g.has_edge(3, 1) and not g.has_edge(1, 3), path.name
        edge = g.edges[3, 1, 0]
        assert edge["reversed"] and edge["oneway"], path.name
        assert edge["speed_kph"] == pytest.approx(30 * factor), path.name


def test_a_motorway_is_one_way_from_either_file(tmp_path: Path) -> None:
    """An untagged motorway runs along its node order (osmnx made it two-way)."""
    for path in write_square(tmp_path, "mw", diagonal=osm_tags(highway="motorway")):
        g = load_graph(path, cache_dir=tmp_path / f"cache-{path.suffix}")
        assert g.has_edge(1, 3) and not g.has_edge(3, 1), path.name


def test_a_loop_street_is_driven_both_ways_and_a_one_way_loop_is_snapped_to(
    tmp_path: Path,
) -> None:
    """Two points 15 m apart on the loop close 3-8-9-3: as near both ways when it is
    two-way; one way round, on it, when it is one-way (each point snaps onto the loop)."""
    near = [(10.0012, 50.0012), (10.0014, 50.0014)]
    for loop, one_way in (("", False), (osm_tags(oneway="yes"), True)):
        _, pbf = write_square(tmp_path, f"loop{int(one_way)}", loop=loop)
        net = load_network(pbf, cache_dir=tmp_path / f"cache{int(one_way)}", engine="scipy")
        snaps = net.snap(near)
        assert [int(net.table.edge_osmid[s.edge_index]) for s in snaps] == [17, 17]
        assert max(s.snap_m for s in snaps) < 10
        m = net.matrix(near)
        ahead, back = int(m.distance_m[0, 1]), int(m.distance_m[1, 0])
        assert min(ahead, back) < 30
        assert (max(ahead, back) > 100) is one_way, (ahead, back)


def test_writers_of_one_cache_file_at_once_do_not_trip_each_other(tmp_path: Path) -> None:
    """Four threads save the same table to one path 50 times each (as two processes
    building one city's cache do): no writer renames another's half-written file away,
    and the file reads back whole."""
    import threading

    from network.table import EdgeTable
    from network.table_nx import table_from_graph
    from tests.network.conftest import build_tiny_graph

    table = table_from_graph(build_tiny_graph())
    path = tmp_path / "cache" / "town.npz"
    errors: list[BaseException] = []

    def save() -> None:
        for _ in range(50):
            try:
                table.save(path)
            except OSError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert EdgeTable.load(path).equals(table)
    assert [p.name for p in path.parent.iterdir()] == ["town.npz"]


def _with_barrier(tmp_path: Path, name: str, **tags: str) -> tuple[Path, Path]:
    """The square with node 5 (tagged ``tags``) in the middle of its bottom street 1-5-2."""
    text = SQUARE_OSM.format(diagonal='<tag k="highway" v="footway"/>', loop="")
    barrier = f'<node id="5" lat="50.000" lon="10.0005" version="1">{osm_tags(**tags)}</node>'
    text = text.replace('<node id="2"', barrier + '\n  <node id="2"')
    via_5 = '<nd ref="1"/><nd ref="5"/><nd ref="2"/>'
    return write_osm(tmp_path, name, text.replace('<nd ref="1"/><nd ref="2"/>', via_5))


@pytest.mark.parametrize(
    ("tags", "closed"),
    [
        ({"barrier": "bollard"}, True),
        ({"barrier": "block"}, True),
        ({"barrier": "gate", "access": "private"}, True),
        ({"barrier": "height_restrictor"}, True),  # a truck is too tall
        ({"barrier": "gate"}, False),
        ({"barrier": "lift_gate"}, False),
        ({"barrier": "bollard", "motor_vehicle": "permissive"}, False),  # a removable bollard
        ({"highway": "crossing"}, False),
        ({"barrier": "height_restrictor", "maxheight": "4.2"}, False),  # above the 3.8 m truck
        ({"barrier": "height_restrictor", "maxheight": "3.2"}, True),
        ({"barrier": "height_restrictor", "maxheight": "default"}, True),  # height unknown
        ({"barrier": "gate", "maxheight": "2.1"}, True),  # a car park's gate
        ({"maxheight": "3"}, True),  # a low bridge mapped as the street's node
        ({"maxweight": "7.5"}, True),
        ({"maxweight": "7.5", "maxweight:conditional": "none @ destination"}, False),
    ],
)
def test_a_bollard_across_a_street_closes_it_to_trucks_from_either_file(
    tags: dict[str, str], closed: bool, tmp_path: Path
) -> None:
    """A truck from one side of the bottom street's node 5 to the other (7 m each way from
    it) drives 14 m through an open barrier, and round the square (over 200 m) when it is
    closed: a bollard, a private gate, or a height or weight limit on the node below the
    truck's (a height restrictor signed above it was closed before, a car park's 2.1 m
    gate open). Either side of the barrier stays a street bins snap to."""
    near = [(10.0004, 50.0), (10.0006, 50.0)]
    for path in _with_barrier(tmp_path, "bar", **tags):
        net = load_network(path, cache_dir=tmp_path / f"cache{path.suffix}", engine="scipy")
        assert max(s.snap_m for s in net.snap(near)) < 1, path.name
        m = net.matrix(near)
        assert bool(min(m.distance_m[0, 1], m.distance_m[1, 0]) > 200) is closed, path.name
        assert m.distance_m[0, 1] == m.distance_m[1, 0]


# A street 1-2-3-4-5 whose node 3 lies outside the extract (clipped without complete ways)
# and a longer street 1-6-7-5 round it.
CLIPPED_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="50.000" lon="10.000" version="1"/>
  <node id="2" lat="50.000" lon="10.001" version="1"/>
  <node id="4" lat="50.000" lon="10.003" version="1"/>
  <node id="5" lat="50.000" lon="10.004" version="1"/>
  <node id="6" lat="49.999" lon="10.000" version="1"/>
  <node id="7" lat="49.999" lon="10.004" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/>
    <tag k="highway" v="residential"/></way>
  <way id="11" version="1"><nd ref="1"/><nd ref="6"/><nd ref="7"/><nd ref="5"/>
    <tag k="highway" v="residential"/></way>
</osm>
"""


def test_a_street_that_leaves_the_extract_is_not_joined_across_the_gap(tmp_path: Path) -> None:
    """The street's parts before and after its node outside the file end at the gap: from
    between 1 and 2 to between 4 and 5 a truck drives round by 1-6-7-5 (over 500 m), not
    along a straight line drawn over the missing node (214 m)."""
    _, pbf = write_osm(tmp_path, "clipped", CLIPPED_OSM)
    net = load_network(pbf, cache_dir=tmp_path / "cache", engine="scipy")
    ends = [(10.0005, 50.0), (10.0035, 50.0)]
    assert max(s.snap_m for s in net.snap(ends)) < 1
    m = net.matrix(ends)
    assert m.distance_m[0, 1] > 500 and m.distance_m[1, 0] > 500


def test_a_downloaded_city_gets_the_truck_rules_of_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A place name is downloaded by osmnx (here: its download stood in for by the same
    square read from a file, simplified as osmnx does unless told not to). The download
    path skipped the rules the .osm reader applies to osmnx's graph before simplifying: an
    untagged motorway was driven against its direction and the bollard was driven through."""
    import osmnx as ox

    xml, _ = _with_barrier(tmp_path, "town", barrier="bollard")
    text = xml.read_text().replace('<tag k="highway" v="footway"/>', osm_tags(highway="motorway"))
    xml.write_text(text)

    def download(query: str, network_type: str, simplify: bool = True, **kwargs: Any) -> Any:
        assert (query, network_type) == ("Tiny Town", "drive")
        asked = kwargs["custom_filter"]  # every class the truck rules may drive, no access
        assert "|service|" in asked and "|pedestrian|" in asked and "access" not in asked
        return ox.graph_from_xml(xml, simplify=simplify, retain_all=kwargs.get("retain_all", False))

    monkeypatch.setattr(ox, "graph_from_place", download)
    monkeypatch.setattr("network.graph.download_restrictions", lambda bbox: [])
    net = load_network("Tiny Town", cache_dir=tmp_path / "cache", engine="scipy")
    g = graph_from_table(net.table)
    assert g.has_edge(1, 3) and not g.has_edge(3, 1)  # the motorway, one way
    m = net.matrix([(10.0004, 50.0), (10.0006, 50.0)])  # either side of the bollard
    assert min(m.distance_m[0, 1], m.distance_m[1, 0]) > 200


def test_the_ends_cut_at_a_bollard_are_not_nodes_an_editor_numbered(tmp_path: Path) -> None:
    """A file drawn in an editor numbers its new nodes -1, -2...: a street -1 to -2 far
    north of the square stays apart from it (it is not driven: the square is the largest
    part), and the ends the bollard cut do not take its ids (which joined it to them)."""
    xml, _ = _with_barrier(tmp_path, "drawn", barrier="bollard")
    far = (
        '<node id="-1" lat="50.010" lon="10.000" version="1"/>\n'
        '  <node id="-2" lat="50.010" lon="10.001" version="1"/>\n'
        '  <way id="-3" version="1"><nd ref="-1"/><nd ref="-2"/>'
        '<tag k="highway" v="residential"/></way>\n</osm>'
    )
    xml, pbf = write_osm(tmp_path, "drawn", xml.read_text().replace("</osm>", far))
    for path in (xml, pbf):
        net = load_network(path, cache_dir=tmp_path / f"cache{path.suffix}", engine="scipy")
        assert not {-1, -2} & set(net.table.node_osmid.tolist()), path.name
        assert (net.table.node_osmid < 0).sum() == 2, path.name  # the bollard's two ends


def test_a_cache_folder_that_cannot_be_written_does_not_stop_the_load(
    tiny_pbf: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A service whose home is read-only (systemd's ProtectHome), or a cache path under a
    file: the load failed with the OSError, so no plan could be made. Now the network is
    built, kept in memory, and a warning names the cache and the setting to change."""
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with caplog.at_level("WARNING", logger="network.graph"):
        net = load_network(tiny_pbf, cache_dir=blocked / "cache")
    assert net.table.n_edges > 0
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "network.graph"]
    assert "not written" in warning and "set BINROUTE_CACHE_DIR to a writable folder" in warning


def test_a_cache_file_cut_short_by_a_full_disk_leaves_nothing_behind(
    tiny_pbf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while the cache is written: the half-written temporary file is
    removed (each failed load left one more in the cache folder), and the load goes on in
    memory."""

    def full(path: Path, **arrays: object) -> None:
        Path(path).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("network.table.np.savez", full)
    net = load_network(tiny_pbf, cache_dir=tmp_path / "cache")
    assert net.table.n_edges > 0
    assert list((tmp_path / "cache").iterdir()) == []
