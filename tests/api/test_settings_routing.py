"""Settings validation and the lazy routing of the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from api.app import create_app
from api.routing import Routing
from api.settings import Settings, SettingsError, settings_from_env
from binroute.cli import app
from network import GraphSettings, StreetNetwork
from network.errors import NetworkError
from tests.network.conftest import build_tiny_graph, grid


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
        ("max_snap_m", 0),  # places no bin
        ("max_snap_m", float("nan")),
        ("truck_height_m", 0),
        ("truck_height_m", 380),  # centimetres for metres
        ("truck_weight_kg", 26e6),  # grams for kilograms
        ("truck_width_m", 255),
        ("truck_length_m", 0),
        ("truck_axle_load_kg", float("inf")),
        ("language", "xx"),  # no drivers' words in it
        ("language", ""),
    ],
)
def test_bad_settings_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})  # type: ignore[arg-type]


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


def test_readings_kept_fewer_days_than_plans_read_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The nightly pruning must not delete readings plans read: 7 days kept of 14 read is
    an error naming both settings; 14 of 14, and 0 (keep them all), are taken."""
    monkeypatch.setenv("BINROUTE_READINGS_KEEP_DAYS", "7")
    with pytest.raises(SettingsError) as err:
        settings_from_env()
    assert str(err.value).startswith(
        "BINROUTE_READINGS_KEEP_DAYS: Value error, readings_keep_days 7 would delete readings "
        "plans read (the last 14 days, readings_history_days)"
    )
    for kept in ("14", "0"):
        monkeypatch.setenv("BINROUTE_READINGS_KEEP_DAYS", kept)
        assert settings_from_env().readings_keep_days == int(kept)


def test_a_misspelt_variable_is_an_error_naming_the_setting_meant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """BINROUTE_TIME_ZONE was ignored without a word: a Lisbon city planned in Helsinki's
    zone, its nightly run two hours early."""
    monkeypatch.setenv("BINROUTE_TIME_ZONE", "Europe/Lisbon")
    monkeypatch.setenv("BINROUTE_CACHE_DIR", "/tmp/graphs")  # the street-graph cache's
    with pytest.raises(SettingsError) as err:
        settings_from_env()
    assert str(err.value) == (
        "BINROUTE_TIME_ZONE: not a setting of the service; did you mean BINROUTE_TIMEZONE?"
    )


def test_serve_with_a_bad_environment_exits_with_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BINROUTE_CITY", "/nowhere/city.osm.pbf")
    res = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert res.exit_code == 2
    assert "BINROUTE_CITY" in res.output and "is not a file" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:////nowhere/binroute/binroute.db", "folder /nowhere/binroute does not exist"),
        ("/var/lib/binroute/binroute.db", "is not a database URL; e.g. 'sqlite:////var/lib"),
    ],
)
def test_a_database_url_that_cannot_be_opened_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, url: str, says: str
) -> None:
    """It was a traceback of SQLAlchemy's at the first connection ("unable to open
    database file", naming no path) from `binroute serve` and `binroute keys create`."""
    monkeypatch.setenv("BINROUTE_DATABASE_URL", url)
    res = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert res.exit_code == 2
    assert "BINROUTE_DATABASE_URL" in res.output and says in res.output
    assert "Traceback" not in res.output


