"""Bins emptied off a truck's route (another truck's bin, a bin no plan sent it to):
what the day being driven takes from them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
from optimiser.plan import Plan
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


Carried = tuple[tuple[str, int, tuple[tuple[str, int], ...]], ...]
"""``DayPlan.off_route_carried``: (truck ref, n, ((bin id, k), ...)): the emptyings off
route (a truck's k-th of that bin) its route's loads count on board from where it went on
after its n-th bin or unloading, in route order."""


@dataclass(frozen=True, slots=True)
class Counted:
    """What a reroute or re-plan counted of the bins emptied off the trucks' routes:
    ``loads``, the load each one without a fill found, its waste on board, was counted at
    (``DayPlan.off_route_loads``); ``aboard``, for each truck with progress, its bins and
    unloadings done and the emptyings (bin id, k) its loads count on board now."""

    loads: tuple[tuple[str, str, int, int, int], ...] = ()
    aboard: Mapping[str, tuple[int, tuple[tuple[str, int], ...]]] = field(default_factory=dict)


def restated(day: DayPlan, truck: str, done: int) -> frozenset[tuple[str, int]]:
    """The emptyings off route (bin id, k) that the loads of ``truck``'s route in ``day``
    count on board after its ``done``-th bin or unloading: those of its last entry of
    ``DayPlan.off_route_carried`` before that visit (a waypoint restated them; the visits
    after it carry them on). None before any: the loads of visits done count none."""
    entries = [keys for t, n, keys in day.off_route_carried if t == truck and n < done]
    return frozenset(entries[-1]) if entries else frozenset()


def carried_on(day: DayPlan, plan: Plan, counted: Counted) -> Carried:
    """``DayPlan.off_route_carried`` of ``plan``, made from ``day`` having ``counted`` the
    emptyings off route: a truck's route kept as ``day`` has it keeps its entries; one going
    on from the truck's progress keeps those of the part done (before its n-th bin or
    unloading done, ``Counted.aboard``) and adds the emptyings counted on board from there
    (its loads there are the progress' ones)."""
    old = {r.vehicle_ref: r.visits for r in day.plan.routes}
    out: list[tuple[str, int, tuple[tuple[str, int], ...]]] = []
    for route in plan.routes:
        truck = route.vehicle_ref
        mine = [e for e in day.off_route_carried if e[0] == truck]
        if route.visits == old.get(truck):
            out += mine
            continue
        done, keys = counted.aboard.get(truck, (0, ()))
        kept = [e for e in mine if e[1] < done]
        if keys or kept:
            out += [*kept, (truck, done, keys)]
    return tuple(out)


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
) -> tuple[BuiltProblem, list[Progress], Counted]:
    """``built`` and ``progress`` after bins were emptied off the trucks' planned routes
    (``off_route``): each truck carries what it took and has not unloaded since (the fill
    found, at the weight lifted when weighed, else the load planned for that bin: the one an
    earlier plan counted it at (``DayPlan.off_route_loads``), else ``day``'s load of the
    bin's next visit, not this reroute's (an alert now loads it full), else the bin full;
    a bin deleted since counts as ``day`` listed it), added to its progress' loads unless
    those count it already (:func:`restated`: its route in ``day`` restated them at a
    waypoint before its last visit done), and what was counted (:class:`Counted`), with a
    note per truck
    (appended to ``built.notes``). With ``keep`` (a reroute), the next visit still to do of
    each such bin leaves the plan too (whoever was to make it), whether or not the waste is
    on board still, unless its ref is in ``keep`` (an alert raised now) or ``day`` knew that
    emptying already (``DayPlan.off_route_seen``: the visit it has came with an alert since;
    a plan of an earlier version knew those unloaded since too); a re-plan chooses the bins
    again from the collection log instead."""
    look = _Lookups(
        counted={(t, b, k): (litres, kg) for t, b, k, litres, kg in day.off_route_loads},
        planned=day.built.problem.stops_by_ref(),
        stops=built.problem.stops_by_ref(),
        listed={b.bin_id: b for b in day.inventory.bins} | {b.bin_id: b for b in inventory.bins},
        driver={v.ref: r.vehicle_ref for r in day.plan.routes for v in r.visits},
        keep=keep,
        seen=Counter(day.off_route_seen),
        all_seen=day.off_route_all,
        done={r for p in progress for r in p.done},
    )
    by_ref = {p.vehicle_ref: p for p in progress}
    trucks = {v.ref: v for v in built.problem.vehicles}
    notes, aboard = [], {}
    for truck, emptied in _emptyings(off_route).items():
        p = by_ref.get(truck)
        carried, dropped = _truck_emptyings(look, truck, emptied)
        already = restated(day, truck, len(p.done) if p is not None else 0)
        if any(e.on_board for e in emptied) and truck in trucks:
            add_l, add_kg = _sums(c for c in carried if c[0] not in already)
            by_ref[truck] = _loaded(p, trucks[truck], add_l, add_kg, now_s)
        aboard[truck] = tuple(key for key, _, _ in carried)
        notes.extend(_off_route_note(truck, emptied, *_sums(carried), dropped))
    problem = dataclasses.replace(
        built.problem, stops=tuple(s for s in built.problem.stops if s.ref not in look.gone)
    )
    built = dataclasses.replace(built, problem=problem, notes=(*built.notes, *notes))
    counts = {t: (len(p.done), aboard.get(t, ())) for t, p in by_ref.items()}
    return built, list(by_ref.values()), Counted(tuple(look.took), counts)


