"""Independent plan checker, scoring and timing of hand-made routes (no solver import).

``check`` recomputes every route from the problem and the visit sequence alone: coverage,
streams, loads between disposals, return empty, daily limits, stop counts, travel times,
windows, shifts, the driver break and the distance/duration/cost totals. It is the oracle
of every solver test and validates dispatchers' manual plans. ``check_reroute`` checks a
rerouted day against the day being driven and the trucks' progress (what ``check``, which
knows no past, cannot see): the visits done stand as driven, nothing else is before a
truck's report, the rest goes on from the loads reported.

Visit semantics
---------------
* A route runs START (at the vehicle's ``start``) ... END (at its ``end``).
* BIN and DISPOSAL visits take ``service_s`` / ``unload_s``: ``end_s == start_s + that``;
  the window bounds ``start_s``; ``arrival_s <= start_s`` (the truck may wait).
* Between two located visits a -> b, ``b.arrival_s >= a.end_s + travel(a, b)`` and, with a
  BREAK visit between them, ``b.start_s >= a.end_s + travel + break_s`` (a break may
  interrupt travel or waiting but no service). Visits never overlap in time.
* A WAYPOINT is a zero-length pass through a matrix row (a truck's position at rerouting).
  It is a report, not a plan: the truck is there at that time whatever the matrix says of
  the drive into it (the travel out of it is checked), and its loads restate what the truck
  carries there, as measured on the road (bins fuller or emptier than forecast): the loads
  after it count on from them, against the capacities.
* DISPOSAL empties the truck; the site must take every stream collected since the last one.
  A site whose record changed during the day judges each unloading by the record in force
  when it started (``Site.at``): the unloadings done stand under the one they were made by.
* A truck with a break must take it inside its window, unless its whole route fits before
  or after a break that starts in the window.

This module checks and scores whole plans; its parts are modules beside it:
:mod:`optimiser.check_routes` (one route against every rule), :mod:`optimiser.check_timing`
(a route's times) and :mod:`optimiser.check_reroute` (a rerouted day against the day
driven); their public names are here too.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from optimiser.check_reroute import check_reroute
from optimiser.check_routes import Violation, _distance_m, _must_unload, _RouteChecker, check_route
from optimiser.check_timing import time_route
from optimiser.costs import late_cost, route_cost
from optimiser.errors import InvalidProblemError
from optimiser.plan import (
    Plan,
    PlanStatus,
    Unserved,
    UnservedKind,
    VisitKind,
)
from optimiser.problem import Problem, drop_weight

__all__ = [
    "Score",
    "Violation",
    "check",
    "check_reroute",
    "check_route",
    "late_s",
    "objective",
    "plan_from_sequences",
    "score",
    "time_route",
]


def _left_out(problem: Problem, routed: set[str]) -> Iterator[Violation]:
    """The trucks with no route that cannot stay where they start: away from their end
    depot (on the road, rerouting) or carrying waste they must unload first."""
    for v in problem.vehicles:
        if v.ref in routed:
            continue
        if v.start != v.end:
            why = f"no route, but it is at row {v.start}, not at its end depot (row {v.end})"
            yield Violation(v.ref, None, "vehicle", why)
        elif v.starts_loaded and _must_unload(problem, v):
            load = f"{v.initial_volume_l} l / {v.initial_weight_kg} kg"
            yield Violation(v.ref, None, "vehicle", f"no route, but it carries {load} to unload")


def _coverage(problem: Problem, plan: Plan) -> Iterator[Violation]:
    served = Counter(ref for route in plan.routes for ref in route.bin_refs)
    listed = Counter(u.ref for u in plan.unserved)
    stops = {s.ref for s in problem.stops}
    for ref, n in served.items():
        if n > 1:
            yield Violation(None, ref, "served_twice", f"served {n} times")
    for u in plan.unserved:
        if u.ref not in stops:
            yield Violation(None, u.ref, "unknown_ref", "unserved entry of an unknown stop")
        elif served[u.ref]:
            yield Violation(None, u.ref, "served_and_unserved", "listed unserved but served")
        if not u.reason:
            yield Violation(None, u.ref, "no_reason", "unserved without a reason")
        if listed[u.ref] > 1:
            yield Violation(None, u.ref, "listed_twice", "listed unserved more than once")
    for stop in problem.stops:
        if not served[stop.ref] and not listed[stop.ref]:
            kind = "required" if stop.required else "optional"
            yield Violation(None, stop.ref, "unaccounted", f"{kind} stop neither served nor listed")


def check(problem: Problem, plan: Plan) -> list[Violation]:
    """Every rule the plan breaks; an empty list means the plan is valid.

    Parameters
    ----------
    problem : Problem
        The problem the plan claims to solve.
    plan : Plan
        Routes (any subset of the vehicles, each at most once) and unserved stops. A truck
        left out stays where it starts, so one away from its end depot, or carrying waste
        it must unload, needs a route (unless the plan has status NO_SOLUTION).

    Returns
    -------
    list of Violation
        In route order, then trucks left out, then coverage problems.
    """
    out: list[Violation] = []
    vehicles = {v.ref: v for v in problem.vehicles}
    seen: set[str] = set()
    for route in plan.routes:
        vehicle = vehicles.get(route.vehicle_ref)
        if vehicle is None or route.vehicle_ref in seen:
            why = "unknown vehicle" if vehicle is None else "vehicle has two routes"
            out.append(Violation(route.vehicle_ref, None, "vehicle", why))
            continue
        seen.add(route.vehicle_ref)
        out.extend(_RouteChecker(problem, vehicle, route).run())
    if plan.status is not PlanStatus.NO_SOLUTION:
        out.extend(_left_out(problem, seen))
    out.extend(_coverage(problem, plan))
    if plan.status is PlanStatus.NO_SOLUTION and plan.served_refs:
        out.append(Violation(None, None, "status", "NO_SOLUTION plan serves bins"))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """Totals of a plan (metres, seconds, cost units) and its violations; ``late_cost``:
    what serving stops after their response targets costs (:func:`late_s`);
    ``dropped_weight``: the required stops left out, weighed by priority
    (``optimiser.problem.drop_weight``)."""

    distance_m: int
    duration_s: int
    cost: int
    bins_served: int
    unserved: int
    required_unserved: int
    prize_lost: int
    vehicles_used: int
    violations: tuple[Violation, ...]
    late_cost: int = 0
    dropped_weight: int = 0

    @property
    def valid(self) -> bool:
        """Whether the plan breaks no rule."""
        return not self.violations


def score(problem: Problem, plan: Plan) -> Score:
    """Score a plan (solver-made or manual) by recomputation, with its violations.

    Totals are recomputed from the visits (not read from the routes), as the checker
    recomputes them, so a manual plan with wrong totals is still scored correctly; the
    mismatch shows among the violations (a visit at no row of the matrix too: its distance
    is left out, as the checker leaves it out, rather than failing or read from another row).
    """
    stops = problem.stops_by_ref()
    vehicles = {v.ref: v for v in problem.vehicles}
    distance = duration = cost = 0
    for route in plan.routes:
        d = _distance_m(problem, route.visits)
        t = route.visits[-1].end_s - route.visits[0].start_s if route.visits else 0
        distance, duration = distance + d, duration + t
        if route.vehicle_ref in vehicles:
            cost += route_cost(
                vehicles[route.vehicle_ref], distance_m=d, duration_s=t, used=route.used
            )
    served = plan.served_refs
    missing = [s for s in problem.stops if s.ref not in served]
    return Score(
        distance_m=distance,
        duration_s=duration,
        cost=cost,
        bins_served=len(served & stops.keys()),
        unserved=len(missing),
        required_unserved=sum(1 for s in missing if s.required),
        prize_lost=sum(s.prize for s in missing if not s.required),
        vehicles_used=sum(1 for r in plan.routes if r.used),
        violations=tuple(check(problem, plan)),
        late_cost=sum(late_cost(s) for s in late_s(problem, plan).values()),
        dropped_weight=sum(drop_weight(s) for s in missing if s.required),
    )


def late_s(problem: Problem, plan: Plan) -> dict[str, int]:
    """Stops served after their response target (``Stop.due_s``): ref -> seconds late (the
    start of service after the target). Lateness is not a violation."""
    due = {s.ref: s.due_s for s in problem.stops if s.due_s is not None}
    return {
        v.ref: v.start_s - due[v.ref]
        for route in plan.routes
        for v in route.visits
        if v.kind is VisitKind.BIN and v.ref in due and v.start_s > due[v.ref]
    }


def objective(problem: Problem, plan: Plan) -> int:
    """What ``plan`` costs in the terms the solvers minimise, cost units: its routes' costs,
    the prizes of the optional stops it leaves and what serving stops after their response
    targets costs (:func:`late_s`). Required stops left out are not priced: they are
    counted apart (``Score.required_unserved``, ``Score.dropped_weight``). The same for
    every engine, a reroute and a hand-made plan, so plans of a day compare by it."""
    served = plan.served_refs
    lost = sum(s.prize for s in problem.stops if not s.required and s.ref not in served)
    late = sum(late_cost(t) for t in late_s(problem, plan).values())
    return sum(r.cost for r in plan.routes) + lost + late


def plan_from_sequences(problem: Problem, sequences: Mapping[str, Sequence[str]]) -> Plan:
    """Time hand-made routes into a Plan that ``check`` and ``score`` accept.

    Parameters
    ----------
    problem : Problem
        The problem.
    sequences : mapping of vehicle ref -> refs
        Stop and disposal-site refs in visiting order. Vehicles not listed stay home.

    Returns
    -------
    Plan
        Status FEASIBLE; stops in no sequence are unserved ("not in the manual plan").

    Raises
    ------
    InvalidProblemError
        An unknown vehicle, stop or site ref.
    """
    known = {v.ref for v in problem.vehicles}
    unknown = set(sequences) - known
    if unknown:
        raise InvalidProblemError(f"manual plan: unknown vehicle(s) {sorted(unknown)}")
    routes = tuple(time_route(problem, v, sequences.get(v.ref, ())) for v in problem.vehicles)
    served = {ref for r in routes for ref in r.bin_refs}
    unserved = tuple(
        Unserved(ref=s.ref, reason="not in the manual plan", kind=UnservedKind.NOT_IN_MANUAL_PLAN)
        for s in problem.stops
        if s.ref not in served
    )
    plan = Plan(status=PlanStatus.FEASIBLE, routes=routes, unserved=unserved, engine="manual")
    return dataclasses.replace(plan, objective=objective(problem, plan))
