"""Weighed bins, weights alone, frozen and askew sensors in the daily plans, on the tiny city."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from fleet.fill import SensorCheck
from fleet.models import (
    MAX_FILL,
    Action,
    BinDecision,
    CitizenReport,
    FillReading,
    Inventory,
    PickupRecord,
    TimeWindow,
)
from network.providers import HaversineProvider
from optimiser.check import check_reroute
from optimiser.daily import DayPlan, replan_day
from optimiser.export import plan_json
from optimiser.params import SolveParams
from optimiser.plan import VisitKind
from optimiser.problem import bin_of
from tests.optimiser.conftest import route_work
from tests.optimiser.daily.city import (
    DAY,
    TZ,
    alerted_day,
    bins_done_by,
    local_time,
    plan_tiny_day,
    replanned_as,
    replanned_day,
    rerouted_with,
)


def _weighed(readings: list[FillReading]) -> list[FillReading]:
    """``readings`` with b0's and b1's (660 l) weighing their contents at 0.5 kg/l."""
    return [
        dataclasses.replace(r, weight_kg=r.fill_fraction * 660 * 0.5)
        if r.bin_id in ("b0", "b1")
        else r
        for r in readings
    ]


@pytest.fixture(scope="module")
def weighed_day(tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]) -> DayPlan:
    """The tiny city's day with b0 and b1 weighing their contents at 0.5 kg/l (the
    inventory sets no density: residual's default is 0.10)."""
    inventory, readings, reports = tiny_city
    return plan_tiny_day(inventory, _weighed(readings), reports)


def test_plan_day_loads_weighed_bins_at_their_measured_density(
    day: DayPlan, weighed_day: DayPlan
) -> None:
    for ref in ("b0", "b1"):
        plain, weighed = day.built.problem.stop(ref), weighed_day.built.problem.stop(ref)
        assert weighed.volume_l == plain.volume_l > 0
        assert plain.weight_kg == pytest.approx(plain.volume_l * 0.10, abs=1)
        assert weighed.weight_kg == pytest.approx(weighed.volume_l * 0.5, abs=1)
    assert weighed_day.built.problem.stop("b2").weight_kg == 66  # reported full: 660 l at 0.10
    assert weighed_day.violations == ()
    note = "2 bin(s) loaded at the density their weights show (0.50 kg/l)"
    assert any(n.startswith(note) for n in weighed_day.plan.notes), weighed_day.plan.notes
    assert not any("weighing" in n for n in day.plan.notes)


# Three earlier cycles of b0, each read at 0.6 an hour before a truck found it at 0.6.
_CYCLES = [datetime.combine(DAY - timedelta(days=d), time(8), tzinfo=TZ) for d in (6, 5, 4)]


_CYCLE_READINGS = [
    FillReading(bin_id="b0", at=t - timedelta(hours=1), fill_fraction=0.6) for t in _CYCLES
]


_CYCLE_PICKUPS = [PickupRecord(bin_id="b0", at=t, fill_fraction=0.6) for t in _CYCLES]


def _weighs_only(readings: list[FillReading], kg_per_l: float = 0.05) -> list[FillReading]:
    """``readings`` with b0's (660 l) as a sensor that only weighs sends them, its waste at
    ``kg_per_l``, stored at residual's default 0.10 (at 0.05: each fill read as half the
    true one), at most MAX_FILL."""
    return [
        FillReading(
            bin_id=r.bin_id,
            at=r.at,
            fill_fraction=min(r.fill_fraction * kg_per_l / 0.10, MAX_FILL),
            weight_kg=r.fill_fraction * 660 * kg_per_l,
            fill_from_weight=True,
        )
        if r.bin_id == "b0"
        else r
        for r in readings
    ]


