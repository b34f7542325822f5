"""Run the service with uvicorn (``binroute serve``)."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from api.settings import Settings


def run(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None) -> None:
    """Serve the API on ``host:port`` until interrupted (one process: the scheduler is inside).

    Raises
    ------
    api.service_lock.ServiceLockError
        When another service runs on the database (before uvicorn starts: a message, not
        the traceback of a failed startup).
    """
    app = create_app(settings or Settings())
    app.state.runtime.lock.acquire()  # the app's lifespan keeps it, and lets it go at the stop
    uvicorn.run(app, host=host, port=port, workers=1)
