"""Nightly scheduling: one persistent job across restarts, and at most one run per date."""

from __future__ import annotations

import pickle
import sqlite3
import threading
import time as t
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from api import nightly_runs, repo, repo_readings
from api.app import create_app
from api.db import DowntimeRow, NightlyRunRow, PlanRow
from api.deps import Runtime
from api.ingest import ingest_dir
from api.routing import Routing
from api.scheduler import (
    JOB_ID,
    RERUN_JOB_ID,
    RETRY_JOB_ID,
    back_in_service_job,
    back_job_id,
    nightly_job,
    nightly_retry_job,
    run_nightly,
    runtime_key,
)
from api.security import Role, issue_key
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import EVE, seed, the_eve
from tests.api.fakes import FakeDay, FakePlanner

DAY = date(2026, 11, 25)


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


def _nightly_plans(settings: Settings) -> list[tuple[str, str]]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT plan_date, status FROM nightly_runs")).all()
    finally:
        engine.dispose()
    return [(str(d), s) for d, s in rows]


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
    assert _nightly_plans(on) == []

    night = datetime.combine(DAY, time(2, 1), tzinfo=on.tz)
    for _restart in range(2):
        routing = Routing.static(HaversineProvider())
        app = create_app(on, planner=fake, routing=routing, clock=lambda: night)
        with TestClient(app):
            for _ in range(500):
                if _nightly_plans(on) and _nightly_plans(on)[0][1] != "running":
                    break
                _time.sleep(0.02)
            app.state.runtime.jobs.wait_idle(30)
    assert _nightly_plans(on) == [(str(DAY), "done")]
    assert len(fake.calls) == 1


def test_nightly_job_entry_point_uses_the_running_app(settings: Settings) -> None:
    fake = FakePlanner()
    on = settings.model_copy(update={"scheduler_enabled": True})
    night = datetime.combine(DAY, time(2), tzinfo=on.tz)  # both calls on one date
    routing = Routing.static(HaversineProvider())
    app = create_app(on, planner=fake, routing=routing, clock=lambda: night)
    with TestClient(app) as client:
        runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})
        nightly_job("no-such-database")  # nothing runs, nothing breaks
        assert fake.calls == []
        nightly_job(runtime_key(on.database_url))
        nightly_job(runtime_key(on.database_url))  # same night again: skipped by the guard
    assert len(fake.calls) == 1
    assert [s for _, s in _nightly_plans(on)] == ["done"]


