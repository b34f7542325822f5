"""Rerouting on an overflow alert: re-optimise the rest of the day around the trucks' progress.

The residual problem starts each truck where it is (``Progress.location``, a matrix row) at
``Progress.time_s`` with its load; stops already done are removed and the urgent stops are
added as required. The remaining part of the current plan is the warm start, each stop once
(an urgent stop it does not visit yet is inserted where it adds the least travel and the
route stays valid, or with a response target, ``Stop.due_s``, where it is least late; one
no load has room for goes in with an unloading right after it; one that fits nowhere takes
the place of a stop of lower rank, an optional one first (``optimiser.greedy.swap_in``), or
is left out, with a huge drop penalty so that the search inserts it; a
stop the warm start visits after its target is moved sooner where it can be; a required
stop cut from a truck's rest because it no longer fits as planned, e.g. the truck fuller
than planned, is put back where it fits, in that truck's route first, and so is one the
plan being driven left out, where it adds the least travel); the search
keeps a change only if it is strictly cheaper (lateness priced in), so
equal-cost alternatives never move a driver's stops; and when it hands the new routes of
interchangeable trucks (alike but for the ref, e.g. not out yet) to other ones than those
whose bins they carry, they go back to those trucks (same cost). The answer is the full day: each
route's done prefix exactly as it was, a WAYPOINT at the truck's position (when it moved on,
or carries other loads than planned: the waypoint restates them, and a note says so), then
the new rest. With a budget of ``RELAY_MIN_S`` or more (a re-plan of the rest of the day)
and no response target to meet, OR-Tools searches half of it and PyVRP, from OR-Tools'
routes, the rest; the plan ranked first (``optimiser.solve.rank``) is kept.

A truck carrying waste that no disposal site takes every stream of comes back to its depot
loaded with no more bins, with a note (for the search only: the checker still reports it).
A truck that can no longer be back at its depot by its shift end (running late, or loaded
far from a site) is sent straight home, unloading first; its shift is stretched for the
search only, so the checker still reports the overrun, and a note says when it returns.
A loaded truck that can no longer both unload in a site's hours and start its break in
its window unloads first and takes its break right after (its break window stretched for
the search only), or takes none when that break would keep it past its shift end, with a
note that its day breaks the break rule: a site's hours cannot be kept late, a break can.
When no plan goes on from the trucks' positions at all, the plan being driven stands and
the urgent stops are reported unserved; a truck out of service there ends its day from
where it is, its bins still to do unserved with its name in the reason, and one whose
route ends after its shift (a downtime cut it), or that goes on only after its next
planned visit's start (back from the workshop then), keeps only the bins it can empty
from where it is, then, and still be home by its shift end, the others unserved with its
name and its shift end, or when it goes on, in the reason.
A truck reported where its plan has it take its break, started by now and not over, is
on it: the day keeps that break and the truck goes on at its end.
A truck that owes its break, can no longer start it, and stood still long enough inside
its window before now (before it set out for a visit done, at one until it began, or
since its last one), had it then: the day records it at the earliest such wait. One that
did not, and whose day goes on past the window, is noted: its day breaks the break rule.
A truck that went on without the break its plan had among its visits done
(``Progress.break_taken`` False) did the visits after it sooner: they come as early as the
drive and their windows allow (:func:`without_breaks`), and it owes the break; the plan
being driven, standing, does not keep its route as planned.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from optimiser.check import check, check_route, objective, plan_from_sequences, time_route
from optimiser.costs import route_cost
from optimiser.errors import InvalidProblemError
from optimiser.explain import OFF_DUTY, UNFIT, explain_unfit
from optimiser.greedy import (
    LegsMemo,
    RoomLeft,
    feasible_prefix,
    feasible_subsequence,
    insert_cheapest,
    start_in,
    swap_in,
)
from optimiser.params import SolveParams
from optimiser.plan import (
    Plan,
    PlanStatus,
    Progress,
    Route,
    Unserved,
    UnservedKind,
    Visit,
    VisitKind,
    clock,
)
from optimiser.problem import Problem, Stop, VehicleSpec, day_start, drop_weight
from optimiser.screen import needs_disposal, screen, usable_sites

WORK = (VisitKind.BIN, VisitKind.DISPOSAL)
DEFAULT_PARAMS = SolveParams(time_limit_s=1.0)  # a reroute's search when none is given
RELAY_MIN_S = 5.0  # a budget from which the rest of the day is searched by OR-Tools, then PyVRP
SKIPPED_BREAK = "went on without its planned break (its reports leave no time for it)"
RELAY_ORTOOLS_SHARE = 0.5  # of that budget, for OR-Tools (measured: benchmarks/RESULTS.md)


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteChange:
    """How a driver's bins changed: added and removed refs, and whether the order changed."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    order_changed: bool

    @property
    def changed(self) -> bool:
        """Whether the driver has anything to learn."""
        return bool(self.added or self.removed or self.order_changed)


