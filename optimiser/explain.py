"""Why a required stop is left out of a plan: the rules its cheapest insertions would break.

An engine that cannot route a required stop lists it unserved with :data:`UNFIT`, which
tells a dispatcher nothing to act on. :func:`explain_unfit` names what stands in the way,
truck by truck. The stop is tried at the cheapest places (by added travel time) of the
route of every truck that takes its stream (again after an unload just before it, when it
overfills the truck); every try is timed by ``check.time_route`` (as early as possible,
the break at the first chance) and judged by ``check.check_route``, the independent
checker. The try breaking the fewest rules speaks for its truck, e.g.
``"could not fit in any route: stop limit (t1, t2); time windows, shift end (t3)"``.

A try that breaks no rule means the search missed a place that exists; the reason then
says which truck could take the stop (a longer time limit may find it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from optimiser.check import check_route, time_route
from optimiser.greedy import detours, with_final_unload
from optimiser.plan import Plan, Unserved, UnservedKind, VisitKind
from optimiser.problem import Problem, Stop, VehicleSpec, takes
from optimiser.screen import no_taker, no_truck_takes, usable_sites

UNFIT = "could not fit in any route"
MAX_EXPLAINED = 10  # stops explained per plan; further ones keep the short reason
PLACES = 4  # cheapest insertion places tried per truck
MAX_GROUPS = 4  # truck groups named in one reason
OFF_DUTY = "out of service"  # a truck that takes no more bins today (VehicleSpec.off_duty)
CAPACITY = frozenset({"capacity_volume", "capacity_weight"})
RULES = {  # checker codes, in the words of the reason
    "capacity_volume": "truck volume",
    "capacity_weight": "truck weight",
    "daily_volume": "daily volume limit",
    "daily_weight": "daily weight limit",
    "max_stops": "stop limit",
    "window": "time windows",
    "shift": "shift end",
    "break": "driver break",
    "return_empty": "no site to unload at",
    "site_stream": "no site takes the load",
    "equipment": "truck equipment",
}


def _work_refs(plan: Plan, vehicle_ref: str) -> list[str]:
    """Bin and site refs of the vehicle's route, in order ([] when it has none)."""
    route = next((r for r in plan.routes if r.vehicle_ref == vehicle_ref), None)
    if route is None:
        return []
    kinds = (VisitKind.BIN, VisitKind.DISPOSAL)
    return [v.ref for v in route.visits if v.kind in kinds]


def _places(problem: Problem, v: VehicleSpec, refs: list[str], stop: Stop) -> list[int]:
    """The :data:`PLACES` insertion positions in ``refs`` adding the least travel time."""
    order = np.argsort(detours(problem, v, refs, stop), kind="stable")
    return [int(k) for k in order[:PLACES]]


def _broken(problem: Problem, v: VehicleSpec, refs: list[str]) -> frozenset[str]:
    """The checker's codes for the route ``refs`` of truck ``v`` (empty: valid)."""
    route = time_route(problem, v, with_final_unload(problem, v, refs))
    return frozenset(x.code for x in check_route(problem, v, route))


def blockers(problem: Problem, v: VehicleSpec, refs: list[str], stop: Stop) -> frozenset[str]:
    """The fewest checker codes broken by inserting ``stop`` into truck ``v``'s route ``refs``.

    Each of the cheapest places is tried as is and, when that overfills the truck, after an
    unload at the usable site nearest the stop (when there is one).
    """
    sites = usable_sites(problem, v)
    dur = problem.matrix.duration_s
    unload = min(sites, key=lambda s: int(dur[s.location, stop.location])) if sites else None
    best: frozenset[str] | None = None
    for k in _places(problem, v, refs, stop):
        codes = _broken(problem, v, [*refs[:k], stop.ref, *refs[k:]])
        if unload is not None and codes & CAPACITY:
            codes = min(
                codes, _broken(problem, v, [*refs[:k], unload.ref, stop.ref, *refs[k:]]), key=_rank
            )
        best = codes if best is None else min(best, codes, key=_rank)
        if not best:
            break
    return best if best is not None else frozenset()


def _rank(codes: frozenset[str]) -> tuple[int, list[str]]:
    return len(codes), sorted(codes)


def rule_words(codes: Iterable[str]) -> str:
    """Checker rule ``codes`` in words (:data:`RULES`), sorted, e.g. "shift end, truck volume"."""
    return ", ".join(sorted(RULES.get(c, c) for c in codes))


def reason(problem: Problem, plan: Plan, stop: Stop) -> Unserved:
    """Why ``stop`` is in no route of ``plan``: the rules blocking it, by truck (kind
    ``COULD_NOT_FIT``, with the checker codes of every truck's tries in ``rules``); the
    search left it out (``LEFT_OUT``) when a truck's try breaks none; no truck takes its
    stream (``STREAM``)."""
    trucks = [v for v in problem.vehicles if takes(v, stop)]
    by_words: dict[str, list[str]] = {}
    broken: set[str] = set()
    for v in trucks:
        if v.off_duty:  # out of service, or gone from the fleet, for the rest of the day
            by_words.setdefault(OFF_DUTY, []).append(v.ref)
            continue
        codes = blockers(problem, v, _work_refs(plan, v.ref), stop)
        if not codes:
            why = f"the search left it out, but {v.ref} could take it (try a longer time limit)"
            return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.LEFT_OUT)
        by_words.setdefault(rule_words(codes), []).append(v.ref)
        broken |= codes
    if not by_words:
        none = no_taker(problem, stop)
        if none is not None:
            return none
        why = no_truck_takes(stop.stream, stop.ref)
        return Unserved(ref=stop.ref, reason=why, kind=UnservedKind.STREAM)
    groups = sorted(by_words.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    parts = [f"{words} ({_refs(refs)})" for words, refs in groups[:MAX_GROUPS]]
    if len(groups) > MAX_GROUPS:
        parts.append(f"other rules ({sum(len(r) for _, r in groups[MAX_GROUPS:])} trucks)")
    return Unserved(
        ref=stop.ref,
        reason=f"{UNFIT}: " + "; ".join(parts),
        kind=UnservedKind.COULD_NOT_FIT,
        rules=tuple(sorted(broken)),
    )


def _refs(refs: Sequence[str]) -> str:
    return ", ".join(refs) if len(refs) <= 3 else f"{', '.join(refs[:3])} and {len(refs) - 3} more"


def explain_unfit(problem: Problem, plan: Plan) -> Plan:
    """``plan`` with the :data:`UNFIT` reasons of its first :data:`MAX_EXPLAINED` unserved
    stops replaced by :func:`reason` (the others keep the short one); a stop left out while
    alerted ones (priority 1) are served says they go first."""
    todo = [u.ref for u in plan.unserved if u.reason == UNFIT][:MAX_EXPLAINED]
    if not todo:
        return plan
    served = plan.served_refs
    alerts = [s.ref for s in problem.stops if s.priority > 0 and s.ref in served]
    why = {ref: reason(problem, plan, problem.stop(ref)) for ref in todo}
    for ref, u in why.items():  # a must bin left out while alerted bins are served
        if alerts and problem.stop(ref).priority == 0 and u.reason.startswith(UNFIT):
            text = f"{u.reason}; alerted bins go first ({_refs(alerts)})"
            why[ref] = dataclasses.replace(u, reason=text)
    unserved = tuple(why.get(u.ref, u) for u in plan.unserved)
    return dataclasses.replace(plan, unserved=unserved)
