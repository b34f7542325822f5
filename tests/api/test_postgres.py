"""The service on a real, throwaway PostgreSQL server (psycopg 3 driver).

A session fixture runs ``initdb`` + ``pg_ctl`` on a cluster in a temporary directory that
listens only on a unix socket in that directory; each test gets a fresh database. As root the
server runs as the ``postgres`` system user (PostgreSQL refuses root). The module is skipped
when the server binaries, the ``psycopg`` driver or an unprivileged user are missing.
Set ``BINROUTE_TEST_PG_URL`` (a ``postgresql+psycopg://`` URL of a role allowed to create
databases) to use an existing server instead.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import URL, make_url

from api import repo
from api.app import create_app
from api.db import AlertRow, Base, BinRow, Database, DepotRow, PlanRow, ReadingRow
from api.deps import Runtime
from api.ingest import ingest_dir
from api.migrate import alembic_config, upgrade_head
from api.repo_alerts import close_alerts_of_deleted_bin
from api.routing import Routing
from api.scheduler import JOB_ID
from api.security import Role, issue_key
from api.service_lock import ServiceLockError
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import CLOCK_SKEW_MIN, PLAN_DATE, seed, the_eve
from tests.api.fakes import FakePlanner
from tests.api.service_days import random_days
from tests.api.test_readings import NEWEST

pytest.importorskip("psycopg", reason="PostgreSQL tests need the psycopg driver (psycopg[binary])")

SERVER_USER = "postgres"  # the unprivileged account the server runs as when we are root
_DB_NUMBERS = itertools.count(1)
# trust on a private socket; no fsync: the cluster is thrown away after the session
INITDB_OPTIONS = ("-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")


# -- the throwaway server --------------------------------------------------------------------
def _pg_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's layout)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name, reverse=True
    )
    candidates += [Path("/usr/local/pgsql/bin")]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _as_server_user() -> list[str]:
    """Command prefix that drops root to ``SERVER_USER`` (empty when not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        pytest.skip(f"running as root and no {SERVER_USER!r} user to run PostgreSQL as")
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and no 'runuser' to start PostgreSQL unprivileged")
    return [runuser, "-u", SERVER_USER, "--"]


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[URL]:
    """Superuser URL of a private PostgreSQL server (its ``postgres`` database)."""
    external = os.environ.get("BINROUTE_TEST_PG_URL")
    if external:
        yield make_url(external)
        return
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found")
    prefix = _as_server_user()
    # Not under pytest's tmp_path: that is private to root, the server user must own this;
    # and short, as a unix socket path has at most 107 bytes.
    root = Path(
        tempfile.mkdtemp(prefix="binroute-pg-", dir="/tmp" if Path("/tmp").is_dir() else None)
    )
    if prefix:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, log = root / "data", root / "server.log"
    pg_ctl = str(bin_dir / "pg_ctl")
    options = f"-k {root} -c listen_addresses='' -F -c full_page_writes=off -c max_connections=60"
    initdb = [*prefix, str(bin_dir / "initdb"), "-D", str(data), *INITDB_OPTIONS]
    start = [*prefix, pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]
    for cmd in (initdb, start):
        done = _run(cmd, root)
        if done.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"{' '.join(cmd)} failed:\n{done.stderr or done.stdout}\n{server_log}")
    try:
        yield URL.create(
            "postgresql+psycopg",
            username="postgres",
            database="postgres",
            query={"host": str(root)},
        )
    finally:
        _run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: URL) -> Iterator[str]:
    """A fresh, empty database on the server; dropped after the test."""
    name = f"binroute_test_{os.getpid()}_{next(_DB_NUMBERS)}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield pg_server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# -- the app on that database (mirrors tests/api/conftest.py) --------------------------------
@pytest.fixture
def pg_settings(pg_url: str) -> Settings:
    return Settings(
        database_url=pg_url,
        scheduler_enabled=False,
        city="haversine",
        timezone="Europe/Helsinki",
        default_time_limit_s=1,
        max_time_limit_s=5,
        clock_skew_min=CLOCK_SKEW_MIN,
    )


@pytest.fixture
def pg_planner() -> FakePlanner:
    return FakePlanner()


