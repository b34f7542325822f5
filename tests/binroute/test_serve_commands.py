"""`binroute keys create` and `binroute serve`: what an operator sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.db import Database
from api.security import Role, verify_key
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
