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
(``FillReading.fill_from_weight``) and measure no density. A weight more than
:data:`fleet.models.MAX_FILL` times what the bin holds at that density is not refused, as
the density is what may be wrong: its fill is taken as ``MAX_FILL`` and a note names the
bin (:func:`heavier_than_held`). Only a weight no waste could have (a scale in grams,
:func:`weight_refused`) is refused. Such a bin learns its density from the trucks' pickups
instead: the fill a crew found over the weight read just before (:data:`PICKUP_PAIR`) is a
sample, and plans derive the stored fills again at the density known then
(:func:`at_densities`).

A truck whose lift scale weighs what it takes from each bin (``PickupRecord.weight_kg``;
``visit_done`` with ``weight_kg``) teaches the density of any bin it empties, a level
sensor's that does not weigh or one without a sensor: the weight over the fill the crew
found, or, with no fill from the crew, over the bin's last level reading just before.
A pickup with a weight and no fill gets its fill at the bin's density
(:func:`pickups_from_weights`), as a sensor that only weighs does.
"""

from __future__ import annotations

import bisect
import dataclasses
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from fleet.models import (
    DENSITY_RANGE_KG_PER_L,
    MAX_FILL,
    Bin,
    FillReading,
    Inventory,
    PickupRecord,
    WeightReading,
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


def planned_at_densities(
    inventory: Inventory, readings: Sequence[FillReading], pickups: Sequence[PickupRecord]
) -> tuple[Inventory, list[FillReading], list[PickupRecord], tuple[str, ...]]:
    """A plan's inputs at the densities known now: ``inventory`` with the densities
    ``readings`` and ``pickups`` show (:func:`with_measured_densities`), the readings and
    pickups with fills derived from weights derived again at them (:func:`at_densities`),
    and the notes for the plan (those densities; weights still heavier than their bins
    hold, :func:`heavier_than_held`)."""
    measured, notes = with_measured_densities(inventory, readings, pickups)
    readings_now = at_densities(measured, readings)
    pickups_now = at_densities(measured, pickups)
    return measured, readings_now, pickups_now, (*notes, *heavier_than_held(readings_now))


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
        ``FillReading`` with ``fill_fraction = min(weight_kg / (density * capacity_l),
        MAX_FILL)`` (:data:`fleet.models.MAX_FILL`; not refused, as the density may not be
        known yet: :func:`heavier_than_held` names such bins), the ``weight_kg`` and
        ``fill_from_weight=True``; or the reason it is refused: a bin not in ``inventory``,
        or a weight no waste in the bin could weigh (:func:`weight_refused`).
    """
    if not any(isinstance(r, WeightReading) for r in readings):
        return [r for r in readings if isinstance(r, FillReading)]  # all are
    levels = [r for r in readings if isinstance(r, FillReading)]
    bins = _at_measured(inventory, [*levels, *others], pickups)
    out: list[FillReading | str] = []
    for r in readings:
        if isinstance(r, FillReading):
            out.append(r)
            continue
        fill = _fill_at_density(r, bins.get(r.bin_id))
        out.append(fill if isinstance(fill, str) else _fill_reading(r, fill))
    return out


def pickups_from_weights(
    inventory: Inventory,
    pickups: Sequence[PickupRecord | WeightReading],
    readings: Sequence[FillReading] = (),
) -> list[PickupRecord | str]:
    """``pickups`` with those the truck's lift scale weighed and the crew gave no fill for
    as pickup records.

    Parameters
    ----------
    inventory : Inventory
        The bins; a weight is turned into litres at the bin's density, found as in
        :func:`fills_from_weights` (from ``readings`` and the pickup records).
    pickups : sequence of PickupRecord or WeightReading
        As reported: pickups with the fill found (and the weight lifted, or not), and the
        net weights (kg) the lift scale took from a bin with no fill.
    readings : sequence of FillReading
        The bins' readings, to measure densities from.

    Returns
    -------
    list
        For each, in order: a ``PickupRecord`` as it is (its weight, if any, checked as
        below); for a weight alone, a
        ``PickupRecord`` with ``fill_fraction = min(weight_kg / (density * capacity_l),
        1)`` (1: full or more; not refused, as the density may not be known yet), the
        ``weight_kg`` and ``fill_from_weight=True``; or the reason it is refused: a bin
        not in ``inventory`` (a weight alone), or a weight no waste in the bin could
        weigh (:func:`weight_refused`).
    """
    if not any(isinstance(p, WeightReading) or p.weight_kg is not None for p in pickups):
        return [p for p in pickups if isinstance(p, PickupRecord)]  # all are, none weighed
    found = [p for p in pickups if isinstance(p, PickupRecord)]
    bins = _at_measured(inventory, readings, found)
    out: list[PickupRecord | str] = []
    for p in pickups:
        b = bins.get(p.bin_id)
        if b is None:
            out.append(p if isinstance(p, PickupRecord) else _not_listed(p.bin_id))
            continue
        why = weight_refused(b, p.weight_kg) if p.weight_kg is not None else None
        if why is not None:
            out.append(why)
        elif isinstance(p, PickupRecord):
            out.append(p)
        else:
            out.append(pickup_of_weight(b, p.at, p.weight_kg))
    return out