def _night_with_drop(
    settings: Settings,
    tmp_path: Path,
    files: dict[str, bytes],
    *,
    done_is_a_file: bool = False,
    stored: Sequence[dict[str, object]] = (),
    clock: Callable[[], datetime] | None = None,
) -> tuple[NightlyRunRow, int | None, FakePlanner, Path]:
    """Run the night of ``DAY`` with ``files`` in the ingest folder (after ``seed`` and the
    readings ``stored`` through ``POST /readings``); its run record, plan id, planner and
    the folder."""
    drop = tmp_path / "drop"
    drop.mkdir()
    if done_is_a_file:
        (drop / "done").write_text("not a folder")
    with_dir = settings.model_copy(update={"ingest_dir": str(drop)})
    fake = FakePlanner()
    routing = Routing.static(HaversineProvider())
    app = create_app(with_dir, planner=fake, routing=routing, clock=clock)
    with TestClient(app) as client:
        runtime = app.state.runtime
        admin = {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")}
        seed(client, admin, n_bins=2)
        if stored:
            resp = client.post("/readings", json=list(stored), headers=admin)
            assert resp.status_code == 200 and resp.json()["stored"] == len(stored), resp.text
        for name, data in files.items():
            (drop / name).write_bytes(data)
        plan_id = run_nightly(runtime, DAY)
        with runtime.db.reader() as s:
            run = s.get(NightlyRunRow, DAY)
    assert run is not None
    return run, plan_id, fake, drop


def test_nightly_ingests_reading_files_first(settings: Settings, tmp_path: Path) -> None:
    night = (
        b"bin_id,at,fill_fraction\n"
        b"b0,2026-11-24T22:00:00+02:00,0.7\n"
        b"b1,2026-11-24T22:00:00+02:00,0.8\n"
        b"b1,2026-11-25T07:00:00+02:00,0.6\n"  # already stored by seed(): a duplicate
        b"ghost,2026-11-24T22:00:00+02:00,0.8\n"
        b"b0,yesterday,0.8\n"
    )
    run, plan_id, fake, drop = _night_with_drop(settings, tmp_path, {"night.csv": night})
    assert run.plan_id == plan_id
    assert "1 file(s): 2 new reading(s), 1 duplicate(s), 2 rejected" in run.message
    seen = {(r.bin_id, r.fill_fraction) for r in fake.calls[0]["readings"]}
    assert {("b0", 0.7), ("b1", 0.8)} <= seen
    assert not (drop / "night.csv").exists()
    assert (drop / "done" / "night.csv").exists()
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert "ghost" in errors and "yesterday" in errors


def test_a_files_resent_row_is_a_duplicate_and_a_clashing_one_is_rejected(
    settings: Settings, tmp_path: Path
) -> None:
    """b0's 22:00 reading twice (a resend: a duplicate) and again with another fill: that
    row is rejected naming the bin and the instant (it was counted as a duplicate)."""
    night = (
        b"bin_id,at,fill_fraction\n"
        b"b0,2026-11-24T22:00:00+02:00,0.7\n"
        b"b0,2026-11-24T22:00:00+02:00,0.7\n"
        b"b0,2026-11-24T22:00:00+02:00,0.9\n"
    )
    run, _, fake, drop = _night_with_drop(settings, tmp_path, {"night.csv": night})
    assert "1 file(s): 1 new reading(s), 1 duplicate(s), 1 rejected" in run.message
    assert ("b0", 0.9) not in {(r.bin_id, r.fill_fraction) for r in fake.calls[0]["readings"]}
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert "row 4 (b0): bin b0 has another reading at 2026-11-24T22:00:00+02:00" in errors


def test_a_files_row_with_another_value_at_a_stored_instant_is_rejected(
    settings: Settings, tmp_path: Path
) -> None:
    """b0's 21:00 reading is stored (0.5); the night's file sends it again (a duplicate)
    and b1's with another fill than the stored one: rejected, named in the errors file
    (it was counted as a duplicate without a word)."""
    at = "2026-11-24T21:00:00+02:00"
    stored: list[dict[str, object]] = [
        {"bin_id": b, "at": at, "fill_fraction": 0.5} for b in ("b0", "b1")
    ]
    night = f"bin_id,at,fill_fraction\nb0,{at},0.5\nb1,{at},0.8\n".encode()
    run, _, fake, drop = _night_with_drop(settings, tmp_path, {"night.csv": night}, stored=stored)
    assert "1 file(s): 0 new reading(s), 1 duplicate(s), 1 rejected" in run.message
    assert ("b1", 0.8) not in {(r.bin_id, r.fill_fraction) for r in fake.calls[0]["readings"]}
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert f"b1: the reading of {at} (fill 0.8) is not used: the one stored at that " in errors


def test_a_files_reading_dated_after_the_services_clock_is_rejected(
    settings: Settings, tmp_path: Path
) -> None:
    """A sensor gateway's clock a year ahead: its reading would stay b0's newest for a
    year (POST /readings refuses it; the night's file stored it)."""
    ahead = "2027-11-24T22:00:00+02:00"
    night = f"bin_id,at,fill_fraction\nb0,2026-11-24T19:00:00+02:00,0.7\nb0,{ahead},0.1\n"
    run, _, fake, drop = _night_with_drop(
        settings, tmp_path, {"night.csv": night.encode()}, clock=the_eve
    )
    assert "1 file(s): 1 new reading(s), 0 duplicate(s), 1 rejected" in run.message
    assert all(r.at < EVE + timedelta(days=3) for r in fake.calls[0]["readings"])
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert f"reading of bin 'b0' at {ahead} is after the service's clock" in errors
    assert "check the device's clock" in errors


def test_a_files_reading_older_than_the_readings_kept_is_rejected(
    settings: Settings, tmp_path: Path
) -> None:
    """Readings kept 14 days: a night's file row of 40 days before is rejected into the
    errors file, naming the setting (stored, the run's own pruning deleted it unseen)."""
    keep = settings.model_copy(update={"readings_keep_days": 14})
    night = (
        b"bin_id,at,fill_fraction\n"
        b"b0,2026-11-24T19:00:00+02:00,0.7\n"
        b"b0,2026-10-15T19:00:00+03:00,0.1\n"
    )
    run, _, _, drop = _night_with_drop(keep, tmp_path, {"night.csv": night}, clock=the_eve)
    assert "1 file(s): 1 new reading(s), 0 duplicate(s), 1 rejected" in run.message
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert "before the readings kept (readings_keep_days 14: from 2026-11-10)" in errors
    assert "0 reading(s) dated before 2026-11-11 deleted" in run.message


def test_a_file_of_weights_alone_is_ingested_as_fills(settings: Settings, tmp_path: Path) -> None:
    """Bins of 240 l at the residual default 0.10 kg/l: 12 kg is a fill of 0.5; 2400 kg
    (grams?) and a bin not in the inventory are rejected with the reason."""
    night = (
        b"bin_id,at,weight_kg\n"
        b"b0,2026-11-24T22:00:00+02:00,12\n"
        b"b1,2026-11-24T22:00:00+02:00,2400\n"
        b"ghost,2026-11-24T22:00:00+02:00,3\n"
    )
    run, _, fake, drop = _night_with_drop(settings, tmp_path, {"night.csv": night})
    assert "1 file(s): 1 new reading(s), 0 duplicate(s), 2 rejected" in run.message
    (b0,) = [r for r in fake.calls[0]["readings"] if r.weight_kg == 12]
    assert (b0.bin_id, b0.fill_fraction, b0.fill_from_weight) == ("b0", pytest.approx(0.5), True)
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert "net weight in kg" in errors and "'ghost' is not in the inventory" in errors


def test_a_file_of_weights_alone_uses_the_densities_stored_readings_show(
    settings: Settings, tmp_path: Path
) -> None:
    """b0 (240 l) weighed 24 kg at half full three times already: 0.2 kg/l, twice
    residual's default. The night's 40 kg is 0.83 full at that density (POST /readings
    reads it so), not 1.67 times the bin at the default (taken as 1.5; refused before
    session 27)."""
    stored = [
        {
            "bin_id": "b0",
            "at": f"2026-11-2{d}T08:00:00+02:00",
            "fill_fraction": 0.5,
            "weight_kg": 24,
        }
        for d in (1, 2, 3)
    ]
    night = b"bin_id,at,weight_kg\nb0,2026-11-24T22:00:00+02:00,40\n"
    run, _, fake, _ = _night_with_drop(settings, tmp_path, {"n.csv": night}, stored=stored)
    assert "1 file(s): 1 new reading(s), 0 duplicate(s), 0 rejected" in run.message
    (got,) = [r for r in fake.calls[0]["readings"] if r.weight_kg == 40]
    assert (got.fill_fraction, got.fill_from_weight) == (pytest.approx(40 / 48), True)


def test_a_nights_file_of_weights_uses_the_densities_an_earlier_file_stored(
    settings: Settings, tmp_path: Path
) -> None:
    """a.csv weighs b0 at half full three times (0.2 kg/l); b.csv, read after it, has
    b0's weight alone: 40 kg is 0.83 full at that density."""
    a = b"bin_id,at,fill_fraction,weight_kg\n" + b"".join(
        f"b0,2026-11-2{d}T08:00:00+02:00,0.5,24\n".encode() for d in (1, 2, 3)
    )
    b = b"bin_id,at,weight_kg\nb0,2026-11-24T22:00:00+02:00,40\n"
    run, _, fake, _ = _night_with_drop(settings, tmp_path, {"a.csv": a, "b.csv": b})
    assert "2 file(s): 4 new reading(s), 0 duplicate(s), 0 rejected" in run.message
    (got,) = [r for r in fake.calls[0]["readings"] if r.weight_kg == 40]
    assert got.fill_fraction == pytest.approx(40 / 48)


def test_a_nights_file_of_weights_reads_the_stored_readings_of_its_bins_only(
    runtime: Runtime,
    client: TestClient,
    admin: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A city's 14 days of readings are millions of rows: the ingest reads those of the
    bins weighed alone in the file (before, all of them, once per file)."""
    seed(client, admin, n_bins=3)
    asked: list[object] = []
    real = repo_readings.load_readings

    def spy(*args: object, **kwargs: object) -> object:
        asked.append(kwargs.get("bin_ids", args[3] if len(args) > 3 else None))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(repo_readings, "load_readings", spy)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "n.csv").write_bytes(
        b"bin_id,at,fill_fraction,weight_kg\n"
        b"b0,2026-11-24T22:00:00+02:00,,12\n"
        b"b1,2026-11-24T22:00:00+02:00,0.4,\n"
    )
    history = repo.history_window(DAY, 14, runtime.settings.tz)
    report = ingest_dir(runtime.db, drop, history)
    assert (report.stored, report.rejected) == (2, 0)
    assert asked == [{"b0"}]


def test_a_file_that_is_not_text_does_not_stop_the_night(
    settings: Settings, tmp_path: Path
) -> None:
    """A spreadsheet saved as .csv in the drop folder: rejected with the reason, moved to
    done/, and the night's other file and plan go on (it used to fail the whole night and
    stay in the folder to fail the next one too)."""
    files = {
        "a.csv": b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xff\xfe binary",
        "b.csv": b"bin_id,at,fill_fraction\nb0,2026-11-24T22:00:00+02:00,0.7\n",
    }
    run, plan_id, fake, drop = _night_with_drop(settings, tmp_path, files)
    assert run.status == "done" and run.plan_id == plan_id
    assert "2 file(s): 1 new reading(s), 0 duplicate(s), 1 rejected" in run.message
    assert ("b0", 0.7) in {(r.bin_id, r.fill_fraction) for r in fake.calls[0]["readings"]}
    assert sorted(p.name for p in drop.glob("*.csv")) == []
    assert "not UTF-8" in (drop / "done" / "a.csv.errors.txt").read_text()


def test_a_file_with_a_nul_character_is_rejected_naming_its_line(
    settings: Settings, tmp_path: Path
) -> None:
    """A NUL byte (a damaged file, or one in UTF-16): the file is rejected with its line
    and the fix, moved to done/, and the night's other file and plan go on (PostgreSQL
    cannot even look the id up: the ingest raised and the night stayed 'running')."""
    files = {
        "a.csv": b"bin_id,at,fill_fraction\nb0,2026-11-24T21:00:00+02:00,0.6\n"
        b"b\x001,2026-11-24T22:00:00+02:00,0.7\n",
        "b.csv": b"bin_id,at,fill_fraction\nb1,2026-11-24T22:00:00+02:00,0.8\n",
    }
    run, plan_id, fake, drop = _night_with_drop(settings, tmp_path, files)
    assert run.status == "done" and run.plan_id == plan_id
    assert "2 file(s): 1 new reading(s), 0 duplicate(s), 1 rejected" in run.message
    assert ("b1", 0.8) in {(r.bin_id, r.fill_fraction) for r in fake.calls[0]["readings"]}
    assert sorted(p.name for p in drop.glob("*.csv")) == []
    errors = (drop / "done" / "a.csv.errors.txt").read_text()
    assert "line 3 holds a NUL character" in errors and "save it as UTF-8" in errors


def test_an_unusable_drop_folder_does_not_stop_the_night(
    settings: Settings, tmp_path: Path
) -> None:
    """``done`` is a file, so files cannot be moved: the night plans on the readings stored,
    and its message says the ingest failed (it used to leave the night 'running' for good)."""
    run, plan_id, _, _ = _night_with_drop(settings, tmp_path, {}, done_is_a_file=True)
    assert plan_id is not None and run.status == "done"
    assert "ingest failed, planned on the readings stored" in run.message


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
    with TestClient(app) as client:
        runtime = app.state.runtime
        key = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "t")}
        seed(client, key)
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
            if with_plan or _nightly_plans(on) == [(str(DAY), "done")]:
                break
            t.sleep(0.02)
        runtime.jobs.wait_idle(30)
        assert runtime.scheduler.get_job("binroute-nightly-rerun") is None  # ran, or none
    if with_plan:
        assert _nightly_plans(on) == [(str(DAY), "failed")] and fake.calls == []
    else:
        assert _nightly_plans(on) == [(str(DAY), "done")] and len(fake.calls) == 1


def _retrying_app(
    settings: Settings, planner: FakePlanner, clock: Callable[[], datetime], retries: int = 2
) -> Any:
    """An app whose scheduler runs, trying a failed nightly run ``retries`` times more."""
    on = settings.model_copy(
        update={
            "scheduler_enabled": True,
            "nightly_retries": retries,
            "nightly_retry_delay_min": 15,
        }
    )
    return create_app(on, planner=planner, routing=Routing.static(HaversineProvider()), clock=clock)


def _nightly_run(runtime: Runtime, day: date) -> tuple[str, str]:
    with runtime.db.reader() as s:
        run = s.get(NightlyRunRow, day)
        assert run is not None
        return run.status, run.message


def test_a_failed_nightly_run_is_tried_again_later_a_bounded_number_of_times(
    settings: Settings,
) -> None:
    """The solver crashed at 02:00: the run is tried again at 02:15 and 02:30 (2 retries),
    each attempt recorded in GET /nightly-runs and the last failure in /health; after the
    third no retry is stored (before, the city got no plan that day). The day is a week
    ahead (the scheduler fires on the real clock): each stored retry is fired by hand."""
    day = date.today() + timedelta(days=7)
    fake = FakePlanner(fail_with=RuntimeError("solver crashed"))
    now = [datetime.combine(day, time(2), tzinfo=settings.tz)]
    app = _retrying_app(settings, fake, lambda: now[0])
    with TestClient(app) as client:
        runtime = app.state.runtime
        key = {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")}
        seed(client, key)
        run_nightly(runtime, day)
        expected = "attempt 1 of 3 failed: solver crashed; retry at 02:15"
        assert _nightly_run(runtime, day) == ("failed", expected)
        health = client.get("/health").json()["last_nightly_run"]
        assert (health["status"], health["message"]) == ("failed", expected)
        last = f"no retry left: {_by_hand(day)}"  # the dispatcher's turn
        for attempt, retry in ((2, "retry at 02:30"), (3, last)):
            job = runtime.scheduler.get_job(RETRY_JOB_ID)
            assert job.next_run_time == now[0] + timedelta(minutes=15)
            assert tuple(job.args) == (runtime_key(runtime.db.url), day.isoformat(), attempt)
            runtime.scheduler.remove_job(RETRY_JOB_ID)  # as the scheduler does when it fires
            now[0] = job.next_run_time
            nightly_retry_job(*job.args)
            message = f"attempt {attempt} of 3 failed: solver crashed; {retry}"
            assert _nightly_run(runtime, day) == ("failed", message)
        assert runtime.scheduler.get_job(RETRY_JOB_ID) is None
        runs = client.get("/nightly-runs", headers=key).json()
        assert [(r["plan_date"], r["status"], r["message"]) for r in runs] == [
            (day.isoformat(), "failed", f"attempt 3 of 3 failed: solver crashed; {last}")
        ]
        nightly = [p for p in client.get("/plans", headers=key).json() if p["origin"] == "nightly"]
        assert [p["status"] for p in nightly] == ["failed"] * 3  # a plan job per attempt
    assert len(fake.calls) == 3


def test_a_retried_nightly_run_that_succeeds_publishes_and_keeps_the_failure(
    settings: Settings,
) -> None:
    """While the retry runs /health shows the failure it follows; once published, the
    message still names it."""
    day = date.today() + timedelta(days=7)
    fake = FakePlanner(fail_with=RuntimeError("solver crashed"))
    night = datetime.combine(day, time(2), tzinfo=settings.tz)
    app = _retrying_app(settings, fake, lambda: night)
    with TestClient(app) as client:
        runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})
        run_nightly(runtime, day)
        fake.fail_with = None
        fake.gate = threading.Event()
        job = runtime.scheduler.get_job(RETRY_JOB_ID)
        runtime.scheduler.remove_job(RETRY_JOB_ID)
        retry = threading.Thread(target=nightly_retry_job, args=tuple(job.args))
        retry.start()
        try:
            while _nightly_run(runtime, day)[0] != "running":
                t.sleep(0.01)
            health = client.get("/health").json()["last_nightly_run"]
        finally:
            fake.gate.set()
            retry.join(30)
        failed = "attempt 1 of 3 failed: solver crashed; retry at 02:15"
        assert (health["status"], health["message"]) == (
            "running",
            f"attempt 2 of 3 running; {failed}",
        )
        status, message = _nightly_run(runtime, day)
        assert (status, message) == ("done", f"published at attempt 2 of 3; {failed}")
        assert runtime.scheduler.get_job(RETRY_JOB_ID) is None


def test_a_nightly_run_failing_before_its_plan_job_is_failed_and_retried(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database locked as the night's plan job is stored: the run is marked failed and
    retried (the error escaped, leaving it 'running' for good and never tried again)."""
    from sqlalchemy.exc import OperationalError

    day = date.today() + timedelta(days=7)
    night = datetime.combine(day, time(2), tzinfo=settings.tz)
    fake = FakePlanner()
    app = _retrying_app(settings, fake, lambda: night)
    with TestClient(app) as client:
        runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})

        def locked(*args: object, **kwargs: object) -> object:
            raise OperationalError("INSERT INTO plans", {}, Exception("database is locked"))

        monkeypatch.setattr(runtime.jobs, "create_plan", locked)
        assert run_nightly(runtime, day) is None
        status, message = _nightly_run(runtime, day)
        assert status == "failed" and "database is locked" in message, message
        assert message.endswith("; retry at 02:15")
        monkeypatch.undo()
        job = runtime.scheduler.get_job(RETRY_JOB_ID)
        runtime.scheduler.remove_job(RETRY_JOB_ID)
        nightly_retry_job(*job.args)
        assert _nightly_run(runtime, day)[0] == "done"
    assert len(fake.calls) == 1


