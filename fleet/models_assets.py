"""What a city's collection has: bins, depots, disposal sites and vehicles, with their time
windows (part of :mod:`fleet.models`).

Coordinates are WGS84 degrees, always given as ``lon`` then ``lat``. Clock times of day
(``datetime.time``) are local to the city. Units are in the field names: ``_l`` litres,
``_kg`` kilograms, ``_s`` seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import time

from fleet.errors import FleetDataError

DENSITY_RANGE_KG_PER_L = (0.01, 5.0)  # plausible bulk densities of waste in a bin

DEFAULT_STREAM = "residual"
MAX_COST = 1e6  # the most a cost or a prize may be: a truck's per km, hour or day (currency units)
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
        Operating costs (currency units, 0..``MAX_COST``).
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
        if not all(0 <= c <= MAX_COST for c in costs):
            raise FleetDataError(
                f"{rec}: cost_per_km, cost_per_hour and fixed_cost must be in 0..{MAX_COST:g} "
                f"(currency units), got {costs}"
            )


def _check_names(rec: str, field_name: str, names: frozenset[str]) -> None:
    """Equipment names: each a non-empty name without ``;`` (the list separator of the
    files), not padded with spaces."""
    for name in names:
        if not isinstance(name, str) or not name.strip() or ";" in name or name != name.strip():
            raise FleetDataError(
                f"{rec}: {field_name} has {name!r}; name each piece of equipment (e.g. crane), "
                "without spaces around it or a ';'"
            )
