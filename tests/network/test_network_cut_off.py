"""Points by streets cut off from the truck network: told apart from misplaced points."""

from __future__ import annotations

from pathlib import Path

import pytest

from network import MAX_SNAP_M, SnapError, load_network
from network.table_nx import table_from_graph
from tests.network.conftest import ON_ISLAND, build_split_graph, write_island_town

AT_SEA = (10.0061, 49.99)  # over 1 km from every street, cut off or not


@pytest.mark.parametrize("suffix", [".osm", ".pbf"])
def test_a_point_by_a_street_behind_a_bollard_is_not_told_to_fix_its_coordinates(
    suffix: str, tmp_path: Path
) -> None:
    """A bin 7 m from Island Road, which the bollard cuts off from the square trucks
    drive, is over 300 m from every street of the network: the error said "fix its
    coordinates". Now it names the street it stands by, its OSM way, and what to check;
    and a second load, from the cache, says the same."""
    xml, pbf = write_island_town(tmp_path)
    path = xml if suffix == ".osm" else pbf
    for _ in range(2):
        net = load_network(path, cache_dir=tmp_path / "cache", engine="scipy")
        with pytest.raises(SnapError) as err:
            net.snap([(10.0005, 50.0), ON_ISLAND])
        message = err.value.args[0]
        assert message.startswith("point 1 (lon=10.006100, lat=50.001500) is "), message
        assert "m from the nearest drivable street (limit 150 m); it stands 7 m from " in message
        assert (
            "'Island Road' (residential, OSM way 21), a street cut off from the truck " in message
        )
        assert "check its barrier, access, maxheight and maxweight tags" in message
        assert "fix its coordinates" not in message
        assert err.value.named("bin b1").args[0].startswith("bin b1 (lon=10.006100")


def test_a_point_far_from_every_street_is_still_told_to_fix_its_coordinates(
    tmp_path: Path,
) -> None:
    """A point far from the island too keeps the old advice, and a point by the square
    snaps as before."""
    _, pbf = write_island_town(tmp_path)
    net = load_network(pbf, cache_dir=tmp_path / "cache", engine="scipy")
    assert net.snap([(10.0005, 50.0)])[0].snap_m < 1
    with pytest.raises(SnapError, match=r"fix its coordinates or raise max_snap_m$"):
        net.snap([AT_SEA])


def test_cut_off_near_lists_only_far_points_by_a_cut_off_street(tmp_path: Path) -> None:
    """Of the far points, the one by Island Road gets a reason and the one at sea none."""
    _, pbf = write_island_town(tmp_path)
    net = load_network(pbf, cache_dir=tmp_path / "cache", engine="scipy")
    points = [(10.0005, 50.0), ON_ISLAND, AT_SEA]
    far = net.far_points(points, MAX_SNAP_M)
    assert sorted(far) == [1, 2] and far[1] > 300
    why = net.cut_off_near(points, far, MAX_SNAP_M)
    assert list(why) == [1] and why[1].startswith("it stands 7 m from 'Island Road'")
    assert net.cut_off_near(points, far, 5.0) == {}  # 7 m away: not within 5 m


def test_split_strong_component_keeps_every_edge_once() -> None:
    """The largest part and the streets cut off from it hold every edge between them."""
    from network.table import split_strong_component

    table = table_from_graph(build_split_graph())
    main, rest = split_strong_component(table, "split")
    assert main.n_edges + rest.n_edges == table.n_edges and rest.n_edges > 0
    assert set(main.edge_osmid.tolist()).isdisjoint(rest.edge_osmid.tolist())


@pytest.mark.parametrize("engine", ["scipy", "ch"])
def test_unreachable_error_names_the_street_the_point_is_cut_off_on(engine: str) -> None:
    """A network kept whole (not pruned to its largest part): a point on the far street
    has no route to the others. The error said to 'move them or load the largest strongly
    connected component'; it now names the street the point snapped to and what to check."""
    from network import StreetNetwork, UnreachableError, fastpath

    if engine == "ch" and not fastpath.AVAILABLE:
        pytest.skip("numba not installed")
    net = StreetNetwork.from_graph(build_split_graph(), workers=1, engine=engine)
    points = [(10.0002, 50.0), (10.0008, 50.0), (10.0005, 50.005)]
    with pytest.raises(UnreachableError) as err:
        net.matrix(points)
    message = err.value.args[0]
    assert message.startswith("point 2 (10.0005, 50.005) has no street route to or from 2 ")
    assert "the street it snapped to, 'street 2' (residential, OSM way 2), is cut off" in message
    assert (
        "check its barrier, access, maxheight and maxweight tags, move the point to a street"
        in message
    )
