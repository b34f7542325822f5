"""What a day being driven shares between reroutes and re-plans: the trucks' loads found,
alerted and new bins placed, and the day's problem and plan put together again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fleet.models import (
    Action,
    Bin,
    BinDecision,
    Inventory,
)
from optimiser.build import (
    BuiltProblem,
    decision_stops,
    found_load,
    overflow_decision,
    urgent_stop,
)
from optimiser.check import check
from optimiser.daily.dayplan import ALERT, DayPlan, Provider, compute_kpis, planned_weights
from optimiser.daily.off_route import Counted, carried_on
from optimiser.daily.places import _far, _kerb_said, _rows, _unreachable, _with_points
from optimiser.kerb import kerb_notes
from optimiser.plan import (
    Plan,
    Unserved,
    Visit,
    VisitKind,
    clock,
)
from optimiser.problem import (
    Problem,
    Stop,
    bin_of,
    next_visit_ref,
    visit_number,
    visit_ref,
)
from optimiser.reroute import (
    Progress,
    plan_stands,
)
from optimiser.street_hours import NO_HOURS, StreetHours


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
        ref = next_visit_ref(b.bin_id, finished)
        row = rows[b.bin_id]
        stop = urgent_stop(b, row, plan_date=day.plan_date, tz=tz, reason=ALERT)
        targets = [day.seconds(due[b.bin_id])] if b.bin_id in due else []
        earlier = stops[ref].due_s if ref in stops else None
        if earlier is not None:
            targets.append(earlier)
        target = max(0, min(targets)) if targets else None
        urgent.append(dataclasses.replace(stop, ref=ref, due_s=target, priority=1))
    return built, urgent, [overflow_decision(b, ALERT) for b in bins], said


def _far_alerts(
    bins: Sequence[Bin],
    provider: Provider,
    done: Collection[str],
    hours: StreetHours = NO_HOURS,
) -> tuple[list[Bin], tuple[Unserved, ...], list[BinDecision]]:
    """The alerted ``bins`` the provider can place on a street (rerouted), and, for those it
    cannot (:func:`_unreachable`), their alert visits (:func:`next_visit_ref`) unserved with the
    reason and their decisions (loaded full, as :func:`_urgent` decides): one bin with bad
    coordinates failed the whole reroute, the other alerts with it."""
    far = _unreachable(bins, provider, hours)
    lost = tuple(
        _far(next_visit_ref(b.bin_id, done), far[b.bin_id]) for b in bins if b.bin_id in far
    )
    decisions = [overflow_decision(b, ALERT) for b in bins if b.bin_id in far]
    return [b for b in bins if b.bin_id not in far], lost, decisions


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
    last = _last_visits(done)
    return built, [_after_done(s, last.get(bin_of(s.ref), 0)) for s in stops]


def _last_visits(done: Iterable[str]) -> dict[str, int]:
    """Per bin, the number of its last visit ``done`` today (stop refs)."""
    last: dict[str, int] = {}
    for ref in done:
        last[bin_of(ref)] = max(last.get(bin_of(ref), 0), visit_number(ref))
    return last


def _after_done(stop: Stop, last: int) -> Stop:
    """``stop`` (a bin's k-th visit of its decision) renumbered to follow the bin's visit
    ``last`` done today: its k-th visit after it. Not after the count of its visits done:
    a truck may do a bin's second visit while another truck's first is not done (``b3#2``
    done alone), and the next one is then ``b3#3``."""
    if not last:
        return stop
    b = bin_of(stop.ref)
    return dataclasses.replace(stop, ref=visit_ref(b, visit_number(stop.ref) + last))


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
    counted: Counted | None = None,
) -> DayPlan:
    """The day being driven with its new ``plan`` for ``built``: the bins' ``decisions``, the
    forecast fill at each pickup (``fills``, the crews' ones first: ``found`` is (fills,
    the weights lift scales took) at visits done), the ``bins`` new to its inventory added,
    the visits ``alerted`` added to its alerts, the bins no truck can reach ``unplaced``,
    the visits done whose crew could not empty the bin ``missed``, the bins emptied off the
    trucks' routes ``off_route`` (truck ref, bin id; recorded as ``off_route_seen``, every
    one of them, with what was ``counted`` of them: ``off_route_loads``,
    ``off_route_carried``, :func:`~optimiser.daily.off_route.carried_on`); checked, with
    its KPIs (which count those as unserved, these as not collected, and the emptyings off
    route as collected). A plan being driven that stands keeps the stops its routes
    visit (:func:`_stops_standing`)."""
    counted = counted or Counted()
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
        off_route_loads=counted.loads,
        off_route_carried=carried_on(day, plan, counted),
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
