"""A feasible-by-construction start: nearest-neighbour routes with disposal trips.

OR-Tools' own first-solution strategies struggle with optional disposal-site copies and
return-empty constraints on large instances (none finds a solution for 1000 bins within a
minute), so the engine starts its local search from these routes instead. Trucks are
filled one after the other: each goes to the feasible stop that it can start serving
soonest (travel + waiting), unloads at the nearest usable site when nothing more fits, and
goes home (via a site when it must return empty). Timing follows ``check.time_route``
(earliest start, break at the first chance inside its window); every route is verified
with ``check.check_route`` and dropped if it is not valid.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimiser.check import check_route, time_route
from optimiser.plan import Route, Visit, VisitKind
from optimiser.problem import Problem, Site, Stop, VehicleSpec, takes
from optimiser.screen import NO_WINDOW_HI, needs_disposal, usable_sites

FAR = np.iinfo(np.int64).max // 4
# Ranking insertions of a stop with a response target: a second late weighs as a minute of
# detour (``optimiser.costs.LATE_COST_PER_H`` against a truck's default hour and km, about 65).
LATE_RANK = 60


@dataclass(slots=True)
class _Truck:
    """Where a truck under construction stands."""

    loc: int
    t: int
    vol: int
    wt: int
    daily_l: int
    daily_kg: int
    n: int
    break_due: bool


@dataclass(frozen=True, slots=True)
class _Stops:
    """Stop data as arrays (one entry per stop, problem order)."""

    loc: np.ndarray
    vol: np.ndarray
    wt: np.ndarray
    service: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def of(cls, problem: Problem) -> _Stops:
        s = problem.stops
        return cls(
            loc=np.array([x.location for x in s], dtype=np.int64),
            vol=np.array([x.volume_l for x in s], dtype=np.int64),
            wt=np.array([x.weight_kg for x in s], dtype=np.int64),
            service=np.array([x.service_s for x in s], dtype=np.int64),
            lo=np.array([x.window_s[0] if x.window_s else 0 for x in s], dtype=np.int64),
            hi=np.array([x.window_s[1] if x.window_s else NO_WINDOW_HI for x in s], dtype=np.int64),
        )


class _Builder:
    """Builds one truck's route over the stops still free."""

    def __init__(self, problem: Problem, stops: _Stops, v: VehicleSpec) -> None:
        self.p, self.s, self.v = problem, stops, v
        self.dur = problem.matrix.duration_s
        self.sites = usable_sites(problem, v) if problem.sites else ()
        self.must_unload = needs_disposal(problem, v)
        self.back = self._return_times()

    def _return_times(self) -> np.ndarray:
        """Seconds from each stop back to the end depot (via the best site if needed)."""
        locs, end = self.s.loc, self.v.end
        if not self.must_unload:
            direct: np.ndarray = self.dur[locs, end]
            return direct
        best = np.full(len(locs), FAR, dtype=np.int64)
        for site in self.sites:
            best = np.minimum(
                best, self.dur[locs, site.location] + site.unload_s + self.dur[site.location, end]
            )
        return best

    def _starts(self, tr: _Truck) -> np.ndarray:
        """Service start at every stop if visited next (break taken first when due)."""
        travel = self.dur[tr.loc, self.s.loc]
        start = np.maximum(tr.t + travel, self.s.lo)
        v = self.v
        if tr.break_due and v.break_window_s is not None:
            blo, bhi = v.break_window_s
            at = max(tr.t, blo)
            if at <= bhi:
                with_break = np.maximum(
                    np.maximum(tr.t + travel + v.break_s, at + v.break_s), self.s.lo
                )
                start = np.where(at <= start, with_break, start)
        starts: np.ndarray = start
        return starts

    def candidates(self, tr: _Truck, free: np.ndarray) -> np.ndarray:
        """Service starts, FAR where the stop is not free or does not fit now."""
        v, s = self.v, self.s
        start = self._starts(tr)
        spare = v.break_s if tr.break_due else 0  # a break still due may come before home
        ok = free & (start <= s.hi) & (tr.vol + s.vol <= v.capacity_l)
        ok &= tr.wt + s.wt <= v.capacity_kg
        ok &= start + s.service + self.back + spare <= v.shift_s[1]
        if v.max_daily_l is not None:
            ok &= tr.daily_l + s.vol <= v.max_daily_l
        if v.max_daily_kg is not None:
            ok &= tr.daily_kg + s.wt <= v.max_daily_kg
        if v.max_stops is not None and tr.n >= v.max_stops:
            ok[:] = False
        return np.where(ok, start, FAR)

    def advance(self, tr: _Truck, location: int, opens: int, duration: int) -> None:
        """Drive to ``location`` and serve it (the ``check.time_route`` rule for the break)."""
        travel = int(self.dur[tr.loc, location])
        start = max(tr.t + travel, opens)
        v = self.v
        if tr.break_due and v.break_window_s is not None:
            blo, bhi = v.break_window_s
            at = max(tr.t, blo)
            if at <= bhi and at <= start:
                start = max(tr.t + travel + v.break_s, at + v.break_s, opens)
                tr.break_due = False
        tr.t, tr.loc = start + duration, location

    def nearest_site(self, tr: _Truck) -> Site | None:
        """The usable site reached soonest whose window is still open."""
        best: tuple[int, Site] | None = None
        for site in self.sites:
            arrive = max(tr.t + int(self.dur[tr.loc, site.location]), site.window_s[0])
            if arrive <= site.window_s[1] and (best is None or arrive < best[0]):
                best = (arrive, site)
        return best[1] if best else None


