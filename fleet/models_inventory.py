"""The inventory (:class:`Inventory`: bins, depots, sites, vehicles and downtimes, checked
as a whole) and its service days: a day's collection period, and each stream's next trucks
in service (part of :mod:`fleet.models`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from fleet.errors import FleetDataError
from fleet.models_assets import Bin, Depot, DisposalSite, Vehicle
from fleet.models_records import Downtime

OPPORTUNITY_HORIZON_DAYS = 14  # a stream's next truck in service is looked for this far ahead


def _unique(kind: str, ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise FleetDataError(f"{kind} id {i!r} appears twice; ids must be unique")
        seen.add(i)


@dataclass(frozen=True, slots=True, kw_only=True)
class Inventory:
    """Everything that exists: bins, depots, vehicles and disposal sites (validated), and
    the trucks' downtimes (out of service)."""

    bins: tuple[Bin, ...]
    depots: tuple[Depot, ...]
    vehicles: tuple[Vehicle, ...]
    sites: tuple[DisposalSite, ...]
    downtimes: tuple[Downtime, ...] = ()

    def __post_init__(self) -> None:
        _unique("bin", (b.bin_id for b in self.bins))
        _unique("depot", (d.depot_id for d in self.depots))
        _unique("vehicle", (v.vehicle_id for v in self.vehicles))
        _unique("disposal site", (s.site_id for s in self.sites))
        depots = {d.depot_id for d in self.depots}
        for v in self.vehicles:
            if v.depot_id not in depots:
                raise FleetDataError(
                    f"vehicle {v.vehicle_id!r}: home depot {v.depot_id!r} is not in the "
                    "inventory; add the depot or fix depot_id"
                )
        vehicles = {v.vehicle_id for v in self.vehicles}
        for d in self.downtimes:
            if d.vehicle_id not in vehicles:
                raise FleetDataError(
                    f"downtime of vehicle {d.vehicle_id!r}: the vehicle is not in the "
                    "inventory; add it or fix vehicle_id"
                )

    def bin(self, bin_id: str) -> Bin:
        """Return the bin with ``bin_id`` or raise ``FleetDataError``."""
        for b in self.bins:
            if b.bin_id == bin_id:
                return b
        raise FleetDataError(f"unknown bin {bin_id!r}")


def collection_period(
    inventory: Inventory, plan_date: date, tz: tzinfo
) -> tuple[datetime, datetime]:
    """The start of the earliest and the end of the latest shift on ``plan_date`` (local).

    Without vehicles, 06:00 twice. The policy's rules read the fill at the start; loads are
    planned as late as a truck may come (``fleet.policy``).
    """
    if not inventory.vehicles:
        six = _on(plan_date, time(6, 0), tz)
        return six, six
    first = min(v.shift.start for v in inventory.vehicles)
    last = max(v.shift.end for v in inventory.vehicles)
    return _on(plan_date, first, tz), _on(plan_date, last, tz)


def next_opportunities(
    inventory: Inventory,
    plan_date: date,
    tz: tzinfo,
    *,
    gap: timedelta,
    horizon_days: int = OPPORTUNITY_HORIZON_DAYS,
) -> dict[str, datetime | None]:
    """The next opportunity of each stream after ``plan_date``: the earliest moment a truck
    taking it comes and is in service (``inventory.downtimes``), by stream.

    A truck comes at a real opportunity: during its shift on a day after ``plan_date``
    (local), no earlier than its shift start on ``plan_date`` plus ``gap`` (the policy's
    days until the next collection), on one of the ``horizon_days`` days from the day that
    falls on (the day after ``plan_date`` at the soonest: with ``gap`` 1 day, up to
    ``plan_date + horizon_days``; with 21 days, from day 21 to day 34). Its first candidate
    is the first moment of a shift from then (``gap`` 1.1 with a 06:00-14:00 shift:
    08:24 the next day; 1.5: 06:00 the day after, as 18:00 is past the shift; 0.5: 06:00
    the next day); the next ones the starts of its later shifts. It comes at a candidate
    when it is in service then; out of service then (a partial downtime), it comes when it
    is back, if that is before the end of that shift, else at a later candidate. A truck out
    until further notice at a candidate never comes. A stream whose trucks do not come up
    to the horizon (out until further notice, or longer) maps to None: it has no next
    opportunity (collecting it today is the last chance); a stream no truck takes is
    absent. Without downtimes and with a whole number of days as ``gap``, a stream's is its
    earliest shift start that many days after ``plan_date``. The bins that need equipment
    (``Bin.needs``) have their own keys (:func:`taker_key`: their stream and equipment):
    the next opportunity of a truck taking the stream and carrying it.
    """
    out: dict[str, datetime | None] = {}
    needs = {(b.stream, b.needs) for b in inventory.bins if b.needs}
    for v in inventory.vehicles:
        downs = [d for d in inventory.downtimes if d.vehicle_id == v.vehicle_id]
        comes = _comes(v, downs, plan_date, tz, gap, horizon_days)
        keys = [*v.streams]
        keys += [taker_key(s, n) for s, n in needs if s in v.streams and n <= v.equipment]
        for key in keys:
            out[key] = min((t for t in (out.get(key), comes) if t is not None), default=None)
    return out


def taker_key(stream: str, needs: frozenset[str] = frozenset()) -> str:
    """The key of the trucks that may empty a bin of ``stream`` needing ``needs`` in
    :func:`next_opportunities`: the stream, and the equipment after ``+`` when it needs
    some (``residual+crane``)."""
    return "+".join((stream, *sorted(needs)))


def _comes(
    v: Vehicle,
    downs: Sequence[Downtime],
    plan_date: date,
    tz: tzinfo,
    gap: timedelta,
    horizon_days: int,
) -> datetime | None:
    """When truck ``v`` next comes (:func:`next_opportunities`), local; None: not in the
    ``horizon_days`` days from the day it is due."""
    earliest = _on(plan_date, v.shift.start, tz) + gap
    due = max(earliest.date(), plan_date + timedelta(days=1))
    for k in range((due - plan_date).days, (due - plan_date).days + horizon_days):
        day = plan_date + timedelta(days=k)
        start, end = _on(day, v.shift.start, tz), _on(day, v.shift.end, tz)
        at = max(start, earliest)
        if at >= end and at > start:  # this day's shift is over by then
            continue
        back = _back_in_service(at, downs)
        if back is None:
            return None
        if back == at or back < end:
            return back.astimezone(tz)
    return None


def _back_in_service(at: datetime, downs: Sequence[Downtime]) -> datetime | None:
    """The first instant from ``at`` that no downtime of ``downs`` covers; None when one
    until further notice does."""
    while True:
        down = next((d for d in downs if d.start <= at and (d.end is None or d.end > at)), None)
        if down is None:
            return at
        if down.end is None:
            return None
        at = down.end


def _on(plan_date: date, at: time, tz: tzinfo) -> datetime:
    """The instant of the local clock time ``at`` on ``plan_date`` in ``tz``."""
    return datetime.combine(plan_date, at, tzinfo=tz)
