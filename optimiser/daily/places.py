"""Where a day's places are for the trucks: on the map or not, and their matrix rows.

A bin, depot or disposal site the provider can place on no street (farther than its snap
limit from every drivable street) is left out with the reason, not a failed plan; places
added or moved during a day get matrix rows of their own, the rows of visits done kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import NamedTuple
from zoneinfo import ZoneInfo

from fleet.models import (
    Action,
    Bin,
    BinDecision,
    Inventory,
    Vehicle,
    clock_s,
    collection_period,
)
from network.errors import NetworkError, SnapError
from optimiser.build import (
    BuiltProblem,
    named_snap_error,
)
from optimiser.daily.dayplan import Provider
from optimiser.kerb import extended_matrix, kerb_notes, takes_kerb
from optimiser.plan import (
    Unserved,
    UnservedKind,
)
from optimiser.problem import (
    bin_of,
    next_visit_ref,
)
from optimiser.reroute import (
    Progress,
)
from optimiser.street_hours import NO_HOURS, StreetHours, street_hours
from optimiser.street_told import CLOSED_STREET


def _placeable(
    inventory: Inventory,
    decisions: Sequence[BinDecision],
    provider: Provider,
    done: Collection[str] = (),
    *,
    hours: StreetHours = NO_HOURS,
) -> tuple[list[BinDecision], tuple[Unserved, ...]]:
    """``decisions`` less those of bins to collect that the provider can place on no street
    (:func:`_unreachable`), and an unserved entry for each of those with the reason, for the
    bin's first visit not ``done`` (:func:`next_visit_ref`; a re-plan's bin emptied earlier
    today needs its next one): one bin with bad coordinates failed the whole plan. The day
    keeps every decision (its plan.json shows the forecast of such a bin too)."""
    wanted = [inventory.bin(d.bin_id) for d in decisions if d.action is not Action.SKIP]
    out = _unreachable(wanted, provider, hours)
    unplaced = tuple(_far(next_visit_ref(b, done), why) for b, why in out.items())
    return [d for d in decisions if d.bin_id not in out], unplaced


def _far(ref: str, why: str) -> Unserved:
    """Visit ``ref`` of a bin no truck can reach (:func:`_unreachable`), unserved: today,
    its street closed to them (``StreetHours.closed``), or at all."""
    closed = why.startswith(CLOSED_STREET)
    kind = UnservedKind.STREET_CLOSED if closed else UnservedKind.UNREACHABLE
    return Unserved(ref=ref, reason=why, kind=kind)


def _unreachable(
    bins: Sequence[Bin], provider: Provider, hours: StreetHours = NO_HOURS
) -> dict[str, str]:
    """:func:`_far_away`, then the other ``bins`` whose street is closed to trucks whenever
    they work today (``hours.closed``, its reasons beginning with ``CLOSED_STREET``)."""
    far = _far_away(bins, provider)
    return far | {b.bin_id: hours.closed[b.bin_id] for b in bins if b.bin_id in hours.closed}


def _street_hours(
    inventory: Inventory, provider: Provider, plan_date: date, tz: ZoneInfo
) -> StreetHours:
    """The street hours on ``plan_date`` (:mod:`optimiser.street_hours`) of the bins,
    depots and disposal sites of ``inventory`` (those the provider places on no street
    have none), for its trucks' shifts."""
    first, last = collection_period(inventory, plan_date, tz)
    shifts_s = (clock_s(first.time()), clock_s(last.time()))
    return street_hours(
        inventory.bins,
        provider,
        plan_date=plan_date,
        shifts_s=shifts_s,
        tz=tz,
        depots=inventory.depots,
        sites=inventory.sites,
    )


def _far_away(bins: Sequence[Bin], provider: Provider) -> dict[str, str]:
    """The ``bins`` the provider can place on no street (:func:`_off_map`), bin id -> why
    no truck can reach it, in the order given."""
    far = _off_map({b.bin_id: (b.lon, b.lat) for b in bins}, provider)
    return {ref: f"no truck can reach it: {off}" for ref, off in far.items()}