def _unload(b: _Builder, tr: _Truck, refs: list[str]) -> bool:
    site = b.nearest_site(tr)
    if site is None:
        return False
    b.advance(tr, site.location, site.window_s[0], site.unload_s)
    tr.vol = tr.wt = 0
    refs.append(site.ref)
    return True


def _serve(b: _Builder, tr: _Truck, i: int) -> None:
    s = b.s
    b.advance(tr, int(s.loc[i]), int(s.lo[i]), int(s.service[i]))
    vol, wt = int(s.vol[i]), int(s.wt[i])
    tr.vol, tr.wt = tr.vol + vol, tr.wt + wt
    tr.daily_l, tr.daily_kg = tr.daily_l + vol, tr.daily_kg + wt
    tr.n += 1


def _build_route(problem: Problem, stops: _Stops, v: VehicleSpec, free: np.ndarray) -> list[str]:
    """Stop and site refs of one truck's route; served stops are cleared from ``free``."""
    b = _Builder(problem, stops, v)
    t0 = max(v.shift_s[0], v.ready_s) if v.ready_s is not None else v.shift_s[0]
    due = v.break_s > 0 and not v.break_taken and v.break_window_s is not None
    tr = _Truck(
        v.start,
        t0,
        v.initial_volume_l,
        v.initial_weight_kg,
        v.initial_daily_l,
        v.initial_daily_kg,
        0,
        due,
    )
    refs: list[str] = []
    while True:
        start = b.candidates(tr, free)
        i = int(np.argmin(start)) if len(start) else -1
        if i >= 0 and start[i] < FAR:
            _serve(b, tr, i)
            free[i] = False
            refs.append(problem.stops[i].ref)
            continue
        if not (tr.vol or tr.wt) or not b.sites or not _unload(b, tr, refs):
            break
        if b.candidates(tr, free).min(initial=FAR) >= FAR:
            break
    return refs


_WORK = (VisitKind.BIN, VisitKind.DISPOSAL)


def _valid(problem: Problem, v: VehicleSpec, refs: list[str]) -> bool:
    return not check_route(problem, v, time_route(problem, v, refs))


def with_final_unload(problem: Problem, v: VehicleSpec, refs: list[str]) -> list[str]:
    """``refs`` ending at a site if the truck carries anything and must return empty."""
    sites = {s.ref for s in problem.sites}
    loaded = bool(refs) or v.starts_loaded
    if not needs_disposal(problem, v) or not loaded or (refs and refs[-1] in sites):
        return refs
    usable = usable_sites(problem, v)
    if not usable:
        return refs
    dur = problem.matrix.duration_s
    last = problem.stop(refs[-1]).location if refs else v.start
    best = min(usable, key=lambda s: int(dur[last, s.location] + dur[s.location, v.end]))
    return [*refs, best.ref]


