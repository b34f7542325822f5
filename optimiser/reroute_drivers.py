"""A reroute's change to each driver, minimal where the cost is equal: routes handed back to
the trucks whose bins they carry, changes kept only when cheaper, late stops moved sooner
(:func:`optimiser.reroute.reroute`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from optimiser.check import check, check_route, objective, plan_from_sequences, time_route
from optimiser.errors import InvalidProblemError
from optimiser.explain import UNFIT
from optimiser.greedy import (
    LegsMemo,
    insert_cheapest,
    start_in,
)
from optimiser.plan import (
    Plan,
    PlanStatus,
    Route,
    Unserved,
    UnservedKind,
    VisitKind,
)
from optimiser.problem import Problem, Stop, VehicleSpec, drop_weight


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
