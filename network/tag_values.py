"""OSM tag values read as numbers (part of :mod:`network.speeds`): speed limits in km/h,
lengths in metres, weights in kg; each unit conversion once; the tightest of several values
(``;``-separated) counts; pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from network.graph_settings import COUNTRY_ZONE_KPH, WALK_KPH, ZONE_KPH

KPH_PER_MPH = 1.609344  # the one mph -> km/h conversion
M_PER_INCH = 0.0254  # the one inch -> m conversion (maxheight=12'6")
# kg per unit of a maxweight value (OSM: tonnes when no unit); st is the short ton
KG_PER_WEIGHT_UNIT: Mapping[str, float] = {
    "": 1000.0,
    "t": 1000.0,
    "kg": 1.0,
    "st": 907.18474,
    "lbs": 0.45359237,
    "lb": 0.45359237,
}


def parse_maxspeed(value: str | None) -> float | None:
    """Parse an OSM ``maxspeed`` value to km/h.

    Parameters
    ----------
    value : str or None
        Raw tag: ``"50"``, ``"30 mph"``, ``"PT:urban"``, ``"DE:zone:20"``, ``"walk"``,
        ``"50;30"`` ...

    Returns
    -------
    float or None
        km/h; the mean for lists (as osmnx does); None for ``"none"``, ``"signals"``,
        empty or unparsable values (the caller then uses the per-highway fallback).
    """
    if value is None:
        return None
    parts = [p.strip() for p in re.split(r"[;|]", str(value)) if p.strip()]
    speeds = [s for s in (_parse_one(p) for p in parts) if s is not None]
    return sum(speeds) / len(speeds) if speeds else None


def _parse_one(text: str) -> float | None:
    low = text.lower()
    if low == "walk":
        return WALK_KPH
    match = re.fullmatch(r"(\d+(?:[.,]\d+)?)\s*(mph|km/h|kmh|kph)?", low)
    if match:
        number = float(match.group(1).replace(",", "."))
        kph = number * KPH_PER_MPH if match.group(2) == "mph" else number
        return kph if kph > 0 else None
    if text in COUNTRY_ZONE_KPH:
        return COUNTRY_ZONE_KPH[text]
    if ":" in text:
        kind = text.split(":", 1)[1].lower()
        zone = re.fullmatch(r"zone:?(\d+)", kind)  # DE:zone:20, DE:zone30: a speed zone
        return float(zone.group(1)) if zone and float(zone.group(1)) > 0 else ZONE_KPH.get(kind)
    return None


def parse_length_m(value: str | None) -> float | None:
    """Parse an OSM ``maxheight``, ``maxwidth`` or ``maxlength`` value to metres.

    Parameters
    ----------
    value : str or None
        Raw tag: ``"3.5"``, ``"3.5 m"``, ``"3,5"``, ``"12'6\""``, ``"3.2;3.4"`` ...

    Returns
    -------
    float or None
        Metres; the lowest of a list; None for ``"none"``, ``"default"``,
        ``"below_default"``, empty or unparsable values (no limit read).
    """
    return _tightest(value, _length_one)


def _length_one(text: str) -> float | None:
    low = text.lower()
    metres = re.fullmatch(r"(\d+(?:[.,]\d+)?)\s*(?:m|metres|meters)?", low)
    if metres:
        return _positive(float(metres.group(1).replace(",", ".")))
    feet = re.fullmatch(r"(\d+)\s*(?:'|ft)\s*(?:(\d+(?:\.\d+)?)\s*(?:\"|in)?)?", low)
    if feet:
        inches = float(feet.group(1)) * 12 + float(feet.group(2) or 0)
        return _positive(inches * M_PER_INCH)
    return None


def parse_maxweight_kg(value: str | None) -> float | None:
    """Parse an OSM ``maxweight`` value to kilograms.

    Parameters
    ----------
    value : str or None
        Raw tag: ``"7.5"`` (tonnes), ``"7.5 t"``, ``"7500 kg"``, ``"10 st"``,
        ``"20000 lbs"``, ``"3,5"`` ...

    Returns
    -------
    float or None
        Kilograms; the lightest of a list; None for ``"none"``, empty or unparsable values.
    """
    return _tightest(value, _weight_one)


def _weight_one(text: str) -> float | None:
    match = re.fullmatch(r"(\d+(?:[.,]\d+)?)\s*([a-z]*)", text.lower())
    if match is None or match.group(2) not in KG_PER_WEIGHT_UNIT:
        return None
    number = float(match.group(1).replace(",", "."))
    return _positive(number * KG_PER_WEIGHT_UNIT[match.group(2)])


def _tightest(value: str | None, parse_one: Callable[[str], float | None]) -> float | None:
    """The lowest limit of a ``;`` list of tag values (osmnx's merged ways too), or None."""
    if value is None:
        return None
    parts = [p.strip() for p in str(value).split(";") if p.strip()]
    limits = [x for x in (parse_one(p) for p in parts) if x is not None]
    return min(limits) if limits else None


def _positive(number: float) -> float | None:
    return number if number > 0 else None
