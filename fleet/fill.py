"""Fill-rate estimation: readings (and citizen reports) -> one :class:`FillModel` per bin.

For a bin with a sensor (readings sorted by time, tz-aware):

1. *Emptyings* are confirmed drops: reading ``i`` starts a new fill cycle when it and the
   median of readings ``i..i+2`` are more than ``drop`` below the (lower) median of the up
   to 3 readings before it, within the current cycle. A single low spike is therefore not an
   emptying; a lone low last reading counts only if it is below ``empty_level`` and, when
   the city's collection log is given (``last_emptied``), a logged collection falls between
   it and the reading before (otherwise it is treated as a spike). A reading up to
   ``STALE_AFTER_EMPTYING_H`` after a logged collection may still show the bin before the
   lift: the collection explains a low reading after it, and a state read then is reset.
2. *Spikes* are rejected per cycle: a Theil–Sen line (median of pairwise slopes) is fitted and
   readings further than ``max(spike_k * 1.4826 * MAD, spike_min)`` from it are dropped.
   Readings at/above ``saturated`` (the sensor sees a full bin) are not used for rates.
   *Level shifts* (waste dumped at once, an event): when the readings up to the end of a
   cycle all sit above its line and at least ``SHIFT_MIN_READINGS`` are high spikes, the
   cycle is split at the first of them (a new level, not an emptying) and spikes re-fitted.
3. *Rates*: one least-squares fit over all cycles with a free level per cycle and one rate
   per weekday (fill = level_cycle + sum_d rate_d * hours spent in weekday d). Gaps need no
   special care: the weekday exposure covers them. The weekday factors are shrunk toward a
   prior (the stream's pooled pattern, else 1) by ``days / (days + weekday_shrink_days)``.
4. *Spread*: ``sigma`` = robust (MAD) sd of the residuals; the rate sd from the spread of the
   per-cycle Theil–Sen slopes (at least ``rate_sd_rel_floor`` of the rate).
5. *State*: the fitted level of the last cycle at the last reading (1.0 at least when the last
   reading is saturated). A lone high last reading (event or spike) lifts it halfway, with
   the mixture's sd (``LONE_HIGH_WEIGHT``).

Bins without usable readings borrow the median rate and weekday factors of sensor bins on the
same street and stream, else of the same stream, else of all bins, else ``default_rate_per_h``.
Their state is 0.0 at a known last emptying (``last_emptied``), else ``unknown_fill``.
When the trucks record the fill they find (``pickups``: lift scales or the crew's estimate),
such a bin gets its own rate from consecutive pickups: the fill found divided by the
(weekday-weighted) hours since the previous pickup (one with no fill recorded is an emptying
all the same), shrunk toward the borrowed rate by
``PICKUP_PRIOR_CYCLES`` cycles. A bin found full (censored) bounds the rate from below.

A *stuck* sensor, whose readings end repeating one value for :data:`STUCK_AFTER_H` hours
(:func:`stuck_sensor`), has those readings after the first of the value left out: its fill
is forecast from that reading on (``FillModel.stuck`` says so).

A citizen report of overflow (after the last known emptying) sets the state to at least 1.0
at the report time; for a borrowed rate with a known emptying, a report that comes earlier
than predicted moves the rate halfway toward the rate implied by the report.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from fleet.errors import FleetDataError
from fleet.forecast import (
    HOURS_PER_DAY,
    Z_90,
    FillModel,
    SensorOffset,
    StuckSensor,
    hours_between,
    offset_hours,
    utc_hours,
    week_axis,
    weekday_exposure,
)
from fleet.models import MAX_FILL, Bin, CitizenReport, FillReading, PickupRecord

_MAD_TO_SD = 1.4826
POOL_MIN_DAYS = 0.5  # of data on every weekday for a bin's raw pattern to enter the pool
PICKUP_PRIOR_CYCLES = 0.5  # weight of the borrowed rate, in observed fill cycles
PICKUP_CENSORED_SPAN = 0.8  # a bin found full is assumed full after this share of its cycle
# a cycle between two pickups shorter than this tells no rate: a row logged twice, a second
# lift at once (found full 30 min after an emptying, it set a rate of 55 bins a day)
PICKUP_MIN_CYCLE_H = 1.0
SHIFT_MIN_READINGS = 2  # readings above a cycle's line, up to its end, that make a level shift
MAX_SHIFTS = 3  # level shifts split per fit (each split re-fits the spikes)
LONE_HIGH_WEIGHT = 0.5  # belief that a lone high last reading is waste added, not a spike
# a reading this soon after a logged emptying may still show the bin before it (the log has
# the truck's arrival or the crew's tap; the lift, and the sensor's measure, come around it)
STALE_AFTER_EMPTYING_H = 0.25
_STALE = timedelta(hours=STALE_AFTER_EMPTYING_H)
# a level sensor that sends one value again and again has stopped measuring (a frozen
# firmware value, a lost echo): real readings move with the waste and the sensor's noise.
# Its last readings repeat one value for this many hours...
STUCK_AFTER_H = 72.0
STUCK_MIN_READINGS = 4  # ... in at least this many readings
STUCK_TOLERANCE = 1e-6  # readings this close are one value (as sent, not rounded)
# a sensor that read a bin this much fuller than its crew found it soon after, twice in a
# row (one glitch is no fault), over-reads (stuck near full, dirt or a bag on it): a bin
# loses no waste but by an emptying; one that read it this much emptier than its fill rate
# explains under-reads (tilted, its echo off a wall or a bulky item)
MISREAD_FILL = 0.5
MISREAD_WITHIN_H = 6.0  # "soon after": the last reading at most this long before the pickup
MISREAD_DAYS = 3  # the pickups of the last days before the plan whose fills are compared
# a sensor whose readings miss the fills its crews found by this much, the same way at each
# of its latest pickups (at least OFFSET_MIN_PICKUPS of the last OFFSET_PICKUPS with a
# reading soon before, none full), is off (mounted askew, set to another bin's depth): its
# readings are corrected by the median miss. A crew's eye is good to about 10 points.
OFFSET_MIN_FILL = 0.2
OFFSET_PICKUPS = 5
OFFSET_MIN_PICKUPS = 3
_EARTH_RADIUS_M = 6_371_000.0

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class FillConfig:
    """Knobs of the fill estimator (fractions of the bin unless named otherwise)."""

    drop: float = 0.2
    empty_level: float = 0.25
    saturated: float = 0.98
    spike_k: float = 4.0
    spike_min: float = 0.08
    # Days of data on a weekday that weigh as much as the stream's pooled pattern (7 rather
    # than 3 since the pool is filled on short histories: measured equal on the fill errors).
    weekday_shrink_days: float = 7.0
    min_points: int = 4
    sigma_floor: float = 0.01
    rate_sd_rel_floor: float = 0.1
    rate_sd_rel_single: float = 0.3
    default_rate_per_h: float = 0.3 / HOURS_PER_DAY
    unknown_fill: float = 0.5
    unknown_fill_sd: float = 0.25
    report_fill_sd: float = 0.05
    report_match_m: float = 50.0
    z: float = Z_90

    def __post_init__(self) -> None:
        if not 0 < self.drop < 1:
            raise FleetDataError(f"FillConfig: drop must be in (0, 1), got {self.drop}")
        if self.min_points < 2:
            raise FleetDataError("FillConfig: min_points must be >= 2")
        if self.weekday_shrink_days < 0 or self.default_rate_per_h < 0 or self.z <= 0:
            raise FleetDataError("FillConfig: shrink days and default rate >= 0, z > 0")


# ----------------------------------------------------------------------------- emptyings


def detect_emptyings(
    fills: Sequence[float] | FloatArray, drop: float = 0.2, empty_level: float = 0.25
) -> NDArray[np.intp]:
    """Indices of the readings that start a new fill cycle (first reading after an emptying).

    ``fills`` must be in time order. See the module docstring for the rule.
    """
    y = np.asarray(fills, dtype=float)
    n = y.size
    if n < 2:
        return np.zeros(0, dtype=np.intp)
    # Necessary condition (vectorised): below the max of the previous 3 readings by > drop.
    padded = np.concatenate([np.full(2, -np.inf), y])
    prev_max = np.lib.stride_tricks.sliding_window_view(padded, 3).max(axis=1)[: n - 1]
    candidates = np.flatnonzero(y[1:] < prev_max - drop) + 1
    out: list[int] = []
    last = 0
    for i in candidates:
        window = np.sort(y[max(last, i - 3) : i])
        ref = float(window[(window.size - 1) // 2])  # lower median: one spike cannot lift it
        thr = ref - drop
        nxt = y[i : i + 3]
        if y[i] >= thr:
            continue
        if nxt.size == 3:
            ok = _med(nxt) < thr
        else:
            ok = bool(np.all(nxt < thr)) and (nxt.size > 1 or y[i] <= empty_level)
        if ok:
            out.append(int(i))
            last = int(i)
    return np.asarray(out, dtype=np.intp)


def last_emptying_read(
    readings: Sequence[FillReading], cfg: FillConfig = FillConfig()
) -> datetime | None:
    """When one bin's readings (any order) last show it emptied: the first reading of its
    newest fill cycle by :func:`detect_emptyings`, a confirmed drop. A lone low last reading
    is not one: :func:`fit_sensor` takes it for a spike unless a logged collection explains
    it. None when the readings show no emptying."""
    rs = sorted(readings, key=_time_order)
    emp = detect_emptyings([r.fill_fraction for r in rs], cfg.drop, cfg.empty_level)
    if emp.size and emp[-1] == len(rs) - 1:
        emp = emp[:-1]
    return rs[int(emp[-1])].at if emp.size else None


def stuck_sensor(
    readings: Sequence[FillReading], cfg: FillConfig = FillConfig()
) -> StuckSensor | None:
    """The stuck sensor of one bin whose readings (any order) end repeating one value
    (within :data:`STUCK_TOLERANCE`) over :data:`STUCK_AFTER_H` hours or more, in
    :data:`STUCK_MIN_READINGS` readings or more, below ``cfg.saturated`` (a full bin left
    full reads full); None otherwise.

    A value read again past a logged collection is no proof: a busy bin full again by the
    next reading reads as before on a sensor that rounds. Only a long run is taken, and
    taking it can only make a bin come due sooner (its fill is forecast past the value).
    """
    rs = sorted(readings, key=_time_order)
    if len(rs) < STUCK_MIN_READINGS:
        return None
    value = rs[-1].fill_fraction
    first = len(rs) - 1
    while first > 0 and abs(rs[first - 1].fill_fraction - value) <= STUCK_TOLERANCE:
        first -= 1
    since, last_at, n = rs[first].at, rs[-1].at, len(rs) - first
    long = hours_between(since, last_at) >= STUCK_AFTER_H and n >= STUCK_MIN_READINGS
    return StuckSensor(since, value, n, last_at) if long and value < cfg.saturated else None


def _time_order(r: FillReading) -> tuple[datetime, float]:
    """Sort key of readings: by time, and of readings at one time the fuller first (a bin
    drops at once only when emptied), so that their order in the input does not matter."""
    return r.at, -r.fill_fraction


def _med(a: FloatArray) -> float:
    """Median of a 1-D array (faster than ``np.median`` for the small arrays used here)."""
    srt = np.sort(a)
    n = srt.size
    return float(0.5 * (srt[(n - 1) // 2] + srt[n // 2]))


SLOPE_POINTS = 200  # a longer series' slope is taken from this many of its points


@functools.lru_cache(maxsize=SLOPE_POINTS)
def _pairs(n: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    i, j = np.triu_indices(n, k=1)
    return i, j


def median_slope(x: FloatArray, y: FloatArray) -> float:
    """Theil–Sen slope: median of the pairwise slopes (distinct x only); nan if none.

    A series of more than ``SLOPE_POINTS`` points (a sensor reading every few minutes) is
    thinned to that many, evenly spread over it: the pairs of all its points would take
    memory as their square (6000 readings: 18 million pairs, 0.7 GB)."""
    if x.size > SLOPE_POINTS:
        keep = np.unique(np.linspace(0, x.size - 1, SLOPE_POINTS).round().astype(np.intp))
        x, y = x[keep], y[keep]
    i, j = _pairs(x.size)
    dx = x[j] - x[i]
    ok = dx > 0
    if not ok.any():
        return math.nan
    return _med((y[j] - y[i])[ok] / dx[ok])


def _robust_sd(r: FloatArray) -> float:
    if r.size == 0:
        return 0.0
    return _MAD_TO_SD * _med(np.abs(r - _med(r)))


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


# ----------------------------------------------------------------------------- reports


def _distance_m(lon1: float, lat1: float, lon2: FloatArray, lat2: FloatArray) -> FloatArray:
    """Equirectangular distance in metres (fine below a few km)."""
    k = math.pi / 180.0
    dx = (lon2 - lon1) * k * math.cos(lat1 * k)
    dy = (lat2 - lat1) * k
    out: FloatArray = _EARTH_RADIUS_M * np.hypot(dx, dy)
    return out


def nearest_bin(bins: Sequence[Bin], lon: float, lat: float) -> tuple[Bin, float] | None:
    """The bin of ``bins`` nearest to (lon, lat) and its distance in metres; None without
    bins."""
    if not bins:
        return None
    lons = np.array([b.lon for b in bins], dtype=float)
    lats = np.array([b.lat for b in bins], dtype=float)
    d = _distance_m(lon, lat, lons, lats)
    k = int(np.argmin(d))
    return bins[k], float(d[k])


def match_reports(
    bins: Sequence[Bin], reports: Iterable[CitizenReport], max_dist_m: float = 50.0
) -> tuple[dict[str, list[CitizenReport]], list[CitizenReport]]:
    """Assign reports to bins: by ``bin_id``, else the nearest bin within ``max_dist_m``.

    Returns ``(by_bin, unmatched)``.
    """
    ids = {b.bin_id for b in bins}
    by_bin: dict[str, list[CitizenReport]] = defaultdict(list)
    unmatched: list[CitizenReport] = []
    for r in reports:
        if r.bin_id is not None:
            (by_bin[r.bin_id] if r.bin_id in ids else unmatched).append(r)
            continue
        near = nearest_bin(bins, r.lon, r.lat) if r.lon is not None and r.lat is not None else None
        if near is not None and near[1] <= max_dist_m:
            by_bin[near[0].bin_id].append(r)
        else:
            unmatched.append(r)
    return dict(by_bin), unmatched


def valid_reports(
    model: FillModel, reports: Iterable[CitizenReport], now: datetime | None = None
) -> list[CitizenReport]:
    """Overflow reports after the model's last emptying (and not after ``now``), by time."""
    out = [
        r
        for r in reports
        if r.overflowing
        and (now is None or r.at <= now)
        and (model.last_emptying_at is None or r.at > model.last_emptying_at)
    ]
    return sorted(out, key=lambda r: r.at)


