"""What happened: fill-level readings, weights lifted, pickups, citizens' reports and
trucks' downtimes (part of :mod:`fleet.models`). Instants (``datetime.datetime``) are
tz-aware; coordinates (lon, lat) WGS84 degrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from fleet.errors import FleetDataError
from fleet.models_assets import _check_lon_lat

MAX_FILL = 1.5  # the highest fill a reading may give (an overflowing bin's heap)


def _check_aware(record: str, at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise FleetDataError(f"{record}: time {at.isoformat()} has no time zone; add an offset")


@dataclass(frozen=True, slots=True, kw_only=True)
class FillReading:
    """One sensor reading: fill fraction 0..1 of ``bin_id`` at tz-aware time ``at``.

    ``weight_kg`` is the net weight of the contents when the sensor also weighs.
    ``fill_from_weight`` marks a fill derived from that weight (a sensor that only weighs,
    :class:`WeightReading`, read by :func:`fleet.weights.fills_from_weights`): no density
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
    :func:`fleet.weights.fills_from_weights` (:func:`fleet.weights.pickups_from_weights`)."""

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
    fill from the crew; :func:`fleet.weights.pickups_from_weights`), capped at 1.0.
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
                    "at the bin's density (fleet.weights.pickup_of_weight)"
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
