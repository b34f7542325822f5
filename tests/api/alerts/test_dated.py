"""Alerts and citizens' reports dated by the service's clock or refused (422) when older than
the readings kept; citizens' reports name the nearest bin."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from api.deps import Runtime
from tests.api.alerts.helpers import NOON, seeded_plan
from tests.api.conftest import seed, wait
from tests.api.fakes import FakePlanner


def test_a_dispatchers_alert_without_a_time_is_dated_by_the_services_clock(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """An alert with no ``at`` is dated now by the service's clock, as everything else the
    service dates (it was the computer's clock: a week after this app's clock, refused as
    dated in the future)."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    now = datetime.fromisoformat("2026-11-25T09:15:00+02:00")
    runtime.jobs.clock = lambda: now
    resp = client.post("/alerts", json={"bin_id": "b1"}, headers=dispatcher)
    assert resp.status_code == 202, resp.text
    assert datetime.fromisoformat(resp.json()["at"]) == now
    wait(runtime)


def test_a_dispatchers_alert_older_than_the_readings_history_is_422(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """A year mistyped (2025 for 2026): no plan would ever take the alert (the plans take
    in the alerts of the readings history's days), yet it was accepted, 202, to read
    'no_plan' for good. The history's first day is still taken."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    days = runtime.settings.readings_history_days
    first = runtime.jobs.carried_from(runtime.jobs.today())
    before = datetime.combine(first - timedelta(days=1), datetime.min.time(), runtime.settings.tz)
    resp = client.post(
        "/alerts",
        json={"bin_id": "b1", "at": (before + timedelta(hours=12)).isoformat()},
        headers=dispatcher,
    )
    assert resp.status_code == 422
    (error,) = resp.json()["detail"]
    assert (error["loc"], error["record"]) == (["body", "at"], "bin_id='b1'")
    assert f"older than the readings history ({days} days" in error["msg"]
    assert "check the date" in error["msg"]
    at = datetime.combine(first, datetime.min.time(), runtime.settings.tz) + timedelta(hours=7)
    ok = client.post("/alerts", json={"bin_id": "b1", "at": at.isoformat()}, headers=dispatcher)
    assert ok.status_code == 202, ok.text
    wait(runtime)


def test_a_citizen_report_older_than_the_readings_history_is_422(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """A citizen's overflow report dated before the readings history raised an alert no
    plan would ever take (201, the alert 'no_plan' for good), where a dispatcher's alert so
    dated is a 422: it is one too, by the same check, naming the report and the fix. The
    history's first day is still taken, and a report of no overflow is stored."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    days = runtime.settings.readings_history_days
    first = runtime.jobs.carried_from(runtime.jobs.today())
    before = datetime.combine(first - timedelta(days=1), datetime.min.time(), runtime.settings.tz)
    old = {"report_id": "r-old", "at": (before + timedelta(hours=12)).isoformat(), "bin_id": "b1"}
    resp = client.post("/reports", json=old, headers=dispatcher)
    assert resp.status_code == 422, resp.text
    (error,) = resp.json()["detail"]
    assert (error["loc"], error["record"]) == (["body", "at"], "report_id='r-old'")
    assert f"older than the readings history ({days} days" in error["msg"]
    assert "check the date" in error["msg"]
    assert "overflowing false" in error["msg"]
    assert client.get("/reports/r-old", headers=dispatcher).status_code == 404
    assert client.get("/alerts", headers=dispatcher).json() == []
    kept = client.post("/reports", json={**old, "overflowing": False}, headers=dispatcher)
    assert kept.status_code == 201, kept.text
    assert kept.json()["alert_id"] is None
    at = datetime.combine(first, datetime.min.time(), runtime.settings.tz) + timedelta(hours=7)
    new = {"report_id": "r-first", "at": at.isoformat(), "bin_id": "b1"}
    ok = client.post("/reports", json=new, headers=dispatcher)
    assert ok.status_code == 201, ok.text
    assert ok.json()["alert_id"] is not None
    wait(runtime)


def test_citizen_report_raises_alert_for_nearest_bin(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)
    report = {
        "report_id": "r1",
        "at": NOON,
        "text": "lid open, bags on the street",
        "lon": 24.96005,
        "lat": 60.19003,
    }
    resp = client.post("/reports", json=report, headers=dispatcher)
    assert resp.status_code == 201, resp.text
    alert_id = resp.json()["alert_id"]
    wait(runtime)
    alert = client.get(f"/alerts/{alert_id}", headers=dispatcher).json()
    assert (alert["bin_id"], alert["source"], alert["report_id"]) == ("b9", "report", "r1")
    assert alert["status"] == "rerouted"
    new = client.get(f"/plans/{alert['plan_id']}", headers=dispatcher).json()
    assert new["parent_id"] == base
    assert client.post("/reports", json=report, headers=dispatcher).status_code == 409
    far = {**report, "report_id": "r2", "lon": 25.5}
    assert client.post("/reports", json=far, headers=dispatcher).json()["alert_id"] is None


def test_alert_and_progress_input_errors(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    dispatcher = keys["dispatcher"]
    base = seeded_plan(client, dispatcher, runtime)
    resp = client.post("/alerts", json={"bin_id": "ghost", "at": NOON}, headers=dispatcher)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "bin_id"]
    assert "fix the id, or add the bin under /bins" in resp.json()["detail"][0]["msg"]
    report = {"report_id": "r9", "at": NOON, "bin_id": "ghost"}
    resp = client.post("/reports", json=report, headers=dispatcher)
    assert resp.status_code == 422
    assert "or send the report with lon, lat" in resp.json()["detail"][0]["msg"]
    resp = client.post(
        "/alerts", json={"bin_id": "b1", "at": "2026-11-25T12:00:00"}, headers=dispatcher
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "at"]
    bad = {"vehicle_id": "v1", "at": NOON, "kind": "visit_done"}
    resp = client.post(f"/plans/{base}/progress", json=bad, headers=dispatcher)
    assert resp.status_code == 422
    assert "bin_id" in resp.json()["detail"][0]["msg"]
    assert resp.json()["detail"][0]["record"] == "vehicle_id='v1'"  # a check of the whole body
    ghost = {"vehicle_id": "v7", "at": NOON, "kind": "position", "lon": 24.9, "lat": 60.2}
    resp = client.post(f"/plans/{base}/progress", json=ghost, headers=dispatcher)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["record"] == "vehicle_id='v7'"
    assert client.get("/alerts/12345", headers=dispatcher).status_code == 404


def test_citizen_reports_listed_by_the_citys_day(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """``GET /reports?day=``: the reports made that day in the city's time zone (Helsinki,
    UTC+2): 01:00 local is the day before in UTC, 00:30 local of the next day is still
    this day in UTC; a day out of range is 422."""
    dispatcher = keys["dispatcher"]
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-26T12:00:00+02:00")
    at = {"r-early": "2026-11-25T01:00:00+02:00", "r-late": "2026-11-25T23:30:00+02:00"}
    at["r-next"] = "2026-11-26T00:30:00+02:00"
    for report_id, when in at.items():
        report = {
            "report_id": report_id,
            "at": when,
            "lon": 24.9,
            "lat": 60.2,
            "overflowing": False,
        }
        assert client.post("/reports", json=report, headers=dispatcher).status_code == 201
    listed = client.get("/reports", params={"day": "2026-11-25"}, headers=dispatcher).json()
    assert [r["report_id"] for r in listed] == ["r-late", "r-early"]
    every = client.get("/reports", headers=dispatcher).json()
    assert [r["report_id"] for r in every] == ["r-next", "r-late", "r-early"]
    assert (
        client.get("/reports", params={"day": "0001-01-01"}, headers=dispatcher).status_code == 422
    )
