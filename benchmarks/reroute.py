"""Reroute after an overflow alert: 2000 bins, 20 trucks (target: reroute <= 2 s).

``python -m benchmarks.reroute [--bins 2000] [--trucks 20] [--day-limit 60] [--limit 1.0]
[--respond-within 120] [--day FILE]``

A synthetic city (random bins in a 12 x 12 km square, travel = 1.3 x straight line at
25 km/h, two disposal sites) is planned for the day with OR-Tools; at mid-shift every
truck has done what its plan says it has done by then, an alert adds one overflowing bin,
and ``optimiser.reroute.reroute`` is timed (model build + warm start + search, wall clock).
The alert has a response target (``Stop.due_s``, ``--respond-within`` minutes after it; 0:
none). The result is judged by ``optimiser.check.check`` on the full day. Prints one JSON
object. Timings are wall-clock on a shared machine; the day solve's time is printed as a
baseline, and the same reroute without a target (``without_target``) is run after it.
The reroutes run in a worker thread, as the service runs them. With ``--day FILE`` the day
plan is read from FILE when it exists (a pickle this benchmark wrote; no day solve, as in
the service after a start: the process has solved nothing big yet), else solved and
written there.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from network.matrix import TravelMatrix
from optimiser.check import check
from optimiser.params import SolveParams
from optimiser.plan import Plan, VisitKind, clock
from optimiser.problem import Problem, Site, Stop, VehicleSpec
from optimiser.reroute import Progress, reroute, route_changes, with_urgent
from optimiser.solve import solve

H = 3600
ALERT_S = 10 * H  # the alert comes at 10:00, mid-shift
SPEED_M_S = 25 / 3.6
DETOUR = 1.3


def synthetic_matrix(xy_m: np.ndarray) -> TravelMatrix:
    """Straight-line metres x detour; seconds at 25 km/h; points as (x, y) metres."""
    straight = np.hypot(*(xy_m[:, None, :] - xy_m[None, :, :]).transpose(2, 0, 1))
    dist = np.rint(straight * DETOUR).astype(np.int64)
    dur = np.rint(dist / SPEED_M_S).astype(np.int64)
    return TravelMatrix(
        duration_s=dur, distance_m=dist, points=tuple((float(x), float(y)) for x, y in xy_m)
    )


def city(n_bins: int, n_trucks: int, seed: int) -> tuple[Problem, Stop]:
    """Depot at the centre, sites at two corners, bins uniform; the last row is the alert."""
    rng = np.random.default_rng(seed)
    fixed = np.array([[6000.0, 6000.0], [500.0, 500.0], [11500.0, 11000.0]])
    bins = rng.uniform(0, 12000, size=(n_bins + 1, 2))
    matrix = synthetic_matrix(np.vstack([fixed, bins]))
    vol = rng.integers(60, 241, size=n_bins + 1)
    stops = tuple(
        Stop(
            ref=f"bin{i}",
            location=3 + i,
            volume_l=int(vol[i]),
            weight_kg=int(vol[i]) // 10,
            service_s=40,
            window_s=(8 * H, 12 * H) if i % 10 == 0 else None,
        )
        for i in range(n_bins)
    )
    trucks = tuple(
        VehicleSpec(
            ref=f"truck{k}",
            start=0,
            end=0,
            capacity_l=10_000,
            capacity_kg=2_000,
            streams=frozenset({"residual"}),
            shift_s=(6 * H, 14 * H),
            break_s=1800,
            break_window_s=(10 * H, 11 * H),
            fixed_cost=5000,
        )
        for k in range(n_trucks)
    )
    sites = tuple(
        Site(
            ref=f"site{j}",
            location=1 + j,
            streams=frozenset({"residual"}),
            window_s=(0, 86399),
            unload_s=600,
        )
        for j in range(2)
    )
    alert = Stop(
        ref="alert", location=3 + n_bins, volume_l=240, weight_kg=24, service_s=40, priority=1
    )
    return Problem(matrix=matrix, stops=stops, vehicles=trucks, sites=sites), alert


def progress_at(plan: Plan, now_s: int) -> list[Progress]:
    """Each truck reports when it finishes the last bin/unload its plan finishes by ``now_s``."""
    out = []
    for route in plan.routes:
        done = [
            v
            for v in route.visits
            if v.kind in (VisitKind.BIN, VisitKind.DISPOSAL) and v.end_s <= now_s
        ]
        if not done:
            continue
        last = done[-1]
        took_break = any(v.kind is VisitKind.BREAK and v.end_s <= last.end_s for v in route.visits)
        out.append(
            Progress(
                vehicle_ref=route.vehicle_ref,
                done=tuple(v.ref for v in done),
                location=int(last.location or 0),
                time_s=last.end_s,
                volume_l=last.volume_l,
                weight_kg=last.weight_kg,
                daily_l=last.daily_l,
                daily_kg=last.daily_kg,
                break_taken=took_break,
            )
        )
    return out


def emptied_at(plan: Plan, ref: str) -> str | None:
    """When the plan starts emptying stop ``ref`` (HH:MM[:SS]), None when it does not."""
    starts = [v.start_s for r in plan.routes for v in r.visits if v.ref == ref]
    return clock(starts[0]) if starts else None


T = TypeVar("T")


def in_worker(fn: Callable[[], T]) -> tuple[T, float]:
    """``fn()`` run in a worker thread, as the service's job runner runs reroutes, and its
    wall-clock seconds."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        t0 = time.perf_counter()
        out = pool.submit(fn).result()
        return out, time.perf_counter() - t0


