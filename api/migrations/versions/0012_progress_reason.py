"""progress_updates.reason: why a crew could not empty a bin (``visit_missed``)

A crew reports a bin it could not empty (a parked car, a locked enclosure, the bin
missing) with an optional short reason. Reports stored before have none.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("progress_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("progress_updates", schema=None) as batch_op:
        batch_op.drop_column("reason")
