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

from dataclasses import dataclass

import numpy as np

from optimiser.greedy_feasible import feasible_prefix, feasible_subsequence, with_final_unload
from optimiser.greedy_insert import RoomLeft, insert_cheapest, swap_in
from optimiser.greedy_legs import FAR, LegsMemo, detours, start_in, start_of
from optimiser.problem import Problem, Site, VehicleSpec, takes
from optimiser.screen import NO_WINDOW_HI, needs_disposal, usable_sites

__all__ = [
    "LegsMemo",
    "RoomLeft",
    "detours",
    "feasible_prefix",
    "feasible_subsequence",
    "greedy_routes",
    "insert_cheapest",
    "start_in",
    "start_of",
    "swap_in",
    "with_final_unload",
]


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
