"""The PyVRP engine's entry point: screen the problem, build the model, search (with the
retry that makes required stops optional), and decode the best solution into a Plan.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence

from pyvrp import (
    Route as PyvrpRoute,
)
from pyvrp import (
    Solution,
)

from optimiser._pyvrp.model import _Model, build_model
from optimiser._pyvrp.search import _routes_on, _search, _warm_solution
from optimiser._pyvrp.terms import OPEN_T
from optimiser._pyvrp.timing import (
    _empty_route,
    _idle_timed,
    _schedule,
    _Step,
    _Timed,
    _timed_route,
)
from optimiser.build import from_cents
from optimiser.explain import UNFIT
from optimiser.greedy import greedy_routes
from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus, Route, Unserved, UnservedKind, VisitKind
from optimiser.problem import Problem, Stop, VehicleSpec
from optimiser.screen import screen

ENGINE = "pyvrp"
FALLBACK_SHARE = 0.25  # of the budget at least, for the retry with required stops made soft
GIVE_UP_SHARE = 0.5  # of the budget: no solution serving every required stop by then, retry
# From this many stops a search without a warm start starts from optimiser.greedy's routes,
# not from a random solution: that one's first descent cannot be cut short (3.7 s on 2000
# all-must bins, 14 s on 5000), and at 10 s the search from it ended 12-14 % dearer on
# 1000- and 2000-bin cities (0.5 % on 500; Kim's 335-804 stops: -2.5 to +1.1 %).
GREEDY_START_MIN_STOPS = 1000
# ... and so does one whose budget is under this many seconds a stop: the random start's
# descent took 3.2 s on 900 stops for a 1 s budget (OR-Tools 1.09 s); 804 stops at 10 s
# (Kim's largest) keep the random start
GREEDY_START_S_PER_STOP = 0.005
DECODE_S_PER_STOP = 0.0003  # budget kept back for decoding (measured: ~0.2 s for 800 stops)


def _greedy_start(n_stops: int, time_limit_s: float) -> bool:
    """Whether a search without a warm start starts from ``optimiser.greedy``'s routes."""
    return n_stops >= GREEDY_START_MIN_STOPS or time_limit_s < GREEDY_START_S_PER_STOP * n_stops


def solve_pyvrp(
    problem: Problem,
    params: SolveParams,
    *,
    warm_start: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """Solve ``problem`` with PyVRP within ``params.time_limit_s`` (seed ``params.seed``).

    Parameters
    ----------
    problem : Problem
        The problem (screened here again: unservable stops are listed unserved).
    params : SolveParams
        Time limit (seconds) and seed; the OR-Tools strategy fields are ignored.
    warm_start : mapping of vehicle ref -> refs, optional
        Initial routes (stop and site refs in order, e.g. another engine's plan); ignored
        when they do not fit the model (unknown refs, a site the truck may not use).

    Returns
    -------
    Plan
        Status FEASIBLE with routes, or NO_SOLUTION (every stop unserved) when PyVRP found
        no feasible solution; engine ``"pyvrp"``.
    """
    t0 = time.perf_counter()
    reduced, screened = screen(problem)
    stops = list(reduced.stops)
    notes: list[str] = []
    if not stops:  # no bin to search for; trucks on the road still drive home
        timed = {v.ref: _idle_timed(problem, v) for v in problem.vehicles}
        return Plan(
            status=PlanStatus.FEASIBLE,
            routes=tuple(_routes(problem, timed)),
            unserved=screened,
            solve_time_s=time.perf_counter() - t0,
            engine=ENGINE,
            notes=_late(timed),
        )
    model = build_model(problem, stops)
    if model.data.num_load_dimensions == 3 and problem.sites:
        notes.append("max_stops is enforced per trip between unloads, not per day")
    initial = _warm_solution(model, warm_start) if warm_start else None
    if warm_start and initial is None:
        notes.append("warm start ignored: it does not fit the PyVRP model")
    if initial is None and _greedy_start(len(stops), params.time_limit_s):
        initial = _warm_solution(model, greedy_routes(reduced))
    reserve = min(0.1 * params.time_limit_s, DECODE_S_PER_STOP * len(stops))
    remaining = params.time_limit_s - (time.perf_counter() - t0) - reserve
    required = any(s.required for s in stops)
    give_up = t0 + GIVE_UP_SHARE * params.time_limit_s if required else None
    best = _search(model, remaining, params.seed, initial, give_up)
    strict = model
    if not best.is_feasible() and required:
        notes.append("no solution serves every required stop; solved again with them optional")
        model = build_model(problem, stops, soft_required=True)
        model.neighbours = strict.neighbours  # the same stops, only their prizes differ
        elapsed = time.perf_counter() - t0
        budget = max(params.time_limit_s - elapsed, FALLBACK_SHARE * params.time_limit_s)
        # from the routes searched so far: a random start's first descent cannot be cut
        # short (2.4 s on 2000 all-must bins, 12 s on 5000)
        best = _search(model, budget - reserve, params.seed + 1, _routes_on(model.data, best))
    if not best.is_feasible():
        unserved = screened + tuple(
            Unserved(
                ref=s.ref,
                reason="PyVRP found no feasible solution within the time limit",
                kind=UnservedKind.NO_SOLUTION,
            )
            for s in stops
        )
        return Plan(
            status=PlanStatus.NO_SOLUTION,
            routes=tuple(_empty_route(v) for v in problem.vehicles),
            unserved=unserved,
            solve_time_s=time.perf_counter() - t0,
            engine=ENGINE,
            notes=(
                *notes,
                f"pyvrp best: time warp {best.time_warp()}, "
                f"excess load {best.excess_load()}, excess distance {best.excess_distance()}",
            ),
        )
    return _decode(problem, model, best, screened, notes, t0)


def _steps(problem: Problem, model: _Model, route: PyvrpRoute, v: VehicleSpec) -> list[_Step]:
    """The START ... END steps of a PyVRP route (sites expanded)."""
    open_window = (0, OPEN_T)
    steps = [_Step(VisitKind.START, v.ref, v.start, 0, open_window)]
    for act in route:
        idx = act.idx
        if act.is_depot():
            node = model.depots[idx]
            if node.kind == "site":
                site = problem.site(node.ref)
                steps.append(
                    _Step(VisitKind.DISPOSAL, site.ref, site.location, site.unload_s, site.window_s)
                )
            continue
        s = model.stops[idx]
        steps.append(
            _Step(
                VisitKind.BIN,
                s.ref,
                s.location,
                s.service_s,
                s.window_s or open_window,
                s.volume_l,
                s.weight_kg,
            )
        )
    # drop a trailing unload followed by nothing (re-chosen below) and leading reloads
    end_node = model.depots[route.end_depot()]
    if end_node.kind == "via":
        while steps[-1].kind is VisitKind.DISPOSAL:
            steps.pop()
        steps.append(_Step(VisitKind.DISPOSAL, "", -1, 0, open_window))  # placeholder
    steps.append(_Step(VisitKind.END, v.ref, v.end, 0, open_window))
    return steps


def _dropped(stop: Stop) -> Unserved:
    """``stop``, left out by the search, unserved: a required one fits in no route (the
    reason explained later, ``optimiser.explain``), an optional one does not pay."""
    if stop.required:
        return Unserved(ref=stop.ref, reason=UNFIT, kind=UnservedKind.COULD_NOT_FIT)
    why = f"optional; its prize {from_cents(stop.prize):.2f} is below the cost to serve it"
    return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.OPTIONAL)


