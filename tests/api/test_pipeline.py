"""The real planning pipeline (optimiser.daily + export) behind the service, haversine times."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import repo
from api.app import create_app
from api.db import ProgressRow
from api.deps import Runtime, get_routing
from api.jobs import JobRunner
from api.planner import PipelinePlanner
from api.routing import Routing
from api.security import Role, issue_key
from api.settings import Settings
from network import MAX_SNAP_M
from network.providers import HaversineProvider, StreetProvider
from network.streets import StreetNetwork
from optimiser.solve import PORTFOLIO_MIN_S
from tests.api.conftest import MORNING, PLAN_DATE, seed, the_eve, wait
from tests.network.conftest import build_tiny_graph, grid


def _planned(client: TestClient, key: dict[str, str], runtime: Runtime) -> dict[str, Any]:
    """The day planned (1 s search), once done: its row."""
    made = client.post(
        "/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key
    ).json()
    wait(runtime)
    got: dict[str, Any] = client.get(f"/plans/{made['id']}", headers=key).json()
    assert got["status"] == "done", got["message"]
    return got


def test_real_plan_for_a_handful_of_bins(real_app: FastAPI, real_client: TestClient) -> None:
    runtime: Runtime = real_app.state.runtime
    key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
    seed(real_client, key, n_bins=6)
    full = [
        {"bin_id": f"b{i}", "at": "2026-11-25T05:00:00+02:00", "fill_fraction": 0.9}
        for i in range(6)
    ]
    assert real_client.post("/readings", json=full, headers=key).status_code == 200
    plan = _planned(real_client, key, runtime)
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
    plan = _planned(real_client, key, runtime)
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
    plan = _planned(real_client, key, runtime)
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
    plan = _planned(real_client, key, runtime)
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
    plan = _planned(real_client, key, runtime)  # before, it failed
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


@pytest.mark.slow
def test_an_alert_on_helsinki_streets_is_rerouted_and_served() -> None:
    """End to end through the service on the demo city (benchmarks.api_reroute, 1 s plan):
    trucks report their morning (bins and unloadings), an alert names a skipped bin, one truck
    now serves it. Then a crew empties a bin another truck is still to empty: a reroute
    (origin ``emptied``) takes that trip out, breaking no rule."""
    from benchmarks.api_reroute import run

    got = run(plan_limit_s=1, alert_at="08:00", seed=7)  # trucks have bins left then
    assert (got["alert_status"], got["new_plan_status"]) == ("rerouted", "done")
    assert got["visits_done_before_alert"] > 0 and got["unloadings_before_alert"] > 0
    assert len(got["alert_bin_served_by"]) == 1
    before, after = got["kpis_before"], got["kpis_after"]
    assert after["must_total"] == before["must_total"] + 1
    assert after["unserved_must"] == 0
    emptied = got["emptied_elsewhere"]
    assert (emptied["origin"], emptied["status"], emptied["time_limit_s"]) == ("emptied", "done", 1)
    assert not emptied["bin_still_sent"] and emptied["violations"] == 0


def test_a_day_of_reports_along_the_plan_reads_none_off_route() -> None:
    """``benchmarks.api_progress`` at test size: one truck's day of sixty bins and its
    trips to the site, reported as planned: every report is taken, none is off route."""
    from benchmarks.api_progress import run

    got = run(bins=60, trucks=1, plan_limit_s=1, seed=5)
    assert got["work_reports"] > 40 and got["unloading_reports"] >= 2
    assert got["off_route_reports"] == 0


def test_alerts_on_a_day_too_full_for_the_trucks_keep_one_day_plan() -> None:
    """``benchmarks.api_overload`` at test size: 80 bins all due, one truck planned at
    11:00, half of them left out; two alerts are rerouted, and the database keeps the day
    plan of the newest version only (the others' dropped, their documents kept)."""
    from benchmarks.api_overload import run

    got = run(bins=80, trucks=1, alerts=2, at="11:00", plan_limit_s=1)
    assert got["unserved_must"] > 0
    assert [a["status"] for a in got["alerts"]] == ["rerouted", "rerouted"]
    plans = sorted(got["plans"], key=lambda p: p["version"])
    assert [p["origin"] for p in plans] == ["request", "reroute", "reroute"]
    assert [p["state_bytes"] > 0 for p in plans] == [False, False, True]
    assert all(p["exports_bytes"] > 0 for p in plans)


def test_the_overload_benchmark_refuses_a_clock_that_is_not_hh_mm(capsys) -> None:
    """``--at 9`` or ``25:00`` stops at once, naming the option and the form; ``9:05`` is
    read as 09:05 (the service's clock is built from it)."""
    from benchmarks.api_overload import _clock, main

    for bad in ("9", "25:00", "noon"):
        with pytest.raises(SystemExit):
            main(["--at", bad])
        assert f"argument --at: '{bad}' is not a clock time: give HH:MM" in capsys.readouterr().err
    assert _clock("9:05") == "09:05"


@pytest.mark.slow
def test_a_driven_day_on_helsinki_streets_is_replanned_from_where_the_trucks_are() -> None:
    """``benchmarks.replan`` at test size (1 s searches): at 06:30 the trucks go on from
    where their plan had them, every must bin is collected, no rule is broken."""
    from benchmarks.replan import run

    got = run(
        street_bins=60, trucks=3, day_limit_s=1, limit_s=1, at="06:30", joined=5, left=3, seed=7
    )
    assert got["visits_done"] > 0 and got["left"] == 3
    assert got["violations"] == [] and got["kept_as_driven"]
    assert got["kpis_after"]["unserved_must"] == 0
    assert (got["down"], got["down_bins_after"]) == ([], 0)


def test_a_truck_broken_down_on_helsinki_streets_takes_no_more_bins() -> None:
    """``benchmarks.replan`` at test size with the busiest of three trucks broken down at
    07:00: it takes no more bins and stands where it broke down, the others go on, no rule
    is broken."""
    from benchmarks.replan import run

    got = run(
        street_bins=60,
        trucks=3,
        day_limit_s=1,
        limit_s=1,
        at="07:00",
        joined=0,
        left=0,
        seed=7,
        down=1,
    )
    assert len(got["down"]) == 1 and got["down_bins_after"] == 0
    assert got["down_standing"] == got["down"]
    assert got["violations"] == [] and got["kept_as_driven"]


def _first_bin_of_a_plan(
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


def _after_the_first_bin(
    real_app: FastAPI, real_client: TestClient
) -> tuple[Runtime, dict[str, str], dict[str, Any], str, str, tuple[str, str], datetime]:
    """:func:`_first_bin_of_a_plan`, and its truck reporting that bin emptied: the runtime,
    a dispatcher key, the plan, the truck, the other truck, the truck's next two bins and
    when it emptied the first."""
    runtime, key, plan, route, first = _first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    other = ({"v1", "v2"} - {truck}).pop()
    assert _first_bin_done(real_client, key, plan, truck) == first
    x, y = [v["bin_id"] for v in route["visits"] if v["kind"] == "bin" and v != first][:2]
    return runtime, key, plan, truck, other, (x, y), datetime.fromisoformat(first["end"])


def _rerouted_for(
    client: TestClient, key: dict[str, str], runtime: Runtime, bin_id: str, at: datetime
) -> dict[str, Any]:
    """An alert on ``bin_id`` at ``at``, rerouted: its plan's routes (breaking no rule)."""
    alert = client.post("/alerts", json={"bin_id": bin_id, "at": at.isoformat()}, headers=key)
    wait(runtime)
    got = client.get(f"/alerts/{alert.json()['id']}", headers=key).json()
    assert got["status"] == "rerouted", got
    new: dict[str, Any] = client.get(f"/plans/{got['plan_id']}/routes", headers=key).json()
    assert new["violations"] == []
    return new


@pytest.mark.parametrize(
    ("found", "kg"),
    [
        ({"fill_fraction": 1.0}, 24),
        ({"weight_kg": 24.0}, 24),
        ({"fill_fraction": 1.0, "weight_kg": 60.0}, 60),
    ],
    ids=["crew-fill", "lift-scale-weight", "both"],
)
def test_a_reroute_counts_a_bin_at_the_fill_its_crew_found(
    real_app: FastAPI, real_client: TestClient, found: dict[str, float], kg: int
) -> None:
    """The crew empties a truck's first bin and finds it full (240 l, not the planned load),
    or the truck's lift scale weighs 24 kg out of it (full at residual's 0.10 kg/l), or
    both, the scale weighing 60 kg: after an alert, the truck's new route carries 240 l
    and ``kg`` (the weight lifted, when weighed) from there, the bin shows the fill found,
    the plan says so in its notes, and the independent checker finds nothing wrong with
    the day."""
    runtime, key, plan, route, first = _first_bin_of_a_plan(real_app, real_client)
    assert first["load_l"] < 240  # planned below the bin's capacity
    done = {
        "vehicle_id": route["vehicle_id"],
        "kind": "visit_done",
        "bin_id": first["bin_id"],
        "at": first["end"],
        **found,
    }
    resp = real_client.post(f"/plans/{plan['id']}/progress", json=done, headers=key)
    assert resp.status_code == 201, resp.text
    extra = {"bin_id": "late", "lon": 24.945, "lat": 60.172, "capacity_l": 240}
    assert real_client.post("/bins", json=extra, headers=key).status_code == 201
    alert = real_client.post("/alerts", json={"bin_id": "late", "at": first["end"]}, headers=key)
    wait(runtime)
    got_alert = real_client.get(f"/alerts/{alert.json()['id']}", headers=key).json()
    assert got_alert["status"] == "rerouted", got_alert
    new = real_client.get(f"/plans/{got_alert['plan_id']}/routes", headers=key).json()
    visits = next(r for r in new["routes"] if r["vehicle_id"] == route["vehicle_id"])["visits"]
    waypoint = visits[2]  # START, the bin done, then where the truck stands
    assert (visits[1]["bin_id"], waypoint["kind"]) == (first["bin_id"], "waypoint")
    assert (waypoint["load_l"], waypoint["load_kg"]) == (240, kg)
    assert first["expected_fill"] < 1.0 and visits[1]["expected_fill"] == 1.0  # as found
    assert any("240 l" in n and "as reported" in n for n in new["notes"]), new["notes"]
    assert new["violations"] == []


def test_a_reroute_counts_the_waste_of_a_bin_a_crew_emptied_off_its_route(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """After its first bin the crew also empties a bin no route has (added since the plan,
    found half full): at the next reroute the truck carries that waste too, goes on from
    that bin, and the plan says so."""
    runtime, key, plan, route, first = _first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    assert _first_bin_done(real_client, key, plan, truck) == first
    extra = {"bin_id": "corner", "lon": 24.945, "lat": 60.172, "capacity_l": 240}
    assert real_client.post("/bins", json=extra, headers=key).status_code == 201
    at = (datetime.fromisoformat(first["end"]) + timedelta(minutes=3)).isoformat()
    done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": "corner", "at": at}
    resp = real_client.post(
        f"/plans/{plan['id']}/progress", json={**done, "fill_fraction": 0.5}, headers=key
    )
    assert resp.status_code == 201, resp.text
    other = next(v for v in route["visits"] if v["kind"] == "bin" and v != first)
    alert = real_client.post("/alerts", json={"bin_id": other["bin_id"], "at": at}, headers=key)
    wait(runtime)
    got = real_client.get(f"/alerts/{alert.json()['id']}", headers=key).json()
    assert got["status"] == "rerouted", got
    new = real_client.get(f"/plans/{got['plan_id']}/routes", headers=key).json()
    visits = next(r for r in new["routes"] if r["vehicle_id"] == truck)["visits"]
    waypoint = visits[2]  # START, the bin done, then where the truck stands
    assert waypoint["kind"] == "waypoint"
    assert waypoint["load_l"] == first["load_l"] + 120
    assert (waypoint["lon"], waypoint["lat"]) == pytest.approx((24.945, 60.172))
    reports = real_client.get(f"/plans/{plan['id']}/progress", headers=key).json()
    assert [(r["bin_id"], r["off_route"]) for r in reports] == [
        (first["bin_id"], False),
        ("corner", True),
    ]
    assert any(n.startswith(f"{truck} emptied corner off its planned route") for n in new["notes"])
    assert new["violations"] == []


def test_a_truck_unloading_sooner_than_planned_still_has_its_bins_to_do(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """After its first bin the crew finds the truck full and unloads at s1, ahead of the
    bins its route empties before s1: the report is flagged off route, and at the next
    reroute those bins are still to do (before, the unloading was taken for the planned
    one and every bin before it for done: never emptied), the truck going on from s1,
    empty."""
    runtime, key, plan, route, first = _first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    assert _first_bin_done(real_client, key, plan, truck) == first
    ahead = [v["bin_id"] for v in route["visits"] if v["kind"] == "bin" and v != first]
    at = (datetime.fromisoformat(first["end"]) + timedelta(minutes=10)).isoformat()
    unload = {"vehicle_id": truck, "kind": "disposal_done", "site_id": "s1", "at": at}
    resp = real_client.post(f"/plans/{plan['id']}/progress", json=unload, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is True
    alert = real_client.post("/alerts", json={"bin_id": ahead[-1], "at": at}, headers=key)
    wait(runtime)
    got = real_client.get(f"/alerts/{alert.json()['id']}", headers=key).json()
    assert got["status"] == "rerouted", got
    new = real_client.get(f"/plans/{got['plan_id']}/routes", headers=key).json()
    assert new["violations"] == []
    visits = next(r for r in new["routes"] if r["vehicle_id"] == truck)["visits"]
    assert [v["kind"] for v in visits[:3]] == ["start", "bin", "waypoint"]
    assert (visits[2]["lon"], visits[2]["lat"], visits[2]["load_l"]) == (24.98, 60.2, 0)
    others = [v for r in new["routes"] if r["vehicle_id"] != truck for v in r["visits"]]
    to_do = {v["bin_id"] for v in [*visits[3:], *others] if v["kind"] == "bin"}
    assert set(ahead) <= to_do


def test_a_truck_unloading_sooner_than_planned_after_a_reroute_carries_nothing_from_before(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The crew finds its first bin full (240 l, not as planned): the reroute restates the
    truck's load at a waypoint. The truck empties its next bin, then unloads at s1 sooner
    than planned (off the route): at the next reroute it carries nothing (before, the load
    restated at the waypoint stayed on board, a full bin's waste carried again after it
    was unloaded)."""
    runtime, key, plan, route, first = _first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    url = f"/plans/{plan['id']}/progress"
    done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": first["bin_id"]}
    resp = real_client.post(
        url, json={**done, "at": first["end"], "fill_fraction": 1.0}, headers=key
    )
    assert resp.status_code == 201 and resp.json()["off_route"] is False
    t = datetime.fromisoformat(first["end"])
    new = _rerouted_for(real_client, key, runtime, _last_bin(route), t)
    visits = next(r for r in new["routes"] if r["vehicle_id"] == truck)["visits"]
    assert [(v["kind"], v["load_l"]) for v in visits[1:3]] == [
        ("bin", first["load_l"]),
        ("waypoint", 240),
    ]
    nxt = next(v for v in visits[3:] if v["kind"] == "bin")
    resp = real_client.post(
        url, json={**done, "bin_id": nxt["bin_id"], "at": nxt["end"]}, headers=key
    )
    assert resp.status_code == 201 and resp.json()["off_route"] is False
    at = datetime.fromisoformat(nxt["end"]) + timedelta(minutes=20)
    unload = {"vehicle_id": truck, "kind": "disposal_done", "site_id": "s1", "at": at.isoformat()}
    resp = real_client.post(url, json=unload, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is True
    again = _rerouted_for(real_client, key, runtime, _last_bin(route), at + timedelta(minutes=1))
    visits = next(r for r in again["routes"] if r["vehicle_id"] == truck)["visits"]
    at_site = [v for v in visits if v["kind"] == "waypoint"][-1]
    assert (at_site["lon"], at_site["lat"], at_site["load_l"]) == (24.98, 60.2, 0)


def test_a_bin_taken_ahead_of_the_route_counts_once_once_the_truck_goes_on(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """On the day being driven the crew empties its route's second bin first (the day is
    rerouted from there, the truck carrying it), then its first bin as the new route has
    it; at the next reroute the truck carries those two bins' waste, the second bin's
    counted once (before, the load after the first bin counted it, and the reroute added
    it again)."""
    runtime, key, plan, route, first = _first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    second = [v for v in route["visits"] if v["kind"] == "bin"][1]
    t = datetime.fromisoformat(first["end"])
    runtime.jobs.clock = lambda: t + timedelta(minutes=10)  # the day being driven
    url = f"/plans/{plan['id']}/progress"
    done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": second["bin_id"]}
    resp = real_client.post(url, json={**done, "at": first["end"]}, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is True
    wait(runtime)
    newest = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]
    assert newest["origin"] == "emptied", newest
    doc = real_client.get(f"/plans/{newest['id']}/routes", headers=key).json()
    visits = next(r for r in doc["routes"] if r["vehicle_id"] == truck)["visits"]
    carried = second["load_l"] - first["load_l"]  # the second bin's load
    assert (visits[1]["kind"], visits[1]["load_l"]) == ("waypoint", carried)
    assert (visits[2]["bin_id"], visits[2]["load_l"]) == (first["bin_id"], second["load_l"])
    both = {**done, "bin_id": first["bin_id"], "at": visits[2]["end"]}
    resp = real_client.post(url, json=both, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is False
    again = _rerouted_for(real_client, key, runtime, _last_bin(route), t + timedelta(minutes=5))
    visits = next(r for r in again["routes"] if r["vehicle_id"] == truck)["visits"]
    at = next(i for i, v in enumerate(visits) if v.get("bin_id") == first["bin_id"])
    then = visits[at + 1]  # a waypoint, when it restates other loads
    assert visits[at]["load_l"] == second["load_l"]  # the first bin's and the second's
    assert then["kind"] != "waypoint" or then["load_l"] == second["load_l"], then


def _last_bin(route: dict[str, Any]) -> str:
    """The last bin (id) of ``route`` (plan JSON)."""
    bin_id: str = [v for v in route["visits"] if v["kind"] == "bin"][-1]["bin_id"]
    return bin_id


def test_a_crew_that_empties_its_bins_in_another_order_still_has_the_skipped_ones_to_do(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The crew empties its route's second bin first: the report is flagged off route, and
    at the next reroute the first bin is still to do (before, every bin ahead of a report
    was taken for done: the first one never emptied, and listed nowhere), the truck going
    on from the second bin, carrying it, which no truck is sent to again. The first bin
    emptied then, by the truck the new plan sends, is that planned visit, on its route."""
    runtime, key, plan, route, first = _first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    second = [v for v in route["visits"] if v["kind"] == "bin"][1]
    url = f"/plans/{plan['id']}/progress"
    done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": second["bin_id"]}
    resp = real_client.post(url, json={**done, "at": first["end"]}, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is True
    others = [v for v in route["visits"] if v["kind"] == "bin" and v not in (first, second)]
    target = others[-1]["bin_id"] if others else first["bin_id"]
    new = _rerouted_for(real_client, key, runtime, target, datetime.fromisoformat(first["end"]))
    visits = next(r for r in new["routes"] if r["vehicle_id"] == truck)["visits"]
    assert [v["kind"] for v in visits[:2]] == ["start", "waypoint"]
    assert (visits[1]["lon"], visits[1]["lat"]) == (second["lon"], second["lat"])
    assert visits[1]["load_l"] == second["load_l"] - first["load_l"]  # the second bin's
    bins = [v["bin_id"] for r in new["routes"] for v in r["visits"] if v["kind"] == "bin"]
    assert first["bin_id"] in bins and second["bin_id"] not in bins
    assert any(
        n.startswith(f"{truck} emptied {second['bin_id']} off its planned route")
        for n in new["notes"]
    )
    server, later = next(
        (r["vehicle_id"], v)
        for r in new["routes"]
        for v in r["visits"]
        if v.get("bin_id") == first["bin_id"]
    )
    emptied = {**done, "vehicle_id": server, "bin_id": first["bin_id"], "at": later["end"]}
    resp = real_client.post(url, json=emptied, headers=key)  # judged by the newest plan
    assert resp.status_code == 201 and resp.json()["off_route"] is False


def test_a_bin_taken_ahead_of_its_route_reroutes_the_day_without_its_later_visit(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """On the day being driven the crew empties its route's second bin first: the report
    (off the route) reroutes the day (origin ``emptied``), whose route for the truck goes on
    from that bin, no longer sends it there, and keeps the first bin to do. The crew's next
    reports, the first bin then the one after, are on that route (before, the plan standing
    still sent the truck to the second bin, and the bin after it, the crew having skipped
    that visit, was judged off the route too)."""
    runtime, key, plan, route, first = _first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    bins = [v for v in route["visits"] if v["kind"] == "bin"]
    t = datetime.fromisoformat(first["end"])
    runtime.jobs.clock = lambda: t + timedelta(minutes=10)  # the day being driven
    url = f"/plans/{plan['id']}/progress"
    done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": bins[1]["bin_id"]}
    resp = real_client.post(url, json={**done, "at": first["end"]}, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is True
    wait(runtime)
    newest = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]
    assert (newest["origin"], newest["status"], newest["parent_id"]) == (
        "emptied",
        "done",
        plan["id"],
    ), newest
    doc = real_client.get(f"/plans/{newest['id']}/routes", headers=key).json()
    assert doc["violations"] == []
    visits = next(r for r in doc["routes"] if r["vehicle_id"] == truck)["visits"]
    assert [v["kind"] for v in visits[:2]] == ["start", "waypoint"]
    assert (visits[1]["lon"], visits[1]["lat"]) == (bins[1]["lon"], bins[1]["lat"])
    served = [v["bin_id"] for r in doc["routes"] for v in r["visits"] if v["kind"] == "bin"]
    assert bins[0]["bin_id"] in served and bins[1]["bin_id"] not in served
    for r in doc["routes"]:  # the crews go on by the new plan, in its order
        for v in [v for v in r["visits"] if v["kind"] == "bin"][:2]:
            then = {"vehicle_id": r["vehicle_id"], "kind": "visit_done", "bin_id": v["bin_id"]}
            resp = real_client.post(url, json={**then, "at": v["end"]}, headers=key)
            assert resp.status_code == 201 and resp.json()["off_route"] is False, v


def test_a_plan_that_took_a_skipped_bin_for_done_leaves_the_next_reports_on_the_route(
    real_app: FastAPI, real_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan stored before the rule above (its second bin's report taken on the route,
    so the reroute took the first bin, never reported, for done): the truck's next bin
    is judged on its route, by the bins after its last visit reported (before the rule
    looked at the whole route, this and every later report would have been off it)."""
    runtime, key, plan, route, first = _first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    bins = [v for v in route["visits"] if v["kind"] == "bin"]
    assert len(bins) >= 3, bins
    url = f"/plans/{plan['id']}/progress"
    done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": bins[1]["bin_id"]}
    with monkeypatch.context() as before:  # nor did such a report reroute the day
        before.setattr(runtime.jobs, "request_emptied", lambda *args: None)
        resp = real_client.post(url, json={**done, "at": bins[1]["end"]}, headers=key)
    assert resp.status_code == 201
    with runtime.db.writer() as s:  # as a version before the rule judged it
        row = s.get(ProgressRow, resp.json()["id"])
        assert row is not None and row.off_route is True
        row.off_route = False
    new = _rerouted_for(
        real_client, key, runtime, bins[2]["bin_id"], datetime.fromisoformat(bins[1]["end"])
    )
    visits = next(r for r in new["routes"] if r["vehicle_id"] == truck)["visits"]
    assert [v.get("bin_id") for v in visits[1:3]] == [first["bin_id"], bins[1]["bin_id"]]
    after = [v for v in visits[3:] if v["kind"] == "bin"]
    nxt = {**done, "bin_id": after[0]["bin_id"], "at": after[0]["end"]}
    resp = real_client.post(url, json=nxt, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is False


def test_an_alert_whose_bin_another_truck_emptied_since_reads_emptied(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """An alert on a bin of a truck's route; the other truck's crew then empties that bin
    (off its route). That report reroutes the day (origin ``emptied``, the reroute's budget:
    before, a plan job with the day's default budget, which alerts waited for): the truck is
    no longer sent to the empty bin (its driver's change says so), and the alert reads
    ``emptied``, naming no truck and no time (before, the truck and time it had been sent
    with). A bin whose planned visit is done reroutes nothing."""
    runtime, key, plan, truck, other, (x, _), t = _after_the_first_bin(real_app, real_client)
    doc = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    route = next(r for r in doc["routes"] if r["vehicle_id"] == truck)
    first = next(v["bin_id"] for v in route["visits"] if v["kind"] == "bin")
    raised = real_client.post(
        "/alerts", json={"bin_id": x, "at": (t + timedelta(minutes=5)).isoformat()}, headers=key
    ).json()
    wait(runtime)
    sent = real_client.get(f"/alerts/{raised['id']}", headers=key).json()
    assert (sent["status"], sent["vehicle_id"]) == ("rerouted", truck)
    url = f"/plans/{sent['plan_id']}/progress"
    runtime.jobs.clock = lambda: t + timedelta(minutes=10)  # the day being driven
    for minutes, bin_id in ((8, first), (10, x)):  # the truck emptied its first already
        at = (t + timedelta(minutes=minutes)).isoformat()
        done = {"vehicle_id": other, "kind": "visit_done", "bin_id": bin_id, "at": at}
        resp = real_client.post(url, json=done, headers=key)
        assert resp.status_code == 201 and resp.json()["off_route"] is True
        wait(runtime)
    plans = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()
    assert [p["origin"] for p in plans[:2]] == ["emptied", "reroute"]  # newest first
    budget = runtime.jobs.settings.reroute_time_limit_s  # a plan job's is 1 s here
    assert (plans[0]["time_limit_s"], plans[0]["parent_id"]) == (budget, plans[1]["id"])
    new = real_client.get(f"/plans/{plans[0]['id']}/routes", headers=key).json()
    got = real_client.get(f"/alerts/{raised['id']}", headers=key).json()
    mine = next(r for r in new["routes"] if r["vehicle_id"] == truck)["visits"]
    assert x not in [v["bin_id"] for v in mine[2:] if v["kind"] == "bin"]  # after the first
    diff = real_client.get(f"/plans/{plans[0]['id']}/diff", headers=key).json()
    assert x in next(d for d in diff["trucks"] if d["vehicle_id"] == truck)["diff"]["removed"]
    assert (got["status"], got["plan_id"]) == ("emptied", plans[0]["id"]), got
    assert (got["vehicle_id"], got["eta"]) == (None, None)  # no truck is sent any more
    assert new["violations"] == []


def test_a_bin_another_crew_emptied_is_taken_out_after_a_stop_before_its_reroute(
    real_app: FastAPI, real_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other truck's crew empties a bin of this truck's route, and the service stops
    before the reroute that report asks for (here: the request is dropped). The next start
    (``JobRunner.resume``) reroutes the day without that trip (before, it resumed open
    alerts only: the truck stayed sent to an empty bin until some other change)."""
    runtime, key, plan, truck, other, (_, y), t = _after_the_first_bin(real_app, real_client)
    runtime.jobs.clock = lambda: t + timedelta(minutes=10)  # the day being driven
    with monkeypatch.context() as lost:
        lost.setattr(runtime.jobs, "request_emptied", lambda *args: None)
        done = {"vehicle_id": other, "kind": "visit_done", "bin_id": y, "at": t.isoformat()}
        resp = real_client.post(f"/plans/{plan['id']}/progress", json=done, headers=key)
        assert resp.status_code == 201 and resp.json()["off_route"] is True
    wait(runtime)
    assert (
        real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]["id"] == plan["id"]
    )
    assert runtime.jobs.resume(runtime.planner, runtime.routing) == [date.fromisoformat(PLAN_DATE)]
    wait(runtime)
    newest = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]
    assert (newest["origin"], newest["status"]) == ("emptied", "done"), newest
    doc = real_client.get(f"/plans/{newest['id']}/routes", headers=key).json()
    mine = next(r for r in doc["routes"] if r["vehicle_id"] == truck)["visits"]
    assert y not in [v["bin_id"] for v in mine if v["kind"] == "bin"]
    assert doc["violations"] == []
    assert runtime.jobs.resume(runtime.planner, runtime.routing) == []  # taken out: done


def test_an_emptying_reported_against_an_older_version_is_judged_by_the_newest(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The truck breaks down after its first bin and the day is re-planned: the other truck
    takes its bins. The crew's emptying of its next bin, made before the breakdown, reaches
    the service then, against the plan on its tablet: off the route of the day's newest
    plan, it reroutes the day without the other truck's trip to that bin (it was judged by
    the old plan only: on route, and the other truck stayed sent to an empty bin)."""
    runtime, key, plan, truck, other, (x, _), t = _after_the_first_bin(real_app, real_client)
    runtime.jobs.clock = lambda: t + timedelta(minutes=10)
    full = [{"bin_id": x, "at": t.isoformat(), "fill_fraction": 0.95}]  # a must for the day
    assert real_client.post("/readings", json=full, headers=key).is_success
    down = {"start_at": (t + timedelta(minutes=10)).isoformat(), "reason": "breakdown"}
    assert real_client.post(f"/vehicles/{truck}/downtimes", json=down, headers=key).is_success
    wait(runtime)
    replanned = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]
    assert replanned["origin"] == "downtime"

    def bins_of(plan_id: int, vehicle: str) -> list[str]:
        doc = real_client.get(f"/plans/{plan_id}/routes", headers=key).json()
        route = next(r for r in doc["routes"] if r["vehicle_id"] == vehicle)
        return [v["bin_id"] for v in route["visits"] if v["kind"] == "bin"]

    assert x in bins_of(replanned["id"], other)
    done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": x}
    done["at"] = (t + timedelta(minutes=5)).isoformat()
    resp = real_client.post(f"/plans/{plan['id']}/progress", json=done, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is True, resp.text
    wait(runtime)
    newest = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]
    assert (newest["origin"], newest["status"]) == ("emptied", "done"), newest
    assert x not in bins_of(newest["id"], other)


def test_a_bin_another_crew_emptied_and_unloaded_before_any_reroute_leaves_the_plan(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The other truck's crew empties a bin of this truck's route, then unloads at s1. The
    emptying reroutes the day (whether that reroute reads the unloading depends on when it
    runs), and at the next reroute (an alert) this truck is still not sent there (before,
    an emptying unloaded since was forgotten: a trip to an empty bin), and the other truck
    does not carry that waste."""
    runtime, key, plan, truck, other, (x, y), t = _after_the_first_bin(real_app, real_client)
    for minutes, report in (
        (5, {"kind": "visit_done", "bin_id": x}),
        (9, {"kind": "disposal_done", "site_id": "s1"}),
    ):
        at = (t + timedelta(minutes=minutes)).isoformat()
        resp = real_client.post(
            f"/plans/{plan['id']}/progress",
            json={"vehicle_id": other, "at": at, **report},
            headers=key,
        )
        assert resp.status_code == 201 and resp.json()["off_route"] is True, resp.text
    new = _rerouted_for(real_client, key, runtime, y, t + timedelta(minutes=12))
    assert x not in [v.get("bin_id") for r in new["routes"] for v in r["visits"]]
    since = [p for p in real_client.get("/plans", headers=key).json() if p["id"] > plan["id"]]
    docs = [real_client.get(f"/plans/{p['id']}/routes", headers=key).json() for p in since]
    notes = [n for doc in docs for n in doc["notes"]]
    assert any(f"{truck}'s visit of {x} leaves the plan" in n for n in notes), notes
    theirs = next(r for r in new["routes"] if r["vehicle_id"] == other)["visits"]
    assert theirs[1]["kind"] == "waypoint" and theirs[1]["load_l"] == 0  # at s1, empty


def test_an_off_route_emptying_keeps_its_load_after_a_later_alert_on_that_bin(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The other truck's crew empties a bin of this truck's route (no fill given): its
    emptying reroute counts the load planned for that bin on the other truck. A later alert
    on that bin reroutes the day again: the other truck still carries what it took then
    (before, the bin counted again at the alert's full load: 144 l became 240 l)."""
    runtime, key, plan, truck, other, (x, y), t = _after_the_first_bin(real_app, real_client)
    doc = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    visits = next(r for r in doc["routes"] if r["vehicle_id"] == truck)["visits"]
    i = next(i for i, v in enumerate(visits) if v.get("bin_id") == x)
    planned_l = visits[i]["load_l"] - visits[i - 1]["load_l"]
    assert 0 < planned_l < 240  # the bin planned below its capacity
    runtime.jobs.clock = lambda: t + timedelta(minutes=10)  # the day being driven
    at = (t + timedelta(minutes=5)).isoformat()
    done = {"vehicle_id": other, "kind": "visit_done", "bin_id": x, "at": at}
    resp = real_client.post(f"/plans/{plan['id']}/progress", json=done, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is True, resp.text
    wait(runtime)
    carries = f"{other} emptied {x} off its planned route: it carries that waste ({planned_l} l"
    emptied = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]
    assert emptied["origin"] == "emptied", emptied
    notes = real_client.get(f"/plans/{emptied['id']}/routes", headers=key).json()["notes"]
    assert any(n.startswith(carries) for n in notes), notes
    new = _rerouted_for(real_client, key, runtime, x, t + timedelta(minutes=12))
    assert any(n.startswith(carries) for n in new["notes"]), new["notes"]
    again = _rerouted_for(real_client, key, runtime, y, t + timedelta(minutes=14))
    assert any(n.startswith(carries) for n in again["notes"]), again["notes"]


def test_a_bin_moved_during_the_day_is_emptied_where_it_is_now(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """After the truck's first bin the city corrects the position of its next bin; at the
    next reroute (an alert) the route sheet sends the truck there (before, to where the
    bin was when the day was planned) and the notes say so."""
    runtime, key, _, _, _, (x, y), t = _after_the_first_bin(real_app, real_client)
    bin_x = real_client.get(f"/bins/{x}", headers=key).json()
    fixed = {**bin_x, "lon": bin_x["lon"] + 0.004}
    assert real_client.put(f"/bins/{x}", json=fixed, headers=key).status_code == 200
    new = _rerouted_for(real_client, key, runtime, y, t + timedelta(minutes=5))
    visits = [v for r in new["routes"] for v in r["visits"] if v.get("bin_id") == x]
    assert [(v["lon"], v["lat"]) for v in visits] == [(fixed["lon"], fixed["lat"])]
    assert any(n.startswith("bins moved since the day was planned") for n in new["notes"])


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
    plan = _planned(real_client, key, runtime)
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
    _planned(real_client, key, runtime)
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


def test_a_bin_emptied_this_morning_and_full_again_gets_a_second_visit(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The crew empties a bin; an hour later a citizen reports it overflowing again: the
    new plan version sends a truck back (``<bin>#2``) by the alert's response target, and
    the crew's second report of the bin marks that visit done at the next reroute (not
    taken for a resend)."""
    runtime, key, plan, route, first = _first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    assert _first_bin_done(real_client, key, plan, truck) == first
    later = datetime.fromisoformat(first["end"]) + timedelta(hours=1)
    alert = real_client.post(
        "/alerts", json={"bin_id": first["bin_id"], "at": later.isoformat()}, headers=key
    ).json()
    wait(runtime)
    got = real_client.get(f"/alerts/{alert['id']}", headers=key).json()
    assert got["status"] == "rerouted", got
    new = real_client.get(f"/plans/{got['plan_id']}/routes", headers=key).json()
    again = [
        (r["vehicle_id"], v)
        for r in new["routes"]
        for v in r["visits"]
        if v["ref"] == f"{first['bin_id']}#2"
    ]
    assert len(again) == 1 and again[0][1]["bin_id"] == first["bin_id"]
    assert datetime.fromisoformat(again[0][1]["start"]) >= later
    # emptied by its response target: the alert's time + 120 min; the alert says by whom, when
    assert datetime.fromisoformat(again[0][1]["respond_by"]) == later + timedelta(hours=2)
    assert again[0][1]["late_s"] == 0 and again[0][1]["alert"] is True
    assert got["vehicle_id"] == again[0][0]
    assert datetime.fromisoformat(got["eta"]) == datetime.fromisoformat(again[0][1]["start"])
    assert datetime.fromisoformat(got["respond_by"]) == later + timedelta(hours=2)
    assert new["violations"] == []
    # the truck that went back reports the bin again: the next reroute counts it done
    back_truck, visit = again[0]
    back = {"vehicle_id": back_truck, "kind": "visit_done", "bin_id": first["bin_id"]}
    url = f"/plans/{got['plan_id']}/progress"
    assert real_client.post(url, json={**back, "at": visit["end"]}, headers=key).status_code == 201
    other = next(b for b in ("b0", "b1", "b2", "b3", "b4", "b5") if b != first["bin_id"])
    alert2 = real_client.post(
        "/alerts", json={"bin_id": other, "at": visit["end"]}, headers=key
    ).json()
    wait(runtime)
    got2 = real_client.get(f"/alerts/{alert2['id']}", headers=key).json()
    newer = real_client.get(f"/plans/{got2['plan_id']}/routes", headers=key).json()
    refs = [v["ref"] for r in newer["routes"] for v in r["visits"]]
    assert refs.count(f"{first['bin_id']}#2") == 1  # kept as done, not planned again
    assert f"{first['bin_id']}#3" not in refs
    assert newer["violations"] == []


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


def _planned_the_night_before(
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


def test_a_plan_made_while_a_truck_is_out_goes_on_from_where_it_is(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """One truck emptied its first bin at 07:00 on the night's plan; that bin overflows
    again at 10:00 (a reroute sends it back: its ``#2``). The dispatcher plans the day
    again at 10:30: the rest of the day is re-planned from where the truck is, the 07:00
    visit stays done and the bin is emptied again, once. An alert on its second bin at
    10:40 reroutes that plan, which keeps both."""
    runtime, key, local, night = _planned_the_night_before(
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


def test_a_truck_taken_off_the_fleet_mid_day_gets_no_more_bins(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """Two trucks drive the night's plan; the one that emptied a bin breaks down and the
    dispatcher deletes it from the fleet: that re-plans the day (202, the job in ``Link``),
    its bin done stays, it gets no other, and the plan says why. An alert then on a bin it
    had still to do sends the other truck, or is unserved, never it."""
    runtime, key, _, night = _planned_the_night_before(
        real_app, real_client, {"v1": 2, "v2": 4}, 5, 0.97
    )
    first = _first_bin_done(real_client, key, night, "v2")
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
    runtime, key, local, night = _planned_the_night_before(
        real_app, real_client, {"v1": None}, 3, 0.6
    )
    post = real_client.post
    x = {"bin_id": "x", "lon": 24.95, "lat": 60.175, "capacity_l": 240}
    assert post("/bins", json=x, headers=key).is_success
    low = [{"bin_id": "x", "at": (local + timedelta(hours=6)).isoformat(), "fill_fraction": 0.05}]
    assert post("/readings", json=low, headers=key).is_success
    first = _first_bin_done(real_client, key, night, "v1")
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
    runtime, key, local, night = _planned_the_night_before(
        real_app, real_client, {"v1": None}, 3, 0.6
    )
    post = real_client.post
    x = {"bin_id": "x", "lon": 24.95, "lat": 60.175, "capacity_l": 240}
    assert post("/bins", json=x, headers=key).is_success
    first = _first_bin_done(real_client, key, night, "v1")
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
    runtime, key, _, night = _planned_the_night_before(
        real_app, real_client, {"v1": 2, "v2": 4}, 5, 0.97
    )
    post = real_client.post
    first = _first_bin_done(real_client, key, night, "v2")
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


def _first_bin_done(
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
    plan = _planned(real_client, key, runtime)
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
    plan = _planned(real_client, key, runtime)
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
    runtime, key, plan, truck, _, (x, _), _ = _after_the_first_bin(real_app, real_client)
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
        _planned(real_client, key, runtime)
    newest = real_client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]
    assert newest["origin"] == ("reroute" if then == "alert" else "request"), newest
    new = real_client.get(f"/plans/{newest['id']}/routes", headers=key).json()
    assert new["violations"] == []
    assert any(n.startswith(f"{truck} stands where it was last reported") for n in new["notes"])


LOST = grid(1, 6)  # about 520 m north of the street town's northern street


def _street_town(settings: Settings) -> tuple[FastAPI, StreetNetwork]:
    """An app with the real PipelinePlanner routing on the six-node street town
    (tests.network's build_tiny_graph, the default snap limit), and its street network."""
    network = StreetNetwork.from_graph(build_tiny_graph())
    app = create_app(settings, clock=the_eve)
    routing = Routing.on_streets(network)
    app.dependency_overrides[get_routing] = lambda: routing
    return app, network


@contextmanager
def _seeded_street_town(
    settings: Settings,
) -> Iterator[tuple[TestClient, dict[str, str], Runtime, StreetNetwork]]:
    """A client of the street town's app (:func:`_street_town`) seeded by
    :func:`_seed_street_town`, a dispatcher's key, the app's runtime and the network."""
    app, network = _street_town(settings)
    with TestClient(app) as client:
        runtime: Runtime = app.state.runtime
        key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
        _seed_street_town(client, key)
        yield client, key, runtime, network


def _seed_street_town(client: TestClient, key: dict[str, str]) -> None:
    """Depot d1 at the town's corner A, site s1 at C, truck v1, bins b0-b2 along its streets
    and bin ``lost`` entered off the map (``LOST``), all read 30 % full in the morning."""
    (x0, y0), (x2, y2) = grid(0, 0), grid(2, 0)
    made = [
        client.post("/depots", json={"depot_id": "d1", "lon": x0, "lat": y0}, headers=key),
        client.post("/sites", json={"site_id": "s1", "lon": x2, "lat": y2}, headers=key),
        client.post(
            "/vehicles",
            json={"vehicle_id": "v1", "depot_id": "d1", "capacity_l": 20000, "capacity_kg": 8000},
            headers=key,
        ),
    ]
    places = {"b0": grid(0.5, 0), "b1": grid(1.5, 0), "b2": grid(0, 0.5), "lost": LOST}
    bins = [
        {"bin_id": b, "lon": lon, "lat": lat, "capacity_l": 240} for b, (lon, lat) in places.items()
    ]
    made.append(client.post("/bins/bulk", json=bins, headers=key))
    readings = [{"bin_id": b, "at": MORNING, "fill_fraction": 0.3} for b in places]
    made.append(client.post("/readings", json=readings, headers=key))
    assert all(r.status_code in (200, 201) for r in made), [r.text for r in made]


def _lost_reason(network: StreetNetwork) -> str:
    """What a plan says of bin ``lost``, with the provider's own distance."""
    metres = StreetProvider(network).far_points([LOST])[0]
    return (
        f"no truck can reach it: ({LOST[0]:.6f}, {LOST[1]:.6f}) is {metres:.0f} m from the "
        f"nearest drivable street (limit {MAX_SNAP_M:.0f} m); fix its coordinates"
    )


def test_an_alert_on_a_bin_no_street_reaches_reads_unserved_with_the_reason(
    settings: Settings,
) -> None:
    """On the six-node street town, bin ``lost`` was entered off the map: alerts on b1 and
    on it are both settled, b1's ``rerouted`` and lost's ``unserved`` with the reason the
    plan gives (lost's reroute failed on its SnapError: its alert read ``failed``)."""
    with _seeded_street_town(settings) as (client, key, runtime, network):
        plan = _planned(client, key, runtime)
        at = "2026-11-25T09:00:00+02:00"
        ids = [
            client.post("/alerts", json={"bin_id": b, "at": at}, headers=key).json()["id"]
            for b in ("b1", "lost")
        ]
        wait(runtime)
        served, lost = (client.get(f"/alerts/{i}", headers=key).json() for i in ids)
        assert (served["status"], lost["status"]) == ("rerouted", "unserved"), (served, lost)
        assert lost["plan_id"] not in (None, plan["id"])
        routes = client.get(f"/plans/{lost['plan_id']}/routes", headers=key).json()
        assert routes["violations"] == []
        reasons = {u["bin_id"]: (u["reason"], u["alert"]) for u in routes["unserved"]}
        assert reasons["lost"] == (_lost_reason(network), True)
        assert {u["bin_id"]: u["kind"] for u in routes["unserved"]}["lost"] == "unreachable"
        kpis = client.get(f"/plans/{lost['plan_id']}/kpis", headers=key).json()
        assert kpis["unserved_must"] >= 1


def test_a_depot_and_a_site_no_street_reaches_leave_the_plan_with_a_note(
    settings: Settings,
) -> None:
    """Depot d2 (truck v2's) and site s2 entered off the street town's map: the day is
    planned with v1, a note naming each with where it is and the fix. Before, the plan
    failed on the first of them (the nightly run with it, every truck's day)."""
    with _seeded_street_town(settings) as (client, key, runtime, network):
        x, y = LOST
        made = [
            client.post("/depots", json={"depot_id": "d2", "lon": x, "lat": y}, headers=key),
            client.post(
                "/vehicles",
                json={
                    "vehicle_id": "v2",
                    "depot_id": "d2",
                    "capacity_l": 9000,
                    "capacity_kg": 3000,
                },
                headers=key,
            ),
            client.post("/sites", json={"site_id": "s2", "lon": x, "lat": y}, headers=key),
        ]
        assert all(r.status_code == 201 for r in made), [r.text for r in made]
        plan = _planned(client, key, runtime)
        routes = client.get(f"/plans/{plan['id']}/routes", headers=key).json()
        assert routes["violations"] == []
        assert [r["vehicle_id"] for r in routes["routes"]] == ["v1"]
        where = f"({x:.6f}, {y:.6f}) is {StreetProvider(network).far_points([LOST])[0]:.0f} m"
        limit = f"from the nearest drivable street (limit {MAX_SNAP_M:.0f} m)"
        assert {
            f"depot d2 {where} {limit}: its trucks (v2) are not planned; fix its coordinates",
            f"disposal site s2 {where} {limit}: no truck unloads there; fix its coordinates",
        } <= set(routes["notes"]), routes["notes"]


def test_a_plan_stored_before_unserved_kinds_reads_with_kind_other(
    settings: Settings,
) -> None:
    """The street town's plan leaves bin ``lost`` out, its entry with ``kind``
    ``unreachable``; the same plan stored by a version before kinds (its entries without
    one) still reads, each entry's kind ``other`` (not recorded)."""
    from api.db import PlanRow

    with _seeded_street_town(settings) as (client, key, runtime, _):
        plan = _planned(client, key, runtime)
        url = f"/plans/{plan['id']}/routes"
        unserved = client.get(url, headers=key).json()["unserved"]
        assert [(u["bin_id"], u["kind"]) for u in unserved] == [("lost", "unreachable")]
        with runtime.db.writer() as s:
            row = s.get(PlanRow, plan["id"])
            assert row is not None and row.exports is not None
            old = [{k: v for k, v in u.items() if k != "kind"} for u in unserved]
            row.exports = {**row.exports, "plan": {**row.exports["plan"], "unserved": old}}
        again = client.get(url, headers=key)
        assert again.status_code == 200
        assert [(u["bin_id"], u["kind"]) for u in again.json()["unserved"]] == [("lost", "other")]
        assert [u["reason"] for u in again.json()["unserved"]] == [u["reason"] for u in unserved]


def test_a_street_plan_serves_each_drivers_directions_and_route_sheet(
    settings: Settings,
) -> None:
    """The street town's plan: v1's directions have a leg per visit with a place after its
    start, ending at that visit's place, their metres adding up to the route's; its route
    sheet lists its bins in order with the directions; an unknown truck is 404."""
    from api.db import PlanRow

    with _seeded_street_town(settings) as (client, key, runtime, _):
        plan = _planned(client, key, runtime)
        routes = client.get(f"/plans/{plan['id']}/routes", headers=key).json()
        (route,) = routes["routes"]
        got = client.get(f"/plans/{plan['id']}/directions/v1", headers=key)
        assert got.status_code == 200, got.text
        legs = got.json()["legs"]
        placed = [v for v in route["visits"] if v["place"] is not None]
        assert [leg["to"] for leg in legs] == [v["place"] for v in placed[1:]]
        assert [route["visits"][leg["to_order"]]["place"] for leg in legs] == [
            leg["to"] for leg in legs
        ]
        driven = sum(leg["distance_m"] for leg in legs)
        assert driven == pytest.approx(route["distance_m"], abs=len(legs))
        bins = [v["bin_id"] for v in route["visits"] if v["kind"] == "bin"]
        assert [leg["steps"][-1]["instruction"] for leg in legs if leg["to"] in bins] == [
            f"Arrive at bin {b}" for b in bins
        ]
        sheets = client.get(f"/plans/{plan['id']}/sheets", headers=key)
        assert sheets.status_code == 200 and sheets.headers["content-type"].startswith("text/html")
        assert re.findall(r"<td>bin (\w+)</td>", sheets.text) == bins
        assert sheets.text.count("<ol>") == len(legs)
        assert sheets.text.count('<svg class="map"') == 1  # the stored routes, drawn
        one = client.get(f"/plans/{plan['id']}/sheets?vehicle_id=v1", headers=key)
        assert one.text == sheets.text
        german = client.get(f"/plans/{plan['id']}/sheets?language=de-AT", headers=key)
        assert german.status_code == 200 and '<html lang="de">' in german.text
        assert re.findall(r"<td>Behälter (\w+)</td>", german.text) == bins
        assert german.text.count("<li>Ankunft: Behälter ") == len(bins)
        finnish = client.get(f"/plans/{plan['id']}/directions/v1?language=fi", headers=key).json()
        assert finnish["language"] == "fi" and len(finnish["legs"]) == len(legs)
        assert [
            leg["steps"][-1]["instruction"] for leg in finnish["legs"] if leg["to"] in bins
        ] == [f"Perillä: astia {b}" for b in bins]
        for path in ("sheets?language=xx", "directions/v1?language=klingon"):
            bad = client.get(f"/plans/{plan['id']}/{path}", headers=key)
            assert bad.status_code == 422 and "ca, de, en, es, fi, ko, pt, sv, zh" in bad.text
        for path in ("directions/v9", "sheets?vehicle_id=v9"):
            missing = client.get(f"/plans/{plan['id']}/{path}", headers=key)
            assert missing.status_code == 404 and "v9" in missing.text
        with runtime.db.writer() as s:  # as a plan stored before directions were
            row = s.get(PlanRow, plan["id"])
            assert row is not None and row.exports is not None
            row.exports = {k: v for k, v in row.exports.items() if k != "directions"}
        older = client.get(f"/plans/{plan['id']}/directions/v1", headers=key)
        assert older.status_code == 409 and "plan the day again" in older.text
        page = client.get(f"/plans/{plan['id']}/sheets", headers=key).text
        assert "<ol>" not in page and "plan the day again for them" in page
        assert re.findall(r"<td>bin (\w+)</td>", page) == bins


def _bins_of(client: TestClient, key: dict[str, str], plan_id: int, vehicle: str) -> list[str]:
    """The bins ``vehicle``'s route in plan ``plan_id`` visits, in order."""
    doc = client.get(f"/plans/{plan_id}/routes", headers=key).json()
    route = next(r for r in doc["routes"] if r["vehicle_id"] == vehicle)
    return [v["bin_id"] for v in route["visits"] if v["kind"] == "bin"]


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
    plan = _planned(real_client, key, runtime)
    doc = real_client.get(f"/plans/{plan['id']}/routes", headers=key).json()
    truck = next(r["vehicle_id"] for r in doc["routes"] if r["bins"] >= 1)
    other = ({"v1", "v2"} - {truck}).pop()
    x = _bins_of(real_client, key, plan["id"], truck)[0]
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
    assert x not in _bins_of(real_client, key, newest["id"], truck)
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
    plan = _planned(real_client, key, runtime)
    assert all("b5" not in _bins_of(real_client, key, plan["id"], v) for v in ("v1", "v2"))
    at = made + timedelta(minutes=30)
    done = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": "b5", "at": at.isoformat()}
    resp = real_client.post(f"/plans/{plan['id']}/progress", json=done, headers=key)
    assert resp.status_code == 201 and resp.json()["off_route"] is True, resp.text
    runtime.jobs.clock = lambda: made + timedelta(hours=1)
    again = _planned(real_client, key, runtime)
    assert again["parent_id"] == plan["id"]
    doc = real_client.get(f"/plans/{again['id']}/routes", headers=key).json()
    pickups = sum(
        v["kind"] == "bin" and not v.get("missed") for r in doc["routes"] for v in r["visits"]
    )
    assert again["kpis"]["bins_collected"] == pickups + 1
    assert doc["violations"] == []


class _HeldReplans(PipelinePlanner):
    """The pipeline, each re-plan held at its start until the test lets it go on:
    ``entered`` is set once one started (its inputs read), ``release`` lets it go on."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def replan(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        if not self.release.wait(60):
            raise TimeoutError("the test never let the re-plan go on")
        return super().replan(*args, **kwargs)


def test_an_emptying_reported_while_a_re_plan_runs_is_judged_by_the_plan_it_stores(
    settings: Settings,
) -> None:
    """The truck breaks down after its first bin and the day is re-planned: the other truck
    takes its bins. While the re-plan runs (held here once it read its inputs), the crew's
    emptying of its next bin, made before the breakdown, comes in: on the route of the plan
    being replaced, so it reads on route. Once the re-plan is stored the report is judged
    again by it: off route, it reroutes the day without the other truck's trip to that bin
    (before, the report stayed on route and the other truck stayed sent to an empty bin)."""
    planner = _HeldReplans()
    app = create_app(settings, clock=the_eve, planner=planner)
    app.dependency_overrides[get_routing] = lambda: Routing.static(HaversineProvider())
    with TestClient(app) as client:
        runtime, key, plan, truck, other, (x, _), t = _after_the_first_bin(app, client)
        runtime.jobs.clock = lambda: t + timedelta(minutes=10)
        # a must for the day, under the overflow threshold (no alert, no reroute before)
        full = [{"bin_id": x, "at": t.isoformat(), "fill_fraction": 0.94}]
        assert client.post("/readings", json=full, headers=key).is_success
        down = {"start_at": (t + timedelta(minutes=10)).isoformat(), "reason": "breakdown"}
        assert client.post(f"/vehicles/{truck}/downtimes", json=down, headers=key).is_success
        try:
            assert planner.entered.wait(30), "no re-plan started"
            at = (t + timedelta(minutes=5)).isoformat()
            done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": x, "at": at}
            resp = client.post(f"/plans/{plan['id']}/progress", json=done, headers=key)
            assert resp.status_code == 201 and resp.json()["off_route"] is False, resp.text
        finally:
            planner.release.set()
        wait(runtime)
        plans = client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()
        assert [p["origin"] for p in plans[:2]] == ["emptied", "downtime"], plans
        assert x in _bins_of(client, key, plans[1]["id"], other)
        assert plans[0]["status"] == "done" and plans[0]["parent_id"] == plans[1]["id"]
        assert x not in _bins_of(client, key, plans[0]["id"], other)
        reports = client.get(f"/plans/{plan['id']}/progress", headers=key).json()
        assert [(r["bin_id"], r["off_route"]) for r in reports][-1] == (x, True)


class _HeldOnce(PipelinePlanner):
    """The pipeline, its first reroute and its first re-plan each held once it has read its
    inputs until the test lets it go on (``rerouting`` / ``replanning`` set when held,
    ``reroute_go`` / ``replan_go`` let them go on); the later ones run straight through."""

    def __init__(self) -> None:
        self.rerouting, self.reroute_go = threading.Event(), threading.Event()
        self.replanning, self.replan_go = threading.Event(), threading.Event()

    @staticmethod
    def _hold(entered: threading.Event, go: threading.Event) -> None:
        if entered.is_set():
            return
        entered.set()
        if not go.wait(60):
            raise TimeoutError("the test never let the job go on")

    def reroute(self, *args: Any, **kwargs: Any) -> Any:
        self._hold(self.rerouting, self.reroute_go)
        return super().reroute(*args, **kwargs)

    def replan(self, *args: Any, **kwargs: Any) -> Any:
        self._hold(self.replanning, self.replan_go)
        return super().replan(*args, **kwargs)


def _done_plan(client: TestClient, key: dict[str, str], origin: str) -> dict[str, Any]:
    """The day's plan of ``origin`` once it is done (a job of it may still be running)."""
    for _ in range(300):
        plans = client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()
        done = [p for p in plans if p["origin"] == origin and p["status"] == "done"]
        if done:
            return dict(done[0])
        threading.Event().wait(0.1)
    raise AssertionError(f"no {origin} plan done: {plans}")


def test_a_report_another_job_judged_again_while_a_re_plan_ran_is_judged_by_the_re_plan(
    settings: Settings,
) -> None:
    """Truck v1 takes the six bins (v2 holds 10 l); v1's crew empties its first. v2's crew
    then empties x, v1's next bin: a reroute takes it out of v1's route (held here once it
    read its inputs). v1's crew then empties y, the bin after x: off route by the plan
    driven (x not reported). The dispatcher changes v2's shift, and a re-plan reads that
    report off route (held too). The reroute, stored first, judges it again by its routes,
    where y now comes next: on route. The re-plan, stored last and newest, took y off v1's
    route (an emptying off route, on the truck's load): the report is judged again by it,
    off route. Before, it stayed on route while no plan had the visit (found by the
    service's busy random days on Heidelberg's streets, seed 411: a truck's route dropped a
    visit its crew had reported, 2 runs in 34)."""
    planner = _HeldOnce()
    app = create_app(settings, clock=the_eve, planner=planner)
    app.dependency_overrides[get_routing] = lambda: Routing.static(HaversineProvider())
    with TestClient(app) as client:
        runtime: Runtime = app.state.runtime
        key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
        seed(client, key, n_bins=6)
        small = {**client.get("/vehicles/v2", headers=key).json(), "capacity_l": 10}
        assert client.put("/vehicles/v2", json=small, headers=key).is_success
        plan = client.post("/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key)
        wait(runtime)
        plan_id = plan.json()["id"]
        first = _first_bin_done(client, key, plan.json(), "v1")
        x, y = _bins_of(client, key, plan_id, "v1")[1:3]
        t = datetime.fromisoformat(first["end"])
        runtime.jobs.clock = lambda: t + timedelta(minutes=10)
        url = f"/plans/{plan_id}/progress"

        def emptied(vehicle: str, bin_id: str, minutes: int) -> bool:
            at = (t + timedelta(minutes=minutes)).isoformat()
            body = {"vehicle_id": vehicle, "kind": "visit_done", "bin_id": bin_id, "at": at}
            made = client.post(url, json=body, headers=key)
            assert made.status_code == 201, made.text
            return bool(made.json()["off_route"])

        def flag(bin_id: str) -> bool | None:
            reports = client.get(url, headers=key).json()
            mine = [r for r in reports if r["vehicle_id"] == "v1" and r["bin_id"] == bin_id]
            return bool(mine[0]["off_route"])

        try:
            assert emptied("v2", x, 2)
            assert planner.rerouting.wait(30), "no reroute started"
            assert emptied("v1", y, 4)
            later = {**client.get("/vehicles/v2", headers=key).json(), "shift_end": "15:30:00"}
            assert client.put("/vehicles/v2", json=later, headers=key).status_code == 202
            assert planner.replanning.wait(30), "no re-plan started"
            planner.reroute_go.set()
            rerouted = _done_plan(client, key, "emptied")
            assert _bins_of(client, key, rerouted["id"], "v1")[:2] == [first["bin_id"], y]
            assert flag(y) is False  # judged again by the reroute: y comes next there
        finally:
            planner.reroute_go.set()
            planner.replan_go.set()
        wait(runtime)
        newest = client.get(f"/plans?plan_date={PLAN_DATE}", headers=key).json()[0]
        assert newest["status"] == "done" and newest["origin"] == "fleet", newest
        assert y not in _bins_of(client, key, newest["id"], "v1")
        assert flag(y) is True


def test_a_waiting_alert_on_a_bin_no_street_reaches_reads_unserved_after_a_plan_job(
    settings: Settings,
) -> None:
    """Alerts on b1 and on ``lost`` (entered off the map) wait for the day's plan
    (``no_plan``); the plan job takes them in: b1's reads ``planned`` with its truck, lost's
    ``unserved`` (no truck) and plan.json lists lost unserved with the reason and
    ``alert: true`` (it said ``alert: false``, and the alert read ``planned`` with no truck)."""
    with _seeded_street_town(settings) as (client, key, runtime, network):
        at = "2026-11-25T09:00:00+02:00"
        ids = [
            client.post("/alerts", json={"bin_id": b, "at": at}, headers=key).json()["id"]
            for b in ("b1", "lost")
        ]
        wait(runtime)
        waiting = [client.get(f"/alerts/{i}", headers=key).json()["status"] for i in ids]
        assert waiting == ["no_plan", "no_plan"]
        plan = _planned(client, key, runtime)
        served, lost = (client.get(f"/alerts/{i}", headers=key).json() for i in ids)
        assert (served["status"], served["vehicle_id"]) == ("planned", "v1"), served
        assert (lost["status"], lost["vehicle_id"], lost["plan_id"]) == (
            "unserved",
            None,
            plan["id"],
        ), lost
        routes = client.get(f"/plans/{plan['id']}/routes", headers=key).json()
        assert routes["violations"] == []
        reasons = {u["bin_id"]: (u["reason"], u["alert"]) for u in routes["unserved"]}
        assert reasons["lost"] == (_lost_reason(network), True)


def _lost_fixed_then_b2_alerted(
    client: TestClient, key: dict[str, str], runtime: Runtime
) -> tuple[int, int]:
    """On the planned street town, an alert on ``lost`` (entered off the map) at 09:00
    reads ``unserved``; the dispatcher fixes its coordinates, and an alert on b2 at 09:30
    reroutes the day. The ids of lost's alert and of the reroute's plan."""
    _planned(client, key, runtime)

    def alert(bin_id: str, at: str) -> int:
        made = client.post("/alerts", json={"bin_id": bin_id, "at": at}, headers=key)
        wait(runtime)
        return int(made.json()["id"])

    lost = alert("lost", LOST_ALERT_AT)
    assert client.get(f"/alerts/{lost}", headers=key).json()["status"] == "unserved"
    row = client.get("/bins/lost", headers=key).json()
    (lon, lat) = grid(1, 0.2)
    fixed = {**row, "lon": lon, "lat": lat}
    assert client.put("/bins/lost", json=fixed, headers=key).status_code == 200
    other = alert("b2", f"{PLAN_DATE}T09:30:00+02:00")
    return lost, int(client.get(f"/alerts/{other}", headers=key).json()["plan_id"])


LOST_ALERT_AT = f"{PLAN_DATE}T09:00:00+02:00"


def test_an_unserved_alert_on_a_bin_placed_since_follows_the_reroute_that_empties_it(
    settings: Settings,
) -> None:
    """The alert on ``lost`` (entered off the map) reads ``unserved``; the dispatcher fixes
    its coordinates, and a later reroute for an alert on b2 empties it as an alert visit:
    the alert now reads ``rerouted`` with that plan, its truck and time, and its response
    target, 09:00 + the response time, as a re-plan gives it (the reroute gave targets to
    the alerts it took in only: it read ``respond_by`` None, and plan.json had none for
    the visit)."""
    with _seeded_street_town(settings) as (client, key, runtime, _):
        lost, newest = _lost_fixed_then_b2_alerted(client, key, runtime)
        routes = client.get(f"/plans/{newest}/routes", headers=key).json()
        visits = [
            (r["vehicle_id"], v)
            for r in routes["routes"]
            for v in r["visits"]
            if v.get("bin_id") == "lost"
        ]
        assert [(truck, v.get("alert")) for truck, v in visits] == [("v1", True)], routes
        assert "lost" not in {u["bin_id"] for u in routes["unserved"]}  # no reason left
        got = client.get(f"/alerts/{lost}", headers=key).json()
        assert (got["status"], got["vehicle_id"], got["plan_id"]) == ("rerouted", "v1", newest)
    ((_, visit),) = visits
    target = datetime.fromisoformat(LOST_ALERT_AT) + timedelta(minutes=settings.alert_response_min)
    assert got["eta"] is not None
    assert datetime.fromisoformat(got["eta"]) == datetime.fromisoformat(visit["start"])
    assert got["respond_by"] is not None, got
    assert datetime.fromisoformat(got["respond_by"]) == target
    assert datetime.fromisoformat(visit["respond_by"]) == target


def test_an_alert_no_truck_could_serve_is_planned_once_its_truck_is_back(
    settings: Settings,
) -> None:
    """The town's only truck breaks down at 08:00: the alert on b1 at 09:00 reads
    ``unserved`` (no truck). Back in service at 10:00, the re-plan of the day sends it to
    b1: the alert reads ``planned`` with that plan and the truck."""
    with _seeded_street_town(settings) as (client, key, runtime, _):
        _planned(client, key, runtime)

        def at(hhmm: str) -> str:
            now = f"{PLAN_DATE}T{hhmm}:00+02:00"
            runtime.jobs.clock = lambda: datetime.fromisoformat(now)
            return now

        at("08:00")
        down = client.post("/vehicles/v1/downtimes", json={"reason": "hydraulics"}, headers=key)
        assert down.status_code == 202, down.text
        wait(runtime)
        made = client.post("/alerts", json={"bin_id": "b1", "at": at("09:00")}, headers=key)
        wait(runtime)
        alert = f"/alerts/{made.json()['id']}"
        assert client.get(alert, headers=key).json()["status"] == "unserved"
        at("10:00")
        url = f"/vehicles/v1/downtimes/{down.json()['id']}/end"
        (job,) = client.post(url, json={}, headers=key).json()["replans"]
        wait(runtime)
        got = client.get(alert, headers=key).json()
        assert (got["status"], got["vehicle_id"], got["plan_id"]) == ("planned", "v1", job)
