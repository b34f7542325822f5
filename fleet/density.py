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

A sensor that only weighs (:class:`fleet.models.WeightReading`) gives a fill the other way
round, at the bin's density (:func:`fills_from_weights`); such fills are marked
(``FillReading.fill_from_weight``) and measure no density. Such a bin learns its density
from the trucks' pickups instead: the fill a crew found over the weight read just before
(:data:`PICKUP_PAIR`) is a sample, and plans derive the stored fills again at the
density known then (:func:`at_densities`).
"""

from __future__ import annotations

import bisect
import dataclasses
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from fleet.models import MAX_FILL, Bin, FillReading, Inventory, PickupRecord, WeightReading

MIN_FILL = 0.2  # readings filled less than this do not count (level noise)
MIN_WEIGHED = 3  # samples (weighed readings, pickups) a bin needs for a density of its own
DENSITY_RANGE_KG_PER_L = (0.01, 5.0)  # plausible bulk densities of waste in a bin
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
    those (a sensor that only weighs) takes its pickups instead: each whose crew found a
    fill from :data:`MIN_FILL` to under 1 (1 means full or more), with the bin's last
    weight read at most :data:`PICKUP_PAIR` before it (:func:`_pickup_ratios`; they read
    a little low, as the bin fills in between). Readings and pickups of bins not in
    ``inventory`` are ignored."""
    capacity_l = {b.bin_id: b.capacity_l for b in inventory.bins}
    ratios: dict[str, list[float]] = {}
    weighed: list[FillReading] = []
    for r in readings:
        if r.weight_kg is None or r.bin_id not in capacity_l:
            continue
        weighed.append(r)
        if not r.fill_from_weight and MIN_FILL <= r.fill_fraction <= 1.0:
            cap = capacity_l[r.bin_id]
            ratios.setdefault(r.bin_id, []).append(r.weight_kg / (r.fill_fraction * cap))
    own = {k for k, v in ratios.items() if len(v) >= MIN_WEIGHED}
    for bin_id, ratio in _pickup_ratios(capacity_l, weighed, pickups):
        if bin_id not in own:
            ratios.setdefault(bin_id, []).append(ratio)
    return {k: statistics.median(v) for k, v in ratios.items() if len(v) >= MIN_WEIGHED}


def _pickup_ratios(
    capacity_l: Mapping[str, int],
    weighed: Sequence[FillReading],
    pickups: Iterable[PickupRecord],
) -> Iterable[tuple[str, float]]:
    """(bin id, kg per litre) for each pickup that found a fill from :data:`MIN_FILL` to
    under 1, paired with its bin's last weighed reading at most :data:`PICKUP_PAIR` before
    it (the weight over the litres the crew found)."""
    times: dict[str, list[datetime]] = {}
    kgs: dict[str, list[float]] = {}
    for r in sorted(weighed, key=lambda r: r.at):
        times.setdefault(r.bin_id, []).append(r.at)
        kgs.setdefault(r.bin_id, []).append(r.weight_kg or 0.0)
    for p in pickups:
        if p.bin_id not in times or not MIN_FILL <= p.fill_fraction < 1.0:
            continue
        k = bisect.bisect_right(times[p.bin_id], p.at) - 1
        if k >= 0 and p.at - times[p.bin_id][k] <= PICKUP_PAIR:
            yield p.bin_id, kgs[p.bin_id][k] / (p.fill_fraction * capacity_l[p.bin_id])


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
        f"{len(good)} bin(s) loaded at the density their weighing readings show ({span}) "
        "instead of their stream's default",
    )


def _bad_note(bad: Mapping[str, float]) -> tuple[str, ...]:
    if not bad:
        return ()
    lo, hi = DENSITY_RANGE_KG_PER_L
    named = ", ".join(f"{k} {d:.3g} kg/l" for k, d in sorted(bad.items())[:NAMED])
    more = f" and {len(bad) - NAMED} more" if len(bad) > NAMED else ""
    return (
        f"weighing readings of {len(bad)} bin(s) give a density outside {lo:g}-{hi:g} kg/l "
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


def fills_from_weights(
    inventory: Inventory,
    readings: Sequence[FillReading | WeightReading],
    others: Sequence[FillReading] = (),
    pickups: Sequence[PickupRecord] = (),
) -> list[FillReading | str]:
    """``readings`` with those of sensors that only weigh as fill readings.

    Parameters
    ----------
    inventory : Inventory
        The bins; a weight is turned into litres at the bin's density: the one set in the
        inventory, else the one the fill readings (of ``readings`` and ``others``) and
        ``pickups`` of the bin show (:func:`with_measured_densities`), else the one
        already measured on the bin, else its stream's default.
    readings : sequence of FillReading or WeightReading
        As read: levels (with a weight or not), and net weights (kg) alone.
    others, pickups : sequences
        Other readings of these bins and the trucks' pickups with the fills found, to
        measure densities from.

    Returns
    -------
    list
        For each reading, in order: a ``FillReading`` as it is; for a weight alone, a
        ``FillReading`` with ``fill_fraction = weight_kg / (density * capacity_l)``, the
        ``weight_kg`` and ``fill_from_weight=True``, or, for a bin not in ``inventory`` or
        a weight that would fill the bin more than :data:`fleet.models.MAX_FILL` times (a
        scale in grams, or a density set too low), the reason it is refused.
    """
    if not any(isinstance(r, WeightReading) for r in readings):
        return [r for r in readings if isinstance(r, FillReading)]  # all are
    levels = [r for r in readings if isinstance(r, FillReading)]
    measured, _ = with_measured_densities(inventory, [*levels, *others], pickups)
    bins = {b.bin_id: b for b in measured.bins}
    return [r if isinstance(r, FillReading) else _fill_of(r, bins.get(r.bin_id)) for r in readings]


def _fill_of(w: WeightReading, b: Bin | None) -> FillReading | str:
    """``w`` as a fill of ``b`` at its density, or the reason it cannot be."""
    if b is None:
        return f"bin {w.bin_id!r} is not in the inventory; add it"
    fill = w.weight_kg / (b.density * b.capacity_l)
    if fill > MAX_FILL:
        return _too_heavy(w, b.capacity_l, b.density, fill)
    return FillReading(
        bin_id=w.bin_id, at=w.at, fill_fraction=fill, weight_kg=w.weight_kg, fill_from_weight=True
    )


def _too_heavy(w: WeightReading, capacity_l: int, density: float, fill: float) -> str:
    return (
        f"{w.weight_kg:g} kg is {fill:.1f} times what the {capacity_l} l of bin {w.bin_id!r} "
        f"hold at {density:.3g} kg/l; check that the scale reports the net weight in kg, or "
        "set the bin's density_kg_per_l"
    )


def at_densities(inventory: Inventory, readings: Sequence[FillReading]) -> list[FillReading]:
    """``readings`` with each fill derived from a weight (``fill_from_weight``) derived
    again at its bin's density now (``Bin.density``: set, else measured, else the
    stream's), at most :data:`fleet.models.MAX_FILL`: a density set or learned after a
    reading was stored corrects its fill. Other readings, and those of bins not in
    ``inventory``, unchanged."""
    bins = {b.bin_id: b for b in inventory.bins}
    out: list[FillReading] = []
    for r in readings:
        b = bins.get(r.bin_id)
        if r.fill_from_weight and r.weight_kg is not None and b is not None:
            fill = min(r.weight_kg / (b.density * b.capacity_l), MAX_FILL)
            r = dataclasses.replace(r, fill_fraction=fill) if fill != r.fill_fraction else r
        out.append(r)
    return out
