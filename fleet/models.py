"""Frozen domain records: what exists in the world.

Coordinates are WGS84 degrees, always given as ``lon`` then ``lat``. Clock times of day
(``datetime.time``) are local to the city; instants (``datetime.datetime``) are tz-aware.
Units are in the field names: ``_l`` litres, ``_kg`` kilograms, ``_s`` seconds, ``_m`` metres.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from fleet.errors import FleetDataError

DENSITY_RANGE_KG_PER_L = (0.01, 5.0)  # plausible bulk densities of waste in a bin

DEFAULT_STREAM = "residual"
MAX_FILL = 1.5  # the highest fill a reading may give (an overflowing bin's heap)
OPPORTUNITY_HORIZON_DAYS = 14  # a stream's next truck in service is looked for this far ahead
# Typical loose bulk density of waste streams in bins (kg per litre).
STREAM_DENSITY_KG_PER_L: dict[str, float] = {
    "residual": 0.10,
    "organic": 0.40,
    "food": 0.55,
    "paper": 0.06,
    "plastic": 0.03,
    "packaging": 0.04,
    "glass": 0.30,
    "recycling": 0.05,
}


def _check_lon_lat(record: str, lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise FleetDataError(f"{record}: lon/lat must be finite numbers, got ({lon}, {lat})")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        fix = (
            "they look like projected coordinates (metres, e.g. UTM or EPSG:3857), not "
            "degrees; export them as WGS84 longitude/latitude (EPSG:4326)"
            if abs(lon) > 180.0 and abs(lat) > 180.0
            else "check the column order (lon first, then lat)"
        )
        raise FleetDataError(f"{record}: (lon, lat) = ({lon}, {lat}) is outside WGS84 range; {fix}")


def clock_s(t: time) -> int:
    """The seconds since midnight a clock shows at ``t`` (no time zone, no DST)."""
    return t.hour * 3600 + t.minute * 60 + t.second


def check_break(rec: str, shift: TimeWindow, break_s: int, window: TimeWindow | None) -> None:
    """A break (``break_s`` seconds, starting within ``window``) must fit in the shift."""
    if break_s == 0 or window is None:
        return
    hours = f"{shift.start.isoformat()}-{shift.end.isoformat()}"
    if window.start >= shift.end or window.end < shift.start:
        raise FleetDataError(
            f"{rec}: break_window {window.start.isoformat()}-{window.end.isoformat()} lies "
            f"outside its shift {hours}; move the window into the shift"
        )
    earliest_s = max(clock_s(window.start), clock_s(shift.start))
    if earliest_s + break_s > clock_s(shift.end):
        raise FleetDataError(
            f"{rec}: a {break_s} s break starting at {max(window.start, shift.start).isoformat()} "
            f"at the earliest ends after its shift {hours}; shorten break_s or start the "
            "break_window earlier"
        )


def _check_aware(record: str, at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise FleetDataError(f"{record}: time {at.isoformat()} has no time zone; add an offset")


PAST_MIDNIGHT_FIXES: dict[str, str] = {
    "shift": "split the shift at midnight",
    "break_window": "move the break window before or after midnight, into the shift",
    "access_window": "give the hours of one day the bin can be emptied in, e.g. 00:00-06:00 "
    "or 22:00-23:59",
    "opening": "give the site's hours within one day, e.g. 00:00-06:00 or 22:00-23:59 (open "
    "day and night: 00:00-23:59)",
}
"""The fix of a window past midnight, by the field it is: a truck's shift is split, a bin's
access window or a site's opening hours are given within one day."""


