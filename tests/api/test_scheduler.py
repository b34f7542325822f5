"""Nightly scheduling: one persistent job across restarts, and at most one run per date."""

from __future__ import annotations

import pickle
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from api.app import create_app
from api.db import NightlyRunRow, PlanRow
from api.deps import Runtime
from api.routing import Routing
from api.scheduler import JOB_ID, run_nightly
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import seed
from tests.api.fakes import FakeDay, FakePlanner

DAY = date(2026, 11, 25)


def _start_and_stop(settings: Settings) -> dict:
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
    assert row is not None and run is not None
    assert (row.origin, row.status, row.plan_date) == ("nightly", "done", DAY)
    assert isinstance(pickle.loads(row.state or b""), FakeDay)
    assert (run.status, run.plan_id, run.message) == ("done", plan_id, "published")


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
        assert s.get(PlanRow, first).status == "failed"
    second = run_nightly(runtime, DAY, planner=FakePlanner())
    assert second is not None and second != first
    with runtime.db.reader() as s:
        assert s.get(NightlyRunRow, DAY).status == "done"
