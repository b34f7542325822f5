"""Truck road filter and speed rules (OSM tags in, km/h out); pure functions, no I/O."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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
WALK_KPH = 7.0
# a refuse collection truck (rear loader on a 3-axle chassis, loaded): 3.5-4 m high, 26 t,
# 2.55 m wide (the EU limit), about 10 m long, its heaviest axle about 10 t
TRUCK_HEIGHT_M = 3.8
TRUCK_WEIGHT_KG = 26_000.0
TRUCK_WIDTH_M = 2.55
TRUCK_LENGTH_M = 10.0
TRUCK_AXLE_LOAD_KG = 10_000.0
MAX_TRUCK_HEIGHT_M = 6.0  # beyond any road vehicle: a typo (380 for 3.80)
MAX_TRUCK_WEIGHT_KG = 100_000.0  # beyond any road vehicle: kg typed as g, say
MAX_TRUCK_WIDTH_M = 5.0
MAX_TRUCK_LENGTH_M = 30.0
MAX_TRUCK_AXLE_LOAD_KG = 30_000.0
# GraphSettings field -> (largest value a truck can have, its unit, the default)
TRUCK_SIZES = {
    "truck_height_m": (MAX_TRUCK_HEIGHT_M, "metres", TRUCK_HEIGHT_M),
    "truck_weight_kg": (MAX_TRUCK_WEIGHT_KG, "kg", TRUCK_WEIGHT_KG),
    "truck_width_m": (MAX_TRUCK_WIDTH_M, "metres", TRUCK_WIDTH_M),
    "truck_length_m": (MAX_TRUCK_LENGTH_M, "metres", TRUCK_LENGTH_M),
    "truck_axle_load_kg": (MAX_TRUCK_AXLE_LOAD_KG, "kg", TRUCK_AXLE_LOAD_KG),
}

DRIVABLE_HIGHWAYS = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
    }
)
# streets driven only in the hours a conditional access tag opens them to trucks
# (``network.hours``: a pedestrian zone's delivery hours)
TIMED_HIGHWAYS = frozenset({"pedestrian"})
EXCLUDED_SERVICE = frozenset(
    {"parking_aisle", "driveway", "private", "emergency_access", "drive-through"}
)
# access values that close a way to a waste truck: none at all, private, or the vehicles or
# uses of a value that a truck is not (a farm track's ``motor_vehicle=agricultural``, a bus
# road's ``access=psv``); a list (``agricultural;forestry``) closes it when all its values do
NO_ACCESS = frozenset(
    {"no", "private", "agricultural", "forestry", "psv", "bus", "emergency", "military"}
)
# access values that let a truck in only to reach a place on the street (no through traffic)
LOCAL_ACCESS = frozenset({"destination", "delivery", "customers"})
ONEWAY_FORWARD = frozenset({"yes", "1", "true"})
ONEWAY_BACKWARD = frozenset({"-1", "reverse"})

# Implicit national limits used by maxspeed values like "PT:urban" (km/h).
ZONE_KPH: Mapping[str, float] = {
    "urban": 50.0,
    "rural": 90.0,
    "motorway": 120.0,
    "trunk": 100.0,
    "living_street": 20.0,
    "zone30": 30.0,
    "zone:30": 30.0,
    "zone20": 20.0,
    "bicycle_road": 30.0,
}
COUNTRY_ZONE_KPH: Mapping[str, float] = {
    "DE:rural": 100.0,
    "FI:rural": 80.0,
    "PT:rural": 90.0,
    "BR:urban": 60.0,
    "BR:rural": 80.0,
    "RU:urban": 60.0,
    "GB:nsl_single": 96.56,
    "GB:nsl_dual": 112.65,
}

DEFAULT_FALLBACK_KPH: tuple[tuple[str, float], ...] = (
    ("motorway", 100.0),
    ("trunk", 80.0),
    ("primary", 60.0),
    ("secondary", 50.0),
    ("tertiary", 40.0),
    ("motorway_link", 60.0),
    ("trunk_link", 50.0),
    ("primary_link", 40.0),
    ("secondary_link", 35.0),
    ("tertiary_link", 30.0),
    ("unclassified", 30.0),
    ("residential", 30.0),
    ("living_street", 10.0),
    ("service", 15.0),
    ("pedestrian", 10.0),  # a pedestrian zone in its delivery hours: walking pace
)

DRIVE_SIDES = ("right", "left")  # the side of the street traffic keeps to


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphSettings:
    """How a street graph is prepared for waste trucks (part of the cache key).

    Attributes
    ----------
    fallback_kph : tuple of (highway, km/h)
        Speed used when an edge has no parsable ``maxspeed``.
    default_kph : float
        Speed for highway classes missing from ``fallback_kph``.
    truck_max_kph : float
        Trucks never go faster than this.
    truck_speed_factor : float
        Trucks drive at this fraction of the posted / fallback speed (0 < f <= 1).
    respect_hgv : bool
        Read ``hgv`` access tags (``hgv=no`` drops a way, ``hgv=yes`` lets a truck use a
        way closed to motor vehicles).
    truck_height_m : float
        The trucks' height: a way signed lower (``maxheight``, ``maxheight:physical``) is
        no truck street (:func:`over_limit`).
    truck_weight_kg : float
        The trucks' loaded weight: a way signed lighter (``maxweight``, ``maxweight:hgv``)
        is no truck street, unless the limit is lifted for destinations or deliveries.
    truck_width_m, truck_length_m : float
        The trucks' width and length: a way signed narrower (``maxwidth``,
        ``maxwidth:physical``) or shorter (``maxlength``, ``maxlength:hgv``) is no truck
        street.
    truck_axle_load_kg : float
        The load on the trucks' heaviest axle, loaded: a way signed lighter
        (``maxaxleload``) is no truck street.
    local_access : bool
        Drive streets open only to reach a place on them (:func:`local_only`:
        ``access=destination``...) only to reach or leave a place on them, never through
        (:mod:`network.zones`).
    turn_restrictions : bool
        Obey the file's turn restrictions (``type=restriction`` relations with a via node,
        :func:`truck_restriction`; :mod:`network.turns`). A downloaded city has none (osmnx
        reads no relations).
    u_turns : bool
        Let trucks turn back at any junction (as before); False: only where they have to,
        at a dead end or where no other way on is open to them (``network.turns``), so a
        truck that must turn round goes round a block, as fleets that forbid their trucks
        U-turns want.
    drive_side : {"right", "left"}
        The side of the street traffic keeps to: a bin taken from the kerb is on the
        truck's right where traffic keeps right (``StreetNetwork``'s ``drive_side``; it
        changes no street, only which way a kerb-side bin is passed).
    street_hours : bool
        Obey access that changes with the time (``network.hours``: a pedestrian zone open
        for deliveries 06:00-11:00, a night ban on lorries): such a street is driven only to
        reach a place on it, whose visits are timed to its hours; False reads its plain
        access tags only (as before).
    """

    fallback_kph: tuple[tuple[str, float], ...] = field(default=DEFAULT_FALLBACK_KPH)
    default_kph: float = 30.0
    truck_max_kph: float = 80.0
    truck_speed_factor: float = 0.9
    respect_hgv: bool = True
    truck_height_m: float = TRUCK_HEIGHT_M
    truck_weight_kg: float = TRUCK_WEIGHT_KG
    truck_width_m: float = TRUCK_WIDTH_M
    truck_length_m: float = TRUCK_LENGTH_M
    truck_axle_load_kg: float = TRUCK_AXLE_LOAD_KG
    local_access: bool = True
    turn_restrictions: bool = True
    u_turns: bool = True
    drive_side: str = "right"
    street_hours: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.truck_speed_factor <= 1.0:
            raise ValueError(
                f"truck_speed_factor={self.truck_speed_factor} must be in (0, 1]; use e.g. 0.9"
            )
        if self.drive_side not in DRIVE_SIDES:
            raise ValueError(f"drive_side={self.drive_side!r} must be one of {DRIVE_SIDES}")
        speeds = [self.default_kph, self.truck_max_kph, *(k for _, k in self.fallback_kph)]
        if min(speeds) <= 0:
            raise ValueError("all speeds in GraphSettings must be > 0 km/h")
        for name, (most, unit, default) in TRUCK_SIZES.items():
            value = getattr(self, name)
            if not 0.0 < value <= most:
                raise ValueError(
                    f"{name}={value} must be in (0, {most:g}] {unit}; use e.g. {default:g}"
                )


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


def lifted_for_destinations(conditional: str | None) -> bool:
    """True when a ``maxweight:conditional`` value lifts the weight limit for vehicles going
    to a destination on the way or delivering there (``none @ destination``, ``none @
    (delivery)``): a waste truck collects from the bins there."""
    if not conditional:
        return False
    clause = r"(?:^|;)\s*none\s*@\s*\(?\s*(?:destination|delivery)\s*\)?\s*(?:;|$)"
    return re.search(clause, conditional.lower()) is not None


def over_limit(tags: Mapping[str, str], settings: GraphSettings) -> bool:
    """True when a way's (or a node's) size or weight limits keep the trucks out: signed
    lower, narrower or shorter than the truck (``HEIGHT_TAGS``, ``WIDTH_TAGS``,
    ``LENGTH_TAGS``), lighter than it loaded (``WEIGHT_TAGS``; unless
    ``maxweight:conditional`` lifts it for destinations, :func:`lifted_for_destinations`)
    or than its heaviest axle (``AXLE_TAGS``)."""
    sizes = [
        (HEIGHT_TAGS, parse_length_m, settings.truck_height_m),
        (WIDTH_TAGS, parse_length_m, settings.truck_width_m),
        (LENGTH_TAGS, parse_length_m, settings.truck_length_m),
        (AXLE_TAGS, parse_maxweight_kg, settings.truck_axle_load_kg),
    ]
    if not lifted_for_destinations(tags.get("maxweight:conditional")):
        sizes.append((WEIGHT_TAGS, parse_maxweight_kg, settings.truck_weight_kg))
    for keys, parse, truck in sizes:
        limits = [parse(tags.get(k)) for k in keys]
        if any(limit is not None and limit < truck for limit in limits):
            return True
    return False


def truck_kph(maxspeed: str | None, highway: str, settings: GraphSettings) -> float:
    """Truck speed in km/h for one way from its ``maxspeed`` and ``highway`` tags."""
    posted = parse_maxspeed(maxspeed)
    if posted is None:
        posted = dict(settings.fallback_kph).get(highway, settings.default_kph)
    return min(posted * settings.truck_speed_factor, settings.truck_max_kph)


def way_kph(tags: Mapping[str, str], settings: GraphSettings, *, backward: bool = False) -> float:
    """Truck speed in km/h along a way (``backward``: against its node order).

    ``maxspeed:forward`` / ``maxspeed:backward`` hold in their direction when parsable (a
    road signed 70 one way and 30 the other, often with no plain ``maxspeed``), else
    ``maxspeed``, else the per-highway fallback (:func:`truck_kph`).
    """
    own = tags.get("maxspeed:backward" if backward else "maxspeed:forward")
    maxspeed = own if parse_maxspeed(own) is not None else tags.get("maxspeed")
    return truck_kph(maxspeed, tags["highway"], settings)


def is_truck_way(tags: Mapping[str, str], settings: GraphSettings, *, timed: bool = False) -> bool:
    """True when an OSM way with these tags is a street a waste truck may drive on.

    ``timed``: its access changes with the time (``network.hours.way_rule`` decides it):
    only its kind and size count here, and a pedestrian street (``TIMED_HIGHWAYS``) is one.
    """
    kinds = DRIVABLE_HIGHWAYS | TIMED_HIGHWAYS if timed else DRIVABLE_HIGHWAYS
    if tags.get("highway") not in kinds or tags.get("area") == "yes":
        return False
    if tags.get("highway") == "service" and tags.get("service") in EXCLUDED_SERVICE:
        return False
    if over_limit(tags, settings):
        return False
    return timed or not closed_to_trucks(truck_access(tags, settings))


def closed_to_trucks(access: str | None) -> bool:
    """True when an access value (``truck_access``'s) keeps a truck out (``NO_ACCESS``; a
    ``;`` list when all of its values do)."""
    if access is None:
        return False
    values = [v.strip().lower() for v in access.split(";") if v.strip()]
    return bool(values) and all(v in NO_ACCESS for v in values)


def local_only(tags: Mapping[str, str], settings: GraphSettings) -> bool:
    """True when a way with these tags lets a truck in only to reach a place on it (the
    access value that holds for it, :func:`truck_access`, is ``LOCAL_ACCESS``:
    ``destination``, ``delivery``, ``customers``; a ``;`` list when each value is, or
    closes the way), with ``settings.local_access``."""
    access = truck_access(tags, settings)
    if not settings.local_access or access is None:
        return False
    return local_value(access)


def local_value(access: str) -> bool:
    """True when an access value lets a truck in only to reach a place on the way
    (``LOCAL_ACCESS``; a ``;`` list when each value is, or closes the way)."""
    values = {v.strip().lower() for v in access.split(";") if v.strip()}
    return bool(values & LOCAL_ACCESS) and values <= LOCAL_ACCESS | NO_ACCESS


# OSM access tags from the most specific for a truck to the most general
ACCESS_KEYS = ("hgv", "motorcar", "motor_vehicle", "vehicle", "access")
# the way tags the truck rules and speeds read (the readers keep these)
SPEED_TAGS = ("maxspeed", "maxspeed:forward", "maxspeed:backward")
HEIGHT_TAGS = ("maxheight", "maxheight:physical")
WIDTH_TAGS = ("maxwidth", "maxwidth:physical")
LENGTH_TAGS = ("maxlength", "maxlength:hgv")
WEIGHT_TAGS = ("maxweight", "maxweight:hgv")
AXLE_TAGS = ("maxaxleload",)
# the tightest of merged ways holds
LIMIT_TAGS = (*HEIGHT_TAGS, *WIDTH_TAGS, *LENGTH_TAGS, *WEIGHT_TAGS, *AXLE_TAGS)
WAY_TAGS = (
    "highway",
    "name",
    "ref",
    *SPEED_TAGS,
    "oneway",
    "junction",
    *ACCESS_KEYS,
    "service",
    "area",
    *LIMIT_TAGS,
    "maxweight:conditional",
    *(f"{key}:conditional" for key in ACCESS_KEYS),
)


def truck_access(tags: Mapping[str, str], settings: GraphSettings) -> str | None:
    """The access value that holds for a truck: that of the most specific access tag the
    way has (``ACCESS_KEYS``; ``hgv`` only with ``settings.respect_hgv``), so that
    ``access=no`` + ``motor_vehicle=destination`` lets it in and ``motor_vehicle=no`` +
    ``hgv=yes`` too; None when the way has none.

    ``motorcar`` is the cars' key (a truck is no motorcar): it counts only when it closes
    the way (``motorcar=no`` is often the tag of the sign 'no motor vehicles with more than
    two wheels'), so ``motor_vehicle=no`` + ``motorcar=yes`` keeps a truck out."""
    for key in ACCESS_KEYS:
        if key == "hgv" and not settings.respect_hgv:
            continue
        if key == "motorcar" and not closed_to_trucks(tags.get(key)):
            continue
        if key in tags:
            return tags[key]
    return None


# barrier nodes a truck drives through unless the node's access tags close them (OSRM's car
# profile list); any other barrier (bollard, block, chain, height_restrictor...) stops it
# unless its access tags let a truck through
PASSABLE_BARRIERS = frozenset(
    {
        "gate",
        "lift_gate",
        "swing_gate",
        "sliding_gate",
        "toll_booth",
        "border_control",
        "cattle_grid",
        "entrance",
        "no",
        "sally_port",
    }
)
# the node tags the barrier rule reads (the readers keep these)
NODE_TAGS = ("barrier", *ACCESS_KEYS, *LIMIT_TAGS, "maxweight:conditional")


def blocks_trucks(tags: Mapping[str, str], settings: GraphSettings) -> bool:
    """True when an OSM node with these tags is a point of a street a waste truck cannot
    pass.

    A height or weight limit on the node (a height restrictor's or a gate's ``maxheight``,
    a low bridge mapped as a node) below the truck's stops it (:func:`over_limit`), barrier
    or not. Otherwise a barrier's own access tags decide when it has any
    (``barrier=gate`` + ``access=private`` stops it, ``barrier=bollard`` +
    ``motor_vehicle=permissive`` does not), else its kind (``PASSABLE_BARRIERS``); a height
    restrictor signed at or above the truck's height lets it through, one with no height
    readable does not.
    """
    if over_limit(tags, settings):
        return True
    barrier = tags.get("barrier")
    if not barrier:
        return False
    access = truck_access(tags, settings)
    if access is not None:
        return closed_to_trucks(access)
    if barrier == "height_restrictor":
        return all(parse_length_m(tags.get(k)) is None for k in HEIGHT_TAGS)
    return barrier not in PASSABLE_BARRIERS


# the relation tags the turn rule reads (the reader keeps these)
RESTRICTION_TAGS = ("restriction", "restriction:hgv", "except")


def truck_restriction(tags: Mapping[str, str], settings: GraphSettings) -> str | None:
    """The turn restriction a ``type=restriction`` relation with these tags puts on a waste
    truck (``no_left_turn``, ``only_straight_on``...: a ``no_*`` turn is forbidden, an
    ``only_*`` turn is the one allowed), or None when it puts none.

    ``restriction:hgv`` holds for trucks when present (with ``settings.respect_hgv``),
    else ``restriction`` unless ``except`` lists ``hgv``. A restriction limited to some
    days or hours (``day_on``, ``hour_on``) binds all day: a day's routes are planned
    without the clock of each turn.
    """
    value = tags.get("restriction:hgv") if settings.respect_hgv else None
    if value is None:
        excepted = {v.strip().lower() for v in tags.get("except", "").split(";")}
        if settings.respect_hgv and "hgv" in excepted:
            return None
        value = tags.get("restriction")
    value = (value or "").strip().lower()
    return value if value.startswith(("no_", "only_")) else None


def oneway_direction(tags: Mapping[str, str]) -> int:
    """Travel direction allowed along the way's node order.

    Returns
    -------
    int
        ``0`` both ways, ``1`` forward only, ``-1`` backward only. ``oneway=reversible`` and
        ``alternating`` count as two-way (as in osmnx); a roundabout is one-way unless
        ``oneway=no``.
    """
    oneway = (tags.get("oneway") or "").lower()
    if oneway in ONEWAY_FORWARD:
        return 1
    if oneway in ONEWAY_BACKWARD:
        return -1
    if oneway == "no":
        return 0
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return 1
    return 0


def is_roundabout(tags: Mapping[str, str]) -> bool:
    """True for a way of a roundabout (``junction=roundabout``, or ``circular``: one
    without the right of way)."""
    return tags.get("junction") in ("roundabout", "circular")


def street_name(tags: Mapping[str, str]) -> str:
    """What a driver reads on a way's signs: its ``name``, else its road number (``ref``,
    e.g. ``A 28``; a ``;`` list as ``A 4 / IC 23``), else ``""``: many motorways, their links
    and rural roads carry a number and no name."""
    name = (tags.get("name") or "").strip()
    if name:
        return name
    refs = [r.strip() for r in (tags.get("ref") or "").split(";") if r.strip()]
    return " / ".join(refs)


def travel_time_s(length_m: float, speed_kph: float) -> float:
    """Seconds to drive ``length_m`` metres at ``speed_kph`` (the one km/h -> m/s conversion)."""
    if not math.isfinite(speed_kph) or speed_kph <= 0:
        raise ValueError(f"speed {speed_kph} km/h must be a positive number")
    return length_m / (speed_kph / 3.6)


DEFAULT_SETTINGS = GraphSettings()
