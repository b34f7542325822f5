"""Loading real OSM data: the pbf reader, the XML path, the cache, waste features."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from network import (
    GraphSettings,
    NetworkError,
    helsinki_pbf,
    load_graph,
    load_network,
    load_table,
    waste_features,
)
from network.graph import cache_key

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
    import osmium

    out = tmp_path / "tiny.osm.pbf"
    with osmium.SimpleWriter(str(out)) as writer:
        for obj in osmium.FileProcessor(str(tiny_osm)):
            writer.add(obj)
    return out


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
    edges = list(g.edges(data=True))
    assert all(d["travel_time"] > 0 and d["speed_kph"] > 0 for _, _, d in edges)
    assert any(d["oneway"] for _, _, d in edges)
    assert {d["highway"] for _, _, d in edges} >= {"residential", "primary"}


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


def test_matrix_matches_networkx_on_helsinki(tmp_path: Path) -> None:
    """Oracle: networkx Dijkstra with the same 0.1 s edge rounding, points on graph nodes."""
    g = load_graph(helsinki_pbf(), cache_dir=tmp_path)
    net = load_network(helsinki_pbf(), cache_dir=tmp_path, workers=1)
    rng = np.random.default_rng(5)
    nodes = [list(g.nodes)[i] for i in rng.choice(g.number_of_nodes(), 30, replace=False)]
    m = net.matrix([(g.nodes[n]["x"], g.nodes[n]["y"]) for n in nodes])

    def weight(u: int, v: int, data: dict) -> float:
        return min(round(d["travel_time"] * 10) for d in data.values())

    for i, a in enumerate(nodes):
        dist = nx.single_source_dijkstra_path_length(g, a, weight=weight)
        expected = np.array([dist[b] for b in nodes]) / 10
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