def feasible_prefix(problem: Problem, v: VehicleSpec, refs: list[str]) -> list[str]:
    """The longest valid prefix of ``refs`` (plus a final unload when needed).

    Routes are timed with ``check.time_route`` and verified with ``check.check_route``;
    a binary search on the prefix length keeps this to a few checks. Returns [] when not
    even the shortest route is valid.
    """
    if _valid(problem, v, refs):
        return refs
    lo, hi = 0, len(refs)  # prefix lo: assumed valid; prefix hi: not valid
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _valid(problem, v, with_final_unload(problem, v, refs[:mid])):
            lo = mid
        else:
            hi = mid
    best = with_final_unload(problem, v, refs[:lo])
    return best if _valid(problem, v, best) else []


def feasible_subsequence(problem: Problem, v: VehicleSpec, refs: list[str]) -> list[str]:
    """``refs`` in their order less each one that would make the route invalid (plus a final
    unload when needed): a stop kept when the route so far with it is valid.

    Unlike :func:`feasible_prefix`, a stop no longer possible (its window passed, say) does
    not cost the ones after it; a site visit the truck would reach empty (an unloading
    planned after bins so left out) is dropped too. Takes one check per ref; returns []
    when not even the shortest route is valid.
    """
    if _valid(problem, v, refs):
        return refs
    kept: list[str] = []
    for ref in refs:
        if _valid(problem, v, with_final_unload(problem, v, [*kept, ref])):
            kept.append(ref)
    best = with_final_unload(problem, v, _no_empty_unloads(problem, v, kept))
    return best if _valid(problem, v, best) else []


def _no_empty_unloads(problem: Problem, v: VehicleSpec, refs: list[str]) -> list[str]:
    """``refs`` less the site visits truck ``v`` reaches carrying nothing."""
    work = [x for x in time_route(problem, v, refs).visits if x.kind in _WORK]
    loaded, out = v.starts_loaded, []
    for ref, visit in zip(refs, work, strict=True):
        if visit.kind is VisitKind.DISPOSAL and not loaded:
            continue
        out.append(ref)
        loaded = bool(visit.volume_l or visit.weight_kg)
    return out


def greedy_routes(problem: Problem) -> dict[str, list[str]]:
    """Feasible routes (vehicle ref -> stop and site refs in order); some stops may be left.

    Every route returned passes ``check.check_route`` (routes that do not after exact timing
    are cut to their longest valid prefix); stops in no route are left to the solver.
    """
    stops = _Stops.of(problem)
    free = np.ones(len(problem.stops), dtype=bool)
    index = {s.ref: i for i, s in enumerate(problem.stops)}
    out: dict[str, list[str]] = {}
    for v in problem.vehicles:
        allowed = np.array([takes(v, s) for s in problem.stops], dtype=bool)
        refs = feasible_prefix(problem, v, _build_route(problem, stops, v, free & allowed))
        if not refs:
            continue
        for ref in refs:
            if ref in index:
                free[index[ref]] = False
        out[v.ref] = refs
    return out


def detours(problem: Problem, v: VehicleSpec, refs: list[str], stop: Stop) -> np.ndarray:
    """Travel seconds added by inserting ``stop`` at each position ``0..len(refs)`` of truck
    ``v``'s route ``refs`` (stop and site refs, between its start and end)."""
    return _detours(problem, _rows(problem, v, refs), stop)


def _rows(problem: Problem, v: VehicleSpec, refs: list[str]) -> np.ndarray:
    """Matrix rows of truck ``v``'s start, the stops and sites ``refs``, and its end."""
    stops, sites = problem.stops_by_ref(), problem.sites_by_ref()
    where = [stops[r].location if r in stops else sites[r].location for r in refs]
    return np.array([v.start, *where, v.end], dtype=np.int64)


