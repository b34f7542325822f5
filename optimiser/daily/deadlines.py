"""Must bins past their deadlines: emptied late rather than never, with a note.

A must bin no route can empty by its deadline (each truck could reach it in time alone) is
emptied as soon after as a route can; the notes name such bins and the late visits. Every
truck's progress, those with none reported at their start (:func:`_all_progress`), is what
the search for such a plan starts from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from fleet.models import (
    Inventory,
)
from optimiser.build import (
    SECOND_VISIT_GAP_S,
    window_to_s,
)
from optimiser.check import late_s
from optimiser.daily.dayplan import DayPlan
from optimiser.params import SolveParams
from optimiser.plan import (
    Plan,
    clock,
    span,
)
from optimiser.problem import (
    SECOND_VISIT,
    Problem,
    Stop,
    bin_of,
)
from optimiser.reroute import (
    DEFAULT_PARAMS,
    Progress,
    reroute,
    with_urgent,
)


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
