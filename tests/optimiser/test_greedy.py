"""The greedy start and the pre-solve screen."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from optimiser.check import check, plan_from_sequences
from optimiser.greedy import LegsMemo, greedy_routes, insert_cheapest, with_final_unload
from optimiser.plan import UnservedKind
from optimiser.problem import Problem
from optimiser.screen import screen, unservable


def _kinds(problem: Problem) -> dict[str, UnservedKind]:
    """The kind of each stop the screen leaves out (ref -> kind)."""
    return {u.ref: u.kind for u in screen(problem)[1]}


def _random_problem(kit, seed: int = 3) -> Problem:
    rng = np.random.default_rng(seed)
    pts = [(0.0, 0.0), (3.0, 3.0)] + [(float(x), float(y)) for x, y in rng.uniform(-4, 4, (40, 2))]
    h = kit.H
    stops = tuple(
        kit.stop(
            f"b{i}",
            i,
            volume_l=int(rng.integers(100, 500)),
            window_s=(9 * h, 10 * h) if i % 7 == 0 else None,
            stream="paper" if i % 9 == 0 else "residual",
        )
        for i in range(2, 42)
    )
    trucks = (
        kit.truck("r", capacity_l=2000, break_s=1800, break_window_s=(9 * h, 11 * h)),
        kit.truck("p", capacity_l=2000, streams=frozenset({"paper", "residual"})),
    )
    sites = (kit.site("s", 1, streams=frozenset({"residual", "paper"})),)
    return Problem(matrix=kit.matrix(pts), stops=stops, vehicles=trucks, sites=sites)


def test_greedy_routes_are_valid_and_respect_streams(kit) -> None:
    problem = _random_problem(kit)
    routes = greedy_routes(problem)
    plan = plan_from_sequences(problem, routes)
    assert [v for v in check(problem, plan) if v.code != "unaccounted"] == []
    paper = {s.ref for s in problem.stops if s.stream == "paper"}
    assert not paper & set(routes.get("r", []))
    assert len(plan.served_refs) == len(problem.stops)


def test_a_loaded_truck_with_no_bins_left_unloads_at_a_site_still_open(kit) -> None:
    """Truck t, loaded (500 l), ready at 13:20 at its depot with no bin left; s1, 1 km
    off, was taken off the list at 13:20 (closed from then), s2 is open, 3 km off. The
    greedy start unloads it at s2 and sends it home: before, it chose s1, by the drive
    alone, found that start invalid and gave none (``{}``), and OR-Tools' own strategies
    then found none within 5 s on the service's busy days (Heidelberg seed 635: the day's
    reroute fell back on the plan being driven)."""
    h = kit.H
    matrix = kit.matrix([(0, 0), (1, 0), (3, 0)])
    truck = kit.truck("t", ready_s=13 * h + 1200, initial_volume_l=500, initial_weight_kg=50)
    closed = kit.site("s1", 1, window_s=(0, 13 * h + 1200))
    problem = Problem(matrix=matrix, stops=(), vehicles=(truck,), sites=(closed, kit.site("s2", 2)))
    assert with_final_unload(problem, truck, []) == ["s2"]
    assert greedy_routes(problem) == {"t": ["s2"]}
    plan = plan_from_sequences(problem, greedy_routes(problem))
    assert check(problem, plan) == []


def test_screen_reports_stream_size_and_window_with_reasons(kit) -> None:
    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)])
    problem = Problem(
        matrix=m,
        stops=(
            kit.stop("ok", 1),
            kit.stop("glass", 2, stream="glass"),
            kit.stop("huge", 3, volume_l=50_000),
            kit.stop("late", 4, window_s=(20 * h, 21 * h)),
        ),
        vehicles=(kit.truck(),),
    )
    reasons = unservable(problem)
    assert set(reasons) == {"glass", "huge", "late"}
    assert "stream" in reasons["glass"] and "capacity" in reasons["huge"]
    assert "window" in reasons["late"]
    reduced, out = screen(problem)
    assert [s.ref for s in reduced.stops] == ["ok"]
    assert {u.ref for u in out} == {"glass", "huge", "late"}
    assert {u.ref: u.reason for u in out} == reasons
    assert _kinds(problem) == {
        "glass": UnservedKind.STREAM,
        "huge": UnservedKind.TOO_BIG,
        "late": UnservedKind.WINDOW_OR_SHIFT,
    }


def test_screen_needs_a_site_when_trucks_return_empty(kit) -> None:
    """The only site refuses the truck's stream: nothing can be collected."""
    m = kit.matrix([(0, 0), (1, 0), (2, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("b", 2),),
        vehicles=(kit.truck(),),
        sites=(kit.site(location=1, streams=frozenset({"paper"})),),
    )
    assert "b" in unservable(problem)
    assert _kinds(problem) == {"b": UnservedKind.NO_SITE}
    assert unservable(dataclasses.replace(problem, return_empty=False)) == {}


def test_a_bin_kept_out_only_by_a_closed_site_names_the_site_and_its_hours(kit) -> None:
    """The paper truck starts at 12:00 and the paper site closes at 12:00: the bin (no
    window of its own) is unservable because the truck cannot unload, which the reason
    says with the site's hours (it said 'no truck can reach it within its time window',
    sending the dispatcher to look for a window the bin does not have)."""
    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (2, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("b", 2),),
        vehicles=(kit.truck(shift_s=(12 * h, 18 * h)),),
        sites=(kit.site("paper-site", 1, window_s=(8 * h, 12 * h)),),
    )
    reason = unservable(problem)["b"]
    assert reason.startswith("no truck can unload after it before its shift ends")
    assert "(paper-site 08:00-12:00)" in reason
    assert _kinds(problem) == {"b": UnservedKind.SITES_CLOSED}
    # open all day, but the trip to unload is longer than the 500 s shift: not the hours
    short = kit.truck(shift_s=(12 * h, 12 * h + 500))
    open_site = kit.site("paper-site", 1)
    other = dataclasses.replace(problem, vehicles=(short,), sites=(open_site,))
    assert unservable(other)["b"].startswith("no truck can reach it within its time window")
    assert _kinds(other) == {"b": UnservedKind.WINDOW_OR_SHIFT}


