from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from fleet.models import Action, CitizenReport, FillReading
from fleet.policy import CollectionPolicy
from optimiser.params import SolveParams
from scenarios.city import City
from scenarios.config import PolicyConfig
from scenarios.policies import (
    FixedSchedule,
    ForecastRouting,
    PlanContext,
    Threshold,
    fixed_due,
    last_readings,
    make_policy,
)
from tests.scenarios.conftest import TZ

DAY = date(2026, 11, 5)


def _ctx(
    city: City,
    readings: list[FillReading],
    reports: list[CitizenReport],
    day: int,
    last_emptied: dict[str, datetime] | None = None,
) -> PlanContext:
    return PlanContext(
        inventory=city.inventory,
        readings=tuple(readings),
        reports=tuple(reports),
        provider=city.provider,
        plan_date=DAY,
        day_index=day,
        tz=TZ,
        params=SolveParams(time_limit_s=0.3),
        last_emptied=last_emptied or {},
    )


def _readings(levels: dict[str, float]) -> list[FillReading]:
    """Three days of linear readings every 6 h ending at the given levels at midnight."""
    end = datetime(2026, 11, 5, 0, 0, tzinfo=TZ)
    out = []
    for bid, level in levels.items():
        for k in range(12, -1, -1):
            at = end - timedelta(hours=6 * k)
            out.append(FillReading(bin_id=bid, at=at, fill_fraction=max(level - 0.02 * k, 0.0)))
    return out


def test_fixed_schedule_spreads_bins_over_k_days(tiny_city: City) -> None:
    ctx = _ctx(tiny_city, [], [], day=1)
    pol = FixedSchedule("fixed-3d", 3)
    decisions = pol.decide(ctx, ctx.models())
    must = [d.bin_id for d in decisions if d.action is Action.MUST]
    assert must == [f"b{i:02d}" for i in range(12) if (1 + i) % 3 == 0]
    assert all(d.expected_volume_l > 0 for d in decisions if d.action is Action.MUST)
    seen = {i for day in range(3) for i in range(12) if fixed_due(day, i, 3)}
    assert seen == set(range(12))  # every bin once in k days


def test_scheduled_bins_load_what_they_hold_at_the_end_of_the_shifts(tiny_city: City) -> None:
    readings = _readings({"b00": 0.5, "b04": 0.3})  # rising 0.02 per 6 h
    ctx = _ctx(tiny_city, readings, [], day=0)
    assert (ctx.collect_at.hour, ctx.collect_until.hour) == (6, 14)  # the trucks' shift
    models = ctx.models()
    capacity = {b.bin_id: b.capacity_l for b in tiny_city.inventory.bins}
    decisions = {d.bin_id: d for d in FixedSchedule("fixed-1d", 1).decide(ctx, models)}
    for bin_id in ("b00", "b04"):
        d, model = decisions[bin_id], models[bin_id]
        assert d.expected_fill_fraction == pytest.approx(model.fill_at(ctx.collect_at).expected)
        late = model.fill_at(ctx.collect_until).expected
        assert late > d.expected_fill_fraction
        assert d.expected_volume_l == pytest.approx(late * capacity[bin_id])


def test_threshold_takes_full_sensor_bins_reports_and_scheduled_blind_bins(
    tiny_city: City,
) -> None:
    # b00 full (0.85), b01 half (0.4), b02 at the threshold, b03 has no sensor (i % 4 == 3).
    readings = _readings({"b00": 0.85, "b01": 0.4, "b02": 0.7})
    report = CitizenReport(report_id="r1", at=datetime(2026, 11, 4, 20, tzinfo=TZ), bin_id="b05")
    ctx = _ctx(tiny_city, readings, [report], day=0)
    pol = Threshold("thr", 0.7, every_k_days=2)
    by_id = {d.bin_id: d for d in pol.decide(ctx, ctx.models())}
    assert by_id["b00"].action is Action.MUST
    assert by_id["b01"].action is Action.SKIP
    assert by_id["b02"].action is Action.MUST
    assert by_id["b05"].action is Action.MUST and "report" in by_id["b05"].reason
    blind = [f"b{i:02d}" for i in (3, 7, 11)]
    assert [by_id[b].action for b in blind] == [
        Action.MUST if fixed_due(0, i, 2) else Action.SKIP for i in (3, 7, 11)
    ]
    assert last_readings(readings)["b00"] == pytest.approx(0.85)


def test_threshold_ignores_readings_from_before_the_last_emptying(tiny_city: City) -> None:
    """A sensor silent since its bin was emptied: its old high reading is no reason to go
    again; the bin goes on the fixed schedule, as a bin without a reading."""
    shift = timedelta(hours=18)  # the last readings at 06:00 the day before, 85 %
    readings = [
        FillReading(bin_id=r.bin_id, at=r.at - shift, fill_fraction=r.fill_fraction)
        for r in _readings({"b00": 0.85, "b01": 0.85, "b02": 0.85})
    ]
    at9 = datetime(2026, 11, 4, 9, tzinfo=TZ)
    emptied = {"b00": at9, "b01": at9, "b02": at9}  # after the last readings
    later = datetime(2026, 11, 4, 20, tzinfo=TZ)  # b02's sensor speaks again
    readings.append(FillReading(bin_id="b02", at=later, fill_fraction=0.8))
    pol = Threshold("thr", 0.7, every_k_days=2)
    for day in (0, 1):
        ctx = _ctx(tiny_city, readings, [], day=day, last_emptied=emptied)
        by_id = {d.bin_id: d for d in pol.decide(ctx, ctx.models())}
        for i in (0, 1):  # b00 is due on even days, b01 on odd ones
            d = by_id[f"b{i:02d}"]
            assert d.action is (Action.MUST if fixed_due(day, i, 2) else Action.SKIP)
            assert "no reading since emptied" in d.reason
        assert by_id["b02"].action is Action.MUST and "last reading 80%" in by_id["b02"].reason
    assert last_readings(readings, emptied) == {"b02": pytest.approx(0.8)}


def test_every_policy_plans_a_checked_day(tiny_city: City) -> None:
    readings = _readings({f"b{i:02d}": 0.3 + 0.05 * i for i in range(12) if i % 4 != 3})
    ctx = _ctx(tiny_city, readings, [], day=0)
    policies = [
        make_policy(PolicyConfig(name="f", kind="fixed", every_k_days=2)),
        make_policy(PolicyConfig(name="t", kind="threshold", fill_threshold=0.6)),
        make_policy(PolicyConfig(name="p", kind="forecast")),
    ]
    assert isinstance(policies[2], ForecastRouting)
    served = []
    for pol in policies:
        day = pol.plan(ctx)
        assert day.violations == ()
        must = {d.bin_id for d in day.decisions if d.action is Action.MUST}
        assert must <= day.plan.served_refs  # small city: every required bin is served
        served.append(day.plan.served_refs)
    # the forecast policy skips the emptiest bins the fixed schedule would visit
    forecast = ForecastRouting("p", CollectionPolicy(may_fill=0.6)).plan(ctx)
    assert "b00" not in forecast.plan.served_refs
    assert served[0]  # the fixed schedule visits its half of the city
