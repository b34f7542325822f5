"""Persistence: SQLAlchemy 2.0 ORM tables and the ``Database`` handle (engine + sessions).

Instants are stored as naive UTC (``UTCDateTime``) and come back tz-aware in UTC. SQLite
runs in WAL mode with a busy timeout, and writers are serialised by a process lock, so a
write is acknowledged only after its commit returned. A reader's queries all see the
database as it was at its first one (a snapshot: SQLite's deferred transaction in WAL mode,
PostgreSQL's REPEATABLE READ), so a job reading its inputs never sees half of a change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


def utcnow() -> datetime:
    """Current instant, tz-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A tz-aware instant stored as naive UTC (portable across SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; add an offset")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of all binroute tables."""


class CityRow(Base):
    __tablename__ = "cities"
    city_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64))


class DepotRow(Base):
    __tablename__ = "depots"
    depot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    name: Mapped[str] = mapped_column(String(200), default="")


class VehicleRow(Base):
    __tablename__ = "vehicles"
    vehicle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    depot_id: Mapped[str] = mapped_column(ForeignKey("depots.depot_id"), index=True)
    capacity_l: Mapped[int] = mapped_column(Integer)
    capacity_kg: Mapped[int] = mapped_column(Integer)
    streams: Mapped[list[str]] = mapped_column(JSON)
    shift_start: Mapped[time] = mapped_column(Time)
    shift_end: Mapped[time] = mapped_column(Time)
    break_s: Mapped[int] = mapped_column(Integer, default=0)
    break_start: Mapped[time | None] = mapped_column(Time, nullable=True)
    break_end: Mapped[time | None] = mapped_column(Time, nullable=True)
    cost_per_km: Mapped[float] = mapped_column(Float)
    cost_per_hour: Mapped[float] = mapped_column(Float)
    fixed_cost: Mapped[float] = mapped_column(Float)
    max_stops: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_daily_kg: Mapped[int | None] = mapped_column(Integer, nullable=True)
    equipment: Mapped[list[str]] = mapped_column(JSON, default=list)


class SiteRow(Base):
    __tablename__ = "sites"
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    streams: Mapped[list[str]] = mapped_column(JSON)
    open_start: Mapped[time] = mapped_column(Time)
    open_end: Mapped[time] = mapped_column(Time)
    unload_s: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")


class BinRow(Base):
    __tablename__ = "bins"
    bin_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    capacity_l: Mapped[int] = mapped_column(Integer)
    stream: Mapped[str] = mapped_column(String(32))
    service_s: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[time | None] = mapped_column(Time, nullable=True)
    window_end: Mapped[time | None] = mapped_column(Time, nullable=True)
    has_sensor: Mapped[bool] = mapped_column(Boolean, default=True)
    density_kg_per_l: Mapped[float | None] = mapped_column(Float, nullable=True)
    street: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kerb_side: Mapped[bool] = mapped_column(Boolean, default=False)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)


class ReadingRow(Base):
    __tablename__ = "readings"
    __table_args__ = (UniqueConstraint("bin_id", "at", name="uq_readings_bin_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bin_id: Mapped[str] = mapped_column(ForeignKey("bins.bin_id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    fill_fraction: Mapped[float] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    fill_from_weight: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportRow(Base):
    __tablename__ = "reports"
    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    bin_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    overflowing: Mapped[bool] = mapped_column(Boolean, default=True)


class PlanRow(Base):
    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("plan_date", "version", name="uq_plans_date_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_date: Mapped[date] = mapped_column(Date, index=True)
    version: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), nullable=True)
    # request | nightly | reroute | dismissal | downtime (what asked for it)
    origin: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    time_limit_s: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kpis: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # loaded when read (in the session): megabytes on a city's plan (the pickled day plan
    # holds its travel matrices), not for each status poll or progress report
    exports: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, deferred=True)
    state: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    # the newest truck report (progress_updates.id) the plan job that set the plan's start
    # read, kept by its reroutes and re-plans: a report dated before that start with a
    # higher id came late, unknown to the plan (None: stored before this column existed)
    reports_seen_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PlanDiffRow(Base):
    __tablename__ = "plan_diffs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    vehicle_id: Mapped[str] = mapped_column(String(64))
    diff: Mapped[dict[str, Any]] = mapped_column(JSON)