def test_a_malformed_database_url_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A PostgreSQL URL with a slash missing: the error names the variable and the host, not
    the password (it went whole to stderr, the service's journal)."""
    url = "postgresql+psycopg:/binroute:S3cret:Pw@db.city.example/binroute"
    monkeypatch.setenv("BINROUTE_DATABASE_URL", url)
    res = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert res.exit_code == 2
    assert "BINROUTE_DATABASE_URL" in res.output and "is not a database URL" in res.output
    assert "'postgresql+psycopg:/***@db.city.example/binroute'" in res.output
    assert "S3cret" not in res.output and "Pw@" not in res.output


def test_haversine_routing_needs_no_file() -> None:
    routing = Routing("haversine")
    matrix = routing.provider()([(24.94, 60.17), (24.95, 60.18)])
    assert matrix.duration_s[0, 1] > 0
    assert routing.geometry() is None


def test_missing_city_file_is_a_network_error(tmp_path: Path) -> None:
    routing = Routing(str(tmp_path / "nowhere.osm.pbf"))  # nothing is loaded until first use
    with pytest.raises(NetworkError, match="nowhere"):
        routing.provider()


FAR = grid(1, -1.8)  # a bin about 200 m south of the six-node street town's bottom street


def _street_town_city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A city source file the service loads as the six-node street town (tests.network)."""
    city = tmp_path / "town.osm.pbf"
    city.write_bytes(b"")
    town = StreetNetwork.from_graph(build_tiny_graph())
    monkeypatch.setattr("network.graph.load_network", lambda path, **_: town)
    return str(city)


def test_the_service_snaps_bins_as_far_as_binroute_plan_unless_set_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bin about 200 m from every street: the service's routing refuses it by default, as
    ``binroute plan`` does (network.MAX_SNAP_M; the service took bins up to 250 m, the
    command 150 m), and takes it once ``BINROUTE_MAX_SNAP_M`` is raised past it."""
    city = _street_town_city(tmp_path, monkeypatch)
    monkeypatch.setenv("BINROUTE_CITY", city)
    monkeypatch.setenv("BINROUTE_DATABASE_URL", f"sqlite:///{tmp_path / 'binroute.db'}")
    away_m = StreetNetwork.from_graph(build_tiny_graph()).far_points([FAR], 0.0)[0]
    assert 150 < away_m < 250  # between the command's old default and the service's
    default = create_app(settings_from_env()).state.runtime.routing
    assert default.provider().far_points([FAR]) == {0: away_m}
    monkeypatch.setenv("BINROUTE_MAX_SNAP_M", str(away_m + 50))
    raised = create_app(settings_from_env()).state.runtime.routing
    assert raised.provider().far_points([FAR]) == {}


LOW_BRIDGE_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="50.000" lon="10.000" version="1"/>
  <node id="2" lat="50.000" lon="10.002" version="1"/>
  <node id="3" lat="50.001" lon="10.001" version="1"/>
  <way id="11" version="1"><nd ref="1"/><nd ref="2"/>
    <tag k="highway" v="residential"/><tag k="maxheight" v="3"/><tag k="maxweight" v="7.5"/></way>
  <way id="12" version="1"><nd ref="1"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="13" version="1"><nd ref="3"/><nd ref="2"/><tag k="highway" v="residential"/></way>
</osm>
"""


def test_the_service_reads_the_streets_for_its_trucks_height_and_weight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The street from 1 to 2 passes under a 3 m bridge limited to 7.5 t: the service's
    trucks (3.8 m, 26 t by default) go round by 3; a city of small trucks sets
    BINROUTE_TRUCK_HEIGHT_M and BINROUTE_TRUCK_WEIGHT_KG and drives under it."""
    city = tmp_path / "bridge.osm"
    city.write_text(LOW_BRIDGE_OSM)
    monkeypatch.setenv("BINROUTE_CITY", str(city))
    monkeypatch.setenv("BINROUTE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BINROUTE_DATABASE_URL", f"sqlite:///{tmp_path / 'binroute.db'}")
    ends = [(10.0, 50.0), (10.002, 50.0)]

    def metres() -> float:
        routing = create_app(settings_from_env()).state.runtime.routing
        return float(routing.provider()(ends).distance_m[0, 1])

    round_by_3 = metres()
    monkeypatch.setenv("BINROUTE_TRUCK_HEIGHT_M", "2.5")
    monkeypatch.setenv("BINROUTE_TRUCK_WEIGHT_KG", "3500")
    under = metres()
    assert 130 < under < 160 < round_by_3, (under, round_by_3)


def test_the_streets_are_read_for_every_truck_size_set() -> None:
    """Each BINROUTE_TRUCK_* size reaches the street reader's GraphSettings (the width,
    length and axle load were not read before), and so do BINROUTE_TURN_RESTRICTIONS,
    BINROUTE_LOCAL_ACCESS, BINROUTE_U_TURNS and BINROUTE_DRIVE_SIDE."""
    sizes: dict[str, Any] = {"truck_height_m": 2.5, "truck_weight_kg": 3500.0}
    sizes |= {"truck_width_m": 2.1}
    sizes |= {"truck_length_m": 6.5, "truck_axle_load_kg": 2000.0}
    assert Settings(**sizes).truck() == GraphSettings(**sizes)
    assert Settings().truck() == GraphSettings()
    rules: dict[str, Any] = {"turn_restrictions": False, "local_access": False}  # mapped wrong
    assert Settings(**rules).truck() == GraphSettings(**rules)
    assert Settings(drive_side="left").truck() == GraphSettings(drive_side="left")  # Hong Kong
    assert Settings(u_turns=False).truck() == GraphSettings(u_turns=False)
    assert Settings(street_hours=False).truck() == GraphSettings(street_hours=False)
