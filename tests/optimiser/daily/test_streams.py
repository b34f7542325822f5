"""Each bin judged at the next opportunity of a truck taking its stream, and in service:
downtimes after the plan date push it later, or leave none (haversine travel)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

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
from optimiser.errors import InvalidProblemError
from optimiser.params import SolveParams
from optimiser.plan import UnservedKind

TZ = ZoneInfo("Europe/Helsinki")
DAY = date(2026, 11, 25)
# 64 % at 06:00 on DAY, 88 % at 06:00 the next day, 92 % at 10:00 (the must_fill 90 %
# between), 94 % at 12:00
RATE_PER_H = 0.01
# 58 % at 06:00 on DAY, 77 % at 06:00 the next day, 96 % at 06:00 the day after
SLOW_PER_H = 0.008
NO_NEXT = "no truck taking stream 'paper' is in service within 14 days: no next opportunity"
OUT = (
    "every truck taking stream '{stream}' is out of service for the rest of the day "
    "({truck}): none can collect it today"
)


def _local(days: int, hour: int = 0) -> datetime:
    """``days`` after DAY at ``hour``, Helsinki time."""
    return datetime.combine(DAY + timedelta(days=days), time(hour), tzinfo=TZ)


def _rising(bin_id: str, rate_per_h: float = RATE_PER_H) -> list[FillReading]:
    """Readings every 2 h on the eve's day, rising by ``rate_per_h`` from 34 % at midnight."""
    t0 = _local(-1)
    return [
        FillReading(bin_id=bin_id, at=t0 + timedelta(hours=h), fill_fraction=0.34 + rate_per_h * h)
        for h in range(0, 20, 2)
    ]


def _city(
    streams: tuple[str, ...], *trucks: Vehicle, downtimes: tuple[Downtime, ...] = ()
) -> Inventory:
    """A bin ``<stream>1`` of each of ``streams`` in a row, ``trucks`` at depot d, and one
    site taking residual and paper."""
    bins = tuple(
        Bin(bin_id=f"{s}1", lon=24.94 + 0.002 * i, lat=60.17, capacity_l=660, stream=s)
        for i, s in enumerate(streams)
    )
    return Inventory(
        bins=bins,
        depots=(Depot(depot_id="d", lon=24.93, lat=60.165),),
        vehicles=trucks,
        sites=(
            DisposalSite(
                site_id="s", lon=24.96, lat=60.18, streams=frozenset({"residual", "paper"})
            ),
        ),
        downtimes=downtimes,
    )


def _truck(vehicle_id: str, stream: str, start: int = 6) -> Vehicle:
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
    inventory = _city(
        ("paper", "residual", "glass"),
        _truck("t_residual", "residual", 6),
        _truck("t_paper", "paper", 10),
    )
    glass = FillReading(bin_id="glass1", at=_local(-1, 18), fill_fraction=0.05)
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
    assert {u.ref: u.reason for u in day.unserved}["glass1"] == (
        "no truck takes stream 'glass' of bin glass1: add the stream to a truck's streams, "
        "or correct the bin's stream"
    )
    assert day.kpis["unserved_must"] == 1


def test_a_replan_keeps_each_streams_next_opportunity(
    day: DayPlan, paper_at_ten: tuple[Inventory, list[FillReading]]
) -> None:
    _, readings = paper_at_ten
    again, _ = replan_day(day, [], readings, [], HaversineProvider(), now=day.at(7 * 3600))
    decisions = {d.bin_id: d for d in again.decisions}
    assert decisions["paper1"].reason.endswith("by 2026-11-26 10:00 (next opportunity)")
    assert decisions["residual1"].reason.endswith("by 2026-11-26 06:00 (next opportunity)")


# ----------------------------------------------------------------------------- downtimes


