"""A crew reports a bin it could not empty (``visit_missed``): the truck passed the stop,
took nothing from it, and the bin is still to be emptied that day."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import repo
from api.deps import Runtime
from tests.api.conftest import PLAN_DATE, wait
from tests.api.pipeline.helpers import first_bin_of_a_plan, planned_the_night_before


def _report(
    client: TestClient, key: dict[str, str], plan_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    resp = client.post(f"/plans/{plan_id}/progress", json=body, headers=key)
    assert resp.status_code == 201, resp.text
    got: dict[str, Any] = resp.json()
    return got


def _crew_alert(client: TestClient, key: dict[str, str], bin_id: str) -> dict[str, Any]:
    """The one alert on ``bin_id`` the missed report raised (source ``crew``)."""
    alerts = [a for a in client.get("/alerts", headers=key).json() if a["bin_id"] == bin_id]
    assert [a["source"] for a in alerts] == ["crew"], alerts
    return alerts[0]


def _logged(runtime: Runtime) -> dict[str, datetime]:
    """The collection log's last emptying of each bin, over the plan's day."""
    start = datetime.fromisoformat(f"{PLAN_DATE}T00:00:00+02:00")
    with runtime.db.reader() as s:
        return repo.collection_log(s, start, start + timedelta(days=1)).last_emptied


def _again(doc: dict[str, Any], bin_id: str, first_ref: str) -> list[tuple[str, dict[str, Any]]]:
    """The visits of ``bin_id`` other than its first planned one in a plan JSON, with their
    trucks."""
    return [
        (r["vehicle_id"], v)
        for r in doc["routes"]
        for v in r["visits"]
        if v["kind"] == "bin" and v["bin_id"] == bin_id and v["ref"] != first_ref
    ]


def _waypoint_load(doc: dict[str, Any], truck: str) -> int:
    """The load (l) of ``truck``'s last waypoint (where it stood when rerouted)."""
    visits = next(r for r in doc["routes"] if r["vehicle_id"] == truck)["visits"]
    load: int = [v for v in visits if v["kind"] == "waypoint"][-1]["load_l"]
    return load


def _missed_in_downloads(
    client: TestClient, key: dict[str, str], plan_id: int, truck: str
) -> list[str]:
    """The visits marked missed in the plan's CSV, GeoJSON, ``truck``'s GPX and VROOM
    downloads, in that order."""
    text = client.get(f"/plans/{plan_id}/csv", headers=key).text.lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["missed"] for r in rows} == {"true", "false"}, rows
    geo = client.get(f"/plans/{plan_id}/geojson", headers=key).json()
    stops = [f["properties"] for f in geo["features"] if f["geometry"]["type"] == "Point"]
    gpx = ET.fromstring(client.get(f"/plans/{plan_id}/gpx/{truck}", headers=key).text)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    vroom = client.get(f"/plans/{plan_id}/vroom", headers=key).json()
    return (
        [r["ref"] for r in rows if r["missed"] == "true"]
        + [p["ref"] for p in stops if p["missed"]]
        + [
            (p.findtext("g:name", namespaces=ns) or "").split()[-1]
            for p in gpx.findall("g:rte/g:rtept", ns)
            if p.find("g:desc", ns) is not None
        ]
        + [s["id"] for r in vroom["routes"] for s in r["steps"] if s.get("missed")]
    )


