"""Helpers of the alerts' tests: the city planned, reports that must be accepted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.testclient import TestClient

from api.deps import Runtime
from tests.api.conftest import PLAN_DATE, seed, wait

NOON = "2026-11-25T12:00:00+02:00"
NEW_BIN = {"bin_id": "b9", "lon": 24.96, "lat": 60.19, "capacity_l": 240}


def seeded_plan(client: TestClient, dispatcher: dict[str, str], runtime: Runtime) -> int:
    """The city seeded with ``NEW_BIN`` too, its day planned: the plan's id."""
    seed(client, dispatcher)
    assert client.post("/bins", json=NEW_BIN, headers=dispatcher).status_code == 201
    plan = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    wait(runtime)
    return int(plan["id"])


def accepted_report(
    client: TestClient, url: str, body: Mapping[str, Any], headers: dict[str, str]
) -> Any:
    """POST a progress report that must be accepted (201); the stored report."""
    resp = client.post(url, json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()
