"""Overflow alerts' statuses, and the alerts of a bin taken off the street.

An alert outlives its bin: deleting a bin closes the alerts a plan could still send a truck
for as ``bin_deleted`` and keeps every alert of the bin, so the day's record of overflows
stays whole, and so does the reading of the trucks' reports (``repo_progress``: an emptying
after an alert on the bin is a second visit, not a resend, whether the bin is listed or not).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from api.db import AlertRow, PlanRow

# no truck was sent: the next days' plans take them in; a dispatcher may dismiss them
NOT_SENT = ("no_plan", "unserved", "failed")
# a truck was sent to the bin (by a reroute, by a plan job)
SENT = ("rerouted", "planned")
# closed: the bin was deleted while a plan could still send a truck for the alert
BIN_DELETED = "bin_deleted"


def close_alerts_of_deleted_bin(session: Session, bin_id: str, today: date, earliest: date) -> None:
    """Close as ``bin_deleted`` the alerts on ``bin_id`` (being deleted) that a plan could
    still send a truck for: open or being rerouted (any day); sent no truck (``NOT_SENT``)
    and raised from ``earliest`` on (the readings history: today's plans take those in) or
    taken in by a plan of ``today`` or later; a truck sent (``SENT``) by a plan of ``today``
    or later. Their truck and time are cleared; the plan, the visit asked for and the note
    stay. The others (emptied, dismissed, a past day's) keep their status.

    Call it after the bin's deletion was flushed: on PostgreSQL the deletion holds the bin's
    row, so an alert raised on it meanwhile (``repo.add_alert`` locks the row) is committed
    first, and closed here, or finds the bin gone and is not raised."""
    coming_plans = select(PlanRow.id).where(PlanRow.plan_date >= today)
    coming = or_(AlertRow.plan_date >= today, AlertRow.plan_id.in_(coming_plans))
    live = or_(
        AlertRow.status.in_(("open", "rerouting")),
        and_(AlertRow.status.in_(NOT_SENT), or_(AlertRow.plan_date >= earliest, coming)),
        and_(AlertRow.status.in_(SENT), coming),
    )
    for alert in list(session.scalars(select(AlertRow).where(AlertRow.bin_id == bin_id, live))):
        alert.status = BIN_DELETED
        alert.vehicle_id = alert.eta = None
