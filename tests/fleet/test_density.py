"""Bulk densities from weighing sensors (``fleet.density``) and fills from weights
(``fleet.weights``)."""

from __future__ import annotations

import dataclasses

import pytest

from fleet.density import (
    MIN_WEIGHED,
    PICKUP_PAIR,
    carry_measured,
    measured_densities,
    with_measured_densities,
)
from fleet.models import MAX_FILL, Depot, FillReading, Inventory, PickupRecord, WeightReading
from fleet.weights import at_densities, fills_from_weights, heavier_than_held, pickups_from_weights
from tests.fleet.conftest import at, make_bin, readings


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
        "1 bin(s) loaded at the density their weights show (0.50 kg/l) instead "
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


def weights(bin_id: str, pairs: list[tuple[float, float]]) -> list[WeightReading]:
    """Readings of a sensor that only weighs, from (hours after T0, kg) pairs."""
    return [WeightReading(bin_id=bin_id, at=at(h), weight_kg=kg) for h, kg in pairs]


def fills(
    inventory: Inventory, ws: list[WeightReading], others: list[FillReading] | None = None
) -> list[FillReading]:
    """``fills_from_weights`` when none is refused."""
    got = fills_from_weights(inventory, ws, others or [])
    assert all(isinstance(r, FillReading) for r in got), got
    return [r for r in got if isinstance(r, FillReading)]


def test_a_weight_alone_is_a_fill_at_the_density_set_on_the_bin() -> None:
    food = make_bin("k1", capacity_l=120, stream="food", density_kg_per_l=0.8)
    half, empty = fills(city(food), weights("k1", [(1, 48.0), (2, 0.0)]))
    assert half.fill_fraction == pytest.approx(0.5) and empty.fill_fraction == 0.0
    assert (half.bin_id, half.at, half.weight_kg, half.fill_from_weight) == ("k1", at(1), 48, True)


def test_a_weight_alone_uses_the_density_the_bins_readings_show(
    food_bin_readings: list[FillReading],
) -> None:
    (got,) = fills(city(make_bin("b1")), weights("b1", [(9, 330.0)]), food_bin_readings)
    assert got.fill_fraction == pytest.approx(330.0 / (0.5 * 1100))


def test_a_weight_alone_uses_the_streams_default_density_without_another() -> None:
    food = make_bin("k1", capacity_l=120, stream="food")  # 0.55 kg/l
    (got,) = fills(city(food), weights("k1", [(1, 33.0)]))
    assert got.fill_fraction == pytest.approx(0.5)


def test_weights_of_unknown_bins_or_no_waste_could_weigh_are_refused() -> None:
    """k1 (120 l of food, 0.55 kg/l): 60 kg is 0.91 full; 60 000 kg is more than 120 l hold
    at 5 kg/l (a scale in grams)."""
    food = make_bin("k1", capacity_l=120, stream="food")
    ok, grams, ghost = fills_from_weights(
        city(food), [*weights("k1", [(1, 60.0), (2, 60_000.0)]), *weights("ghost", [(3, 5.0)])]
    )
    assert isinstance(ok, FillReading) and ok.fill_fraction == pytest.approx(60 / 66)
    assert isinstance(grams, str) and "60000 kg" in grams and "'k1'" in grams
    assert "net weight in kg" in grams and "5 kg/l" in grams
    assert isinstance(ghost, str) and "'ghost' is not in the inventory" in ghost


def test_a_weight_heavier_than_the_bin_holds_at_its_density_is_kept_at_max_fill() -> None:
    """k1's waste weighs 1.1 kg/l, twice its stream's 0.55: 118.8 kg, 0.9 full, reads 1.8
    at 0.55; kept at MAX_FILL with its weight (the density is what may be wrong), and the
    note names the bin; 60 kg (0.91) is not named."""
    food = make_bin("k1", capacity_l=120, stream="food")
    ok, heavy = fills_from_weights(city(food), weights("k1", [(1, 60.0), (2, 118.8)]))
    assert isinstance(ok, FillReading) and isinstance(heavy, FillReading)
    assert heavy.fill_fraction == MAX_FILL
    assert (heavy.weight_kg, heavy.fill_from_weight) == (118.8, True)
    (note,) = heavier_than_held([ok, heavy])
    assert "1 bin(s)" in note and "k1 118.8 kg" in note and "density_kg_per_l" in note
    assert heavier_than_held([ok]) == ()