@pytest.fixture
def pg_client(pg_settings: Settings, pg_planner: FakePlanner) -> Iterator[TestClient]:
    routing = Routing.static(HaversineProvider())
    app = create_app(pg_settings, planner=pg_planner, routing=routing, clock=the_eve)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def pg_runtime(pg_client: TestClient) -> Runtime:
    runtime: Runtime = pg_client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


@pytest.fixture
def pg_keys(pg_runtime: Runtime) -> dict[str, dict[str, str]]:
    """Headers per role name."""
    return {r.value: {"X-API-Key": issue_key(pg_runtime.db, r, f"{r.value} key")} for r in Role}


def _wait(runtime: Runtime) -> None:
    assert runtime.jobs.wait_idle(30), "jobs did not finish"


def _count_fresh(url: str, sql: str, **params: Any) -> int:
    """``sql``'s single value, read over a brand-new connection (sees only committed data)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())
    finally:
        engine.dispose()


# -- tests -----------------------------------------------------------------------------------
def test_migrations_build_the_orm_schema(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        upgrade_head(db)
        upgrade_head(db)  # idempotent
        with db.engine.connect() as conn:
            assert conn.dialect.name == "postgresql"
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert tables == set(Base.metadata.tables)
        assert diff == []
        assert version == ScriptDirectory.from_config(alembic_config(pg_url)).get_current_head()
    finally:
        db.dispose()


def test_a_reader_sees_the_database_as_at_its_first_query(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        upgrade_head(db)
        count = select(func.count()).select_from(DepotRow)
        with db.reader() as s:
            before = s.scalar(count)
            with db.writer() as w:  # committed while the reader reads on
                w.add(DepotRow(depot_id="d1", lon=24.94, lat=60.17))
            assert s.scalar(count) == before == 0
        with db.reader() as s:
            assert s.scalar(count) == 1
    finally:
        db.dispose()


def test_health_reports_postgresql(pg_client: TestClient) -> None:
    body = pg_client.get("/health").json()
    assert (body["status"], body["database"]) == ("ok", "postgresql")


def test_bin_crud(pg_client: TestClient, pg_keys: dict[str, dict[str, str]]) -> None:
    """A bin created, put again with its window and street, deleted; its changes logged."""
    dispatcher, viewer = pg_keys["dispatcher"], pg_keys["viewer"]
    body = {"bin_id": "b1", "lon": 24.94, "lat": 60.17, "capacity_l": 240}
    assert pg_client.post("/bins", json=body, headers=dispatcher).status_code == 201
    assert pg_client.post("/bins", json=body, headers=dispatcher).status_code == 409
    got = pg_client.get("/bins/b1", headers=viewer).json()
    assert (got["lon"], got["lat"], got["capacity_l"]) == (24.94, 60.17, 240)
    replaced = {**body, "capacity_l": 660, "window_start": "07:30", "window_end": "11:00"}
    replaced["street"] = "Mannerheimintie"
    assert pg_client.put("/bins/b1", json=replaced, headers=dispatcher).status_code == 200
    got = pg_client.get("/bins/b1", headers=viewer).json()
    assert (got["capacity_l"], got["street"]) == (660, "Mannerheimintie")
    assert (got["window_start"], got["window_end"]) == ("07:30:00", "11:00:00")
    assert [b["bin_id"] for b in pg_client.get("/bins", headers=viewer).json()] == ["b1"]
    assert pg_client.put("/bins/b1", json=replaced, headers=dispatcher).status_code == 200
    assert pg_client.delete("/bins/b1", headers=dispatcher).status_code == 204
    assert pg_client.get("/bins/b1", headers=viewer).status_code == 404
    changes = pg_client.get("/inventory/changes?resource=bins&ref=b1", headers=viewer).json()
    assert [(c["change"], c["fields"], c["key_name"]) for c in changes] == [
        ("deleted", [], "dispatcher key"),
        ("changed", ["capacity_l", "street", "window_end", "window_start"], "dispatcher key"),
        ("created", [], "dispatcher key"),
    ]  # the same record put again (times read back from PostgreSQL's columns): none


def _raise_alert(db: Database) -> int | None:
    """An open alert on b1 raised in a transaction of its own (``repo.add_alert``); its id,
    or None when b1 is not listed."""
    with db.writer() as s:
        at = datetime(2026, 11, 25, 9, tzinfo=UTC)
        row = repo.add_alert(s, bin_id="b1", source="dispatcher", at=at, tz=UTC)
        return None if row is None else row.id


def _delete_b1(s: Any) -> None:
    """Delete bin b1 as ``DELETE /bins/b1`` does: the row, then its alerts closed."""
    s.delete(s.get(BinRow, "b1"))
    s.flush()
    close_alerts_of_deleted_bin(s, "b1", date(2026, 11, 25), date(2026, 11, 18))


def _delete_in_own_transaction(db: Database) -> None:
    with db.writer() as s:
        _delete_b1(s)


def _with_b1(pg_url: str) -> Database:
    db = Database(pg_url)
    upgrade_head(db)
    with db.writer() as s:
        s.add(
            BinRow(
                bin_id="b1", lon=24.94, lat=60.17, capacity_l=240, stream="residual", service_s=30
            )
        )
    return db


def _alert_statuses(db: Database) -> list[str]:
    with db.reader() as s:
        return list(s.scalars(select(AlertRow.status)))


def test_an_alert_raised_as_its_bin_is_deleted_waits_and_is_not_raised(pg_url: str) -> None:
    """Bin b1's deletion holds its row: an alert raised on it meanwhile waits for the
    deletion's commit, then finds no bin and is not raised (without the foreign key the
    alerts had before, it would be left open on a bin no longer listed)."""
    db = _with_b1(pg_url)
    try:
        with ThreadPoolExecutor(1) as pool:
            with db.writer() as s:
                _delete_b1(s)
                raised = pool.submit(_raise_alert, db)
                with pytest.raises(TimeoutError):
                    raised.result(timeout=0.5)  # it waits on the deletion's lock
            assert raised.result(timeout=30) is None
        assert _alert_statuses(db) == []
    finally:
        db.dispose()


def test_a_bin_deleted_as_an_alert_is_raised_on_it_closes_that_alert(pg_url: str) -> None:
    """An alert on b1 being raised holds b1's row: the deletion waits for its commit, then
    closes it as ``bin_deleted`` (not left open)."""
    db = _with_b1(pg_url)
    try:
        with ThreadPoolExecutor(1) as pool:
            with db.writer() as s:
                at = datetime(2026, 11, 25, 9, tzinfo=UTC)
                assert repo.add_alert(s, bin_id="b1", source="report", at=at, tz=UTC)
                deleted = pool.submit(_delete_in_own_transaction, db)
                with pytest.raises(TimeoutError):
                    deleted.result(timeout=0.5)  # it waits on the alert's lock
            deleted.result(timeout=30)
        assert _alert_statuses(db) == ["bin_deleted"]
    finally:
        db.dispose()


def test_a_nul_character_is_422_not_a_database_error(
    pg_client: TestClient, pg_keys: dict[str, dict[str, str]]
) -> None:
    """PostgreSQL text cannot hold a NUL (psycopg raises DataError: a 500): refused at the
    field, in a body and in the URL, as on SQLite."""
    admin = pg_keys["admin"]
    body = {"bin_id": "b1", "lon": 24.94, "lat": 60.17, "capacity_l": 240, "street": "a\x00b"}
    stored = pg_client.post("/bins", json=body, headers=admin)
    assert stored.status_code == 422
    assert stored.json()["detail"][0]["loc"] == ["body", "street"]
    looked_up = pg_client.get("/bins/b%001", headers=admin)
    assert looked_up.status_code == 422
    assert looked_up.json()["detail"][0]["loc"] == ["path", "ident"]
    assert pg_client.get("/bins", headers=admin).json() == []


def test_a_reading_file_with_a_nul_character_is_rejected_not_a_database_error(
    pg_client: TestClient, pg_runtime: Runtime, pg_keys: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    """The nightly ingest of a file with a NUL byte: rejected into its errors file and
    moved to done/ (looking its ids up raised psycopg's DataError, stopping the night)."""
    seed(pg_client, pg_keys["admin"], n_bins=1)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.csv").write_bytes(b"bin_id,at,fill_fraction\nb\x000,2026-11-24T22:00:00Z,0.7\n")
    report = ingest_dir(pg_runtime.db, drop)
    assert (report.files, report.stored, report.rejected) == (1, 0, 1)
    assert "NUL" in (drop / "done" / "a.csv.errors.txt").read_text()


def test_an_id_beyond_postgresqls_integer_is_422_not_a_database_error(
    pg_client: TestClient, pg_keys: dict[str, dict[str, str]]
) -> None:
    """The tables' ids are PostgreSQL integers: 2**31 in the URL raised psycopg's
    NumericValueOutOfRange (a 500); the largest integer is an unknown id."""
    admin = pg_keys["admin"]
    assert pg_client.get(f"/plans/{2**31}", headers=admin).status_code == 422
    assert pg_client.get(f"/alerts/{2**31}", headers=admin).status_code == 422
    assert pg_client.get(f"/plans/{2**31 - 1}", headers=admin).status_code == 404


def test_readings_idempotent_and_committed_before_the_answer(
    pg_client: TestClient, pg_keys: dict[str, dict[str, str]], pg_url: str
) -> None:
    seed(pg_client, pg_keys["dispatcher"], n_bins=2)
    sensor = pg_keys["sensor"]
    reading = {"bin_id": "b0", "at": "2026-11-25T09:00:00+02:00", "fill_fraction": 0.4}
    same_instant = {**reading, "at": "2026-11-25T07:00:00Z", "fill_fraction": 0.5}
    first = pg_client.post("/readings", json=[reading], headers=sensor).json()
    assert (first["stored"], first["duplicates"]) == (1, 0)
    # visible at once from a connection the service never used
    sql = "SELECT count(*) FROM readings WHERE bin_id = :b"
    assert _count_fresh(pg_url, sql, b="b0") == 2  # the seed's morning reading + this one
    again = pg_client.post("/readings", json=[reading, same_instant], headers=sensor).json()
    assert (again["stored"], again["duplicates"]) == (0, 2)
    in_one_batch = {**reading, "at": "2026-11-25T10:00:00+02:00"}
    both = pg_client.post("/readings", json=[in_one_batch, in_one_batch], headers=sensor).json()
    assert (both["stored"], both["duplicates"]) == (1, 1)
    assert _count_fresh(pg_url, sql, b="b0") == 3
    assert pg_client.get("/readings", headers=sensor).status_code == 403  # sensors only write
    rows = pg_client.get("/readings", params={"bin_id": "b0"}, headers=pg_keys["viewer"]).json()
    # stored as naive UTC in ``timestamp without time zone``, returned in UTC, newest first
    assert [r["at"] for r in rows] == [
        "2026-11-25T08:00:00Z",
        "2026-11-25T07:00:00Z",
        "2026-11-25T05:00:00Z",  # the seed's MORNING (07:00+02:00)
    ]


@pytest.mark.parametrize("check", NEWEST)
def test_the_newest_readings(
    pg_client: TestClient, pg_keys: dict[str, dict[str, str]], check: Callable[..., None]
) -> None:
    """``GET /readings/latest``'s grouped query and the last stored first, on PostgreSQL."""
    check(pg_client, pg_keys)


def test_same_reading_from_many_threads_is_stored_once(
    pg_client: TestClient, pg_keys: dict[str, dict[str, str]], pg_url: str
) -> None:
    seed(pg_client, pg_keys["dispatcher"], n_bins=1)
    n = 12
    start = threading.Barrier(n)
    body = [{"bin_id": "b0", "at": "2026-11-25T11:00:00+02:00", "fill_fraction": 0.3}]

    def post(_: int) -> Any:
        start.wait(10)
        return pg_client.post("/readings", json=body, headers=pg_keys["sensor"])

    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(post, range(n)))
    assert [a.status_code for a in answers] == [200] * n
    assert sum(a.json()["stored"] for a in answers) == 1
    assert sum(a.json()["duplicates"] for a in answers) == n - 1
    assert _count_fresh(pg_url, "SELECT count(*) FROM readings WHERE bin_id = 'b0'") == 2


