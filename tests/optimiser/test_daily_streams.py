"""Each bin judged at the next opportunity of a truck taking its stream (haversine travel)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fleet.models import (
    Action,
    Bin,
    Depot,
    DisposalSite,
    FillReading,
    Inventory,
    TimeWindow,
    Vehicle,
)
from network.providers import HaversineProvider
from optimiser.daily import DayPlan, plan_day, replan_day
from optimiser.params import SolveParams

TZ = ZoneInfo("Europe/Helsinki")
DAY = date(2026, 11, 25)
RATE_PER_H = 0.01  # 88 % at 06:00 the next day, 92 % at 10:00: the must_fill 90 % between


def _rising(bin_id: str) -> list[FillReading]:
    """Readings every 2 h on the eve's day, rising by RATE_PER_H from 34 % at midnight."""
    t0 = datetime.combine(DAY - timedelta(days=1), time(0), tzinfo=TZ)
    return [
        FillReading(bin_id=bin_id, at=t0 + timedelta(hours=h), fill_fraction=0.34 + RATE_PER_H * h)
        for h in range(0, 20, 2)
    ]


def _truck(vehicle_id: str, stream: str, start: int) -> Vehicle:
    return Vehicle(
        vehicle_id=vehicle_id,
        depot_id="d",
        capacity_l=5000,
        capacity_kg=2000,
        streams=frozenset({stream}),
        shift=TimeWindow(time(start), time(start + 8)),
    )


@pytest.fixture(scope="module")
def paper_at_ten() -> tuple[Inventory, list[FillReading]]:
    """A residual truck from 06:00, a paper truck from 10:00 and no glass truck; a paper, a
    residual and a glass bin filling alike (the glass one nearly empty)."""
    bins = tuple(
        Bin(bin_id=f"{s}1", lon=24.94 + 0.002 * i, lat=60.17, capacity_l=660, stream=s)
        for i, s in enumerate(("paper", "residual", "glass"))
    )
    inventory = Inventory(
        bins=bins,
        depots=(Depot(depot_id="d", lon=24.93, lat=60.165),),
        vehicles=(_truck("t_residual", "residual", 6), _truck("t_paper", "paper", 10)),
        sites=(
            DisposalSite(
                site_id="s", lon=24.96, lat=60.18, streams=frozenset({"residual", "paper"})
            ),
        ),
    )
    glass = FillReading(
        bin_id="glass1",
        at=datetime.combine(DAY - timedelta(days=1), time(18), tzinfo=TZ),
        fill_fraction=0.05,
    )
    return inventory, [*_rising("paper1"), *_rising("residual1"), glass]


@pytest.fixture(scope="module")
def day(paper_at_ten: tuple[Inventory, list[FillReading]]) -> DayPlan:
    inventory, readings = paper_at_ten
    params = SolveParams(time_limit_s=1.0, seed=1)
    return plan_day(
        inventory, readings, [], HaversineProvider(), plan_date=DAY, tz=TZ, params=params
    )


def test_a_paper_bin_is_judged_when_the_paper_truck_comes_next(day: DayPlan) -> None:
    decisions = {d.bin_id: d for d in day.decisions}
    paper, residual = decisions["paper1"], decisions["residual1"]
    assert paper.action is Action.MUST
    assert paper.reason.endswith("by 2026-11-26 10:00 (next opportunity)")
    assert residual.action is Action.MAY  # the same fill, judged at 06:00
    assert residual.reason.endswith("by 2026-11-26 06:00 (next opportunity)")
    assert "paper1" in day.plan.served_refs


def test_a_bin_no_truck_takes_is_unserved_with_the_stream_reason(day: DayPlan) -> None:
    glass = next(d for d in day.decisions if d.bin_id == "glass1")
    assert glass.action is Action.MUST
    assert glass.reason == "no truck takes stream 'glass': no next opportunity"
    assert {u.ref: u.reason for u in day.unserved}["glass1"] == "no vehicle takes stream 'glass'"
    assert day.kpis["unserved_must"] == 1


def test_a_replan_keeps_each_streams_next_opportunity(
    day: DayPlan, paper_at_ten: tuple[Inventory, list[FillReading]]
) -> None:
    _, readings = paper_at_ten
    again, _ = replan_day(day, [], readings, [], HaversineProvider(), now=day.at(7 * 3600))
    decisions = {d.bin_id: d for d in again.decisions}
    assert decisions["paper1"].reason.endswith("by 2026-11-26 10:00 (next opportunity)")
    assert decisions["residual1"].reason.endswith("by 2026-11-26 06:00 (next opportunity)")