def test_a_bin_the_crew_could_not_empty_is_served_again_and_not_carried(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The crew empties its truck's second bin and reports that it could not empty the
    first (a car parked in front; the tablet sent it late). Both reports are listed, the
    missed one with its reason; the collection log has the second bin only. The reroute the
    missed report queues has the truck carry the second bin alone (the route's prefix up to
    its last report used to be taken for done, the missed bin with it) and sends a truck
    to the missed bin again, after the report, breaking no rule; the visit passed is marked
    missed (in the routes and in the CSV, GeoJSON, GPX and VROOM downloads) and the KPIs
    count it no collection. The second bin, reported before the first was, is judged
    emptied off the route (its route's first bin was not reported yet): collected all the
    same, and not visited again. Its later emptying is logged."""
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
    truck, missed = route["vehicle_id"], first["bin_id"]
    second = [v for v in route["visits"] if v["kind"] == "bin"][1]
    done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": second["bin_id"]}
    ahead = _report(real_client, key, plan["id"], {**done, "at": second["end"]})
    assert (ahead["off_route"], ahead["rerouting"]) == (True, True)  # still sent there
    at = datetime.fromisoformat(first["end"])
    body = {"vehicle_id": truck, "kind": "visit_missed", "bin_id": missed, "at": at.isoformat()}
    out = _report(real_client, key, plan["id"], {**body, "reason": "parked car"})
    assert (out["kind"], out["reason"], out["off_route"]) == ("visit_missed", "parked car", False)
    assert out["rerouting"] is True  # its alert's reroute
    wait(runtime)

    listed = real_client.get(f"/plans/{plan['id']}/progress", headers=key).json()
    assert [(r["kind"], r["bin_id"], r["reason"]) for r in listed] == [
        ("visit_missed", missed, "parked car"),
        ("visit_done", second["bin_id"], None),
    ]
    assert set(_logged(runtime)) == {second["bin_id"]}
    alert = _crew_alert(real_client, key, missed)
    assert alert["status"] == "rerouted", alert
    assert alert["note"] == f"{truck}'s crew could not empty it at {at:%H:%M} (parked car)"
    new = real_client.get(f"/plans/{alert['plan_id']}/routes", headers=key).json()
    assert new["violations"] == []
    assert _waypoint_load(new, truck) == second["load_l"] - first["load_l"]  # the second alone
    ((server, visit),) = _again(new, missed, first["ref"])
    assert datetime.fromisoformat(visit["start"]) >= at
    assert missed not in {u["bin_id"] for u in new["unserved"]}
    passed = [v for r in new["routes"] for v in r["visits"] if v.get("missed")]
    assert [v["ref"] for v in passed] == [first["ref"]]
    assert _missed_in_downloads(real_client, key, alert["plan_id"], truck) == [first["ref"]] * 4
    kpis = real_client.get(f"/plans/{alert['plan_id']}/kpis", headers=key).json()
    bins = sum(1 for r in new["routes"] for v in r["visits"] if v["kind"] == "bin")
    assert second["bin_id"] not in {v.get("bin_id") for r in new["routes"] for v in r["visits"]}
    # the visit passed is no collection; the second bin, emptied off the route, is one
    assert kpis["bins_collected"] == bins - 1 + 1

    emptied = {"vehicle_id": server, "kind": "visit_done", "bin_id": missed}
    _report(real_client, key, alert["plan_id"], {**emptied, "at": visit["end"]})
    wait(runtime)
    assert _logged(runtime)[missed] == datetime.fromisoformat(visit["end"])


def test_a_bin_missed_off_the_truck_s_route_stays_to_do(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """A truck's crew reports a bin of the other truck's route not emptied. The report is
    flagged off route and passes no stop of its own route; the reroute it queues still
    empties the bin once (an emptying off route would have taken the other truck's visit
    out), after the report, breaking no rule, and nothing is logged emptied."""
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
    reporter = ({"v1", "v2"} - {route["vehicle_id"]}).pop()
    theirs = [v for v in route["visits"] if v["kind"] == "bin"][1]
    at = datetime.fromisoformat(first["end"])
    body = {"vehicle_id": reporter, "kind": "visit_missed", "bin_id": theirs["bin_id"]}
    out = _report(real_client, key, plan["id"], {**body, "at": at.isoformat()})
    assert out["off_route"] is True
    wait(runtime)
    alert = _crew_alert(real_client, key, theirs["bin_id"])
    assert alert["status"] == "rerouted", alert
    new = real_client.get(f"/plans/{alert['plan_id']}/routes", headers=key).json()
    assert new["violations"] == []
    visits = [v for r in new["routes"] for v in r["visits"] if v.get("bin_id") == theirs["bin_id"]]
    assert len(visits) == 1 and datetime.fromisoformat(visits[0]["start"]) >= at
    assert not any(v.get("missed") for r in new["routes"] for v in r["visits"])
    assert _logged(runtime) == {}


def test_a_missed_report_sent_twice_raises_one_alert(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The tablet sends the crew's missed report twice (a retry after a timeout): the
    second is a resend, as for an emptying, and raises no second alert on the bin (it
    did, each sent on to a reroute of its own); the route has the stop passed once. The
    answers say the first reroutes the day, the resend not."""
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
    body = {"vehicle_id": route["vehicle_id"], "kind": "visit_missed", "at": first["end"]}
    sent = [
        _report(real_client, key, plan["id"], {**body, "bin_id": first["bin_id"]}) for _ in range(2)
    ]
    assert [(o["resend"], o["rerouting"]) for o in sent] == [(False, True), (True, False)]
    wait(runtime)
    alert = _crew_alert(real_client, key, first["bin_id"])  # before, two
    assert alert["status"] == "rerouted", alert
    new = real_client.get(f"/plans/{alert['plan_id']}/routes", headers=key).json()
    passed = [v["ref"] for r in new["routes"] for v in r["visits"] if v.get("missed")]
    assert passed == [first["ref"]]


def test_a_bin_missed_too_late_for_any_truck_reads_unserved_with_the_crew_s_reason(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """A crew reports its first bin not emptied (enclosure locked) five minutes before the
    shifts end: no truck can go back today, so the reroute lists the bin unserved, the
    reason saying when and why the crew could not empty it."""
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
    truck, missed = route["vehicle_id"], first["bin_id"]
    at = f"{PLAN_DATE}T13:55:00+02:00"
    body = {"vehicle_id": truck, "kind": "visit_missed", "bin_id": missed, "at": at}
    _report(real_client, key, plan["id"], {**body, "reason": "enclosure locked"})
    wait(runtime)
    alert = _crew_alert(real_client, key, missed)
    assert alert["status"] == "unserved", alert
    new = real_client.get(f"/plans/{alert['plan_id']}/routes", headers=key).json()
    reasons = {u["bin_id"]: u["reason"] for u in new["unserved"]}
    assert reasons[missed].startswith(
        f"{truck}'s crew could not empty it at 13:55 (enclosure locked)"
    ), reasons
    assert new["violations"] == []
    assert missed not in _logged(runtime)


def test_a_re_plan_lists_a_bin_missed_too_late_unserved_with_the_crew_s_reason(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """Today, v1's crew empties its first bin, then finds its second missing at 13:50; the
    dispatcher plans the rest of the day again at 13:53 (a plan job while a truck is out
    re-plans from where it is): the re-plan too lists the bin unserved, saying when and why
    its crew could not empty it (v1, loaded, can no longer be home by its shift end: the
    checker's one finding)."""
    runtime, key, local, night = planned_the_night_before(
        real_app, real_client, {"v1": None}, 3, 0.9
    )
    routes = real_client.get(f"/plans/{night['id']}/routes", headers=key).json()["routes"]
    first, b1 = [v for v in routes[0]["visits"] if v["kind"] == "bin"][:2]
    emptied = {"vehicle_id": "v1", "kind": "visit_done", "bin_id": first["bin_id"]}
    _report(real_client, key, night["id"], {**emptied, "at": first["end"]})
    at = local + timedelta(hours=13, minutes=50)
    runtime.jobs.clock = lambda: at + timedelta(minutes=2)
    body = {
        "vehicle_id": "v1",
        "kind": "visit_missed",
        "bin_id": b1["bin_id"],
        "at": at.isoformat(),
    }
    _report(real_client, key, night["id"], {**body, "reason": "bin missing"})
    wait(runtime)
    assert _crew_alert(real_client, key, b1["bin_id"])["status"] == "unserved"
    runtime.jobs.clock = lambda: at + timedelta(minutes=3)
    made = real_client.post(
        "/plans", json={"plan_date": PLAN_DATE, "time_limit_s": 1}, headers=key
    ).json()
    wait(runtime)
    doc = real_client.get(f"/plans/{made['id']}/routes", headers=key).json()
    assert doc["notes"][0].startswith("re-planned at 13:53 from where the trucks are")
    # loaded, v1 cannot unload and be home by 14:00 any more: the checker says so
    assert [(v["vehicle_id"], v["code"]) for v in doc["violations"]] == [("v1", "shift")]
    reasons = {u["bin_id"]: u["reason"] for u in doc["unserved"]}
    assert reasons[b1["bin_id"]].startswith("v1's crew could not empty it at 13:50 (bin missing); ")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "visit_missed"}, "bin_id"),
        ({"kind": "visit_missed", "bin_id": "b1", "reason": "x" * 201}, "reason"),
        ({"kind": "visit_missed", "bin_id": "b1", "reason": ""}, "reason"),
        ({"kind": "visit_done", "bin_id": "b1", "reason": "parked car"}, "reason"),
        ({"kind": "visit_missed", "bin_id": "b1", "fill_fraction": 0.5}, "fill_fraction"),
        ({"kind": "visit_missed", "bin_id": "nope"}, "bin_id"),
    ],
    ids=["no-bin", "reason-too-long", "reason-empty", "reason-on-done", "fill", "unknown-bin"],
)
def test_a_bad_missed_report_is_refused_naming_the_field(
    real_app: FastAPI, real_client: TestClient, body: dict[str, Any], field: str
) -> None:
    _, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
    report = {"vehicle_id": route["vehicle_id"], "at": first["end"], **body}
    resp = real_client.post(f"/plans/{plan['id']}/progress", json=report, headers=key)
    assert resp.status_code == 422, resp.text
    (err,) = resp.json()["detail"]
    assert field in err["loc"] or field in err["msg"], err
    assert real_client.get(f"/plans/{plan['id']}/progress", headers=key).json() == []
