"""A rerouted day against the day driven (:func:`check_reroute`): what each truck did stays
as it was, and the rest goes on from where it was reported, with its load.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from optimiser.check_routes import Violation
from optimiser.plan import (
    Plan,
    Progress,
    Route,
    Visit,
    VisitKind,
    clock,
)
from optimiser.problem import Problem, VehicleSpec

# -- a reroute against the day being driven --------------------------------------------------

DONE_WORK = (VisitKind.BIN, VisitKind.DISPOSAL)


def check_reroute(
    problem: Problem,
    driven: Plan,
    new: Plan,
    progress: Sequence[Progress],
    *,
    stands: bool = False,
) -> list[Violation]:
    """The rules a rerouted day ``new`` breaks against the day being driven, ``driven``, and
    the trucks' ``progress`` (what :func:`check` cannot see: it knows no past).

    Per truck with progress:

    * ``done_dropped`` / ``done_order``: its visits done (``Progress.done``) come first
      among its bins and unloadings, in their order;
    * ``done_time``: each stands as driven (row and times; those after a break the day
      driven plans among them, when the truck went on without it, ``break_taken`` False,
      may start sooner, same row and length); so does its START, unless
      nothing is done and it is away from its start: it set out by its report then (leaves
      no later than ``Progress.time_s``, as driven when that was sooner; with no route
      driven, no later than ``Progress.time_s``);
    * ``past``: nothing it has not done starts before ``Progress.time_s`` (a crew faster
      than planned goes on after its visits done, which stand as driven). A break over by
      then is the record of one taken; a break of ``driven`` it is on then stands as
      driven, and so do the waypoints of ``driven`` (earlier reports) before it; so does
      its return, when it has done all its driven work and is reported
      where its plan has it (at its last visit done by its planned return, or where it
      ends its day);
    * ``done_load``: the loads its rest of the day starts from (at its last visit done,
      or at the waypoint of its report) are those reported, no more than it holds and
      than its daily limits (a truck reported fuller is taken as full);
    * ``done_place``: its rest of the day goes on from where it is reported (its last
      visit done, or the waypoint of its report), unless its return stands as driven (as
      for ``past``): a truck reported away from its depot with nothing done, with no
      route driven or its route not started, set out from there by then;
    * ``no_route``: it keeps a route when it has done work or is away from its end depot.

    When no plan goes on from the trucks' positions, the plan being driven stands (its
    routes, those of trucks that can no longer drive them cut): say so with ``stands``; a
    route of ``driven`` kept whole is then judged by its visits done (its rest may be
    before now) and, with work done, by ``done_place`` and ``done_load``: it stands only
    for a truck reported where and as loaded as it has it.

    Parameters
    ----------
    problem : Problem
        The problem ``new`` solves (the day with its alerts).
    driven, new : Plan
        The plan being driven and the rerouted day.
    progress : sequence of Progress
        One per truck on the road (locations: rows of ``problem``'s matrix).
    stands : bool
        ``new`` is the plan being driven, standing: no plan went on from the positions.

    Returns
    -------
    list of Violation
        Truck by truck, in the order of ``progress``.
    """
    vehicles = {v.ref: v for v in problem.vehicles}
    before = {r.vehicle_ref: r for r in driven.routes}
    after = {r.vehicle_ref: r for r in new.routes}
    out: list[Violation] = []
    for prog in progress:
        v = vehicles.get(prog.vehicle_ref)
        if v is None:
            out.append(Violation(prog.vehicle_ref, None, "vehicle", "progress of an unknown truck"))
            continue
        route = after.get(v.ref)
        if route is None:
            if prog.done:
                why = f"no route, but it has done {len(prog.done)} visits"
                out.append(Violation(v.ref, None, "no_route", why))
            elif prog.location != v.end:
                why = f"no route, but it is at row {prog.location}, not at its end (row {v.end})"
                out.append(Violation(v.ref, None, "no_route", why))
            continue
        was = before.get(v.ref)
        whole = stands and route == was
        out.extend(_Resumed(v, was, route, prog, stands=whole).run())
    return out


@dataclass(slots=True)
class _Resumed:
    """One truck's rerouted day against its day driven and its progress."""

    v: VehicleSpec
    driven: Route | None
    route: Route
    prog: Progress
    stands: bool = False  # the route driven, standing whole: no plan went on
    out: list[Violation] = field(default_factory=list)

    def add(self, ref: str | None, code: str, message: str) -> None:
        self.out.append(Violation(self.v.ref, ref, code, message))

    def run(self) -> list[Violation]:
        visits = self.route.visits
        if len(visits) < 2:
            return self.out  # no route's shape: check reports it
        work = [i for i, x in enumerate(visits) if x.kind in DONE_WORK]
        refs = [visits[i].ref for i in work]
        done = self.prog.done
        left = Counter(refs)
        present = []
        for k, ref in enumerate(done):
            if left[ref]:
                left[ref] -= 1
                present.append(ref)
            else:
                self.add(ref, "done_dropped", f"done ({_nth(k)} visit done), but not in its route")
        for k, ref in enumerate(present):
            if refs[k] != ref:
                self.add(ref, "done_order", f"done {_nth(k)}, but its route has {refs[k]} then")
        if self.out:
            return self.out
        self._start(visits)
        driven = self._driven_done()
        skipped = self._skipped_break()
        for k, ref in enumerate(done):
            self._as_driven(visits[work[k]], driven.get((ref, k)), sooner=k >= skipped)
        cut = work[len(done) - 1] + 1 if done else 1
        if not self.stands:
            self._after(visits, cut)
        elif done:  # standing whole: still where and as loaded as reported
            self._from_report(visits, cut, finished=self._finished())
        else:  # standing whole, nothing done: on its way to its first bin, as it left
            self._loads_from(visits[0])
        return self.out

    def _driven_done(self) -> dict[tuple[str, int], Visit]:
        """The driven visits done, by (ref, rank among the work visits)."""
        if self.driven is None:
            return {}
        work = [x for x in self.driven.visits if x.kind in DONE_WORK]
        return {(x.ref, k): x for k, x in enumerate(work[: len(self.prog.done)])}

    def _skipped_break(self) -> int:
        """The rank (among the work visits done) of the first one after a break the route
        driven plans among them, when the truck went on without it (``break_taken`` False):
        from there the visits done may come sooner than driven. Past the last one
        otherwise."""
        n = len(self.prog.done)
        if self.driven is None or self.prog.break_taken or not n:
            return n
        k = 0
        for x in self.driven.visits:
            if x.kind is VisitKind.BREAK:
                return k if k < n else n
            k += x.kind in DONE_WORK
        return n

    def _as_driven(self, visit: Visit, was: Visit | None, *, sooner: bool = False) -> None:
        """``visit`` done stands as driven (``was``): its row and times; with ``sooner`` (a
        break skipped before it), its row and length, starting no later."""
        if was is None or was.ref != visit.ref:
            self.add(visit.ref, "done_time", "done, but the plan being driven has no such visit")
            return
        got = (visit.location, visit.arrival_s, visit.start_s, visit.end_s)
        want = (was.location, was.arrival_s, was.start_s, was.end_s)
        length, planned = visit.end_s - visit.start_s, was.end_s - was.start_s
        if sooner and got[0] == want[0] and visit.start_s <= was.start_s and length == planned:
            return  # came sooner: its break skipped
        if got != want:
            self.add(
                visit.ref,
                "done_time",
                f"done at row {want[0]}, {_stay(was)} as driven; its route has "
                f"row {got[0]}, {_stay(visit)}",
            )

    def _start(self, visits: Sequence[Visit]) -> None:
        first, prog = visits[0], self.prog
        was = self.driven.visits[0] if self.driven is not None and self.driven.visits else None
        if was is None and not prog.done and prog.location != self.v.start:
            if first.end_s > prog.time_s:  # no route driven, out: it set out by its report
                self.add(
                    first.ref,
                    "done_time",
                    f"reported at row {prog.location} at {clock(prog.time_s)} with nothing "
                    f"done, so out by then; its route leaves at {clock(first.end_s)}",
                )
            return
        if was is None or first.kind is not VisitKind.START:
            return
        if prog.done:
            self._as_driven(first, was)
        elif prog.location != was.location:  # out, nothing done: set out by its report
            if first.location != was.location or first.end_s > prog.time_s:
                self.add(
                    first.ref,
                    "done_time",
                    f"reported at row {prog.location} at {clock(prog.time_s)} with nothing "
                    f"done, so out of row {was.location} by then; its route leaves row "
                    f"{first.location} at {clock(first.end_s)}",
                )
            elif was.end_s <= prog.time_s:
                self._as_driven(first, was)
        elif first.start_s < prog.time_s and self.route.used:  # at its depot then: not out
            self.add(
                first.ref,
                "past",
                f"at its depot at {clock(prog.time_s)} with nothing done; its route leaves "
                f"at {clock(first.start_s)}",
            )

    def _finished(self) -> bool:
        """Whether the truck has done all its driven work and is reported where its plan has
        it (at its last visit done by its planned return, or at the end of its day): its
        return stands as driven. At its last visit after its planned return, it is not
        home: it drives home from there."""
        if self.driven is None:
            return False
        work = [x for x in self.driven.visits if x.kind in DONE_WORK]
        if tuple(x.ref for x in work) != self.prog.done:
            return False
        last = work[-1] if work else self.driven.visits[0]
        end, prog = self.driven.visits[-1], self.prog
        return prog.location == end.location or (
            prog.location == last.location and prog.time_s <= end.arrival_s
        )

    def _after(self, visits: Sequence[Visit], cut: int) -> None:
        """The visits from ``cut`` (the first not done): none before now but the documented
        ones; the loads the rest starts from as reported."""
        now = self.prog.time_s
        driven = self.driven.visits if self.driven is not None else ()
        finished = self._finished()
        for x in visits[cut:]:
            if x.start_s >= now:
                continue
            if x.kind is VisitKind.BREAK and (x.end_s <= now or x in driven):
                continue  # a break taken, or the driven one it is on now
            if x.kind is VisitKind.WAYPOINT and x in driven:
                continue  # an earlier report, as driven (before the break it is on now)
            if x in driven and finished:
                continue  # its return as driven
            self.add(
                x.ref,
                "past",
                f"{x.kind.value} at {clock(x.start_s)}, before the truck's report at {clock(now)}",
            )
        self._from_report(visits, cut, finished=finished)

    def _from_report(self, visits: Sequence[Visit], cut: int, *, finished: bool) -> None:
        """The rest of the day, from ``cut`` (the first visit not done), goes on from where
        the truck is reported, with the loads reported (``done_place``, ``done_load``)."""
        prog = self.prog
        rest = [x for x in visits[cut:] if x.kind is not VisitKind.BREAK]
        first = next((i for i, x in enumerate(rest) if x.kind is not VisitKind.WAYPOINT), None)
        kept = [x for x in visits[:cut] if x.kind is not VisitKind.BREAK]
        at = rest[first - 1] if first else (kept[-1] if kept else None)
        if at is None:
            return
        if at.location != prog.location and not finished:
            self.add(
                at.ref,
                "done_place",
                f"its rest of the day goes on from row {at.location}, reported at row "
                f"{prog.location}",
            )
        self._loads_from(at)

    def _loads_from(self, at: Visit) -> None:
        """The rest of the day goes on from visit ``at`` with the loads reported
        (``done_load``; a truck reported fuller than it holds is taken as full)."""
        prog = self.prog
        want = (
            min(prog.volume_l, self.v.capacity_l),
            min(prog.weight_kg, self.v.capacity_kg),
            min(
                prog.daily_l, self.v.max_daily_l if self.v.max_daily_l is not None else prog.daily_l
            ),
            min(
                prog.daily_kg,
                self.v.max_daily_kg if self.v.max_daily_kg is not None else prog.daily_kg,
            ),
        )
        got = (at.volume_l, at.weight_kg, at.daily_l, at.daily_kg)
        if got != want:
            self.add(
                at.ref,
                "done_load",
                f"its rest of the day starts from loads {got} (l, kg, daily l, daily kg), "
                f"reported {want}",
            )


def _nth(k: int) -> str:
    """Rank ``k`` (from 0) in words: 1st, 2nd, 3rd, 4th..."""
    n = k + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _stay(x: Visit) -> str:
    return f"arriving {clock(x.arrival_s)}, {clock(x.start_s)}-{clock(x.end_s)}"