def test_overflowing_sensor_from_many_threads_raises_one_alert(
    pg_client: TestClient, pg_keys: dict[str, dict[str, str]], pg_runtime: Runtime
) -> None:
    """One sensor alert per bin and day, even when its overflow readings arrive together."""
    seed(pg_client, pg_keys["dispatcher"], n_bins=1)
    n = 10
    start = threading.Barrier(n)

    def post(i: int) -> Any:
        body = [{"bin_id": "b0", "at": f"2026-11-25T12:{i:02d}:00+02:00", "fill_fraction": 0.99}]
        start.wait(10)
        return pg_client.post("/readings", json=body, headers=pg_keys["sensor"])

    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(post, range(n)))
    assert [a.json()["stored"] for a in answers] == [1] * n
    _wait(pg_runtime)
    with pg_runtime.db.reader() as s:
        n_alerts = s.scalar(select(func.count()).select_from(AlertRow))
    assert n_alerts == 1


def test_alert_reroutes_into_a_new_plan_version(
    pg_client: TestClient,
    pg_keys: dict[str, dict[str, str]],
    pg_runtime: Runtime,
    pg_planner: FakePlanner,
) -> None:
    dispatcher = pg_keys["dispatcher"]
    seed(pg_client, dispatcher, n_bins=3)
    extra = {"bin_id": "late", "lon": 24.95, "lat": 60.18, "capacity_l": 240}
    assert pg_client.post("/bins", json=extra, headers=dispatcher).status_code == 201
    base = pg_client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    _wait(pg_runtime)
    assert pg_client.get(f"/plans/{base['id']}", headers=dispatcher).json()["status"] == "done"

    alert = pg_client.post(
        "/alerts", json={"bin_id": "late", "at": "2026-11-25T12:00:00+02:00"}, headers=dispatcher
    )
    assert alert.status_code == 202
    _wait(pg_runtime)
    stored = pg_client.get(f"/alerts/{alert.json()['id']}", headers=dispatcher).json()
    assert stored["status"] == "rerouted"
    new = pg_client.get(f"/plans/{stored['plan_id']}", headers=dispatcher).json()
    assert (new["status"], new["version"], new["parent_id"]) == ("done", 2, base["id"])
    routes = pg_client.get(f"/plans/{new['id']}/routes", headers=dispatcher).json()["routes"]
    assert "late" in {b for r in routes for b in r["bin_ids"]}
    diff = pg_client.get(f"/plans/{new['id']}/diff", headers=dispatcher).json()
    assert diff["parent_id"] == base["id"]
    added = {t["vehicle_id"]: t["diff"]["added"] for t in diff["trucks"]}
    assert added == {"v1": ["late"], "v2": []}  # the fake planner appends to the first truck
    assert [c["urgent"] for c in pg_planner.reroutes] == [["late"]]


