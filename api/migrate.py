"""Programmatic Alembic: the migration environment ships inside the package (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from api.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic ``Config`` pointing at ``api/migrations`` and the database ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class SchemaError(RuntimeError):
    """The database's schema is one this binroute cannot bring to its newest revision."""


def upgrade_head(db: Database) -> None:
    """Bring the database schema to the newest revision (idempotent).

    Raises
    ------
    SchemaError
        When the database is at a revision these migrations do not know: a newer binroute
        upgraded it (this one was rolled back to), which Alembic reports with a traceback.
    """
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        _known_revision(conn, ScriptDirectory.from_config(cfg), db)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _known_revision(conn: Connection, script: ScriptDirectory, db: Database) -> None:
    known = {s.revision for s in script.walk_revisions()}
    for revision in MigrationContext.configure(conn).get_current_heads():
        if revision not in known:
            where = db.engine.url.render_as_string(hide_password=True)
            raise SchemaError(
                f"the database {where} is at schema revision {revision!r}, which this "
                f"binroute does not know (its newest is {script.get_current_head()!r}): a "
                "newer binroute upgraded it. Run that version again, or restore the "
                "database from a copy made before the upgrade"
            )
