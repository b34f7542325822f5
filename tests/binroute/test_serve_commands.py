"""`binroute keys create` and `binroute serve`: what an operator sees."""

from __future__ import annotations

import contextlib
import logging
import logging.config
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from api import server
from api.db import ApiKeyRow, Database
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


def test_a_key_created_for_some_days_expires_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--valid-days 30``: the key alone on stdout, when it expires on stderr, and stored
    with that expiry."""
    url = f"sqlite:///{tmp_path / 'binroute.db'}"
    monkeypatch.setenv("BINROUTE_DATABASE_URL", url)
    args = ["keys", "create", "--role", "viewer", "--name", "trial", "--valid-days", "30"]
    before = datetime.now(UTC)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (key,) = result.stdout.splitlines()
    assert result.stderr.startswith("it expires at ")
    db = Database(url)
    try:
        assert verify_key(db, key) == Role.VIEWER
        with db.reader() as s:
            (row,) = s.scalars(select(ApiKeyRow))
        assert row.expires_at is not None
        assert timedelta(days=30) <= row.expires_at - before < timedelta(days=30, minutes=1)
    finally:
        db.dispose()


@contextlib.contextmanager
def _served_logging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any
) -> Iterator[None]:
    """``binroute serve``'s logging set up as uvicorn sets it up from the ``log_config``
    ``server.run`` hands it (uvicorn itself faked), then taken down again."""
    started: dict[str, Any] = {}

    def fake_uvicorn_run(app: FastAPI, **kwargs: Any) -> None:
        started.update(kwargs)
        app.state.runtime.lock.release()

    monkeypatch.setattr(uvicorn, "run", fake_uvicorn_run)
    server.run(
        port=1,
        settings=Settings(
            database_url=f"sqlite:///{tmp_path / 'b.db'}", city="haversine", **settings
        ),
    )
    try:
        logging.config.dictConfig(started.get("log_config", uvicorn.config.LOGGING_CONFIG))
        yield
    finally:
        for name in ("api", "apscheduler", "uvicorn", "uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).setLevel(logging.NOTSET)
            logging.getLogger(name).propagate = True


def test_serve_shows_the_services_own_info_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """'nightly plan 7 for 2026-11-25 published' was dropped: uvicorn's logging configures
    its own loggers only, and the api's INFO records reached no handler."""
    with _served_logging(tmp_path, monkeypatch):
        logging.getLogger("api.scheduler").info("nightly plan %s for %s published", 7, "2026-11-25")
        assert (
            "INFO api.scheduler: nightly plan 7 for 2026-11-25 published" in capsys.readouterr().err
        )


def test_serve_stamps_the_services_records_with_the_citys_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record of the eve (18:00 UTC) reads 20:00+02:00 in Helsinki, whatever the server's
    zone: the times the plans and alerts are in."""
    eve = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    logger = logging.getLogger("api.scheduler")
    with _served_logging(tmp_path, monkeypatch, timezone="Europe/Helsinki"):
        record = logger.makeRecord(
            "api.scheduler", logging.INFO, __file__, 1, "nightly plan for %s", ("x",), None
        )
        record.created = eve.timestamp()
        logger.handle(record)
        assert "2026-11-24T20:00:00.000+02:00 INFO api.scheduler:" in capsys.readouterr().err


def test_serve_stamps_uvicorns_own_lines_with_the_citys_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """uvicorn's lines (started, errors on stderr; each request on stdout) had no time: they
    read as the service's own do, the eve's 18:00 UTC as 20:00+02:00 in Helsinki."""
    eve = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    with _served_logging(tmp_path, monkeypatch, timezone="Europe/Helsinki"):
        for name, msg, args in (
            ("uvicorn.error", "Started server process [%d]", (42,)),
            (
                "uvicorn.access",
                '%s - "%s %s HTTP/%s" %d',
                ("127.0.0.1:5", "GET", "/health", "1.1", 200),
            ),
        ):
            logger = logging.getLogger(name)
            record = logger.makeRecord(name, logging.INFO, __file__, 1, msg, args, None)
            record.created = eve.timestamp()
            logger.handle(record)
        out = capsys.readouterr()
        at = "2026-11-24T20:00:00.000+02:00 INFO"
        assert f"{at} uvicorn.error: Started server process [42]" in out.err
        assert f'{at} uvicorn.access: 127.0.0.1:5 - "GET /health HTTP/1.1" 200 OK' in out.out
