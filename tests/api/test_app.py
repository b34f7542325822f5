"""The application as built by ``create_app``: its API documentation pages."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|\burl:\s*["']([^"']+)["']""")


def _assets(html: str) -> list[str]:
    """The scripts, styles, icons and the schema a documentation page loads."""
    return [a or b for a, b in ASSET.findall(html)]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_load_nothing_from_the_internet(client: TestClient, path: str) -> None:
    """FastAPI's pages loaded Swagger UI and ReDoc from cdn.jsdelivr.net (and fonts from
    Google): blank on a city's network without internet. Every file they load is served here."""
    page = client.get(path)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = _assets(page.text)
    assert any(a.endswith(".js") for a in assets), assets
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200 and r.content, asset


def test_the_docs_need_no_key_and_describe_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "binroute"
    assert "/plans" in schema["paths"]
    assert not [p for p in schema["paths"] if p.startswith("/static-offline-docs")]
