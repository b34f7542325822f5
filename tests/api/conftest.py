"""Fixtures: an app on a temp SQLite file with a fake planner, a client and a key per role."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import Runtime, get_planner, get_routing
from api.routing import Routing
from api.security import Role, issue_key
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.fakes import FakePlanner

PLAN_DATE = "2026-11-25"
MORNING = "2026-11-25T07:00:00+02:00"
# the jobs' now unless a test sets its own: the evening before PLAN_DATE, a day still to come
# (by the system clock it is a past day, whose plans are replays and whose alerts go to today)
EVE = datetime.fromisoformat("2026-11-24T20:00:00+02:00")


# The jobs' clock stays at the eve while tests report the planned day (and the next): records
# dated up to two days after it are taken (the service's default is 15 minutes).
CLOCK_SKEW_MIN = 2 * 24 * 60


def the_eve() -> datetime:
    """``EVE``: the jobs' clock of the tests' apps."""
    return EVE


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'binroute.db'}",
        scheduler_enabled=False,
        city="haversine",
        timezone="Europe/Helsinki",
        default_time_limit_s=1,
        max_time_limit_s=5,
        nightly_time_limit_s=3,
        reroute_time_limit_s=2,
        clock_skew_min=CLOCK_SKEW_MIN,
    )


@pytest.fixture
def planner() -> FakePlanner:
    return FakePlanner()


@pytest.fixture
def real_app(settings: Settings) -> FastAPI:
    """The app with the real PipelinePlanner (1 s solves), straight-line travel, the eve's clock."""
    app = create_app(settings, clock=the_eve)
    app.dependency_overrides[get_routing] = lambda: Routing.static(HaversineProvider())
    return app


@pytest.fixture
def real_client(real_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(real_app) as c:
        yield c


@pytest.fixture
def app(settings: Settings, planner: FakePlanner) -> FastAPI:
    app = create_app(settings, clock=the_eve)
    app.dependency_overrides[get_planner] = lambda: planner
    app.dependency_overrides[get_routing] = lambda: Routing.static(HaversineProvider())
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def runtime(app: FastAPI, client: TestClient) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


@pytest.fixture
def keys(runtime: Runtime) -> dict[str, dict[str, str]]:
    """Headers per role name."""
    return {r.value: {"X-API-Key": issue_key(runtime.db, r, f"{r.value} key")} for r in Role}


@pytest.fixture
def admin(keys: dict[str, dict[str, str]]) -> dict[str, str]:
    return keys["admin"]


def seed(client: TestClient, headers: dict[str, str], n_bins: int = 4) -> None:
    """One depot, two trucks, a site and ``n_bins`` bins with a morning reading each."""
    ok = [
        client.post(
            "/depots", json={"depot_id": "d1", "lon": 24.94, "lat": 60.17}, headers=headers
        ),
        client.post("/sites", json={"site_id": "s1", "lon": 24.98, "lat": 60.2}, headers=headers),
    ]
    for v in ("v1", "v2"):
        ok.append(
            client.post(
                "/vehicles",
                json={"vehicle_id": v, "depot_id": "d1", "capacity_l": 20000, "capacity_kg": 8000},
                headers=headers,
            )
        )
    bins = [
        {"bin_id": f"b{i}", "lon": 24.94 + 0.002 * i, "lat": 60.17 + 0.001 * i, "capacity_l": 240}
        for i in range(n_bins)
    ]
    ok.append(client.post("/bins/bulk", json=bins, headers=headers))
    readings = [{"bin_id": f"b{i}", "at": MORNING, "fill_fraction": 0.6} for i in range(n_bins)]
    ok.append(client.post("/readings", json=readings, headers=headers))
    for r in ok:
        assert r.status_code in (200, 201), r.text


def wait(runtime: Runtime) -> None:
    assert runtime.jobs.wait_idle(30), "jobs did not finish"
