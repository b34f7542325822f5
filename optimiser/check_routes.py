"""One route against every rule (:func:`check_route`): loads and disposal trips, windows and
sites' hours, shift, break, daily limits, streams, equipment, stops; a
:class:`Violation` per rule broken.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

from optimiser.check_timing import _State
from optimiser.costs import route_cost
from optimiser.plan import (
    Route,
    Visit,
    VisitKind,
    clock,
    span,
)
from optimiser.problem import Problem, VehicleSpec, day_start

LOCATED = (VisitKind.START, VisitKind.BIN, VisitKind.DISPOSAL, VisitKind.END, VisitKind.WAYPOINT)


def _span(window: tuple[int, int]) -> str:
    return f"{clock(window[0])}-{clock(window[1])}"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: which vehicle and visit ref (or None), a code and an explanation."""

    vehicle_ref: str | None
    ref: str | None
    code: str
    message: str


class _RouteChecker:
    """Walks one route and collects violations."""

    def __init__(self, problem: Problem, vehicle: VehicleSpec, route: Route) -> None:
        self.p, self.v, self.r = problem, vehicle, route
        self.out: list[Violation] = []
        self.stops = problem.stops_by_ref()
        self.sites = problem.sites_by_ref()

    def add(self, ref: str | None, code: str, message: str) -> None:
        self.out.append(Violation(self.v.ref, ref, code, message))

    def run(self) -> list[Violation]:
        visits = self.r.visits
        if len(visits) < 2 or visits[0].kind is not VisitKind.START:
            self.add(None, "shape", "a route must start with a START visit and end with END")
            return self.out
        if visits[-1].kind is not VisitKind.END:
            self.add(None, "shape", "a route must end with an END visit")
            return self.out
        ends = (VisitKind.START, VisitKind.END)
        if any(x.kind in ends for x in visits[1:-1]):
            self.add(None, "shape", "a START or END visit inside the route")
        own = (*ends, VisitKind.BREAK, VisitKind.WAYPOINT)
        for x in visits:
            if x.kind in own and x.ref != self.v.ref:
                self.add(x.ref, "ref", f"a {x.kind.value} visit names {x.ref!r}, not the truck")
        self._ends(visits[0], visits[-1])
        self._loads(visits)
        self._times(visits)
        self._break(visits)
        self._totals(visits)
        return self.out

    # -- shape, shift -----------------------------------------------------------------------
    def _ends(self, first: Visit, last: Visit) -> None:
        if first.location != self.v.start:
            self.add(None, "location", f"START at row {first.location}, expected {self.v.start}")
        if last.location != self.v.end:
            self.add(None, "location", f"END at row {last.location}, expected {self.v.end}")
        earliest = self.v.shift_s[0]
        if self.v.ready_s is not None:
            earliest = max(earliest, self.v.ready_s)
        if first.start_s < earliest:
            self.add(None, "shift", f"leaves at {clock(first.start_s)}, before {clock(earliest)}")
        if last.end_s > self.v.shift_s[1]:
            self.add(
                None,
                "shift",
                f"returns at {clock(last.end_s)}, after its shift end {clock(self.v.shift_s[1])}",
            )

    # -- loads ------------------------------------------------------------------------------
    def _loads(self, visits: Sequence[Visit]) -> None:
        v = self.v
        st = _State(v.initial_volume_l, v.initial_weight_kg, v.initial_daily_l, v.initial_daily_kg)
        if v.starts_loaded:  # what it carries is of its streams, any of them
            st.streams = set(v.streams)
        for visit in visits:
            if visit.kind is VisitKind.BIN:
                self._collect(st, visit)
            elif visit.kind is VisitKind.DISPOSAL:
                self._unload(st, visit)
            elif visit.kind is VisitKind.END:
                self._finish(st, visit)
            elif visit.kind is VisitKind.WAYPOINT:
                self._measured(st, visit)
            expected = (st.volume_l, st.weight_kg, st.daily_l, st.daily_kg)
            reported = (visit.volume_l, visit.weight_kg, visit.daily_l, visit.daily_kg)
            if expected != reported:
                self.add(visit.ref, "load", f"reported loads {reported}, recomputed {expected}")
        if v.max_stops is not None and st.stops > v.max_stops:
            self.add(None, "max_stops", f"{st.stops} bins, limit {v.max_stops}")

    def _collect(self, st: _State, visit: Visit) -> None:
        stop = self.stops.get(visit.ref)
        if stop is None:
            self.add(visit.ref, "unknown_ref", "BIN visit of an unknown stop")
            return
        if stop.stream not in self.v.streams:
            self.add(stop.ref, "stream", f"vehicle does not take stream {stop.stream!r}")
        if not stop.needs <= self.v.equipment:
            lacks = ", ".join(sorted(stop.needs - self.v.equipment))
            self.add(stop.ref, "equipment", f"vehicle has no {lacks} (the bin needs it)")
        st.volume_l += stop.volume_l
        st.weight_kg += stop.weight_kg
        st.daily_l += stop.volume_l
        st.daily_kg += stop.weight_kg
        st.streams.add(stop.stream)
        st.stops += 1
        self._capacity(st, stop.ref)

    def _capacity(self, st: _State, ref: str) -> None:
        v = self.v
        if st.volume_l > v.capacity_l:
            self.add(ref, "capacity_volume", f"{st.volume_l} l on board, capacity {v.capacity_l}")
        if st.weight_kg > v.capacity_kg:
            self.add(
                ref, "capacity_weight", f"{st.weight_kg} kg on board, capacity {v.capacity_kg}"
            )
        if v.max_daily_l is not None and st.daily_l > v.max_daily_l:
            self.add(ref, "daily_volume", f"{st.daily_l} l today, limit {v.max_daily_l}")
        if v.max_daily_kg is not None and st.daily_kg > v.max_daily_kg:
            self.add(ref, "daily_weight", f"{st.daily_kg} kg today, limit {v.max_daily_kg}")

    def _unload(self, st: _State, visit: Visit) -> None:
        listed = self.sites.get(visit.ref)
        if listed is None:
            self.add(visit.ref, "unknown_ref", "DISPOSAL visit of an unknown site")
            return
        site = listed.at(visit.start_s)  # the record it was made under
        refused = st.streams - site.streams
        if refused:
            self.add(site.ref, "site_stream", f"site does not take {sorted(refused)}")
        st.volume_l = st.weight_kg = 0
        st.streams = set()

    def _measured(self, st: _State, visit: Visit) -> None:
        """The loads measured at a waypoint replace the ones carried on from the plan; more
        than those is waste of the truck's streams, any of them. A load below zero is no
        measurement: the loads counted on from it would hide an overload."""
        measured = (visit.volume_l, visit.weight_kg, visit.daily_l, visit.daily_kg)
        if min(measured) < 0:
            self.add(visit.ref, "load", f"measured loads {measured}: none may be below zero")
        if visit.volume_l > st.volume_l or visit.weight_kg > st.weight_kg:
            st.streams |= self.v.streams
        st.volume_l, st.weight_kg = visit.volume_l, visit.weight_kg
        st.daily_l, st.daily_kg = visit.daily_l, visit.daily_kg
        self._capacity(st, visit.ref)

    def _finish(self, st: _State, visit: Visit) -> None:
        if _must_unload(self.p, self.v) and (st.volume_l or st.weight_kg):
            self.add(
                visit.ref,
                "return_empty",
                f"returns with {st.volume_l} l / {st.weight_kg} kg; unload at a site first",
            )

    # -- times ------------------------------------------------------------------------------
    def _place(self, visit: Visit) -> tuple[int, tuple[int, int] | None] | None:
        """(duration, window) of a located visit, None if the ref/location is wrong."""
        kind = visit.kind
        if kind is VisitKind.BIN:
            stop = self.stops.get(visit.ref)
            return None if stop is None else (stop.service_s, stop.window_s)
        if kind is VisitKind.DISPOSAL:
            site = self.sites.get(visit.ref)
            if site is None:
                return None
            made = site.at(visit.start_s)
            return made.unload_s, made.window_s
        return 0, None

    def _expected_location(self, visit: Visit) -> int | None:
        if visit.kind is VisitKind.BIN and visit.ref in self.stops:
            return self.stops[visit.ref].location
        if visit.kind is VisitKind.DISPOSAL and visit.ref in self.sites:
            return self.sites[visit.ref].at(visit.start_s).location  # where it was then
        return visit.location

    def _row(self, location: int | None) -> bool:
        """Whether ``location`` is a row of the problem's matrix."""
        return _is_row(self.p, location)

    def _visit_time(self, visit: Visit) -> None:
        placed = self._place(visit)
        if placed is None:
            return
        duration, window = placed
        if not self._row(visit.location):
            self.add(visit.ref, "location", f"visit at row {visit.location}: not a matrix row")
        elif visit.location != self._expected_location(visit):
            self.add(visit.ref, "location", f"visit at row {visit.location}")
        if visit.arrival_s > visit.start_s or visit.end_s != visit.start_s + duration:
            self.add(
                visit.ref,
                "timing",
                f"arrival {visit.arrival_s} / start {visit.start_s} / end {visit.end_s} s "
                f"inconsistent with a {duration} s visit",
            )
        if window is not None and not window[0] <= visit.start_s <= window[1]:
            self.add(
                visit.ref, "window", f"starts at {clock(visit.start_s)}, outside {_span(window)}"
            )

    def _times(self, visits: Sequence[Visit]) -> None:
        dur = self.p.matrix.duration_s
        prev: Visit | None = None
        pause = 0
        for i, visit in enumerate(visits):
            if i and visit.start_s < visits[i - 1].end_s:
                self.add(visit.ref, "overlap", "starts before the previous visit ends")
            if visit.kind is VisitKind.BREAK:
                if visit.location is not None:
                    where = f"the truck is (row {visit.location} given)"
                    self.add(
                        visit.ref, "break", f"a break has no location: it is taken where {where}"
                    )
                pause += visit.end_s - visit.start_s
                continue
            self._visit_time(visit)
            if (
                prev is not None
                and self._row(prev.location)
                and self._row(visit.location)
                and visit.kind is not VisitKind.WAYPOINT  # reported: there, whatever the drive
            ):
                travel = int(dur[prev.location, visit.location])
                if visit.arrival_s < prev.end_s + travel:
                    self.add(
                        visit.ref,
                        "travel",
                        f"arrives at {clock(visit.arrival_s)}; cannot before "
                        f"{clock(prev.end_s + travel)} ({span(travel)} from {prev.ref})",
                    )
                elif visit.start_s < prev.end_s + travel + pause:
                    self.add(visit.ref, "travel", "no time for the travel and the break")
            prev, pause = visit, 0

    # -- break ------------------------------------------------------------------------------
    def _break(self, visits: Sequence[Visit]) -> None:
        v = self.v
        breaks = [x for x in visits if x.kind is VisitKind.BREAK]
        if v.break_s <= 0 or v.break_taken or v.break_window_s is None:
            if breaks:
                self.add(None, "break", "a break visit for a truck without a break to take")
            return
        lo, hi = v.break_window_s
        if len(breaks) > 1:
            self.add(None, "break", f"{len(breaks)} breaks, expected one")
        for b in breaks:
            if b.end_s - b.start_s != v.break_s:
                self.add(
                    None, "break", f"break lasts {span(b.end_s - b.start_s)}, not {span(v.break_s)}"
                )
            if not lo <= b.start_s <= hi:
                self.add(
                    None, "break", f"break starts at {clock(b.start_s)}, outside {_span((lo, hi))}"
                )
        route = self.r
        if not breaks and route.used:
            start, end = day_start(v, visits[0].start_s), visits[-1].end_s
            if not (lo + v.break_s <= start or hi >= end):
                self.add(
                    None, "break", f"no break although the route spans the window {_span((lo, hi))}"
                )

    # -- totals -----------------------------------------------------------------------------
    def _totals(self, visits: Sequence[Visit]) -> None:
        distance = _distance_m(self.p, visits)
        duration = visits[-1].end_s - visits[0].start_s
        cost = route_cost(self.v, distance_m=distance, duration_s=duration, used=self.r.used)
        for name, got, want in (
            ("distance", self.r.distance_m, distance),
            ("duration", self.r.duration_s, duration),
            ("cost", self.r.cost, cost),
        ):
            if got != want:
                self.add(None, name, f"route {name} {got}, recomputed {want}")


def _is_row(problem: Problem, location: int | None) -> bool:
    """Whether ``location`` is a row of the problem's matrix."""
    if type(location) is not int and not isinstance(location, Integral):  # int: no ABC check
        return False
    return 0 <= location < problem.matrix.size


def _distance_m(problem: Problem, visits: Sequence[Visit]) -> int:
    """Metres driven through the located visits at rows of the matrix, in order (a visit at
    no row is reported by the checker and left out here)."""
    dist = problem.matrix.distance_m
    located = [x.location for x in visits if x.kind in LOCATED and _is_row(problem, x.location)]
    return sum(int(dist[a, b]) for a, b in itertools.pairwise(located))


def _must_unload(problem: Problem, v: VehicleSpec) -> bool:
    """Whether truck ``v`` must unload before it returns to its end depot."""
    return bool(problem.sites) and problem.return_empty and not v.comes_back_loaded


def check_route(problem: Problem, vehicle: VehicleSpec, route: Route) -> list[Violation]:
    """Violations of one route alone (no coverage rules)."""
    return _RouteChecker(problem, vehicle, route).run()