def with_urgent(problem: Problem, urgent: Iterable[Stop]) -> Problem:
    """The problem with ``urgent`` stops added (or replacing same-ref stops), all required."""
    extra = {s.ref: dataclasses.replace(s, required=True) for s in urgent}
    stops = tuple(extra.pop(s.ref, s) for s in problem.stops) + tuple(extra.values())
    return dataclasses.replace(problem, stops=stops)


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
    window opens (its stop's or site's ``window_s``), never later than planned. A WAYPOINT
    (where and when the truck was reported) and a visit of a stop ``problem`` does not
    list keep their times. Without this the break's time stayed in the day as a wait:
    :func:`_rested` took it for the break, and a window that closed since (a site closed
    at 10:57) caught a visit timed after the break that was done before it.
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
            opens = sites[x.ref].at(x.start_s).window_s[0]
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
    depot, nothing to unload): its day ends then, not at its shift end, before now."""
    vehicles, notes = [], []
    for v in problem.vehicles:
        late = v.departed_s is not None and (v.ready_s or 0) > v.shift_s[1]
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


def _no_site_takes(problem: Problem) -> tuple[Problem, tuple[str, ...]]:
    """The residual ``problem`` with each truck carrying waste that must unload but that no
    disposal site takes every stream of (``usable_sites``: none) coming back to its depot
    loaded (``comes_back_loaded``: for the search only, so the checker still reports it)
    with no more bins (it could unload none of them either), and a note per such truck.
    Without it, no plan went on from the trucks' positions: the plan being driven stood,
    the loaded truck in it wherever that plan had it."""
    vehicles, notes = [], []
    for v in problem.vehicles:
        if v.starts_loaded and needs_disposal(problem, v) and not usable_sites(problem, v):
            notes.append(
                f"{v.ref} carries {v.initial_volume_l} l / {v.initial_weight_kg} kg, but no "
                f"disposal site takes every stream it collects ({', '.join(sorted(v.streams))})"
                ": it comes back to its depot loaded, with no more bins"
            )
            v = dataclasses.replace(v, comes_back_loaded=True, max_stops=0)
        vehicles.append(v)
    return dataclasses.replace(problem, vehicles=tuple(vehicles)), tuple(notes)


def _loads(x: Visit | VehicleSpec | Progress) -> tuple[int, int, int, int]:
    """(volume l, weight kg, daily l, daily kg): on board after a visit, at the start, now."""
    if isinstance(x, VehicleSpec):
        return x.initial_volume_l, x.initial_weight_kg, x.initial_daily_l, x.initial_daily_kg
    return x.volume_l, x.weight_kg, x.daily_l, x.daily_kg


def _waypoint(v: VehicleSpec, prog: Progress) -> Visit:
    """The truck's position now, with the loads reported there (a measurement)."""
    volume_l, weight_kg, daily_l, daily_kg = _loads(prog)
    return Visit(
        kind=VisitKind.WAYPOINT,
        ref=v.ref,
        location=prog.location,
        arrival_s=prog.time_s,
        start_s=prog.time_s,
        end_s=prog.time_s,
        volume_l=volume_l,
        weight_kg=weight_kg,
        daily_l=daily_l,
        daily_kg=daily_kg,
    )


def _merge(
    problem: Problem, v: VehicleSpec, prefix: list[Visit], prog: Progress | None, new: Route
) -> Route:
    """The done prefix, a waypoint where the truck is (when it moved on, or carries other
    loads than the plan says), then the new rest of its day."""
    visits = list(prefix)
    if prog is not None and not visits and _loads(prog) != _loads(v):
        volume_l, weight_kg, daily_l, daily_kg = _loads(v)  # not started, loaded otherwise
        visits = [
            dataclasses.replace(
                new.visits[0],
                volume_l=volume_l,
                weight_kg=weight_kg,
                daily_l=daily_l,
                daily_kg=daily_kg,
            )
        ]
    if visits and prog is not None:
        last = visits[-1]
        if last.location != prog.location or _loads(last) != _loads(prog):
            visits.append(_waypoint(v, prog))
    visits.extend(new.visits[1:] if visits else new.visits)
    dist = problem.matrix.distance_m
    located = [x.location for x in visits if x.location is not None]
    distance = sum(int(dist[a, b]) for a, b in itertools.pairwise(located))
    duration = visits[-1].end_s - visits[0].start_s
    used = any(x.kind in WORK for x in visits)
    cost = route_cost(v, distance_m=distance, duration_s=duration, used=used)
    return Route(
        vehicle_ref=v.ref, visits=tuple(visits), distance_m=distance, duration_s=duration, cost=cost
    )


