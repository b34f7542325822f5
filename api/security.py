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
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.db import ApiKeyRow, Database
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
CHALLENGE = {"WWW-Authenticate": "APIKey"}


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def _split(key: str) -> tuple[str, str] | None:
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != "br" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def issue_key(db: Database, role: Role, name: str) -> str:
    """Store a new key for ``role`` and return it (the only time the secret is seen)."""
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
            )
        )
    return f"br_{key_id}_{secret}"


def verify_key(db: Database, key: str) -> Role | None:
    """The role of ``key``, or None when it is malformed, unknown or revoked."""
    parts = _split(key)
    if parts is None:
        return None
    key_id, secret = parts
    with db.reader() as s:
        row = s.get(ApiKeyRow, key_id)
    if row is None or row.revoked:
        return None
    if not hmac.compare_digest(row.secret_hash, _digest(row.salt, secret)):
        return None
    return Role(row.role)


def create_key(settings: Settings, role: str, name: str) -> str:
    """Create a key on the configured database (for the CLI); print it once, it is not stored.

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
        return issue_key(db, parsed, name)
    finally:
        db.dispose()


def _database(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


def current_role(request: Request, key: Annotated[str | None, Depends(_header)]) -> Role:
    """The caller's role; 401 when the key is missing or unknown."""
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, MISSING, headers=CHALLENGE)
    role = getattr(request.state, "role", None) or verify_key(_database(request), key)
    if role is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, UNKNOWN, headers=CHALLENGE)
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
            role = await run_in_threadpool(verify_key, db, key)
            why = UNKNOWN if role is None else None
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


CanRead = Annotated[Role, Depends(require(READ))]
CanWriteReadings = Annotated[Role, Depends(require(WRITE_READINGS))]
CanDispatch = Annotated[Role, Depends(require(DISPATCH))]
IsAdmin = Annotated[Role, Depends(require(ADMIN))]