def pickup_of_weight(b: Bin, at: datetime, weight_kg: float) -> PickupRecord:
    """The pickup of bin ``b`` at ``at`` whose lift scale took ``weight_kg`` and whose crew
    gave no fill: at the fill that weight makes at ``b``'s density, at most 1 (full or
    more), marked ``fill_from_weight``."""
    fill = min(fill_of_weight(b, weight_kg), 1.0)
    return PickupRecord(
        bin_id=b.bin_id, at=at, fill_fraction=fill, weight_kg=weight_kg, fill_from_weight=True
    )


def weight_refused(b: Bin, weight_kg: float) -> str | None:
    """Why ``weight_kg`` cannot be the net weight of the waste in bin ``b`` (a sensor's
    reading, or what a truck's lift scale took from it): more than
    :data:`fleet.models.MAX_FILL` times what it holds at the densest waste
    (:data:`DENSITY_RANGE_KG_PER_L`; a scale in grams), or None. Independent of the
    bin's density, which the weights are there to teach."""
    hi = DENSITY_RANGE_KG_PER_L[1]
    if weight_kg <= MAX_FILL * b.capacity_l * hi:
        return None
    return (
        f"{weight_kg:g} kg is more than the {b.capacity_l} l of bin {b.bin_id!r} hold at any "
        f"density up to {hi:g} kg/l; check that the scale reports the net weight in kg"
    )


def fill_of_weight(b: Bin, weight_kg: float) -> float:
    """The fill (a fraction of ``b``; may exceed 1) that ``weight_kg`` of its waste makes at
    its density (``Bin.density``: set, else measured, else its stream's)."""
    return weight_kg / (b.density * b.capacity_l)


def _at_measured(
    inventory: Inventory, readings: Sequence[FillReading], pickups: Sequence[PickupRecord]
) -> dict[str, Bin]:
    """``inventory``'s bins by id, each at the density ``readings`` and ``pickups`` show
    (:func:`with_measured_densities`)."""
    measured, _ = with_measured_densities(inventory, readings, pickups)
    return {b.bin_id: b for b in measured.bins}


def _fill_reading(w: WeightReading, fill: float) -> FillReading:
    """A sensor's reading of ``w``'s weight at ``fill``."""
    return FillReading(
        bin_id=w.bin_id, at=w.at, fill_fraction=fill, weight_kg=w.weight_kg, fill_from_weight=True
    )


def _fill_at_density(w: WeightReading, b: Bin | None) -> float | str:
    """The fill ``w``'s weight gives bin ``b`` at its density, at most
    :data:`fleet.models.MAX_FILL`, or the reason it cannot (:func:`weight_refused`)."""
    if b is None:
        return _not_listed(w.bin_id)
    why = weight_refused(b, w.weight_kg)
    return why if why is not None else min(fill_of_weight(b, w.weight_kg), MAX_FILL)


def _not_listed(bin_id: str) -> str:
    return f"bin {bin_id!r} is not in the inventory; add it"


def heavier_than_held(readings: Iterable[FillReading]) -> tuple[str, ...]:
    """A note naming the bins some of whose ``readings`` are weights alone heavier than
    :data:`fleet.models.MAX_FILL` times what the bin holds at its density (their fill
    taken as that), or none. Such a bin overflows far more than a heap can, or, far more
    likely, its waste is denser than it is planned at."""
    heavy: dict[str, float] = {}
    for r in readings:
        if r.fill_from_weight and r.weight_kg is not None and r.fill_fraction >= MAX_FILL:
            heavy[r.bin_id] = max(heavy.get(r.bin_id, 0.0), r.weight_kg)
    if not heavy:
        return ()
    named = ", ".join(f"{k} {kg:g} kg" for k, kg in sorted(heavy.items())[:NAMED])
    more = f" and {len(heavy) - NAMED} more" if len(heavy) > NAMED else ""
    return (
        f"the weights of {len(heavy)} bin(s) are more than {MAX_FILL:g} times what they hold "
        f"at their density ({named}{more}): their fill is taken as {MAX_FILL:g}; unless they "
        "overflow that much, their waste is denser than planned: set or correct their "
        "density_kg_per_l, or, where none is set, let the trucks' lift scales or crews' fills "
        "teach it",
    )


_Derived = TypeVar("_Derived", FillReading, PickupRecord)


def at_densities(inventory: Inventory, records: Sequence[_Derived]) -> list[_Derived]:
    """``records`` (readings, or pickups) with each fill derived from a weight
    (``fill_from_weight``) derived again at its bin's density now (``Bin.density``: set,
    else measured, else the stream's), at most :data:`fleet.models.MAX_FILL` for a
    reading and 1 for a pickup: a density set or learned after a record was stored
    corrects its fill. Other records, and those of bins not in ``inventory``, unchanged."""
    bins = {b.bin_id: b for b in inventory.bins}
    out: list[_Derived] = []
    for r in records:
        b = bins.get(r.bin_id)
        if r.fill_from_weight and r.weight_kg is not None and b is not None:
            cap = 1.0 if isinstance(r, PickupRecord) else MAX_FILL
            fill = min(fill_of_weight(b, r.weight_kg), cap)
            r = dataclasses.replace(r, fill_fraction=fill) if fill != r.fill_fraction else r
        out.append(r)
    return out
