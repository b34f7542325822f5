"""The nightly planning runs (``nightly_runs``): whether a night's plan was made, and why not."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import repo
from api.deps import DbDep
from api.schemas import ERROR_RESPONSES, NightlyRunOut
from api.security import CanRead

router = APIRouter(prefix="/nightly-runs", tags=["nightly runs"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[NightlyRunOut], summary="List nightly runs, newest first")
def list_nightly_runs(
    db: DbDep, _: CanRead, limit: Annotated[int, Query(ge=1, le=1000)] = 7
) -> list[NightlyRunOut]:
    """The last ``limit`` nightly runs by plan date, newest first: ``running``, ``done``
    (``plan_id`` published) or ``failed`` (``message`` says why; one a stop cut short runs
    again when the service starts)."""
    with db.reader() as s:
        return [NightlyRunOut.model_validate(r) for r in repo.nightly_runs(s, limit)]
