"""The daily planning job: readings -> forecast -> bin selection -> routes -> KPIs.

This is the pipeline behind ``binroute demo``, the nightly run of the service and the
scenario simulator. It glues fleet (forecast, policy) to the optimiser (build, solve, check).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import NamedTuple, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from fleet.density import carry_measured, planned_at_densities
from fleet.fill import MISREAD_DAYS, SensorCheck, estimate_models, sensor_checks
from fleet.forecast import FillModel
from fleet.models import (
    Action,
    Bin,
    BinDecision,
    CitizenReport,
    FillReading,
    Inventory,
    PickupRecord,
    Vehicle,
    clock_s,
    collection_period,
    next_opportunities,
)
from fleet.policy import CollectionPolicy
from network.errors import NetworkError, SnapError
from network.matrix import TravelMatrix
from optimiser.build import (
    SECOND_VISIT_GAP_S,
    BuiltProblem,
    build_problem,
    decision_stops,
    found_load,
    instant_to_s,
    named_snap_error,
    on_duty,
    overflow_decision,
    s_to_instant,
    site_spec,
    urgent_stop,
    vehicle_spec,
    wall_s,
    window_to_s,
)
from optimiser.check import Violation, check, late_s
from optimiser.kerb import extended_matrix, kerb_notes, takes_kerb
from optimiser.params import SolveParams
from optimiser.plan import (
    Plan,
    Route,
    Unserved,
    UnservedKind,
    Visit,
    VisitKind,
    clock,
    span,
    wall_clock,
)
from optimiser.problem import (
    SECOND_VISIT,
    Problem,
    Site,
    Stop,
    VehicleSpec,
    bin_of,
    visit_ref,
)
from optimiser.reroute import (
    DEFAULT_PARAMS,
    WORK,
    Progress,
    RouteChange,
    plan_stands,
    reroute,
    route_changes,
    visits_done,
    with_urgent,
)
from optimiser.screen import usable_sites
from optimiser.solve import solve
from optimiser.street_hours import CLOSED_STREET, NO_HOURS, StreetHours, TimedDay, street_hours

Provider = Callable[[Sequence[tuple[float, float]]], TravelMatrix]
ProgressFn = Callable[[float, str], None]
ALERT = "overflow alert"


@dataclass(frozen=True, slots=True, kw_only=True)
class DayPlan:
    """A solved day: the decisions, the problem it became, the plan and its KPIs.

    ``fill_at_pickup`` maps each collected bin to its forecast fill fraction at the planned
    arrival time; ``violations`` is the independent checker's verdict (empty when feasible);
    ``alerted`` lists the visits (stop refs) overflow alerts asked for, when it was planned or
    since. ``start_at`` is when a plan made after the first shift began starts (no truck
    leaves before; work reported earlier that day was done on an earlier plan), else None.
    ``off_route_seen`` lists the bins trucks emptied off their routes that the plan already
    knew, as (truck ref, bin id) in report order: their visits were taken out of the plan
    then, so a visit of such a bin in the plan came later (an alert since) and stays.
    ``off_route_all`` says whether that list counts the emptyings unloaded since too (plans
    of this version); plans stored by earlier versions (False) listed only those on board.
    ``off_route_loads`` holds the load (litres, kg) each of those emptyings without a fill
    found, its waste on board, was counted at when a plan first took it in, as (truck ref,
    bin id, k: the truck's k-th emptying of that bin, litres, kg): later plans count it so
    too, whatever they plan for that bin since (an alert's full load, say).
    ``unplaced`` lists the bins the policy chose that no truck can reach (too far from
    every drivable street), with the reason: left out before solving, unserved all the same.
    ``missed`` lists the bin visits done whose crew could not empty the bin (stop refs):
    passed, nothing taken; the KPIs count none of them collected.
    ``sensor_checks`` lists the bins whose sensors a crew should check (stuck, reading off
    and corrected, reading too full or too empty at a pickup), each also a plan note: the
    maintenance list of a plan made from readings (:func:`plan_day`).
    ``street_hours`` names, for each bin routed on a street trucks may drive only at some
    hours, that street and its hours that day (bin id -> ``optimiser.street_hours.TimedDay``):
    its visits are timed to them.
    """

    plan_date: date
    tz_name: str
    inventory: Inventory
    decisions: tuple[BinDecision, ...]
    built: BuiltProblem
    plan: Plan
    fill_at_pickup: Mapping[str, float] = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()
    kpis: Mapping[str, float | int] = field(default_factory=dict)
    alerted: tuple[str, ...] = ()
    start_at: datetime | None = None
    off_route_seen: tuple[tuple[str, str], ...] = ()
    off_route_all: bool = False
    off_route_loads: tuple[tuple[str, str, int, int, int], ...] = ()
    unplaced: tuple[Unserved, ...] = ()
    missed: tuple[str, ...] = ()
    sensor_checks: tuple[SensorCheck, ...] = ()
    street_hours: Mapping[str, TimedDay] = field(default_factory=dict)

    @property
    def midnight(self) -> datetime:
        """Local midnight starting the plan date (the zero of the solver's clock)."""
        return datetime.combine(self.plan_date, time(0), tzinfo=ZoneInfo(self.tz_name))

    def at(self, seconds: int) -> datetime:
        """Solver seconds since local midnight as a tz-aware datetime (local)."""
        return s_to_instant(seconds, plan_date=self.plan_date, tz=ZoneInfo(self.tz_name))

    def seconds(self, at: datetime) -> int:
        """A tz-aware instant as solver seconds since local midnight."""
        return instant_to_s(at, plan_date=self.plan_date, tz=ZoneInfo(self.tz_name))

    @property
    def unserved(self) -> tuple[Unserved, ...]:
        """Bins the policy wanted collected but no route serves, with reasons (those no
        truck can reach last)."""
        return (*self.plan.unserved, *self.unplaced)


def _report(progress: ProgressFn | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(fraction, message)


def fill_at_pickup(
    day_start: datetime, plan: Plan, models: Mapping[str, FillModel]
) -> dict[str, float]:
    """Forecast fill fraction at each planned bin visit's service start, by stop ref (a
    second visit finds what came in since the first one)."""
    out: dict[str, float] = {}
    first_s: dict[str, int] = {}
    visits = [v for route in plan.routes for v in route.visits if v.kind is VisitKind.BIN]
    for visit in sorted(visits, key=lambda v: v.start_s):
        bin_id = bin_of(visit.ref)
        if bin_id not in models:
            continue
        model = models[bin_id]
        if bin_id in first_s:
            model = model.emptied(_instant(day_start, first_s[bin_id]))
        else:
            first_s[bin_id] = visit.start_s
        when = _instant(day_start, visit.start_s)
        out[visit.ref] = float(model.fill_at(when).expected)
    return out


def _instant(midnight: datetime, seconds: int) -> datetime:
    """Solver ``seconds`` after local ``midnight`` (tz-aware) as an instant."""
    assert isinstance(midnight.tzinfo, tzinfo)
    return s_to_instant(seconds, plan_date=midnight.date(), tz=midnight.tzinfo)


def _seconds(midnight: datetime, at: datetime) -> int:
    """The instant ``at`` as solver seconds after local ``midnight`` (tz-aware)."""
    assert isinstance(midnight.tzinfo, tzinfo)
    return instant_to_s(at, plan_date=midnight.date(), tz=midnight.tzinfo)


def planned_weights(decisions: Sequence[BinDecision], problem: Problem) -> dict[str, float]:
    """Planned load (kg) by stop ref: each bin's weight as late as a truck may come (its
    decision), and a second visit's (``<bin>#2``) what came in since the first (its stop)."""
    weights = {d.bin_id: d.expected_weight_kg for d in decisions}
    for stop in problem.stops:
        if stop.ref != bin_of(stop.ref):
            weights[stop.ref] = float(stop.weight_kg)
    return weights


def waiting_at_depot_s(route: Route, problem: Problem) -> int:
    """Seconds ``route``'s truck stands at its depot between two outings: from getting back
    (its last visit's end plus the drive home) to its next start there, a WAYPOINT (e.g. a
    truck back early and sent out again for an alert)."""
    spec = next((v for v in problem.vehicles if v.ref == route.vehicle_ref), None)
    if spec is None:
        return 0
    homes = {spec.start, spec.end}
    waiting = 0
    last: Visit | None = None
    for visit in route.visits:
        if visit.location is None:  # a break: no place of its own
            continue
        if visit.kind is VisitKind.WAYPOINT and visit.location in homes and last is not None:
            home_at = last.end_s + int(problem.matrix.duration_s[last.location, visit.location])
            waiting += max(0, visit.start_s - home_at)
        last = visit
    return waiting


def compute_kpis(
    plan: Plan,
    decisions: Sequence[BinDecision],
    fills: Mapping[str, float],
    weights_kg: Mapping[str, float],
    problem: Problem | None = None,
    unplaced: Sequence[Unserved] = (),
    missed: Collection[str] = (),
    off_route: Sequence[str] = (),
) -> dict[str, float | int]:
    """Dispatcher KPIs of a plan (km, hours, kg, bins, fill at pickup, unserved).

    ``kg`` is the planned load of the served stops (``weights_kg`` by stop ref, see
    :func:`planned_weights`), an upper estimate of what the trucks bring. ``hours`` are the
    trucks' time out, less the time a truck stands at its depot between two outings
    (:func:`waiting_at_depot_s`, with ``problem``'s travel times). ``unplaced``: visits left
    out of the problem (``DayPlan.unplaced``), unserved all the same. A bin counts as
    collected when a visit of it is served and none is unserved (a bin emptied this
    morning whose second visit, ``b#2``, is left out is not). ``mean_fill_at_pickup`` is
    the mean of ``fills`` (fraction by stop ref), each capped at 1: a bin forecast past
    full is emptied full, its overflow beside it (as the scenarios count it). Visits
    ``missed`` (their crews could not empty the bin) count as none of these. ``off_route``
    lists the bins trucks emptied off their routes (one per emptying,
    ``DayPlan.off_route_seen``): each counts in ``bins_collected`` and collects its bin, as
    a visit served would (a reroute takes out the visit it replaced); the route figures
    (km, hours, kg, fill at pickup) are the routes' alone.
    """
    served = plan.served_refs - set(missed)
    left_out = (*plan.unserved, *unplaced)
    must = {d.bin_id for d in decisions if d.action is Action.MUST}
    may = {d.bin_id for d in decisions if d.action is Action.MAY}
    collected = {*(bin_of(r) for r in served), *off_route} - {bin_of(u.ref) for u in left_out}

    def waiting(route: Route) -> int:
        return waiting_at_depot_s(route, problem) if problem is not None else 0

    used = [r for r in plan.routes if r.used]
    pickup = [min(fills[b], 1.0) for b in served if b in fills]
    return {
        "bins_collected": len(served) + len(off_route),
        "must_collected": len(collected & must),
        "must_total": len(must),
        "may_collected": len(collected & may),
        "may_total": len(may),
        "bins_skipped_by_policy": sum(d.action is Action.SKIP for d in decisions),
        "unserved": len(left_out),
        "unserved_must": sum(bin_of(u.ref) in must for u in left_out),
        "trucks_used": len(used),
        "km": round(sum(r.distance_m for r in used) / 1000.0, 2),
        "hours": round(sum(r.duration_s - waiting(r) for r in used) / 3600.0, 2),
        "kg": round(sum(weights_kg.get(b, 0.0) for b in served), 1),
        "disposal_trips": sum(v.kind is VisitKind.DISPOSAL for r in used for v in r.visits),
        "mean_fill_at_pickup": round(sum(pickup) / len(pickup), 3) if pickup else math.nan,
        "cost": round(sum(r.cost for r in used) / 100.0, 2),
    }


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _on_local_clock(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """``fn`` writing its notes and checker messages in the plan day's local clock
    (:func:`optimiser.plan.wall_clock`): the day is its ``day`` argument's, or its
    ``plan_date`` in ``tz``."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def on_local_clock(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        given = signature.bind(*args, **kwargs).arguments
        day = given.get("day")
        plan_date, tz = (
            (day.plan_date, ZoneInfo(day.tz_name))
            if isinstance(day, DayPlan)
            else (given["plan_date"], given["tz"])
        )
        with wall_clock(functools.partial(wall_s, plan_date=plan_date, tz=tz)):
            return fn(*args, **kwargs)

    return on_local_clock


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
        (:func:`fleet.density.at_densities`).
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


def _noted(day: DayPlan, notes: Sequence[str]) -> DayPlan:
    """``day`` with ``notes`` after its plan's own."""
    if not notes:
        return day
    return dataclasses.replace(
        day, plan=dataclasses.replace(day.plan, notes=(*day.plan.notes, *notes))
    )


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
    bin's first visit not ``done`` (:func:`_next_visit`; a re-plan's bin emptied earlier
    today needs its next one): one bin with bad coordinates failed the whole plan. The day
    keeps every decision (its plan.json shows the forecast of such a bin too)."""
    wanted = [inventory.bin(d.bin_id) for d in decisions if d.action is not Action.SKIP]
    out = _unreachable(wanted, provider, hours)
    unplaced = tuple(_far(_next_visit(b, done), why) for b, why in out.items())
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
    anything). A place by a street cut off from the network (the provider's
    ``cut_off_near``) is told so, not to fix its coordinates."""
    far_points = getattr(provider, "far_points", None)
    if far_points is None or not places:
        return {}
    points = list(places.values())
    far = far_points(points)
    if not far:
        return {}
    cut_off_near = getattr(provider, "cut_off_near", None)
    cut_off: dict[int, str] = cut_off_near(points, far) if cut_off_near is not None else {}
    limit = getattr(provider, "max_snap_m", None)
    within = f" (limit {limit:.0f} m)" if limit is not None else ""
    return {
        ref: OffMap(
            f"({lon:.6f}, {lat:.6f})",
            f"{far[i]:.0f} m from the nearest drivable street{within}",
            cut_off.get(i, "fix its coordinates"),
        )
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


def _urgent(
    day: DayPlan,
    built: BuiltProblem,
    bins: Sequence[Bin],
    provider: Provider,
    done: Iterable[str],
    due: Mapping[str, datetime],
) -> tuple[BuiltProblem, list[Stop], list[BinDecision], tuple[str, ...]]:
    """``built`` (``day``'s, bins moved at their new rows) extended with rows for new urgent
    bins, their stops and decisions, and what the plan says of those new rows taken from
    the kerb where the rule cannot bind (:func:`optimiser.kerb.kerb_notes`).

    Each is loaded full and may be emptied any time in its access hours (a deadline or
    release the plan gave it no longer holds: it overflows now), with its response target
    ``due[bin id]`` when given (an earlier alert's target on that visit, if sooner, stays).
    A bin the plan visits later today keeps that visit's ref; a bin whose every planned
    visit is ``done`` (emptied earlier today and overflowing again) gets one more visit
    (ref ``<bin>#k``); a bin the plan does not visit gets its first.
    """
    stops = built.problem.stops_by_ref()
    known = _rows(built, "bin")
    new = {b.bin_id: (b.lon, b.lat) for b in bins if b.bin_id not in known}
    kerb = {b.bin_id for b in bins if b.kerb_side}
    built, rows = _with_points(built, "bin", new, provider, kerb)
    said = kerb_notes(provider, [b for b in bins if b.bin_id in new])
    rows = {**known, **rows}
    tz = ZoneInfo(day.tz_name)
    finished = set(done)
    urgent = []
    for b in bins:
        ref = _next_visit(b.bin_id, finished)
        row = rows[b.bin_id]
        stop = urgent_stop(b, row, plan_date=day.plan_date, tz=tz, reason=ALERT)
        targets = [day.seconds(due[b.bin_id])] if b.bin_id in due else []
        earlier = stops[ref].due_s if ref in stops else None
        if earlier is not None:
            targets.append(earlier)
        target = max(0, min(targets)) if targets else None
        urgent.append(dataclasses.replace(stop, ref=ref, due_s=target, priority=1))
    return built, urgent, [overflow_decision(b, ALERT) for b in bins], said


def _kerb_said(built: BuiltProblem, provider: Provider, bins: Sequence[Bin]) -> BuiltProblem:
    """``built`` with the notes :func:`optimiser.kerb.kerb_notes` gives of ``bins`` (new to
    its matrix in a re-plan) where the kerb rule cannot bind (``built.notes`` after the
    fleet of now is read, which sets them anew: :func:`_current_inventory`)."""
    said = kerb_notes(provider, bins)
    return dataclasses.replace(built, notes=(*built.notes, *said)) if said else built


def _next_visit(bin_id: str, done: Collection[str]) -> str:
    """The ref of ``bin_id``'s first visit not ``done``: an alert's visit (:func:`_urgent`)."""
    k = 1
    while visit_ref(bin_id, k) in done:
        k += 1
    return visit_ref(bin_id, k)


def _far_alerts(
    bins: Sequence[Bin],
    provider: Provider,
    done: Collection[str],
    hours: StreetHours = NO_HOURS,
) -> tuple[list[Bin], tuple[Unserved, ...], list[BinDecision]]:
    """The alerted ``bins`` the provider can place on a street (rerouted), and, for those it
    cannot (:func:`_unreachable`), their alert visits (:func:`_next_visit`) unserved with the
    reason and their decisions (loaded full, as :func:`_urgent` decides): one bin with bad
    coordinates failed the whole reroute, the other alerts with it."""
    far = _unreachable(bins, provider, hours)
    lost = tuple(_far(_next_visit(b.bin_id, done), far[b.bin_id]) for b in bins if b.bin_id in far)
    decisions = [overflow_decision(b, ALERT) for b in bins if b.bin_id in far]
    return [b for b in bins if b.bin_id not in far], lost, decisions


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


def found_loads(
    day: DayPlan,
    done: Sequence[Visit],
    fills: Mapping[str, float],
    lifted: Mapping[str, float] | None = None,
) -> tuple[int, int, int, int]:
    """A truck's loads after the visits ``done`` of its route, each bin reported with the fill
    its crew found counted at that fill, and at the weight its lift scale took when it
    weighed.

    Parameters
    ----------
    day : DayPlan
        The plan being driven (its stops' planned loads, its bins' capacities and densities).
    done : sequence of Visit
        The truck's route up to and including its last bin or disposal visit done.
    fills : mapping of str to float
        The fill found at bin visits (visit ref -> fraction of the bin); the others count as
        planned. A WAYPOINT of an earlier reroute restated the loads with the fills found
        until then: only bins after the last one are counted again.
    lifted : mapping of str to float, optional
        The net weight (kg) the lift scale took at bin visits in ``fills`` (visit ref ->
        kg): their kg are that weight instead of the fill's at the bin's density.

    Returns
    -------
    (int, int, int, int)
        On board now (litres, kg) and collected today (litres, kg).
    """
    here = done[-1]
    volume_l, weight_kg = here.volume_l, here.weight_kg
    daily_l, daily_kg = here.daily_l, here.daily_kg
    stops = {s.ref: s for s in day.built.problem.stops} if fills else {}
    on_board = True  # walking back from now: bins after the last unloading are on board
    for visit in reversed(done):
        if visit.kind is VisitKind.WAYPOINT:
            break  # loads restated there, as measured then
        if visit.kind is VisitKind.DISPOSAL:
            on_board = False
        elif visit.kind is VisitKind.BIN and visit.ref in fills:
            planned = stops[visit.ref]
            b = day.inventory.bin(bin_of(visit.ref))
            litres, kg = found_load(b, fills[visit.ref], (lifted or {}).get(visit.ref))
            daily_l += litres - planned.volume_l
            daily_kg += kg - planned.weight_kg
            if on_board:
                volume_l += litres - planned.volume_l
                weight_kg += kg - planned.weight_kg
    return volume_l, weight_kg, daily_l, daily_kg


def _unreported_unloads(plan: Plan, progress: Sequence[Progress], now_s: int) -> list[str]:
    """A note per truck whose last report is a bin while its plan had it unload after that
    bin before now: it is taken to still carry its load (the unloading may have gone
    unreported), which a dispatcher should know when it comes back late."""
    routes = {r.vehicle_ref: r for r in plan.routes}
    out = []
    for p in progress:
        route = routes.get(p.vehicle_ref)
        if route is None or not p.done:
            continue
        work = [v for v in route.visits if v.kind in (VisitKind.BIN, VisitKind.DISPOSAL)]
        k = len(p.done)
        if k < len(work) and work[k].kind is VisitKind.DISPOSAL and work[k].end_s <= now_s:
            out.append(
                f"{p.vehicle_ref}: no unloading reported after {p.done[-1]}, though the plan "
                f"had it unload at {work[k].ref} by {clock(work[k].end_s)}; it is taken to "
                "still carry its load"
            )
    return out


def _overdue(
    day: DayPlan,
    problem: Problem,
    progress: Sequence[Progress],
    skip: set[str],
    inventory: Inventory,
) -> list[Stop]:
    """Must-collect bins still to do whose planned deadline no truck can keep any more (the
    window closes before the nearest truck could get there), without that deadline
    (:func:`_no_deadline`): emptied late rather than dropped for the day."""
    done = {r for p in progress for r in p.done}
    late: list[Stop] = []
    for stop in problem.stops:
        if stop.ref in done | skip or not _has_deadline(stop) or stop.window_s is None:
            continue
        soonest = min(
            p.time_s + int(problem.matrix.duration_s[p.location, stop.location]) for p in progress
        )
        if stop.window_s[1] >= soonest:
            continue
        relaxed = _no_deadline(
            problem, stop, inventory, soonest, plan_date=day.plan_date, tz=ZoneInfo(day.tz_name)
        )
        late += [relaxed] if relaxed is not None else []
    return late


def _has_deadline(stop: Stop) -> bool:
    """Whether ``stop`` is a must-collect bin's first visit of the day with a window (its
    forecast overflow, or its access hours); a second visit's window is the day's end."""
    return stop.required and stop.window_s is not None and stop.ref == bin_of(stop.ref)


def _no_deadline(
    problem: Problem,
    stop: Stop,
    inventory: Inventory,
    after_s: int,
    *,
    plan_date: date,
    tz: ZoneInfo,
) -> Stop | None:
    """``stop`` open until the end of the bin's own access hours (``inventory``), its release
    still holding: a deadline given way. The deadline becomes its target (``due_s``, not a
    rule): emptied as soon after as a route can. A bin with a second visit that day keeps
    its first one ``SECOND_VISIT_GAP_S`` ahead of it, as planned (two emptyings minutes
    apart would find it empty the second time). None when those hours (on ``plan_date``
    in ``tz``) are over by ``after_s`` (seconds since local midnight), or the second visit
    leaves no time before it: that one empties the bin."""
    b = inventory.bin(stop.ref)
    lo, deadline = stop.window_s if stop.window_s is not None else (0, None)
    targets = [t for t in (stop.due_s, deadline) if t is not None]
    due = dataclasses.replace(stop, due_s=min(targets) if targets else None)
    if b.access_window is None:
        hi = max(v.shift_s[1] for v in problem.vehicles)
    else:
        hours = window_to_s(b.access_window, plan_date=plan_date, tz=tz)
        lo, hi = max(lo, hours[0]), hours[1]
    second = next((s for s in problem.stops if s.ref == stop.ref + SECOND_VISIT), None)
    if second is not None and second.window_s is not None:
        hi = min(hi, second.window_s[0] - SECOND_VISIT_GAP_S)
    if hi < max(after_s, lo):  # its own hours are over for today, or its second visit is near
        return None
    if b.access_window is None and lo <= 0 and second is None:
        return dataclasses.replace(due, window_s=None)
    return dataclasses.replace(due, window_s=(lo, hi))


def _late_rather_than_never(
    problem: Problem,
    plan: Plan,
    progress: Sequence[Progress],
    inventory: Inventory,
    params: SolveParams | None,
    now_s: int,
    *,
    plan_date: date,
    tz: ZoneInfo,
) -> tuple[Problem, Plan, list[str]]:
    """``problem`` and ``plan`` with the must bins ``plan`` leaves out for their deadline
    (none of its routes could keep it) emptied late instead where a route can: the rest of
    the day routed once more from ``plan``, with half its search time, and those bins
    without their deadlines (:func:`_no_deadline`). Taken only when it leaves out fewer
    must bins; also the refs of those bins it empties (none when not taken)."""

    def relaxed(s: Stop) -> Stop | None:
        return _no_deadline(problem, s, inventory, now_s, plan_date=plan_date, tz=tz)

    served = plan.served_refs
    left = [
        r
        for s in problem.stops
        if s.ref not in served and _has_deadline(s)
        if (r := relaxed(s)) is not None and r.window_s != s.window_s
    ]
    if not left:
        return problem, plan, []
    given = params or DEFAULT_PARAMS
    half = dataclasses.replace(given, time_limit_s=given.time_limit_s / 2)
    again = reroute(problem, plan, progress, left, half)
    again = dataclasses.replace(again, solve_time_s=plan.solve_time_s + again.solve_time_s)
    relaxed_problem = with_urgent(problem, left)

    def must_out(p: Problem, pl: Plan) -> int:
        served = pl.served_refs
        return sum(1 for s in p.stops if s.required and s.ref not in served)

    if must_out(relaxed_problem, again) >= must_out(problem, plan):
        return problem, plan, []
    served_again = again.served_refs
    return relaxed_problem, again, [s.ref for s in left if s.ref in served_again]


def _overdue_note(refs: Sequence[str]) -> tuple[str, ...]:
    """The note for must bins emptied after their planned deadline (:func:`_overdue`)."""
    if not refs:
        return ()
    return (
        f"{len(refs)} must bin(s) can no longer be emptied by their planned deadline "
        f"({', '.join(refs)}): emptied later today instead",
    )


def _late_notes(problem: Problem, plan: Plan) -> tuple[str, ...]:
    """One note per bin emptied after its target (``Stop.due_s``): an alert's response
    target, or the deadline a must bin could not keep (:func:`_no_deadline`)."""
    stops = {s.ref: s for s in problem.stops if s.due_s is not None}
    notes = []
    for ref, late in sorted(late_s(problem, plan).items()):
        due = stops[ref].due_s or 0
        what = "its alert's response target" if stops[ref].priority > 0 else "its deadline"
        notes.append(
            f"{ref}: emptied at {clock(due + late)}, {span(late)} after {what} {clock(due)} "
            "(no route found reaches it sooner)"
        )
    return tuple(notes)


def _all_progress(problem: Problem, progress: Sequence[Progress], now_s: int) -> list[Progress]:
    """Reported progress plus 'at the depot, nothing done' for trucks that reported none."""
    known = {p.vehicle_ref for p in progress}
    idle = [
        Progress(vehicle_ref=v.ref, done=(), location=v.start, time_s=max(now_s, v.shift_s[0]))
        for v in problem.vehicles
        if v.ref not in known
    ]
    return [*progress, *idle]


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
        off_route_loads=took,
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


def _befallen(unserved: Sequence[Unserved], why: Mapping[str, str]) -> tuple[Unserved, ...]:
    """``unserved`` with the reason of each visit of a bin in ``why`` beginning with what
    befell that bin (e.g. its crew could not empty it, and why)."""
    return tuple(
        dataclasses.replace(u, reason=f"{why[bin_of(u.ref)]}; {u.reason}")
        if bin_of(u.ref) in why
        else u
        for u in unserved
    )


def _placed_since(
    day: DayPlan,
    built: BuiltProblem,
    inventory: Inventory,
    provider: Provider,
    progress: Sequence[Progress],
    taken: Collection[str],
    hours: StreetHours = NO_HOURS,
) -> tuple[BuiltProblem, list[Stop], tuple[Unserved, ...]]:
    """For a reroute, the bins ``day`` left out (``DayPlan.unplaced``) as they are now:
    ``built`` with a stop (:func:`_fresh_stops`, by the day's decision) for each the provider
    can place on a street since (its coordinates fixed), those stops, and each still out
    unserved with the reason where it is now. Without this a reroute kept listing a bin
    whose coordinates were fixed, with the old ones, until a re-plan. Bins no longer
    listed, and visits ``taken`` (done, or an alert's rerouted now), are left as they are."""
    listed = {b.bin_id: b for b in inventory.bins}
    left = [u for u in day.unplaced if bin_of(u.ref) in listed and u.ref not in taken]
    far = _unreachable([listed[bin_of(u.ref)] for u in left], provider, hours)
    still = tuple(_far(u.ref, far[bin_of(u.ref)]) for u in left if bin_of(u.ref) in far)
    decided = {d.bin_id: d for d in day.decisions}
    back = [
        decided[bin_of(u.ref)]
        for u in left
        if bin_of(u.ref) not in far
        and bin_of(u.ref) in decided
        and decided[bin_of(u.ref)].action is not Action.SKIP
    ]
    if not back:
        return built, [], still
    done = [r for p in progress for r in p.done]
    built, stops = _fresh_stops(
        built,
        inventory,
        back,
        provider,
        progress,
        done,
        plan_date=day.plan_date,
        tz=ZoneInfo(day.tz_name),
    )
    problem = dataclasses.replace(built.problem, stops=(*built.problem.stops, *stops))
    return dataclasses.replace(built, problem=problem), stops, still


@_on_local_clock
def replan_day(
    day: DayPlan,
    progress: Sequence[Progress],
    readings: Sequence[FillReading],
    reports: Sequence[CitizenReport],
    provider: Provider,
    *,
    now: datetime,
    policy: CollectionPolicy | None = None,
    params: SolveParams | None = None,
    inventory: Inventory | None = None,
    positions: Mapping[str, tuple[float, float]] | None = None,
    found: Mapping[str, float] | None = None,
    last_emptied: Mapping[str, datetime] | None = None,
    pickups: Sequence[PickupRecord] = (),
    alerted: Sequence[str] = (),
    due: Mapping[str, datetime] | None = None,
    closed: Collection[str] = (),
    off_route: OffRoute | None = None,
    lifted: Mapping[str, float] | None = None,
    why: Mapping[str, str] | None = None,
    missed: Collection[str] = (),
) -> tuple[DayPlan, dict[str, RouteChange]]:
    """Re-plan the rest of a day being driven with the fills and reports of ``now``.

    The bins still to collect are chosen again, as :func:`plan_day` would at ``now`` (a bin
    whose sensor now reads low leaves the plan; one filling faster than forecast joins it),
    and routed from where the trucks are: their visits done stay as driven, their loads as
    reported, and trucks not out yet leave their depot no earlier than ``now``. A bin emptied
    earlier today that needs a truck again gets one more visit (``<bin>#k``). Visits of
    earlier overflow alerts still to do stay in the plan, unless their alerts are ``closed``
    (those left out, no street reaching their bins, are taken in again as alerts);
    bins of new ``alerted`` are loaded full with their targets (``due``), as in
    :func:`reroute_day`. A must bin no route can empty by its deadline is emptied later
    rather than dropped for the day, with a note (:func:`_late_rather_than_never`).

    Parameters
    ----------
    day : DayPlan
        The plan being driven.
    progress : sequence of Progress
        Trucks' progress along ``day``'s routes (solver units); trucks without one wait at
        their depot.
    readings, reports : sequences
        Fill-level readings and citizen reports up to ``now`` (weights as in
        :func:`plan_day`).
    provider : callable
        The matrix provider the day was planned with (new bins get rows appended).
    now : datetime
        The moment of the new plan (tz-aware).
    policy, params : optional
        Collection policy and solver parameters (defaults when omitted).
    inventory : Inventory, optional
        The current inventory (default: the day's): its bins (where they are now:
        :func:`_moved_bins`), trucks (:func:`_current_fleet`) and disposal sites with their
        hours (:func:`_current_sites`) as they are now.
    positions, found, lifted : mappings, optional
        Trucks' reported positions (lon, lat), the fills crews found and the weights lift
        scales took, as in :func:`reroute_day`.
    last_emptied, pickups : optional
        The collection log and the pickups' fills, as in :func:`plan_day`.
    alerted : sequence of str
        Bins of overflow alerts no route holds yet: collected, loaded full.
    due : mapping of str to datetime, optional
        Response targets of ``alerted`` bins (bin id -> tz-aware time).
    closed : collection of str
        Bins whose earlier alerts are closed (a false alarm dismissed, the overflow found
        emptied): their alert visits still to do are no longer alert visits; each bin is
        chosen again like any other (loaded by its forecast, or left out).
    off_route : mapping of str to sequences, optional
        Bins trucks emptied off their planned routes today, as in :func:`reroute_day`: the
        trucks carry the waste not unloaded since.
    why : mapping of str to str, optional
        What befell bins (bin id -> text), as in :func:`reroute_day`: the reason of each of
        their visits left unserved begins with it.
    missed : collection of str
        The bin visits done whose crew could not empty the bin, as in :func:`reroute_day`.

    Returns
    -------
    (DayPlan, dict)
        The new day plan (checked: ``violations``) and each driver's change.
    """
    lookup = carry_measured(day.inventory, inventory or day.inventory)
    lookup, readings, pickups, weighed = planned_at_densities(lookup, readings, pickups)
    tz = ZoneInfo(day.tz_name)
    now_s = day.seconds(now)
    done = [r for p in progress for r in p.done]
    finished = set(done)
    models, decisions = _forecast(
        lookup,
        readings,
        reports,
        plan_date=day.plan_date,
        tz=tz,
        policy=policy or CollectionPolicy(),
        last_emptied=_emptied_today(day, done, last_emptied or {}, now),
        pickups=[p if p.at <= now else dataclasses.replace(p, at=now) for p in pickups],
        start_at=now,
    )
    hours = _street_hours(lookup, provider, day.plan_date, tz)
    timed = hours.narrowed(lookup)  # new stops of bins on timed streets within their hours
    placed, unplaced = _placeable(lookup, decisions, provider, finished, hours=hours)
    alert_bins = [lookup.bin(b) for b in dict.fromkeys(alerted)]  # FleetDataError if unknown
    alert_bins += _alerts_left_out(day, lookup, finished, {*alerted, *closed})
    built, moved, moved_away = _moved_bins(day.built, lookup, provider, finished, hours)
    placeable, far, far_decisions = _far_alerts(
        [timed.bin(b.bin_id) for b in alert_bins], provider, finished, hours
    )
    built, urgent, alert_decisions, said = _urgent(day, built, placeable, provider, done, due or {})
    moved = (*moved, *said)
    planned = {v.ref for v in built.problem.vehicles}
    built, progress, notes = _placed(built, progress, positions or {}, provider, now_s)
    built, progress, took = _current_inventory(
        built, lookup, progress, provider, now_s, day, off_route or {}, hours=hours
    )
    built, progress, joined = _placed_joined(built, progress, positions, provider, now_s, planned)
    notes += joined
    full_progress = _all_progress(built.problem, progress, now_s)
    listed = {s.ref for s in built.problem.stops}
    pending = {  # earlier alerts' visits to do
        r for r in day.alerted if r not in finished and bin_of(r) not in closed and r in listed
    }
    away = [u for u in moved_away if u.ref in day.alerted and bin_of(u.ref) not in closed]
    held = {bin_of(r) for r in pending} | {b.bin_id for b in alert_bins}
    held |= {bin_of(u.ref) for u in away}  # earlier alerts' visits moved off the streets
    chosen = [d for d in placed if d.action is not Action.SKIP and d.bin_id not in held]
    chosen_ids = {d.bin_id for d in chosen}
    built, fresh = _fresh_stops(
        built, timed, chosen, provider, full_progress, done, plan_date=day.plan_date, tz=tz
    )
    firsts = {s.ref for s in urgent}  # then the new must bins: the order of their insertion
    keep = (finished | pending) - firsts
    kept = [s for s in built.problem.stops if s.ref in keep]
    problem = dataclasses.replace(built.problem, stops=(*kept, *urgent, *fresh))
    musts = [s for s in fresh if s.required]  # each put in a route first, where one has room
    plan = reroute(problem, day.plan, full_progress, [*urgent, *musts], params)
    problem, plan, later = _late_rather_than_never(
        problem, plan, full_progress, timed, params, now_s, plan_date=day.plan_date, tz=tz
    )
    unreported = _unreported_unloads(day.plan, progress, now_s)
    plan = dataclasses.replace(
        plan,
        notes=(
            _replanned_note(now.astimezone(tz)),
            *moved,
            *built.notes,
            *hours.place_notes(),
            *hours.notes({bin_of(s.ref) for s in problem.stops}),
            *unreported,
            *_overdue_note(later),
            *_late_notes(problem, plan),
            *plan.notes,
            *notes,
            *weighed,
        ),
        unserved=_befallen(plan.unserved, why or {}),
    )
    fills = {
        **fill_at_pickup(day.midnight, plan, models),
        **{r: f for r, f in day.fill_at_pickup.items() if r in finished},
        **{s.ref: 1.0 for s in urgent},
    }
    still = tuple(r for r in day.alerted if r in finished or r in pending) + tuple(
        u.ref for u in away
    )
    weighed_now = carry_measured(lookup, day.inventory)  # its reroutes load bins as this did
    new_day = _driven_on(
        dataclasses.replace(day, alerted=still, inventory=weighed_now),
        dataclasses.replace(built, problem=problem),
        plan,
        _decided(
            day,
            [*decisions, *alert_decisions, *far_decisions],
            done,
            pending | {u.ref for u in away},
        ),
        fills,
        (found or {}, lifted or {}),
        [*alert_bins, *(b for b in lookup.bins if b.bin_id in chosen_ids)],
        [*(s.ref for s in urgent), *(u.ref for u in far)],
        _unplaced(
            lookup,
            problem,
            [*(u for u in unplaced if bin_of(u.ref) not in held), *away, *far],
        ),
        missed=missed,
        off_route=_pairs(off_route or {}),
        off_route_loads=took,
    )
    new_day = dataclasses.replace(
        new_day, street_hours={**day.street_hours, **hours.on_streets(problem.stops)}
    )
    return _with_fleet(new_day, lookup), route_changes(day.plan, plan)


def _alerts_left_out(
    day: DayPlan, inventory: Inventory, done: Collection[str], skip: Collection[str]
) -> list[Bin]:
    """The bins of ``day``'s earlier alerts left out unplaced (no street reached them,
    :func:`_far_alerts`), still listed, their visits not ``done``, less the bins in ``skip``
    (alerted again, or closed): a re-plan or a reroute takes them in as alerts again
    (rerouted once their coordinates are fixed, else unserved with the reason where they
    are now), as a re-plan keeps an earlier alert's visit still to do. Without this a
    re-plan forgot their alerts (the bin chosen, or not, as any other)."""
    listed = {b.bin_id: b for b in inventory.bins}
    refs = [u.ref for u in day.unplaced if u.ref in day.alerted and u.ref not in done]
    ids = [bin_of(r) for r in refs if bin_of(r) in listed and bin_of(r) not in skip]
    return [listed[b] for b in dict.fromkeys(ids)]


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
) -> tuple[BuiltProblem, list[Progress], tuple[tuple[str, str, int, int, int], ...]]:
    """``built`` with the trucks (:func:`_current_fleet`), disposal sites
    (:func:`_current_sites`) and bins (:func:`_listed_bins`) ``inventory`` lists at
    ``now_s``, a note per change, and the trucks' progress: the rest of a day being driven,
    for a reroute or a re-plan. The bins trucks emptied off their routes count on their
    loads (:func:`_emptied_off_route`, ``keep`` as there) before what the loads decide:
    which trucks can no longer unload (:func:`_loaded_back`) and what a truck broken down
    on the road carries (:func:`_stranded`). Last, the loads those emptyings without a fill
    found were counted at (``DayPlan.off_route_loads``). The sites' hours and the trucks'
    duty are narrowed by their streets' ``hours`` today, as the day's plan had them
    (``StreetHours.narrowed``: a site or depot behind a timed lane)."""
    had = bool(built.problem.sites)
    timed = hours.narrowed(inventory)
    built, progress = _current_fleet(built, timed, progress, provider, now_s, day)
    built = _current_sites(built, timed, provider, now_s, day, progress)
    built = _listed_bins(built, inventory, progress)
    built, progress, took = _emptied_off_route(
        built, progress, off_route, day, inventory, now_s, keep
    )
    built = _loaded_back(built, progress, now_s, had)
    return _stranded(built, timed, progress, now_s, day), progress, took


class Emptied(NamedTuple):
    """A bin a truck emptied off its planned route: the fill found (a fraction of the bin,
    None when not given), whether its waste is on board still (not unloaded since) and the
    net weight the truck's lift scale took (kg, None when it did not weigh)."""

    bin_id: str
    fill: float | None
    on_board: bool = True
    weight_kg: float | None = None


OffRoute = Mapping[
    str,
    Sequence[
        tuple[str, float | None]
        | tuple[str, float | None, bool]
        | tuple[str, float | None, bool, float | None]
    ],
]
"""Bins trucks emptied off their planned routes: truck ref -> (bin id, fill found or None,
on board (True when left out), kg the lift scale took (None when left out)), in report
order (:class:`Emptied`)."""


def _emptyings(off_route: OffRoute) -> dict[str, list[Emptied]]:
    """``off_route`` with each emptying as an :class:`Emptied`."""
    return {truck: [Emptied(*e) for e in emptied] for truck, emptied in off_route.items()}


def _pairs(off_route: OffRoute) -> tuple[tuple[str, str], ...]:
    """The emptyings of ``off_route`` as (truck ref, bin id), in report order per truck."""
    return tuple((t, e.bin_id) for t, emptied in _emptyings(off_route).items() for e in emptied)


def _emptied_off_route(
    built: BuiltProblem,
    progress: Sequence[Progress],
    off_route: OffRoute,
    day: DayPlan,
    inventory: Inventory,
    now_s: int,
    keep: Collection[str] | None = None,
) -> tuple[BuiltProblem, list[Progress], tuple[tuple[str, str, int, int, int], ...]]:
    """``built`` and ``progress`` after bins were emptied off the trucks' planned routes
    (``off_route``): each truck carries what it took and has not unloaded since (the fill
    found, at the weight lifted when weighed, else the load planned for that bin: the one an
    earlier plan counted it at (``DayPlan.off_route_loads``), else ``day``'s load of the
    bin's next visit, not this reroute's (an alert now loads it full), else the bin full;
    a bin deleted since counts as ``day`` listed it),
    and the loads counted so (:attr:`DayPlan.off_route_loads`), with a note per truck
    (appended to ``built.notes``). With ``keep`` (a reroute), the next visit still to do of
    each such bin leaves the plan too (whoever was to make it), whether or not the waste is
    on board still, unless its ref is in ``keep`` (an alert raised now) or ``day`` knew that
    emptying already (``DayPlan.off_route_seen``: the visit it has came with an alert since;
    a plan of an earlier version knew those unloaded since too); a re-plan chooses the bins
    again from the collection log instead."""
    seen = Counter(day.off_route_seen)
    counted = {(t, b, k): (litres, kg) for t, b, k, litres, kg in day.off_route_loads}
    planned = day.built.problem.stops_by_ref()
    nth: Counter[tuple[str, str]] = Counter()
    took: list[tuple[str, str, int, int, int]] = []
    by_ref = {p.vehicle_ref: p for p in progress}
    done = {r for p in progress for r in p.done}
    stops = built.problem.stops_by_ref()
    driver = {v.ref: r.vehicle_ref for r in day.plan.routes for v in r.visits}
    trucks = {v.ref: v for v in built.problem.vehicles}
    listed = {b.bin_id: b for b in day.inventory.bins} | {b.bin_id: b for b in inventory.bins}
    gone: set[str] = set()
    notes = []
    for truck, emptied in _emptyings(off_route).items():
        took_l = took_kg = 0
        dropped = []
        for bin_id, fill, on_board, lift_kg in emptied:
            nth[truck, bin_id] += 1
            if on_board or day.off_route_all:  # the plan took its visit out already?
                known = seen[truck, bin_id] > 0
                seen[truck, bin_id] -= 1
            else:  # a plan of an earlier version: it never counted one unloaded since
                known = True
            ref = next(r for k in itertools.count(1) if (r := visit_ref(bin_id, k)) not in done)
            stop, key = stops.get(ref), (truck, bin_id, nth[truck, bin_id])
            if stop is None and bin_id not in listed and key not in counted:
                continue  # a bin listed neither now nor in ``day``: what it held is not known
            if on_board:
                if fill is not None and bin_id in listed:
                    litres, kg = found_load(listed[bin_id], fill, lift_kg)
                else:
                    litres, kg = counted.get(key) or _planned_load(
                        planned.get(ref), stop, listed.get(bin_id)
                    )
                    took.append((*key, litres, kg))
                took_l, took_kg = took_l + litres, took_kg + kg
            if stop is not None and keep is not None and ref not in keep and not known:
                gone.add(ref)
                done.add(ref)
                dropped.append(f"{driver.get(ref, 'no truck')}'s visit of {ref}")
        if any(e.on_board for e in emptied) and truck in trucks:
            v = trucks[truck]
            p = by_ref.get(truck) or Progress(
                vehicle_ref=truck, done=(), location=v.start, time_s=max(now_s, v.shift_s[0])
            )
            by_ref[truck] = dataclasses.replace(
                p,
                volume_l=p.volume_l + took_l,
                weight_kg=p.weight_kg + took_kg,
                daily_l=p.daily_l + took_l,
                daily_kg=p.daily_kg + took_kg,
            )
        notes.extend(_off_route_note(truck, emptied, took_l, took_kg, dropped))
    problem = dataclasses.replace(
        built.problem, stops=tuple(s for s in built.problem.stops if s.ref not in gone)
    )
    built = dataclasses.replace(built, problem=problem, notes=(*built.notes, *notes))
    return built, list(by_ref.values()), tuple(took)


def _planned_load(planned: Stop | None, stop: Stop | None, listed: Bin | None) -> tuple[int, int]:
    """The load (litres, kg) of a bin a truck emptied off its route: what the day's plan
    has its visit take (``planned``), else the bin full (``listed``: the bin as listed now),
    else, for a bin no longer listed, what the visit of the plan being made takes (``stop``).
    """
    if planned is not None:
        return planned.volume_l, planned.weight_kg
    if listed is not None:
        return found_load(listed, 1.0, None)
    assert stop is not None  # a bin neither listed nor planned was left aside
    return stop.volume_l, stop.weight_kg


def _off_route_note(
    truck: str, emptied: Sequence[Emptied], took_l: int, took_kg: int, dropped: Sequence[str]
) -> list[str]:
    """The note on ``truck``'s emptyings off its route (none when all were unloaded since
    and took no visit out): the waste it carries (litres, kg) and the visits that left."""
    carried = ", ".join(e.bin_id for e in emptied if e.on_board)
    unloaded = ", ".join(e.bin_id for e in emptied if not e.on_board)
    if carried:
        note = f"{truck} emptied {carried} off its planned route: it carries that waste"
        note += f" ({took_l} l / {took_kg} kg)"
        if unloaded:
            note += f"; it unloaded {unloaded} since"
    elif dropped:
        note = f"{truck} emptied {unloaded} off its planned route and unloaded since"
    else:
        return []
    return [note + (f"; {', '.join(dropped)} leaves the plan" if dropped else "")]


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


def _current_sites(
    built: BuiltProblem,
    inventory: Inventory,
    provider: Provider,
    now_s: int,
    day: DayPlan,
    progress: Sequence[Progress],
) -> BuiltProblem:
    """``built`` with the disposal sites ``inventory`` lists now, each with its listed
    position, streams, hours and unloading time, and a note per site added, changed or gone
    (appended to its ``notes``). A site moved since (a position corrected) gets a new row
    where it is. A site changed keeps the record its unloadings done today were made under
    (their row too) behind the new one (:func:`_site_from`). A site gone from the list is
    closed from ``now_s``: kept, for the unloading done there (``progress``), with its hours
    ending then, or dropped when no truck unloaded there; one added gets a matrix row (which
    trucks can still unload: :func:`_loaded_back`)."""
    tz = ZoneInfo(day.tz_name)
    listed = {s.site_id: s for s in inventory.sites}
    places = {ref: (s.lon, s.lat) for ref, s in listed.items()}
    built, rows, _, far = _placed_now(built, "site", places, provider)
    used = {r for p in progress for r in p.done}
    made = _unloadings_done(day.plan, progress)
    had = {s.ref for s in built.problem.sites}
    sites, notes = [], []
    for site in built.problem.sites:
        if site.ref in listed:
            now = site_spec(listed[site.ref], rows[site.ref], plan_date=day.plan_date, tz=tz)
            kept, note = _site_from(site, now, now_s, made.get(site.ref))
            sites.append(kept)
            notes += [note] if note else []
            continue
        lo, hi = site.window_s
        closed_s = max(lo, min(hi, now_s))  # a site kept closed stays closed from then
        notes.append(
            f"disposal site {site.ref} is no longer listed: no truck unloads there from "
            f"{clock(closed_s)}"
        )
        if site.ref in used:
            sites.append(dataclasses.replace(site, window_s=(lo, closed_s)))
    for ref in listed.keys() - had:
        if ref in rows:
            sites.append(site_spec(listed[ref], rows[ref], plan_date=day.plan_date, tz=tz))
            notes.append(f"disposal site {ref} was added: trucks may unload there")
    for ref, off in far.items():
        then = "trucks unload where it was" if ref in rows else "no truck unloads there"
        notes.append(_off_map_note(f"disposal site {ref}", off, then, now=True))
    problem = dataclasses.replace(built.problem, sites=tuple(sites))
    return dataclasses.replace(built, problem=problem, notes=(*built.notes, *notes))


# what a site is listed with that its unloadings are judged by (names for notes)
SITE_FIELDS = {
    "location": "position",
    "streams": "streams",
    "window_s": "hours",
    "unload_s": "unloading time",
}


def _site_from(site: Site, listed: Site, now_s: int, made_s: int | None) -> tuple[Site, str | None]:
    """Disposal site ``site`` of a day being driven with its record as ``listed`` now, and
    a note when it changed: the new one holds from ``now_s`` (seconds since local
    midnight). Where trucks unloaded today (the last unloading done there started at
    ``made_s``, as the day has it) the record they unloaded under is kept for those
    unloadings (``Site.before``): they stand as made."""
    changed = [f for f in SITE_FIELDS if getattr(site, f) != getattr(listed, f)]
    if not changed:
        return site, None
    names = ", ".join(SITE_FIELDS[f] for f in changed)
    note = f"disposal site {site.ref}'s {names} changed as of {clock(now_s)}"
    if made_s is None:
        return listed, note
    since_s = max(now_s, made_s + 1)  # an unloading done timed after now still stands
    return dataclasses.replace(listed, since_s=since_s, before=site), (
        f"{note}; the unloadings done there before stand as made"
    )


def _unloadings_done(plan: Plan, progress: Sequence[Progress]) -> dict[str, int]:
    """When the last unloading done at each site started (site ref -> seconds since local
    midnight): among the visits of each route of ``plan`` its truck's progress reports done
    (:func:`optimiser.reroute.visits_done`, the rule of reroutes)."""
    done = {p.vehicle_ref: len(p.done) for p in progress}
    out: dict[str, int] = {}
    for route in plan.routes:
        for v in visits_done(route, done.get(route.vehicle_ref, 0)):
            if v.kind is VisitKind.DISPOSAL:
                out[v.ref] = max(out.get(v.ref, v.start_s), v.start_s)
    return out


def _loaded_back(
    built: BuiltProblem, progress: Sequence[Progress], now_s: int, had: bool
) -> BuiltProblem:
    """``built`` with each truck carrying waste (``progress``) that can reach no disposal
    site open (for its streams, in its hours) coming back loaded (``comes_back_loaded``,
    with a note) rather than the day having no plan; once one is open to it again, it comes
    back empty again. ``had``: the day had disposal sites (without any, nothing changes)."""
    problem = built.problem
    sites = problem.sites
    stuck = _cannot_unload(problem, progress, now_s) if had else set()
    vehicles = tuple(
        dataclasses.replace(v, comes_back_loaded=v.ref in stuck) for v in problem.vehicles
    )
    notes = []
    if had and all(s.window_s[1] <= now_s for s in sites):
        last = max((s.window_s[1] for s in sites), default=now_s)
        notes.append(f"no disposal site is open from {clock(last)}: the trucks come back loaded")
    elif stuck:
        refs = ", ".join(sorted(stuck))
        notes.append(f"no disposal site open can be reached in its hours by {refs}: loaded back")
    problem = dataclasses.replace(problem, vehicles=vehicles)
    return dataclasses.replace(built, problem=problem, notes=(*built.notes, *notes))


def _stranded(
    built: BuiltProblem,
    inventory: Inventory,
    progress: Sequence[Progress],
    now_s: int,
    day: DayPlan,
) -> BuiltProblem:
    """``built`` with each truck of ``inventory`` broken down on the road for the rest of
    its shift standing where it was last reported: its route ends there (``end``), with the
    load it carries (``comes_back_loaded``), and a note (appended to its ``notes``); after
    its shift end, its shift runs to now (its position is now's).

    A truck out of service for the rest of its shift (``off_duty``) broke down on the road
    when it is away from its depot and had not driven home for it (:func:`_home_by`). A
    truck gone from the fleet still goes home. One standing at the depot it left from, now
    another's (listed at another depot since, e.g. in the workshop there), stands there:
    the note that it goes home to its depot as listed now is dropped.
    """
    listed = {v.vehicle_id for v in inventory.vehicles}
    by_ref = {p.vehicle_ref: p for p in progress}
    routes = {r.vehicle_ref: r for r in day.plan.routes}
    vehicles, notes, homing = [], [], []
    for v in built.problem.vehicles:
        p = by_ref.get(v.ref)
        if (
            v.off_duty
            and v.ref in listed
            and p is not None
            and p.location != v.end
            and not _home_by(routes.get(v.ref), v, p, inventory, max(now_s, p.time_s), day)
        ):
            loaded = p.volume_l > 0 or p.weight_kg > 0
            lo, hi = v.shift_s  # its day ends where it stands, now at the latest: past its
            shift = (lo, max(hi, now_s))  # shift end, its route ended before it stood there
            v = dataclasses.replace(v, end=p.location, comes_back_loaded=loaded, shift_s=shift)
            notes.append(_stranded_note(v.ref, p, built))
            homing.append(f": {_goes_home(v.ref)}")  # not a ref ending in its own
        vehicles.append(v)
    problem = dataclasses.replace(built.problem, vehicles=tuple(vehicles))
    kept = [n for n in built.notes if not n.endswith(tuple(homing))] if homing else built.notes
    return dataclasses.replace(built, problem=problem, notes=(*kept, *notes))


def _home_by(
    route: Route | None,
    v: VehicleSpec,
    p: Progress,
    inventory: Inventory,
    at_s: int,
    day: DayPlan,
) -> bool:
    """Whether truck ``v`` drove home for its downtime covering ``at_s`` (seconds since
    local midnight): ``route`` (the plan being driven) had it back at its depot by the
    downtime's start, and its progress ``p`` reports all the work that plan gave it (a
    workshop slot the plan knew). With work left it was on the road."""
    if route is None or route.visits[-1].location != v.end:
        return False
    if sum(x.kind in WORK for x in route.visits) > len(p.done):
        return False
    at = day.at(at_s)
    starts = [
        day.seconds(d.start)
        for d in inventory.downtimes
        if d.vehicle_id == v.ref and d.covers(at, at + timedelta(seconds=1))
    ]
    return bool(starts) and route.visits[-1].arrival_s <= min(starts)


def _stranded_note(ref: str, p: Progress, built: BuiltProblem) -> str:
    """Where truck ``ref`` stands (progress ``p``) and what it carries, for people."""
    kind = built.point_kinds[p.location]
    where = "its reported position" if kind == "truck" or not p.done else p.done[-1]
    if kind == "depot":  # e.g. in the workshop at a depot it is no longer listed at
        where = f"depot {built.point_refs[p.location]}"
    load = f"with {p.volume_l} l / {p.weight_kg} kg on board"
    return (
        f"{ref} stands where it was last reported ({where}): its route ends there, "
        f"{load if p.volume_l or p.weight_kg else 'empty'}"
    )


def _cannot_unload(problem: Problem, progress: Sequence[Progress], now_s: int) -> set[str]:
    """The trucks carrying waste (``progress``) that can reach no disposal site taking every
    one of their streams (where the engines and the checker let them unload:
    ``optimiser.screen.usable_sites``) before it closes, from where they are. An empty
    truck is left out: it takes no bin it could not unload, as before."""
    dur = problem.matrix.duration_s
    loaded = {p.vehicle_ref: p for p in progress if p.volume_l > 0 or p.weight_kg > 0}
    out = set()
    for v in problem.vehicles:
        if v.ref not in loaded:
            continue
        row, t = loaded[v.ref].location, max(loaded[v.ref].time_s, now_s)
        if not any(
            t + int(dur[row, s.location]) <= s.window_s[1] for s in usable_sites(problem, v)
        ):
            out.add(v.ref)
    return out


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
    problem = dataclasses.replace(built.problem, vehicles=tuple(vehicles))
    fleet = dataclasses.replace(built, problem=problem, notes=tuple(notes))
    return fleet, list(by_ref.values())


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


def _goes_home(ref: str) -> str:
    """The end of :func:`_home_now`'s note of truck ``ref`` out, going home to its depot
    as listed now (dropped by :func:`_stranded` when it stands elsewhere)."""
    return f"{ref} goes home there at the end of its day"


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


def _emptied_today(
    day: DayPlan, done: Sequence[str], last_emptied: Mapping[str, datetime], now: datetime
) -> dict[str, datetime]:
    """``last_emptied`` with each bin visit ``done`` on ``day``'s plan counted at its planned
    time, unless the log already has an emptying that day; none later than ``now`` (a
    tablet's clock a little ahead, a visit done before its planned time: the forecast would
    leave an emptying after ``now`` out, and send a truck back to the bin)."""
    out = dict(last_emptied)
    finished = set(done)
    for route in day.plan.routes:
        for v in route.visits:
            b = bin_of(v.ref)
            logged = out.get(b, day.midnight) > day.midnight
            if v.kind is VisitKind.BIN and v.ref in finished and not logged:
                out[b] = day.at(v.end_s)
    return {b: min(at, now) for b, at in out.items()}


def _replanned_note(at: datetime) -> str:
    """The note of a day re-planned at ``at`` (local) from where its trucks are."""
    return (
        f"re-planned at {at:%H:%M} from where the trucks are: visits done stay as driven, "
        "the bins still to collect are chosen again with the fills and reports of then"
    )


def _fresh_stops(
    built: BuiltProblem,
    inventory: Inventory,
    decisions: Sequence[BinDecision],
    provider: Provider,
    progress: Sequence[Progress],
    done: Sequence[str],
    *,
    plan_date: date,
    tz: ZoneInfo,
) -> tuple[BuiltProblem, list[Stop]]:
    """The stops of ``decisions`` (MUST and MAY) for the rest of a day being driven: rows are
    appended for bins new to ``built``; deadlines hold only when a truck can keep them from
    where it is (``progress``); a bin with visits ``done`` today gets the next visit refs."""
    rows = _rows(built, "bin")
    bins = {b.bin_id: b for b in inventory.bins}
    new = {
        d.bin_id: (bins[d.bin_id].lon, bins[d.bin_id].lat)
        for d in decisions
        if d.bin_id not in rows
    }
    kerb = {b for b in new if bins[b].kerb_side}
    built, added = _with_points(built, "bin", new, provider, kerb)
    built = _kerb_said(built, provider, [bins[b] for b in new])
    by_ref = {p.vehicle_ref: p for p in progress}
    where = [
        dataclasses.replace(
            v,
            start=by_ref[v.ref].location,
            shift_s=(min(by_ref[v.ref].time_s, v.shift_s[1]), v.shift_s[1]),
        )
        for v in built.problem.vehicles
    ]
    p = built.problem
    stops = decision_stops(
        inventory,
        decisions,
        {**rows, **added},
        p.matrix,
        where,
        p.sites if p.return_empty else (),
        plan_date=plan_date,
        tz=tz,
    )
    times = Counter(bin_of(r) for r in done)
    return built, [_after_done(s, times[bin_of(s.ref)]) for s in stops]


def _after_done(stop: Stop, times: int) -> Stop:
    """``stop`` (a bin's k-th visit of its decision) renumbered to follow the bin's ``times``
    visits done today."""
    if not times:
        return stop
    b = bin_of(stop.ref)
    k = 1 if stop.ref == b else int(stop.ref.rsplit("#", 1)[1])
    return dataclasses.replace(stop, ref=visit_ref(b, k + times))


def _decided(
    day: DayPlan, decisions: Sequence[BinDecision], done: Sequence[str], pending: set[str]
) -> list[BinDecision]:
    """The decisions of a re-planned day: the new ones (later ones win), except that a bin
    with an earlier alert's visit still to do (``pending`` refs) keeps its decision, and so
    does a bin emptied earlier today (``done`` refs) that the new decision skips."""
    before = {d.bin_id: d for d in day.decisions}
    out = {d.bin_id: d for d in decisions}
    for b in {bin_of(r) for r in pending}:
        if b in before:
            out[b] = before[b]
    for b in {bin_of(r) for r in done}:
        if b in before and (b not in out or out[b].action is Action.SKIP):
            out[b] = before[b]
    return list(out.values())


def _driven_on(
    day: DayPlan,
    built: BuiltProblem,
    plan: Plan,
    decisions: Sequence[BinDecision],
    fills: Mapping[str, float],
    found: tuple[Mapping[str, float], Mapping[str, float]],
    bins: Sequence[Bin],
    alerted: Sequence[str],
    unplaced: Sequence[Unserved],
    missed: Collection[str] = (),
    off_route: Sequence[tuple[str, str]] = (),
    off_route_loads: tuple[tuple[str, str, int, int, int], ...] = (),
) -> DayPlan:
    """The day being driven with its new ``plan`` for ``built``: the bins' ``decisions``, the
    forecast fill at each pickup (``fills``, the crews' ones first: ``found`` is (fills,
    the weights lift scales took) at visits done), the ``bins`` new to its inventory added,
    the visits ``alerted`` added to its alerts, the bins no truck can reach ``unplaced``,
    the visits done whose crew could not empty the bin ``missed``, the bins emptied off the
    trucks' routes ``off_route`` (truck ref, bin id; recorded as ``off_route_seen``, every
    one of them, with the loads they were counted at, ``off_route_loads``); checked, with
    its KPIs (which count those as unserved, these as not collected, and the emptyings off
    route as collected). A plan being driven that stands keeps the stops its routes
    visit (:func:`_stops_standing`)."""
    built = _stops_standing(built, plan, day.built.problem)
    served = plan.served_refs - set(missed)
    found_fills, lifted = found
    fills = {b: f for b, f in {**fills, **found_fills}.items() if b in served}
    weights = planned_weights(decisions, built.problem)
    for ref, fill in found_fills.items():
        b = day.inventory.bin(bin_of(ref))
        weights[ref] = float(found_load(b, fill, lifted.get(ref))[1])
    known = {b.bin_id for b in day.inventory.bins}
    added = tuple(b for b in bins if b.bin_id not in known)
    return dataclasses.replace(
        day,
        inventory=dataclasses.replace(day.inventory, bins=day.inventory.bins + added),
        decisions=tuple(decisions),
        built=built,
        plan=plan,
        fill_at_pickup=fills,
        violations=tuple(check(built.problem, plan)),
        kpis=compute_kpis(
            plan,
            decisions,
            fills,
            weights,
            built.problem,
            unplaced,
            missed,
            [b for _, b in off_route],
        ),
        alerted=tuple(dict.fromkeys((*day.alerted, *alerted))),
        unplaced=tuple(unplaced),
        missed=tuple(missed),
        off_route_seen=tuple(off_route),
        off_route_all=True,
        off_route_loads=off_route_loads,
    )


def _stops_standing(built: BuiltProblem, plan: Plan, before: Problem) -> BuiltProblem:
    """``built`` with the stops of ``before`` (the problem of the plan being driven) that
    ``plan``'s routes visit and ``built`` lacks, when ``plan`` is the plan being driven
    standing (no plan went on from the trucks' positions, :func:`reroute.plan_stands`):
    its routes still send a truck to a bin this reroute took out (e.g. emptied off route
    by another truck since). Without them the day's plan visited stops its problem did not
    list: the checker said "unknown stop", and the truck's report of that bin with the
    fill found failed every later reroute and re-plan of the day (:func:`found_loads`)."""
    if not plan_stands(plan):
        return built
    have = {s.ref for s in built.problem.stops}
    old = before.stops_by_ref()
    visited = [v.ref for r in plan.routes for v in r.visits if v.kind is VisitKind.BIN]
    back = tuple(old[ref] for ref in dict.fromkeys(visited) if ref not in have and ref in old)
    if not back:
        return built
    problem = dataclasses.replace(built.problem, stops=built.problem.stops + back)
    return dataclasses.replace(built, problem=problem)


def _unplaced(
    inventory: Inventory, problem: Problem, unplaced: Sequence[Unserved]
) -> tuple[Unserved, ...]:
    """The ``unplaced`` visits of a day being driven still left out: one per ref (the last
    given wins), of bins ``inventory`` lists and ``problem`` has no stop for (a bin placed
    since, e.g. its coordinates fixed, is routed)."""
    listed = {b.bin_id for b in inventory.bins}
    stops = {s.ref for s in problem.stops}
    left = {u.ref: u for u in unplaced if bin_of(u.ref) in listed and u.ref not in stops}
    return tuple(left.values())
