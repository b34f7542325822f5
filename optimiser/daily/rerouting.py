"""Rerouting a day being driven after overflow alerts (:func:`reroute_day`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from fleet.density import carry_measured
from fleet.models import (
    Inventory,
)
from optimiser.daily.dayplan import DayPlan, Provider, _on_local_clock
from optimiser.daily.deadlines import (
    _all_progress,
    _late_notes,
    _late_rather_than_never,
    _overdue,
    _overdue_note,
)
from optimiser.daily.driven import (
    _alerts_left_out,
    _befallen,
    _driven_on,
    _far_alerts,
    _placed_since,
    _unplaced,
    _unreported_unloads,
    _urgent,
)
from optimiser.daily.fleet_now import _current_inventory, _with_fleet
from optimiser.daily.off_route import OffRoute, _pairs
from optimiser.daily.places import _moved_bins, _placed, _placed_joined, _street_hours
from optimiser.params import SolveParams
from optimiser.problem import (
    Stop,
    bin_of,
)
from optimiser.reroute import (
    Progress,
    RouteChange,
    reroute,
    route_changes,
    with_urgent,
)


@_on_local_clock
def reroute_day(
    day: DayPlan,
    progress: Sequence[Progress],
    urgent_bin_ids: Sequence[str],
    provider: Provider,
    *,
    now: datetime,
    params: SolveParams | None = None,
    inventory: Inventory | None = None,
    positions: Mapping[str, tuple[float, float]] | None = None,
    found: Mapping[str, float] | None = None,
    due: Mapping[str, datetime] | None = None,
    off_route: OffRoute | None = None,
    lifted: Mapping[str, float] | None = None,
    why: Mapping[str, str] | None = None,
    missed: Collection[str] = (),
) -> tuple[DayPlan, dict[str, RouteChange]]:
    """Re-plan the rest of the day after overflow alerts, keeping what is done.

    Alerted bins are collected today, loaded full (:func:`_urgent`), by their response
    targets where a route can (a note names each one emptied later); must bins whose planned
    deadline no truck can keep any more are emptied late rather than dropped, with a note
    (:func:`_overdue`), as are those no route empties by their deadline
    (:func:`_late_rather_than_never`). An alerted bin, or one moved since, that the provider
    can place on no street is left out, unserved with the reason (``DayPlan.unplaced``,
    :func:`_far_alerts`, :func:`_moved_bins`); the other alerts are rerouted. A bin left
    out that the provider can place since (its coordinates fixed) is emptied where it is
    now (:func:`_placed_since`; an earlier alert's as an alert again, :func:`_alerts_left_out`).

    Parameters
    ----------
    day : DayPlan
        The plan being driven.
    progress : sequence of Progress
        Trucks' progress in solver units (done visits, matrix row, load); trucks without
        one are taken as waiting at their depot at ``now``.
    urgent_bin_ids : sequence of str
        Bins reported overflowing: collected today (required), loaded full.
    provider : callable
        The matrix provider the day was planned with (new bins get rows appended).
    now : datetime
        The moment of the reroute (tz-aware).
    params : SolveParams, optional
        Time limit of the re-optimisation (default 1 s).
    inventory : Inventory, optional
        The current inventory (default: the day's; bins keep the densities their weighing
        readings showed when the day was last planned or re-planned): urgent bins are
        looked up here, and
        the trucks and disposal sites are those it lists now, as in :func:`replan_day` (a
        truck gone from it or out of service takes no more bins, one added may be sent; a
        site gone is closed from ``now``, one added may be used; a bin moved since is
        emptied where it is now, :func:`_moved_bins`; with a note each).
    positions : mapping of str to (float, float), optional
        Where trucks are now, (lon, lat) by vehicle ref, when known and newer than their last
        done visit: they go on from there (travel to it counts). Positions off the street
        network are ignored, with a note in the plan.
    found : mapping of str to float, optional
        The fill found at bin visits done (visit ref -> fraction of the bin), when the crews
        reported one: the KPIs count those bins at that fill and weight. The loads of
        ``progress`` should count them too (:func:`found_loads`).
    due : mapping of str to datetime, optional
        Response targets of alerted bins (bin id -> tz-aware time to empty it by): the
        search meets them where a route can and otherwise keeps the lateness small
        (``Stop.due_s``; not a rule). Bins without one are emptied any time in their hours.
    off_route : mapping of str to sequences, optional
        Bins trucks emptied off their planned routes today, all of them, in report order
        (:data:`OffRoute`): the truck carries the waste of those not unloaded since, and the
        next visit of each such bin the plan has leaves it, unless the plan knew that
        emptying already (:func:`_emptied_off_route`).
    lifted : mapping of str to float, optional
        The net weight (kg) trucks' lift scales took at bin visits done (visit ref -> kg):
        the KPIs count those bins at that weight (their litres at the fill ``found``).
    why : mapping of str to str, optional
        What befell bins (bin id -> text), e.g. an urgent bin a crew could not empty: the
        reason of each of their visits left unserved begins with it.
    missed : collection of str
        The bin visits done (stop refs) whose crew could not empty the bin: passed,
        nothing taken (``progress`` and ``found`` count them empty); the KPIs count none of
        them collected (``DayPlan.missed``).

    Returns
    -------
    (DayPlan, dict)
        The new day plan (checked: ``violations``) and each driver's change.
    """
    now_s = day.seconds(now)
    lookup = carry_measured(day.inventory, inventory or day.inventory)  # loaded as planned
    hours = _street_hours(lookup, provider, day.plan_date, ZoneInfo(day.tz_name))
    timed = hours.narrowed(lookup)  # new stops of bins on timed streets within their hours
    bins = [lookup.bin(b) for b in dict.fromkeys(urgent_bin_ids)]  # FleetDataError if unknown
    done = {r for p in progress for r in p.done}
    bins += _alerts_left_out(day, lookup, done, {b.bin_id for b in bins})
    built, moved, moved_away = _moved_bins(day.built, lookup, provider, done, hours)
    placeable, far, far_decisions = _far_alerts(
        [timed.bin(b.bin_id) for b in bins], provider, done, hours
    )
    built, urgent, decisions, said = _urgent(day, built, placeable, provider, done, due or {})
    moved = (*moved, *said)
    decisions = [*decisions, *far_decisions]
    planned = {v.ref for v in built.problem.vehicles}
    built, progress, notes = _placed(built, progress, positions or {}, provider, now_s)
    urgent_refs = {s.ref for s in urgent}
    built, progress, took = _current_inventory(
        built, lookup, progress, provider, now_s, day, off_route or {}, urgent_refs, hours
    )
    built, progress, joined = _placed_joined(built, progress, positions, provider, now_s, planned)
    notes += joined
    unreported = _unreported_unloads(day.plan, progress, now_s)
    full_progress = _all_progress(built.problem, progress, now_s)
    late = _overdue(day, built.problem, full_progress, urgent_refs, timed)
    taken = [*done, *urgent_refs, *(u.ref for u in far)]
    built, back, still_far = _placed_since(day, built, timed, provider, full_progress, taken, hours)
    changed = [*urgent, *late, *(s for s in back if s.required)]
    plan = reroute(built.problem, day.plan, full_progress, changed, params)
    problem, plan, later = _late_rather_than_never(
        with_urgent(built.problem, changed),
        plan,
        full_progress,
        timed,
        params,
        now_s,
        plan_date=day.plan_date,
        tz=ZoneInfo(day.tz_name),
    )
    served = plan.served_refs
    overdue = _overdue_note([s.ref for s in late if s.ref in served] + later)
    tardy = _late_notes(problem, plan)
    timed_since = hours.notes({bin_of(r) for r in served} - set(day.street_hours))
    plan = dataclasses.replace(
        plan,
        notes=(
            *moved,
            *built.notes,
            *unreported,
            *overdue,
            *tardy,
            *timed_since,  # an alert's bin on a timed street, one placed there since
            *plan.notes,
            *notes,
        ),
        unserved=_befallen(plan.unserved, why or {}),
    )
    urgent_ids = {d.bin_id for d in decisions}
    merged = tuple(d for d in day.decisions if d.bin_id not in urgent_ids) + tuple(decisions)
    fills = {**day.fill_at_pickup, **_decided_fills(day, back), **{s.ref: 1.0 for s in urgent}}
    new_day = _driven_on(
        day,
        dataclasses.replace(built, problem=problem),
        plan,
        merged,
        fills,
        (found or {}, lifted or {}),
        bins,
        [*(s.ref for s in urgent), *(u.ref for u in far)],
        _unplaced(lookup, problem, [*day.unplaced, *still_far, *moved_away, *far]),
        missed=missed,
        off_route=_pairs(off_route or {}),
        counted=took,
    )
    new_day = dataclasses.replace(
        new_day, street_hours={**day.street_hours, **hours.on_streets(problem.stops)}
    )
    return _with_fleet(new_day, lookup), route_changes(day.plan, plan)


def _decided_fills(day: DayPlan, stops: Sequence[Stop]) -> dict[str, float]:
    """The fill at pickup of ``stops`` a reroute adds by the day's decisions (bins placed
    since, :func:`_placed_since`), by ref: the forecast the day decided them by, a bin's
    first visit at its ``expected_fill_fraction``, a later one at its ``refill_fraction``
    (a reroute has no fill models to forecast them at the new times)."""
    decided = {d.bin_id: d for d in day.decisions}
    return {
        s.ref: (
            decided[bin_of(s.ref)].expected_fill_fraction
            if s.ref == bin_of(s.ref)
            else decided[bin_of(s.ref)].refill_fraction
        )
        for s in stops
        if bin_of(s.ref) in decided
    }
