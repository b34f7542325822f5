"""The tiny hand-made city of the daily job's tests (haversine travel) and the helpers its
test modules share: a planned day, alerts, re-plans, reroutes and trucks done so far."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fleet.models import CitizenReport, FillReading, Inventory, PickupRecord, TimeWindow, Vehicle
from network.providers import HaversineProvider
from optimiser.check import check_reroute
from optimiser.daily import DayPlan, plan_day, replan_day, reroute_day
from optimiser.export import plan_json
from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus, Unserved, VisitKind
from optimiser.reroute import Progress, RouteChange
from tests.optimiser.conftest import done_through, route_work

TZ = ZoneInfo("Europe/Helsinki")
DAY = date(2026, 11, 25)


def rising_readings(bin_id: str, rate_per_h: float, start_fill: float) -> list[FillReading]:
    """A reading every 6 h over 3 days, rising linearly from ``start_fill``."""
    t0 = datetime.combine(DAY - timedelta(days=3), time(0), tzinfo=TZ)
    return [
        FillReading(
            bin_id=bin_id, at=t0 + timedelta(hours=h), fill_fraction=start_fill + rate_per_h * h
        )
        for h in range(0, 72, 6)
    ]


def plan_tiny_day(
    inventory: Inventory,
    readings: list[FillReading],
    reports: list[CitizenReport],
    start_at: datetime | None = None,
    pickups: Sequence[PickupRecord] = (),
) -> DayPlan:
    """``plan_day`` on DAY with a 1 s solver budget (made at ``start_at``, when given)."""
    return plan_day(
        inventory,
        readings,
        reports,
        HaversineProvider(),
        plan_date=DAY,
        tz=TZ,
        params=SolveParams(time_limit_s=1.0, seed=1),
        start_at=start_at,
        pickups=pickups,
    )


def bins_done_by(day: DayPlan, bins_done: int, truck: str = "t1") -> list[Progress]:
    """``truck`` has emptied its first ``bins_done`` bins (and any unload before them)."""
    work = route_work(day, truck)
    last = [i for i, v in enumerate(work) if v.kind is VisitKind.BIN][bins_done - 1]
    return [done_through(truck, work, last)]


def alerted_day(
    day: DayPlan,
    urgent: str,
    at_s: int | None = None,
    respond_s: int | None = None,
    inventory: Inventory | None = None,
) -> tuple[DayPlan, Progress]:
    """t1 has emptied its first bin and still stands there at ``at_s`` (default: as it
    finished), when an alert names ``urgent``, with a response target ``respond_s`` seconds
    later when given: the rerouted day (1 s, with ``inventory`` as it is now when given)
    and t1's progress. The day keeps what t1 did (``check_reroute``)."""
    (done,) = bins_done_by(day, 1)
    now = dataclasses.replace(done, time_s=done.time_s if at_s is None else at_s)
    due = {} if respond_s is None else {urgent: day.at(now.time_s + respond_s)}
    new_day, _ = reroute_day(
        day,
        [now],
        [urgent],
        HaversineProvider(),
        now=day.at(now.time_s),
        params=SolveParams(time_limit_s=1),
        due=due,
        inventory=inventory,
    )
    assert check_reroute(new_day.built.problem, day.plan, new_day.plan, [now]) == []
    return new_day, now


def alert_visit(day: DayPlan, bin_id: str) -> dict[str, object]:
    """The plan JSON's visit of ``bin_id`` (its last)."""
    visits = [v for r in plan_json(day)["routes"] for v in r["visits"] if v.get("bin_id") == bin_id]
    return visits[-1]


def local_time(hour: int, minute: int = 0) -> datetime:
    """DAY at a local clock time."""
    return datetime.combine(DAY, time(hour, minute), tzinfo=TZ)


