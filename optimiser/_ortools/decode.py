"""Decoding a solved OR-Tools route into the plan's visits: kinds, times (with the break in
its gap), loads after each visit, and no unload right after one at the same site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from optimiser.plan import Visit, VisitKind
from optimiser.problem import VehicleSpec

if TYPE_CHECKING:  # the model imports this module
    from optimiser._ortools.model import _Model


def _without_repeated_unloads(model: _Model, seq: list[int]) -> list[int]:
    """``seq`` (solver indices) without an unload right after one at the same site: the
    truck is empty then. A site's spare copies cost nothing with ``unload_s`` 0, nor while
    a truck would wait anyway (waiting costs as working does), so the search may chain them,
    and a route sheet would show the truck unloading several times in a row. Leaving one
    out keeps every other visit's time (the truck waits instead), load and distance."""
    nodes = model.nodes
    keep = seq[:1]
    for i in seq[1:]:
        node, prev = model.manager.IndexToNode(i), model.manager.IndexToNode(keep[-1])
        repeat = (
            nodes.is_site[node] and nodes.is_site[prev] and nodes.refs[node] == nodes.refs[prev]
        )
        if not repeat:
            keep.append(i)
    return keep


def _kind(model: _Model, node: int, position: int, last: int) -> VisitKind:
    if position == 0:
        return VisitKind.START
    if position == last:
        return VisitKind.END
    return VisitKind.DISPOSAL if model.nodes.is_site[node] else VisitKind.BIN


@dataclass(slots=True)
class _Loads:
    volume_l: int
    weight_kg: int
    daily_l: int
    daily_kg: int

    def after(self, model: _Model, node: int, kind: VisitKind) -> None:
        if kind is VisitKind.DISPOSAL:
            self.volume_l = self.weight_kg = 0
        elif kind is VisitKind.BIN:
            vol, wt = int(model.nodes.volume[node]), int(model.nodes.weight[node])
            self.volume_l += vol
            self.weight_kg += wt
            self.daily_l += vol
            self.daily_kg += wt


def _timed_visits(
    model: _Model,
    spec: VehicleSpec,
    nodes: list[int],
    cumul: list[int],
    brk: tuple[int, int] | None,
) -> list[Visit]:
    dur = model.problem.matrix.duration_s
    loads = _Loads(
        spec.initial_volume_l, spec.initial_weight_kg, spec.initial_daily_l, spec.initial_daily_kg
    )
    visits: list[Visit] = []
    last = len(nodes) - 1
    prev_end = cumul[0]
    for pos, node in enumerate(nodes):
        kind = _kind(model, node, pos, last)
        loc = int(model.nodes.loc[node])
        start = cumul[pos]
        arrival = start
        if pos > 0:
            arrival = prev_end + int(dur[visits[-1].location, loc])
            if brk is not None and prev_end <= brk[0] and brk[1] <= start:
                visits.append(_break_visit(spec, brk, visits[-1]))
                arrival += spec.break_s
        end = start + int(model.nodes.service[node])
        loads.after(model, node, kind)
        visits.append(
            Visit(
                kind=kind,
                ref=model.nodes.refs[node],
                location=loc,
                arrival_s=arrival,
                start_s=start,
                end_s=end,
                volume_l=loads.volume_l,
                weight_kg=loads.weight_kg,
                daily_l=loads.daily_l,
                daily_kg=loads.daily_kg,
            )
        )
        prev_end = end
    return visits


def _break_visit(spec: VehicleSpec, brk: tuple[int, int], prev: Visit) -> Visit:
    return Visit(
        kind=VisitKind.BREAK,
        ref=spec.ref,
        location=None,
        arrival_s=brk[0],
        start_s=brk[0],
        end_s=brk[1],
        volume_l=prev.volume_l,
        weight_kg=prev.weight_kg,
        daily_l=prev.daily_l,
        daily_kg=prev.daily_kg,
    )