def _detours(problem: Problem, rows: np.ndarray, stop: Stop) -> np.ndarray:
    """:func:`detours` along the matrix rows ``rows`` of a route (:func:`_rows`)."""
    dur = problem.matrix.duration_s
    a, b = rows[:-1], rows[1:]
    extra: np.ndarray = dur[a, stop.location] + dur[stop.location, b] - dur[a, b]
    return extra


def start_of(route: Route, ref: str) -> int:
    """When ``route`` starts emptying bin stop ``ref`` (seconds since midnight)."""
    return next(x.start_s for x in route.visits if x.kind is VisitKind.BIN and x.ref == ref)


def start_in(
    problem: Problem, v: VehicleSpec, refs: list[str], ref: str, memo: LegsMemo | None = None
) -> int:
    """When truck ``v`` starts emptying bin stop ``ref`` in its route ``refs`` (seconds
    since midnight), timed as ``check.time_route`` does; ``memo`` as :func:`insert_cheapest`'s
    (the route timed once for both)."""
    legs = _legs(problem, v, refs, memo).legs
    return next(x.start_s for x in legs if x.kind is VisitKind.BIN and x.ref == ref)


@dataclass(frozen=True, slots=True)
class _Timed:
    """A truck's route as the insertions read it (:func:`_legs`): its START, bin and
    disposal visits timed as ``check.time_route`` does (leg ``k`` is where the truck leaves
    from to a stop inserted at position ``k``), the matrix rows of its start, stops and end
    (for the detours), when each leg ends and where, the break's seconds in each leg's end
    (0 before the break), the load on board after each leg and just before the next
    unloading after it (litres, kg), and ``room_s``, the seconds the route may still grow
    (:func:`_room_s`)."""

    legs: list[Visit]
    rows: np.ndarray
    ends_s: np.ndarray
    rested_s: np.ndarray
    leg_rows: np.ndarray
    load_l: np.ndarray
    load_kg: np.ndarray
    ahead_l: np.ndarray
    ahead_kg: np.ndarray
    room_s: int


# a truck's route timed (:func:`_legs`) by (vehicle ref, refs), for one problem
LegsMemo = dict[tuple[str, tuple[str, ...]], _Timed]


def _legs(
    problem: Problem, v: VehicleSpec, refs: list[str], memo: LegsMemo | None = None
) -> _Timed:
    """Route ``refs`` of truck ``v`` timed for insertions (:class:`_Timed`). ``memo`` (of
    ``problem`` only) keeps them for routes asked for again."""
    key = (v.ref, tuple(refs))
    if memo is not None and key in memo:
        return memo[key]
    work = (VisitKind.START, VisitKind.BIN, VisitKind.DISPOSAL)
    route = time_route(problem, v, refs)
    legs: list[Visit] = []
    rested, after = 0, []  # the break's seconds in each leg's end
    for x in route.visits:
        if x.kind is VisitKind.BREAK:
            rested = v.break_s
        elif x.kind in work:
            legs.append(x)
            after.append(rested)
    load_l = np.array([x.volume_l for x in legs], dtype=np.int64)
    load_kg = np.array([x.weight_kg for x in legs], dtype=np.int64)
    vol, wt = load_l.copy(), load_kg.copy()
    for j in range(len(legs) - 2, -1, -1):  # the load on board just before the next unload
        if legs[j + 1].kind is not VisitKind.DISPOSAL:
            vol[j], wt[j] = vol[j + 1], wt[j + 1]
    timed = _Timed(
        legs=legs,
        rows=_rows(problem, v, refs),
        ends_s=np.array([x.end_s for x in legs], dtype=np.int64),
        rested_s=np.array(after, dtype=np.int64),
        leg_rows=np.array([x.location for x in legs], dtype=np.int64),
        load_l=load_l,
        load_kg=load_kg,
        ahead_l=vol,
        ahead_kg=wt,
        room_s=_room_s(problem, v, route),
    )
    if memo is not None:
        memo[key] = timed
    return timed