def test_a_nightly_retry_of_a_day_over_or_planned_since_plans_nothing(
    settings: Settings,
) -> None:
    """A retry due when the service was down fires at the next start: after midnight its
    day is over, and a day a dispatcher planned meanwhile is not planned over."""
    day = date.today() + timedelta(days=7)
    now = [datetime.combine(day, time(2), tzinfo=settings.tz)]
    fake = FakePlanner(fail_with=RuntimeError("solver crashed"))
    app = _retrying_app(settings, fake, lambda: now[0])
    with TestClient(app) as client:
        runtime = app.state.runtime
        key = {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")}
        seed(client, key)
        run_nightly(runtime, day)
        job = runtime.scheduler.get_job(RETRY_JOB_ID)
        fake.fail_with = None
        now[0] = datetime.combine(day + timedelta(days=1), time(0, 30), tzinfo=settings.tz)
        nightly_retry_job(*job.args)
        assert len(fake.calls) == 1 and _nightly_run(runtime, day)[0] == "failed"
        now[0] = datetime.combine(day, time(2, 5), tzinfo=settings.tz)
        client.post("/plans", json={"plan_date": day.isoformat()}, headers=key)
        assert runtime.jobs.wait_idle(30)
        nightly_retry_job(*job.args)
        assert len(fake.calls) == 2 and _nightly_run(runtime, day)[0] == "failed"


def test_a_failed_nightly_retry_chain_runs_on_the_scheduler(settings: Settings) -> None:
    """The stored retries fire on their own (due at once here: the service's clock is
    ``DAY``, a past day on the scheduler's real clock) until none is left."""
    fake = FakePlanner(fail_with=RuntimeError("solver crashed"))
    night = datetime.combine(DAY, time(2), tzinfo=settings.tz)
    app = _retrying_app(settings, fake, lambda: night, retries=1)
    with TestClient(app) as client:
        runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})
        run_nightly(runtime, DAY)
        deadline = t.monotonic() + 30
        while "no retry left" not in _nightly_run(runtime, DAY)[1]:
            assert t.monotonic() < deadline, _nightly_run(runtime, DAY)
            t.sleep(0.02)
        assert runtime.jobs.wait_idle(30)
        assert _nightly_run(runtime, DAY) == (
            "failed",
            f"attempt 2 of 2 failed: solver crashed; no retry left: {_by_hand(DAY)}",
        )
    assert len(fake.calls) == 2


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
        while planned and (str(nxt), "done") not in _nightly_plans(on):
            assert t.monotonic() < deadline, _nightly_plans(on)
            t.sleep(0.02)
        assert runtime.jobs.wait_idle(30)
        assert runtime.scheduler.get_job(RERUN_JOB_ID) is None  # ran, or none
    runs = sorted(_nightly_plans(on))
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
            while (str(DAY), "done") not in _nightly_plans(on):
                assert t.monotonic() < deadline, _nightly_plans(on)
                t.sleep(0.02)
            assert app.state.runtime.jobs.wait_idle(30)
    assert _nightly_plans(on) == [(str(DAY), "done")]
    assert [c["plan_date"] for c in fake.calls] == [DAY]


