"""Independent plan checker, scoring and timing of hand-made routes (no solver import).

``check`` recomputes every route from the problem and the visit sequence alone: coverage,
streams, loads between disposals, return empty, daily limits, stop counts, travel times,
windows, shifts, the driver break and the distance/duration/cost totals. It is the oracle
of every solver test and validates dispatchers' manual plans. ``check_reroute`` checks a
rerouted day against the day being driven and the trucks' progress (what ``check``, which
knows no past, cannot see): the visits done stand as driven, nothing else is before a
truck's report, the rest goes on from the loads reported.

Visit semantics
---------------
* A route runs START (at the vehicle's ``start``) ... END (at its ``end``).
* BIN and DISPOSAL visits take ``service_s`` / ``unload_s``: ``end_s == start_s + that``;
  the window bounds ``start_s``; ``arrival_s <= start_s`` (the truck may wait).
* Between two located visits a -> b, ``b.arrival_s >= a.end_s + travel(a, b)`` and, with a
  BREAK visit between them, ``b.start_s >= a.end_s + travel + break_s`` (a break may
  interrupt travel or waiting but no service). Visits never overlap in time.
* A WAYPOINT is a zero-length pass through a matrix row (a truck's position at rerouting).
  It is a report, not a plan: the truck is there at that time whatever the matrix says of
  the drive into it (the travel out of it is checked), and its loads restate what the truck
  carries there, as measured on the road (bins fuller or emptier than forecast): the loads
  after it count on from them, against the capacities.
* DISPOSAL empties the truck; the site must take every stream collected since the last one.
  A site whose record changed during the day judges each unloading by the record in force
  when it started (``Site.at``): the unloadings done stand under the one they were made by.
* A truck with a break must take it inside its window, unless its whole route fits before
  or after a break that starts in the window.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral

from optimiser.costs import late_cost, route_cost
from optimiser.errors import InvalidProblemError
from optimiser.plan import (
    Plan,
    PlanStatus,
    Progress,
    Route,
    Unserved,
    UnservedKind,
    Visit,
    VisitKind,
    clock,
    span,
)
from optimiser.problem import Problem, Site, Stop, VehicleSpec, day_start, drop_weight

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


@dataclass(slots=True)
class _State:
    """What the truck carries while walking a route."""

    volume_l: int
    weight_kg: int
    daily_l: int
    daily_kg: int
    streams: set[str] = field(default_factory=set)
    stops: int = 0


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


def _left_out(problem: Problem, routed: set[str]) -> Iterator[Violation]:
    """The trucks with no route that cannot stay where they start: away from their end
    depot (on the road, rerouting) or carrying waste they must unload first."""
    for v in problem.vehicles:
        if v.ref in routed:
            continue
        if v.start != v.end:
            why = f"no route, but it is at row {v.start}, not at its end depot (row {v.end})"
            yield Violation(v.ref, None, "vehicle", why)
        elif v.starts_loaded and _must_unload(problem, v):
            load = f"{v.initial_volume_l} l / {v.initial_weight_kg} kg"
            yield Violation(v.ref, None, "vehicle", f"no route, but it carries {load} to unload")


def check_route(problem: Problem, vehicle: VehicleSpec, route: Route) -> list[Violation]:
    """Violations of one route alone (no coverage rules)."""
    return _RouteChecker(problem, vehicle, route).run()


def _coverage(problem: Problem, plan: Plan) -> Iterator[Violation]:
    served = Counter(ref for route in plan.routes for ref in route.bin_refs)
    listed = Counter(u.ref for u in plan.unserved)
    stops = {s.ref for s in problem.stops}
    for ref, n in served.items():
        if n > 1:
            yield Violation(None, ref, "served_twice", f"served {n} times")
    for u in plan.unserved:
        if u.ref not in stops:
            yield Violation(None, u.ref, "unknown_ref", "unserved entry of an unknown stop")
        elif served[u.ref]:
            yield Violation(None, u.ref, "served_and_unserved", "listed unserved but served")
        if not u.reason:
            yield Violation(None, u.ref, "no_reason", "unserved without a reason")
        if listed[u.ref] > 1:
            yield Violation(None, u.ref, "listed_twice", "listed unserved more than once")
    for stop in problem.stops:
        if not served[stop.ref] and not listed[stop.ref]:
            kind = "required" if stop.required else "optional"
            yield Violation(None, stop.ref, "unaccounted", f"{kind} stop neither served nor listed")


def check(problem: Problem, plan: Plan) -> list[Violation]:
    """Every rule the plan breaks; an empty list means the plan is valid.

    Parameters
    ----------
    problem : Problem
        The problem the plan claims to solve.
    plan : Plan
        Routes (any subset of the vehicles, each at most once) and unserved stops. A truck
        left out stays where it starts, so one away from its end depot, or carrying waste
        it must unload, needs a route (unless the plan has status NO_SOLUTION).

    Returns
    -------
    list of Violation
        In route order, then trucks left out, then coverage problems.
    """
    out: list[Violation] = []
    vehicles = {v.ref: v for v in problem.vehicles}
    seen: set[str] = set()
    for route in plan.routes:
        vehicle = vehicles.get(route.vehicle_ref)
        if vehicle is None or route.vehicle_ref in seen:
            why = "unknown vehicle" if vehicle is None else "vehicle has two routes"
            out.append(Violation(route.vehicle_ref, None, "vehicle", why))
            continue
        seen.add(route.vehicle_ref)
        out.extend(_RouteChecker(problem, vehicle, route).run())
    if plan.status is not PlanStatus.NO_SOLUTION:
        out.extend(_left_out(problem, seen))
    out.extend(_coverage(problem, plan))
    if plan.status is PlanStatus.NO_SOLUTION and plan.served_refs:
        out.append(Violation(None, None, "status", "NO_SOLUTION plan serves bins"))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """Totals of a plan (metres, seconds, cost units) and its violations; ``late_cost``:
    what serving stops after their response targets costs (:func:`late_s`);
    ``dropped_weight``: the required stops left out, weighed by priority
    (``optimiser.problem.drop_weight``)."""

    distance_m: int
    duration_s: int
    cost: int
    bins_served: int
    unserved: int
    required_unserved: int
    prize_lost: int
    vehicles_used: int
    violations: tuple[Violation, ...]
    late_cost: int = 0
    dropped_weight: int = 0

    @property
    def valid(self) -> bool:
        """Whether the plan breaks no rule."""
        return not self.violations


def score(problem: Problem, plan: Plan) -> Score:
    """Score a plan (solver-made or manual) by recomputation, with its violations.

    Totals are recomputed from the visits (not read from the routes), as the checker
    recomputes them, so a manual plan with wrong totals is still scored correctly; the
    mismatch shows among the violations (a visit at no row of the matrix too: its distance
    is left out, as the checker leaves it out, rather than failing or read from another row).
    """
    stops = problem.stops_by_ref()
    vehicles = {v.ref: v for v in problem.vehicles}
    distance = duration = cost = 0
    for route in plan.routes:
        d = _distance_m(problem, route.visits)
        t = route.visits[-1].end_s - route.visits[0].start_s if route.visits else 0
        distance, duration = distance + d, duration + t
        if route.vehicle_ref in vehicles:
            cost += route_cost(
                vehicles[route.vehicle_ref], distance_m=d, duration_s=t, used=route.used
            )
    served = plan.served_refs
    missing = [s for s in problem.stops if s.ref not in served]
    return Score(
        distance_m=distance,
        duration_s=duration,
        cost=cost,
        bins_served=len(served & stops.keys()),
        unserved=len(missing),
        required_unserved=sum(1 for s in missing if s.required),
        prize_lost=sum(s.prize for s in missing if not s.required),
        vehicles_used=sum(1 for r in plan.routes if r.used),
        violations=tuple(check(problem, plan)),
        late_cost=sum(late_cost(s) for s in late_s(problem, plan).values()),
        dropped_weight=sum(drop_weight(s) for s in missing if s.required),
    )


def late_s(problem: Problem, plan: Plan) -> dict[str, int]:
    """Stops served after their response target (``Stop.due_s``): ref -> seconds late (the
    start of service after the target). Lateness is not a violation."""
    due = {s.ref: s.due_s for s in problem.stops if s.due_s is not None}
    return {
        v.ref: v.start_s - due[v.ref]
        for route in plan.routes
        for v in route.visits
        if v.kind is VisitKind.BIN and v.ref in due and v.start_s > due[v.ref]
    }


def objective(problem: Problem, plan: Plan) -> int:
    """What ``plan`` costs in the terms the solvers minimise, cost units: its routes' costs,
    the prizes of the optional stops it leaves and what serving stops after their response
    targets costs (:func:`late_s`). Required stops left out are not priced: they are
    counted apart (``Score.required_unserved``, ``Score.dropped_weight``). The same for
    every engine, a reroute and a hand-made plan, so plans of a day compare by it."""
    served = plan.served_refs
    lost = sum(s.prize for s in problem.stops if not s.required and s.ref not in served)
    late = sum(late_cost(t) for t in late_s(problem, plan).values())
    return sum(r.cost for r in plan.routes) + lost + late


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


def plan_from_sequences(problem: Problem, sequences: Mapping[str, Sequence[str]]) -> Plan:
    """Time hand-made routes into a Plan that ``check`` and ``score`` accept.

    Parameters
    ----------
    problem : Problem
        The problem.
    sequences : mapping of vehicle ref -> refs
        Stop and disposal-site refs in visiting order. Vehicles not listed stay home.

    Returns
    -------
    Plan
        Status FEASIBLE; stops in no sequence are unserved ("not in the manual plan").

    Raises
    ------
    InvalidProblemError
        An unknown vehicle, stop or site ref.
    """
    known = {v.ref for v in problem.vehicles}
    unknown = set(sequences) - known
    if unknown:
        raise InvalidProblemError(f"manual plan: unknown vehicle(s) {sorted(unknown)}")
    routes = tuple(time_route(problem, v, sequences.get(v.ref, ())) for v in problem.vehicles)
    served = {ref for r in routes for ref in r.bin_refs}
    unserved = tuple(
        Unserved(ref=s.ref, reason="not in the manual plan", kind=UnservedKind.NOT_IN_MANUAL_PLAN)
        for s in problem.stops
        if s.ref not in served
    )
    plan = Plan(status=PlanStatus.FEASIBLE, routes=routes, unserved=unserved, engine="manual")
    return dataclasses.replace(plan, objective=objective(problem, plan))


# -- a reroute against the day being driven --------------------------------------------------

DONE_WORK = (VisitKind.BIN, VisitKind.DISPOSAL)


def check_reroute(
    problem: Problem,
    driven: Plan,
    new: Plan,
    progress: Sequence[Progress],
    *,
    stands: bool = False,
) -> list[Violation]:
    """The rules a rerouted day ``new`` breaks against the day being driven, ``driven``, and
    the trucks' ``progress`` (what :func:`check` cannot see: it knows no past).

    Per truck with progress:

    * ``done_dropped`` / ``done_order``: its visits done (``Progress.done``) come first
      among its bins and unloadings, in their order;
    * ``done_time``: each stands as driven (row and times; those after a break the day
      driven plans among them, when the truck went on without it, ``break_taken`` False,
      may start sooner, same row and length); so does its START, unless
      nothing is done and it is away from its start: it set out by its report then (leaves
      no later than ``Progress.time_s``, as driven when that was sooner; with no route
      driven, no later than ``Progress.time_s``);
    * ``past``: nothing it has not done starts before ``Progress.time_s`` (a crew faster
      than planned goes on after its visits done, which stand as driven). A break over by
      then is the record of one taken; a break of ``driven`` it is on then stands as
      driven, and so do the waypoints of ``driven`` (earlier reports) before it; so does
      its return, when it has done all its driven work and is reported
      where its plan has it (at its last visit done by its planned return, or where it
      ends its day);
    * ``done_load``: the loads its rest of the day starts from (at its last visit done,
      or at the waypoint of its report) are those reported, no more than it holds and
      than its daily limits (a truck reported fuller is taken as full);
    * ``done_place``: its rest of the day goes on from where it is reported (its last
      visit done, or the waypoint of its report), unless its return stands as driven (as
      for ``past``): a truck reported away from its depot with nothing done, with no
      route driven or its route not started, set out from there by then;
    * ``no_route``: it keeps a route when it has done work or is away from its end depot.

    When no plan goes on from the trucks' positions, the plan being driven stands (its
    routes, those of trucks that can no longer drive them cut): say so with ``stands``; a
    route of ``driven`` kept whole is then judged by its visits done (its rest may be
    before now) and, with work done, by ``done_place`` and ``done_load``: it stands only
    for a truck reported where and as loaded as it has it.

    Parameters
    ----------
    problem : Problem
        The problem ``new`` solves (the day with its alerts).
    driven, new : Plan
        The plan being driven and the rerouted day.
    progress : sequence of Progress
        One per truck on the road (locations: rows of ``problem``'s matrix).
    stands : bool
        ``new`` is the plan being driven, standing: no plan went on from the positions.

    Returns
    -------
    list of Violation
        Truck by truck, in the order of ``progress``.
    """
    vehicles = {v.ref: v for v in problem.vehicles}
    before = {r.vehicle_ref: r for r in driven.routes}
    after = {r.vehicle_ref: r for r in new.routes}
    out: list[Violation] = []
    for prog in progress:
        v = vehicles.get(prog.vehicle_ref)
        if v is None:
            out.append(Violation(prog.vehicle_ref, None, "vehicle", "progress of an unknown truck"))
            continue
        route = after.get(v.ref)
        if route is None:
            if prog.done:
                why = f"no route, but it has done {len(prog.done)} visits"
                out.append(Violation(v.ref, None, "no_route", why))
            elif prog.location != v.end:
                why = f"no route, but it is at row {prog.location}, not at its end (row {v.end})"
                out.append(Violation(v.ref, None, "no_route", why))
            continue
        was = before.get(v.ref)
        whole = stands and route == was
        out.extend(_Resumed(v, was, route, prog, stands=whole).run())
    return out


@dataclass(slots=True)
class _Resumed:
    """One truck's rerouted day against its day driven and its progress."""

    v: VehicleSpec
    driven: Route | None
    route: Route
    prog: Progress
    stands: bool = False  # the route driven, standing whole: no plan went on
    out: list[Violation] = field(default_factory=list)

    def add(self, ref: str | None, code: str, message: str) -> None:
        self.out.append(Violation(self.v.ref, ref, code, message))

    def run(self) -> list[Violation]:
        visits = self.route.visits
        if len(visits) < 2:
            return self.out  # no route's shape: check reports it
        work = [i for i, x in enumerate(visits) if x.kind in DONE_WORK]
        refs = [visits[i].ref for i in work]
        done = self.prog.done
        left = Counter(refs)
        present = []
        for k, ref in enumerate(done):
            if left[ref]:
                left[ref] -= 1
                present.append(ref)
            else:
                self.add(ref, "done_dropped", f"done ({_nth(k)} visit done), but not in its route")
        for k, ref in enumerate(present):
            if refs[k] != ref:
                self.add(ref, "done_order", f"done {_nth(k)}, but its route has {refs[k]} then")
        if self.out:
            return self.out
        self._start(visits)
        driven = self._driven_done()
        skipped = self._skipped_break()
        for k, ref in enumerate(done):
            self._as_driven(visits[work[k]], driven.get((ref, k)), sooner=k >= skipped)
        cut = work[len(done) - 1] + 1 if done else 1
        if not self.stands:
            self._after(visits, cut)
        elif done:  # standing whole: still where and as loaded as reported
            self._from_report(visits, cut, finished=self._finished())
        else:  # standing whole, nothing done: on its way to its first bin, as it left
            self._loads_from(visits[0])
        return self.out

    def _driven_done(self) -> dict[tuple[str, int], Visit]:
        """The driven visits done, by (ref, rank among the work visits)."""
        if self.driven is None:
            return {}
        work = [x for x in self.driven.visits if x.kind in DONE_WORK]
        return {(x.ref, k): x for k, x in enumerate(work[: len(self.prog.done)])}

    def _skipped_break(self) -> int:
        """The rank (among the work visits done) of the first one after a break the route
        driven plans among them, when the truck went on without it (``break_taken`` False):
        from there the visits done may come sooner than driven. Past the last one
        otherwise."""
        n = len(self.prog.done)
        if self.driven is None or self.prog.break_taken or not n:
            return n
        k = 0
        for x in self.driven.visits:
            if x.kind is VisitKind.BREAK:
                return k if k < n else n
            k += x.kind in DONE_WORK
        return n

    def _as_driven(self, visit: Visit, was: Visit | None, *, sooner: bool = False) -> None:
        """``visit`` done stands as driven (``was``): its row and times; with ``sooner`` (a
        break skipped before it), its row and length, starting no later."""
        if was is None or was.ref != visit.ref:
            self.add(visit.ref, "done_time", "done, but the plan being driven has no such visit")
            return
        got = (visit.location, visit.arrival_s, visit.start_s, visit.end_s)
        want = (was.location, was.arrival_s, was.start_s, was.end_s)
        length, planned = visit.end_s - visit.start_s, was.end_s - was.start_s
        if sooner and got[0] == want[0] and visit.start_s <= was.start_s and length == planned:
            return  # came sooner: its break skipped
        if got != want:
            self.add(
                visit.ref,
                "done_time",
                f"done at row {want[0]}, {_stay(was)} as driven; its route has "
                f"row {got[0]}, {_stay(visit)}",
            )

    def _start(self, visits: Sequence[Visit]) -> None:
        first, prog = visits[0], self.prog
        was = self.driven.visits[0] if self.driven is not None and self.driven.visits else None
        if was is None and not prog.done and prog.location != self.v.start:
            if first.end_s > prog.time_s:  # no route driven, out: it set out by its report
                self.add(
                    first.ref,
                    "done_time",
                    f"reported at row {prog.location} at {clock(prog.time_s)} with nothing "
                    f"done, so out by then; its route leaves at {clock(first.end_s)}",
                )
            return
        if was is None or first.kind is not VisitKind.START:
            return
        if prog.done:
            self._as_driven(first, was)
        elif prog.location != was.location:  # out, nothing done: set out by its report
            if first.location != was.location or first.end_s > prog.time_s:
                self.add(
                    first.ref,
                    "done_time",
                    f"reported at row {prog.location} at {clock(prog.time_s)} with nothing "
                    f"done, so out of row {was.location} by then; its route leaves row "
                    f"{first.location} at {clock(first.end_s)}",
                )
            elif was.end_s <= prog.time_s:
                self._as_driven(first, was)
        elif first.start_s < prog.time_s and self.route.used:  # at its depot then: not out
            self.add(
                first.ref,
                "past",
                f"at its depot at {clock(prog.time_s)} with nothing done; its route leaves "
                f"at {clock(first.start_s)}",
            )

    def _finished(self) -> bool:
        """Whether the truck has done all its driven work and is reported where its plan has
        it (at its last visit done by its planned return, or at the end of its day): its
        return stands as driven. At its last visit after its planned return, it is not
        home: it drives home from there."""
        if self.driven is None:
            return False
        work = [x for x in self.driven.visits if x.kind in DONE_WORK]
        if tuple(x.ref for x in work) != self.prog.done:
            return False
        last = work[-1] if work else self.driven.visits[0]
        end, prog = self.driven.visits[-1], self.prog
        return prog.location == end.location or (
            prog.location == last.location and prog.time_s <= end.arrival_s
        )

    def _after(self, visits: Sequence[Visit], cut: int) -> None:
        """The visits from ``cut`` (the first not done): none before now but the documented
        ones; the loads the rest starts from as reported."""
        now = self.prog.time_s
        driven = self.driven.visits if self.driven is not None else ()
        finished = self._finished()
        for x in visits[cut:]:
            if x.start_s >= now:
                continue
            if x.kind is VisitKind.BREAK and (x.end_s <= now or x in driven):
                continue  # a break taken, or the driven one it is on now
            if x.kind is VisitKind.WAYPOINT and x in driven:
                continue  # an earlier report, as driven (before the break it is on now)
            if x in driven and finished:
                continue  # its return as driven
            self.add(
                x.ref,
                "past",
                f"{x.kind.value} at {clock(x.start_s)}, before the truck's report at {clock(now)}",
            )
        self._from_report(visits, cut, finished=finished)

    def _from_report(self, visits: Sequence[Visit], cut: int, *, finished: bool) -> None:
        """The rest of the day, from ``cut`` (the first visit not done), goes on from where
        the truck is reported, with the loads reported (``done_place``, ``done_load``)."""
        prog = self.prog
        rest = [x for x in visits[cut:] if x.kind is not VisitKind.BREAK]
        first = next((i for i, x in enumerate(rest) if x.kind is not VisitKind.WAYPOINT), None)
        kept = [x for x in visits[:cut] if x.kind is not VisitKind.BREAK]
        at = rest[first - 1] if first else (kept[-1] if kept else None)
        if at is None:
            return
        if at.location != prog.location and not finished:
            self.add(
                at.ref,
                "done_place",
                f"its rest of the day goes on from row {at.location}, reported at row "
                f"{prog.location}",
            )
        self._loads_from(at)

    def _loads_from(self, at: Visit) -> None:
        """The rest of the day goes on from visit ``at`` with the loads reported
        (``done_load``; a truck reported fuller than it holds is taken as full)."""
        prog = self.prog
        want = (
            min(prog.volume_l, self.v.capacity_l),
            min(prog.weight_kg, self.v.capacity_kg),
            min(
                prog.daily_l, self.v.max_daily_l if self.v.max_daily_l is not None else prog.daily_l
            ),
            min(
                prog.daily_kg,
                self.v.max_daily_kg if self.v.max_daily_kg is not None else prog.daily_kg,
            ),
        )
        got = (at.volume_l, at.weight_kg, at.daily_l, at.daily_kg)
        if got != want:
            self.add(
                at.ref,
                "done_load",
                f"its rest of the day starts from loads {got} (l, kg, daily l, daily kg), "
                f"reported {want}",
            )


def _nth(k: int) -> str:
    """Rank ``k`` (from 0) in words: 1st, 2nd, 3rd, 4th..."""
    n = k + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _stay(x: Visit) -> str:
    return f"arriving {clock(x.arrival_s)}, {clock(x.start_s)}-{clock(x.end_s)}"
