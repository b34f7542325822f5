"""Helpers of the pipeline's tests: the day planned, its first bins reported done, routes read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.deps import Runtime
from api.security import Role, issue_key
from tests.api.conftest import MORNING, PLAN_DATE, seed, wait


def plan_the_day(client: TestClient, key: dict[str, str], runtime: Runtime) -> dict[str, Any]:
    """The day planned (1 s search), once done: its row."""
    made = client.post(
        "/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key
    ).json()
    wait(runtime)
    got: dict[str, Any] = client.get(f"/plans/{made['id']}", headers=key).json()
    assert got["status"] == "done", got["message"]
    return got


def first_bin_of_a_plan(
    real_app: FastAPI, real_client: TestClient
) -> tuple[Runtime, dict[str, str], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Six bins planned (1 s): the runtime, a dispatcher key, the plan, a route with two
    bins or more, and that route's first bin visit (plan JSON)."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=6)
    plan = real_client.post(
        "/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key
    ).json()
    wait(runtime)
    doc = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    route = next(r for r in doc["routes"] if r["bins"] >= 2)
    first = next(v for v in route["visits"] if v["kind"] == "bin")
    return runtime, key, plan, route, first


def after_the_first_bin(
    real_app: FastAPI, real_client: TestClient
) -> tuple[Runtime, dict[str, str], dict[str, Any], str, str, tuple[str, str], datetime]:
    """:func:`first_bin_of_a_plan`, and its truck reporting that bin emptied: the runtime,
    a dispatcher key, the plan, the truck, the other truck, the truck's next two bins and
    when it emptied the first."""
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    other = ({"v1", "v2"} - {truck}).pop()
    assert first_bin_done(real_client, key, plan, truck) == first
    x, y = [v["bin_id"] for v in route["visits"] if v["kind"] == "bin" and v != first][:2]
    return runtime, key, plan, truck, other, (x, y), datetime.fromisoformat(first["end"])


def planned_the_night_before(
    real_app: FastAPI,
    real_client: TestClient,
    trucks: dict[str, int | None],
    n_bins: int,
    fill: float,
) -> tuple[Runtime, dict[str, str], datetime, dict[str, Any]]:
    """A depot, a site, ``trucks`` (id -> stop limit), ``n_bins`` bins read at ``fill`` in
    the morning, and the day's plan made the night before (1 s): the runtime, a
    dispatcher's key, the plan date's local midnight and the plan row."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    post = real_client.post
    assert post(
        "/depots", json={"depot_id": "d1", "lon": 24.94, "lat": 60.17}, headers=key
    ).is_success
    assert post("/sites", json={"site_id": "s1", "lon": 24.98, "lat": 60.2}, headers=key).is_success
    for v, stops in trucks.items():
        truck = {"vehicle_id": v, "depot_id": "d1", "capacity_l": 20000, "capacity_kg": 8000}
        assert post("/vehicles", json={**truck, "max_stops": stops}, headers=key).is_success
    bins = [
        {"bin_id": f"b{i}", "lon": 24.94 + 0.002 * i, "lat": 60.17 + 0.001 * i, "capacity_l": 240}
        for i in range(n_bins)
    ]
    assert post("/bins/bulk", json=bins, headers=key).is_success
    readings = [{"bin_id": f"b{i}", "at": MORNING, "fill_fraction": fill} for i in range(n_bins)]
    assert post("/readings", json=readings, headers=key).is_success
    local = datetime.fromisoformat(f"{PLAN_DATE}T00:00:00+02:00")
    runtime.jobs.clock = lambda: local - timedelta(hours=2)  # the night before
    night = post("/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key).json()
    wait(runtime)
    return runtime, key, local, night


def first_bin_done(
    client: TestClient, key: dict[str, str], plan: dict[str, Any], vehicle_id: str
) -> dict[str, Any]:
    """Truck ``vehicle_id`` reports the first bin of its route on ``plan`` emptied, at its
    planned end: that visit."""
    doc = client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    (route,) = [r for r in doc["routes"] if r["vehicle_id"] == vehicle_id]
    first: dict[str, Any] = next(v for v in route["visits"] if v["kind"] == "bin")
    done = {"vehicle_id": vehicle_id, "kind": "visit_done", "bin_id": first["bin_id"]}
    url = f"/plans/{plan['id']}/progress"
    assert client.post(url, json={**done, "at": first["end"]}, headers=key).status_code == 201
    return first


def planned_from(runtime: Runtime, plan_id: int) -> int | None:
    """The parent plan of ``plan_id``."""
    from api.db import PlanRow

    with runtime.db.reader() as s:
        row = s.get(PlanRow, plan_id)
        return None if row is None else row.parent_id


def route_bins(client: TestClient, key: dict[str, str], plan_id: int, vehicle: str) -> list[str]:
    """The bins ``vehicle``'s route in plan ``plan_id`` visits, in order."""
    doc = client.get(f"/plans/{plan_id}/routes", headers=key).json()
    route = next(r for r in doc["routes"] if r["vehicle_id"] == vehicle)
    return [v["bin_id"] for v in route["visits"] if v["kind"] == "bin"]
