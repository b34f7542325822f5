"""Re-planning the rest of a day being driven, the bins chosen again (:func:`replan_day`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fleet.density import carry_measured
from fleet.models import (
    Action,
    BinDecision,
    CitizenReport,
    FillReading,
    Inventory,
    PickupRecord,
)
from fleet.policy import CollectionPolicy
from fleet.weights import planned_at_densities
from optimiser.daily.dayplan import DayPlan, Provider, _on_local_clock, fill_at_pickup
from optimiser.daily.deadlines import (
    _all_progress,
    _late_notes,
    _late_rather_than_never,
    _overdue_note,
)
from optimiser.daily.driven import (
    _alerts_left_out,
    _befallen,
    _driven_on,
    _far_alerts,
    _fresh_stops,
    _unplaced,
    _unreported_unloads,
    _urgent,
)
from optimiser.daily.fleet_now import _current_inventory, _with_fleet
from optimiser.daily.off_route import OffRoute, _pairs
from optimiser.daily.places import _moved_bins, _placeable, _placed, _placed_joined, _street_hours
from optimiser.daily.planning import _forecast
from optimiser.params import SolveParams
from optimiser.plan import (
    Unserved,
    VisitKind,
)
from optimiser.problem import (
    Problem,
    Stop,
    bin_of,
)
from optimiser.reroute import (
    Progress,
    RouteChange,
    reroute,
    route_changes,
)


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
        hours (:func:`optimiser.daily.sites_now._current_sites`) as they are now.
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
    kept_alerts = _AlertVisits.of(day, built.problem, finished, closed, moved_away)
    held = kept_alerts.bins | {b.bin_id for b in alert_bins}
    chosen = [d for d in placed if d.action is not Action.SKIP and d.bin_id not in held]
    chosen_ids = {d.bin_id for d in chosen}
    built, fresh = _fresh_stops(
        built, timed, chosen, provider, full_progress, done, plan_date=day.plan_date, tz=tz
    )
    problem = _rest_problem(built.problem, finished | kept_alerts.pending, urgent, fresh)
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
    weighed_now = carry_measured(lookup, day.inventory)  # its reroutes load bins as this did
    new_day = _driven_on(
        dataclasses.replace(
            day, alerted=kept_alerts.still(day.alerted, finished), inventory=weighed_now
        ),
        dataclasses.replace(built, problem=problem),
        plan,
        _decided(
            day,
            [*decisions, *alert_decisions, *far_decisions],
            done,
            kept_alerts.refs,
        ),
        fills,
        (found or {}, lifted or {}),
        [*alert_bins, *(b for b in lookup.bins if b.bin_id in chosen_ids)],
        [*(s.ref for s in urgent), *(u.ref for u in far)],
        _unplaced(
            lookup,
            problem,
            [*(u for u in unplaced if bin_of(u.ref) not in held), *kept_alerts.away, *far],
        ),
        missed=missed,
        off_route=_pairs(off_route or {}),
        counted=took,
    )
    new_day = dataclasses.replace(
        new_day, street_hours={**day.street_hours, **hours.on_streets(problem.stops)}
    )
    return _with_fleet(new_day, lookup), route_changes(day.plan, plan)


def _rest_problem(
    problem: Problem, keep: Collection[str], urgent: Sequence[Stop], fresh: Sequence[Stop]
) -> Problem:
    """``problem`` with its stops ``keep`` (visits done, earlier alerts' visits still to do),
    then the ``urgent`` ones (new alerts), then the ``fresh`` ones (the bins chosen again):
    the order the must bins are inserted in."""
    firsts = {s.ref for s in urgent}
    kept = [s for s in problem.stops if s.ref in keep and s.ref not in firsts]
    return dataclasses.replace(problem, stops=(*kept, *urgent, *fresh))


@dataclass(frozen=True, slots=True)
class _AlertVisits:
    """The visits of earlier overflow alerts a re-plan keeps: those still to do
    (``pending``, refs), those of bins moved off the streets since (``away``, unserved),
    and the bins they hold (not chosen again like the others)."""

    pending: frozenset[str]
    away: tuple[Unserved, ...]

    @property
    def refs(self) -> set[str]:
        """The kept alert visits (refs)."""
        return {*self.pending, *(u.ref for u in self.away)}

    @property
    def bins(self) -> set[str]:
        """The bins of the kept alert visits."""
        return {bin_of(r) for r in self.refs}

    def still(self, alerted: Sequence[str], finished: Collection[str]) -> tuple[str, ...]:
        """The alert visits of the new plan: those of ``alerted`` (the day's) ``finished``
        or kept, then those moved off the streets."""
        done = tuple(r for r in alerted if r in finished or r in self.pending)
        return done + tuple(u.ref for u in self.away)

    @classmethod
    def of(
        cls,
        day: DayPlan,
        problem: Problem,
        finished: Collection[str],
        closed: Collection[str],
        moved_away: Sequence[Unserved],
    ) -> _AlertVisits:
        """The alert visits of ``day`` not ``finished`` whose alerts are not ``closed``:
        those ``problem`` still lists, and those ``moved_away``."""
        listed = {s.ref for s in problem.stops}
        pending = frozenset(
            r for r in day.alerted if r not in finished and bin_of(r) not in closed and r in listed
        )
        away = tuple(u for u in moved_away if u.ref in day.alerted and bin_of(u.ref) not in closed)
        return cls(pending, away)


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
