"""Liveness and database check (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import DbDep
from api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, summary="Service health")
def health(db: DbDep) -> HealthOut:
    with db.reader() as s:
        s.execute(text("SELECT 1"))
    return HealthOut(status="ok", database=db.engine.dialect.name)
