"""CRUD, bulk import and input errors of the inventory resources."""

from __future__ import annotations

import re
import threading
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import repo
from api.deps import Runtime
from tests.api.conftest import MORNING, PLAN_DATE, seed, wait
from tests.api.fakes import FakePlanner

DEPOT = {"depot_id": "d1", "lon": 24.94, "lat": 60.17, "name": "Main"}
RESOURCES: list[tuple[str, str, dict[str, Any], str, Any]] = [
    (
        "/cities",
        "city_id",
        {"city_id": "hel", "name": "Helsinki", "source": "haversine"},
        "name",
        "Helsingfors",
    ),
    ("/depots", "depot_id", DEPOT, "name", "North"),
    (
        "/sites",
        "site_id",
        {"site_id": "s1", "lon": 24.9, "lat": 60.2, "streams": ["residual"]},
        "unload_s",
        600,
    ),
    (
        "/bins",
        "bin_id",
        {"bin_id": "b1", "lon": 24.95, "lat": 60.18, "capacity_l": 240},
        "capacity_l",
        660,
    ),
    (
        "/vehicles",
        "vehicle_id",
        {"vehicle_id": "v1", "depot_id": "d1", "capacity_l": 20000, "capacity_kg": 8000},
        "capacity_kg",
        9000,
    ),
]


@pytest.fixture
def with_depot(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post("/depots", json=DEPOT, headers=admin).status_code == 201


@pytest.mark.parametrize(("path", "id_field", "body", "field", "new"), RESOURCES)
def test_crud_round_trip(
    client: TestClient,
    admin: dict[str, str],
    with_depot: None,
    path: str,
    id_field: str,
    body: dict[str, Any],
    field: str,
    new: Any,
) -> None:
    """Create, read, list, replace and delete one record; then it is gone (404)."""
    ident = body[id_field]
    if path != "/depots":
        created = client.post(path, json=body, headers=admin)
        assert created.status_code == 201, created.text
    got = client.get(f"{path}/{ident}", headers=admin)
    assert got.status_code == 200
    assert got.json()[id_field] == ident
    assert ident in [x[id_field] for x in client.get(path, headers=admin).json()]
    replaced = client.put(f"{path}/{ident}", json={**body, field: new}, headers=admin)
    assert replaced.status_code == 200, replaced.text
    assert client.get(f"{path}/{ident}", headers=admin).json()[field] == new
    if path == "/depots":
        return  # deleting the depot is covered by test_depot_in_use
    assert client.delete(f"{path}/{ident}", headers=admin).status_code == 204
    assert client.get(f"{path}/{ident}", headers=admin).status_code == 404


@pytest.mark.parametrize(("path", "id_field", "body", "field", "new"), RESOURCES)
def test_unknown_ids_are_404(
    client: TestClient,
    admin: dict[str, str],
    path: str,
    id_field: str,
    body: dict[str, Any],
    field: str,
    new: Any,
) -> None:
    """GET, PUT and DELETE of an id that does not exist answer 404 naming the id."""
    body = {**body, id_field: "nope"}
    for resp in (
        client.get(f"{path}/nope", headers=admin),
        client.put(f"{path}/nope", json=body, headers=admin),
        client.delete(f"{path}/nope", headers=admin),
    ):
        assert resp.status_code == 404, resp.text
        assert "nope" in resp.json()["detail"]


def test_duplicate_create_is_409(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post("/depots", json=DEPOT, headers=admin).status_code == 201
    assert client.post("/depots", json=DEPOT, headers=admin).status_code == 409


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"bin_id": "b1", "lon": 24.9, "lat": 60.2, "capacity_l": 0}, ["body", "capacity_l"]),
        ({"bin_id": "b1", "lon": 240.0, "lat": 60.2, "capacity_l": 240}, ["body", "lon"]),
        (
            {"bin_id": "b1", "lon": 24.9, "lat": 60.2, "capacity_l": 240, "colour": "red"},
            ["body", "colour"],
        ),
        (
            {
                "bin_id": "b1",
                "lon": 24.9,
                "lat": 60.2,
                "capacity_l": 240,
                "window_start": "10:00+02:00",
                "window_end": "11:00",
            },
            ["body", "window_start"],
        ),
        (
            {
                "bin_id": "b1",
                "lon": 24.9,
                "lat": 60.2,
                "capacity_l": 240,
                "window_start": "12:00",
                "window_end": "11:00",
            },
            ["body"],
        ),
    ],
)
def test_bad_bin_is_422_naming_field_and_record(
    client: TestClient, admin: dict[str, str], body: dict[str, Any], loc: list[Any]
) -> None:
    """Schema and domain errors name the field (loc) and the record (its id)."""
    resp = client.post("/bins", json=body, headers=admin)
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"][0]
    assert detail["loc"] == loc
    assert detail["record"] == "bin_id='b1'"
    assert detail["msg"]


