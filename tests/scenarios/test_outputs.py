"""Bins and places no truck reaches, as ``binroute plan`` and the demo name them."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from binroute.jobs import _far_places
from fleet.io import save_inventory
from fleet.models import Bin, Depot, DisposalSite, Inventory, TimeWindow, Vehicle
from network import MAX_SNAP_M, SnapError, StreetNetwork, load_network
from scenarios.outputs import split_snappable
from tests.network.conftest import ON_ISLAND, write_island_town

ON_SQUARE = (10.0005, 50.0)
AT_SEA = (10.0061, 49.99)


@pytest.fixture
def island(tmp_path: Path) -> StreetNetwork:
    """The island town of tests.network.conftest: Island Road cut off behind a bollard."""
    _, pbf = write_island_town(tmp_path)
    return load_network(pbf, cache_dir=tmp_path / "cache", engine="scipy")


def _bin(bin_id: str, at: tuple[float, float]) -> Bin:
    return Bin(bin_id=bin_id, lon=at[0], lat=at[1], capacity_l=240)


def test_a_bin_by_a_cut_off_street_is_left_out_with_that_street_named(
    island: StreetNetwork,
) -> None:
    """The bin by Island Road was left out to 'fix its coordinates', as the one at sea is:
    its reason now names the cut-off street and what to check."""
    bins = [_bin("square", ON_SQUARE), _bin("island", ON_ISLAND), _bin("sea", AT_SEA)]
    kept, excluded = split_snappable(island, bins, MAX_SNAP_M)
    assert [b.bin_id for b in kept] == ["square"]
    reasons = dict(excluded)
    assert reasons["bin sea"].endswith("(limit 150 m); fix its coordinates")
    why = reasons["bin island"]
    assert why.startswith("(10.006100, 50.001500) is ") and "fix its coordinates" not in why
    assert "(limit 150 m); it stands 7 m from 'Island Road' (residential, OSM way 21)" in why


def test_a_depot_by_a_cut_off_street_stops_the_job_with_that_street_named(
    island: StreetNetwork, tmp_path: Path
) -> None:
    """A depot by Island Road stops ``binroute plan`` (trucks start there): the error said
    to fix its lon/lat in depots.csv; it now names the street cut off."""
    inventory = Inventory(
        bins=(_bin("b1", ON_SQUARE),),
        depots=(Depot(depot_id="d1", lon=ON_ISLAND[0], lat=ON_ISLAND[1]),),
        vehicles=(
            Vehicle(
                vehicle_id="t1",
                depot_id="d1",
                capacity_l=4000,
                capacity_kg=1500,
                shift=TimeWindow(time(6), time(14)),
            ),
        ),
        sites=(DisposalSite(site_id="s1", lon=ON_SQUARE[0], lat=ON_SQUARE[1]),),
    )
    save_inventory(inventory, tmp_path / "inv")
    with pytest.raises(SnapError) as err:
        _far_places(island, inventory, tmp_path / "inv", MAX_SNAP_M)
    text = err.value.args[0]
    assert text.startswith("depots.csv: depot d1 (10.006100, 50.001500) is "), text
    assert "it stands 7 m from 'Island Road' (residential, OSM way 21)" in text
    assert "fix its lon/lat" not in text
