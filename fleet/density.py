"""Bulk densities from weighing sensors.

A bin whose sensor also weighs its contents (``FillReading.weight_kg``, the net weight of
the waste; FIWARE ``cargoWeight``; the weighing food-waste bins of Korean cities) shows its
own density: kilograms per litre of the volume its fill level says it holds. Planning loads
such a bin at that density (``Bin.measured_density_kg_per_l``) instead of its stream's
default, so the trucks' weight capacity and daily weight limits are planned with what the
bins really hold. A density set in the inventory (``Bin.density_kg_per_l``) stays the
city's word and wins.

The density of a bin is the median over its readings that carry a weight of
``weight_kg / (fill_fraction * capacity_l)``, from readings filled at least
:data:`MIN_FILL` (a level sensor's noise of a few points makes low fills unreliable) and at
most 1 (an overflowing bin's weight includes what its level cannot see), and only with at
least :data:`MIN_WEIGHED` of them. A median outside :data:`DENSITY_RANGE_KG_PER_L` (a scale
reporting grams, or gross weight with the container) is not used, and a note names the bins.

A truck whose lift scale weighs what it takes from each bin (``PickupRecord.weight_kg``;
``visit_done`` with ``weight_kg``) teaches the density of any bin it empties, a level
sensor's that does not weigh or one without a sensor: the weight over the fill the crew
found, or, with no fill from the crew, over the bin's last level reading just before.

Fills derived from weights alone, and a plan's inputs at the densities known now, are
:mod:`fleet.weights`'s.
"""

from __future__ import annotations

import bisect
import dataclasses
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from fleet.models import (
    DENSITY_RANGE_KG_PER_L,
    FillReading,
    Inventory,
    PickupRecord,
)

MIN_FILL = 0.2  # readings filled less than this do not count (level noise)
MIN_WEIGHED = 3  # samples (weighed readings, pickups) a bin needs for a density of its own
NAMED = 5  # bins named in a note, at most
PICKUP_PAIR = timedelta(hours=3)  # a weight read this long before a pickup pairs with its fill


def measured_densities(
    inventory: Inventory,
    readings: Iterable[FillReading],
    pickups: Iterable[PickupRecord] = (),
) -> dict[str, float]:
    """Each bin's median density (kg per litre) by bin id, in range or not, over at least
    :data:`MIN_WEIGHED` samples. A sample is a reading that carries a weight and a fill
    from :data:`MIN_FILL` to 1 (not one derived from the weight). A bin with too few of
    those (a level sensor that does not weigh, a sensor that only weighs) takes its
    pickups instead (:func:`_pickup_ratios`): the weight a truck's lift scale took over
    the fill found then, and the fill a crew found over the bin's last weight read at most
    :data:`PICKUP_PAIR` before. Readings and pickups of bins not in ``inventory`` are
    ignored."""
    capacity_l = {b.bin_id: b.capacity_l for b in inventory.bins}
    ratios: dict[str, list[float]] = {}
    weighed: list[FillReading] = []
    levels: list[FillReading] = []
    for r in readings:
        if r.bin_id not in capacity_l:
            continue
        if not r.fill_from_weight:
            levels.append(r)
        if r.weight_kg is None:
            continue
        weighed.append(r)
        if not r.fill_from_weight and MIN_FILL <= r.fill_fraction <= 1.0:
            cap = capacity_l[r.bin_id]
            ratios.setdefault(r.bin_id, []).append(r.weight_kg / (r.fill_fraction * cap))
    own = {k for k, v in ratios.items() if len(v) >= MIN_WEIGHED}
    for bin_id, ratio in _pickup_ratios(capacity_l, weighed, levels, pickups):
        if bin_id not in own:
            ratios.setdefault(bin_id, []).append(ratio)
    return {k: statistics.median(v) for k, v in ratios.items() if len(v) >= MIN_WEIGHED}


def _pickup_ratios(
    capacity_l: Mapping[str, int],
    weighed: Sequence[FillReading],
    levels: Sequence[FillReading],
    pickups: Iterable[PickupRecord],
) -> Iterable[tuple[str, float]]:
    """(bin id, kg per litre) for each pickup that gives a sample:

    * weighed by the lift scale with a fill from the crew from :data:`MIN_FILL` to under 1
      (1 means full or more): the weight over those litres;
    * weighed, with no fill from the crew: the weight over the litres of the bin's last
      level reading (``levels``, not derived from a weight) at most :data:`PICKUP_PAIR`
      before, filled :data:`MIN_FILL` to 1 (reads a little high: the bin fills in between);
    * not weighed, with a fill from the crew as above: the bin's heaviest weighed reading
      at most :data:`PICKUP_PAIR` before over those litres (reads a little low; the last
      one may be the few kg left after the lift, when the crew taps the fill later).
    """
    last_kg = _last_before(weighed, lambda r: r.weight_kg or 0.0, heaviest=True)
    last_fill = _last_before(levels, lambda r: r.fill_fraction)
    for p in pickups:
        if p.bin_id not in capacity_l:
            continue
        cap = capacity_l[p.bin_id]
        crew = _crew_fill(p)
        if p.weight_kg is not None and crew is not None:
            yield p.bin_id, p.weight_kg / (crew * cap)
        elif p.weight_kg is not None and p.fill_from_weight:
            fill = last_fill(p.bin_id, p.at)
            if fill is not None and MIN_FILL <= fill <= 1.0:
                yield p.bin_id, p.weight_kg / (fill * cap)
        elif p.weight_kg is None and crew is not None:
            kg = last_kg(p.bin_id, p.at)
            if kg is not None:
                yield p.bin_id, kg / (crew * cap)


