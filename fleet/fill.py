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

This module pools the bins and estimates them all (:func:`estimate_models`); its parts are
modules beside it: :mod:`fleet.fill_config` (the settings :class:`FillConfig`),
:mod:`fleet.fill_cycles` (emptyings, stuck sensors), :mod:`fleet.fill_sensor` (one
sensor's fit), :mod:`fleet.fill_pickups` (rates from the fills trucks found),
:mod:`fleet.fill_reports` (citizens' reports) and :mod:`fleet.fill_checks` (sensors to have
checked); their public names are here too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

import numpy as np

from fleet.errors import FleetDataError
from fleet.fill_checks import (
    MISREAD_DAYS,
    SENSOR_ISSUES,
    SensorCheck,
    offset_notes,
    over_read_notes,
    sensor_checks,
    sensor_offsets,
    stuck_notes,
    under_read_notes,
)
from fleet.fill_config import FillConfig, FloatArray
from fleet.fill_cycles import (
    _STALE,
    SLOPE_POINTS,
    STUCK_AFTER_H,
    _robust_sd,
    _time_order,
    detect_emptyings,
    last_emptying_read,
    median_slope,
    stuck_sensor,
)
from fleet.fill_pickups import (
    PICKUP_CENSORED_SPAN,
    PICKUP_PRIOR_CYCLES,
    pickup_rate,
    with_pickups,
)
from fleet.fill_reports import apply_reports, match_reports, nearest_bin, valid_reports
from fleet.fill_sensor import (
    LONE_HIGH_WEIGHT,
    SensorFit,
    finish_sensor_fit,
    fit_bin,
    prepare_sensor_fit,
)
from fleet.forecast import (
    FillModel,
    SensorOffset,
    StuckSensor,
)
from fleet.models import MAX_FILL, Bin, CitizenReport, FillReading, PickupRecord

__all__ = [
    "LONE_HIGH_WEIGHT",
    "MISREAD_DAYS",
    "PICKUP_CENSORED_SPAN",
    "PICKUP_PRIOR_CYCLES",
    "SENSOR_ISSUES",
    "SLOPE_POINTS",
    "STUCK_AFTER_H",
    "FillConfig",
    "SensorCheck",
    "detect_emptyings",
    "estimate_models",
    "fit_bin",
    "last_emptying_read",
    "match_reports",
    "median_slope",
    "nearest_bin",
    "offset_notes",
    "over_read_notes",
    "pickup_rate",
    "prepare_sensor_fit",
    "sensor_checks",
    "sensor_offsets",
    "stuck_notes",
    "stuck_sensor",
    "under_read_notes",
    "valid_reports",
]

POOL_MIN_DAYS = 0.5  # of data on every weekday for a bin's raw pattern to enter the pool


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
            models[b.bin_id] = with_pickups(model, found.get(b.bin_id, []), config)
        models[b.bin_id] = _apply_known_emptying(models[b.bin_id], emptied.get(b.bin_id), now)
    for bid, rs in reports.items():
        if bid in models:
            models[bid] = apply_reports(models[bid], rs, now=now, cfg=config)
    for bid, st in stuck.items():
        models[bid] = replace(models[bid], stuck=st)
    return models, pools


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