def _past_midnight(start: time, end: time, fix: str) -> str:
    return (
        f"time window {start.isoformat()}-{end.isoformat()} ends before it starts; windows "
        f"past midnight are not supported: {fix}"
    )


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A daily window of local clock times, ``start`` <= ``end`` (same day); see
    :meth:`of` for one that names the fix of the field it is."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.end < self.start:
            fix = "give it within one day"
            raise FleetDataError(_past_midnight(self.start, self.end, fix))

    @classmethod
    def of(cls, start: time, end: time, field: str) -> TimeWindow:
        """The window ``start``-``end`` of the record field ``field`` (a key of
        :data:`PAST_MIDNIGHT_FIXES`: shift, break_window, access_window, opening); past
        midnight, a FleetDataError naming that field's fix."""
        if end < start:
            fix = PAST_MIDNIGHT_FIXES.get(field, "give it within one day")
            raise FleetDataError(_past_midnight(start, end, fix))
        return cls(start, end)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bin:
    """A waste container.

    Attributes
    ----------
    bin_id : str
        Unique id.
    lon, lat : float
        Position, WGS84 degrees.
    capacity_l : int
        Container volume in litres.
    stream : str
        Waste stream ("residual", "organic", "paper", ...).
    service_s : int
        Time to empty it, seconds.
    access_window : TimeWindow or None
        Local clock times when it may be emptied; None for any time in the shift.
    has_sensor : bool
        Whether it reports fill levels.
    density_kg_per_l : float or None
        Bulk density of its contents; None uses the one its weighing readings show
        (``measured_density_kg_per_l``), else the stream default.
    street : str or None
        Street name, used to borrow fill rates for bins without sensors.
    kerb_side : bool
        Whether a truck must stop with the bin on its kerb side (the right where traffic
        keeps right): a container a side-loader lifts, or a busy street the crew may not
        cross. On a two-way street the truck then passes it driving one way only; a one-way
        street is driven its one way whichever side the bin stands on.
    needs : frozenset of str
        The equipment a truck must have to empty it (``Vehicle.equipment``): "crane" for an
        underground container, "comb" for a 1100 l bin; none by default (any truck taking
        its stream).
    measured_density_kg_per_l : float or None
        Bulk density its weighing sensor's readings show (set by planning,
        :func:`fleet.density.with_measured_densities`; not an inventory column).
    """

    bin_id: str
    lon: float
    lat: float
    capacity_l: int
    stream: str = DEFAULT_STREAM
    service_s: int = 60
    access_window: TimeWindow | None = None
    has_sensor: bool = True
    density_kg_per_l: float | None = None
    street: str | None = None
    kerb_side: bool = False
    needs: frozenset[str] = frozenset()
    measured_density_kg_per_l: float | None = None

    def __post_init__(self) -> None:
        rec = f"bin {self.bin_id!r}"
        if not self.bin_id:
            raise FleetDataError("bin: bin_id must not be empty")
        _check_names(rec, "needs", self.needs)
        _check_lon_lat(rec, self.lon, self.lat)
        if self.capacity_l <= 0:
            raise FleetDataError(f"{rec}: capacity_l must be > 0, got {self.capacity_l}")
        if self.service_s < 0:
            raise FleetDataError(f"{rec}: service_s must be >= 0, got {self.service_s}")
        hi = DENSITY_RANGE_KG_PER_L[1]
        for name in ("density_kg_per_l", "measured_density_kg_per_l"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and 0 < value <= hi):
                raise FleetDataError(
                    f"{rec}: {name} must be a density of waste in kg per litre, > 0 and at "
                    f"most {hi}, got {value}" + ("; in kg/m3? divide by 1000" if value > hi else "")
                )

    @property
    def density(self) -> float:
        """Bulk density in kg per litre: the one set, else the one its weighing readings
        show, else the stream default."""
        if self.density_kg_per_l is not None:
            return self.density_kg_per_l
        if self.measured_density_kg_per_l is not None:
            return self.measured_density_kg_per_l
        return STREAM_DENSITY_KG_PER_L.get(self.stream, STREAM_DENSITY_KG_PER_L[DEFAULT_STREAM])


@dataclass(frozen=True, slots=True, kw_only=True)
class Depot:
    """Where trucks start and end their shift (lon, lat in WGS84 degrees)."""

    depot_id: str
    lon: float
    lat: float
    name: str = ""

    def __post_init__(self) -> None:
        if not self.depot_id:
            raise FleetDataError("depot: depot_id must not be empty")
        _check_lon_lat(f"depot {self.depot_id!r}", self.lon, self.lat)


