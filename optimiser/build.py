"""Fleet records -> the integer ``Problem``: the ONLY place that knows the unit conversions.

* Clock times (``TimeWindow`` local times) and instants -> seconds since local midnight of
  the plan date, counted as elapsed time in ``tz`` (a day with a DST change keeps real
  durations), and back (:func:`s_to_instant`; the local clock's reading: :func:`wall_s`).
* Costs and prizes in currency -> integer cents (rounded half to even by ``round``).
* Expected volume (litres) and weight (kg) of a decision -> integers, rounded up; the
  same for the fill a crew found at a pickup and the weight a lift scale took
  (:func:`found_load`).
* Points, in matrix row order: depots, disposal sites, then the MUST and MAY bins (SKIP
  bins are left out); the matrix provider is called once on these (lon, lat) points.
* Deadlines (``due_at``) and releases (``release_at``) -> stop windows, and a second stop
  of the bin when it needs two visits that day (:func:`timed_stops`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from fleet.models import (
    Action,
    Bin,
    BinDecision,
    DisposalSite,
    Downtime,
    Inventory,
    TimeWindow,
    Vehicle,
)
from fleet.policy import bin_decision
from network.errors import SnapError
from network.matrix import TravelMatrix
from optimiser.errors import InvalidProblemError
from optimiser.kerb import kerb_notes, travel_matrix
from optimiser.plan import clock
from optimiser.problem import SECOND_VISIT, Problem, Site, Stop, VehicleSpec, takes

MatrixProvider = Callable[[Sequence[tuple[float, float]]], TravelMatrix]
CENTS = 100
EPS = 1e-9
SECOND_VISIT_GAP_S = 3600  # a release this long after the deadline makes a second visit
LATE_WINDOW_S = 3600  # width of a release window moved to the end of the shifts


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltProblem:
    """The problem and what its matrix rows and stops stand for.

    Attributes
    ----------
    problem : Problem
        The integer problem.
    point_refs : tuple of str
        Id of the depot, site or bin at each matrix row.
    point_kinds : tuple of str
        "depot", "site" or "bin" for each row.
    decisions : tuple of BinDecision
        The MUST and MAY decisions turned into stops (a bin with a second visit of the day
        has two stops: :func:`timed_stops`).
    notes : tuple of str
        What the plan should say of its fleet (trucks out of service: :func:`on_duty`).
    """

    problem: Problem
    point_refs: tuple[str, ...]
    point_kinds: tuple[str, ...]
    decisions: tuple[BinDecision, ...]
    notes: tuple[str, ...] = ()


def clock_to_s(t: time, *, plan_date: date, tz: tzinfo) -> int:
    """Seconds elapsed from local midnight of ``plan_date`` to local clock time ``t``.

    A time the clocks skip (spring forward: 03:30 in Helsinki on 2026-03-29) is the
    instant they skip at (04:00 there), so that later clock times never come sooner."""
    wall = datetime.combine(plan_date, t.replace(tzinfo=None))
    first, second = (
        instant_to_s(wall.replace(tzinfo=tz, fold=f), plan_date=plan_date, tz=tz) for f in (0, 1)
    )
    if second >= first:  # it exists (twice in a fall back's repeated hour: the first time)
        return first
    early, late = second, first  # skipped: the change lies between the two readings of it
    while late - early > 1:
        mid = (early + late) // 2
        at = s_to_instant(mid, plan_date=plan_date, tz=tz).replace(tzinfo=None)
        early, late = (mid, late) if at < wall else (early, mid)
    return late


def window_to_s(w: TimeWindow, *, plan_date: date, tz: tzinfo) -> tuple[int, int]:
    """A local ``TimeWindow`` as (start, end) seconds since local midnight."""
    return clock_to_s(w.start, plan_date=plan_date, tz=tz), clock_to_s(
        w.end, plan_date=plan_date, tz=tz
    )


def instant_to_s(at: datetime, *, plan_date: date, tz: tzinfo) -> int:
    """Seconds from local midnight of ``plan_date`` to the instant ``at`` (tz-aware)."""
    midnight = datetime.combine(plan_date, time(0, 0), tzinfo=tz).astimezone(UTC)
    return round((at.astimezone(UTC) - midnight).total_seconds())


def s_to_instant(seconds: float, *, plan_date: date, tz: tzinfo) -> datetime:
    """The instant ``seconds`` after local midnight of ``plan_date``, in ``tz`` (the inverse
    of :func:`instant_to_s`: elapsed time, so a day with a DST change keeps real durations)."""
    midnight = datetime.combine(plan_date, time(0, 0), tzinfo=tz).astimezone(UTC)
    return (midnight + timedelta(seconds=seconds)).astimezone(tz)


def wall_s(seconds: int, *, plan_date: date, tz: tzinfo) -> int:
    """``seconds`` elapsed since local midnight of ``plan_date`` as the seconds the local
    clock shows then (10 h in is 11:00 on a spring-forward day; a later day's hours go past
    24): what :func:`optimiser.plan.clock` shows within :func:`optimiser.plan.wall_clock`."""
    at = s_to_instant(seconds, plan_date=plan_date, tz=tz)
    wall = datetime.combine(at.date(), at.time()) - datetime.combine(plan_date, time(0))
    return round(wall.total_seconds())


def with_deadline(
    stop: Stop, due_s: int | None, matrix: TravelMatrix, vehicles: Sequence[VehicleSpec]
) -> Stop:
    """``stop`` with its window closed at ``due_s`` (a forecast overflow), when some truck can
    start there by then; otherwise (or without a deadline) unchanged.

    A deadline no truck can keep would only make the bin unservable: it is dropped, and
    the bin is served when the routes reach it.
    """
    if due_s is None:
        return stop
    lo, hi = stop.window_s if stop.window_s is not None else (0, due_s)
    end = min(hi, due_s)
    reach = min(
        (
            v.shift_s[0] + int(matrix.duration_s[v.start, stop.location])
            for v in vehicles
            if takes(v, stop)
        ),
        default=None,
    )
    if reach is None or end < max(lo, reach):
        return stop
    return replace(stop, window_s=(lo, end))


def _latest_start_s(
    stop: Stop, matrix: TravelMatrix, vehicles: Sequence[VehicleSpec], via: Sequence[Site]
) -> int:
    """Latest service start at ``stop`` from which some truck still reaches its end in shift,
    through the nearest disposal site of ``via`` when given (trucks return empty)."""
    dur = matrix.duration_s

    def back(v: VehicleSpec) -> int:
        to_end = int(dur[stop.location, v.end])
        trips = [
            int(dur[stop.location, s.location]) + s.unload_s + int(dur[s.location, v.end])
            for s in via
            if stop.stream in s.streams
        ]
        return min(trips, default=to_end)

    return max(
        (v.shift_s[1] - stop.service_s - back(v) for v in vehicles if takes(v, stop)),
        default=-1,
    )


def _refill(b: Bin, d: BinDecision) -> tuple[int, int]:
    """(litres, kg) a second visit of bin ``b`` is expected to load."""
    litres = min(max(d.refill_fraction, 0.0), 1.0) * b.capacity_l
    return round_up(litres), round_up(litres * b.density)


def timed_stops(
    stop: Stop,
    due_s: int | None,
    release_s: int | None,
    refill: tuple[int, int],
    matrix: TravelMatrix,
    vehicles: Sequence[VehicleSpec],
    via: Sequence[Site] = (),
) -> tuple[Stop, ...]:
    """The stop(s) of a bin with a deadline ``due_s`` and a release ``release_s`` (seconds).

    Without a release: the stop with its deadline (:func:`with_deadline`). A release later
    than trucks can come (the bin refills faster than the night lasts) moves to the last
    ``LATE_WINDOW_S`` they can (``via``: the disposal sites trucks pass before the end).
    A release at least ``SECOND_VISIT_GAP_S`` after the deadline (or a bin without a
    deadline: full when the day starts; its deadline is then that gap before the release)
    needs two visits: the stop by its deadline, and a second one (ref ``<bin>#2``, loading
    ``refill`` (litres, kg)) from the release; when the deadline cannot be kept, one visit.
    Otherwise one visit from the release to the deadline, when that window is open.
    """
    first = with_deadline(stop, due_s, matrix, vehicles)
    if release_s is None:
        return (first,)
    latest = _latest_start_s(stop, matrix, vehicles, via)
    lo, hi = stop.window_s if stop.window_s is not None else (0, latest)
    release_s = min(release_s, min(hi, latest) - LATE_WINDOW_S)  # else: as late as can be
    if release_s < lo:
        return (first,)
    if due_s is None or release_s >= due_s + SECOND_VISIT_GAP_S:
        by_s = release_s - SECOND_VISIT_GAP_S
        early = first if due_s is not None else with_deadline(stop, by_s, matrix, vehicles)
        if early.window_s is None or early.window_s[1] > by_s:
            return (first,)  # the first visit could not be kept ahead of the second
        second = replace(
            stop,
            ref=stop.ref + SECOND_VISIT,
            volume_l=refill[0],
            weight_kg=refill[1],
            window_s=(max(lo, release_s), min(hi, latest)),
        )
        return (early, second)
    f_lo, f_hi = first.window_s if first.window_s is not None else (lo, latest)
    if max(f_lo, release_s) > f_hi:
        return (first,)
    return (replace(first, window_s=(max(f_lo, release_s), f_hi)),)


def to_cents(amount: float) -> int:
    """Currency units -> integer cents."""
    return round(amount * CENTS)


def from_cents(cost: int) -> float:
    """Integer cents (the solver's cost units) -> currency units, as plans show money."""
    return cost / CENTS


def named_snap_error(err: SnapError, kinds: Sequence[str], refs: Sequence[str]) -> SnapError:
    """``err`` naming its point by what it is ("depot d1", "bin b7"): ``kinds`` and ``refs``
    of the points the matrix was asked for, in order (a bare index named nothing a
    dispatcher knows)."""
    i = err.index
    if i is None or not 0 <= i < len(refs):
        return err
    return err.named(f"{kinds[i]} {refs[i]}")


def round_up(quantity: float) -> int:
    """A non-negative quantity (litres, kg) rounded up to an integer (float noise ignored)."""
    return max(0, math.ceil(quantity - EPS))


def found_load(b: Bin, fill: float, weight_kg: float | None = None) -> tuple[int, int]:
    """(litres, kg) a truck took from bin ``b`` found at ``fill`` (a fraction of the bin;
    capped at 1, as planned loads are), in the solver's integers; the kg are
    ``weight_kg`` when the truck's lift scale weighed it, else the fill's at ``b``'s
    density."""
    d = bin_decision(b, Action.MUST, fill, "found at pickup")
    kg = d.expected_weight_kg if weight_kg is None else weight_kg
    return round_up(d.expected_volume_l), round_up(kg)


def _decisions(inventory: Inventory, decisions: Sequence[BinDecision]) -> list[BinDecision]:
    seen: set[str] = set()
    bins = {b.bin_id for b in inventory.bins}
    out = []
    for d in decisions:
        if d.bin_id not in bins:
            raise InvalidProblemError(f"decision for bin {d.bin_id!r}: not in the inventory")
        if d.bin_id in seen:
            raise InvalidProblemError(f"bin {d.bin_id!r} has two decisions; keep one")
        seen.add(d.bin_id)
        if d.action is not Action.SKIP:
            out.append(d)
    return out


def _stop(b: Bin, d: BinDecision, row: int, clock: Callable[[TimeWindow], tuple[int, int]]) -> Stop:
    return Stop(
        ref=b.bin_id,
        location=row,
        volume_l=round_up(d.expected_volume_l),
        weight_kg=round_up(d.expected_weight_kg),
        service_s=b.service_s,
        window_s=clock(b.access_window) if b.access_window is not None else None,
        stream=b.stream,
        required=d.action is Action.MUST,
        prize=to_cents(d.prize) if d.action is Action.MAY else 0,
        needs=b.needs,
    )


def urgent_stop(b: Bin, row: int, *, plan_date: date, tz: tzinfo, reason: str) -> Stop:
    """A required stop for a bin reported overflowing: it is loaded full (its capacity).

    Returns the stop at matrix ``row``; ``reason`` is kept for the decision record only.
    """
    decision = overflow_decision(b, reason)

    def clock(w: TimeWindow) -> tuple[int, int]:
        return window_to_s(w, plan_date=plan_date, tz=tz)

    return _stop(b, decision, row, clock)


def overflow_decision(b: Bin, reason: str) -> BinDecision:
    """The MUST decision for an overflowing bin: full volume, weight from its density."""
    return BinDecision(
        bin_id=b.bin_id,
        action=Action.MUST,
        expected_fill_fraction=1.0,
        expected_volume_l=float(b.capacity_l),
        expected_weight_kg=b.capacity_l * b.density,
        reason=reason,
    )


def _vehicle(v: Vehicle, row: int, clock: Callable[[TimeWindow], tuple[int, int]]) -> VehicleSpec:
    return VehicleSpec(
        ref=v.vehicle_id,
        start=row,
        end=row,
        capacity_l=v.capacity_l,
        capacity_kg=v.capacity_kg,
        streams=v.streams,
        shift_s=clock(v.shift),
        break_s=v.break_s,
        break_window_s=clock(v.break_window) if v.break_window is not None else None,
        cost_per_km=to_cents(v.cost_per_km),
        cost_per_hour=to_cents(v.cost_per_hour),
        fixed_cost=to_cents(v.fixed_cost),
        max_stops=v.max_stops,
        max_daily_kg=v.max_daily_kg,
        equipment=v.equipment,
    )


def vehicle_spec(
    v: Vehicle, row: int, *, plan_date: date, tz: tzinfo, start_s: int = 0
) -> VehicleSpec:
    """Truck ``v`` of ``plan_date`` at matrix ``row`` (its depot), leaving no earlier than
    ``start_s`` (seconds since local midnight)."""

    def clock(w: TimeWindow) -> tuple[int, int]:
        return window_to_s(w, plan_date=plan_date, tz=tz)

    return _starting_from((_vehicle(v, row, clock),), start_s)[0]


UNTIL_FURTHER_NOTICE_S = 10**9  # the end of a downtime without one, seconds


def site_spec(site: DisposalSite, row: int, *, plan_date: date, tz: tzinfo) -> Site:
    """Disposal ``site`` at matrix ``row`` on ``plan_date``: its hours in seconds since
    local midnight."""
    return Site(
        ref=site.site_id,
        location=row,
        streams=site.streams,
        window_s=window_to_s(site.opening, plan_date=plan_date, tz=tz),
        unload_s=site.unload_s,
    )


def duty_pieces(
    shift_s: tuple[int, int], down_s: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The parts of ``shift_s`` outside every ``down_s`` interval, in time order (seconds
    since local midnight; empty parts dropped)."""
    pieces = [shift_s]
    for lo, hi in down_s:
        pieces = [
            part
            for a, b in pieces
            for part in (((a, b),) if hi <= a or lo >= b else ((a, min(b, lo)), (max(a, hi), b)))
            if part[1] > part[0]
        ]
    return pieces


def on_duty(
    spec: VehicleSpec,
    downtimes: Sequence[Downtime],
    *,
    plan_date: date,
    tz: tzinfo,
    after_s: int | None = None,
) -> tuple[VehicleSpec | None, str | None]:
    """Truck ``spec`` working only outside its ``downtimes`` on ``plan_date``, and a note
    saying so (None when none touches its shift).

    A plan gives it the longest part of its shift left; a truck on the road at ``after_s``
    (seconds since local midnight) goes on in the first part that ends after it (it waits
    where it is until that part starts). None when no part is left.
    """
    lo = spec.shift_s[0] if after_s is None else max(spec.shift_s[0], after_s)
    window = tuple(s_to_instant(s, plan_date=plan_date, tz=tz) for s in (lo, spec.shift_s[1]))
    hits = [d for d in downtimes if d.vehicle_id == spec.ref and d.covers(*window)]
    if not hits:
        return spec, None
    down = sorted(
        (
            instant_to_s(d.start, plan_date=plan_date, tz=tz),
            UNTIL_FURTHER_NOTICE_S
            if d.end is None
            else instant_to_s(d.end, plan_date=plan_date, tz=tz),
        )
        for d in hits
    )
    pieces = duty_pieces(spec.shift_s, down)
    if after_s is None:
        piece = max(pieces, key=lambda p: p[1] - p[0], default=None)
    else:
        piece = next((p for p in pieces if p[1] > after_s), None)
    when = "; ".join(_downtime_text(d, plan_date, tz) for d in hits)
    if piece is None:
        rest = "it takes no bins today" if after_s is None else "it takes no more bins today"
        return None, f"{spec.ref} is out of service {when}: {rest}"
    note = f"{spec.ref} is out of service {when}: it works {clock(piece[0])}-{clock(piece[1])}"
    return replace(spec, shift_s=piece), note


def _downtime_text(d: Downtime, plan_date: date, tz: tzinfo) -> str:
    """``d`` for people: local times, with the date when not ``plan_date``, and why."""

    def local(at: datetime) -> str:
        here = at.astimezone(tz)
        return f"{here:%H:%M}" if here.date() == plan_date else f"{here:%Y-%m-%d %H:%M}"

    when = f"from {local(d.start)}" + (f" until {local(d.end)}" if d.end else "")
    return when + (f" ({d.reason})" if d.reason else "")


def _starting_from(specs: Sequence[VehicleSpec], start_s: int) -> tuple[VehicleSpec, ...]:
    """``specs`` with each shift starting no earlier than ``start_s`` (seconds since local
    midnight), up to its end."""
    return tuple(
        replace(v, shift_s=(min(max(v.shift_s[0], start_s), v.shift_s[1]), v.shift_s[1]))
        for v in specs
    )


def decision_stops(
    inventory: Inventory,
    decisions: Sequence[BinDecision],
    rows: Mapping[str, int],
    matrix: TravelMatrix,
    vehicles: Sequence[VehicleSpec],
    via: Sequence[Site],
    *,
    plan_date: date,
    tz: tzinfo,
) -> list[Stop]:
    """The stops of MUST and MAY ``decisions`` (SKIP ones are left out), each bin at its
    matrix row ``rows[bin id]``, timed by its deadline and release (:func:`timed_stops`,
    ``via`` the sites trucks pass before the end of the day)."""

    def clock(w: TimeWindow) -> tuple[int, int]:
        return window_to_s(w, plan_date=plan_date, tz=tz)

    def secs(at: datetime | None) -> int | None:
        return None if at is None else instant_to_s(at, plan_date=plan_date, tz=tz)

    bins = {b.bin_id: b for b in inventory.bins}
    out: list[Stop] = []
    for d in decisions:
        if d.action is Action.SKIP:
            continue
        b = bins[d.bin_id]
        stop = _stop(b, d, rows[d.bin_id], clock)
        out.extend(
            timed_stops(
                stop, secs(d.due_at), secs(d.release_at), _refill(b, d), matrix, vehicles, via
            )
        )
    return out


def build_problem(
    inventory: Inventory,
    decisions: Sequence[BinDecision],
    provider: MatrixProvider,
    *,
    plan_date: date,
    tz: tzinfo | str,
    vehicles: Sequence[Vehicle] | None = None,
    return_empty: bool = True,
    not_before: datetime | None = None,
) -> BuiltProblem:
    """Turn the day's records and the policy's decisions into a ``Problem``.

    Parameters
    ----------
    inventory : Inventory
        Bins, depots, vehicles and disposal sites.
    decisions : sequence of BinDecision
        At most one per bin; MUST bins become required stops, MAY bins optional stops with
        their prize, SKIP bins are left out. Bins without a decision are left out.
    provider : callable
        ``provider(points) -> TravelMatrix`` on (lon, lat) points, called once; given the
        bins' ``kerb_side`` flags too (``kerb_side=``) when some bin has one and it takes
        them (:mod:`optimiser.kerb`), else ``notes`` say those bins are passed either way.
    plan_date : date
        The day planned; times are seconds since its local midnight.
    tz : tzinfo or str
        The city's time zone (e.g. "Europe/Lisbon").
    vehicles : sequence of Vehicle, optional
        The trucks available that day (default: the inventory's); their depots must be in
        the inventory. A truck out of service (``inventory.downtimes``) works the longest
        part of its shift left, or takes no bin (``max_stops`` 0; :func:`on_duty`; ``notes``
        say so).
    return_empty : bool
        Whether trucks must unload before returning to the depot.
    not_before : datetime, optional
        No truck leaves before this instant (tz-aware): a plan made after its shift began
        starts it then, waiting at its depot; one made after its shift ended leaves it no
        time. Windows and breaks keep their clock times.

    Returns
    -------
    BuiltProblem
        Bins whose stream no truck takes are still stops: the solver reports them unserved.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz

    def clock(w: TimeWindow) -> tuple[int, int]:
        return window_to_s(w, plan_date=plan_date, tz=zone)

    used = _decisions(inventory, decisions)
    fleet = tuple(vehicles) if vehicles is not None else inventory.vehicles
    depot_row = {d.depot_id: i for i, d in enumerate(inventory.depots)}
    for v in fleet:
        if v.depot_id not in depot_row:
            raise InvalidProblemError(f"vehicle {v.vehicle_id!r}: depot {v.depot_id!r} unknown")
    points = [(d.lon, d.lat) for d in inventory.depots] + [(s.lon, s.lat) for s in inventory.sites]
    refs = [d.depot_id for d in inventory.depots] + [s.site_id for s in inventory.sites]
    kinds = ["depot"] * len(inventory.depots) + ["site"] * len(inventory.sites)
    bins = {b.bin_id: b for b in inventory.bins}
    rows: dict[str, int] = {}
    for d in used:
        b = bins[d.bin_id]
        rows[d.bin_id] = len(points)
        points.append((b.lon, b.lat))
        refs.append(b.bin_id)
        kinds.append("bin")
    n_depots = len(inventory.depots)
    sites = tuple(
        site_spec(s, n_depots + i, plan_date=plan_date, tz=zone)
        for i, s in enumerate(inventory.sites)
    )
    routed = [bins[d.bin_id] for d in used]
    kerb = [False] * (len(points) - len(routed)) + [b.kerb_side for b in routed]
    try:
        matrix = travel_matrix(provider, points, kerb)
        said = kerb_notes(provider, routed)
    except SnapError as err:
        raise named_snap_error(err, kinds, refs) from None

    specs = tuple(_vehicle(v, depot_row[v.depot_id], clock) for v in fleet)
    if not_before is not None:
        specs = _starting_from(specs, instant_to_s(not_before, plan_date=plan_date, tz=zone))
    duty = [on_duty(v, inventory.downtimes, plan_date=plan_date, tz=zone) for v in specs]
    specs = tuple(
        replace(v, max_stops=0, off_duty=True) if on is None else on
        for v, (on, _) in zip(specs, duty, strict=True)
    )
    timed = decision_stops(
        inventory,
        used,
        rows,
        matrix,
        specs,
        sites if return_empty else (),
        plan_date=plan_date,
        tz=zone,
    )
    problem = Problem(
        matrix=matrix,
        stops=tuple(timed),
        vehicles=specs,
        sites=sites,
        return_empty=return_empty,
    )
    return BuiltProblem(
        problem=problem,
        point_refs=tuple(refs),
        point_kinds=tuple(kinds),
        decisions=tuple(used),
        notes=tuple(note for _, note in duty if note is not None) + said,
    )