def apply_reports(
    model: FillModel,
    reports: Iterable[CitizenReport],
    *,
    now: datetime,
    cfg: FillConfig = FillConfig(),
) -> FillModel:
    """Raise the model's state to full at the latest valid overflow report (see module doc)."""
    valid = valid_reports(model, reports, now)
    if not valid:
        return model
    r = valid[-1]
    if r.at < model.anchor_at:
        return replace(
            model, anchor_fill=max(model.anchor_fill, 1.0), source=model.source + "+report"
        )
    predicted = model.fill_at(r.at).expected
    if predicted >= 1.0:
        return model
    rate = model.rate_per_h
    if model.source != "sensor" and model.last_emptying_at is not None:
        since = replace(model, anchor_at=model.last_emptying_at, anchor_fill=0.0)
        hours = hours_between(model.last_emptying_at, r.at)
        w = float(since.effective_hours(np.array([hours]))[0])
        if w > 0:
            rate = max(rate, 0.5 * (rate + 1.0 / w))
    return replace(
        model,
        anchor_at=r.at,
        anchor_fill=1.0,
        anchor_sd=cfg.report_fill_sd,
        rate_per_h=rate,
        source=model.source + "+report",
    )


# ----------------------------------------------------------------------------- all bins


def _group_medians(
    models: Iterable[tuple[Bin, FillModel]],
) -> dict[tuple[str, ...], tuple[float, float, FloatArray]]:
    """Median (rate, rate_sd, factors) per (street, stream), (stream,) and () groups."""
    groups: dict[tuple[str, ...], list[FillModel]] = defaultdict(list)
    for b, m in models:
        if b.street:
            groups[("street", b.street, b.stream)].append(m)
        groups[("stream", b.stream)].append(m)
        groups[()].append(m)
    out = {}
    for key, ms in groups.items():
        rates = np.array([m.rate_per_h for m in ms])
        sds = np.array([m.rate_sd_per_h for m in ms])
        facs = _mean_one(np.median(np.array([m.weekday_factors for m in ms]), axis=0))
        spread = _robust_sd(rates) if rates.size > 1 else 0.0
        out[key] = (float(np.median(rates)), float(max(np.median(sds), spread)), facs)
    return out


