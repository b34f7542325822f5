"""The truck and its roads' rules as settings (:class:`GraphSettings`, part of
:mod:`network.speeds`): the truck's size and weight limits, the streets it may drive, the
speeds of zones and road classes, the side traffic keeps to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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


DEFAULT_SETTINGS = GraphSettings()