def test_a_bin_denser_than_planned_learns_its_density_from_its_heavy_weights() -> None:
    """k1 at 1.1 kg/l, twice its stream's 0.55, weighs 118.8 kg (0.9 full) an hour before
    each of three pickups that found it 0.9 full. The weights read 1.8 at 0.55: kept, they
    pair with the crews' fills, which teach 1.1 kg/l; at that density the stored fills are
    0.9 again, and no note is left."""
    food = make_bin("k1", capacity_l=120, stream="food")
    stored = fills(city(food), weights("k1", [(h - 1, 118.8) for h in (10, 40, 70)]))
    assert [r.fill_fraction for r in stored] == [MAX_FILL] * 3
    found = [PickupRecord(bin_id="k1", at=at(h), fill_fraction=0.9) for h in (10, 40, 70)]
    learnt, _ = with_measured_densities(city(food), stored, found)
    assert learnt.bins[0].measured_density_kg_per_l == pytest.approx(1.1)
    again = at_densities(learnt, stored)
    assert [r.fill_fraction for r in again] == [pytest.approx(0.9)] * 3
    assert heavier_than_held(again) == ()


def test_fills_derived_from_weights_measure_no_density() -> None:
    """Their ratio is the density they were derived with: measuring it would turn the
    stream default into a 'measured' density."""
    derived = [
        FillReading(bin_id="b1", at=at(h), fill_fraction=0.5, weight_kg=55.0, fill_from_weight=True)
        for h in range(MIN_WEIGHED + 2)
    ]
    assert measured_densities(city(make_bin("b1")), derived) == {}


def test_pickups_measure_the_density_of_bins_that_only_weigh() -> None:
    """k1 (120 l) weighs 18 kg an hour before each of three pickups that found it half
    full: 0.3 kg/l. Pickups found full (1.0: maybe more), or with no weight read within
    PICKUP_PAIR before, teach nothing."""
    food = make_bin("k1", capacity_l=120, stream="food")
    stored = fills(city(food), weights("k1", [(h - 1, 18.0) for h in (10, 40, 70)]))
    found = [PickupRecord(bin_id="k1", at=at(h), fill_fraction=0.5) for h in (10, 40, 70)]
    assert measured_densities(city(food), stored, found) == {"k1": pytest.approx(0.3)}
    full = [dataclasses.replace(p, fill_fraction=1.0) for p in found]
    late = [dataclasses.replace(p, at=p.at + PICKUP_PAIR) for p in found]
    assert measured_densities(city(food), stored, [*full, *late]) == {}
    assert measured_densities(city(food), stored, found[:2]) == {}  # too few


def test_a_crews_fill_pairs_with_the_weight_before_the_lift_not_after() -> None:
    """k1 (120 l) weighs 18 kg an hour before each of three pickups found half full, and
    the 1 kg left a minute after the lift, before the crew taps the fill: 0.3 kg/l (it
    paired the fill with the 1 kg: 0.017 kg/l, and planned the bin's 18 kg as over-full)."""
    food = make_bin("k1", capacity_l=120, stream="food")
    before = [(h - 1, 18.0) for h in (10, 40, 70)]
    after = [(h + 1 / 60, 1.0) for h in (10, 40, 70)]
    stored = fills(city(food), weights("k1", sorted(before + after)))
    tapped = [PickupRecord(bin_id="k1", at=at(h + 2 / 60), fill_fraction=0.5) for h in (10, 40, 70)]
    assert measured_densities(city(food), stored, tapped) == {"k1": pytest.approx(0.3)}


def test_pickups_teach_nothing_to_a_bin_whose_readings_show_its_density(
    food_bin_readings: list[FillReading],
) -> None:
    """b1's readings show 0.5 kg/l; six pickups that would say 0.15-0.25 do not move it
    (with them, the median would be 0.25)."""
    found = [
        PickupRecord(bin_id="b1", at=at(h + dh), fill_fraction=0.99)
        for h in (1, 2, 3)
        for dh in (0.5, 0.6)
    ]
    got = measured_densities(city(make_bin("b1")), food_bin_readings, found)
    assert got == {"b1": pytest.approx(0.5)}


def test_fills_from_weights_follow_the_density_known_now() -> None:
    """Stored at the stream's 0.55 kg/l; derived again at the density measured since, or
    set since, at most 1.5; level readings and unknown bins unchanged."""
    food = make_bin("k1", capacity_l=120, stream="food")
    stored = fills(city(food), weights("k1", [(1, 33.0), (2, 60.0)]))
    level = FillReading(bin_id="k1", at=at(3), fill_fraction=0.4, weight_kg=12.0)
    other = FillReading(bin_id="x", at=at(3), fill_fraction=0.4)
    learnt = dataclasses.replace(food, measured_density_kg_per_l=0.275)
    got = at_densities(city(learnt), [*stored, level, other])
    assert [r.fill_fraction for r in got] == [pytest.approx(1.0), 1.5, 0.4, 0.4]
    assert got[2:] == [level, other]
    set_now = dataclasses.replace(food, density_kg_per_l=1.1)
    assert at_densities(city(set_now), stored)[0].fill_fraction == pytest.approx(0.25)