def test_a_bins_kerb_side_is_stored_and_planned_with(
    client: TestClient, admin: dict[str, str], runtime: Runtime
) -> None:
    """``kerb_side`` (default false) is kept, read back and handed to the planner's bins;
    a value that is no boolean is a 422 naming the field."""
    body = {"bin_id": "b1", "lon": 24.95, "lat": 60.18, "capacity_l": 240}
    assert client.post("/bins", json=body | {"kerb_side": True}, headers=admin).status_code == 201
    assert client.post("/bins", json=body | {"bin_id": "b2"}, headers=admin).status_code == 201
    got = {b["bin_id"]: b["kerb_side"] for b in client.get("/bins", headers=admin).json()}
    assert got == {"b1": True, "b2": False}
    with runtime.db.reader() as s:
        planned = {b.bin_id: b.kerb_side for b in repo.load_inventory(s).bins}
    assert planned == {"b1": True, "b2": False}
    bad = client.post(
        "/bins", json=body | {"bin_id": "b3", "kerb_side": "sometimes"}, headers=admin
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "kerb_side"]


def test_equipment_bins_need_and_trucks_carry_is_stored_and_planned_with(
    client: TestClient, admin: dict[str, str], runtime: Runtime
) -> None:
    """A bin's ``needs`` and a truck's ``equipment`` (default none) are kept as sets, read
    back and handed to the planner; a name written otherwise than a stream is a 422."""
    depot = {"depot_id": "d1", "lon": 24.95, "lat": 60.18}
    assert client.post("/depots", json=depot, headers=admin).status_code == 201
    truck = {"vehicle_id": "t1", "depot_id": "d1", "capacity_l": 20000, "capacity_kg": 9000}
    sent = truck | {"equipment": ["crane", "comb", "crane"]}
    assert client.post("/vehicles", json=sent, headers=admin).status_code == 201
    body = {"bin_id": "u1", "lon": 24.95, "lat": 60.18, "capacity_l": 3000}
    assert client.post("/bins", json=body | {"needs": ["crane"]}, headers=admin).status_code == 201
    assert client.post("/bins", json=body | {"bin_id": "b2"}, headers=admin).status_code == 201
    got = {b["bin_id"]: b["needs"] for b in client.get("/bins", headers=admin).json()}
    assert got == {"u1": ["crane"], "b2": []}
    (listed,) = client.get("/vehicles", headers=admin).json()
    assert listed["equipment"] == ["comb", "crane"]
    with runtime.db.reader() as s:
        inventory = repo.load_inventory(s)
    assert {b.bin_id: b.needs for b in inventory.bins} == {
        "u1": frozenset({"crane"}),
        "b2": frozenset(),
    }
    assert inventory.vehicles[0].equipment == frozenset({"comb", "crane"})
    bad = client.post("/bins", json=body | {"bin_id": "b3", "needs": ["Crane!"]}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:3] == ["body", "needs", 0]


@pytest.mark.parametrize(
    ("path", "body", "fix"),
    [
        (
            "/bins",
            {"bin_id": "b1", "lon": 24.9, "lat": 60.2, "capacity_l": 240}
            | {"window_start": "22:00", "window_end": "06:00"},
            "give the hours of one day the bin can be emptied in",
        ),
        (
            "/sites",
            {"site_id": "s1", "lon": 24.98, "lat": 60.2}
            | {"open_start": "22:00", "open_end": "06:00"},
            "give the site's hours within one day",
        ),
    ],
)
def test_a_window_past_midnight_names_the_fix_of_its_record(
    client: TestClient, admin: dict[str, str], path: str, body: dict[str, Any], fix: str
) -> None:
    """A bin's access window and a site's opening hours past midnight: the 422 names the
    fix of each (both said 'split the shift')."""
    resp = client.post(path, json=body, headers=admin)
    assert resp.status_code == 422, resp.text
    msg = resp.json()["detail"][0]["msg"]
    assert fix in msg and "split the shift" not in msg, msg


