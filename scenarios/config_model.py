"""What a scenario file holds (:class:`ScenarioConfig`, its :class:`FleetConfig` and
:class:`PolicyConfig`), and :class:`ScenarioError`, which every wrong value raises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fleet.errors import FleetDataError
from fleet.models import MAX_COST, TimeWindow, check_break
from fleet.policy import CollectionPolicy
from fleet.simulate import SimConfig
from network.speeds import (
    TRUCK_AXLE_LOAD_KG,
    TRUCK_HEIGHT_M,
    TRUCK_LENGTH_M,
    TRUCK_SIZES,
    TRUCK_WEIGHT_KG,
    TRUCK_WIDTH_M,
    GraphSettings,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
POLICY_KINDS = ("fixed", "threshold", "forecast")
PROVIDERS = ("street", "haversine")
SHARED_PREFIX = "../shared/data/"
# the most a scenario may ask for: far past a city's, and within what the simulator's
# arrays (bins x hours) and the solver hold on one machine
MAX_TRUCKS = 1000
MAX_BINS = 100_000
MAX_DAYS = 731  # days, warmup_days, settle_days and history_days: two years each
MAX_TIME_LIMIT_S = 3600.0  # the solver's budget per day and policy: an hour


class ScenarioError(ValueError):
    """A scenario file is wrong: the message names the file, the key and the fix."""


def shared_data_dir() -> Path:
    """``$BINROUTE_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("BINROUTE_SHARED_DATA")
    return Path(env) if env else (REPO_ROOT / ".." / "shared" / "data").resolve()


def _clock(value: Any, where: str) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(f'{where}: {value!r} is not a clock time like "06:00"') from None


