"""The Alembic migration builds exactly the ORM schema."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from api.db import Base, Database
from api.migrate import upgrade_head


def test_migration_matches_orm_metadata(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade_head(db)
        upgrade_head(db)  # idempotent
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert tables == set(Base.metadata.tables)
        assert diff == []
        with db.engine.connect() as conn:
            for name, table in Base.metadata.tables.items():
                columns = {c["name"] for c in inspect(conn).get_columns(name)}
                assert columns == set(table.columns.keys()), name
    finally:
        db.dispose()
