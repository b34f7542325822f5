"""Fleet records -> the integer ``Problem``: the ONLY place that knows the unit conversions
(they live in :mod:`optimiser.build_units`; the stops in :mod:`optimiser.build_stops`, the
trucks and sites in :mod:`optimiser.build_fleet`; every name imports from here).

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from fleet.models import (
    BinDecision,
    Inventory,
    TimeWindow,
    Vehicle,
)
from network.errors import SnapError
from network.matrix import TravelMatrix
from optimiser.build_fleet import (
    UNTIL_FURTHER_NOTICE_S,
    _starting_from,
    _vehicle,
    duty_pieces,
    on_duty,
    site_spec,
    vehicle_spec,
)
from optimiser.build_stops import (
    LATE_WINDOW_S,
    SECOND_VISIT_GAP_S,
    _decisions,
    decision_stops,
    found_load,
    overflow_decision,
    timed_stops,
    urgent_stop,
    with_deadline,
)
from optimiser.build_units import (
    CENTS,
    clock_to_s,
    from_cents,
    instant_to_s,
    round_up,
    s_to_instant,
    to_cents,
    wall_s,
    window_to_s,
)
from optimiser.errors import InvalidProblemError
from optimiser.kerb import kerb_notes, travel_matrix
from optimiser.problem import Problem

MatrixProvider = Callable[[Sequence[tuple[float, float]]], TravelMatrix]


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


def named_snap_error(err: SnapError, kinds: Sequence[str], refs: Sequence[str]) -> SnapError:
    """``err`` naming its point by what it is ("depot d1", "bin b7"): ``kinds`` and ``refs``
    of the points the matrix was asked for, in order (a bare index named nothing a
    dispatcher knows)."""
    i = err.index
    if i is None or not 0 <= i < len(refs):
        return err
    return err.named(f"{kinds[i]} {refs[i]}")


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


__all__ = [
    "CENTS",
    "LATE_WINDOW_S",
    "SECOND_VISIT_GAP_S",
    "UNTIL_FURTHER_NOTICE_S",
    "BuiltProblem",
    "MatrixProvider",
    "build_problem",
    "clock_to_s",
    "decision_stops",
    "duty_pieces",
    "found_load",
    "from_cents",
    "instant_to_s",
    "named_snap_error",
    "on_duty",
    "overflow_decision",
    "round_up",
    "s_to_instant",
    "site_spec",
    "timed_stops",
    "to_cents",
    "urgent_stop",
    "vehicle_spec",
    "wall_s",
    "window_to_s",
    "with_deadline",
]
