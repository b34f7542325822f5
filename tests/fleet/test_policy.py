"""Collection policy: classification boundaries, reports, loads and prizes."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any

import pytest

from fleet.errors import FleetDataError
from fleet.forecast import FillModel
from fleet.models import Action, CitizenReport
from fleet.policy import CollectionPolicy, decide
from tests.fleet.conftest import at, make_bin

COLLECT = at(7)
NEXT = at(31)


def flat(fill: float, *, sd: float = 0.0, bin_id: str = "b1", **kw: object) -> FillModel:
    """A model whose fill stays at ``fill`` (no growth) with state sd ``sd``."""
    args: dict[str, object] = {
        "bin_id": bin_id,
        "anchor_at": at(0),
        "anchor_fill": fill,
        "anchor_sd": sd,
        "rate_per_h": 0.0,
        "rate_sd_per_h": 0.0,
    }
    args.update(kw)
    return FillModel(**args)  # type: ignore[arg-type]


def one(model: FillModel, policy: CollectionPolicy | None = None, reports=()):
    b = make_bin(model.bin_id)
    (d,) = decide(
        [b],
        {b.bin_id: model},
        collect_at=COLLECT,
        next_opportunity=NEXT,
        reports=reports,
        policy=policy,
    )
    return d


@pytest.mark.parametrize(
    ("fill", "action"),
    [
        (1.20, Action.MUST),
        (0.90, Action.MUST),
        (0.899, Action.MAY),
        (0.50, Action.MAY),
        (0.499, Action.SKIP),
        (0.0, Action.SKIP),
    ],
)
def test_classification_boundaries(fill: float, action: Action) -> None:
    d = one(flat(fill), CollectionPolicy(must_fill=0.9, may_fill=0.5))
    assert d.action is action


@pytest.mark.parametrize(
    ("fill", "said"), [(0.4996, "forecast 49.9% "), (0.49, "forecast 49% "), (0.2, "forecast 20% ")]
)
def test_a_skipped_bins_fill_never_reads_as_the_threshold_it_is_below(
    fill: float, said: str
) -> None:
    """A bin at 49.96 % is below may_fill 50 %: its reason must not say 'forecast 50% ...
    below may_fill 50%'."""
    d = one(flat(fill), CollectionPolicy(may_fill=0.5))
    assert d.action is Action.SKIP
    assert d.reason.startswith(said), d.reason
    assert d.reason.endswith("below may_fill 50%")


def test_an_optional_bins_risk_never_reads_as_the_must_risk_it_is_below() -> None:
    """Overflow risk 29.96 % by the next opportunity, must_risk 30 %: a may bin whose
    reason says 29.9 %, not 30 %."""
    sd = 0.4 / NormalDist().inv_cdf(1 - 0.2996)  # 60 % full, P(fill >= 1) = 0.2996
    d = one(flat(0.6, sd=sd), CollectionPolicy(must_risk=0.3))
    assert d.action is Action.MAY
    assert ", overflow risk 29.9% by " in d.reason, d.reason


def test_forecast_reason_names_the_next_opportunity() -> None:
    # 0.6 at collection, +0.02/h for 24 h -> 1.08 at the next opportunity
    m = flat(0.6 - 0.14, rate_per_h=0.02)
    d = one(m)
    assert d.action is Action.MUST
    assert d.reason == "forecast 108% by 2026-11-03 07:00 (next opportunity)"
    assert d.expected_fill_fraction == pytest.approx(0.6)


def test_risk_rule_uses_the_band() -> None:
    m = flat(0.8, sd=0.5)  # P(fill >= 1) = 1 - Phi(0.4) ~ 0.345
    assert one(m, CollectionPolicy(must_risk=0.3)).action is Action.MUST
    assert "overflow risk 34%" in one(m, CollectionPolicy(must_risk=0.3)).reason
    assert one(m, CollectionPolicy(must_risk=0.4)).action is Action.MAY


