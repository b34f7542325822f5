"""The inventory's changes (``GET /inventory/changes``): each record created, changed or
deleted, one by one, in bulk or from CSV, with the fields that changed and the key."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.deps import Runtime
from api.security import Role, issue_key

BIN = {"bin_id": "b1", "lon": 24.95, "lat": 60.18, "capacity_l": 240}
DEPOT = {"depot_id": "d1", "lon": 24.94, "lat": 60.17}


def _changes(client: TestClient, headers: dict[str, str], query: str = "") -> list[Any]:
    r = client.get(f"/inventory/changes{query}", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json())


def _short(rows: list[Any]) -> list[tuple[str, str, str, list[str]]]:
    """Each change as (resource, ref, change, fields), the last first."""
    return [(c["resource"], c["ref"], c["change"], c["fields"]) for c in rows]


def test_a_bin_created_moved_resized_and_deleted_is_logged_so(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Created, moved (lon, lat), put again unchanged (no change), resized, deleted: four
    changes, the last first, each naming the fields that changed and the key."""
    assert client.post("/bins", json=BIN, headers=admin).status_code == 201
    moved = BIN | {"lon": 24.96, "lat": 60.19}
    assert client.put("/bins/b1", json=moved, headers=admin).status_code == 200
    assert client.put("/bins/b1", json=moved, headers=admin).status_code == 200
    bigger = moved | {"capacity_l": 660}
    assert client.put("/bins/b1", json=bigger, headers=admin).status_code == 200
    assert client.delete("/bins/b1", headers=admin).status_code == 204
    rows = _changes(client, admin)
    assert _short(rows) == [
        ("bins", "b1", "deleted", []),
        ("bins", "b1", "changed", ["capacity_l"]),
        ("bins", "b1", "changed", ["lat", "lon"]),
        ("bins", "b1", "created", []),
    ]
    assert [c["key_name"] for c in rows] == ["admin key"] * 4
    assert rows[0]["key_id"] == admin["X-API-Key"].split("_")[1]
    assert [c["id"] for c in rows] == sorted((c["id"] for c in rows), reverse=True)


def test_bulk_rows_and_csv_lines_are_logged_each_but_the_unchanged_and_the_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    """A bulk of three bins (one refused: no change), then the same two again with one
    resized (one change), then a CSV of one new bin and one unchanged (one change)."""
    bins = [BIN, BIN | {"bin_id": "b2"}, {"bin_id": "b3", "lon": 0.0}]
    r = client.post("/bins/bulk", json=bins, headers=admin)
    assert r.json()["stored"] == 2, r.text
    again = [BIN | {"capacity_l": 1100}, BIN | {"bin_id": "b2"}]
    assert client.post("/bins/bulk", json=again, headers=admin).json()["rejected"] == []
    text = "bin_id,lon,lat,capacity_l\nb2,24.95,60.18,240\nb4,24.97,60.18,240\n"
    csv = {**admin, "Content-Type": "text/csv"}
    r = client.post("/bins/import", content=text.encode(), headers=csv)
    assert r.json()["stored"] == 2, r.text
    assert _short(_changes(client, admin)) == [
        ("bins", "b4", "created", []),
        ("bins", "b1", "changed", ["capacity_l"]),
        ("bins", "b2", "created", []),
        ("bins", "b1", "created", []),
    ]


def test_refused_changes_are_not_logged(client: TestClient, admin: dict[str, str]) -> None:
    """A bin created twice (409), a truck at an unknown depot (422), a depot in use deleted
    (409), an unknown bin put (404): only the depot, the bin and the truck are logged."""
    assert client.post("/depots", json=DEPOT, headers=admin).status_code == 201
    assert client.post("/bins", json=BIN, headers=admin).status_code == 201
    assert client.post("/bins", json=BIN, headers=admin).status_code == 409
    truck = {"vehicle_id": "v1", "depot_id": "d9", "capacity_l": 20000, "capacity_kg": 8000}
    assert client.post("/vehicles", json=truck, headers=admin).status_code == 422
    truck["depot_id"] = "d1"
    assert client.post("/vehicles", json=truck, headers=admin).status_code == 201
    assert client.delete("/depots/d1", headers=admin).status_code == 409
    assert client.put("/bins/b9", json=BIN | {"bin_id": "b9"}, headers=admin).status_code == 404
    assert _short(_changes(client, admin)) == [
        ("vehicles", "v1", "created", []),
        ("bins", "b1", "created", []),
        ("depots", "d1", "created", []),
    ]


def test_changes_are_read_by_resource_ref_after_an_id_and_time(
    client: TestClient, admin: dict[str, str], runtime: Runtime
) -> None:
    """A page that showed the inventory as of change N asks for those after N; an
    engineer for a bin's history; the log by time; a viewer may read it; a key revoked
    since is still named (who made a change stays known)."""
    viewer = {"X-API-Key": issue_key(runtime.db, Role.VIEWER, "wall screen")}
    other = {"X-API-Key": issue_key(runtime.db, Role.DISPATCHER, "night shift")}
    assert client.post("/depots", json=DEPOT, headers=admin).status_code == 201
    assert client.post("/bins", json=BIN, headers=admin).status_code == 201
    seen = _changes(client, viewer, "?limit=1")[0]["id"]
    assert client.post("/bins", json=BIN | {"bin_id": "b2"}, headers=other).status_code == 201
    assert client.put("/depots/d1", json=DEPOT | {"lat": 60.2}, headers=other).status_code == 200
    after = _changes(client, viewer, f"?after={seen}")
    assert _short(after) == [("depots", "d1", "changed", ["lat"]), ("bins", "b2", "created", [])]
    assert {c["key_name"] for c in after} == {"night shift"}
    assert _short(_changes(client, viewer, "?resource=bins&ref=b2")) == [
        ("bins", "b2", "created", [])
    ]
    assert len(_changes(client, viewer, "?resource=depots")) == 2
    first = _changes(client, viewer)[-1]["at"].replace("+", "%2B")
    assert len(_changes(client, viewer, f"?until={first}")) == 0
    assert len(_changes(client, viewer, f"?since={first}")) == 4
    key_id = other["X-API-Key"].split("_")[1]
    assert client.delete(f"/keys/{key_id}", headers=admin).status_code == 204
    gone = _changes(client, viewer, "?resource=bins&ref=b2")[0]
    assert (gone["key_id"], gone["key_name"]) == (key_id, "night shift")


def test_a_bad_query_is_a_422_naming_the_parameter(
    client: TestClient, admin: dict[str, str]
) -> None:
    for query, loc in [
        ("?resource=trucks", "resource"),
        ("?after=-1", "after"),
        ("?since=2026-06-01T08:00:00", "since"),
        ("?limit=0", "limit"),
    ]:
        r = client.get(f"/inventory/changes{query}", headers=admin)
        assert r.status_code == 422, query
        assert r.json()["detail"][0]["loc"] == ["query", loc], r.text


def test_the_inventory_changes_benchmark_at_test_size() -> None:
    """``benchmarks.inventory_changes`` at test size: 20 bins, once each way: the runs
    with the log on logged 20 created and 20 moved, those with it off and the unchanged
    bulk nothing; a look with nothing new answered."""
    from benchmarks.inventory_changes import run

    out = run(20, 1)
    assert out["changes_logged"] == 40
    assert set(out) >= {"new_on_vs_off", "moved_on_vs_off", "unchanged_on_vs_off", "look_ms"}
