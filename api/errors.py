"""Exception handlers: bad input -> 422 naming field and record, unknown ids -> 404.

Every 422 body has the shape ``{"detail": [{"loc": [...], "msg": str, "record": str|None}]}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException  # what FastAPI raises, and its subclass

from fleet.errors import FleetDataError
from network.errors import NetworkError
from optimiser.errors import InvalidProblemError


class NotFoundError(LookupError):
    """An id names nothing; the message names the kind and the id."""

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"unknown {kind} {ident!r}")
        self.kind = kind
        self.ident = ident


class ConflictError(Exception):
    """The request clashes with stored state (duplicate id, record still in use)."""


class RecordError(ValueError):
    """Bad input found by the service itself (e.g. a reference to a missing record)."""

    def __init__(self, loc: Sequence[str | int], msg: str, record: str | None) -> None:
        super().__init__(msg)
        self.loc = list(loc)
        self.msg = msg
        self.record = record


def _record_of(body: Any, loc: Sequence[Any]) -> str | None:
    """The id of the deepest object on the path ``loc`` into ``body`` (e.g. ``bin_id='b1'``),
    the object ``loc`` ends at included (an error of the whole body, or of a bulk row, found
    by a check across its fields)."""
    found: str | None = None
    node = body
    for part in loc:
        found = _id_of(node) or found
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return found
    return _id_of(node) or found


def _id_of(node: Any) -> str | None:
    """``key=value`` of ``node``'s first id field (``id`` or ``*_id``), when it is an object."""
    if not isinstance(node, dict):
        return None
    ids = [k for k in node if isinstance(k, str) and (k == "id" or k.endswith("_id"))]
    return f"{ids[0]}={node[ids[0]]!r}" if ids else None


def _detail(loc: Sequence[Any], msg: str, record: str | None) -> dict[str, Any]:
    return {"loc": [p if isinstance(p, int) else str(p) for p in loc], "msg": msg, "record": record}


def _unprocessable(details: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": details}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _not_json(request: Request) -> str:
    """Why a body was not read as JSON: the Content-Type it came with."""
    sent = request.headers.get("content-type") or "none"
    return (
        f"the body was not read as JSON: send it with Content-Type: application/json "
        f"(it came with {sent!r})"
    )


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = []
    body = getattr(exc, "body", None)
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        if loc == ["body"] and isinstance(body, bytes):  # FastAPI read JSON for JSON types only
            details.append(_detail(loc, _not_json(request), None))
            continue
        record = _record_of(body, loc[1:]) if loc and loc[0] == "body" else None
        details.append(_detail(loc, str(err.get("msg", "")), record))
    return _unprocessable(details)


async def _http(request: Request, exc: Exception) -> Response:
    """FastAPI's answer, but a 422 saying why for a JSON body it could not read (its 400
    'There was an error parsing the body' named neither the cause nor the fix)."""
    assert isinstance(exc, HTTPException)
    cause = exc.__cause__
    if exc.status_code == status.HTTP_400_BAD_REQUEST and isinstance(cause, UnicodeDecodeError):
        byte = cause.object[cause.start]
        msg = (
            f"the body is not UTF-8 text (byte {byte:#04x} at {cause.start}); send the JSON "
            "in UTF-8"
        )
        return _unprocessable([_detail(["body"], msg, None)])
    if exc.status_code == status.HTTP_400_BAD_REQUEST and isinstance(cause, RecursionError):
        msg = "the JSON is nested too deep to read; no body of this API nests more than 3 levels"
        return _unprocessable([_detail(["body"], msg, None)])
    return await http_exception_handler(request, exc)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    return _unprocessable([_detail(["body"], str(exc), None)])


async def _record(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RecordError)
    return _unprocessable([_detail(exc.loc, exc.msg, exc.record)])


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    msg = str(exc) if isinstance(exc, ConflictError) else "conflicts with stored data"
    return JSONResponse({"detail": msg}, status_code=status.HTTP_409_CONFLICT)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    for cls in (FleetDataError, InvalidProblemError, NetworkError):
        app.add_exception_handler(cls, _domain)
    app.add_exception_handler(RecordError, _record)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(IntegrityError, _conflict)
