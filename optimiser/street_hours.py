"""Bins on streets trucks may drive only at some hours: their visits timed to those hours.

A pedestrian zone open to delivery traffic 06:00-11:00, a street closed to heavy goods
vehicles at night, a road closed at weekends: the street network knows each such street's
rule (``network.hours``; the provider's ``street_hours``) and never routes trucks through
it (it is local-only), so only the visits of the bins on it depend on the hour. Here each
such bin's access window is narrowed to the day's hours its street is open to trucks, less
the time to drive in from a street open at all hours and out again (and, at the end, the
time it takes to empty it); the span of the trucks' shifts chooses among several spans (a
street open 00:00-07:30 and 19:00-24:00 is driven 06:00-07:30 by a morning shift). A bin
on a street open at all hours that trucks reach or leave only through timed streets (a yard
off a pedestrian lane, ``network.hours.Zones``) keeps their hours alike. A bin
whose street is closed to trucks at every hour they work that day cannot be emptied: it is
unserved with the reason (``UnservedKind.STREET_CLOSED``). Times are local clock times.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, tzinfo

from fleet.models import Bin, Inventory, TimeWindow, clock_s
from network.hours import DAY_S, TimedStreet, clock, describe, spans_text
from network.language import direction_words
from optimiser.build import window_to_s
from optimiser.kerb import named_bins
from optimiser.problem import Stop, bin_of

CLOSED_STREET = "its street is closed to trucks whenever they work today"
"""The start of the reason of a bin that cannot be emptied for its street's hours."""


@dataclass(frozen=True, slots=True)
class TimedDay:
    """A timed street's hours on one day, as a plan tells them.

    Attributes
    ----------
    street : str
        Its name ("" when it has none).
    spans_s : tuple of (int, int)
        The spans it is open to trucks that day, local clock seconds since midnight
        (none: closed all day).
    rule : str
        Its tags as the sign reads (``network.hours.describe``); of a street reached through
        timed streets, theirs (each after its name when they differ).
    day : date
        The day.
    through : tuple of str
        The names of the timed streets it is reached or left through, when it is open at
        all hours itself (``network.hours.TimedStreet.through``); "" for one without.
    """

    street: str
    spans_s: tuple[tuple[int, int], ...]
    rule: str
    day: date
    through: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """As the plan's notes say it: "Hauptstraße, open to trucks 06:00-11:00 on Monday
        (motor_vehicle destination @ (Mo-Sa 06:00-11:00); access no)"."""
        return f"{self.name}, open to trucks {self.hours} on {self.day:%A} ({self.rule})"

    @property
    def name(self) -> str:
        """Its name, and the streets it is reached through: "Yard Road (reached through
        Market Lane)"."""
        own = self.street or "an unnamed street"
        if not self.through:
            return own
        return f"{own} (reached through {_names(self.through)})"

    @property
    def hours(self) -> str:
        """``06:00-11:00, 19:00-24:00``, or ``at no time``."""
        return spans_text(self.spans_s) if self.spans_s else "at no time"

    def json(self) -> dict[str, object]:
        """plan.json's ``street_open`` of a visit: ``street``, ``hours`` (``[["06:00",
        "11:00"], ...]``, local clock), ``rule`` and, for a street reached through timed
        streets, ``through`` (their names)."""
        doc: dict[str, object] = {
            "street": self.street,
            "hours": [[clock(a), clock(b)] for a, b in self.spans_s],
            "rule": self.rule,
        }
        if self.through:
            doc["through"] = list(self.through)
        return doc


def _names(streets: Sequence[str]) -> str:
    """ "Market Lane and an unnamed street"."""
    return direction_words("en").listing([s or "an unnamed street" for s in streets])


