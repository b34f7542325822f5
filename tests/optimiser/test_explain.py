"""Reasons for required stops left out: the rules that block them, truck by truck."""

from __future__ import annotations

import dataclasses

import pytest

from optimiser.check import plan_from_sequences
from optimiser.explain import MAX_EXPLAINED, UNFIT, explain_unfit
from optimiser.plan import Plan, Unserved, UnservedKind
from optimiser.problem import Problem


def _left_out(plan: Plan) -> Plan:
    """A hand-made plan whose unserved stops carry the engines' short reason and kind."""
    unfit = UnservedKind.COULD_NOT_FIT
    unserved = tuple(dataclasses.replace(u, reason=UNFIT, kind=unfit) for u in plan.unserved)
    return dataclasses.replace(plan, unserved=unserved)


def _problem(kit, n_stops: int, *trucks) -> Problem:
    points = [(0, 0), (5, 0)] + [(1 + 0.1 * i, 0) for i in range(n_stops)]
    return Problem(
        matrix=kit.matrix(points),
        stops=tuple(kit.stop(f"b{i}", 2 + i) for i in range(n_stops)),
        vehicles=trucks,
        sites=(kit.site(location=1),),
    )


def test_stop_limit_is_named_with_the_trucks_it_blocks(kit) -> None:
    problem = _problem(kit, 5, kit.truck("a", max_stops=2), kit.truck("b", max_stops=2))
    plan = kit.solved(problem)
    (u,) = plan.unserved
    assert u.reason == f"{UNFIT}: stop limit (a, b)"
    assert (u.kind, u.rules) == (UnservedKind.COULD_NOT_FIT, ("max_stops",))


def test_each_truck_gets_its_own_blocking_rules(kit) -> None:
    h = kit.H
    problem = _problem(
        kit,
        3,
        kit.truck("a", max_stops=2),
        kit.truck("short", shift_s=(6 * h, 6 * h + 600)),  # 10 min: no time for a bin
    )
    plan = _left_out(plan_from_sequences(problem, {"a": ["b0", "b1", "s1"]}))
    (u,) = explain_unfit(problem, plan).unserved
    assert u.ref == "b2"
    assert u.reason == f"{UNFIT}: shift end (short); stop limit (a)"
    assert (u.kind, u.rules) == (UnservedKind.COULD_NOT_FIT, ("max_stops", "shift"))


def test_volume_capacity_without_a_site(kit) -> None:
    problem = Problem(
        matrix=kit.matrix([(0, 0), (1, 0), (2, 0)]),
        stops=(kit.stop("b0", 1, volume_l=600), kit.stop("b1", 2, volume_l=600)),
        vehicles=(kit.truck("t", capacity_l=1000),),
        return_empty=False,
    )
    plan = _left_out(plan_from_sequences(problem, {"t": ["b0"]}))
    (u,) = explain_unfit(problem, plan).unserved
    assert u.reason == f"{UNFIT}: truck volume (t)"
    assert (u.kind, u.rules) == (UnservedKind.COULD_NOT_FIT, ("capacity_volume",))


def test_a_stop_the_search_missed_names_the_truck_that_could_take_it(kit) -> None:
    problem = _problem(kit, 3, kit.truck("t"))
    plan = _left_out(plan_from_sequences(problem, {"t": ["b0", "b1"]}))
    (u,) = explain_unfit(problem, plan).unserved
    assert u.reason == "the search left it out, but t could take it (try a longer time limit)"
    assert (u.kind, u.rules) == (UnservedKind.LEFT_OUT, ())


def test_a_stop_of_a_stream_no_truck_takes_says_so(kit) -> None:
    """Left out by an engine (not screened first): no truck takes its stream, the kind
    and the reason say so, not that it could not fit, and the reason says what to fix."""
    problem = _problem(kit, 2, kit.truck("t"))
    glass = dataclasses.replace(problem.stops[1], stream="glass")
    problem = dataclasses.replace(problem, stops=(problem.stops[0], glass))
    plan = _left_out(plan_from_sequences(problem, {"t": ["b0", "s1"]}))
    (u,) = explain_unfit(problem, plan).unserved
    assert u.reason == (
        "no truck takes stream 'glass' of bin b1: add the stream to a truck's streams, "
        "or correct the bin's stream"
    )
    assert u.kind is UnservedKind.STREAM


def test_only_the_first_stops_are_explained(kit) -> None:
    n = MAX_EXPLAINED + 3  # one served, two left with the short reason
    problem = _problem(kit, n, kit.truck("t", max_stops=1))
    plan = _left_out(plan_from_sequences(problem, {"t": ["b0"]}))
    unserved = explain_unfit(problem, plan).unserved
    reasons = [u.reason for u in unserved]
    assert reasons == [f"{UNFIT}: stop limit (t)"] * MAX_EXPLAINED + [UNFIT] * 2
    assert [u.rules for u in unserved] == [("max_stops",)] * MAX_EXPLAINED + [()] * 2
    assert {u.kind for u in unserved} == {UnservedKind.COULD_NOT_FIT}


@pytest.mark.parametrize("reason", ["not in the manual plan", "no vehicle takes stream 'glass'"])
def test_other_reasons_are_kept(kit, reason: str) -> None:
    problem = _problem(kit, 2, kit.truck("t", max_stops=1))
    plan = plan_from_sequences(problem, {"t": ["b0"]})
    plan = dataclasses.replace(plan, unserved=(Unserved(ref="b1", reason=reason),))
    assert explain_unfit(problem, plan) == plan
