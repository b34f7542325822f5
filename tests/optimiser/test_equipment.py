"""Bins that need equipment (``Stop.needs``: a crane for an underground container) are
emptied only by trucks that carry it (``VehicleSpec.equipment``), by every engine; the
checker says when a route breaks the rule; a bin no truck can empty is unserved with the
reason; the policy waits for the next truck that carries it."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fleet.models import (
    Bin,
    Depot,
    DisposalSite,
    FillReading,
    Inventory,
    Vehicle,
    next_opportunities,
    taker_key,
)
from network.providers import HaversineProvider
from optimiser.check import check
from optimiser.daily import plan_day, replan_day
from optimiser.params import SolveParams
from optimiser.plan import Plan, UnservedKind
from optimiser.problem import Problem
from optimiser.solve import solve
from tests.optimiser.conftest import Kit

CRANE = frozenset({"crane"})
TZ = ZoneInfo("Europe/Madrid")
MONDAY = date(2026, 12, 7)


def _problem(kit: type[Kit], crane_truck: bool = True) -> Problem:
    """Underground containers u1, u2 (crane) and bins r1-r3 on a line; t1 carries a crane
    (when ``crane_truck``), t2 none; both at the depot 0, the site at 1."""
    points = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0)]
    stops = (
        kit.stop("u1", 2, needs=CRANE),
        kit.stop("r1", 3),
        kit.stop("u2", 4, needs=CRANE),
        kit.stop("r2", 5),
        kit.stop("r3", 6),
    )
    trucks = (  # t1 dearer: without the rule t2 alone would take every bin
        kit.truck("t1", cost_per_km=1000, equipment=CRANE if crane_truck else frozenset()),
        kit.truck("t2"),
    )
    return Problem(matrix=kit.matrix(points), stops=stops, vehicles=trucks, sites=(kit.site(),))


def _trucks_of(plan: Plan) -> dict[str, str]:
    return {ref: r.vehicle_ref for r in plan.routes for ref in r.bin_refs}


@pytest.mark.parametrize("engine", ["auto", "ortools", "pyvrp"])
def test_only_the_crane_truck_empties_the_underground_containers(
    kit: type[Kit], engine: str
) -> None:
    problem = _problem(kit)
    plan = solve(problem, SolveParams(time_limit_s=0.5, first_solution_share=0.5), engine=engine)
    assert check(problem, plan) == []
    by = _trucks_of(plan)
    assert set(by) == {"u1", "u2", "r1", "r2", "r3"}
    assert by["u1"] == by["u2"] == "t1"


def test_without_a_crane_truck_the_containers_are_unserved_with_the_reason(
    kit: type[Kit],
) -> None:
    plan = kit.solved(_problem(kit, crane_truck=False))
    assert set(_trucks_of(plan)) == {"r1", "r2", "r3"}
    unserved = {u.ref: u for u in plan.unserved}
    assert set(unserved) == {"u1", "u2"}
    u1 = unserved["u1"]
    assert u1.kind is UnservedKind.EQUIPMENT
    assert u1.reason.startswith(
        "no truck taking stream 'residual' has the equipment bin u1 needs (crane; t1 has none;"
    )
    assert u1.reason.endswith(
        "add it to a truck's equipment, or correct the bin's needs (names must match exactly)"
    )


def test_the_checker_flags_a_truck_without_the_equipment(kit: type[Kit]) -> None:
    """The planned routes handed to the other truck (the two are alike but for the crane):
    the checker flags each underground container and names the equipment, nothing else."""
    problem = _problem(kit)
    same = tuple(dataclasses.replace(v, cost_per_km=100) for v in problem.vehicles)
    problem = dataclasses.replace(problem, vehicles=same)
    plan = kit.solved(problem)
    swap = {"t1": "t2", "t2": "t1"}
    swapped = tuple(
        dataclasses.replace(
            r,
            vehicle_ref=swap[r.vehicle_ref],
            visits=tuple(  # its start, end (and break) visits name the truck
                dataclasses.replace(v, ref=swap[v.ref]) if v.ref in swap else v for v in r.visits
            ),
        )
        for r in plan.routes
    )
    found = check(problem, dataclasses.replace(plan, routes=swapped))
    assert {(v.code, v.ref) for v in found} == {("equipment", "u1"), ("equipment", "u2")}
    assert all("vehicle has no crane" in v.message for v in found)


def _city(*trucks: Vehicle) -> Inventory:
    bins = (
        Bin(bin_id="u1", lon=2.170, lat=41.387, capacity_l=3000, needs=CRANE),
        Bin(bin_id="r1", lon=2.172, lat=41.388, capacity_l=240),
    )
    return Inventory(
        bins=bins,
        depots=(Depot(depot_id="d", lon=2.168, lat=41.386),),
        vehicles=trucks,
        sites=(DisposalSite(site_id="s", lon=2.18, lat=41.39),),
    )


def _truck(ref: str, **kw: object) -> Vehicle:
    return Vehicle(vehicle_id=ref, depot_id="d", capacity_l=20_000, capacity_kg=9_000, **kw)  # type: ignore[arg-type]


def test_a_day_plan_sends_the_crane_truck_and_says_why_without_one() -> None:
    """In a day's plan the nearly full underground container goes to the crane truck; with
    no crane truck it is unserved (kind equipment) and the bin beside it is emptied."""
    eve = datetime.combine(MONDAY - timedelta(days=1), time(20), tzinfo=TZ)
    readings = [FillReading(bin_id=b, at=eve, fill_fraction=0.95) for b in ("u1", "r1")]
    params = SolveParams(time_limit_s=1.0, seed=1)
    crane = _truck("crane", equipment=CRANE)
    day = plan_day(
        _city(_truck("plain"), crane),
        readings,
        [],
        HaversineProvider(),
        plan_date=MONDAY,
        tz=TZ,
        params=params,
    )
    assert day.violations == ()
    assert _trucks_of(day.plan)["u1"] == "crane"
    alone = plan_day(
        _city(_truck("plain")),
        readings,
        [],
        HaversineProvider(),
        plan_date=MONDAY,
        tz=TZ,
        params=params,
    )
    assert alone.violations == () and alone.plan.served_refs == {"r1"}
    (u,) = alone.unserved
    assert u.ref == "u1" and u.kind is UnservedKind.EQUIPMENT


def test_the_next_opportunity_of_a_bin_that_needs_a_crane_is_the_crane_trucks() -> None:
    """The plain truck works every day, the crane truck only from Wednesday (a downtime
    until then): a crane bin's next opportunity is Wednesday's, its stream's Tuesday's."""
    from fleet.models import Downtime

    crane = _truck("crane", equipment=CRANE)
    until = datetime.combine(MONDAY + timedelta(days=2), time(0), tzinfo=TZ)
    city = dataclasses.replace(
        _city(_truck("plain"), crane),
        downtimes=(Downtime(vehicle_id="crane", start=until - timedelta(days=3), end=until),),
    )
    found = next_opportunities(city, MONDAY, TZ, gap=timedelta(days=1))
    assert found["residual"] == datetime.combine(MONDAY + timedelta(days=1), time(6), tzinfo=TZ)
    assert found[taker_key("residual", CRANE)] == until.replace(hour=6)
    assert taker_key("residual", CRANE) == "residual+crane"
    without = next_opportunities(_city(_truck("plain")), MONDAY, TZ, gap=timedelta(days=1))
    assert taker_key("residual", CRANE) not in without


def test_equipment_names_are_checked() -> None:
    from fleet.errors import FleetDataError

    with pytest.raises(FleetDataError, match="needs has ' crane'"):
        Bin(bin_id="u9", lon=2.17, lat=41.38, capacity_l=3000, needs=frozenset({" crane"}))
    with pytest.raises(FleetDataError, match="equipment has 'a;b'"):
        _truck("t9", equipment=frozenset({"a;b"}))


def test_a_crane_fitted_in_the_morning_counts_from_the_next_plan_of_the_day() -> None:
    """The day is planned without a crane truck (u1 unserved); the truck is listed with a
    crane at 07:00, before it has done anything: the re-plan empties u1 with it."""
    eve = datetime.combine(MONDAY - timedelta(days=1), time(20), tzinfo=TZ)
    readings = [FillReading(bin_id=b, at=eve, fill_fraction=0.95) for b in ("u1", "r1")]
    params = SolveParams(time_limit_s=1.0, seed=1)
    before = _city(_truck("plain"))
    day = plan_day(
        before, readings, [], HaversineProvider(), plan_date=MONDAY, tz=TZ, params=params
    )
    assert [u.ref for u in day.unserved] == ["u1"]
    fitted = _city(_truck("plain", equipment=CRANE))
    at = datetime.combine(MONDAY, time(7), tzinfo=TZ)
    again, _ = replan_day(day, [], readings, [], HaversineProvider(), now=at, inventory=fitted)
    assert again.violations == () and _trucks_of(again.plan)["u1"] == "plain"
