"""Overflow alerts reroute the running plan into a new version with a per-truck diff; an
alert waits for a plan, reads unserved only when its own visit is left out."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from fastapi.testclient import TestClient

from api import repo
from api.deps import Runtime, get_planner
from api.planner import PlanExports
from tests.api.alerts.helpers import NEW_BIN, NOON, accepted_report, seeded_plan
from tests.api.conftest import PLAN_DATE, seed, wait
from tests.api.fakes import FakePlanner


def test_alert_reroutes_into_new_version_with_diff(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    planner: FakePlanner,
) -> None:
    dispatcher, viewer = keys["dispatcher"], keys["viewer"]
    base = seeded_plan(client, dispatcher, runtime)
    progress = {
        "vehicle_id": "v1",
        "at": "2026-11-25T11:00:00+02:00",
        "kind": "visit_done",
        "bin_id": "b0",
    }
    accepted_report(client, f"/plans/{base}/progress", progress, dispatcher)
    position = {
        "vehicle_id": "v1",
        "at": "2026-11-25T11:30:00+02:00",
        "kind": "position",
        "lon": 24.95,
        "lat": 60.175,
    }
    accepted_report(client, f"/plans/{base}/progress", position, dispatcher)

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
    seeded_plan(client, dispatcher, runtime)
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
    base = seeded_plan(client, dispatcher, runtime)
    done = {"vehicle_id": "v1", "at": "2026-11-25T11:00:00+02:00", "kind": "visit_done"}
    accepted_report(client, f"/plans/{base}/progress", {**done, "bin_id": "b0"}, dispatcher)
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
    base = seeded_plan(client, dispatcher, runtime)
    where = {"vehicle_id": "v2", "at": "2026-11-25T06:20:00+02:00", "kind": "position"}
    accepted_report(
        client, f"/plans/{base}/progress", {**where, "lon": 24.945, "lat": 60.172}, dispatcher
    )
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
    seeded_plan(client, dispatcher, runtime)
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
    seeded_plan(client, dispatcher, runtime)
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
    seeded_plan(client, dispatcher, runtime)

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
