"""Dependencies: the app's runtime (settings, database, jobs) and the overridable seams.

Override ``get_planner`` and ``get_routing`` in ``app.dependency_overrides`` to plan with a fake
or with the haversine provider.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from api.db import Database
from api.jobs import JobRunner
from api.planner import Planner
from api.routing import Routing
from api.service_lock import ServiceLock
from api.settings import Settings


@dataclass(slots=True, kw_only=True)
class Runtime:
    """Everything a running app holds (on ``app.state.runtime``)."""

    settings: Settings
    db: Database
    jobs: JobRunner
    planner: Planner
    routing: Routing
    lock: ServiceLock
    scheduler: Any = None
    # held to store a job on ``scheduler``, and by a stop to take it away: APScheduler's
    # shutdown(wait=True) holds its job store's lock while a running job finishes, so a job
    # storing another meanwhile (a failed nightly run's retry) would wait for it for ever
    scheduling: threading.Lock = field(default_factory=threading.Lock)


def get_runtime(request: Request) -> Runtime:
    """The app's runtime."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    """The app's settings."""
    return runtime.settings


def get_db(runtime: RuntimeDep) -> Database:
    """The app's database handle."""
    return runtime.db


def get_jobs(runtime: RuntimeDep) -> JobRunner:
    """The app's job runner."""
    return runtime.jobs


def get_planner(runtime: RuntimeDep) -> Planner:
    """The planning pipeline (override with a fake in tests)."""
    return runtime.planner


def get_routing(runtime: RuntimeDep) -> Routing:
    """Travel times of the configured city (override with haversine in tests)."""
    return runtime.routing


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]
PlannerDep = Annotated[Planner, Depends(get_planner)]
RoutingDep = Annotated[Routing, Depends(get_routing)]
