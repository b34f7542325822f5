"""StreetNetwork on tiny hand-built graphs: snapping, matrices by hand, extend, geometry."""

from __future__ import annotations

import multiprocessing
from typing import Any

import numpy as np
import pytest

from network import NetworkError, SnapError, StreetNetwork, UnreachableError, fastpath
from network.table import haversine_m

LON0, LAT0, UNIT = 10.0, 50.0, 0.001  # as in conftest.py


def grid(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of grid position (x, y) in the tiny town."""
    return (LON0 + x * UNIT, LAT0 + y * UNIT)


# Rounding: edge times are kept in 0.1 s, results in whole seconds.
TOL_S = 1
TOL_M = 2


def tt(graph, u, v) -> float:
    """Travel time (s) of the (single) edge u->v."""
    return graph.edges[u, v, 0]["travel_time"]


def ln(graph, u, v) -> float:
    return graph.edges[u, v, 0]["length"]


def need_engine(engine: str) -> None:
    """Skip the ch engine's runs when its optional numba dependency is missing."""
    if engine == "ch" and not fastpath.AVAILABLE:
        pytest.skip("numba not installed")


@pytest.fixture(params=["scipy", "ch"])
def net(tiny_graph, request) -> StreetNetwork:
    """The tiny town, once per matrix engine (both must pass every test)."""
    need_engine(request.param)
    return StreetNetwork.from_graph(tiny_graph, workers=1, engine=request.param)


def test_snap_onto_edge_interior_reports_distance(net: StreetNetwork) -> None:
    point = grid(0.5, 0.05)  # 5.6 m north of the middle of A-B
    (snap,) = net.snap([point])
    assert {snap.edge[0], snap.edge[1]} == {1, 2}
    frac_from_a = snap.fraction if snap.edge[0] == 1 else 1 - snap.fraction
    assert frac_from_a == pytest.approx(0.5, abs=0.01)
    expected_m = haversine_m(point[0], point[1], point[0], grid(0, 0)[1])
    assert snap.snap_m == pytest.approx(expected_m, rel=0.01)
    assert snap.snapped[1] == pytest.approx(grid(0, 0)[1], abs=1e-7)


def test_snap_on_long_block_picks_the_block_not_a_far_node(net: StreetNetwork) -> None:
    (snap,) = net.snap([grid(1, 1.32)])  # near the bend of D~F, far from both D and F
    assert {snap.edge[0], snap.edge[1]} == {4, 6}
    assert snap.snap_m < 5


def test_snap_error_names_the_point(net: StreetNetwork) -> None:
    far = grid(0, 20)
    with pytest.raises(SnapError, match=r"point 1 \(lon=10\.000000, lat=50\.020000\)"):
        net.snap([grid(0.5, 0), far], max_snap_m=100)


@pytest.mark.parametrize("point", [(370.002, 50.0), (-349.998, 50.0), (10.001, 95.0)])
def test_a_point_off_the_globe_is_refused_not_snapped(net: StreetNetwork, point) -> None:
    """C (lon 10.002, lat 50) written with lon + 360 (a 0..360 longitude) lies 0 m from C
    by the great circle, and C is the town's east end: it was snapped there as a bin 0 m
    from the street, and lat 95 too. A coordinate outside WGS84's ranges is an error naming
    the point and the ranges."""
    with pytest.raises(SnapError, match=r"point 1 .*lon.*-180, 180.*lat.*-90, 90") as err:
        net.snap([grid(0.5, 0), point])
    assert err.value.index == 1
    with pytest.raises(SnapError, match=r"point 0 "):
        net.matrix([point, grid(0.5, 0)])


def test_a_full_snap_cache_still_snaps_the_points_it_held(
    net: StreetNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running service fills the snap cache: when the new points would overflow it,
    it is emptied, and the points of the call it held must be snapped again (they raised
    KeyError, failing the plan or reroute job)."""
    import network.street_base as base

    monkeypatch.setattr(base, "SNAP_CACHE_MAX", 3)
    a, b, c, d = grid(0.2, 0), grid(0.7, 0), grid(2, 0.5), grid(0, 0.5)
    net.snap([a, b])
    snaps = net.snap([a, c, d])  # 2 held + 2 new > 3
    assert [s.point for s in snaps] == [a, c, d]
    assert net.matrix([b, a, c]).duration_s[1, 0] > 0


def test_a_snap_cache_emptied_by_another_thread_midway_still_snaps_every_point(
    net: StreetNetwork,
) -> None:
    """The service's plan and reroute threads share one network: while a call snaps its
    new points, the other thread's call can empty the full cache. The points the call found
    held must still be answered (they were read back from the cache afterwards: KeyError)."""
    a, b = grid(0.2, 0), grid(2, 0.5)
    net.snap([a])
    index = net.edge_index
    real = index.snap

    def other_thread_empties_the_cache(points: Any, max_snap_m: float) -> Any:
        net._snaps.clear()
        return real(points, max_snap_m)

    index.snap = other_thread_empties_the_cache  # type: ignore[method-assign]
    snaps = net.snap([a, b])
    assert [s.point for s in snaps] == [a, b]


def test_matrix_partial_edges_and_one_way_asymmetry(net, tiny_graph) -> None:
    g = tiny_graph
    p = grid(0.9, 0.0)  # on A-B, 90 % of the way from A to B
    q = grid(0.5, 1.0)  # on the long block D~F, in its first quarter
    (sq,) = net.snap([q])
    f = sq.fraction if sq.edge[0] == 4 else 1 - sq.fraction  # fraction from D
    m = net.matrix([p, q])
    # p -> q: on to B, the one-way B->D, part of D~F (beats going back via A).
    p_to_q = 0.1 * tt(g, 1, 2) + tt(g, 2, 4) + f * tt(g, 4, 6)
    assert p_to_q < 0.9 * tt(g, 2, 1) + tt(g, 1, 4) + f * tt(g, 4, 6)
    # q -> p: the one-way is closed in this direction, so D-A or the long way round via F-C-B.
    q_to_p = min(
        f * tt(g, 6, 4) + tt(g, 4, 1) + 0.9 * tt(g, 1, 2),
        (1 - f) * tt(g, 4, 6) + tt(g, 6, 3) + tt(g, 3, 2) + 0.1 * tt(g, 2, 1),
    )
    assert abs(m.duration_s[0, 1] - p_to_q) <= TOL_S
    assert abs(m.duration_s[1, 0] - q_to_p) <= TOL_S
    assert m.duration_s[0, 1] + 2 * TOL_S < m.duration_s[1, 0]
    p_to_q_m = 0.1 * ln(g, 1, 2) + ln(g, 2, 4) + f * ln(g, 4, 6)
    assert abs(m.distance_m[0, 1] - p_to_q_m) <= TOL_M


def test_same_edge_points_in_and_against_driving_order(net, tiny_graph) -> None:
    g = tiny_graph
    # two points on the one-way B->D at 20 % and 70 %
    b, d = grid(1, 0), grid(0, 1)
    p1 = (b[0] + 0.2 * (d[0] - b[0]), b[1] + 0.2 * (d[1] - b[1]))
    p2 = (b[0] + 0.7 * (d[0] - b[0]), b[1] + 0.7 * (d[1] - b[1]))
    m = net.matrix([p1, p2])
    assert abs(m.duration_s[0, 1] - 0.5 * tt(g, 2, 4)) <= TOL_S
    around = 0.3 * tt(g, 2, 4) + tt(g, 4, 1) + tt(g, 1, 2) + 0.2 * tt(g, 2, 4)
    assert abs(m.duration_s[1, 0] - around) <= TOL_S


def test_duplicate_points_are_zero_apart(net, tiny_graph) -> None:
    p, q = grid(0.2, 0.0), grid(0.7, 0.0)  # both on A-B, in driving order A -> B
    m = net.matrix([p, p, q])
    assert m.duration_s[0, 1] == m.duration_s[1, 0] == 0
    assert m.distance_m[0, 1] == m.distance_m[1, 0] == 0
    assert abs(m.distance_m[0, 2] - 0.5 * ln(tiny_graph, 1, 2)) <= 1
    assert abs(m.duration_s[0, 2] - 0.5 * tt(tiny_graph, 1, 2)) <= TOL_S


def test_matrix_dtype_and_zero_diagonal(net) -> None:
    pts = [grid(0.5, 0), grid(2, 0.5), grid(1, 1.3), grid(0, 0.5)]
    m = net.matrix(pts)
    assert m.duration_s.dtype == np.int64 and m.distance_m.dtype == np.int64
    assert (np.diag(m.duration_s) == 0).all() and (np.diag(m.distance_m) == 0).all()
    off = ~np.eye(len(pts), dtype=bool)
    assert (m.duration_s[off] > 0).all()
    assert m.points == tuple(pts)


@pytest.mark.parametrize("engine", ["scipy", "ch"])
def test_unreachable_pairs_are_named(split_graph, engine) -> None:
    need_engine(engine)
    net = StreetNetwork.from_graph(split_graph, workers=1, engine=engine)
    with pytest.raises(UnreachableError, match=r"2 point pairs.*0\(10\.0005, 50\.0\)->1"):
        net.matrix([grid(0.5, 0), grid(0.5, 5)])


@pytest.mark.parametrize("engine", ["scipy", "ch"])
def test_unreachable_error_names_the_point_cut_off_first(split_graph, engine) -> None:
    """Four points on the bottom street and one on the far one: the error leads with the
    point to move (in all 8 pairs), where it named pairs in row order (0->4, 1->4...)."""
    need_engine(engine)
    net = StreetNetwork.from_graph(split_graph, workers=1, engine=engine)
    bottom = [grid(x, 0) for x in (0.2, 0.4, 0.6, 0.8)]
    named = r"^point 4 \(10\.0005, 50\.005\) has no street route to or from 4 other points \(8 "
    with pytest.raises(UnreachableError, match=named):
        net.matrix([*bottom, grid(0.5, 5)])


def _matrix_in_worker(net: StreetNetwork, pts: list, out) -> None:  # type: ignore[type-arg]
    try:
        out.put(net.matrix(pts).duration_s)
    except BaseException as err:  # the parent reports what went wrong
        out.put(repr(err))


def test_daemonic_worker_computes_serially(tiny_graph, monkeypatch) -> None:
    """A Dask worker (daemonic: no children allowed) gets the matrix without a process pool."""
    monkeypatch.setattr("network.streets.PARALLEL_MIN_WORK", 0)
    net = StreetNetwork.from_graph(tiny_graph, workers=2, engine="scipy")
    pts = [grid(0.5, 0), grid(2, 0.5), grid(1, 1.3), grid(0, 0.5)]
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    worker = ctx.Process(target=_matrix_in_worker, args=(net, pts, out), daemon=True)
    worker.start()
    got = out.get(timeout=60)
    worker.join(timeout=30)
    assert not isinstance(got, str), got
    np.testing.assert_array_equal(got, net.matrix(pts).duration_s)


def test_extend_matrix_equals_full_recompute(net) -> None:
    pts = [grid(0.5, 0), grid(2, 0.5), grid(1, 1.3), grid(0, 0.5), grid(1.5, 0), grid(0.3, 1.1)]
    base = net.matrix(pts[:4])
    extended = net.extend_matrix(base, pts[4:])
    full = net.matrix(pts)
    np.testing.assert_array_equal(extended.duration_s, full.duration_s)
    np.testing.assert_array_equal(extended.distance_m, full.distance_m)
    assert extended.points == full.points


def test_path_starts_and_ends_at_the_snapped_points(net) -> None:
    a, b = grid(0.9, 0.02), grid(1, 1.3)
    line = net.path(a, b)
    sa, sb = net.snap([a, b])
    assert line[0] == pytest.approx(sa.snapped, abs=1e-9)
    assert line[-1] == pytest.approx(sb.snapped, abs=1e-9)
    assert grid(1, 0) in line and grid(0, 1) in line  # via the one-way shortcut B->D


def test_route_geojson_is_a_street_following_linestring(net) -> None:
    pts = [grid(0.5, 0), grid(1, 1.3), grid(2, 0.5)]
    feature = net.route_geojson(pts, {"vehicle": "truck-1"})
    assert feature["type"] == "Feature" and feature["properties"] == {"vehicle": "truck-1"}
    coords = feature["geometry"]["coordinates"]
    assert feature["geometry"]["type"] == "LineString"
    assert coords[0] == pytest.approx(list(pts[0]), abs=1e-6)
    assert coords[-1] == pytest.approx(list(pts[-1]), abs=1e-6)
    assert pytest.approx([max(c[1] for c in coords)]) == [1.3 * 0.001 + 50.0]  # via the bend


def test_route_geojson_single_point_and_empty(net) -> None:
    (snap,) = net.snap([grid(0.5, 0.01)])
    coords = net.route_geojson([grid(0.5, 0.01)])["geometry"]["coordinates"]
    assert coords == [list(snap.snapped), list(snap.snapped)]
    with pytest.raises(NetworkError, match="at least one point"):
        net.route_geojson([])


def test_street_lines_and_samples(net) -> None:
    lines = net.street_lines()
    assert len(lines) == 6  # one line per street piece, both directions merged
    assert len(net.street_lines(bbox=(9.9995, 49.9995, 10.0001, 50.0001))) == 2  # touching A
    samples = net.sample_street_points(20, seed=7)
    again = net.sample_street_points(20, seed=7)
    assert samples == again
    snaps = net.snap([(s.lon, s.lat) for s in samples])
    assert max(s.snap_m for s in snaps) < 0.5
    assert {s.street for s in samples} <= {f"street {k}" for k in (12, 23, 14, 36, 46, 24)}


def test_a_street_osmnx_merged_from_two_ways_is_two_way_whatever_their_order(tiny_graph) -> None:
    """osmnx lists the ways of a merged street in either order on its two directions (it
    builds the list from a set): the bottom row A-B, here ways [7, 12] one way and [12, 7]
    the other, is still driven both ways between two points on it."""
    tiny_graph.edges[1, 2, 0]["osmid"] = [7, 12]
    tiny_graph.edges[2, 1, 0]["osmid"] = [12, 7]
    net = StreetNetwork.from_graph(tiny_graph, workers=1, engine="scipy")
    from tests.network.conftest import grid

    a, b = grid(0.3, 0.0), grid(0.6, 0.0)
    m = net.matrix([a, b])
    assert abs(int(m.distance_m[0, 1]) - int(m.distance_m[1, 0])) <= TOL_M
    assert int(m.distance_m[1, 0]) < 30