def told_day(timed: TimedStreet, day: date) -> TimedDay:
    """What a plan tells of ``timed`` on ``day``: its hours (``TimedStreet.open_on``) and
    its rule as the signs read, those of the streets it is reached through for a street
    open at all hours."""
    spans = tuple(timed.open_on(day))
    if not timed.through:
        return TimedDay(timed.street, spans, describe(timed.rule), day)
    rules = dict.fromkeys(rule for _, rule in timed.through)
    if len(rules) == 1:
        rule = describe(next(iter(rules)))
    else:
        rule = "; ".join(
            f"{name or 'an unnamed street'}: {describe(r)}" for name, r in timed.through
        )
    names = tuple(dict.fromkeys(name for name, _ in timed.through))
    return TimedDay(timed.street, spans, rule, day, names)


@dataclass(frozen=True, slots=True)
class StreetHours:
    """Bins' street hours on one day.

    Attributes
    ----------
    windows : mapping of str to (int, int)
        Bin id -> its visit's (earliest, latest) start, local clock seconds, for the bins on
        a timed street that can be emptied today (their own access window included).
    closed : mapping of str to str
        Bin id -> why it cannot be emptied today (its street closed whenever trucks work).
    streets : mapping of str to TimedDay
        Bin id -> its timed street's name and hours today.
    plan_date, tz : date and tzinfo, optional
        The day and the city's time zone (for :meth:`window_s`).
    """

    windows: Mapping[str, tuple[int, int]]
    closed: Mapping[str, str]
    streets: Mapping[str, TimedDay]
    plan_date: date | None = None
    tz: tzinfo | None = None

    def window_s(self, bin_id: str) -> tuple[int, int] | None:
        """The window of ``bin_id`` (:attr:`windows`) in the solver's seconds since local
        midnight, None for a bin on no timed street."""
        span = self.windows.get(bin_id)
        if span is None or self.plan_date is None or self.tz is None:
            return None
        return window_to_s(_window(span), plan_date=self.plan_date, tz=self.tz)

    def clamped(self, stop: Stop) -> Stop:
        """``stop`` with its window within its bin's street hours (:meth:`window_s`; those
        hours alone when its own window lies outside them): a bin moved onto a timed street
        since its stop was made."""
        street = self.window_s(bin_of(stop.ref))
        if street is None:
            return stop
        lo, hi = stop.window_s if stop.window_s is not None else street
        both = (max(lo, street[0]), min(hi, street[1]))
        return dataclasses.replace(stop, window_s=both if both[0] <= both[1] else street)

    def notes(self, bin_ids: Collection[str]) -> tuple[str, ...]:
        """What a plan routing ``bin_ids`` says of those on timed streets: a note per
        street and its hours."""
        by_street: dict[str, list[str]] = {}
        for b in self.windows:
            if b in bin_ids:
                by_street.setdefault(self.streets[b].text, []).append(b)
        return tuple(
            f"{named_bins(ids)} on {street}: "
            f"{'its visit is' if len(ids) == 1 else 'their visits are'} timed to be done "
            "within those hours"
            for street, ids in by_street.items()
        )

    def on_streets(self, stops: Iterable[Stop]) -> dict[str, TimedDay]:
        """Bin id -> its timed street and hours today (:attr:`streets`), for the bins of
        ``stops`` whose visits are timed to them."""
        return {
            bin_of(s.ref): self.streets[bin_of(s.ref)]
            for s in stops
            if bin_of(s.ref) in self.windows
        }

    def narrowed(self, inventory: Inventory) -> Inventory:
        """``inventory`` with the access window of each bin on a timed street narrowed to
        its street's hours today (:attr:`windows`); the others as they are."""
        if not self.windows:
            return inventory
        bins = tuple(
            dataclasses.replace(b, access_window=_window(self.windows[b.bin_id]))
            if b.bin_id in self.windows
            else b
            for b in inventory.bins
        )
        return dataclasses.replace(inventory, bins=bins)


NO_HOURS = StreetHours({}, {}, {})


