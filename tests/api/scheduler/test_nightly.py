"""Nightly scheduling: one persistent job across restarts, at most one run per date, runs
listed with their failures, readings older than the days kept pruned."""

from __future__ import annotations

import pickle
import sqlite3
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from api import nightly_runs, repo
from api.app import create_app
from api.db import NightlyRunRow, PlanRow
from api.deps import Runtime
from api.routing import Routing
from api.scheduler import (
    JOB_ID,
    nightly_job,
    run_nightly,
    runtime_key,
)
from api.security import Role, issue_key
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import seed
from tests.api.fakes import FakeDay, FakePlanner
from tests.api.scheduler.helpers import DAY, nightly_plans, serving


def _start_and_stop(settings: Settings) -> dict[str, Any]:
    app = create_app(settings, planner=FakePlanner(), routing=Routing.static(HaversineProvider()))
    with TestClient(app):
        job = app.state.runtime.scheduler.get_job(JOB_ID)
        return {
            "misfire": job.misfire_grace_time,
            "coalesce": job.coalesce,
            "max_instances": job.max_instances,
            "trigger": str(job.trigger),
        }


def test_job_registered_once_across_restarts(settings: Settings) -> None:
    """Two app starts on the same database leave exactly one stored nightly job."""
    on = settings.model_copy(
        update={"scheduler_enabled": True, "misfire_grace_s": 1800, "nightly_cron": "30 1 * * *"}
    )
    first = _start_and_stop(on)
    second = _start_and_stop(on)
    assert first == second
    assert first["misfire"] == 1800
    assert first["coalesce"] is True
    assert first["max_instances"] == 1
    assert "hour='1'" in first["trigger"] and "minute='30'" in first["trigger"]
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            ids = conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all()
    finally:
        engine.dispose()
    assert ids == [JOB_ID]
    moved = _start_and_stop(on.model_copy(update={"nightly_cron": "0 4 * * *"}))
    assert "hour='4'" in moved["trigger"]  # a changed setting replaces the stored job


