"""alerts.bin_id without its foreign key: an alert outlives its bin

Deleting a bin deleted its alerts (the key's cascade): the day's record of overflows lost
them, and the trucks' reports were read without them (an emptying after an alert on the bin
is a second visit, not a resend). Deleting a bin now closes its alerts still to serve as
``bin_deleted`` (``api.repo_alerts``) and keeps them all. Alerts stored before keep their
status. Downgrading deletes the alerts of bins no longer listed (the key needs their bins)
and puts the key back.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's key has no name: batch mode names it by this convention to drop it
_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_KEY = "fk_alerts_bin_id_bins"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("alerts", recreate="always", naming_convention=_NAMES) as b:
            b.drop_constraint(_KEY, type_="foreignkey")
        return
    keys = sa.inspect(bind).get_foreign_keys("alerts")
    for name in [k["name"] for k in keys if k["referred_table"] == "bins" and k["name"]]:
        op.drop_constraint(name, "alerts", type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE bin_id NOT IN (SELECT bin_id FROM bins)")
    with op.batch_alter_table("alerts", naming_convention=_NAMES) as b:
        b.create_foreign_key(_KEY, "bins", ["bin_id"], ["bin_id"], ondelete="CASCADE")
