"""Alerts while plans run, and across the service's stops and starts; the day plan kept
by the newest finished plan of a day."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api import repo
from api.app import create_app
from api.db import PlanRow
from api.deps import Runtime
from api.routing import Routing
from api.security import Role, issue_key
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.alerts.helpers import NEW_BIN, NOON, seeded_plan
from tests.api.conftest import PLAN_DATE, seed, wait
from tests.api.fakes import FakePlanner


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
    base = seeded_plan(client, dispatcher, runtime)
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
    seeded_plan(client, dispatcher, runtime)
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
    seeded_plan(client, dispatcher, runtime)
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
