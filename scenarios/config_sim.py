"""A scenario file's ``[sim]`` table read and checked (:mod:`scenarios.config` puts it with
the others): ``fleet.simulate.SimConfig`` values the scenarios' simulator can use, each
wrong one a :class:`ScenarioError` naming the file and the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from fleet.errors import FleetDataError
from fleet.simulate import SimConfig
from scenarios.config_model import ScenarioError
from scenarios.config_values import _like

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
# the most each rate and spread may be: far past any city's bins, and below where the
# simulator's numbers overflow or turn to NaN (fill rates x 1e300, a log-normal of sigma 1e6)
SIM_MAX = {
    "rate_median_per_day": (24.0, "a bin filled once an hour"),
    "rate_sigma_log": (3.0, "bins' fill rates spread x20 and more"),
    "weekday_jitter": (10.0, "weekday factors spread 10-fold"),
    "step_cv": (10.0, "hourly fill steps spread 10-fold"),
    "events_per_day": (24.0, "an event an hour in every bin"),
    "noise_sd": (1.0, "sensor noise of a whole bin"),
    "density_factor": (100.0, "bins 100 times denser than planned"),
    "density_sigma_log": (3.0, "bins' densities spread x20 and more"),
}
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
    rates and spreads at most ``SIM_MAX`` (far past a city's bins; beyond, the simulator's
    numbers overflow), fractions, probabilities and shares in [0, 1], the weekday pattern
    7 numbers in 0..1000 (relative), and the grid hourly (``step_h`` = 1).
    """

    def bad(key: str, need: str) -> ScenarioError:
        return ScenarioError(f"{where}: sim.{key} must be {need}, got {getattr(sim, key)!r}")

    if sim.step_h != 1.0:
        raise bad("step_h", "1.0 (the scenarios' simulator steps hourly; leave it out)")
    out = _sim_out_of_range(sim)
    if out is not None:
        raise bad(*out)
    if sim.event_min > sim.event_max:
        raise bad("event_min", f"<= sim.event_max ({sim.event_max})")
    if not all(math.isfinite(v) and 0 <= v <= 1000 for v in sim.weekday_pattern):
        raise bad("weekday_pattern", "7 numbers in 0..1000 (Mon..Sun, relative to each other)")


def _sim_out_of_range(sim: SimConfig) -> tuple[str, str] | None:
    """The first ``[sim]`` rate, time, spread, fraction or share out of its range, and what
    it must be; None when all are in range."""
    for key in _SIM_POSITIVE:
        if not (math.isfinite(getattr(sim, key)) and getattr(sim, key) > 0):
            return key, "finite and > 0"
    for key in _SIM_NON_NEGATIVE:
        if not (math.isfinite(getattr(sim, key)) and getattr(sim, key) >= 0):
            return key, "finite and >= 0"
    for key, (most, what) in SIM_MAX.items():
        if getattr(sim, key) > most:
            return key, f"<= {most:g} (that is already {what})"
    for key in _SIM_FRACTIONS:
        if not 0.0 <= getattr(sim, key) <= 1.0:
            return key, "in [0, 1]"
    return None


def read_sim(data: Mapping[str, Any], where: str) -> SimConfig:
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
