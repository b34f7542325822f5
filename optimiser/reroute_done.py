"""What a truck did before a reroute: its visits done, where it set out from, its loads,
and the rest of its route as the residual problem starts it (:func:`optimiser.reroute.reroute`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from optimiser.errors import InvalidProblemError
from optimiser.plan import (
    Progress,
    Route,
    Visit,
    VisitKind,
)
from optimiser.problem import Problem, VehicleSpec

WORK = (VisitKind.BIN, VisitKind.DISPOSAL)


def visits_done(route: Route, done: int) -> list[Visit]:
    """The first ``done`` bin and disposal visits of ``route``: those its truck reports done
    (a progress's ``done``), as planned."""
    return [v for v in route.visits if v.kind in WORK][:done]


def _cut(route: Route, done: int) -> int:
    """The index in ``route.visits`` just after its ``done``-th bin or disposal visit (its
    last visit done); 1, after its start, when it has done none."""
    work = [i for i, v in enumerate(route.visits) if v.kind in WORK]
    return work[done - 1] + 1 if done else 1


def _prefix(route: Route | None, prog: Progress, problem: Problem) -> list[Visit]:
    """The visits done, as planned (START included), with a break visit only if taken (one
    not taken leaves no wait: :func:`without_breaks`)."""
    if route is None:
        return _unplanned(prog)
    refs = tuple(v.ref for v in route.visits if v.kind in WORK)
    if refs[: len(prog.done)] != prog.done:
        raise InvalidProblemError(
            f"progress of vehicle {prog.vehicle_ref!r}: done refs {prog.done} are not the start "
            f"of its planned route {refs[: len(prog.done) + 2]}...; report progress along the "
            "plan"
        )
    start = next((v.start for v in problem.vehicles if v.ref == prog.vehicle_ref), None)
    if not prog.done and prog.location in (route.visits[0].location, start):
        return []  # at its depot (as planned, or as listed now): it starts from scratch
    cut = _cut(route, len(prog.done))
    visits = list(route.visits[:cut])
    if not prog.done:  # out before its planned departure, maybe: it set out by now
        visits[0] = _set_out_by(visits[0], prog.time_s)
    brk = [v for v in route.visits[cut:] if v.kind is VisitKind.BREAK and v.end_s <= prog.time_s]
    if not prog.break_taken:
        return without_breaks(visits, problem)
    return visits + brk


def _unplanned(prog: Progress) -> list[Visit]:
    """The visits done of a truck with no route in the plan: none (work done raises)."""
    if prog.done:
        raise InvalidProblemError(
            f"progress of vehicle {prog.vehicle_ref!r}: it has done {prog.done[:3]} but the "
            "plan has no route for it"
        )
    return []


def without_breaks(visits: Sequence[Visit], problem: Problem) -> list[Visit]:
    """A route's ``visits`` done, with the break the truck did not take dropped.

    The bins and unloadings after it come as early as they could: each when the visit
    before it ends plus the drive (``problem.matrix.duration_s``, seconds), or when its
    window opens (its stop's or site's ``window_s``; an unloading also not before the
    site's record it was made under holds, ``Site.since_s``), never later than planned. A
    WAYPOINT (where and when the truck was reported) and a visit of a stop ``problem``
    does not list keep their times. Without this the break's time stayed in the day as a
    wait: :func:`_rested` took it for the break, and a window that closed since (a site
    closed at 10:57) caught a visit timed after the break that was done before it. Without
    ``since_s``, an unloading at a site's new place came before the site moved.
    """
    stops, sites = problem.stops_by_ref(), problem.sites_by_ref()
    out: list[Visit] = []
    dropped, row = False, None  # a break dropped yet; the row the truck is at
    for x in visits:
        if x.kind is VisitKind.BREAK:
            dropped = True
            continue
        opens: int | None = None
        if x.kind is VisitKind.BIN and x.ref in stops:
            opens = (stops[x.ref].window_s or (0, 0))[0]
        elif x.kind is VisitKind.DISPOSAL and x.ref in sites:
            made = sites[x.ref].at(x.start_s)  # the record it was made under holds from since_s
            opens = max(made.window_s[0], made.since_s)
        if dropped and opens is not None and row is not None and x.location is not None:
            arrival = out[-1].end_s + int(problem.matrix.duration_s[row, x.location])
            start = max(arrival, opens)
            if start < x.start_s:
                x = dataclasses.replace(
                    x, arrival_s=arrival, start_s=start, end_s=start + x.end_s - x.start_s
                )
        out.append(x)
        row = x.location if x.location is not None else row
    return out


def _set_out(v: VehicleSpec, prog: Progress, duration_s: np.ndarray) -> list[Visit]:
    """The visits done of truck ``v`` with no route in the plan being driven (e.g. it joined
    the fleet since): none when it is at its start, else its START at its depot, left by
    ``prog.time_s`` (by its shift start, or as late as the drive to where it is allows):
    reported elsewhere with nothing done, it set out from there. Without it, its day began
    with a START at its reported position, which the checker rejects."""
    if prog.done or prog.location == v.start:
        return _unplanned(prog)
    drive = int(duration_s[v.start, prog.location])
    left = min(max(v.shift_s[0], prog.time_s - drive), prog.time_s)
    volume_l, weight_kg, daily_l, daily_kg = _loads(v)
    start = Visit(
        kind=VisitKind.START,
        ref=v.ref,
        location=v.start,
        arrival_s=left,
        start_s=left,
        end_s=left,
        volume_l=volume_l,
        weight_kg=weight_kg,
        daily_l=daily_l,
        daily_kg=daily_kg,
    )
    return [start]


def _set_out_by(start: Visit, time_s: int) -> Visit:
    """The START visit ``start``, leaving by ``time_s`` at the latest (a truck reported
    elsewhere then, with nothing of its route done, left its depot sooner than planned)."""
    if start.end_s <= time_s:
        return start
    return dataclasses.replace(
        start,
        arrival_s=min(start.arrival_s, time_s),
        start_s=min(start.start_s, time_s),
        end_s=time_s,
    )


def _done(prog: Progress | None) -> tuple[str, ...]:
    return prog.done if prog is not None else ()


def _rest(route: Route | None, prog: Progress | None) -> list[str]:
    if route is None:
        return []
    work = [v.ref for v in route.visits if v.kind in WORK]
    return work[len(prog.done) :] if prog is not None else work


def _residual_vehicle(
    v: VehicleSpec,
    prog: Progress | None,
    now: int,
    bins_done: int,
    prefix: Sequence[Visit] = (),
) -> VehicleSpec:
    if prog is None:
        return dataclasses.replace(v, ready_s=max(now, v.shift_s[0]))
    return dataclasses.replace(
        v,
        start=prog.location,
        ready_s=prog.time_s,
        departed_s=prefix[0].start_s if prefix else None,  # out since then: the break rule
        initial_volume_l=prog.volume_l,
        initial_weight_kg=prog.weight_kg,
        initial_daily_l=prog.daily_l,
        initial_daily_kg=prog.daily_kg,
        break_taken=prog.break_taken or v.break_s == 0 or _past_window(v, prog),
        fixed_cost=0 if prog.done or prog.location != v.start else v.fixed_cost,  # out: paid
        max_stops=None if v.max_stops is None else max(v.max_stops - bins_done, 0),
    )


def _past_window(v: VehicleSpec, prog: Progress) -> bool:
    """Whether truck ``v`` was reported after its break window closed: a break it owes
    then can no longer be placed, so the rest of its day is planned as if taken (the
    break rule would otherwise reject every rest, even the way home, and with them the
    warm start and the bins it could still empty); the day is noted
    (:func:`_owed_breaks`)."""
    return v.break_window_s is not None and prog.time_s > v.break_window_s[1]


def _loads(x: Visit | VehicleSpec | Progress) -> tuple[int, int, int, int]:
    """(volume l, weight kg, daily l, daily kg): on board after a visit, at the start, now."""
    if isinstance(x, VehicleSpec):
        return x.initial_volume_l, x.initial_weight_kg, x.initial_daily_l, x.initial_daily_kg
    return x.volume_l, x.weight_kg, x.daily_l, x.daily_kg