def day_plan(
    problem: Problem, day_limit_s: float, seed: int, day: Path | None
) -> tuple[Plan, float | None]:
    """The day's plan and the seconds its solve took: read from ``day`` when that exists
    (None seconds: not solved here), else solved (and saved to ``day`` when given)."""
    if day is not None and day.exists():
        return pickle.loads(day.read_bytes()), None
    t0 = time.perf_counter()
    plan = solve(problem, SolveParams(time_limit_s=day_limit_s, seed=seed))
    seconds = time.perf_counter() - t0
    if day is not None:
        day.write_bytes(pickle.dumps(plan))
    return plan, seconds


def run(
    n_bins: int,
    n_trucks: int,
    day_limit_s: float,
    limit_s: float,
    seed: int,
    respond_within_min: int = 120,
    day: Path | None = None,
) -> dict[str, Any]:
    """Plan the day (or read it from ``day``), advance to mid-shift, raise an alert, time
    the reroute."""
    problem, alert = city(n_bins, n_trucks, seed)
    plan, day_s = day_plan(problem, day_limit_s, seed, day)
    progress = progress_at(plan, ALERT_S)
    if respond_within_min > 0:
        alert = dataclasses.replace(alert, due_s=ALERT_S + 60 * respond_within_min)
    params = SolveParams(time_limit_s=limit_s, seed=seed)
    new, seconds = in_worker(lambda: reroute(problem, plan, progress, [alert], params))
    bare = dataclasses.replace(alert, due_s=None)
    baseline, baseline_s = in_worker(lambda: reroute(problem, plan, progress, [bare], params))
    violations = check(with_urgent(problem, [alert]), new)
    changes = route_changes(plan, new)
    stop_refs = {s.ref for s in problem.stops}
    return {
        "n_bins": n_bins,
        "n_vehicles": n_trucks,
        "seconds": round(seconds, 3),
        "target_s": 2.0,
        "reroute_time_limit_s": limit_s,
        "feasible": not violations and "alert" in new.served_refs,
        "violations": [f"{v.vehicle_ref} {v.ref} {v.code}: {v.message}" for v in violations[:5]],
        "changed_routes": sum(1 for c in changes.values() if c.changed),
        "bins_moved": sum(len(c.added) for c in changes.values()),
        "reordered_routes": sum(1 for c in changes.values() if c.order_changed),
        "unserved_after": len(new.unserved),
        "unserved": [f"{u.ref}: {u.reason}" for u in new.unserved[:5]],
        "status": new.status.value,
        "alert_served_by": next((r.vehicle_ref for r in new.routes if "alert" in r.bin_refs), None),
        "alert_at": clock(ALERT_S),
        "alert_target": clock(alert.due_s) if alert.due_s is not None else None,
        "alert_emptied_at": emptied_at(new, "alert"),
        "without_target": {
            "seconds": round(baseline_s, 3),
            "alert_emptied_at": emptied_at(baseline, "alert"),
            "cost": sum(r.cost for r in baseline.routes),
            "feasible": not check(with_urgent(problem, [bare]), baseline)
            and "alert" in baseline.served_refs,
            "unserved": [f"{u.ref}: {u.reason}" for u in baseline.unserved[:5]],
        },
        "cost": sum(r.cost for r in new.routes),
        "day_plan": {
            "seconds": round(day_s, 3) if day_s is not None else None,
            "read_from": str(day) if day_s is None else None,
            "status": plan.status.value,
            "unserved": len(plan.unserved),
            "cost": sum(r.cost for r in plan.routes),
            "trucks_used": sum(1 for r in plan.routes if r.used),
        },
        "trucks_on_road": len(progress),
        "bins_left": len(problem.stops) - len(stop_refs & {r for p in progress for r in p.done}),
    }


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: print the JSON result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bins", type=int, default=2000)
    ap.add_argument("--trucks", type=int, default=20)
    ap.add_argument("--day-limit", type=float, default=60.0, help="day solve budget, s")
    ap.add_argument("--limit", type=float, default=1.0, help="reroute search budget, s")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--respond-within", type=int, default=120, help="alert's response target, min (0: none)"
    )
    ap.add_argument("--day", type=Path, help="day plan pickle: read when it exists, else written")
    args = ap.parse_args(argv)
    result = run(
        args.bins,
        args.trucks,
        args.day_limit,
        args.limit,
        args.seed,
        args.respond_within,
        args.day,
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
