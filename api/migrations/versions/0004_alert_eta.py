"""alerts.visit_ref, vehicle_id, eta, respond_by: the visit an alert asked for, which truck
empties the bin, when, and the alert's response target

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visit_ref", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("vehicle_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("eta", api.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("respond_by", api.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("respond_by")
        batch_op.drop_column("eta")
        batch_op.drop_column("vehicle_id")
        batch_op.drop_column("visit_ref")