def _window(value: Any, where: str) -> tuple[time, time]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ScenarioError(f'{where}: give [start, end] clock times, e.g. ["06:00", "14:00"]')
    start, end = _clock(value[0], where), _clock(value[1], where)
    if end <= start:
        raise ScenarioError(f"{where}: must end after it starts, got {start} - {end}")
    return start, end


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetConfig:
    """Identical trucks of the scenario (litres are loose bin volume per load; the trucks'
    height in metres and loaded weight in kg decide which streets they drive)."""

    trucks: int = 3
    crane_trucks: int = 0
    capacity_l: int = 40_000
    capacity_kg: int = 8_000
    shift: tuple[time, time] = (time(6, 0), time(14, 0))
    break_s: int = 1800
    break_window: tuple[time, time] = (time(10, 0), time(11, 30))
    cost_per_km: float = 1.2
    cost_per_hour: float = 40.0
    fixed_cost: float = 50.0
    unload_s: int = 900
    truck_height_m: float = TRUCK_HEIGHT_M
    truck_weight_kg: float = TRUCK_WEIGHT_KG
    truck_width_m: float = TRUCK_WIDTH_M
    truck_length_m: float = TRUCK_LENGTH_M
    truck_axle_load_kg: float = TRUCK_AXLE_LOAD_KG

    def graph_settings(self) -> GraphSettings:
        """How the city's streets are read for these trucks (:class:`GraphSettings`).

        Raises
        ------
        ValueError
            A size or weight no road vehicle has (the message names the key).
        """
        return GraphSettings(**{key: getattr(self, key) for key in TRUCK_SIZES})

    def check(self, where: str) -> None:
        """Raise :class:`ScenarioError` for impossible values."""
        if not 1 <= self.trucks <= MAX_TRUCKS:
            raise ScenarioError(
                f"{where}: fleet.trucks must be in 1..{MAX_TRUCKS}, got {self.trucks}"
            )
        if not 0 <= self.crane_trucks <= self.trucks:
            raise ScenarioError(
                f"{where}: fleet.crane_trucks must be in [0, fleet.trucks = {self.trucks}], got "
                f"{self.crane_trucks}"
            )
        if self.capacity_l <= 0 or self.capacity_kg <= 0:
            raise ScenarioError(f"{where}: fleet.capacity_l and fleet.capacity_kg must be > 0")
        if self.break_s < 0 or self.unload_s < 0:
            raise ScenarioError(f"{where}: fleet.break_s and fleet.unload_s must be >= 0")
        try:
            check_break(
                "fleet", TimeWindow(*self.shift), self.break_s, TimeWindow(*self.break_window)
            )
        except FleetDataError as err:
            raise ScenarioError(f"{where}: {err}") from None
        for key in ("cost_per_km", "cost_per_hour", "fixed_cost"):
            value = getattr(self, key)
            if not 0 <= value <= MAX_COST:
                raise ScenarioError(
                    f"{where}: fleet.{key} must be in 0..{MAX_COST:g} (currency units), got {value}"
                )
        try:
            self.graph_settings()
        except ValueError as err:
            raise ScenarioError(f"{where}: fleet.{err}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyConfig:
    """One collection policy to simulate.

    Attributes
    ----------
    name : str
        Label in tables and plots (default: the kind plus its main parameter).
    kind : {"fixed", "threshold", "forecast"}
        Fixed schedule, fill threshold, or forecast + prize-collecting routing.
    every_k_days : int
        Fixed: each bin every k days (bins phased evenly). Threshold: the schedule of the
        bins without a sensor.
    fill_threshold : float
        Threshold: collect a sensor bin whose last reading is at least this fraction, in
        (0, 1] (a sensor reads at most 1.0).
    collection : CollectionPolicy
        Forecast: the thresholds and prizes of ``fleet.policy``.
    """

    name: str
    kind: str
    every_k_days: int = 2
    fill_threshold: float = 0.7
    collection: CollectionPolicy = field(default_factory=CollectionPolicy)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioConfig:
    """A scenario: city, bins, sensors, period, fleet, policies and sweeps.

    ``days`` are compared, from ``start``; ``warmup_days`` of history (a fixed
    every-``warmup_every_k_days`` schedule, identical for every policy) come first so that
    forecasts have readings. Between the two, each policy runs ``settle_days`` days that are
    planned and simulated but not counted: the warm-up's last collection empties every bin
    at once, so a new policy's first days are lighter than its usual ones.
    """

    name: str
    city: str = "helsinki"
    tz: str = "Europe/Helsinki"
    n_bins: int = 80
    sensor_share: float = 0.8
    crane_share: float = 0.0
    warmup_days: int = 10
    warmup_every_k_days: int = 3
    settle_days: int = 0
    days: int = 7
    start: date = date(2026, 11, 2)
    seed: int = 1
    time_limit_s: float = 5.0
    provider: str = "street"
    history_days: int = 14
    area: tuple[float, float, float, float] | None = None
    turn_restrictions: bool = True
    local_access: bool = True
    u_turns: bool = True
    street_hours: bool = True
    fleet: FleetConfig = field(default_factory=FleetConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    policies: tuple[PolicyConfig, ...] = ()
    sweep: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    source: str = "<memory>"

    @property
    def zone(self) -> ZoneInfo:
        """The city's time zone."""
        return ZoneInfo(self.tz)

    def city_path(self) -> Path | None:
        """The city's .osm.pbf (None for the embedded Helsinki extract).

        Raises
        ------
        ScenarioError
            The file does not exist (names it).
        """
        if self.city.lower() == "helsinki":
            return None
        if self.city.startswith(SHARED_PREFIX):
            path = shared_data_dir() / self.city[len(SHARED_PREFIX) :]
        else:
            path = Path(self.city)
            path = path if path.is_absolute() else (REPO_ROOT / path)
        if not path.is_file():
            raise ScenarioError(
                f"{self.source}: city file {path} does not exist (key 'city' = {self.city!r}); "
                'put the .osm.pbf there, set BINROUTE_SHARED_DATA, or use city = "helsinki"'
            )
        return path

    def graph_settings(self) -> GraphSettings:
        """How the city's streets are read: for the fleet's trucks (:meth:`FleetConfig.
        graph_settings`), with the scenario's street rules (``turn_restrictions``,
        ``local_access``, ``u_turns``, ``street_hours``)."""
        return replace(
            self.fleet.graph_settings(),
            turn_restrictions=self.turn_restrictions,
            local_access=self.local_access,
            u_turns=self.u_turns,
            street_hours=self.street_hours,
        )

    def policy(self, name: str) -> PolicyConfig:
        """The policy called ``name``."""
        for p in self.policies:
            if p.name == name:
                return p
        raise ScenarioError(f"{self.source}: no policy named {name!r}")
