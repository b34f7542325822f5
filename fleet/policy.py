"""Collection policy: which bins must, may or need not be collected on a plan date.

Rules, in order (the first that fires gives the action and the reason):

1. **MUST, citizen report**: an overflow report for the bin, after its last known emptying
   and not after ``collect_at``.
2. **MUST, forecast**: the expected fill at ``next_opportunity`` (the next time a truck
   taking the bin's stream could come if we skip today) is >= ``must_fill``. A bin whose
   stream no truck takes, or whose trucks are all out of service until further notice or
   beyond ``OPPORTUNITY_HORIZON_DAYS`` (``fleet.models.next_opportunities``), has none: it is
   a MUST bin, collected today when a truck can take it (the last chance), else for routing
   to report unserved.
3. **MUST, risk**: the probability that the fill is >= 1.0 at ``next_opportunity`` (normal
   band of the forecast) is >= ``must_risk``.
4. **MAY**: the expected fill at ``collect_at`` is >= ``may_fill``. Its prize is
   ``prize_base + prize_per_fill * min(fill, 1) + prize_per_risk * risk`` in cost units (the
   currency of ``Vehicle.cost_per_km`` / ``cost_per_hour``): collecting a full bin that would
   otherwise risk overflowing is worth up to ``prize_base + prize_per_fill + prize_per_risk``.
5. **SKIP** otherwise.

Deadlines: a MUST or MAY bin whose overflow probability reaches ``due_risk`` within
``DUE_HORIZON_H`` hours after ``collect_at`` gets ``due_at`` (that time), so that routing
passes before it overflows with a margin for the forecast's error. A bin already past that
risk at ``collect_at`` but not yet expected to overflow gets its expected overflow time.

Releases: a MUST bin that, emptied at ``collect_at``, would reach ``due_risk`` again before
the next opportunity gets ``release_at``, the earliest emptying that lasts until then (and
``refill_fraction``, what a visit after it may find: the fill at the release or at
``collect_until``, whichever is later, of the bin emptied at ``collect_at``). Routing visits
it after the release, or twice when the release comes well after the deadline
(``optimiser.build.timed_stops``).

Loads: ``expected_volume_l = min(fill at load time, 1) * capacity_l`` (an overflowing bin
loads its capacity; bags beside it are not counted) and
``expected_weight_kg = expected_volume_l * bin.density``. The load time is the latest time
the bin may be collected: its deadline ``due_at``, else ``collect_until`` (the end of the
day's shifts), so that a truck is never planned with less waste than it finds because the
bins went on filling during the morning. Without ``collect_until`` it is ``collect_at``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from fleet.errors import FleetDataError
from fleet.fill import match_reports, valid_reports
from fleet.forecast import FillModel, hours_after, hours_between
from fleet.models import (
    MAX_COST,
    OPPORTUNITY_HORIZON_DAYS,
    Action,
    Bin,
    BinDecision,
    CitizenReport,
    taker_key,
)

DUE_HORIZON_H = 24.0  # deadlines (``BinDecision.due_at``) are set within this many hours
MAX_DAYS_UNTIL_NEXT = 366.0  # CollectionPolicy.days_until_next: at most a year


def _fmt_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def _pct_below(value: float, limit: float) -> str:
    """``value`` as a percentage that reads below ``limit`` (it is): whole, or to a tenth
    rounded down when whole it would read as the limit (49.9 %, not 50 %, under 50 %)."""
    whole = f"{value:.0%}"
    if value >= limit or whole != f"{limit:.0%}":
        return whole
    return f"{math.floor(value * 1000) / 10:.1f}%"


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionPolicy:
    """Thresholds of the collection decision (fill values are fractions of the bin).

    Attributes
    ----------
    must_fill : float
        Expected fill at the next opportunity that makes a bin MUST (default 0.9).
    must_risk : float
        Overflow probability at the next opportunity that makes a bin MUST (default 0.3).
    may_fill : float
        Expected fill at the collection time that makes a bin MAY (default 0.5).
    days_until_next : float
        Days from the collection time to the next opportunity when none is given (default 1).
        A day's plan (``optimiser.daily``) takes the first moment from then that a truck
        taking the bin's stream is on a later day's shift and in service
        (``fleet.models.next_opportunities``).
    due_risk : float
        Overflow probability at a bin's deadline ``due_at`` (default 0.2; 0.5 puts the
        deadline at the expected overflow time, with no margin).
    releases : bool
        Whether bins that refill faster than the gap to the next opportunity get
        ``release_at`` (a late visit, or a second one that day); default True.
    prize_base, prize_per_fill, prize_per_risk : float
        Prize of a MAY bin, cost units (see the module docstring).
    report_match_m : float
        Reports with a location but no bin id match the nearest bin within this distance.
    """

    must_fill: float = 0.9
    must_risk: float = 0.3
    may_fill: float = 0.5
    days_until_next: float = 1.0
    due_risk: float = 0.2
    releases: bool = True
    prize_base: float = 0.0
    prize_per_fill: float = 10.0
    prize_per_risk: float = 40.0
    report_match_m: float = 50.0

    def __post_init__(self) -> None:
        if not 0.0 < self.may_fill <= self.must_fill:
            raise FleetDataError(
                f"CollectionPolicy: need 0 < may_fill <= must_fill, got may_fill="
                f"{self.may_fill}, must_fill={self.must_fill}"
            )
        if not 0.0 < self.must_risk <= 1.0:
            raise FleetDataError(
                f"CollectionPolicy: must_risk must be in (0, 1], got {self.must_risk}"
            )
        if not 0.0 < self.due_risk < 1.0:
            raise FleetDataError(
                f"CollectionPolicy: due_risk must be in (0, 1), got {self.due_risk}"
            )
        if not math.isfinite(self.must_fill):
            raise FleetDataError(
                f"CollectionPolicy: must_fill must be a finite fill, got {self.must_fill}"
            )
        if not 0 < self.days_until_next <= MAX_DAYS_UNTIL_NEXT:
            raise FleetDataError(
                f"CollectionPolicy: days_until_next must be > 0 and <= {MAX_DAYS_UNTIL_NEXT} "
                f"(a year), got {self.days_until_next}"
            )
        prizes = (self.prize_base, self.prize_per_fill, self.prize_per_risk)
        if not all(0 <= p <= MAX_COST for p in prizes):
            raise FleetDataError(
                f"CollectionPolicy: prize_base, prize_per_fill and prize_per_risk must be in "
                f"0..{MAX_COST:g} (currency units), got {prizes}"
            )
        if not (math.isfinite(self.report_match_m) and self.report_match_m >= 0):
            raise FleetDataError(
                "CollectionPolicy: report_match_m must be a finite distance >= 0 (metres), "
                f"got {self.report_match_m}"
            )

    def next_opportunity_after(self, collect_at: datetime) -> datetime:
        """``collect_at + days_until_next`` days."""
        return collect_at + timedelta(days=self.days_until_next)

    def prize(self, fill: float, risk: float) -> float:
        """Prize of collecting a bin with expected ``fill`` and overflow probability ``risk``."""
        return self.prize_base + self.prize_per_fill * min(fill, 1.0) + self.prize_per_risk * risk

    def decide(
        self,
        bins: Sequence[Bin],
        models: Mapping[str, FillModel],
        *,
        collect_at: datetime,
        collect_until: datetime | None = None,
        next_opportunity: datetime | Mapping[str, datetime | None] | None = None,
        reports: Iterable[CitizenReport] = (),
    ) -> tuple[BinDecision, ...]:
        """One :class:`BinDecision` per bin, in the order of ``bins``.

        ``collect_at`` is the start of the day's collection (the reference of the rules),
        ``collect_until`` its end (the load time of bins without a deadline; default
        ``collect_at``). ``next_opportunity`` is one time for every bin (default
        :meth:`next_opportunity_after` ``collect_at``) or one per stream: a bin whose stream
        is not in it has no truck to collect it, one whose stream maps to None no truck in
        service within ``OPPORTUNITY_HORIZON_DAYS`` (both MUST bins). Raises
        :class:`FleetDataError` for a bin without a model or naive times.
        """
        if isinstance(next_opportunity, Mapping):
            by_stream: Mapping[str, datetime | None] | None = next_opportunity
            nexts = [t for t in next_opportunity.values() if t is not None]
        else:
            by_stream = None
            nexts = [next_opportunity or self.next_opportunity_after(collect_at)]
        for at in (collect_at, collect_until, *nexts):
            if at is not None and (at.tzinfo is None or at.utcoffset() is None):
                raise FleetDataError(f"time {at.isoformat()} has no time zone; add an offset")
        if any(nxt <= collect_at for nxt in nexts):
            raise FleetDataError("next_opportunity must be after collect_at")
        until = collect_until or collect_at
        if until < collect_at:
            raise FleetDataError("collect_until must not be before collect_at")
        missing = [b.bin_id for b in bins if b.bin_id not in models]
        if missing:
            raise FleetDataError(
                f"no fill model for bin(s) {', '.join(missing[:5])}; pass every inventory bin "
                "to fleet.fill.estimate_models"
            )
        by_bin, _ = match_reports(bins, reports, self.report_match_m)
        return tuple(
            self._decide_one(
                b,
                models[b.bin_id],
                collect_at,
                until,
                nexts[0] if by_stream is None else by_stream.get(taker_key(b.stream, b.needs)),
                by_bin.get(b.bin_id, ()),
                "" if by_stream is None else _without_next(b, by_stream),
            )
            for b in bins
        )

    def _decide_one(
        self,
        b: Bin,
        model: FillModel,
        collect_at: datetime,
        until: datetime,
        nxt: datetime | None,
        reports: Iterable[CitizenReport],
        without_next: str,
    ) -> BinDecision:
        fill = model.fill_at(collect_at).expected
        due = self.due_at(model, collect_at)
        load = model.fill_at(min(due, until) if due is not None else until).expected
        valid = valid_reports(model, reports, collect_at)
        if valid:
            why = f"citizen report {valid[-1].report_id}: overflowing"
            return bin_decision(b, Action.MUST, fill, why, load=load)
        if nxt is None:
            return bin_decision(b, Action.MUST, fill, without_next, due_at=due, load=load)
        next_fill = model.fill_at(nxt).expected
        when = f"by {_fmt_time(nxt)} (next opportunity)"
        risk = model.prob_over(nxt)
        if next_fill >= self.must_fill or risk >= self.must_risk:
            why = (
                f"forecast {next_fill:.0%}"
                if next_fill >= self.must_fill
                else f"overflow risk {risk:.0%}"
            )
            release, refill = self.release_at(model, collect_at, nxt, until)
            if release is not None:
                why += (
                    f"; fills again by {_fmt_time(nxt)} unless emptied after {_fmt_time(release)}"
                )
            must = bin_decision(b, Action.MUST, fill, f"{why} {when}", due_at=due, load=load)
            return replace(must, release_at=release, refill_fraction=refill)
        at = _fmt_time(collect_at)
        if fill >= self.may_fill:
            below = _pct_below(risk, self.must_risk)
            reason = f"forecast {fill:.0%} at {at}, overflow risk {below} {when}"
            prize = self.prize(fill, risk)
            return bin_decision(b, Action.MAY, fill, reason, prize, due_at=due, load=load)
        below = _pct_below(fill, self.may_fill)
        reason = f"forecast {below} at {at} below may_fill {self.may_fill:.0%}"
        return bin_decision(b, Action.SKIP, fill, reason)

    def release_at(
        self,
        model: FillModel,
        collect_at: datetime,
        nxt: datetime,
        collect_until: datetime | None = None,
    ) -> tuple[datetime | None, float]:
        """Earliest emptying after which the bin stays below ``due_risk`` until ``nxt``, and
        the load of a visit after it: the expected fill of the bin emptied at ``collect_at``,
        at the release or at ``collect_until`` (the latest visit), whichever is later.
        ``(None, 0.0)`` when an emptying at ``collect_at`` already lasts (the bin fills
        slower than that gap)."""
        if not self.releases:
            return None, 0.0
        fresh = model.emptied(collect_at)
        horizon_h = hours_between(collect_at, nxt)
        full = fresh.risk_time(collect_at, self.due_risk, horizon_h=horizon_h)
        if full is None or full >= nxt:
            return None, 0.0
        lasts = fresh.effective_hours(np.array([hours_between(collect_at, full)]))[0]
        release = hours_after(collect_at, _lasting_from(fresh, horizon_h, float(lasts)))
        latest = release if collect_until is None else max(release, collect_until)
        return release, fresh.fill_at(latest).expected

    def due_at(self, model: FillModel, collect_at: datetime) -> datetime | None:
        """When the overflow probability reaches ``due_risk``, within ``DUE_HORIZON_H`` hours
        after ``collect_at`` (None otherwise).

        A bin already past that risk gets its expected overflow time; a bin already expected
        to be full at ``collect_at`` has no deadline left to keep.
        """
        due = model.risk_time(collect_at, self.due_risk, horizon_h=DUE_HORIZON_H)
        if due is not None and due <= collect_at:
            due = model.overflow_time(collect_at, horizon_h=DUE_HORIZON_H)
        return due if due is not None and due > collect_at else None


def _lasting_from(fresh: FillModel, horizon_h: float, lasts: float) -> float:
    """Hours after ``fresh``'s anchor from which no more than ``lasts`` weekday-weighted
    hours are left until ``horizon_h`` (a 15-minute grid, interpolated): the earliest
    emptying that lasts until then, on the days it has to last (a bin fills faster on a
    busy day than over the quiet one an emptying at the anchor lasts through)."""
    grid = np.arange(0.0, horizon_h + 0.25, 0.25)
    left = fresh.effective_hours(np.array([horizon_h]))[0] - fresh.effective_hours(grid)
    k = int(np.flatnonzero(left <= lasts)[0])
    if k == 0:
        return 0.0
    l0, l1 = float(left[k - 1]), float(left[k])
    frac = (l0 - lasts) / (l0 - l1) if l0 > l1 else 1.0
    return float(grid[k - 1] + frac * (grid[k] - grid[k - 1]))


def bin_decision(
    b: Bin,
    action: Action,
    fill: float,
    reason: str,
    prize: float = 0.0,
    *,
    due_at: datetime | None = None,
    load: float | None = None,
) -> BinDecision:
    """A decision at ``fill`` (fraction of the bin) with the loads of ``load`` (default
    ``fill``): litres capped at the bin's capacity, kg from its density."""
    volume = min(max(fill if load is None else load, 0.0), 1.0) * b.capacity_l
    return BinDecision(
        bin_id=b.bin_id,
        action=action,
        expected_fill_fraction=fill,
        expected_volume_l=volume,
        expected_weight_kg=volume * b.density,
        prize=prize,
        reason=reason,
        due_at=due_at,
    )


