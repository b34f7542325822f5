"""Run the service with uvicorn (``binroute serve``)."""

from __future__ import annotations

import copy
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import uvicorn
import uvicorn.logging

from api.app import create_app
from api.migrate import upgrade_head
from api.settings import Settings

SERVICE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS_FORMAT = (
    '%(asctime)s %(levelname)s %(name)s: %(client_addr)s - "%(request_line)s" %(status_code)s'
)


def _city_time(record: logging.LogRecord, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(record.created, zone).isoformat(timespec="milliseconds")


class CityTimeFormatter(logging.Formatter):
    """Log records stamped with their time in the city's zone, with its offset (ISO 8601,
    milliseconds): the times plans, alerts and shifts are read in, not the server's zone."""

    def __init__(self, fmt: str, timezone: str) -> None:
        super().__init__(fmt)
        self.zone = ZoneInfo(timezone)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _city_time(record, self.zone)


class CityAccessFormatter(uvicorn.logging.AccessFormatter):
    """uvicorn's access lines (client, request line, status) stamped as
    :class:`CityTimeFormatter` stamps the service's own."""

    def __init__(self, fmt: str, timezone: str, use_colors: bool | None = None) -> None:
        super().__init__(fmt, use_colors=use_colors)
        self.zone = ZoneInfo(timezone)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _city_time(record, self.zone)


def log_config(timezone: str = "UTC") -> dict[str, Any]:
    """uvicorn's logging, plus the service's own records (``api.*``: nightly runs, failed
    jobs, ingests) and APScheduler's (each run of a job), at INFO, every line with its time
    in ``timezone`` (the city's) and its logger's name: under uvicorn's alone, their INFO
    records were dropped and warnings printed with no time, and uvicorn's own lines
    (started, errors, each request) have none."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["service"] = {
        "()": CityTimeFormatter,
        "fmt": SERVICE_FORMAT,
        "timezone": timezone,
    }
    config["formatters"]["default"] = config["formatters"]["service"]  # uvicorn, uvicorn.error
    config["formatters"]["access"] = {
        "()": CityAccessFormatter,
        "fmt": ACCESS_FORMAT,
        "timezone": timezone,
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
    settings = settings or Settings()
    app = create_app(settings)
    runtime = app.state.runtime
    runtime.lock.acquire()  # the app's lifespan keeps it, and lets it go at the stop
    try:
        upgrade_head(runtime.db)  # a database it cannot upgrade is a message, not a traceback
    except Exception:
        runtime.lock.release()
        raise
    uvicorn.run(app, host=host, port=port, workers=1, log_config=log_config(settings.timezone))
