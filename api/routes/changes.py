"""The inventory's changes: which city, depot, vehicle, site or bin was created, changed or
deleted, when and by which key (``api.repo_changes`` logs them)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api import repo_changes
from api.deps import DbDep
from api.schemas import ERROR_RESPONSES, ChangeOut, Instant, NoNul
from api.security import CanRead

router = APIRouter(prefix="/inventory", tags=["inventory"], responses=ERROR_RESPONSES)

Resource = Literal["cities", "depots", "vehicles", "sites", "bins"]


@router.get("/changes", response_model=list[ChangeOut], summary="The inventory's changes")
def list_changes(
    db: DbDep,
    _: CanRead,
    resource: Resource | None = None,
    ref: Annotated[str | None, Query(max_length=64), NoNul] = None,
    after: Annotated[int | None, Query(ge=0, le=2_147_483_647)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[ChangeOut]:
    """Each record created, changed (``fields``: the fields that changed; a ``PUT`` or bulk
    row that changes nothing is none) or deleted, one by one, in bulk or from CSV, the
    last first: of one ``resource`` (its list's path: ``bins``) and ``ref`` (its id) when
    given, logged after the change ``after`` (an id: what a page that showed the
    inventory as of that change has not seen), in ``[since, until)``. Each names the key
    that made it (``key_id`` and ``key_name``, a revoked key's too). Records stored
    before the log began (migration 0018) have none."""
    with db.reader() as s:
        rows = repo_changes.list_changes(
            s,
            resource=resource,
            ref=ref,
            after_id=after,
            since=since,
            until=until,
            limit=limit,
        )
        return [
            ChangeOut.model_validate(row).model_copy(update={"key_name": name})
            for row, name in rows
        ]
