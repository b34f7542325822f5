"""Records changed during a planned day (haversine times): alerts no truck can serve, bins
deleted or dismissed, trucks taken off the fleet or broken down."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.deps import Runtime
from api.jobs import JobRunner
from api.security import Role, issue_key
from tests.api.conftest import MORNING, PLAN_DATE, seed, wait
from tests.api.pipeline.helpers import (
    after_the_first_bin,
    first_bin_done,
    plan_the_day,
    planned_from,
    planned_the_night_before,
)


def test_an_alert_no_truck_can_serve_reads_unserved_with_the_reason(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """A glass bank overflows, but no truck collects glass: the reroute runs, and the alert
    says the bin stays unserved (not "rerouted", which reads as a truck coming)."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=4)
    bank = {"bin_id": "glass", "lon": 24.95, "lat": 60.175, "capacity_l": 2500, "stream": "glass"}
    assert real_client.post("/bins", json=bank, headers=key).status_code == 201
    plan = real_client.post(
        "/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key
    ).json()
    wait(runtime)
    ok = real_client.post(
        "/alerts", json={"bin_id": "b1", "at": "2026-11-25T09:00:00+02:00"}, headers=key
    )
    bad = real_client.post(
        "/alerts", json={"bin_id": "glass", "at": "2026-11-25T09:00:00+02:00"}, headers=key
    )
    wait(runtime)
    served = real_client.get(f"/alerts/{ok.json()['id']}", headers=key).json()
    unserved = real_client.get(f"/alerts/{bad.json()['id']}", headers=key).json()
    assert served["status"] == "rerouted"
    assert unserved["status"] == "unserved"
    assert unserved["plan_id"] not in (None, plan["id"])
    routes = real_client.get(f"/plans/{unserved['plan_id']}/routes", headers=key).json()
    reasons = {u["bin_id"]: u["reason"] for u in routes["unserved"]}
    assert "stream 'glass'" in reasons["glass"]
    listed = real_client.get("/alerts?status=unserved", headers=key).json()
    assert [a["bin_id"] for a in listed] == ["glass"]


