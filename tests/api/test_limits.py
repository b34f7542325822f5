"""Request size limit: a body over ``MAX_BODY_BYTES`` is a 413, read no further, with or
without a key (FastAPI reads and parses a JSON body before it checks the key)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from api.limits import MAX_BODY_BYTES

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


def test_a_declared_body_over_the_limit_is_413_without_a_key(client: TestClient) -> None:
    """Not a 401 after the whole body was read and parsed: an unauthenticated client could
    make the service hold any size in memory."""
    resp = client.post("/readings", content=_padded_array(MAX_BODY_BYTES + 1), headers=JSON)
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
