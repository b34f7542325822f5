"""Forecast benchmark: our fill forecaster against a naive last-rate baseline.

Run ``python -m benchmarks.forecast [--bins N --days D --holdout H --seed S]``. The run
simulates ``D`` days (:mod:`fleet.simulate`), fits on the first ``D - H`` days and scores the
held-back ``H`` days (:func:`fleet.evaluate.evaluate_forecaster`); it prints JSON with the
fill MAE (fraction points) per horizon and the overflow-time MAE (days) of our forecaster, the
naive last-rate baseline and a simple current-cycle mean-rate baseline, with the ratios
baseline / ours (> 1 means ours is better). Timings are informative only.
"""

from __future__ import annotations

import argparse
import json
import math
import time

from fleet.evaluate import evaluate_forecaster
from fleet.simulate import SimConfig


def _round(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def _compare(ours: float, naive: float, cycle: float) -> dict[str, float | None]:
    return {
        "ours": _round(ours),
        "naive": _round(naive),
        "cycle": _round(cycle),
        "naive_over_ours": _round(naive / ours) if ours > 0 else None,
        "cycle_over_ours": _round(cycle / ours) if ours > 0 else None,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark and print (and return) its JSON report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bins", type=int, default=1000)
    p.add_argument("--days", type=int, default=21)
    p.add_argument("--holdout", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reading-every-h", type=float, default=3.0)
    p.add_argument("--spike-prob", type=float, default=0.01)
    args = p.parse_args(argv)
    sim = SimConfig(reading_every_h=args.reading_every_h, spike_prob=args.spike_prob)
    t0 = time.perf_counter()
    ev = evaluate_forecaster(
        n_bins=args.bins, days=args.days, holdout=args.holdout, seed=args.seed, sim=sim
    )
    total_s = time.perf_counter() - t0
    report: dict[str, object] = {
        "params": vars(args),
        "bins_scored": ev.n_bins,
        "overflow_cases": ev.n_overflow_cases,
        "fill_mae_by_horizon_h": {
            str(int(h)): _compare(ev.ours.fill_mae[h], ev.naive.fill_mae[h], ev.cycle.fill_mae[h])
            for h in ev.ours.fill_mae
        },
        "overflow_day_mae": _compare(
            ev.ours.overflow_day_mae, ev.naive.overflow_day_mae, ev.cycle.overflow_day_mae
        ),
        "band_coverage_by_horizon_h": {
            str(int(h)): round(c, 3) for h, c in ev.ours.band_coverage.items()
        },
        "fit_s": round(ev.fit_s, 3),
        "total_s": round(total_s, 3),
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
