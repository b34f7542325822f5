"""One router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    alerts,
    bins,
    changes,
    cities,
    depots,
    downtimes,
    health,
    keys,
    nightly_runs,
    plans,
    progress,
    readings,
    reports,
    sites,
    vehicles,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    cities.router,
    depots.router,
    vehicles.router,
    downtimes.router,
    sites.router,
    bins.router,
    changes.router,
    readings.router,
    reports.router,
    plans.router,
    progress.router,
    alerts.router,
    nightly_runs.router,
    keys.router,
)