def test_a_nightly_retry_firing_at_once_takes_the_failed_run_over(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry due at once (the service's clock behind the scheduler's, or a slow failure
    write) fires before the failed run is written down: it found the run still 'running',
    skipped it as planned, and no attempt came after. Here the write waits for a retry
    already stored to have fired (so the race is lost every time, not now and then)."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

    fake = FakePlanner(fail_with=RuntimeError("solver crashed"))
    night = datetime.combine(DAY, time(2), tzinfo=settings.tz)
    app = _retrying_app(settings, fake, lambda: night, retries=1)
    with TestClient(app) as client:
        runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})
        fired = threading.Event()
        runtime.scheduler.add_listener(
            lambda e: fired.set() if e.job_id == RETRY_JOB_ID else None,
            EVENT_JOB_EXECUTED | EVENT_JOB_ERROR,
        )
        finish = nightly_runs._finish

        def slow_finish(rt: Runtime, day: date, status: str, *args: Any) -> None:
            if status == "failed" and runtime.scheduler.get_job(RETRY_JOB_ID) is not None:
                assert fired.wait(30), "the stored retry never fired"
            finish(rt, day, status, *args)

        monkeypatch.setattr(nightly_runs, "_finish", slow_finish)
        run_nightly(runtime, DAY)
        deadline = t.monotonic() + 30
        while "no retry left" not in _nightly_run(runtime, DAY)[1]:
            assert t.monotonic() < deadline, _nightly_run(runtime, DAY)
            t.sleep(0.02)
        assert runtime.jobs.wait_idle(30)
    assert len(fake.calls) == 2


