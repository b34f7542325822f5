"""Bins emptied off a truck's route (another truck's bin, a bin no plan sent it to):
what the day being driven takes from them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from fleet.models import (
    Bin,
    Inventory,
)
from optimiser.build import (
    BuiltProblem,
    found_load,
)
from optimiser.daily.dayplan import DayPlan
from optimiser.problem import (
    Stop,
    VehicleSpec,
    next_visit_ref,
)
from optimiser.reroute import (
    Progress,
)


class Emptied(NamedTuple):
    """A bin a truck emptied off its planned route: the fill found (a fraction of the bin,
    None when not given), whether its waste is on board still (not unloaded since) and the
    net weight the truck's lift scale took (kg, None when it did not weigh)."""

    bin_id: str
    fill: float | None
    on_board: bool = True
    weight_kg: float | None = None


OffRoute = Mapping[
    str,
    Sequence[
        tuple[str, float | None]
        | tuple[str, float | None, bool]
        | tuple[str, float | None, bool, float | None]
    ],
]
"""Bins trucks emptied off their planned routes: truck ref -> (bin id, fill found or None,
on board (True when left out), kg the lift scale took (None when left out)), in report
order (:class:`Emptied`)."""


def _emptyings(off_route: OffRoute) -> dict[str, list[Emptied]]:
    """``off_route`` with each emptying as an :class:`Emptied`."""
    return {truck: [Emptied(*e) for e in emptied] for truck, emptied in off_route.items()}


def _pairs(off_route: OffRoute) -> tuple[tuple[str, str], ...]:
    """The emptyings of ``off_route`` as (truck ref, bin id), in report order per truck."""
    return tuple((t, e.bin_id) for t, emptied in _emptyings(off_route).items() for e in emptied)


def _emptied_off_route(
    built: BuiltProblem,
    progress: Sequence[Progress],
    off_route: OffRoute,
    day: DayPlan,
    inventory: Inventory,
    now_s: int,
    keep: Collection[str] | None = None,
) -> tuple[BuiltProblem, list[Progress], tuple[tuple[str, str, int, int, int], ...]]:
    """``built`` and ``progress`` after bins were emptied off the trucks' planned routes
    (``off_route``): each truck carries what it took and has not unloaded since (the fill
    found, at the weight lifted when weighed, else the load planned for that bin: the one an
    earlier plan counted it at (``DayPlan.off_route_loads``), else ``day``'s load of the
    bin's next visit, not this reroute's (an alert now loads it full), else the bin full;
    a bin deleted since counts as ``day`` listed it),
    and the loads counted so (:attr:`DayPlan.off_route_loads`), with a note per truck
    (appended to ``built.notes``). With ``keep`` (a reroute), the next visit still to do of
    each such bin leaves the plan too (whoever was to make it), whether or not the waste is
    on board still, unless its ref is in ``keep`` (an alert raised now) or ``day`` knew that
    emptying already (``DayPlan.off_route_seen``: the visit it has came with an alert since;
    a plan of an earlier version knew those unloaded since too); a re-plan chooses the bins
    again from the collection log instead."""
    seen = Counter(day.off_route_seen)
    counted = {(t, b, k): (litres, kg) for t, b, k, litres, kg in day.off_route_loads}
    planned = day.built.problem.stops_by_ref()
    nth: Counter[tuple[str, str]] = Counter()
    took: list[tuple[str, str, int, int, int]] = []
    by_ref = {p.vehicle_ref: p for p in progress}
    done = {r for p in progress for r in p.done}
    stops = built.problem.stops_by_ref()
    driver = {v.ref: r.vehicle_ref for r in day.plan.routes for v in r.visits}
    trucks = {v.ref: v for v in built.problem.vehicles}
    listed = {b.bin_id: b for b in day.inventory.bins} | {b.bin_id: b for b in inventory.bins}
    gone: set[str] = set()
    notes = []
    for truck, emptied in _emptyings(off_route).items():
        took_l = took_kg = 0
        dropped = []
        for bin_id, fill, on_board, lift_kg in emptied:
            nth[truck, bin_id] += 1
            known = _known(seen, (truck, bin_id), on_board or day.off_route_all)
            ref = next_visit_ref(bin_id, done)
            stop, key = stops.get(ref), (truck, bin_id, nth[truck, bin_id])
            if stop is None and bin_id not in listed and key not in counted:
                continue  # a bin listed neither now nor in ``day``: what it held is not known
            if on_board:
                if fill is not None and bin_id in listed:
                    litres, kg = found_load(listed[bin_id], fill, lift_kg)
                else:
                    litres, kg = counted.get(key) or _planned_load(
                        planned.get(ref), stop, listed.get(bin_id)
                    )
                    took.append((*key, litres, kg))
                took_l, took_kg = took_l + litres, took_kg + kg
            if stop is not None and keep is not None and ref not in keep and not known:
                gone.add(ref)
                done.add(ref)
                dropped.append(f"{driver.get(ref, 'no truck')}'s visit of {ref}")
        if any(e.on_board for e in emptied) and truck in trucks:
            by_ref[truck] = _loaded(by_ref.get(truck), trucks[truck], took_l, took_kg, now_s)
        notes.extend(_off_route_note(truck, emptied, took_l, took_kg, dropped))
    problem = dataclasses.replace(
        built.problem, stops=tuple(s for s in built.problem.stops if s.ref not in gone)
    )
    built = dataclasses.replace(built, problem=problem, notes=(*built.notes, *notes))
    return built, list(by_ref.values()), tuple(took)


