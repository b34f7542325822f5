"""The FastAPI application of ``binroute serve``: ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api import errors
from api.dashboard import router as dashboard_router
from api.db import Database, utcnow
from api.deps import Runtime
from api.jobs import JobRunner
from api.limits import BodyLimit
from api.migrate import upgrade_head
from api.planner import PipelinePlanner, Planner
from api.routes import ROUTERS
from api.routing import Routing
from api.scheduler import start_scheduler, stop_scheduler
from api.security import KeyBeforeBody
from api.service_lock import ServiceLock
from api.settings import Settings

DESCRIPTION = """
Dispatchers and sensors talk to this service. Send `X-API-Key` with every request.

* **sensor** keys write readings only; **viewer** keys read; **dispatcher** keys manage the
  inventory, plans, truck progress, citizen reports and alerts; **admin** keys also manage keys.
* Instants are ISO 8601 with an offset; clock times (shifts, windows) are local to the city.
* Bad input is a 422 naming the field and the record; unknown ids are 404.
"""


def create_app(
    settings: Settings | None = None,
    *,
    planner: Planner | None = None,
    routing: Routing | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build the app; the lifespan migrates the database and starts the nightly scheduler.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to ``Settings()`` (``BINROUTE_*`` environment variables).
    planner, routing : optional
        The planning pipeline and travel times (default: ``optimiser.daily`` and the
        ``settings.city`` street network, loaded at the first plan).
    clock : callable, optional
        Now (tz-aware) for the jobs: which day is today (plans of today start now, earlier
        days' alerts reroute it), from the start on; default the system clock. For tests and
        simulations.
    """
    settings = settings or Settings()
    db = Database(settings.database_url)
    runtime = Runtime(
        settings=settings,
        db=db,
        jobs=JobRunner(db, settings, clock or utcnow),
        planner=planner or PipelinePlanner(),
        routing=routing or Routing(settings.city, settings.max_snap_m, settings.truck()),
        lock=ServiceLock(db),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.lock.acquire()  # one service per database: a second would fail the first's jobs
        try:
            upgrade_head(runtime.db)
            runtime.jobs = JobRunner(runtime.db, settings, runtime.jobs.clock)
            runtime.jobs.recover()
            runtime.jobs.resume(runtime.planner, runtime.routing)
            if settings.scheduler_enabled:
                runtime.scheduler = start_scheduler(runtime)
            try:
                yield
            finally:
                stop_scheduler(runtime)
                runtime.jobs.shutdown()
        finally:
            runtime.lock.release()
            runtime.db.dispose()

    # /docs and /redoc from the files of the fastapi-offline wheel, served here: FastAPI's own
    # pages load their scripts from a CDN, and a city's service may have no internet
    app = FastAPIOffline(
        title="binroute", version="0.1.0", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.runtime = runtime
    # FastAPI reads a JSON body before its dependencies check the key: the key first
    # (KeyBeforeBody, the outer one), and no body over the limit (BodyLimit)
    app.add_middleware(BodyLimit)
    app.add_middleware(KeyBeforeBody)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(dashboard_router)
    return app