class OffMap(NamedTuple):
    """Where a place no street reaches is (:func:`_off_map`), in words."""

    lonlat: str  # "(24.990000, 60.170000)"
    far: str  # "523 m from the nearest drivable street (limit 150 m)"
    fix: str  # "fix its coordinates", or why its street is cut off

    def __str__(self) -> str:
        return f"{self.lonlat} is {self.far}; {self.fix}"


def _off_map(places: Mapping[str, tuple[float, float]], provider: Provider) -> dict[str, OffMap]:
    """The ``places`` (ref -> (lon, lat)) the provider can place on no street
    (``far_points``: farther than its snap limit from every drivable street; a matrix of
    them would raise SnapError), ref -> where it is and what to do (as a string: "(lon,
    lat) is 523 m from the nearest drivable street (limit 150 m); fix its coordinates"), in
    the order given; empty for a provider without ``far_points`` (straight lines place
    anything). A provider with ``far_said`` words how far itself (straight lines within a
    day's drive of a city's middle, ``network.WithinReach``). A place by a street cut off
    from the network (the provider's ``cut_off_near``) is told so, not to fix its
    coordinates; one whose lon and lat read the other way round is near a street
    (``swapped_near``) is told they look swapped."""
    far_points = getattr(provider, "far_points", None)
    if far_points is None or not places:
        return {}
    points = list(places.values())
    far = far_points(points)
    if not far:
        return {}
    fixes: dict[int, str] = {}
    for how in ("swapped_near", "cut_off_near"):  # a street cut off wins: it is no mistake
        found = getattr(provider, how, None)
        fixes |= found(points, far) if found is not None else {}
    limit = getattr(provider, "max_snap_m", None)
    within = f" (limit {limit:.0f} m)" if limit is not None else ""
    said = getattr(provider, "far_said", None) or (
        lambda m: f"{m:.0f} m from the nearest drivable street{within}"
    )
    return {
        ref: OffMap(f"({lon:.6f}, {lat:.6f})", said(far[i]), fixes.get(i, "fix its coordinates"))
        for i, (ref, (lon, lat)) in enumerate(places.items())
        if i in far
    }


def _on_the_map(inventory: Inventory, provider: Provider) -> tuple[Inventory, tuple[str, ...]]:
    """``inventory`` without the depots and disposal sites the provider can place on no
    street (:func:`_off_map`), nor the trucks of those depots, and a note for each: one
    depot or site with bad coordinates failed the whole plan, every truck's day with it.
    Its bins are served by the other trucks and unloaded at the other sites, or unserved
    with the reason (a stream no truck left takes). Raises SnapError naming the depots when
    no truck is left: nothing could be planned."""
    depots = _off_map({d.depot_id: (d.lon, d.lat) for d in inventory.depots}, provider)
    sites = _off_map({s.site_id: (s.lon, s.lat) for s in inventory.sites}, provider)
    if not depots and not sites:
        return inventory, ()
    notes = []
    gone = {v.vehicle_id for v in inventory.vehicles if v.depot_id in depots}
    for ref, off in depots.items():
        trucks = [v.vehicle_id for v in inventory.vehicles if v.depot_id == ref]
        which = f"its trucks ({', '.join(trucks)}) are not planned" if trucks else "left out"
        notes.append(_off_map_note(f"depot {ref}", off, which))
    for ref, off in sites.items():
        notes.append(_off_map_note(f"disposal site {ref}", off, "no truck unloads there"))
    if inventory.vehicles and len(gone) == len(inventory.vehicles):
        raise SnapError("; ".join(f"depot {ref} {off}" for ref, off in depots.items()))
    kept = dataclasses.replace(
        inventory,
        depots=tuple(d for d in inventory.depots if d.depot_id not in depots),
        vehicles=tuple(v for v in inventory.vehicles if v.depot_id not in depots),
        sites=tuple(s for s in inventory.sites if s.site_id not in sites),
        downtimes=tuple(d for d in inventory.downtimes if d.vehicle_id not in gone),
    )
    return kept, tuple(notes)


