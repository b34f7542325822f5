"""API keys with roles, stored hashed; the ``X-API-Key`` header checks.

A key reads ``br_<key_id>_<secret>``. Only ``key_id`` (the lookup handle), a random salt and
``sha256(salt + secret)`` are stored: the secret is 256 random bits, so a slow password hash
adds nothing. Comparison uses ``hmac.compare_digest``.

Roles: ``sensor`` writes readings only; ``viewer`` reads; ``dispatcher`` reads, manages the
inventory, plans, progress, reports and alerts; ``admin`` may do everything incl. key management.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.db import ApiKeyRow, Database, utcnow
from api.settings import Settings


class Role(StrEnum):
    """What a key may do."""

    SENSOR = "sensor"
    VIEWER = "viewer"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"


READ = frozenset({Role.VIEWER, Role.DISPATCHER, Role.ADMIN})
WRITE_READINGS = frozenset({Role.SENSOR, Role.DISPATCHER, Role.ADMIN})
DISPATCH = frozenset({Role.DISPATCHER, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})

_header = APIKeyHeader(name="X-API-Key", auto_error=False)
MISSING = "missing X-API-Key header"
UNKNOWN = "unknown or revoked API key"
EXPIRED = "API key {key_id} expired at {at}; ask an admin for a new one"
CHALLENGE = {"WWW-Authenticate": "APIKey"}


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def _split(key: str) -> tuple[str, str] | None:
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != "br" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def issue_key(db: Database, role: Role, name: str, expires_at: datetime | None = None) -> str:
    """Store a new key for ``role`` and return it (the only time the secret is seen); it is
    refused from ``expires_at`` (tz-aware) on, when given."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_hex(32)
    salt = secrets.token_hex(16)
    with db.writer() as s:
        s.add(
            ApiKeyRow(
                key_id=key_id,
                name=name,
                role=role.value,
                salt=salt,
                secret_hash=_digest(salt, secret),
                expires_at=expires_at,
            )
        )
    return f"br_{key_id}_{secret}"


def check_key(db: Database, key: str) -> Role | str:
    """The role of ``key``, or why it is refused: :data:`UNKNOWN` when it is malformed,
    unknown or revoked, :data:`EXPIRED` (naming the key and when) past its expiry."""
    parts = _split(key)
    if parts is None:
        return UNKNOWN
    key_id, secret = parts
    with db.reader() as s:
        row = s.get(ApiKeyRow, key_id)
    if row is None or row.revoked:
        return UNKNOWN
    if not hmac.compare_digest(row.secret_hash, _digest(row.salt, secret)):
        return UNKNOWN
    if row.expires_at is not None and row.expires_at <= utcnow():
        return EXPIRED.format(key_id=key_id, at=row.expires_at.isoformat(timespec="seconds"))
    return Role(row.role)


def verify_key(db: Database, key: str) -> Role | None:
    """The role of ``key``, or None when it is malformed, unknown, revoked or expired."""
    got = check_key(db, key)
    return got if isinstance(got, Role) else None


def create_key(settings: Settings, role: str, name: str, expires_at: datetime | None = None) -> str:
    """Create a key on the configured database (for the CLI); print it once, it is not stored.
    It is refused from ``expires_at`` (tz-aware) on, when given.

    Raises
    ------
    ValueError
        When ``role`` is not one of sensor, viewer, dispatcher, admin.
    """
    from api.migrate import upgrade_head

    try:
        parsed = Role(role)
    except ValueError as exc:
        raise ValueError(f"unknown role {role!r}; use one of {[r.value for r in Role]}") from exc
    db = Database(settings.database_url)
    try:
        upgrade_head(db)
        return issue_key(db, parsed, name, expires_at)
    finally:
        db.dispose()


def _database(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


def current_role(request: Request, key: Annotated[str | None, Depends(_header)]) -> Role:
    """The caller's role; 401 when the key is missing, unknown, revoked or expired."""
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, MISSING, headers=CHALLENGE)
    role = getattr(request.state, "role", None) or check_key(_database(request), key)
    if not isinstance(role, Role):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, role, headers=CHALLENGE)
    return role


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return not length.isdigit() or int(length) > 0
    return "transfer-encoding" in headers


class KeyBeforeBody:
    """ASGI middleware: a request that carries a body is a 401 unless its ``X-API-Key`` is
    valid, before the body is read. FastAPI reads and parses a JSON body before its
    dependencies check the key, so any client could have the service parse up to
    ``api.limits.MAX_BODY_BYTES`` (a 20 MB array of empty arrays takes some 450 MB). Every
    route that takes a body needs a key; the route's own check (the role) follows."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(headers := Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        key = headers.get("x-api-key")
        why, role = (MISSING if not key else None), None
        if key:
            db: Database = scope["app"].state.runtime.db
            got = await run_in_threadpool(check_key, db, key)
            role, why = (got, None) if isinstance(got, Role) else (None, got)
        if why is None:
            # the key is checked once: current_role takes the role from the request's state
            scope.setdefault("state", {})["role"] = role
            await self.app(scope, receive, send)
            return
        answer = JSONResponse({"detail": why}, status.HTTP_401_UNAUTHORIZED, headers=CHALLENGE)
        await answer(scope, receive, send)


def require(allowed: frozenset[Role]) -> Callable[[Role], Role]:
    """A dependency that lets only ``allowed`` roles through (403 otherwise)."""

    def check(role: Annotated[Role, Depends(current_role)]) -> Role:
        if role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {role.value!r} may not do this; needs one of "
                f"{sorted(r.value for r in allowed)}",
            )
        return role

    return check


def caller_key_id(key: Annotated[str | None, Depends(_header)]) -> str | None:
    """The id of the caller's key (its public part; the route's role check has checked
    it): who a change is logged as made by."""
    parts = _split(key) if key else None
    return parts[0] if parts else None


CallerKey = Annotated[str | None, Depends(caller_key_id)]
CanRead = Annotated[Role, Depends(require(READ))]
CanWriteReadings = Annotated[Role, Depends(require(WRITE_READINGS))]
CanDispatch = Annotated[Role, Depends(require(DISPATCH))]
IsAdmin = Annotated[Role, Depends(require(ADMIN))]
