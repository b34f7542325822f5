"""Request limits: FastAPI reads and parses a JSON body before it checks the key, so a body
without a valid key is a 401 before it is read, and one over ``MAX_BODY_BYTES`` a 413, read
no further; a NUL character, which PostgreSQL text cannot hold, is a 422 naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.limits import MAX_BODY_BYTES
from tests.api.conftest import seed

JSON = {"content-type": "application/json"}


def _padded_array(size: int) -> bytes:
    """A valid JSON array of ``size`` bytes (``[`` blanks ``]``)."""
    return b"[" + b" " * (size - 2) + b"]"


def _chunks(size: int, chunk: int = 1_000_000) -> Iterator[bytes]:
    """``size`` bytes of a JSON array in chunks, sent without a Content-Length."""
    yield b"["
    left = size - 2
    while left > 0:
        yield b" " * min(chunk, left)
        left -= chunk
    yield b"]"


def test_a_declared_body_over_the_limit_is_413(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """Answered at once, not read (without a valid key: 401, before it too)."""
    headers = {**keys["sensor"], **JSON}
    resp = client.post("/readings", content=_padded_array(MAX_BODY_BYTES + 1), headers=headers)
    assert resp.status_code == 413
    assert "20 MB" in resp.json()["detail"]


def test_a_chunked_body_over_the_limit_is_413(client: TestClient, admin: dict[str, str]) -> None:
    """No Content-Length (chunked): counted as it comes, with a key too (not a 422 after
    reading it all)."""
    resp = client.post("/bins/bulk", content=_chunks(MAX_BODY_BYTES + 1), headers={**admin, **JSON})
    assert resp.status_code == 413
    assert "20 MB" in resp.json()["detail"]


def test_a_csv_import_over_the_limit_is_413(client: TestClient, admin: dict[str, str]) -> None:
    body = b"bin_id,lon,lat,capacity_l\n" + b"#" * MAX_BODY_BYTES
    resp = client.post("/bins/import", content=body, headers={**admin, "content-type": "text/csv"})
    assert resp.status_code == 413


def test_a_body_at_the_limit_is_read(client: TestClient, admin: dict[str, str]) -> None:
    """The limit itself is allowed: the body is parsed and validated (here: an empty list)."""
    resp = client.post(
        "/readings", content=_padded_array(MAX_BODY_BYTES), headers={**admin, **JSON}
    )
    assert resp.status_code == 422
    assert "at least 1 item" in resp.json()["detail"][0]["msg"]


# A NUL character: PostgreSQL text cannot hold one (psycopg: DataError, a 500 there)
TEXTS_WITH_NUL = [
    ("/depots", {"depot_id": "d9", "lon": 24.9, "lat": 60.2, "name": "a\x00b"}, "name"),
    ("/cities", {"city_id": "c9", "source": "a\x00.osm.pbf"}, "source"),
    (
        "/bins",
        {"bin_id": "b9", "lon": 24.9, "lat": 60.2, "capacity_l": 240, "street": "\x00"},
        "street",
    ),
    ("/reports", {"report_id": "r9", "at": "2026-11-24T19:00:00+02:00", "text": "a\x00"}, "text"),
    ("/alerts", {"bin_id": "b1", "note": "full\x00"}, "note"),
    ("/vehicles/v1/downtimes", {"reason": "hydraulics\x00"}, "reason"),
    ("/keys", {"role": "viewer", "name": "wall\x00screen"}, "name"),
]


@pytest.mark.parametrize(("path", "body", "field"), TEXTS_WITH_NUL)
def test_a_nul_character_in_a_text_is_422_naming_the_field(
    client: TestClient, admin: dict[str, str], path: str, body: dict[str, object], field: str
) -> None:
    seed(client, admin)
    resp = client.post(path, json=body, headers=admin)
    assert resp.status_code == 422, resp.text
    (error,) = resp.json()["detail"]
    assert error["loc"] == ["body", field]
    assert "NUL" in error["msg"] and "remove it" in error["msg"]


def test_a_nul_character_in_a_missed_visits_reason_is_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {
        "vehicle_id": "v1",
        "at": "2026-11-25T07:00:00+02:00",
        "kind": "visit_missed",
        "bin_id": "b1",
        "reason": "parked\x00car",
    }
    resp = client.post("/plans/1/progress", json=body, headers=admin)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "reason"]


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/bins/a%00b", "ident"),
        ("PUT", "/depots/a%00b", "ident"),
        ("DELETE", "/vehicles/a%00b", "ident"),
        ("GET", "/bins/a%00b/density", "bin_id"),
        ("GET", "/reports/a%00b", "report_id"),
        ("GET", "/vehicles/a%00b/downtimes", "vehicle_id"),
        ("DELETE", "/keys/a%00b", "key_id"),
        ("GET", "/readings?bin_id=a%00b", "bin_id"),
    ],
)
def test_a_nul_character_in_an_id_of_the_url_is_422(
    client: TestClient, admin: dict[str, str], method: str, path: str, field: str
) -> None:
    body = {"depot_id": "a", "lon": 24.9, "lat": 60.2} if method == "PUT" else None
    resp = client.request(method, path, json=body, headers=admin)
    assert resp.status_code == 422, resp.text
    error = resp.json()["detail"][0]
    assert error["loc"][1] == field
    assert "NUL" in error["msg"]


# PostgreSQL's integer (the tables' Integer ids): a larger id in the URL was a 500 there
BEYOND_INTEGER = 2**31


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", f"/plans/{BEYOND_INTEGER}", "plan_id"),
        ("GET", f"/plans/{BEYOND_INTEGER}/progress", "plan_id"),
        ("GET", f"/plans/{BEYOND_INTEGER}/gpx/v1", "plan_id"),
        ("GET", f"/plans/{BEYOND_INTEGER}/directions/v1", "plan_id"),
        ("GET", f"/plans/{BEYOND_INTEGER}/sheets", "plan_id"),
        ("GET", f"/alerts/{BEYOND_INTEGER}", "alert_id"),
        ("POST", f"/alerts/{BEYOND_INTEGER}/dismiss", "alert_id"),
        ("DELETE", f"/vehicles/v1/downtimes/{BEYOND_INTEGER}", "downtime_id"),
    ],
)
def test_an_id_beyond_the_databases_integers_is_422(
    client: TestClient, admin: dict[str, str], method: str, path: str, field: str
) -> None:
    resp = client.request(method, path, headers=admin)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"][0]["loc"] == ["path", field]


def test_the_largest_integer_id_is_looked_up(client: TestClient, admin: dict[str, str]) -> None:
    resp = client.get(f"/plans/{BEYOND_INTEGER - 1}", headers=admin)
    assert resp.status_code == 404


NOT_JSON = b'[{"bin_id": "b1", '  # cut short: a 422 once it is read


@pytest.mark.parametrize("key", [None, "br_0000_0000", "not-a-key"])
def test_a_body_without_a_valid_key_is_401_before_it_is_read(
    client: TestClient, key: str | None
) -> None:
    """FastAPI reads and parses a JSON body before it checks the key: any client could
    have the service parse 20 MB (a 20 MB array of empty arrays takes some 450 MB); the
    answer to a cut-short body was its JSON error, 422. Now the key comes first."""
    headers = {**JSON, **({} if key is None else {"X-API-Key": key})}
    resp = client.post("/readings", content=NOT_JSON, headers=headers)
    assert resp.status_code == 401, resp.text
    assert resp.headers["www-authenticate"] == "APIKey"


def test_a_body_with_a_revoked_key_is_401_before_it_is_read(
    client: TestClient, admin: dict[str, str], keys: dict[str, dict[str, str]]
) -> None:
    viewer = keys["viewer"]
    key_id = viewer["X-API-Key"].split("_")[1]
    assert client.delete(f"/keys/{key_id}", headers=admin).status_code == 204
    resp = client.put("/bins/b1", content=NOT_JSON, headers={**viewer, **JSON})
    assert resp.status_code == 401
    assert resp.json()["detail"] == "unknown or revoked API key"


def test_a_body_with_a_valid_key_is_read(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """Read, then answered as before: its JSON error, or the role's 403."""
    resp = client.post("/readings", content=NOT_JSON, headers={**keys["sensor"], **JSON})
    assert resp.status_code == 422
    good = client.post(
        "/bins",
        json={"bin_id": "b9", "lon": 24.9, "lat": 60.1, "capacity_l": 240},
        headers=keys["sensor"],
    )
    assert good.status_code == 403
