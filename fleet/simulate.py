"""A seeded simulator of bin fill processes, sensor readings, collections and citizen reports.

The true fill of each bin grows on an hourly grid (``step_h``) by
``base_rate * weekday_factor * gamma noise`` plus occasional *events* (a party, a move: a
jump of 0.1..0.3); it is not capped, so values above 1.0 are overflow volume. Bins are
emptied (to a small residual) at ``collection_hour`` local time every
``collection_every_days`` days (each bin with its own phase), optionally only when above
``collect_above``, and never at or after ``collect_until``. Bins with a sensor report
``min(true, 1) + noise`` every ``reading_every_h`` hours with occasional spikes (a uniform
random value) and gaps (sensor offline). A bin overflowing for ``report_after_h`` hours gets
a citizen report with probability ``report_prob_per_h`` per hour (one per overflow episode).

Weekdays are those of the local clock of ``start`` (its UTC offset). Everything is numpy-
vectorised over bins; only the time loop is in Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from fleet.errors import FleetDataError
from fleet.models import Bin, CitizenReport, FillReading

FloatArray = NDArray[np.float64]
CITY_WEEKDAY_PATTERN = (0.95, 0.9, 0.9, 0.95, 1.05, 1.3, 0.95)  # Mon..Sun


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Parameters of :func:`simulate_history` (fractions of a bin unless named otherwise)."""

    step_h: float = 1.0
    rate_median_per_day: float = 0.3
    rate_sigma_log: float = 0.5
    weekday_pattern: tuple[float, ...] = CITY_WEEKDAY_PATTERN
    weekday_jitter: float = 0.1
    step_cv: float = 0.5
    events_per_day: float = 0.03
    event_min: float = 0.1
    event_max: float = 0.3
    residual_max: float = 0.03
    initial_max: float = 0.6
    collection_every_days: int = 3
    collection_hour: float = 7.0
    collect_above: float | None = None
    collect_until: datetime | None = None
    reading_every_h: float = 3.0
    noise_sd: float = 0.02
    spike_prob: float = 0.01
    gap_prob: float = 0.005
    gap_mean_h: float = 24.0
    report_after_h: float = 6.0
    report_prob_per_h: float = 0.05
    # the scenarios' city (scenarios.simulate.CitySim) only: each bin's true bulk density is
    # its planning one (Bin.density) x density_factor x exp(density_sigma_log x N(0, 1)), and
    # a weigh_share of the sensor bins also report the net weight of their contents; a
    # weight_only_share of those report the weight alone (no level: the service derives
    # the fill at the bin's planning density, fleet.weights.fills_from_weights)
    density_factor: float = 1.0
    density_sigma_log: float = 0.0
    weigh_share: float = 0.0
    weight_only_share: float = 0.0
    # the trucks' log (scenarios only): lift_scales, each pickup records the net weight the
    # truck took (kg, at the bin's true density); crew_fills, the crew records the fill it
    # found (+-5 %); without, a weighed pickup's fill is derived from its weight at the
    # bin's planning density, as the service stores it, and an unweighed one is an emptying
    # without a fill
    lift_scales: bool = False
    crew_fills: bool = True
    # (scenarios only) an askew_share of the sensor bins have sensors that read askew
    # (mounted askew, set to another bin's depth): askew_fill is added to each of their
    # level readings (< 0: they read too empty), which stay in 0..1
    askew_share: float = 0.0
    askew_fill: float = -0.3

    def __post_init__(self) -> None:
        if self.step_h <= 0 or self.reading_every_h <= 0 or self.collection_every_days < 1:
            raise FleetDataError("SimConfig: step_h, reading_every_h > 0, collection days >= 1")
        if not (self.density_factor > 0 and self.density_sigma_log >= 0):
            raise FleetDataError("SimConfig: density_factor must be > 0, density_sigma_log >= 0")
        if not -1.0 <= self.askew_fill <= 1.0:
            raise FleetDataError(f"SimConfig: askew_fill must be in [-1, 1], got {self.askew_fill}")
        for name in ("weigh_share", "weight_only_share", "askew_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise FleetDataError(
                    f"SimConfig: {name} must be in [0, 1], got {getattr(self, name)}"
                )
        for flag in ("lift_scales", "crew_fills"):
            if not isinstance(getattr(self, flag), bool):
                raise FleetDataError(
                    f"SimConfig: {flag} must be true or false, got {getattr(self, flag)!r}"
                )
        if len(self.weekday_pattern) != 7:
            raise FleetDataError("SimConfig: weekday_pattern needs 7 values (Mon..Sun)")


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedHistory:
    """The simulated truth and observations. Hours are counted from ``start``.

    ``fill_post[i, k]`` is the true fill of bin ``i`` at grid time ``k * step_h`` (after any
    emptying then); ``inc[i, k]`` its increase to the next grid time.
    """

    bins: tuple[Bin, ...]
    start: datetime
    step_h: float
    fill_post: FloatArray
    inc: FloatArray
    base_rate_per_h: FloatArray
    weekday_factors: FloatArray
    reading_bin: NDArray[np.intp]
    reading_h: FloatArray
    reading_fill: FloatArray
    reports: tuple[CitizenReport, ...]
    emptyings: tuple[tuple[str, datetime], ...]
    index: dict[str, int] = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        """End of the simulated period."""
        return self.start + timedelta(hours=self.inc.shape[1] * self.step_h)

    def hours(self, at: datetime) -> float:
        """Hours from ``start`` to ``at``."""
        return (at - self.start).total_seconds() / 3600.0

    def true_fill_hours(self, h: FloatArray | float) -> FloatArray:
        """True fill of every bin at hours ``h`` since start: shape ``(n_bins, len(h))``."""
        hh = np.clip(
            np.atleast_1d(np.asarray(h, dtype=float)), 0.0, self.inc.shape[1] * self.step_h
        )
        k = np.minimum((hh / self.step_h).astype(np.intp), self.inc.shape[1] - 1)
        frac = hh / self.step_h - k
        out: FloatArray = self.fill_post[:, k] + frac[None, :] * self.inc[:, k]
        return out

    def true_fill(self, bin_id: str, at: datetime) -> float:
        """True fill of one bin at ``at`` (within the simulated period)."""
        return float(self.true_fill_hours(self.hours(at))[self.index[bin_id], 0])

    def readings(self, until: datetime | None = None) -> tuple[FillReading, ...]:
        """Sensor readings (time order per bin), optionally only those at or before ``until``."""
        limit = math.inf if until is None else self.hours(until)
        keep = np.flatnonzero(self.reading_h <= limit)
        ids = [b.bin_id for b in self.bins]
        start = self.start
        return tuple(
            FillReading(
                bin_id=ids[int(self.reading_bin[j])],
                at=start + timedelta(hours=float(self.reading_h[j])),
                fill_fraction=float(self.reading_fill[j]),
            )
            for j in keep
        )

    def reports_until(self, until: datetime) -> tuple[CitizenReport, ...]:
        """Citizen reports at or before ``until``."""
        return tuple(r for r in self.reports if r.at <= until)

    def last_emptied(self, until: datetime) -> dict[str, datetime]:
        """Last collection time per bin at or before ``until``."""
        out: dict[str, datetime] = {}
        for bid, at in self.emptyings:
            if at <= until:
                out[bid] = at
        return out