@dataclass(frozen=True, slots=True, kw_only=True)
class DisposalSite:
    """A landfill, transfer station or recycling plant where trucks unload.

    ``opening`` is the local window in which a truck may start unloading; ``unload_s`` is
    the time an unload takes.
    """

    site_id: str
    lon: float
    lat: float
    streams: frozenset[str] = frozenset({DEFAULT_STREAM})
    opening: TimeWindow = field(default_factory=lambda: TimeWindow(time(0, 0), time(23, 59)))
    unload_s: int = 900
    name: str = ""

    def __post_init__(self) -> None:
        rec = f"disposal site {self.site_id!r}"
        if not self.site_id:
            raise FleetDataError("disposal site: site_id must not be empty")
        _check_lon_lat(rec, self.lon, self.lat)
        if not self.streams:
            raise FleetDataError(f"{rec}: accepts no waste stream; list at least one")
        if self.unload_s < 0:
            raise FleetDataError(f"{rec}: unload_s must be >= 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class Vehicle:
    """A collection truck.

    Attributes
    ----------
    capacity_l : int
        Loose bin volume the body holds after compaction, litres.
    capacity_kg : int
        Payload, kilograms.
    streams : frozenset of str
        Streams it may collect (one stream per trip is not enforced; mixing is allowed
        among the listed streams).
    shift : TimeWindow
        Local shift start and end; the truck leaves and returns to ``depot_id`` within it.
    break_s : int
        Driver break length, seconds; 0 for none.
    break_window : TimeWindow or None
        Window in which the break must start.
    cost_per_km, cost_per_hour, fixed_cost : float
        Operating costs (currency units).
    max_stops : int or None
        Maximum bins per day.
    max_daily_kg : int or None
        Maximum total kilograms collected per day (over all trips).
    equipment : frozenset of str
        What it carries to empty bins that need it (``Bin.needs``): "crane", "comb".
    """

    vehicle_id: str
    depot_id: str
    capacity_l: int
    capacity_kg: int
    streams: frozenset[str] = frozenset({DEFAULT_STREAM})
    shift: TimeWindow = field(default_factory=lambda: TimeWindow(time(6, 0), time(14, 0)))
    break_s: int = 0
    break_window: TimeWindow | None = None
    cost_per_km: float = 1.0
    cost_per_hour: float = 30.0
    fixed_cost: float = 0.0
    max_stops: int | None = None
    max_daily_kg: int | None = None
    equipment: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        rec = f"vehicle {self.vehicle_id!r}"
        _check_names(rec, "equipment", self.equipment)
        if not self.vehicle_id:
            raise FleetDataError("vehicle: vehicle_id must not be empty")
        if self.capacity_l <= 0 or self.capacity_kg <= 0:
            raise FleetDataError(f"{rec}: capacity_l and capacity_kg must be > 0")
        if not self.streams:
            raise FleetDataError(f"{rec}: collects no waste stream; list at least one")
        if self.break_s < 0:
            raise FleetDataError(f"{rec}: break_s must be >= 0")
        if self.break_s > 0 and self.break_window is None:
            raise FleetDataError(f"{rec}: break_s > 0 needs a break_window")
        if self.break_s == 0 and self.break_window is not None:
            raise FleetDataError(
                f"{rec}: a break_window needs break_s, the break's length in seconds (e.g. "
                "1800); leave the window out for no break"
            )
        check_break(rec, self.shift, self.break_s, self.break_window)
        if self.max_stops is not None and self.max_stops <= 0:
            raise FleetDataError(f"{rec}: max_stops must be > 0 or empty")
        if self.max_daily_kg is not None and self.max_daily_kg <= 0:
            raise FleetDataError(f"{rec}: max_daily_kg must be > 0 or empty")
        costs = (self.cost_per_km, self.cost_per_hour, self.fixed_cost)
        if not all(math.isfinite(c) and c >= 0 for c in costs):
            raise FleetDataError(
                f"{rec}: cost_per_km, cost_per_hour and fixed_cost must be finite and >= 0, "
                f"got {costs}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class FillReading:
    """One sensor reading: fill fraction 0..1 of ``bin_id`` at tz-aware time ``at``.

    ``weight_kg`` is the net weight of the contents when the sensor also weighs.
    ``fill_from_weight`` marks a fill derived from that weight (a sensor that only weighs,
    :class:`WeightReading`, read by :func:`fleet.density.fills_from_weights`): no density
    is measured from it.
    """

    bin_id: str
    at: datetime
    fill_fraction: float
    weight_kg: float | None = None
    fill_from_weight: bool = False

    def __post_init__(self) -> None:
        rec = f"reading of bin {self.bin_id!r}"
        _check_aware(rec, self.at)
        if not (math.isfinite(self.fill_fraction) and 0.0 <= self.fill_fraction <= MAX_FILL):
            raise FleetDataError(
                f"{rec} at {self.at.isoformat()}: fill_fraction {self.fill_fraction} is not in "
                f"0..{MAX_FILL:g} (give a fraction, not a percentage)"
            )
        _check_weight(rec, self.weight_kg)
        if self.fill_from_weight and self.weight_kg is None:
            raise FleetDataError(f"{rec}: a fill derived from the weight needs weight_kg")


def _check_weight(rec: str, weight_kg: float | None) -> None:
    if weight_kg is not None and not (math.isfinite(weight_kg) and weight_kg >= 0):
        raise FleetDataError(f"{rec}: weight_kg must be a finite number >= 0, got {weight_kg}")


@dataclass(frozen=True, slots=True, kw_only=True)
class WeightReading:
    """A net weight ``weight_kg`` of the contents of ``bin_id`` at tz-aware ``at`` with no
    level: a sensor that only weighs (e.g. the RFID food-waste bins of Korean cities), or
    the truck's lift scale at a pickup whose crew gave no fill. Turned into a
    :class:`FillReading` (or :class:`PickupRecord`) at the bin's density by
    :func:`fleet.density.fills_from_weights` (:func:`fleet.density.pickups_from_weights`)."""

    bin_id: str
    at: datetime
    weight_kg: float

    def __post_init__(self) -> None:
        rec = f"reading of bin {self.bin_id!r}"
        _check_aware(rec, self.at)
        _check_weight(rec, self.weight_kg)


@dataclass(frozen=True, slots=True, kw_only=True)
class PickupRecord:
    """A bin emptied by a truck, with the fill the crew recorded or the weight its lift
    scale weighed, or neither.

    ``fill_fraction`` is the share of the bin found full at ``at`` (tz-aware); 1.0 means
    full or overflowing (the true fill may have been higher); None: emptied, no fill
    recorded (the emptying still starts the bin's next fill cycle). ``weight_kg`` is the
    net weight of the waste the truck's lift scale took from the bin, when it weighs.
    ``fill_from_weight`` marks a fill derived from that weight at the bin's density (no
    fill from the crew; :func:`fleet.density.pickups_from_weights`), capped at 1.0.
    """

    bin_id: str
    at: datetime
    fill_fraction: float | None = None
    weight_kg: float | None = None
    fill_from_weight: bool = False

    def __post_init__(self) -> None:
        rec = f"pickup of bin {self.bin_id!r}"
        _check_aware(rec, self.at)
        if self.fill_fraction is None:
            if self.weight_kg is not None:
                raise FleetDataError(
                    f"{rec} at {self.at.isoformat()}: a weight and no fill; derive the fill "
                    "at the bin's density (fleet.density.pickup_of_weight)"
                )
        elif not (math.isfinite(self.fill_fraction) and 0.0 <= self.fill_fraction <= 1.0):
            raise FleetDataError(
                f"{rec} at {self.at.isoformat()}: fill_fraction {self.fill_fraction} is not in "
                "0..1 (give a fraction, not a percentage)"
            )
        _check_weight(rec, self.weight_kg)
        if self.fill_from_weight and self.weight_kg is None:
            raise FleetDataError(f"{rec}: a fill derived from the weight needs weight_kg")


@dataclass(frozen=True, slots=True, kw_only=True)
class CitizenReport:
    """A citizen's report, e.g. of an overflowing bin; names a bin or a (lon, lat) point."""

    report_id: str
    at: datetime
    text: str = ""
    bin_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    overflowing: bool = True

    def __post_init__(self) -> None:
        rec = f"citizen report {self.report_id!r}"
        _check_aware(rec, self.at)
        if self.bin_id is None and (self.lon is None or self.lat is None):
            raise FleetDataError(f"{rec}: give a bin_id or both lon and lat")
        if self.lon is not None and self.lat is not None:
            _check_lon_lat(rec, self.lon, self.lat)


@dataclass(frozen=True, slots=True, kw_only=True)
class Downtime:
    """A truck out of service (broken down, in the workshop) from ``start`` until ``end``
    (tz-aware; None: until further notice). It works only the part of its shift outside."""

    vehicle_id: str
    start: datetime
    end: datetime | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        rec = f"downtime of vehicle {self.vehicle_id!r}"
        _check_aware(rec, self.start)
        if self.end is not None:
            _check_aware(rec, self.end)
            if self.end <= self.start:
                raise FleetDataError(
                    f"{rec}: end {self.end.isoformat()} is not after start "
                    f"{self.start.isoformat()}; fix the times or leave end empty"
                )

    def covers(self, lo: datetime, hi: datetime) -> bool:
        """Whether it overlaps the instants [lo, hi)."""
        return self.start < hi and (self.end is None or self.end > lo)


def _check_names(rec: str, field_name: str, names: frozenset[str]) -> None:
    """Equipment names: each a non-empty name without ``;`` (the list separator of the
    files), not padded with spaces."""
    for name in names:
        if not isinstance(name, str) or not name.strip() or ";" in name or name != name.strip():
            raise FleetDataError(
                f"{rec}: {field_name} has {name!r}; name each piece of equipment (e.g. crane), "
                "without spaces around it or a ';'"
            )


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


class Action(StrEnum):
    """What the collection policy decided for a bin on a plan date."""

    MUST = "must"  # predicted to overflow before the next opportunity, or reported overflowing
    MAY = "may"  # worth collecting if the route passes by: optional, with a prize
    SKIP = "skip"  # not worth a visit


@dataclass(frozen=True, slots=True, kw_only=True)
class BinDecision:
    """The policy's decision for one bin at the planned collection time.

    Attributes
    ----------
    bin_id : str
        The bin.
    action : Action
        must / may / skip.
    expected_fill_fraction : float
        Forecast fill at the planned collection time (may exceed 1.0 when overflowing).
    expected_volume_l : float
        Litres to load: the fill expected at the latest time the bin may be collected that
        day (``due_at``, else the end of the shifts), capped at the bin's capacity.
    expected_weight_kg : float
        Kilograms to load.
    prize : float
        Value of collecting a MAY bin (cost units, same as vehicle costs); 0 for MUST/SKIP.
    reason : str
        Human-readable reason ("forecast overflow 2026-11-25T09:10+02:00", "citizen report").
    due_at : datetime, optional
        When the bin is forecast to reach 100 % during the collection day (tz-aware): the
        truck should come before. None when it is not expected to overflow that day, or
        already overflows when the day starts.
    release_at : datetime, optional
        For a MUST bin that fills faster than the gap to the next opportunity: empty it no
        earlier than this, so that it lasts until then. When that comes after ``due_at`` (or
        the bin is full when the day starts) the bin needs two visits that day: one by
        ``due_at`` and one from ``release_at``.
    refill_fraction : float
        Expected fill a visit after ``release_at`` may find, at the latest time it may come
        (the release or the end of the shifts), if the first emptying was at the start of
        the day (0 without a release).
    """

    bin_id: str
    action: Action
    expected_fill_fraction: float
    expected_volume_l: float
    expected_weight_kg: float
    prize: float = 0.0
    reason: str = ""
    due_at: datetime | None = None
    release_at: datetime | None = None
    refill_fraction: float = 0.0
