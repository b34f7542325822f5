"""100 simultaneous alerts and 100 simultaneous readings: none is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.db import AlertRow, ReadingRow
from api.deps import Runtime
from tests.api.conftest import PLAN_DATE, seed, wait
from tests.api.fakes import FakePlanner

N = 100


def test_simultaneous_alerts_and_readings_are_all_kept(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    dispatcher, sensor = keys["dispatcher"], keys["sensor"]
    seed(client, dispatcher, n_bins=2)
    extra = [
        {"bin_id": f"x{i}", "lon": 24.9 + i * 1e-4, "lat": 60.2, "capacity_l": 240}
        for i in range(N)
    ]
    assert client.post("/bins/bulk", json=extra, headers=dispatcher).json()["stored"] == N
    base = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    wait(runtime)

    start = threading.Barrier(16)

    def alert(i: int) -> Any:
        if i < 16:
            start.wait(10)
        body = {"bin_id": f"x{i}", "at": f"2026-11-25T12:{i % 60:02d}:00+02:00"}
        return client.post("/alerts", json=body, headers=dispatcher)

    def reading(i: int) -> Any:
        body = [
            {
                "bin_id": f"x{i}",
                "at": f"2026-11-25T10:{i % 60:02d}:{i // 60:02d}+02:00",
                "fill_fraction": 0.5,
            }
        ]
        return client.post("/readings", json=body, headers=sensor)

    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(alert, i) for i in range(N)]
        futures += [pool.submit(reading, i) for i in range(N)]
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [202] * N + [200] * N
    assert all(r.json()["stored"] == 1 for r in responses[N:])
    wait(runtime)

    with runtime.db.reader() as s:
        alerts = list(s.scalars(select(AlertRow)))
        n_readings = s.scalar(select(func.count()).select_from(ReadingRow))
    assert n_readings == 2 + N
    assert len(alerts) == N
    assert {a.status for a in alerts} == {"rerouted"}
    # every alerted bin is in the newest plan version, which descends from the base plan
    newest = max(alerts, key=lambda a: a.plan_id or 0).plan_id
    routes = client.get(f"/plans/{newest}/routes", headers=dispatcher).json()["routes"]
    served = {b for r in routes for b in r["bin_ids"]}
    assert {f"x{i}" for i in range(N)} <= served
    urgent = [b for call in planner.reroutes for b in call["urgent"]]
    assert sorted(urgent) == sorted(f"x{i}" for i in range(N))  # each alert rerouted once
    versions = client.get("/plans", params={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    assert len(versions) == 1 + len(planner.reroutes)
    assert min(v["id"] for v in versions) == base["id"]


def test_an_alert_is_rerouted_while_plan_jobs_wait_their_turn(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """Two plan jobs of tomorrow: one solving (held here), the other waiting for it. Both
    job workers are taken (two by default), yet an alert on today's plan is rerouted at once
    (it waited for tomorrow's solve: up to a minute while trucks waited)."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    now = datetime.fromisoformat(f"{PLAN_DATE}T09:00:00+02:00")
    runtime.jobs.clock = lambda: now
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    assert runtime.settings.job_workers == 2
    planner.gate = threading.Event()
    tomorrow = {"plan_date": "2026-11-26", "time_limit_s": 5}
    try:
        client.post("/plans", json=tomorrow, headers=dispatcher)
        _until(lambda: len(planner.calls) == 2)  # today's plan, then the first of tomorrow
        again = {**tomorrow, "time_limit_s": 4}  # another request (the same is one job)
        client.post("/plans", json=again, headers=dispatcher)
        _until(lambda: _message_of_newest(client, dispatcher).startswith("waiting for"))
        body = {"bin_id": "b1", "at": now.isoformat()}
        assert client.post("/alerts", json=body, headers=dispatcher).status_code == 202
        _until(lambda: len(planner.reroutes) == 1)
    finally:
        planner.gate.set()
    wait(runtime)


def _message_of_newest(client: TestClient, headers: dict[str, str]) -> str:
    return str(client.get("/plans?plan_date=2026-11-26", headers=headers).json()[0]["message"])


def _until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Wait until ``condition`` holds (fail after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)
