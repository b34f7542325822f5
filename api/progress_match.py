"""Trucks' reports matched to the plan being driven (:func:`match_reports`): which planned
visits they did, found as expected or not, missed, and the progress the reroute starts
from (:func:`to_progress`): loads, the break had, when the truck is home.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.progress import TruckProgress
from fleet.models import Inventory

DAY_S = 24 * 3600  # seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteMatch:
    """A truck's reports matched to its planned route's visits (the k-th report of a bin or
    site not known off route is its k-th planned visit).

    ``last`` is the index in ``route.visits`` of its last bin or disposal visit reported done
    (-1: none); ``fills`` the fill found at each bin visit reported with one (visit ref ->
    fraction of the bin); ``lifted`` the weight the lift scale took at each one reported
    weighed (visit ref -> kg); ``emptied_at`` when each bin visit was reported (index in
    ``route.visits`` -> time, when known); ``missed`` the bin visits reported missed (refs),
    in route order."""

    last: int = -1
    fills: Mapping[str, float] = field(default_factory=dict)
    lifted: Mapping[str, float] = field(default_factory=dict)
    emptied_at: Mapping[int, datetime] = field(default_factory=dict)
    missed: tuple[str, ...] = ()


Matches = Mapping[str, RouteMatch]  # truck ref -> its reports matched to its route


def match_reports(day_plan: Any, progress: Sequence[TruckProgress]) -> dict[str, RouteMatch]:
    """Each planned route's truck's reports matched to the route's visits (truck ref ->
    :class:`RouteMatch`; an empty match for a truck that reported nothing). One reroute or
    re-plan matches once and hands the result to :func:`to_progress`,
    :func:`found_at_visits` and :func:`missed_visits`."""
    reported = {p.vehicle_id: p for p in progress}
    return {
        r.vehicle_ref: _matched(r, reported.get(r.vehicle_ref), day_plan.inventory)
        for r in day_plan.plan.routes
    }


def to_progress(
    day_plan: Any,
    progress: Sequence[TruckProgress],
    now: datetime,
    *,
    matched: Matches | None = None,
) -> list[Any]:
    """Trucks' reported progress as ``optimiser.reroute.Progress`` (solver units).

    The done prefix runs along the planned route up to the last bin or disposal visit
    reported done (disposal visits before a done bin count as done; a bin or an unloading
    reported with bins not reported between it and the last visit reported, or with an
    unloading the route has after a waypoint later than the report, is flagged off route
    when it comes, ``api.repo_progress.off_route``, so no bin not reported, nor an unloading
    the truck cannot have made, is taken for done); the k-th report of a bin or site is its
    k-th planned visit (a bin's second visit of the day is ``<bin>#2``). The truck is at
    that visit's location at ``now``, carrying the planned load after that visit (none
    after unloading), except that a bin reported with the fill found counts at that fill,
    and at the weight its lift scale took when weighed (``optimiser.daily.found_loads``).
    A disposal trip after the last done bin
    counts only when reported: until then the truck is taken to still carry its load. An
    unloading off the route (``TruckProgress.unloaded_off_route``: sooner than planned, or
    one more) is no planned visit; when it is the truck's last work reported, the truck
    carries nothing (:func:`positions` has it at that site). A truck with all its planned
    work reported done is back at its end depot once its planned return time has passed, and
    its planned drive home since its last visit was reported (:func:`_home_s`). A break
    planned among the visits done counts as taken unless the reports show the crew went on
    without it (:func:`_break_had`); then the visits after it came as early as they could
    (``optimiser.reroute.without_breaks``), and the truck owes its break.
    ``matched``: :func:`match_reports` of the same plan and progress, when already made.
    """
    from optimiser.daily import found_loads
    from optimiser.plan import VisitKind
    from optimiser.reroute import Progress, without_breaks

    now_s = max(0, day_plan.seconds(now))
    reported = {p.vehicle_id: p for p in progress}
    matched = match_reports(day_plan, progress) if matched is None else matched
    out = []
    for route in day_plan.plan.routes:
        report = reported.get(route.vehicle_ref)
        match = matched[route.vehicle_ref]
        last, fills, lifted = match.last, match.fills, match.lifted
        if report is None or last < 0:
            continue
        done = route.visits[: last + 1]
        work = [v for v in done if v.kind in (VisitKind.BIN, VisitKind.DISPOSAL)]
        here = done[-1]
        volume_l, weight_kg, daily_l, daily_kg = found_loads(day_plan, done, fills, lifted)
        if report.unloaded_at is not None:
            gone_l, gone_kg = _unloaded_since(
                day_plan, done, fills, lifted, match.emptied_at, report.unloaded_at
            )
            volume_l, weight_kg = max(0, volume_l - gone_l), max(0, weight_kg - gone_kg)
        had = _break_had(day_plan, route, match, report)
        if had is False:  # the crew went on without it: the visits after it came sooner
            here = without_breaks(done, day_plan.built.problem)[-1]
        end = route.visits[-1]
        left = any(v.kind in (VisitKind.BIN, VisitKind.DISPOSAL) for v in route.visits[last + 1 :])
        home_s = _home_s(day_plan, route, match, report)
        back = not left and end.kind is VisitKind.END and now_s >= home_s
        out.append(
            Progress(
                vehicle_ref=route.vehicle_ref,
                done=tuple(v.ref for v in work),
                location=int(end.location if back else here.location),
                time_s=max(now_s, int(here.end_s)),
                volume_l=volume_l,
                weight_kg=weight_kg,
                daily_l=daily_l,
                daily_kg=daily_kg,
                break_taken=bool(had),
            )
        )
    return out


def _break_had(day_plan: Any, route: Any, match: RouteMatch, report: TruckProgress) -> bool | None:
    """Whether the truck of ``route`` had the break its route plans among its visits
    reported done (up to ``match.last``); None when none is planned there.

    True unless its reports show it went on without it: work planned after the break was
    reported before the break's planned end (e.g. an unloading sooner than planned), and
    no two of its reports between the last one before the break (or the window's start)
    and that one (or the window's end plus the break) are the break's length apart, or
    the time between those two visits' reports, less the planned drives and service
    between them (:func:`_work_s`), leaves less than the break's length in the window. A
    report of work (a bin emptied or passed, on the route or off it, or an unloading)
    means the truck was not on its break then; the last unloading's time counts for the
    route's last visit done when that is an unloading. Reports that came late (after the
    planned break) or out of the route's order leave the break as planned: True.
    """
    from optimiser.plan import VisitKind

    at = next(
        (i for i, v in enumerate(route.visits[: match.last]) if v.kind is VisitKind.BREAK), -1
    )
    if at < 0:
        return None
    brk = route.visits[at]
    vehicles = day_plan.built.problem.vehicles
    window = next((v.break_window_s for v in vehicles if v.ref == route.vehicle_ref), None)
    lo, hi = window or (0, 2 * DAY_S)
    length = brk.end_s - brk.start_s
    known = {i: day_plan.seconds(t) for i, t in match.emptied_at.items()}
    if route.visits[match.last].kind is VisitKind.DISPOSAL and report.unloaded_at is not None:
        known.setdefault(match.last, day_plan.seconds(report.unloaded_at))
    first = max((i for i in known if i < at), default=None)
    then = min((i for i in known if i > at), default=None)
    before = lo if first is None else known[first]
    after = hi + length if then is None else known[then]
    if after >= brk.end_s or after < before:
        return True
    start, end = max(before, lo), min(after, hi + length)
    times = [*(day_plan.seconds(t) for t in report.done_at), *known.values()]
    points = [start, *sorted(t for t in times if start < t < end), end]
    if first is not None and then is not None:  # the work between them took its time
        work = _work_s(route, day_plan.built.problem, first, then)
        busy = max(0, work - (start - before) - (after - end))  # inside [start, end]
        if end - start - busy < length:
            return False
    return any(b - a >= length for a, b in itertools.pairwise(points))


def _work_s(route: Any, problem: Any, first: int, then: int) -> int:
    """Planned seconds of work from the end of ``route``'s visit ``first`` to the end of
    its visit ``then`` (indices in ``route.visits``): the drives between their located
    visits (``problem``'s matrix) and the service at each after ``first``, breaks and waits
    aside; a truck reported done at both had at most the rest of the time between to rest."""
    from optimiser.plan import VisitKind

    located = [v for v in route.visits[first : then + 1] if v.location is not None]
    duration = problem.matrix.duration_s
    drive = sum(int(duration[a.location, b.location]) for a, b in itertools.pairwise(located))
    work = (VisitKind.BIN, VisitKind.DISPOSAL)
    return drive + sum(int(v.end_s - v.start_s) for v in located[1:] if v.kind in work)


def _home_s(day_plan: Any, route: Any, match: RouteMatch, report: TruckProgress) -> int:
    """When the truck of ``route`` with all its planned work reported done is home (seconds
    since local midnight): its planned return, or later when its last visit
    (``match.last``) was reported after its planned time, by its planned drive home after
    it. A crew running late is at its last visit after its planned return, not home."""
    from optimiser.plan import VisitKind

    here, end = route.visits[match.last], route.visits[-1]
    reported = match.emptied_at.get(match.last)
    if here.kind is VisitKind.DISPOSAL:
        reported = report.unloaded_at
    if reported is None:
        return int(end.arrival_s)
    return max(int(end.arrival_s), int(day_plan.seconds(reported) + end.arrival_s - here.end_s))


def found_at_visits(
    day_plan: Any, progress: Sequence[TruckProgress], *, matched: Matches | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """The fill found at each planned bin visit reported with one (visit ref -> fraction of
    the bin) and the net weight the lift scale took at each one reported weighed (visit ref
    -> kg), matched to the plan as :func:`to_progress` matches reports (``matched``:
    :func:`match_reports`, when already made)."""
    matched = match_reports(day_plan, progress) if matched is None else matched
    fills: dict[str, float] = {}
    lifted: dict[str, float] = {}
    for route in day_plan.plan.routes:
        fills.update(matched[route.vehicle_ref].fills)
        lifted.update(matched[route.vehicle_ref].lifted)
    return fills, lifted


def missed_visits(
    day_plan: Any, progress: Sequence[TruckProgress], *, matched: Matches | None = None
) -> list[str]:
    """The planned bin visits (refs) whose crew reported it could not empty the bin
    (``visit_missed``), matched to the plan as :func:`to_progress` matches reports: passed,
    nothing taken (``optimiser.daily.reroute_day``'s ``missed``; ``matched``:
    :func:`match_reports`, when already made)."""
    matched = match_reports(day_plan, progress) if matched is None else matched
    return [ref for r in day_plan.plan.routes for ref in matched[r.vehicle_ref].missed]


def _matched(route: Any, report: TruckProgress | None, inventory: Inventory) -> RouteMatch:
    """``report`` matched to ``route``'s visits (:class:`RouteMatch`)."""
    from optimiser.plan import VisitKind
    from optimiser.problem import bin_of

    if report is None:
        return RouteMatch()
    bins = _reports_by_bin(report, inventory)  # not yet matched, in report order
    sites = report.sites_on_route()
    fills: dict[str, float] = {}
    lifted: dict[str, float] = {}
    emptied_at: dict[int, datetime] = {}
    missed: list[str] = []
    last = -1
    for i, v in enumerate(route.visits):
        if v.kind is VisitKind.BIN and bins.get(bin_of(v.ref)):
            fill, kg, at, passed = bins[bin_of(v.ref)].pop(0)
            if passed:
                missed.append(v.ref)
            if fill is not None:
                fills[v.ref] = fill
                if kg is not None:
                    lifted[v.ref] = kg
            if at is not None:
                emptied_at[i] = at
            last = i
        elif v.kind is VisitKind.DISPOSAL and sites[v.ref] > 0:
            sites[v.ref] -= 1
            last = i
    return RouteMatch(
        last=last, fills=fills, lifted=lifted, emptied_at=emptied_at, missed=tuple(missed)
    )


def _reports_by_bin(
    report: TruckProgress, inventory: Inventory
) -> dict[str, list[tuple[float | None, float | None, datetime | None, bool]]]:
    """Each bin's reports not known off route, in order, as (the fill found, None when
    neither the crew nor the lift scale gave one (:meth:`TruckProgress.fills`); the weight
    the lift scale took, None when not weighed; when, None when not known; whether the
    crew could not empty it)."""
    fills = report.fills(inventory)
    n = len(report.done_bin_ids)
    times: Sequence[datetime | None] = report.done_at or (None,) * n
    kgs = report.lifted_kg()
    out: dict[str, list[tuple[float | None, float | None, datetime | None, bool]]] = {}
    flags = report.off_route_flags()
    rows = zip(report.done_bin_ids, fills, kgs, times, flags, report.missed_flags(), strict=True)
    for bin_id, fill, kg, at, off, passed in rows:
        if not off:
            out.setdefault(bin_id, []).append((fill, kg, at, passed))
    return out


def _unloaded_since(
    day_plan: Any,
    done: Sequence[Any],
    fills: Mapping[str, float],
    lifted: Mapping[str, float],
    emptied_at: Mapping[int, datetime],
    unloaded_at: datetime,
) -> tuple[int, int]:
    """The load (litres, kg) of the bins the plan has on board after ``done`` (those after
    its last unloading) that were emptied before the truck's last unloading, reported at
    ``unloaded_at`` (one the plan has later, or none: off the route): their waste is gone.
    Bins reported with a fill count at it, and at the weight ``lifted`` when weighed. A
    waypoint (or the start) restated the load on board then, as measured: when that was
    before the unloading, all of it is gone too (before, it stayed on board, a bin
    emptied before a reroute carried again after the truck unloaded)."""
    from optimiser.build import found_load
    from optimiser.plan import VisitKind
    from optimiser.problem import bin_of

    litres = kg = 0
    for i in range(len(done) - 1, -1, -1):
        visit = done[i]
        if visit.kind is VisitKind.DISPOSAL:
            break
        if i == 0 or visit.kind is VisitKind.WAYPOINT:
            if visit.end_s <= day_plan.seconds(unloaded_at):
                litres, kg = litres + visit.volume_l, kg + visit.weight_kg
            break
        at = emptied_at.get(i)
        if visit.kind is not VisitKind.BIN or at is None or at > unloaded_at:
            continue
        if visit.ref in fills:
            b = day_plan.inventory.bin(bin_of(visit.ref))
            bin_l, bin_kg = found_load(b, fills[visit.ref], lifted.get(visit.ref))
        else:  # as planned: what the visit added
            bin_l = visit.volume_l - done[i - 1].volume_l
            bin_kg = visit.weight_kg - done[i - 1].weight_kg
        litres, kg = litres + bin_l, kg + bin_kg
    return litres, kg