def _within_capacity(
    problem: Problem, progs: dict[str, Progress]
) -> tuple[dict[str, Progress], tuple[str, ...]]:
    """A truck reported carrying more than it holds (fills found overestimated) is full; one
    reported over its daily limit has reached it and collects no more today."""
    notes = []
    for v in problem.vehicles:
        p = progs.get(v.ref)
        if p is None:
            continue
        if p.volume_l > v.capacity_l or p.weight_kg > v.capacity_kg:
            notes.append(
                f"{v.ref} was reported carrying {p.volume_l} l / {p.weight_kg} kg, more than it "
                f"holds ({v.capacity_l} l / {v.capacity_kg} kg): taken as full"
            )
        day_l = v.max_daily_l if v.max_daily_l is not None else p.daily_l
        day_kg = v.max_daily_kg if v.max_daily_kg is not None else p.daily_kg
        if p.daily_l > day_l or p.daily_kg > day_kg:
            notes.append(
                f"{v.ref} was reported collecting {p.daily_l} l / {p.daily_kg} kg today, more "
                f"than its daily limit: it collects no more today"
            )
        progs[v.ref] = dataclasses.replace(
            p,
            volume_l=min(p.volume_l, v.capacity_l),
            weight_kg=min(p.weight_kg, v.capacity_kg),
            daily_l=min(p.daily_l, day_l),
            daily_kg=min(p.daily_kg, day_kg),
        )
    return progs, tuple(notes)


def _load_notes(
    prefixes: Mapping[str, Sequence[Visit]], progs: Mapping[str, Progress]
) -> tuple[str, ...]:
    """A note per truck whose reported load differs from the plan's after its done visits."""
    out = []
    for ref, prefix in prefixes.items():
        work = [x for x in prefix if x.kind in WORK]
        if not work:
            continue
        planned, now = _loads(work[-1])[:2], _loads(progs[ref])[:2]
        if planned != now:
            out.append(
                f"{ref} carries {now[0]} l / {now[1]} kg as reported, "
                f"{planned[0]} l / {planned[1]} kg as planned; the rest of its day counts "
                "from the reported load"
            )
    return tuple(out)


def _progress_map(problem: Problem, progress: Iterable[Progress]) -> dict[str, Progress]:
    out: dict[str, Progress] = {}
    refs = {v.ref for v in problem.vehicles}
    for p in progress:
        if p.vehicle_ref not in refs or p.vehicle_ref in out:
            raise InvalidProblemError(
                f"progress for vehicle {p.vehicle_ref!r}: unknown or given twice; one per truck"
            )
        out[p.vehicle_ref] = p
    return out


