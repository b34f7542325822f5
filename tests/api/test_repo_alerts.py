"""Which alerts a bin's deletion closes (``repo_alerts.close_alerts_of_deleted_bin``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from api.db import AlertRow, Database, PlanRow
from api.migrate import upgrade_head
from api.repo_alerts import close_alerts_of_deleted_bin

TODAY = date(2026, 11, 25)
EARLIEST = date(2026, 11, 18)  # the readings history: 7 days


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 't.db'}")
    upgrade_head(database)
    yield database
    database.dispose()


def _plan(db: Database, day: date) -> int:
    with db.writer() as s:
        row = PlanRow(plan_date=day, version=1, origin="request", status="done", time_limit_s=1)
        s.add(row)
        s.flush()
        return row.id


def _alert(
    db: Database, status: str, day: date, plan_id: int | None = None, bin_id: str = "b1"
) -> int:
    """An alert on ``bin_id`` raised at 09:00 UTC on ``day``, read ``status`` (a truck v1
    due at 10:00 when sent)."""
    at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    eta = at.replace(hour=10) if status in ("rerouted", "planned") else None
    with db.writer() as s:
        row = AlertRow(
            bin_id=bin_id,
            plan_date=day,
            source="sensor",
            at=at,
            status=status,
            plan_id=plan_id,
            vehicle_id="v1" if eta else None,
            eta=eta,
        )
        s.add(row)
        s.flush()
        return row.id


def _statuses(db: Database) -> dict[int, tuple[str, str | None]]:
    with db.reader() as s:
        return {a.id: (a.status, a.vehicle_id) for a in s.scalars(select(AlertRow))}


def test_a_deleted_bin_closes_the_alerts_a_plan_could_still_send_a_truck_for(
    db: Database,
) -> None:
    """Open and being rerouted (of any day), sent no truck within the readings history,
    taken in or sent by a plan of today or later: closed, their truck cleared. Emptied,
    dismissed, sent by a past day's plan, sent none before the history, and another bin's
    alerts: kept as they were."""
    yesterday, tomorrow, long_ago = date(2026, 11, 24), date(2026, 11, 26), date(2026, 11, 1)
    today_plan, past_plan = _plan(db, TODAY), _plan(db, yesterday)
    closed = [
        _alert(db, "open", long_ago),
        _alert(db, "rerouting", TODAY),
        _alert(db, "no_plan", yesterday),
        _alert(db, "unserved", EARLIEST),
        _alert(db, "failed", tomorrow),
        _alert(db, "unserved", long_ago, today_plan),  # taken in by today's plan
        _alert(db, "rerouted", TODAY, today_plan),
        _alert(db, "planned", yesterday, today_plan),  # carried into today's plan
        _alert(db, "planned", tomorrow),
    ]
    kept = [
        _alert(db, "emptied", TODAY, today_plan),
        _alert(db, "dismissed", TODAY),
        _alert(db, "rerouted", yesterday, past_plan),
        _alert(db, "unserved", long_ago, past_plan),
        _alert(db, "open", TODAY, bin_id="b2"),
    ]
    before = _statuses(db)
    with db.writer() as s:
        close_alerts_of_deleted_bin(s, "b1", TODAY, EARLIEST)
    after = _statuses(db)
    assert {i: after[i] for i in closed} == dict.fromkeys(closed, ("bin_deleted", None))
    assert {i: after[i] for i in kept} == {i: before[i] for i in kept}
    assert after[kept[2]] == ("rerouted", "v1")
