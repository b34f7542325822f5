"""Screening before a solve: stops no truck can serve at all are reported, not solved.

A stop is unservable when no vehicle takes its stream, when it is larger or heavier than
every such truck (or its daily limit), when every such truck is out of service for the rest
of the day (``VehicleSpec.off_duty`` with no stop left) or its shift is over, or when no
such truck can reach it within its window and still get back (via a disposal site when
trucks must return empty) within the shift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from optimiser.plan import Unserved, UnservedKind, clock, span
from optimiser.problem import CLOSED_ALL_DAY_S, Problem, Site, Stop, VehicleSpec, takes

NO_WINDOW_HI = 10**9


def usable_sites(problem: Problem, vehicle: VehicleSpec) -> tuple[Site, ...]:
    """Disposal sites where ``vehicle`` may unload: those taking every stream it collects."""
    return tuple(s for s in problem.sites if vehicle.streams <= s.streams)


def needs_disposal(problem: Problem, v: VehicleSpec | None = None) -> bool:
    """Whether trucks (truck ``v``, when given) must unload before returning to the depot."""
    return bool(problem.sites) and problem.return_empty and not (v and v.comes_back_loaded)


def _fits(stop: Stop, v: VehicleSpec) -> bool:
    if stop.volume_l > v.capacity_l or stop.weight_kg > v.capacity_kg:
        return False
    if v.max_daily_l is not None and stop.volume_l > v.max_daily_l - v.initial_daily_l:
        return False
    return not (v.max_daily_kg is not None and stop.weight_kg > v.max_daily_kg - v.initial_daily_kg)


def _return_times(
    problem: Problem, v: VehicleSpec, locs: np.ndarray, done: np.ndarray
) -> np.ndarray:
    """Earliest return to the end depot after finishing at ``locs`` at times ``done``."""
    dur = problem.matrix.duration_s
    if not needs_disposal(problem, v):
        direct: np.ndarray = done + dur[locs, v.end]
        return direct
    best = np.full(len(locs), np.iinfo(np.int64).max // 4, dtype=np.int64)
    for site in usable_sites(problem, v):
        at_site = np.maximum(done + dur[locs, site.location], site.window_s[0])
        back = at_site + site.unload_s + dur[site.location, v.end]
        best = np.where(at_site <= site.window_s[1], np.minimum(best, back), best)
    return best


def _leaves_s(v: VehicleSpec) -> int:
    """When truck ``v`` may leave: its shift start, or later when it is ready later (a
    plan made during the day, a truck on the road)."""
    return max(v.shift_s[0], v.ready_s if v.ready_s is not None else v.shift_s[0])


def reachable(problem: Problem, v: VehicleSpec, stops: tuple[Stop, ...]) -> np.ndarray:
    """Boolean mask: which ``stops`` truck ``v`` can serve alone within windows and shift."""
    if not stops:
        return np.zeros(0, dtype=bool)
    locs = np.array([s.location for s in stops], dtype=np.int64)
    lo = np.array([s.window_s[0] if s.window_s else 0 for s in stops], dtype=np.int64)
    hi = np.array([s.window_s[1] if s.window_s else NO_WINDOW_HI for s in stops], dtype=np.int64)
    service = np.array([s.service_s for s in stops], dtype=np.int64)
    begin = np.maximum(_leaves_s(v) + problem.matrix.duration_s[v.start, locs], lo)
    back = _return_times(problem, v, locs, begin + service)
    fits: np.ndarray = (begin <= hi) & (back <= v.shift_s[1])
    return fits


def out_of_service(v: VehicleSpec) -> bool:
    """Whether truck ``v`` takes no more stops today: out of service (or gone from the
    fleet) for the rest of the day, with no stop left (``off_duty``, ``max_stops`` 0)."""
    return v.off_duty and v.max_stops == 0


def _reason(
    problem: Problem, stop: Stop, by_stream: list[VehicleSpec], fits: list[VehicleSpec]
) -> Unserved:
    """``stop`` unserved with the first of these that holds, by kind: no truck takes it
    (its stream, or no site takes its trucks' streams), none is big enough, every one is
    out of service or its shift over (every shift over), its window is over before any
    leaves, the sites are closed after it, no truck reaches it in its window and is home in
    its shift."""
    if not by_stream:
        return _no_truck(problem, stop)
    if not fits:
        why = (
            f"{stop.volume_l} l / {stop.weight_kg} kg exceeds the capacity (or daily limit) "
            f"of every truck taking stream {stop.stream!r}"
        )
        return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.TOO_BIG)
    out = [v for v in fits if out_of_service(v)]
    working = [v for v in fits if not out_of_service(v)]
    over = [v for v in working if _leaves_s(v) >= v.shift_s[1]]
    if len(over) == len(working):
        ends = ", ".join(f"{v.ref} ends {clock(v.shift_s[1])}" for v in over)
        if not out:
            why = (
                f"the shift of every truck taking stream {stop.stream!r} is over when the "
                f"plan starts ({ends}); collect it on another day"
            )
            return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.SHIFTS_OVER)
        why = (
            f"every truck taking stream {stop.stream!r} is out of service for the rest of "
            f"the day ({', '.join(v.ref for v in out)})"
            + (f" or its shift is over when the plan starts ({ends})" if over else "")
            + ": none can collect it today"
        )
        return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.OUT_OF_SERVICE)
    if stop.window_s is not None and all(stop.window_s[1] < _leaves_s(v) for v in working):
        lo, hi = stop.window_s
        leaves = ", ".join(f"{v.ref} {clock(_leaves_s(v))}" for v in working)
        why = (
            f"its time window {clock(lo)}-{clock(hi)} is over before any truck taking stream "
            f"{stop.stream!r} can leave ({leaves}); widen the window or start a shift earlier"
        )
        return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.WINDOW_OR_SHIFT)
    closed = _sites_closed(problem, stop, working)
    if closed:
        why = (
            "no truck can unload after it before its shift ends: the disposal sites taking "
            f"its load are closed then ({closed}); widen their opening hours or a shift"
        )
        return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.SITES_CLOSED)
    drive_s = min(int(problem.matrix.duration_s[v.start, stop.location]) for v in working)
    why = (
        "no truck can reach it within its time window and return within its shift "
        f"(the nearest truck is {span(drive_s)} away)"
    )
    return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.WINDOW_OR_SHIFT)


def _sites_closed(problem: Problem, stop: Stop, fits: list[VehicleSpec]) -> str:
    """The usable sites, with their opening hours, when only their hours keep ``stop`` from
    the trucks ``fits``: one of them reaches it in its window and, were a site it may unload
    at open, would unload there and be home in its shift (``""`` otherwise)."""
    dur = problem.matrix.duration_s
    lo, hi = stop.window_s if stop.window_s else (0, NO_WINDOW_HI)
    blocked = []
    for v in fits:
        begin = max(_leaves_s(v) + int(dur[v.start, stop.location]), lo)
        done = begin + stop.service_s
        if not needs_disposal(problem, v) or begin > hi:
            continue
        if any(
            done + dur[stop.location, s.location] + s.unload_s + dur[s.location, v.end]
            <= v.shift_s[1]
            for s in usable_sites(problem, v)
        ):
            blocked.append(v)
    sites = {s.ref: s for v in blocked for s in usable_sites(problem, v)}
    return ", ".join(f"{ref} {_hours(s)}" for ref, s in sorted(sites.items()))


def _hours(site: Site) -> str:
    """``06:00-22:00``, or ``closed all day`` (:data:`CLOSED_ALL_DAY_S`)."""
    if site.window_s == CLOSED_ALL_DAY_S:
        return "closed all day"
    return f"{clock(site.window_s[0])}-{clock(site.window_s[1])}"


def no_truck_takes(stream: str, ref: str) -> str:
    """Why bin ``ref`` of ``stream`` is unserved when no truck collects that stream, naming
    the bin and the fix."""
    return (
        f"no truck takes stream {stream!r} of bin {ref}: add the stream to a truck's streams, "
        "or correct the bin's stream"
    )


def no_taker(problem: Problem, stop: Stop) -> Unserved | None:
    """``stop`` unserved when no truck may empty it (``takes``): none collects its stream
    (``STREAM``: add or fix a truck), or none of those has the equipment it needs
    (``EQUIPMENT``); None when one may."""
    by_stream = [v for v in problem.vehicles if stop.stream in v.streams]
    if not by_stream:
        trucks = [(v.ref, v.streams) for v in problem.vehicles]
        why = no_truck_takes(stop.stream, stop.ref) + _spelt_otherwise(
            trucks, {stop.stream}, "the bins and the trucks"
        )
        return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.STREAM)
    if any(takes(v, stop) for v in by_stream):
        return None
    needs = ", ".join(sorted(stop.needs))
    have = "; ".join(
        f"{v.ref} has {', '.join(sorted(v.equipment)) or 'none'}" for v in by_stream[:3]
    )
    why = (
        f"no truck taking stream {stop.stream!r} has the equipment bin {stop.ref} needs "
        f"({needs}; {have}{'; ...' if len(by_stream) > 3 else ''}): add it to a truck's "
        "equipment, or correct the bin's needs (names must match exactly)"
    )
    return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.EQUIPMENT)


def _no_truck(problem: Problem, stop: Stop) -> Unserved:
    """``stop`` unserved as no truck takes it: none may empty it (:func:`no_taker`), or
    those that may have no disposal site taking every stream they collect (``NO_SITE``, a
    truck's load mixes its streams: add a site)."""
    none = no_taker(problem, stop)
    if none is not None:
        return none
    takers = [v for v in problem.vehicles if takes(v, stop)]
    v = takers[0]
    sites = [(s.ref, s.streams) for s in problem.sites]
    why = (
        f"no truck taking stream {stop.stream!r} can unload: no disposal site takes every "
        f"stream {v.ref} collects ({', '.join(sorted(v.streams))}); add a site that does, or "
        f"give the truck fewer streams"
        + (f" (also {', '.join(t.ref for t in takers[1:])})" if len(takers) > 1 else "")
        + _spelt_otherwise(sites, v.streams, "the trucks and the sites")
    )
    return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.NO_SITE)


def _spelt_otherwise(
    takers: Sequence[tuple[str, frozenset[str]]], streams: Iterable[str], where: str
) -> str:
    """`` (t2 takes 'Paper': ...)`` when one of ``takers`` (ref, streams: trucks or sites)
    takes one of ``streams`` spelt in another case or with other spaces, which does not
    count (the names must match exactly), else ``""``."""
    keys = {" ".join(s.lower().split()): s for s in streams}
    for ref, names in takers:
        for name in sorted(names):
            meant = keys.get(" ".join(name.lower().split()))
            if meant is not None and meant not in names:
                return (
                    f" ({ref} takes {name!r}, not {meant!r}: stream names must match exactly; "
                    f"write them alike in {where})"
                )
    return ""


def unservable(problem: Problem) -> dict[str, str]:
    """Refs of stops no single truck can serve, with the reason."""
    return {ref: u.reason for ref, u in unservable_stops(problem).items()}


def unservable_stops(problem: Problem) -> dict[str, Unserved]:
    """Refs of stops no single truck can serve, each unserved with its reason and kind."""
    masks = {v.ref: reachable(problem, v, problem.stops) for v in problem.vehicles}
    can_unload = {v.ref: bool(usable_sites(problem, v)) for v in problem.vehicles}
    out: dict[str, Unserved] = {}
    for i, stop in enumerate(problem.stops):
        by_stream = [
            v
            for v in problem.vehicles
            if takes(v, stop) and (can_unload[v.ref] or not needs_disposal(problem, v))
        ]
        fits = [v for v in by_stream if _fits(stop, v)]
        if not any(masks[v.ref][i] for v in fits if not out_of_service(v)):
            out[stop.ref] = _reason(problem, stop, by_stream, fits)
    return out


def open_sites(problem: Problem) -> tuple[Site, ...]:
    """The disposal sites that open before the last shift ends (a site opening later, e.g.
    an evening-only transfer station, can take no truck today)."""
    last = max(v.shift_s[1] for v in problem.vehicles)
    return tuple(s for s in problem.sites if s.window_s[0] <= last)


def screen(problem: Problem) -> tuple[Problem, tuple[Unserved, ...]]:
    """Split off the stops no truck can serve, and leave aside the sites no truck can use.

    Returns
    -------
    (Problem, tuple of Unserved)
        The problem without those stops and sites, and the stops with the reason.
    """
    bad = unservable_stops(problem)  # with every site: a closed one still blocks a return empty
    sites = open_sites(problem)
    if not bad and len(sites) == len(problem.sites):
        return problem, ()
    kept = tuple(s for s in problem.stops if s.ref not in bad)
    reduced = dataclasses.replace(problem, stops=kept, sites=sites)
    return reduced, tuple(bad.values())