def reroute(
    problem: Problem,
    plan: Plan,
    progress: Sequence[Progress],
    urgent: Sequence[Stop] = (),
    params: SolveParams | None = None,
) -> Plan:
    """Re-optimise the rest of the day after an alert, keeping what is done.

    Parameters
    ----------
    problem : Problem
        The day's problem; its matrix must have rows for the trucks' current positions and
        the urgent stops' locations.
    plan : Plan
        The plan being driven.
    progress : sequence of Progress
        One per truck on the road; trucks without one are taken as not started (ready
        at the latest ``time_s`` given).
    urgent : sequence of Stop
        Bins to add (required); a stop with the ref of an existing one replaces it. A ref
        a truck's progress has done already raises ``InvalidProblemError``.
    params : SolveParams, optional
        The time limit (seconds) covers the re-optimisation.

    Returns
    -------
    Plan
        The full day for ``with_urgent(problem, urgent)``: done prefixes unchanged, new rests
        (or ``plan`` itself, urgent stops unserved, when no rest can be planned).
    """
    t0 = time.perf_counter()
    params = params or DEFAULT_PARAMS
    full = with_urgent(problem, urgent)
    urgent_refs = {s.ref for s in urgent}
    emptied = sorted(urgent_refs & {r for p in progress for r in p.done})
    if emptied:  # the visit done would count as serving it: the alert would be lost
        raise InvalidProblemError(
            f"urgent stop(s) {emptied} were already emptied today: give each alert's visit "
            "a ref of its own (optimiser.problem.visit_ref(bin_id, k)), as reroute_day does"
        )
    progs, full_notes = _within_capacity(full, _progress_map(full, progress))
    now = max((p.time_s for p in progs.values()), default=0)
    routes = {r.vehicle_ref: r for r in plan.routes}
    prefixes = {
        v.ref: _prefix(routes[v.ref], progs[v.ref], full)
        if v.ref in routes
        else _set_out(v, progs[v.ref], full.matrix.duration_s)
        for v in full.vehicles
        if v.ref in progs
    }
    for ref, prefix in prefixes.items():
        if prefix and progs[ref].time_s < prefix[-1].end_s:  # done sooner than planned
            progs[ref] = dataclasses.replace(progs[ref], time_s=prefix[-1].end_s)
    for v in full.vehicles:
        brk = _on_break(routes.get(v.ref), prefixes.get(v.ref, []), progs.get(v.ref))
        if brk is not None:  # on its planned break now: it takes it whole, then goes on
            prefixes[v.ref] = [*prefixes[v.ref], *brk]
            end = brk[-1].end_s
            progs[v.ref] = dataclasses.replace(progs[v.ref], time_s=end, break_taken=True)
        rested = _rested(v, prefixes.get(v.ref, []), progs.get(v.ref), full.matrix.duration_s)
        if rested is not None:  # idle through its break window: that was its break
            prefixes[v.ref] = rested
            progs[v.ref] = dataclasses.replace(progs[v.ref], break_taken=True)
    done = {ref for p in progs.values() for ref in p.done}
    stop_refs = {s.ref for s in full.stops}
    vehicles = tuple(
        _residual_vehicle(
            v,
            progs.get(v.ref),
            now,
            sum(1 for r in _done(progs.get(v.ref)) if r in stop_refs),
            prefixes.get(v.ref, []),
        )
        for v in full.vehicles
    )
    residual, loaded = _no_site_takes(
        dataclasses.replace(
            full, stops=tuple(s for s in full.stops if s.ref not in done), vehicles=vehicles
        )
    )
    residual, late_breaks = _late_breaks(residual)  # its shift end kept, when a way does
    residual, late = _late_returns(residual)
    residual, unservable = screen(residual)
    kept = {s.ref for s in residual.stops} | {s.ref for s in residual.sites}
    warm = {
        v.ref: feasible_prefix(
            residual, v, [r for r in _rest(routes.get(v.ref), progs.get(v.ref)) if r in kept]
        )
        for v in vehicles
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
    rests = {v.ref: _rest(routes.get(v.ref), progs.get(v.ref)) for v in vehicles}
    _put_back(residual, warm, rests, memo, left)
    in_warm = {r for refs in warm.values() for r in refs}
    soft = frozenset(s.ref for s in residual.stops if s.required and s.ref not in in_warm)
    found = _search_rest(residual, params, warm, soft)
    sub = explain_unfit(residual, _unless_dearer(residual, warm, found))  # the plan returned
    sub = dataclasses.replace(
        sub,
        notes=(
            *full_notes,
            *_load_notes(prefixes, progs),
            *loaded,
            *late,
            *late_breaks,
            *_breaks_taken_late(full, prefixes),
            *sub.notes,
        ),
    )
    if sub.status is PlanStatus.NO_SOLUTION:
        stood = _stood_down(full, residual, plan, prefixes, progs)
        out = _plan_stands(full, stood, urgent_refs, sub, time.perf_counter() - t0)
    else:
        sub = _keep_drivers(residual, sub, rests)
        out = _full_plan(full, sub, routes, prefixes, progs, unservable, time.perf_counter() - t0)
    return dataclasses.replace(out, notes=(*out.notes, *_owed_breaks(full, out, progs)))


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


def _search_rest(
    residual: Problem,
    params: SolveParams,
    warm: Mapping[str, Sequence[str]],
    soft: frozenset[str],
) -> Plan:
    """The rest of the day searched from ``warm`` (the routes as planned): OR-Tools (the
    stops in ``soft`` with a drop penalty). With a budget of ``RELAY_MIN_S`` or more (a
    re-plan) and no response target among the stops (PyVRP knows none), OR-Tools has
    ``RELAY_ORTOOLS_SHARE`` of it, then PyVRP searches on from OR-Tools' routes for the
    rest (:func:`optimiser.solve.pyvrp_after`: a PyVRP failure is noted, never raised), and
    the plan :func:`optimiser.solve.rank` ranks first is kept."""
    from optimiser._ortools import solve_ortools  # lazily: importing optimiser stays light

    due = any(s.due_s is not None for s in residual.stops)
    if params.time_limit_s < RELAY_MIN_S or due:
        return solve_ortools(residual, params, warm_start=warm, soft_required=soft)
    from optimiser.solve import pyvrp_after, rank

    deadline = time.perf_counter() + params.time_limit_s
    share = dataclasses.replace(params, time_limit_s=params.time_limit_s * RELAY_ORTOOLS_SHARE)
    first = solve_ortools(residual, share, warm_start=warm, soft_required=soft)
    plans = pyvrp_after(residual, first, params, deadline)
    return min(plans, key=lambda p: rank(residual, p))  # OR-Tools' on a tie


def _keep_drivers(problem: Problem, sub: Plan, before: Mapping[str, Sequence[str]]) -> Plan:
    """``sub`` with the new routes of interchangeable trucks (alike in every field but the
    ref, e.g. identical trucks not out yet) handed to the trucks whose planned rest of the
    day (``before``: refs per truck) shares the most bins with them. The cost is the same;
    a driver keeps their bins rather than see them all go to another truck."""
    groups: dict[VehicleSpec, list[str]] = {}
    for v in problem.vehicles:
        groups.setdefault(dataclasses.replace(v, ref=""), []).append(v.ref)
    by_ref = {r.vehicle_ref: r for r in sub.routes}
    given: dict[str, Route] = {}
    for refs in groups.values():
        if len(refs) < 2 or not all(r in by_ref for r in refs):
            continue
        shared = np.array(
            [[len(set(by_ref[a].bin_refs) & set(before.get(b, ()))) for b in refs] for a in refs]
        )
        rows, cols = linear_sum_assignment(shared, maximize=True)
        if shared[rows, cols].sum() > np.trace(shared):  # strictly more kept: hand them over
            for i, j in zip(rows, cols, strict=True):
                given[refs[j]] = _handed(by_ref[refs[i]], refs[j])
    if not given:
        return sub
    return dataclasses.replace(sub, routes=tuple(given.get(r.vehicle_ref, r) for r in sub.routes))


def _handed(route: Route, ref: str) -> Route:
    """``route`` driven by truck ``ref`` instead (an interchangeable truck)."""
    own = (VisitKind.START, VisitKind.END, VisitKind.BREAK)
    visits = tuple(dataclasses.replace(x, ref=ref) if x.kind in own else x for x in route.visits)
    return dataclasses.replace(route, vehicle_ref=ref, visits=visits)


def _late_in(
    problem: Problem, v: VehicleSpec, refs: list[str], stop: Stop, memo: LegsMemo | None = None
) -> int:
    """Seconds after its response target that ``stop`` starts in route ``refs`` of ``v``
    (``memo``: routes of ``problem`` timed already, this one kept there)."""
    assert stop.due_s is not None
    return max(0, start_in(problem, v, refs, stop.ref, memo) - stop.due_s)


def _unless_dearer(residual: Problem, warm: Mapping[str, Sequence[str]], found: Plan) -> Plan:
    """The warm start (the rest of each route being driven, the alerts put in) timed as a
    plan, when the search found nothing better: no fewer required stops left out (by
    priority) and no lower ``check.objective``. The drivers keep their routes where the
    cost is equal. ``found`` when it is better, has no solution, or the warm start breaks a
    rule once timed. The plan kept has the search's reasons for the stops both leave out;
    :data:`UNFIT` ones are explained after (``explain_unfit``), against the routes kept."""
    if found.status is PlanStatus.NO_SOLUTION:
        return found
    try:
        kept = plan_from_sequences(residual, warm)
    except InvalidProblemError:
        return found
    said = {u.ref: u for u in found.unserved}
    unfit = UnservedKind.COULD_NOT_FIT
    kept = dataclasses.replace(
        kept,
        status=found.status,
        unserved=tuple(
            said.get(u.ref, Unserved(ref=u.ref, reason=UNFIT, kind=unfit)) for u in kept.unserved
        ),
        engine=found.engine,
        notes=found.notes,
    )
    if _rank(residual, found) < _rank(residual, kept) or check(residual, kept):
        return found
    return kept


def _rank(problem: Problem, plan: Plan) -> tuple[int, int]:
    """Required stops left out (weighed by priority), then ``check.objective``."""
    served = plan.served_refs
    left = sum(drop_weight(s) for s in problem.stops if s.required and s.ref not in served)
    return left, objective(problem, plan)


def _sooner(
    problem: Problem, warm: dict[str, list[str]], stop: Stop, memo: LegsMemo | None = None
) -> None:
    """Move ``stop`` (in the warm start, with a response target it misses there) to where it
    is least late, when that is sooner and every route stays valid; ``warm`` is updated.
    ``memo``: routes of ``problem`` timed by earlier insertions (the other trucks' routes
    are not timed again)."""
    vehicles = {v.ref: v for v in problem.vehicles}
    owner = next(ref for ref, refs in warm.items() if stop.ref in refs)
    late = _late_in(problem, vehicles[owner], warm[owner], stop, memo)
    if late == 0:
        return
    trial = {ref: list(refs) for ref, refs in warm.items()}
    trial[owner] = [r for r in trial[owner] if r != stop.ref]
    if check_route(problem, vehicles[owner], time_route(problem, vehicles[owner], trial[owner])):
        return
    taker = insert_cheapest(problem, trial, stop, memo=memo)
    if taker is not None and _late_in(problem, vehicles[taker], trial[taker], stop, memo) < late:
        warm.update(trial)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Stood:
    """The plan being driven, the routes of its trucks out of service, past their shift
    end or held up past their next visit cut where they are now (:func:`_stood_down`): why
    each bin they no longer take is left, and a note per truck."""

    plan: Plan
    reasons: Mapping[str, str]
    notes: tuple[str, ...]


def _stood_down(
    full: Problem,
    residual: Problem,
    plan: Plan,
    prefixes: Mapping[str, list[Visit]],
    progs: Mapping[str, Progress],
) -> _Stood:
    """``plan`` with the route of each truck out of service (``off_duty``, e.g. broken
    down) cut as the search would have it: its visits done, then its way from where it is
    to the end of its day (:func:`_way_home`), and none of its bins
    still to do. A truck out of service that had finished its work and ends where the plan
    has it keeps its route. So too a truck on duty whose route ends after its shift (cut
    short by a downtime), or that goes on only after its next planned visit's start
    (:func:`_held_up`: its progress time, e.g. back from the workshop): from where it is,
    then, it keeps the bins still planned for it, in their order, that it can empty and
    still be home (unloaded) by its shift end (one it can no longer empty in its window
    does not cost the ones after it). One held up whose way on from there breaks a rule
    even so (e.g. loaded, every site closed: why no plan goes on) keeps its route. Without
    this, the plan that stands when no plan goes on from the trucks' positions had a
    broken-down truck still drive its bins, one due in the workshop drive past its shift
    end, and one in the workshop drive its bins before it was back."""
    why = "rerouting found no plan from the trucks' positions, so no other truck takes it"
    ends = {v.ref: v for v in residual.vehicles}
    stops = {s.ref for s in full.stops}
    open_refs = {s.ref for s in residual.stops} | {s.ref for s in residual.sites}
    routes, reasons, notes = [], {}, []
    for v in full.vehicles:
        old, prog, w = _route_of(plan, v.ref), progs.get(v.ref), ends.get(v.ref)
        if old is None or w is None:
            continue
        rest = _rest(old, prog)
        held = _held_up(old, prog)
        away = _away(prefixes.get(v.ref, []), prog, old)
        skipped = _skipped_break(prefixes.get(v.ref, []), prog, old)
        if v.off_duty:
            if not rest and old.visits[-1].location == w.end:
                continue  # its work done, it ends its day as planned
            new, cause = _way_home(residual, w), OFF_DUTY
        elif old.visits[-1].end_s > v.shift_s[1] or held is not None:
            new = _way_home(residual, w, [r for r in rest if r in open_refs])
            stays = old.visits[-1].end_s <= v.shift_s[1] and not away
            if stays and check_route(residual, w, new):
                continue  # no way on from there is valid: why no plan goes on; it stands
            cause = _cut_cause(v, held)
        elif away or skipped:  # shown where and as it was reported, not as planned
            new = _way_home(residual, w, [r for r in rest if r in open_refs])
            cause = "reported away from its route" if away else SKIPPED_BREAK
        else:
            continue
        routes.append(_merge(full, v, prefixes.get(v.ref, []), prog, new))
        left = [r for r in rest if r in stops and r not in new.bin_refs]
        reasons.update(dict.fromkeys(left, f"planned for {v.ref}, {cause}: {why}"))
        notes.append(_stood_note(v, new, left, held, away=away, skipped=cause == SKIPPED_BREAK))
    if not routes:
        return _Stood(plan=plan, reasons={}, notes=())
    cut = {r.vehicle_ref: r for r in routes}
    plan = dataclasses.replace(plan, routes=tuple(cut.get(r.vehicle_ref, r) for r in plan.routes))
    return _Stood(plan=plan, reasons=reasons, notes=tuple(notes))


def _away(prefix: Sequence[Visit], prog: Progress | None, old: Route) -> bool:
    """Whether truck ``prog`` is reported where the route being driven, ``old``, standing
    whole, cannot have it: with work done, elsewhere than its last visit done (``prefix``:
    its visits done, as planned) or with other loads than planned there; with nothing
    done, out of its depot (``prefix``: its START, set out by its report) with other loads
    than it left with, or with no work planned (no way it is on to its first bin)."""
    if prog is None or not prefix:
        return False
    last = [x for x in prefix if x.kind is not VisitKind.BREAK][-1]
    if not prog.done:
        return not old.used or _loads(last) != _loads(prog)
    return last.location != prog.location or _loads(last) != _loads(prog)


def _skipped_break(prefix: Sequence[Visit], prog: Progress | None, old: Route) -> bool:
    """Whether truck ``prog`` went on without the break ``old``, the route being driven,
    plans among its visits done: its visits done (``prefix``) lack it (its crew's reports
    left no time for it, and the visits after it came sooner: :func:`without_breaks`)."""
    if prog is None or not prog.done:
        return False
    planned = [x for x in old.visits[: _cut(old, len(prog.done))] if x.kind is VisitKind.BREAK]
    return any(x not in prefix for x in planned)


def _with_rest(old: Route, prefix: Sequence[Visit]) -> Route | None:
    """``old``, the route being driven by a truck that finished it (:func:`_finished`),
    with the break its visits done (``prefix``) have and it lacks: one found in a wait of
    its day (:func:`_rested`) before its last visit done, which moves no visit. Without it
    the route kept broke the break rule, the truck's break taken (no note said why).
    ``old`` as it is when it has a break (after its visits done) or the break came after
    its last visit done (its drive home was then); None when ``prefix`` is not the start of
    ``old`` but for that break."""
    extra = [x for x in prefix if x.kind is VisitKind.BREAK and x not in old.visits]
    if not extra or any(x.kind is VisitKind.BREAK for x in old.visits):
        return old  # nothing found, or its plan has its break (after its last visit done)
    cut = len(prefix) - len(extra)
    if [x for x in prefix if x not in extra] != list(old.visits[:cut]):
        return None
    if prefix[-1] in extra:  # since its last visit done: ``old`` has its drive home then
        return old
    return dataclasses.replace(old, visits=(*prefix, *old.visits[cut:]))


def _held_up(old: Route, prog: Progress | None) -> int | None:
    """When truck ``prog`` goes on (its progress time: e.g. back from the workshop), if that
    is after the start of its next visit (bin or site) still to do in ``old``, the route
    being driven: it cannot drive that route as planned. None when it can, or has none."""
    if prog is None:
        return None
    work = [x for x in old.visits if x.kind in WORK][len(prog.done) :]
    return prog.time_s if work and work[0].start_s < prog.time_s else None


def _cut_cause(v: VehicleSpec, held: int | None) -> str:
    """Why truck ``v``, on duty, no longer takes some bins of the plan that stands: it goes
    on only at ``held`` (seconds), or its shift ends before its planned return."""
    if held is not None:
        return f"which can go on only at {clock(held)}"
    return f"whose shift ends at {clock(v.shift_s[1])}"


def _stood_note(
    v: VehicleSpec,
    new: Route,
    left: Sequence[str],
    held: int | None,
    *,
    away: bool = False,
    skipped: bool = False,
) -> str:
    """What :func:`_stood_down` did to truck ``v``'s day: its ``new`` rest of the day, the
    bins still planned for it it no longer takes (``left``), when it goes on (``held``,
    seconds, when after its next planned visit's start); ``away``: it was reported away
    from its route; ``skipped``: it went on without its planned break."""
    if v.off_duty:
        return (
            f"{v.ref} is {OFF_DUTY}: it ends its day from where it is, with none of the bins "
            f"the plan being driven still gave it ({', '.join(left) or 'none left'})"
        )
    kept, end = ", ".join(new.bin_refs) or "none", clock(v.shift_s[1])
    if skipped and not away:
        return (
            f"{v.ref} {SKIPPED_BREAK}: its day goes on from its visits done as driven, and "
            f"keeps the bins the plan being driven still gave it that it can empty ({kept}), "
            f"not {', '.join(left) or 'none left'}"
        )
    if away:
        return (
            f"{v.ref} was reported away from its route: it goes on from where it was "
            f"reported, with the load reported, and keeps the bins the plan being driven "
            f"still gave it that it can empty ({kept}), not {', '.join(left) or 'none left'}"
        )
    if held is not None:
        return (
            f"{v.ref} can go on only at {clock(held)}, after its next planned visit's start: "
            f"from where it is then, it keeps the bins the plan being driven still gave it "
            f"that it can empty by its shift end, {end} ({kept}), "
            f"not {', '.join(left) or 'none left'}"
        )
    return (
        f"{v.ref}'s shift ends at {end}: it ends its day from where it is, "
        f"with the bins the plan being driven still gave it that it can empty by then "
        f"({kept}), not {', '.join(left) or 'none left'}"
    )


def _way_home(residual: Problem, v: VehicleSpec, refs: Sequence[str] = ()) -> Route:
    """Truck ``v``'s way from where it is to its end, through ``refs`` (its bins and sites
    still to do, in order; none by default) less each one with which its route would break
    a rule (:func:`optimiser.greedy.feasible_subsequence`: unloading last when it must; a
    bin whose window passed does not cost the ones after it); with none of them, unloading
    first when it must, at the site that gets it home first of those where its way home
    breaks no rule (a site's hours, its shift end), else straight. (The site nearest by
    the drive alone was tried alone: a truck whose shift end left time for the quicker
    unload elsewhere went home loaded.)"""
    kept = feasible_subsequence(residual, v, list(refs)) if refs else []
    if kept:
        return time_route(residual, v, kept)
    straight = time_route(residual, v, [])
    if not (v.starts_loaded and needs_disposal(residual, v)):
        return straight
    ways = (time_route(residual, v, [site.ref]) for site in usable_sites(residual, v))
    valid = [way for way in ways if not check_route(residual, v, way)]
    return min(valid, key=lambda way: way.visits[-1].end_s, default=straight)


def _route_of(plan: Plan, vehicle_ref: str) -> Route | None:
    return next((r for r in plan.routes if r.vehicle_ref == vehicle_ref), None)


PLAN_STANDS = "rerouting found no plan from the trucks' positions; the plan being driven stands"


def plan_stands(plan: Plan) -> bool:
    """Whether ``plan``, an answer of :func:`reroute`, is the plan being driven kept as it
    stands (no plan went on from the trucks' positions): a note of it says so."""
    return any(n.startswith(PLAN_STANDS) for n in plan.notes)


def _plan_stands(full: Problem, stood: _Stood, urgent: set[str], sub: Plan, seconds: float) -> Plan:
    """The plan being driven (``stood``: the routes of its trucks out of service, past
    their shift end or held up cut where they are, :func:`_stood_down`), with the urgent stops
    unserved: what a reroute answers when no plan goes on from the trucks' positions (e.g.
    a loaded truck with every site closed), rather than a plan without routes. Every other
    stop of ``full`` it does not serve is listed unserved too (a bin a re-plan added, one a
    truck so cut no longer takes, with the reason naming it), and only stops of ``full``.
    Its objective is that of ``full`` (:func:`~optimiser.check.objective`): an urgent stop
    was an optional one the plan's objective priced as left out, or a truck's route is
    cut."""
    plan = stood.plan
    why = PLAN_STANDS
    refs = {s.ref for s in full.stops}
    kept = tuple(u for u in plan.unserved if u.ref not in urgent and u.ref in refs)
    served = plan.served_refs  # an alert on a bin the plan visits later: served as planned
    listed = served | {u.ref for u in kept}
    added = tuple(
        Unserved(ref=ref, reason=stood.reasons.get(ref, why), kind=UnservedKind.NO_SOLUTION)
        for ref in sorted(refs - listed)
    )
    return dataclasses.replace(
        plan,
        unserved=kept + added,
        objective=objective(full, plan),
        solve_time_s=seconds,
        notes=tuple(
            dict.fromkeys(  # each once: the plan's notes that still hold, and the new ones
                (
                    *plan.notes,
                    *sub.notes,
                    *stood.notes,
                    f"{why}: {sub.unserved[0].reason}" if sub.unserved else why,
                )
            )
        ),
    )


def _finished(
    v: VehicleSpec, old: Route | None, prog: Progress | None, new: Route, prefix: Sequence[Visit]
) -> bool:
    """Whether the truck had done all its planned work, is given none and is where and as
    its plan has it (at its last visit by its planned return, or home, with the load
    planned): it keeps its plan. Not when that plan no longer ends where the truck ends its
    day (broken down on its way home, it stands where it is), nor when the truck was seen
    elsewhere, at its last visit after it was planned to be home, took more waste (a
    bin off its route), or went on without its planned break (its visits done,
    ``prefix``, lack it): it goes home from where it is. Nor a truck not out whose plan
    has it leave before its shift starts now (its shift start changed since)."""
    if old is None or prog is None or _rest(old, prog) or new.used:
        return False
    if _skipped_break(prefix, prog, old):
        return False
    if not prog.done and old.visits[0].start_s < v.shift_s[0]:
        return False  # not out, its shift starting later now: its plan left too soon
    last = old.visits[_cut(old, len(prog.done)) - 1]  # its last visit done, or its start
    end = old.visits[-1]
    there = prog.location == end.location or (
        prog.location == last.location and prog.time_s <= end.arrival_s
    )
    return (
        end.location == v.end
        and there
        and (prog.volume_l, prog.weight_kg) == (last.volume_l, last.weight_kg)
    )


def _kept(
    v: VehicleSpec, old: Route | None, prog: Progress | None, new: Route, prefix: Sequence[Visit]
) -> Route | None:
    """The route being driven, ``old``, kept when its truck finished it (:func:`_finished`):
    its planned return (and break) as driven, not an idle wait until now; with a break
    found in a wait (:func:`_with_rest`). None when the truck goes on from where it is."""
    if old is None or not _finished(v, old, prog, new, prefix):
        return None
    return _with_rest(old, prefix)


def _full_plan(
    full: Problem,
    sub: Plan,
    routes: Mapping[str, Route],
    prefixes: Mapping[str, list[Visit]],
    progs: Mapping[str, Progress],
    unservable: tuple,
    seconds: float,
) -> Plan:
    new_routes = {r.vehicle_ref: r for r in sub.routes}
    merged = tuple(
        _kept(v, routes.get(v.ref), progs.get(v.ref), new_routes[v.ref], prefixes.get(v.ref, []))
        or _merge(full, v, prefixes.get(v.ref, []), progs.get(v.ref), new_routes[v.ref])
        for v in full.vehicles
    )
    plan = Plan(
        status=sub.status,
        routes=merged,
        unserved=unservable + sub.unserved,
        solve_time_s=seconds,
        engine=f"{sub.engine}-reroute",
        notes=sub.notes,
    )
    return dataclasses.replace(plan, objective=objective(full, plan))


def route_changes(old: Plan, new: Plan) -> dict[str, RouteChange]:
    """Per vehicle: bins added, bins removed and whether the kept bins' order changed."""
    before = {r.vehicle_ref: r.bin_refs for r in old.routes}
    after = {r.vehicle_ref: r.bin_refs for r in new.routes}
    out: dict[str, RouteChange] = {}
    for ref in sorted(before.keys() | after.keys()):
        a, b = before.get(ref, ()), after.get(ref, ())
        kept_a = [x for x in a if x in set(b)]
        kept_b = [x for x in b if x in set(a)]
        out[ref] = RouteChange(
            added=tuple(x for x in b if x not in set(a)),
            removed=tuple(x for x in a if x not in set(b)),
            order_changed=kept_a != kept_b,
        )
    return out
