"""Helpers of the scheduler's tests: the night's plans and runs, an app whose nightly run
fails and retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from api.db import NightlyRunRow
from api.deps import Runtime
from api.routing import Routing
from api.security import Role, issue_key
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import seed
from tests.api.fakes import FakePlanner

DAY = date(2026, 11, 25)


def nightly_plans(settings: Settings) -> list[tuple[str, str]]:
    """Each nightly run stored in the database: (plan date, status)."""
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT plan_date, status FROM nightly_runs")).all()
    finally:
        engine.dispose()
    return [(str(d), s) for d, s in rows]


def retrying_app(
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


@contextmanager
def serving(
    app: Any, role: Role = Role.ADMIN, n_bins: int = 4
) -> Iterator[tuple[TestClient, Runtime, dict[str, str]]]:
    """``app`` serving (its scheduler started) with the fleet seeded
    (:func:`tests.api.conftest.seed`, ``n_bins`` bins): its client, runtime and the header
    of a ``role`` key."""
    with TestClient(app) as client:
        runtime = app.state.runtime
        key = {"X-API-Key": issue_key(runtime.db, role, "t")}
        seed(client, key, n_bins=n_bins)
        yield client, runtime, key


def nightly_run(runtime: Runtime, day: date) -> tuple[str, str]:
    """The status and message of ``day``'s nightly run (it must be stored)."""
    with runtime.db.reader() as s:
        run = s.get(NightlyRunRow, day)
        assert run is not None
        return run.status, run.message


def by_hand(day: date) -> str:
    """What a failed nightly run of ``day`` tells the dispatcher to do."""
    return f'make the plan of {day} by hand: POST /plans {{"plan_date": "{day}"}}'
