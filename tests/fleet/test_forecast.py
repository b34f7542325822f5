"""FillModel: fill at a time, weekday factors, overflow time and band."""

from __future__ import annotations

from datetime import UTC

import pytest

from fleet.errors import FleetDataError
from fleet.forecast import FillModel
from tests.fleet.conftest import T0, at


def model(**kw: object) -> FillModel:
    args: dict[str, object] = {
        "bin_id": "b1",
        "anchor_at": T0,
        "anchor_fill": 0.5,
        "anchor_sd": 0.0,
        "rate_per_h": 0.05,
        "rate_sd_per_h": 0.0,
    }
    args.update(kw)
    return FillModel(**args)  # type: ignore[arg-type]


def test_fill_at_is_linear_with_flat_weekdays() -> None:
    m = model()
    assert m.fill_at(at(4)).expected == pytest.approx(0.7)
    assert m.fill_at(at(20)).expected == pytest.approx(1.5)  # overflow volume is kept


def test_time_before_anchor_gives_anchor_state() -> None:
    assert model().fill_at(at(-5)).expected == pytest.approx(0.5)


def test_weekday_factor_applies_on_its_day() -> None:
    # T0 is a Monday 00:00 local; Monday twice as fast as Tuesday.
    m = model(weekday_factors=(2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0), rate_per_h=0.01)
    assert m.fill_at(at(24)).expected == pytest.approx(0.5 + 0.48)
    assert m.fill_at(at(48)).expected == pytest.approx(0.5 + 0.48 + 0.24)


def test_overflow_time_and_window() -> None:
    m = model(rate_sd_per_h=0.01, anchor_sd=0.02)
    w = m.overflow_window(T0)
    assert w.expected is not None and w.early is not None and w.late is not None
    assert abs((w.expected - at(10)).total_seconds()) <= 60
    assert w.early < w.expected < w.late
    half = m.overflow_time(T0, level=0.75)
    assert half is not None
    assert abs((half - at(5)).total_seconds()) <= 60


def test_overflow_none_without_rate_and_now_when_full() -> None:
    assert model(rate_per_h=0.0).overflow_time(T0) is None
    assert model(anchor_fill=1.2).overflow_time(at(3)) == at(3)


def test_band_widens_with_horizon_and_prob_over_increases() -> None:
    m = model(rate_sd_per_h=0.01, anchor_sd=0.02)
    near, far = m.fill_at(at(1)), m.fill_at(at(8))
    assert (near.high - near.low) < (far.high - far.low)
    assert near.low < near.expected < near.high
    assert m.prob_over(at(2)) < m.prob_over(at(8)) < m.prob_over(at(12))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"anchor_at": T0.replace(tzinfo=None)}, "time zone"),
        ({"weekday_factors": (1.0,) * 6}, "7 values"),
        ({"rate_per_h": -0.1}, ">= 0"),
        ({"anchor_fill": float("nan")}, "finite"),
    ],
)
def test_fill_model_validation(kw: dict[str, object], match: str) -> None:
    with pytest.raises(FleetDataError, match=match):
        model(**kw)


def test_naive_query_time_rejected() -> None:
    with pytest.raises(FleetDataError, match="add an offset"):
        model().fill_at(T0.replace(tzinfo=None))


def test_risk_time_comes_before_the_expected_time_by_the_spread() -> None:
    m = model(rate_sd_per_h=0.005, anchor_sd=0.05)  # expected 100 % at 10 h
    expected = m.overflow_time(T0)
    early = m.risk_time(T0, 0.1)
    assert expected is not None and early is not None
    assert abs((m.risk_time(T0, 0.5) - expected).total_seconds()) <= 15 * 60  # type: ignore[operator]
    assert early < expected
    assert m.prob_over(early) == pytest.approx(0.1, abs=0.02)
    assert model().risk_time(T0, 0.1) == model().overflow_time(T0)  # no spread: no margin
    with pytest.raises(FleetDataError, match="risk"):
        m.risk_time(T0, 1.0)


def test_the_same_instant_forecasts_the_same_across_a_dst_change() -> None:
    """Helsinki springs forward at 03:00 on 2026-03-29. A model anchored the day before
    (local time) and asked in local or UTC time answers by the real hours between: 24 h
    later it has gained 24 h of fill, and it is full 48 h after the anchor, never before
    the time asked from."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    hel = ZoneInfo("Europe/Helsinki")
    anchor = datetime(2026, 3, 28, 12, 0, tzinfo=hel)
    m = model(anchor_at=anchor, anchor_fill=0.0, rate_per_h=1 / 48)
    day_after = anchor.astimezone(UTC) + timedelta(hours=24)
    assert m.fill_at(day_after).expected == pytest.approx(0.5)
    assert m.fill_at(day_after.astimezone(hel)).expected == pytest.approx(0.5)
    full = m.overflow_time(anchor)
    assert full is not None
    assert (full.astimezone(UTC) - anchor.astimezone(UTC)) == timedelta(hours=48)
    later = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)  # past 0.5 already
    half = m.overflow_time(later.astimezone(hel), level=0.5)
    assert half is not None and half >= later
