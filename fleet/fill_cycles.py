"""One sensor's series before any fit: its emptyings (:func:`detect_emptyings`,
:func:`last_emptying_read`), a stuck sensor (:func:`stuck_sensor`), the order of its
readings, and the robust statistics the fits use (Theil–Sen slope, MAD spread).
The rules are described in :mod:`fleet.fill`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from fleet.fill_config import FillConfig, FloatArray
from fleet.forecast import StuckSensor, hours_between
from fleet.models import FillReading

_MAD_TO_SD = 1.4826
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
