"""Liveness and database check (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import DbDep, SettingsDep
from api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, summary="Service health")
def health(db: DbDep, settings: SettingsDep) -> HealthOut:
    """The database answers; the street network and time zone the plans are made in (the
    service's ``CITY`` and ``TIMEZONE`` settings, not the ``/cities`` catalogue)."""
    with db.reader() as s:
        s.execute(text("SELECT 1"))
    return HealthOut(
        status="ok",
        database=db.engine.dialect.name,
        city=settings.city,
        timezone=settings.timezone,
    )
