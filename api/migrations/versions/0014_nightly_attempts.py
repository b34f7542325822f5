"""nightly_runs.attempts and retry_at: which try of the night's plan a run is, and when the
next automatic try is due

A retry is a stored scheduler job; a run that failed while the service was stopping could not
store it (the scheduler was being shut down). ``retry_at`` keeps it on the run's row, and the
next start stores it again. Runs stored before read attempt 1, no retry due.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("nightly_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nightly_runs", schema=None) as batch_op:
        batch_op.drop_column("retry_at")
        batch_op.drop_column("attempts")
