"""Trucks that cannot unload or get home in time any more: sent straight home, or kept
where they stand with their load, each with a note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

from fleet.models import (
    Inventory,
)
from optimiser.build import (
    BuiltProblem,
)
from optimiser.daily.dayplan import DayPlan
from optimiser.plan import (
    Route,
    clock,
)
from optimiser.problem import (
    Problem,
    Site,
    VehicleSpec,
)
from optimiser.reroute import (
    WORK,
    Progress,
)
from optimiser.screen import usable_sites


def _loaded_back(built: BuiltProblem, progress: Sequence[Progress], now_s: int) -> BuiltProblem:
    """``built`` with each truck carrying waste (``progress``) that can reach no disposal
    site open (for its streams, in its hours) coming back loaded (``comes_back_loaded``,
    with a note) rather than the day having no plan; once one is open to it again, it comes
    back empty again. A day without disposal sites changes nothing; one whose sites are all
    gone still has them, closed (:func:`optimiser.daily.sites_now._current_sites`)."""
    problem = built.problem
    sites = problem.sites
    had = bool(sites)
    stuck = _cannot_unload(problem, progress, now_s) if had else set()
    vehicles = tuple(
        dataclasses.replace(v, comes_back_loaded=v.ref in stuck) for v in problem.vehicles
    )
    notes = []
    if had and all(s.window_s[1] <= now_s for s in sites):
        last = max((s.window_s[1] for s in sites), default=now_s)
        notes.append(f"no disposal site is open from {clock(last)}: the trucks come back loaded")
    elif stuck:
        refs = ", ".join(sorted(stuck))
        notes.append(f"no disposal site open can be reached in its hours by {refs}: loaded back")
    problem = dataclasses.replace(problem, vehicles=vehicles)
    return dataclasses.replace(built, problem=problem, notes=(*built.notes, *notes))


def _stranded(
    built: BuiltProblem,
    inventory: Inventory,
    progress: Sequence[Progress],
    now_s: int,
    day: DayPlan,
) -> BuiltProblem:
    """``built`` with each truck of ``inventory`` broken down on the road for the rest of
    its shift standing where it was last reported: its route ends there (``end``), with the
    load it carries (``comes_back_loaded``), and a note (appended to its ``notes``); after
    its shift end, its shift runs to now (its position is now's).

    A truck out of service for the rest of its shift (``off_duty``) broke down on the road
    when it is away from its depot and had not driven home for it (:func:`_home_by`). A
    truck gone from the fleet still goes home. One standing at the depot it left from, now
    another's (listed at another depot since, e.g. in the workshop there), stands there:
    the note that it goes home to its depot as listed now is dropped.
    """
    listed = {v.vehicle_id for v in inventory.vehicles}
    by_ref = {p.vehicle_ref: p for p in progress}
    routes = {r.vehicle_ref: r for r in day.plan.routes}
    vehicles, notes, homing = [], [], []
    for v in built.problem.vehicles:
        p = by_ref.get(v.ref)
        if (
            v.off_duty
            and v.ref in listed
            and p is not None
            and p.location != v.end
            and not _home_by(routes.get(v.ref), v, p, inventory, max(now_s, p.time_s), day)
        ):
            loaded = p.volume_l > 0 or p.weight_kg > 0
            lo, hi = v.shift_s  # its day ends where it stands, now at the latest: past its
            shift = (lo, max(hi, now_s))  # shift end, its route ended before it stood there
            v = dataclasses.replace(v, end=p.location, comes_back_loaded=loaded, shift_s=shift)
            notes.append(_stranded_note(v.ref, p, built))
            homing.append(f": {_goes_home(v.ref)}")  # not a ref ending in its own
        vehicles.append(v)
    problem = dataclasses.replace(built.problem, vehicles=tuple(vehicles))
    kept = [n for n in built.notes if not n.endswith(tuple(homing))] if homing else built.notes
    return dataclasses.replace(built, problem=problem, notes=(*kept, *notes))


def _home_by(
    route: Route | None,
    v: VehicleSpec,
    p: Progress,
    inventory: Inventory,
    at_s: int,
    day: DayPlan,
) -> bool:
    """Whether truck ``v`` drove home for its downtime covering ``at_s`` (seconds since
    local midnight): ``route`` (the plan being driven) had it back at its depot by the
    downtime's start, and its progress ``p`` reports all the work that plan gave it (a
    workshop slot the plan knew). With work left it was on the road."""
    if route is None or route.visits[-1].location != v.end:
        return False
    if sum(x.kind in WORK for x in route.visits) > len(p.done):
        return False
    at = day.at(at_s)
    starts = [
        day.seconds(d.start)
        for d in inventory.downtimes
        if d.vehicle_id == v.ref and d.covers(at, at + timedelta(seconds=1))
    ]
    return bool(starts) and route.visits[-1].arrival_s <= min(starts)


def _stranded_note(ref: str, p: Progress, built: BuiltProblem) -> str:
    """Where truck ``ref`` stands (progress ``p``) and what it carries, for people."""
    kind = built.point_kinds[p.location]
    where = "its reported position" if kind == "truck" or not p.done else p.done[-1]
    if kind == "depot":  # e.g. in the workshop at a depot it is no longer listed at
        where = f"depot {built.point_refs[p.location]}"
    load = f"with {p.volume_l} l / {p.weight_kg} kg on board"
    return (
        f"{ref} stands where it was last reported ({where}): its route ends there, "
        f"{load if p.volume_l or p.weight_kg else 'empty'}"
    )


def _cannot_unload(problem: Problem, progress: Sequence[Progress], now_s: int) -> set[str]:
    """The trucks carrying waste (``progress``) that can reach no disposal site taking every
    one of their streams (where the engines and the checker let them unload:
    ``optimiser.screen.usable_sites``) and start unloading there before it closes and,
    waiting for it to open, before their shift ends, from where they are. An empty truck
    is left out: it takes no bin it could not unload, as before. A site open only after a
    truck's shift (a site on a street trucks may drive at night only) counted, which the
    truck's shift does not allow."""
    dur = problem.matrix.duration_s
    loaded = {p.vehicle_ref: p for p in progress if p.volume_l > 0 or p.weight_kg > 0}
    out = set()
    for v in problem.vehicles:
        if v.ref not in loaded:
            continue
        row, t = loaded[v.ref].location, max(loaded[v.ref].time_s, now_s)
        if not any(_unloads(t + int(dur[row, s.location]), s, v) for s in usable_sites(problem, v)):
            out.add(v.ref)
    return out


def _unloads(arrival_s: int, site: Site, v: VehicleSpec) -> bool:
    """Whether truck ``v`` arriving at ``site`` at ``arrival_s`` starts unloading there
    before it closes: at once, or waiting for it to open before its shift ends (one past
    its shift end already unloads on arrival, and goes home: a shift it overruns)."""
    start = max(arrival_s, site.window_s[0])
    return start <= site.window_s[1] and start <= max(v.shift_s[1], arrival_s)


def _goes_home(ref: str) -> str:
    """The end of :func:`_home_now`'s note of truck ``ref`` out, going home to its depot
    as listed now (dropped by :func:`_stranded` when it stands elsewhere)."""
    return f"{ref} goes home there at the end of its day"