def _crew_fill(p: PickupRecord) -> float | None:
    """The fill ``p``'s crew recorded, when it tells a density: from :data:`MIN_FILL` to
    under 1 (1 means full or more), not derived from a weight; else None."""
    fill = None if p.fill_from_weight else p.fill_fraction
    return fill if fill is not None and MIN_FILL <= fill < 1.0 else None


def _last_before(
    readings: Sequence[FillReading], value: Callable[[FillReading], float], heaviest: bool = False
) -> Callable[[str, datetime], float | None]:
    """A lookup (bin id, time) -> ``value`` of the bin's last of ``readings`` at or before
    that time and at most :data:`PICKUP_PAIR` before it (``heaviest``: the largest value of
    those), or None."""
    times: dict[str, list[datetime]] = {}
    values: dict[str, list[float]] = {}
    for r in sorted(readings, key=lambda r: r.at):
        times.setdefault(r.bin_id, []).append(r.at)
        values.setdefault(r.bin_id, []).append(value(r))

    def last(bin_id: str, at: datetime) -> float | None:
        k = bisect.bisect_right(times.get(bin_id, []), at) - 1
        if k < 0 or at - times[bin_id][k] > PICKUP_PAIR:
            return None
        if not heaviest:
            return values[bin_id][k]
        first = bisect.bisect_left(times[bin_id], at - PICKUP_PAIR)
        return max(values[bin_id][first : k + 1])

    return last


def with_measured_densities(
    inventory: Inventory,
    readings: Sequence[FillReading],
    pickups: Sequence[PickupRecord] = (),
) -> tuple[Inventory, tuple[str, ...]]:
    """``inventory`` with ``measured_density_kg_per_l`` set on each bin without a density of
    its own whose readings (and pickups) show one in range (:func:`measured_densities`),
    and cleared on those whose readings show one out of range (their stream's default
    used), and the notes for a plan saying so. Bins with too few samples are unchanged (a
    density measured before stays)."""
    lo, hi = DENSITY_RANGE_KG_PER_L
    measured = measured_densities(inventory, readings, pickups)
    kept = {
        b.bin_id: measured[b.bin_id]
        for b in inventory.bins
        if b.density_kg_per_l is None and b.bin_id in measured
    }
    bad = {k: d for k, d in kept.items() if not lo <= d <= hi}
    good = {k: d for k, d in kept.items() if k not in bad}
    if not kept:
        return inventory, ()
    bins = tuple(
        dataclasses.replace(
            b, measured_density_kg_per_l=kept[b.bin_id] if b.bin_id in good else None
        )
        if b.bin_id in kept
        else b
        for b in inventory.bins
    )
    return dataclasses.replace(inventory, bins=bins), (*_used_note(good), *_bad_note(bad))


def _used_note(good: Mapping[str, float]) -> tuple[str, ...]:
    if not good:
        return ()
    lo, hi = min(good.values()), max(good.values())
    span = f"{lo:.2f} kg/l" if lo == hi else f"{lo:.2f}-{hi:.2f} kg/l"
    return (
        f"{len(good)} bin(s) loaded at the density their weights show ({span}) "
        "instead of their stream's default",
    )


def _bad_note(bad: Mapping[str, float]) -> tuple[str, ...]:
    if not bad:
        return ()
    lo, hi = DENSITY_RANGE_KG_PER_L
    named = ", ".join(f"{k} {d:.3g} kg/l" for k, d in sorted(bad.items())[:NAMED])
    more = f" and {len(bad) - NAMED} more" if len(bad) > NAMED else ""
    return (
        f"the weights of {len(bad)} bin(s) give a density outside {lo:g}-{hi:g} kg/l "
        f"({named}{more}): their stream's default is used; check that the scales report "
        "the net weight in kg",
    )


def carry_measured(source: Inventory, target: Inventory) -> Inventory:
    """``target`` with the measured density of each of its bins that ``source`` (e.g. the
    inventory a day was planned with) has one for; other bins unchanged: a reroute loads
    a bin as its day's newest plan did."""
    had = {
        b.bin_id: b.measured_density_kg_per_l
        for b in source.bins
        if b.measured_density_kg_per_l is not None
    }
    if not had:
        return target
    bins = tuple(
        dataclasses.replace(b, measured_density_kg_per_l=had[b.bin_id])
        if b.bin_id in had and b.measured_density_kg_per_l != had[b.bin_id]
        else b
        for b in target.bins
    )
    return dataclasses.replace(target, bins=bins)