def _off_map_note(name: str, off: OffMap, what: str, *, now: bool = False) -> str:
    """The note of place ``name`` ("depot d2") off the map (``off``, :func:`_off_map`),
    with ``what`` the plan does before its fix: "depot d2 (lon, lat) is 523 m from ...
    (limit 150 m): its trucks (t2) are not planned; fix its coordinates"; ``now``: listed
    there since the day was planned ("depot d, now listed at (lon, lat), is 523 m ...")."""
    where = f", now listed at {off.lonlat}," if now else f" {off.lonlat}"
    return f"{name}{where} is {off.far}: {what}; {off.fix}"


def _rows(built: BuiltProblem, kind: str) -> dict[str, int]:
    """The matrix row of each point of ``kind`` ("depot", "site", "bin", "truck") by ref."""
    kinds = zip(built.point_refs, built.point_kinds, strict=True)
    return {ref: i for i, (ref, k) in enumerate(kinds) if k == kind}


def _with_points(
    built: BuiltProblem,
    kind: str,
    points: Mapping[str, tuple[float, float]],
    provider: Provider,
    kerb: Collection[str] = (),
) -> tuple[BuiltProblem, dict[str, int]]:
    """``built`` with a matrix row appended per point (ref -> (lon, lat)) of ``kind``, and
    the row of each ref; the refs in ``kerb`` are taken from the kerb (:mod:`optimiser.kerb`)."""
    flags = [ref in kerb for ref in points]
    try:
        matrix = extended_matrix(provider, built.problem.matrix, list(points.values()), flags)
    except SnapError as err:
        kinds = (*built.point_kinds, *(kind,) * len(points))
        raise named_snap_error(err, kinds, (*built.point_refs, *points)) from None
    first = matrix.size - len(points)
    built = dataclasses.replace(
        built,
        problem=dataclasses.replace(built.problem, matrix=matrix),
        point_refs=built.point_refs + tuple(points),
        point_kinds=built.point_kinds + (kind,) * len(points),
    )
    return built, {ref: first + i for i, ref in enumerate(points)}


def _moved_bins(
    built: BuiltProblem,
    inventory: Inventory,
    provider: Provider,
    done: Collection[str],
    hours: StreetHours = NO_HOURS,
) -> tuple[BuiltProblem, tuple[str, ...], tuple[Unserved, ...]]:
    """``built`` with a new matrix row for each bin ``inventory`` lists elsewhere than its
    newest row (moved since, e.g. a position corrected) and its stops still to do there, and
    a note naming the bins with such stops; visits ``done`` stay where they were made (their
    rows are kept), and a bin chosen later is emptied at its new row. A bin moved onto a
    street trucks may drive only at some hours is emptied within them
    (``StreetHours.clamped``). A bin moved where the
    provider can place it on no street (:func:`_unreachable`) gets no row: its stops still
    to do leave the problem, each unserved with the reason (the third item)."""
    rows = _rows(built, "bin")
    points = built.problem.matrix.points
    moved = {
        b.bin_id: b
        for b in inventory.bins
        if b.bin_id in rows and not _same_place(points[rows[b.bin_id]], (b.lon, b.lat))
    }
    reflagged = _reflagged(built, inventory, provider, rows, moved)
    moved |= reflagged
    if not moved:
        return built, (), ()
    far = _unreachable(list(moved.values()), provider, hours)
    lost = tuple(
        _far(s.ref, far[bin_of(s.ref)])
        for s in built.problem.stops
        if bin_of(s.ref) in far and s.ref not in done
    )
    gone = {u.ref for u in lost}
    places = {b.bin_id: (b.lon, b.lat) for b in moved.values() if b.bin_id not in far}
    kerb = {b.bin_id for b in moved.values() if b.kerb_side}
    built, added = _with_points(built, "bin", places, provider, kerb)
    stops = [
        hours.clamped(dataclasses.replace(s, location=added[bin_of(s.ref)]))
        if bin_of(s.ref) in added and s.ref not in done
        else s
        for s in built.problem.stops
        if s.ref not in gone
    ]
    problem = dataclasses.replace(built.problem, stops=tuple(stops))
    names = [b for b in added if any(s.location == added[b] for s in stops)]
    said = {
        "bins moved since the day was planned are emptied where they are now": [
            b for b in names if b not in reflagged
        ],
        "bins whose kerb_side flag changed since the day was planned are passed as it says now": [
            b for b in names if b in reflagged
        ],
    }
    notes = tuple(f"{say}: {', '.join(bins)}" for say, bins in said.items() if bins)
    return dataclasses.replace(built, problem=problem), notes, lost


