"""The service's restarts: trucks back from the workshop while it was down, nights a
restart cut short or missed past their grace, run at the next start."""

from __future__ import annotations

import time as t
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.db import DowntimeRow, NightlyRunRow
from api.routing import Routing
from api.scheduler import (
    RERUN_JOB_ID,
    back_in_service_job,
    back_job_id,
    runtime_key,
)
from api.security import Role, issue_key
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import seed
from tests.api.fakes import FakePlanner
from tests.api.scheduler.helpers import DAY, nightly_plans, serving


def test_a_truck_back_from_the_workshop_at_a_booked_time_gets_its_day_replanned(
    settings: Settings,
) -> None:
    """Maintenance booked 12:00-13:00 on a day with a plan: a job stored for 13:00 re-plans
    that day then (the truck takes bins again); a later end moves it, an end now drops it,
    and so does deleting the booking. Fired for a deleted downtime, or on another day,
    it plans nothing. (The scheduler runs on the real clock: the day is a week ahead.)"""
    fake = FakePlanner()
    on = settings.model_copy(update={"scheduler_enabled": True})
    app = create_app(on, planner=fake, routing=Routing.static(HaversineProvider()))
    day = date.today() + timedelta(days=7)
    with serving(app, Role.DISPATCHER) as (client, runtime, key):
        noon = datetime.combine(day, time(12), tzinfo=on.tz)
        runtime.jobs.clock = lambda: noon - timedelta(hours=3)
        client.post("/plans", json={"plan_date": day.isoformat()}, headers=key)
        assert runtime.jobs.wait_idle(30)
        body = {"start_at": noon.isoformat(), "end_at": (noon + timedelta(hours=1)).isoformat()}
        booked = client.post("/vehicles/v1/downtimes", json=body, headers=key).json()
        job = runtime.scheduler.get_job(back_job_id(booked["id"]))
        assert job.next_run_time == noon + timedelta(hours=1)
        assert runtime.jobs.wait_idle(30)
        plans = len(client.get("/plans", headers=key).json())
        runtime.jobs.clock = lambda: noon + timedelta(hours=1)
        back_in_service_job(runtime_key(on.database_url), booked["id"])
        assert runtime.jobs.wait_idle(30)
        newest = client.get("/plans", headers=key).json()[0]
        assert len(client.get("/plans", headers=key).json()) == plans + 1
        assert (newest["origin"], newest["status"]) == ("downtime", "done")
        runtime.jobs.clock = lambda: noon + timedelta(minutes=30)
        url = f"/vehicles/v1/downtimes/{booked['id']}/end"
        client.post(url, json={"at": (noon + timedelta(minutes=45)).isoformat()}, headers=key)
        job = runtime.scheduler.get_job(back_job_id(booked["id"]))
        assert job.next_run_time == noon + timedelta(minutes=45)
        client.post(url, json={}, headers=key)  # back now: nothing left to wait for
        assert runtime.scheduler.get_job(back_job_id(booked["id"])) is None
        again = client.post("/vehicles/v1/downtimes", json=body, headers=key).json()
        assert runtime.scheduler.get_job(back_job_id(again["id"])) is not None
        client.delete(f"/vehicles/v1/downtimes/{again['id']}", headers=key)
        assert runtime.scheduler.get_job(back_job_id(again["id"])) is None
        assert runtime.jobs.wait_idle(30)
        plans = len(client.get("/plans", headers=key).json())
        back_in_service_job(runtime_key(on.database_url), again["id"])  # deleted: nothing
        runtime.jobs.clock = lambda: noon + timedelta(days=1)
        back_in_service_job(runtime_key(on.database_url), booked["id"])  # not its day
        assert runtime.jobs.wait_idle(30)
        assert len(client.get("/plans", headers=key).json()) == plans


