"""The unit conversions of :mod:`optimiser.build` (the only ones): clock times and instants
-> seconds since local midnight of the plan date, counted as elapsed time in ``tz`` (a day
with a DST change keeps real durations), and back; currency -> integer cents; litres and kg
-> integers, rounded up.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fleet.models import (
    TimeWindow,
)

CENTS = 100
EPS = 1e-9


def clock_to_s(t: time, *, plan_date: date, tz: tzinfo) -> int:
    """Seconds elapsed from local midnight of ``plan_date`` to local clock time ``t``.

    A time the clocks skip (spring forward: 03:30 in Helsinki on 2026-03-29) is the
    instant they skip at (04:00 there), so that later clock times never come sooner."""
    wall = datetime.combine(plan_date, t.replace(tzinfo=None))
    first, second = (
        instant_to_s(wall.replace(tzinfo=tz, fold=f), plan_date=plan_date, tz=tz) for f in (0, 1)
    )
    if second >= first:  # it exists (twice in a fall back's repeated hour: the first time)
        return first
    early, late = second, first  # skipped: the change lies between the two readings of it
    while late - early > 1:
        mid = (early + late) // 2
        at = s_to_instant(mid, plan_date=plan_date, tz=tz).replace(tzinfo=None)
        early, late = (mid, late) if at < wall else (early, mid)
    return late


def window_to_s(w: TimeWindow, *, plan_date: date, tz: tzinfo) -> tuple[int, int]:
    """A local ``TimeWindow`` as (start, end) seconds since local midnight."""
    return clock_to_s(w.start, plan_date=plan_date, tz=tz), clock_to_s(
        w.end, plan_date=plan_date, tz=tz
    )


def instant_to_s(at: datetime, *, plan_date: date, tz: tzinfo) -> int:
    """Seconds from local midnight of ``plan_date`` to the instant ``at`` (tz-aware)."""
    midnight = datetime.combine(plan_date, time(0, 0), tzinfo=tz).astimezone(UTC)
    return round((at.astimezone(UTC) - midnight).total_seconds())


def s_to_instant(seconds: float, *, plan_date: date, tz: tzinfo) -> datetime:
    """The instant ``seconds`` after local midnight of ``plan_date``, in ``tz`` (the inverse
    of :func:`instant_to_s`: elapsed time, so a day with a DST change keeps real durations)."""
    midnight = datetime.combine(plan_date, time(0, 0), tzinfo=tz).astimezone(UTC)
    return (midnight + timedelta(seconds=seconds)).astimezone(tz)


def wall_s(seconds: int, *, plan_date: date, tz: tzinfo) -> int:
    """``seconds`` elapsed since local midnight of ``plan_date`` as the seconds the local
    clock shows then (10 h in is 11:00 on a spring-forward day; a later day's hours go past
    24): what :func:`optimiser.plan.clock` shows within :func:`optimiser.plan.wall_clock`."""
    at = s_to_instant(seconds, plan_date=plan_date, tz=tz)
    wall = datetime.combine(at.date(), at.time()) - datetime.combine(plan_date, time(0))
    return round(wall.total_seconds())


def to_cents(amount: float) -> int:
    """Currency units -> integer cents."""
    return round(amount * CENTS)


def from_cents(cost: int) -> float:
    """Integer cents (the solver's cost units) -> currency units, as plans show money."""
    return cost / CENTS


def round_up(quantity: float) -> int:
    """A non-negative quantity (litres, kg) rounded up to an integer (float noise ignored)."""
    return max(0, math.ceil(quantity - EPS))
