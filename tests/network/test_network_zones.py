"""Local-only streets (access=destination...): driven to reach a place on them, never
through; from either OSM file, both engines."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from network import GraphSettings, fastpath, load_network
from network.speeds import local_only
from network.table import CONNECTOR_HIGHWAY, street_edges
from tests.network.conftest import osm_tags, write_square

# The square of conftest (sides about 70 m east-west, 111 m north-south) with its diagonal
# 1-3 (way 15) tagged by each test: across it a truck saves about 40 m.
NEAR_1 = (10.0001, 50.0)  # on way 11, 7 m east of node 1
NEAR_3 = (10.0009, 50.001)  # on way 13, 7 m west of node 3
ON_DIAGONAL = (10.0005, 50.0005)
ACROSS_M = 160  # 1 to 3 across the diagonal: about 150 m; round the square: about 180 m


def _square(tmp_path: Path, **tags: str) -> tuple[Path, Path]:
    return write_square(tmp_path, "square", osm_tags(highway="residential", **tags))


@pytest.mark.parametrize(
    ("tags", "through"),
    [
        ({}, True),
        ({"access": "destination"}, False),
        ({"hgv": "destination"}, False),
        ({"motor_vehicle": "delivery"}, False),
        ({"access": "customers;private"}, False),
        ({"access": "destination", "hgv": "yes"}, True),  # the truck's own tag holds
    ],
)
@pytest.mark.parametrize("engine", ["scipy", "ch"])
def test_a_local_only_street_is_no_shortcut_but_is_driven_to_reach_it_from_either_file(
    tags: dict[str, str], through: bool, engine: str, tmp_path: Path
) -> None:
    """From near corner 1 to near corner 3 a truck cut across the diagonal signed for
    destination traffic only; now it goes round the square. A bin on the diagonal is
    still reached along it, and left along it."""
    if engine == "ch" and not fastpath.AVAILABLE:
        pytest.skip("numba not installed")
    for path in _square(tmp_path, **tags):
        net = load_network(path, cache_dir=tmp_path / f"c{path.suffix}", engine=engine)
        m = net.matrix([NEAR_1, NEAR_3, ON_DIAGONAL])
        assert bool(m.distance_m[0, 1] < ACROSS_M) is through, path.name
        assert bool(m.distance_m[1, 0] < ACROSS_M) is through, path.name
        assert m.distance_m[0, 2] < 90 and m.distance_m[2, 1] < 90, path.name  # 7 + 75 m


def test_the_rule_may_be_switched_off_and_a_drawn_path_goes_round(tmp_path: Path) -> None:
    """``GraphSettings(local_access=False)`` cuts across again (a city whose signs are
    mapped wrong), with a cache of its own; the drawn path round the square is as long as
    its matrix entry and never stands twice on a junction's place."""
    _, pbf = _square(tmp_path, access="destination")
    obeying = load_network(pbf, cache_dir=tmp_path)
    free = load_network(pbf, cache_dir=tmp_path, settings=GraphSettings(local_access=False))
    assert free.matrix([NEAR_1, NEAR_3]).distance_m[0, 1] < ACROSS_M
    path = np.array(obeying.path(NEAR_1, NEAR_3))
    assert len(path) >= 3 and (np.diff(path, axis=0) != 0).any(axis=1).all()
    assert obeying.matrix([NEAR_1, NEAR_3]).distance_m[0, 1] > ACROSS_M
    connectors = ~street_edges(obeying.table)
    assert (obeying.table.edge_highway[connectors] == CONNECTOR_HIGHWAY).all()
    assert obeying.table.edge_local[connectors].sum() == 2  # one entry at each of 1 and 3


def test_a_network_too_large_to_count_entries_lets_trucks_through_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The entries into local streets are weighed above time and metres in 53 bits; a
    network whose time and metres leave too few says so and plans without the rule."""
    import network.street_weights as weights

    _, pbf = _square(tmp_path, access="destination")
    monkeypatch.setattr(weights, "FLOAT_EXACT_BITS", 24)  # metres and time fill 22 here
    with caplog.at_level(logging.WARNING, logger="network.streets"):
        net = load_network(pbf, cache_dir=tmp_path)
        assert net.matrix([NEAR_1, NEAR_3]).distance_m[0, 1] < ACROSS_M
    assert "local-only streets" in caplog.text


@pytest.mark.parametrize(
    ("tags", "local"),
    [
        ({"access": "destination"}, True),
        ({"access": "no", "motor_vehicle": "destination"}, True),
        ({"hgv": "delivery"}, True),
        ({"access": "destination;private"}, True),
        ({"access": "destination;yes"}, False),  # open to all as well
        ({"access": "destination", "hgv": "designated"}, False),
        ({"motorcar": "destination"}, False),  # the cars' key does not bind a truck
        ({}, False),
    ],
)
def test_local_only_reads_the_trucks_access_value(tags: dict[str, str], local: bool) -> None:
    assert local_only({"highway": "residential", **tags}, GraphSettings()) is local
    assert not local_only({"highway": "residential", **tags}, GraphSettings(local_access=False))
