"""Timing a decoded route without ``pyvrp``: the earliest-start schedule of its steps, the
driver's break placed in the gap that meets every window and ends earliest, the final
unloading's site chosen on time, and the routes of trucks the search gave no stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optimiser._pyvrp.terms import OPEN_T, _break_due, _unit_costs
from optimiser.costs import route_cost
from optimiser.plan import Route, Visit, VisitKind
from optimiser.problem import Problem, Site, VehicleSpec, day_start
from optimiser.screen import needs_disposal, usable_sites


@dataclass(frozen=True, slots=True)
class _Step:
    """A visit to schedule: what, where, how long, and its start window."""

    kind: VisitKind
    ref: str
    location: int
    service_s: int
    window: tuple[int, int]
    volume_l: int = 0
    weight_kg: int = 0


def _empty_route(v: VehicleSpec) -> Route:
    """Truck ``v`` staying where it starts, with what it carries and has collected today."""
    t = v.ready_s if v.ready_s is not None else v.shift_s[0]
    loads = {
        "volume_l": v.initial_volume_l,
        "weight_kg": v.initial_weight_kg,
        "daily_l": v.initial_daily_l,
        "daily_kg": v.initial_daily_kg,
    }
    visits = tuple(
        Visit(kind=kind, ref=v.ref, location=at, arrival_s=t, start_s=t, end_s=t, **loads)
        for kind, at in ((VisitKind.START, v.start), (VisitKind.END, v.end))
    )
    return Route(vehicle_ref=v.ref, visits=visits, distance_m=0, duration_s=0, cost=0)


def _timed_route(v: VehicleSpec, timed: _Timed) -> Route:
    """The plan's route of a timed schedule, costed as :func:`optimiser.costs.route_cost`."""
    duration = timed.end_s - timed.visits[0].start_s
    used = any(x.kind in (VisitKind.BIN, VisitKind.DISPOSAL) for x in timed.visits)
    return Route(
        vehicle_ref=v.ref,
        visits=tuple(timed.visits),
        distance_m=timed.distance_m,
        duration_s=duration,
        cost=route_cost(v, distance_m=timed.distance_m, duration_s=duration, used=used),
    )


def _idle_timed(problem: Problem, v: VehicleSpec) -> _Timed | None:
    """The schedule of a truck the search gave no stop (PyVRP leaves it out of the
    solution); None for a truck that stays where it is.

    A truck waiting empty at its end depot stays there. Otherwise (rerouting: a truck on
    the road, or one carrying waste) it drives to its end depot when it is ready, unloading
    at the best usable site first when it carries waste and ``return_empty`` holds; its
    lateness counts as the searched routes' does.
    """
    sites = list(usable_sites(problem, v))
    unload = v.starts_loaded and needs_disposal(problem, v)
    if v.start == v.end and not unload:
        return None
    open_window = (0, OPEN_T)
    steps = [_Step(VisitKind.START, v.ref, v.start, 0, open_window)]
    if unload and sites:  # without a usable site the checker reports the load left on board
        steps.append(_Step(VisitKind.DISPOSAL, "", -1, 0, open_window))  # site chosen on time
    steps.append(_Step(VisitKind.END, v.ref, v.end, 0, open_window))
    depart = v.ready_s if v.ready_s is not None else v.shift_s[0]
    return _schedule(problem, v, steps, depart, sites)


def _final_site(problem: Problem, sites: Sequence[Site], v: VehicleSpec, last: int, t: int) -> Site:
    """The site giving the cheapest open ``last -> site -> end`` leg when leaving at ``t``."""
    dist, dur = problem.matrix.distance_m, problem.matrix.duration_s
    c_d, c_t = _unit_costs(v)

    def key(s: Site) -> tuple[bool, int]:
        arrive = t + int(dur[last, s.location])
        late = arrive > s.window_s[1]
        leg_d = int(dist[last, s.location] + dist[s.location, v.end])
        leg_t = max(arrive, s.window_s[0]) - t + s.unload_s + int(dur[s.location, v.end])
        return late, c_d * leg_d + c_t * leg_t

    return min(sites, key=key)