def test_vehicle_needs_known_depot(client: TestClient, admin: dict[str, str]) -> None:
    body = {"vehicle_id": "v9", "depot_id": "ghost", "capacity_l": 1, "capacity_kg": 1}
    resp = client.post("/vehicles", json=body, headers=admin)
    assert resp.status_code == 422
    detail = resp.json()["detail"][0]
    assert detail["loc"] == ["body", "depot_id"]
    assert "ghost" in detail["msg"]
    assert detail["record"] == "vehicle_id='v9'"


def test_put_with_other_id_is_422(
    client: TestClient, admin: dict[str, str], with_depot: None
) -> None:
    resp = client.put("/depots/d1", json={**DEPOT, "depot_id": "d2"}, headers=admin)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "depot_id"]


def test_depot_in_use_cannot_be_deleted(
    client: TestClient, admin: dict[str, str], with_depot: None
) -> None:
    v = {"vehicle_id": "v1", "depot_id": "d1", "capacity_l": 1, "capacity_kg": 1}
    assert client.post("/vehicles", json=v, headers=admin).status_code == 201
    resp = client.delete("/depots/d1", headers=admin)
    assert resp.status_code == 409
    assert "v1" in resp.json()["detail"]
    assert client.delete("/vehicles/v1", headers=admin).status_code == 204
    assert client.delete("/depots/d1", headers=admin).status_code == 204


def test_bulk_import_keeps_good_rows_and_reports_bad(
    client: TestClient, admin: dict[str, str]
) -> None:
    rows = [
        {"bin_id": "b1", "lon": 24.9, "lat": 60.2, "capacity_l": 240},
        {"bin_id": "b2", "lon": 24.9, "lat": 60.2, "capacity_l": -5},
        {"bin_id": "b3", "lon": 24.9, "lat": 60.2, "capacity_l": 240, "stream": "paper"},
        {"bin_id": "b1", "lon": 24.9, "lat": 60.2, "capacity_l": 360},
        {
            "bin_id": "b4",
            "lon": 24.9,
            "lat": 60.2,
            "capacity_l": 240,
            "service_s": 60,
            "window_start": "15:00",
            "window_end": "08:00",
        },
    ]
    resp = client.post("/bins/bulk", json=rows, headers=admin)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["stored"] == 2
    bad = {(e["index"], e["record"]): e for e in out["rejected"]}
    assert set(bad) == {(1, "bin_id='b2'"), (3, "bin_id='b1'"), (4, "bin_id='b4'")}
    assert bad[(1, "bin_id='b2'")]["loc"] == ["body", 1, "capacity_l"]
    assert "twice" in bad[(3, "bin_id='b1'")]["msg"]
    stored = {b["bin_id"]: b for b in client.get("/bins", headers=admin).json()}
    assert set(stored) == {"b1", "b3"}
    assert stored["b1"]["capacity_l"] == 240
    assert stored["b3"]["stream"] == "paper"


def test_bulk_upsert_replaces(client: TestClient, admin: dict[str, str]) -> None:
    row = {"bin_id": "b1", "lon": 24.9, "lat": 60.2, "capacity_l": 240}
    client.post("/bins/bulk", json=[row], headers=admin)
    resp = client.post("/bins/bulk", json=[{**row, "capacity_l": 660}], headers=admin)
    assert resp.json()["stored"] == 1
    assert client.get("/bins/b1", headers=admin).json()["capacity_l"] == 660