def _room_s(problem: Problem, v: VehicleSpec, route: Route) -> int:
    """Seconds truck ``v``'s timed ``route`` may still grow: its shift end less when it
    leaves, its driving, its bins' and unloadings' service and its break (its waiting left
    out). An insertion adding more driving and service than that cannot be valid whatever
    the waiting it takes up (the truck would be back after its shift end), so the
    insertions do not check such positions: on a day with more bins than the trucks have
    time for, each insertion of a bin left out checked its 80 positions in vain."""
    visits = route.visits
    rows = np.array([x.location for x in visits if x.location is not None], dtype=np.int64)
    drive = int(problem.matrix.duration_s[rows[:-1], rows[1:]].sum())
    work = (VisitKind.BIN, VisitKind.DISPOSAL)
    busy = sum(x.end_s - x.start_s for x in visits if x.kind in work)
    pause = v.break_s if any(x.kind is VisitKind.BREAK for x in visits) else 0
    return v.shift_s[1] - visits[0].start_s - drive - busy - pause


def _arrivals(problem: Problem, timed: _Timed, stop: Stop) -> np.ndarray:
    """Earliest arrival (seconds since midnight) at ``stop`` inserted after each leg (a
    break the insertion would move is not counted)."""
    arrive: np.ndarray = timed.ends_s + problem.matrix.duration_s[timed.leg_rows, stop.location]
    return arrive


def _soonest_starts(problem: Problem, timed: _Timed, stop: Stop) -> np.ndarray:
    """The earliest ``stop`` may start inserted after each leg, however the new route is
    timed (seconds since midnight): not before its window opens, nor before the leg ends
    and the truck drives there, less the break for a leg after it (``check.time_route``
    moves the break later, past the stop, when a later window would be missed; no move
    makes a leg end sooner than that). A lower bound of the start, unlike
    :func:`_arrivals`, which ranks."""
    dur = problem.matrix.duration_s
    soonest = timed.ends_s - timed.rested_s + dur[timed.leg_rows, stop.location]
    start: np.ndarray = soonest if stop.window_s is None else np.maximum(soonest, stop.window_s[0])
    return start


def _fits(v: VehicleSpec, timed: _Timed, stop: Stop) -> np.ndarray:
    """Whether ``stop`` inserted after each leg keeps the truck within its capacities up to
    its next unloading, and within its daily limits (a necessary condition only)."""
    ok = _under(v, timed.ahead_l, timed.ahead_kg, stop.volume_l, stop.weight_kg)
    within: np.ndarray = ok & _daily_room(v, timed.legs, stop.volume_l, stop.weight_kg)
    return within


def _under(v: VehicleSpec, load_l: Any, load_kg: Any, volume_l: Any, weight_kg: Any) -> np.ndarray:
    """Whether ``volume_l`` litres and ``weight_kg`` kg on top of loads ``load_l`` and
    ``load_kg`` stay within truck ``v``'s capacities (arrays broadcast: loads by stops)."""
    fits: np.ndarray = np.asarray(load_l + volume_l <= v.capacity_l) & np.asarray(
        load_kg + weight_kg <= v.capacity_kg
    )
    return fits


def _daily_room(v: VehicleSpec, legs: list[Visit], volume_l: Any, weight_kg: Any) -> np.ndarray:
    """Whether ``volume_l`` litres and ``weight_kg`` kg more (a stop's, or arrays of several
    stops') keep truck ``v`` (route ``legs``) within its daily limits."""
    ok = np.ones(np.shape(volume_l), dtype=bool)
    if v.max_daily_l is not None:
        ok &= legs[-1].daily_l + volume_l <= v.max_daily_l
    if v.max_daily_kg is not None:
        ok &= legs[-1].daily_kg + weight_kg <= v.max_daily_kg
    return ok