def _overflow_as_b3_is_deleted(
    real_app: FastAPI,
    real_client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    overflowing: tuple[str, ...],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Sensors of ``overflowing`` bins read full at once at 09:00 on the planned day; bin b3
    is taken off the street (its alert closed as ``bin_deleted``) just as the reroute took
    the alerts, which plans the day again once the reroute is over. The day's alerts, and
    its plans after by version."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=4)
    plan_the_day(real_client, key, runtime)
    claim = JobRunner._claim_alerts

    def claim_then_delete(self: JobRunner, plan_date: date) -> Any:
        claimed = claim(self, plan_date)
        if claimed is not None:
            assert real_client.delete("/bins/b3", headers=key).status_code == 202
        return claimed

    monkeypatch.setattr(JobRunner, "_claim_alerts", claim_then_delete)
    at = "2026-11-25T09:00:00+02:00"
    runtime.jobs.clock = lambda: datetime.fromisoformat(at)
    full = [{"bin_id": b, "at": at, "fill_fraction": 1.0} for b in overflowing]
    assert real_client.post("/readings", json=full, headers=key).status_code == 200
    wait(runtime)
    alerts = real_client.get(f"/alerts?plan_date={PLAN_DATE}", headers=key).json()
    plans = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()
    return alerts, sorted(plans, key=lambda p: p["version"])


def test_a_bin_deleted_as_its_alert_is_rerouted_leaves_the_reroute_to_the_others(
    real_app: FastAPI, real_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reroute serves the other alert, and the re-plan the deletion asks for then takes
    it in: before, the reroute failed on the unknown bin, and the other alert read
    ``failed``. b3's alert stays, closed as ``bin_deleted`` (not read ``rerouted`` by the
    reroute that had taken it; before, it was deleted with the bin)."""
    alerts, plans = _overflow_as_b3_is_deleted(real_app, real_client, monkeypatch, ("b1", "b3"))
    assert [(p["origin"], p["status"]) for p in plans][1:] == [
        ("reroute", "done"),
        ("bins", "done"),
    ]
    assert [(a["bin_id"], a["status"]) for a in alerts] == [
        ("b1", "planned"),
        ("b3", "bin_deleted"),
    ]
    assert alerts[0]["plan_id"] == plans[-1]["id"]  # the re-plan took it in


def test_a_reroute_whose_only_bin_was_deleted_says_so(
    real_app: FastAPI, real_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reroute fails, saying why; b3's alert stays closed as ``bin_deleted`` (not read
    ``failed`` by the failed reroute that had taken it), no truck sent."""
    alerts, plans = _overflow_as_b3_is_deleted(real_app, real_client, monkeypatch, ("b3",))
    assert [(a["bin_id"], a["status"], a["vehicle_id"]) for a in alerts] == [
        ("b3", "bin_deleted", None)
    ]
    assert [(p["origin"], p["status"]) for p in plans][1:] == [
        ("reroute", "failed"),
        ("bins", "done"),
    ]
    assert "b3 were deleted meanwhile" in plans[1]["message"]


def test_a_truck_taken_off_the_fleet_mid_day_gets_no_more_bins(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """Two trucks drive the night's plan; the one that emptied a bin breaks down and the
    dispatcher deletes it from the fleet: that re-plans the day (202, the job in ``Link``),
    its bin done stays, it gets no other, and the plan says why. An alert then on a bin it
    had still to do sends the other truck, or is unserved, never it."""
    runtime, key, _, night = planned_the_night_before(
        real_app, real_client, {"v1": 2, "v2": 4}, 5, 0.97
    )
    first = first_bin_done(real_client, key, night, "v2")
    doc = real_client.get(f"/plans/{night['id']}/routes", headers=key).json()
    (route,) = [r for r in doc["routes"] if r["vehicle_id"] == "v2"]
    later = [v["bin_id"] for v in route["visits"] if v["kind"] == "bin"][1]
    at = datetime.fromisoformat(first["end"]) + timedelta(minutes=5)
    runtime.jobs.clock = lambda: at
    deleted = real_client.delete("/vehicles/v2", headers=key)
    assert deleted.status_code == 202
    (replan,) = re.findall(r"</plans/(\d+)>", deleted.headers["Link"])
    wait(runtime)
    assert planned_from(runtime, int(replan)) == night["id"]

    def only_its_bin_done(plan_id: int) -> None:
        new = real_client.get(f"/plans/{plan_id}/routes", headers=key).json()
        assert new["violations"] == []
        (after,) = [r for r in new["routes"] if r["vehicle_id"] == "v2"]
        assert [v["bin_id"] for v in after["visits"] if v["kind"] == "bin"] == [first["bin_id"]]
        assert any(n.startswith("v2 is no longer in the fleet") for n in new["notes"])

    only_its_bin_done(int(replan))
    sent = {"bin_id": later, "at": (at + timedelta(minutes=5)).isoformat()}
    alert = real_client.post("/alerts", json=sent, headers=key).json()
    wait(runtime)
    got = real_client.get(f"/alerts/{alert['id']}", headers=key).json()
    assert got["status"] in ("rerouted", "unserved") and got.get("vehicle_id") != "v2"
    only_its_bin_done(got["plan_id"])


def test_a_false_alarm_dismissed_after_a_truck_was_sent_leaves_its_route(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """v1 emptied its first bin; a citizen's alert at 09:00 on bin x (its sensor reads 5 %)
    sends v1 there. At 09:20 the dispatcher finds it a false alarm and dismisses it: the
    rest of the day is re-planned from where v1 is, without x; the bin done stays, no rule
    is broken, and the alert no longer names a truck."""
    runtime, key, local, night = planned_the_night_before(
        real_app, real_client, {"v1": None}, 3, 0.6
    )
    post = real_client.post
    x = {"bin_id": "x", "lon": 24.95, "lat": 60.175, "capacity_l": 240}
    assert post("/bins", json=x, headers=key).is_success
    low = [{"bin_id": "x", "at": (local + timedelta(hours=6)).isoformat(), "fill_fraction": 0.05}]
    assert post("/readings", json=low, headers=key).is_success
    first = first_bin_done(real_client, key, night, "v1")
    runtime.jobs.clock = lambda: local + timedelta(hours=9)
    at9 = (local + timedelta(hours=9)).isoformat()
    alert = post("/alerts", json={"bin_id": "x", "at": at9}, headers=key).json()
    wait(runtime)
    sent = real_client.get(f"/alerts/{alert['id']}", headers=key).json()
    assert (sent["status"], sent["vehicle_id"]) == ("rerouted", "v1")
    runtime.jobs.clock = lambda: local + timedelta(hours=9, minutes=20)
    got = post(f"/alerts/{alert['id']}/dismiss", headers=key)
    assert got.status_code == 202, got.text
    wait(runtime)
    job = got.json()["plan_id"]
    assert planned_from(runtime, job) == sent["plan_id"]
    new = real_client.get(f"/plans/{job}/routes", headers=key).json()
    assert new["violations"] == [] and new["notes"][0].startswith("re-planned at 09:20")
    visits = [v for v in new["routes"][0]["visits"] if v["kind"] == "bin"]
    assert visits[0]["ref"] == first["ref"]  # done as driven
    assert "x" not in {v["bin_id"] for v in visits} and not any(v["alert"] for v in visits)
    diff = real_client.get(f"/plans/{job}/diff", headers=key).json()
    (v1,) = [t["diff"] for t in diff["trucks"] if t["vehicle_id"] == "v1"]
    assert v1["removed"] == ["x"]
    after = real_client.get(f"/alerts/{alert['id']}", headers=key).json()
    assert (after["status"], after["vehicle_id"], after["eta"]) == ("dismissed", None, None)


def test_a_replan_drops_the_visit_of_a_sensor_alert_whose_sensor_read_the_bin_emptied(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """v1 emptied its first bin; x's sensor reads 97 % at 09:00 (an alert sends v1 there),
    then 5 % at 09:30 and 10:00 (someone emptied it). The day planned again at 10:30 closes
    the alert as ``emptied`` and drops x's visit; the bin done stays, no rule is broken."""
    runtime, key, local, night = planned_the_night_before(
        real_app, real_client, {"v1": None}, 3, 0.6
    )
    post = real_client.post
    x = {"bin_id": "x", "lon": 24.95, "lat": 60.175, "capacity_l": 240}
    assert post("/bins", json=x, headers=key).is_success
    first = first_bin_done(real_client, key, night, "v1")
    runtime.jobs.clock = lambda: local + timedelta(hours=9)

    def read(hours: float, fill: float) -> Any:
        at = (local + timedelta(hours=hours)).isoformat()
        reading = [{"bin_id": "x", "at": at, "fill_fraction": fill}]
        return post("/readings", json=reading, headers=key).json()

    (alert_id,) = read(9, 0.97)["alert_ids"]
    wait(runtime)
    sent = real_client.get(f"/alerts/{alert_id}", headers=key).json()
    assert (sent["status"], sent["vehicle_id"]) == ("rerouted", "v1")
    read(9.5, 0.05), read(10, 0.05)
    runtime.jobs.clock = lambda: local + timedelta(hours=10, minutes=30)
    made = post("/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key).json()
    wait(runtime)
    assert planned_from(runtime, made["id"]) == sent["plan_id"]
    new = real_client.get(f"/plans/{made['id']}/routes", headers=key).json()
    assert new["violations"] == []
    visits = [v for v in new["routes"][0]["visits"] if v["kind"] == "bin"]
    assert visits[0]["ref"] == first["ref"]
    assert "x" not in {v["bin_id"] for v in visits}
    after = real_client.get(f"/alerts/{alert_id}", headers=key).json()
    assert (after["status"], after["plan_id"]) == ("emptied", made["id"])


def test_a_truck_broken_down_mid_day_takes_no_more_bins_and_stays_in_the_fleet(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """Two trucks drive the night's plan; the one that emptied a bin breaks down five
    minutes later and the dispatcher takes it out of service (until further notice): the
    day is re-planned at once, its bin done stays, it gets no other, the plan says why,
    and the truck is still in the fleet. Back in service an hour later, it takes bins
    again."""
    runtime, key, _, night = planned_the_night_before(
        real_app, real_client, {"v1": 2, "v2": 4}, 5, 0.97
    )
    post = real_client.post
    first = first_bin_done(real_client, key, night, "v2")
    broke = datetime.fromisoformat(first["end"]) + timedelta(minutes=5)
    runtime.jobs.clock = lambda: broke
    down = post("/vehicles/v2/downtimes", json={"reason": "hydraulics"}, headers=key)
    assert down.status_code == 202, down.text
    (job,) = down.json()["replans"]
    wait(runtime)
    new = real_client.get(f"/plans/{job}/routes", headers=key).json()
    assert new["violations"] == []
    (after,) = [r for r in new["routes"] if r["vehicle_id"] == "v2"]
    assert [v["bin_id"] for v in after["visits"] if v["kind"] == "bin"] == [first["bin_id"]]
    local = broke.astimezone(runtime.settings.tz)
    said = f"v2 is out of service from {local:%H:%M} (hydraulics): it takes no more bins today"
    assert said in new["notes"]
    assert real_client.get("/vehicles/v2", headers=key).status_code == 200
    runtime.jobs.clock = lambda: broke + timedelta(hours=1)
    end = post(f"/vehicles/v2/downtimes/{down.json()['id']}/end", json={}, headers=key)
    assert end.status_code == 202, end.text
    wait(runtime)
    back = real_client.get(f"/plans/{end.json()['replans'][0]}/routes", headers=key).json()
    assert back["violations"] == [] and not any("out of service" in n for n in back["notes"])
    (again,) = [r for r in back["routes"] if r["vehicle_id"] == "v2"]
    assert len([v for v in again["visits"] if v["kind"] == "bin"]) > 1


def test_a_visit_of_a_bin_deleted_after_it_was_planned_is_still_taken(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """b1 is taken off the street after the day was planned; its crew's report of emptying
    it comes after (a tablet syncing late): a visit of a plan of the day, taken. A bin in
    no plan of the day and not listed is refused."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=4)
    full = [{"bin_id": f"b{i}", "at": MORNING, "fill_fraction": 0.95} for i in range(4)]
    assert real_client.post("/readings", json=full, headers=key).status_code == 200
    plan = plan_the_day(real_client, key, runtime)
    routes = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    truck = next(
        r["vehicle_id"] for r in routes["routes"] for v in r["visits"] if v.get("bin_id") == "b1"
    )
    assert real_client.delete("/bins/b1", headers=key).status_code == 202
    wait(runtime)
    body = {"vehicle_id": truck, "at": f"{PLAN_DATE}T09:00:00+02:00", "kind": "visit_done"}
    url = f"/plans/{plan['id']}/progress"
    assert real_client.post(url, json={**body, "bin_id": "b1"}, headers=key).status_code == 201
    ghost = real_client.post(url, json={**body, "bin_id": "b9"}, headers=key)
    assert ghost.status_code == 422 and "unknown bin 'b9'" in ghost.text


@pytest.mark.parametrize("gone", ["vehicles", "sites"])
def test_reports_of_a_truck_or_site_deleted_after_it_was_planned_are_still_taken(
    real_app: FastAPI, real_client: TestClient, gone: str
) -> None:
    """A truck emptied a bin and unloaded at s1; then the truck is taken off the fleet (or
    s1 closed: deleted), and its crew's reports come after (a tablet syncing late): work
    of a plan of the day, taken, as for a bin deleted. Before, both were refused ("unknown
    vehicle"/"unknown disposal site"): the emptying was lost and, for the site, the truck
    was taken to still carry its load. A truck or site in no plan of the day is refused."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=4)
    plan = plan_the_day(real_client, key, runtime)
    doc = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    route = next(r for r in doc["routes"] if any(v["kind"] == "bin" for v in r["visits"]))
    truck = route["vehicle_id"]
    first = next(v for v in route["visits"] if v["kind"] == "bin")
    site = next(v for v in route["visits"] if v["kind"] == "disposal")
    ident = truck if gone == "vehicles" else site["ref"]
    assert real_client.delete(f"/{gone}/{ident}", headers=key).status_code == 202
    wait(runtime)
    url = f"/plans/{plan['id']}/progress"
    done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": first["bin_id"]}
    unloaded = {"vehicle_id": truck, "kind": "disposal_done", "site_id": site["ref"]}
    for body, at in ((done, first["end"]), (unloaded, site["end"])):
        got = real_client.post(url, json={**body, "at": at}, headers=key)
        assert got.status_code == 201, got.text
    field = "vehicle_id" if gone == "vehicles" else "site_id"
    ghost = real_client.post(url, json={**unloaded, field: "x9", "at": site["end"]}, headers=key)
    assert ghost.status_code == 422 and "in no plan of 2026-11-25" in ghost.text


@pytest.mark.parametrize("then", ["alert", "plan"])
def test_a_truck_broken_down_on_the_road_stands_without_a_rule_broken_after_its_shift(
    real_app: FastAPI, real_client: TestClient, then: str
) -> None:
    """A truck empties its first bin, reports its position at 07:00 and breaks down there
    until further notice. At 14:10, after its 06:00-14:00 shift, an alert is rerouted (or
    the day re-planned): it still stands there, and no rule is broken (its route ended at
    14:00, before its position of now: 'overlap' and 'travel')."""
    runtime, key, plan, truck, _, (x, _), _ = after_the_first_bin(real_app, real_client)
    seven = datetime.fromisoformat(f"{PLAN_DATE}T07:00:00+02:00")
    runtime.jobs.clock = lambda: seven
    where = {"vehicle_id": truck, "kind": "position", "lon": 24.95, "lat": 60.18}
    url = f"/plans/{plan['id']}/progress"
    assert real_client.post(url, json={**where, "at": seven.isoformat()}, headers=key).is_success
    down = {"start_at": seven.isoformat(), "reason": "hydraulics"}
    assert real_client.post(f"/vehicles/{truck}/downtimes", json=down, headers=key).is_success
    wait(runtime)
    late = datetime.fromisoformat(f"{PLAN_DATE}T14:10:00+02:00")
    runtime.jobs.clock = lambda: late
    if then == "alert":  # no truck can serve it after its shift: unserved, in a new version
        alert = {"bin_id": x, "at": late.isoformat()}
        assert real_client.post("/alerts", json=alert, headers=key).status_code == 202
        wait(runtime)
    else:
        plan_the_day(real_client, key, runtime)
    newest = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]
    assert newest["origin"] == ("reroute" if then == "alert" else "request"), newest
    new = real_client.get(f"/plans/{newest['id']}/routes", headers=key).json()
    assert new["violations"] == []
    assert any(n.startswith(f"{truck} stands where it was last reported") for n in new["notes"])
