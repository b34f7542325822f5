"""Citizens' reports of overflowing bins: matched to the bin they name or stand nearest
(:func:`match_reports`), and applied to the bins' fill models.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from fleet.fill_config import FillConfig, FloatArray
from fleet.forecast import (
    FillModel,
    hours_between,
)
from fleet.models import Bin, CitizenReport

_EARTH_RADIUS_M = 6_371_000.0


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
