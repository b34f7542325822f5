"""A fake planner: deterministic, instant, picklable day plans (no solver)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from api.planner import PlanExports, TruckProgress
from fleet.errors import FleetDataError
from fleet.models import CitizenReport, FillReading, Inventory, PickupRecord


@dataclass(frozen=True, slots=True)
class FakeDay:
    """Routes as vehicle id -> bin ids, in visiting order."""

    plan_date: date
    routes: dict[str, tuple[str, ...]]
    kpis: dict[str, Any]
    start_at: datetime | None = None


def _wait(gate: threading.Event | None, name: str) -> None:
    """Hold the job until the test sets ``gate`` (None: no wait); a gate never set fails
    the job, naming it, instead of letting it run on as though released."""
    if gate is not None and not gate.wait(30):
        raise AssertionError(f"FakePlanner.{name} was not set within 30 s")


@dataclass
class FakePlanner:
    """Assigns bins with readings round-robin to vehicles (sorted ids); records its calls."""

    fail_with: Exception | None = None
    gate: threading.Event | None = None
    reroute_gate: threading.Event | None = None
    reroute_fail_with: Exception | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    reroutes: list[dict[str, Any]] = field(default_factory=list)
    replans: list[dict[str, Any]] = field(default_factory=list)

    def plan(
        self,
        inventory: Inventory,
        readings: Sequence[FillReading],
        reports: Sequence[CitizenReport],
        provider: Any,
        *,
        plan_date: date,
        tz: ZoneInfo,
        time_limit_s: float,
        progress: Any,
        last_emptied: Mapping[str, datetime] | None = None,
        pickups: Sequence[PickupRecord] = (),
        start_at: datetime | None = None,
        alerted: Sequence[str] = (),
        due: Mapping[str, datetime] | None = None,
    ) -> FakeDay:
        self.calls.append(
            {
                "inventory": inventory,
                "readings": list(readings),
                "reports": list(reports),
                "plan_date": plan_date,
                "time_limit_s": time_limit_s,
                "last_emptied": dict(last_emptied or {}),
                "pickups": list(pickups),
                "start_at": start_at,
                "alerted": list(alerted),
                "due": dict(due or {}),
            }
        )
        progress(0.5, "half way")
        _wait(self.gate, "gate")
        if self.fail_with is not None:
            raise self.fail_with
        vehicles = sorted(v.vehicle_id for v in inventory.vehicles)
        if not vehicles:
            raise FleetDataError("the inventory has no vehicle; add one")
        wanted = sorted({r.bin_id for r in readings} | {r.bin_id for r in reports if r.bin_id})
        routes: dict[str, list[str]] = {v: [] for v in vehicles}
        for i, b in enumerate(wanted):
            routes[vehicles[i % len(vehicles)]].append(b)
        # the provider is exercised so a broken one fails the job
        provider([(b.lon, b.lat) for b in inventory.bins] or [(0.0, 0.0)])
        return FakeDay(
            plan_date,
            {k: tuple(v) for k, v in routes.items()},
            {"bins_collected": len(wanted), "km": float("nan")},
            start_at,
        )

    def reroute(
        self,
        day_plan: FakeDay,
        progress: Sequence[TruckProgress],
        urgent_bin_ids: Sequence[str],
        provider: Any,
        *,
        now: datetime,
        time_limit_s: float,
        inventory: Any = None,
        due: Any = None,
        why: Any = None,
    ) -> tuple[FakeDay, dict[str, Any]]:
        _wait(self.reroute_gate, "reroute_gate")
        if self.reroute_fail_with is not None:
            raise self.reroute_fail_with
        self.reroutes.append(
            {
                "progress": list(progress),
                "urgent": list(urgent_bin_ids),
                "now": now,
                "time_limit_s": time_limit_s,
                "due": dict(due or {}),
            }
        )
        done = {b for p in progress for b in p.done_bin_ids}
        routes = {v: tuple(b for b in r if b not in done) for v, r in day_plan.routes.items()}
        planned = {b for r in day_plan.routes.values() for b in r}
        first = sorted(routes)[0]
        extra = tuple(b for b in urgent_bin_ids if b not in planned)
        routes[first] = routes[first] + extra
        changes = {first: {"inserted": list(extra)}} if extra else {}
        n = sum(len(r) for r in routes.values())
        return FakeDay(
            day_plan.plan_date, routes, {"bins_collected": n}, day_plan.start_at
        ), changes

    def replan(
        self,
        day_plan: FakeDay,
        progress: Sequence[TruckProgress],
        readings: Sequence[FillReading],
        reports: Sequence[CitizenReport],
        provider: Any,
        *,
        now: datetime,
        time_limit_s: float,
        inventory: Any = None,
        last_emptied: Mapping[str, datetime] | None = None,
        pickups: Sequence[PickupRecord] = (),
        alerted: Sequence[str] = (),
        due: Mapping[str, datetime] | None = None,
        why: Mapping[str, str] | None = None,
    ) -> tuple[FakeDay, dict[str, Any]]:
        """Each truck keeps the bins it emptied and gets, round-robin, the bins with readings
        or reports it has not emptied yet."""
        self.replans.append(
            {
                "day": day_plan,
                "progress": list(progress),
                "readings": list(readings),
                "reports": list(reports),
                "inventory": inventory,
                "now": now,
                "time_limit_s": time_limit_s,
                "alerted": list(alerted),
                "due": dict(due or {}),
            }
        )
        done = {p.vehicle_id: p.done_bin_ids for p in progress}
        emptied = {b for bins in done.values() for b in bins}
        wanted = sorted({r.bin_id for r in readings} | {r.bin_id for r in reports if r.bin_id})
        vehicles = sorted(day_plan.routes)
        routes = {v: list(done.get(v, ())) for v in vehicles}
        for i, b in enumerate(b for b in wanted if b not in emptied):
            routes[vehicles[i % len(vehicles)]].append(b)
        n = sum(len(r) for r in routes.values())
        new = FakeDay(
            day_plan.plan_date,
            {k: tuple(v) for k, v in routes.items()},
            {"bins_collected": n},
            day_plan.start_at,
        )
        return new, {}

    def exports(self, day_plan: FakeDay, geometry: Any, directions: Any = None) -> PlanExports:
        rows = ["vehicle_id,order,bin_id"] + [
            f"{v},{i},{b}" for v, r in sorted(day_plan.routes.items()) for i, b in enumerate(r)
        ]
        return PlanExports(
            plan={
                "plan_date": day_plan.plan_date.isoformat(),
                "routes": [
                    {"vehicle_id": v, "bins": len(r), "bin_ids": list(r)}  # bins: a count
                    for v, r in sorted(day_plan.routes.items())
                ],
            },
            geojson={"type": "FeatureCollection", "features": []},
            csv="\n".join(rows) + "\n",
            vroom={"code": 0, "routes": [{"vehicle": v} for v in sorted(day_plan.routes)]},
            gpx={v: f"<gpx><rte><name>{v}</name></rte></gpx>" for v in day_plan.routes},
        )

    def routes(self, day_plan: FakeDay) -> dict[str, list[str]]:
        return {v: list(r) for v, r in day_plan.routes.items()}

    def started_at(self, day_plan: FakeDay) -> datetime | None:
        return day_plan.start_at

    def kpis(self, day_plan: FakeDay) -> dict[str, Any]:
        return dict(day_plan.kpis)