def _mean_one(factors: FloatArray) -> FloatArray:
    """Weekday factors scaled to mean 1, as a model's are (a day-by-day median of bins'
    factors is not: bins busy on different days give a pattern below 1 every day); ones
    when none is positive."""
    mean = float(factors.mean())
    out: FloatArray = factors / mean if mean > 0 else np.ones(7)
    return out


def _borrowed(
    b: Bin, groups: Mapping[tuple[str, ...], tuple[float, float, FloatArray]], cfg: FillConfig
) -> tuple[float, float, FloatArray, str]:
    keys: list[tuple[tuple[str, ...], str]] = []
    if b.street:
        keys.append((("street", b.street, b.stream), "street"))
    keys += [(("stream", b.stream), "stream"), ((), "global")]
    for key, name in keys:
        if key in groups:
            rate, sd, facs = groups[key]
            return rate, sd, facs, name
    rate = cfg.default_rate_per_h
    return rate, cfg.rate_sd_rel_single * rate, np.ones(7), "default"


def _pooled_factors(fits: Iterable[tuple[Bin, SensorFit]]) -> dict[str, FloatArray]:
    """Per-stream weekday pattern: median of the bins' raw factors (data-weighted)."""
    per: dict[str, list[FloatArray]] = defaultdict(list)
    for b, fit in fits:
        raw = fit.raw_factors
        if raw is not None and float(fit.days_d.min()) >= POOL_MIN_DAYS:
            per[b.stream].append(raw)
    out: dict[str, FloatArray] = {}
    for stream, raws in per.items():
        med = np.median(np.array(raws), axis=0)
        # Shrink the pooled pattern too: ~1 bin-week of data per unit of confidence.
        n = len(raws)
        pooled = 1.0 + (med - 1.0) * n / (n + 2.0)
        out[stream] = pooled / float(pooled.mean())
    return out


