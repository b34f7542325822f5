"""progress_updates.off_route: a bin emptied off the truck's route in the plan reported against

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 21:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("progress_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("off_route", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("progress_updates", schema=None) as batch_op:
        batch_op.drop_column("off_route")
