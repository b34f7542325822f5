"""Fills from weights, at the bins' densities (:mod:`fleet.density` measures them).

A sensor that only weighs (:class:`fleet.models.WeightReading`) gives a fill the other way
round, at the bin's density (:func:`fills_from_weights`); such fills are marked
(``FillReading.fill_from_weight``) and measure no density. A weight more than
:data:`fleet.models.MAX_FILL` times what the bin holds at that density is not refused, as
the density is what may be wrong: its fill is taken as ``MAX_FILL`` and a note names the
bin (:func:`heavier_than_held`). Only a weight no waste could have (a scale in grams,
:func:`weight_refused`) is refused. Such a bin learns its density from the trucks' pickups
instead: the fill a crew found over the weight read just before
(:data:`fleet.density.PICKUP_PAIR`) is a sample, and plans derive the stored fills again
at the density known then (:func:`at_densities`).

A pickup with a weight and no fill gets its fill at the bin's density
(:func:`pickups_from_weights`), as a sensor that only weighs does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from fleet.density import NAMED, with_measured_densities
from fleet.models import (
    DENSITY_RANGE_KG_PER_L,
    MAX_FILL,
    Bin,
    FillReading,
    Inventory,
    PickupRecord,
    WeightReading,
)


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
