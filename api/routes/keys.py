"""API key management (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sqlalchemy import select

from api import repo
from api.db import ApiKeyRow, utcnow
from api.deps import DbDep
from api.errors import RecordError
from api.schemas import ERROR_RESPONSES, KeyCreated, KeyIn, KeyOut, NoNul
from api.security import IsAdmin, Role, issue_key

router = APIRouter(prefix="/keys", tags=["keys"], responses=ERROR_RESPONSES)


@router.post(
    "",
    response_model=KeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create a key (the secret is returned once)",
)
def create(item: KeyIn, db: DbDep, _: IsAdmin) -> KeyCreated:
    if item.expires_at is not None and item.expires_at <= utcnow():
        raise RecordError(
            ["body", "expires_at"],
            f"expires_at {item.expires_at.isoformat()} is not in the future: the key would "
            "never work; give a later instant, or leave it out for a key that does not expire",
            f"name={item.name!r}",
        )
    key = issue_key(db, Role(item.role), item.name, item.expires_at)
    return KeyCreated(
        key=key,
        key_id=key.split("_")[1],
        role=item.role,
        name=item.name,
        expires_at=item.expires_at,
    )


@router.get("", response_model=list[KeyOut], summary="List keys (never the secrets)")
def list_keys(db: DbDep, _: IsAdmin) -> list[KeyOut]:
    with db.reader() as s:
        rows = s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at))
        return [KeyOut.model_validate(r) for r in rows]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a key")
def revoke(key_id: Annotated[str, Path(max_length=64), NoNul], db: DbDep, _: IsAdmin) -> Response:
    with db.writer() as s:
        repo.get_or_404(s, ApiKeyRow, key_id, "API key").revoked = True
    return Response(status_code=status.HTTP_204_NO_CONTENT)