def _routes(problem: Problem, timed: Mapping[str, _Timed | None]) -> Iterator[Route]:
    """Each truck's route, in the problem's order, from its schedule in ``timed`` (None:
    it stays where it is, :func:`_idle_timed`)."""
    for v in problem.vehicles:
        schedule = timed[v.ref]
        yield _empty_route(v) if schedule is None else _timed_route(v, schedule)


def _late(timed: Mapping[str, _Timed | None]) -> tuple[str, ...]:
    """The note of routes whose schedules run late (breaking a window or a shift), if any."""
    lateness = sum(t.lateness for t in timed.values() if t is not None)
    if not lateness:
        return ()
    late = f"the routes timed after the search run {lateness} s late"
    why = "a break placed, a site's hours waited for, a truck out too late to be back"
    return (f"{late} ({why}); see check()",)


def _decode(
    problem: Problem,
    model: _Model,
    best: Solution,
    screened: tuple[Unserved, ...],
    notes: list[str],
    t0: float,
) -> Plan:
    by_type: dict[int, list[PyvrpRoute]] = {}
    for r in best.routes():
        by_type.setdefault(r.vehicle_type(), []).append(r)
    timed: dict[str, _Timed | None] = {}
    for t_idx, group in enumerate(model.groups):
        for v, r in zip(group, by_type.get(t_idx, []), strict=False):
            sites = model.via_sites.get(r.end_depot(), [])
            steps = _steps(problem, model, r, v)
            timed[v.ref] = _schedule(problem, v, steps, int(r.start_time()), sites)
    for v in problem.vehicles:  # those the search gave no stop
        if v.ref not in timed:
            timed[v.ref] = _idle_timed(problem, v)
    all_routes = tuple(_routes(problem, timed))
    served = {ref for r in all_routes for ref in r.bin_refs}
    dropped = tuple(_dropped(s) for s in model.stops if s.ref not in served)
    notes.extend(_late(timed))
    objective = sum(r.cost for r in all_routes) + sum(problem.stop(u.ref).prize for u in dropped)
    return Plan(
        status=PlanStatus.FEASIBLE,
        routes=all_routes,
        unserved=screened + dropped,
        objective=objective,
        solve_time_s=time.perf_counter() - t0,
        engine=ENGINE,
        notes=tuple(notes),
    )
