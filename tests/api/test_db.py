"""The ``Database`` handle: readers see one moment, writers hold the write lock, big columns
load when read."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from api.db import Database, DepotRow, PlanRow
from api.migrate import upgrade_head


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "t.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{db_path}")
    upgrade_head(database)
    yield database
    database.dispose()


def _depots(session: object) -> int:
    return int(session.scalar(select(func.count()).select_from(DepotRow)))  # type: ignore[attr-defined]


def test_a_reader_sees_the_database_as_at_its_first_query(db: Database) -> None:
    with db.reader() as s:
        before = _depots(s)
        with db.writer() as w:  # committed while the reader reads on
            w.add(DepotRow(depot_id="d1", lon=24.94, lat=60.17))
        assert _depots(s) == before == 0
    with db.reader() as s:
        assert _depots(s) == 1


def test_a_writer_holds_the_write_lock_from_its_first_read(db: Database, db_path: Path) -> None:
    """Another process cannot write between a writer's check and its write."""
    other = sqlite3.connect(db_path, timeout=0.05)
    try:
        with db.writer() as w:
            assert w.get(DepotRow, "d1") is None  # the check, then the other process tries
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute(
                    "INSERT INTO depots (depot_id, lon, lat, name) VALUES ('d1', 0, 0, '')"
                )
            w.add(DepotRow(depot_id="d1", lon=24.94, lat=60.17))
    finally:
        other.close()
    with db.reader() as s:
        assert s.get(DepotRow, "d1") is not None


def test_a_plans_status_is_read_without_its_documents_and_state(db: Database) -> None:
    """On a city of 2000 bins the pickled day plan is ~65 MB and the documents ~3 MB: a
    status poll or a progress report read them all before (~150 ms each); they load when
    read."""
    with db.writer() as w:
        w.add(
            PlanRow(
                plan_date=date(2026, 11, 25),
                version=1,
                origin="request",
                status="done",
                time_limit_s=1,
                exports={"plan": {"routes": []}},
                state=b"x" * 1000,
            )
        )
    with db.reader() as s:
        row = s.scalars(select(PlanRow)).one()
        assert row.status == "done"
        assert {"exports", "state"} <= inspect(row).unloaded
        assert (row.exports, row.state) == ({"plan": {"routes": []}}, b"x" * 1000)


@pytest.mark.parametrize("origin", ["reroute", "emptied"])
def test_a_running_reroute_is_no_plan_job(db: Database, origin: str) -> None:
    """A reroute pass's version (for alerts, or for a bin another crew emptied) running is
    no plan job pending: alerts meanwhile are rerouted after it, not kept for a plan job's
    plan (before, one of origin ``emptied`` counted as a plan job)."""
    from api import repo

    day = date(2026, 11, 25)
    with db.writer() as w:
        w.add(PlanRow(plan_date=day, version=1, origin=origin, status="running", time_limit_s=1))
    with db.reader() as s:
        assert not repo.plan_job_pending(s, day)
        assert repo.queued_plan_job(s, day) is None
    with db.writer() as w:
        w.add(PlanRow(plan_date=day, version=2, origin="request", status="queued", time_limit_s=1))
    with db.reader() as s:
        assert repo.plan_job_pending(s, day)
        assert repo.queued_plan_job(s, day) is not None
