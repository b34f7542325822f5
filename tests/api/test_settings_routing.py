"""Settings validation and the lazy routing of the service."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.routing import Routing
from api.settings import Settings
from network.errors import NetworkError


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINROUTE_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("BINROUTE_NIGHTLY_CRON", "15 3 * * 1-5")
    monkeypatch.setenv("BINROUTE_TIMEZONE", "Europe/Lisbon")
    s = Settings()
    assert s.database_url == "sqlite:///elsewhere.db"
    assert s.nightly_cron == "15 3 * * 1-5"
    assert s.tz.key == "Europe/Lisbon"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("nightly_cron", "0 2 * *"),
        ("max_time_limit_s", 0),
        ("nightly_time_limit_s", 0),
        ("reroute_time_limit_s", 0),
        ("reroute_time_limit_s", 600),  # trucks on the road cannot wait ten minutes
    ],
)
def test_bad_settings_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})


def test_haversine_routing_needs_no_file() -> None:
    routing = Routing("haversine")
    matrix = routing.provider()([(24.94, 60.17), (24.95, 60.18)])
    assert matrix.duration_s[0, 1] > 0
    assert routing.geometry() is None


def test_missing_city_file_is_a_network_error(tmp_path: Path) -> None:
    routing = Routing(str(tmp_path / "nowhere.osm.pbf"))  # nothing is loaded until first use
    with pytest.raises(NetworkError, match="nowhere"):
        routing.provider()
