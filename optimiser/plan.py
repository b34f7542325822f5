"""A solved plan: routes of visits with times and loads, and the bins left unserved."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum

#: Solver seconds -> the seconds the day's local clock shows (:func:`wall_clock`).
_WALL: ContextVar[Callable[[int], int] | None] = ContextVar("_WALL", default=None)


@contextmanager
def wall_clock(to_wall: Callable[[int], int]) -> Iterator[None]:
    """Within it, :func:`clock` shows solver seconds as ``to_wall`` reads them: the local
    clock of the day (:func:`optimiser.build.wall_s`), so that on a day the clocks change
    10 h after midnight shows 11:00 (spring) or 09:00 (autumn), as the plan's own times
    do. The notes and checker messages of a day's plan are written within it."""
    token = _WALL.set(to_wall)
    try:
        yield
    finally:
        _WALL.reset(token)


def clock(seconds: int) -> str:
    """Solver seconds since local midnight as a clock time, ``HH:MM`` (``HH:MM:SS`` when
    the seconds are not whole minutes; hours go past 24 for the next day). Within
    :func:`wall_clock`, as the day's local clock shows them."""
    to_wall = _WALL.get()
    if to_wall is not None:
        seconds = to_wall(seconds)
    h, m, s = seconds // 3600, seconds % 3600 // 60, seconds % 60
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def span(seconds: int) -> str:
    """A duration in solver seconds for people: ``45 s``, ``5 min 50 s``, ``1 h 05 min``,
    ``10 d 07 h 13 min`` (a day or more: to the minute)."""
    if seconds < 60:
        return f"{seconds} s"
    h, m, s = seconds // 3600, seconds % 3600 // 60, seconds % 60
    if h >= 24:
        return f"{h // 24} d {h % 24:02d} h {m:02d} min"
    if h:
        return f"{h} h {m:02d} min" + (f" {s:02d} s" if s else "")
    return f"{m} min" + (f" {s} s" if s else "")


class PlanStatus(StrEnum):
    """Outcome of a solve: infeasibility is a status, not an exception."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a solution within the time limit, optimality unknown
    NO_SOLUTION = "no_solution"  # the solver found nothing; every stop is unserved


class VisitKind(StrEnum):
    """What a truck does at a visit."""

    START = "start"
    BIN = "bin"
    DISPOSAL = "disposal"
    BREAK = "break"
    END = "end"
    WAYPOINT = "waypoint"  # where a truck was when its route was re-optimised (rerouting)


@dataclass(frozen=True, slots=True, kw_only=True)
class Visit:
    """One step of a route.

    ``ref`` is the stop, site or vehicle ref (break: the vehicle ref). ``location`` is the
    matrix row (None for a break, which happens where the truck is). ``arrival_s`` <=
    ``start_s`` (waiting for a window) < ``end_s`` = start + service/unload/break duration.
    Loads are what the truck carries after the visit; ``daily_*`` are totals collected so far.
    """

    kind: VisitKind
    ref: str
    location: int | None
    arrival_s: int
    start_s: int
    end_s: int
    volume_l: int = 0
    weight_kg: int = 0
    daily_l: int = 0
    daily_kg: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """A truck's day: visits from START to END, with totals (metres, seconds, cost units)."""

    vehicle_ref: str
    visits: tuple[Visit, ...]
    distance_m: int
    duration_s: int
    cost: int

    @property
    def bin_refs(self) -> tuple[str, ...]:
        """Refs of the bins emptied, in order."""
        return tuple(v.ref for v in self.visits if v.kind is VisitKind.BIN)

    @property
    def used(self) -> bool:
        """Whether the truck leaves the depot at all."""
        return any(v.kind in (VisitKind.BIN, VisitKind.DISPOSAL) for v in self.visits)


