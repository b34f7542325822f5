"""The fleet and disposal sites as listed now, during a day being driven: records changed,
added or deleted since the plan, taken in without changing what was done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from zoneinfo import ZoneInfo

from fleet.models import (
    Inventory,
    Vehicle,
)
from optimiser.build import (
    BuiltProblem,
    on_duty,
    vehicle_spec,
)
from optimiser.daily.dayplan import DayPlan, Provider
from optimiser.daily.off_route import Counted, OffRoute, _emptied_off_route
from optimiser.daily.places import _depot_rows, _off_map_depots
from optimiser.daily.sites_now import _current_sites
from optimiser.daily.stranded import _goes_home, _loaded_back, _stranded
from optimiser.problem import (
    VehicleSpec,
    bin_of,
)
from optimiser.reroute import (
    Progress,
)
from optimiser.street_hours import NO_HOURS, StreetHours


def _current_inventory(
    built: BuiltProblem,
    inventory: Inventory,
    progress: Sequence[Progress],
    provider: Provider,
    now_s: int,
    day: DayPlan,
    off_route: OffRoute,
    keep: Collection[str] | None = None,
    hours: StreetHours = NO_HOURS,
) -> tuple[BuiltProblem, list[Progress], Counted]:
    """``built`` with the trucks (:func:`_current_fleet`), disposal sites
    (:func:`_current_sites`) and bins (:func:`_listed_bins`) ``inventory`` lists at
    ``now_s``, a note per change, and the trucks' progress: the rest of a day being driven,
    for a reroute or a re-plan. The bins trucks emptied off their routes count on their
    loads (:func:`_emptied_off_route`, ``keep`` as there) before what the loads decide:
    which trucks can no longer unload (:func:`_loaded_back`) and what a truck broken down
    on the road carries (:func:`_stranded`). Last, what was counted of those emptyings
    (``off_route.Counted``: the loads those without a fill found were counted at, the ones
    each truck carries). The sites' hours and the trucks'
    duty are narrowed by their streets' ``hours`` today, as the day's plan had them
    (``StreetHours.narrowed``: a site or depot behind a timed lane)."""
    timed = hours.narrowed(inventory)
    built, progress = _current_fleet(built, timed, progress, provider, now_s, day)
    built = _current_sites(built, timed, provider, now_s, day, progress)
    built = _listed_bins(built, inventory, progress)
    built, progress, took = _emptied_off_route(
        built, progress, off_route, day, inventory, now_s, keep
    )
    built = _loaded_back(built, progress, now_s)
    return _stranded(built, timed, progress, now_s, day), progress, took


def _with_fleet(day: DayPlan, inventory: Inventory) -> DayPlan:
    """``day`` with the trucks (and their depots) and the disposal sites of ``inventory`` it
    did not know yet."""
    known = {v.vehicle_id for v in day.inventory.vehicles}
    vehicles = tuple(v for v in inventory.vehicles if v.vehicle_id not in known)
    homes = {v.depot_id for v in vehicles} - {d.depot_id for d in day.inventory.depots}
    depots = tuple(d for d in inventory.depots if d.depot_id in homes)
    listed = {s.site_id for s in day.inventory.sites}
    fleet = dataclasses.replace(
        day.inventory,
        vehicles=day.inventory.vehicles + vehicles,
        depots=day.inventory.depots + depots,
        sites=day.inventory.sites + tuple(s for s in inventory.sites if s.site_id not in listed),
    )
    return dataclasses.replace(day, inventory=fleet)


def _listed_bins(
    built: BuiltProblem, inventory: Inventory, progress: Sequence[Progress]
) -> BuiltProblem:
    """``built`` without the visits still to do of bins ``inventory`` no longer lists (taken
    off the street), with a note naming them (appended to its ``notes``); visits done stay."""
    listed = {b.bin_id for b in inventory.bins}
    done = {r for p in progress for r in p.done}
    gone = [s.ref for s in built.problem.stops if bin_of(s.ref) not in listed and s.ref not in done]
    if not gone:
        return built
    stops = tuple(s for s in built.problem.stops if s.ref not in gone)
    note = f"bins no longer listed leave the plan: {', '.join(gone)}"
    problem = dataclasses.replace(built.problem, stops=stops)
    return dataclasses.replace(built, problem=problem, notes=(*built.notes, note))


def _current_fleet(
    built: BuiltProblem,
    inventory: Inventory,
    progress: Sequence[Progress],
    provider: Provider,
    now_s: int,
    day: DayPlan,
) -> tuple[BuiltProblem, list[Progress]]:
    """``built`` with the trucks of ``inventory`` now and a note per change (its
    ``notes``), and their progress. A truck added since the day was planned joins from its
    depot, leaving no earlier than ``now_s``; a truck gone from it takes no more bins (its
    visits done stay, its others go to the other trucks; one out goes back to its depot).
    A truck out of service (``inventory.downtimes``) works the part of its shift from
    ``now_s`` outside (:func:`optimiser.build.on_duty`; it waits where it is until that
    part starts), or takes no more bins, as one gone; its shift end and stop limit are the
    inventory's (a truck back in service takes bins again), and so is the shift start of
    a truck not out yet when it changed since. A truck listed at another depot
    now, or whose depot moved, goes home there (:func:`_home_now`; one not out yet leaves
    from there)."""
    current = {v.vehicle_id: v for v in inventory.vehicles}
    known = {v.ref for v in built.problem.vehicles}
    added = [v for v in inventory.vehicles if v.vehicle_id not in known]
    built, rows, moved, far = _depot_rows(built, inventory, provider)
    tz = ZoneInfo(day.tz_name)

    def duty(spec: VehicleSpec, after_s: int) -> tuple[VehicleSpec | None, str | None]:
        return on_duty(spec, inventory.downtimes, plan_date=day.plan_date, tz=tz, after_s=after_s)

    stops = {s.ref for s in built.problem.stops}
    done = {p.vehicle_ref: sum(r in stops for r in p.done) for p in progress}
    by_ref = {p.vehicle_ref: p for p in progress}
    starts = {v.vehicle_id: v.shift.start for v in day.inventory.vehicles}  # as planned
    vehicles, notes = [], []
    for v in built.problem.vehicles:
        if v.ref not in current:
            vehicles.append(dataclasses.replace(v, max_stops=done.get(v.ref, 0), off_duty=True))
            notes.append(
                f"{v.ref} is no longer in the fleet: it takes no more bins today (its visits "
                "done stay; its other bins go to the other trucks)"
            )
            continue
        home = rows.get(current[v.ref].depot_id, v.end)  # a new depot off the map: as planned
        v, p, went = _home_now(built, v, by_ref.get(v.ref), home, moved)
        if p is not None:
            by_ref[v.ref] = p
        listed = vehicle_spec(current[v.ref], home, plan_date=day.plan_date, tz=tz)
        p = p or Progress(vehicle_ref=v.ref, done=(), location=v.start, time_s=0)
        v, kept = _as_listed_now(v, listed, p)
        listed, over = _stop_limit_now(listed, done.get(v.ref, 0))
        restarts = current[v.ref].shift.start != starts.get(v.ref, current[v.ref].shift.start)
        spec, waits, note = _on_duty_now(v, listed, p, done.get(v.ref, 0), now_s, duty, restarts)
        if waits is not None:
            by_ref[v.ref] = waits
        vehicles.append(spec)
        notes += [n for n in (went, kept, over, note) if n]
    notes += _off_map_depots(far, rows, inventory, added)
    joined, joined_notes = _joined(added, rows, now_s, day, duty)
    vehicles += joined
    notes += joined_notes
    problem = dataclasses.replace(built.problem, vehicles=tuple(vehicles))
    fleet = dataclasses.replace(built, problem=problem, notes=tuple(notes))
    return fleet, list(by_ref.values())


def _joined(
    added: Sequence[Vehicle],
    rows: Mapping[str, int],
    now_s: int,
    day: DayPlan,
    duty: Callable[[VehicleSpec, int], tuple[VehicleSpec | None, str | None]],
) -> tuple[list[VehicleSpec], list[str]]:
    """The trucks ``added`` to the fleet since the day was planned, each leaving its depot
    (matrix row: ``rows``, by depot id; one off the map is left out) no earlier than
    ``now_s`` (seconds of the day) when on duty then (``duty``: the part of its shift it
    works, on ``day``), and a note each (it joined, or why not now)."""
    tz = ZoneInfo(day.tz_name)
    vehicles: list[VehicleSpec] = []
    notes: list[str] = []
    for truck in added:
        if truck.depot_id not in rows:
            continue
        row = rows[truck.depot_id]
        listed = vehicle_spec(truck, row, plan_date=day.plan_date, tz=tz, start_s=now_s)
        joins, note = duty(listed, now_s)
        if joins is not None:
            vehicles.append(joins)
            notes.append(f"{truck.vehicle_id} joined the fleet: it leaves its depot now")
        notes += [note] if note else []
    return vehicles, notes


def _home_now(
    built: BuiltProblem,
    v: VehicleSpec,
    p: Progress | None,
    home: int,
    moved: Mapping[int, int],
) -> tuple[VehicleSpec, Progress | None, str | None]:
    """Truck ``v`` of a day being driven with its depot as listed now (matrix row ``home``)
    and its progress ``p``, and a note when that is not the depot it was planned to go home
    to: another depot, or its own moved since (a position corrected; ``moved``: old row ->
    new row, where a truck standing at it stands now). A truck still at its depot
    (:func:`_not_out`) leaves from the one listed now (its progress moves there); one out
    keeps where it left from (its visits done stand) and goes home there at the end of its
    day (one back at its depot moved stands where it is now, and ends its day there). A
    truck broken down on the road (its route ends where it stands) is left as it is.
    Before, either change was seen only by the next day's plan."""
    was = v.end
    if home == was or built.point_kinds[was] != "depot":  # broken down: its end is where
        return v, p, None  # it stands (its listed depot, once back in service)
    stays = _not_out(v, p)
    back = p is not None and not stays and moved.get(p.location) == home
    if p is not None and (stays or back):
        p = dataclasses.replace(p, location=home)
    depot = built.point_refs[home]
    what = (
        f"depot {depot} moved since the day was planned"
        if built.point_refs[was] == depot
        else f"{v.ref}'s depot changed to {depot}"
    )
    if stays:
        return dataclasses.replace(v, start=home, end=home), p, f"{what}: {v.ref} leaves from there"
    if back:  # standing at it: where it stands moved with it
        return (
            dataclasses.replace(v, end=home),
            p,
            f"{what}: {v.ref}, back at it, ends its day there",
        )
    return dataclasses.replace(v, end=home), p, f"{what}: {_goes_home(v.ref)}"


