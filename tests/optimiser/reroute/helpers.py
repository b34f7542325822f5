"""Helpers of the reroute tests: a reroute checked by the oracle, trucks' progress."""

from __future__ import annotations

import dataclasses

from optimiser.check import check_reroute
from optimiser.params import SolveParams
from optimiser.plan import Plan, Route, VisitKind
from optimiser.problem import Problem, Stop
from optimiser.reroute import Progress, plan_stands, with_urgent
from optimiser.reroute import reroute as _reroute
from tests.optimiser.conftest import progress_after

WORK = (VisitKind.BIN, VisitKind.DISPOSAL)
FAST = SolveParams(time_limit_s=0.5, first_solution_share=0.5)


def reroute(
    problem: Problem,
    plan: Plan,
    progress: list[Progress],
    urgent: list[Stop] | tuple[Stop, ...] = (),
    params: SolveParams | None = None,
) -> Plan:
    """``optimiser.reroute.reroute``, its answer checked against the day driven: the visits
    done stand, nothing else is before a truck's report, the loads go on from the reported
    ones (``check_reroute``; when no plan goes on, as the notes say, the plan driven
    stands). Every test here reroutes through it."""
    new = _reroute(problem, plan, progress, urgent, params)
    stands = plan_stands(new)
    assert check_reroute(with_urgent(problem, urgent), plan, new, progress, stands=stands) == []
    return new


def done_as_planned(route: Route, n_done: int) -> Progress:
    """The truck has just finished its first ``n_done`` bins/unloads, as planned."""
    work = [v for v in route.visits if v.kind in WORK]
    return progress_after(route.vehicle_ref, [v.ref for v in work[:n_done]], work[n_done - 1])


def mid_day(plan: Plan) -> list[Progress]:
    """Each truck of ``plan`` with more than two bins/unloads, just done with two of them."""
    return [
        done_as_planned(r, 2)
        for r in plan.routes
        if len([v for v in r.visits if v.kind in WORK]) > 2
    ]


def standing_at(route: Route, n_done: int, time_s: int) -> Progress:
    """The truck has done its first ``n_done`` bins/unloads and stands there at ``time_s``."""
    return dataclasses.replace(done_as_planned(route, n_done), time_s=time_s, break_taken=True)


def skipped_as_s1_closes(
    kit, break_then_unload: tuple[Problem, Plan]
) -> tuple[Problem, Plan, Progress]:
    """The day of ``break_then_unload`` with s1 closed at 10:30, its plan, and the truck
    reported there at 10:30 with all its work done and its break not taken."""
    day, plan = break_then_unload
    h = kit.H
    (route,) = plan.routes
    skipped = progress_after("a", ["b2", "b3", "s1"], route.visits[4])
    skipped = dataclasses.replace(skipped, time_s=10 * h + 1800)
    closed = dataclasses.replace(day, sites=(kit.site(window_s=(0, 10 * h + 1800)),))
    return closed, plan, skipped
