"""Planning a day: readings -> forecast -> bin selection -> routes -> KPIs
(:func:`plan_day`), and routing a day's decisions (:func:`route_day`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from fleet.fill import MISREAD_DAYS, estimate_models, sensor_checks
from fleet.forecast import FillModel
from fleet.models import (
    Action,
    BinDecision,
    CitizenReport,
    FillReading,
    Inventory,
    PickupRecord,
    collection_period,
    next_opportunities,
)
from fleet.policy import CollectionPolicy
from fleet.weights import planned_at_densities
from optimiser.build import (
    BuiltProblem,
    build_problem,
    instant_to_s,
    overflow_decision,
)
from optimiser.check import check
from optimiser.daily.dayplan import (
    ALERT,
    DayPlan,
    ProgressFn,
    Provider,
    _noted,
    _on_local_clock,
    _report,
    _seconds,
    compute_kpis,
    fill_at_pickup,
    planned_weights,
)
from optimiser.daily.deadlines import (
    _all_progress,
    _late_notes,
    _late_rather_than_never,
    _overdue_note,
)
from optimiser.daily.places import _on_the_map, _placeable, _street_hours
from optimiser.params import SolveParams
from optimiser.problem import (
    Problem,
    bin_of,
    visit_ref,
)
from optimiser.solve import solve


@_on_local_clock
def plan_day(
    inventory: Inventory,
    readings: Sequence[FillReading],
    reports: Sequence[CitizenReport],
    provider: Provider,
    *,
    plan_date: date,
    tz: ZoneInfo,
    policy: CollectionPolicy | None = None,
    params: SolveParams | None = None,
    progress: ProgressFn | None = None,
    last_emptied: Mapping[str, datetime] | None = None,
    pickups: Sequence[PickupRecord] = (),
    start_at: datetime | None = None,
    alerted: Sequence[str] = (),
    due: Mapping[str, datetime] | None = None,
) -> DayPlan:
    """Plan one day of collection.

    Parameters
    ----------
    inventory : Inventory
        Bins, depots, vehicles and disposal sites.
    readings, reports : sequences
        Fill-level readings and citizen reports up to the planning moment. Readings that
        carry the weight of a bin's contents (with the pickups' fills, for sensors that
        only weigh) give a bin without a density of its own the one they show
        (:func:`fleet.density.with_measured_densities`, with a note), and fills derived
        from weights (of readings and pickups) are derived again at it
        (:func:`fleet.weights.at_densities`).
    provider : callable
        (lon, lat) points -> TravelMatrix (street network or haversine).
    plan_date : date
        The day to plan, in the city's time zone ``tz``.
    policy, params : optional
        Collection policy and solver parameters (defaults when omitted).
    progress : callable, optional
        Called with (fraction 0..1, message) as the job advances.
    last_emptied : mapping bin_id -> datetime, optional
        The collection log (last emptying per bin), when the city keeps one.
    pickups : sequence of PickupRecord, optional
        The trucks' pickups with the fills found (by the crew, or from the weight the lift
        scale took), when recorded: they mark every emptying and give bins without a sensor
        their own fill rate; those the lift scale weighed teach the bins' densities.
    start_at : datetime, optional
        When the plan is made (tz-aware), for a plan of a day whose shifts have begun: no
        truck leaves before it, and fills and reports are read at it (an overflow reported
        at 10:00 counts for a plan made at 10:30). Earlier than the first shift: no effect.
    alerted : sequence of str
        Bins overflow alerts asked for: collected (required, loaded full unless a citizen
        report already made them must bins), their visits marked in ``DayPlan.alerted``
        (also those of bins no truck can reach, unserved with the reason).
    due : mapping of str to datetime, optional
        Response targets of alerted bins (bin id -> tz-aware time to empty it by), as in
        :func:`reroute_day` (``Stop.due_s``; not a rule; a note names each bin emptied later);
        bins not in ``alerted`` are ignored.

    Returns
    -------
    DayPlan
        Checked by the independent checker: ``violations`` lists any problem found.
    """
    _report(progress, 0.05, "forecasting fill levels")
    inventory, readings, pickups, weighed = planned_at_densities(inventory, readings, pickups)
    models, decisions = _forecast(
        inventory,
        readings,
        reports,
        plan_date=plan_date,
        tz=tz,
        policy=policy or CollectionPolicy(),
        last_emptied=last_emptied,
        pickups=pickups,
        start_at=start_at,
    )
    day = route_day(
        inventory,
        _with_alerted(inventory, decisions, alerted),
        models,
        provider,
        plan_date=plan_date,
        tz=tz,
        params=params or SolveParams(),
        progress=progress,
        start_at=start_at,
        alerted=alerted,
        due=due,
    )
    since = datetime.combine(plan_date - timedelta(days=MISREAD_DAYS), time(0), tzinfo=tz)
    checks = sensor_checks(readings, pickups, since, tz, models)
    day = dataclasses.replace(day, sensor_checks=checks)
    return _noted(day, (*weighed, *(c.note for c in checks)))


def stream_opportunities(
    inventory: Inventory, plan_date: date, tz: tzinfo, policy: CollectionPolicy | None = None
) -> dict[str, datetime | None]:
    """Each stream's next opportunity after ``plan_date`` as plans of that day read it: the
    ``policy``'s days after the start of the day's first shift, or later, when a truck
    taking the stream is next on a shift and in service (``inventory.downtimes``); None
    when none comes within the horizon (:func:`fleet.models.next_opportunities`). The policy decides
    the day's must bins by it, so a downtime on a later day that changes it changes the
    plans of ``plan_date`` too."""
    collect_at = collection_period(inventory, plan_date, tz)[0]
    gap = (policy or CollectionPolicy()).next_opportunity_after(collect_at) - collect_at
    return next_opportunities(inventory, plan_date, tz, gap=gap)


def _forecast(
    inventory: Inventory,
    readings: Sequence[FillReading],
    reports: Sequence[CitizenReport],
    *,
    plan_date: date,
    tz: ZoneInfo,
    policy: CollectionPolicy,
    last_emptied: Mapping[str, datetime] | None,
    pickups: Sequence[PickupRecord],
    start_at: datetime | None,
) -> tuple[dict[str, FillModel], list[BinDecision]]:
    """Each bin's fill model and the policy's decision for the day's collection period, read
    at its start or at ``start_at`` when later (as in :func:`plan_day`). A bin's next
    opportunity stays the first moment, the policy's days after the start of the day's
    first shift of a truck taking its stream or later, that such a truck is on a later
    day's shift and in service, whenever the plan is made (:func:`stream_opportunities`; a
    stream no truck takes, or none in service within its horizon, has none: its bins are
    must bins today)."""
    collect_at, collect_until = collection_period(inventory, plan_date, tz)
    nexts = stream_opportunities(inventory, plan_date, tz, policy)
    if start_at is not None:
        collect_at = min(max(collect_at, start_at), collect_until)
    soonest = collect_at + timedelta(seconds=1)
    next_opportunity = {s: None if at is None else max(at, soonest) for s, at in nexts.items()}
    models = estimate_models(
        inventory.bins,
        readings,
        reports,
        now=collect_at,
        last_emptied=last_emptied,
        pickups=pickups,
    )
    decisions = policy.decide(
        inventory.bins,
        models,
        collect_at=collect_at,
        collect_until=collect_until,
        next_opportunity=next_opportunity,
        reports=reports,
    )
    return models, list(decisions)


def _with_alerted(
    inventory: Inventory, decisions: Sequence[BinDecision], alerted: Sequence[str]
) -> list[BinDecision]:
    """``decisions`` with each alerted bin a must bin: the policy's when a citizen report made
    it one (no deadline, no release), else loaded full (:func:`overflow_decision`)."""
    bins = [inventory.bin(b) for b in dict.fromkeys(alerted)]  # FleetDataError if unknown
    ids = {b.bin_id for b in bins}
    kept = {
        d.bin_id: d
        for d in decisions
        if d.bin_id in ids and d.action is Action.MUST and d.due_at is None and d.release_at is None
    }
    extra = [kept.get(b.bin_id) or overflow_decision(b, ALERT) for b in bins]
    return [d for d in decisions if d.bin_id not in ids] + extra


def _start_note(problem: Problem, first: datetime, start_at: datetime | None) -> tuple[str, ...]:
    """The note of a plan made (``start_at``) after the ``first`` shift began."""
    if start_at is None or start_at <= first:
        return ()
    at = start_at.astimezone(first.tzinfo).strftime("%H:%M")
    note = f"planned at {at}, after the shifts began: no truck leaves before then"
    if all(v.shift_s[0] >= v.shift_s[1] for v in problem.vehicles):
        note += "; every shift is over, so nothing is collected (plan the next day)"
    return (note,)


def _alert_stops(
    built: BuiltProblem, alerted: Sequence[str], due: Mapping[str, datetime], midnight: datetime
) -> BuiltProblem:
    """``built`` with the first visit of each alerted bin first among required stops (its
    ``priority`` 1) and given its response target, when ``due`` has one (targets of other
    bins are ignored)."""
    refs = {visit_ref(b, 1) for b in alerted}
    secs = {visit_ref(b, 1): max(0, _seconds(midnight, at)) for b, at in due.items()}
    stops = tuple(
        dataclasses.replace(s, priority=1, due_s=secs.get(s.ref)) if s.ref in refs else s
        for s in built.problem.stops
    )
    return dataclasses.replace(built, problem=dataclasses.replace(built.problem, stops=stops))


@_on_local_clock
def route_day(
    inventory: Inventory,
    decisions: Sequence[BinDecision],
    models: Mapping[str, FillModel],
    provider: Provider,
    *,
    plan_date: date,
    tz: ZoneInfo,
    params: SolveParams,
    progress: ProgressFn | None = None,
    start_at: datetime | None = None,
    alerted: Sequence[str] = (),
    due: Mapping[str, datetime] | None = None,
) -> DayPlan:
    """Route the MUST and MAY bins of ``decisions``, check the plan and compute its KPIs.

    The second half of :func:`plan_day`, for callers with decisions of their own (e.g. a
    fixed-schedule policy); ``models`` give the forecast fill at pickup. ``start_at``,
    ``alerted`` and ``due`` as in :func:`plan_day` (alerted bins need decisions here; one
    the provider can place on no street is unserved with the reason, :func:`_placeable`, its
    visit still marked in ``DayPlan.alerted``). A depot or disposal site it can place on no
    street is left out, with the trucks of such a depot, each with a note
    (:func:`_on_the_map`; ``DayPlan.inventory`` is without them). A must bin no route can
    empty by its deadline (each truck could reach it in time alone) is emptied as soon
    after as a route can rather than left out, with a note (:func:`_late_rather_than_never`).
    """
    _report(progress, 0.2, "computing travel times")
    day_start = datetime.combine(plan_date, time(0), tzinfo=tz)
    inventory, off_map = _on_the_map(inventory, provider)
    hours = _street_hours(inventory, provider, plan_date, tz)
    placed, unplaced = _placeable(inventory, decisions, provider, hours=hours)
    timed = hours.narrowed(inventory)  # bins on timed streets emptied within their hours
    built = build_problem(timed, placed, provider, plan_date=plan_date, tz=tz, not_before=start_at)
    built = _alert_stops(built, alerted, due or {}, day_start)
    _report(progress, 0.4, f"solving routes for {len(built.problem.stops)} bins")
    plan = solve(built.problem, params)
    now_s = 0 if start_at is None else instant_to_s(start_at, plan_date=plan_date, tz=tz)
    problem, plan, later = _late_rather_than_never(
        built.problem,
        plan,
        _all_progress(built.problem, [], now_s),
        timed,
        params,
        now_s,
        plan_date=plan_date,
        tz=tz,
    )
    built = dataclasses.replace(built, problem=problem)
    first = collection_period(inventory, plan_date, tz)[0]
    notes = (
        *off_map,
        *_start_note(built.problem, first, start_at),
        *built.notes,
        *hours.place_notes(),
        *hours.notes({bin_of(s.ref) for s in built.problem.stops}),
        *_overdue_note(later),
        *_late_notes(built.problem, plan),
    )
    plan = dataclasses.replace(plan, notes=(*notes, *plan.notes))
    _report(progress, 0.95, "checking the plan")
    violations = tuple(check(built.problem, plan))
    # an alerted bin no street reaches is unserved (unplaced), its visit still an alert's
    asked = {s.ref for s in built.problem.stops} | {u.ref for u in unplaced}
    fills = fill_at_pickup(day_start, plan, models)
    weights = planned_weights(decisions, built.problem)
    kpis = compute_kpis(plan, decisions, fills, weights, built.problem, unplaced)
    _report(progress, 1.0, "done")
    return DayPlan(
        plan_date=plan_date,
        tz_name=tz.key,
        inventory=inventory,
        decisions=tuple(decisions),
        built=built,
        plan=plan,
        fill_at_pickup=fills,
        violations=violations,
        kpis=kpis,
        alerted=tuple(r for r in dict.fromkeys(visit_ref(b, 1) for b in alerted) if r in asked),
        start_at=start_at if start_at is not None and start_at > first else None,
        off_route_all=True,
        unplaced=unplaced,
        street_hours=hours.on_streets(built.problem.stops),
    )
