"""Liveness: the database, the nightly scheduler and the last nightly run (no key needed)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED
from fastapi import APIRouter, Response, status
from sqlalchemy import text

from api import repo
from api.deps import Runtime, RuntimeDep
from api.scheduler import JOB_ID
from api.schemas import HealthOut, NightlyRunOut
from network.language import LANGUAGES

router = APIRouter(tags=["health"])

SchedulerState = Literal["running", "stopped", "disabled"]


def _scheduler_state(runtime: Runtime) -> tuple[SchedulerState, datetime | None, str | None]:
    """``disabled`` (setting ``SCHEDULER_ENABLED``), ``running`` or ``stopped`` (enabled but
    not firing jobs: never started, shut down, paused, its thread dead although its state
    reads running, or the nightly job gone or paused), the nightly job's next run time in
    the city's zone (None when no run is due), and why it is stopped (None unless so)."""
    if not runtime.settings.scheduler_enabled:
        return "disabled", None, None
    scheduler = runtime.scheduler
    if scheduler is None or scheduler.state == STATE_STOPPED:
        return "stopped", None, "the scheduler is not running: restart the service"
    if scheduler.state != STATE_RUNNING:
        return "stopped", None, "the scheduler is paused"
    thread = getattr(scheduler, "_thread", None)  # a BackgroundScheduler's loop
    if thread is None or not thread.is_alive():
        return "stopped", None, "the scheduler's thread has died: restart the service"
    job = scheduler.get_job(JOB_ID)
    due = getattr(job, "next_run_time", None)
    if due is None:
        why = "missing" if job is None else "paused"
        return "stopped", None, f"the nightly job is {why}: restart the service"
    return "running", due.astimezone(runtime.settings.tz), None


@router.get(
    "/health",
    response_model=HealthOut,
    summary="Service health",
    responses={503: {"model": HealthOut, "description": "the nightly scheduler is not running"}},
)
def health(runtime: RuntimeDep, response: Response) -> HealthOut:
    """The database answers; the street network and time zone the plans are made in (the
    service's ``CITY`` and ``TIMEZONE`` settings, not the ``/cities`` catalogue) and how far
    from its streets a bin may stand (``MAX_SNAP_M``); the nightly
    scheduler's state and next run, and the last nightly run. 503 (``status`` ``degraded``)
    when the scheduler is enabled but not running (``scheduler_problem`` says why): no plan
    would be made tonight."""
    with runtime.db.reader() as s:
        s.execute(text("SELECT 1"))
        last = repo.nightly_runs(s, 1)
        last_run = NightlyRunOut.model_validate(last[0]) if last else None
    scheduler, next_run, problem = _scheduler_state(runtime)
    if scheduler == "stopped":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthOut(
        status="degraded" if scheduler == "stopped" else "ok",
        database=runtime.db.engine.dialect.name,
        city=runtime.settings.city,
        timezone=runtime.settings.timezone,
        max_snap_m=runtime.settings.max_snap_m,
        truck_height_m=runtime.settings.truck_height_m,
        truck_weight_kg=runtime.settings.truck_weight_kg,
        truck_width_m=runtime.settings.truck_width_m,
        truck_length_m=runtime.settings.truck_length_m,
        truck_axle_load_kg=runtime.settings.truck_axle_load_kg,
        turn_restrictions=runtime.settings.turn_restrictions,
        local_access=runtime.settings.local_access,
        u_turns=runtime.settings.u_turns,
        drive_side=runtime.settings.drive_side,
        street_hours=runtime.settings.street_hours,
        language=runtime.settings.language,
        languages=list(LANGUAGES),
        scheduler=scheduler,
        scheduler_problem=problem,
        next_nightly_run=next_run,
        last_nightly_run=last_run,
    )
