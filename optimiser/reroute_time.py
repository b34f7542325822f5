"""A reroute's breaks and shift ends: a break being taken, had, owed or taken late, and
trucks that can no longer be back by their shift end (:func:`optimiser.reroute.reroute`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from optimiser.check import check_route, time_route
from optimiser.plan import (
    Plan,
    Progress,
    Route,
    Visit,
    VisitKind,
    clock,
)
from optimiser.problem import Problem, VehicleSpec, day_start
from optimiser.reroute_done import _cut
from optimiser.screen import needs_disposal, usable_sites


def _on_break(
    route: Route | None, prefix: Sequence[Visit], prog: Progress | None
) -> list[Visit] | None:
    """The BREAK visit of ``route`` (the plan being driven) the truck is on now, after the
    waypoints before it: planned right after its visits done (``prefix``, no break in it),
    started by ``prog.time_s`` and not over, the truck standing where the plan has it take
    it. None otherwise (the truck moved on, or is not out). The service learns of a break
    only from the plan: a truck reported there then is on it, and the rest of its day
    starts at its end; without this the break was dropped, the truck sent on mid-break
    (and, its window closed, the day broke the break rule). The waypoints (a truck
    reported there, with the load measured, by an earlier reroute) stay before the break:
    without them the break carried their load after the visits done, not the loads those
    left, and the checker rejected the day."""
    if route is None or prog is None or not prefix:
        return None
    if any(x.kind is VisitKind.BREAK for x in prefix):
        return None
    cut = _cut(route, len(prog.done))
    rest = route.visits[cut:]
    k = next((i for i, x in enumerate(rest) if x.kind is not VisitKind.WAYPOINT), None)
    if k is None or rest[k].kind is not VisitKind.BREAK:
        return None
    here = [x.location for x in route.visits[: cut + k] if x.location is not None]
    if not rest[k].start_s <= prog.time_s < rest[k].end_s or here[-1] != prog.location:
        return None
    return list(rest[: k + 1])


def _rested(
    v: VehicleSpec, prefix: Sequence[Visit], prog: Progress | None, duration_s: np.ndarray
) -> list[Visit] | None:
    """``prefix`` with the break a truck on the road took while it waited, if it owes one,
    can no longer start it (its window closed before now), and stood still long enough
    inside the window at some point of its day done: before it set out for a visit (its
    drive there, by ``duration_s``, aside: e.g. a wait before an earlier reroute sent it out
    again), at a visit from its arrival until it began (e.g. for the bin's hours to open),
    or since its last visit done (the drive from it to where the truck is reported aside:
    a truck reported 30 minutes after its last unload, 7 minutes' drive away, did not
    stand still for a 30-minute break). The earliest such wait; None when there is none."""
    if prog is None or not prefix or prog.break_taken or v.break_taken or v.break_s <= 0:
        return None
    if v.break_window_s is None or any(x.kind is VisitKind.BREAK for x in prefix):
        return None
    lo, hi = v.break_window_s
    if prog.time_s <= hi:
        return None
    located = [(i, x) for i, x in enumerate(prefix) if x.location is not None]
    waits = [
        wait
        for (_, x), (j, y) in itertools.pairwise(located)
        for wait in (
            (j, x.end_s, y.arrival_s - int(duration_s[x.location, y.location])),
            (j, y.arrival_s, y.start_s),
        )
    ]
    drive = int(duration_s[located[-1][1].location, prog.location]) if located else 0
    waits.append((len(prefix), prefix[-1].end_s, prog.time_s - drive))
    for at, free_lo, free_hi in waits:
        start = max(free_lo, lo)
        if start <= hi and start + v.break_s <= free_hi:
            brk = dataclasses.replace(
                prefix[at - 1],
                kind=VisitKind.BREAK,
                ref=v.ref,
                location=None,
                arrival_s=start,
                start_s=start,
                end_s=start + v.break_s,
            )
            return [*prefix[:at], brk, *prefix[at:]]
    return None


def _must_move(problem: Problem, v: VehicleSpec) -> bool:
    """Whether the truck has to drive somewhere (it is away from its end depot, or carries
    waste it must unload first)."""
    return v.start != v.end or (v.starts_loaded and needs_disposal(problem, v))


def _soonest_return(problem: Problem, v: VehicleSpec) -> int:
    """When truck ``v`` can be back at its end depot at the soonest, seconds: straight home,
    or via the usable site that gets it home first (within the site's hours, when one
    can) when it carries waste it must unload."""
    if not (v.starts_loaded and needs_disposal(problem, v)):
        return time_route(problem, v, []).visits[-1].end_s
    ends = []
    for site in usable_sites(problem, v):
        route = time_route(problem, v, [site.ref])
        unload = next(x for x in route.visits if x.kind is VisitKind.DISPOSAL)
        ends.append((unload.start_s > site.window_s[1], route.visits[-1].end_s))
    return min(ends)[1] if ends else time_route(problem, v, []).visits[-1].end_s


def _late_returns(problem: Problem) -> tuple[Problem, tuple[str, ...]]:
    """The residual ``problem`` with the shift of each truck that cannot be back in time
    stretched to its soonest return (straight home, unloading first when loaded), and a
    note per such truck. Without it, one late truck left no plan for the whole fleet. So
    too a truck out today reported after its shift end where it ends its day (at its
    depot, nothing to unload, or a load no site takes): its day ends then, not at its
    shift end, before now. A truck with no visit done that carries waste (a bin its crew
    emptied off its route) was out today too."""
    vehicles, notes = [], []
    for v in problem.vehicles:
        out = v.departed_s is not None or v.starts_loaded
        late = out and (v.ready_s or 0) > v.shift_s[1]
        if _must_move(problem, v) or late:
            home = _soonest_return(problem, v)
            if home > v.shift_s[1]:
                notes.append(
                    f"{v.ref} cannot be back at its depot by its shift end "
                    f"({clock(v.shift_s[1])}): the soonest is {clock(home)}, with no more bins"
                )
                v = dataclasses.replace(v, shift_s=(v.shift_s[0], home))
        vehicles.append(v)
    return dataclasses.replace(problem, vehicles=tuple(vehicles)), tuple(notes)


LATE_BREAK = "breaks the break rule"


def _late_breaks(problem: Problem) -> tuple[Problem, tuple[str, ...]]:
    """The residual ``problem`` with each loaded truck that can no longer both unload in a
    site's hours and start its break in its window (each way via a site it may use breaks
    a rule; a site cannot be kept late, a break can) given its break after unloading, its
    window stretched to the soonest it can start then; or, when that break would keep it
    past its shift end, none (its day ends after unloading). A note per such truck: the
    checker, on the day's problem, still reports the break rule broken. Without it, no plan
    went on from the trucks' positions: the plan being driven stood, and that truck went
    home loaded."""
    vehicles, notes = [], []
    for v in problem.vehicles:
        late = _late_break(problem, v)
        if late is not None:
            notes.append(_late_break_note(v, late))
            v = late
        vehicles.append(v)
    return dataclasses.replace(problem, vehicles=tuple(vehicles)), tuple(notes)


def _late_break_note(v: VehicleSpec, late: VehicleSpec) -> str:
    """What :func:`_late_breaks` did to truck ``v`` (``late``: as the search has it)."""
    hi = clock((v.break_window_s or late.shift_s)[1])
    said = f"{v.ref} cannot both unload in a site's hours and start its break by {hi}"
    if late.break_taken:
        return f"{said}: it unloads and ends its day without it, so its day {LATE_BREAK}"
    at = clock((late.break_window_s or late.shift_s)[1])
    return f"{said}: it unloads first and starts its break by {at}, so its day {LATE_BREAK}"


def _breaks_taken_late(full: Problem, prefixes: Mapping[str, Sequence[Visit]]) -> list[str]:
    """A note per truck whose visits done (``prefixes``, a break it is on now included)
    have a break started outside its break window: one an earlier reroute gave it after
    unloading (:func:`_late_breaks`). It stands as taken, and its day breaks the break
    rule; without this only the plan that gave it said why."""
    out = []
    for v in full.vehicles:
        if v.break_window_s is None:
            continue
        lo, hi = v.break_window_s
        out += [
            f"{v.ref} took its break at {clock(b.start_s)}, outside its break window "
            f"({clock(lo)}-{clock(hi)}): its day {LATE_BREAK}"
            for b in prefixes.get(v.ref, ())
            if b.kind is VisitKind.BREAK and not lo <= b.start_s <= hi
        ]
    return out


def _late_break(problem: Problem, v: VehicleSpec) -> VehicleSpec | None:
    """Truck ``v`` (loaded, its break still to take) with its break after unloading at a
    site it may use (its window ending at the soonest it can start then), or with none when
    that break would keep it past its shift end, when no way via a site keeps its break
    window and one of those does; None otherwise (no break due, nothing to unload, a way
    keeps every rule, or none keeps the others either)."""
    if v.break_s <= 0 or v.break_taken or v.break_window_s is None:
        return None
    if not (v.starts_loaded and needs_disposal(problem, v)):
        return None
    sites = usable_sites(problem, v)
    if not sites or any(_valid_way(problem, v, site.ref) for site in sites):
        return None
    wide = dataclasses.replace(v, break_window_s=(v.break_window_s[0], max(v.shift_s)))
    starts = []
    for site in sites:
        way = time_route(problem, wide, [site.ref])
        if not check_route(problem, wide, way):
            starts += [x.start_s for x in way.visits if x.kind is VisitKind.BREAK]
    if starts:
        return dataclasses.replace(v, break_window_s=(v.break_window_s[0], min(starts)))
    none = dataclasses.replace(v, break_taken=True)
    return none if any(_valid_way(problem, none, site.ref) for site in sites) else None


def _valid_way(problem: Problem, v: VehicleSpec, site_ref: str) -> bool:
    """Whether truck ``v``'s way home via site ``site_ref``, timed, keeps every rule."""
    return not check_route(problem, v, time_route(problem, v, [site_ref]))


