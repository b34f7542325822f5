"""The Alembic migration builds exactly the ORM schema."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, inspect, text
from typer.testing import CliRunner

from api.db import AlertRow, Base, BinRow, Database
from api.migrate import alembic_config, upgrade_head
from binroute.cli import app


def test_migration_matches_orm_metadata(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade_head(db)
        upgrade_head(db)  # idempotent
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert tables == set(Base.metadata.tables)
        assert diff == []
        with db.engine.connect() as conn:
            for name, table in Base.metadata.tables.items():
                columns = {c["name"] for c in inspect(conn).get_columns(name)}
                assert columns == set(table.columns.keys()), name
    finally:
        db.dispose()


def _gained(tmp_path: Path, revision: str, table: str) -> dict[str, bool]:
    """The columns (name -> nullable) ``table`` gains when a database at ``revision``
    upgrades in place to head."""
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        cfg = alembic_config(db.url)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        with db.engine.connect() as conn:
            before = {c["name"] for c in inspect(conn).get_columns(table)}
        upgrade_head(db)
        with db.engine.connect() as conn:
            after = {c["name"]: c["nullable"] for c in inspect(conn).get_columns(table)}
        return {k: v for k, v in after.items() if k not in before}
    finally:
        db.dispose()


def test_upgrade_from_the_first_revision_adds_the_pickup_fill_and_site(tmp_path: Path) -> None:
    """A database created by 0001 (no fill found at pickups, no unloading reports, no
    off-route flag, no lift-scale weight) upgrades in place."""
    gained = set(_gained(tmp_path, "0001", "progress_updates"))
    assert gained == {"fill_fraction", "site_id", "off_route", "weight_kg", "reason"}


def test_upgrade_from_0005_flags_no_report_off_route(tmp_path: Path) -> None:
    """A database at 0005 upgrades in place: progress reports gain the off-route flag,
    empty (not known) for the reports stored before (and the weight lifted, empty too)."""
    gained = _gained(tmp_path, "0005", "progress_updates")
    assert gained == {"off_route": True, "weight_kg": True, "reason": True}


def test_upgrade_from_0011_gives_progress_reports_a_reason(tmp_path: Path) -> None:
    """A database at 0011 upgrades in place: progress reports gain why a crew could not
    empty a bin (``visit_missed``), empty for the reports stored before."""
    assert _gained(tmp_path, "0011", "progress_updates") == {"reason": True}


def test_upgrade_from_0013_gives_nightly_runs_their_attempts_and_retry(tmp_path: Path) -> None:
    """A database at 0013 upgrades in place: nightly runs gain how many tries they had (1 for
    the runs stored before) and when the next automatic one is due (none)."""
    assert _gained(tmp_path, "0013", "nightly_runs") == {"attempts": False, "retry_at": True}


def test_upgrade_from_0003_gives_alerts_their_visit_truck_eta_and_target(tmp_path: Path) -> None:
    """A database at 0003 upgrades in place: alerts gain the visit they asked for, the truck
    that empties the bin, when, and the response target (all empty for alerts stored
    before)."""
    gained = _gained(tmp_path, "0003", "alerts")
    assert gained == {"visit_ref": True, "vehicle_id": True, "eta": True, "respond_by": True}


def _trucks_at(db: Database, revision: str, breaks: list[tuple[str, int, str, str]]) -> None:
    """``db`` built at ``revision`` with a depot and, per (vehicle_id, break_s, break_start,
    break_end) of ``breaks``, a truck working 06:00-14:00 with that break."""
    from sqlalchemy import text

    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.execute(text("INSERT INTO depots (depot_id, lon, lat, name) VALUES ('d', 0, 0, '')"))
        for vid, break_s, start, end in breaks:
            conn.execute(
                text(
                    "INSERT INTO vehicles (vehicle_id, depot_id, capacity_l, capacity_kg, "
                    "streams, shift_start, shift_end, break_s, break_start, break_end, "
                    "cost_per_km, cost_per_hour, fixed_cost) VALUES (:v, 'd', 1000, 1000, "
                    "'[\"residual\"]', '06:00:00', '14:00:00', :b, :s, :e, 1, 30, 0)"
                ),
                {"v": vid, "b": break_s, "s": start, "e": end},
            )


def test_upgrade_from_0008_clears_break_windows_without_a_break(tmp_path: Path) -> None:
    """A truck stored with a break window and ``break_s`` 0 (which planned no break, and is
    now refused) loses the window on upgrade; a truck with a break keeps its window."""
    from sqlalchemy import text

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        window = ("10:00:00", "11:00:00")
        _trucks_at(db, "0008", [("none", 0, *window), ("lunch", 1800, *window)])
        upgrade_head(db)
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT vehicle_id, break_start, break_end FROM vehicles ORDER BY vehicle_id")
            ).all()
        kept = [(vid, start is not None, end is not None) for vid, start, end in rows]
        assert kept == [("lunch", True, True), ("none", False, False)]
    finally:
        db.dispose()


def test_upgrade_from_0009_clears_breaks_that_cannot_fit_the_shift(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Trucks stored before breaks had to fit the shift (06:00-14:00): a window of
    14:00-15:00, and a 30 min break from 13:50, made every plan fail; they lose the break on
    upgrade, named in the log; a break that fits stays, and the plans read the fleet again."""
    from sqlalchemy import text

    from api import repo

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _trucks_at(
            db,
            "0009",
            [
                ("after", 1800, "14:00:00", "15:00:00"),
                ("late", 1800, "13:50:00", "14:00:00"),
                ("lunch", 1800, "10:00:00", "11:00:00"),
            ],
        )
        with caplog.at_level(logging.WARNING):
            upgrade_head(db)
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT vehicle_id, break_s, break_start FROM vehicles ORDER BY vehicle_id")
            ).all()
        assert [(vid, b, start is not None) for vid, b, start in rows] == [
            ("after", 0, False),
            ("late", 0, False),
            ("lunch", 1800, True),
        ]
        named = " ".join(r.getMessage() for r in caplog.records)
        assert "'after'" in named and "'late'" in named and "'lunch'" not in named
        with db.reader() as s:
            fleet = repo.load_inventory(s)
        assert {v.vehicle_id: v.break_s for v in fleet.vehicles} == {
            "after": 0,
            "late": 0,
            "lunch": 1800,
        }
    finally:
        db.dispose()