def test_malformed_json_is_422(client: TestClient, admin: dict[str, str]) -> None:
    resp = client.post(
        "/bins", content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert resp.status_code == 422


def test_csv_import_keeps_good_rows_and_reports_bad_lines(
    client: TestClient, admin: dict[str, str]
) -> None:
    """CSV in fleet.io columns; rejected rows carry their CSV line number and field."""
    text = (
        "bin_id,lon,lat,capacity_l,stream,access_window\n"
        "c1,24.90,60.20,240,residual,\n"
        "c2,24.91,60.20,lots,residual,\n"
        "c3,24.92,60.20,660,paper,08:00-12:00\n"
        "c4,24.93,60.20,240,Bad Stream,\n"
    )
    resp = client.post(
        "/bins/import", content=text.encode(), headers={**admin, "Content-Type": "text/csv"}
    )
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["stored"] == 2
    bad = {e["index"]: e for e in out["rejected"]}
    assert set(bad) == {3, 5}
    assert bad[3]["loc"] == ["body", 3, "capacity_l"]
    assert bad[3]["record"] == "bin_id='c2'"
    assert bad[5]["loc"] == ["body", 5, "stream"]
    c3 = client.get("/bins/c3", headers=admin).json()
    assert (c3["window_start"], c3["window_end"]) == ("08:00:00", "12:00:00")


def test_a_row_the_store_refuses_is_named_by_its_csv_line(
    client: TestClient, admin: dict[str, str], with_depot: None
) -> None:
    """Spaces around the header's names and a blank line: the truck of an unknown depot is
    on line 4 of the file."""
    text = " vehicle_id , depot_id,capacity_l,capacity_kg\nv8,d1,1000,1000\n\nv9,dX,1000,1000\n"
    resp = client.post(
        "/vehicles/import", content=text.encode(), headers={**admin, "Content-Type": "text/csv"}
    )
    assert resp.status_code == 200, resp.text
    (bad,) = resp.json()["rejected"]
    assert bad["index"] == 4 and bad["loc"][:2] == ["body", 4], bad
    assert bad["record"] == "vehicle_id='v9'" and "dX" in bad["msg"]


def test_csv_import_never_reads_a_server_file(client: TestClient, admin: dict[str, str]) -> None:
    """A one-line body that looks like a path is parsed as CSV text, not opened."""
    resp = client.post("/bins/import", content=b"/etc/passwd", headers=admin)
    assert resp.status_code == 200
    assert resp.json()["stored"] == 0
    assert resp.json()["rejected"][0]["index"] == 1  # the header is wrong


def test_a_csv_sent_as_a_form_upload_is_a_clear_error(
    client: TestClient, admin: dict[str, str]
) -> None:
    """`curl -F file=@depots.csv` sends a multipart form: its boundary line was read as
    the header, and the answer listed every column as missing from it."""
    text = b"depot_id,lon,lat\nd1,24.9,60.2\n"
    resp = client.post("/depots/import", files={"file": ("depots.csv", text)}, headers=admin)
    assert resp.status_code == 422, resp.text
    (err,) = resp.json()["detail"]
    assert err["loc"] == ["body"]
    assert "form upload" in err["msg"] and "--data-binary" in err["msg"]
    assert client.get("/depots/d1", headers=admin).status_code == 404


def test_unreadable_csv_is_reported_at_its_line(client: TestClient, admin: dict[str, str]) -> None:
    """A stray carriage return inside a field is bad input, not a server error: the rows
    before it are stored, its line is named and the rows after it are said not read."""
    text = b'depot_id,lon,lat\n"d\r1",24.9,60.2\nd2\r,24.9,60.2\n'
    resp = client.post("/depots/import", content=text, headers=admin)
    assert resp.status_code in (200, 422), resp.text
    text = b"depot_id,lon,lat\nd0,24.9,60.2\nd1\rx,24.9,60.2\nd3,24.9,60.2\n"
    resp = client.post("/depots/import", content=text, headers=admin)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["stored"] == 1
    (bad,) = out["rejected"]
    assert bad["index"] == 3
    assert "malformed CSV" in bad["msg"] and "not read" in bad["msg"]
    assert client.get("/depots/d3", headers=admin).status_code == 404


def test_vehicle_whose_break_cannot_fit_its_shift_or_has_no_length_is_422(
    client: TestClient, admin: dict[str, str], with_depot: None
) -> None:
    body = {
        "vehicle_id": "v2",
        "depot_id": "d1",
        "capacity_l": 20000,
        "capacity_kg": 8000,
        "shift_start": "06:00",
        "shift_end": "14:00",
        "break_s": 1800,
        "break_start": "15:00",
        "break_end": "16:00",
    }
    resp = client.post("/vehicles", json=body, headers=admin)
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"][0]
    assert "outside its shift" in detail["msg"]
    assert detail["record"] == "vehicle_id='v2'"
    no_length = {k: v for k, v in body.items() if k != "break_s"} | {"break_start": "10:00"}
    resp = client.post("/vehicles", json=no_length, headers=admin)
    assert resp.status_code == 422, resp.text
    assert "needs break_s" in resp.json()["detail"][0]["msg"]
    text = "vehicle_id,depot_id,capacity_l,capacity_kg,break_window\nv3,d1,1000,1000,10:00-10:30\n"
    got = client.post(
        "/vehicles/import", content=text, headers={**admin, "Content-Type": "text/csv"}
    )
    (bad,) = got.json()["rejected"]
    assert bad["index"] == 2 and "needs break_s" in bad["msg"]


def _replans(response: Any) -> list[int]:
    """The plan jobs a response names in its ``Link`` header."""
    return [int(i) for i in re.findall(r"</plans/(\d+)>", response.headers.get("Link", ""))]


def test_a_fleet_change_replans_the_days_planned_from_today(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime, planner: FakePlanner
) -> None:
    """The 24th (past), the 25th (today) and the 27th have plans. A truck added, changed,
    deleted, or imported changed queues a plan job (``fleet``) of the 25th and the 27th each
    (202, ``Link``; a bulk result's ``replans``). A PUT or a bulk row that changes nothing,
    and a change of another resource (bins), re-plan nothing."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-24T20:00:00+02:00")
    for day in ("2026-11-24", PLAN_DATE, "2026-11-27"):
        client.post("/plans", json={"plan_date": day}, headers=dispatcher)
    wait(runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat(MORNING)
    truck = {"vehicle_id": "v3", "depot_id": "d1", "capacity_l": 9000, "capacity_kg": 4000}
    changed = {**truck, "shift_end": "12:00"}
    csv_text = "vehicle_id,depot_id,capacity_l,capacity_kg\nv3,d1,8000,4000\n"
    steps = [
        (client.post("/vehicles", json=truck, headers=dispatcher), 2),
        (client.put("/vehicles/v3", json=truck, headers=dispatcher), 0),
        (client.put("/vehicles/v3", json=changed, headers=dispatcher), 2),
        (client.post("/vehicles/bulk", json=[changed], headers=dispatcher), 0),
        (client.post("/vehicles/bulk", json=[truck], headers=dispatcher), 2),
        (client.post("/vehicles/import", content=csv_text, headers=dispatcher), 2),
        (client.delete("/vehicles/v3", headers=dispatcher), 2),
        (
            client.put(
                "/bins/b0",
                json={"bin_id": "b0", "lon": 24.9, "lat": 60.2, "capacity_l": 660},
                headers=dispatcher,
            ),
            0,
        ),
    ]
    for i, (got, n) in enumerate(steps):
        assert got.is_success, (i, got.text)
        ids = _replans(got)
        assert len(ids) == n, (i, got.headers)
        if "/bulk" in str(got.url) or "/import" in str(got.url):
            assert got.json()["replans"] == ids
        elif n:
            assert got.status_code == 202
        wait(runtime)
        rows = [client.get(f"/plans/{j}", headers=dispatcher).json() for j in ids]
        assert [(r["plan_date"], r["origin"]) for r in rows] == [
            (PLAN_DATE, "fleet"),
            ("2026-11-27", "fleet"),
        ][:n]
    assert steps[-2][0].status_code == 202  # a deletion that re-plans
    assert sorted(c["plan_date"].isoformat() for c in planner.calls[3:5]) == [
        PLAN_DATE,
        "2026-11-27",
    ]
    assert {v.vehicle_id for v in planner.calls[-1]["inventory"].vehicles} == {"v1", "v2"}


def test_streams_in_another_order_change_nothing(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """Streams are a set: a truck's or a site's given in another order (or twice) is the
    same record, so the PUT re-plans nothing (it re-planned every day from today)."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat(MORNING)
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    truck = {"vehicle_id": "v1", "depot_id": "d1", "capacity_l": 20000, "capacity_kg": 8000}
    site = {"site_id": "s1", "lon": 24.98, "lat": 60.2}
    for url, body in (("/vehicles/v1", truck), ("/sites/s1", site)):
        first = client.put(
            url, json={**body, "streams": ["residual", "organic"]}, headers=dispatcher
        )
        assert first.status_code == 202 and first.json()["streams"] == ["organic", "residual"]
        wait(runtime)
        again = {**body, "streams": ["organic", "residual", "organic"]}
        same = client.put(url, json=again, headers=dispatcher)
        assert same.status_code == 200 and "Link" not in same.headers, same.headers


def test_an_id_of_dots_only_is_refused(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    """A bin ".." could never be read, changed or deleted: /bins/.. is / to a browser."""
    for bad in ("..", "."):
        body = {"bin_id": bad, "lon": 24.9, "lat": 60.2, "capacity_l": 240}
        resp = client.post("/bins", json=body, headers=keys["dispatcher"])
        assert resp.status_code == 422 and "URL path" in resp.text, resp.text
    ok = {"bin_id": "b.1", "lon": 24.9, "lat": 60.2, "capacity_l": 240}
    assert client.post("/bins", json=ok, headers=keys["dispatcher"]).status_code == 201


def test_a_fleet_change_with_no_plan_from_today_replans_nothing(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    """Only a past day has a plan: adding and deleting a truck answer 201 and 204."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat("2026-11-24T20:00:00+02:00")
    client.post("/plans", json={"plan_date": "2026-11-24"}, headers=dispatcher)
    wait(runtime)
    runtime.jobs.clock = lambda: datetime.fromisoformat(MORNING)
    truck = {"vehicle_id": "v3", "depot_id": "d1", "capacity_l": 9000, "capacity_kg": 4000}
    added = client.post("/vehicles", json=truck, headers=dispatcher)
    assert added.status_code == 201 and "Link" not in added.headers
    gone = client.delete("/vehicles/v3", headers=dispatcher)
    assert gone.status_code == 204 and "Link" not in gone.headers
    assert len(client.get("/plans", headers=dispatcher).json()) == 1


def test_a_site_closed_or_changed_replans_the_days_planned_from_today(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime, planner: FakePlanner
) -> None:
    """Today has a plan: a disposal site's hours changed, then the site deleted (closed),
    each queue a plan job of today (``sites``) that reads the sites listed then; its name
    changed alone queues none."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat(MORNING)
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    site = {"site_id": "s1", "lon": 24.98, "lat": 60.2, "open_start": "06:00", "open_end": "12:00"}
    changed = client.put("/sites/s1", json=site, headers=dispatcher)
    named = client.put("/sites/s1", json={**site, "name": "Ämmässuo"}, headers=dispatcher)
    assert named.status_code == 200 and "Link" not in named.headers, named.headers
    deleted = client.delete("/sites/s1", headers=dispatcher)
    for got in (changed, deleted):
        assert got.status_code == 202, got.text
        (job,) = _replans(got)
        wait(runtime)
        row = client.get(f"/plans/{job}", headers=dispatcher).json()
        assert (row["plan_date"], row["origin"], row["status"]) == (PLAN_DATE, "sites", "done")
    assert planner.calls[-1]["inventory"].sites == ()


def test_a_depot_moved_replans_the_days_planned_from_today(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime, planner: FakePlanner
) -> None:
    """Today has a plan: d1's position corrected queues a plan job of today (``depots``)
    that reads d1 where it is now; the same record again, a new name alone (no plan reads
    it), and a depot added, queue none."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat(MORNING)
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    depot = client.get("/depots/d1", headers=dispatcher).json()
    moved = {"depot_id": "d1", "lon": depot["lon"] + 0.01, "lat": depot["lat"]}
    got = client.put("/depots/d1", json=moved, headers=dispatcher)
    assert got.status_code == 202, got.text
    (job,) = _replans(got)
    wait(runtime)
    row = client.get(f"/plans/{job}", headers=dispatcher).json()
    assert (row["plan_date"], row["origin"], row["status"]) == (PLAN_DATE, "depots", "done")
    (listed,) = planner.calls[-1]["inventory"].depots
    assert (listed.lon, listed.lat) == (moved["lon"], moved["lat"])
    same = client.put("/depots/d1", json=moved, headers=dispatcher)
    named = client.put("/depots/d1", json={**moved, "name": "North yard"}, headers=dispatcher)
    added = client.post(
        "/depots", json={"depot_id": "d9", "lon": 24.9, "lat": 60.2}, headers=dispatcher
    )
    assert (same.status_code, named.status_code, added.status_code) == (200, 200, 201)
    assert not {"Link"} & {*same.headers, *named.headers, *added.headers}
    assert client.get("/depots/d1", headers=dispatcher).json()["name"] == "North yard"


def test_changes_while_a_plan_job_waits_join_it(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime, planner: FakePlanner
) -> None:
    """Today has a plan, and a second plan job runs (held); v1's shift changes (a re-plan is
    queued behind it), then v2's, then a site's: the later changes join the queued job (the
    same id in ``Link``) rather than queue one each; it runs once, after the running one,
    and reads all three."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat(MORNING)
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    planner.gate = threading.Event()
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    for _ in range(1000):
        if len(planner.calls) == 2:
            break
        threading.Event().wait(0.02)
    truck = {"depot_id": "d1", "capacity_l": 20000, "capacity_kg": 8000, "shift_end": "12:00"}
    site = {"site_id": "s1", "lon": 24.98, "lat": 60.2, "open_end": "13:00"}
    changes = [
        client.put("/vehicles/v1", json={"vehicle_id": "v1", **truck}, headers=dispatcher),
        client.put("/vehicles/v2", json={"vehicle_id": "v2", **truck}, headers=dispatcher),
        client.put("/sites/s1", json=site, headers=dispatcher),
    ]
    assert [c.status_code for c in changes] == [202, 202, 202]
    assert len({tuple(_replans(c)) for c in changes}) == 1
    planner.gate.set()
    wait(runtime)
    assert len(planner.calls) == 3
    last = planner.calls[-1]["inventory"]
    assert {v.shift.end.isoformat() for v in last.vehicles} == {"12:00:00"}
    assert [s.opening.end.isoformat() for s in last.sites] == ["13:00:00"]
    assert len(client.get(f"/plans?plan_date={PLAN_DATE}", headers=dispatcher).json()) == 3


def test_a_change_while_the_days_first_plan_job_runs_queues_a_plan_after_it(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime, planner: FakePlanner
) -> None:
    """Today's first plan job runs (held: it read its inputs) when v2 is deleted and v1
    given a downtime: each queues a plan job (the same one) that runs after it and reads
    the fleet then (nothing was queued: that plan kept sending both trucks out)."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat(MORNING)
    planner.gate = threading.Event()
    first = client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher).json()
    for _ in range(1000):
        if len(planner.calls) == 1:
            break
        threading.Event().wait(0.02)
    gone = client.delete("/vehicles/v2", headers=dispatcher)
    down = {"start_at": "2026-11-25T00:00:00+02:00", "reason": "workshop"}
    downtime = client.post("/vehicles/v1/downtimes", json=down, headers=dispatcher)
    planner.gate.set()
    wait(runtime)
    assert gone.status_code == 202 and downtime.status_code == 202, downtime.text
    (job,) = _replans(gone)
    assert downtime.json()["replans"] == [job] and job != first["id"]
    assert client.get(f"/plans/{job}", headers=dispatcher).json()["status"] == "done"
    (after,) = planner.calls[1:]
    assert [v.vehicle_id for v in after["inventory"].vehicles] == ["v1"]
    assert [d.vehicle_id for d in after["inventory"].downtimes] == ["v1"]


def test_a_bin_deleted_replans_the_days_planned_from_today_a_bin_added_does_not(
    client: TestClient, keys: dict[str, dict[str, str]], runtime: Runtime, planner: FakePlanner
) -> None:
    """Today has a plan: bins added or changed (one by one, in bulk) wait for the next plan;
    a bin deleted (taken off the street) re-plans today (``bins``) without it."""
    dispatcher = keys["dispatcher"]
    seed(client, dispatcher)
    runtime.jobs.clock = lambda: datetime.fromisoformat(MORNING)
    client.post("/plans", json={"plan_date": PLAN_DATE}, headers=dispatcher)
    wait(runtime)
    new = {"bin_id": "b9", "lon": 24.95, "lat": 60.18, "capacity_l": 240}
    added = client.post("/bins", json=new, headers=dispatcher)
    bulk = client.post("/bins/bulk", json=[{**new, "capacity_l": 660}], headers=dispatcher)
    assert (added.status_code, bulk.status_code) == (201, 200)
    assert "replans" not in bulk.json() and "Link" not in added.headers
    deleted = client.delete("/bins/b3", headers=dispatcher)
    assert deleted.status_code == 202
    (job,) = _replans(deleted)
    wait(runtime)
    assert client.get(f"/plans/{job}", headers=dispatcher).json()["origin"] == "bins"
    assert "b3" not in {b.bin_id for b in planner.calls[-1]["inventory"].bins}
    assert len(planner.calls) == 2
