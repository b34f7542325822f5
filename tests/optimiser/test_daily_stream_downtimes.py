"""A stream's next opportunity is its next truck in service: downtimes after the plan date
push it later, or leave none (haversine travel)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fleet.models import (
    Action,
    Bin,
    Depot,
    DisposalSite,
    Downtime,
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
# 58 % at 06:00 on DAY, 77 % at 06:00 the next day, 96 % at 06:00 the day after
SLOW_PER_H = 0.008
# 64 % at 06:00 on DAY, 88 % at 06:00 the next day, 94 % at 12:00 that day
FAST_PER_H = 0.01
NO_NEXT = "no truck taking stream 'paper' is in service within 14 days: no next opportunity"


def _local(days: int, hour: int = 0) -> datetime:
    """``days`` after DAY at ``hour``, Helsinki time."""
    return datetime.combine(DAY + timedelta(days=days), time(hour), tzinfo=TZ)


def _rising(bin_id: str, rate_per_h: float) -> list[FillReading]:
    """Readings every 2 h on the eve's day, rising by ``rate_per_h`` from 34 % at midnight."""
    t0 = _local(-1)
    return [
        FillReading(bin_id=bin_id, at=t0 + timedelta(hours=h), fill_fraction=0.34 + rate_per_h * h)
        for h in range(0, 20, 2)
    ]


def _truck(vehicle_id: str, stream: str) -> Vehicle:
    return Vehicle(
        vehicle_id=vehicle_id,
        depot_id="d",
        capacity_l=5000,
        capacity_kg=2000,
        streams=frozenset({stream}),
        shift=TimeWindow(time(6), time(14)),
    )


def _plan(rate_per_h: float, *paper_down: Downtime) -> DayPlan:
    """DAY planned on the eve: a residual and a paper truck 06:00-14:00 (the paper one out
    of service as ``paper_down`` says), a residual and a paper bin filling alike."""
    bins = tuple(
        Bin(bin_id=f"{s}1", lon=24.94 + 0.002 * i, lat=60.17, capacity_l=660, stream=s)
        for i, s in enumerate(("paper", "residual"))
    )
    inventory = Inventory(
        bins=bins,
        depots=(Depot(depot_id="d", lon=24.93, lat=60.165),),
        vehicles=(_truck("t_residual", "residual"), _truck("t_paper", "paper")),
        sites=(
            DisposalSite(
                site_id="s", lon=24.96, lat=60.18, streams=frozenset({"residual", "paper"})
            ),
        ),
        downtimes=paper_down,
    )
    readings = [*_rising("paper1", rate_per_h), *_rising("residual1", rate_per_h)]
    params = SolveParams(time_limit_s=1.0, seed=1)
    return plan_day(
        inventory, readings, [], HaversineProvider(), plan_date=DAY, tz=TZ, params=params
    )


def _reasons(day: DayPlan) -> dict[str, tuple[Action, str]]:
    return {d.bin_id: (d.action, d.reason) for d in day.decisions}


def test_a_bin_whose_truck_is_out_all_tomorrow_is_judged_the_day_after() -> None:
    """The paper truck is in the workshop all tomorrow: the paper bin, 77 % tomorrow and
    96 % the day after, is a must bin today; the residual bin, filling alike, is not."""
    workshop = Downtime(vehicle_id="t_paper", start=_local(1), end=_local(2), reason="service")
    day = _plan(SLOW_PER_H, workshop)
    reasons = _reasons(day)
    paper, residual = reasons["paper1"], reasons["residual1"]
    assert paper[0] is Action.MUST
    assert paper[1].endswith("by 2026-11-27 06:00 (next opportunity)"), paper
    assert residual[0] is Action.MAY
    assert residual[1].endswith("by 2026-11-26 06:00 (next opportunity)"), residual
    assert "paper1" in day.plan.served_refs
    again, _ = replan_day(
        day,
        [],
        [*_rising("paper1", SLOW_PER_H), *_rising("residual1", SLOW_PER_H)],
        [],
        HaversineProvider(),
        now=day.at(7 * 3600),
    )
    assert _reasons(again)["paper1"] == paper  # a re-plan judges it alike


def test_a_truck_out_for_the_morning_tomorrow_is_the_next_opportunity_when_back() -> None:
    """Out tomorrow until 12:00, within its shift: the paper bin is judged at 12:00 (94 %,
    a must bin), not at 06:00 (88 %)."""
    morning = Downtime(vehicle_id="t_paper", start=_local(1), end=_local(1, 12))
    reasons = _reasons(_plan(FAST_PER_H, morning))
    assert reasons["paper1"][0] is Action.MUST
    assert reasons["paper1"][1].endswith("by 2026-11-26 12:00 (next opportunity)")
    assert reasons["residual1"][0] is Action.MAY


def test_a_bin_whose_truck_is_out_until_further_notice_from_tomorrow_goes_today() -> None:
    """The paper truck works today, then is out until further notice: today is the paper
    bin's last chance; it is a must bin and collected."""
    gone = Downtime(vehicle_id="t_paper", start=_local(1), reason="written off")
    day = _plan(SLOW_PER_H, gone)
    assert _reasons(day)["paper1"] == (Action.MUST, NO_NEXT)
    assert "paper1" in day.plan.served_refs
    assert day.kpis["unserved_must"] == 0


def test_a_bin_whose_truck_is_out_from_today_until_further_notice_is_unserved() -> None:
    """Out from today: today's routing gives the paper truck no bin (as before), and the
    paper bin, a must bin with no next opportunity, is reported unserved."""
    gone = Downtime(vehicle_id="t_paper", start=_local(0), reason="written off")
    day = _plan(SLOW_PER_H, gone)
    assert _reasons(day)["paper1"] == (Action.MUST, NO_NEXT)
    unserved = {u.ref: u.reason for u in day.unserved}
    assert unserved["paper1"] == "could not fit in any route: out of service (t_paper)"
    assert day.kpis["unserved_must"] == 1
    assert "t_paper is out of service from 00:00 (written off): it takes no bins today" in (
        day.plan.notes
    )
