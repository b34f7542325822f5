"""Truck road filter and speed rules (OSM tags in, km/h out); pure functions, no I/O.

Its parts: :mod:`network.graph_settings` (the truck and its roads' rules as settings) and
:mod:`network.tag_values` (tag values read as numbers); every name imports from here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from network.graph_settings import (
    COUNTRY_ZONE_KPH,
    DEFAULT_FALLBACK_KPH,
    DEFAULT_SETTINGS,
    DRIVABLE_HIGHWAYS,
    DRIVE_SIDES,
    EXCLUDED_SERVICE,
    LOCAL_ACCESS,
    MAX_TRUCK_AXLE_LOAD_KG,
    MAX_TRUCK_HEIGHT_M,
    MAX_TRUCK_LENGTH_M,
    MAX_TRUCK_WEIGHT_KG,
    MAX_TRUCK_WIDTH_M,
    NO_ACCESS,
    ONEWAY_BACKWARD,
    ONEWAY_FORWARD,
    TIMED_HIGHWAYS,
    TRUCK_AXLE_LOAD_KG,
    TRUCK_HEIGHT_M,
    TRUCK_LENGTH_M,
    TRUCK_SIZES,
    TRUCK_WEIGHT_KG,
    TRUCK_WIDTH_M,
    WALK_KPH,
    ZONE_KPH,
    GraphSettings,
)
from network.tag_values import (
    KG_PER_WEIGHT_UNIT,
    KPH_PER_MPH,
    M_PER_INCH,
    parse_length_m,
    parse_maxspeed,
    parse_maxweight_kg,
)


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


__all__ = [
    "ACCESS_KEYS",
    "COUNTRY_ZONE_KPH",
    "DEFAULT_FALLBACK_KPH",
    "DEFAULT_SETTINGS",
    "DRIVABLE_HIGHWAYS",
    "DRIVE_SIDES",
    "KG_PER_WEIGHT_UNIT",
    "KPH_PER_MPH",
    "LIMIT_TAGS",
    "MAX_TRUCK_AXLE_LOAD_KG",
    "MAX_TRUCK_HEIGHT_M",
    "MAX_TRUCK_LENGTH_M",
    "MAX_TRUCK_WEIGHT_KG",
    "MAX_TRUCK_WIDTH_M",
    "M_PER_INCH",
    "NODE_TAGS",
    "ONEWAY_BACKWARD",
    "ONEWAY_FORWARD",
    "RESTRICTION_TAGS",
    "SPEED_TAGS",
    "TIMED_HIGHWAYS",
    "TRUCK_AXLE_LOAD_KG",
    "TRUCK_HEIGHT_M",
    "TRUCK_LENGTH_M",
    "TRUCK_SIZES",
    "TRUCK_WEIGHT_KG",
    "TRUCK_WIDTH_M",
    "WALK_KPH",
    "WAY_TAGS",
    "ZONE_KPH",
    "GraphSettings",
    "blocks_trucks",
    "closed_to_trucks",
    "is_roundabout",
    "is_truck_way",
    "lifted_for_destinations",
    "local_only",
    "local_value",
    "oneway_direction",
    "over_limit",
    "parse_length_m",
    "parse_maxspeed",
    "parse_maxweight_kg",
    "street_name",
    "travel_time_s",
    "truck_access",
    "truck_kph",
    "truck_restriction",
    "way_kph",
]