def _without_next(b: Bin, by_stream: Mapping[str, datetime | None]) -> str:
    """Why bin ``b`` has no next opportunity in ``by_stream`` (when it has none): no truck
    takes its stream (with the equipment it needs), or none is in service in time."""
    stream, kit = b.stream, ", ".join(sorted(b.needs))
    if taker_key(stream, b.needs) not in by_stream:
        if stream in by_stream and b.needs:
            return f"no truck taking stream {stream!r} has {kit}: no next opportunity"
        return f"no truck takes stream {stream!r}: no next opportunity"
    return (
        f"no truck taking stream {stream!r}{f' with {kit}' if kit else ''} is in service "
        f"within {OPPORTUNITY_HORIZON_DAYS} days: no next opportunity"
    )


def decide(
    bins: Sequence[Bin],
    models: Mapping[str, FillModel],
    *,
    collect_at: datetime,
    collect_until: datetime | None = None,
    next_opportunity: datetime | Mapping[str, datetime | None] | None = None,
    reports: Iterable[CitizenReport] = (),
    policy: CollectionPolicy | None = None,
) -> tuple[BinDecision, ...]:
    """:meth:`CollectionPolicy.decide` with ``policy`` (default thresholds when None)."""
    return (policy or CollectionPolicy()).decide(
        bins,
        models,
        collect_at=collect_at,
        collect_until=collect_until,
        next_opportunity=next_opportunity,
        reports=reports,
    )
