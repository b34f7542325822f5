"""`binroute ... --help`: the text an operator reads before running a command."""

from __future__ import annotations

from typer.testing import CliRunner

from binroute.cli import app


def test_the_sweep_help_names_the_table_the_file_needs() -> None:
    """A ``[sweep]`` in a help text is rich markup unless escaped: it was dropped, leaving
    'Scenario TOML with a  table'."""
    result = CliRunner().invoke(app, ["scenarios", "sweep", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Scenario TOML with a [sweep] table" in result.output
