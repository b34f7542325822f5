"""Trucks out of service: stored, read by plans, and re-planning the days they change."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from api.deps import Runtime
from tests.api.conftest import PLAN_DATE, seed, wait
from tests.api.fakes import FakePlanner

URL = "/vehicles/v1/downtimes"


def _at(clock: str) -> str:
    return f"{PLAN_DATE}T{clock}:00+02:00"


def test_downtime_input_errors_name_the_record_and_the_fix(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    dispatcher, viewer = keys["dispatcher"], keys["viewer"]
    seed(client, dispatcher)
    body = {"start_at": _at("10:00"), "end_at": _at("09:00")}
    bad = client.post(URL, json=body, headers=dispatcher)
    assert bad.status_code == 422
    assert "downtime of vehicle 'v1'" in bad.text and "is not after start" in bad.text
    naive = client.post(URL, json={"start_at": f"{PLAN_DATE}T10:00:00"}, headers=dispatcher)
    assert naive.status_code == 422
    unknown = client.post("/vehicles/v9/downtimes", json={}, headers=dispatcher)
    assert unknown.status_code == 404 and "unknown vehicle 'v9'" in unknown.text
    assert client.post(URL, json={}, headers=viewer).status_code == 403
    assert client.get(URL, headers=viewer).json() == []


def test_a_downtime_is_listed_read_by_plans_and_goes_with_its_truck(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """With no plan yet, a downtime is stored (201, nothing re-planned) and the day's plan
    reads it in the inventory; deleting the truck deletes its downtimes."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    body = {"start_at": _at("10:00"), "end_at": _at("12:00"), "reason": "tyre"}
    got = client.post(URL, json=body, headers=dispatcher)
    assert got.status_code == 201, got.text
    assert got.json()["replans"] == [] and got.json()["reason"] == "tyre"
    listed = client.get(URL, headers=dispatcher).json()
    assert [(d["id"], d["start_at"], d["end_at"]) for d in listed] == [
        (got.json()["id"], "2026-11-25T08:00:00Z", "2026-11-25T10:00:00Z")
    ]
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    (down,) = planner.calls[0]["inventory"].downtimes
    assert (down.vehicle_id, down.start, down.reason) == (
        "v1",
        datetime.fromisoformat(_at("10:00")),
        "tyre",
    )
    assert client.delete("/vehicles/v1", headers=dispatcher).is_success
    assert client.get(URL, headers=dispatcher).status_code == 404