def test_a_bin_whose_trucks_shifts_are_over_says_so(kit) -> None:
    """A plan made at 16:00 (the truck ready then) when the only residual truck works until
    14:00: the reason says its shift is over (it said 'no truck can reach it within its time
    window and return within its shift' of a bin 100 s away)."""
    h = kit.H
    m = kit.matrix([(0, 0), (1, 0)])
    problem = Problem(
        matrix=m, stops=(kit.stop("b", 1),), vehicles=(kit.truck("t1", ready_s=16 * h),)
    )
    assert unservable(problem)["b"] == (
        "the shift of every truck taking stream 'residual' is over when the plan starts "
        "(t1 ends 14:00); collect it on another day"
    )
    assert _kinds(problem) == {"b": UnservedKind.SHIFTS_OVER}


def test_a_stream_spelt_otherwise_on_the_truck_is_named(kit) -> None:
    """The bins say 'paper', the truck 'Paper': the reason names the truck and its
    spelling (it said 'no vehicle takes stream paper' beside a paper truck); so with the
    truck's 'paper' and the site's 'Paper'."""
    m = kit.matrix([(0, 0), (1, 0), (2, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("b", 2, stream="paper"),),
        vehicles=(kit.truck("t2", streams=frozenset({"Paper"})),),
        sites=(kit.site(location=1, streams=frozenset({"Paper"})),),
    )
    assert unservable(problem)["b"] == (
        "no truck takes stream 'paper' of bin b: add the stream to a truck's streams, "
        "or correct the bin's stream (t2 takes 'Paper', not 'paper': stream names must match "
        "exactly; write them alike in the bins and the trucks)"
    )
    assert _kinds(problem) == {"b": UnservedKind.STREAM}
    paper = frozenset({"paper"})  # the truck agrees with the bins, the site does not
    trucks = (kit.truck("t2", streams=paper),)
    reason = unservable(dataclasses.replace(problem, vehicles=trucks))["b"]
    assert reason.startswith("no truck taking stream 'paper' can unload")
    assert _kinds(dataclasses.replace(problem, vehicles=trucks)) == {"b": UnservedKind.NO_SITE}
    assert reason.endswith(
        "(s1 takes 'Paper', not 'paper': stream names must match exactly; "
        "write them alike in the trucks and the sites)"
    )


def test_insert_cheapest_puts_the_bin_on_the_passing_route(kit) -> None:
    """A bin next to truck a's route goes to a, at the position of least detour."""
    from optimiser.greedy import insert_cheapest

    m = kit.matrix([(0, 0), (5, 0), (1, 0), (3, 0), (0, 3), (2, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("x", 2), kit.stop("y", 3), kit.stop("z", 4), kit.stop("u", 5)),
        vehicles=(kit.truck("a"), kit.truck("b")),
        sites=(kit.site(location=1),),
    )
    routes = {"a": ["x", "y", "s1"], "b": ["z", "s1"]}
    assert insert_cheapest(problem, routes, problem.stop("u")) == "a"
    assert routes["a"] == ["x", "u", "y", "s1"]
    plan = plan_from_sequences(problem, routes)
    assert check(problem, plan) == []


def test_insert_cheapest_gives_up_when_nothing_fits(kit) -> None:
    from optimiser.greedy import insert_cheapest

    m = kit.matrix([(0, 0), (1, 0), (2, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("x", 1, volume_l=900), kit.stop("u", 2, volume_l=200)),
        vehicles=(kit.truck("a", capacity_l=1000),),
        return_empty=False,
    )
    routes = {"a": ["x"]}
    assert insert_cheapest(problem, routes, problem.stop("u")) is None
    assert routes == {"a": ["x"]}


def test_insert_cheapest_meets_a_response_target_at_a_dearer_position(kit) -> None:
    """Truck a passes the bin (2 km detour) but only from 08:00; truck b could leave at
    06:00 (12 km there and back). Without a target the bin goes to a; with a target of 06:15
    to b, which starts it at 06:10."""
    from optimiser.greedy import insert_cheapest

    m = kit.matrix([(0, 0), (5, 0), (5, 1), (6, 0)])
    h = kit.H
    problem = Problem(
        matrix=m,
        stops=(kit.stop("x", 1), kit.stop("y", 3), kit.stop("u", 2)),
        vehicles=(kit.truck("a", shift_s=(8 * h, 14 * h)), kit.truck("b")),
        return_empty=False,
    )
    u = problem.stop("u")
    routes: dict[str, list[str]] = {"a": ["x", "y"]}
    assert insert_cheapest(problem, routes, u) == "a"
    target = dataclasses.replace(u, due_s=6 * h + 900)
    problem = dataclasses.replace(problem, stops=(*problem.stops[:2], target))
    routes = {"a": ["x", "y"]}
    assert insert_cheapest(problem, routes, target) == "b"
    assert routes == {"a": ["x", "y"], "b": ["u"]}
    plan = plan_from_sequences(problem, routes)
    assert check(problem, plan) == []
    from optimiser.check import late_s

    assert late_s(problem, plan) == {}


def test_insert_cheapest_looks_past_positions_where_the_load_cannot_fit(kit) -> None:
    """Every position on truck a's full route is cheaper than truck b's empty one, and none
    can take the bin (a's load). With one check allowed, it goes to b: a's positions are not
    ranked at all. It used to return None (only a's cheapest position was checked)."""
    from optimiser.greedy import insert_cheapest

    m = kit.matrix([(0, 0), (1, 0), (2, 0), (2, 1)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("x", 1, volume_l=900), kit.stop("y", 2), kit.stop("u", 3, volume_l=200)),
        vehicles=(kit.truck("a", capacity_l=1000), kit.truck("b", capacity_l=1000)),
        return_empty=False,
    )
    routes: dict[str, list[str]] = {"a": ["x", "y"]}
    assert insert_cheapest(problem, routes, problem.stop("u"), max_checks=1) == "b"
    assert check(problem, plan_from_sequences(problem, routes)) == []


def test_a_truck_named_like_the_bin_is_timed_at_the_bin_not_at_its_start(kit) -> None:
    """Truck "u" passes bin "u" (2 km of detour) after a 3 h bin it must start by 06:10;
    truck t could be there by 06:10. The target is 06:15: t takes it. (Timing "u" at the
    first visit of that ref, the truck's START at 06:00, read it as on time.)"""
    from optimiser.greedy import insert_cheapest

    m = kit.matrix([(0, 0), (5, 0), (5, 1)])
    problem = Problem(
        matrix=m,
        stops=(
            kit.stop("x", 1, service_s=3 * kit.H, window_s=(6 * kit.H, 6 * kit.H + 600)),
            kit.stop("u", 2, due_s=6 * kit.H + 900),
        ),
        vehicles=(kit.truck("u"), kit.truck("t")),
        return_empty=False,
    )
    routes: dict[str, list[str]] = {"u": ["x"]}
    assert insert_cheapest(problem, routes, problem.stop("u")) == "t"


def test_a_bin_whose_soonest_positions_break_a_rule_still_gets_a_place(kit) -> None:
    """Bin u (target 06:00, late anywhere) would start soonest before x, but x's window then
    closes; after x it is valid. With one check allowed, the ranking by lateness spends it
    on the invalid position, and the ranking by detour then places u after x. It used to
    return None: the target cost the bin its place."""
    from optimiser.greedy import insert_cheapest

    h = kit.H
    m = kit.matrix([(0, 0), (5, 0), (6, 0), (7, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("x", 1, window_s=(6 * h, 6 * h + 540)), kit.stop("u", 2, due_s=6 * h)),
        vehicles=(kit.truck("a", end=3),),
        return_empty=False,
    )
    routes: dict[str, list[str]] = {"a": ["x"]}
    assert insert_cheapest(problem, routes, problem.stop("u"), max_checks=1) == "a"
    assert routes == {"a": ["x", "u"]}
    assert check(problem, plan_from_sequences(problem, routes)) == []


def test_swap_in_makes_room_for_an_alert_by_taking_out_a_must_bin(kit) -> None:
    """Two stops a day, both used by must bins; an alerted bin next to the second: that
    must bin makes room (the nearest), and no other truck takes it back."""
    from optimiser.greedy import insert_cheapest, swap_in

    m = kit.matrix([(0, 0), (1, 0), (4, 0), (5, 0)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("near", 1), kit.stop("must", 2), kit.stop("alert", 3, priority=1)),
        vehicles=(kit.truck("a", max_stops=2),),
        return_empty=False,
    )
    routes = {"a": ["near", "must"]}
    assert insert_cheapest(problem, routes, problem.stop("alert")) is None
    assert swap_in(problem, routes, problem.stop("alert")) == ("a", "must")
    assert sorted(routes["a"]) == ["alert", "near"]
    plan = plan_from_sequences(problem, routes)
    assert check(problem, plan) == [] and "must" not in plan.served_refs


def test_swap_in_puts_the_bin_taken_out_on_another_truck_and_spares_alerts(kit) -> None:
    """Truck a, the only one taking paper, is full (two stops) when a paper bank overflows.
    Its must bin makes room, not the other alerted bin nearer the bank, and goes to truck b,
    which has room."""
    from optimiser.greedy import swap_in

    m = kit.matrix([(0, 0), (1, 0), (4, 0), (5, 0), (2, 0)])
    problem = Problem(
        matrix=m,
        stops=(
            kit.stop("other_alert", 1, priority=1),
            kit.stop("must", 2),
            kit.stop("alert", 3, priority=1, stream="paper"),
            kit.stop("spare", 4),
        ),
        vehicles=(
            kit.truck("a", max_stops=2, streams=frozenset({"residual", "paper"})),
            kit.truck("b", max_stops=2),
        ),
        return_empty=False,
    )
    routes = {"a": ["other_alert", "must"], "b": ["spare"]}
    assert swap_in(problem, routes, problem.stop("alert")) == ("a", None)
    assert sorted(routes["a"]) == ["alert", "other_alert"]
    assert sorted(routes["b"]) == ["must", "spare"]
    assert check(problem, plan_from_sequences(problem, routes)) == []


def test_swap_in_takes_out_a_bin_worth_a_prize_before_a_must_bin(kit) -> None:
    """Truck a is full (two stops): a must bin and, nearer the alerted bin, nothing; a bin
    worth a prize further away. The alert takes the place of the optional bin, not of the
    must bin nearer it."""
    from optimiser.greedy import swap_in

    m = kit.matrix([(0, 0), (1, 0), (4, 0), (5, 0)])
    problem = Problem(
        matrix=m,
        stops=(
            kit.stop("may", 1, required=False, prize=500),
            kit.stop("must", 2),
            kit.stop("alert", 3, priority=1),
        ),
        vehicles=(kit.truck("a", max_stops=2),),
        return_empty=False,
    )
    routes = {"a": ["may", "must"]}
    assert swap_in(problem, routes, problem.stop("alert")) == ("a", "may")
    assert sorted(routes["a"]) == ["alert", "must"]
    assert check(problem, plan_from_sequences(problem, routes)) == []


def test_swap_in_makes_room_for_a_must_bin_by_taking_out_a_bin_worth_a_prize(kit) -> None:
    """Truck a is full of optional bins when a must bin has no place: the nearest optional
    bin gives way; a must bin never takes out another must bin."""
    from optimiser.greedy import swap_in

    m = kit.matrix([(0, 0), (1, 0), (4, 0), (5, 0)])
    problem = Problem(
        matrix=m,
        stops=(
            kit.stop("far", 1, required=False, prize=500),
            kit.stop("near", 2, required=False, prize=500),
            kit.stop("must", 3),
        ),
        vehicles=(kit.truck("a", max_stops=2),),
        return_empty=False,
    )
    routes = {"a": ["far", "near"]}
    assert swap_in(problem, routes, problem.stop("must")) == ("a", "near")
    assert sorted(routes["a"]) == ["far", "must"]
    full = {"a": ["far", "must"]}
    other = dataclasses.replace(problem, stops=(*problem.stops, kit.stop("must2", 2)))
    assert swap_in(other, {"a": ["must", "must2"]}, other.stop("far")) is None
    assert swap_in(other, full, other.stop("must2")) == ("a", "far")


def test_a_stop_no_load_has_room_for_goes_in_with_one_more_unloading(kit) -> None:
    """Truck a (1000 l) empties bin a (600 l) then unloads at the far site; bin u (600 l)
    must be emptied by 06:05, before a could be back from the site: no position takes it as
    the loads stand, so it goes first with an unloading of its own."""
    h = kit.H
    m = kit.matrix([(0, 0), (10, 0), (1, 0), (0, 1)])
    problem = Problem(
        matrix=m,
        stops=(
            kit.stop("a", 2, volume_l=600),
            kit.stop("u", 3, volume_l=600, window_s=(0, 6 * h + 300)),
        ),
        vehicles=(kit.truck("a", capacity_l=1000),),
        sites=(kit.site("s1", 1),),
    )
    routes = {"a": ["a", "s1"]}
    assert insert_cheapest(problem, routes, problem.stop("u")) == "a"
    assert routes == {"a": ["u", "s1", "a", "s1"]}
    assert check(problem, plan_from_sequences(problem, routes)) == []


def test_an_idle_truck_is_tried_when_the_cheapest_positions_all_break_a_rule(kit) -> None:
    """Truck a passes bin u, but its shift ends before it could take one more bin; truck b
    is idle at the depot. With one check allowed (at scale: the 40 cheapest positions, all
    on full routes), u goes to b: a truck without a route is always tried. It used to return
    None, and a must bin was left out while trucks stood idle."""
    from optimiser.greedy import insert_cheapest

    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (1, 1)])
    problem = Problem(
        matrix=m,
        stops=(kit.stop("x", 1), kit.stop("u", 2)),
        vehicles=(kit.truck("a", shift_s=(6 * h, 6 * h + 300)), kit.truck("b")),
        return_empty=False,
    )
    routes: dict[str, list[str]] = {"a": ["x"], "b": []}
    assert check(problem, plan_from_sequences(problem, {"a": ["x"]})) == []
    assert insert_cheapest(problem, routes, problem.stop("u"), max_checks=1) == "b"
    assert routes == {"a": ["x"], "b": ["u"]}
    assert check(problem, plan_from_sequences(problem, routes)) == []


def test_insert_cheapest_with_a_memo_inserts_as_without_one(kit) -> None:
    """Twenty bins inserted one by one into routes of twenty others, some with a response
    target, with the routes timed kept in a memo between insertions (as a reroute does):
    the same routes as timing every route each time, and they break no rule."""
    problem = _random_problem(kit)
    first = dataclasses.replace(problem, stops=problem.stops[:20])
    start = greedy_routes(first)
    rest = [
        dataclasses.replace(s, due_s=9 * kit.H + 60 * i) if i % 3 == 0 else s
        for i, s in enumerate(problem.stops[20:])
    ]
    problem = dataclasses.replace(problem, stops=(*problem.stops[:20], *rest))
    plain = {v: list(refs) for v, refs in start.items()}
    memoised = {v: list(refs) for v, refs in start.items()}
    memo: LegsMemo = {}
    for stop in rest:
        taker = insert_cheapest(problem, plain, stop)
        assert insert_cheapest(problem, memoised, stop, memo=memo) == taker
        assert memoised == plain
    assert memo  # the memo was used
    plan = plan_from_sequences(problem, plain)
    assert [v for v in check(problem, plan) if v.code != "unaccounted"] == []
    assert len(plan.served_refs) > 20


def _tight_problem(kit) -> Problem:
    """:func:`_random_problem` with shifts of 06:00-08:30: the greedy routes leave bins
    out, and fill their shifts (a break, windows, a site on the way)."""
    problem = _random_problem(kit)
    h = kit.H
    trucks = tuple(dataclasses.replace(v, shift_s=(6 * h, 8 * h + 1800)) for v in problem.vehicles)
    return dataclasses.replace(problem, vehicles=trucks)


def test_an_insertion_beyond_a_routes_room_is_never_valid(kit) -> None:
    """Every position the insertions skip unchecked (more driving and service than the
    route's room: ``greedy_legs._room_s``) is one the checker finds invalid, with or without an
    unloading after the bin; and the rule skips some, not all."""
    from optimiser.check import check_route, time_route
    from optimiser.greedy import with_final_unload
    from optimiser.greedy_legs import _legs, _room_s

    problem = _tight_problem(kit)
    routes = greedy_routes(problem)
    dur = problem.matrix.duration_s
    site = problem.sites[0]
    left = [s for s in problem.stops if all(s.ref not in r for r in routes.values())]
    assert left
    skipped = kept = 0
    for v in problem.vehicles:
        refs = routes.get(v.ref, [])
        timed = _legs(problem, v, refs)
        assert timed.room_s == _room_s(problem, v, time_route(problem, v, refs))
        rows = timed.rows
        for stop in left:
            if stop.stream not in v.streams:
                continue
            for k in range(len(refs) + 1):
                a, b = int(rows[k]), int(rows[k + 1])
                there = int(dur[a, stop.location])
                alone = there + int(dur[stop.location, b]) - int(dur[a, b])
                unload = there + int(dur[stop.location, site.location] + dur[site.location, b])
                unload -= int(dur[a, b])
                for new, added in (
                    ([*refs[:k], stop.ref, *refs[k:]], alone + stop.service_s),
                    (
                        [*refs[:k], stop.ref, site.ref, *refs[k:]],
                        unload + stop.service_s + site.unload_s,
                    ),
                ):
                    new = with_final_unload(problem, v, new)
                    if added > timed.room_s:
                        skipped += 1
                        assert check_route(problem, v, time_route(problem, v, new)), (v.ref, new)
                    else:
                        kept += 1
    assert skipped and kept


def test_a_bin_no_route_has_time_for_is_refused_without_a_check(kit, monkeypatch) -> None:
    """Truck a's route takes all but 5 min of its shift (06:00-07:10: three bins of 18 min
    and 10 min of driving); the bin left 2 km off it adds at least 6 min of driving and
    1 min of service wherever it goes, and no route is checked to find that out (on a day
    with more bins than the trucks have time for, a reroute checked every position of every
    bin left out: 70 s of 82 for 2000 bins)."""
    import optimiser.greedy_insert as greedy_insert
    from optimiser.check import check_route, time_route

    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (2, 0), (3, 0), (1, 2)])
    problem = Problem(
        matrix=m,
        stops=(*(kit.stop(f"x{i}", i, service_s=1100) for i in (1, 2, 3)), kit.stop("u", 4)),
        vehicles=(kit.truck("a", shift_s=(6 * h, 7 * h + 600)),),
        return_empty=False,
    )
    routes = {"a": ["x1", "x2", "x3"]}
    a = problem.vehicles[0]
    assert check_route(problem, a, time_route(problem, a, routes["a"])) == []
    checks: list[str] = []

    def counted(problem: Problem, v, route):
        checks.append(v.ref)
        return check_route(problem, v, route)

    monkeypatch.setattr(greedy_insert, "check_route", counted)
    assert insert_cheapest(problem, routes, problem.stop("u")) is None
    assert routes == {"a": ["x1", "x2", "x3"]}
    assert checks == []


