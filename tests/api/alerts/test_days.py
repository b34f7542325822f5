"""Alerts across days (yesterday's overflows, alerts carried to the next plan, sensors
reading a bin emptied since) and alerts dismissed."""

from __future__ import annotations

from datetime import date, datetime

from fastapi.testclient import TestClient

from api.db import AlertRow, ProgressRow
from api.deps import Runtime
from tests.api.alerts.helpers import NEW_BIN, NOON, accepted_report, seeded_plan
from tests.api.conftest import PLAN_DATE, seed, wait
from tests.api.fakes import FakePlanner


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
    base = seeded_plan(client, dispatcher, runtime)
    done = {"vehicle_id": "v1", "at": "2026-11-25T11:00:00+02:00", "kind": "visit_done"}
    accepted_report(client, f"/plans/{base}/progress", {**done, "bin_id": "b0"}, dispatcher)
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
    base = seeded_plan(client, dispatcher, runtime)
    b9, b3 = (
        client.post("/alerts", json={"bin_id": b, "at": NOON}, headers=dispatcher).json()
        for b in ("b9", "b3")
    )
    wait(runtime)
    done = {"vehicle_id": "v1", "at": "2026-11-25T12:40:00+02:00", "kind": "visit_done"}
    accepted_report(client, f"/plans/{base}/progress", {**done, "bin_id": "b9"}, dispatcher)
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
