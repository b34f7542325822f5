"""A stop put into routes at its cheapest valid place (:func:`insert_cheapest`), with a
disposal trip where it needs one; whether any route has room for it (:class:`RoomLeft`);
a stop swapped in for cheaper ones (:func:`swap_in`). Every route changed is verified with
``check.check_route``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from optimiser.check import check_route, time_route
from optimiser.greedy_feasible import with_final_unload
from optimiser.greedy_legs import (
    FAR,
    LegsMemo,
    _arrivals,
    _daily_room,
    _detours,
    _fits,
    _legs,
    _soonest_starts,
    _under,
    start_of,
)
from optimiser.problem import Problem, Stop, VehicleSpec, takes
from optimiser.screen import needs_disposal, usable_sites

# Ranking insertions of a stop with a response target: a second late weighs as a minute of
# detour (``optimiser.costs.LATE_COST_PER_H`` against a truck's default hour and km, about 65).
LATE_RANK = 60


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
