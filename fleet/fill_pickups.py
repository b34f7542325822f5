"""A bin's fill rate from the fills its trucks found (:func:`pickup_rate`, for bins without
a usable sensor; the rule is described in :mod:`fleet.fill`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from fleet.fill_config import FillConfig
from fleet.forecast import FillModel, offset_hours, utc_hours, week_axis, weekday_exposure
from fleet.models import PickupRecord

PICKUP_PRIOR_CYCLES = 0.5  # weight of the borrowed rate, in observed fill cycles
PICKUP_CENSORED_SPAN = 0.8  # a bin found full is assumed full after this share of its cycle
# a cycle between two pickups shorter than this tells no rate: a row logged twice, a second
# lift at once (found full 30 min after an emptying, it set a rate of 55 bins a day)
PICKUP_MIN_CYCLE_H = 1.0


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


def with_pickups(model: FillModel, pickups: Sequence[PickupRecord], cfg: FillConfig) -> FillModel:
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