def _known(seen: Counter[tuple[str, str]], key: tuple[str, str], listed: bool) -> bool:
    """Whether the day being re-planned knew an emptying off its route (truck, bin:
    ``key``) already: when one of its ``seen`` emptyings of that bin is left (used up here),
    for an emptying of the kind it lists (``listed``: the waste on board, or every kind:
    ``DayPlan.off_route_all``), else always (a plan of an earlier version never listed one
    unloaded since)."""
    if not listed:
        return True
    known = seen[key] > 0
    seen[key] -= 1
    return known


def _loaded(p: Progress | None, v: VehicleSpec, litres: int, kg: int, now_s: int) -> Progress:
    """Truck ``v``'s progress ``p`` (None: not out, ready at its depot at ``now_s``, seconds
    of the day, or its shift start) with ``litres`` and ``kg`` more on board and in its
    day's totals."""
    p = p or Progress(vehicle_ref=v.ref, done=(), location=v.start, time_s=max(now_s, v.shift_s[0]))
    return dataclasses.replace(
        p,
        volume_l=p.volume_l + litres,
        weight_kg=p.weight_kg + kg,
        daily_l=p.daily_l + litres,
        daily_kg=p.daily_kg + kg,
    )


def _planned_load(planned: Stop | None, stop: Stop | None, listed: Bin | None) -> tuple[int, int]:
    """The load (litres, kg) of a bin a truck emptied off its route: what the day's plan
    has its visit take (``planned``), else the bin full (``listed``: the bin as listed now),
    else, for a bin no longer listed, what the visit of the plan being made takes (``stop``).
    """
    if planned is not None:
        return planned.volume_l, planned.weight_kg
    if listed is not None:
        return found_load(listed, 1.0, None)
    assert stop is not None  # a bin neither listed nor planned was left aside
    return stop.volume_l, stop.weight_kg


def _off_route_note(
    truck: str, emptied: Sequence[Emptied], took_l: int, took_kg: int, dropped: Sequence[str]
) -> list[str]:
    """The note on ``truck``'s emptyings off its route (none when all were unloaded since
    and took no visit out): the waste it carries (litres, kg) and the visits that left."""
    carried = ", ".join(e.bin_id for e in emptied if e.on_board)
    unloaded = ", ".join(e.bin_id for e in emptied if not e.on_board)
    if carried:
        note = f"{truck} emptied {carried} off its planned route: it carries that waste"
        note += f" ({took_l} l / {took_kg} kg)"
        if unloaded:
            note += f"; it unloaded {unloaded} since"
    elif dropped:
        note = f"{truck} emptied {unloaded} off its planned route and unloaded since"
    else:
        return []
    return [note + (f"; {', '.join(dropped)} leaves the plan" if dropped else "")]
