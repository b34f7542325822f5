"""A day's checked plan (:class:`DayPlan`), its KPIs and its clock.

What every job of :mod:`optimiser.daily` returns: the plan with the problem it solves, the
bins' decisions and fills at pickup, the checker's violations and the KPIs; and the local
clock the jobs run on (seconds since the planned day's local midnight).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from fleet.fill import SensorCheck
from fleet.forecast import FillModel
from fleet.models import (
    Action,
    BinDecision,
    Inventory,
)
from network.matrix import TravelMatrix
from optimiser.build import (
    BuiltProblem,
    instant_to_s,
    s_to_instant,
    wall_s,
)
from optimiser.check import Violation
from optimiser.plan import (
    Plan,
    Route,
    Unserved,
    Visit,
    VisitKind,
    wall_clock,
)
from optimiser.problem import (
    Problem,
    bin_of,
)
from optimiser.street_told import TimedDay

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
    ``off_route_carried`` says which of those emptyings a truck's route already counts on
    board: as (truck ref, n, ((bin id, k), ...)), the emptyings its loads count from where
    its route went on after its n-th bin or unloading (a waypoint restating them), in the
    route's order. The loads of a later visit done count them already (the last such entry
    before it); a later plan adds only the others (:func:`optimiser.daily.off_route.restated`).
    ``unplaced`` lists the bins the policy chose that no truck can reach (too far from
    every drivable street), with the reason: left out before solving, unserved all the same.
    ``missed`` lists the bin visits done whose crew could not empty the bin (stop refs):
    passed, nothing taken; the KPIs count none of them collected.
    ``sensor_checks`` lists the bins whose sensors a crew should check (stuck, reading off
    and corrected, reading too full or too empty at a pickup), each also a plan note: the
    maintenance list of a plan made from readings (:func:`plan_day`).
    ``street_hours`` names, for each bin routed on a street trucks may drive only at some
    hours, that street and its hours that day (bin id -> ``optimiser.street_told.TimedDay``):
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
    off_route_carried: tuple[tuple[str, int, tuple[tuple[str, int], ...]], ...] = ()
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


def _noted(day: DayPlan, notes: Sequence[str]) -> DayPlan:
    """``day`` with ``notes`` after its plan's own."""
    if not notes:
        return day
    return dataclasses.replace(
        day, plan=dataclasses.replace(day.plan, notes=(*day.plan.notes, *notes))
    )
