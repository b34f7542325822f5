"""One sensor's fill rate (:func:`fit_bin`): spikes, level shifts, weekday rates, spread
and state from its readings, cut into fill cycles by :mod:`fleet.fill_cycles`. The steps are
described in :mod:`fleet.fill`; the settings are :class:`fleet.fill_config.FillConfig`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from fleet.errors import FleetDataError
from fleet.fill_config import FillConfig, FloatArray
from fleet.fill_cycles import (
    _STALE,
    _med,
    _robust_sd,
    _time_order,
    detect_emptyings,
    median_slope,
)
from fleet.forecast import (
    HOURS_PER_DAY,
    FillModel,
    offset_hours,
    utc_hours,
    week_axis,
    weekday_exposure,
)
from fleet.models import FillReading

SHIFT_MIN_READINGS = 2  # readings above a cycle's line, up to its end, that make a level shift
MAX_SHIFTS = 3  # level shifts split per fit (each split re-fits the spikes)
LONE_HIGH_WEIGHT = 0.5  # belief that a lone high last reading is waste added, not a spike


# ----------------------------------------------------------------------------- one sensor


@dataclass(frozen=True, slots=True)
class SensorFit:
    """Intermediate fit of one bin's readings (before weekday shrinkage).

    ``rate_d`` are per-weekday rates (fraction per hour, Mon..Sun) or None when the readings
    do not determine a rate; ``days_d`` the days of data per weekday.
    """

    bin_id: str
    x: FloatArray  # week-axis hours of the readings (local clock)
    y: FloatArray
    seg: NDArray[np.intp]  # cycle index per reading
    use: NDArray[np.bool_]  # kept, unsaturated readings (used for rates)
    spikes: NDArray[np.bool_]
    times: tuple[datetime, ...]
    emptyings: tuple[datetime, ...]
    rate_d: FloatArray | None
    days_d: FloatArray
    sigma: float
    seg_slopes: FloatArray
    above: NDArray[np.bool_]  # readings above their cycle's line

    @property
    def raw_factors(self) -> FloatArray | None:
        """Unshrunk weekday factors (mean 1), None without a positive rate."""
        if self.rate_d is None or float(self.rate_d.mean()) <= 0:
            return None
        out: FloatArray = self.rate_d / float(self.rate_d.mean())
        return out


def _spike_mask(
    x: FloatArray, y: FloatArray, seg: NDArray[np.intp], fit_ok: NDArray[np.bool_], cfg: FillConfig
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], list[float]]:
    """Flag spikes per cycle against a Theil–Sen line: (spikes, readings above the line,
    cycle slopes)."""
    spikes = np.zeros(x.size, dtype=bool)
    above = np.zeros(x.size, dtype=bool)
    slopes: list[float] = []
    for s in np.unique(seg):
        idx = np.flatnonzero((seg == s) & fit_ok)
        if idx.size < 3:
            continue
        slope = median_slope(x[idx], y[idx])
        inter = _med(y[idx] - slope * x[idx])
        r = y[idx] - (inter + slope * x[idx])
        bad = np.abs(r) > max(cfg.spike_k * _robust_sd(r), cfg.spike_min)
        spikes[idx[bad]] = True
        above[idx[r > 0]] = True
        good = idx[~bad]
        if good.size >= 3 and x[good[-1]] - x[good[0]] >= 12.0:
            slopes.append(median_slope(x[good], y[good]))
    return spikes, above, slopes


def _level_shifts(
    seg: NDArray[np.intp],
    fit_ok: NDArray[np.bool_],
    spikes: NDArray[np.bool_],
    above: NDArray[np.bool_],
) -> NDArray[np.intp]:
    """First readings of upward level shifts (waste added at once, an event: the bin stays
    up). Per cycle: the readings up to its end are all above the cycle's line (or spikes)
    and at least ``SHIFT_MIN_READINGS`` of them are high spikes; the shift starts at the
    first such spike."""
    out = []
    in_run = above | spikes  # a low spike inside a run does not end it
    for s in np.unique(seg):
        idx = np.flatnonzero((seg == s) & fit_ok)
        run = 0
        while run < idx.size and in_run[idx[idx.size - 1 - run]]:
            run += 1
        tail = idx[idx.size - run :]
        high = tail[spikes[tail] & above[tail]]
        if high.size >= SHIFT_MIN_READINGS and high[0] > idx[0]:
            out.append(int(high[0]))
    return np.asarray(out, dtype=np.intp)


def _joint_rates(
    x: FloatArray, y: FloatArray, seg: NDArray[np.intp], use: NDArray[np.bool_], r0: float
) -> tuple[FloatArray, FloatArray, float]:
    """Per-weekday rates by least squares with a free level per cycle; (rates, days, sigma)."""
    idx = np.flatnonzero(use)
    segs, inv = np.unique(seg[idx], return_inverse=True)
    first_x = np.array([x[idx][inv == k].min() for k in range(segs.size)])
    exposure = weekday_exposure(x[idx]) - weekday_exposure(first_x)[inv]
    onehot = np.zeros((idx.size, segs.size))
    onehot[np.arange(idx.size), inv] = 1.0
    design = np.hstack([onehot, exposure])
    ridge = np.hstack([np.zeros((7, segs.size)), 0.1 * HOURS_PER_DAY * np.eye(7)])
    a = np.vstack([design, ridge])
    b = np.concatenate([y[idx], 0.1 * HOURS_PER_DAY * np.full(7, r0)])
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    rates = np.maximum(sol[segs.size :], 0.0)
    last_x = np.array([x[idx][inv == k].max() for k in range(segs.size)])
    days = (weekday_exposure(last_x) - weekday_exposure(first_x)).sum(axis=0) / HOURS_PER_DAY
    resid = y[idx] - design @ sol
    return rates, days, _robust_sd(resid)


def _with_logged(
    emp: NDArray[np.intp], times: Sequence[datetime], emptied_at: Sequence[datetime]
) -> NDArray[np.intp]:
    """Cycle starts ``emp`` plus the first reading after each logged emptying (sorted)."""
    if not emptied_at:
        return emp
    ts = np.array([t.timestamp() for t in times])
    logged = np.searchsorted(ts, [t.timestamp() for t in emptied_at], side="right")
    logged = logged[(logged > 0) & (logged < ts.size)]
    out: NDArray[np.intp] = np.union1d(emp, logged).astype(np.intp)
    return out


def prepare_sensor_fit(
    bin_id: str,
    readings: Sequence[FillReading],
    cfg: FillConfig = FillConfig(),
    *,
    collections_known: bool = False,
    last_collection: datetime | None = None,
    emptied_at: Sequence[datetime] = (),
) -> SensorFit:
    """Detect emptyings and spikes and fit weekday rates for one bin (readings any order).

    With ``collections_known`` (the city logs its collections; ``last_collection`` is the
    last one, or None), a lone low *last* reading counts as an emptying only if
    ``last_collection`` falls between it and the reading before, or no more than
    ``STALE_AFTER_EMPTYING_H`` before that reading (which may still show the bin before the
    lift); otherwise it is a spike.
    ``emptied_at`` are logged collections (the trucks' pickups): each starts a new cycle at
    the first reading after it, however small the drop (a bin emptied at 20 % barely drops).
    """
    if not readings:
        raise FleetDataError(f"bin {bin_id!r}: no readings to fit; borrow a rate instead")
    rs = sorted(readings, key=_time_order)
    times = tuple(r.at for r in rs)
    y = np.array([r.fill_fraction for r in rs], dtype=float)
    utc = np.array([utc_hours(r.at) for r in rs], dtype=float)
    off = np.array([offset_hours(r.at) for r in rs], dtype=float)
    x = week_axis(utc, 0.0) + off
    emp = detect_emptyings(y, cfg.drop, cfg.empty_level)
    vetoed = False
    if collections_known and emp.size and emp[-1] == y.size - 1:
        lc = last_collection
        vetoed = lc is None or not (times[-2] - _STALE < lc <= times[-1])
        emp = emp[:-1] if vetoed else emp
    emp = _with_logged(emp, times, emptied_at)
    unsat = y < cfg.saturated
    starts = emp
    for _ in range(MAX_SHIFTS + 1):
        seg = np.searchsorted(starts, np.arange(y.size), side="right").astype(np.intp)
        spikes, above, slopes = _spike_mask(x, y, seg, unsat, cfg)
        shifts = _level_shifts(seg, unsat, spikes, above)
        if shifts.size == 0 or starts.size >= emp.size + MAX_SHIFTS:
            break
        starts = np.union1d(starts, shifts).astype(np.intp)
    spikes[-1] |= vetoed
    above[-1] &= not vetoed
    use = unsat & ~spikes
    seg_slopes = np.asarray([s for s in slopes if math.isfinite(s)], dtype=float)
    counts = np.bincount(seg[use], minlength=int(seg.max()) + 1 if seg.size else 0)
    rate_d: FloatArray | None = None
    days = np.zeros(7)
    sigma = cfg.sigma_floor
    if use.sum() >= cfg.min_points and (counts >= 2).any():
        r0 = float(np.median(seg_slopes)) if seg_slopes.size else 0.0
        if not seg_slopes.size:
            k = int(np.argmax(counts))
            r0 = median_slope(x[use & (seg == k)], y[use & (seg == k)])
        r0 = r0 if math.isfinite(r0) and r0 > 0 else 0.0
        rate_d, days, sd = _joint_rates(x, y, seg, use, r0)
        sigma = max(sd, cfg.sigma_floor)
    return SensorFit(
        bin_id,
        x,
        y,
        seg,
        use,
        spikes,
        times,
        tuple(times[i] for i in emp),
        rate_d,
        days,
        sigma,
        seg_slopes,
        above,
    )


def shrink_factors(
    raw: FloatArray, days: FloatArray, prior: FloatArray, shrink_days: float
) -> FloatArray:
    """Weekday factors shrunk toward ``prior`` by ``days / (days + shrink_days)``; mean 1."""
    w = days / (days + shrink_days) if shrink_days > 0 else np.ones(7)
    f = prior + (raw - prior) * w
    f = np.maximum(f, 0.0)
    mean = float(f.mean())
    out: FloatArray = f / mean if mean > 0 else np.ones(7)
    return out


def _anchor(
    fit: SensorFit, rate: float, factors: FloatArray, cfg: FillConfig
) -> tuple[datetime, float, float]:
    """Last known state (time, fill, sd) from the last cycle under the final rates.

    The level comes from the last 3 used readings of the last cycle (so that a slightly wrong
    rate matters little), extrapolated to the last non-spike reading. A lone last reading
    above the line (an event or a spike: one reading cannot tell) gives a state at that
    reading between the two, ``LONE_HIGH_WEIGHT`` of the way up, with the mixture's sd.
    """
    ok = np.flatnonzero(~fit.spikes)
    j = int(ok[-1]) if ok.size else fit.y.size - 1
    in_last = fit.seg == fit.seg[j]
    idx = np.flatnonzero(in_last & fit.use)[-3:]
    t_last = fit.times[j]
    if idx.size == 0:
        sat = np.flatnonzero(in_last & (fit.y >= cfg.saturated))
        if sat.size:
            return fit.times[int(sat[0])], 1.0, cfg.report_fill_sd
        return t_last, float(fit.y[j]), max(fit.sigma, cfg.sigma_floor)
    x0 = np.array([fit.x[idx[0]]])
    rates = rate * factors
    grow = (weekday_exposure(fit.x[idx]) - weekday_exposure(x0)) @ rates
    level = _med(fit.y[idx] - grow)
    at_last = (weekday_exposure(fit.x[j : j + 1]) - weekday_exposure(x0)) @ rates
    fill = max(level + float(at_last[0]), 0.0)
    if fit.y[j] >= cfg.saturated:
        fill = max(fill, 1.0)
    k = fit.y.size - 1
    if fit.above[k] and fit.spikes[k] and k > j and fit.seg[k] == fit.seg[j]:
        at_k = (weekday_exposure(fit.x[k:]) - weekday_exposure(x0)) @ rates
        trend = max(level + float(at_k[0]), 0.0)
        gap = float(fit.y[k]) - trend
        if gap > 0:
            w = LONE_HIGH_WEIGHT
            return fit.times[k], trend + w * gap, max(fit.sigma, gap * math.sqrt(w * (1 - w)))
    return t_last, fill, fit.sigma


def finish_sensor_fit(
    fit: SensorFit, prior: FloatArray | None = None, cfg: FillConfig = FillConfig()
) -> FillModel | None:
    """The :class:`FillModel` of a sensor fit (None when it has no rate)."""
    raw = fit.raw_factors
    if fit.rate_d is None:
        return None
    rate = float(fit.rate_d.mean())
    pri = np.ones(7) if prior is None else np.asarray(prior, dtype=float)
    factors = pri if raw is None else shrink_factors(raw, fit.days_d, pri, cfg.weekday_shrink_days)
    if fit.seg_slopes.size >= 2:
        rate_sd = _robust_sd(fit.seg_slopes)
    else:
        rate_sd = cfg.rate_sd_rel_single * rate
    rate_sd = max(rate_sd, cfg.rate_sd_rel_floor * rate)
    at, fill, sd = _anchor(fit, rate, factors, cfg)
    return FillModel(
        bin_id=fit.bin_id,
        anchor_at=at,
        anchor_fill=fill,
        anchor_sd=sd,
        rate_per_h=rate,
        rate_sd_per_h=rate_sd,
        weekday_factors=tuple(float(f) for f in factors),
        source="sensor",
        n_readings=int(fit.use.sum()),
        last_emptying_at=fit.emptyings[-1] if fit.emptyings else None,
        z=cfg.z,
    )


def fit_bin(
    bin_id: str, readings: Sequence[FillReading], cfg: FillConfig = FillConfig()
) -> FillModel | None:
    """Fit one bin from its own readings only (weekday factors shrunk toward 1)."""
    if not readings:
        return None
    return finish_sensor_fit(prepare_sensor_fit(bin_id, readings, cfg), None, cfg)