def _ended_while_down(settings: Settings, downtime_id: int, at: datetime) -> None:
    """Downtime ``downtime_id`` and its stored back-in-service job moved to end ``at``, in
    the database of a stopped service (as if it had ended while the service was down)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as s, s.begin():
            row = s.get(DowntimeRow, downtime_id)
            assert row is not None
            row.end_at = at
        store = SQLAlchemyJobStore(engine=engine)
        store.start(BackgroundScheduler(), "default")  # the store alone; no scheduler runs
        job = store.lookup_job(back_job_id(downtime_id))
        assert job is not None
        job._modify(next_run_time=at)
        store.update_job(job)
    finally:
        engine.dispose()


def test_a_truck_back_while_the_service_was_down_gets_its_day_replanned_at_start(
    settings: Settings,
) -> None:
    """A downtime ends while the service is down, and it starts again past the 1 s misfire
    grace: the stored job still re-plans the day at start (it was dropped as missed, and
    the truck stayed out of the day's plan). The downtime is booked to end in an hour, and
    once the first service has stopped its end and its job are moved to five seconds ago
    in the database: a job due while a scheduler shuts down runs or is dropped there, even
    a paused one (APScheduler's loop takes due jobs once more as it stops), and with a
    real end a second after booking a busy machine got there. The scheduler runs on the
    real clock, so the day is today; the services' clocks stand a minute before the end
    and at the end (a run across midnight still plans and re-plans one day)."""
    on = settings.model_copy(update={"scheduler_enabled": True, "misfire_grace_s": 1})
    fake = FakePlanner()
    ended = datetime.now(on.tz) - timedelta(seconds=5)  # past the grace at the next start
    today = ended.date()

    def app(clock: datetime) -> Any:
        routing = Routing.static(HaversineProvider())
        return create_app(on, planner=fake, routing=routing, clock=lambda: clock)

    booking = ended - timedelta(minutes=1)
    first = app(booking)
    with TestClient(first) as client:
        runtime = first.state.runtime
        key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
        seed(client, key)
        client.post("/plans", json={"plan_date": today.isoformat()}, headers=key)
        assert runtime.jobs.wait_idle(30)
        end = datetime.now(on.tz) + timedelta(hours=1)  # not due before this service stops
        body = {"start_at": (booking - timedelta(minutes=5)).isoformat(), "end_at": end.isoformat()}
        booked = client.post("/vehicles/v1/downtimes", json=body, headers=key).json()
        assert runtime.scheduler.get_job(back_job_id(booked["id"])) is not None
        assert runtime.jobs.wait_idle(30)
        plans = len(client.get("/plans", headers=key).json())
    _ended_while_down(on, booked["id"], ended)
    again = app(ended)
    with TestClient(again) as client:
        runtime = again.state.runtime
        key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t2")}
        deadline = t.monotonic() + 30
        # the job leaves the store as it is handed to a thread, before it queues the
        # re-plan: wait for the re-plan to be over
        while True:
            newest = client.get("/plans", headers=key).json()
            if len(newest) > plans and newest[0]["status"] in ("done", "failed"):
                break
            assert t.monotonic() < deadline, "the stored job never re-planned the day"
            t.sleep(0.1)
        assert runtime.scheduler.get_job(back_job_id(booked["id"])) is None
        assert runtime.jobs.wait_idle(30)
        newest = client.get("/plans", headers=key).json()
        assert len(newest) == plans + 1
        assert (newest[0]["origin"], newest[0]["status"]) == ("downtime", "done")


def _interrupted_night(settings: Settings, with_plan: bool) -> None:
    """The database as a process stopped mid-way through ``DAY``'s nightly run leaves it:
    the run and its plan job running; with ``with_plan``, a dispatcher's finished plan of
    ``DAY`` from before."""
    app = create_app(settings, planner=FakePlanner(), routing=Routing.static(HaversineProvider()))
    with TestClient(app) as client:  # the schema, the inventory and the nightly job stored
        seed(client, {"X-API-Key": issue_key(app.state.runtime.db, Role.ADMIN, "t")})
        if with_plan:
            done = app.state.runtime.jobs.create_plan(DAY, 1, "request", status="done")
            with app.state.runtime.db.writer() as s:
                s.execute(text("UPDATE plans SET state = x'00' WHERE id = :i"), {"i": done.id})
        app.state.runtime.jobs.create_plan(DAY, 3, "nightly", status="running")
        with app.state.runtime.db.writer() as s:
            s.add(NightlyRunRow(plan_date=DAY, status="running", message=""))


@pytest.mark.parametrize("with_plan", [False, True])
def test_a_nightly_run_a_restart_cut_short_runs_again_at_the_start(
    settings: Settings, with_plan: bool
) -> None:
    """The service stopped at 02:03 while ``DAY``'s nightly plan ran. It is up again at 02:10:
    the run is marked failed and runs again at once (its job had fired: it was due again
    only tomorrow, and the trucks would have gone out on no plan). Not when a dispatcher's
    finished plan of the day is there."""
    on = settings.model_copy(update={"scheduler_enabled": True})
    _interrupted_night(on, with_plan)
    fake = FakePlanner()
    back = datetime.combine(DAY, time(2, 10), tzinfo=on.tz)
    app = create_app(
        on, planner=fake, routing=Routing.static(HaversineProvider()), clock=lambda: back
    )
    with TestClient(app):
        runtime = app.state.runtime
        for _ in range(1500):
            if with_plan or nightly_plans(on) == [(str(DAY), "done")]:
                break
            t.sleep(0.02)
        runtime.jobs.wait_idle(30)
        assert runtime.scheduler.get_job("binroute-nightly-rerun") is None  # ran, or none
    if with_plan:
        assert nightly_plans(on) == [(str(DAY), "failed")] and fake.calls == []
    else:
        assert nightly_plans(on) == [(str(DAY), "done")] and len(fake.calls) == 1


@pytest.mark.parametrize(
    ("back_at", "planned"),
    [(time(0, 30), False), (time(3, 30), True), (time(6, 30), False)],
)
def test_a_service_killed_during_the_night_and_up_after_the_next_midnight(
    settings: Settings, back_at: time, planned: bool
) -> None:
    """Killed at 02:03 while ``DAY``'s nightly plan ran, the service is up again on the next
    day. ``DAY`` is over: not planned again. At 00:30 the next day's nightly (02:00) is still
    to come: nothing runs at the start. At 03:30 its time has passed while the service was
    down (past the hour of misfire grace) and the trucks leave at 06:00: the next day is
    planned at once (it used to wait for a dispatcher, the trucks going out on no plan). At
    06:30 the day has begun: nothing runs (a dispatcher plans the rest of it)."""
    on = settings.model_copy(update={"scheduler_enabled": True, "misfire_grace_s": 3600})
    _interrupted_night(on, with_plan=False)
    fake = FakePlanner()
    nxt = DAY + timedelta(days=1)
    back = datetime.combine(nxt, back_at, tzinfo=on.tz)
    app = create_app(
        on, planner=fake, routing=Routing.static(HaversineProvider()), clock=lambda: back
    )
    with TestClient(app):
        runtime = app.state.runtime
        deadline = t.monotonic() + 30
        while planned and (str(nxt), "done") not in nightly_plans(on):
            assert t.monotonic() < deadline, nightly_plans(on)
            t.sleep(0.02)
        assert runtime.jobs.wait_idle(30)
        assert runtime.scheduler.get_job(RERUN_JOB_ID) is None  # ran, or none
    runs = sorted(nightly_plans(on))
    if planned:
        assert runs == [(str(DAY), "failed"), (str(nxt), "done")]
        assert [c["plan_date"] for c in fake.calls] == [nxt]
    else:
        assert runs == [(str(DAY), "failed")] and fake.calls == []


def test_a_nightly_missed_past_the_grace_is_made_at_the_start_before_the_shifts(
    settings: Settings,
) -> None:
    """The service was down from before ``DAY``'s 02:00 run until 04:00, past the 60 s
    misfire grace: the plan is made as it starts (the shifts begin at 06:00); on a second
    start, the day planned, nothing runs again."""
    on = settings.model_copy(update={"scheduler_enabled": True, "misfire_grace_s": 60})
    app = create_app(on, planner=FakePlanner(), routing=Routing.static(HaversineProvider()))
    with TestClient(app) as client:
        seed(client, {"X-API-Key": issue_key(app.state.runtime.db, Role.ADMIN, "t")})
    fake = FakePlanner()
    back = datetime.combine(DAY, time(4), tzinfo=on.tz)
    for _restart in range(2):
        routing = Routing.static(HaversineProvider())
        app = create_app(on, planner=fake, routing=routing, clock=lambda: back)
        with TestClient(app):
            deadline = t.monotonic() + 30
            while (str(DAY), "done") not in nightly_plans(on):
                assert t.monotonic() < deadline, nightly_plans(on)
                t.sleep(0.02)
            assert app.state.runtime.jobs.wait_idle(30)
    assert nightly_plans(on) == [(str(DAY), "done")]
    assert [c["plan_date"] for c in fake.calls] == [DAY]