@dataclass(slots=True, kw_only=True)
class _Lookups:
    """What :func:`_emptied_off_route` looks up (the loads ``day`` counted emptyings at,
    its stops, this plan's stops, the bins listed then or now, each visit's truck in
    ``day``, the visits an alert keeps, the emptyings ``day`` knew and whether of every
    kind) and gathers as it goes (the visits done, and those taken out too; each truck's
    emptyings so far by bin; the loads counted at a planned load; the visits taken out)."""

    counted: Mapping[tuple[str, str, int], tuple[int, int]]
    planned: Mapping[str, Stop]
    stops: Mapping[str, Stop]
    listed: Mapping[str, Bin]
    driver: Mapping[str, str]
    keep: Collection[str] | None
    seen: Counter[tuple[str, str]]
    all_seen: bool
    done: set[str]
    nth: Counter[tuple[str, str]] = field(default_factory=Counter)
    took: list[tuple[str, str, int, int, int]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)


def _truck_emptyings(
    look: _Lookups, truck: str, emptied: Sequence[Emptied]
) -> tuple[list[tuple[tuple[str, int], int, int]], list[str]]:
    """Truck ``truck``'s emptyings off its route: those on board, as ((bin id, k), litres,
    kg), and the visits taken out (with ``look.keep``, a reroute: the next visit still to
    do of each such bin, unless an alert keeps it or ``day`` knew that emptying already)."""
    carried, dropped = [], []
    for e in emptied:
        look.nth[truck, e.bin_id] += 1
        known = _known(look.seen, (truck, e.bin_id), e.on_board or look.all_seen)
        ref = next_visit_ref(e.bin_id, look.done)
        stop, key = look.stops.get(ref), (truck, e.bin_id, look.nth[truck, e.bin_id])
        if stop is None and e.bin_id not in look.listed and key not in look.counted:
            continue  # a bin listed neither now nor in ``day``: what it held is not known
        if e.on_board:
            litres, kg = _emptied_load(look, e, key, ref)
            carried.append(((e.bin_id, key[2]), litres, kg))
        if stop is not None and look.keep is not None and ref not in look.keep and not known:
            look.gone.add(ref)
            look.done.add(ref)
            dropped.append(f"{look.driver.get(ref, 'no truck')}'s visit of {ref}")
    return carried, dropped


def _emptied_load(
    look: _Lookups, e: Emptied, key: tuple[str, str, int], ref: str
) -> tuple[int, int]:
    """The load (litres, kg) of emptying ``e`` (``key``: truck, bin id, k; ``ref``: the
    bin's next visit still to do): at the fill found, else as counted before or planned
    (:func:`_planned_load`; recorded in ``look.took``)."""
    if e.fill is not None and e.bin_id in look.listed:
        return found_load(look.listed[e.bin_id], e.fill, e.weight_kg)
    litres, kg = look.counted.get(key) or _planned_load(
        look.planned.get(ref), look.stops.get(ref), look.listed.get(e.bin_id)
    )
    look.took.append((*key, litres, kg))
    return litres, kg


def _sums(carried: Iterable[tuple[tuple[str, int], int, int]]) -> tuple[int, int]:
    """The litres and kg of ``carried`` (as :func:`_truck_emptyings` gives them)."""
    litres = kg = 0
    for _, l_, k_ in carried:
        litres, kg = litres + l_, kg + k_
    return litres, kg


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