def lifted(bin_id: str, pairs: list[tuple[float, float]]) -> list[PickupRecord]:
    """Pickups the lift scale weighed, the crew gave no fill: (hours after T0, kg) pairs,
    each with a placeholder fill derived at 0.1 kg/l of 1100 l."""
    return [
        PickupRecord(
            bin_id=bin_id,
            at=at(h),
            fill_fraction=min(kg / 110.0, 1.0),
            weight_kg=kg,
            fill_from_weight=True,
        )
        for h, kg in pairs
    ]


def test_lift_weights_over_the_crews_fill_measure_a_bins_density() -> None:
    """b1 (1100 l, a level sensor that does not weigh) emptied three times, the crew found
    it half full, the lift scale took 165 kg: 0.3 kg/l. A pickup found full (1.0: maybe
    more) is no sample."""
    found = [
        PickupRecord(bin_id="b1", at=at(h), fill_fraction=0.5, weight_kg=165.0) for h in (10, 40)
    ]
    full = PickupRecord(bin_id="b1", at=at(70), fill_fraction=1.0, weight_kg=400.0)
    assert measured_densities(city(make_bin("b1")), [], [*found, full]) == {}
    third = dataclasses.replace(full, fill_fraction=0.5, weight_kg=165.0)
    got = measured_densities(city(make_bin("b1")), [], [*found, third])
    assert got == {"b1": pytest.approx(0.3)}


def test_lift_weights_without_a_crews_fill_pair_with_the_level_read_before() -> None:
    """b1's sensor read 0.6 an hour before each of three pickups the lift scale weighed
    at 132 kg: 132 / 660 l = 0.2 kg/l. A level read more than PICKUP_PAIR before, below
    MIN_FILL, or derived from a weight gives no sample."""
    levels = readings("b1", [(h - 1, 0.6) for h in (10, 40, 70)])
    lifts = lifted("b1", [(10, 132.0), (40, 132.0), (70, 132.0)])
    got = measured_densities(city(make_bin("b1")), levels, lifts)
    assert got == {"b1": pytest.approx(0.2)}
    early = readings("b1", [(h - 4, 0.6) for h in (10, 40, 70)])
    low = readings("b1", [(h - 1, 0.1) for h in (10, 40, 70)])
    derived = [dataclasses.replace(r, weight_kg=1.0, fill_from_weight=True) for r in levels]
    for before in (early, low, derived):
        assert measured_densities(city(make_bin("b1")), before, lifts) == {}


def test_a_lift_weight_alone_is_a_pickup_at_the_bins_density() -> None:
    """k1 (120 l of food at 0.8 kg/l set): 48 kg lifted is half full; 250 kg is more than
    twice full, yet plausible (the density may be wrong): full (1.0), not refused; a scale
    in grams (more than 1.5 x 120 l at 5 kg/l) and an unknown bin are refused, also with
    the crew's fill; records pass as they are."""
    food = make_bin("k1", capacity_l=120, stream="food", density_kg_per_l=0.8)
    crew = PickupRecord(bin_id="k1", at=at(0), fill_fraction=0.3, weight_kg=30.0)
    crew_grams = dataclasses.replace(crew, weight_kg=30_000.0)
    got = pickups_from_weights(
        city(food),
        [
            crew,
            *weights("k1", [(1, 48.0), (2, 250.0), (3, 48_000.0)]),
            *weights("x", [(4, 1.0)]),
            crew_grams,
        ],
    )
    half, over, grams, ghost, crew_grams_got = got[1:]
    assert got[0] is crew
    assert isinstance(half, PickupRecord) and half.fill_fraction == pytest.approx(0.5)
    assert (half.weight_kg, half.fill_from_weight) == (48.0, True)
    assert isinstance(over, PickupRecord) and over.fill_fraction == 1.0
    assert isinstance(grams, str) and "net weight in kg" in grams and "5 kg/l" in grams
    assert isinstance(crew_grams_got, str) and "30000 kg" in crew_grams_got
    assert isinstance(ghost, str) and "not in the inventory" in ghost


def test_pickups_derived_from_lift_weights_follow_the_density_known_now() -> None:
    """Derived at 0.1 kg/l; at 0.2 kg/l learnt since, 132 kg in 1100 l is 0.6 full, 330 kg
    is full (at most 1 for a pickup); a crew's fill unchanged."""
    lifts = lifted("b1", [(10, 132.0), (20, 330.0)])
    crew = PickupRecord(bin_id="b1", at=at(30), fill_fraction=0.4, weight_kg=10.0)
    learnt = make_bin("b1", measured_density_kg_per_l=0.2)
    got = at_densities(city(learnt), [*lifts, crew])
    assert [p.fill_fraction for p in got] == [pytest.approx(0.6), 1.0, 0.4]
