"""A reroute's loads: trucks carrying other loads than planned (a waypoint restating them),
waste no site takes, and routes kept within capacity (:func:`optimiser.reroute.reroute`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence

from optimiser.costs import route_cost
from optimiser.plan import (
    Progress,
    Route,
    Visit,
    VisitKind,
)
from optimiser.problem import Problem, VehicleSpec
from optimiser.reroute_done import WORK, _loads
from optimiser.screen import needs_disposal, usable_sites


def _no_site_takes(problem: Problem) -> tuple[Problem, tuple[str, ...]]:
    """The residual ``problem`` with each truck carrying waste that must unload but that no
    disposal site takes every stream of (``usable_sites``: none) coming back to its depot
    loaded (``comes_back_loaded``: for the search only, so the checker still reports it)
    with no more bins (it could unload none of them either), and a note per such truck.
    Without it, no plan went on from the trucks' positions: the plan being driven stood,
    the loaded truck in it wherever that plan had it."""
    vehicles, notes = [], []
    for v in problem.vehicles:
        if v.starts_loaded and needs_disposal(problem, v) and not usable_sites(problem, v):
            notes.append(
                f"{v.ref} carries {v.initial_volume_l} l / {v.initial_weight_kg} kg, but no "
                f"disposal site takes every stream it collects ({', '.join(sorted(v.streams))})"
                ": it comes back to its depot loaded, with no more bins"
            )
            v = dataclasses.replace(v, comes_back_loaded=True, max_stops=0)
        vehicles.append(v)
    return dataclasses.replace(problem, vehicles=tuple(vehicles)), tuple(notes)


def _waypoint(v: VehicleSpec, prog: Progress) -> Visit:
    """The truck's position now, with the loads reported there (a measurement)."""
    volume_l, weight_kg, daily_l, daily_kg = _loads(prog)
    return Visit(
        kind=VisitKind.WAYPOINT,
        ref=v.ref,
        location=prog.location,
        arrival_s=prog.time_s,
        start_s=prog.time_s,
        end_s=prog.time_s,
        volume_l=volume_l,
        weight_kg=weight_kg,
        daily_l=daily_l,
        daily_kg=daily_kg,
    )


def _merge(
    problem: Problem, v: VehicleSpec, prefix: list[Visit], prog: Progress | None, new: Route
) -> Route:
    """The done prefix, a waypoint where the truck is (when it moved on, or carries other
    loads than the plan says), then the new rest of its day."""
    visits = list(prefix)
    if prog is not None and not visits and _loads(prog) != _loads(v):
        volume_l, weight_kg, daily_l, daily_kg = _loads(v)  # not started, loaded otherwise
        visits = [
            dataclasses.replace(
                new.visits[0],
                volume_l=volume_l,
                weight_kg=weight_kg,
                daily_l=daily_l,
                daily_kg=daily_kg,
            )
        ]
    if visits and prog is not None:
        last = visits[-1]
        if last.location != prog.location or _loads(last) != _loads(prog):
            visits.append(_waypoint(v, prog))
    visits.extend(new.visits[1:] if visits else new.visits)
    dist = problem.matrix.distance_m
    located = [x.location for x in visits if x.location is not None]
    distance = sum(int(dist[a, b]) for a, b in itertools.pairwise(located))
    duration = visits[-1].end_s - visits[0].start_s
    used = any(x.kind in WORK for x in visits)
    cost = route_cost(v, distance_m=distance, duration_s=duration, used=used)
    return Route(
        vehicle_ref=v.ref, visits=tuple(visits), distance_m=distance, duration_s=duration, cost=cost
    )


def _within_capacity(
    problem: Problem, progs: dict[str, Progress]
) -> tuple[dict[str, Progress], tuple[str, ...]]:
    """A truck reported carrying more than it holds (fills found overestimated) is full; one
    reported over its daily limit has reached it and collects no more today."""
    notes = []
    for v in problem.vehicles:
        p = progs.get(v.ref)
        if p is None:
            continue
        if p.volume_l > v.capacity_l or p.weight_kg > v.capacity_kg:
            notes.append(
                f"{v.ref} was reported carrying {p.volume_l} l / {p.weight_kg} kg, more than it "
                f"holds ({v.capacity_l} l / {v.capacity_kg} kg): taken as full"
            )
        day_l = v.max_daily_l if v.max_daily_l is not None else p.daily_l
        day_kg = v.max_daily_kg if v.max_daily_kg is not None else p.daily_kg
        if p.daily_l > day_l or p.daily_kg > day_kg:
            notes.append(
                f"{v.ref} was reported collecting {p.daily_l} l / {p.daily_kg} kg today, more "
                f"than its daily limit: it collects no more today"
            )
        progs[v.ref] = dataclasses.replace(
            p,
            volume_l=min(p.volume_l, v.capacity_l),
            weight_kg=min(p.weight_kg, v.capacity_kg),
            daily_l=min(p.daily_l, day_l),
            daily_kg=min(p.daily_kg, day_kg),
        )
    return progs, tuple(notes)


def _load_notes(
    prefixes: Mapping[str, Sequence[Visit]], progs: Mapping[str, Progress]
) -> tuple[str, ...]:
    """A note per truck whose reported load differs from the plan's after its done visits."""
    out = []
    for ref, prefix in prefixes.items():
        work = [x for x in prefix if x.kind in WORK]
        if not work:
            continue
        planned, now = _loads(work[-1])[:2], _loads(progs[ref])[:2]
        if planned != now:
            out.append(
                f"{ref} carries {now[0]} l / {now[1]} kg as reported, "
                f"{planned[0]} l / {planned[1]} kg as planned; the rest of its day counts "
                "from the reported load"
            )
    return tuple(out)