_Record = TypeVar("_Record", FillReading, PickupRecord)


def _per_known_bin(
    records: Iterable[_Record], by_id: Mapping[str, Bin], now: datetime, what: str
) -> dict[str, list[_Record]]:
    """Records up to ``now`` grouped by bin; records of bins not in ``by_id`` are an error."""
    out: dict[str, list[_Record]] = defaultdict(list)
    for r in records:
        if r.at <= now:
            out[r.bin_id].append(r)
    unknown = sorted(set(out) - set(by_id))
    if unknown:
        raise FleetDataError(
            f"{what} name {len(unknown)} bin(s) not in the inventory "
            f"({', '.join(unknown[:5])}...); add the bins or drop their {what}"
        )
    return out


def estimate_models(
    bins: Sequence[Bin],
    readings: Iterable[FillReading],
    reports: Iterable[CitizenReport] = (),
    *,
    now: datetime,
    last_emptied: Mapping[str, datetime] | None = None,
    pickups: Iterable[PickupRecord] = (),
    config: FillConfig = FillConfig(),
) -> dict[str, FillModel]:
    """One :class:`FillModel` for every bin in ``bins`` (see the module docstring).

    A sensor that reads its bin off the fills its crews found at its latest pickups
    (:func:`sensor_offsets`) has its readings corrected by the median miss, and its model
    says so (:attr:`FillModel.offset`).

    Parameters
    ----------
    bins : sequence of Bin
        The inventory bins; readings of bins not listed raise :class:`FleetDataError`.
    readings : iterable of FillReading
        Sensor readings; those after ``now`` are ignored.
    reports : iterable of CitizenReport
        Matched to bins by id or within ``config.report_match_m`` metres; unmatched ones are
        ignored here (list them with :func:`match_reports`).
    now : datetime
        The estimation time (tz-aware); the state of bins with no information is set here.
    last_emptied : mapping bin_id -> datetime, optional
        The city's collection log: last collection per bin (e.g. from executed plans). A
        collection after the last reading resets the state to 0.0 at that time. When given,
        a bin missing from it counts as not collected (a lone low last reading is a spike).
    """
    readings, pickups = list(readings), list(pickups)
    if now.tzinfo is None or now.utcoffset() is None:
        raise FleetDataError(f"now {now.isoformat()} has no time zone; add an offset")
    by_bin, _ = match_reports(bins, reports, config.report_match_m)
    models, pools = _estimate_models(bins, readings, by_bin, now, last_emptied, pickups, config)
    offsets = sensor_offsets(
        [r for r in readings if r.at <= now], [p for p in pickups if p.at <= now], models, config
    )
    if not offsets:
        return models
    askew = [b for b in bins if b.bin_id in offsets]  # fitted again, with the city's pools
    fixed = [
        c
        for r in readings
        if r.bin_id in offsets and (c := _corrected(r, offsets[r.bin_id])) is not None
    ]
    theirs = [p for p in pickups if p.bin_id in offsets]
    again, _ = _estimate_models(askew, fixed, by_bin, now, last_emptied, theirs, config, pools)
    return models | {b: replace(m, offset=offsets[b]) for b, m in again.items()}


