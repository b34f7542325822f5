"""A city's day of truck reports through the service: the time of each progress report.

``python -m benchmarks.api_progress [--bins 2000] [--trucks 20] [--plan-limit 10] [--seed 5]``

A fresh service (a temporary SQLite file, the real planning pipeline, straight-line travel
times: a report's check does not depend on them) gets ``--bins`` generated bins around
Helsinki, all due, ``--trucks`` trucks and a disposal site, and plans the day. Then every
truck reports its plan's bins emptied and unloadings, in time order across trucks, as its
crew would through the day; after every tenth report one truck reports its position too.
Timed: each ``POST /plans/{id}/progress``. A bin's or an unloading's report is checked
against the truck's route (``api.repo.off_route``); a position report is not, and is the
baseline. Reported along the plan, no report should read off route. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from api.settings import Settings
from benchmarks.api_reroute import _done_report, _ok, plan, service

PLAN_DATE = "2026-11-25"
DEPOT = (24.94, 60.17)
SITE = (24.98, 60.2)


def _city(client: Any, key: dict[str, str], bins: int, trucks: int, seed: int) -> None:
    """Depot, site, ``trucks`` 20 m3 trucks and ``bins`` 660 l bins read 85 % full."""
    rng = random.Random(seed)
    depot = {"depot_id": "d1", "lon": DEPOT[0], "lat": DEPOT[1]}
    _ok(client.post("/depots", json=depot, headers=key), "depot")
    site = {"site_id": "s1", "lon": SITE[0], "lat": SITE[1]}
    _ok(client.post("/sites", json=site, headers=key), "site")
    for i in range(trucks):
        truck = {"vehicle_id": f"v{i:02d}", "depot_id": "d1", "capacity_l": 20000}
        _ok(client.post("/vehicles", json={**truck, "capacity_kg": 8000}, headers=key), "truck")
    rows = [
        {
            "bin_id": f"b{i:04d}",
            "lon": 24.90 + 0.1 * rng.random(),
            "lat": 60.15 + 0.06 * rng.random(),
            "capacity_l": 660,
        }
        for i in range(bins)
    ]
    _ok(client.post("/bins/bulk", json=rows, headers=key), "bins")
    at = datetime.fromisoformat(f"{PLAN_DATE}T00:00:00+02:00") - timedelta(hours=2)
    readings = [{"bin_id": b["bin_id"], "at": at.isoformat(), "fill_fraction": 0.85} for b in rows]
    _ok(client.post("/readings", json=readings, headers=key), "readings")


def _day_of_reports(routes: dict[str, Any]) -> list[dict[str, Any]]:
    """Every planned bin emptied and unloading, as reports in time order across trucks."""
    reports = [
        body
        for r in routes["routes"]
        for v in r["visits"]
        if (body := _done_report(r["vehicle_id"], v)) is not None
    ]
    return sorted(reports, key=lambda b: b["at"])


def _ms(seconds: list[float]) -> float | None:
    return round(1000 * statistics.mean(seconds), 2) if seconds else None


def city_settings(db: Path, plan_limit_s: int) -> Settings:
    """The service of this city: the SQLite file ``db``, straight-line travel times, no
    scheduler, plans of up to ``plan_limit_s``; reports dated up to a day after its clock
    (which stays put while the day is reported)."""
    return Settings(
        database_url=f"sqlite:///{db}",
        scheduler_enabled=False,
        city="haversine",
        timezone="Europe/Helsinki",
        max_time_limit_s=max(plan_limit_s, 1),
        clock_skew_min=24 * 60,
    )


def run(bins: int, trucks: int, plan_limit_s: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = city_settings(Path(tmp) / "bench.db", plan_limit_s)
        with service(settings) as (client, key, runtime):
            runtime.jobs.clock = lambda: datetime.fromisoformat(f"{PLAN_DATE}T03:00:00+02:00")
            _city(client, key, bins, trucks, seed)
            plan_id, plan_s = plan(client, key, PLAN_DATE, plan_limit_s)
            routes = _ok(client.get(f"/plans/{plan_id}/routes", headers=key), "routes")
            url = f"/plans/{plan_id}/progress"
            work: list[float] = []
            where: list[tuple[int, float]] = []  # (work reports before it, seconds)
            for i, body in enumerate(_day_of_reports(routes)):
                t0 = time.perf_counter()
                _ok(client.post(url, json=body, headers=key), "progress")
                work.append(time.perf_counter() - t0)
                if i % 10 == 9:
                    pos = {"vehicle_id": body["vehicle_id"], "at": body["at"], "kind": "position"}
                    t0 = time.perf_counter()
                    _ok(
                        client.post(
                            url, json={**pos, "lon": DEPOT[0], "lat": DEPOT[1]}, headers=key
                        ),
                        "position",
                    )
                    where.append((i, time.perf_counter() - t0))
            stored = _ok(client.get(url, headers=key), "reports")
    n = len(work)
    early, late = work[: n // 4], work[n - n // 4 :]
    base_early = [t for i, t in where if i < n // 4]
    base_late = [t for i, t in where if i >= n - n // 4]
    return {
        "bins": bins,
        "trucks": trucks,
        "plan_s": round(plan_s, 2),
        "work_reports": n,
        "unloading_reports": sum(1 for r in stored if r["kind"] == "disposal_done"),
        "off_route_reports": sum(1 for r in stored if r["off_route"]),
        "first_quarter_report_ms": _ms(early),
        "last_quarter_report_ms": _ms(late),
        "first_quarter_over_position_report": _ratio(early, base_early),
        "last_quarter_over_position_report": _ratio(late, base_late),
        "last_over_first_quarter": _ratio(late, early),
        "reports_total_s": round(sum(work), 1),
    }


def _ratio(a: list[float], b: list[float]) -> float | None:
    return round(statistics.mean(a) / statistics.mean(b), 2) if a and b else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=2000)
    parser.add_argument("--trucks", type=int, default=20)
    parser.add_argument("--plan-limit", type=int, default=10)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.bins, args.trucks, args.plan_limit, args.seed)))


if __name__ == "__main__":
    main()
