"""Run the service with uvicorn (``binroute serve``)."""

from __future__ import annotations

import copy
from typing import Any

import uvicorn

from api.app import create_app
from api.migrate import upgrade_head
from api.settings import Settings


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the service's own records (``api.*``: nightly runs, failed
    jobs, ingests) and APScheduler's (each run of a job), at INFO with their time: under
    uvicorn's alone, their INFO records were dropped and warnings printed with no time."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["service"] = {
        "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
    }
    config["handlers"]["service"] = {
        "class": "logging.StreamHandler",
        "formatter": "service",
        "stream": "ext://sys.stderr",
    }
    for name in ("api", "apscheduler"):
        config["loggers"][name] = {"handlers": ["service"], "level": "INFO", "propagate": False}
    return config


def run(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None) -> None:
    """Serve the API on ``host:port`` until interrupted (one process: the scheduler is inside).

    Raises
    ------
    api.service_lock.ServiceLockError
        When another service runs on the database (before uvicorn starts: a message, not
        the traceback of a failed startup).
    api.migrate.SchemaError
        When the database's schema is newer than this binroute's (the same).
    """
    app = create_app(settings or Settings())
    runtime = app.state.runtime
    runtime.lock.acquire()  # the app's lifespan keeps it, and lets it go at the stop
    try:
        upgrade_head(runtime.db)  # a database it cannot upgrade is a message, not a traceback
    except Exception:
        runtime.lock.release()
        raise
    uvicorn.run(app, host=host, port=port, workers=1, log_config=log_config())
