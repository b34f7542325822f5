"""Evaluate the fill forecaster on held-back days of simulated data, against a naive baseline.

The simulation runs ``days`` days; collections stop at ``days - holdout`` (the fit time
``now``), so the held-back days show each bin's uninterrupted fill. Both forecasters see the
readings (and, for ours, the citizen reports) up to ``now``:

* ours: :func:`fleet.fill.estimate_models`;
* naive: the slope between a bin's last two readings (>= 0) from its last reading;
* cycle: the mean slope of the current fill cycle (first to last reading after the last
  drop of more than 0.3; no spike handling) from its last reading.

Metrics, over bins with a sensor:

* ``fill_mae``: mean absolute error of the predicted fill, fraction points, at each horizon
  (hours after ``now``); predicted and true fills are both capped at 1.5 (overflow beyond
  half a bin is "very full" for any purpose).
* ``overflow_day_mae``: mean absolute error, in days, of the predicted time the fill reaches
  1.0, over bins not already full at ``now`` where the truth or the prediction falls in the
  held-back window; a time outside the window counts as the window end.
* ``band_coverage`` (ours): share of true fills inside the forecast band.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import numpy as np
from numpy.typing import NDArray

from fleet.fill import FillConfig, estimate_models
from fleet.forecast import FillModel
from fleet.models import Bin, FillReading
from fleet.simulate import SimConfig, SimulatedHistory, simulate_history

FILL_CAP = 1.5
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class MethodScores:
    """Errors of one forecaster: fill MAE per horizon (hours -> fraction) and overflow MAE."""

    fill_mae: dict[float, float]
    overflow_day_mae: float
    band_coverage: dict[float, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Scores of our forecaster and of the baselines on the same simulated run.

    ``naive`` is the last-rate baseline; ``cycle`` a simple non-robust one: the mean rate
    from the first to the last reading of the current fill cycle (cycles split at drops
    greater than 0.3), from the last reading.
    """

    ours: MethodScores
    naive: MethodScores
    cycle: MethodScores
    n_bins: int
    n_overflow_cases: int
    fit_s: float


def grid_bins(
    n: int, *, seed: int = 0, sensor_share: float = 1.0, streets: int = 20
) -> tuple[Bin, ...]:
    """``n`` bins around Heidelberg (lon, lat), ``streets`` street names, seeded."""
    rng = np.random.default_rng(seed)
    lons = 8.67 + 0.03 * rng.random(n)
    lats = 49.40 + 0.02 * rng.random(n)
    return tuple(
        Bin(
            bin_id=f"b{i}",
            lon=float(lons[i]),
            lat=float(lats[i]),
            capacity_l=1100,
            has_sensor=bool(rng.random() < sensor_share),
            street=f"street {i % streets}",
        )
        for i in range(n)
    )


Linear = dict[str, tuple[datetime, float, float]]


def _per_bin(readings: Sequence[FillReading]) -> dict[str, list[FillReading]]:
    per: dict[str, list[FillReading]] = defaultdict(list)
    for r in readings:
        per[r.bin_id].append(r)
    for rs in per.values():
        rs.sort(key=lambda r: r.at)
    return per


def _slope(a: FillReading, b: FillReading) -> float:
    dt = (b.at - a.at).total_seconds() / 3600.0
    return max((b.fill_fraction - a.fill_fraction) / dt, 0.0) if dt > 0 else 0.0


def _known_reset(out: Linear, emptied: Mapping[str, datetime]) -> Linear:
    """A known collection after the last reading: (collection time, 0.0, same rate)."""
    for bid, (at, _, rate) in list(out.items()):
        if bid in emptied and emptied[bid] > at:
            out[bid] = (emptied[bid], 0.0, rate)
    return out


def naive_last_rate(readings: Sequence[FillReading], emptied: Mapping[str, datetime]) -> Linear:
    """Per bin: (last time, last fill, rate per hour >= 0 between the last two readings)."""
    out: Linear = {}
    for bid, rs in _per_bin(readings).items():
        rate = _slope(rs[-2], rs[-1]) if len(rs) >= 2 else 0.0
        out[bid] = (rs[-1].at, rs[-1].fill_fraction, rate)
    return _known_reset(out, emptied)


def cycle_mean_rate(readings: Sequence[FillReading], emptied: Mapping[str, datetime]) -> Linear:
    """Per bin: (last time, last fill, mean rate >= 0 over the current fill cycle)."""
    out: Linear = {}
    for bid, rs in _per_bin(readings).items():
        y = np.array([r.fill_fraction for r in rs])
        drops = np.flatnonzero(np.diff(y) < -0.3)
        first = int(drops[-1]) + 1 if drops.size else 0
        rate = _slope(rs[first], rs[-1]) if len(rs) - first >= 2 else 0.0
        out[bid] = (rs[-1].at, rs[-1].fill_fraction, rate)
    return _known_reset(out, emptied)