def _may_take(problem: Problem, v, refs: list[str], stop) -> bool:
    """Whether some position of ``refs`` may take ``stop`` by the insertions' rule, one at a
    time: the stop alone where the load up to the next unloading has room for it, or
    followed by a site where the load on board there has; added driving and service within
    the route's room; a truck of its stream within its daily limits."""
    from optimiser.greedy_legs import _legs

    timed = _legs(problem, v, refs)
    dur = problem.matrix.duration_s
    last = timed.legs[-1]
    over_l = v.max_daily_l is not None and last.daily_l + stop.volume_l > v.max_daily_l
    over_kg = v.max_daily_kg is not None and last.daily_kg + stop.weight_kg > v.max_daily_kg
    if stop.stream not in v.streams or over_l or over_kg:
        return False
    rows = [int(r) for r in timed.rows]
    for k, (a, b) in enumerate(itertools.pairwise(rows)):
        there = int(dur[a, stop.location]) - int(dur[a, b])
        fits = timed.ahead_l[k] + stop.volume_l <= v.capacity_l
        fits &= timed.ahead_kg[k] + stop.weight_kg <= v.capacity_kg
        if fits and there + int(dur[stop.location, b]) + stop.service_s <= timed.room_s:
            return True
        leg = timed.legs[k]
        on_board = leg.volume_l + stop.volume_l <= v.capacity_l
        on_board &= leg.weight_kg + stop.weight_kg <= v.capacity_kg
        for site in problem.sites if on_board else ():
            via = there + int(dur[stop.location, site.location] + dur[site.location, b])
            if via + stop.service_s + site.unload_s <= timed.room_s:
                return True
    return False


