"""Crews' reports against the real plans (haversine times): bins found fuller, emptied off
the route or out of its order, by another crew, unloadings sooner than planned."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.db import ProgressRow
from api.deps import Runtime
from tests.api.conftest import PLAN_DATE, wait
from tests.api.pipeline.helpers import after_the_first_bin, first_bin_done, first_bin_of_a_plan


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
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
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
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    assert first_bin_done(real_client, key, plan, truck) == first
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
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    assert first_bin_done(real_client, key, plan, truck) == first
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
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
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
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
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
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
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
    (off the route) reroutes the day (origin ``emptied``; its answer says ``rerouting``),
    whose route for the truck goes on from that bin, no longer sends it there, and keeps
    the first bin to do. The crew's next reports, the first bin then the one after, are on
    that route and reroute nothing (before, the plan standing still sent the truck to the
    second bin, and the bin after it, the crew having skipped that visit, was judged off
    the route too)."""
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    bins = [v for v in route["visits"] if v["kind"] == "bin"]
    t = datetime.fromisoformat(first["end"])
    runtime.jobs.clock = lambda: t + timedelta(minutes=10)  # the day being driven
    url = f"/plans/{plan['id']}/progress"
    done = {"vehicle_id": truck, "kind": "visit_done", "bin_id": bins[1]["bin_id"]}
    resp = real_client.post(url, json={**done, "at": first["end"]}, headers=key)
    assert resp.status_code == 201, resp.text
    assert (resp.json()["off_route"], resp.json()["rerouting"]) == (True, True)
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
            assert resp.status_code == 201, resp.text
            assert (resp.json()["off_route"], resp.json()["rerouting"]) == (False, False), v


def test_a_plan_that_took_a_skipped_bin_for_done_leaves_the_next_reports_on_the_route(
    real_app: FastAPI, real_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan stored before the rule above (its second bin's report taken on the route,
    so the reroute took the first bin, never reported, for done): the truck's next bin
    is judged on its route, by the bins after its last visit reported (before the rule
    looked at the whole route, this and every later report would have been off it)."""
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
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
    runtime, key, plan, truck, other, (x, _), t = after_the_first_bin(real_app, real_client)
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
    runtime, key, plan, truck, other, (_, y), t = after_the_first_bin(real_app, real_client)
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
    runtime, key, plan, truck, other, (x, _), t = after_the_first_bin(real_app, real_client)
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
    runtime, key, plan, truck, other, (x, y), t = after_the_first_bin(real_app, real_client)
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
    runtime, key, plan, truck, other, (x, y), t = after_the_first_bin(real_app, real_client)
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
    runtime, key, _, _, _, (x, y), t = after_the_first_bin(real_app, real_client)
    bin_x = real_client.get(f"/bins/{x}", headers=key).json()
    fixed = {**bin_x, "lon": bin_x["lon"] + 0.004}
    assert real_client.put(f"/bins/{x}", json=fixed, headers=key).status_code == 200
    new = _rerouted_for(real_client, key, runtime, y, t + timedelta(minutes=5))
    visits = [v for r in new["routes"] for v in r["visits"] if v.get("bin_id") == x]
    assert [(v["lon"], v["lat"]) for v in visits] == [(fixed["lon"], fixed["lat"])]
    assert any(n.startswith("bins moved since the day was planned") for n in new["notes"])


def test_a_bin_emptied_this_morning_and_full_again_gets_a_second_visit(
    real_app: FastAPI, real_client: TestClient
) -> None:
    """The crew empties a bin; an hour later a citizen reports it overflowing again: the
    new plan version sends a truck back (``<bin>#2``) by the alert's response target, and
    the crew's second report of the bin marks that visit done at the next reroute (not
    taken for a resend)."""
    runtime, key, plan, route, first = first_bin_of_a_plan(real_app, real_client)
    truck = route["vehicle_id"]
    assert first_bin_done(real_client, key, plan, truck) == first
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
