"""plans.reports_seen_id: the newest truck report the plan job that set a plan's start read

A report dated before a plan's start that reaches the service after that job read its
inputs (a tablet off the network) is work the plan did not know of: reroutes and re-plans
take it in as done off the plan's routes. Plans stored before have none (such reports are
left out, as before).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reports_seen_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("reports_seen_id")