def test_a_bin_that_only_weighs_learns_its_density_from_the_pickups(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """The pickups' fills over the weights read just before show 0.05 kg/l: b0's fills are
    derived again at it, and it is planned as with a level sensor; without the pickups,
    its fills stay half the true ones."""
    inventory, readings, reports = tiny_city
    level = [*_CYCLE_READINGS, *readings]
    by_level = plan_tiny_day(inventory, level, reports, pickups=_CYCLE_PICKUPS)
    by_weight = plan_tiny_day(inventory, _weighs_only(level), reports, pickups=_CYCLE_PICKUPS)
    unlearnt = plan_tiny_day(inventory, _weighs_only(level), reports)

    def b0(day: DayPlan) -> BinDecision:
        return next(d for d in day.decisions if d.bin_id == "b0")

    true_fill = b0(by_level).expected_fill_fraction
    assert b0(by_weight).expected_fill_fraction == pytest.approx(true_fill)
    assert b0(by_weight).action == b0(by_level).action
    assert b0(unlearnt).expected_fill_fraction < 0.6 * true_fill
    stop = by_weight.built.problem.stop("b0")
    assert stop.weight_kg == pytest.approx(stop.volume_l * 0.05, abs=1)
    note = "1 bin(s) loaded at the density their weights show (0.05 kg/l)"
    assert any(n.startswith(note) for n in by_weight.plan.notes), by_weight.plan.notes
    assert by_weight.violations == ()


def test_a_bin_that_weighs_more_than_it_holds_is_named_until_the_pickups_teach_it(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """b0's waste weighs 0.25 kg/l, 2.5 times residual's default: its heavier weights are
    stored at MAX_FILL and the plan names it; the pickups' fills over those weights teach
    0.25 kg/l, its fills are derived again (none above MAX_FILL) and no note is left."""
    inventory, readings, reports = tiny_city
    heavy = _weighs_only([*_CYCLE_READINGS, *readings], kg_per_l=0.25)
    assert any(r.fill_fraction == MAX_FILL for r in heavy if r.bin_id == "b0")
    unlearnt = plan_tiny_day(inventory, heavy, reports)
    learnt = plan_tiny_day(inventory, heavy, reports, pickups=_CYCLE_PICKUPS)
    said = "the weights of 1 bin(s) are more than 1.5 times what they hold at their density (b0"
    assert any(n.startswith(said) for n in unlearnt.plan.notes), unlearnt.plan.notes
    assert not any("more than 1.5 times" in n for n in learnt.plan.notes), learnt.plan.notes
    note = "1 bin(s) loaded at the density their weights show (0.25 kg/l)"
    assert any(n.startswith(note) for n in learnt.plan.notes), learnt.plan.notes
    assert unlearnt.violations == () and learnt.violations == ()


def _alert_on_a_weighed_bin(day: DayPlan, inventory: Inventory) -> tuple[DayPlan, str]:
    """t1 has emptied its first bin; an alert names b0 or b1 (one it has not emptied),
    rerouted with ``inventory`` as it is now (no measured densities): the new day and the
    bin."""
    (done,) = bins_done_by(day, 1)
    later = next(b for b in ("b0", "b1") if b not in done.done)
    new_day, _ = alerted_day(day, later, inventory=inventory)
    return new_day, later


def test_a_reroute_loads_a_weighed_bin_as_its_day_did(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]], weighed_day: DayPlan
) -> None:
    """The service reroutes with the inventory as it is now, which has no measured
    densities: an alert on a weighed bin loads it full at the density the day was planned
    with."""
    new_day, later = _alert_on_a_weighed_bin(weighed_day, tiny_city[0])
    stop = new_day.built.problem.stop(later)
    assert (stop.volume_l, stop.weight_kg) == (660, 330)
    assert later in new_day.plan.served_refs and new_day.violations == ()


@pytest.fixture(scope="module")
def weighed_replan(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]], day: DayPlan
) -> DayPlan:
    """``day`` (planned before b0 and b1 were weighed) re-planned at 07:00 from readings that
    weigh them at 0.5 kg/l (1 s)."""
    _, readings, reports = tiny_city
    replanned, _ = replan_day(
        day,
        [],
        _weighed(readings),
        reports,
        HaversineProvider(),
        now=local_time(7),
        params=SolveParams(time_limit_s=1, seed=1),
    )
    return replanned