def _locked(*args: object, **kwargs: object) -> None:
    """A database error as SQLite gives it while another writer holds the database."""
    from sqlalchemy.exc import OperationalError

    raise OperationalError(
        "UPDATE nightly_runs", {}, sqlite3.OperationalError("database is locked")
    )


@contextmanager
def _storing_fails(runtime: Runtime) -> Iterator[None]:
    """The database refuses the write that stores a made plan (its row set 'done'), as a
    locked SQLite database does; every other statement runs."""
    from sqlalchemy import event

    def refuse(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if statement.startswith("UPDATE plans") and "done" in tuple(params or ()):
            raise sqlite3.OperationalError("database is locked")

    event.listen(runtime.db.engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", refuse)


def _by_hand(day: date) -> str:
    return f'make the plan of {day} by hand: POST /plans {{"plan_date": "{day}"}}'


def test_a_retried_nightly_plan_that_cannot_be_stored_points_to_post_plans(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The night's plan is made but cannot be stored (the database locked), at its retry
    too: the run read 'attempt 2 of 2 failed: (sqlite3.OperationalError) database is locked
    [SQL: UPDATE plans ...]; no retry left', and nothing told the dispatcher that the day
    has no plan unless one is asked for. Now the run's message and the log say the plan
    could not be stored and to make it by hand with POST /plans."""
    day = date.today() + timedelta(days=7)
    fake = FakePlanner()
    night = datetime.combine(day, time(2), tzinfo=settings.tz)
    app = _retrying_app(settings, fake, lambda: night, retries=1)
    with TestClient(app) as client:
        runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})
        with _storing_fails(runtime):
            run_nightly(runtime, day)
            status, message = _nightly_run(runtime, day)
            assert status == "failed", message
            assert message == (
                "attempt 1 of 2 failed: the plan could not be stored: database error "
                "(database is locked); retry at 02:15"
            )
            job = runtime.scheduler.get_job(RETRY_JOB_ID)
            runtime.scheduler.remove_job(RETRY_JOB_ID)
            with caplog.at_level("INFO", logger="api.scheduler"):
                nightly_retry_job(*job.args)
        status, message = _nightly_run(runtime, day)
        assert status == "failed", message
        assert message == (
            "attempt 2 of 2 failed: the plan could not be stored: database error "
            f"(database is locked); no retry left: {_by_hand(day)}"
        )
        errors = [r.getMessage() for r in caplog.records if r.name == "api.scheduler"]
        assert any("could not be stored" in m and _by_hand(day) in m for m in errors), errors
    assert len(fake.calls) == 2


def test_a_nightly_failure_that_cannot_be_recorded_is_logged_not_raised(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The database down at a retry: the plan cannot be stored, nor the run's failure, nor
    the next retry. The error escaped the job (a traceback in the log, the run left
    'running' with nothing saying the day has no plan); now an error line says so and
    points to POST /plans."""
    day = date.today() + timedelta(days=7)
    night = datetime.combine(day, time(2), tzinfo=settings.tz)
    app = _retrying_app(settings, FakePlanner(), lambda: night)
    with TestClient(app) as client:
        runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})
        with _storing_fails(runtime):
            run_nightly(runtime, day)
            job = runtime.scheduler.get_job(RETRY_JOB_ID)
            runtime.scheduler.remove_job(RETRY_JOB_ID)
            monkeypatch.setattr(nightly_runs, "_finish", _locked)
            monkeypatch.setattr(runtime.scheduler, "add_job", _locked)
            with caplog.at_level("INFO", logger="api.scheduler"):
                nightly_retry_job(*job.args)  # raised the OperationalError
        mine = [r for r in caplog.records if r.name == "api.scheduler"]
        errors = [r.getMessage() for r in mine if r.levelname == "ERROR"]
        assert any(
            "could not be recorded" in m and "could not be stored" in m and _by_hand(day) in m
            for m in errors
        ), errors
        assert not any(r.exc_info for r in mine)


def test_a_nightly_retry_that_cannot_be_stored_says_so_and_points_to_post_plans(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The run failed and its retry cannot be stored in the job store (the database
    locked): the error escaped the job and the run read 'retry at 02:15', a retry that
    never comes. Now it says the retry could not be stored and to make the plan by hand."""
    day = date.today() + timedelta(days=7)
    fake = FakePlanner(fail_with=RuntimeError("solver crashed"))
    night = datetime.combine(day, time(2), tzinfo=settings.tz)
    app = _retrying_app(settings, fake, lambda: night)
    with TestClient(app) as client:
        runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})
        monkeypatch.setattr(runtime.scheduler, "add_job", _locked)
        with caplog.at_level("INFO", logger="api.scheduler"):
            run_nightly(runtime, day)  # raised the OperationalError
        monkeypatch.undo()
        assert _nightly_run(runtime, day) == (
            "failed",
            "attempt 1 of 3 failed: solver crashed; its retry could not be stored "
            f"(database is locked): {_by_hand(day)}",
        )
        assert runtime.scheduler.get_job(RETRY_JOB_ID) is None
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert any("retry could not be stored" in m and _by_hand(day) in m for m in errors)


def test_a_published_nightly_plan_whose_run_cannot_be_marked_done_is_logged_not_raised(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The night's plan is stored and published, then the database locks as the run is
    marked done: the error escaped the job (a traceback in the log, the plan id lost to the
    caller). Now the plan id is returned, the plan is done in GET /plans, and an error line
    says the run could not be marked done."""
    day = date.today() + timedelta(days=7)
    night = datetime.combine(day, time(2), tzinfo=settings.tz)
    app = _retrying_app(settings, FakePlanner(), lambda: night)
    with TestClient(app) as client:
        runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})
        monkeypatch.setattr(nightly_runs, "_finish", _locked)
        with caplog.at_level("INFO", logger="api.scheduler"):
            plan_id = run_nightly(runtime, day)
        assert plan_id is not None
        with runtime.db.reader() as s:
            assert s.get(PlanRow, plan_id).status == "done"
        mine = [r for r in caplog.records if r.name == "api.scheduler"]
        errors = [r.getMessage() for r in mine if r.levelname == "ERROR"]
        assert any(
            f"nightly plan {plan_id} for {day} published, but its run could not be marked done" in m
            for m in errors
        ), errors
        assert not any(r.exc_info for r in mine)