def insert_cheapest(
    problem: Problem,
    routes: dict[str, list[str]],
    stop: Stop,
    *,
    max_checks: int = 40,
    memo: LegsMemo | None = None,
) -> str | None:
    """Insert ``stop`` where it adds the least travel time and the route stays valid.

    Positions of every route of a truck taking the stop's stream where the load fits are
    ranked by detour (seconds); the best ``max_checks`` are verified in that order with the
    checker, then each truck without a route (its one position; the cheapest positions
    may all be on full routes). Trucks without a route get one (with a final unload when
    needed). ``routes`` is updated. ``memo``: routes timed by earlier calls on ``problem``
    (filled here), for callers inserting many stops (only one route changes per stop).

    A stop with a response target (``due_s``) is ranked by detour + ``LATE_RANK`` x the
    seconds it would start late, and the best valid of the positions checked wins (its
    lateness timed exactly there); when none of them is valid, by detour alone, as any
    other stop (a target never costs the stop its place). When no position has room for it
    as the loads stand, it goes in with an unloading right after it, where that is valid
    (one more trip to a site: :func:`_with_unload`).

    Returns
    -------
    str or None
        The vehicle ref that took the stop, or None when no checked position is valid.
    """
    if stop.due_s is not None:
        chosen = _best_valid(problem, routes, stop, max_checks, memo, soonest=True)
        if chosen is not None:
            routes[chosen[1]] = chosen[2]
            return chosen[1]
    chosen = _best_valid(problem, routes, stop, max_checks, memo, soonest=False)
    if chosen is None:
        chosen = _with_unload(problem, routes, stop, max_checks, memo)
    if chosen is None:
        return None
    routes[chosen[1]] = chosen[2]
    return chosen[1]


def _best_valid(
    problem: Problem,
    routes: dict[str, list[str]],
    stop: Stop,
    max_checks: int,
    memo: LegsMemo | None,
    *,
    soonest: bool,
) -> tuple[int, str, list[str]] | None:
    """The valid insertion of ``stop`` (rank, vehicle ref, new route) :func:`insert_cheapest`
    picks: by detour (the first valid), or with ``soonest`` by detour + ``LATE_RANK`` x
    seconds after ``stop.due_s`` (the best valid; a position whose detour and least
    lateness (:func:`_soonest_starts`) cost no less than the best valid one found is not
    checked: it could not replace it)."""
    due = stop.due_s if soonest else None
    # (rank key, vehicle index, position, detour, the least it can cost: its floor)
    ranked: list[tuple[int, int, int, int, int]] = []
    rooms: dict[int, int] = {}  # vehicle index -> seconds its route may still grow
    for vi, v in enumerate(problem.vehicles):
        if not takes(v, stop):
            continue
        route = _legs(problem, v, routes.get(v.ref, []), memo)
        rooms[vi] = route.room_s
        detour = _detours(problem, route.rows, stop)
        key = floor = detour
        if due is not None:
            key = key + LATE_RANK * np.maximum(0, _arrivals(problem, route, stop) - due)
            floor = floor + LATE_RANK * np.maximum(0, _soonest_starts(problem, route, stop) - due)
        fits = np.flatnonzero(_fits(v, route, stop))
        best = fits[np.argsort(key[fits], kind="stable")[:max_checks]]
        ranked.extend((int(key[k]), vi, int(k), int(detour[k]), int(floor[k])) for k in best)
    ordered = sorted(ranked)
    idle = [r for r in ordered[max_checks:] if not routes.get(problem.vehicles[r[1]].ref)]
    chosen: tuple[int, str, list[str]] | None = None
    for _, vi, k, k_detour, k_floor in ordered[:max_checks] + idle:  # an idle truck is tried
        v = problem.vehicles[vi]
        if k_detour + stop.service_s > rooms[vi]:
            continue  # no time for it: invalid, not checked
        if chosen is not None and k_floor >= chosen[0]:
            continue  # cannot cost less than the one chosen (a strict less wins): not checked
        refs = routes.get(v.ref, [])
        new = with_final_unload(problem, v, [*refs[:k], stop.ref, *refs[k:]])
        timed = time_route(problem, v, new)
        if check_route(problem, v, timed):
            continue
        if due is None:
            return 0, v.ref, new
        late = max(0, start_of(timed, stop.ref) - due)
        cost = k_detour + LATE_RANK * late
        if chosen is None or cost < chosen[0]:
            chosen = (cost, v.ref, new)
    return chosen


