"""What a truck reported so far today (:class:`TruckProgress`), and where that leaves it off
its route (:func:`off_route`) and on the map (:func:`positions`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet.models import Inventory
from fleet.weights import fill_of_weight


@dataclass(frozen=True, slots=True, kw_only=True)
class TruckProgress:
    """What a truck reported so far today: bins emptied and disposal sites unloaded at (each
    in time order), the fill found at each bin emptied when the crew gave one (a fraction of
    the bin, None otherwise; ``found_fills[i]`` goes with ``done_bin_ids[i]``), the net
    weight the truck's lift scale took from it (``found_kg``, when it weighs), when each
    bin was emptied (``done_at``, when known) and when it last unloaded (``unloaded_at``),
    and its position (lon, lat) when no done report came after it. ``off_route[i]`` says
    whether bin ``done_bin_ids[i]`` was off the truck's route in the plan its crew reported
    it against (None when not known): such a report is never taken for a visit of a later
    plan's route (a visit of that bin an alert gave the truck since, say). A bin its crew
    could not empty on its route (``visit_missed``) is listed too, a stop passed, with a
    fill found of 0 (nothing of it is on the truck's load) and ``missed[i]`` True.
    ``unloaded_off_route[i]`` says the same of unloading ``done_site_ids[i]``: beyond the
    route's unloadings at that site, or before the bins the route empties ahead of it were
    all reported (the truck was full sooner than planned)."""

    vehicle_id: str
    done_bin_ids: tuple[str, ...] = ()
    found_fills: tuple[float | None, ...] = ()
    found_kg: tuple[float | None, ...] = ()
    done_site_ids: tuple[str, ...] = ()
    lon: float | None = None
    lat: float | None = None
    at: datetime | None = None
    done_at: tuple[datetime, ...] = ()
    unloaded_at: datetime | None = None
    off_route: tuple[bool | None, ...] = ()
    unloaded_off_route: tuple[bool | None, ...] = ()
    missed: tuple[bool, ...] = ()

    def fills(self, inventory: Inventory) -> tuple[float | None, ...]:
        """One per bin reported: the fill the crew found, else the fill the weight the lift
        scale took makes at the bin's density in ``inventory`` (the day plan's: set,
        measured or its stream's), else None."""
        n = len(self.done_bin_ids)
        fills = self.found_fills or (None,) * n
        if not any(kg is not None for kg in self.found_kg):
            return fills
        bins = {b.bin_id: b for b in inventory.bins}
        out: list[float | None] = []
        for bin_id, fill, kg in zip(self.done_bin_ids, fills, self.found_kg, strict=True):
            if fill is None and kg is not None and bin_id in bins:
                fill = fill_of_weight(bins[bin_id], kg)
            out.append(fill)
        return tuple(out)

    def lifted_kg(self) -> tuple[float | None, ...]:
        """``found_kg``, one per bin reported (None: not weighed)."""
        return self.found_kg or (None,) * len(self.done_bin_ids)

    def off_route_flags(self) -> tuple[bool | None, ...]:
        """``off_route``, one per bin reported (None: not known)."""
        return self.off_route or (None,) * len(self.done_bin_ids)

    def missed_flags(self) -> tuple[bool, ...]:
        """``missed``, one per bin reported (False: emptied)."""
        return self.missed or (False,) * len(self.done_bin_ids)

    def unloaded_off_route_flags(self) -> tuple[bool | None, ...]:
        """``unloaded_off_route``, one per unloading reported (None: not known)."""
        return self.unloaded_off_route or (None,) * len(self.done_site_ids)

    def bins_on_route(self) -> Counter[str]:
        """How often each bin was reported emptied, reports known off route not counted."""
        flags = zip(self.done_bin_ids, self.off_route_flags(), strict=True)
        return Counter(b for b, off in flags if not off)

    def sites_on_route(self) -> Counter[str]:
        """How often the truck reported unloading at each site, reports known off route not
        counted."""
        flags = zip(self.done_site_ids, self.unloaded_off_route_flags(), strict=True)
        return Counter(s for s, off in flags if not off)

    def empty_off_route(self) -> bool:
        """Whether the truck's last work reported is an unloading off its route: it stands
        at that site, empty (when each bin's time is known)."""
        flags = self.unloaded_off_route_flags()
        if not flags or not flags[-1] or self.unloaded_at is None:
            return False
        if len(self.done_at) != len(self.done_bin_ids):
            return False
        return all(at <= self.unloaded_at for at in self.done_at)


def off_route(
    day_plan: Any, progress: Sequence[TruckProgress]
) -> dict[str, list[tuple[str, float | None, bool, float | None]]]:
    """Per truck, the bins it reported emptied beyond its planned route's visits of them
    (another truck's bin, or one no truck was sent to), in report order, each as (bin id,
    the fill found or None when not given, whether its waste is on board: False when it was
    emptied before the truck's last unloading, the weight the lift scale took or None)
    (``optimiser.daily.OffRoute``). Those
    unloaded since are listed too: another truck's visit of the bin is no longer needed."""
    routes = {r.vehicle_ref: r for r in day_plan.plan.routes}
    out: dict[str, list[tuple[str, float | None, bool, float | None]]] = {}
    for p in progress:
        fills = p.fills(day_plan.inventory)
        marks = _off_route_marks(routes.get(p.vehicle_id), p)
        rows = zip(p.done_bin_ids, fills, marks, p.lifted_kg(), p.missed_flags(), strict=True)
        for bin_id, fill, (off, on_board), kg, passed in rows:
            if off and not passed:  # a bin its crew could not empty took nothing
                out.setdefault(p.vehicle_id, []).append((bin_id, fill, on_board, kg))
    return out


def _off_route_marks(route: Any, p: TruckProgress) -> list[tuple[bool, bool]]:
    """For each bin ``p`` reports emptied, whether it was off ``route`` (beyond the route's
    visits of that bin) and whether its waste is on board (not emptied before the truck's
    last unloading)."""
    from optimiser.plan import VisitKind
    from optimiser.problem import bin_of

    visits = route.visits if route is not None else ()
    planned = Counter(bin_of(v.ref) for v in visits if v.kind is VisitKind.BIN)
    times = p.done_at or (None,) * len(p.done_bin_ids)
    seen: Counter[str] = Counter()
    marks = []
    for bin_id, at, flag in zip(p.done_bin_ids, times, p.off_route_flags(), strict=True):
        unloaded = at is not None and p.unloaded_at is not None and at <= p.unloaded_at
        if not flag:  # not known off route: the k-th report is the route's k-th visit
            seen[bin_id] += 1
        marks.append((bool(flag) or seen[bin_id] > planned[bin_id], not unloaded))
    return marks


def positions(
    day_plan: Any, progress: Sequence[TruckProgress], inventory: Inventory
) -> dict[str, tuple[float, float]]:
    """Where trucks are (lon, lat), for those known to be elsewhere than at their last
    visit of their planned route: the position a truck reported (when no done report came
    after it), else the bin it emptied off that route (``inventory``'s coordinates) when
    that was its last report and no unloading was reported since, else the site it unloaded
    at off that route when that was its last work reported."""
    routes = {r.vehicle_ref: r for r in day_plan.plan.routes}
    bins = {b.bin_id: b for b in inventory.bins}
    sites = {s.site_id: s for s in inventory.sites}
    out: dict[str, tuple[float, float]] = {}
    for p in progress:
        if p.lon is not None and p.lat is not None:
            out[p.vehicle_id] = (p.lon, p.lat)
            continue
        if p.empty_off_route():
            if p.done_site_ids[-1] in sites:
                site = sites[p.done_site_ids[-1]]
                out[p.vehicle_id] = (site.lon, site.lat)
            continue
        marks = _off_route_marks(routes.get(p.vehicle_id), p)
        if marks and all(marks[-1]) and p.done_bin_ids[-1] in bins:
            where = bins[p.done_bin_ids[-1]]
            out[p.vehicle_id] = (where.lon, where.lat)
    return out