def test_a_replan_loads_weighed_bins_at_their_measured_density(weighed_replan: DayPlan) -> None:
    """The bins still to do are loaded at the density the re-plan measured, with the note."""
    for ref in ("b0", "b1"):
        stop = weighed_replan.built.problem.stop(ref)
        assert stop.weight_kg == pytest.approx(stop.volume_l * 0.5, abs=1)
    assert any("2 bin(s) loaded at the density" in n for n in weighed_replan.plan.notes)
    assert weighed_replan.violations == ()


def test_a_reroute_after_a_replan_loads_bins_as_the_replan_did(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]], weighed_replan: DayPlan
) -> None:
    """b0 and b1 were first weighed by the re-plan: an alert on one of them after it loads it
    full at that density."""
    new_day, later = _alert_on_a_weighed_bin(weighed_replan, tiny_city[0])
    stop = new_day.built.problem.stop(later)
    assert (stop.volume_l, stop.weight_kg) == (660, 330)
    assert new_day.violations == ()


@pytest.mark.parametrize("changed", [date(2026, 3, 29), date(2026, 10, 25)])
def test_notes_read_the_local_clock_on_a_day_the_clocks_change(
    day: DayPlan,
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    changed: date,
) -> None:
    """On the days Helsinki's clocks change, site s is taken off the list as t1 empties its
    first bin and b5 is alerted: the reroute's note says from when no truck unloads there in
    the local clock, as the plan's times read (it said an hour off: solver seconds elapsed
    since midnight read as a clock time)."""
    on = dataclasses.replace(day, plan_date=changed)
    (done,) = bins_done_by(on, 1)
    new_day, _ = rerouted_with(on, done, "b5", dataclasses.replace(tiny_city[0], sites=()))
    (site,) = on.built.problem.sites
    closed = on.at(max(site.window_s[0], min(site.window_s[1], done.time_s)))
    shown = closed.strftime("%H:%M" if closed.second == 0 else "%H:%M:%S")
    assert closed.hour >= 4  # after the change
    assert f"disposal site s is no longer listed: no truck unloads there from {shown}" in (
        new_day.plan.notes
    )


@pytest.mark.parametrize("minutes", [-5, 5])
def test_an_emptying_logged_a_little_after_the_replan_is_not_planned_again(
    day: DayPlan,
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    minutes: int,
) -> None:
    """t1 emptied its first bin; the log dates that emptying 5 min before the re-plan at
    10:00, or 5 min after it (a tablet's clock ahead, which the service allows): either way
    the bin is not visited again (after it, the forecast left the emptying out and sent
    the truck back to it, b#2)."""
    (done,) = bins_done_by(day, 1)
    first = bin_of(done.done[-1])
    now = local_time(10)
    logged = {first: now + timedelta(minutes=minutes)}
    pickups = [PickupRecord(bin_id=first, at=logged[first], fill_fraction=0.8)]
    new_day, _, _ = replanned_day(day, tiny_city, now, [], [], last_emptied=logged, pickups=pickups)
    assert new_day.violations == ()
    assert sorted(r for r in new_day.plan.served_refs if bin_of(r) == first) == [first]


