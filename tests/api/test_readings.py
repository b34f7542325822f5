"""Readings: idempotent bulk ingest, acknowledged after commit, threshold alerts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from api.db import ReadingRow
from api.deps import Runtime
from api.settings import Settings
from tests.api.conftest import MORNING

BIN = {"bin_id": "b1", "lon": 24.95, "lat": 60.18, "capacity_l": 240}


@pytest.fixture
def with_bin(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post("/bins", json=BIN, headers=admin).status_code == 201


def test_same_bin_and_time_counts_once(
    client: TestClient, keys: dict[str, dict[str, str]], with_bin: None
) -> None:
    """Posting a reading twice (even with another offset for the same instant) stores one."""
    sensor = keys["sensor"]
    first = client.post(
        "/readings", json=[{"bin_id": "b1", "at": MORNING, "fill_fraction": 0.4}], headers=sensor
    )
    assert first.json() == {"stored": 1, "duplicates": 0, "rejected": [], "alert_ids": []}
    again = [
        {"bin_id": "b1", "at": MORNING, "fill_fraction": 0.4},
        {"bin_id": "b1", "at": "2026-11-25T05:00:00Z", "fill_fraction": 0.4},
    ]
    second = client.post("/readings", json=again, headers=sensor)
    assert second.status_code == 200
    assert second.json()["stored"] == 0
    assert second.json()["duplicates"] == 2
    listed = client.get("/readings", params={"bin_id": "b1"}, headers=keys["viewer"]).json()
    assert len(listed) == 1
    assert listed[0]["at"] == "2026-11-25T05:00:00Z"


def test_acknowledged_only_after_commit(
    client: TestClient, keys: dict[str, dict[str, str]], settings: Settings, with_bin: None
) -> None:
    """When the response arrives, a brand-new connection already sees the rows."""
    rows = [
        {"bin_id": "b1", "at": f"2026-11-25T0{h}:00:00+02:00", "fill_fraction": 0.1 * h}
        for h in range(1, 6)
    ]
    resp = client.post("/readings", json=rows, headers=keys["sensor"])
    assert resp.json()["stored"] == 5
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(ReadingRow)) == 5
    finally:
        engine.dispose()


def test_bad_rows_reported_good_rows_kept(
    client: TestClient, keys: dict[str, dict[str, str]], with_bin: None
) -> None:
    rows = [
        {"bin_id": "b1", "at": MORNING, "fill_fraction": 0.5},
        {"bin_id": "b1", "at": "2026-11-25T08:00:00", "fill_fraction": 0.5},
        {"bin_id": "b1", "at": "2026-11-25T09:00:00+02:00", "fill_fraction": 55},
        {"bin_id": "ghost", "at": MORNING, "fill_fraction": 0.5},
    ]
    out = client.post("/readings", json=rows, headers=keys["sensor"]).json()
    assert out["stored"] == 1
    by_index = {e["index"]: e for e in out["rejected"]}
    assert by_index[1]["loc"] == ["body", 1, "at"]
    assert by_index[2]["loc"] == ["body", 2, "fill_fraction"]
    assert by_index[3]["loc"] == ["body", 3, "bin_id"]
    assert "ghost" in by_index[3]["record"]


def test_all_rows_bad_is_422(
    client: TestClient, keys: dict[str, dict[str, str]], with_bin: None
) -> None:
    resp = client.post("/readings", json=[{"bin_id": "b1", "at": MORNING}], headers=keys["sensor"])
    assert resp.status_code == 422
    detail = resp.json()["detail"][0]
    assert detail["loc"] == ["body", 0, "fill_fraction"]
    assert "b1" in detail["record"]


def test_reading_over_threshold_raises_one_alert_per_day(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime, with_bin: None
) -> None:
    rows = [
        {"bin_id": "b1", "at": "2026-11-25T07:00:00+02:00", "fill_fraction": 0.97},
        {"bin_id": "b1", "at": "2026-11-25T08:00:00+02:00", "fill_fraction": 0.99},
    ]
    out = client.post("/readings", json=rows, headers=keys["sensor"]).json()
    assert len(out["alert_ids"]) == 1
    runtime.jobs.wait_idle(30)
    alert = client.get(f"/alerts/{out['alert_ids'][0]}", headers=keys["viewer"]).json()
    assert alert["source"] == "sensor"
    assert alert["plan_date"] == "2026-11-25"
    assert alert["status"] == "no_plan"  # nothing planned for the day yet


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_implausible_instants_are_422_not_500(
    client: TestClient, keys: dict[str, dict[str, str]], with_bin: None, at: str
) -> None:
    resp = client.post(
        "/readings", json=[{"bin_id": "b1", "at": at, "fill_fraction": 0.5}], headers=keys["sensor"]
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", 0, "at"]
    listed = client.get("/readings", params={"since": at}, headers=keys["viewer"])
    assert listed.status_code == 422