def _no_valid_position(problem: Problem, v, refs: list[str], stop) -> bool:
    """Whether the checker finds every insertion of ``stop`` into ``refs`` invalid: at each
    position, alone and followed by each site."""
    from optimiser.check import check_route, time_route
    from optimiser.greedy import with_final_unload

    for k in range(len(refs) + 1):
        for after in ([], *([s.ref] for s in problem.sites)):
            new = with_final_unload(problem, v, [*refs[:k], stop.ref, *after, *refs[k:]])
            if not check_route(problem, v, time_route(problem, v, new)):
                return False
    return True


def test_room_left_says_which_bins_a_route_may_take(kit, monkeypatch) -> None:
    """``RoomLeft`` answers, for all the bins left out of truck p's tight route at once,
    whether the route has a position that may take each (the load fitting, alone or with
    an unloading after it, and the time), as the insertions' rule does one at a time; the
    answer is no for most and yes for some. Where it says no, the checker finds every
    insertion invalid, and ``insert_cheapest`` refuses the bin without a check. Asked about
    the route with three bins fewer, its answers are those of that route."""
    import optimiser.greedy_insert as greedy_insert
    from optimiser.check import check_route
    from optimiser.greedy import RoomLeft

    tight = _tight_problem(kit)
    problem = dataclasses.replace(tight, vehicles=tuple(v for v in tight.vehicles if v.ref == "p"))
    routes = greedy_routes(problem)
    (v,) = problem.vehicles
    left = [s for s in problem.stops if all(s.ref not in r for r in routes.values())]
    room_left = RoomLeft(problem, left)
    answers = [room_left.fits(v, routes[v.ref], s.ref) for s in left]
    assert answers == [_may_take(problem, v, routes[v.ref], s) for s in left]
    assert set(answers) == {True, False}
    refused = [s for s in left if not room_left.anywhere(routes, s.ref)]
    assert all(_no_valid_position(problem, v, routes[v.ref], s) for s in refused)
    checks: list[str] = []

    def counted(problem: Problem, v, route):
        checks.append(v.ref)
        return check_route(problem, v, route)

    monkeypatch.setattr(greedy_insert, "check_route", counted)
    for stop in refused:
        assert insert_cheapest(problem, {r: list(x) for r, x in routes.items()}, stop) is None
    assert checks == []
    shorter = routes[v.ref][:-3]  # three bins fewer: time for more of them
    now = [room_left.fits(v, shorter, s.ref) for s in left]
    assert now == [_may_take(problem, v, shorter, s) for s in left]
    assert sum(now) > sum(answers)