def _plan(rate_per_h: float, *paper_down: Downtime) -> DayPlan:
    """DAY planned on the eve: a residual and a paper truck 06:00-14:00 (the paper one out
    of service as ``paper_down`` says), a residual and a paper bin filling alike."""
    inventory = _city(
        ("paper", "residual"),
        _truck("t_residual", "residual"),
        _truck("t_paper", "paper"),
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
    reasons = _reasons(_plan(RATE_PER_H, morning))
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
    unserved = {u.ref: u for u in day.unserved}
    assert unserved["paper1"].reason == OUT.format(stream="paper", truck="t_paper")
    assert unserved["paper1"].kind is UnservedKind.OUT_OF_SERVICE
    assert day.kpis["unserved_must"] == 1
    assert "t_paper is out of service from 00:00 (written off): it takes no bins today" in (
        day.plan.notes
    )


# ----------------------------------------------------------------------------- no fleet


def _out_today(until: datetime | None) -> DayPlan:
    """DAY planned with both trucks (residual, paper) out of service from its midnight
    until ``until`` (None: until further notice), a bin of each stream filling alike."""
    downs = tuple(
        Downtime(vehicle_id=v, start=_local(0), end=until) for v in ("t_residual", "t_paper")
    )
    inventory = _city(
        ("paper", "residual"),
        _truck("t_residual", "residual"),
        _truck("t_paper", "paper"),
        downtimes=downs,
    )
    readings = [*_rising("paper1"), *_rising("residual1")]
    params = SolveParams(time_limit_s=1.0, seed=1)
    return plan_day(
        inventory, readings, [], HaversineProvider(), plan_date=DAY, tz=TZ, params=params
    )


def test_with_every_truck_out_for_good_each_bin_is_a_must_bin_unserved_for_that() -> None:
    """No truck in service today nor later: every bin is a must bin (no next opportunity),
    each reported unserved with one reason, its trucks out of service (not a rule of a
    route it could not fit in, nor a plan solved again with it optional)."""
    day = _out_today(None)
    assert {d.bin_id: d.action for d in day.decisions} == {
        "paper1": Action.MUST,
        "residual1": Action.MUST,
    }
    assert {u.ref: (u.kind, u.reason) for u in day.unserved} == {
        "paper1": (UnservedKind.OUT_OF_SERVICE, OUT.format(stream="paper", truck="t_paper")),
        "residual1": (
            UnservedKind.OUT_OF_SERVICE,
            OUT.format(stream="residual", truck="t_residual"),
        ),
    }
    assert day.kpis["unserved_must"] == 2
    assert not day.plan.served_refs
    assert not any("optional" in note for note in day.plan.notes), day.plan.notes
    assert day.violations == ()


def test_with_every_truck_out_today_a_bin_worth_collecting_is_unserved_for_that() -> None:
    """Back tomorrow: the bins, optional today, are unserved as no truck works, not for a
    prize below their cost."""
    day = _out_today(_local(1))
    assert {d.action for d in day.decisions} == {Action.MAY}
    assert {u.ref: u.reason for u in day.unserved} == {
        "paper1": OUT.format(stream="paper", truck="t_paper"),
        "residual1": OUT.format(stream="residual", truck="t_residual"),
    }
    assert day.violations == ()


def test_without_any_truck_a_day_is_not_planned_and_the_error_says_to_add_one() -> None:
    inventory = _city(("paper", "residual"))
    with pytest.raises(InvalidProblemError, match="no vehicle; add at least one"):
        plan_day(
            inventory,
            [*_rising("paper1"), *_rising("residual1")],
            [],
            HaversineProvider(),
            plan_date=DAY,
            tz=TZ,
            params=SolveParams(time_limit_s=1.0, seed=1),
        )


def test_a_loaded_truck_can_unload_only_where_a_site_takes_every_stream_it_collects(kit) -> None:
    """Truck a collects residual and paper, truck b residual; the only site (1 km away,
    open all day) takes residual alone. Both loaded, only b can unload there: the engines
    and the checker unload a truck only where a site takes every stream it collects
    (``optimiser.screen.usable_sites``), so a reroute or re-plan has a come back loaded.
    Before, a site taking one of a's streams counted: a was to unload there, and no plan
    went on from the trucks' positions."""
    from optimiser.daily.stranded import _cannot_unload
    from optimiser.problem import Problem
    from optimiser.reroute import Progress

    both = frozenset({"residual", "paper"})
    trucks = (kit.truck("a", streams=both), kit.truck("b"))
    problem = Problem(
        matrix=kit.matrix([(0, 0), (1, 0), (2, 0)]), stops=(), vehicles=trucks, sites=(kit.site(),)
    )
    nine = 9 * kit.H
    loaded = [
        Progress(vehicle_ref=r, done=(), location=2, time_s=nine, volume_l=100, weight_kg=10)
        for r in ("a", "b")
    ]
    assert _cannot_unload(problem, loaded, nine) == {"a"}
    assert _cannot_unload(problem, loaded, nine) == {"a"}


def test_a_site_open_only_after_a_trucks_shift_is_none_it_can_unload_at(kit) -> None:
    """The only site opens at 19:00 (on a street trucks may drive at night only); trucks a
    (shift to 14:00) and b (to 20:00) are loaded at 09:00: a cannot unload there, b can,
    waiting. Before, a site reached before it closed counted whatever the shift: a and c
    were taken to unload there, which their shifts do not allow. One past its shift end
    (c, reported at 15:00) unloads at a site open then, not later."""
    from optimiser.daily.stranded import _cannot_unload
    from optimiser.problem import Problem
    from optimiser.reroute import Progress

    h = kit.H
    trucks = (kit.truck("a"), kit.truck("b", shift_s=(6 * h, 20 * h)), kit.truck("c"))
    night = kit.site(window_s=(19 * h, 24 * h - 1))
    matrix = kit.matrix([(0, 0), (1, 0), (2, 0)])
    problem = Problem(matrix=matrix, stops=(), vehicles=trucks, sites=(night,))

    def at(hour: int) -> list[Progress]:
        return [
            Progress(vehicle_ref=r, done=(), location=2, time_s=hour * h, volume_l=9, weight_kg=1)
            for r in ("a", "b", "c")
        ]

    assert _cannot_unload(problem, at(9), 9 * h) == {"a", "c"}
    day = dataclasses.replace(problem, sites=(kit.site(),))  # open all day
    assert _cannot_unload(day, at(15), 15 * h) == set()
    assert _cannot_unload(problem, at(15), 15 * h) == {"a", "c"}
