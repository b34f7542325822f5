"""Readings: idempotent bulk ingest, acknowledged after commit, threshold alerts."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from api import repo
from api.db import ReadingRow
from api.deps import Runtime
from api.settings import Settings
from tests.api.conftest import MORNING

BIN = {"bin_id": "b1", "lon": 24.95, "lat": 60.18, "capacity_l": 240}


@pytest.fixture
def with_bin(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post("/bins", json=BIN, headers=admin).status_code == 201


def test_same_bin_and_time_counts_once(
    client: TestClient, keys: dict[str, dict[str, str]], with_bin: None
) -> None:
    """Posting a reading twice (even with another offset for the same instant) stores one."""
    sensor = keys["sensor"]
    first = client.post(
        "/readings", json=[{"bin_id": "b1", "at": MORNING, "fill_fraction": 0.4}], headers=sensor
    )
    assert first.json() == {
        "stored": 1,
        "duplicates": 0,
        "rejected": [],
        "alert_ids": [],
        "notes": [],
    }
    again = [
        {"bin_id": "b1", "at": MORNING, "fill_fraction": 0.4},
        {"bin_id": "b1", "at": "2026-11-25T05:00:00Z", "fill_fraction": 0.4},
    ]
    second = client.post("/readings", json=again, headers=sensor)
    assert second.status_code == 200
    assert second.json()["stored"] == 0
    assert second.json()["duplicates"] == 2
    assert second.json()["notes"] == []  # sent again: nothing to say
    listed = client.get("/readings", params={"bin_id": "b1"}, headers=keys["viewer"]).json()
    assert len(listed) == 1
    assert listed[0]["at"] == "2026-11-25T05:00:00Z"


def test_another_value_at_a_stored_instant_is_named_and_not_used(
    client: TestClient, keys: dict[str, dict[str, str]], with_bin: None
) -> None:
    """The first reading of an instant stays; one with another fill is counted as a
    duplicate and named in the notes (it was dropped without a word)."""
    sensor = keys["sensor"]
    first = {"bin_id": "b1", "at": MORNING, "fill_fraction": 0.4}
    assert client.post("/readings", json=[first], headers=sensor).json()["stored"] == 1
    other = {**first, "fill_fraction": 0.9, "weight_kg": 30.0}
    got = client.post("/readings", json=[other], headers=sensor).json()
    assert (got["stored"], got["duplicates"]) == (0, 1)
    assert got["notes"] == [
        f"b1: the reading of {MORNING} (fill 0.9, 30 kg) is not used: the one stored at "
        "that instant (fill 0.4) stays; a bin has one reading per instant"
    ]
    listed = client.get("/readings", params={"bin_id": "b1"}, headers=keys["viewer"]).json()
    assert [r["fill_fraction"] for r in listed] == [0.4]


def test_acknowledged_only_after_commit(
    client: TestClient, keys: dict[str, dict[str, str]], settings: Settings, with_bin: None
) -> None:
    """When the response arrives, a brand-new connection already sees the rows."""
    rows = [
        {"bin_id": "b1", "at": f"2026-11-25T0{h}:00:00+02:00", "fill_fraction": 0.1 * h}
        for h in range(1, 6)
    ]
    resp = client.post("/readings", json=rows, headers=keys["sensor"])
    assert resp.json()["stored"] == 5
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(ReadingRow)) == 5
    finally:
        engine.dispose()


def test_bad_rows_reported_good_rows_kept(
    client: TestClient, keys: dict[str, dict[str, str]], with_bin: None
) -> None:
    rows = [
        {"bin_id": "b1", "at": MORNING, "fill_fraction": 0.5},
        {"bin_id": "b1", "at": "2026-11-25T08:00:00", "fill_fraction": 0.5},
        {"bin_id": "b1", "at": "2026-11-25T09:00:00+02:00", "fill_fraction": 55},
        {"bin_id": "ghost", "at": MORNING, "fill_fraction": 0.5},
    ]
    out = client.post("/readings", json=rows, headers=keys["sensor"]).json()
    assert out["stored"] == 1
    by_index = {e["index"]: e for e in out["rejected"]}
    assert by_index[1]["loc"] == ["body", 1, "at"]
    assert by_index[2]["loc"] == ["body", 2, "fill_fraction"]
    assert by_index[3]["loc"] == ["body", 3, "bin_id"]
    assert "ghost" in by_index[3]["record"]


def test_all_rows_bad_is_422(
    client: TestClient, keys: dict[str, dict[str, str]], with_bin: None
) -> None:
    resp = client.post("/readings", json=[{"bin_id": "b1", "at": MORNING}], headers=keys["sensor"])
    assert resp.status_code == 422
    detail = resp.json()["detail"][0]
    assert detail["loc"] == ["body", 0, "fill_fraction"]
    assert "b1" in detail["record"]


def test_reading_over_threshold_raises_one_alert_per_day(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime, with_bin: None
) -> None:
    rows = [
        {"bin_id": "b1", "at": "2026-11-25T07:00:00+02:00", "fill_fraction": 0.97},
        {"bin_id": "b1", "at": "2026-11-25T08:00:00+02:00", "fill_fraction": 0.99},
    ]
    out = client.post("/readings", json=rows, headers=keys["sensor"]).json()
    assert len(out["alert_ids"]) == 1
    runtime.jobs.wait_idle(30)
    alert = client.get(f"/alerts/{out['alert_ids'][0]}", headers=keys["viewer"]).json()
    assert alert["source"] == "sensor"
    assert alert["plan_date"] == "2026-11-25"
    assert alert["status"] == "no_plan"  # nothing planned for the day yet


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_implausible_instants_are_422_not_500(
    client: TestClient, keys: dict[str, dict[str, str]], with_bin: None, at: str
) -> None:
    resp = client.post(
        "/readings", json=[{"bin_id": "b1", "at": at, "fill_fraction": 0.5}], headers=keys["sensor"]
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", 0, "at"]
    listed = client.get("/readings", params={"since": at}, headers=keys["viewer"])
    assert listed.status_code == 422


FOOD = {"bin_id": "k1", "lon": 24.95, "lat": 60.18, "capacity_l": 120, "stream": "food"}


def _post(
    client: TestClient, keys: dict[str, dict[str, str]], rows: list[dict[str, object]]
) -> dict[str, Any]:
    resp = client.post("/readings", json=rows, headers=keys["sensor"])
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_a_sensor_that_only_weighs_gives_a_fill_at_the_bins_density(
    client: TestClient, keys: dict[str, dict[str, str]], admin: dict[str, str]
) -> None:
    """A food-waste bin of 120 l at its stream's 0.55 kg/l: 33 kg is half full; 33 000 kg
    (a scale in grams: more than 120 l hold at 5 kg/l) is refused by index, naming the fix."""
    assert client.post("/bins", json=FOOD, headers=admin).status_code == 201
    rows = [
        {"bin_id": "k1", "at": MORNING, "weight_kg": 33},
        {"bin_id": "k1", "at": "2026-11-25T08:00:00+02:00", "weight_kg": 33_000},
    ]
    out = _post(client, keys, rows)
    assert (out["stored"], [e["index"] for e in out["rejected"]]) == (1, [1])
    assert out["rejected"][0]["loc"] == ["body", 1, "weight_kg"]
    assert "check that the scale reports the net weight in kg" in out["rejected"][0]["msg"]
    (got,) = client.get("/readings", params={"bin_id": "k1"}, headers=keys["viewer"]).json()
    assert got["fill_fraction"] == pytest.approx(0.5)
    assert (got["weight_kg"], got["fill_from_weight"]) == (33, True)


def test_a_weight_alone_uses_the_density_the_bins_stored_readings_show(
    client: TestClient, keys: dict[str, dict[str, str]], with_bin: None
) -> None:
    """b1 (240 l) weighed at 0.2 kg/l three times before; its level sensor then fails."""
    weighed = [
        {
            "bin_id": "b1",
            "at": f"2026-11-25T0{h}:00:00+02:00",
            "fill_fraction": 0.5,
            "weight_kg": 24,
        }
        for h in range(1, 4)
    ]
    _post(client, keys, weighed)
    _post(client, keys, [{"bin_id": "b1", "at": "2026-11-25T05:00:00+02:00", "weight_kg": 36}])
    newest = client.get("/readings", params={"bin_id": "b1"}, headers=keys["viewer"]).json()[0]
    assert newest["fill_fraction"] == pytest.approx(36 / (0.2 * 240))  # not at 0.10 kg/l


def test_a_heavy_weight_raises_an_overflow_alert(
    client: TestClient, keys: dict[str, dict[str, str]], admin: dict[str, str]
) -> None:
    assert client.post("/bins", json=FOOD, headers=admin).status_code == 201
    out = _post(client, keys, [{"bin_id": "k1", "at": MORNING, "weight_kg": 66}])
    (alert_id,) = out["alert_ids"]
    alert = client.get(f"/alerts/{alert_id}", headers=keys["viewer"]).json()
    assert alert["fill_fraction"] == pytest.approx(1.0)
    assert alert["note"].startswith("sensor weight 66 kg (fill 1.00")


def test_a_weight_heavier_than_the_bin_holds_at_its_density_is_stored_and_noted(
    client: TestClient, keys: dict[str, dict[str, str]], admin: dict[str, str]
) -> None:
    """150 kg in k1 (120 l at 0.55 kg/l) is 2.3 times full: stored at 1.5 with its weight
    (the waste may be denser), named in the notes, and alerted as such."""
    assert client.post("/bins", json=FOOD, headers=admin).status_code == 201
    out = _post(client, keys, [{"bin_id": "k1", "at": MORNING, "weight_kg": 150}])
    assert (out["stored"], out["rejected"]) == (1, [])
    (note,) = out["notes"]
    assert "k1 150 kg" in note and "density_kg_per_l" in note
    (got,) = client.get("/readings", params={"bin_id": "k1"}, headers=keys["viewer"]).json()
    assert (got["fill_fraction"], got["weight_kg"], got["fill_from_weight"]) == (1.5, 150, True)
    (alert_id,) = out["alert_ids"]
    alert = client.get(f"/alerts/{alert_id}", headers=keys["viewer"]).json()
    assert "more than 1.5 times the bin" in alert["note"] and "denser" in alert["note"]


def _meanwhile(settings: Settings, monkeypatch: pytest.MonkeyPatch, sql: str) -> list[str]:
    """Have another process run ``sql`` on the database as soon as a request has read the
    densities of its weights alone (waiting 50 ms at most for a lock); the statements it
    ran, once the request is done."""
    real = repo.fills_from_weights
    path = settings.database_url.removeprefix("sqlite:///")
    ran: list[str] = []

    def then_sql(*args: Any, **kwargs: Any) -> Any:
        got = real(*args, **kwargs)
        other = sqlite3.connect(path, timeout=0.05)
        try:
            other.execute(sql)
            other.commit()
            ran.append(sql)
        finally:
            other.close()
        return got

    monkeypatch.setattr(repo, "fills_from_weights", then_sql)
    return ran


def test_the_densities_of_weights_alone_are_read_before_the_write_lock(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    admin: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading a city's density evidence takes a while: while it is read, another process
    can still write (before, the request held SQLite's write lock through it)."""
    assert client.post("/bins", json=FOOD, headers=admin).status_code == 201
    insert = "INSERT INTO depots (depot_id, lon, lat, name) VALUES ('d9', 0, 0, '')"
    ran = _meanwhile(settings, monkeypatch, insert)
    out = _post(client, keys, [{"bin_id": "k1", "at": MORNING, "weight_kg": 33}])
    assert (out["stored"], ran) == (1, [insert])


