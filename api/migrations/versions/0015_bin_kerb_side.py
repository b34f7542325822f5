"""bins.kerb_side: whether a truck must stop with the bin on its kerb side

A side-loaded container, or a bin on a street the crew may not cross, is passed driving one
way only on a two-way street. Bins stored before are taken from either side (false).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bins", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kerb_side", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("bins", schema=None) as batch_op:
        batch_op.drop_column("kerb_side")
