"""When no plan goes on from the trucks' positions: the plan being driven stands, trucks out
of service end their day where they are, and the full day is put together from what was
done and the rest (:func:`optimiser.reroute.reroute`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from optimiser.check import check_route, objective, time_route
from optimiser.explain import OFF_DUTY
from optimiser.greedy import (
    feasible_subsequence,
)
from optimiser.plan import (
    Plan,
    Progress,
    Route,
    Unserved,
    UnservedKind,
    Visit,
    VisitKind,
    clock,
)
from optimiser.problem import Problem, VehicleSpec
from optimiser.reroute_done import WORK, _cut, _loads, _rest
from optimiser.reroute_loads import _merge
from optimiser.screen import needs_disposal, usable_sites

SKIPPED_BREAK = "went on without its planned break (its reports leave no time for it)"
NO_OTHER_TAKES = "rerouting found no plan from the trucks' positions, so no other truck takes it"
BREAKS_NOW = "whose route as planned breaks a rule now"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Stood:
    """The plan being driven, the routes of its trucks out of service, past their shift
    end or held up past their next visit cut where they are now (:func:`_stood_down`): why
    each bin they no longer take is left, and a note per truck."""

    plan: Plan
    reasons: Mapping[str, str]
    notes: tuple[str, ...]


def _stood_down(
    full: Problem,
    residual: Problem,
    plan: Plan,
    prefixes: Mapping[str, list[Visit]],
    progs: Mapping[str, Progress],
) -> _Stood:
    """``plan`` with the route of each truck out of service (``off_duty``, e.g. broken
    down) cut as the search would have it: its visits done, then its way from where it is
    to the end of its day (:func:`_way_home`), and none of its bins
    still to do. A truck out of service that had finished its work and ends where the plan
    has it keeps its route. So too a truck on duty whose route ends after its shift (cut
    short by a downtime), or that goes on only after its next planned visit's start
    (:func:`_held_up`: its progress time, e.g. back from the workshop): from where it is,
    then, it keeps the bins still planned for it, in their order, that it can empty and
    still be home (unloaded) by its shift end (one it can no longer empty in its window
    does not cost the ones after it). One held up whose way on from there breaks a rule
    even so (e.g. loaded, every site closed: why no plan goes on) keeps its route. Without
    this, the plan that stands when no plan goes on from the trucks' positions had a
    broken-down truck still drive its bins, one due in the workshop drive past its shift
    end, and one in the workshop drive its bins before it was back. A truck on duty whose
    rest of the day as planned breaks a rule now (:func:`_breaks_now`: a site closed since,
    say) goes on from where it is through its planned stops less those that break one,
    unloading elsewhere when it must (:func:`_way_home`), when that way is valid; before,
    it was still sent to the closed site."""
    ends = {v.ref: v for v in residual.vehicles}
    stops = {s.ref for s in full.stops}
    known = stops | {s.ref for s in full.sites}
    open_refs = {s.ref for s in residual.stops} | {s.ref for s in residual.sites}
    routes, reasons, notes = [], {}, []
    for v in full.vehicles:
        old, prog, w = _route_of(plan, v.ref), progs.get(v.ref), ends.get(v.ref)
        if old is None or w is None:
            continue
        rest = _rest(old, prog)
        held = _held_up(old, prog)
        away = _away(prefixes.get(v.ref, []), prog, old)
        skipped = _skipped_break(prefixes.get(v.ref, []), prog, old)
        if v.off_duty:
            if not rest and old.visits[-1].location == w.end:
                continue  # its work done, it ends its day as planned
            new, cause = _way_home(residual, w), OFF_DUTY
        elif old.visits[-1].end_s > v.shift_s[1] or held is not None:
            new = _way_home(residual, w, [r for r in rest if r in open_refs])
            stays = old.visits[-1].end_s <= v.shift_s[1] and not away
            if stays and check_route(residual, w, new):
                continue  # no way on from there is valid: why no plan goes on; it stands
            cause = _cut_cause(v, held)
        elif away or skipped:  # shown where and as it was reported, not as planned
            new = _way_home(residual, w, [r for r in rest if r in open_refs])
            cause = "reported away from its route" if away else SKIPPED_BREAK
        else:  # as planned, less the bins the day no longer has, where it can
            less, note, way = _as_planned(residual, w, rest, known, open_refs)
            notes += [note] if note else []
            if way is None:
                routes += [_merge(full, v, prefixes.get(v.ref, []), prog, less)] if less else []
                continue
            new, cause = way, BREAKS_NOW
        routes.append(_merge(full, v, prefixes.get(v.ref, []), prog, new))
        left = [r for r in rest if r in stops and r not in new.bin_refs]
        reasons.update(dict.fromkeys(left, f"planned for {v.ref}, {cause}: {NO_OTHER_TAKES}"))
        notes.append(
            _broken_note(v, new, rest, left)
            if cause == BREAKS_NOW
            else _stood_note(v, new, left, held, away=away, skipped=cause == SKIPPED_BREAK)
        )
    if not routes:
        return _Stood(plan=plan, reasons={}, notes=tuple(notes))
    cut = {r.vehicle_ref: r for r in routes}
    plan = dataclasses.replace(plan, routes=tuple(cut.get(r.vehicle_ref, r) for r in plan.routes))
    return _Stood(plan=plan, reasons=reasons, notes=tuple(notes))


def _without_gone(
    residual: Problem,
    w: VehicleSpec,
    rest: Sequence[str],
    gone: Sequence[str],
    open_refs: set[str],
) -> tuple[Route | None, str | None]:
    """The rest of the day of truck ``w`` (as it goes on) in the plan that stands, without
    the visits ``gone`` (bins of its planned ``rest`` the day no longer has: emptied by
    another truck off its route since, taken off the list, or not chosen again): its other
    stops in their order, timed again, when that breaks no rule (a stop less brings the
    others sooner and lighter), and a note. (None, None) when it has no such visit; (None,
    a note) when its route stands with them: without them it breaks a rule too, or it has
    a stop the rest of the day leaves aside (``open_refs``: the rest's stops and sites).
    Before, the truck still went to a bin another truck's crew had emptied."""
    if not gone:
        return None, None
    kept = [r for r in rest if r not in gone]
    which = ", ".join(gone)
    if not set(kept) <= open_refs:
        why = "its route has stops the rest of the day leaves aside"
    else:
        new = time_route(residual, w, kept)
        if not check_route(residual, w, new):
            note = (
                f"{w.ref} no longer goes to {which}, which the day no longer has: the plan "
                "being driven stands for it without them, its other stops in their order"
            )
            return new, note
        why = "its route breaks a rule without them too"
    note = (
        f"{w.ref} still goes to {which}, which the day no longer has: the plan being driven "
        f"stands as it is for it ({why})"
    )
    return None, note


def _away(prefix: Sequence[Visit], prog: Progress | None, old: Route) -> bool:
    """Whether truck ``prog`` is reported where the route being driven, ``old``, standing
    whole, cannot have it: with work done, elsewhere than its last visit done (``prefix``:
    its visits done, as planned) or with other loads than planned there; with nothing
    done, out of its depot (``prefix``: its START, set out by its report) with other loads
    than it left with, or with no work planned (no way it is on to its first bin)."""
    if prog is None or not prefix:
        return False
    last = [x for x in prefix if x.kind is not VisitKind.BREAK][-1]
    if not prog.done:
        return not old.used or _loads(last) != _loads(prog)
    return last.location != prog.location or _loads(last) != _loads(prog)


def _skipped_break(prefix: Sequence[Visit], prog: Progress | None, old: Route) -> bool:
    """Whether truck ``prog`` went on without the break ``old``, the route being driven,
    plans among its visits done: its visits done (``prefix``) lack it (its crew's reports
    left no time for it, and the visits after it came sooner: :func:`without_breaks`)."""
    if prog is None or not prog.done:
        return False
    planned = [x for x in old.visits[: _cut(old, len(prog.done))] if x.kind is VisitKind.BREAK]
    return any(x not in prefix for x in planned)


def _with_rest(old: Route, prefix: Sequence[Visit]) -> Route | None:
    """``old``, the route being driven by a truck that finished it (:func:`_finished`),
    with the break its visits done (``prefix``) have and it lacks: one found in a wait of
    its day (:func:`_rested`) before its last visit done, which moves no visit. Without it
    the route kept broke the break rule, the truck's break taken (no note said why).
    ``old`` as it is when it has a break (after its visits done) or the break came after
    its last visit done (its drive home was then); None when ``prefix`` is not the start of
    ``old`` but for that break."""
    extra = [x for x in prefix if x.kind is VisitKind.BREAK and x not in old.visits]
    if not extra or any(x.kind is VisitKind.BREAK for x in old.visits):
        return old  # nothing found, or its plan has its break (after its last visit done)
    cut = len(prefix) - len(extra)
    if [x for x in prefix if x not in extra] != list(old.visits[:cut]):
        return None
    if prefix[-1] in extra:  # since its last visit done: ``old`` has its drive home then
        return old
    return dataclasses.replace(old, visits=(*prefix, *old.visits[cut:]))


def _held_up(old: Route, prog: Progress | None) -> int | None:
    """When truck ``prog`` goes on (its progress time: e.g. back from the workshop), if that
    is after the start of its next visit (bin or site) still to do in ``old``, the route
    being driven: it cannot drive that route as planned. None when it can, or has none."""
    if prog is None:
        return None
    work = [x for x in old.visits if x.kind in WORK][len(prog.done) :]
    return prog.time_s if work and work[0].start_s < prog.time_s else None


def _as_planned(
    residual: Problem, w: VehicleSpec, rest: Sequence[str], known: set[str], open_refs: set[str]
) -> tuple[Route | None, str | None, Route | None]:
    """Truck ``w``'s ``rest`` of the day (refs) in the plan that stands, when nothing cuts
    it (on duty, in its shift, where the plan has it): (its rest without the visits the
    day no longer has, ``known`` its stops and sites, or None; the note of that,
    :func:`_without_gone`; its way on past the rules its rest as planned breaks now, or
    None). All None: it stands as planned."""
    gone = [r for r in rest if r not in known]
    less, note = _without_gone(residual, w, rest, gone, open_refs)
    if less is not None or gone or not _breaks_now(residual, w, rest, open_refs):
        return less, note, None
    way = _way_home(residual, w, [r for r in rest if r in open_refs])
    if check_route(residual, w, way):
        return None, None, None  # no way on from there is valid either: it stands
    return None, None, way


def _breaks_now(
    residual: Problem, w: VehicleSpec, rest: Sequence[str], open_refs: set[str]
) -> bool:
    """Whether truck ``w``'s ``rest`` of the day as planned (stop and site refs), driven
    from where and when it goes on now, breaks a rule of the rest of the day
    (``residual``): a visit the rest leaves aside (``open_refs``: its stops and sites; a
    bin no truck can reach now), or one out of its hours (a site closed since), say."""
    if not set(rest) <= open_refs:
        return True
    return bool(check_route(residual, w, time_route(residual, w, list(rest))))


def _broken_note(v: VehicleSpec, new: Route, rest: Sequence[str], left: Sequence[str]) -> str:
    """What :func:`_stood_down` says of truck ``v``, on duty, whose ``rest`` of the day as
    planned breaks a rule now: the ``new`` rest it drives instead, and the visits it no
    longer makes (``left``: its bins among them)."""
    now = [x.ref for x in new.visits if x.kind in WORK]
    dropped = [r for r in rest if r not in now]
    unloads = sorted({x.ref for x in new.visits if x.kind is VisitKind.DISPOSAL} - set(rest))
    then = f", unloading at {', '.join(unloads)} instead" if unloads else ""
    return (
        f"{v.ref}'s route as planned breaks a rule now (a site closed or a bin out of reach "
        f"since): it goes on without {', '.join(dropped) or 'none'}{then}, through "
        f"{', '.join(now) or 'none'}; bins left: {', '.join(left) or 'none'}"
    )


def _cut_cause(v: VehicleSpec, held: int | None) -> str:
    """Why truck ``v``, on duty, no longer takes some bins of the plan that stands: it goes
    on only at ``held`` (seconds), or its shift ends before its planned return."""
    if held is not None:
        return f"which can go on only at {clock(held)}"
    return f"whose shift ends at {clock(v.shift_s[1])}"


def _stood_note(
    v: VehicleSpec,
    new: Route,
    left: Sequence[str],
    held: int | None,
    *,
    away: bool = False,
    skipped: bool = False,
) -> str:
    """What :func:`_stood_down` did to truck ``v``'s day: its ``new`` rest of the day, the
    bins still planned for it it no longer takes (``left``), when it goes on (``held``,
    seconds, when after its next planned visit's start); ``away``: it was reported away
    from its route; ``skipped``: it went on without its planned break."""
    if v.off_duty:
        return (
            f"{v.ref} is {OFF_DUTY}: it ends its day from where it is, with none of the bins "
            f"the plan being driven still gave it ({', '.join(left) or 'none left'})"
        )
    kept, end = ", ".join(new.bin_refs) or "none", clock(v.shift_s[1])
    if skipped and not away:
        return (
            f"{v.ref} {SKIPPED_BREAK}: its day goes on from its visits done as driven, and "
            f"keeps the bins the plan being driven still gave it that it can empty ({kept}), "
            f"not {', '.join(left) or 'none left'}"
        )
    if away:
        return (
            f"{v.ref} was reported away from its route: it goes on from where it was "
            f"reported, with the load reported, and keeps the bins the plan being driven "
            f"still gave it that it can empty ({kept}), not {', '.join(left) or 'none left'}"
        )
    if held is not None:
        return (
            f"{v.ref} can go on only at {clock(held)}, after its next planned visit's start: "
            f"from where it is then, it keeps the bins the plan being driven still gave it "
            f"that it can empty by its shift end, {end} ({kept}), "
            f"not {', '.join(left) or 'none left'}"
        )
    return (
        f"{v.ref}'s shift ends at {end}: it ends its day from where it is, "
        f"with the bins the plan being driven still gave it that it can empty by then "
        f"({kept}), not {', '.join(left) or 'none left'}"
    )


def _way_home(residual: Problem, v: VehicleSpec, refs: Sequence[str] = ()) -> Route:
    """Truck ``v``'s way from where it is to its end, through ``refs`` (its bins and sites
    still to do, in order; none by default) less each one with which its route would break
    a rule (:func:`optimiser.greedy.feasible_subsequence`: unloading last when it must; a
    bin whose window passed does not cost the ones after it); with none of them, unloading
    first when it must, at the site that gets it home first of those where its way home
    breaks no rule (a site's hours, its shift end), else straight. (The site nearest by
    the drive alone was tried alone: a truck whose shift end left time for the quicker
    unload elsewhere went home loaded.)"""
    kept = feasible_subsequence(residual, v, list(refs)) if refs else []
    if kept:
        return time_route(residual, v, kept)
    straight = time_route(residual, v, [])
    if not (v.starts_loaded and needs_disposal(residual, v)):
        return straight
    ways = (time_route(residual, v, [site.ref]) for site in usable_sites(residual, v))
    valid = [way for way in ways if not check_route(residual, v, way)]
    return min(valid, key=lambda way: way.visits[-1].end_s, default=straight)


def _route_of(plan: Plan, vehicle_ref: str) -> Route | None:
    return next((r for r in plan.routes if r.vehicle_ref == vehicle_ref), None)


PLAN_STANDS = "rerouting found no plan from the trucks' positions; the plan being driven stands"


def plan_stands(plan: Plan) -> bool:
    """Whether ``plan``, an answer of :func:`reroute`, is the plan being driven kept as it
    stands (no plan went on from the trucks' positions): a note of it says so."""
    return any(n.startswith(PLAN_STANDS) for n in plan.notes)


def _plan_stands(full: Problem, stood: _Stood, urgent: set[str], sub: Plan, seconds: float) -> Plan:
    """The plan being driven (``stood``: the routes of its trucks out of service, past
    their shift end or held up cut where they are, :func:`_stood_down`), with the urgent stops
    unserved: what a reroute answers when no plan goes on from the trucks' positions (e.g.
    a loaded truck with every site closed), rather than a plan without routes. Every other
    stop of ``full`` it does not serve is listed unserved too (a bin a re-plan added, one a
    truck so cut no longer takes, with the reason naming it), and only stops of ``full``.
    Its objective is that of ``full`` (:func:`~optimiser.check.objective`): an urgent stop
    was an optional one the plan's objective priced as left out, or a truck's route is
    cut."""
    plan = stood.plan
    why = PLAN_STANDS
    refs = {s.ref for s in full.stops}
    kept = tuple(u for u in plan.unserved if u.ref not in urgent and u.ref in refs)
    served = plan.served_refs  # an alert on a bin the plan visits later: served as planned
    listed = served | {u.ref for u in kept}
    added = tuple(
        Unserved(ref=ref, reason=stood.reasons.get(ref, why), kind=UnservedKind.NO_SOLUTION)
        for ref in sorted(refs - listed)
    )
    return dataclasses.replace(
        plan,
        unserved=kept + added,
        objective=objective(full, plan),
        solve_time_s=seconds,
        notes=tuple(
            dict.fromkeys(  # each once: the plan's notes that still hold, and the new ones
                (
                    *plan.notes,
                    *sub.notes,
                    *stood.notes,
                    f"{why}: {sub.unserved[0].reason}" if sub.unserved else why,
                )
            )
        ),
    )


def _finished(
    v: VehicleSpec, old: Route | None, prog: Progress | None, new: Route, prefix: Sequence[Visit]
) -> bool:
    """Whether the truck had done all its planned work, is given none and is where and as
    its plan has it (at its last visit by its planned return, or home, with the load
    planned, which its plan still has at its end): it keeps its plan. Not when that plan
    no longer ends where the truck ends its day (broken down on its way home, it stands
    where it is), nor when the truck was seen
    elsewhere, at its last visit after it was planned to be home, took more waste (a
    bin off its route), or went on without its planned break (its visits done,
    ``prefix``, lack it): it goes home from where it is. Nor a truck not out whose plan
    has it leave before its shift starts now (its shift start changed since), or back
    after its shift ends now (an idle truck's empty route at its old shift end, the
    shift cut short since: booked out of service later today). Nor one whose plan ends
    with other loads than it reports (a waypoint of a re-plan restating a load it had
    unloaded already, reported late: its plan came home loaded, and broke return_empty)."""
    if old is None or prog is None or _rest(old, prog) or new.used:
        return False
    if _skipped_break(prefix, prog, old):
        return False
    lo, hi = v.shift_s
    if not prog.done and not lo <= old.visits[0].start_s <= old.visits[-1].end_s <= hi:
        return False  # not out, its shift other now: its plan leaves or ends outside it
    last = old.visits[_cut(old, len(prog.done)) - 1]  # its last visit done, or its start
    end = old.visits[-1]
    there = prog.location == end.location or (
        prog.location == last.location and prog.time_s <= end.arrival_s
    )
    loads = (prog.volume_l, prog.weight_kg)
    return (
        end.location == v.end
        and there
        and loads == (last.volume_l, last.weight_kg) == (end.volume_l, end.weight_kg)
    )


def _kept(
    v: VehicleSpec, old: Route | None, prog: Progress | None, new: Route, prefix: Sequence[Visit]
) -> Route | None:
    """The route being driven, ``old``, kept when its truck finished it (:func:`_finished`):
    its planned return (and break) as driven, not an idle wait until now; with a break
    found in a wait (:func:`_with_rest`). None when the truck goes on from where it is."""
    if old is None or not _finished(v, old, prog, new, prefix):
        return None
    return _with_rest(old, prefix)


def _full_plan(
    full: Problem,
    sub: Plan,
    routes: Mapping[str, Route],
    prefixes: Mapping[str, list[Visit]],
    progs: Mapping[str, Progress],
    unservable: tuple[Unserved, ...],
    seconds: float,
) -> Plan:
    new_routes = {r.vehicle_ref: r for r in sub.routes}
    merged = tuple(
        _kept(v, routes.get(v.ref), progs.get(v.ref), new_routes[v.ref], prefixes.get(v.ref, []))
        or _merge(full, v, prefixes.get(v.ref, []), progs.get(v.ref), new_routes[v.ref])
        for v in full.vehicles
    )
    plan = Plan(
        status=sub.status,
        routes=merged,
        unserved=unservable + sub.unserved,
        solve_time_s=seconds,
        engine=f"{sub.engine}-reroute",
        notes=sub.notes,
    )
    return dataclasses.replace(plan, objective=objective(full, plan))