def test_citizen_report_forces_must() -> None:
    r = CitizenReport(report_id="r17", at=at(5), bin_id="b1", text="overflowing")
    d = one(flat(0.1), reports=[r])
    assert d.action is Action.MUST
    assert d.reason == "citizen report r17: overflowing"


@pytest.mark.parametrize(
    "report",
    [
        CitizenReport(report_id="old", at=at(1), bin_id="b1"),  # before the last emptying
        CitizenReport(report_id="late", at=at(8), bin_id="b1"),  # after collect_at
        CitizenReport(report_id="ok", at=at(5), bin_id="b1", overflowing=False),
    ],
    ids=["stale", "future", "not-overflowing"],
)
def test_reports_that_do_not_count(report: CitizenReport) -> None:
    d = one(flat(0.1, last_emptying_at=at(2)), reports=[report])
    assert d.action is Action.SKIP


def test_loads_and_prize() -> None:
    p = CollectionPolicy(prize_base=1.0, prize_per_fill=10.0, prize_per_risk=40.0)
    d = one(flat(0.6), p)
    assert d.action is Action.MAY
    assert d.prize == pytest.approx(1.0 + 6.0)
    assert d.expected_volume_l == pytest.approx(660.0)
    assert d.expected_weight_kg == pytest.approx(66.0)  # residual: 0.10 kg/l


def test_overflowing_bin_loads_its_capacity() -> None:
    d = one(flat(1.3))
    assert (d.action, d.prize) == (Action.MUST, 0.0)
    assert d.expected_fill_fraction == pytest.approx(1.3)
    assert d.expected_volume_l == pytest.approx(1100.0)


def test_loads_are_planned_at_the_latest_time_the_bin_may_be_collected() -> None:
    """0.5 at 07:00 plus 2 %/h: the rules read 07:00, the truck may come until 14:00 (0.64)."""
    b = make_bin()
    rising = flat(0.5, anchor_at=COLLECT, rate_per_h=0.02)

    def load(model: FillModel, **kw: Any) -> tuple[float, Any]:
        (d,) = decide([b], {b.bin_id: model}, collect_at=COLLECT, next_opportunity=NEXT, **kw)
        return d.expected_volume_l, d

    volume, d = load(rising, collect_until=at(14))
    assert d.expected_fill_fraction == pytest.approx(0.5)
    assert volume == pytest.approx(0.64 * 1100)
    assert load(rising)[0] == pytest.approx(0.5 * 1100)  # no end given: loads at collect_at
    # a deadline before the end: loaded with what the bin holds then (0.7 + 5 %/h, sd 0.05)
    fast = flat(0.7, sd=0.05, anchor_at=COLLECT, rate_per_h=0.05)
    volume, d = load(fast, collect_until=at(14))
    assert d.due_at is not None and d.due_at < at(13)
    assert volume == pytest.approx(fast.fill_at(d.due_at).expected * 1100)
    assert 0.7 * 1100 < volume < 1100


def test_collect_until_must_be_aware_and_not_before_collect_at() -> None:
    with pytest.raises(FleetDataError, match="collect_until must not be before"):
        decide([make_bin()], {"b1": flat(0.5)}, collect_at=COLLECT, collect_until=at(6))
    with pytest.raises(FleetDataError, match="no time zone"):
        decide(
            [make_bin()], {"b1": flat(0.5)}, collect_at=COLLECT, collect_until=datetime(2026, 11, 2)
        )


def test_decision_for_every_bin_in_order_and_default_next_opportunity() -> None:
    bins = [make_bin("a"), make_bin("b"), make_bin("c")]
    models = {"a": flat(0.95, bin_id="a"), "b": flat(0.6, bin_id="b"), "c": flat(0.1, bin_id="c")}
    ds = CollectionPolicy(days_until_next=2).decide(bins, models, collect_at=COLLECT)
    assert [(d.bin_id, d.action) for d in ds] == [
        ("a", Action.MUST),
        ("b", Action.MAY),
        ("c", Action.SKIP),
    ]
    assert "2026-11-04 07:00" in ds[0].reason