def test_a_breakdown_replans_today_and_its_end_and_deletion_replan_again(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """Today and the 27th have plans; v1 emptied b0 when it breaks down at 11:00 (start_at
    defaults to now), until further notice: 202, a plan job of today (``downtime``)
    re-plans the rest of the day with the downtime, one of the 27th plans it again. Back in
    service at 12:00: both again. The downtime, now 11:00-12:00, deleted: today again."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    for day in (PLAN_DATE, "2026-11-27"):
        client.post("/plans", json={"plan_date": day}, headers=dispatcher)
    wait(runtime)
    base = client.get(f"/plans?plan_date={PLAN_DATE}", headers=dispatcher).json()[0]["id"]
    done = {"vehicle_id": "v1", "at": _at("10:30"), "kind": "visit_done", "bin_id": "b0"}
    assert client.post(f"/plans/{base}/progress", json=done, headers=dispatcher).is_success
    runtime.jobs.clock = lambda: datetime.fromisoformat(_at("11:00"))
    broke = client.post(URL, json={"reason": "hydraulics"}, headers=dispatcher)
    assert broke.status_code == 202, broke.text
    down = broke.json()
    assert down["start_at"] == "2026-11-25T09:00:00Z" and down["end_at"] is None
    job, other = down["replans"]
    wait(runtime)
    row = client.get(f"/plans/{job}", headers=dispatcher).json()
    assert (row["status"], row["origin"], row["parent_id"]) == ("done", "downtime", base)
    assert client.get(f"/plans/{other}", headers=dispatcher).json()["plan_date"] == "2026-11-27"
    (call,) = planner.replans
    assert [(d.vehicle_id, d.end) for d in call["inventory"].downtimes] == [("v1", None)]
    runtime.jobs.clock = lambda: datetime.fromisoformat(_at("12:00"))
    ended = client.post(f"{URL}/{down['id']}/end", json={}, headers=dispatcher)
    assert ended.status_code == 202 and ended.json()["end_at"] == "2026-11-25T10:00:00Z"
    assert len(ended.json()["replans"]) == 2
    later = client.post(f"{URL}/{down['id']}/end", json={"at": _at("13:00")}, headers=dispatcher)
    assert later.status_code == 422 and "add a new downtime" in later.text
    wait(runtime)
    assert [d.end for d in planner.replans[-1]["inventory"].downtimes] == [
        datetime.fromisoformat(_at("12:00"))
    ]
    assert (
        client.delete(f"/vehicles/v2/downtimes/{down['id']}", headers=dispatcher).status_code == 404
    )
    gone = client.delete(f"{URL}/{down['id']}", headers=dispatcher)
    assert gone.status_code == 202 and len(gone.json()["replans"]) == 1
    wait(runtime)
    assert planner.replans[-1]["inventory"].downtimes == ()
    assert client.get(URL, headers=dispatcher).json() == []
    # the 27th: planned again for the breakdown and its end, not for 11:00-12:00 on the 25th
    assert len(client.get("/plans?plan_date=2026-11-27", headers=dispatcher).json()) == 3


def test_ending_a_downtime_before_it_starts_calls_it_off(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """Maintenance booked for the next morning is called off today: ended now (before its
    start), it is deleted; the response shows it ending at its start."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat(_at("15:00"))
    body = {"start_at": "2026-11-26T06:00:00+02:00", "end_at": "2026-11-26T10:00:00+02:00"}
    booked = client.post(URL, json=body, headers=dispatcher).json()
    off = client.post(f"{URL}/{booked['id']}/end", json={}, headers=dispatcher)
    assert off.status_code == 200, off.text
    assert off.json()["end_at"] == off.json()["start_at"] == "2026-11-26T04:00:00Z"
    assert client.get(URL, headers=dispatcher).json() == []


def test_a_downtime_days_ahead_replans_the_days_whose_next_collection_it_puts_off(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    """The eve of the 25th, which has a plan: a workshop day on the 26th touches no hour of
    the 25th, but with both trucks out then, the 25th's bins are next collected on the 27th,
    not the 26th, so the 25th's must bins change: the 25th is planned again (202). v2 out
    alone (v1 still comes on the 26th) changes nothing (201); v1's day called off, the 25th
    again; v2's then deleted, nothing again."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    day = {"start_at": "2026-11-26T00:00:00+02:00", "end_at": "2026-11-27T00:00:00+02:00"}
    alone = client.post("/vehicles/v2/downtimes", json=day, headers=dispatcher)
    assert alone.status_code == 201 and alone.json()["replans"] == [], alone.text
    both = client.post(URL, json=day, headers=dispatcher)
    assert both.status_code == 202, both.text
    (job,) = both.json()["replans"]
    wait(runtime)
    row = client.get(f"/plans/{job}", headers=dispatcher).json()
    assert (row["plan_date"], row["origin"], row["status"]) == (PLAN_DATE, "downtime", "done")
    assert sorted(d.vehicle_id for d in planner.calls[-1]["inventory"].downtimes) == ["v1", "v2"]
    back = client.post(f"{URL}/{both.json()['id']}/end", json={}, headers=dispatcher)
    assert back.status_code == 202 and len(back.json()["replans"]) == 1, back.text  # called off
    wait(runtime)
    assert [d.vehicle_id for d in planner.calls[-1]["inventory"].downtimes] == ["v2"]
    gone = client.delete(f"/vehicles/v2/downtimes/{alone.json()['id']}", headers=dispatcher)
    assert gone.status_code == 200 and gone.json()["replans"] == [], gone.text