def test_room_left_counts_a_bin_that_has_time_only_with_an_unloading_after_it(kit) -> None:
    """Bin u's street leaves only towards site s2 (every other way out of it 1000 s longer):
    truck a's route (x1, x2, x3, unloading at s1; 5 min of its shift left) has no time for
    u alone anywhere, but has after x3 with an unloading at s2 at once (no more driving
    than before). ``RoomLeft`` says it has time, and the insertion takes it there."""
    from optimiser.greedy import RoomLeft, detours
    from optimiser.greedy_legs import _legs

    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (2, 0), (3, 0), (3, 0.5), (0, 1), (3, 1)])
    dur = m.duration_s.copy()
    dur[4, [0, 1, 2, 3, 5]] += 1000  # out of u: only towards s2 (row 6) as the crow flies
    m = dataclasses.replace(m, duration_s=dur)
    a = kit.truck("a", shift_s=(6 * h, 6 * h + 4430))
    problem = Problem(
        matrix=m,
        stops=(*(kit.stop(f"x{i}", i, service_s=1100) for i in (1, 2, 3)), kit.stop("u", 4)),
        vehicles=(a,),
        sites=(kit.site("s1", 5, unload_s=30), kit.site("s2", 6, unload_s=30)),
    )
    routes = {"a": ["x1", "x2", "x3", "s1"]}
    u = problem.stop("u")
    alone = detours(problem, a, routes["a"], u) + u.service_s
    assert alone.min() > _legs(problem, a, routes["a"]).room_s == 300
    assert RoomLeft(problem, [u]).fits(a, routes["a"], "u")
    assert insert_cheapest(problem, routes, u) == "a"
    assert routes["a"] == ["x1", "x2", "x3", "u", "s2", "s1"]