def _corrected(r: FillReading, offset: SensorOffset | None) -> FillReading | None:
    """Reading ``r`` corrected by its sensor's ``offset`` (a level reading only); None for
    a sensor reading too empty that read 0: the bin was anywhere up to the offset then."""
    if offset is None or r.fill_from_weight:
        return r
    if offset.fill > 0 and r.fill_fraction <= 0.0:
        return None
    return replace(r, fill_fraction=min(max(r.fill_fraction + offset.fill, 0.0), MAX_FILL))


@dataclass(frozen=True, slots=True)
class _Pools:
    """What a city's bins share: each stream's weekday pattern (``factors``), and the rates
    of each street's, stream's and the city's sensor bins (``groups``)."""

    factors: dict[str, FloatArray]
    groups: dict[tuple[str, ...], tuple[float, float, FloatArray]]


def _estimate_models(
    bins: Sequence[Bin],
    readings: Sequence[FillReading],
    reports: Mapping[str, Sequence[CitizenReport]],
    now: datetime,
    last_emptied: Mapping[str, datetime] | None,
    pickups: Sequence[PickupRecord],
    config: FillConfig,
    pools: _Pools | None = None,
) -> tuple[dict[str, FillModel], _Pools]:
    """The models of :func:`estimate_models` of ``bins``, from the readings as given, and
    the pools they were made with: ``pools`` when given (a few of a city's bins fitted
    again), else their own. ``reports``: by bin id, matched among the city's bins."""
    by_id = {b.bin_id: b for b in bins}
    per_bin = _per_known_bin(readings, by_id, now, "readings")
    found = _per_known_bin(pickups, by_id, now, "pickups")
    known = last_emptied is not None or bool(found)
    emptied = dict(last_emptied or {})
    for bid, ps in found.items():  # the pickup log is a collection log too
        last = max(p.at for p in ps)
        if bid not in emptied or last > emptied[bid]:
            emptied[bid] = last
    stuck = _stuck_sensors(per_bin, config)
    fits = [
        (
            by_id[i],
            prepare_sensor_fit(
                i,
                rs,
                config,
                collections_known=known,
                last_collection=emptied.get(i),
                emptied_at=[p.at for p in found.get(i, ())],
            ),
        )
        for i, rs in per_bin.items()
    ]
    factors = pools.factors if pools is not None else _pooled_factors(fits)
    models: dict[str, FillModel] = {}
    for b, f in fits:
        m = finish_sensor_fit(f, factors.get(b.stream), config)
        if m is not None:
            models[b.bin_id] = m
    if pools is None:
        pools = _Pools(factors, _group_medians((by_id[i], m) for i, m in models.items()))
    for b in bins:
        if b.bin_id not in models:
            model = _borrowed_model(b, per_bin.get(b.bin_id, []), pools.groups, now, config)
            models[b.bin_id] = _with_pickups(model, found.get(b.bin_id, []), config)
        models[b.bin_id] = _apply_known_emptying(models[b.bin_id], emptied.get(b.bin_id), now)
    for bid, rs in reports.items():
        if bid in models:
            models[bid] = apply_reports(models[bid], rs, now=now, cfg=config)
    for bid, st in stuck.items():
        models[bid] = replace(models[bid], stuck=st)
    return models, pools