def test_a_bin_deleted_while_its_weights_densities_are_read_is_refused(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    admin: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bin goes between the densities' read and the write: its reading is refused
    with the fix (422), not a server error."""
    assert client.post("/bins", json=FOOD, headers=admin).status_code == 201
    _meanwhile(settings, monkeypatch, "DELETE FROM bins WHERE bin_id = 'k1'")
    rows = [{"bin_id": "k1", "at": MORNING, "weight_kg": 33}]
    resp = client.post("/readings", json=rows, headers=keys["sensor"])
    assert resp.status_code == 422, resp.text
    assert "unknown bin 'k1'" in resp.json()["detail"][0]["msg"]


def test_readings_older_than_the_readings_kept_are_refused_by_row(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime, with_bin: None
) -> None:
    """Readings kept 30 days, the clock on 2026-11-25: a reading of 2026-10-25 23:59 is
    refused by row, naming the setting (the nightly run would delete it, unseen); one of
    2026-10-26 00:00 is stored. With every reading kept (0), the old one is stored."""
    from datetime import datetime

    runtime.jobs.settings = runtime.jobs.settings.model_copy(update={"readings_keep_days": 30})
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T09:00:00+02:00")
    old = {"bin_id": "b1", "at": "2026-10-25T23:59:00+02:00", "fill_fraction": 0.4}
    kept = {"bin_id": "b1", "at": "2026-10-26T00:00:00+02:00", "fill_fraction": 0.4}
    got = client.post("/readings", json=[old, kept], headers=keys["sensor"]).json()
    assert got["stored"] == 1
    (bad,) = got["rejected"]
    assert (bad["index"], bad["loc"]) == (0, ["body", 0, "at"])
    assert "before the readings kept (readings_keep_days 30: from 2026-10-26)" in bad["msg"]
    runtime.jobs.settings = runtime.jobs.settings.model_copy(update={"readings_keep_days": 0})
    again = client.post("/readings", json=[old], headers=keys["sensor"]).json()
    assert (again["stored"], again["rejected"]) == (1, [])


def test_records_dated_after_the_clock_are_refused_and_old_overflows_raise_no_alert(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime, with_bin: None
) -> None:
    """The service's default 15 min of clock skew, the clock at 09:00: a sensor reading of
    2199 (a sensor clock gone wrong) is refused by row, with the fix; one of 09:10 is
    taken. A full reading of 1970 (a clock reset to the epoch) is stored, with a note, but
    raises no alert: no plan would ever take it. A citizen report and a dispatcher's alert
    dated an hour ahead are refused too."""
    from datetime import datetime

    runtime.jobs.settings = runtime.jobs.settings.model_copy(update={"clock_skew_min": 15})
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-25T09:00:00+02:00")
    sensor, dispatcher = keys["sensor"], keys["dispatcher"]
    rows = [
        {"bin_id": "b1", "at": "2199-11-25T08:00:00+02:00", "fill_fraction": 0.99},
        {"bin_id": "b1", "at": "2026-11-25T09:10:00+02:00", "fill_fraction": 0.5},
        {"bin_id": "b1", "at": "1970-01-01T00:00:05+00:00", "fill_fraction": 0.99},
    ]
    got = client.post("/readings", json=rows, headers=sensor).json()
    assert (got["stored"], got["alert_ids"]) == (2, [])
    (bad,) = got["rejected"]
    assert bad["index"] == 0 and bad["loc"] == ["body", 0, "at"]
    assert "after the service's clock" in bad["msg"] and "check the device's clock" in bad["msg"]
    assert any("older than the readings history" in n for n in got["notes"])
    assert client.get("/alerts", headers=dispatcher).json() == []
    hour_ahead = "2026-11-25T10:00:00+02:00"
    report = {"report_id": "r1", "at": hour_ahead, "bin_id": "b1"}
    alert = {"bin_id": "b1", "at": hour_ahead}
    for url, body in (("/reports", report), ("/alerts", alert)):
        refused = client.post(url, json=body, headers=dispatcher)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"] == ["body", "at"]
    assert client.get("/reports", headers=dispatcher).json() == []


def _bins(client: TestClient, admin: dict[str, str], *ids: str) -> None:
    for b in ids:
        assert client.post("/bins", json={**BIN, "bin_id": b}, headers=admin).status_code == 201


def each_bins_newest(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    """b1's sensor last read at 05:00, b2's every minute since: the newest readings are all
    b2's, but each bin's newest is listed (b3 never read: not listed), within [since, until)."""
    _bins(client, keys["admin"], "b1", "b2", "b3")
    b1 = [
        {"bin_id": "b1", "at": f"2026-11-25T0{h}:00:00+02:00", "fill_fraction": h / 10}
        for h in (4, 5)
    ]
    b2 = [
        {"bin_id": "b2", "at": f"2026-11-25T06:{m:02d}:00+02:00", "fill_fraction": m / 100}
        for m in range(60)
    ]
    assert _post(client, keys, b1 + b2)["stored"] == 62
    viewer = keys["viewer"]
    newest = client.get("/readings", params={"limit": 50}, headers=viewer).json()
    assert {r["bin_id"] for r in newest} == {"b2"}
    got = client.get("/readings/latest", headers=viewer).json()
    assert [(r["bin_id"], r["at"], r["fill_fraction"]) for r in got] == [
        ("b1", "2026-11-25T03:00:00Z", 0.5),
        ("b2", "2026-11-25T04:59:00Z", 0.59),
    ]
    window = {"since": "2026-11-25T04:00:00+02:00", "until": "2026-11-25T06:30:00+02:00"}
    got = client.get("/readings/latest", params=window, headers=viewer).json()
    assert [(r["bin_id"], r["at"]) for r in got] == [
        ("b1", "2026-11-25T03:00:00Z"),
        ("b2", "2026-11-25T04:29:00Z"),
    ]
    window = {"until": "2026-11-25T05:00:00+02:00"}
    got = client.get("/readings/latest", params=window, headers=viewer).json()
    assert [(r["bin_id"], r["at"]) for r in got] == [("b1", "2026-11-25T02:00:00Z")]


def late_first_as_received(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    """A gateway's reading of 07:00 arriving after one of 08:00: newest by time it is not,
    newest received it is (what a page following new readings compares)."""
    _bins(client, keys["admin"], "b1", "b2")
    _post(client, keys, [{"bin_id": "b1", "at": "2026-11-25T08:00:00+02:00", "fill_fraction": 0.3}])
    _post(client, keys, [{"bin_id": "b2", "at": MORNING, "fill_fraction": 0.6}])
    viewer = keys["viewer"]
    (by_time,) = client.get("/readings", params={"limit": 1}, headers=viewer).json()
    assert by_time["bin_id"] == "b1"
    asked: dict[str, str | int] = {"limit": 2, "order": "received"}
    late, first = client.get("/readings", params=asked, headers=viewer).json()
    assert (late["bin_id"], late["at"]) == ("b2", "2026-11-25T05:00:00Z")
    assert late["received_at"] >= first["received_at"]
    assert first["bin_id"] == "b1"
    bad = client.get("/readings", params={"order": "sent"}, headers=viewer)
    assert bad.status_code == 422


NEWEST = (each_bins_newest, late_first_as_received)  # PostgreSQL's tests run them too


@pytest.mark.parametrize("check", NEWEST)
def test_the_newest_readings(
    client: TestClient, keys: dict[str, dict[str, str]], check: Callable[..., None]
) -> None:
    """Each bin's newest whatever the others sent; the last stored first."""
    check(client, keys)


def test_the_map_readings_benchmark_at_test_size() -> None:
    """``benchmarks.map_readings`` at test size: 30 bins read every hour for 400 hours (more
    than 10 000 readings): the newest 10 000 are a page, each bin's newest is 30 rows."""
    from benchmarks.map_readings import run

    got = run(bins=30, hours=400, repeat=1)
    assert (got["readings"], got["newest_10000_rows"], got["latest_rows"]) == (12_000, 10_000, 30)
    assert all(got[k] >= 0 for k in ("newest_10000_s", "latest_s", "last_stored_s"))
