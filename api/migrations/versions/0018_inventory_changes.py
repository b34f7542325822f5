"""inventory_changes: each record of the inventory created, changed or deleted

A dispatcher's page showed another's new or moved bin only when it loaded again, and the
service kept no trace of who changed a record when. Each create, replace that changes a
field, and delete of a city, depot, vehicle, site or bin (one by one, in bulk or from CSV)
now leaves a row: when, what, which fields, by which key (``api.repo_changes``). Records
stored before have none.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 02:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.db import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inventory_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("resource", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_inventory_changes_at", "inventory_changes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_inventory_changes_at", "inventory_changes")
    op.drop_table("inventory_changes")