def test_nightly_runs_pipeline_and_stores_plan(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """ingest (readings from the DB) -> forecast+plan (planner) -> store -> publish."""
    seed(client, keys["dispatcher"])
    fake = FakePlanner()
    plan_id = run_nightly(runtime, DAY, planner=fake)
    assert plan_id is not None
    assert {r.bin_id for r in fake.calls[0]["readings"]} == {"b0", "b1", "b2", "b3"}
    with runtime.db.reader() as s:
        row = s.get(PlanRow, plan_id)
        run = s.get(NightlyRunRow, DAY)
        stored = row.state if row is not None else None
    assert row is not None and run is not None
    assert (row.origin, row.status, row.plan_date) == ("nightly", "done", DAY)
    assert row.time_limit_s == runtime.settings.nightly_time_limit_s == 3  # the night's budget
    assert isinstance(pickle.loads(stored or b""), FakeDay)
    assert (run.status, run.plan_id, run.message) == ("done", plan_id, "published")


def _stored_readings(runtime: Runtime) -> list[tuple[str, datetime]]:
    """The readings stored, each (bin, when), oldest first."""
    ever = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
    with runtime.db.reader() as s:
        return [(r.bin_id, r.at) for r in repo.load_readings(s, *ever)]


def test_a_nightly_run_deletes_the_readings_older_than_the_days_kept(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Readings kept 14 days: the night of DAY, once its plan is published, deletes the
    three readings dated before 2026-11-11 (two at a time: each write short), keeps the
    one of that midnight and after, and says how many; the plan read what it reads."""
    keep = runtime.settings.model_copy(update={"readings_keep_days": 14})
    monkeypatch.setattr(runtime, "settings", keep)
    monkeypatch.setattr(nightly_runs, "PRUNE_BATCH", 2)
    seed(client, keys["dispatcher"])
    midnight = datetime(2026, 11, 11, tzinfo=runtime.settings.tz)
    old = [midnight - timedelta(days=d, seconds=1) for d in (0, 3, 30)]
    rows = [{"bin_id": "b0", "at": at.isoformat(), "fill_fraction": 0.2} for at in (*old, midnight)]
    assert client.post("/readings", json=rows, headers=keys["dispatcher"]).status_code == 200
    fake = FakePlanner()
    assert run_nightly(runtime, DAY, planner=fake) is not None
    with runtime.db.reader() as s:
        run = s.get(NightlyRunRow, DAY)
    assert run is not None and run.status == "done"
    assert run.message == (
        "published; 3 reading(s) dated before 2026-11-11 deleted (readings_keep_days 14)"
    )
    kept = _stored_readings(runtime)
    assert min(at for _, at in kept) == midnight and len(kept) == 5  # seed's 4, and b0's
    assert {r.bin_id for r in fake.calls[0]["readings"]} == {"b0", "b1", "b2", "b3"}


def test_a_nightly_run_whose_pruning_fails_is_published_and_says_so(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database refuses the deletion (locked): the plan is published all the same, the
    run done, its message saying the pruning stopped and why; the readings stay."""
    from sqlalchemy import event

    monkeypatch.setattr(
        runtime, "settings", runtime.settings.model_copy(update={"readings_keep_days": 14})
    )
    seed(client, keys["dispatcher"])
    row = {"bin_id": "b0", "at": "2026-10-01T12:00:00+03:00", "fill_fraction": 0.2}
    assert client.post("/readings", json=[row], headers=keys["dispatcher"]).status_code == 200

    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("DELETE FROM readings"):
            raise sqlite3.OperationalError("database is locked")

    event.listen(runtime.db.engine, "before_cursor_execute", refuse)
    try:
        plan_id = run_nightly(runtime, DAY, planner=FakePlanner())
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", refuse)
    with runtime.db.reader() as s:
        run = s.get(NightlyRunRow, DAY)
    assert run is not None and (run.status, run.plan_id) == ("done", plan_id)
    assert run.message == (
        "published; pruning the readings before 2026-11-11 stopped after 0: database is locked"
    )
    assert len(_stored_readings(runtime)) == 5


def test_nightly_does_not_plan_a_date_twice(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    seed(client, keys["dispatcher"])
    fake = FakePlanner()
    assert run_nightly(runtime, DAY, planner=fake) is not None
    assert run_nightly(runtime, DAY, planner=fake) is None  # e.g. after a restart
    assert len(fake.calls) == 1
    with runtime.db.reader() as s:
        nightly = s.scalars(select(PlanRow).where(PlanRow.origin == "nightly")).all()
    assert len(nightly) == 1


def test_failed_nightly_may_be_retried(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    seed(client, keys["dispatcher"])
    broken = FakePlanner(fail_with=RuntimeError("solver crashed"))
    first = run_nightly(runtime, DAY, planner=broken)
    with runtime.db.reader() as s:
        run = s.get(NightlyRunRow, DAY)
        assert run is not None and run.status == "failed"
        plan = s.get(PlanRow, first)
        assert plan is not None and plan.status == "failed"
    second = run_nightly(runtime, DAY, planner=FakePlanner())
    assert second is not None and second != first
    with runtime.db.reader() as s:
        run = s.get(NightlyRunRow, DAY)
        assert run is not None and run.status == "done"


def test_a_failed_nightly_run_is_logged_with_its_plan_date(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed(client, keys["dispatcher"])
    with caplog.at_level("ERROR", logger="api.scheduler"):
        plan_id = run_nightly(
            runtime, DAY, planner=FakePlanner(fail_with=RuntimeError("no trucks"))
        )
    assert f"nightly plan {plan_id} for {DAY} failed: no trucks" in caplog.messages


def test_nightly_runs_listed_newest_first_with_the_failure_reason(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """``GET /nightly-runs`` shows whether a night's plan was made (and why not), to readers."""
    seed(client, keys["dispatcher"])
    done_id = run_nightly(runtime, DAY - timedelta(days=1), planner=FakePlanner())
    failed_id = run_nightly(runtime, DAY, planner=FakePlanner(fail_with=RuntimeError("no trucks")))
    resp = client.get("/nightly-runs", headers=keys["viewer"])
    assert resp.status_code == 200, resp.text
    runs = [(r["plan_date"], r["status"], r["plan_id"], r["message"]) for r in resp.json()]
    assert runs == [
        (str(DAY), "failed", failed_id, "no trucks"),
        (str(DAY - timedelta(days=1)), "done", done_id, "published"),
    ]
    newest = client.get("/nightly-runs?limit=1", headers=keys["viewer"]).json()
    assert [r["plan_date"] for r in newest] == [str(DAY)]
    assert client.get("/nightly-runs", headers=keys["sensor"]).status_code == 403
    assert client.get("/nightly-runs").status_code == 401


def test_missed_run_within_grace_runs_once_after_restart(settings: Settings) -> None:
    """A run missed while the service was down starts at the next start, and only once. It
    plans the service clock's date (02:01 on ``DAY`` here; the scheduler fires on the real
    clock), so a run that spans midnight plans the date it expects."""
    import time as _time
    from datetime import datetime, timedelta

    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    on = settings.model_copy(update={"scheduler_enabled": True, "misfire_grace_s": 3600})
    fake = FakePlanner()
    app = create_app(on, planner=fake, routing=Routing.static(HaversineProvider()))
    with TestClient(app) as client:  # registers the job; then the service "goes down"
        seed(client, {"X-API-Key": issue_key(app.state.runtime.db, Role.ADMIN, "t")})
    # while down, the 02:00 run is missed: its due time is a minute ago
    engine = create_engine(on.database_url)
    store = SQLAlchemyJobStore(engine=engine)
    store.start(BackgroundScheduler(), "default")  # the store alone; no scheduler runs
    job = store.lookup_job(JOB_ID)
    job._modify(next_run_time=datetime.now(on.tz) - timedelta(minutes=1))
    store.update_job(job)
    engine.dispose()
    assert nightly_plans(on) == []

    night = datetime.combine(DAY, time(2, 1), tzinfo=on.tz)
    for _restart in range(2):
        routing = Routing.static(HaversineProvider())
        app = create_app(on, planner=fake, routing=routing, clock=lambda: night)
        with TestClient(app):
            for _ in range(500):
                if nightly_plans(on) and nightly_plans(on)[0][1] != "running":
                    break
                _time.sleep(0.02)
            app.state.runtime.jobs.wait_idle(30)
    assert nightly_plans(on) == [(str(DAY), "done")]
    assert len(fake.calls) == 1


def test_nightly_job_entry_point_uses_the_running_app(settings: Settings) -> None:
    fake = FakePlanner()
    on = settings.model_copy(update={"scheduler_enabled": True})
    night = datetime.combine(DAY, time(2), tzinfo=on.tz)  # both calls on one date
    routing = Routing.static(HaversineProvider())
    app = create_app(on, planner=fake, routing=routing, clock=lambda: night)
    with serving(app):
        nightly_job("no-such-database")  # nothing runs, nothing breaks
        assert fake.calls == []
        nightly_job(runtime_key(on.database_url))
        nightly_job(runtime_key(on.database_url))  # same night again: skipped by the guard
    assert len(fake.calls) == 1
    assert [s for _, s in nightly_plans(on)] == ["done"]
