"""The OR-Tools engine's entry point: the start (warm or greedy), the search with every
required stop, and the retry with the unplaced ones soft; the plan with its unserved stops.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from optimiser._ortools.model import _Model
from optimiser.build import from_cents
from optimiser.explain import UNFIT
from optimiser.greedy import greedy_routes
from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus, Route, Unserved, UnservedKind
from optimiser.problem import Problem, Stop, takes
from optimiser.screen import usable_sites


def _unserved(model: _Model, routes: tuple[Route, ...]) -> tuple[Unserved, ...]:
    served = {ref for r in routes for ref in r.bin_refs}
    out = []
    for stop in model.problem.stops:
        if stop.ref not in served:
            out.append(_dropped(stop))
    return tuple(out)


def _dropped(stop: Stop) -> Unserved:
    """``stop``, left out by the search, unserved: a required one fits in no route (the
    reason explained later, ``optimiser.explain``), an optional one does not pay."""
    if stop.required:
        return Unserved(ref=stop.ref, reason=UNFIT, kind=UnservedKind.COULD_NOT_FIT)
    why = (
        f"optional: its prize ({from_cents(stop.prize):.2f}) does not pay for the detour, "
        "or it does not fit"
    )
    return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.OPTIONAL)


def _no_solution(problem: Problem, seconds: float, notes: tuple[str, ...]) -> Plan:
    reason = "the solver found no solution within the time limit"
    return Plan(
        status=PlanStatus.NO_SOLUTION,
        routes=(),
        unserved=tuple(
            Unserved(ref=s.ref, reason=reason, kind=UnservedKind.NO_SOLUTION) for s in problem.stops
        ),
        solve_time_s=seconds,
        engine="ortools",
        notes=notes,
    )


def _soft(problem: Problem, unplaced: frozenset[str]) -> frozenset[str]:
    """The required stops modelled with a drop penalty: ``unplaced`` (not in the start), and
    when one of them outranks other required stops (an alert), those too, so that the
    search may leave one out to make room for it (``optimiser.problem.drop_weight``)."""
    stops = problem.stops_by_ref()
    top = max((stops[r].priority for r in unplaced if r in stops), default=0)
    return unplaced | {s.ref for s in problem.stops if s.required and s.priority < top}


def _allowed_start(
    problem: Problem, warm_start: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """``warm_start`` without the visits its trucks may no longer make: a bin whose stream
    or needs changed since (:func:`optimiser.problem.takes`), a disposal site that no longer
    takes each of the truck's streams. OR-Tools refused the whole start for one of them
    (logging "Vehicle 1 is not allowed at index 3"), and the search went on from another:
    any driver's route could change for it (service fuzz: a site's streams changed during
    the day). A bin left out of it is placed by the search (a required one as soft)."""
    stops = {s.ref: s for s in problem.stops}
    sites = {s.ref for s in problem.sites}
    out = {ref: list(refs) for ref, refs in warm_start.items()}
    for v in problem.vehicles:
        usable = {s.ref for s in usable_sites(problem, v)}
        out[v.ref] = [
            ref
            for ref in warm_start.get(v.ref, ())
            if (takes(v, stops[ref]) if ref in stops else ref not in sites or ref in usable)
        ]
    return out


def solve_ortools(
    problem: Problem,
    params: SolveParams,
    *,
    warm_start: Mapping[str, Sequence[str]] | None = None,
    soft_required: frozenset[str] = frozenset(),
) -> Plan:
    """Solve ``problem`` with OR-Tools routing.

    Parameters
    ----------
    problem : Problem
        Screened (``optimiser.screen``): stops no truck can serve make the strict model
        infeasible and cost the fallback solve, and a site opening after every shift ends
        cannot be modelled (OR-Tools fails on its time window).
    params : SolveParams
        Time limit (seconds), strategies and metaheuristic.
    warm_start : mapping of vehicle ref -> refs, optional
        Initial routes (stop and site refs in order); the first-solution phase is skipped
        when they are feasible. A visit its truck may no longer make is left out of it
        (:func:`_allowed_start`).
    soft_required : frozenset of str
        Required stops modelled with a huge drop penalty instead of as hard constraints
        (rerouting: urgent bins absent from the warm start).

    Returns
    -------
    Plan
        Status NO_SOLUTION when nothing was found; required stops that could not be fitted
        are listed unserved (status FEASIBLE, with a note).
    """
    t0 = time.perf_counter()
    deadline = t0 + params.time_limit_s
    initial = greedy_routes(problem) if warm_start is None else _allowed_start(problem, warm_start)
    placed = {ref for refs in initial.values() for ref in refs}
    required = frozenset(s.ref for s in problem.stops if s.required)
    soft = _soft(problem, soft_required | (required - placed))
    model = _Model(problem, soft=soft, start_routes=initial)
    assignment, status = model.search(params, deadline, [model.routes_to_nodes(initial)])
    if assignment is None and warm_start is not None:
        # the warm start breaks a rule (a loaded truck sent home without unloading) and no
        # strategy found a start: from greedy_routes, as without one (it had no plan)
        initial = greedy_routes(problem)
        placed = {ref for refs in initial.values() for ref in refs}
        soft = _soft(problem, soft_required | (required - placed))
        model = _Model(problem, soft=soft, start_routes=initial)
        retry_deadline = max(deadline, time.perf_counter() + 0.25 * params.time_limit_s)
        assignment, status = model.search(params, retry_deadline, [model.routes_to_nodes(initial)])
    notes: tuple[str, ...] = ()
    if assignment is None and required - soft:
        notes = ("no solution serves every required stop; solved again with them optional",)
        model = _Model(problem, soft=required)
        fallback_deadline = max(deadline, time.perf_counter() + 0.25 * params.time_limit_s)
        assignment, status = model.search(params, fallback_deadline, [])
    seconds = time.perf_counter() - t0
    if assignment is None:
        return _no_solution(problem, seconds, notes)
    routes = model.decode_routes(assignment)
    unserved = _unserved(model, routes)
    if any(u.reason == UNFIT for u in unserved):
        status = PlanStatus.FEASIBLE
        notes = (*notes, "some required stops could not be fitted into any route")
    return Plan(
        status=status,
        routes=routes,
        unserved=unserved,
        objective=model.objective(assignment),
        solve_time_s=seconds,
        engine="ortools",
        notes=notes,
    )