def test_a_bin_whose_sensor_froze_is_collected_and_the_plan_says_so(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """b5's sensor rose 1 %/h for a day, then read 29 % every 6 h for three days: taken at
    its word, b5 was nearly empty and skipped. Its fill is now forecast past 29 % (over
    100 % by the shift), it is collected, and a note asks the dispatcher to check the sensor."""
    inventory, readings, reports = tiny_city
    t0 = datetime.combine(DAY - timedelta(days=4), time(0), tzinfo=TZ)
    frozen = [(h, 0.05 + 0.01 * h) for h in range(0, 25, 6)] + [(h, 0.29) for h in range(30, 97, 6)]
    b5 = [FillReading(bin_id="b5", at=t0 + timedelta(hours=h), fill_fraction=f) for h, f in frozen]
    made = plan_tiny_day(inventory, [r for r in readings if r.bin_id != "b5"] + b5, reports)
    assert {d.bin_id: d.action for d in made.decisions}["b5"] is Action.MUST
    assert "b5" in made.plan.served_refs and made.violations == ()
    (note,) = [n for n in made.plan.notes if n.startswith("bin b5: its sensor")]
    assert note.startswith(
        "bin b5: its sensor has read 29% at each of its 13 readings 2026-11-22 00:00"
    )
    assert made.sensor_checks == (SensorCheck(bin_id="b5", issue="stuck", note=note),)


_B3_MORNING = datetime.combine(DAY - timedelta(days=1), time(6, 30), tzinfo=TZ)


def _read_b3(readings: list[FillReading], first: float, then: float) -> list[FillReading]:
    """``readings`` with b3's sensor reading ``first`` at 04:30 and ``then`` at 06:30 the
    day before DAY, instead of its readings of 04:30 - 07:30."""
    start, end = _B3_MORNING - timedelta(hours=2), _B3_MORNING + timedelta(hours=1)
    kept = [r for r in readings if r.bin_id != "b3" or not start <= r.at <= end]
    return kept + [
        FillReading(bin_id="b3", at=_B3_MORNING - timedelta(hours=h), fill_fraction=f)
        for h, f in ((2, first), (0, then))
    ]


def _found_b3(fill: float) -> PickupRecord:
    """b3 emptied at 07:30 the day before DAY, found ``fill`` full."""
    return PickupRecord(bin_id="b3", at=_B3_MORNING + timedelta(hours=1), fill_fraction=fill)


def test_a_sensor_reading_below_its_crews_fills_is_corrected_in_the_plan(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """b4 fills 3.5 % an hour and is emptied at 08:00 every day, found 84 % full; its
    sensor reads 35 points below (0 below that), so at 06:00 on DAY it reads 42 % when the
    bin is 77 % full. The plan takes b4 at 77 %, not 42 %, and its notes say the readings
    were raised, and do not also call it a sensor reading too empty at one pickup."""
    inventory, readings, reports = tiny_city
    t0 = datetime.combine(DAY - timedelta(days=4), time(0), tzinfo=TZ)
    true = [(h, 0.035 * ((h - 8) % 24)) for h in range(4 * 24 + 7)]
    b4 = [
        FillReading(bin_id="b4", at=t0 + timedelta(hours=h), fill_fraction=max(f - 0.35, 0.0))
        for h, f in true
    ]
    found = [
        PickupRecord(bin_id="b4", at=t0 + timedelta(days=k, hours=8), fill_fraction=0.84)
        for k in range(1, 4)
    ]
    kept = [r for r in readings if r.bin_id != "b4"] + b4
    as_read = plan_tiny_day(inventory, kept, reports, pickups=[])
    day = plan_tiny_day(inventory, kept, reports, pickups=found)
    fill = {d.bin_id: d.expected_fill_fraction for d in day.decisions}
    assert {d.bin_id: d.expected_fill_fraction for d in as_read.decisions}["b4"] < 0.5
    assert fill["b4"] == pytest.approx(0.77, abs=0.04)
    (note,) = [n for n in day.plan.notes if n.startswith("bin b4:")]
    pct = re.match(r"bin b4: its sensor read (\d+)% below", note)
    assert pct is not None and 33 <= int(pct.group(1)) <= 38, note  # grown at the rate read
    assert note == (
        f"bin b4: its sensor read {pct.group(1)}% below the fill its crews found at its last 3 "
        f"pickups (the latest {DAY - timedelta(days=1)} 08:00): its readings are raised by "
        "that much for its forecast; check the sensor (its mounting, or the bin depth it is "
        "set to)"
    )
    # the maintenance list, in the plan and in plan.json
    assert day.sensor_checks == (SensorCheck(bin_id="b4", issue="offset", note=note),)
    assert plan_json(day)["sensor_checks"] == [{"bin_id": "b4", "issue": "offset", "note": note}]
    assert as_read.sensor_checks == () and plan_json(as_read)["sensor_checks"] == []


@pytest.mark.parametrize(
    ("first", "then", "found", "why"),
    [
        (
            0.94,
            0.95,
            0.2,
            "the sensor reads too full (stuck, dirty, or a bag on it) and may call the bin "
            "full again",
        ),
        (
            0.08,
            0.1,
            0.9,
            "the sensor reads too empty (tilted, its echo off a wall or a bulky item) and may "
            "let the bin overflow unplanned, unless waste was dumped in it meanwhile",
        ),
    ],
)
def test_a_plan_names_a_sensor_its_crew_found_reading_too_full_or_too_empty(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    first: float,
    then: float,
    found: float,
    why: str,
) -> None:
    """b3's sensor read 94 % at 04:30 and 95 % at 06:30 the day before, and its crew
    emptied it at 07:30 and found it 20 % full (it will call the bin full again); or it
    read 8 % and 10 %, and the crew found it 90 % full, which b3's fill rate cannot explain
    (its forecast may let it overflow unplanned): the plan's notes tell the dispatcher to
    check that sensor, and name no other bin."""
    inventory, readings, reports = tiny_city
    day = plan_tiny_day(
        inventory, _read_b3(readings, first, then), reports, pickups=[_found_b3(found)]
    )
    checks = [n for n in day.plan.notes if "check the sensor" in n and "too " in n]
    before = DAY - timedelta(days=1)
    assert checks == [
        f"bin b3: its sensor read {first:.0%} at {before} 04:30 and {then:.0%} at {before} "
        f"06:30, its crew found it {found:.0%} full at 07:30: {why}; check the sensor"
    ]
    issue = "reads_too_full" if first > found else "reads_too_empty"
    assert day.sensor_checks == (SensorCheck(bin_id="b3", issue=issue, note=checks[0]),)


@pytest.mark.parametrize(
    "change",
    [
        {"unload_s": 300},
        {"opening": TimeWindow(time(12), time(16))},
        {"streams": frozenset({"organic"})},
        {"lon": 24.97},
    ],
    ids=["unloading time", "hours", "streams", "position"],
)
def test_a_site_changed_during_the_day_keeps_the_unloadings_done_there(
    day: DayPlan,
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
    change: dict[str, Any],
) -> None:
    """t1 unloaded at s; then the city changes s's record (its unloading time, its hours,
    the streams it takes, its position corrected) and the day is re-planned: the unloading
    done stands as it was made, judged by the record it was made under, and the new record
    holds from then, with a note. Before, the re-plan judged it by the new record: a 15 min
    unloading "inconsistent with a 300 s visit", outside the new hours, or refused its
    stream; and a site moved kept its old position for the rest of the day."""
    (done,) = bins_done_by(day, 2)
    work = route_work(day, "t1")
    unload = next(v for v in work if v.kind is VisitKind.DISPOSAL)
    assert unload.ref in done.done and unload.start_s < 12 * 3600
    inventory = tiny_city[0]
    (site,) = inventory.sites
    changed = dataclasses.replace(inventory, sites=(dataclasses.replace(site, **change),))
    new_day = replanned_as(day, done, tiny_city, changed)
    assert new_day.violations == ()
    assert check_reroute(new_day.built.problem, day.plan, new_day.plan, [done]) == []
    route = next(r for r in new_day.plan.routes if r.vehicle_ref == "t1")
    assert unload in route.visits  # as made
    listed = new_day.built.problem.site("s")
    assert listed.at(unload.start_s).unload_s == 900
    assert listed.at(done.time_s).unload_s == change.get("unload_s", 900)
    assert any(
        n.startswith("disposal site s's ") and "stand as made" in n for n in new_day.plan.notes
    )
    later = [v for v in route.visits if v.kind is VisitKind.DISPOSAL and v.start_s > done.time_s]
    assert all(v.end_s - v.start_s == change.get("unload_s", 900) for v in later)
    assert all(v.location == listed.location for v in later)
    moved = new_day.built.problem.matrix.points[listed.location] != (site.lon, site.lat)
    assert moved is ("lon" in change)
    assert (listed.location == unload.location) is ("lon" not in change)
