"""Sensors that read askew: the forecast policy with and without their correction.

``python -m benchmarks.askew_sensors [SCENARIO] [--share 0.2] [--fill -0.3]``

Runs the scenario's forecast policies twice on one city whose ``--share`` of sensor bins
read ``--fill`` off the true fill (``[sim] askew_share`` / ``askew_fill``): once as the
service plans (:func:`fleet.fill.sensor_offsets` corrects the sensors found reading off
their crews' fills), once taking every sensor at its word. Prints one JSON object: each
run's totals (km, truck-hours, overflow events and litres, mean fill at pickup) and how
many bins were found askew of those that are. Both runs share the seed: only the
correction differs (and the solver's wall-clock budget).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any
from unittest import mock

import numpy as np

import fleet.fill
from scenarios.config import ScenarioError, load_config, with_param
from scenarios.run import run_scenario

KEYS = ("km", "truck_hours", "overflow_events", "overflow_l", "mean_fill_at_pickup")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="helsinki_week")
    ap.add_argument("--share", type=float, default=0.2, help="askew share of sensor bins")
    ap.add_argument("--fill", type=float, default=-0.3, help="added to their readings")
    args = ap.parse_args(argv)
    try:  # checked as the scenario's own [sim] keys would be
        cfg = load_config(args.scenario)
        cfg = with_param(cfg, "sim.askew_share", args.share)
        cfg = with_param(cfg, "sim.askew_fill", args.fill)
    except ScenarioError as err:
        ap.error(str(err))
    cfg = replace(cfg, policies=tuple(p for p in cfg.policies if p.kind == "forecast"))
    if not cfg.policies:
        ap.error(f"{cfg.source}: no forecast policy to run with and without the correction")
    found: set[str] = set()
    real = fleet.fill.sensor_offsets

    def counted(*a: Any, **k: Any) -> Any:
        out = real(*a, **k)
        found.update(out)
        return out

    out: dict[str, Any] = {"scenario": cfg.name, "share": args.share, "fill": args.fill}
    with mock.patch("fleet.fill.sensor_offsets", counted):
        corrected = run_scenario(cfg)
    with mock.patch("fleet.fill.sensor_offsets", lambda *a, **k: {}):
        as_read = run_scenario(cfg)
    for name, result in (("corrected", corrected), ("as_read", as_read)):
        out[name] = {p.policy: {k: p.totals[k] for k in KEYS} for p in result.policies}
    askew = _askew_bins(cfg)
    out["askew_bins"] = len(askew)
    out["found_askew"] = len(found & askew)
    out["found_not_askew"] = len(found - askew)
    print(json.dumps(out))


def _askew_bins(cfg: Any) -> set[str]:
    """The bins whose sensors the scenario's city makes read askew (as CitySim draws them)."""
    from scenarios.city import build_city
    from scenarios.simulate import _askew

    bins = build_city(cfg).inventory.bins
    offsets = _askew(bins, np.random.default_rng([cfg.seed, 2]), cfg.sim)
    return {b.bin_id for b, off in zip(bins, offsets, strict=True) if off != 0.0}


if __name__ == "__main__":
    main()
