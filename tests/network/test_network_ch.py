"""The ch matrix engine (network.fastpath) gives exactly the scipy engine's matrices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from network import NetworkError, StreetNetwork, fastpath, helsinki_pbf, load_network, load_table
from tests.network.conftest import build_tiny_graph

pytestmark = pytest.mark.skipif(not fastpath.AVAILABLE, reason="numba not installed")

CLASSES = ("residential", "tertiary", "secondary", "unclassified", "primary")


def assert_same(a, b) -> None:
    np.testing.assert_array_equal(a.duration_s, b.duration_s)
    np.testing.assert_array_equal(a.distance_m, b.distance_m)
    assert a.points == b.points


def sample(net: StreetNetwork, n: int, seed: int) -> list[tuple[float, float]]:
    return [(p.lon, p.lat) for p in net.sample_street_points(n, highway=CLASSES, seed=seed)]


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory):
    return load_table(helsinki_pbf(), cache_dir=tmp_path_factory.mktemp("cache"))


def test_helsinki_ch_equals_scipy_incl_same_edge_points(helsinki) -> None:
    ch = StreetNetwork(helsinki, workers=2, engine="ch")
    ref = StreetNetwork(helsinki, workers=1, engine="scipy")
    pts = sample(ch, 150, seed=4)
    (snap,) = ch.snap(pts[:1])
    # two more points on the first point's street piece, before and after it
    e, f = snap.edge_index, snap.fraction
    pts += [ch.table.edge_coords(e)[0], ch.table.edge_coords(e)[-1]]
    pts += [ch.snap(pts[:1])[0].snapped]  # and one exactly on it
    assert f > 0
    assert_same(ch.matrix(pts), ref.matrix(pts))


def test_helsinki_ch_extend_equals_scipy(helsinki) -> None:
    ch = StreetNetwork(helsinki, workers=2, engine="ch")
    ref = StreetNetwork(helsinki, workers=1, engine="scipy")
    pts = sample(ch, 60, seed=9)
    for k in (1, 7):
        extended = ch.extend_matrix(ch.matrix(pts[:-k]), pts[-k:])
        assert_same(extended, ref.matrix(pts))


def test_geometric_order_fallback_is_exact(helsinki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastpath.build, "routingkit_cch", None)
    assert fastpath.cache_tag().endswith("-geo")
    ch = StreetNetwork(helsinki, workers=1, engine="ch")
    order = np.argsort(ch.hierarchy.rank)
    assert sorted(order.tolist()) == list(range(helsinki.n_nodes))
    ref = StreetNetwork(helsinki, workers=1, engine="scipy")
    pts = sample(ch, 40, seed=3)
    assert_same(ch.matrix(pts), ref.matrix(pts))


def test_hierarchy_cached_next_to_the_table(tmp_path: Path, monkeypatch) -> None:
    net = load_network(helsinki_pbf(), cache_dir=tmp_path, engine="ch")
    pts = sample(net, 10, seed=1)
    first = net.matrix(pts)
    assert net.ch_cache is not None and net.ch_cache.is_file()
    assert fastpath.cache_tag() in net.ch_cache.name

    def no_prepare(*args, **kwargs):
        raise AssertionError("prepared again despite the cache")

    monkeypatch.setattr(fastpath, "prepare", no_prepare)
    again = load_network(helsinki_pbf(), cache_dir=tmp_path, engine="ch")
    assert_same(again.matrix(pts), first)
    monkeypatch.undo()
    net.ch_cache.write_bytes(b"not an npz")  # corrupt: prepared again, file rewritten
    fixed = load_network(helsinki_pbf(), cache_dir=tmp_path, engine="ch")
    assert_same(fixed.matrix(pts), first)
    assert fastpath.Hierarchy.load(net.ch_cache).rank.shape == (net.table.n_nodes,)
    # stale: a hierarchy of another graph under this name is ignored and replaced
    tiny = StreetNetwork.from_graph(build_tiny_graph(), engine="ch")
    tiny.hierarchy.save(net.ch_cache)
    replaced = load_network(helsinki_pbf(), cache_dir=tmp_path, engine="ch")
    assert_same(replaced.matrix(pts), first)
    assert fastpath.Hierarchy.load(net.ch_cache).rank.shape == (net.table.n_nodes,)


def test_engine_option(helsinki) -> None:
    assert StreetNetwork(helsinki).engine == "ch"  # auto picks ch when numba is there
    assert StreetNetwork(helsinki, engine="scipy").engine == "scipy"
    with pytest.raises(NetworkError, match="unknown matrix engine 'fast'"):
        StreetNetwork(helsinki, engine="fast")


@pytest.mark.slow
def test_porto_sample_ch_equals_scipy(shared_osm: Path, tmp_path: Path) -> None:
    pbf = shared_osm / "porto_portugal.osm.pbf"
    if not pbf.is_file():
        pytest.skip(f"{pbf} not available")
    ch = load_network(pbf, cache_dir=tmp_path, engine="ch")
    ref = StreetNetwork(ch.table, workers=2, engine="scipy")
    pts = sample(ch, 200, seed=12)
    assert_same(ch.matrix(pts), ref.matrix(pts))
