"""Request size limit: a body over ``MAX_BODY_BYTES`` is a 413, read no further.

FastAPI reads and parses a JSON body before its dependencies check the ``X-API-Key``, so
without a limit any client, with no key, could make the service read and hold a body of any
size. The limit holds for every route: a declared ``Content-Length`` over it is answered at
once, a chunked body is counted as it comes.
"""

from __future__ import annotations

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 20_000_000  # a CSV import of 20 MB; a bulk or readings body of 10,000 rows
TOO_LARGE = (
    f"request body larger than {MAX_BODY_BYTES // 1_000_000} MB; send it in parts "
    "(a bulk or readings request takes at most 10,000 rows)"
)


class BodyLimit:
    """ASGI middleware: 413 ``{"detail": TOO_LARGE}`` for a body over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse(
                {"detail": TOO_LARGE}, status_code=status.HTTP_413_CONTENT_TOO_LARGE
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # raised in the route's read of the body: answered by the app's handler
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, TOO_LARGE)
            return message

        await self.app(scope, limited, send)
