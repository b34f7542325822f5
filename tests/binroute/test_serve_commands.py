"""`binroute keys create` and `binroute serve`: what an operator sees."""

from __future__ import annotations

import logging
import logging.config
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from api import server
from api.db import Database
from api.security import Role, verify_key
from api.settings import Settings
from binroute.cli import app


def test_a_created_key_is_printed_whole_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'binroute.db'}"
    monkeypatch.setenv("BINROUTE_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["keys", "create", "--role", "admin", "--name", "ops"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output  # a key folded at 80 columns is copied broken
    db = Database(url)
    try:
        assert verify_key(db, lines[0]) == Role.ADMIN
    finally:
        db.dispose()


def test_serve_shows_the_services_own_info_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """'nightly plan 7 for 2026-11-25 published' was dropped: uvicorn's logging configures
    its own loggers only, and the api's INFO records reached no handler."""
    started: dict[str, Any] = {}

    def fake_uvicorn_run(app: FastAPI, **kwargs: Any) -> None:
        started.update(kwargs)
        app.state.runtime.lock.release()

    monkeypatch.setattr(uvicorn, "run", fake_uvicorn_run)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", city="haversine")
    server.run(port=1, settings=settings)
    logger = logging.getLogger("api.scheduler")
    try:
        logging.config.dictConfig(started.get("log_config", uvicorn.config.LOGGING_CONFIG))
        logger.info("nightly plan %s for %s published", 7, "2026-11-25")
        assert (
            "INFO api.scheduler: nightly plan 7 for 2026-11-25 published" in capsys.readouterr().err
        )
    finally:
        for name in ("api", "apscheduler", "uvicorn", "uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).setLevel(logging.NOTSET)
            logging.getLogger(name).propagate = True
