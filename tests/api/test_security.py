"""API keys: 401 without a valid key, 403 for the wrong role, keys stored hashed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.base import STATE_RUNNING
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.db import ApiKeyRow, NightlyRunRow
from api.deps import Runtime
from api.routing import Routing
from api.scheduler import JOB_ID
from api.security import Role, create_key, issue_key
from api.settings import Settings
from network import MAX_SNAP_M
from network.providers import HaversineProvider
from tests.api.conftest import MORNING
from tests.api.fakes import FakePlanner

READING = [{"bin_id": "b1", "at": MORNING, "fill_fraction": 0.3}]
DEPOT = {"depot_id": "d9", "lon": 24.9, "lat": 60.2}
# (method, path, body, roles allowed)
ACTIONS = [
    ("GET", "/bins", None, {"viewer", "dispatcher", "admin"}),
    ("GET", "/plans", None, {"viewer", "dispatcher", "admin"}),
    ("POST", "/readings", READING, {"sensor", "dispatcher", "admin"}),
    ("POST", "/depots", DEPOT, {"dispatcher", "admin"}),
    ("POST", "/plans", {"plan_date": "2026-11-25"}, {"dispatcher", "admin"}),
    ("POST", "/alerts", {"bin_id": "b1", "at": MORNING}, {"dispatcher", "admin"}),
    ("GET", "/keys", None, {"admin"}),
]
ROLES = ["sensor", "viewer", "dispatcher", "admin"]


@pytest.fixture
def with_bin(client: TestClient, admin: dict[str, str]) -> None:
    body = {"bin_id": "b1", "lon": 24.95, "lat": 60.18, "capacity_l": 240}
    assert client.post("/bins", json=body, headers=admin).status_code == 201


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ACTIONS)
def test_role_matrix(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    with_bin: None,
    method: str,
    path: str,
    body: object,
    allowed: set[str],
) -> None:
    """Each role gets through exactly the actions it is allowed; the others are 403."""
    for role in ROLES:
        resp = client.request(method, path, json=body, headers=keys[role])
        if role in allowed:
            assert resp.status_code < 400 or resp.status_code == 409, (role, resp.text)
        else:
            assert resp.status_code == 403, (role, resp.text)
            assert role in resp.json()["detail"]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ACTIONS)
def test_missing_or_unknown_key_is_401(
    client: TestClient, method: str, path: str, body: object, allowed: set[str]
) -> None:
    for key in (None, "", "br_0000_0000", "not-a-key"):
        headers = {} if key is None else {"X-API-Key": key}
        resp = client.request(method, path, json=body, headers=headers)
        assert resp.status_code == 401, key
        assert resp.headers["www-authenticate"] == "APIKey"


def test_tampered_secret_is_401(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    key = keys["admin"]["X-API-Key"]
    tampered = key[:-1] + ("0" if key[-1] != "0" else "1")
    assert client.get("/bins", headers={"X-API-Key": tampered}).status_code == 401


def test_keys_are_stored_hashed(runtime: Runtime, keys: dict[str, dict[str, str]]) -> None:
    secrets_ = [h["X-API-Key"].split("_")[2] for h in keys.values()]
    with runtime.db.reader() as s:
        rows = list(s.scalars(select(ApiKeyRow)))
    assert len(rows) == 4
    stored = " ".join(f"{r.salt} {r.secret_hash} {r.key_id}" for r in rows)
    assert not any(secret in stored for secret in secrets_)


def test_admin_creates_lists_and_revokes_keys(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    admin = keys["admin"]
    made = client.post("/keys", json={"role": "viewer", "name": "wall screen"}, headers=admin)
    assert made.status_code == 201
    new = {"X-API-Key": made.json()["key"]}
    assert client.get("/bins", headers=new).status_code == 200
    listed = client.get("/keys", headers=admin).json()
    assert "key" not in listed[0]
    assert made.json()["key_id"] in {k["key_id"] for k in listed}
    assert client.delete(f"/keys/{made.json()['key_id']}", headers=admin).status_code == 204
    assert client.get("/bins", headers=new).status_code == 401


def test_a_key_issued_until_an_instant_works_until_then(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """A contractor's key given until some instant: it works until then, its expiry is
    listed, and a time already past is a 422 naming the field (the key would never work)."""
    admin = keys["admin"]
    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    body = {"role": "viewer", "name": "contractor", "expires_at": until.isoformat()}
    made = client.post("/keys", json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert datetime.fromisoformat(made.json()["expires_at"]) == until
    assert client.get("/bins", headers={"X-API-Key": made.json()["key"]}).status_code == 200
    (listed,) = [k for k in client.get("/keys", headers=admin).json() if k["name"] == "contractor"]
    assert datetime.fromisoformat(listed["expires_at"]).replace(tzinfo=UTC) == until
    past = {**body, "expires_at": "2026-01-01T00:00:00+01:00"}
    refused = client.post("/keys", json=past, headers=admin)
    assert refused.status_code == 422
    (detail,) = refused.json()["detail"]
    assert detail["loc"] == ["body", "expires_at"] and "not in the future" in detail["msg"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_key_is_401_saying_it_expired(
    client: TestClient, runtime: Runtime, method: str
) -> None:
    """Keys had no end: a key given for a trial worked until someone revoked it. Past its
    expiry it is refused, with or without a body (checked before the body is read), and
    the 401 says it expired rather than that it is unknown."""
    gone = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    key = issue_key(runtime.db, Role.DISPATCHER, "trial", expires_at=gone)
    path, body = ("/depots", DEPOT) if method == "POST" else ("/bins", None)
    r = client.request(method, path, json=body, headers={"X-API-Key": key})
    assert r.status_code == 401
    key_id = key.split("_")[1]
    assert r.json()["detail"] == (
        f"API key {key_id} expired at 2026-11-30T12:00:00+00:00; ask an admin for a new one"
    )


def test_create_key_for_cli(settings: Settings, client: TestClient) -> None:
    key = create_key(settings, "dispatcher", "cli")
    assert client.get("/plans", headers={"X-API-Key": key}).status_code == 200
    with pytest.raises(ValueError, match="unknown role"):
        create_key(settings, "janitor", "x")


def test_health_needs_no_key(client: TestClient, runtime: Runtime) -> None:
    """It also names the street network and zone the plans are made in (the settings; a
    city added under /cities is a catalogue entry, not read by the plans)."""
    client.post(
        "/cities",
        json={"city_id": "porto", "source": "porto.osm.pbf", "timezone": "Europe/Lisbon"},
        headers={"X-API-Key": issue_key(runtime.db, Role.ADMIN, "a")},
    )
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert (body["city"], body["timezone"]) == (runtime.settings.city, "Europe/Helsinki")


def test_health_shows_the_snap_limit_plans_are_made_with(settings: Settings) -> None:
    """``max_snap_m``: the setting ``MAX_SNAP_M`` (``network.MAX_SNAP_M`` by default), how
    far from a street a bin may stand before plans list it unserved."""
    for limit in (None, 40.0):
        chosen = settings if limit is None else settings.model_copy(update={"max_snap_m": limit})
        app = create_app(chosen, planner=FakePlanner(), routing=Routing.static(HaversineProvider()))
        with TestClient(app) as client:
            body = client.get("/health").json()
        assert body["max_snap_m"] == (MAX_SNAP_M if limit is None else limit)


def test_health_shows_the_truck_size_the_streets_are_read_for(settings: Settings) -> None:
    """``truck_height_m`` / ``truck_weight_kg`` / ``truck_width_m`` / ``truck_length_m`` /
    ``truck_axle_load_kg``: the settings the city's streets are read with (a street signed
    lower, lighter, narrower or shorter is not driven), the defaults or a city's own."""
    keys: tuple[str, ...] = ("truck_height_m", "truck_weight_kg", "truck_width_m")
    keys += ("truck_length_m", "truck_axle_load_kg")
    for size in (None, (2.5, 3500.0, 2.1, 6.5, 2000.0)):
        chosen = settings
        if size is not None:
            chosen = settings.model_copy(update=dict(zip(keys, size, strict=True)))
        app = create_app(chosen, planner=FakePlanner(), routing=Routing.static(HaversineProvider()))
        with TestClient(app) as client:
            body = client.get("/health").json()
        assert tuple(body[k] for k in keys) == (size or (3.8, 26000.0, 2.55, 10.0, 10000.0))
        assert body["turn_restrictions"] is True and body["local_access"] is True
        assert body["drive_side"] == "right" and body["u_turns"] is True
        assert body["street_hours"] is True and body["language"] == "en"
        assert body["languages"] == ["ca", "de", "en", "es", "fi", "ko", "pt", "sv", "zh"]


