"""Run the service with uvicorn (``binroute serve``)."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from api.settings import Settings


def run(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None) -> None:
    """Serve the API on ``host:port`` until interrupted (one process: the scheduler is inside)."""
    uvicorn.run(create_app(settings or Settings()), host=host, port=port, workers=1)
