"""The dashboard's routes: page and static files (no key), the streets endpoint (viewer)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.dashboard.router import SCRIPTS, STATIC_TYPES, parse_bbox
from api.deps import get_routing
from api.errors import RecordError
from api.routing import Routing
from network.providers import HaversineProvider, StreetProvider
from network.streets import StreetNetwork
from tests.network.conftest import build_tiny_graph

AROUND_TINY_TOWN = "9.999,49.999,10.003,50.002"  # the tiny graph lies at lon 10.000..10.002


def test_page_needs_no_key_and_links_its_own_files(client: TestClient) -> None:
    r = client.get("/dashboard")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    loaded = [r.text.index(f'<script src="/dashboard/static/{name}">') for name in SCRIPTS]
    assert loaded == sorted(loaded)  # in order: each uses the globals of those before it
    assert "/dashboard/static/style.css" in r.text
    assert "(c) OpenStreetMap contributors" in r.text
    assert "http://" not in r.text and "https://" not in r.text  # no CDN, nothing external


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        *((name, "text/javascript") for name in SCRIPTS),
        ("style.css", "text/css"),
        ("index.html", "text/html"),
    ],
)
def test_static_files_have_their_content_type(client: TestClient, name: str, kind: str) -> None:
    r = client.get(f"/dashboard/static/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(kind)
    assert len(r.content) > 100


def test_script_fetches_tiles_only_from_osm() -> None:
    from importlib import resources

    static = resources.files("api.dashboard").joinpath("static")
    js = "".join(static.joinpath(name).read_text() for name in SCRIPTS)
    hosts = {part.split("/")[2] for part in js.split('"') if part.startswith("https://")}
    hosts |= {part.split("/")[2] for part in js.split("`") if part.startswith("https://")}
    assert hosts == {"tile.openstreetmap.org"}
    assert "tiles: false" in js  # tiles are off until the user switches them on


@pytest.mark.parametrize("name", ["missing.js", "..%2Fdb.py", "router.py"])
def test_unknown_static_file_is_404(client: TestClient, name: str) -> None:
    assert client.get(f"/dashboard/static/{name}").status_code == 404
    assert set(STATIC_TYPES) == {"index.html", "style.css", *SCRIPTS}


def test_streets_needs_a_reading_key(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    url = f"/dashboard/streets?bbox={AROUND_TINY_TOWN}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"X-API-Key": "nope"}).status_code == 401
    assert client.get(url, headers=keys["sensor"]).status_code == 403
    for role in ("viewer", "dispatcher", "admin"):
        assert client.get(url, headers=keys[role]).status_code == 200, role


def test_streets_are_empty_with_the_haversine_provider(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    body = client.get(f"/dashboard/streets?bbox={AROUND_TINY_TOWN}", headers=keys["viewer"]).json()
    assert body["lines"] == []
    assert "no street network" in body["note"]


def test_streets_come_from_the_street_network(
    app: FastAPI, client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    network = StreetNetwork.from_graph(build_tiny_graph())
    app.dependency_overrides[get_routing] = lambda: Routing.static(StreetProvider(network))
    body = client.get(f"/dashboard/streets?bbox={AROUND_TINY_TOWN}", headers=keys["viewer"]).json()
    expected = network.street_lines(bbox=parse_bbox(AROUND_TINY_TOWN))
    assert len(body["lines"]) == len(expected) > 0
    for line in body["lines"]:
        for lon, lat in line:
            assert 9.999 <= lon <= 10.003 and 49.999 <= lat <= 50.002
    far = client.get("/dashboard/streets?bbox=24.9,60.1,24.95,60.2", headers=keys["viewer"])
    assert far.json()["lines"] == []


@pytest.mark.parametrize(
    "bbox", ["1,2,3", "a,b,c,d", "10,50,9,51", "0,0,5,5", "nan,1,2,3", "-200,0,1,1"]
)
def test_bad_bbox_is_422_naming_the_field(
    client: TestClient, keys: dict[str, dict[str, str]], bbox: str
) -> None:
    r = client.get(f"/dashboard/streets?bbox={bbox}", headers=keys["viewer"])
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "bbox"


def test_parse_bbox_orders_lon_lat() -> None:
    assert parse_bbox("24.9,60.1,24.95,60.2") == (24.9, 60.1, 24.95, 60.2)
    with pytest.raises(RecordError, match="min_lon,min_lat,max_lon,max_lat"):
        parse_bbox("")


def test_dashboard_is_not_in_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/dashboard/streets" in paths
    assert "/dashboard" not in paths


def test_routing_static_without_street_network_is_haversine_like() -> None:
    from api.dashboard.router import street_lines

    lines, note = street_lines(Routing.static(HaversineProvider()), (0.0, 0.0, 1.0, 1.0))
    assert lines == [] and "no street network" in note


def test_page_has_a_line_for_the_last_nightly_run_read_from_health(client: TestClient) -> None:
    """The header's nightly line reads GET /health (no key: shown before one is typed, and
    a 503 of a stopped scheduler has the same body) for the run's day, time and error."""
    from importlib import resources

    assert 'id="nightly"' in client.get("/dashboard").text
    static = resources.files("api.dashboard").joinpath("static")
    js = "".join(static.joinpath(name).read_text() for name in SCRIPTS)
    assert 'fetch("/health")' in js
    for field in ("last_nightly_run", "started_at", "plan_date", "scheduler_problem"):
        assert f".{field}" in js, field


@pytest.mark.parametrize("path", ["/dashboard", *(f"/dashboard/static/{n}" for n in SCRIPTS)])
def test_the_page_may_not_be_framed_nor_run_other_scripts(client: TestClient, path: str) -> None:
    """Its buttons post with the key it keeps (done, missed, dismiss, raise an alert): another
    site framing it could have a dispatcher click them unseen (clickjacking). Only its own
    script runs: no inline or injected one."""
    headers = client.get(path).headers
    assert headers["x-frame-options"] == "DENY"
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert headers["x-content-type-options"] == "nosniff"