def _not_out(v: VehicleSpec, p: Progress | None) -> bool:
    """Whether truck ``v`` has not left its depot (at row ``v.start``) by its progress
    ``p``: none, or nothing done, carried or collected, no break, standing there."""
    return p is None or (not _worked(p) and p.location == v.start)


def _worked(p: Progress) -> bool:
    """Whether progress ``p`` shows work done today: visits done, waste carried or
    collected, or the break had."""
    return bool(p.done or p.volume_l or p.weight_kg or p.daily_l or p.daily_kg or p.break_taken)


# what a truck is listed with that its work of the day was planned by (names for notes)
LISTED_FIELDS = {
    "capacity_l": "volume capacity",
    "capacity_kg": "weight capacity",
    "streams": "streams",
    "equipment": "equipment",
    "max_daily_l": "daily volume limit",
    "max_daily_kg": "daily weight limit",
    "break_s": "break",
    "break_window_s": "break window",
    "cost_per_km": "cost per km",
    "cost_per_hour": "cost per hour",
    "fixed_cost": "fixed cost",
}


def _as_listed_now(
    v: VehicleSpec, listed: VehicleSpec, p: Progress
) -> tuple[VehicleSpec, str | None]:
    """Truck ``v`` of a day being driven with what the inventory lists now (``listed``:
    capacities, streams, daily limits, break, costs; ``LISTED_FIELDS``) when it has done no
    work yet (``p``: nothing done, nothing on board or collected, no break): a capacity
    typed wrong and fixed in the morning counts from the next plan of the day. A truck
    with work done keeps what that work was planned by (its visits done must still hold),
    with a note naming what changed."""
    changed = [f for f in LISTED_FIELDS if getattr(v, f) != getattr(listed, f)]
    if not changed:
        return v, None
    if not _worked(p):
        return dataclasses.replace(v, **{f: getattr(listed, f) for f in changed}), None
    names = ", ".join(LISTED_FIELDS[f] for f in changed)
    return v, (
        f"{v.ref}'s {names} changed in the fleet: they count from its next day's plan, as it "
        "has work done today under the ones it was planned with"
    )


