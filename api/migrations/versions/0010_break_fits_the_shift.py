"""vehicles: a break that cannot be taken within the shift is cleared

A truck's break must start within its window and shift and end by the shift's end
(``fleet.models.check_break``). Trucks stored before that check with a break outside their
shift (06:00-14:00 with a break window of 14:00-15:00, say) made every plan fail once it
was added; their break could never be taken within the shift, so it is cleared (no break,
as their plans had none within the shift), and each one is named in the upgrade's log: give
such a truck its break again under ``PUT /vehicles/{id}`` with a window in its shift.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:10:00
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import time

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_VEHICLES = sa.table(
    "vehicles",
    sa.column("vehicle_id", sa.String),
    sa.column("shift_start", sa.Time),
    sa.column("shift_end", sa.Time),
    sa.column("break_s", sa.Integer),
    sa.column("break_start", sa.Time),
    sa.column("break_end", sa.Time),
)


def _s(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _cannot_fit(shift: tuple[time, time], break_s: int, window: tuple[time, time]) -> bool:
    """Whether a ``break_s`` break starting within ``window`` cannot fit in ``shift`` (the
    rule of ``fleet.models.check_break`` as of this revision)."""
    if window[0] >= shift[1] or window[1] < shift[0]:
        return True
    return max(_s(window[0]), _s(shift[0])) + break_s > _s(shift[1])


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_VEHICLES).where(
            _VEHICLES.c.break_s > 0,
            _VEHICLES.c.break_start.is_not(None),
            _VEHICLES.c.break_end.is_not(None),
        )
    ).all()
    for r in rows:
        shift, window = (r.shift_start, r.shift_end), (r.break_start, r.break_end)
        if not _cannot_fit(shift, r.break_s, window):
            continue
        log.warning(
            "vehicle %r: its %d s break (window %s-%s) cannot be taken within its shift "
            "%s-%s; cleared: give it a break window within the shift",
            r.vehicle_id,
            r.break_s,
            *(t.isoformat() for t in (*window, *shift)),
        )
        bind.execute(
            sa.update(_VEHICLES)
            .where(_VEHICLES.c.vehicle_id == r.vehicle_id)
            .values(break_s=0, break_start=None, break_end=None)
        )


def downgrade() -> None:
    """Nothing to restore: the breaks cleared could not be taken within the shift."""
