"""Turn-by-turn directions: a street path's pieces in, a driver's steps out.

A path between two points (``StreetNetwork.legs``) is a list of :class:`Piece` s, each a part
of one street edge in driving order (connectors of split junctions left out: they stay at
their junction). :func:`steps` groups them by street and tells each turn from the bearings
where one street ends and the next begins, in a local metric frame at the turn (east
metres = longitude difference times the cosine of the latitude, as the snapping does;
:mod:`network.bearings`).

A new step begins where the street's name changes, where the path turns back (a U-turn),
and, on unnamed streets, at every turn of ``TURN_MIN_DEG`` or more; a named street that
bends stays one step, as drivers read its signs. A street's name is its ``name``, else its
road number (``speeds.street_name``). A path through a roundabout is one step naming the
exit it leaves by (:func:`exit_counts`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from network.bearings import (
    U_TURN_MIN_DEG,
    Point,
    bearing,
    compass,
    length_m,
    maneuver,
    turn_deg,
)
from network.language import DEFAULT_LANGUAGE, N_, NC_, Words, direction_words
from network.snap import sub_line
from network.table import CONNECTOR_HIGHWAY, EdgeTable

# (points in visit order, whether each is taken from the kerb) -> the steps of each leg
# between consecutive points (``StreetNetwork.directions`` bound to its snap limit)
Directions = Callable[[Sequence[Point], Sequence[bool]], "list[list[Step]]"]

TURN_MIN_DEG = 45.0  # an unnamed street's bend this sharp is a step of its own
MANEUVERS = (
    "depart",
    "straight",
    "slight right",
    "right",
    "sharp right",
    "slight left",
    "left",
    "sharp left",
    "u-turn",
    "roundabout",
    "arrive",
)
SIDES = {1: "left", -1: "right", 0: ""}  # a point's side of the way the truck drives


@dataclass(frozen=True, slots=True)
class Piece:
    """Part of one street edge a path drives, from fraction ``start`` to ``end`` of its
    length (``start <= end``, in the edge's own direction); ``edge`` -1 is a straight stretch
    off the streets between ``coords``."""

    edge: int
    start: float = 0.0
    end: float = 1.0
    coords: tuple[Point, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One instruction of a driver's directions.

    Attributes
    ----------
    maneuver : str
        One of ``MANEUVERS``: ``depart`` (the first step of a leg), a turn onto the step's
        street (``straight``, ``slight left``... ``u-turn``), or ``arrive`` (the last).
    street : str
        The street driven after the maneuver, or arrived on (``""`` when unnamed;
        ``highway`` says its class).
    highway : str
        Its OSM ``highway`` class (``""`` for a stretch off the streets).
    distance_m, duration_s : float
        Metres and seconds driven on it after the maneuver, up to the next (0 on arrival).
    lon, lat : float
        Where the maneuver is, WGS84 degrees.
    heading : str
        The compass direction the truck leaves in (a ``COMPASS`` value; on departure).
    side : str
        On arrival, the side of the truck the stop stands on (``"left"``, ``"right"``, or
        ``""`` when it stands on the street's centre line).
    exit_number : int
        At a roundabout, which of its exits the truck leaves by (1 the first), else 0;
        ``distance_m`` and ``duration_s`` count the roundabout's stretch too.
    """

    maneuver: str
    street: str
    highway: str
    distance_m: float
    duration_s: float
    lon: float
    lat: float
    heading: str = ""
    side: str = ""
    exit_number: int = 0

    def text(self, stop: str = "the stop", words: Words | None = None) -> str:
        """The instruction in words, e.g. "Turn left onto Mannerheimintie"; ``stop`` names
        where an ``arrive`` step ends; ``words``, the language (English by default)."""
        return instruction(
            words or direction_words(DEFAULT_LANGUAGE),
            maneuver=self.maneuver,
            street=self.street,
            highway=self.highway,
            heading=self.heading,
            side=self.side,
            exit_number=self.exit_number,
            stop=stop,
        )


# maneuver -> its words, onto a ``{road}`` (``N_`` marks them for ``make messages``)
TURN_WORDS = {
    "straight": N_("Continue straight onto {road}"),
    "slight right": N_("Bear right onto {road}"),
    "right": N_("Turn right onto {road}"),
    "sharp right": N_("Turn sharp right onto {road}"),
    "slight left": N_("Bear left onto {road}"),
    "left": N_("Turn left onto {road}"),
    "sharp left": N_("Turn sharp left onto {road}"),
    "u-turn": N_("Make a U-turn and drive on along {road}"),
    "roundabout": N_("At the roundabout, take the {ordinal} exit onto {road}"),
}
ARRIVE_WORDS = {
    "": N_("Arrive at {stop}"),
    "left": N_("Arrive at {stop}, on the left"),
    "right": N_("Arrive at {stop}, on the right"),
}
# the words translated in a context (``say_in``): compass points of a heading, the road
# classes of unnamed streets (``DRIVABLE_HIGHWAYS`` and the timed pedestrian ways)
CONTEXT_WORDS = (
    NC_("heading", "north"),
    NC_("heading", "north-east"),
    NC_("heading", "east"),
    NC_("heading", "south-east"),
    NC_("heading", "south"),
    NC_("heading", "south-west"),
    NC_("heading", "west"),
    NC_("heading", "north-west"),
    NC_("highway", "motorway"),
    NC_("highway", "trunk"),
    NC_("highway", "primary"),
    NC_("highway", "secondary"),
    NC_("highway", "tertiary"),
    NC_("highway", "motorway link"),
    NC_("highway", "trunk link"),
    NC_("highway", "primary link"),
    NC_("highway", "secondary link"),
    NC_("highway", "tertiary link"),
    NC_("highway", "unclassified"),
    NC_("highway", "residential"),
    NC_("highway", "living street"),
    NC_("highway", "service"),
    NC_("highway", "pedestrian"),
)


def instruction(
    words: Words,
    *,
    maneuver: str,
    street: str,
    highway: str,
    heading: str = "",
    side: str = "",
    exit_number: int = 0,
    stop: str = "the stop",
) -> str:
    """A step's instruction in ``words``' language (a :class:`Step`'s fields, or those of
    its JSON, ``optimiser.sheets``), ``stop`` naming where an ``arrive`` step ends (in
    that language too).

    Raises
    ------
    ValueError
        If ``maneuver`` is not one of :data:`MANEUVERS`.
    """
    if maneuver == "arrive":
        return words.say(ARRIVE_WORDS.get(side, ARRIVE_WORDS[""]), stop=stop)
    road = _road(words, street, highway)
    if maneuver == "depart":
        compass = words.say_in("heading", heading) if heading else ""
        return words.say("Head {heading} on {road}", heading=compass, road=road)
    if maneuver not in TURN_WORDS:
        raise ValueError(f"no words for maneuver {maneuver!r}: one of {', '.join(MANEUVERS)}")
    return words.say(TURN_WORDS[maneuver], road=road, ordinal=_ordinal(exit_number), n=exit_number)


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th... 11th, 12th, 13th, 21st (English; the other languages' words
    write the exit's number ``{n}`` their way)."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _road(words: Words, street: str, highway: str) -> str:
    """The street a step names: its name, else its road class, unnamed."""
    if street:
        return street
    if not highway:
        return words.say("the way off the street")
    return words.say("the unnamed {kind} road", kind=road_class(words, highway))


def road_class(words: Words, highway: str) -> str:
    """An OSM ``highway`` class in ``words``' language ("residential" -> "Wohnstraße");
    a class without words there as OSM spells it, underscores as spaces."""
    return words.say_in("highway", highway.replace("_", " "))


def piece_coords(table: EdgeTable, p: Piece) -> list[Point]:
    """The (lon, lat) vertices of piece ``p``, in driving order."""
    if p.edge < 0:
        return list(p.coords)
    if (p.start, p.end) == (0.0, 1.0):
        return table.edge_coords(p.edge)
    return sub_line(table, p.edge, p.start, p.end)


def steps(
    table: EdgeTable,
    pieces: Sequence[Piece],
    *,
    arrive_side: int = 0,
    exits: np.ndarray | None = None,
) -> list[Step]:
    """Directions along ``pieces`` (one path, in driving order): a ``depart`` step, one step
    per turn (module docstring), and an ``arrive`` step on the street the destination
    stands on; ``arrive_side`` is the side of the last piece's direction it stands on (1
    left, -1 right, 0 neither). Pieces of no length are passed over; a path of none (the
    destination is where the truck stands) is the ``arrive`` step alone.

    With ``exits`` (per node, the ways out of it that are no roundabout's:
    :func:`exit_counts`), a path through a roundabout is one ``roundabout`` step onto the
    street it leaves by, saying which exit that is (the ways out passed on the roundabout,
    plus one); a path that ends on a roundabout is told by its turns."""
    shapes = [_Shape.of(table, p) for p in pieces]
    moving = [s for s in shapes if s.length_m > 0]
    if not moving:
        at = shapes[0].coords[0] if shapes else (math.nan, math.nan)
        return [_step("arrive", shapes[0] if shapes else None, at, side=SIDES[arrive_side])]
    out = [_step("depart", moving[0], moving[0].coords[0], heading=compass(moving[0].head))]
    i = 1
    while i < len(moving):
        before, after = moving[i - 1], moving[i]
        leave = _roundabout_end(moving, i) if exits is not None else None
        if leave is not None and exits is not None:
            inside = moving[i:leave]
            passed = sum(int(exits[s.end_node]) for s in inside[:-1] if s.end_node >= 0)
            step = _step("roundabout", moving[leave], after.coords[0], exit_number=passed + 1)
            for s in inside:
                step = _longer(step, s)
            out.append(step)
            i = leave + 1
            continue
        angle = turn_deg(before.tail, after.head)
        same = after.street == before.street and (after.street or after.highway == before.highway)
        if same and abs(angle) < U_TURN_MIN_DEG and (after.street or abs(angle) < TURN_MIN_DEG):
            out[-1] = _longer(out[-1], after)
        else:
            out.append(_step(maneuver(angle), after, after.coords[0]))
        i += 1
    end = moving[-1].coords[-1]
    out.append(_step("arrive", moving[-1], end, side=SIDES[arrive_side]))
    return out


def _roundabout_end(moving: Sequence[_Shape], i: int) -> int | None:
    """Where a path entering a roundabout at ``moving[i]`` leaves it (the index of its
    first piece past it), or None: it does not enter one there, or ends on it."""
    if not moving[i].roundabout or moving[i - 1].roundabout:
        return None
    j = i
    while j < len(moving) and moving[j].roundabout:
        j += 1
    return j if j < len(moving) else None


def exit_counts(table: EdgeTable) -> np.ndarray:
    """Per node, the ways out of it a driver sees that are no roundabout's: street edges
    leaving it, and those leaving the nodes its connectors lead to (a junction split for
    its turns or its local-only streets, ``network.turns``)."""
    streets = table.edge_highway != CONNECTOR_HIGHWAY
    out = streets & ~table.edge_roundabout
    own = np.bincount(table.edge_u[out], minlength=table.n_nodes)
    connectors = ~streets
    via = np.bincount(
        table.edge_u[connectors],
        weights=own[table.edge_v[connectors]].astype(np.float64),
        minlength=table.n_nodes,
    )
    return own + via.astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Shape:
    """A piece's street, length, time, geometry and headings (degrees from north)."""

    street: str
    highway: str
    length_m: float
    time_s: float
    coords: list[Point]
    head: float
    tail: float
    roundabout: bool = False
    end_node: int = -1  # the node the piece ends at (-1: inside its edge, or off the streets)

    @classmethod
    def of(cls, table: EdgeTable, p: Piece) -> _Shape:
        if p.edge < 0:
            coords = list(p.coords)
            street, highway = "", ""
            length = length_m(coords)
            time_s = 0.0
        else:
            coords = piece_coords(table, p)
            share = p.end - p.start
            street, highway = str(table.edge_name[p.edge]), str(table.edge_highway[p.edge])
            length = float(table.edge_length_m[p.edge]) * share
            time_s = float(table.edge_time_s[p.edge]) * share
        on_street = p.edge >= 0
        return cls(
            street=street,
            highway=highway,
            length_m=length,
            time_s=time_s,
            coords=coords,
            head=bearing(coords),
            tail=bearing(coords[::-1], reverse=True),
            roundabout=on_street and bool(table.edge_roundabout[p.edge]),
            end_node=int(table.edge_v[p.edge]) if on_street and p.end == 1.0 else -1,
        )


def _step(
    maneuver: str,
    shape: _Shape | None,
    at: Point,
    *,
    heading: str = "",
    side: str = "",
    exit_number: int = 0,
) -> Step:
    moving = shape is not None and maneuver != "arrive"
    return Step(
        maneuver=maneuver,
        street=shape.street if shape is not None else "",
        highway=shape.highway if shape is not None else "",
        distance_m=shape.length_m if moving and shape is not None else 0.0,
        duration_s=shape.time_s if moving and shape is not None else 0.0,
        lon=float(at[0]),
        lat=float(at[1]),
        heading=heading,
        side=side,
        exit_number=exit_number,
    )


def _longer(step: Step, shape: _Shape) -> Step:
    """``step`` driven on along ``shape`` (the same street)."""
    return dataclasses.replace(
        step,
        distance_m=step.distance_m + shape.length_m,
        duration_s=step.duration_s + shape.time_s,
    )
