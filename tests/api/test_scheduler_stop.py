"""A clean stop while a nightly run is under way: it ends, and the run's retry is kept."""

from __future__ import annotations

import threading
import time as t
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import Runtime
from api.routing import Routing
from api.scheduler import RETRY_JOB_ID, nightly_job, runtime_key, stop_scheduler
from api.security import Role, issue_key
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import seed
from tests.api.fakes import FakePlanner

WAIT_S = 30  # bounds every wait below: a hang fails the test instead of the suite


def _app(settings: Settings, planner: FakePlanner, clock: Callable[[], datetime]) -> Any:
    """An app whose scheduler runs, trying a failed nightly run twice more, 15 min apart."""
    on = settings.model_copy(
        update={"scheduler_enabled": True, "nightly_retries": 2, "nightly_retry_delay_min": 15}
    )
    return create_app(on, planner=planner, routing=Routing.static(HaversineProvider()), clock=clock)


def _until(done: Callable[[], bool], what: str) -> None:
    deadline = t.monotonic() + WAIT_S
    while not done():
        assert t.monotonic() < deadline, f"{what} not within {WAIT_S} s"
        t.sleep(0.01)


def _holding_its_job_store(scheduler: BackgroundScheduler) -> bool:
    """Whether another thread holds the scheduler's job store (its shutdown waiting for the
    running jobs does)."""
    lock = scheduler._jobstores_lock
    if lock.acquire(blocking=False):
        lock.release()
        return False
    return True


def _run(runtime: Runtime, day: date) -> tuple[str, int, datetime | None]:
    from api.db import NightlyRunRow

    with runtime.db.reader() as s:
        run = s.get(NightlyRunRow, day)
        assert run is not None
        return run.status, run.attempts, run.retry_at


def test_a_stop_while_a_nightly_run_fails_ends_and_the_next_start_keeps_its_retry(
    settings: Settings,
) -> None:
    """The service is stopped at 02:05 while the night's plan runs; the solver then fails.
    The stop waits for the run, which stores its retry: APScheduler's shutdown holds its
    job store until the run ends, and the run waited for the job store, so the stop never
    ended. Now the stop ends, the run's row keeps its retry (02:20, attempt 2 of 3), and the
    next start stores it again, as /nightly-runs shows."""
    day = date.today() + timedelta(days=7)  # the real scheduler clock fires nothing of it
    now = [datetime.combine(day, time(2, 5), tzinfo=settings.tz)]
    gate = threading.Event()
    fake = FakePlanner(fail_with=RuntimeError("solver crashed"), gate=gate)
    app = _app(settings, fake, lambda: now[0])
    with TestClient(app) as client:
        runtime: Runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})
        scheduler = runtime.scheduler
        key = runtime_key(runtime.db.url)
        scheduler.add_job(nightly_job, DateTrigger(), args=[key], id="tonight")
        _until(lambda: len(fake.calls) == 1, "the nightly run")
        stop = threading.Thread(target=stop_scheduler, args=(runtime,), daemon=True)
        stop.start()
        _until(lambda: _holding_its_job_store(scheduler), "the stop")
        gate.set()  # the solver fails while the stop waits
        stop.join(WAIT_S)
        assert not stop.is_alive(), "the stop waits for ever"
        retry_at = datetime.combine(day, time(2, 20), tzinfo=settings.tz)
        assert _run(runtime, day) == ("failed", 1, retry_at)
    again = _app(settings, FakePlanner(), lambda: now[0])
    with TestClient(again) as client:
        runtime = again.state.runtime
        job = runtime.scheduler.get_job(RETRY_JOB_ID)
        assert job is not None, "the retry was lost"
        assert job.next_run_time == retry_at
        assert tuple(job.args) == (key, day.isoformat(), 2)
        headers = {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")}
        runs = client.get("/nightly-runs", headers=headers).json()
        shown = [(r["status"], r["attempts"], datetime.fromisoformat(r["retry_at"])) for r in runs]
        assert shown == [("failed", 1, retry_at)], runs
        assert runs[0]["message"] == "attempt 1 of 3 failed: solver crashed; retry at 02:20"


def test_a_retry_due_while_the_service_was_stopped_runs_at_the_start(settings: Settings) -> None:
    """The retry a stop kept from being stored was due at 02:20; the service is up again at
    02:40: the retry runs at once, as attempt 2, and publishes the night's plan. The day is
    past on the scheduler's real clock, so the retry stored for 02:40 fires at once."""
    day = date.today() - timedelta(days=7)
    now = [datetime.combine(day, time(2, 5), tzinfo=settings.tz)]
    gate = threading.Event()
    fake = FakePlanner(fail_with=RuntimeError("solver crashed"), gate=gate)
    app = _app(settings, fake, lambda: now[0])
    with TestClient(app) as client:
        runtime = app.state.runtime
        seed(client, {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")})
        scheduler = runtime.scheduler
        scheduler.add_job(nightly_job, DateTrigger(), args=[runtime_key(runtime.db.url)])
        _until(lambda: len(fake.calls) == 1, "the nightly run")
        stop = threading.Thread(target=stop_scheduler, args=(runtime,), daemon=True)
        stop.start()
        _until(lambda: _holding_its_job_store(scheduler), "the stop")
        gate.set()
        stop.join(WAIT_S)
        assert not stop.is_alive(), "the stop waits for ever"
    now[0] = datetime.combine(day, time(2, 40), tzinfo=settings.tz)
    later = FakePlanner()
    again = _app(settings, later, lambda: now[0])
    with TestClient(again) as client:
        runtime = again.state.runtime
        _until(lambda: _run(runtime, day)[0] == "done", "the retry")
        assert runtime.jobs.wait_idle(WAIT_S)
        assert _run(runtime, day) == ("done", 2, None)
        headers = {"X-API-Key": issue_key(runtime.db, Role.ADMIN, "t")}
        (run,) = client.get("/nightly-runs", headers=headers).json()
    assert len(later.calls) == 1
    # the plan's message said it was tried again at 02:20, when the service was down
    assert run["message"].endswith(
        "at attempt 2 of 3; attempt 1 of 3 failed: solver crashed; retry at 02:40 (due at "
        "02:20, while the service was stopped)"
    ), run["message"]
