"""The seam between the service and the planning pipeline (``optimiser.daily``/``export``).

Jobs call a ``Planner``; the default ``PipelinePlanner`` imports the optimiser lazily, so the
rest of the service works (and is tested) without the solver. Tests inject a fake through
``app.dependency_overrides[api.deps.get_planner]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from api.progress import TruckProgress, off_route, positions
from api.progress_match import (
    DAY_S,
    Matches,
    RouteMatch,
    found_at_visits,
    match_reports,
    missed_visits,
    to_progress,
)
from api.routing import Geometry, MatrixProvider
from fleet.models import CitizenReport, FillReading, Inventory, PickupRecord
from network import within_reach
from network.directions import Directions

__all__ = [
    "DAY_S",
    "Matches",
    "PipelinePlanner",
    "PlanExports",
    "Planner",
    "ProgressFn",
    "RouteMatch",
    "TruckProgress",
    "found_at_visits",
    "match_reports",
    "missed_visits",
    "off_route",
    "positions",
    "to_progress",
]

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanExports:
    """Documents served for a finished plan (computed once, when the job finishes)."""

    plan: dict[str, Any]
    geojson: dict[str, Any]
    csv: str
    vroom: dict[str, Any]
    gpx: dict[str, str] = field(default_factory=dict)
    directions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (stored in the plans table)."""
        return {
            "plan": self.plan,
            "geojson": self.geojson,
            "csv": self.csv,
            "vroom": self.vroom,
            "gpx": self.gpx,
            "directions": self.directions,
        }


