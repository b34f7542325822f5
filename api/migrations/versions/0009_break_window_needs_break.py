"""vehicles: a break window without a break (break_s 0) is cleared

A truck's ``break_start``/``break_end`` with ``break_s`` 0 planned no break; such a window is
now refused (``fleet.models.Vehicle``: give the break's length, or no window), so the ones
stored before are cleared, as the plans read them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE vehicles SET break_start = NULL, break_end = NULL "
        "WHERE break_s = 0 AND (break_start IS NOT NULL OR break_end IS NOT NULL)"
    )


def downgrade() -> None:
    """Nothing to restore: the windows cleared planned no break."""