def test_each_bin_is_judged_at_its_streams_next_opportunity() -> None:
    bins = [make_bin("r"), make_bin("p", stream="paper"), make_bin("g", stream="glass")]
    rising = {b: flat(0.0, bin_id=b, rate_per_h=0.029) for b in ("r", "p", "g")}
    # 87 % at 30 h (06:00 the next day), 99 % at 34 h (10:00)
    nexts = {"residual": at(30), "paper": at(34)}
    ds = decide(bins, rising, collect_at=at(6), next_opportunity=nexts)
    assert [d.action for d in ds] == [Action.SKIP, Action.MUST, Action.MUST]
    assert ds[1].reason.endswith("by 2026-11-03 10:00 (next opportunity)")
    assert ds[2].reason == "no truck takes stream 'glass': no next opportunity"


def test_a_bin_whose_trucks_are_out_beyond_the_horizon_is_a_must_bin_today() -> None:
    """Paper maps to None: its trucks are out of service until further notice (or longer
    than the horizon); a nearly empty paper bin is a must bin today, its last chance."""
    bins = [make_bin("r"), make_bin("p", stream="paper")]
    low = {b: flat(0.1, bin_id=b) for b in ("r", "p")}
    ds = decide(bins, low, collect_at=at(6), next_opportunity={"residual": at(30), "paper": None})
    assert [d.action for d in ds] == [Action.SKIP, Action.MUST]
    assert ds[1].reason == (
        "no truck taking stream 'paper' is in service within 14 days: no next opportunity"
    )


def test_next_opportunities_by_stream_must_follow_collection() -> None:
    nexts = {"residual": at(30), "paper": COLLECT}
    with pytest.raises(FleetDataError, match="after collect_at"):
        decide([make_bin()], {"b1": flat(0.5)}, collect_at=COLLECT, next_opportunity=nexts)


