"""The warm start of a reroute: each truck's planned rest of the day as far as it stays valid,
the urgent stops inserted, stops with a response target moved sooner, and the required stops
cut put back (part of :mod:`optimiser.reroute`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from optimiser.greedy import (
    LegsMemo,
    RoomLeft,
    feasible_prefix,
    insert_cheapest,
    swap_in,
)
from optimiser.problem import Problem
from optimiser.reroute_drivers import _sooner


def _warm_start(
    residual: Problem,
    rests: Mapping[str, Sequence[str]],
    urgent_refs: set[str],
) -> tuple[dict[str, list[str]], frozenset[str]]:
    """The search's start: each truck's planned rest of the day (``rests``, by truck) as far
    as it stays valid for the truck as the search has it (``residual.vehicles``: a late
    return's or a late break's stretch, a loaded truck no site takes coming back with no
    more bins), the urgent stops inserted, those with a target moved sooner, and the
    required stops cut put back; and the required stops still in no route (given a drop
    penalty: the search may find them none)."""
    kept = {s.ref for s in residual.stops} | {s.ref for s in residual.sites}
    warm = {
        v.ref: feasible_prefix(residual, v, [r for r in rests[v.ref] if r in kept])
        for v in residual.vehicles
    }
    in_warm = {r for refs in warm.values() for r in refs}
    memo: LegsMemo = {}  # one route changes per insertion: the others are timed once
    left = RoomLeft(residual, residual.stops, memo)  # a stop no route may take: no tries
    for stop in residual.stops:  # urgent bins not planned yet: cheapest feasible insertion
        if stop.ref in urgent_refs and stop.ref not in in_warm:
            if (
                not left.anywhere(warm, stop.ref)
                or insert_cheapest(residual, warm, stop, memo=memo) is None
            ):
                swap_in(residual, warm, stop)  # no room: a stop of lower rank makes room
        elif stop.due_s is not None and any(stop.ref in refs for refs in warm.values()):
            _sooner(residual, warm, stop, memo)  # (a swap for an alert may have taken it out)
    _put_back(residual, warm, rests, memo, left)
    in_warm = {r for refs in warm.values() for r in refs}
    soft = frozenset(s.ref for s in residual.stops if s.required and s.ref not in in_warm)
    return warm, soft


def _put_back(
    problem: Problem,
    warm: dict[str, list[str]],
    rests: Mapping[str, Sequence[str]],
    memo: LegsMemo,
    left: RoomLeft,
) -> None:
    """Put each required stop of a truck's planned rest of the day (``rests``) that its warm
    start cut (:func:`~optimiser.greedy.feasible_prefix` stops at the first one no longer
    valid as planned: the truck fuller than planned, late) back where it fits: in that
    truck's route first (its driver keeps it), else where it adds the least travel; then
    each other required stop in no route (one the plan being driven left out) where it
    adds the least travel. One that fits nowhere is left to the search. ``warm`` is
    updated. Without it, such a stop was left to the search alone, which may need to add
    it and an unloading at once, and often cannot. ``left`` (of ``problem``'s stops)
    spares the insertions of a stop no route may take (no room in time or load)."""
    vehicles = {v.ref: v for v in problem.vehicles}
    owners = {ref: owner for owner, rest in rests.items() for ref in rest}
    by_ref = problem.stops_by_ref()
    order = [*owners, *(s.ref for s in problem.stops if s.ref not in owners)]
    for ref in order:
        stop = by_ref.get(ref)
        if stop is None or not stop.required or any(ref in r for r in warm.values()):
            continue
        owner = owners.get(ref)
        if owner is not None and left.fits(vehicles[owner], warm[owner], ref):
            alone = dataclasses.replace(problem, vehicles=(vehicles[owner],))
            own = {owner: warm[owner]}
            if insert_cheapest(alone, own, stop, memo=memo) is not None:
                warm[owner] = own[owner]
                continue
        if left.anywhere(warm, ref):
            insert_cheapest(problem, warm, stop, memo=memo)
