"""bins.needs and vehicles.equipment: the equipment a bin needs and a truck carries

An underground container needs a crane truck, a 1100 l bin one with a comb lift: a truck
empties a bin only when it has every piece of equipment the bin needs. Bins and vehicles
stored before need and carry none (empty lists).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bins", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("needs", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("equipment", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.drop_column("equipment")
    with op.batch_alter_table("bins", schema=None) as batch_op:
        batch_op.drop_column("needs")