def test_missing_model_raises() -> None:
    with pytest.raises(FleetDataError, match="no fill model for bin"):
        decide([make_bin("a")], {}, collect_at=COLLECT)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"may_fill": 0.95, "must_fill": 0.9}, "may_fill <= must_fill"),
        ({"may_fill": 0.0}, "0 < may_fill"),
        ({"must_risk": 0.0}, "must_risk"),
        ({"must_risk": 1.5}, "must_risk"),
        ({"days_until_next": 0}, "days_until_next"),
        ({"due_risk": 0.0}, "due_risk"),
        ({"due_risk": 1.0}, "due_risk"),
        ({"prize_per_fill": -1.0}, "prize_per_fill and prize_per_risk must be in 0..1e"),
        ({"prize_per_risk": 1e308}, "prize_per_fill and prize_per_risk must be in 0..1e"),
        ({"must_fill": float("inf")}, "must_fill must be a finite fill"),
        ({"days_until_next": 1e12}, "days_until_next must be > 0 and <= 366"),
        ({"report_match_m": float("inf")}, "report_match_m must be a finite distance"),
        ({"report_match_m": -1.0}, "report_match_m must be a finite distance"),
    ],
)
def test_policy_validation(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(FleetDataError, match=match):
        CollectionPolicy(**kw)


def test_next_opportunity_must_follow_collection() -> None:
    with pytest.raises(FleetDataError, match="after collect_at"):
        decide([make_bin()], {"b1": flat(0.5)}, collect_at=COLLECT, next_opportunity=COLLECT)


def test_bins_expected_to_overflow_during_the_day_get_a_deadline() -> None:
    """0.7 at 07:00 plus 5 %/h reaches 100 % at 13:00: the truck should pass before."""
    rising = flat(0.7, anchor_at=COLLECT, rate_per_h=0.05)
    d = one(rising)
    assert d.action is Action.MUST
    assert d.due_at is not None
    assert abs((d.due_at - at(13)).total_seconds()) <= 15 * 60
    assert one(flat(1.2)).due_at is None  # already overflowing: no deadline left to keep
    assert one(flat(0.6)).due_at is None  # never reaches 100 %
    slow = flat(0.5, anchor_at=COLLECT, rate_per_h=0.01)  # 100 % after 50 h: beyond a day
    assert one(slow).due_at is None


def test_deadline_keeps_a_margin_of_due_risk_before_the_expected_overflow() -> None:
    """0.7 at 07:00 plus 5 %/h, state sd 0.05: expected full at 13:00, 10 % risk earlier."""
    rising = flat(0.7, sd=0.05, anchor_at=COLLECT, rate_per_h=0.05)
    sure = one(rising, CollectionPolicy(due_risk=0.5)).due_at
    margin = one(rising).due_at
    assert sure is not None and margin is not None
    assert abs((sure - at(13)).total_seconds()) <= 15 * 60
    assert margin < sure
    assert rising.prob_over(margin) == pytest.approx(CollectionPolicy().due_risk, abs=0.03)
    # already past the risk at 07:00 but not yet full: the expected time, not "no deadline"
    near = flat(0.97, sd=0.05, anchor_at=COLLECT, rate_per_h=0.01)
    d = one(near)
    assert d.due_at is not None
    assert abs((d.due_at - at(10)).total_seconds()) <= 15 * 60


def test_bin_filling_faster_than_the_gap_to_the_next_opportunity_gets_a_release() -> None:
    """5 %/h from 0.8 at 07:00: full at 11:00 today, and again 20 h after any emptying, so
    emptied before 11:00 (next opportunity 07:00 tomorrow) it overflows overnight."""
    fast = flat(0.8, sd=0.02, anchor_at=COLLECT, rate_per_h=0.05)
    d = one(fast)
    assert d.action is Action.MUST and d.due_at is not None and d.release_at is not None
    policy = CollectionPolicy()
    fresh = fast.emptied(d.release_at)
    assert fresh.prob_over(NEXT) == pytest.approx(policy.due_risk, abs=0.03)
    assert d.release_at > d.due_at
    assert d.refill_fraction == pytest.approx(
        0.05 * (d.release_at - COLLECT).total_seconds() / 3600, abs=0.01
    )
    assert "unless emptied after" in d.reason
    assert one(fast, CollectionPolicy(releases=False)).release_at is None
    slow = flat(0.95, sd=0.02, anchor_at=COLLECT, rate_per_h=0.01)  # 100 h to fill again
    s = one(slow)
    assert s.action is Action.MUST and s.release_at is None and s.refill_fraction == 0.0


def test_a_release_lasts_through_a_busier_day_than_the_one_it_is_made_on() -> None:
    """Collected Sunday 07:00 (T0 + 6 days), next opportunity Monday 07:00; the bin fills
    twice as fast on Mondays. An emptying at the release keeps it at ``due_risk`` by then
    (not beyond), and one 30 min sooner does not last."""
    busy_monday = (2.0, 5 / 6, 5 / 6, 5 / 6, 5 / 6, 5 / 6, 5 / 6)
    sunday = at(6 * 24 + 7)
    monday = sunday + timedelta(days=1)
    m = flat(0.9, sd=0.02, anchor_at=sunday, rate_per_h=0.05, weekday_factors=busy_monday)
    policy = CollectionPolicy()
    release, _ = policy.release_at(m, sunday, monday)
    assert release is not None
    assert m.emptied(release).prob_over(monday) == pytest.approx(policy.due_risk, abs=0.02)
    sooner = release - timedelta(minutes=30)
    assert m.emptied(sooner).prob_over(monday) > policy.due_risk + 0.03


def test_second_visit_is_loaded_with_what_the_bin_may_hold_by_the_end_of_the_shifts() -> None:
    """5 %/h, emptied at 07:00 at the earliest: by 18:00 (the end of the shifts, later than
    the release at about 12:00) a second visit may find 0.55 of the bin, not about 0.25."""
    fast = flat(0.8, sd=0.02, anchor_at=COLLECT, rate_per_h=0.05)
    (d,) = decide(
        [make_bin()],
        {"b1": fast},
        collect_at=COLLECT,
        collect_until=at(18),
        next_opportunity=NEXT,
    )
    assert d.release_at is not None and d.release_at < at(18)
    assert d.refill_fraction == pytest.approx(0.05 * 11, abs=0.01)
