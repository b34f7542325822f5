"""The street town (a tiny street grid, one truck): places no street reaches read unserved
with the reason, and the alerts on them follow the plans; an alert left unserved while the
truck was down is planned once it is back; drivers' directions and route sheets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import Runtime, get_routing
from api.routing import Routing
from api.security import Role, issue_key
from api.settings import Settings
from network import MAX_SNAP_M
from network.providers import StreetProvider
from network.streets import StreetNetwork
from tests.api.conftest import MORNING, PLAN_DATE, the_eve, wait
from tests.api.pipeline.helpers import plan_the_day
from tests.network.conftest import build_tiny_graph, grid

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
        plan = plan_the_day(client, key, runtime)
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
        plan = plan_the_day(client, key, runtime)
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
        plan = plan_the_day(client, key, runtime)
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
        plan = plan_the_day(client, key, runtime)
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
        plan = plan_the_day(client, key, runtime)
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
    plan_the_day(client, key, runtime)

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
        plan_the_day(client, key, runtime)

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
