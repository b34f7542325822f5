"""One service per database: a second `binroute serve` on it stops with a message."""

from __future__ import annotations

import os
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.db import PlanRow
from api.routing import Routing
from api.service_lock import ServiceLockError
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import the_eve
from tests.api.fakes import FakePlanner

DAY = date(2026, 11, 25)


def _app(settings: Settings) -> FastAPI:
    routing = Routing.static(HaversineProvider())
    return create_app(settings, planner=FakePlanner(), routing=routing, clock=the_eve)


def test_a_second_service_on_the_database_stops_and_leaves_the_first_ones_jobs(
    settings: Settings,
) -> None:
    """The second start used to mark the first service's plan job under way failed
    ("interrupted by a restart"), and to run a nightly plan beside the first's."""
    first = _app(settings)
    with TestClient(first):
        runtime = first.state.runtime
        job = runtime.jobs.create_plan(DAY, 1, "request")  # queued: the first one's to run
        second = TestClient(_app(settings))
        with pytest.raises(ServiceLockError, match=f"pid {os.getpid()}") as err:
            second.__enter__()
        assert "BINROUTE_DATABASE_URL" in str(err.value)
        with runtime.db.reader() as s:
            row = s.get(PlanRow, job.id)
            assert row is not None and row.status == "queued"


def test_the_database_is_free_again_once_the_service_stopped(settings: Settings) -> None:
    with TestClient(_app(settings)):
        pass
    with TestClient(_app(settings)) as client:
        assert client.get("/health").json()["status"] == "ok"
