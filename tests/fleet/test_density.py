"""Bulk densities from weighing sensors (``fleet.density``)."""

from __future__ import annotations

import pytest

from fleet.density import (
    MIN_WEIGHED,
    carry_measured,
    measured_densities,
    with_measured_densities,
)
from fleet.models import Depot, FillReading, Inventory
from tests.fleet.conftest import at, make_bin


def weighed(bin_id: str, triples: list[tuple[float, float, float | None]]) -> list[FillReading]:
    """Readings from (hours after T0, fill fraction, weight kg or None) triples."""
    return [
        FillReading(bin_id=bin_id, at=at(h), fill_fraction=f, weight_kg=kg) for h, f, kg in triples
    ]


def city(*bins: object) -> Inventory:
    return Inventory(
        bins=tuple(bins),  # type: ignore[arg-type]
        depots=(Depot(depot_id="d", lon=8.69, lat=49.41),),
        vehicles=(),
        sites=(),
    )


@pytest.fixture
def food_bin_readings() -> list[FillReading]:
    """b1 (1100 l) weighed at 0.5 kg/l four times, once with a spike, plus readings that do
    not count: no weight, a fill of 0.1 (level noise), an overflow (1.2)."""
    return weighed(
        "b1",
        [
            (1, 0.3, 165.0),
            (2, 0.4, 220.0),
            (3, 0.5, 275.0),
            (4, 0.6, 900.0),  # a spike: the median ignores it
            (5, 0.7, None),
            (6, 0.1, 500.0),
            (7, 1.2, 20.0),
        ],
    )


def test_density_is_the_median_of_the_readings_that_count(
    food_bin_readings: list[FillReading],
) -> None:
    got = measured_densities(city(make_bin("b1")), food_bin_readings)
    assert got == {"b1": pytest.approx(0.5)}  # the median of 0.5, 0.5, 0.5 and 1.36


def test_too_few_weighed_readings_give_no_density() -> None:
    few = weighed("b1", [(h, 0.5, 275.0) for h in range(MIN_WEIGHED - 1)])
    few += weighed("b1", [(9, 0.05, 30.0), (10, 0.5, None)])  # these do not count
    assert measured_densities(city(make_bin("b1")), few) == {}


def test_a_bin_without_a_density_is_loaded_at_its_measured_one(
    food_bin_readings: list[FillReading],
) -> None:
    inventory = city(make_bin("b1"), make_bin("b2", stream="organic"))
    out, notes = with_measured_densities(inventory, food_bin_readings)
    b1, b2 = out.bins
    assert b1.measured_density_kg_per_l == pytest.approx(0.5) == b1.density
    assert b2 == inventory.bins[1] and b2.density == 0.40  # no readings: its stream's
    assert notes == (
        "1 bin(s) loaded at the density their weighing readings show (0.50 kg/l) instead "
        "of their stream's default",
    )


def test_a_density_set_in_the_inventory_wins(food_bin_readings: list[FillReading]) -> None:
    inventory = city(make_bin("b1", density_kg_per_l=0.2))
    out, notes = with_measured_densities(inventory, food_bin_readings)
    assert out == inventory and notes == ()
    assert out.bins[0].density == 0.2


def test_an_implausible_density_is_named_and_not_used() -> None:
    grams = weighed("b1", [(h, 0.5, 275_000.0) for h in range(4)])  # a scale in grams
    inventory = city(make_bin("b1", measured_density_kg_per_l=0.5))  # measured earlier
    out, notes = with_measured_densities(inventory, grams)
    assert out.bins[0].measured_density_kg_per_l is None
    assert out.bins[0].density == 0.10
    (note,) = notes
    assert "1 bin(s)" in note and "b1 500 kg/l" in note and "net weight in kg" in note


def test_readings_of_unknown_bins_are_ignored(food_bin_readings: list[FillReading]) -> None:
    inventory = city(make_bin("b2"))
    assert with_measured_densities(inventory, food_bin_readings) == (inventory, ())


def test_carry_measured_keeps_what_the_day_was_planned_with() -> None:
    planned = city(
        make_bin("b1", measured_density_kg_per_l=0.5),
        make_bin("b2"),
        make_bin("b4", measured_density_kg_per_l=0.6),
    )
    now = city(
        make_bin("b1", lon=8.70),  # moved since: still loaded as planned
        make_bin("b2"),
        make_bin("b3", measured_density_kg_per_l=0.3),  # not in the plan: its own stays
        make_bin("b4", measured_density_kg_per_l=0.2),  # the plan's is the newest
    )
    out = carry_measured(planned, now)
    assert [b.measured_density_kg_per_l for b in out.bins] == [0.5, None, 0.3, 0.6]
    assert out.bins[0].lon == 8.70
    assert carry_measured(city(make_bin("b1")), now) is now
