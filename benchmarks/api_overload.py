"""Alerts on a day with more bins than the trucks have time for, through the service.

``python -m benchmarks.api_overload [--bins 2000] [--trucks 20] [--alerts 3] [--at 09:00]``

A fresh service (a temporary SQLite file, the real planning pipeline, straight-line travel
times) gets ``benchmarks.api_progress``'s city: ``--bins`` 660 l bins read 85 % full, all
due, ``--trucks`` trucks of 20 m3, one site. Its clock is ``--at`` on the planned day, so
the plan of today starts then, and about half the bins are left unserved. Then ``--alerts``
overflow alerts, one after the other, each on a bin of the plan's last visits: each is
rerouted into a new version of the day. Timed: the plan and each alert from ``POST
/alerts`` to its settled status (the plan's time is the same run's baseline). Also what
the database keeps: each plan version's stored day plan (bytes, 0 when dropped) and
documents (bytes), and the file's size. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.api_progress import PLAN_DATE, _city, city_settings
from benchmarks.api_reroute import _ok, _until, plan, service

SETTLED = {"rerouted", "unserved", "emptied", "failed", "no_plan"}


def run(bins: int, trucks: int, alerts: int, at: str, plan_limit_s: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with service(city_settings(db, plan_limit_s)) as (client, key, runtime):
            now = datetime.fromisoformat(f"{PLAN_DATE}T{at}:00+02:00")
            runtime.jobs.clock = lambda: now
            _city(client, key, bins, trucks, 5)
            plan_id, plan_s = plan(client, key, PLAN_DATE, plan_limit_s)
            kpis = _ok(client.get(f"/plans/{plan_id}", headers=key), "plan")["kpis"]
            routes = _ok(client.get(f"/plans/{plan_id}/routes", headers=key), "routes")
            visits = [v for r in routes["routes"] for v in r["visits"] if v["kind"] == "bin"]
            planned = [v["bin_id"] for v in visits]
            timed = []
            for i in range(alerts):
                body = {"bin_id": planned[-1 - 7 * i], "at": now.isoformat()}
                t0 = time.perf_counter()
                alert = _ok(client.post("/alerts", json=body, headers=key), "/alerts")
                alert = _until(client, key, f"/alerts/{alert['id']}", SETTLED)
                timed.append((alert["status"], time.perf_counter() - t0))
            runtime.jobs.wait_idle(600)
        with sqlite3.connect(db) as con:
            rows = con.execute(
                "SELECT version, origin, coalesce(length(state), 0), length(exports) FROM plans"
            ).fetchall()
        size = db.stat().st_size
    return {
        "bins": bins,
        "trucks": trucks,
        "clock": at,
        "plan_s": round(plan_s, 1),
        "unserved_must": kpis.get("unserved_must"),
        "bins_collected": kpis.get("bins_collected"),
        "alerts": [{"status": s, "seconds": round(t, 2)} for s, t in timed],
        "alert_over_plan": [round(t / plan_s, 3) for _, t in timed],
        "plans": [
            {
                "version": v,
                "origin": o,
                "state_bytes": st,
                "exports_bytes": e,
            }
            for v, o, st, e in rows
        ],
        "database_mb": round(size / 1e6, 1),
    }


def _clock(text: str) -> str:
    """``--at``: a clock time, as HH:MM (argparse names the option and the fix otherwise)."""
    try:
        at = datetime.strptime(text, "%H:%M")
    except ValueError:
        fix = f"{text!r} is not a clock time: give HH:MM, e.g. 09:00"
        raise argparse.ArgumentTypeError(fix) from None
    return at.strftime("%H:%M")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=2000)
    parser.add_argument("--trucks", type=int, default=20)
    parser.add_argument("--alerts", type=int, default=3)
    parser.add_argument(
        "--at", type=_clock, default="09:00", help="the service's clock on the day, HH:MM"
    )
    parser.add_argument("--plan-limit", type=int, default=10)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.bins, args.trucks, args.alerts, args.at, args.plan_limit)))


if __name__ == "__main__":
    main()