class Planner(Protocol):
    """Plans a day, reroutes a running day and renders exports."""

    def plan(
        self,
        inventory: Inventory,
        readings: Sequence[FillReading],
        reports: Sequence[CitizenReport],
        provider: MatrixProvider,
        *,
        plan_date: date,
        tz: ZoneInfo,
        time_limit_s: float,
        progress: ProgressFn,
        last_emptied: Mapping[str, datetime] | None = None,
        pickups: Sequence[PickupRecord] = (),
        start_at: datetime | None = None,
        alerted: Sequence[str] = (),
        due: Mapping[str, datetime] | None = None,
    ) -> Any: ...

    def reroute(
        self,
        day_plan: Any,
        progress: Sequence[TruckProgress],
        urgent_bin_ids: Sequence[str],
        provider: MatrixProvider,
        *,
        now: datetime,
        time_limit_s: float,
        inventory: Inventory | None = None,
        due: Mapping[str, datetime] | None = None,
        why: Mapping[str, str] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """The rest of a day being driven rerouted at ``now`` for the ``urgent_bin_ids``
        (alerted: collected today), and each driver's change. ``why`` says, per bin id,
        what befell an urgent bin (a crew could not empty it): its unserved reason begins
        with it."""
        ...

    def replan(
        self,
        day_plan: Any,
        progress: Sequence[TruckProgress],
        readings: Sequence[FillReading],
        reports: Sequence[CitizenReport],
        provider: MatrixProvider,
        *,
        now: datetime,
        time_limit_s: float,
        inventory: Inventory | None = None,
        last_emptied: Mapping[str, datetime] | None = None,
        pickups: Sequence[PickupRecord] = (),
        alerted: Sequence[str] = (),
        due: Mapping[str, datetime] | None = None,
        why: Mapping[str, str] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """The rest of a day being driven planned again at ``now``, from where the trucks
        are, and each driver's change. ``alerted`` are the bins of every alert the plan
        takes in: a visit of an earlier alert whose bin is not among them (the alert was
        dismissed, or the bin found emptied) is no longer an alert visit. ``why`` as in
        :meth:`reroute`."""
        ...

    def exports(
        self, day_plan: Any, geometry: Geometry | None, directions: Directions | None = None
    ) -> PlanExports: ...

    def routes(self, day_plan: Any) -> dict[str, list[str]]: ...

    def started_at(self, day_plan: Any) -> datetime | None:
        """When a day plan made after the shifts began starts (truck reports before it
        belong to an earlier plan), else None."""
        ...

    def kpis(self, day_plan: Any) -> dict[str, Any]: ...


class PipelinePlanner:
    """``Planner`` over ``optimiser.daily.plan_day``/``reroute_day`` and ``optimiser.export``."""

    def plan(
        self,
        inventory: Inventory,
        readings: Sequence[FillReading],
        reports: Sequence[CitizenReport],
        provider: MatrixProvider,
        *,
        plan_date: date,
        tz: ZoneInfo,
        time_limit_s: float,
        progress: ProgressFn,
        last_emptied: Mapping[str, datetime] | None = None,
        pickups: Sequence[PickupRecord] = (),
        start_at: datetime | None = None,
        alerted: Sequence[str] = (),
        due: Mapping[str, datetime] | None = None,
    ) -> Any:
        from optimiser.daily import plan_day
        from optimiser.params import SolveParams

        return plan_day(
            inventory,
            readings,
            reports,
            _within_reach(provider, inventory),
            plan_date=plan_date,
            tz=tz,
            params=SolveParams(time_limit_s=time_limit_s),
            progress=progress,
            last_emptied=last_emptied,
            pickups=pickups,
            start_at=start_at,
            alerted=alerted,
            due=due,
        )

    def reroute(
        self,
        day_plan: Any,
        progress: Sequence[TruckProgress],
        urgent_bin_ids: Sequence[str],
        provider: MatrixProvider,
        *,
        now: datetime,
        time_limit_s: float,
        inventory: Inventory | None = None,
        due: Mapping[str, datetime] | None = None,
        why: Mapping[str, str] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        from optimiser.daily import reroute_day
        from optimiser.params import SolveParams

        matched = match_reports(day_plan, progress)
        fills, lifted = found_at_visits(day_plan, progress, matched=matched)
        new_plan, changes = reroute_day(
            day_plan,
            to_progress(day_plan, progress, now, matched=matched),
            list(urgent_bin_ids),
            _within_reach(provider, inventory or day_plan.inventory),
            now=now,
            params=SolveParams(time_limit_s=time_limit_s),
            inventory=inventory,
            positions=positions(day_plan, progress, inventory or day_plan.inventory),
            found=fills,
            due=due,
            off_route=off_route(day_plan, progress),
            lifted=lifted,
            why=why,
            missed=missed_visits(day_plan, progress, matched=matched),
        )
        return new_plan, dict(changes)

    def replan(
        self,
        day_plan: Any,
        progress: Sequence[TruckProgress],
        readings: Sequence[FillReading],
        reports: Sequence[CitizenReport],
        provider: MatrixProvider,
        *,
        now: datetime,
        time_limit_s: float,
        inventory: Inventory | None = None,
        last_emptied: Mapping[str, datetime] | None = None,
        pickups: Sequence[PickupRecord] = (),
        alerted: Sequence[str] = (),
        due: Mapping[str, datetime] | None = None,
        why: Mapping[str, str] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        from optimiser.daily import replan_day
        from optimiser.params import SolveParams
        from optimiser.problem import bin_of

        closed = {bin_of(r) for r in day_plan.alerted} - set(alerted)
        matched = match_reports(day_plan, progress)
        fills, lifted = found_at_visits(day_plan, progress, matched=matched)
        new_plan, changes = replan_day(
            day_plan,
            to_progress(day_plan, progress, now, matched=matched),
            readings,
            reports,
            _within_reach(provider, inventory or day_plan.inventory),
            now=now,
            params=SolveParams(time_limit_s=time_limit_s),
            inventory=inventory,
            positions=positions(day_plan, progress, inventory or day_plan.inventory),
            found=fills,
            last_emptied=last_emptied,
            pickups=pickups,
            alerted=alerted,
            due=due,
            closed=closed,
            off_route=off_route(day_plan, progress),
            lifted=lifted,
            why=why,
            missed=missed_visits(day_plan, progress, matched=matched),
        )
        return new_plan, dict(changes)

    def exports(
        self, day_plan: Any, geometry: Geometry | None, directions: Directions | None = None
    ) -> PlanExports:
        from optimiser import export, sheets

        gpx = {
            r.vehicle_ref: export.gpx(day_plan, r.vehicle_ref, geometry)
            for r in day_plan.plan.routes
        }
        return PlanExports(
            plan=export.plan_json(day_plan),
            geojson=export.routes_geojson(day_plan, geometry),
            csv=export.plan_csv(day_plan),
            vroom=export.vroom_json(day_plan),
            gpx=gpx,
            directions=sheets.all_directions(day_plan, directions),
        )

    def routes(self, day_plan: Any) -> dict[str, list[str]]:
        return {r.vehicle_ref: list(r.bin_refs) for r in day_plan.plan.routes}

    def started_at(self, day_plan: Any) -> datetime | None:
        return day_plan.start_at  # type: ignore[no-any-return]

    def kpis(self, day_plan: Any) -> dict[str, Any]:
        return dict(day_plan.kpis)


def _within_reach(provider: MatrixProvider, inventory: Inventory) -> Any:
    """``provider``, which with straight lines (``BINROUTE_CITY=haversine``) names the depots,
    sites and bins of ``inventory`` farther than a truck drives in a day from the middle of
    them all (``network.within_reach``), as a street network names those off the map: a
    digit dropped from a latitude is not planned as days of driving."""
    places = [
        *((d.lon, d.lat) for d in inventory.depots),
        *((s.lon, s.lat) for s in inventory.sites),
        *((b.lon, b.lat) for b in inventory.bins),
    ]
    return within_reach(provider, places)