def _with_unload(
    problem: Problem,
    routes: dict[str, list[str]],
    stop: Stop,
    max_checks: int,
    memo: LegsMemo | None,
) -> tuple[int, str, list[str]] | None:
    """The cheapest valid insertion of ``stop`` followed at once by an unloading, for a stop
    no truck has room for as its loads stand (one more trip to a site): (detour, vehicle
    ref, new route), or None. Each position is tried with the site adding the least travel
    of those the truck may use that take the stop's stream."""
    dur = problem.matrix.duration_s
    # (detour, vehicle index, position, site, the most seconds the detour may take)
    ranked: list[tuple[int, int, int, str, int]] = []
    for vi, v in enumerate(problem.vehicles):
        sites = [s for s in usable_sites(problem, v) if stop.stream in s.streams]
        if stop.stream not in v.streams or not sites or not needs_disposal(problem, v):
            continue
        refs = routes.get(v.ref, [])
        timed = _legs(problem, v, refs, memo)
        legs = timed.legs
        if not _daily_room(v, legs, stop.volume_l, stop.weight_kg):
            continue
        on_board = _under(v, timed.load_l, timed.load_kg, stop.volume_l, stop.weight_kg)
        ats = np.flatnonzero(on_board)  # the stop on board after leg ``at``
        a, b = timed.rows[ats], timed.rows[ats + 1]  # the legs' rows, then the end
        at_site = np.array([s.location for s in sites], dtype=np.int64)
        # (positions, sites): from the stop to each site, then on to the next leg
        leg = dur[stop.location, at_site].astype(np.int64)[None, :] + dur[np.ix_(at_site, b)].T
        via = np.argmin(leg, axis=1)
        detours = dur[a, stop.location] + leg[np.arange(len(ats)), via] - dur[a, b]
        for at, j, detour in zip(ats.tolist(), via.tolist(), detours.tolist(), strict=True):
            room = timed.room_s - stop.service_s - sites[j].unload_s
            ranked.append((int(detour), vi, int(at), sites[j].ref, room))
    for detour, vi, k, site, room in sorted(ranked)[:max_checks]:
        if detour > room:
            continue  # no time for it: invalid, not checked
        v = problem.vehicles[vi]
        refs = routes.get(v.ref, [])
        new = with_final_unload(problem, v, [*refs[:k], stop.ref, site, *refs[k:]])
        if not check_route(problem, v, time_route(problem, v, new)):
            return 0, v.ref, new
    return None


