"""A route's times as the checker recomputes them (:func:`time_route`): each visit as early
as the drive, its window and the site's hours allow, the break at its first chance.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from optimiser.costs import route_cost
from optimiser.errors import InvalidProblemError
from optimiser.plan import (
    Route,
    Visit,
    VisitKind,
)
from optimiser.problem import Problem, Site, Stop, VehicleSpec, day_start


@dataclass(slots=True)
class _State:
    """What the truck carries while walking a route."""

    volume_l: int
    weight_kg: int
    daily_l: int
    daily_kg: int
    streams: set[str] = field(default_factory=set)
    stops: int = 0


# -- timing hand-made routes -----------------------------------------------------------------


@dataclass(slots=True)
class _Clock:
    """Earliest-start timing of a route being built."""

    vehicle: VehicleSpec
    visits: list[Visit]
    state: _State
    break_due: bool
    break_before: int | None = None  # take the break only before this visit (its index)

    @property
    def last(self) -> Visit:
        return self.visits[-1]

    def _push(
        self, kind: VisitKind, ref: str, location: int | None, times: tuple[int, int, int]
    ) -> None:
        st = self.state
        arrival, start, end = times
        self.visits.append(
            Visit(
                kind=kind,
                ref=ref,
                location=location,
                arrival_s=arrival,
                start_s=start,
                end_s=end,
                volume_l=st.volume_l,
                weight_kg=st.weight_kg,
                daily_l=st.daily_l,
                daily_kg=st.daily_kg,
            )
        )

    def go(
        self,
        problem: Problem,
        kind: VisitKind,
        ref: str,
        location: int,
        service: tuple[int, tuple[int, int] | None],
        stop: Stop | None = None,
    ) -> None:
        """Drive to ``location`` and serve it as early as possible (break first if due);
        ``stop`` is the bin collected there, if any."""
        duration, window = service
        t = self.last.end_s
        prev_loc = self.last.location if self.last.location is not None else location
        travel = int(problem.matrix.duration_s[prev_loc, location])
        open_at = window[0] if window else 0
        arrival = t + travel
        start = max(arrival, open_at)
        pause = self._maybe_break(t, start)
        if pause is not None:
            brk = self.vehicle.break_s
            start = max(t + travel + brk, pause + brk, open_at)
            if pause < arrival:  # the break interrupts the drive
                arrival += brk
        self._load(kind, stop)
        self._push(kind, ref, location, (arrival, start, start + duration))

    def _maybe_break(self, t: int, next_start: int) -> int | None:
        v = self.vehicle
        if not self.break_due or v.break_window_s is None:
            return None
        if self.break_before is not None and len(self.visits) != self.break_before:
            return None
        lo, hi = v.break_window_s
        at = max(t, lo)
        if at > hi or at > next_start:
            return None
        self._push(VisitKind.BREAK, v.ref, None, (at, at, at + v.break_s))
        self.break_due = False
        return at

    def _load(self, kind: VisitKind, stop: Stop | None) -> None:
        st = self.state
        if kind is VisitKind.BIN and stop is not None:
            st.volume_l += stop.volume_l
            st.weight_kg += stop.weight_kg
            st.daily_l += stop.volume_l
            st.daily_kg += stop.weight_kg
        elif kind is VisitKind.DISPOSAL:
            st.volume_l = st.weight_kg = 0


def _service(
    stops: Mapping[str, Stop], sites: Mapping[str, Site], ref: str
) -> tuple[VisitKind, int, tuple[int, tuple[int, int] | None]]:
    if ref in stops:
        s: Stop = stops[ref]
        return VisitKind.BIN, s.location, (s.service_s, s.window_s)
    if ref in sites:
        site: Site = sites[ref]
        return VisitKind.DISPOSAL, site.location, (site.unload_s, site.window_s)
    raise InvalidProblemError(f"manual route: {ref!r} is neither a stop nor a site of the problem")


def time_route(problem: Problem, vehicle: VehicleSpec, refs: Sequence[str]) -> Route:
    """Time a route visiting ``refs`` (stop and site refs) in order, as early as possible.

    The truck leaves at the start of its shift (or ``ready_s``), waits for windows, and
    takes its break at the first point inside the break window where it is between visits,
    unless its day begins after a break at the window's start would be over (the checker's
    rule: it needs none then). When a break there would make a later visit miss its window
    (or the truck its shift end), it takes it at the first point where none does, if any
    (:func:`_break_slot`). With no ``refs``, a truck not out yet (no ``departed_s``) stays
    home and needs no break; one on the road (rerouting) takes it on its way home as above:
    its day done counts for the rule.
    """
    v = vehicle
    t0 = max(v.shift_s[0], v.ready_s) if v.ready_s is not None else v.shift_s[0]
    due = (
        v.break_s > 0
        and not v.break_taken
        and v.break_window_s is not None
        and day_start(v, t0) < v.break_window_s[0] + v.break_s
        and (bool(refs) or v.departed_s is not None)  # an unused truck stays home
    )
    known = _Known(problem, v, problem.stops_by_ref(), problem.sites_by_ref())
    visits = _timed(known, refs, t0, due, None)
    if due and _misses(known, visits):
        slot = _break_slot(known, _timed(known, refs, t0, False, None))
        if slot is not None:
            visits = _timed(known, refs, t0, True, slot)
    dist = problem.matrix.distance_m
    located = [x.location for x in visits if x.location is not None]
    distance = sum(int(dist[a, b]) for a, b in itertools.pairwise(located))
    duration = visits[-1].end_s - visits[0].start_s
    used = bool(refs)
    cost = route_cost(v, distance_m=distance, duration_s=duration, used=used)
    return Route(
        vehicle_ref=v.ref, visits=tuple(visits), distance_m=distance, duration_s=duration, cost=cost
    )


NO_ROOM = 10**9  # no window: a visit may start any later, seconds


@dataclass(frozen=True, slots=True)
class _Known:
    """A problem, the truck of the route being timed, and its stops and sites by ref."""

    problem: Problem
    vehicle: VehicleSpec
    stops: Mapping[str, Stop]
    sites: Mapping[str, Site]

    def closes(self, visit: Visit) -> int | None:
        """The latest start of ``visit`` its window (or, for END, the shift) allows."""
        if visit.kind is VisitKind.END:
            return self.vehicle.shift_s[1]
        window: tuple[int, int] | None = None
        if visit.kind is VisitKind.BIN:
            window = self.stops[visit.ref].window_s
        elif visit.kind is VisitKind.DISPOSAL:
            window = self.sites[visit.ref].window_s
        return None if window is None else window[1]


def _timed(
    known: _Known, refs: Sequence[str], t0: int, due: bool, break_before: int | None
) -> list[Visit]:
    """The visits of ``refs`` timed from ``t0`` as early as possible, a break taken when
    ``due``: at the first point inside its window, or only before visit ``break_before``."""
    v = known.vehicle
    state = _State(v.initial_volume_l, v.initial_weight_kg, v.initial_daily_l, v.initial_daily_kg)
    timer = _Clock(vehicle=v, visits=[], state=state, break_due=due, break_before=break_before)
    timer._push(VisitKind.START, v.ref, v.start, (t0, t0, t0))
    for ref in refs:
        kind, location, service = _service(known.stops, known.sites, ref)
        timer.go(known.problem, kind, ref, location, service, known.stops.get(ref))
    timer.go(known.problem, VisitKind.END, v.ref, v.end, (0, None))
    return timer.visits


def _misses(known: _Known, visits: Sequence[Visit]) -> bool:
    """Whether a visit starts after its window closes, or the truck is back after its shift."""
    return any((close := known.closes(x)) is not None and x.start_s > close for x in visits)


def _break_slot(known: _Known, bare: Sequence[Visit]) -> int | None:
    """The first visit of ``bare`` (a route timed without the break) before which the break
    can start inside its window and delays no later visit past its window or the truck past
    its shift end; None when there is none.

    A delay of visit ``i`` is absorbed by waiting further on: ``push[i]``, the most visit
    ``i`` may start later with every visit from it still in time, is the smallest of its own
    room and the waiting before the next visit plus that one's ``push``.
    """
    v = known.vehicle
    assert v.break_window_s is not None
    lo, hi = v.break_window_s
    dur = known.problem.matrix.duration_s
    n = len(bare)
    push = [0] * n
    for i in range(n - 1, 0, -1):
        close = known.closes(bare[i])
        room = NO_ROOM if close is None else close - bare[i].start_s
        if i + 1 < n:
            wait = bare[i + 1].start_s - bare[i + 1].arrival_s
            room = min(room, wait + push[i + 1])
        push[i] = room
    for i in range(1, n):
        prev, here = bare[i - 1], bare[i]
        at = max(prev.end_s, lo)
        if at > hi or at > here.start_s:
            continue
        travel = int(dur[prev.location, here.location]) if prev.location is not None else 0
        opens = here.start_s if here.start_s > here.arrival_s else 0  # waited for its window
        start = max(prev.end_s + travel + v.break_s, at + v.break_s, opens)
        if start - here.start_s <= push[i]:
            return i
    return None