def _reflagged(
    built: BuiltProblem,
    inventory: Inventory,
    provider: Provider,
    rows: Mapping[str, int],
    moved: Mapping[str, Bin],
) -> dict[str, Bin]:
    """The bins of ``inventory`` at the place of their newest row whose ``kerb_side`` flag
    is no longer that row's (set or cleared since the day was planned), when the provider
    takes the flags (a straight-line estimate has no kerb to keep); ``moved`` bins aside."""
    if not takes_kerb(provider):
        return {}
    flags = built.problem.matrix.kerb_side
    return {
        b.bin_id: b
        for b in inventory.bins
        if b.bin_id in rows
        and b.bin_id not in moved
        and b.kerb_side != (bool(flags) and bool(flags[rows[b.bin_id]]))
    }


def _same_place(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two (lon, lat) points are the same to 1e-7 degrees (about a centimetre)."""
    return abs(a[0] - b[0]) <= 1e-7 and abs(a[1] - b[1]) <= 1e-7


def _kerb_said(built: BuiltProblem, provider: Provider, bins: Sequence[Bin]) -> BuiltProblem:
    """``built`` with the notes :func:`optimiser.kerb.kerb_notes` gives of ``bins`` (new to
    its matrix in a re-plan) where the kerb rule cannot bind (``built.notes`` after the
    fleet of now is read, which sets them anew: :func:`_current_inventory`)."""
    said = kerb_notes(provider, bins)
    return dataclasses.replace(built, notes=(*built.notes, *said)) if said else built


def _positioned(
    built: BuiltProblem,
    progress: Sequence[Progress],
    positions: Mapping[str, tuple[float, float]],
    provider: Provider,
    now_s: int,
) -> tuple[BuiltProblem, list[Progress]]:
    """Each truck with a reported position (lon, lat) is there at ``now_s``: a matrix row is
    appended for it and its progress moves there (a truck that has done nothing yet has left
    its depot). Raises NetworkError when a position is off the street network."""
    by_ref = {p.vehicle_ref: p for p in progress}
    here = {v.ref: positions[v.ref] for v in built.problem.vehicles if v.ref in positions}
    if not here:
        return built, list(progress)
    built, rows = _with_points(built, "truck", here, provider)
    for v in built.problem.vehicles:
        if v.ref in rows:
            p = by_ref.get(v.ref) or Progress(
                vehicle_ref=v.ref, done=(), location=v.start, time_s=0
            )
            start_s = max(now_s, p.time_s, v.shift_s[0])
            by_ref[v.ref] = dataclasses.replace(p, location=rows[v.ref], time_s=start_s)
    return built, list(by_ref.values())


def _placed(
    built: BuiltProblem,
    progress: Sequence[Progress],
    positions: Mapping[str, tuple[float, float]],
    provider: Provider,
    now_s: int,
) -> tuple[BuiltProblem, list[Progress], tuple[str, ...]]:
    """:func:`_positioned`, or, when a position is off the street network, every position
    ignored with a note saying why."""
    try:
        built, placed = _positioned(built, progress, positions, provider, now_s)
    except NetworkError as err:
        return built, list(progress), (f"truck positions ignored: {err}",)
    return built, placed, ()


def _placed_joined(
    built: BuiltProblem,
    progress: Sequence[Progress],
    positions: Mapping[str, tuple[float, float]] | None,
    provider: Provider,
    now_s: int,
    planned: Collection[str],
) -> tuple[BuiltProblem, list[Progress], tuple[str, ...]]:
    """:func:`_placed` for the trucks added to the fleet since the day was planned (not in
    ``planned``), once :func:`_current_fleet` has taken them in: they go on from their
    reported positions. Without it their positions were dropped (only the trucks of the
    plan were placed) and they left their depots."""
    joined = {ref: xy for ref, xy in (positions or {}).items() if ref not in planned}
    return _placed(built, progress, joined, provider, now_s)


def _depot_rows(
    built: BuiltProblem, inventory: Inventory, provider: Provider
) -> tuple[BuiltProblem, dict[str, int], dict[int, int], dict[str, OffMap]]:
    """:func:`_placed_now` for the depots trucks of ``inventory`` are listed at."""
    homes = {v.depot_id for v in inventory.vehicles}
    places = {d.depot_id: (d.lon, d.lat) for d in inventory.depots if d.depot_id in homes}
    return _placed_now(built, "depot", places, provider)


def _off_map_depots(
    far: Mapping[str, OffMap],
    rows: Mapping[str, int],
    inventory: Inventory,
    added: Sequence[Vehicle],
) -> list[str]:
    """A note per depot of a day being driven listed where no street reaches (``far``,
    :func:`_placed_now`): one moved there keeps its place (``rows``), its trucks go home
    where it was; the trucks listed at a new one keep the depot they were planned from,
    and those not in the plan being driven (``added``: joined the fleet since, or left out
    of the plan for that depot, :func:`_on_the_map`) are not planned."""
    notes = []
    new = {v.vehicle_id for v in added}
    for ref, off in far.items():
        if ref in rows:
            go = "its trucks go home where it was"
            notes.append(_off_map_note(f"depot {ref}", off, go, now=True))
            continue
        trucks = [v.vehicle_id for v in inventory.vehicles if v.depot_id == ref]
        kept = [t for t in trucks if t not in new]
        joined = [t for t in trucks if t in new]
        what = []
        if kept:
            what.append(f"{', '.join(kept)} keep{'s' if len(kept) == 1 else ''} the depot planned")
        if joined:
            are = "is" if len(joined) == 1 else "are"
            what.append(f"{', '.join(joined)}, not in the plan being driven, {are} not planned")
        notes.append(_off_map_note(f"depot {ref}", off, "; ".join(what), now=True))
    return notes


def _placed_now(
    built: BuiltProblem,
    kind: str,
    places: Mapping[str, tuple[float, float]],
    provider: Provider,
) -> tuple[BuiltProblem, dict[str, int], dict[int, int], dict[str, OffMap]]:
    """``built`` with a matrix row appended for each point of ``kind`` in ``places`` (ref
    -> (lon, lat) listed now) that has none yet, or whose newest row is elsewhere (moved
    since, e.g. its position corrected); the newest row of each point of ``kind`` by ref;
    the rows given up by those moved (old row -> new row); and those of them the provider
    can place on no street (:func:`_off_map`, ref -> where), which get no row: one moved there
    keeps the row it had, one new has none. Before, one of them failed the job (the plan
    being driven stood, every alert's reroute failed with it)."""
    rows = _rows(built, kind)
    points = built.problem.matrix.points
    new = {
        ref: xy
        for ref, xy in places.items()
        if ref not in rows or not _same_place(points[rows[ref]], xy)
    }
    far = _off_map(new, provider)
    built, added = _with_points(
        built, kind, {r: xy for r, xy in new.items() if r not in far}, provider
    )
    moved = {rows[ref]: row for ref, row in added.items() if ref in rows}
    return built, {**rows, **added}, moved, far