def test_start_in_is_when_the_timed_route_starts_the_bin(kit) -> None:
    """``start_in`` reads a bin's start from the route timed for the insertions: the same
    second as ``check.time_route`` gives for every bin of every greedy route (a break and
    windows among them), and the route timed once is kept in the memo."""
    from optimiser.check import time_route
    from optimiser.greedy import start_in, start_of

    problem = _random_problem(kit)
    routes = greedy_routes(problem)
    memo: LegsMemo = {}
    bins = {s.ref for s in problem.stops}
    for v in problem.vehicles:
        refs = routes.get(v.ref, [])
        timed = time_route(problem, v, refs)
        for ref in (r for r in refs if r in bins):
            assert start_in(problem, v, refs, ref, memo) == start_of(timed, ref)
    assert set(memo) == {(v.ref, tuple(routes.get(v.ref, []))) for v in problem.vehicles}


def test_room_left_says_no_where_the_load_or_the_day_has_no_room(kit) -> None:
    """Truck a is out with 900 l of its 1000 on board, its route to site s1 (where its day
    ends) has 60 s to spare. Bin u (200 l) lies halfway: before s1 it adds no driving but
    does not fit on board, not even with an unloading right after it (it is picked up
    first); after s1 it fits but adds 100 s. So no position may take it, and ``RoomLeft``
    says so; with room on board (400 l) it says yes. A truck whose day's limit (1000 l,
    950 emptied) is reached may take no bin however much time it has."""
    from optimiser.greedy import RoomLeft

    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (0.5, 0)])
    a = kit.truck("a", end=1, capacity_l=1000, shift_s=(6 * h, 6 * h + 190))
    u = kit.stop("u", 2, volume_l=200, service_s=30)
    problem = Problem(matrix=m, stops=(u,), vehicles=(a,), sites=(kit.site("s1", 1, unload_s=30),))
    loaded = dataclasses.replace(a, initial_volume_l=900, initial_weight_kg=90)
    for truck, may in ((loaded, False), (dataclasses.replace(loaded, initial_volume_l=400), True)):
        on_road = dataclasses.replace(problem, vehicles=(truck,))
        assert RoomLeft(on_road, [u]).fits(truck, ["s1"], "u") is may
        assert (insert_cheapest(on_road, {"a": ["s1"]}, u) is not None) is may
    day = dataclasses.replace(a, shift_s=(6 * h, 14 * h), max_daily_l=1000, initial_daily_l=950)
    for truck, may in ((day, False), (dataclasses.replace(day, max_daily_l=None), True)):
        spent = dataclasses.replace(problem, vehicles=(truck,))
        assert RoomLeft(spent, [u]).fits(truck, ["s1"], "u") is may
        assert (insert_cheapest(spent, {"a": ["s1"]}, u) is not None) is may


