"""Overflow alerts reroute the running plan into a new version with a per-truck diff."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api import repo
from api.app import create_app
from api.db import AlertRow, PlanRow, ProgressRow
from api.deps import Runtime, get_planner
from api.planner import PlanExports, TruckProgress
from api.routing import Routing
from api.security import Role, issue_key
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import PLAN_DATE, seed, wait
from tests.api.fakes import FakePlanner

NOON = "2026-11-25T12:00:00+02:00"


def _v1(runtime: Runtime) -> TruckProgress:
    """Truck v1's progress on the plan date, as a reroute reads it."""
    with runtime.db.reader() as s:
        (v1,) = repo.truck_progress(s, date.fromisoformat(PLAN_DATE))
    return v1


NEW_BIN = {"bin_id": "b9", "lon": 24.96, "lat": 60.19, "capacity_l": 240}


def _planned(client: TestClient, dispatcher: dict[str, str], runtime: Runtime) -> int:
    seed(client, dispatcher)
    assert client.post("/bins", json=NEW_BIN, headers=dispatcher).status_code == 201
    plan = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    wait(runtime)
    return int(plan["id"])


def _sent(client: TestClient, url: str, body: Mapping[str, Any], headers: dict[str, str]) -> Any:
    """POST a progress report that must be accepted (201); the stored report."""
    resp = client.post(url, json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_alert_reroutes_into_new_version_with_diff(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    dispatcher, viewer = keys["dispatcher"], keys["viewer"]
    base = _planned(client, dispatcher, runtime)
    progress = {
        "vehicle_id": "v1",
        "at": "2026-11-25T11:00:00+02:00",
        "kind": "visit_done",
        "bin_id": "b0",
    }
    _sent(client, f"/plans/{base}/progress", progress, dispatcher)
    position = {
        "vehicle_id": "v1",
        "at": "2026-11-25T11:30:00+02:00",
        "kind": "position",
        "lon": 24.95,
        "lat": 60.175,
    }
    _sent(client, f"/plans/{base}/progress", position, dispatcher)

    alert = client.post(
        "/alerts", json={"bin_id": "b9", "at": NOON, "note": "spilling"}, headers=dispatcher
    )
    assert alert.status_code == 202
    wait(runtime)
    got = client.get(f"/alerts/{alert.json()['id']}", headers=viewer).json()
    assert got["status"] == "rerouted"
    new = client.get(f"/plans/{got['plan_id']}", headers=viewer).json()
    assert new["status"] == "done"
    assert new["parent_id"] == base
    assert new["version"] == 2
    assert new["origin"] == "reroute"
    # trucks wait for a reroute: its own short budget, not the base plan's
    assert new["time_limit_s"] == runtime.settings.reroute_time_limit_s == 2

    call = planner.reroutes[0]
    assert call["urgent"] == ["b9"]
    assert call["now"].isoformat() == "2026-11-25T10:00:00+00:00"
    assert call["time_limit_s"] == 2
    # the response target: the alert's time + alert_response_min (120 min by default)
    assert {b: t.isoformat() for b, t in call["due"].items()} == {"b9": "2026-11-25T12:00:00+00:00"}
    (v1,) = call["progress"]
    assert (v1.vehicle_id, v1.done_bin_ids, v1.lon, v1.lat) == ("v1", ("b0",), 24.95, 60.175)

    diff = client.get(f"/plans/{new['id']}/diff", headers=viewer).json()
    assert diff["parent_id"] == base
    trucks = {t["vehicle_id"]: t["diff"] for t in diff["trucks"]}
    assert trucks["v1"]["before"] == ["b0", "b2"]
    assert trucks["v1"]["after"] == ["b2", "b9"]
    assert trucks["v1"]["added"] == ["b9"]
    assert trucks["v1"]["removed"] == ["b0"]
    assert trucks["v1"]["change"] == {"inserted": ["b9"]}
    assert trucks["v2"]["changed"] is False
    csv = client.get(f"/plans/{new['id']}/csv", headers=viewer).text
    assert "v1,1,b9" in csv


def test_an_alert_posted_late_is_rerouted_from_the_services_clock(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """An overflow seen at 07:30 reaches the service at 11:00 (a gateway's late batch): the
    reroute plans from 11:00, when it runs, not from 07:30 (its plan had the bin emptied
    before the reroute ran, on time); the response target still counts from 07:30."""
    dispatcher = keys["dispatcher"]
    _planned(client, dispatcher, runtime)
    now = datetime.fromisoformat("2026-11-25T11:00:00+02:00")
    runtime.jobs.clock = lambda: now
    seen = "2026-11-25T07:30:00+02:00"
    resp = client.post("/alerts", json={"bin_id": "b9", "at": seen}, headers=dispatcher)
    assert resp.status_code == 202, resp.text
    wait(runtime)
    (call,) = planner.reroutes
    assert call["now"] == now
    assert call["due"]["b9"] == datetime.fromisoformat("2026-11-25T09:30:00+02:00")


def test_alert_without_plan_is_kept_for_the_next_plan(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    client.post("/bins", json=NEW_BIN, headers=dispatcher)
    alert = client.post("/alerts", json={"bin_id": "b9", "at": NOON}, headers=dispatcher).json()
    wait(runtime)
    assert client.get(f"/alerts/{alert['id']}", headers=dispatcher).json()["status"] == "no_plan"
    made = datetime.fromisoformat("2026-11-25T12:30:00+02:00")
    runtime.jobs.clock = lambda: made  # the dispatcher plans the day half an hour later
    plan = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    wait(runtime)
    (call,) = planner.calls
    assert [(r.report_id, r.bin_id) for r in call["reports"]] == [(f"alert-{alert['id']}", "b9")]
    assert (call["start_at"], call["alerted"]) == (made, ["b9"])
    assert {b: t.isoformat() for b, t in call["due"].items()} == {"b9": "2026-11-25T12:00:00+00:00"}
    got = client.get(f"/alerts/{alert['id']}", headers=dispatcher).json()
    assert (got["status"], got["plan_id"]) == ("planned", plan["id"])


def test_a_plan_of_today_made_while_a_truck_is_out_goes_on_from_where_it_is(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """v1 emptied b0 at 11:00 on the day's plan; at 12:30 the dispatcher plans the day
    again: the job re-plans the rest of that plan's day from v1's progress (not from the
    depots), with the plan's budget, and stores each driver's change against it."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    done = {"vehicle_id": "v1", "at": "2026-11-25T11:00:00+02:00", "kind": "visit_done"}
    _sent(client, f"/plans/{base}/progress", {**done, "bin_id": "b0"}, dispatcher)
    made = datetime.fromisoformat("2026-11-25T12:30:00+02:00")
    runtime.jobs.clock = lambda: made
    plan = client.post(
        "/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 3}, headers=dispatcher
    ).json()
    wait(runtime)
    assert len(planner.calls) == 1  # the first plan only
    (call,) = planner.replans
    assert call["day"].routes == {"v1": ("b0", "b2"), "v2": ("b1", "b3")}
    assert [(p.vehicle_id, p.done_bin_ids) for p in call["progress"]] == [("v1", ("b0",))]
    assert (call["now"], call["time_limit_s"]) == (made, 3)
    new = client.get(f"/plans/{plan['id']}", headers=dispatcher).json()
    assert (new["status"], new["parent_id"]) == ("done", base)
    diff = client.get(f"/plans/{plan['id']}/diff", headers=dispatcher).json()
    trucks = {t["vehicle_id"]: t["diff"] for t in diff["trucks"]}
    assert trucks["v1"]["before"] == ["b0", "b2"]
    assert trucks["v1"]["after"][0] == "b0"


def test_a_truck_on_its_way_to_its_first_bin_is_out_for_a_plan_of_today(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """v2 has emptied nothing yet but reported where it is, on its way: a plan of today goes
    on from there (a re-plan), not from the depots."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    where = {"vehicle_id": "v2", "at": "2026-11-25T06:20:00+02:00", "kind": "position"}
    _sent(client, f"/plans/{base}/progress", {**where, "lon": 24.945, "lat": 60.172}, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T06:30:00+02:00")
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    assert len(planner.calls) == 1
    (call,) = planner.replans
    (v2,) = call["progress"]
    assert (v2.vehicle_id, v2.done_bin_ids, v2.lon, v2.lat) == ("v2", (), 24.945, 60.172)


def test_a_plan_of_another_day_neither_starts_late_nor_takes_the_days_alerts(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """Planning tomorrow, or replaying a past day, starts at the shifts as planned; a replay
    leaves the day's alerts as they are (its routes would run before them)."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    alert = client.post("/alerts", json={"bin_id": "b1", "at": NOON}, headers=dispatcher).json()
    wait(runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-24T22:00:00+02:00")
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)  # the night before
    wait(runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-27T10:00:00+02:00")
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)  # a replay
    wait(runtime)
    before, replay = planner.calls
    assert (before["start_at"], before["alerted"]) == (None, ["b1"])
    assert (replay["start_at"], replay["alerted"], replay["due"]) == (None, [], {})
    got = client.get(f"/alerts/{alert['id']}", headers=dispatcher).json()
    assert got["status"] == "planned"


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
    base = _planned(client, dispatcher, runtime)
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
    base = _planned(client, dispatcher, runtime)
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


def test_a_bin_reported_again_later_is_a_second_emptying_not_a_resend(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 11:00, resent at 11:10 (dropped), emptied again at 12:30 (kept)."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    for at in ("11:00", "11:10", "12:30"):
        _sent(client, url, {**done, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
    assert _v1(runtime).done_bin_ids == ("b0", "b0")


def test_the_progress_list_says_which_reports_are_resends(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 11:00, resent at 11:10, emptied again at 12:30; s1 at 12:40, resent at 12:45:
    the answer to each report, and the day's progress list, say ``resend`` of the two
    resends only (a page counting each row a visit took b0's resend for its second one)."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    site = {"vehicle_id": "v1", "kind": "disposal_done", "site_id": "s1"}
    reports = [(done, "11:00"), (done, "11:10"), (done, "12:30"), (site, "12:40"), (site, "12:45")]
    sent = [
        _sent(client, url, {**body, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
        for body, at in reports
    ]
    expected = [False, True, False, False, True]
    assert [r["resend"] for r in sent] == expected
    listed = client.get(url, headers=dispatcher).json()
    assert [(r["id"], r["resend"]) for r in listed] == [
        (r["id"], resend) for r, resend in zip(sent, expected, strict=True)
    ]


def test_a_bin_emptied_again_within_the_hour_after_other_work_is_kept(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 08:00, b1 at 08:10, b0 again at 08:40 (an alert sent the truck back to it: a
    second emptying, not a resend, though within the hour), then b0 resent at 08:45."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    for bin_id, at in (("b0", "08:00"), ("b1", "08:10"), ("b0", "08:40"), ("b0", "08:45")):
        body = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": bin_id}
        _sent(client, url, {**body, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
    assert _v1(runtime).done_bin_ids == ("b0", "b1", "b0")


def _alerted_after(
    client: TestClient, dispatcher: dict[str, str], runtime: Runtime, report: dict[str, str]
) -> str:
    """A plan of the day, v1's ``report`` on b0 at 09:00 and an alert on b0 at 09:05 that
    sends v1 straight back (its reroute done): the plan's progress URL."""
    base = _planned(client, dispatcher, runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T09:05:00+02:00")
    url = f"/plans/{base}/progress"
    _sent(client, url, {**report, "at": "2026-11-25T09:00:00+02:00"}, dispatcher)
    alert = {"bin_id": "b0", "at": "2026-11-25T09:05:00+02:00"}
    assert client.post("/alerts", json=alert, headers=dispatcher).status_code == 202
    wait(runtime)
    return url


def test_a_bin_emptied_again_at_once_after_an_alert_on_it_is_kept(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 09:00; an alert on b0 at 09:05 sends v1 straight back (no other work between),
    b0 again at 09:10: a second emptying, kept; b0 resent at 09:12: dropped. Also in the
    collection log: b0 last emptied at 09:10."""
    dispatcher = keys["dispatcher"]
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    url = _alerted_after(client, dispatcher, runtime, done)
    for at in ("09:10", "09:12"):
        _sent(client, url, {**done, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
    assert _v1(runtime).done_bin_ids == ("b0", "b0")
    since = datetime.fromisoformat("2026-11-25T00:00:00+02:00")
    with runtime.db.reader() as s:
        log = repo.collection_log(s, since, since + timedelta(days=1))
    assert log.last_emptied["b0"] == datetime.fromisoformat("2026-11-25T09:10:00+02:00")


def test_a_bin_emptied_again_after_an_alert_stays_emptied_twice_once_deleted(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b0 at 09:00; an alert on b0 at 09:05 sends v1 straight back, b0 again at 09:10 (both
    reported against the plan before the alert's reroute); then b0 is deleted: its alert
    stays, closed as ``bin_deleted`` with no truck, and the 09:10 emptying stays a second
    one (before, the alert was deleted with the bin, and the 09:10 report was then read as
    a resend: v1 taken to carry one bin less until it unloads)."""
    dispatcher = keys["dispatcher"]
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    url = _alerted_after(client, dispatcher, runtime, done)
    _sent(client, url, {**done, "at": "2026-11-25T09:10:00+02:00"}, dispatcher)
    assert client.delete("/bins/b0", headers=dispatcher).is_success
    wait(runtime)
    alerts = client.get("/alerts", headers=dispatcher).json()
    assert [(a["bin_id"], a["status"], a["vehicle_id"]) for a in alerts] == [
        ("b0", "bin_deleted", None)
    ]
    assert _v1(runtime).done_bin_ids == ("b0", "b0")
    dismiss = client.post(f"/alerts/{alerts[0]['id']}/dismiss", headers=dispatcher)
    assert dismiss.status_code == 409 and "already closed (bin_deleted)" in dismiss.text
    listed = client.get("/alerts?status=bin_deleted", headers=dispatcher).json()
    assert [a["id"] for a in listed] == [alerts[0]["id"]]


def test_a_bin_missed_again_at_once_after_an_alert_on_it_is_a_second_missed_visit(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """v1's crew cannot empty b0 at 09:00; an alert on b0 at 09:05 sends v1 straight back
    (no other work between), and at 09:10 its crew again cannot empty it: a second stop
    passed, kept, and it raises an alert of its own (before, taken for a resend of the
    09:00 report: dropped, as only an emptying after an alert was kept); the tablet
    retrying the 09:10 report is a resend."""
    dispatcher = keys["dispatcher"]
    missed = {"vehicle_id": "v1", "kind": "visit_missed", "bin_id": "b0"}
    url = _alerted_after(client, dispatcher, runtime, missed)
    sent = [
        _sent(client, url, {**missed, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
        for at in ("09:10", "09:10")
    ]
    assert [r["resend"] for r in sent] == [False, True]
    v1 = _v1(runtime)
    assert (v1.done_bin_ids, v1.missed) == (("b0", "b0"), (True, True))
    wait(runtime)
    alerts = client.get("/alerts", headers=dispatcher).json()
    crew = sorted(datetime.fromisoformat(a["at"]) for a in alerts if a["source"] == "crew")
    assert crew == [datetime.fromisoformat(f"2026-11-25T{t}:00+02:00") for t in ("09:00", "09:10")]


def test_a_bin_missed_twice_on_a_day_gone_by_is_one_miss_pressed_twice(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """A tablet syncing the next morning: v1's crew could not empty b0 at 09:00 and at
    09:20 of the day before, nothing between. No alert is raised for a day gone by, so
    nothing sent v1 back: the 09:20 report is the button pressed twice (a resend), one
    stop passed; a miss of b0 after other work (an unloading) counts again."""
    dispatcher = keys["dispatcher"]
    url = f"/plans/{_planned(client, dispatcher, runtime)}/progress"
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-26T07:00:00+02:00")
    missed = {"vehicle_id": "v1", "kind": "visit_missed", "bin_id": "b0"}
    unloaded = {"vehicle_id": "v1", "kind": "disposal_done", "site_id": "s1"}
    sent = [
        _sent(client, url, {**body, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
        for body, at in (
            (missed, "09:00"),
            (missed, "09:20"),
            (unloaded, "09:40"),
            (missed, "09:50"),
        )
    ]
    assert [r["resend"] for r in sent] == [False, True, False, False]
    wait(runtime)
    assert client.get("/alerts", headers=dispatcher).json() == []
    v1 = _v1(runtime)
    assert (v1.done_bin_ids, v1.missed) == (("b0", "b0"), (True, True))


def test_a_bin_missed_again_after_its_own_crew_alert_is_a_second_missed_visit(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """v1's crew cannot empty b0 at 09:00 (parked car): the report raises a crew alert at
    09:00, whose reroute sends v1 back; at 09:30 its crew again cannot empty it: a second
    stop passed, kept, raising an alert of its own (before, an alert raised at the report's
    own time did not count as sending the truck back, and the miss within the hour was
    taken for a resend: dropped, no alert); the tablet retrying the 09:30 report (the same
    ``at`` and reason) is a resend. Both misses stand when b0 is deleted then, and its
    alerts stay, closed (before, they were deleted with the bin; read without the 09:00
    alert, the 09:30 miss was taken for a resend: the re-plan took v1's second visit of
    b0 for one still to do, and dropped it)."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    missed = {"vehicle_id": "v1", "kind": "visit_missed", "bin_id": "b0", "reason": "parked car"}
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T09:00:00+02:00")
    _sent(client, url, {**missed, "at": "2026-11-25T09:00:00+02:00"}, dispatcher)
    wait(runtime)
    (first,) = client.get("/alerts", headers=dispatcher).json()
    assert (first["source"], first["status"]) == ("crew", "rerouted")
    assert planner.reroutes[-1]["urgent"] == ["b0"]  # the fake sends v1 (its first truck)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T09:30:00+02:00")
    again = {**missed, "at": "2026-11-25T09:30:00+02:00"}
    sent = [_sent(client, url, again, dispatcher) for _ in range(2)]
    assert [r["resend"] for r in sent] == [False, True]
    v1 = _v1(runtime)
    assert (v1.done_bin_ids, v1.missed) == (("b0", "b0"), (True, True))
    wait(runtime)
    alerts = client.get("/alerts", headers=dispatcher).json()
    crew = sorted(datetime.fromisoformat(a["at"]) for a in alerts if a["source"] == "crew")
    assert crew == [datetime.fromisoformat(f"2026-11-25T{t}:00+02:00") for t in ("09:00", "09:30")]
    assert client.delete("/bins/b0", headers=dispatcher).is_success
    wait(runtime)
    assert [
        (a["source"], a["status"])
        for a in client.get("/alerts", headers=dispatcher).json()
        if a["bin_id"] == "b0"
    ] == [("crew", "bin_deleted")] * 2
    v1 = _v1(runtime)
    assert (v1.done_bin_ids, v1.missed) == (("b0", "b0"), (True, True))


def test_unloadings_are_reported_per_site_and_checked(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """s1 at 09:00, resent at 09:05 (dropped), again at 11:30 (a second trip, kept); bad
    reports name the field or the record."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    site = {"vehicle_id": "v1", "kind": "disposal_done", "site_id": "s1"}
    for at in ("09:00", "09:05", "11:30"):
        got = _sent(client, url, {**site, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
        assert (got["kind"], got["site_id"]) == ("disposal_done", "s1")
    done = {"vehicle_id": "v1", "at": NOON, "kind": "visit_done", "bin_id": "b0"}
    _sent(client, url, done, dispatcher)
    v1 = _v1(runtime)
    assert (v1.done_site_ids, v1.done_bin_ids) == (("s1", "s1"), ("b0",))
    assert v1.done_at == (datetime.fromisoformat(NOON),)  # when each bin was emptied
    assert v1.unloaded_at == datetime.fromisoformat("2026-11-25T11:30:00+02:00")  # the last

    unload = {"vehicle_id": "v1", "at": NOON, "kind": "disposal_done"}
    for extra, word in (({}, "site_id"), ({"site_id": "s1", "bin_id": "b0"}, "bin_id")):
        resp = client.post(url, json={**unload, **extra}, headers=dispatcher)
        assert resp.status_code == 422
        assert word in resp.json()["detail"][0]["msg"]
    resp = client.post(url, json={**done, "site_id": "s1"}, headers=dispatcher)
    assert resp.status_code == 422
    assert "disposal_done" in resp.json()["detail"][0]["msg"]
    resp = client.post(url, json={**unload, "site_id": "tip-9"}, headers=dispatcher)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["record"] == "site_id='tip-9'"


def test_a_position_older_than_the_last_done_report_is_dropped(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """Position at 11:30, bin done at 12:00: the truck has moved on, its position is unknown;
    a new position at 12:10 counts again."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    pos = {"vehicle_id": "v1", "kind": "position", "lon": 24.95, "lat": 60.175}
    reports: list[dict[str, Any]] = [
        {**pos, "at": "2026-11-25T11:30:00+02:00"},
        {"vehicle_id": "v1", "at": NOON, "kind": "visit_done", "bin_id": "b0"},
    ]
    for body in reports:
        _sent(client, url, body, dispatcher)

    v1 = _v1(runtime)
    assert (v1.lon, v1.lat) == (None, None)
    later = {**pos, "at": "2026-11-25T12:10:00+02:00", "lon": 24.96}
    _sent(client, url, later, dispatcher)
    v1 = _v1(runtime)
    assert (v1.lon, v1.lat) == (24.96, 60.175)


def test_a_second_unloading_soon_after_new_bins_is_not_a_resend(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """s1 at 09:00, b0 emptied at 09:03, s1 again at 09:08 (a short trip, kept: the truck
    had something to unload), resent at 09:10 (dropped: nothing collected since)."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    url = f"/plans/{base}/progress"
    site = {"vehicle_id": "v1", "kind": "disposal_done", "site_id": "s1"}
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    for body, at in ((site, "09:00"), (done, "09:03"), (site, "09:08"), (site, "09:10")):
        _sent(client, url, {**body, "at": f"2026-11-25T{at}:00+02:00"}, dispatcher)
    v1 = _v1(runtime)
    assert (v1.done_site_ids, v1.done_bin_ids) == (("s1", "s1"), ("b0",))


def test_an_alert_older_than_the_bins_emptying_needs_no_new_visit(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """A citizen's report of 08:55 reaches the service after the crew emptied the bin at
    09:00: the alert reads 'emptied', with the plan being driven, and nothing is rerouted (a
    second visit would find an empty bin). A new overflow after the emptying reroutes."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    _sent(
        client, f"/plans/{base}/progress", {**done, "at": "2026-11-25T09:00:00+02:00"}, dispatcher
    )
    stale = client.post(
        "/alerts", json={"bin_id": "b0", "at": "2026-11-25T08:55:00+02:00"}, headers=dispatcher
    ).json()
    wait(runtime)
    got = client.get(f"/alerts/{stale['id']}", headers=dispatcher).json()
    assert (got["status"], got["plan_id"]) == ("emptied", base)
    assert planner.reroutes == []  # nothing to reroute for
    fresh = client.post(
        "/alerts", json={"bin_id": "b0", "at": "2026-11-25T11:00:00+02:00"}, headers=dispatcher
    ).json()
    wait(runtime)
    assert client.get(f"/alerts/{fresh['id']}", headers=dispatcher).json()["status"] == "rerouted"
    assert planner.reroutes[-1]["urgent"] == ["b0"]


def test_a_full_sensor_raises_one_alert_per_emptying(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """A sensor above the threshold keeps reporting: one alert until the bin is emptied;
    full again in the afternoon, a second one."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)

    def full(at: str) -> None:
        reading = [{"bin_id": "b0", "at": f"2026-11-25T{at}:00+02:00", "fill_fraction": 0.99}]
        assert client.post("/readings", json=reading, headers=dispatcher).status_code == 200

    full("08:00")
    full("08:30")
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b0"}
    _sent(
        client, f"/plans/{base}/progress", {**done, "at": "2026-11-25T09:00:00+02:00"}, dispatcher
    )
    full("15:00")
    full("15:30")
    wait(runtime)
    alerts = client.get("/alerts?plan_date=2026-11-25", headers=dispatcher).json()
    assert [a["at"] for a in alerts if a["bin_id"] == "b0"] == [
        "2026-11-25T06:00:00Z",
        "2026-11-25T13:00:00Z",
    ]


def test_a_bin_listed_again_after_its_deletion_gets_its_sensors_alert(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """b9's sensor reads full at 08:00 (an alert); b9 is deleted, then listed again under
    its id, and its sensor reads full at 10:00: a new alert, as the one before was closed
    with the deleted bin (not taken for the bin's alert of the day, which would leave the
    full bin unalerted)."""
    dispatcher = keys["dispatcher"]
    _planned(client, dispatcher, runtime)

    def full(at: str) -> None:
        reading = [{"bin_id": "b9", "at": f"2026-11-25T{at}:00+02:00", "fill_fraction": 0.99}]
        assert client.post("/readings", json=reading, headers=dispatcher).status_code == 200

    full("08:00")
    wait(runtime)
    assert client.delete("/bins/b9", headers=dispatcher).is_success
    wait(runtime)
    assert client.post("/bins", json=NEW_BIN, headers=dispatcher).status_code == 201
    full("10:00")
    wait(runtime)
    alerts = client.get("/alerts?plan_date=2026-11-25", headers=dispatcher).json()
    assert [(a["at"], a["status"]) for a in alerts if a["bin_id"] == "b9"] == [
        ("2026-11-25T06:00:00Z", "bin_deleted"),
        ("2026-11-25T08:00:00Z", "rerouted"),
    ]


def test_alerts_of_one_pass_each_get_their_bins_first_alerts_target(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """Three alerts taken in one reroute pass: b9 at 12:00 and again at 12:20, b2 at 12:10.
    Each bin's target is its first alert's time + 120 min; with ``alert_response_min`` 0
    there are none."""
    dispatcher = keys["dispatcher"]
    _planned(client, dispatcher, runtime)
    plan_date = date.fromisoformat(PLAN_DATE)
    with runtime.db.writer() as s:
        for bin_id, at in (("b9", "12:00"), ("b2", "12:10"), ("b9", "12:20")):
            when = datetime.fromisoformat(f"{PLAN_DATE}T{at}:00+02:00")
            repo.add_alert(s, bin_id=bin_id, at=when, tz=runtime.settings.tz, source="dispatcher")
    assert runtime.jobs.reroute_once(plan_date, planner, runtime.routing) is not None
    due = {b: t.isoformat() for b, t in planner.reroutes[-1]["due"].items()}
    assert due == {"b9": "2026-11-25T12:00:00+00:00", "b2": "2026-11-25T12:10:00+00:00"}
    runtime.settings.alert_response_min = 0
    with runtime.db.writer() as s:
        when = datetime.fromisoformat(NOON)
        repo.add_alert(s, bin_id="b9", at=when, tz=runtime.settings.tz, source="dispatcher")
    runtime.jobs.reroute_once(plan_date, planner, runtime.routing)
    assert planner.reroutes[-1]["due"] == {}


class _LeavesOutASecondVisit(FakePlanner):
    """Its reroutes serve the alerted bin but leave out that bin's planned second visit
    (``b9#2``, a must bin's, not the alert's)."""

    def exports(self, day_plan: Any, geometry: Any, directions: Any = None) -> PlanExports:
        out = super().exports(day_plan, geometry, directions)
        if not self.reroutes:
            return out
        missed = {"bin_id": "b9", "ref": "b9#2", "required": True, "alert": False, "reason": "x"}
        return dataclasses.replace(out, plan={**out.plan, "unserved": [missed]})


def test_an_alert_reads_unserved_only_when_its_own_visit_is_left_out(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """The reroute serves the alert's visit of b9 and leaves out b9's later must visit: the
    alert reads ``rerouted``. It read ``unserved`` whenever any required visit of its bin
    was left out."""
    dispatcher = keys["dispatcher"]
    planner = _LeavesOutASecondVisit()
    client.app.dependency_overrides[get_planner] = lambda: planner  # type: ignore[attr-defined]
    _planned(client, dispatcher, runtime)
    alert = client.post("/alerts", json={"bin_id": "b9", "at": NOON}, headers=dispatcher)
    wait(runtime)
    got = client.get(f"/alerts/{alert.json()['id']}", headers=dispatcher).json()
    assert got["status"] == "rerouted"


class _MovesTheFirstAlertsVisit(FakePlanner):
    """Its first reroute has v1 empty b9 (the alert's visit) at 10:30; the second, for an
    alert on b2, hands b9 to v2 at 11:15; the third leaves b9 out."""

    def exports(self, day_plan: Any, geometry: Any, directions: Any = None) -> PlanExports:
        out = super().exports(day_plan, geometry, directions)
        n = len(self.reroutes)
        if n == 0:
            return out

        def visit(ref: str, start: str) -> dict[str, Any]:
            at = f"{PLAN_DATE}T{start}:00+02:00"
            return {"kind": "bin", "ref": ref, "bin_id": ref, "start": at, "alert": True}

        b9 = {1: ("v1", "10:30"), 2: ("v2", "11:15")}.get(n)
        routes = [{"vehicle_id": "v1", "visits": [visit("b2", "10:45")] if n >= 2 else []}]
        if b9 is not None:
            routes.append({"vehicle_id": b9[0], "visits": [visit("b9", b9[1])]})
        left = [{"bin_id": "b9", "ref": "b9", "required": True, "alert": True, "reason": "x"}]
        return dataclasses.replace(
            out, plan={**out.plan, "routes": routes, "unserved": left if n == 3 else []}
        )


def test_an_earlier_alert_follows_its_visit_into_later_reroutes(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """The alert on b9 is rerouted (v1, 10:30). A reroute for another alert moves b9 to v2
    at 11:15: the first alert now says so. A third leaves b9 out: it reads ``unserved``.
    It used to keep what its own reroute had planned."""
    dispatcher = keys["dispatcher"]
    planner = _MovesTheFirstAlertsVisit()
    client.app.dependency_overrides[get_planner] = lambda: planner  # type: ignore[attr-defined]
    _planned(client, dispatcher, runtime)

    def alert(bin_id: str) -> int:
        resp = client.post("/alerts", json={"bin_id": bin_id, "at": NOON}, headers=dispatcher)
        wait(runtime)
        return int(resp.json()["id"])

    def seen(alert_id: int) -> tuple[Any, ...]:
        a = client.get(f"/alerts/{alert_id}", headers=dispatcher).json()
        eta = a["eta"] and datetime.fromisoformat(a["eta"]).astimezone(runtime.settings.tz)
        return a["status"], a["vehicle_id"], eta and eta.strftime("%H:%M"), a["plan_id"]

    first = alert("b9")
    assert seen(first)[:3] == ("rerouted", "v1", "10:30")
    second = alert("b2")
    assert seen(second)[:3] == ("rerouted", "v1", "10:45")
    assert seen(first) == ("rerouted", "v2", "11:15", seen(second)[3])
    alert("b2")
    assert seen(first)[:3] == ("unserved", None, None)


def test_an_alert_raised_while_the_days_plan_is_made_reroutes_it_once_done(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """The plan job has read its inputs when b9 overflows: the alert finds no finished plan
    (``no_plan``) but must not wait for the next one. Once the plan is stored, a reroute
    takes the alert in."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    client.post("/bins", json=NEW_BIN, headers=dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T11:55:00+02:00")
    planner.gate = threading.Event()
    plan = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    _until(lambda: bool(planner.calls))  # the job is at the gate: inputs read
    alert = client.post("/alerts", json={"bin_id": "b9", "at": NOON}, headers=dispatcher).json()
    _status(client, dispatcher, alert["id"], "no_plan")
    planner.gate.set()
    wait(runtime)
    got = client.get(f"/alerts/{alert['id']}", headers=dispatcher).json()
    assert got["status"] == "rerouted", got
    new = client.get(f"/plans/{got['plan_id']}", headers=dispatcher).json()
    assert new["parent_id"] == plan["id"]
    assert planner.reroutes[0]["urgent"] == ["b9"]


def _until(check: Any, timeout_s: float = 20.0) -> None:
    """Wait until ``check()`` holds; fail after ``timeout_s`` (a job thread on a loaded
    machine may take seconds to get there: the test must not go on without it)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def _status(client: TestClient, headers: dict[str, str], alert_id: int, wanted: str) -> str:
    """The alert's status once it reads ``wanted`` (fails after 20 s)."""
    url = f"/alerts/{alert_id}"
    _until(lambda: client.get(url, headers=headers).json()["status"] == wanted)
    return wanted


def test_an_alert_raised_while_a_plan_of_today_runs_waits_for_it(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """The day has a plan; the dispatcher asks for a new one, and b9 overflows while it is
    made. The alert stays open until the new plan is stored, then is rerouted into it. A
    reroute of the old plan meanwhile would have been a newer version without the new
    plan's changes (or the new plan one without the alert)."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T11:55:00+02:00")
    planner.gate = threading.Event()
    plan = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    for _ in range(200):  # the job is at the gate: inputs read
        if len(planner.calls) == 2:
            break
        time.sleep(0.01)
    alert = client.post("/alerts", json={"bin_id": "b9", "at": NOON}, headers=dispatcher).json()
    time.sleep(0.3)
    assert client.get(f"/alerts/{alert['id']}", headers=dispatcher).json()["status"] == "open"
    assert planner.reroutes == []
    planner.gate.set()
    wait(runtime)
    got = client.get(f"/alerts/{alert['id']}", headers=dispatcher).json()
    assert got["status"] == "rerouted", got
    new = client.get(f"/plans/{got['plan_id']}", headers=dispatcher).json()
    assert new["parent_id"] == plan["id"] != base


@pytest.mark.parametrize("reroute_fails", [False, True])
def test_an_alert_being_rerouted_when_a_plan_of_today_starts_is_taken_in_by_it(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
    reroute_fails: bool,
) -> None:
    """b9's reroute of the day's plan is under way when the dispatcher asks for a new plan:
    the new plan takes b9 in, and the alert follows it (``planned``), though the reroute
    ends after it (its version is superseded), or fails."""
    dispatcher = keys["dispatcher"]
    _planned(client, dispatcher, runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T11:55:00+02:00")
    planner.reroute_gate = threading.Event()
    if reroute_fails:
        planner.reroute_fail_with = RuntimeError("solver crashed")
    alert = client.post("/alerts", json={"bin_id": "b9", "at": NOON}, headers=dispatcher).json()
    assert _status(client, dispatcher, alert["id"], "rerouting") == "rerouting"
    plan = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    url = f"/plans/{plan['id']}"
    _until(lambda: client.get(url, headers=dispatcher).json()["status"] == "done")
    assert planner.calls[-1]["alerted"] == ["b9"]
    planner.reroute_gate.set()
    wait(runtime)
    got = client.get(f"/alerts/{alert['id']}", headers=dispatcher).json()
    assert (got["status"], got["plan_id"]) == ("planned", plan["id"])
    versions = client.get(f"/plans?plan_date={PLAN_DATE}", headers=dispatcher).json()
    newest = max((p for p in versions if p["status"] == "done"), key=lambda p: p["version"])
    assert newest["id"] == plan["id"]


def _emptied_yesterday(runtime: Runtime, bin_id: str, clock: str) -> None:
    """Truck v1 reported ``bin_id`` emptied at ``clock`` (HH:MM) the day before
    ``PLAN_DATE``, on a plan of that day (failed since)."""
    day = date(2026, 11, 24)
    plan = runtime.jobs.create_plan(day, 1, "request", status="failed")
    at = datetime.fromisoformat(f"{day.isoformat()}T{clock}:00+02:00")
    with runtime.db.writer() as s:
        s.add(
            ProgressRow(
                plan_id=plan.id,
                plan_date=day,
                vehicle_id="v1",
                kind="visit_done",
                bin_id=bin_id,
                at=at,
            )
        )


def test_an_alert_no_truck_served_yesterday_is_taken_by_todays_plan(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """b9 overflowed the evening before (no plan that day: ``no_plan``), b1 then too but a
    truck emptied it after; b2's alert of two days before was rerouted (a truck was sent).
    Today's plan takes in b9 only, as an alerted bin to empty as soon as a truck can (its
    target is the first shift's start, 06:00: its own passed; before, it had none and was
    emptied any time of the day), and the alert then says which plan collects it."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    client.post("/bins", json=NEW_BIN, headers=dispatcher)
    evening = "2026-11-24T17:30:00+02:00"
    b9 = client.post("/alerts", json={"bin_id": "b9", "at": evening}, headers=dispatcher).json()
    b1 = client.post("/alerts", json={"bin_id": "b1", "at": evening}, headers=dispatcher).json()
    wait(runtime)
    _emptied_yesterday(runtime, "b1", "18:10")  # after its alert
    with runtime.db.writer() as s:  # b2: rerouted
        s.add(
            AlertRow(
                bin_id="b2",
                plan_date=date(2026, 11, 23),
                source="dispatcher",
                at=datetime.fromisoformat("2026-11-23T09:00:00+02:00"),
                status="rerouted",
                note="",
            )
        )
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T02:00:00+02:00")
    plan = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    wait(runtime)
    (call,) = planner.calls
    start = datetime.fromisoformat(f"{PLAN_DATE}T06:00:00+02:00")
    assert (call["alerted"], call["due"]) == (["b9"], {"b9": start})
    got = client.get(f"/alerts/{b9['id']}", headers=dispatcher).json()
    assert (got["status"], got["plan_id"], got["plan_date"]) == (
        "planned",
        plan["id"],
        "2026-11-24",
    )
    assert client.get(f"/alerts/{b1['id']}", headers=dispatcher).json()["status"] == "emptied"
    listed = client.get(f"/alerts?plan_date={PLAN_DATE}", headers=dispatcher).json()
    assert [a["id"] for a in listed] == [b9["id"], b1["id"]]  # taken in by today's plan


def test_an_overflow_of_last_night_known_after_todays_plan_reroutes_today(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """Today's plan was made at 02:00. At 08:00 a citizen's report of 23:30 last night on b9
    comes in (typed in late, or a sensor's gateway sending its readings late): today's plan
    is rerouted to empty b9 as soon as a truck can (its target is now: its own passed).
    Before, the alert went to yesterday's plan (none: ``no_plan``), and no truck was sent
    until the next day's plan. Yesterday's overflows whose bins were emptied since (b1 by a
    truck, b2 as its sensor reads) send no truck."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    client.post("/bins", json=NEW_BIN, headers=dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat(f"{PLAN_DATE}T02:00:00+02:00")
    plan = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    wait(runtime)
    _emptied_yesterday(runtime, "b1", "17:00")  # after its overflow
    now = datetime.fromisoformat(f"{PLAN_DATE}T08:00:00+02:00")
    runtime.jobs.clock = lambda: now
    late = {"bin_id": "b9", "at": "2026-11-24T23:30:00+02:00"}
    b9 = client.post("/alerts", json=late, headers=dispatcher).json()
    b1 = client.post(
        "/alerts", json={"bin_id": "b1", "at": "2026-11-24T16:00:00+02:00"}, headers=dispatcher
    ).json()
    reads = [("2026-11-24T21:00", 0.98), ("2026-11-24T22:00", 0.04), ("2026-11-24T23:00", 0.06)]
    body = [{"bin_id": "b2", "at": f"{t}:00+02:00", "fill_fraction": f} for t, f in reads]
    (b2,) = client.post("/readings", json=body, headers=dispatcher).json()["alert_ids"]
    wait(runtime)
    (call,) = planner.reroutes
    assert (call["urgent"], call["now"], call["due"]) == (["b9"], now, {"b9": now})
    got = client.get(f"/alerts/{b9['id']}", headers=dispatcher).json()
    newest = client.get(f"/plans/{got['plan_id']}", headers=dispatcher).json()
    assert (got["status"], got["plan_date"]) == ("rerouted", "2026-11-24")
    assert (newest["plan_date"], newest["parent_id"]) == (PLAN_DATE, plan["id"])
    for alert_id in (b1["id"], b2):
        assert client.get(f"/alerts/{alert_id}", headers=dispatcher).json()["status"] == "emptied"
    listed = client.get(f"/alerts?plan_date={PLAN_DATE}", headers=dispatcher).json()
    assert b9["id"] in [a["id"] for a in listed]  # on today's dashboard


def test_an_alert_carried_from_yesterday_stays_with_the_days_next_plan(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """b9 overflowed the evening before (no plan that day); the night plan of today takes
    it in (``planned``). The dispatcher plans the day again at 05:00: that plan takes b9 in
    too, and the alert follows it."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    client.post("/bins", json=NEW_BIN, headers=dispatcher)
    evening = "2026-11-24T17:30:00+02:00"
    b9 = client.post("/alerts", json={"bin_id": "b9", "at": evening}, headers=dispatcher).json()
    wait(runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T02:00:00+02:00")
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T05:00:00+02:00")
    again = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    wait(runtime)
    assert [c["alerted"] for c in planner.calls] == [["b9"], ["b9"]]
    start = datetime.fromisoformat(f"{PLAN_DATE}T06:00:00+02:00")  # the first shift's
    assert [c["due"] for c in planner.calls] == [{"b9": start}] * 2
    got = client.get(f"/alerts/{b9['id']}", headers=dispatcher).json()
    assert (got["status"], got["plan_id"]) == ("planned", again["id"])
    runtime.settings.alert_response_min = 0  # targets off: none
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    assert planner.calls[-1]["due"] == {}


def test_a_sensor_alert_whose_sensor_read_the_bin_empty_since_is_not_taken_in(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """b0's, b1's and b2's sensors read 97 % at 07:30 (alerts, no plan yet). At 08:00 b1's
    read 5 %, and again at 08:30 (emptied without a truck report), b0's 5 % once (a lone low
    last reading: maybe a glitch), b2's 90 %. A plan at 09:00 takes in b0 and b2, and reads no
    overflow on b1, whose alert reads ``emptied``. A citizen's alert (b3) is not closed by
    low readings: the waste may lie beside the bin."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    early = "2026-11-25T07:30:00+02:00"  # after the 07:00 readings of 60 %
    high = [{"bin_id": b, "at": early, "fill_fraction": 0.97} for b in ("b0", "b1", "b2")]
    assert client.post("/readings", json=high, headers=dispatcher).is_success
    report = {"report_id": "c1", "at": early, "bin_id": "b3", "overflowing": True}
    assert client.post("/reports", json=report, headers=dispatcher).is_success
    wait(runtime)
    alerts = {a["bin_id"]: a for a in client.get("/alerts", headers=dispatcher).json()}
    assert {b: a["status"] for b, a in alerts.items()} == dict.fromkeys(
        ("b0", "b1", "b2", "b3"), "no_plan"
    )
    night = ["2026-11-25T08:00:00+02:00", "2026-11-25T08:30:00+02:00"]
    later = [
        {"bin_id": "b0", "at": night[0], "fill_fraction": 0.05},
        *({"bin_id": "b1", "at": at, "fill_fraction": 0.05} for at in night),
        {"bin_id": "b2", "at": night[0], "fill_fraction": 0.9},
        *({"bin_id": "b3", "at": at, "fill_fraction": 0.05} for at in night),
    ]
    assert client.post("/readings", json=later, headers=dispatcher).is_success
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T09:00:00+02:00")
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    (call,) = planner.calls
    assert call["alerted"] == ["b0", "b2", "b3"]
    # nor is b1's alert read as an overflow report any more (b1 would be a must bin)
    reports = sorted((r.report_id, r.bin_id) for r in call["reports"])
    expected = [(f"alert-{alerts[b]['id']}", b) for b in ("b0", "b2")] + [("c1", "b3")]
    assert reports == sorted(expected)
    got = {
        b: client.get(f"/alerts/{a['id']}", headers=dispatcher).json() for b, a in alerts.items()
    }
    assert {b: a["status"] for b, a in got.items()} == {
        "b0": "planned",
        "b1": "emptied",
        "b2": "planned",
        "b3": "planned",
    }


def test_a_dispatcher_dismisses_a_false_alarm_no_truck_was_sent_to(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """A citizen's report raises an alert on b1 before the day has a plan (``no_plan``); the
    dispatcher finds it false and dismisses it (200, no plan job): the day's plan neither
    takes it in nor reads the report. Dismissed twice is a 409 saying why."""
    dispatcher, viewer = keys["dispatcher"], keys["viewer"]
    seed(client, dispatcher)
    report = {"report_id": "r7", "at": NOON, "text": "overflowing", "lon": 24.942, "lat": 60.171}
    alert_id = client.post("/reports", json=report, headers=dispatcher).json()["alert_id"]
    wait(runtime)
    assert client.get(f"/alerts/{alert_id}", headers=dispatcher).json()["status"] == "no_plan"
    assert client.post(f"/alerts/{alert_id}/dismiss", headers=viewer).status_code == 403
    got = client.post(f"/alerts/{alert_id}/dismiss", headers=dispatcher)
    assert got.status_code == 200 and got.json()["status"] == "dismissed"
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T12:30:00+02:00")
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    (call,) = planner.calls
    assert (call["alerted"], call["reports"]) == ([], [])
    again = client.post(f"/alerts/{alert_id}/dismiss", headers=dispatcher)
    assert again.status_code == 409 and "already closed (dismissed)" in again.json()["detail"]
    assert client.post("/alerts/999/dismiss", headers=dispatcher).status_code == 404


def test_dismissing_an_alert_a_truck_was_sent_to_replans_its_day_without_it(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """v1 emptied b0 at 11:00; alerts on b9 and b3 at noon send trucks (``rerouted``). At
    12:20 the dispatcher finds b9's a false alarm and dismisses it: 202, a plan job of the
    day (``Location``; the alert's ``plan_id``) re-plans the rest of the day from where the
    trucks are, taking in b3's alert but not b9's, nor its report; b9's alert no longer
    names a truck."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    done = {"vehicle_id": "v1", "at": "2026-11-25T11:00:00+02:00", "kind": "visit_done"}
    _sent(client, f"/plans/{base}/progress", {**done, "bin_id": "b0"}, dispatcher)
    b9, b3 = (
        client.post("/alerts", json={"bin_id": b, "at": NOON}, headers=dispatcher).json()
        for b in ("b9", "b3")
    )
    wait(runtime)
    sent = client.get(f"/alerts/{b9['id']}", headers=dispatcher).json()
    assert sent["status"] == "rerouted"
    newest = client.get("/plans", headers=dispatcher).json()[0]["id"]  # the last reroute
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T12:20:00+02:00")
    got = client.post(f"/alerts/{b9['id']}/dismiss", headers=dispatcher)
    assert got.status_code == 202, got.text
    job = got.json()["plan_id"]
    assert got.headers["location"] == f"/plans/{job}" and job > newest
    wait(runtime)
    new = client.get(f"/plans/{job}", headers=dispatcher).json()
    assert (new["status"], new["origin"], new["parent_id"]) == (
        "done",
        "dismissal",
        newest,
    )
    (call,) = planner.replans
    assert call["alerted"] == ["b3"]
    assert f"alert-{b9['id']}" not in {r.report_id for r in call["reports"]}
    after = client.get(f"/alerts/{b9['id']}", headers=dispatcher).json()
    assert (after["status"], after["plan_id"], after["vehicle_id"], after["eta"]) == (
        "dismissed",
        job,
        None,
        None,
    )
    assert client.get(f"/alerts/{b3['id']}", headers=dispatcher).json()["status"] == "planned"


def test_dismissing_an_alert_whose_bin_was_emptied_or_whose_day_is_over_plans_nothing(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """Alerts on b9 and b3 sent trucks; v1 then emptied b9. Dismissing b9's alert (found
    false after) re-plans nothing (200), nor does dismissing b3's the next day: the truck
    was sent on a day that is over."""
    dispatcher = keys["dispatcher"]
    base = _planned(client, dispatcher, runtime)
    b9, b3 = (
        client.post("/alerts", json={"bin_id": b, "at": NOON}, headers=dispatcher).json()
        for b in ("b9", "b3")
    )
    wait(runtime)
    done = {"vehicle_id": "v1", "at": "2026-11-25T12:40:00+02:00", "kind": "visit_done"}
    _sent(client, f"/plans/{base}/progress", {**done, "bin_id": "b9"}, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T13:00:00+02:00")
    plans = len(client.get("/plans", headers=dispatcher).json())
    got = client.post(f"/alerts/{b9['id']}/dismiss", headers=dispatcher)
    assert got.status_code == 200 and "location" not in got.headers
    assert got.json()["status"] == "dismissed"
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-26T07:00:00+02:00")
    got = client.post(f"/alerts/{b3['id']}/dismiss", headers=dispatcher)
    assert (got.status_code, got.json()["status"]) == (200, "dismissed")
    wait(runtime)
    assert len(client.get("/plans", headers=dispatcher).json()) == plans
    assert planner.replans == [] and len(planner.calls) == 1


def _service(settings: Settings, planner: FakePlanner, now: datetime | None = None) -> TestClient:
    """The app on ``settings``' database with ``planner`` for its jobs too (a start), its
    jobs' clock at ``now`` (default the system's)."""
    routing = Routing.static(HaversineProvider())
    app = create_app(
        settings, planner=planner, routing=routing, clock=(lambda: now) if now else None
    )
    return TestClient(app)


def test_alerts_a_stop_left_open_or_rerouting_are_rerouted_at_the_next_start(
    settings: Settings,
) -> None:
    """The service stops (a crash, a deploy) while a reroute runs and just after an alert
    came: at the next start both alerts are rerouted (before, the first kept reading
    ``rerouting`` and the second ``open``, until another alert of the day came)."""
    fake = FakePlanner()
    with _service(settings, fake) as client:
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
        seed(client, key)
        today = runtime.jobs.today()
        client.post("/plans", json={"plan_date": today.isoformat()}, headers=key)
        wait(runtime)
        interrupted = runtime.jobs.create_plan(today, 1, "reroute", status="running")
        at, tz = runtime.jobs.clock(), settings.tz
        with runtime.db.writer() as s:
            for bin_id, status in (("b1", "rerouting"), ("b2", "open")):
                row = repo.add_alert(s, bin_id=bin_id, source="dispatcher", at=at, tz=tz)
                assert row is not None
                row.status, row.plan_id = status, interrupted.id if status != "open" else None
    with _service(settings, fake) as client:  # the next start
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        wait(runtime)
        alerts = client.get(f"/alerts?plan_date={today.isoformat()}", headers=key).json()
    assert [(a["bin_id"], a["status"]) for a in alerts] == [("b1", "rerouted"), ("b2", "rerouted")]
    assert sorted(fake.reroutes[-1]["urgent"]) == ["b1", "b2"]


def test_an_alert_a_stop_left_open_last_night_reroutes_today_at_the_next_start(
    settings: Settings,
) -> None:
    """An overflow came at 23:50 as the service stopped; it starts again at 07:00, after
    today's plan was made: today's plan is rerouted for it (before, only alerts of today on
    were resumed, and this one read ``open`` for ever)."""
    fake = FakePlanner()
    night = datetime.fromisoformat(f"{PLAN_DATE}T02:00:00+02:00")
    with _service(settings, fake, night) as client:
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
        seed(client, key)
        client.post("/plans", json={"plan_date": PLAN_DATE}, headers=key)
        wait(runtime)
        at = datetime.fromisoformat("2026-11-24T23:50:00+02:00")
        with runtime.db.writer() as s:  # left open by the stop
            assert repo.add_alert(s, bin_id="b1", source="dispatcher", at=at, tz=settings.tz)
    morning = datetime.fromisoformat(f"{PLAN_DATE}T07:00:00+02:00")
    with _service(settings, fake, morning) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        wait(runtime)
        (alert,) = client.get("/alerts", headers=key).json()
    assert (alert["status"], alert["plan_date"]) == ("rerouted", "2026-11-24")
    assert [(r["urgent"], r["now"]) for r in fake.reroutes] == [(["b1"], morning)]


def test_a_plan_finishing_as_the_service_stops_stays_done(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """The stop waits for the running plan job; its last step queued a reroute on the
    stopped pool, failed, and the stored plan read ``failed`` (before)."""
    seed(client, keys["dispatcher"])
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T05:00:00+02:00")  # today
    planner.gate = threading.Event()
    plan = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=keys["dispatcher"]).json()
    for _ in range(200):  # the job is at the gate
        if planner.calls:
            break
        time.sleep(0.01)
    stop = threading.Thread(target=runtime.jobs.shutdown)
    stop.start()
    for _ in range(200):
        if runtime.jobs.stopping:
            break
        time.sleep(0.01)
    planner.gate.set()
    stop.join(30)
    with runtime.db.reader() as s:
        row = s.get(PlanRow, plan["id"])
        assert row is not None and (row.status, row.message) == ("done", "done")


def _states(runtime: Runtime) -> dict[tuple[str, int], bool]:
    """Whether each plan (date, version) keeps its stored day plan."""
    with runtime.db.reader() as s:
        rows = s.execute(select(PlanRow.plan_date, PlanRow.version, PlanRow.state.is_not(None)))
        return {(d.isoformat(), v): bool(kept) for d, v, kept in rows}


def test_only_the_newest_finished_plan_of_a_day_not_over_keeps_its_day_plan(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """A reroute starts from the day's newest finished plan: the day plans (65 MB for a city
    of 2000 bins, its travel matrices) of the versions before it, and of the days before
    yesterday, are dropped when a plan is stored; a second alert reroutes from the first's."""
    dispatcher = keys["dispatcher"]
    with runtime.db.writer() as s:  # days planned earlier: over, and yesterday
        for day in ("2026-11-21", "2026-11-23"):  # the clock: the eve, 2026-11-24
            s.add(
                PlanRow(
                    plan_date=date.fromisoformat(day),
                    version=1,
                    origin="nightly",
                    status="done",
                    time_limit_s=1,
                    state=b"a stored day plan",
                )
            )
    _planned(client, dispatcher, runtime)
    states = _states(runtime)
    assert states == {("2026-11-21", 1): False, ("2026-11-23", 1): True, (PLAN_DATE, 1): True}
    for alert in ({"bin_id": "b9", "at": NOON}, {"bin_id": "b1", "at": NOON}):
        assert client.post("/alerts", json=alert, headers=dispatcher).status_code == 202
        wait(runtime)
    plans = client.get(f"/plans?plan_date={PLAN_DATE}", headers=dispatcher).json()
    ids = {p["version"]: p["id"] for p in plans}
    assert sorted((p["version"], p["status"], p["parent_id"]) for p in plans) == [
        (1, "done", None),
        (2, "done", ids[1]),
        (3, "done", ids[2]),
    ]
    kept = {k: v for k, v in _states(runtime).items() if k[0] == PLAN_DATE}
    assert kept == {(PLAN_DATE, 1): False, (PLAN_DATE, 2): False, (PLAN_DATE, 3): True}