@dataclass(slots=True)
class _Timed:
    visits: list[Visit]
    lateness: int
    end_s: int
    distance_m: int


def _simulate(
    problem: Problem,
    v: VehicleSpec,
    steps: Sequence[_Step],
    depart: int,
    brk_after: int | None,
    sites: Sequence[Site],
) -> _Timed:
    """Earliest-start schedule of ``steps`` with the break after step ``brk_after``."""
    dist, dur = problem.matrix.distance_m, problem.matrix.duration_s
    vol, wt = v.initial_volume_l, v.initial_weight_kg
    day_l, day_kg = v.initial_daily_l, v.initial_daily_kg
    t = depart
    loc = steps[0].location
    visits = [
        Visit(
            kind=VisitKind.START,
            ref=v.ref,
            location=loc,
            arrival_s=t,
            start_s=t,
            end_s=t,
            volume_l=vol,
            weight_kg=wt,
            daily_l=day_l,
            daily_kg=day_kg,
        )
    ]
    lateness = 0
    meters = 0
    for k, step in enumerate(steps[1:], start=1):
        if brk_after is not None and k - 1 == brk_after and v.break_window_s is not None:
            b_start = max(t, v.break_window_s[0])
            lateness += max(0, b_start - v.break_window_s[1])
            visits.append(
                Visit(
                    kind=VisitKind.BREAK,
                    ref=v.ref,
                    location=None,
                    arrival_s=t,
                    start_s=b_start,
                    end_s=b_start + v.break_s,
                    volume_l=vol,
                    weight_kg=wt,
                    daily_l=day_l,
                    daily_kg=day_kg,
                )
            )
            t = b_start + v.break_s
        if step.kind is VisitKind.DISPOSAL and step.location < 0:
            site = _final_site(problem, sites, v, loc, t)
            step = _Step(VisitKind.DISPOSAL, site.ref, site.location, site.unload_s, site.window_s)
        arrive = t + int(dur[loc, step.location])
        meters += int(dist[loc, step.location])
        begin = max(arrive, step.window[0])
        lateness += max(0, begin - step.window[1])
        t = begin + step.service_s
        if step.kind is VisitKind.BIN:
            vol, wt = vol + step.volume_l, wt + step.weight_kg
            day_l, day_kg = day_l + step.volume_l, day_kg + step.weight_kg
        elif step.kind is VisitKind.DISPOSAL:
            vol, wt = 0, 0
        visits.append(
            Visit(
                kind=step.kind,
                ref=step.ref,
                location=step.location,
                arrival_s=arrive,
                start_s=begin,
                end_s=t,
                volume_l=vol,
                weight_kg=wt,
                daily_l=day_l,
                daily_kg=day_kg,
            )
        )
        loc = step.location
    lateness += max(0, t - v.shift_s[1])
    return _Timed(visits, lateness, t, meters)


def _break_optional(v: VehicleSpec, timed: _Timed) -> bool:
    """Whether the route, timed without a break, fits wholly before or after one."""
    assert v.break_window_s is not None
    lo, hi = v.break_window_s
    start = day_start(v, timed.visits[0].start_s)
    return timed.lateness == 0 and (timed.end_s <= hi or start >= lo + v.break_s)


def _schedule(
    problem: Problem, v: VehicleSpec, steps: Sequence[_Step], depart: int, sites: Sequence[Site]
) -> _Timed:
    """The best schedule: none if the route fits before or after the break window, else
    the break in the gap giving no lateness and the earliest end."""
    plain = _simulate(problem, v, steps, depart, None, sites)
    if not _break_due(v) or _break_optional(v, plain):
        return plain
    best: _Timed | None = None
    for gap in range(len(steps) - 1):
        timed = _simulate(problem, v, steps, depart, gap, sites)
        if best is None or (timed.lateness, timed.end_s) < (best.lateness, best.end_s):
            best = timed
    assert best is not None
    return best