def replanned_day(
    day: DayPlan,
    city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    at: datetime,
    extra_readings: list[FillReading],
    extra_reports: list[CitizenReport],
    truck: str = "t1",
    **kwargs: object,
) -> tuple[DayPlan, dict[str, RouteChange], Progress]:
    """``truck`` emptied its first bin and stands there at ``at``, when the rest of the day
    is re-planned with ``extra_readings`` and ``extra_reports`` (1 s): the new day, the
    drivers' changes and the truck's progress. The day keeps what it did (``check_reroute``)."""
    _, readings, reports = city
    (done,) = bins_done_by(day, 1, truck)
    now = dataclasses.replace(done, time_s=day.seconds(at))
    new_day, changes = replan_day(
        day,
        [now],
        readings + extra_readings,
        reports + extra_reports,
        HaversineProvider(),
        now=at,
        params=SolveParams(time_limit_s=1, seed=1),
        **kwargs,  # type: ignore[arg-type]
    )
    assert check_reroute(new_day.built.problem, day.plan, new_day.plan, [now]) == []
    return new_day, changes, now


def late_truck(inventory: Inventory) -> Vehicle:
    """t2: like the inventory's first truck, on duty 10:00-18:00 without a break."""
    return dataclasses.replace(
        inventory.vehicles[0],
        vehicle_id="t2",
        shift=TimeWindow(time(10), time(18)),
        break_s=0,
        break_window=None,
    )


def replanned_as(
    day: DayPlan,
    done: Progress,
    city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    inventory: Inventory,
    now: datetime | None = None,
) -> DayPlan:
    """``day`` re-planned (1 s) with ``city``'s readings and reports, ``done``'s truck where
    its progress says, at ``now`` (default: as it finished its last visit done), with the
    inventory ``inventory`` then."""
    new_day, _ = replan_day(
        day,
        [done],
        *city[1:],
        HaversineProvider(),
        now=now or day.at(done.time_s),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=inventory,
    )
    return new_day


def two_trucks(
    city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> tuple[Inventory, DayPlan]:
    """``city`` with t1 limited to one bin and a t2 like it without limit, and their day."""
    inventory, readings, reports = city
    t1 = dataclasses.replace(inventory.vehicles[0], max_stops=1)
    t2 = dataclasses.replace(inventory.vehicles[0], vehicle_id="t2")
    inventory = dataclasses.replace(inventory, vehicles=(t1, t2))
    return inventory, plan_tiny_day(inventory, readings, reports)


def no_plan_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reroute's search finds no plan from the trucks' positions: the plan being driven
    stands (the fallback)."""
    rerouting = importlib.import_module("optimiser.reroute")  # the package names a function so

    def nothing(residual, params, warm, soft):
        left = tuple(Unserved(ref=s.ref, reason="could not fit") for s in residual.stops)
        return Plan(status=PlanStatus.NO_SOLUTION, routes=(), unserved=left)

    monkeypatch.setattr(rerouting, "_search_rest", nothing)


def rerouted_with(
    day: DayPlan, done: Progress, urgent: str, inventory: Inventory
) -> tuple[DayPlan, dict[str, RouteChange]]:
    """``day`` rerouted (1 s) for an alert on ``urgent`` as ``done``'s truck finished its
    last visit done, with the fleet of ``inventory`` then."""
    return reroute_day(
        day,
        [done],
        [urgent],
        HaversineProvider(),
        now=day.at(done.time_s),
        params=SolveParams(time_limit_s=1, seed=1),
        inventory=inventory,
    )


def off_route_city(
    city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> tuple[Inventory, DayPlan, Progress, str, str]:
    """``city`` with two alike trucks of two bins a day, t1 and t2, and their day: t2 after
    its first bin, and a bin t1 still has to empty."""
    inventory, readings, reports = city
    t1 = dataclasses.replace(inventory.vehicles[0], max_stops=2)
    t2 = dataclasses.replace(t1, vehicle_id="t2")
    inventory = dataclasses.replace(inventory, vehicles=(t1, t2))
    day = plan_tiny_day(inventory, readings, reports)
    (done,) = bins_done_by(day, 1, "t2")
    (route,) = [r for r in day.plan.routes if r.vehicle_ref == "t1"]
    return inventory, day, done, route.bin_refs[-1], "t1"
