"""Settings validation and the lazy routing of the service."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from api.routing import Routing
from api.settings import Settings, SettingsError, settings_from_env
from binroute.cli import app
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
        ("nightly_cron", "99 2 * * *"),  # five fields, but no minute 99
        ("city", "/nowhere/city.osm.pbf"),
        ("max_time_limit_s", 0),
        ("nightly_time_limit_s", 0),
        ("reroute_time_limit_s", 0),
        ("reroute_time_limit_s", 600),  # trucks on the road cannot wait ten minutes
        ("alert_response_min", -1),
        ("alert_response_min", 1441),  # a target past a day is none
    ],
)
def test_bad_settings_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})


def test_bad_environment_is_one_clear_error_naming_each_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BINROUTE_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("BINROUTE_NIGHTLY_CRON", "99 2 * * *")
    with pytest.raises(SettingsError) as err:
        settings_from_env()
    text = str(err.value)
    assert "BINROUTE_TIMEZONE: Value error, unknown time zone 'Mars/Olympus'" in text
    assert "BINROUTE_NIGHTLY_CRON: Value error, nightly_cron '99 2 * * *'" in text


def test_serve_with_a_bad_environment_exits_with_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BINROUTE_CITY", "/nowhere/city.osm.pbf")
    res = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert res.exit_code == 2
    assert "BINROUTE_CITY" in res.output and "is not a file" in res.output
    assert "Traceback" not in res.output


def test_haversine_routing_needs_no_file() -> None:
    routing = Routing("haversine")
    matrix = routing.provider()([(24.94, 60.17), (24.95, 60.18)])
    assert matrix.duration_s[0, 1] > 0
    assert routing.geometry() is None


def test_missing_city_file_is_a_network_error(tmp_path: Path) -> None:
    routing = Routing(str(tmp_path / "nowhere.osm.pbf"))  # nothing is loaded until first use
    with pytest.raises(NetworkError, match="nowhere"):
        routing.provider()
