"""A failed nightly run tried again later a bounded number of times; a retry of a day over
or planned since plans nothing; a retry firing at once takes the failed run over."""

from __future__ import annotations

import threading
import time as t
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from api import nightly_runs
from api.deps import Runtime
from api.scheduler import (
    RETRY_JOB_ID,
    nightly_retry_job,
    run_nightly,
    runtime_key,
)
from api.settings import Settings
from tests.api.fakes import FakePlanner
from tests.api.scheduler.helpers import DAY, by_hand, nightly_run, retrying_app, serving


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
    app = retrying_app(settings, fake, lambda: now[0])
    with serving(app) as (client, runtime, key):
        run_nightly(runtime, day)
        expected = "attempt 1 of 3 failed: solver crashed; retry at 02:15"
        assert nightly_run(runtime, day) == ("failed", expected)
        health = client.get("/health").json()["last_nightly_run"]
        assert (health["status"], health["message"]) == ("failed", expected)
        last = f"no retry left: {by_hand(day)}"  # the dispatcher's turn
        for attempt, retry in ((2, "retry at 02:30"), (3, last)):
            job = runtime.scheduler.get_job(RETRY_JOB_ID)
            assert job.next_run_time == now[0] + timedelta(minutes=15)
            assert tuple(job.args) == (runtime_key(runtime.db.url), day.isoformat(), attempt)
            runtime.scheduler.remove_job(RETRY_JOB_ID)  # as the scheduler does when it fires
            now[0] = job.next_run_time
            nightly_retry_job(*job.args)
            message = f"attempt {attempt} of 3 failed: solver crashed; {retry}"
            assert nightly_run(runtime, day) == ("failed", message)
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
    app = retrying_app(settings, fake, lambda: night)
    with serving(app) as (client, runtime, _):
        run_nightly(runtime, day)
        fake.fail_with = None
        fake.gate = threading.Event()
        job = runtime.scheduler.get_job(RETRY_JOB_ID)
        runtime.scheduler.remove_job(RETRY_JOB_ID)
        retry = threading.Thread(target=nightly_retry_job, args=tuple(job.args))
        retry.start()
        try:
            while nightly_run(runtime, day)[0] != "running":
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
        status, message = nightly_run(runtime, day)
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
    app = retrying_app(settings, fake, lambda: night)
    with serving(app) as (_, runtime, _):

        def locked(*args: object, **kwargs: object) -> object:
            raise OperationalError("INSERT INTO plans", {}, Exception("database is locked"))

        monkeypatch.setattr(runtime.jobs, "create_plan", locked)
        assert run_nightly(runtime, day) is None
        status, message = nightly_run(runtime, day)
        assert status == "failed" and "database is locked" in message, message
        assert message.endswith("; retry at 02:15")
        monkeypatch.undo()
        job = runtime.scheduler.get_job(RETRY_JOB_ID)
        runtime.scheduler.remove_job(RETRY_JOB_ID)
        nightly_retry_job(*job.args)
        assert nightly_run(runtime, day)[0] == "done"
    assert len(fake.calls) == 1


def test_a_nightly_retry_of_a_day_over_or_planned_since_plans_nothing(
    settings: Settings,
) -> None:
    """A retry due when the service was down fires at the next start: after midnight its
    day is over, and a day a dispatcher planned meanwhile is not planned over."""
    day = date.today() + timedelta(days=7)
    now = [datetime.combine(day, time(2), tzinfo=settings.tz)]
    fake = FakePlanner(fail_with=RuntimeError("solver crashed"))
    app = retrying_app(settings, fake, lambda: now[0])
    with serving(app) as (client, runtime, key):
        run_nightly(runtime, day)
        job = runtime.scheduler.get_job(RETRY_JOB_ID)
        fake.fail_with = None
        now[0] = datetime.combine(day + timedelta(days=1), time(0, 30), tzinfo=settings.tz)
        nightly_retry_job(*job.args)
        assert len(fake.calls) == 1 and nightly_run(runtime, day)[0] == "failed"
        now[0] = datetime.combine(day, time(2, 5), tzinfo=settings.tz)
        client.post("/plans", json={"plan_date": day.isoformat()}, headers=key)
        assert runtime.jobs.wait_idle(30)
        nightly_retry_job(*job.args)
        assert len(fake.calls) == 2 and nightly_run(runtime, day)[0] == "failed"


def test_a_failed_nightly_retry_chain_runs_on_the_scheduler(settings: Settings) -> None:
    """The stored retries fire on their own (due at once here: the service's clock is
    ``DAY``, a past day on the scheduler's real clock) until none is left."""
    fake = FakePlanner(fail_with=RuntimeError("solver crashed"))
    night = datetime.combine(DAY, time(2), tzinfo=settings.tz)
    app = retrying_app(settings, fake, lambda: night, retries=1)
    with serving(app) as (_, runtime, _):
        run_nightly(runtime, DAY)
        deadline = t.monotonic() + 30
        while "no retry left" not in nightly_run(runtime, DAY)[1]:
            assert t.monotonic() < deadline, nightly_run(runtime, DAY)
            t.sleep(0.02)
        assert runtime.jobs.wait_idle(30)
        assert nightly_run(runtime, DAY) == (
            "failed",
            f"attempt 2 of 2 failed: solver crashed; no retry left: {by_hand(DAY)}",
        )
    assert len(fake.calls) == 2


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
    app = retrying_app(settings, fake, lambda: night, retries=1)
    with serving(app) as (_, runtime, _):
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
        while "no retry left" not in nightly_run(runtime, DAY)[1]:
            assert t.monotonic() < deadline, nightly_run(runtime, DAY)
            t.sleep(0.02)
        assert runtime.jobs.wait_idle(30)
    assert len(fake.calls) == 2