def _bin_and_alert(db: Database, bin_id: str) -> None:
    """Bin ``bin_id`` and an open alert on it (the bins' and alerts' columns are those of
    head since 0016)."""
    with db.writer() as s:
        s.add(
            BinRow(bin_id=bin_id, lon=0.0, lat=0.0, capacity_l=240, stream="residual", service_s=30)
        )
        s.flush()
        at = datetime(2026, 11, 25, 9, tzinfo=UTC)
        s.add(AlertRow(bin_id=bin_id, plan_date=at.date(), source="sensor", at=at, status="open"))


def _alerted_bins(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return sorted(conn.execute(text("SELECT bin_id FROM alerts")).scalars())


def test_upgrade_from_0016_keeps_alerts_past_their_bins_deletion(tmp_path: Path) -> None:
    """A database at 0016 upgrades in place with its alerts, which then outlive their bin
    (before, deleting a bin deleted its alerts); downgrading deletes the alerts of bins no
    longer listed and deletes the alerts with their bin again."""
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        cfg = alembic_config(db.url)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0016")
        _bin_and_alert(db, "b1")
        _bin_and_alert(db, "b2")
        upgrade_head(db)
        with db.writer() as s:
            s.execute(delete(BinRow).where(BinRow.bin_id == "b1"))
        assert _alerted_bins(db) == ["b1", "b2"]
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0016")
        assert _alerted_bins(db) == ["b2"]
        with db.writer() as s:
            s.execute(delete(BinRow).where(BinRow.bin_id == "b2"))
        assert _alerted_bins(db) == []
    finally:
        db.dispose()


def test_a_database_a_newer_binroute_upgraded_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rolled back to this version after a newer one upgraded the database: Alembic's
    "Can't locate revision identified by '9999'" was a traceback of a failed startup."""
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    db = Database(url)
    try:
        upgrade_head(db)
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        db.dispose()
    monkeypatch.setenv("BINROUTE_DATABASE_URL", url)
    monkeypatch.setenv("BINROUTE_CITY", "haversine")
    for args in (["serve", "--port", "1"], ["keys", "create", "--role", "admin", "--name", "x"]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 1, res.output
        assert "is at schema revision '9999', which this binroute does not know" in res.output
        assert "Traceback" not in res.output
