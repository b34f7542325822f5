"""A nightly run whose plan or record cannot be stored: logged, not raised, pointing to
``POST /plans``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from api import nightly_runs
from api.db import PlanRow
from api.deps import Runtime
from api.scheduler import (
    RETRY_JOB_ID,
    nightly_retry_job,
    run_nightly,
)
from api.settings import Settings
from tests.api.fakes import FakePlanner
from tests.api.scheduler.helpers import by_hand, nightly_run, retrying_app, serving


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
    app = retrying_app(settings, fake, lambda: night, retries=1)
    with serving(app) as (_, runtime, _):
        with _storing_fails(runtime):
            run_nightly(runtime, day)
            status, message = nightly_run(runtime, day)
            assert status == "failed", message
            assert message == (
                "attempt 1 of 2 failed: the plan could not be stored: database error "
                "(database is locked); retry at 02:15"
            )
            job = runtime.scheduler.get_job(RETRY_JOB_ID)
            runtime.scheduler.remove_job(RETRY_JOB_ID)
            with caplog.at_level("INFO", logger="api.scheduler"):
                nightly_retry_job(*job.args)
        status, message = nightly_run(runtime, day)
        assert status == "failed", message
        assert message == (
            "attempt 2 of 2 failed: the plan could not be stored: database error "
            f"(database is locked); no retry left: {by_hand(day)}"
        )
        errors = [r.getMessage() for r in caplog.records if r.name == "api.scheduler"]
        assert any("could not be stored" in m and by_hand(day) in m for m in errors), errors
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
    app = retrying_app(settings, FakePlanner(), lambda: night)
    with serving(app) as (_, runtime, _):
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
            "could not be recorded" in m and "could not be stored" in m and by_hand(day) in m
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
    app = retrying_app(settings, fake, lambda: night)
    with serving(app) as (_, runtime, _):
        monkeypatch.setattr(runtime.scheduler, "add_job", _locked)
        with caplog.at_level("INFO", logger="api.scheduler"):
            run_nightly(runtime, day)  # raised the OperationalError
        monkeypatch.undo()
        assert nightly_run(runtime, day) == (
            "failed",
            "attempt 1 of 3 failed: solver crashed; its retry could not be stored "
            f"(database is locked): {by_hand(day)}",
        )
        assert runtime.scheduler.get_job(RETRY_JOB_ID) is None
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert any("retry could not be stored" in m and by_hand(day) in m for m in errors)


def test_a_published_nightly_plan_whose_run_cannot_be_marked_done_is_logged_not_raised(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The night's plan is stored and published, then the database locks as the run is
    marked done: the error escaped the job (a traceback in the log, the plan id lost to the
    caller). Now the plan id is returned, the plan is done in GET /plans, and an error line
    says the run could not be marked done."""
    day = date.today() + timedelta(days=7)
    night = datetime.combine(day, time(2), tzinfo=settings.tz)
    app = retrying_app(settings, FakePlanner(), lambda: night)
    with serving(app) as (_, runtime, _):
        monkeypatch.setattr(nightly_runs, "_finish", _locked)
        with caplog.at_level("INFO", logger="api.scheduler"):
            plan_id = run_nightly(runtime, day)
        assert plan_id is not None
        with runtime.db.reader() as s:
            row = s.get(PlanRow, plan_id)
            assert row is not None and row.status == "done"
        mine = [r for r in caplog.records if r.name == "api.scheduler"]
        errors = [r.getMessage() for r in mine if r.levelname == "ERROR"]
        assert any(
            f"nightly plan {plan_id} for {day} published, but its run could not be marked done" in m
            for m in errors
        ), errors
        assert not any(r.exc_info for r in mine)
