"""Bins on streets trucks may drive only at some hours: their visits timed to those hours.

A pedestrian zone open to delivery traffic 06:00-11:00, a street closed to heavy goods
vehicles at night, a road closed at weekends: the street network knows each such street's
rule (``network.hours``; the provider's ``street_hours``) and never routes trucks through
it (it is local-only), so only the visits of the bins on it depend on the hour. Here each
such bin's access window is narrowed to the day's hours its street is open to trucks, less
the time to drive in from a street open at all hours and out again (and, at the end, the
time it takes to empty it); the span of the trucks' shifts chooses among several spans (a
street open 00:00-07:30 and 19:00-24:00 is driven 06:00-07:30 by a morning shift). When
every way in and out drives other timed streets, the hours of one such way hold too
(``network.reach``: a lane reached only through a lane with other hours; a street open at
all hours that trucks reach or leave only through timed streets, a yard off a pedestrian
lane). A bin whose street is closed to trucks at every hour they work that day cannot be
emptied: it is unserved with the reason (``UnservedKind.STREET_CLOSED``). Times are local
clock times.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, tzinfo

from fleet.models import Bin, Depot, DisposalSite, Downtime, Inventory, TimeWindow, clock_s
from network.hours import DAY_S, TimedStreet, spans_text
from optimiser.build import s_to_instant, window_to_s
from optimiser.kerb import named_bins
from optimiser.problem import Stop, bin_of
from optimiser.street_told import CLOSED_STREET, PlaceHours, TimedDay, told_day


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
    places : tuple of PlaceHours
        The depots and disposal sites on timed streets (or behind them) whose hours
        narrow them today.
    """

    windows: Mapping[str, tuple[int, int]]
    closed: Mapping[str, str]
    streets: Mapping[str, TimedDay]
    plan_date: date | None = None
    tz: tzinfo | None = None
    places: tuple[PlaceHours, ...] = ()

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
        its street's hours today (:attr:`windows`), each such disposal site's opening
        narrowed (``PlaceHours.opening``: closed all day when its streets are), and the
        trucks of each such depot out of service outside the span they may leave and be
        back in (``Downtime``: a plan gives them that part of their shift); the others as
        they are."""
        if not self.windows and not self.places:
            return inventory
        bins = tuple(
            dataclasses.replace(b, access_window=_window(self.windows[b.bin_id]))
            if b.bin_id in self.windows
            else b
            for b in inventory.bins
        )
        sites = {p.ref: p.opening for p in self.places if p.kind == "site"}
        return dataclasses.replace(
            inventory,
            bins=bins,
            sites=tuple(
                dataclasses.replace(s, opening=_window(sites[s.site_id]))
                if s.site_id in sites
                else s
                for s in inventory.sites
            ),
            downtimes=(*inventory.downtimes, *self._depot_downtimes(inventory)),
        )

    def place_notes(self) -> tuple[str, ...]:
        """What a plan says of the depots and disposal sites its street hours narrow."""
        return tuple(p.note() for p in self.places)

    def _depot_downtimes(self, inventory: Inventory) -> list[Downtime]:
        """Each truck of a depot on a timed street out of service outside the span it may
        leave and be back in today (the whole day when it has none)."""
        if self.plan_date is None or self.tz is None:
            return []
        out = []
        for p in self.places:
            if p.kind != "depot":
                continue
            spans = [(0, DAY_S)] if p.window is None else [(0, p.window[0]), (p.window[1], DAY_S)]
            reason = f"{p.name} is on {p.told.text}"
            out += [
                Downtime(
                    vehicle_id=v.vehicle_id,
                    start=s_to_instant(lo, plan_date=self.plan_date, tz=self.tz),
                    end=s_to_instant(hi, plan_date=self.plan_date, tz=self.tz),
                    reason=reason,
                )
                for v in inventory.vehicles
                if v.depot_id == p.ref
                for lo, hi in spans
                if hi > lo
            ]
        return out


NO_HOURS = StreetHours({}, {}, {})


def street_hours(
    bins: Sequence[Bin],
    provider: object,
    *,
    plan_date: date,
    shifts_s: tuple[int, int],
    tz: tzinfo | None = None,
    depots: Sequence[Depot] = (),
    sites: Sequence[DisposalSite] = (),
) -> StreetHours:
    """The street hours of ``bins`` (none for one placed on no street), ``depots`` and
    ``sites`` on ``plan_date``, for trucks working within ``shifts_s`` (earliest start,
    latest end, local clock seconds; ``tz``, the city's time zone, for
    ``StreetHours.window_s`` and the depots' trucks' downtimes); none for a provider
    without ``street_hours`` (straight lines know no streets)."""
    find = getattr(provider, "street_hours", None)
    if find is None or not (bins or depots or sites):
        return NO_HOURS
    points = [(b.lon, b.lat) for b in bins]
    points += [(d.lon, d.lat) for d in depots] + [(s.lon, s.lat) for s in sites]
    found: list[TimedStreet | None] = find(points)
    windows: dict[str, tuple[int, int]] = {}
    closed: dict[str, str] = {}
    streets: dict[str, TimedDay] = {}
    for b, timed in zip(bins, found, strict=False):
        told = _told(timed, plan_date)
        if timed is None or told is None:
            continue
        streets[b.bin_id] = told
        window = visit_window(b, timed, told.spans_s, shifts_s)
        if window is not None:
            windows[b.bin_id] = window
            continue
        where = f"{told.name} on {plan_date:%A %Y-%m-%d} (shifts {spans_text([shifts_s])})"
        closed[b.bin_id] = _closed_reason(
            b,
            timed,
            told.spans_s,
            shifts_s,
            f"{where} is open to trucks {told.hours} ({told.rule})",
        )
    places = _places(depots, sites, found[len(bins) :], plan_date, shifts_s)
    return StreetHours(windows, closed, streets, plan_date, tz, places)


def _told(timed: TimedStreet | None, day: date) -> TimedDay | None:
    """:func:`told_day` of ``timed``, None when there is none or it is open at every hour
    of ``day`` (a road closed at weekends, on a Monday)."""
    if timed is None:
        return None
    told = told_day(timed, day)
    return None if told.spans_s == ((0, DAY_S),) else told


def _places(
    depots: Sequence[Depot],
    sites: Sequence[DisposalSite],
    found: Sequence[TimedStreet | None],
    day: date,
    shifts_s: tuple[int, int],
) -> tuple[PlaceHours, ...]:
    """The :class:`PlaceHours` of the ``depots`` and ``sites`` (``found``: their timed
    streets, depots first) whose street hours narrow them on ``day``."""
    out = []
    kinds: list[tuple[str, str, tuple[int, int] | None, int]]
    kinds = [("depot", d.depot_id, None, 0) for d in depots]
    kinds += [("site", s.site_id, _seconds(s.opening), s.unload_s) for s in sites]
    for (kind, ref, own, service_s), timed in zip(kinds, found, strict=True):
        told = _told(timed, day)
        if timed is None or told is None:
            continue
        window = within(own, service_s, timed, told.spans_s, shifts_s)
        if kind == "depot" and window is not None and _covers(window, shifts_s):
            continue  # its trucks may leave and come back at every hour they work
        outside = None
        if window is None and kind == "site":  # its hours outside the shifts, for reasons
            outside = within(own, service_s, timed, told.spans_s, (0, DAY_S))
        out.append(PlaceHours(kind, ref, told, window, outside))
    return tuple(out)


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
    """The (earliest, latest) start of ``b``'s visit, local clock seconds (:func:`within`
    its own access window and service time)."""
    own = _seconds(b.access_window) if b.access_window is not None else None
    return within(own, b.service_s, timed, spans, shifts_s)


def within(
    own: tuple[int, int] | None,
    service_s: int,
    timed: TimedStreet,
    spans: Sequence[tuple[int, int]],
    shifts_s: tuple[int, int],
) -> tuple[int, int] | None:
    """The (earliest, latest) start of a visit of ``service_s`` at a point of ``timed``,
    local clock seconds: within one of the ``spans`` its streets are open (a truck on them
    from ``enter_s`` before to ``leave_s`` after it; a span to midnight is open past the
    day's shifts) and its ``own`` window (None: any time); of several, the one overlapping
    the trucks' ``shifts_s`` most (the earliest of equals). None when none overlaps them."""
    own = own if own is not None else (0, DAY_S - 1)
    best: tuple[int, tuple[int, int]] | None = None
    for lo, hi in spans:
        start = max(lo + math.ceil(timed.enter_s), own[0])
        out = hi if hi >= DAY_S else hi - math.ceil(timed.leave_s) - service_s
        end = min(out, own[1], DAY_S - 1)
        overlap = min(end, shifts_s[1]) - max(start, shifts_s[0])
        if end >= start and overlap >= 0 and (best is None or overlap > best[0]):
            best = (overlap, (start, end))
    return None if best is None else best[1]


def _covers(window: tuple[int, int], shifts_s: tuple[int, int]) -> bool:
    """Whether ``window`` holds the whole of ``shifts_s`` (its end the day's last second
    when the shifts run to midnight)."""
    return window[0] <= shifts_s[0] and window[1] >= min(shifts_s[1], DAY_S - 1)


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
