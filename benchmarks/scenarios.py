"""Policy comparison on a catalogue scenario against the issue's targets (Porto by default).

``python -m benchmarks.scenarios [porto_2000] [--days 7] [--settle-days 7] [--time-limit 40]
[--out DIR]``

Runs the scenario (its policies on the same city and seed), writes the usual outputs when
``--out`` is given, and prints one JSON object: the totals per policy and, for every
forecast policy against the first policy (the daily fixed schedule in ``porto_2000``), the
targets of issue 8: >= 35 % fewer km, >= 30 % fewer truck-hours, overflow events no higher,
mean true fill at pickup >= 70 %. Wall-clock times are reported as the share spent in the
solver (the rest is forecasting, simulation and bookkeeping), not as absolute targets.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from scenarios.config import ScenarioError, load_config, with_param
from scenarios.report import write_run
from scenarios.results import ScenarioResult
from scenarios.run import run_scenario

TARGETS = {"km_cut_pct": 35.0, "hours_cut_pct": 30.0, "mean_fill_at_pickup": 0.70}


def targets(
    result: ScenarioResult, base: str | None = None, cand: str | None = None
) -> dict[str, Any]:
    """The issue's targets for policy ``cand`` (default last) vs ``base`` (default first)."""
    b = result.policy(base) if base else result.policies[0]
    c = result.policy(cand) if cand else result.policies[-1]
    bt, ct = b.totals, c.totals

    def cut(key: str) -> float:
        return round(100.0 * (1.0 - ct[key] / bt[key]), 1) if bt[key] else math.nan

    out: dict[str, Any] = {
        "baseline": b.policy,
        "candidate": c.policy,
        "km_cut_pct": cut("km"),
        "hours_cut_pct": cut("truck_hours"),
        "overflow_events": [bt["overflow_events"], ct["overflow_events"]],
        "mean_fill_at_pickup": ct["mean_fill_at_pickup"],
    }
    out["met"] = {
        "km": out["km_cut_pct"] >= TARGETS["km_cut_pct"],
        "hours": out["hours_cut_pct"] >= TARGETS["hours_cut_pct"],
        "overflows": ct["overflow_events"] <= bt["overflow_events"],
        "fill": ct["mean_fill_at_pickup"] >= TARGETS["mean_fill_at_pickup"],
    }
    return out


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="porto_2000", help="file or catalogue name")
    ap.add_argument("--days", type=int, default=None, help="override the simulated days")
    ap.add_argument(
        "--settle-days", type=int, default=None, help="override the uncounted days per policy"
    )
    ap.add_argument("--time-limit", type=float, default=None, help="solver seconds per day")
    ap.add_argument("--out", type=Path, default=None, help="write tables and plots here")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.scenario)
        overrides = {
            "days": args.days,
            "settle_days": args.settle_days,
            "time_limit_s": args.time_limit,
        }
        for key, value in overrides.items():
            if value is not None:
                cfg = with_param(cfg, key, value)  # checked like the file's own values
    except ScenarioError as err:
        ap.error(str(err))
    result = run_scenario(cfg)
    if args.out is not None:
        write_run(result, args.out / cfg.name)
    solve_s = sum(r.solve_s for p in result.policies for r in p.days)  # settling days too
    doc = {
        "scenario": cfg.name,
        "n_bins": result.n_bins,
        "days": cfg.days,
        "settle_days": cfg.settle_days,
        "time_limit_s": cfg.time_limit_s,
        "wall_s": round(result.wall_s, 1),
        "solver_share_of_wall": round(solve_s / result.wall_s, 2) if result.wall_s else None,
        "totals": {p.policy: dict(p.totals) for p in result.policies},
        "targets": [
            targets(result, cand=p.policy) for p in result.policies if p.kind == "forecast"
        ],
    }
    print(json.dumps(doc, default=str))


if __name__ == "__main__":
    main()