def test_simultaneous_alerts_and_readings_are_all_kept(
    pg_client: TestClient,
    pg_keys: dict[str, dict[str, str]],
    pg_runtime: Runtime,
    pg_planner: FakePlanner,
) -> None:
    dispatcher, sensor = pg_keys["dispatcher"], pg_keys["sensor"]
    n = 15
    seed(pg_client, dispatcher, n_bins=2)
    extra = [
        {"bin_id": f"x{i}", "lon": 24.9 + i * 1e-4, "lat": 60.2, "capacity_l": 240}
        for i in range(n)
    ]
    assert pg_client.post("/bins/bulk", json=extra, headers=dispatcher).json()["stored"] == n
    base = pg_client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    _wait(pg_runtime)
    start = threading.Barrier(2 * n)

    def alert(i: int) -> Any:
        start.wait(10)
        body = {"bin_id": f"x{i}", "at": f"2026-11-25T12:{i:02d}:00+02:00"}
        return pg_client.post("/alerts", json=body, headers=dispatcher)

    def reading(i: int) -> Any:
        start.wait(10)
        body = [{"bin_id": f"x{i}", "at": f"2026-11-25T10:{i:02d}:00+02:00", "fill_fraction": 0.5}]
        return pg_client.post("/readings", json=body, headers=sensor)

    with ThreadPoolExecutor(max_workers=2 * n) as pool:
        futures = [pool.submit(alert, i) for i in range(n)]
        futures += [pool.submit(reading, i) for i in range(n)]
        answers = [f.result() for f in futures]
    assert [a.status_code for a in answers] == [202] * n + [200] * n
    assert all(a.json()["stored"] == 1 for a in answers[n:])
    _wait(pg_runtime)

    with pg_runtime.db.reader() as s:
        alerts = list(s.scalars(select(AlertRow)))
        n_readings = s.scalar(select(func.count()).select_from(ReadingRow))
        versions = list(s.scalars(select(PlanRow.version).order_by(PlanRow.version)))
    assert n_readings == 2 + n
    assert len(alerts) == n
    assert {a.status for a in alerts} == {"rerouted"}
    newest = max(a.plan_id or 0 for a in alerts)
    routes = pg_client.get(f"/plans/{newest}/routes", headers=dispatcher).json()["routes"]
    assert {f"x{i}" for i in range(n)} <= {b for r in routes for b in r["bin_ids"]}
    urgent = sorted(b for call in pg_planner.reroutes for b in call["urgent"])
    assert urgent == sorted(f"x{i}" for i in range(n))  # each alert rerouted exactly once
    assert versions == list(range(1, 2 + len(pg_planner.reroutes)))
    assert base["version"] == 1


