"""Seeded random scenario files: the catalogue's, one to three values changed to odd ones
(another type, out of range, huge, infinite, a key left out, a sweep of them). Each is
refused with an error naming the file, or runs (cut small: a few bins and days, straight
lines, short solves) and writes its outputs with every number finite. Marked ``fuzz``:
``BINROUTE_FUZZ_SEEDS=0-500``, never in ``make test`` (benchmarks/RESULTS.md, session 70).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import tomllib
import warnings
from dataclasses import fields
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from fleet.errors import FleetDataError
from fleet.policy import CollectionPolicy
from scenarios.config import catalog, config_from_dict
from scenarios.config_model import FleetConfig, ScenarioConfig, ScenarioError
from scenarios.config_sim import SIM_KEYS
from scenarios.config_values import _TOP_KEYS
from scenarios.report import write_run
from scenarios.run import run_scenario
from tests.fuzz import fuzz_seeds

NUMBERS: tuple[Any, ...] = (
    *(-1, 0, 1, 2, 7, 10**12, -(10**12), 0.5, -0.5, 1.5, 1e6, 1e308),
    *(float("nan"), float("inf"), float("-inf")),
)
OTHERS: tuple[Any, ...] = (
    *("abc", "", " ", "06:00", "24:00", "2026-02-30", "../x", "UTC", "haversine", "fixed"),
    *([], [1], [1, 2], ["06:00", "05:00"], ["06:00", "06:00"], ["00:00", "23:59"]),
    *({}, {"a": 1}, True, False, date(2026, 3, 29), time(6, 0)),
    *([0.1] * 7, [1, 2, 3, 4, 5, 6, -7], [24.9, 60.1, 24.8, 60.2], [24.9, 60.1, 25.0, 60.2]),
)
TOP = sorted(_TOP_KEYS - {"fleet", "sim", "policies", "sweep"})
FLEET = [f.name for f in fields(FleetConfig)]
POLICY = ["name", "kind", "every_k_days", "fill_threshold"]
POLICY += [f.name for f in fields(CollectionPolicy)]
SWEPT = (
    *("fleet.trucks", "sensor_share", "n_bins", "days", "tz", "seed", "time_limit_s"),
    *("fleet.capacity_l", "sim.noise_sd", "threshold.fill_threshold", "forecast.must_fill"),
    *("fixed.every_k_days", "fleet.shift", "provider", "city", "start", "nothing.x"),
)


def _change(data: dict[str, Any], rng: random.Random) -> None:
    """One value of scenario ``data`` changed to an odd one (mostly a number: most keys
    are numbers), or one key left out."""
    value = copy.deepcopy(rng.choice(NUMBERS if rng.random() < 0.7 else OTHERS))
    where = rng.choice(["top", "fleet", "sim", "policy", "sweep", "drop"])
    if where == "top":
        data[rng.choice(TOP)] = value
    elif where in ("fleet", "sim"):
        keys = FLEET if where == "fleet" else sorted(SIM_KEYS)
        data.setdefault(where, {})[rng.choice(keys)] = value
    elif where == "policy" and data.get("policies"):
        rng.choice(data["policies"])[rng.choice(POLICY)] = value
    elif where == "sweep":
        values = value if rng.random() < 0.3 else [value, copy.deepcopy(rng.choice(NUMBERS))]
        data.setdefault("sweep", {})[rng.choice(SWEPT)] = values
    else:
        table = rng.choice([data, data.get("fleet", {}), *data.get("policies", [])[:1]])
        if table:
            table.pop(rng.choice(sorted(table)))


def _cut_small(cfg: ScenarioConfig) -> ScenarioConfig:
    """``cfg`` run in seconds: at most 30 bins, 2 days (3 warming up, 1 settling), straight
    lines, 0.3 s solves, three policies and no sweep."""
    return dataclasses.replace(
        cfg,
        n_bins=min(cfg.n_bins, 30),
        days=min(cfg.days, 2),
        warmup_days=min(cfg.warmup_days, 3),
        settle_days=min(cfg.settle_days, 1),
        history_days=min(cfg.history_days, 7),
        provider="haversine",
        time_limit_s=min(cfg.time_limit_s, 0.3),
        policies=cfg.policies[:3],
        sweep=(),
    )


def _no_odd_number(text: str) -> None:
    """Raise when JSON ``text`` holds NaN or an infinity."""

    def odd(name: str) -> None:
        raise AssertionError(f"{name} in the outputs")

    json.loads(text, parse_constant=odd)


@pytest.mark.fuzz
@pytest.mark.parametrize("seed", fuzz_seeds())
def test_a_random_scenario_file_is_refused_by_name_or_runs(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    path = rng.choice(sorted(catalog().values()))
    data = tomllib.loads(path.read_text())
    for _ in range(rng.randint(1, 3)):
        _change(data, rng)
    try:
        cfg = config_from_dict(data, source=path.name)
    except ScenarioError as err:
        assert str(err).startswith(path.name), err
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an overflow, a NaN: a wrong number
        try:
            result = run_scenario(_cut_small(cfg))
        except (ScenarioError, FleetDataError) as err:  # e.g. a city file that is not there
            assert str(err).startswith(path.name), err
            return
    written = write_run(result, tmp_path / cfg.name)
    assert written
    _no_odd_number((tmp_path / cfg.name / "result.json").read_text())