class UnservedKind(StrEnum):
    """Why a stop is unserved, for programs to count and act on (the ``reason`` says it
    for people, in words that may change). Set where the reason is made."""

    STREAM = "stream"  # no truck takes its stream
    EQUIPMENT = "equipment"  # no truck taking its stream has the equipment it needs
    NO_SITE = "no_site"  # the trucks taking its stream have no disposal site for their streams
    TOO_BIG = "too_big"  # larger or heavier than every truck taking it (or its daily limit)
    SHIFTS_OVER = "shifts_over"  # every shift of a truck taking it is over when the plan starts
    OUT_OF_SERVICE = "out_of_service"  # every truck taking it is out of service (or its shift over)
    SITES_CLOSED = "sites_closed"  # the sites its load could go to are closed after it
    WINDOW_OR_SHIFT = "window_or_shift"  # no truck reaches it in its window and is home in time
    UNREACHABLE = "unreachable"  # far from every street trucks reach (coordinates, cut-off street)
    STREET_CLOSED = "street_closed"  # its street is closed to trucks whenever they work that day
    COULD_NOT_FIT = "could_not_fit"  # in no route: ``Unserved.rules`` the tries broke
    LEFT_OUT = "left_out"  # the search left it out though a truck could take it
    OPTIONAL = "optional"  # an optional stop whose prize does not pay for serving it
    NO_SOLUTION = "no_solution"  # no plan found (a solve, or a reroute: the plan stands)
    NOT_IN_MANUAL_PLAN = "not_in_manual_plan"  # a hand-made plan does not visit it
    OTHER = "other"  # not recorded (an entry stored before kinds existed)


@dataclass(frozen=True, slots=True, kw_only=True)
class Unserved:
    """A stop left out of the plan and why (e.g. "no truck takes stream 'glass': ...").

    ``kind`` is the reason's kind for programs; ``rules``, of a ``COULD_NOT_FIT`` stop
    whose tries were explained (``optimiser.explain``), the checker codes they broke
    (e.g. ``("shift",)``; the reason names them in words). Both have defaults so that
    entries stored before them still load (``api.state``).
    """

    ref: str
    reason: str
    kind: UnservedKind = UnservedKind.OTHER
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The optimiser's answer. ``objective`` (cost units): from ``solve``, a reroute or a
    hand-made plan, ``optimiser.check.objective`` (route costs, prizes lost, lateness), the
    same whatever the engine; an engine called directly gives its own figure."""

    status: PlanStatus
    routes: tuple[Route, ...]
    unserved: tuple[Unserved, ...] = ()
    objective: int = 0
    solve_time_s: float = 0.0
    engine: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def served_refs(self) -> frozenset[str]:
        """Refs of all bins emptied by some route."""
        return frozenset(r for route in self.routes for r in route.bin_refs)

    def sequences(self) -> dict[str, list[str]]:
        """Bin and disposal-site refs in visit order per used truck (an engine's warm start)."""
        return {
            r.vehicle_ref: [
                v.ref for v in r.visits if v.kind in (VisitKind.BIN, VisitKind.DISPOSAL)
            ]
            for r in self.routes
            if r.used
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """Where a truck stands now (what a reroute goes on from: ``optimiser.reroute``).

    Attributes
    ----------
    vehicle_ref : str
        The truck.
    done : tuple of str
        Refs of the bins and disposal sites completed, in order (a prefix of its route).
    location : int
        Matrix row of its current position.
    time_s : int
        Now, seconds since local midnight. Before the planned end of the last visit done
        (a crew faster than planned), the truck goes on from that end: the visits done stand
        as planned.
    volume_l, weight_kg : int
        Load on board now.
    daily_l, daily_kg : int
        Collected so far today.
    break_taken : bool
        Whether the driver has had the break.
    """

    vehicle_ref: str
    done: tuple[str, ...]
    location: int
    time_s: int
    volume_l: int = 0
    weight_kg: int = 0
    daily_l: int = 0
    daily_kg: int = 0
    break_taken: bool = False