def street_hours(
    bins: Sequence[Bin],
    provider: object,
    *,
    plan_date: date,
    shifts_s: tuple[int, int],
    tz: tzinfo | None = None,
) -> StreetHours:
    """The street hours of ``bins`` (none for one placed on no street) on
    ``plan_date``, for trucks working within ``shifts_s`` (earliest start, latest end, local
    clock seconds; ``tz``, the city's time zone, for ``StreetHours.window_s``); none for a
    provider without ``street_hours`` (straight lines know no streets)."""
    find = getattr(provider, "street_hours", None)
    if find is None or not bins:
        return NO_HOURS
    found: list[TimedStreet | None] = find([(b.lon, b.lat) for b in bins])
    windows: dict[str, tuple[int, int]] = {}
    closed: dict[str, str] = {}
    streets: dict[str, TimedDay] = {}
    for b, timed in zip(bins, found, strict=True):
        if timed is None:
            continue
        told = told_day(timed, plan_date)
        spans = told.spans_s
        if spans == ((0, DAY_S),):  # open at every hour today (a road closed at weekends)
            continue
        streets[b.bin_id] = told
        window = visit_window(b, timed, spans, shifts_s)
        if window is not None:
            windows[b.bin_id] = window
            continue
        where = f"{told.name} on {plan_date:%A %Y-%m-%d} (shifts {spans_text([shifts_s])})"
        closed[b.bin_id] = _closed_reason(
            b, timed, spans, shifts_s, f"{where} is open to trucks {told.hours} ({told.rule})"
        )
    return StreetHours(windows, closed, streets, plan_date, tz)


def _closed_reason(
    b: Bin,
    timed: TimedStreet,
    spans: Sequence[tuple[int, int]],
    shifts_s: tuple[int, int],
    street: str,
) -> str:
    """Why ``b`` (no :func:`visit_window` today) cannot be emptied: its street is closed
    whenever trucks work, or open only outside its own access window; ``street`` says the
    street, the day and its hours."""
    if b.access_window is not None and visit_window(
        dataclasses.replace(b, access_window=None), timed, spans, shifts_s
    ):
        within = f" within its access window {_text(b.access_window)}"
        return f"{CLOSED_STREET}{within}: {street}; widen its access window, or empty it by hand"
    return f"{CLOSED_STREET}: {street}; empty it on a day its street is open, or empty it by hand"


def visit_window(
    b: Bin, timed: TimedStreet, spans: Sequence[tuple[int, int]], shifts_s: tuple[int, int]
) -> tuple[int, int] | None:
    """The (earliest, latest) start of ``b``'s visit, local clock seconds: within one of
    the ``spans`` its street is open (a truck on it from ``enter_s`` before to ``leave_s``
    after its ``service_s``; a span to midnight is open past the day's shifts) and its own
    access window; of several, the one overlapping the trucks' ``shifts_s`` most (the
    earliest of equals). None when none overlaps them."""
    own = _seconds(b.access_window) if b.access_window is not None else (0, DAY_S - 1)
    best: tuple[int, tuple[int, int]] | None = None
    for lo, hi in spans:
        start = max(lo + math.ceil(timed.enter_s), own[0])
        out = hi if hi >= DAY_S else hi - math.ceil(timed.leave_s) - b.service_s
        end = min(out, own[1], DAY_S - 1)
        overlap = min(end, shifts_s[1]) - max(start, shifts_s[0])
        if end >= start and overlap >= 0 and (best is None or overlap > best[0]):
            best = (overlap, (start, end))
    return None if best is None else best[1]


def _text(w: TimeWindow | None) -> str:
    return "" if w is None else f"{w.start:%H:%M}-{w.end:%H:%M}"


def _seconds(w: TimeWindow) -> tuple[int, int]:
    return (clock_s(w.start), clock_s(w.end))


def _window(span: tuple[int, int]) -> TimeWindow:
    """A local window from clock seconds (the day's last second for its end)."""
    start, end = (min(s, DAY_S - 1) for s in span)
    return TimeWindow(_time(start), _time(end))


def _time(seconds: int) -> time:
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)