def test_health_says_the_scheduler_is_disabled_and_the_last_nightly_run(
    client: TestClient, runtime: Runtime
) -> None:
    """Disabled by setting is healthy (200); the last nightly run says whether it made a plan."""
    assert client.get("/health").json()["last_nightly_run"] is None
    with runtime.db.writer() as s:
        s.add(NightlyRunRow(plan_date=date(2026, 11, 25), status="failed", message="no trucks"))
        s.add(NightlyRunRow(plan_date=date(2026, 11, 24), status="done", message="published"))
    resp = client.get("/health")
    body = resp.json()
    assert resp.status_code == 200
    assert (body["status"], body["scheduler"], body["next_nightly_run"]) == ("ok", "disabled", None)
    last = body["last_nightly_run"]
    assert (last["plan_date"], last["status"], last["message"]) == (
        "2026-11-25",
        "failed",
        "no trucks",
    )


def test_health_is_503_when_the_enabled_scheduler_is_not_running(settings: Settings) -> None:
    """An enabled scheduler that runs: 200 with the next nightly run in the city's zone;
    one that does not fire jobs (here paused): 503, no plan would be made tonight."""
    on = settings.model_copy(update={"scheduler_enabled": True, "nightly_cron": "0 2 * * *"})
    app = create_app(on, planner=FakePlanner(), routing=Routing.static(HaversineProvider()))
    with TestClient(app) as client:
        running = client.get("/health")
        body = running.json()
        assert running.status_code == 200
        assert (body["status"], body["scheduler"]) == ("ok", "running")
        due = datetime.fromisoformat(body["next_nightly_run"])
        helsinki = ZoneInfo("Europe/Helsinki").utcoffset(due.replace(tzinfo=None))
        assert (due.time(), due.utcoffset()) == (time(2, 0), helsinki)  # the cron, city time
        app.state.runtime.scheduler.pause()
        stopped = client.get("/health")
        app.state.runtime.scheduler.resume()
    assert stopped.status_code == 503
    body = stopped.json()
    assert (body["status"], body["scheduler"], body["database"]) == (
        "degraded",
        "stopped",
        "sqlite",
    )


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_health_is_503_when_the_schedulers_thread_died_or_its_nightly_job_is_gone(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """APScheduler's loop crashed: its state still reads running, and /health said ok
    while no plan would be made tonight. Then the nightly job removed (no next run): the
    same 503, each with the reason."""
    on = settings.model_copy(update={"scheduler_enabled": True})
    app = create_app(on, planner=FakePlanner(), routing=Routing.static(HaversineProvider()))
    with TestClient(app) as client:
        scheduler = app.state.runtime.scheduler
        assert client.get("/health").json()["scheduler_problem"] is None
        scheduler.remove_job(JOB_ID)
        gone = client.get("/health")

        def crash() -> float:
            raise RuntimeError("job store unreadable")

        monkeypatch.setattr(scheduler, "_process_jobs", crash)
        scheduler.wakeup()
        scheduler._thread.join(10)
        assert scheduler.state == STATE_RUNNING  # what /health read
        dead = client.get("/health")
    for resp, problem in (
        (gone, "the nightly job is missing: restart the service"),
        (dead, "the scheduler's thread has died: restart the service"),
    ):
        body = resp.json()
        assert resp.status_code == 503, body
        assert (body["status"], body["scheduler"], body["next_nightly_run"]) == (
            "degraded",
            "stopped",
            None,
        )
        assert body["scheduler_problem"] == problem