SENSOR_ISSUES = ("stuck", "offset", "reads_too_full", "reads_too_empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorCheck:
    """A bin whose sensor a crew should check: a line of the maintenance list.

    Attributes
    ----------
    bin_id : str
        The bin.
    issue : str
        One of :data:`SENSOR_ISSUES`: stuck (:func:`stuck_notes`), reading off its crews'
        fills and corrected (:func:`offset_notes`), reading too full or too empty at a
        pickup (:func:`over_read_notes`, :func:`under_read_notes`).
    note : str
        What was seen, as the plan's note says it.
    """

    bin_id: str
    issue: str
    note: str


def sensor_checks(
    readings: Sequence[FillReading],
    pickups: Sequence[PickupRecord],
    since: datetime,
    tz: tzinfo,
    models: Mapping[str, FillModel],
) -> tuple[SensorCheck, ...]:
    """The bins whose sensors a crew should check, by issue (in :data:`SENSOR_ISSUES`'
    order), then bin id: stuck or offset as ``models`` found them, reading too full or
    too empty at a pickup from ``since`` on (times local in ``tz``)."""
    return (
        *_stuck_checks(models, tz),
        *_offset_checks(models, tz),
        *_over_read_checks(readings, pickups, since, tz, models),
        *_under_read_checks(readings, pickups, since, tz, models),
    )


def stuck_notes(models: Mapping[str, FillModel], tz: tzinfo) -> tuple[str, ...]:
    """One note per bin whose sensor is stuck (:attr:`FillModel.stuck`), by bin id: the
    value it repeats, since when, and what its forecast uses instead (times local in ``tz``).
    """
    return tuple(c.note for c in _stuck_checks(models, tz))


def _model_checks(
    models: Mapping[str, FillModel], issue: str, note: Callable[[str, FillModel], str | None]
) -> list[SensorCheck]:
    """A check of ``issue`` per bin, by bin id, whose model ``note`` describes (not None)."""
    return [
        SensorCheck(bin_id=bid, issue=issue, note=text)
        for bid, m in sorted(models.items())
        if (text := note(bid, m)) is not None
    ]


def _stuck_checks(models: Mapping[str, FillModel], tz: tzinfo) -> list[SensorCheck]:
    def note(bid: str, m: FillModel) -> str | None:
        st = m.stuck
        if st is None:
            return None
        since, last = (f"{t.astimezone(tz):%Y-%m-%d %H:%M}" for t in (st.since, st.last_at))
        return (
            f"bin {bid}: its sensor has read {st.fill:.0%} at each of its {st.readings} "
            f"readings {since} - {last}: stuck; its readings after {since} are left out and "
            "its fill is forecast from there at its usual rate (a logged collection resets "
            "it); check the sensor"
        )

    return _model_checks(models, "stuck", note)


Misread = tuple[FillReading, FillReading, PickupRecord]  # two readings, then the pickup


def _read_and_found(
    readings: Sequence[FillReading],
    pickups: Sequence[PickupRecord],
    since: datetime | None = None,
) -> dict[str, list[Misread]]:
    """Per bin, in time order, each pickup (from ``since`` on, when given) with a fill
    found whose sensor read the bin twice or more before it (a reading at the time of the
    pickup may be after it), the last time at most :data:`MISREAD_WITHIN_H` hours before,
    with no other emptying since the reading before that: (that reading, the last, the
    pickup). Only fills read and found as such count, not fills derived from a weight (a
    wrong density would tell the same)."""
    found = sorted(
        (
            p
            for p in pickups
            if p.fill_fraction is not None
            and not p.fill_from_weight
            and (since is None or p.at >= since)
        ),
        key=lambda p: p.at,
    )
    wanted = {p.bin_id for p in found}
    read: dict[str, list[FillReading]] = defaultdict(list)
    for r in readings:
        if r.bin_id in wanted and not r.fill_from_weight:
            read[r.bin_id].append(r)
    for own in read.values():
        own.sort(key=_time_order)
    emptied: dict[str, list[datetime]] = defaultdict(list)
    for p in pickups:
        if p.bin_id in wanted:
            emptied[p.bin_id].append(p.at)
    out: dict[str, list[Misread]] = defaultdict(list)
    for p in found:
        own = read.get(p.bin_id, [])
        last = bisect.bisect_left(own, p.at, key=lambda r: r.at)  # the readings before p
        if last < 2:
            continue
        before, r = own[last - 2], own[last - 1]
        soon = p.at - r.at <= timedelta(hours=MISREAD_WITHIN_H)
        if soon and not any(before.at < t < p.at for t in emptied[p.bin_id]):
            out[p.bin_id].append((before, r, p))
    return out


def _misreads(
    readings: Sequence[FillReading],
    pickups: Sequence[PickupRecord],
    since: datetime,
    gap: Callable[[FillReading, float, datetime], float],
) -> dict[str, Misread]:
    """Per bin, its latest pickup from ``since`` on (of :func:`_read_and_found`) whose fill
    found is at least :data:`MISREAD_FILL` off each of its sensor's last two readings
    before it, as ``gap(reading, fill found, pickup time)`` measures it (fractions of the
    bin). Two readings, so that one glitch (a spike) names no sensor."""
    found: dict[str, Misread] = {}
    for bid, seen in _read_and_found(readings, pickups, since).items():
        for before, r, p in seen:
            fill = p.fill_fraction
            if fill is None:
                continue
            if min(gap(x, fill, p.at) for x in (before, r)) >= MISREAD_FILL:
                found[bid] = (before, r, p)
    return found


def _growth_h(model: FillModel, spans: Sequence[tuple[datetime, datetime]]) -> FloatArray:
    """The weekday-weighted hours of each (start, end) span at ``model``'s weekday pattern
    (its fill grows ``model.rate_per_h`` times that): one array call for them all."""
    first = min(a for a, _ in spans)
    ref = replace(model, anchor_at=first)
    x = np.array([(hours_between(first, a), hours_between(first, b)) for a, b in spans])
    e = ref.effective_hours(x.ravel()).reshape(-1, 2)
    out: FloatArray = e[:, 1] - e[:, 0]
    return out


def sensor_offsets(
    readings: Sequence[FillReading],
    pickups: Sequence[PickupRecord],
    models: Mapping[str, FillModel],
    cfg: FillConfig = FillConfig(),
) -> dict[str, SensorOffset]:
    """The sensors that read their bins off the fills their crews found, the same way each
    time: per bin, of its last :data:`OFFSET_PICKUPS` pickups of :func:`_read_and_found`,
    those not full, read full or forecast full (a full bin hides how full) nor read empty
    (a sensor reading too empty reads 0 up to its offset), when :data:`OFFSET_MIN_PICKUPS`
    or more, whose fill found less the last reading grown to the pickup at ``models``'
    rate all miss by at least half :data:`OFFSET_MIN_FILL`, on one side, and by
    :data:`OFFSET_MIN_FILL` or more in median. A stuck sensor (:attr:`FillModel.stuck`) is
    not read for it."""
    out: dict[str, SensorOffset] = {}
    for bid, seen in _read_and_found(readings, pickups).items():
        model = models.get(bid)
        last = seen[-OFFSET_PICKUPS:]
        if model is None or model.stuck is not None or len(last) < OFFSET_MIN_PICKUPS:
            continue
        grown = model.rate_per_h * _growth_h(model, [(r.at, p.at) for _, r, p in last])
        used = [
            (fill - (r.fill_fraction + g), p.at)
            for (_, r, p), g in zip(last, grown, strict=True)
            if (fill := p.fill_fraction) is not None
            and r.fill_fraction > 0.0
            and max(r.fill_fraction, fill, r.fill_fraction + g) < cfg.saturated
        ]
        if len(used) < OFFSET_MIN_PICKUPS:
            continue
        misses = [m for m, _ in used]
        median = float(np.median(misses))
        same = all(m * median > 0 and abs(m) >= OFFSET_MIN_FILL / 2 for m in misses)
        if same and abs(median) >= OFFSET_MIN_FILL:
            out[bid] = SensorOffset(fill=median, pickups=len(used), last_at=used[-1][1])
    return out


def offset_notes(models: Mapping[str, FillModel], tz: tzinfo) -> tuple[str, ...]:
    """One note per bin whose sensor reads off its crews' fills (:attr:`FillModel.offset`),
    by bin id: by how much, at how many pickups, and that its readings were corrected."""
    return tuple(c.note for c in _offset_checks(models, tz))


def _offset_checks(models: Mapping[str, FillModel], tz: tzinfo) -> list[SensorCheck]:
    def note(bid: str, m: FillModel) -> str | None:
        off = m.offset
        if off is None:
            return None
        low = off.fill > 0
        return (
            f"bin {bid}: its sensor read {abs(off.fill):.0%} {'below' if low else 'above'} "
            f"the fill its crews found at its last {off.pickups} pickups (the latest "
            f"{off.last_at.astimezone(tz):%Y-%m-%d %H:%M}): its readings are "
            f"{'raised' if low else 'lowered'} by that much for its forecast; check the "
            "sensor (its mounting, or the bin depth it is set to)"
        )

    return _model_checks(models, "offset", note)


def _misread_note(bid: str, misread: Misread, tz: tzinfo, why: str) -> str:
    before, r, p = misread
    return (
        f"bin {bid}: its sensor read {before.fill_fraction:.0%} at "
        f"{before.at.astimezone(tz):%Y-%m-%d %H:%M} and {r.fill_fraction:.0%} at "
        f"{r.at.astimezone(tz):%Y-%m-%d %H:%M}, its crew found it {p.fill_fraction:.0%} full "
        f"at {p.at.astimezone(tz):%H:%M}: {why}; check the sensor"
    )


def _misread_checks(
    found: Mapping[str, Misread],
    models: Mapping[str, FillModel],
    tz: tzinfo,
    issue: str,
    why: str,
) -> list[SensorCheck]:
    """The checks of ``found`` by bin id, but of bins whose sensors' offsets are corrected."""
    return [
        SensorCheck(bin_id=bid, issue=issue, note=_misread_note(bid, m, tz, why))
        for bid, m in sorted(found.items())
        if bid not in models or models[bid].offset is None
    ]


def over_read_notes(
    readings: Sequence[FillReading],
    pickups: Sequence[PickupRecord],
    since: datetime,
    tz: tzinfo,
    models: Mapping[str, FillModel] | None = None,
) -> tuple[str, ...]:
    """One note per bin whose sensor read it, twice in a row, at least :data:`MISREAD_FILL`
    fuller than its crew found it at a pickup from ``since`` on (:func:`_misreads`; times
    local in ``tz``), but a bin whose model in ``models`` corrects its sensor's offset
    (:func:`offset_notes` names it).
    The forecast is not changed (the pickup empties the bin), but the sensor is likely to
    call the bin full again: the dispatcher has it checked."""
    return tuple(c.note for c in _over_read_checks(readings, pickups, since, tz, models or {}))


def _over_read_checks(
    readings: Sequence[FillReading],
    pickups: Sequence[PickupRecord],
    since: datetime,
    tz: tzinfo,
    models: Mapping[str, FillModel],
) -> list[SensorCheck]:
    why = "the sensor reads too full (stuck, dirty, or a bag on it) and may call the bin full again"
    found = _misreads(readings, pickups, since, lambda r, fill, _: r.fill_fraction - fill)
    return _misread_checks(found, models, tz, "reads_too_full", why)


def under_read_notes(
    readings: Sequence[FillReading],
    pickups: Sequence[PickupRecord],
    since: datetime,
    tz: tzinfo,
    models: Mapping[str, FillModel],
) -> tuple[str, ...]:
    """One note per bin whose crew found it at a pickup from ``since`` on at least
    :data:`MISREAD_FILL` fuller than each of its sensor's last two readings before, grown at
    the bin's fill rate (``models``: the high end of its band, from the reading to the
    pickup), can make it (:func:`_misreads`; times local in ``tz``), but a bin whose model
    corrects its sensor's offset (:func:`offset_notes` names it). Its forecast, made
    from that sensor, is likely to call the bin emptier than it is, and the bin to overflow
    unplanned: the dispatcher has the sensor checked (unless waste was dumped in the bin in
    those hours)."""
    return tuple(c.note for c in _under_read_checks(readings, pickups, since, tz, models))


def _under_read_checks(
    readings: Sequence[FillReading],
    pickups: Sequence[PickupRecord],
    since: datetime,
    tz: tzinfo,
    models: Mapping[str, FillModel],
) -> list[SensorCheck]:
    def gap(r: FillReading, fill: float, at: datetime) -> float:
        model = models.get(r.bin_id)
        if model is None:
            return fill - r.fill_fraction
        high = model.rate_per_h + model.z * model.rate_sd_per_h  # its band's high end
        return fill - (r.fill_fraction + high * float(_growth_h(model, [(r.at, at)])[0]))

    why = (
        "the sensor reads too empty (tilted, its echo off a wall or a bulky item) and may "
        "let the bin overflow unplanned, unless waste was dumped in it meanwhile"
    )
    found = _misreads(readings, pickups, since, gap)
    return _misread_checks(found, models, tz, "reads_too_empty", why)


def _stuck_sensors(
    per_bin: dict[str, list[FillReading]], cfg: FillConfig
) -> dict[str, StuckSensor]:
    """The bins of ``per_bin`` whose sensors are stuck (:func:`stuck_sensor`), their readings
    after the first of the repeated value dropped from ``per_bin`` (in place): the fill is
    forecast from that one on, and a logged collection since resets it."""
    out: dict[str, StuckSensor] = {}
    for bid, rs in per_bin.items():
        st = stuck_sensor(rs, cfg)
        if st is not None:
            kept = sorted(rs, key=_time_order)
            per_bin[bid] = kept[: len(kept) - st.readings + 1]
            out[bid] = st
    return out


def _borrowed_model(
    b: Bin,
    own: Sequence[FillReading],
    groups: Mapping[tuple[str, ...], tuple[float, float, FloatArray]],
    now: datetime,
    cfg: FillConfig,
) -> FillModel:
    rate, sd, facs, source = _borrowed(b, groups, cfg)
    if own:  # a few readings, too few for a rate: the last one gives the state
        last = max(own, key=_time_order)
        at, fill, fill_sd = last.at, last.fill_fraction, 0.05
    else:
        at, fill, fill_sd = now, cfg.unknown_fill, cfg.unknown_fill_sd
    return FillModel(
        bin_id=b.bin_id,
        anchor_at=at,
        anchor_fill=fill,
        anchor_sd=fill_sd,
        rate_per_h=rate,
        rate_sd_per_h=max(sd, cfg.rate_sd_rel_floor * rate),
        weekday_factors=tuple(float(f) for f in facs),
        source=source,
        n_readings=len(own),
        z=cfg.z,
    )


def pickup_rate(
    model: FillModel, pickups: Sequence[PickupRecord], cfg: FillConfig = FillConfig()
) -> tuple[float, int] | None:
    """(rate per hour, cycles used) from consecutive pickups under ``model``'s weekday factors.

    None without a cycle. A cycle runs from an emptying (any pickup, with a fill recorded or
    not) to the next pickup, and tells a rate when that one has a fill. Uncensored cycles
    give fill / weighted hours (a ratio estimate); a cycle found full gives at least
    ``1 / (PICKUP_CENSORED_SPAN * hours)``. Cycles shorter than :data:`PICKUP_MIN_CYCLE_H`
    hours are left out.
    """
    ps = sorted(pickups, key=lambda p: p.at)
    if len(ps) < 2:
        return None
    x = np.array([week_axis(utc_hours(p.at), 0.0) + offset_hours(p.at) for p in ps])
    hours = np.diff(weekday_exposure(x) @ np.asarray(model.weekday_factors, dtype=float))
    fill = np.array([np.nan if p.fill_fraction is None else p.fill_fraction for p in ps[1:]])
    ok = (hours >= PICKUP_MIN_CYCLE_H) & ~np.isnan(fill)
    full = ok & (fill >= cfg.saturated)
    part = ok & ~full
    rate = float(fill[part].sum() / hours[part].sum()) if part.any() else 0.0
    if full.any():
        rate = max(rate, float((1.0 / (PICKUP_CENSORED_SPAN * hours[full])).max()))
    n = int(ok.sum())
    return (rate, n) if n else None


def _with_pickups(model: FillModel, pickups: Sequence[PickupRecord], cfg: FillConfig) -> FillModel:
    """A borrowed model with its own rate from the trucks' records and state 0 at the last."""
    if not pickups:
        return model
    last = max(p.at for p in pickups)
    if model.anchor_at > last and model.n_readings > 0:
        out = replace(model, last_emptying_at=last)  # later readings know the state better
    else:
        out = model.emptied(last)
    got = pickup_rate(out, pickups, cfg)
    if got is None:
        return out
    own, n = got
    rate = (n * own + PICKUP_PRIOR_CYCLES * model.rate_per_h) / (n + PICKUP_PRIOR_CYCLES)
    sd = max(cfg.rate_sd_rel_single / math.sqrt(n), cfg.rate_sd_rel_floor) * rate
    return replace(out, rate_per_h=rate, rate_sd_per_h=sd, source="pickups")


def _apply_known_emptying(
    model: FillModel, emptied_at: datetime | None, now: datetime
) -> FillModel:
    """Reset the state to 0.0 at a known collection newer than what the model knows (and
    than its state, unless that is a reading no more than ``STALE_AFTER_EMPTYING_H`` after
    it: one that may still show the bin before the lift)."""
    if emptied_at is None or emptied_at > now:
        return model
    if model.n_readings > 0 and emptied_at <= model.anchor_at <= emptied_at + _STALE:
        return model.emptied(emptied_at)
    if model.last_emptying_at is not None and emptied_at <= model.last_emptying_at:
        return model
    if emptied_at <= model.anchor_at and model.n_readings > 0:
        return replace(model, last_emptying_at=emptied_at)  # later readings know better
    return model.emptied(emptied_at)