class ProgressRow(Base):
    __tablename__ = "progress_updates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_date: Mapped[date] = mapped_column(Date, index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    vehicle_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # visit_done|visit_missed|disposal_done|position
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    bin_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    site_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # disposal_done
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    fill_fraction: Mapped[float | None] = mapped_column(Float, nullable=True)  # found at pickup
    weight_kg: Mapped[float | None] = mapped_column(Float, nullable=True)  # lift scale, net kg
    # visit_done: beyond the truck's visits of the bin in the plan reported against;
    # disposal_done: beyond its unloadings there, or before the bins planned ahead of the
    # next one were reported (None: not known, e.g. reported before this column existed)
    off_route: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # visit_missed: why the crew could not empty the bin (a parked car, a locked enclosure)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class DowntimeRow(Base):
    """A truck out of service from ``start_at`` until ``end_at`` (None: until further notice)."""

    __tablename__ = "downtimes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vehicle_id: Mapped[str] = mapped_column(
        ForeignKey("vehicles.vehicle_id", ondelete="CASCADE"), index=True
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # no foreign key: an alert outlives its bin (``repo_alerts``: deleting a bin closes its
    # alerts still to serve as ``bin_deleted``), as a truck's reports of the bin do
    bin_id: Mapped[str] = mapped_column(String(64), index=True)
    plan_date: Mapped[date] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(String(16))  # sensor | report | dispatcher
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    fill_fraction: Mapped[float | None] = mapped_column(Float, nullable=True)
    report_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # open | rerouting | rerouted | planned | unserved | emptied | no_plan | failed | dismissed
    # | bin_deleted
    status: Mapped[str] = mapped_column(String(16), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # rerouted: the visit asked for (stop ref), the truck that empties the bin, when it
    # starts, and the alert's target, as the newest plan of the day has them
    visit_ref: Mapped[str | None] = mapped_column(String(80), nullable=True)
    vehicle_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    respond_by: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NightlyRunRow(Base):
    __tablename__ = "nightly_runs"
    plan_date: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # running | done | failed
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    message: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # tries so far
    # the next automatic try of a failed run (None: none is due); kept here, not only as a
    # stored job: a run failing while the service stops cannot store one, the next start does
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InventoryChangeRow(Base):
    """A record of the inventory created, changed (its fields that changed) or deleted, when,
    and by which key (``api.repo_changes``): an audit trail, and what open pages follow."""

    __tablename__ = "inventory_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    resource: Mapped[str] = mapped_column(String(16))  # its list's path: "bins", "sites"
    ref: Mapped[str] = mapped_column(String(64))
    change: Mapped[str] = mapped_column(String(16))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver's own BEGIN skips reads: ours is _sqlite_begin
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    """Begin every transaction, reads too (the driver begins one only before a write, so a
    session's reads each saw the latest commit): ``BEGIN IMMEDIATE`` when the connection's
    ``sqlite_begin`` option says so (writers: the write lock from their first read, waiting
    up to the busy timeout for another process's writer), else ``BEGIN`` (a snapshot from
    the first read)."""
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def make_engine(url: str) -> Engine:
    """Create the engine for ``url``; SQLite gets WAL, a busy timeout, foreign keys and
    transactions that begin with their first read (:func:`_sqlite_begin`)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """Engine, session factory and the writer lock (SQLite allows one writer at a time)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        reads: Engine
        writes: Engine
        if self.is_sqlite:
            reads = self.engine
            writes = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        else:
            reads = self.engine.execution_options(isolation_level="REPEATABLE READ")
            writes = self.engine
        self._readers = sessionmaker(reads, expire_on_commit=False)
        self._sessions = sessionmaker(writes, expire_on_commit=False)
        self._write_lock = threading.RLock()

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session (rolled back at the end): its queries see the database as it
        was at the first one."""
        with self._readers() as session:
            yield session

    @contextmanager
    def writer(self) -> Iterator[Session]:
        """A session committed at the end of the block (writers serialised on SQLite, where
        a writer holds the write lock from its first read)."""
        lock = self._write_lock if self.is_sqlite else nullcontext()
        with lock, self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close all pooled connections."""
        self.engine.dispose()