def evaluate_forecaster(
    *,
    n_bins: int = 300,
    days: int = 21,
    holdout: int = 3,
    seed: int = 0,
    sim: SimConfig | None = None,
    fill_config: FillConfig | None = None,
    start: datetime = datetime(2026, 11, 2, tzinfo=timezone(timedelta(hours=1))),
    known_collections: bool = True,
) -> Evaluation:
    """Simulate, fit on the first ``days - holdout`` days, score the held-back days.

    With ``known_collections`` all methods know when trucks emptied the bins (as a city
    does from its own plans): a collection after a bin's last reading resets it to 0.0.
    """
    now = start + timedelta(days=days - holdout)
    cfg = replace(sim or SimConfig(), collect_until=now)
    bins = grid_bins(n_bins, seed=seed)
    hist = simulate_history(bins, start=start, days=days, seed=seed, config=cfg)
    readings = hist.readings(until=now)
    emptied = hist.last_emptied(now) if known_collections else {}
    t0 = time.perf_counter()
    models = estimate_models(
        bins,
        readings,
        hist.reports_until(now),
        now=now,
        last_emptied=emptied if known_collections else None,  # {}: known, and none
        config=fill_config or FillConfig(),
    )
    fit_s = time.perf_counter() - t0
    naive = naive_last_rate(readings, emptied)
    cycle = cycle_mean_rate(readings, emptied)
    ids = [b.bin_id for b in bins if b.bin_id in naive]
    horizon_h = holdout * 24.0
    hours = np.array([h for h in (6.0, 24.0, 48.0, 72.0, 96.0) if h <= horizon_h])
    grid = np.arange(0.0, horizon_h + 0.25, 0.25)
    truth = _Truth(hist, ids, now, hours, grid)
    preds = {
        "ours": _model_predictions(models, ids, now, hours, horizon_h),
        "naive": _linear_predictions(naive, ids, now, hours, horizon_h),
        "cycle": _linear_predictions(cycle, ids, now, hours, horizon_h),
    }
    cases = truth.overflow_cases([p.overflow_h for p in preds.values()], horizon_h)
    scores = {k: _scores(p, truth, cases, hours) for k, p in preds.items()}
    return Evaluation(
        ours=scores["ours"],
        naive=scores["naive"],
        cycle=scores["cycle"],
        n_bins=len(ids),
        n_overflow_cases=int(cases.sum()),
        fit_s=fit_s,
    )


@dataclass(frozen=True, slots=True)
class _Predictions:
    fill: FloatArray  # (bins, horizons)
    overflow_h: FloatArray  # (bins,) hours after now, capped at the window end
    low: FloatArray | None = None
    high: FloatArray | None = None


class _Truth:
    """True fills at the horizons and true overflow times (hours after now)."""

    def __init__(
        self,
        hist: SimulatedHistory,
        ids: list[str],
        now: datetime,
        hours: FloatArray,
        grid: FloatArray,
    ) -> None:
        rows = np.array([hist.index[i] for i in ids], dtype=np.intp)
        now_h = hist.hours(now)
        self.fill = hist.true_fill_hours(now_h + hours)[rows]
        on_grid = hist.true_fill_hours(now_h + grid)[rows]
        self.full_now = on_grid[:, 0] >= 1.0
        hit = on_grid >= 1.0
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), grid.size - 1)
        self.overflow_h = np.where(hit.any(axis=1), grid[first], grid[-1])

    def overflow_cases(self, predicted: list[FloatArray], horizon_h: float) -> NDArray[np.bool_]:
        """Bins not full now whose true or any predicted overflow falls in the window."""
        inside = self.overflow_h < horizon_h
        for p in predicted:
            inside |= p < horizon_h
        out: NDArray[np.bool_] = inside & ~self.full_now
        return out


def _model_predictions(
    models: Mapping[str, FillModel],
    ids: list[str],
    now: datetime,
    hours: FloatArray,
    horizon_h: float,
) -> _Predictions:
    fill = np.zeros((len(ids), hours.size))
    low, high = np.zeros_like(fill), np.zeros_like(fill)
    over = np.zeros(len(ids))
    for r, bid in enumerate(ids):
        m = models[bid]
        for c, h in enumerate(hours):
            f = m.fill_at(now + timedelta(hours=float(h)))
            fill[r, c], low[r, c], high[r, c] = f.expected, f.low, f.high
        when = m.overflow_time(now, horizon_h=horizon_h)
        over[r] = horizon_h if when is None else (when - now).total_seconds() / 3600.0
    return _Predictions(fill, np.minimum(over, horizon_h), low, high)


def _linear_predictions(
    lin: Linear, ids: list[str], now: datetime, hours: FloatArray, horizon_h: float
) -> _Predictions:
    at = np.array([(lin[i][0] - now).total_seconds() / 3600.0 for i in ids])  # <= 0
    y = np.array([lin[i][1] for i in ids])
    rate = np.array([lin[i][2] for i in ids])
    fill = y[:, None] + rate[:, None] * (hours[None, :] - at[:, None])
    with np.errstate(divide="ignore"):
        cross = np.where(rate > 0, at + (1.0 - y) / np.where(rate > 0, rate, 1.0), np.inf)
    cross = np.where(y >= 1.0, 0.0, cross)
    return _Predictions(fill, np.clip(cross, 0.0, horizon_h))


def _scores(
    p: _Predictions, truth: _Truth, cases: NDArray[np.bool_], hours: FloatArray
) -> MethodScores:
    t = np.minimum(truth.fill, FILL_CAP)
    err = np.abs(np.minimum(p.fill, FILL_CAP) - t).mean(axis=0)
    over = (
        float(np.abs(p.overflow_h - truth.overflow_h)[cases].mean() / 24.0)
        if cases.any()
        else float("nan")
    )
    cover: dict[float, float] = {}
    if p.low is not None and p.high is not None:
        inside = (t >= np.minimum(p.low, FILL_CAP) - 1e-9) & (
            t <= np.minimum(p.high, FILL_CAP) + 1e-9
        )
        cover = {float(h): float(inside[:, c].mean()) for c, h in enumerate(hours)}
    return MethodScores({float(h): float(e) for h, e in zip(hours, err, strict=True)}, over, cover)