def _stop_limit_now(listed: VehicleSpec, done: int) -> tuple[VehicleSpec, str | None]:
    """Truck ``listed`` with the stop limit the inventory lists now, but no lower than the
    ``done`` bins it has visited today (a limit lowered during the day cannot undo them: the
    truck takes no more bins), with a note when so."""
    if listed.max_stops is None or listed.max_stops >= done:
        return listed, None
    note = (
        f"{listed.ref}'s stop limit ({listed.max_stops}) is below the {done} bins it has "
        "visited today: it takes no more bins"
    )
    return dataclasses.replace(listed, max_stops=done), note


def _on_duty_now(
    v: VehicleSpec,
    listed: VehicleSpec,
    p: Progress,
    done: int,
    now_s: int,
    duty: Callable[[VehicleSpec, int], tuple[VehicleSpec | None, str | None]],
    restarts: bool = False,
) -> tuple[VehicleSpec, Progress | None, str | None]:
    """Truck ``v`` of a day being driven, with the shift end and stop limit the inventory
    lists now (``listed``), working where ``duty`` says from ``now_s`` or its progress
    ``p``: the truck, its progress when it must wait until it is back in service, and the
    note. Out of service for the rest of its shift, it takes no more than its ``done``
    bins. Its route keeps its shift start (it may have left), unless the truck is not out
    yet (:func:`_not_out`) and its listed shift start changed since the day was planned
    (``restarts``: a crew starting later today): it leaves by the one listed now."""
    first = listed.shift_s[0] if restarts and _not_out(v, p) else v.shift_s[0]
    base = dataclasses.replace(
        v,
        end=listed.end,  # its depot, also after a plan that left it broken down on the road
        shift_s=(first, listed.shift_s[1]),
        max_stops=listed.max_stops,
        off_duty=False,
    )
    spec, note = duty(base, max(now_s, p.time_s))
    if spec is None:
        return dataclasses.replace(base, max_stops=done, off_duty=True), None, note
    back = spec.shift_s[0]
    spec = dataclasses.replace(spec, shift_s=(base.shift_s[0], spec.shift_s[1]))
    waits = dataclasses.replace(p, time_s=back) if back > max(now_s, p.time_s) else None
    return spec, waits, note