class RoomLeft:
    """Which of ``stops`` each truck's route may still take, as :func:`insert_cheapest`
    judges before it checks a position: one where the load fits (up to the next unloading,
    or, with an unloading right after the stop, on board there) and the stop's added
    driving and service (with that unloading: via the site adding the least, its unloading
    counted) fit in the route's room (:func:`_room_s`), of a truck taking its stream,
    within its daily limits. A stop no route may take is one :func:`insert_cheapest` would
    refuse without a single check, after ranking every position of every truck: on a day
    with more bins than the trucks have time for, a caller inserting 1000 such stops spent
    seconds ranking them in vain. Here one array per route covers all the stops, and is
    made again only when that route changes.

    Parameters
    ----------
    problem : Problem
        The problem the routes are of.
    stops : sequence of Stop
        The stops asked about (of ``problem``).
    memo : LegsMemo, optional
        Routes of ``problem`` already timed (shared with :func:`insert_cheapest`).
    """

    def __init__(
        self, problem: Problem, stops: Sequence[Stop], memo: LegsMemo | None = None
    ) -> None:
        self._problem, self._memo, self._stops = problem, memo, tuple(stops)
        self._index = {s.ref: i for i, s in enumerate(stops)}
        self._locs = np.array([s.location for s in stops], dtype=np.int64)
        self._service = np.array([s.service_s for s in stops], dtype=np.int64)
        self._vol = np.array([s.volume_l for s in stops], dtype=np.int64)
        self._wt = np.array([s.weight_kg for s in stops], dtype=np.int64)
        self._rows: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
        self._streams: dict[str, np.ndarray] = {}

    def fits(self, v: VehicleSpec, refs: list[str], ref: str) -> bool:
        """Whether truck ``v``'s route ``refs`` may take stop ``ref`` (one of ``stops``):
        False only when no position of it may be valid."""
        key = tuple(refs)
        known = self._rows.get(v.ref)
        if known is None or known[0] != key:
            known = (key, self._room(v, refs))
            self._rows[v.ref] = known
        return bool(known[1][self._index[ref]])

    def anywhere(self, routes: Mapping[str, list[str]], ref: str) -> bool:
        """Whether any truck's route in ``routes`` (none: its empty route) may take stop
        ``ref``."""
        return any(self.fits(v, routes.get(v.ref, []), ref) for v in self._problem.vehicles)

    def _room(self, v: VehicleSpec, refs: list[str]) -> np.ndarray:
        """Per stop: whether some position of route ``refs`` of ``v`` may take it."""
        p = self._problem
        timed = _legs(p, v, refs, self._memo)
        dur = p.matrix.duration_s
        a, b, locs = timed.rows[:-1], timed.rows[1:], self._locs
        there = dur[np.ix_(a, locs)] - dur[a, b][:, None]  # (positions, stops)
        vol, wt = self._vol, self._wt
        alone = _under(v, timed.ahead_l[:, None], timed.ahead_kg[:, None], vol, wt)
        need = np.where(alone, there + dur[np.ix_(locs, b)].T, FAR).min(axis=0)
        unloaded = _under(v, timed.load_l[:, None], timed.load_kg[:, None], vol, wt)
        for site in p.sites:  # the stop, then that site, then on to the next leg
            back = dur[site.location, b][:, None]
            via = np.where(unloaded, there + back, FAR).min(axis=0)
            need = np.minimum(need, via + dur[locs, site.location] + site.unload_s)
        within = _daily_room(v, timed.legs, vol, wt)
        room: np.ndarray = (need + self._service <= timed.room_s) & within & self._takes_stream(v)
        return room

    def _takes_stream(self, v: VehicleSpec) -> np.ndarray:
        """Per stop: whether truck ``v`` takes its stream."""
        if v.ref not in self._streams:
            takes_it = [s.stream in v.streams for s in self._stops]
            self._streams[v.ref] = np.array(takes_it, dtype=bool)
        return self._streams[v.ref]


def _rank(stop: Stop) -> tuple[bool, int]:
    """Which stop gives way to which: optional below required, then by priority."""
    return stop.required, stop.priority


def swap_in(
    problem: Problem, routes: dict[str, list[str]], stop: Stop, *, max_checks: int = 10
) -> tuple[str, str | None] | None:
    """Make room for ``stop``, which no position takes (:func:`insert_cheapest` gave up), by
    taking out a stop of lower rank: an optional stop, or a required one of lower priority
    (a must bin goes before a bin worth a prize; an alert goes before a forecast must bin).

    Candidates are the lower-ranked stops on routes of trucks taking the stop's stream,
    optional ones first, each kind nearest to it first (travel there and back), at most
    ``max_checks``: the first whose truck then takes ``stop`` (its route checked) is taken
    out, then put back wherever it fits. ``routes`` is updated.

    Returns
    -------
    (str, str or None) or None
        The vehicle ref that took ``stop`` and the ref of the stop taken out when no route
        takes it back (None when one does); None when no swap works.
    """
    by_ref = problem.stops_by_ref()
    dur = problem.matrix.duration_s
    candidates = sorted(
        (
            s.required,
            int(dur[s.location, stop.location]) + int(dur[stop.location, s.location]),
            vi,
            ref,
        )
        for vi, v in enumerate(problem.vehicles)
        if takes(v, stop)
        for ref in routes.get(v.ref, [])
        if (s := by_ref.get(ref)) is not None and _rank(s) < _rank(stop)
    )
    for _, _, vi, out in candidates[:max_checks]:
        v = problem.vehicles[vi]
        trial = {v.ref: [r for r in routes[v.ref] if r != out]}
        alone = dataclasses.replace(problem, vehicles=(v,))
        if insert_cheapest(alone, trial, stop) is None:
            continue
        routes[v.ref] = trial[v.ref]
        back = insert_cheapest(problem, routes, by_ref[out])
        return v.ref, None if back is not None else out
    return None
