"""Rerouting on an overflow alert: re-optimise the rest of the day around the trucks' progress.

The residual problem starts each truck where it is (``Progress.location``, a matrix row) at
``Progress.time_s`` with its load; stops already done are removed and the urgent stops are
added as required. The remaining part of the current plan, as far as it stays valid for each
truck as the search has it (a late truck's shift stretched to its soonest return, say), is
the warm start, each stop once (an urgent stop it does not visit yet is inserted where it
adds the least travel and the route stays valid, or with a response target, ``Stop.due_s``,
where it is least late; one no load has room for goes in with an unloading right after it;
one that fits nowhere takes the place of a stop of lower rank, an optional one first
(``optimiser.greedy.swap_in``), or is left out, with a huge drop penalty so that the search
inserts it; a stop the warm start visits after its target is moved sooner where it can be; a
required stop cut from a truck's rest because it no longer fits as planned, e.g. the truck
fuller than planned, is put back where it fits, in that truck's route first, and so is one
the plan being driven left out, where it adds the least travel); the search keeps a change
only if it is strictly cheaper (lateness priced in), so equal-cost alternatives never move a
driver's stops; and when it hands the new routes of interchangeable trucks (alike but for
the ref, e.g. not out yet) to other ones than those whose bins they carry, they go back to
those trucks (same cost). The answer is the full day: each route's done prefix exactly as it
was, a WAYPOINT at the truck's position (when it moved on, or carries other loads than
planned: the waypoint restates them, and a note says so), then the new rest. With a budget
of ``RELAY_MIN_S`` or more (a re-plan of the rest of the day) and no response target to
meet, OR-Tools searches half of it and PyVRP, from OR-Tools' routes, the rest; the plan
ranked first (``optimiser.solve.rank``) is kept.

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
the urgent stops are reported unserved; a truck whose route visits a bin the day no longer
has (emptied off route by another truck since) skips it, its other stops in their order,
where that breaks no rule; a truck out of service there ends its day from
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

Its parts are modules beside this one: :mod:`optimiser.reroute_done` (visits done, where
each truck set out from, its loads), :mod:`optimiser.reroute_time` (breaks and shift ends),
:mod:`optimiser.reroute_loads` (loads other than planned, waste no site takes),
:mod:`optimiser.reroute_warm` (the search's warm start: the plan's rest, the urgent stops
inserted), :mod:`optimiser.reroute_drivers` (each driver's change, minimal where the cost is
equal) and :mod:`optimiser.reroute_stands` (the plan being driven standing, and the full day put
together).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from optimiser.errors import InvalidProblemError
from optimiser.explain import explain_unfit
from optimiser.params import SolveParams
from optimiser.plan import (
    Plan,
    PlanStatus,
    Progress,
    Route,
    Unserved,
    Visit,
)
from optimiser.problem import Problem, Stop, VehicleSpec
from optimiser.reroute_done import (
    WORK,
    _done,
    _prefix,
    _residual_vehicle,
    _rest,
    _set_out,
    visits_done,
    without_breaks,
)
from optimiser.reroute_drivers import _keep_drivers, _unless_dearer
from optimiser.reroute_loads import _load_notes, _no_site_takes, _within_capacity
from optimiser.reroute_stands import _full_plan, _plan_stands, _stood_down, plan_stands
from optimiser.reroute_time import (
    _breaks_taken_late,
    _late_breaks,
    _late_returns,
    _on_break,
    _owed_breaks,
    _rested,
)
from optimiser.reroute_warm import _warm_start
from optimiser.screen import screen

__all__ = [
    "DEFAULT_PARAMS",
    "RELAY_MIN_S",
    "WORK",
    "Progress",
    "RouteChange",
    "plan_stands",
    "reroute",
    "route_changes",
    "visits_done",
    "with_urgent",
    "without_breaks",
]

DEFAULT_PARAMS = SolveParams(time_limit_s=1.0)  # a reroute's search when none is given
RELAY_MIN_S = 5.0  # a budget from which the rest of the day is searched by OR-Tools, then PyVRP
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
    _not_done_yet(urgent_refs, progress)
    progs, full_notes = _within_capacity(full, _progress_map(full, progress))
    now = max((p.time_s for p in progs.values()), default=0)  # as reported
    routes = {r.vehicle_ref: r for r in plan.routes}
    prefixes = _prefixes(full, routes, progs)
    vehicles = _residual_vehicles(full, progs, prefixes, now)
    rest = _Rest.of(full, progs, vehicles)
    rests = {v.ref: _rest(routes.get(v.ref), progs.get(v.ref)) for v in vehicles}  # as planned
    warm, soft = _warm_start(rest.problem, rests, urgent_refs)
    found = _search_rest(rest.problem, params, warm, soft)
    sub = explain_unfit(rest.problem, _unless_dearer(rest.problem, warm, found))  # returned
    notes = (*full_notes, *_load_notes(prefixes, progs), *rest.notes)
    sub = dataclasses.replace(sub, notes=(*notes, *_breaks_taken_late(full, prefixes), *sub.notes))
    if sub.status is PlanStatus.NO_SOLUTION:
        stood = _stood_down(full, rest.problem, plan, prefixes, progs)
        out = _plan_stands(full, stood, urgent_refs, sub, time.perf_counter() - t0)
    else:
        sub = _keep_drivers(rest.problem, sub, rests)
        seconds = time.perf_counter() - t0
        out = _full_plan(full, sub, routes, prefixes, progs, rest.unservable, seconds)
    return dataclasses.replace(out, notes=(*out.notes, *_owed_breaks(full, out, progs)))


def _not_done_yet(urgent_refs: set[str], progress: Sequence[Progress]) -> None:
    """Raise ``InvalidProblemError`` when a truck's progress has done an urgent stop's ref
    (the visit done would count as serving it: the alert would be lost)."""
    emptied = sorted(urgent_refs & {r for p in progress for r in p.done})
    if emptied:
        raise InvalidProblemError(
            f"urgent stop(s) {emptied} were already emptied today: give each alert's visit "
            "a ref of its own (optimiser.problem.visit_ref(bin_id, k)), as reroute_day does"
        )


def _prefixes(
    full: Problem, routes: Mapping[str, Route], progs: dict[str, Progress]
) -> dict[str, list[Visit]]:
    """Each truck's day so far (its route's visits done, or where it set out from), with the
    break it is on now or had idle in its window; ``progs`` is updated (its clock at the end
    of its day so far, when later than reported, and whether it had its break)."""
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
    return prefixes


def _residual_vehicles(
    full: Problem,
    progs: Mapping[str, Progress],
    prefixes: Mapping[str, list[Visit]],
    now: int,
) -> tuple[VehicleSpec, ...]:
    """Each truck of ``full`` for the rest of the day: from where and when it goes on, with
    the load it carries and the stops it may still make (``now``: the latest clock the
    trucks reported, seconds of the day; one without progress is ready then)."""
    stop_refs = {s.ref for s in full.stops}
    return tuple(
        _residual_vehicle(
            v,
            progs.get(v.ref),
            now,
            sum(1 for r in _done(progs.get(v.ref)) if r in stop_refs),
            prefixes.get(v.ref, []),
        )
        for v in full.vehicles
    )


@dataclass(frozen=True, slots=True)
class _Rest:
    """The problem of the rest of the day: the stops not done, the trucks as they go on
    (those no site takes the load of come back loaded, late ones go home, a break past its
    window when a site's hours leave no other way), its notes in that order, and the stops no
    truck can serve."""

    problem: Problem
    notes: tuple[str, ...]
    unservable: tuple[Unserved, ...]

    @classmethod
    def of(
        cls, full: Problem, progs: Mapping[str, Progress], vehicles: tuple[VehicleSpec, ...]
    ) -> _Rest:
        done = {ref for p in progs.values() for ref in p.done}
        residual, loaded = _no_site_takes(
            dataclasses.replace(
                full, stops=tuple(s for s in full.stops if s.ref not in done), vehicles=vehicles
            )
        )
        residual, late_breaks = _late_breaks(residual)  # its shift end kept, when a way does
        residual, late = _late_returns(residual)
        residual, unservable = screen(residual)
        return cls(residual, (*loaded, *late, *late_breaks), unservable)


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