def test_simultaneous_plan_requests_get_distinct_versions(
    pg_client: TestClient, pg_keys: dict[str, dict[str, str]], pg_runtime: Runtime
) -> None:
    dispatcher = pg_keys["dispatcher"]
    seed(pg_client, dispatcher, n_bins=2)
    n = pg_runtime.settings.max_time_limit_s  # a budget each: the same request is one job
    start = threading.Barrier(n)

    def request(i: int) -> Any:
        start.wait(10)
        body = {"plan_date": PLAN_DATE, "time_limit_s": i + 1}
        return pg_client.post("/plans", json=body, headers=dispatcher)

    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(request, range(n)))
    _wait(pg_runtime)
    assert [a.status_code for a in answers] == [202] * n, [a.text for a in answers]
    assert sorted(a.json()["version"] for a in answers) == list(range(1, n + 1))


def test_nightly_job_registered_once_across_restarts(pg_settings: Settings) -> None:
    on = pg_settings.model_copy(
        update={"scheduler_enabled": True, "misfire_grace_s": 1800, "nightly_cron": "30 1 * * *"}
    )
    triggers = []
    for _ in range(2):
        app = create_app(on, planner=FakePlanner(), routing=Routing.static(HaversineProvider()))
        with TestClient(app):
            job = app.state.runtime.scheduler.get_job(JOB_ID)
            triggers.append((str(job.trigger), job.misfire_grace_time, job.coalesce))
    assert triggers[0] == triggers[1]
    assert "hour='1'" in triggers[0][0] and triggers[0][1:] == (1800, True)
    engine = create_engine(on.database_url)
    try:
        with engine.connect() as conn:
            ids = conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all()
    finally:
        engine.dispose()
    assert ids == [JOB_ID]


def test_a_second_service_on_the_database_stops(pg_settings: Settings) -> None:
    """The first holds a session advisory lock; a second stops naming the fix, and once
    the first stopped the database is free again."""

    def app() -> FastAPI:
        routing = Routing.static(HaversineProvider())
        return create_app(pg_settings, planner=FakePlanner(), routing=routing, clock=the_eve)

    with TestClient(app()):
        second = TestClient(app())
        with pytest.raises(ServiceLockError, match="BINROUTE_DATABASE_URL"):
            second.__enter__()
    with TestClient(app()) as client:
        assert client.get("/health").json()["database"] == "postgresql"


def test_days_of_the_service_with_records_edited_keep_their_promises(
    pg_settings: Settings,
) -> None:
    """Seed 4's two wider days of 8 events with records edited (those of
    ``tests/api/test_service_days.py``: plans, progress, alerts, reroutes, re-plans, bins,
    sites, depots and trucks put, deleted and listed again) on PostgreSQL, its real solver
    and straight lines, every promise checked after each event."""
    assert random_days(pg_settings, 4, 8, days=2, wide=True, edits=True) == []
