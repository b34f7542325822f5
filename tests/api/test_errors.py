"""Bodies FastAPI cannot read as JSON: a 422 naming the fix, not a bare 400 or a schema
message about a dictionary."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

BIN = '{"bin_id": "b9", "lon": 24.9, "lat": 60.1, "capacity_l": 240, "street": "Mäkelänkatu"}'
READING = '[{"bin_id": "b1", "at": "2026-11-24T07:00:00+02:00", "fill_fraction": 0.3}]'


@pytest.mark.parametrize(("path", "body"), [("/bins", BIN), ("/bins/bulk", f"[{BIN}]")])
def test_a_json_body_not_in_utf8_is_422_saying_so(
    client: TestClient, admin: dict[str, str], path: str, body: str
) -> None:
    """A street name sent in Latin-1 (a Windows system's export): FastAPI's answer was a
    400 'There was an error parsing the body', naming neither the byte nor the fix."""
    headers = {**admin, "content-type": "application/json"}
    resp = client.post(path, content=body.encode("latin-1"), headers=headers)
    assert resp.status_code == 422
    (error,) = resp.json()["detail"]
    assert error["loc"] == ["body"]
    assert "not UTF-8" in error["msg"] and "0xe4" in error["msg"]


def test_json_nested_too_deep_is_422_saying_so(client: TestClient, admin: dict[str, str]) -> None:
    headers = {**admin, "content-type": "application/json"}
    resp = client.post("/readings", content="[" * 5000 + "]" * 5000, headers=headers)
    assert resp.status_code == 422
    assert "nested" in resp.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("/readings", READING, None),
        ("/readings", READING, "application/x-www-form-urlencoded"),  # curl -d
        ("/bins", BIN, "text/plain"),
    ],
)
def test_json_sent_without_its_content_type_is_422_naming_the_header(
    client: TestClient,
    admin: dict[str, str],
    path: str,
    body: str,
    content_type: str | None,
) -> None:
    """The body is not read as JSON then: the answer said 'Input should be a valid list' (or
    dictionary), as if the JSON itself were wrong."""
    headers = dict(admin) if content_type is None else {**admin, "content-type": content_type}
    resp = client.post(path, content=body.encode(), headers=headers)
    assert resp.status_code == 422
    (error,) = resp.json()["detail"]
    assert error["loc"] == ["body"]
    assert "Content-Type: application/json" in error["msg"]
    assert (content_type or "none") in error["msg"]
