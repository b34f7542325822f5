"""The browser tests' server: the app under uvicorn on 127.0.0.1 (a free port, a temp SQLite
file, the real planning pipeline over the town's street grid, a 1 s solver limit), seeded
through the API."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.deps import get_routing
from api.security import Role, issue_key
from api.settings import Settings
from tests.api.conftest import CLOCK_SKEW_MIN, EVE
from tests.api.dashboard.town import bound_socket, grid_town, seed_requests, town_routing


@contextmanager
def live_app(
    db_file: Path,
    clock: Callable[[], datetime],
    *,
    skew_min: int = CLOCK_SKEW_MIN,
    timezone: str = "Europe/Helsinki",
    seeds: list[tuple[str, Any]] | None = None,
) -> Iterator[tuple[str, str]]:
    """(base url, dispatcher key) of a live app whose jobs take ``clock`` for now, on
    ``db_file``, in the city's ``timezone``, allowing ``skew_min`` of clock skew, seeded
    through the API with ``seeds`` (else ``seed_requests()``)."""
    uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is missing")
    settings = Settings(
        database_url=f"sqlite:///{db_file}",
        scheduler_enabled=False,
        city="haversine",  # unused: get_routing is overridden
        timezone=timezone,
        default_time_limit_s=1,
        max_time_limit_s=2,
        clock_skew_min=skew_min,
    )
    app = create_app(settings, clock=clock)  # the real PipelinePlanner
    routing = town_routing(grid_town())
    app.dependency_overrides[get_routing] = lambda: routing
    sock = bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    key = issue_key(app.state.runtime.db, Role.DISPATCHER, "browser test")
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, timeout=10) as c:
        for path, body in seed_requests() if seeds is None else seeds:
            r = c.post(path, json=body, headers=headers)
            assert r.status_code in (200, 201), r.text
    try:
        yield base, key
    finally:
        srv.should_exit = True
        thread.join(15)
        sock.close()


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(base url, dispatcher key) of a live app seeded through the API (see ``seed_requests``);
    parametrised indirectly with a datetime, its jobs take that as now (else ``EVE``), or with
    (datetime, minutes): also the clock skew it allows (else ``CLOCK_SKEW_MIN``)."""
    param = getattr(request, "param", None)
    now, skew = param if isinstance(param, tuple) else (param or EVE, CLOCK_SKEW_MIN)
    with live_app(tmp_path / "binroute.db", lambda: now, skew_min=skew) as served:
        yield served