def _owed_breaks(full: Problem, plan: Plan, progs: Mapping[str, Progress]) -> tuple[str, ...]:
    """A note per truck whose day in ``plan`` breaks the break rule because it was
    reported after its break window closed without its break (none taken, none planned
    before now, no wait long enough in the window: :func:`_rested`), its day begun before
    the window and going on past its end: no break can be placed any more. Also when a
    wait since its last visit done was taken for the break but the plan it finished and
    keeps has no room for it (:func:`_with_rest`; seed 233 of a service-day fuzz). The
    checker still reports it; the note says why."""
    out = []
    for v in full.vehicles:
        prog = progs.get(v.ref)  # taken or not, its route has no break (below)
        if prog is None or v.break_taken or v.break_s <= 0:
            continue
        if v.break_window_s is None or prog.time_s <= v.break_window_s[1]:
            continue
        route = next((r for r in plan.routes if r.vehicle_ref == v.ref), None)
        if route is None or not route.used:
            continue
        if any(x.kind is VisitKind.BREAK for x in route.visits):
            continue
        lo, hi = v.break_window_s
        start, end = day_start(v, route.visits[0].start_s), route.visits[-1].end_s
        if start < lo + v.break_s and end > hi:
            out.append(
                f"{v.ref} was reported at {clock(prog.time_s)}, after its break window "
                f"({clock(lo)}-{clock(hi)}), without its break: its day to {clock(end)} "
                f"{LATE_BREAK} (no break can be placed any more)"
            )
    return tuple(out)
