"""PyVRP's iterated local search on a model: the start from given routes, the stopping rule
(a time, or giving up while nothing is feasible), fleet reduction while fixed costs make it
pay, and the split of the budget between them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence

from pyvrp import (
    Activity,
    ActivityType,
    CostEvaluator,
    ProblemData,
    RandomNumberGenerator,
    Solution,
)
from pyvrp import (
    Route as PyvrpRoute,
)
from pyvrp.IteratedLocalSearch import (
    IteratedLocalSearch,
    IteratedLocalSearchCallbacks,
    IteratedLocalSearchParams,
)
from pyvrp.PenaltyManager import PenaltyManager, PenaltyParams
from pyvrp.search import (
    OPERATORS,
    LocalSearch,
    PerturbationManager,
    PerturbationParams,
)
from pyvrp.stop import FirstFeasible, MultipleCriteria, StoppingCriterion

from optimiser._pyvrp.model import _Model, _neighbours
from optimiser._pyvrp.terms import PENALTY_RANGE

MIN_SEARCH_S = 0.05
FIRST_SHARE = 0.4  # of the budget: first search when trucks have fixed costs
FLEET_SHARE = 0.3  # of the budget: at most this for trying one truck fewer


def _warm_solution(model: _Model, warm_start: Mapping[str, Sequence[str]]) -> Solution | None:
    """A PyVRP solution from routes given as stop/site refs per vehicle ref (None if unusable).

    A trailing disposal is dropped where the model's end depot already includes it.
    """
    data = model.data
    client_of = {s.ref: i for i, s in enumerate(model.stops)}
    site_idx = {n.ref: k for k, n in enumerate(model.depots) if n.kind == "site"}
    routes = []
    for t_idx, group in enumerate(model.groups):
        vt = data.vehicle_type(t_idx)
        via = model.depots[vt.end_depot].kind == "via"
        for v in group:
            refs = list(warm_start.get(v.ref, ()))
            while via and refs and refs[-1] in site_idx and refs[-1] not in client_of:
                refs.pop()
            acts = []
            for ref in refs:
                if ref in client_of:
                    acts.append(Activity(ActivityType.CLIENT, client_of[ref]))
                elif ref in site_idx and site_idx[ref] in vt.reload_depots:
                    acts.append(Activity(ActivityType.DEPOT, site_idx[ref]))
                else:
                    return None
            if any(a.is_client() for a in acts):
                routes.append(PyvrpRoute(data, acts, t_idx))
    try:
        return Solution(data, routes)
    except (RuntimeError, ValueError, IndexError):
        return None


class _GiveUp(IteratedLocalSearchCallbacks):
    """Stopping rule (and callbacks) of a search: at ``end``, or at ``give_up`` while it has
    no feasible solution (``time.perf_counter()`` seconds). A best solution once feasible
    stays so: PyVRP ranks every infeasible one above it."""

    def __init__(self, initial: Solution, give_up: float, end: float) -> None:
        self.feasible = initial.is_feasible()
        self.give_up, self.end = give_up, end

    def on_best(self, best: Solution) -> None:
        self.feasible = best.is_feasible()

    def __call__(self, best_cost: float) -> bool:
        now = time.perf_counter()
        return now >= self.end or (now >= self.give_up and not self.feasible)


def _ils(
    data: ProblemData,
    neighbours: dict[Activity, list[Activity]],
    deadline: float,
    seed: int,
    initial: Solution | None = None,
    *,
    first_feasible: bool = False,
    penalty_scale: float = 1.0,
    give_up: float | None = None,
) -> Solution:
    """PyVRP's iterated local search until ``deadline`` (``time.perf_counter()`` seconds).

    ``neighbours``: :func:`_neighbours` of the model. Without ``initial`` the search starts
    from a random solution improved by local search (that first descent is not
    interruptible). ``first_feasible`` stops at the first feasible solution; ``give_up``
    (seconds as ``deadline``) at that time when none is feasible yet.
    """
    rng = RandomNumberGenerator(seed=seed)
    ls = LocalSearch(data, rng, neighbours, PerturbationManager(PerturbationParams()))
    for op in OPERATORS:
        if op.supports(data):
            ls.add_operator(op(data))
    penalty = PenaltyParams(
        min_penalty=PENALTY_RANGE[0] * penalty_scale, max_penalty=PENALTY_RANGE[1] * penalty_scale
    )
    pm = PenaltyManager(penalty.midpoint_penalties(data), penalty)
    init = initial
    if init is None:
        init = ls(Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    end = max(deadline, time.perf_counter() + MIN_SEARCH_S)
    rule = _GiveUp(init, end if give_up is None else give_up, end)
    algo = IteratedLocalSearch(data, pm, ls, init, IteratedLocalSearchParams(callbacks=rule))
    stop: StoppingCriterion = MultipleCriteria([FirstFeasible(), rule]) if first_feasible else rule
    return algo.run(stop, collect_stats=False).best


def _cost(data: ProblemData, sol: Solution) -> int:
    return int(CostEvaluator([0] * data.num_load_dimensions, 0, 0).cost(sol))


def _routes_on(data: ProblemData, sol: Solution, drop: int | None = None) -> Solution:
    """``sol``'s routes on ``data`` (the same clients, depots and vehicle types, numbered
    alike), without its route ``drop`` when given (its clients become unplanned)."""
    routes = []
    for k, r in enumerate(sol.routes()):
        if k != drop:
            acts = [Activity(a.type, a.idx) for a in list(r)[1:-1]]
            routes.append(PyvrpRoute(data, acts, r.vehicle_type()))
    return Solution(data, routes)


def _reduce_fleet(
    model: _Model, best: Solution, deadline: float, seed: int
) -> tuple[ProblemData, Solution]:
    """Try to serve everything with one route fewer, while fixed costs make that pay.

    The shortest route whose type has another route is removed (PyVRP needs a truck per
    type), the fleet of its type capped at what is left, and the
    search restarts from the rest until it is feasible again (or ``deadline``,
    ``time.perf_counter()`` seconds). A smaller fleet is kept only when it costs less.
    """
    data = model.data
    while best.num_routes() > 1 and time.perf_counter() < deadline:
        routes = best.routes()
        used = Counter(r.vehicle_type() for r in routes)
        # PyVRP needs at least one truck per type: the only route of a type stays
        droppable = [k for k, r in enumerate(routes) if used[r.vehicle_type()] > 1]
        if not droppable:
            break
        drop = min(droppable, key=lambda k: routes[k].num_clients())
        t_idx = routes[drop].vehicle_type()
        if data.vehicle_type(t_idx).fixed_cost == 0:
            break
        types = [
            vt.replace(num_available=used[t_idx] - 1) if k == t_idx else vt
            for k, vt in enumerate(data.vehicle_types())
        ]
        smaller = data.replace(vehicle_types=types)
        start = _routes_on(smaller, best, drop)
        found = _ils(
            smaller,
            _neighbours(model),
            deadline,
            seed,
            start,
            first_feasible=True,
            penalty_scale=model.penalty_scale,
        )
        if not found.is_feasible() or _cost(smaller, found) >= _cost(data, best):
            break
        data, best = smaller, found
    return data, best


def _search(
    model: _Model,
    seconds: float,
    seed: int,
    initial: Solution | None = None,
    give_up: float | None = None,
) -> Solution:
    """Search, then (with fixed vehicle costs) shrink the fleet, then polish.

    Shares of the budget: :data:`FIRST_SHARE` for the first search, up to
    :data:`FLEET_SHARE` for fleet reduction, the rest to improve the best solution.
    ``give_up`` (``time.perf_counter()`` seconds): stop then when no solution is feasible.
    """
    t0 = time.perf_counter()
    end = t0 + seconds
    fixed = any(vt.fixed_cost > 0 for vt in model.data.vehicle_types())
    optional = any(not c.required for c in model.data.clients())
    scale, near = model.penalty_scale, _neighbours(model)
    if not fixed or optional:
        return _ils(model.data, near, end, seed, initial, penalty_scale=scale, give_up=give_up)
    first = t0 + seconds * FIRST_SHARE
    best = _ils(model.data, near, first, seed, initial, penalty_scale=scale, give_up=give_up)
    if not best.is_feasible():
        return _ils(model.data, near, end, seed + 1, best, penalty_scale=scale, give_up=give_up)
    data, best = _reduce_fleet(model, best, t0 + seconds * (FIRST_SHARE + FLEET_SHARE), seed)
    model.data = data
    return _ils(data, near, end, seed + 1, best, penalty_scale=scale)