def _break_moves_past_problem(kit) -> Problem:
    """Truck a (out 08:30, a 30 min break between 09:00 and 11:00) empties A until 09:00,
    breaks, then B and C (C at the latest 09:36:40). Bin u, due 09:10, adds 200 s after B,
    400 s after A, 600 s before A, 1600 s on idle truck b. After B it seems late (the break
    before B), but then C would miss its window, so the break moves to the end of the
    route and u starts at 09:06: the best valid place, though ranked fourth."""
    h = kit.H
    m = kit.matrix([(0, 0), (5, 0), (6, 0), (8, 0), (7, 1)])
    out = (8 * h + 1800, 14 * h)
    brk = {"break_s": 1800, "break_window_s": (9 * h, 11 * h)}
    return Problem(
        matrix=m,
        stops=(
            kit.stop("A", 1, service_s=1300),
            kit.stop("B", 2),
            kit.stop("C", 3, window_s=(0, 9 * h + 2200)),
            kit.stop("u", 4, due_s=9 * h + 600),
        ),
        vehicles=(kit.truck("a", shift_s=out, **brk), kit.truck("b", shift_s=out, **brk)),
        return_empty=False,
    )


def test_a_bin_with_a_target_goes_where_a_moved_break_makes_it_soonest(kit, monkeypatch) -> None:
    """Of the positions ranked for bin u (:func:`_break_moves_past_problem`), the first
    valid one (after A, 400 s) is checked, then only the one after B: its detour and the
    soonest u may start there, the break moved past it, could cost less, and do (200 s, on
    time). Before A, truck b and after C cannot cost less than 400 or 200 s, on time or
    not, and are not checked. A floor that kept the break before B would have left u after
    A."""
    import optimiser.greedy_insert as greedy_insert
    from optimiser.check import check_route, late_s, time_route
    from optimiser.greedy_legs import _legs, _soonest_starts

    problem = _break_moves_past_problem(kit)
    u = problem.stop("u")
    a = problem.vehicles[0]
    timed = _legs(problem, a, ["A", "B", "C"])
    assert timed.rested_s.tolist() == [0, 0, 1800, 1800]  # START, A, then B and C after it
    assert _soonest_starts(problem, timed, u)[2] == 9 * kit.H + 360  # 09:06:00
    checked: list[tuple[str, list[str]]] = []

    def spy(problem, v, route):
        checked.append((v.ref, [x.ref for x in route.visits[1:-1] if x.ref != v.ref]))
        return check_route(problem, v, route)

    monkeypatch.setattr(greedy_insert, "check_route", spy)
    routes: dict[str, list[str]] = {"a": ["A", "B", "C"]}
    assert insert_cheapest(problem, routes, u) == "a"
    assert routes == {"a": ["A", "B", "u", "C"]}
    assert checked == [("a", ["A", "u", "B", "C"]), ("a", ["A", "B", "u", "C"])]
    new = time_route(problem, a, routes["a"])
    assert [x.kind.value for x in new.visits][-2:] == ["break", "end"]
    plan = plan_from_sequences(problem, routes)
    assert check(problem, plan) == [] and late_s(problem, plan) == {}


