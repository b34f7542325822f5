"""Sensors to have checked (:func:`sensor_checks`): stuck, reading too full or too empty
against the fills the crews found, or reading off them at most pickups (mounted askew:
:func:`sensor_offsets`, by which their readings are corrected).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

import numpy as np

from fleet.fill_config import FillConfig, FloatArray
from fleet.fill_cycles import _time_order
from fleet.forecast import (
    FillModel,
    SensorOffset,
    hours_between,
)
from fleet.models import FillReading, PickupRecord

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
