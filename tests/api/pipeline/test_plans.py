"""The real planning pipeline behind the service (haversine times): the night's plan and its
readings, sensors and yesterday's work; a plan made during the day from where the trucks are."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import repo
from api.deps import Runtime
from api.security import Role, issue_key
from optimiser.solve import PORTFOLIO_MIN_S
from tests.api.conftest import MORNING, PLAN_DATE, seed, wait
from tests.api.pipeline.helpers import (
    plan_the_day,
    planned_from,
    planned_the_night_before,
    route_bins,
)


def test_real_plan_for_a_handful_of_bins(real_app: FastAPI, real_client: TestClient) -> None:
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=6)
    full = [
        {"bin_id": f"b{i}", "at": "2026-11-25T05:00:00+02:00", "fill_fraction": 0.9}
        for i in range(6)
    ]
    assert real_client.post("/readings", json=full, headers=key).status_code == 200
    plan = plan_the_day(real_client, key, runtime)
    kpis = real_client.get(f"/plans/{plan['id']}/kpis", headers=key).json()
    assert kpis["must_total"] >= 1  # bins at 90 % must go
    assert kpis["unserved_must"] == 0  # two 20 m3 trucks have room for six bins
    csv = real_client.get(f"/plans/{plan['id']}/csv", headers=key).text.splitlines()
    header = csv[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in csv[1:]]
    served = {r["ref"] for r in rows if r["kind"] == "bin"}
    assert served <= {f"b{i}" for i in range(6)}
    assert len(served) == kpis["bins_collected"]
    geo = real_client.get(f"/plans/{plan['id']}/geojson", headers=key).json()
    assert geo["type"] == "FeatureCollection"
    vroom = real_client.get(f"/plans/{plan['id']}/vroom", headers=key).json()
    assert "routes" in vroom
    for vid in ("v1", "v2"):
        gpx = real_client.get(f"/plans/{plan['id']}/gpx/{vid}", headers=key)
        assert gpx.status_code == 200
        assert "<gpx" in gpx.text
        directions = real_client.get(f"/plans/{plan['id']}/directions/{vid}", headers=key)
        assert directions.json()["legs"] == []  # straight lines: the stops alone
    sheets = real_client.get(f"/plans/{plan['id']}/sheets", headers=key).text
    assert "straight-line estimates" in sheets and "<ol>" not in sheets

    extra = {"bin_id": "late", "lon": 24.945, "lat": 60.172, "capacity_l": 240}
    assert real_client.post("/bins", json=extra, headers=key).status_code == 201
    alert = real_client.post(
        "/alerts", json={"bin_id": "late", "at": "2026-11-25T09:00:00+02:00"}, headers=key
    )
    wait(runtime)
    got_alert = real_client.get(f"/alerts/{alert.json()['id']}", headers=key).json()
    assert got_alert["status"] == "rerouted", got_alert
    new = real_client.get(f"/plans/{got_alert['plan_id']}", headers=key).json()
    assert new["status"] == "done", new["message"]
    diff = real_client.get(f"/plans/{new['id']}/diff", headers=key).json()
    added = [b for t in diff["trucks"] for b in t["diff"]["added"]]
    assert "late" in added


def test_a_weighing_sensor_s_bin_is_planned_at_its_measured_density(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """b0's sensor also weighs its contents: 0.5 kg/l. The plan loads it at that density
    (residual's default is 0.10), says so, and the other bins keep the default."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=6)
    weighed = [
        {"bin_id": "b0", "at": f"2026-11-24T{h}:00:00+02:00", "fill_fraction": f, "weight_kg": kg}
        for h, f, kg in (("10", 0.3, 36.0), ("14", 0.5, 60.0), ("18", 0.8, 96.0))
    ]
    assert real_client.post("/readings", json=weighed, headers=key).status_code == 200
    plan = plan_the_day(real_client, key, runtime)
    doc = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    decided = {d["bin_id"]: d for d in doc["decisions"]}
    for bin_id, density in (("b0", 0.5), ("b1", 0.1)):
        d = decided[bin_id]
        assert d["expected_volume_l"] > 0
        assert d["expected_weight_kg"] == pytest.approx(d["expected_volume_l"] * density, abs=0.1)
    note = "1 bin(s) loaded at the density their weights show (0.50 kg/l)"
    assert any(n.startswith(note) for n in doc["notes"]), doc["notes"]


def test_a_plan_lists_the_sensors_to_check(real_app: FastAPI, real_client: TestClient) -> None:
    """b0's sensor has read 30 % every 12 h for four days: stuck. The plan's JSON lists it
    in ``sensor_checks`` (a maintenance list: bin, issue, note), as its notes say."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=6)
    frozen = [
        {"bin_id": "b0", "at": f"2026-11-{d}T{h}:00:00+02:00", "fill_fraction": 0.3}
        for d in (21, 22, 23, 24)
        for h in ("05", "17")
    ]
    assert real_client.post("/readings", json=frozen, headers=key).status_code == 200
    plan = plan_the_day(real_client, key, runtime)
    doc = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    (check,) = doc["sensor_checks"]
    assert (check["bin_id"], check["issue"]) == ("b0", "stuck")
    assert check["note"].startswith("bin b0: its sensor has read 30% at each of its 8 readings")
    assert check["note"] in doc["notes"]


def test_a_bin_without_sensor_emptied_yesterday_is_not_collected_again(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """Without the trucks' report the bin's fill is unknown (a guess of 50 %): it is planned.
    With yesterday's visit_done the forecast starts from empty and the bin waits."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=2)
    blind = {"bin_id": "b9", "lon": 24.95, "lat": 60.175, "capacity_l": 240, "has_sensor": False}
    assert real_client.post("/bins", json=blind, headers=key).status_code == 201

    def b9_today() -> dict[str, Any]:
        plan = real_client.post(
            "/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key
        ).json()
        wait(runtime)
        got = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
        return next(d for d in got["decisions"] if d["bin_id"] == "b9")

    before = b9_today()
    yesterday = real_client.post(
        "/plans", json={"plan_date": "2026-11-24", "time_limit_s": 1}, headers=key
    ).json()
    wait(runtime)
    done = {
        "vehicle_id": "v1",
        "at": "2026-11-24T12:00:00+02:00",
        "kind": "visit_done",
        "bin_id": "b9",
    }
    resp = real_client.post(f"/plans/{yesterday['id']}/progress", json=done, headers=key)
    assert resp.status_code == 201
    after = b9_today()
    assert before["action"] != "skip"
    assert after["action"] == "skip"
    assert after["expected_fill"] < before["expected_fill"]


def test_an_overflow_no_truck_was_sent_to_yesterday_is_emptied_first_thing(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """A bin far out overflowed the evening before and no truck went (no plan that day).
    Today's plan empties it as soon as a truck can, its target the first shift's start
    (before, it had none and came last, after the bins near the depot)."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=6)
    far = {"bin_id": "far", "lon": 24.99, "lat": 60.19, "capacity_l": 240}
    assert real_client.post("/bins", json=far, headers=key).status_code == 201
    full = [
        {"bin_id": f"b{i}", "at": "2026-11-24T20:00:00+02:00", "fill_fraction": 0.85}
        for i in range(6)
    ]
    assert real_client.post("/readings", json=full, headers=key).status_code == 200
    evening = {"bin_id": "far", "at": "2026-11-24T21:00:00+02:00"}
    alert = real_client.post("/alerts", json=evening, headers=key).json()
    wait(runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat(f"{PLAN_DATE}T02:00:00+02:00")
    plan = plan_the_day(real_client, key, runtime)
    got = real_client.get(f"/alerts/{alert['id']}", headers=key).json()
    assert (got["status"], got["plan_id"]) == ("planned", plan["id"]), got
    start = datetime.fromisoformat(f"{PLAN_DATE}T06:00:00+02:00")  # the first shift's
    assert got["respond_by"] and datetime.fromisoformat(got["respond_by"]) == start
    routes = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()["routes"]
    bins = [[v["bin_id"] for v in r["visits"] if v["kind"] == "bin"] for r in routes]
    assert ["far"] in [b[:1] for b in bins], bins


def test_a_plan_job_reads_its_inputs_as_they_were_at_one_moment(
    real_app: FastAPI, real_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bin and its reading stored while a plan job reads its inputs (a city import, a
    sensor) are not half seen: before, the job read the bins, then the readings with the new
    bin's, and failed ("readings name 1 bin(s) not in the inventory")."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=3)
    load = repo.load_inventory

    def load_then_a_bin_comes(session: Any) -> Any:
        inventory = load(session)
        new = {"bin_id": "new", "lon": 24.95, "lat": 60.175, "capacity_l": 240}
        assert real_client.post("/bins", json=new, headers=key).status_code == 201
        reading = [{"bin_id": "new", "at": "2026-11-25T05:00:00+02:00", "fill_fraction": 0.9}]
        assert real_client.post("/readings", json=reading, headers=key).status_code == 200
        return inventory

    monkeypatch.setattr(repo, "load_inventory", load_then_a_bin_comes)
    plan = plan_the_day(real_client, key, runtime)  # before, it failed
    routes = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    assert {d["bin_id"] for d in routes["decisions"]} == {"b0", "b1", "b2"}  # as it began


@pytest.mark.slow
def test_a_plan_job_runs_the_two_process_portfolio_from_its_thread(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """A budget of 5 s or more forks the solver's PyVRP child from a job thread of the server."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=6)
    full = [{"bin_id": f"b{i}", "at": MORNING, "fill_fraction": 0.9} for i in range(6)]
    assert real_client.post("/readings", json=full, headers=key).status_code == 200
    body = {"plan_date": PLAN_DATE, "time_limit_s": math.ceil(PORTFOLIO_MIN_S)}
    plan = real_client.post("/plans", json=body, headers=key).json()
    wait(runtime)
    got = real_client.get(f"/plans/{plan['id']}", headers=key).json()
    assert got["status"] == "done", got["message"]
    notes = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()["notes"]
    assert any(n.startswith("portfolio cost:") for n in notes), notes


def test_straight_lines_name_places_a_day_s_drive_from_the_city_not_plan_them(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """With straight-line times (``BINROUTE_CITY=haversine``) bin ``typo`` (60.172 entered
    as 6.0172) was routed as days of driving, unserved as "the nearest truck is 13 d 01 h
    07 min away", and site s2, entered (lat, lon), stayed in the plan without a word. Now
    each is named as a street network names a place off the map: how far from the middle
    of the city's places, and the fix; the bin stays unserved with that reason after an
    alert on it too, while the other bins are planned."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=4)
    typo = {"bin_id": "typo", "lon": 24.945, "lat": 6.0172, "capacity_l": 240}
    swapped = {"site_id": "s2", "lon": 60.19, "lat": 24.96}
    assert real_client.post("/bins", json=typo, headers=key).status_code == 201
    assert real_client.post("/sites", json=swapped, headers=key).status_code == 201
    full = {"bin_id": "typo", "at": "2026-11-25T05:00:00+02:00", "fill_fraction": 0.95}
    assert real_client.post("/readings", json=[full], headers=key).status_code == 200
    plan = plan_the_day(real_client, key, runtime)
    routes = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    reasons = {u["bin_id"]: u["reason"] for u in routes["unserved"]}
    far = re.fullmatch(
        r"no truck can reach it: \(24\.945000, 6\.017200\) is ([\d,]+) km from the middle "
        r"of the city's places \([\d.]+, [\d.]+\), farther than a truck drives in a day "
        r"\(462 km in a straight line\); fix its coordinates",
        reasons["typo"],
    )
    assert far is not None, reasons["typo"]
    assert 5_900 <= int(far.group(1).replace(",", "")) <= 6_100
    [note] = [n for n in routes["notes"] if n.startswith("disposal site s2")]
    assert "no truck unloads there; its lon and lat look swapped: (24.960000, 60.190000)" in note
    assert all(v["ref"] != "s2" for r in routes["routes"] for v in r["visits"])
    alert = real_client.post(
        "/alerts", json={"bin_id": "typo", "at": "2026-11-25T09:00:00+02:00"}, headers=key
    )
    wait(runtime)
    got = real_client.get(f"/alerts/{alert.json()['id']}", headers=key).json()
    assert got["status"] == "unserved", got
    after = real_client.get(f"/plans/{got['plan_id']}/routes", headers=key).json()
    [why] = [u["reason"] for u in after["unserved"] if u["bin_id"] == "typo"]
    assert "km from the middle of the city's places" in why


def test_a_plan_made_mid_morning_takes_the_waiting_alert_and_starts_then(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The day has no plan when b1 overflows at 10:00 (``no_plan``). The dispatcher plans
    the day at 10:30: the trucks leave from then, b1 is collected by its response target
    (12:00), and the alert says which truck comes when (``planned``)."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=4)
    at = datetime.fromisoformat("2026-11-25T10:00:00+02:00")
    alert = real_client.post(
        "/alerts", json={"bin_id": "b1", "at": at.isoformat()}, headers=key
    ).json()
    wait(runtime)
    assert real_client.get(f"/alerts/{alert['id']}", headers=key).json()["status"] == "no_plan"
    made = at + timedelta(minutes=30)
    runtime.jobs.clock = lambda: made
    plan = real_client.post(
        "/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key
    ).json()
    wait(runtime)
    doc = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    assert doc["violations"] == [] and doc["notes"][0].startswith("planned at 10:30")
    starts = [datetime.fromisoformat(r["visits"][0]["start"]) for r in doc["routes"] if r["bins"]]
    assert starts and min(starts) >= made
    (visit,) = [
        (r["vehicle_id"], v) for r in doc["routes"] for v in r["visits"] if v.get("bin_id") == "b1"
    ]
    assert visit[1]["alert"] is True and visit[1]["late_s"] == 0
    got = real_client.get(f"/alerts/{alert['id']}", headers=key).json()
    assert (got["status"], got["plan_id"], got["vehicle_id"]) == ("planned", plan["id"], visit[0])
    assert datetime.fromisoformat(got["eta"]) == datetime.fromisoformat(visit[1]["start"])
    assert datetime.fromisoformat(got["respond_by"]) == at + timedelta(hours=2)
    # a reroute for another bin carries the planned alert along (its truck and time)
    later = real_client.post(
        "/alerts",
        json={"bin_id": "b3", "at": (made + timedelta(minutes=5)).isoformat()},
        headers=key,
    ).json()
    wait(runtime)
    rerouted = real_client.get(f"/alerts/{later['id']}", headers=key).json()
    assert rerouted["status"] == "rerouted"
    again = real_client.get(f"/alerts/{alert['id']}", headers=key).json()
    assert (again["status"], again["plan_id"]) == ("planned", rerouted["plan_id"])


def test_a_plan_made_while_a_truck_is_out_goes_on_from_where_it_is(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """One truck emptied its first bin at 07:00 on the night's plan; that bin overflows
    again at 10:00 (a reroute sends it back: its ``#2``). The dispatcher plans the day
    again at 10:30: the rest of the day is re-planned from where the truck is, the 07:00
    visit stays done and the bin is emptied again, once. An alert on its second bin at
    10:40 reroutes that plan, which keeps both."""
    runtime, key, local, night = planned_the_night_before(
        real_app, real_client, {"v1": None}, 3, 0.6
    )
    post = real_client.post
    routes = real_client.get(f"/plans/{night['id']}/routes", headers=key).json()["routes"]
    b1, b2 = [v["bin_id"] for v in routes[0]["visits"] if v["kind"] == "bin"][:2]
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": b1}
    url = f"/plans/{night['id']}/progress"
    at7 = (local + timedelta(hours=7)).isoformat()
    assert post(url, json={**done, "at": at7}, headers=key).status_code == 201
    runtime.jobs.clock = lambda: local + timedelta(hours=10, minutes=30)
    again = (local + timedelta(hours=10)).isoformat()
    post("/alerts", json={"bin_id": b1, "at": again}, headers=key)
    wait(runtime)
    made = post("/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key).json()
    wait(runtime)
    doc = real_client.get(f"/plans/{made['id']}/routes", headers=key).json()
    assert doc["notes"][0].startswith("re-planned at 10:30 from where the trucks are")
    assert doc["violations"] == []
    visits = [v for v in doc["routes"][0]["visits"] if v.get("bin_id") == b1]
    assert [v["ref"] for v in visits] == [b1, f"{b1}#2"]
    assert datetime.fromisoformat(visits[1]["start"]) >= local + timedelta(hours=10, minutes=30)
    assert visits[1]["alert"] is True
    row = real_client.get(f"/plans/{made['id']}", headers=key).json()
    assert row["parent_id"] == planned_from(runtime, made["id"]) != night["id"]  # the reroute
    alert = post(
        "/alerts",
        json={"bin_id": b2, "at": (local + timedelta(hours=10, minutes=40)).isoformat()},
        headers=key,
    ).json()
    wait(runtime)
    got = real_client.get(f"/alerts/{alert['id']}", headers=key).json()
    assert got["status"] == "rerouted"
    assert planned_from(runtime, got["plan_id"]) == made["id"]
    new = real_client.get(f"/plans/{got['plan_id']}/routes", headers=key).json()
    refs = [v["ref"] for v in new["routes"][0]["visits"] if v.get("bin_id") in (b1, b2)]
    assert refs.count(b1) == refs.count(f"{b1}#2") == refs.count(b2) == 1
    assert new["violations"] == []


def test_an_emptying_reported_late_and_dated_before_the_plan_s_start_is_taken_in(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The day is planned at 10:30 (no truck out yet). One truck's crew had emptied a bin
    of the other truck's route at 10:00: the report reaches the service at 10:40 (a tablet
    off the network), dated before the plan's start. It is off that plan's routes and
    reroutes the day: the other truck is no longer sent to the empty bin, and the crew's
    truck carries its waste (before, reroutes read reports from the plan's start only: the
    reroute it asked for left the trip in, and the truck's load left the waste out)."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=6)
    made = datetime.fromisoformat(f"{PLAN_DATE}T10:30:00+02:00")
    runtime.jobs.clock = lambda: made
    plan = plan_the_day(real_client, key, runtime)
    doc = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    truck = next(r["vehicle_id"] for r in doc["routes"] if r["bins"] >= 1)
    other = ({"v1", "v2"} - {truck}).pop()
    x = route_bins(real_client, key, plan["id"], truck)[0]
    runtime.jobs.clock = lambda: made + timedelta(minutes=10)
    before = (made - timedelta(minutes=30)).isoformat()
    done = {"vehicle_id": other, "kind": "visit_done", "bin_id": x, "at": before}
    resp = real_client.post(
        f"/plans/{plan['id']}/progress", json={**done, "fill_fraction": 0.5}, headers=key
    )
    assert resp.status_code == 201 and resp.json()["off_route"] is True, resp.text
    wait(runtime)
    newest = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]
    assert (newest["origin"], newest["status"]) == ("emptied", "done"), newest
    assert x not in route_bins(real_client, key, newest["id"], truck)
    new = real_client.get(f"/plans/{newest['id']}/routes", headers=key).json()
    carried = f"{other} emptied {x} off its planned route: it carries that waste (120 l"
    assert any(n.startswith(carried) for n in new["notes"]), new["notes"]
    assert new["violations"] == []


def test_a_plan_asked_for_after_an_emptying_off_route_counts_it_collected(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The day is planned at 10:30 (no truck out: ``plan_day``, from then on). At 11:00 a
    crew empties a bin no route has (too empty to plan); a plan asked for at 11:30 is a
    re-plan from where the trucks are (its parent the 10:30 plan), never a plan of the day
    anew, and its ``bins_collected`` counts that emptying with the routes' pickups (so
    ``plan_day`` is never handed work done off a route to count)."""
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=6)
    low = [{"bin_id": "b5", "at": f"{PLAN_DATE}T08:00:00+02:00", "fill_fraction": 0.05}]
    assert real_client.post("/readings", json=low, headers=key).is_success
    made = datetime.fromisoformat(f"{PLAN_DATE}T10:30:00+02:00")
    runtime.jobs.clock = lambda: made
    plan = plan_the_day(real_client, key, runtime)
    assert all("b5" not in route_bins(real_client, key, plan["id"], v) for v in ("v1", "v2"))
    at = made + timedelta(minutes=30)
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b5", "at": at.isoformat()}
    resp = real_client.post(f"/plans/{plan['id']}/progress", json=done, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is True, resp.text
    runtime.jobs.clock = lambda: made + timedelta(hours=1)
    again = plan_the_day(real_client, key, runtime)
    assert again["parent_id"] == plan["id"]
    doc = real_client.get(f"/plans/{again['id']}/routes", headers=key).json()
    pickups = sum(
        v["kind"] == "bin" and not v.get("missed") for r in doc["routes"] for v in r["visits"]
    )
    assert again["kpis"]["bins_collected"] == pickups + 1
    assert doc["violations"] == []