def test_the_soonest_start_is_never_after_the_timed_one(kit) -> None:
    """For every bin left out of the greedy routes of twenty (trucks out at 08:30, a break
    between 09:00 and 11:00, windows, a site), inserted at every position of every route:
    the new route timed starts it no sooner than :func:`_soonest_starts` says (the floor
    the insertions skip positions by), and exactly then at some positions; positions after
    the break are among those tried."""
    from optimiser.check import time_route
    from optimiser.greedy import start_of, with_final_unload
    from optimiser.greedy_legs import _legs, _soonest_starts

    problem = _random_problem(kit)
    out = (8 * kit.H + 1800, 14 * kit.H)
    trucks = tuple(dataclasses.replace(v, shift_s=out) for v in problem.vehicles)
    problem = dataclasses.replace(problem, vehicles=trucks)
    routes = greedy_routes(dataclasses.replace(problem, stops=problem.stops[:20]))
    exact = after_break = 0
    for stop in problem.stops[20:]:
        for v in problem.vehicles:
            if stop.stream not in v.streams:
                continue
            refs = routes.get(v.ref, [])
            timed = _legs(problem, v, refs)
            soonest = _soonest_starts(problem, timed, stop)
            for k in range(len(refs) + 1):
                new = with_final_unload(problem, v, [*refs[:k], stop.ref, *refs[k:]])
                start = start_of(time_route(problem, v, new), stop.ref)
                assert start >= soonest[k], (stop.ref, v.ref, k)
                exact += start == soonest[k]
                after_break += bool(timed.rested_s[k])
    assert exact and after_break
