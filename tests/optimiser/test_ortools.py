"""OR-Tools engine specifics (``optimiser._ortools``); every plan is validated by the checker."""

from __future__ import annotations

import dataclasses
import faulthandler
import platform

import numpy as np
import pytest

from network.matrix import TravelMatrix
from optimiser._ortools import heap as glibc_heap
from optimiser._ortools import heap_pad_bytes, solve_ortools
from optimiser._ortools.model import _Model
from optimiser.check import check
from optimiser.greedy import greedy_routes
from optimiser.params import SolveParams
from optimiser.plan import PlanStatus, UnservedKind, VisitKind
from optimiser.problem import Problem


@pytest.mark.parametrize("unload_s", [0, 300])
def test_an_unload_is_not_repeated_at_the_same_site(kit, unload_s: int) -> None:
    # with unload_s = 0, or while the truck would wait anyway, the site's spare copies cost
    # nothing, so the search may chain them (here the warm start does): the route sheet
    # must still show one unload per trip
    problem = Problem(
        matrix=kit.matrix([(0, 0), (3, 0), (1, 0), (2, 0)]),
        stops=(
            kit.stop("b1", 2, volume_l=600),
            kit.stop("b2", 3, volume_l=600, window_s=(9 * kit.H, 10 * kit.H)),
        ),
        vehicles=(kit.truck("t", capacity_l=1000, cost_per_hour=3000),),
        sites=(kit.site("s", 1, unload_s=unload_s),),
    )
    warm = {"t": ["b1", "s", "s", "b2", "s", "s"]}
    plan = solve_ortools(problem, SolveParams(time_limit_s=0.2), warm_start=warm)
    assert check(problem, plan) == []
    refs = [(v.kind, v.ref) for v in plan.routes[0].visits if v.kind is not VisitKind.BREAK]
    d = VisitKind.DISPOSAL
    assert refs[1:-1] == [(VisitKind.BIN, "b1"), (d, "s"), (VisitKind.BIN, "b2"), (d, "s")]


def test_waiting_costs_as_working_does(kit) -> None:
    """One truck (30/h) must empty b1 by 06:30; optional b2 (prize 5) opens at 10:00. Plans
    are costed by their span, waiting included: OR-Tools leaves b2 out rather than wait
    3.5 h for it (it served it, as its search counted driving and service only: objective
    114.07 against 13.50)."""
    h = kit.H
    problem = Problem(
        matrix=kit.matrix([(0, 0), (1, 0), (1.2, 0), (0, 0.5)]),
        stops=(
            kit.stop("b1", 1, window_s=(6 * h, 6 * h + 1800)),
            kit.stop("b2", 2, required=False, prize=500, window_s=(10 * h, 10 * h + 600)),
        ),
        vehicles=(kit.truck("t", cost_per_hour=3000),),
        sites=(kit.site("s", 3),),
    )
    plan = solve_ortools(problem, SolveParams(time_limit_s=0.5))
    assert check(problem, plan) == []
    assert plan.served_refs == {"b1"}
    assert plan.objective == 1350 and plan.routes[0].duration_s == 660


def test_truck_already_past_its_daily_limit_takes_nothing_more(kit) -> None:
    # rerouting with measured totals: "full" has collected 2500 l today against a 2000 l
    # limit; OR-Tools used to fail building the model ("CP Solver fail")
    problem = Problem(
        matrix=kit.matrix([(0, 0), (3, 0), (1, 0), (2, 0)]),
        stops=(kit.stop("b1", 2), kit.stop("b2", 3)),
        vehicles=(
            kit.truck("full", max_daily_l=2000, initial_daily_l=2500, ready_s=8 * kit.H),
            kit.truck("spare"),
        ),
        sites=(kit.site("s", 1),),
    )
    plan = solve_ortools(problem, SolveParams(time_limit_s=0.2))
    assert check(problem, plan) == []
    assert {r.vehicle_ref for r in plan.routes if r.bin_refs} == {"spare"}
    assert plan.served_refs == {"b1", "b2"}


