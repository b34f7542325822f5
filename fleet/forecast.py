"""The fill forecast of one bin: :class:`FillModel` and its answers.

A model is a *last known state* (``anchor_fill`` at ``anchor_at``) plus a fill rate
(``rate_per_h``, fraction of the bin per hour) modulated by 7 weekday factors (Monday
first, mean 1). Weekdays are those of the local clock of ``anchor_at`` (its UTC offset;
DST shifts of an hour are ignored). Fill fractions may exceed 1.0: the excess is overflow
volume (waste beside the bin).

The uncertainty band is ``expected +- z * sd`` with
``sd = sqrt(anchor_sd**2 + (rate_sd_per_h * W)**2)``, ``W`` the weekday-weighted hours since
the anchor; ``z`` defaults to 1.645 (a 90 % two-sided band under a normal assumption).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from fleet.errors import FleetDataError

HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 168.0
# 1970-01-01 (the Unix epoch) was a Thursday: shift so that hour 0 of the axis is a Monday.
_EPOCH_TO_MONDAY_H = 3.0 * HOURS_PER_DAY
Z_90 = 1.6448536269514722
EMPTIED_SD = 0.05  # sd of the residual fill of a bin just emptied (fraction)
_HOUR = timedelta(hours=1)


def utc_hours(at: datetime) -> float:
    """Hours since the Unix epoch (UTC) of a tz-aware instant."""
    return at.timestamp() / 3600.0


def hours_between(start: datetime, end: datetime) -> float:
    """Real hours from ``start`` to ``end`` (tz-aware), whatever their zones. Python
    subtracts two times of one ``ZoneInfo`` zone on their wall clocks: an hour off across a
    DST change."""
    return (end.astimezone(UTC) - start.astimezone(UTC)) / _HOUR


def hours_after(at: datetime, hours: float) -> datetime:
    """The instant ``hours`` real hours after ``at`` (tz-aware), in ``at``'s zone (Python
    adds to a ``ZoneInfo`` time on its wall clock: an hour off across a DST change)."""
    return (at.astimezone(UTC) + timedelta(hours=hours)).astimezone(at.tzinfo)


def offset_hours(at: datetime) -> float:
    """UTC offset of a tz-aware instant, in hours."""
    off = at.utcoffset()
    if off is None:
        raise FleetDataError(f"time {at.isoformat()} has no time zone; add an offset")
    return off.total_seconds() / 3600.0


def week_axis(utc_h: NDArray[np.float64] | float, offset_h: float) -> NDArray[np.float64]:
    """Local-clock hours on an axis whose multiples of 168 are Mondays 00:00."""
    return np.asarray(utc_h, dtype=float) + offset_h + _EPOCH_TO_MONDAY_H


def weekday_exposure(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cumulative hours spent in each weekday up to axis time ``x``: shape ``(len(x), 7)``."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    weeks = np.floor(x / HOURS_PER_WEEK)
    rem = x - weeks * HOURS_PER_WEEK
    starts = np.arange(7) * HOURS_PER_DAY
    within = np.clip(rem[:, None] - starts[None, :], 0.0, HOURS_PER_DAY)
    out: NDArray[np.float64] = weeks[:, None] * HOURS_PER_DAY + within
    return out


@dataclass(frozen=True, slots=True)
class FillForecast:
    """Forecast fill (fractions; > 1.0 means overflowing) at ``at`` with its band."""

    at: datetime
    expected: float
    low: float
    high: float
    sd: float


@dataclass(frozen=True, slots=True)
class OverflowWindow:
    """When the fill is predicted to reach a level: expected, earliest and latest (band)."""

    level: float
    expected: datetime | None
    early: datetime | None
    late: datetime | None


@dataclass(frozen=True, slots=True)
class StuckSensor:
    """A level sensor that repeats one value: its readings after ``since`` are not used.

    Attributes
    ----------
    since : datetime
        The first reading of the value repeated since (tz-aware): the last one used.
    fill : float
        The value repeated (fraction of the bin).
    readings : int
        Readings of that value from ``since`` on (the first included).
    last_at : datetime
        The last of them, :data:`fleet.fill.STUCK_AFTER_H` hours or more after ``since``.
    """

    since: datetime
    fill: float
    readings: int
    last_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorOffset:
    """A level sensor that reads its bin off the fills its crews found, pickup after
    pickup (mounted askew, or set to another bin's depth): ``fill`` is added to its
    readings before they are used.

    Attributes
    ----------
    fill : float
        The median of fill found less fill read (grown to the pickup at the bin's rate), in
        fractions of the bin: > 0 when the sensor reads too empty.
    pickups : int
        The pickups it is the median of (the latest with a reading soon before).
    last_at : datetime
        The latest of them (tz-aware).
    """

    fill: float
    pickups: int
    last_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FillModel:
    """Fill forecast of one bin from its last known state.

    Attributes
    ----------
    bin_id : str
        The bin.
    anchor_at : datetime
        Time of the last known state (tz-aware).
    anchor_fill : float
        Fill fraction at ``anchor_at`` (>= 0; > 1 when overflowing).
    anchor_sd : float
        Standard deviation of ``anchor_fill`` (fraction).
    rate_per_h : float
        Mean fill rate over a week, fraction of the bin per hour (>= 0).
    rate_sd_per_h : float
        Standard deviation of the rate, fraction per hour.
    weekday_factors : tuple of 7 float
        Rate multipliers Monday..Sunday (mean 1).
    source : str
        Where the rate comes from: "sensor", "street", "stream", "global" or "default".
    n_readings : int
        Readings used.
    last_emptying_at : datetime or None
        Last known (detected or reported) emptying.
    z : float
        Band half-width in standard deviations.
    stuck : StuckSensor or None
        The bin's sensor repeats one value: the readings after ``stuck.since`` were left out.
    offset : SensorOffset or None
        The bin's sensor reads off what its crews find: its readings were corrected by it.
    """

    bin_id: str
    anchor_at: datetime
    anchor_fill: float
    anchor_sd: float
    rate_per_h: float
    rate_sd_per_h: float
    weekday_factors: tuple[float, ...] = (1.0,) * 7
    source: str = "sensor"
    n_readings: int = 0
    last_emptying_at: datetime | None = None
    z: float = Z_90
    stuck: StuckSensor | None = None
    offset: SensorOffset | None = None

    def __post_init__(self) -> None:
        rec = f"fill model of bin {self.bin_id!r}"
        if self.anchor_at.tzinfo is None or self.anchor_at.utcoffset() is None:
            raise FleetDataError(f"{rec}: anchor_at has no time zone; add an offset")
        if len(self.weekday_factors) != 7 or min(self.weekday_factors) < 0:
            raise FleetDataError(f"{rec}: weekday_factors must be 7 values >= 0 (Mon..Sun)")
        vals = (self.anchor_fill, self.anchor_sd, self.rate_per_h, self.rate_sd_per_h, self.z)
        if not all(math.isfinite(v) and v >= 0 for v in vals):
            raise FleetDataError(f"{rec}: fill, rate and their spreads must be finite and >= 0")

    def emptied(self, at: datetime, sd: float = EMPTIED_SD) -> FillModel:
        """The same bin emptied at ``at`` (tz-aware): fill 0 then (sd ``sd``), same rate."""
        return replace(self, anchor_at=at, anchor_fill=0.0, anchor_sd=sd, last_emptying_at=at)

    # ------------------------------------------------------------------ core arrays

    def effective_hours(self, delta_h: NDArray[np.float64]) -> NDArray[np.float64]:
        """Weekday-weighted hours from the anchor to ``anchor + delta_h`` (delta >= 0)."""
        off = offset_hours(self.anchor_at)
        x0 = week_axis(utc_hours(self.anchor_at), off)
        d = np.maximum(np.atleast_1d(np.asarray(delta_h, dtype=float)), 0.0)
        exp = weekday_exposure(x0 + d) - weekday_exposure(x0)
        out: NDArray[np.float64] = exp @ np.asarray(self.weekday_factors, dtype=float)
        return out

    def expected_and_sd(
        self, delta_h: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Expected fill and its sd at ``anchor + delta_h`` hours (arrays)."""
        w = self.effective_hours(delta_h)
        expected = self.anchor_fill + self.rate_per_h * w
        sd = np.sqrt(self.anchor_sd**2 + (self.rate_sd_per_h * w) ** 2)
        return expected, sd

    def _delta_h(self, at: datetime) -> float:
        if at.tzinfo is None or at.utcoffset() is None:
            raise FleetDataError(f"time {at.isoformat()} has no time zone; add an offset")
        return hours_between(self.anchor_at, at)

    # ------------------------------------------------------------------ answers

    def fill_at(self, at: datetime) -> FillForecast:
        """Forecast fill at ``at``; times before the anchor give the anchor state."""
        e, s = self.expected_and_sd(np.array([self._delta_h(at)]))
        exp, sd = float(e[0]), float(s[0])
        return FillForecast(at, exp, max(0.0, exp - self.z * sd), exp + self.z * sd, sd)

    def prob_over(self, at: datetime, level: float = 1.0) -> float:
        """Probability (normal approximation) that the fill at ``at`` is >= ``level``."""
        f = self.fill_at(at)
        if f.sd <= 0:
            return 1.0 if f.expected >= level else 0.0
        return 0.5 * math.erfc((level - f.expected) / (f.sd * math.sqrt(2.0)))

    def overflow_window(
        self, after: datetime, level: float = 1.0, *, horizon_h: float = 60 * 24.0
    ) -> OverflowWindow:
        """First times at or after ``after`` when the expected/high/low fill reach ``level``.

        ``early`` uses the upper band, ``late`` the lower band; None when not reached within
        ``horizon_h`` hours (default 60 days). Resolution is 15 minutes.
        """
        exp, early, late = self._first_reach(after, level, horizon_h, (0.0, self.z, -self.z))
        return OverflowWindow(level, exp, early, late)

    def risk_time(
        self, after: datetime, risk: float, level: float = 1.0, *, horizon_h: float = 60 * 24.0
    ) -> datetime | None:
        """First time at or after ``after`` when ``prob_over(t, level) >= risk``.

        ``risk`` 0.5 gives the expected time; smaller values come earlier (a margin for the
        forecast's error). None when not reached within ``horizon_h`` hours; 15-minute grid.
        """
        if not 0.0 < risk < 1.0:
            raise FleetDataError(f"risk must be in (0, 1), got {risk}")
        z = NormalDist().inv_cdf(1.0 - risk)
        return self._first_reach(after, level, horizon_h, (z,))[0]

    def _first_reach(
        self, after: datetime, level: float, horizon_h: float, shifts: tuple[float, ...]
    ) -> tuple[datetime | None, ...]:
        """For each ``z`` of ``shifts``: first time ``expected + z * sd`` reaches ``level``."""
        start = max(self._delta_h(after), 0.0)
        grid = start + np.arange(0.0, horizon_h + 0.25, 0.25)
        e, s = self.expected_and_sd(grid)
        base = self.anchor_at

        def cross(curve: NDArray[np.float64]) -> datetime | None:
            hit = np.flatnonzero(curve >= level)
            if hit.size == 0:
                return None
            k = int(hit[0])
            if k == 0:
                return max(after, base)
            c0, c1 = float(curve[k - 1]), float(curve[k])
            frac = (level - c0) / (c1 - c0) if c1 > c0 else 1.0
            return hours_after(base, float(grid[k - 1] + frac * (grid[k] - grid[k - 1])))

        return tuple(cross(e + z * s) for z in shifts)

    def overflow_time(
        self, after: datetime, level: float = 1.0, *, horizon_h: float = 60 * 24.0
    ) -> datetime | None:
        """Expected time the fill reaches ``level`` at or after ``after`` (None: not in horizon)."""
        return self.overflow_window(after, level, horizon_h=horizon_h).expected
