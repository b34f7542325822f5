"""Turn geometry of street lines: a line's heading at its ends (:func:`bearing`), the turn
between two headings (:func:`turn_deg`) and what a driver is told of it (:func:`maneuver`,
:func:`compass`). Headings are degrees clockwise from north, read in a local metric frame
(east metres = longitude difference times the cosine of the latitude); points are (lon,
lat) degrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from network.table import EARTH_RADIUS_M, haversine_m

Point = tuple[float, float]

# turn angle (degrees, 0 straight on, positive to the right) -> what a driver is told
STRAIGHT_MAX_DEG = 20.0
SLIGHT_MAX_DEG = 60.0
TURN_MAX_DEG = 135.0
U_TURN_MIN_DEG = 165.0
BEARING_SPAN_M = 10.0  # a street's heading is read over this much of it at each end
COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def length_m(coords: Sequence[Point]) -> float:
    """Great-circle length in metres of the line through ``coords`` ((lon, lat) degrees);
    0 for fewer than two points."""
    if len(coords) < 2:
        return 0.0
    xy = np.asarray(coords, dtype=np.float64)
    return float(haversine_m(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1]).sum())


def bearing(coords: Sequence[Point], *, reverse: bool = False) -> float:
    """Heading (degrees clockwise from north) at the start of ``coords``, read over the
    first ``BEARING_SPAN_M`` (``reverse``: ``coords`` run backwards from a line's end, and
    the heading returned is the line's own there). NaN for a line of no length."""
    start = coords[0]
    scale = math.cos(math.radians(start[1]))  # east degrees -> north degrees, locally
    span_deg = math.degrees(BEARING_SPAN_M / EARTH_RADIUS_M)
    east = north = 0.0
    for point in coords[1:]:
        east, north = (point[0] - start[0]) * scale, point[1] - start[1]
        if math.hypot(east, north) >= span_deg:
            break
    if east == north == 0.0:
        return math.nan
    if reverse:
        east, north = -east, -north
    return math.degrees(math.atan2(east, north)) % 360.0


def turn_deg(before: float, after: float) -> float:
    """The turn from heading ``before`` to ``after``, in (-180, 180]: positive to the right."""
    if math.isnan(before) or math.isnan(after):
        return 0.0
    angle = (after - before) % 360.0
    return angle - 360.0 if angle > 180.0 else angle


def maneuver(angle: float) -> str:
    """The ``MANEUVERS`` value of a turn of ``angle`` degrees (positive right)."""
    size = abs(angle)
    if size >= U_TURN_MIN_DEG:
        return "u-turn"
    if size < STRAIGHT_MAX_DEG:
        return "straight"
    way = "right" if angle > 0 else "left"
    if size < SLIGHT_MAX_DEG:
        return f"slight {way}"
    if size < TURN_MAX_DEG:
        return way
    return f"sharp {way}"


def compass(bearing: float) -> str:
    """The ``COMPASS`` point nearest ``bearing`` (degrees from north)."""
    if math.isnan(bearing):
        return ""
    return COMPASS[round(bearing / 45.0) % len(COMPASS)]