def test_a_response_target_brings_the_bin_forward_at_a_detour(kit) -> None:
    """Three 30 min bins on a line and u beside the last: u last is 4 km shorter, u first
    meets its 06:10 target. OR-Tools serves u last without the target, first with it."""
    from optimiser.check import late_s

    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (2, 0), (3, 0), (3, 1)])
    bins = tuple(kit.stop(f"b{i}", i, service_s=1800) for i in (1, 2, 3))
    u = kit.stop("u", 4)
    problem = Problem(matrix=m, stops=(*bins, u), vehicles=(kit.truck(),), return_empty=False)
    params = SolveParams(time_limit_s=0.5)
    plan = solve_ortools(problem, params)
    assert check(problem, plan) == [] and plan.routes[0].bin_refs[-1] == "u"
    urgent = dataclasses.replace(problem, stops=(*bins, dataclasses.replace(u, due_s=6 * h + 600)))
    plan = solve_ortools(urgent, params)
    assert check(urgent, plan) == []
    assert plan.routes[0].bin_refs[0] == "u" and late_s(urgent, plan) == {}


def test_a_response_target_never_costs_a_bin_left_out_of_the_start_its_visit(kit) -> None:
    """The truck has room for one more bin (stop limit 2) and the start leaves out two
    required ones: u (near, target 06:00, late whenever served) and r (farther). Without a
    target OR-Tools takes u; with the target's price the search took r and left u out (a
    target is not a rule and must not cost the bin its visit)."""
    h = kit.H
    m = kit.matrix([(0, 0), (1, 0), (1, 1), (3, 0)])
    stops = (kit.stop("x", 1), kit.stop("u", 2, due_s=6 * h), kit.stop("r", 3))
    problem = Problem(
        matrix=m, stops=stops, vehicles=(kit.truck("a", max_stops=2),), return_empty=False
    )
    plan = solve_ortools(
        problem,
        SolveParams(time_limit_s=0.3),
        warm_start={"a": ["x"]},
        soft_required=frozenset({"u", "r"}),
    )
    assert check(problem, plan) == []
    assert plan.routes[0].bin_refs == ("x", "u") and [u.ref for u in plan.unserved] == ["r"]


