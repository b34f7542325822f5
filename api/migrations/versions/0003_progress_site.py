"""progress_updates.site_id: the disposal site of a ``disposal_done`` report

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 16:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("progress_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("progress_updates", schema=None) as batch_op:
        batch_op.drop_column("site_id")
