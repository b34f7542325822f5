"""A scenario file's tables read and checked value by value (:mod:`scenarios.config` puts
them together): each wrong value a :class:`ScenarioError` naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fleet.errors import FleetDataError
from fleet.policy import CollectionPolicy
from network.speeds import (
    TRUCK_SIZES,
)
from scenarios.config_model import (
    MAX_BINS,
    MAX_DAYS,
    MAX_TIME_LIMIT_S,
    POLICY_KINDS,
    PROVIDERS,
    FleetConfig,
    PolicyConfig,
    ScenarioConfig,
    ScenarioError,
    _window,
)

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
    if not 1 <= cfg.n_bins <= MAX_BINS:
        raise ScenarioError(f"{where}: key 'n_bins' must be in 1..{MAX_BINS}, got {cfg.n_bins}")
    for key in ("sensor_share", "crane_share"):
        if not 0.0 <= getattr(cfg, key) <= 1.0:
            raise ScenarioError(f"{where}: key {key!r} must be in [0, 1], got {getattr(cfg, key)}")
    if not all(1 <= n <= MAX_DAYS for n in (cfg.days, cfg.warmup_days, cfg.history_days)):
        raise ScenarioError(
            f"{where}: keys 'days', 'warmup_days', 'history_days' must be in 1..{MAX_DAYS}, "
            f"got {cfg.days}, {cfg.warmup_days}, {cfg.history_days}"
        )
    if cfg.warmup_every_k_days < 1:
        raise ScenarioError(f"{where}: key 'warmup_every_k_days' must be >= 1")
    if cfg.seed < 0:
        raise ScenarioError(
            f"{where}: key 'seed' must be a whole number >= 0 (the random generator takes no "
            f"negative seed), got {cfg.seed}"
        )
    if not 0 <= cfg.settle_days <= MAX_DAYS:
        raise ScenarioError(
            f"{where}: key 'settle_days' must be in 0..{MAX_DAYS}, got {cfg.settle_days}"
        )
    if not 0 < cfg.time_limit_s <= MAX_TIME_LIMIT_S:
        raise ScenarioError(
            f"{where}: key 'time_limit_s' must be a finite number of seconds > 0 and <= "
            f"{MAX_TIME_LIMIT_S:g} (an hour per day and policy), got {cfg.time_limit_s}"
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