def test_a_warm_start_keeps_its_routes_without_a_visit_its_truck_may_no_longer_make(
    kit, capfd: pytest.CaptureFixture[str]
) -> None:
    """Two like trucks of residual waste, b1 east and b2 west of their depot: one truck
    takes both, either way round at the same cost. The warm start (the plan being driven)
    has the truck and the order greedy routes would not take, with its truck unloading
    first at o, a site that now takes organic waste only (its streams changed during the
    day). OR-Tools refused the whole start for that one visit ("Vehicle 1 is not allowed
    at index ...", on stderr) and searched from scratch: the driver's bins came in the
    other order. Now the start is read without that visit, and kept."""
    problem = Problem(
        matrix=kit.matrix([(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]),
        stops=(kit.stop("b1", 1), kit.stop("b2", 2)),
        vehicles=(kit.truck("t1"), kit.truck("t2")),
        sites=(kit.site("s", 3), kit.site("o", 4, streams=frozenset({"organic"}))),
    )
    ((greedy, bins),) = [
        (ref, [r for r in refs if r in ("b1", "b2")])
        for ref, refs in greedy_routes(problem).items()
        if refs
    ]
    other = "t2" if greedy == "t1" else "t1"
    warm = {greedy: [], other: [*reversed(bins), "o", "s"]}
    plan = solve_ortools(problem, SolveParams(time_limit_s=0.5), warm_start=warm)
    assert check(problem, plan) == []
    assert [(r.vehicle_ref, list(r.bin_refs)) for r in plan.routes if r.bin_refs] == [
        (other, list(reversed(bins)))
    ]
    assert "not allowed" not in capfd.readouterr().err


@pytest.fixture
def heap(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """glibc's ``mallopt`` replaced by a recorder of its calls; no pad asked yet."""
    calls: list[tuple[int, int]] = []

    def mallopt(param: int, value: int) -> int:
        calls.append((param, value))
        return 1

    monkeypatch.setattr(glibc_heap._Heap, "pad_bytes", 0)
    monkeypatch.setattr(glibc_heap._Heap, "mallopt", mallopt)
    return calls


def test_a_model_keeps_heap_room_for_the_copies_of_its_time_matrix(
    heap: list[tuple[int, int]], line_problem: Problem, random_problem: Problem
) -> None:
    # OR-Tools' break constraint copies the time matrix at each propagation; glibc is asked
    # to keep room for it (two copies), and the pad only grows
    plan = solve_ortools(random_problem, SolveParams(time_limit_s=0.2))
    assert check(random_problem, plan) == []
    big = heap_pad_bytes(len(_Model(random_problem, soft=frozenset()).nodes.refs))
    assert heap == [(glibc_heap.M_TOP_PAD, big), (glibc_heap.M_MMAP_THRESHOLD, 32 * 2**20)]
    solve_ortools(line_problem, SolveParams(time_limit_s=0.2))  # smaller: nothing asked
    assert len(heap) == 2 and glibc_heap._Heap.pad_bytes == big


def test_the_heap_pad_is_two_time_matrices_up_to_a_ceiling() -> None:
    assert heap_pad_bytes(1000) == 2 * 1000 * (8 * 1000 + 32)  # about 16 MB
    assert heap_pad_bytes(100_000) == glibc_heap.HEAP_PAD_MAX_BYTES


def test_without_glibc_nothing_is_asked(monkeypatch: pytest.MonkeyPatch, kit) -> None:
    monkeypatch.setattr(glibc_heap._Heap, "pad_bytes", 0)
    monkeypatch.setattr(glibc_heap._Heap, "mallopt", False)  # looked up: not there
    problem = Problem(
        matrix=kit.matrix([(0, 0), (1, 0), (2, 0)]),
        stops=(kit.stop("b1", 2),),
        vehicles=(kit.truck("t"),),
        sites=(kit.site("s", 1),),
    )
    assert check(problem, solve_ortools(problem, SolveParams(time_limit_s=0.1))) == []


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_glibc_takes_the_heap_pad() -> None:
    mallopt = glibc_heap._glibc_mallopt()
    assert mallopt is not None
    assert mallopt(glibc_heap.M_TOP_PAD, max(glibc_heap._Heap.pad_bytes, 128 * 1024)) == 1


def test_a_warm_start_that_breaks_a_rule_still_gets_a_plan(kit) -> None:
    """Rerouting at 12:00: t0 and t1 are full, t2 half full and sent straight home by the
    warm start (it must unload first), eight bins optional. OR-Tools could not read that
    start nor find one of its own: no plan at all (a downtime's re-plan then kept the old
    plan, with the broken-down truck's visits). It now starts from greedy routes."""
    h = kit.H
    n = 8
    pts = [(0, 0), (3, 0)] + [(0.5 + 0.2 * i, 1.0) for i in range(n)] + [(1, 1), (2, 1), (1.5, 2)]
    stops = tuple(kit.stop(f"b{i}", 2 + i, volume_l=300) for i in range(n))
    trucks = tuple(
        kit.truck(
            f"t{k}",
            start=2 + n + k,
            end=0,
            capacity_l=1000,
            initial_volume_l=1000 if k < 2 else 500,
            ready_s=12 * h,
        )
        for k in range(3)
    )
    problem = Problem(
        matrix=kit.matrix(pts), stops=stops, vehicles=trucks, sites=(kit.site("s", 1),)
    )
    warm = {"t0": ["s"], "t1": ["s"], "t2": []}
    soft = frozenset(s.ref for s in stops)
    plan = solve_ortools(
        problem, SolveParams(time_limit_s=1.0), warm_start=warm, soft_required=soft
    )
    assert plan.status is not PlanStatus.NO_SOLUTION
    assert check(problem, plan) == [] and plan.served_refs == soft


# travel between the depot (0), the site (1) and four bins, as a service fuzz city had them
SEED_54_S = [
    [0, 749, 240, 213, 121, 326],
    [749, 0, 581, 910, 866, 433],
    [240, 581, 0, 336, 355, 246],
    [213, 910, 336, 0, 190, 514],
    [121, 866, 355, 190, 0, 437],
    [326, 433, 246, 514, 437, 0],
]


@pytest.fixture
def late_morning_with_a_break(kit) -> Problem:
    """The rest of a day at 08:50 (service fuzz seed 54): t0 is done for the day (its stop
    limit reached), t1 is to leave its depot, owing a 30 min break between 10:00 and 11:00;
    b1 opens at 10:00, alerted b8 is due by 10:50, and every minute costs (30/h)."""
    h = kit.H
    dist = np.array(SEED_54_S, dtype=np.int64) * 7
    matrix = TravelMatrix(
        duration_s=np.array(SEED_54_S, dtype=np.int64),
        distance_m=dist,
        points=tuple((float(i), 0.0) for i in range(6)),
    )
    ready = 8 * h + 50 * 60
    return Problem(
        matrix=matrix,
        stops=(
            kit.stop(
                "b1", 2, volume_l=3000, weight_kg=300, service_s=300, window_s=(10 * h, 12 * h)
            ),
            kit.stop(
                "b8", 3, volume_l=1100, weight_kg=110, service_s=900, due_s=ready + 7200, priority=1
            ),
            kit.stop("b12", 4, volume_l=923, weight_kg=93),
            kit.stop("b16", 5, volume_l=1032, weight_kg=104),
        ),
        vehicles=(
            kit.truck("t0", max_stops=0, ready_s=ready, break_taken=True, departed_s=6 * h),
            kit.truck(
                "t1",
                capacity_l=8000,
                break_s=1800,
                break_window_s=(10 * h, 11 * h),
                cost_per_hour=3000,
                ready_s=ready,
            ),
        ),
        sites=(kit.site("s1", 1, unload_s=900),),
    )


def test_reading_a_warm_start_stops_within_the_time_limit(
    late_morning_with_a_break: Problem,
) -> None:
    """OR-Tools reads a start by a search for its times (arrivals, waits, the break) that
    goes on lowering the cost after its first answer, with no time limit of its own: on
    this day's start it ran for hours, and the service's reroute with it. It is now held
    to the solve's time limit, and the plan serves every bin, breaking no rule."""
    problem = late_morning_with_a_break
    warm = {"t0": [], "t1": ["b12", "b1", "b16", "s1", "b8", "s1"]}
    # OR-Tools holds the GIL: no Python timeout fires; faulthandler's thread does, and
    # ends the process (the test fails as a crashed worker) instead of hanging the run
    faulthandler.dump_traceback_later(60, exit=True)
    try:
        plan = solve_ortools(problem, SolveParams(time_limit_s=1.0), warm_start=warm)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert check(problem, plan) == []
    assert plan.served_refs == {"b1", "b8", "b12", "b16"}


def test_a_search_that_finds_nothing_lists_every_stop_as_no_solution(
    kit, line_problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OR-Tools finds no assignment, even with the required stops optional: the plan has
    no solution and each stop is unserved with that reason and kind."""

    def nothing(self, params, deadline, starts):
        return None, PlanStatus.NO_SOLUTION

    monkeypatch.setattr(_Model, "search", nothing)
    plan = solve_ortools(line_problem, SolveParams(time_limit_s=0.2))
    assert plan.status is PlanStatus.NO_SOLUTION
    assert {u.ref for u in plan.unserved} == {s.ref for s in line_problem.stops}
    assert {u.reason for u in plan.unserved} == {
        "the solver found no solution within the time limit"
    }
    assert {u.kind for u in plan.unserved} == {UnservedKind.NO_SOLUTION}