def local_hours(start: datetime) -> float:
    """Local hours of ``start`` since the Monday 00:00 of its week."""
    return start.weekday() * 24.0 + start.hour + start.minute / 60.0 + start.second / 3600.0


def _weekday_factors(rng: np.random.Generator, n: int, cfg: SimConfig) -> FloatArray:
    pat = np.asarray(cfg.weekday_pattern, dtype=float)
    f = pat[None, :] * (1.0 + cfg.weekday_jitter * rng.standard_normal((n, 7)))
    f = np.maximum(f, 0.2)
    out: FloatArray = f / f.mean(axis=1, keepdims=True)
    return out


def fill_increments(
    rng: np.random.Generator, n: int, steps: int, h0: float, cfg: SimConfig
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(increments (n, steps), base rates per hour (n,), weekday factors (n, 7))."""
    base = cfg.rate_median_per_day / 24.0 * rng.lognormal(0.0, cfg.rate_sigma_log, n)
    facs = _weekday_factors(rng, n, cfg)
    mid_h = h0 + (np.arange(steps) + 0.5) * cfg.step_h
    dow = (np.floor(mid_h / 24.0) % 7).astype(np.intp)
    shape = 1.0 / cfg.step_cv**2
    noise = rng.gamma(shape, 1.0 / shape, (n, steps))
    inc = base[:, None] * facs[:, dow] * cfg.step_h * noise
    n_events = rng.poisson(cfg.events_per_day * cfg.step_h / 24.0, (n, steps))
    inc += n_events * rng.uniform(cfg.event_min, cfg.event_max, (n, steps))
    return inc, base, facs


def _collection_steps(
    start: datetime, steps: int, cfg: SimConfig
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """(day index of each grid time, whether it is a collection time) for grid 0..steps:
    the step starting at ``cfg.collection_hour`` (local) of each day, until
    ``cfg.collect_until`` when given."""
    h: FloatArray = local_hours(start) + np.arange(steps + 1, dtype=float) * cfg.step_h
    day: FloatArray = np.floor(h / 24.0)
    hod = h - day * 24.0
    is_coll_time = (hod >= cfg.collection_hour) & (hod < cfg.collection_hour + cfg.step_h)
    if cfg.collect_until is not None:
        until_h = (cfg.collect_until - start).total_seconds() / 3600.0
        is_coll_time &= np.arange(steps + 1) * cfg.step_h < until_h
    return day, is_coll_time


def simulate_history(
    bins: Sequence[Bin],
    *,
    start: datetime,
    days: float,
    seed: int,
    config: SimConfig = SimConfig(),
) -> SimulatedHistory:
    """Simulate ``days`` days from ``start`` (tz-aware) for ``bins``; deterministic per seed."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise FleetDataError(f"start {start.isoformat()} has no time zone; add an offset")
    cfg = config
    rng = np.random.default_rng(seed)
    n, steps = len(bins), max(1, round(days * 24.0 / cfg.step_h))
    inc, base, facs = fill_increments(rng, n, steps, local_hours(start), cfg)
    day, is_coll_time = _collection_steps(start, steps, cfg)
    phase = rng.integers(0, cfg.collection_every_days, n)
    post = np.empty((n, steps + 1))
    post[:, 0] = rng.uniform(0.0, cfg.initial_max, n)
    over_h = np.zeros(n)
    reported = np.zeros(n, dtype=bool)
    ids = [b.bin_id for b in bins]
    reports: list[CitizenReport] = []
    emptyings: list[tuple[str, datetime]] = []
    for k in range(1, steps + 1):
        cur = post[:, k - 1] + inc[:, k - 1]
        at = start + timedelta(hours=k * cfg.step_h)
        if is_coll_time[k]:
            due = (day[k] + phase) % cfg.collection_every_days == 0
            if cfg.collect_above is not None:
                due &= cur >= cfg.collect_above
            cur = np.where(due, rng.uniform(0.0, cfg.residual_max, n), cur)
            reported &= ~due
            emptyings += [(ids[i], at) for i in np.flatnonzero(due)]
        post[:, k] = cur
        over_h = np.where(cur >= 1.0, over_h + cfg.step_h, 0.0)
        fire = (over_h >= cfg.report_after_h) & ~reported
        fire &= rng.random(n) < cfg.report_prob_per_h * cfg.step_h
        for i in np.flatnonzero(fire):
            reports.append(
                CitizenReport(
                    report_id=f"r{len(reports) + 1}",
                    at=at,
                    bin_id=ids[i],
                    text="bin overflowing, bags on the pavement",
                )
            )
        reported |= fire
    hist = SimulatedHistory(
        bins=tuple(bins),
        start=start,
        step_h=cfg.step_h,
        fill_post=post,
        inc=inc,
        base_rate_per_h=base,
        weekday_factors=facs,
        reading_bin=np.zeros(0, dtype=np.intp),
        reading_h=np.zeros(0),
        reading_fill=np.zeros(0),
        reports=tuple(reports),
        emptyings=tuple(emptyings),
        index={b.bin_id: i for i, b in enumerate(bins)},
    )
    rb, rh, rf = _sensor_readings(hist, rng, cfg)
    object.__setattr__(hist, "reading_bin", rb)
    object.__setattr__(hist, "reading_h", rh)
    object.__setattr__(hist, "reading_fill", rf)
    return hist


def _sensor_readings(
    hist: SimulatedHistory, rng: np.random.Generator, cfg: SimConfig
) -> tuple[NDArray[np.intp], FloatArray, FloatArray]:
    """Noisy readings with spikes and gaps for the bins with a sensor (arrays, time order)."""
    sensors = np.array([i for i, b in enumerate(hist.bins) if b.has_sensor], dtype=np.intp)
    total_h = hist.inc.shape[1] * hist.step_h
    m = int(total_h // cfg.reading_every_h)
    if sensors.size == 0 or m == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0)
    phase = rng.uniform(0.0, cfg.reading_every_h, sensors.size)
    h = phase[:, None] + np.arange(m)[None, :] * cfg.reading_every_h  # (s, m)
    true = _true_at(hist, sensors, h)
    val = np.minimum(true, 1.0) + cfg.noise_sd * rng.standard_normal(h.shape)
    spike = rng.random(h.shape) < cfg.spike_prob
    val = np.where(spike, rng.uniform(0.0, 1.0, h.shape), val)
    val = np.clip(val, 0.0, 1.0)
    keep = (h < total_h) & ~sensor_gaps(rng, h, cfg)
    rows = np.broadcast_to(sensors[:, None], h.shape)
    return rows[keep].astype(np.intp), h[keep], val[keep]


def _true_at(hist: SimulatedHistory, rows: NDArray[np.intp], h: FloatArray) -> FloatArray:
    k = np.minimum((h / hist.step_h).astype(np.intp), hist.inc.shape[1] - 1)
    frac = h / hist.step_h - k
    r = rows[:, None]
    out: FloatArray = hist.fill_post[r, k] + frac * hist.inc[r, k]
    return out


def sensor_gaps(rng: np.random.Generator, h: FloatArray, cfg: SimConfig) -> NDArray[np.bool_]:
    """Mask of readings lost in sensor outages (each reading may start one)."""
    lost = np.zeros(h.shape, dtype=bool)
    starts = np.argwhere(rng.random(h.shape) < cfg.gap_prob)
    lengths = rng.exponential(cfg.gap_mean_h, len(starts))
    for (i, j), length in zip(starts, lengths, strict=True):
        lost[i] |= (h[i] >= h[i, j]) & (h[i] < h[i, j] + length)
    return lost
