"""Fill-rate estimation: emptyings, spikes, gaps, weekday pattern, borrowing, reports."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from fleet.errors import FleetDataError
from fleet.fill import (
    LONE_HIGH_WEIGHT,
    PICKUP_CENSORED_SPAN,
    PICKUP_PRIOR_CYCLES,
    SENSOR_ISSUES,
    STUCK_AFTER_H,
    FillConfig,
    detect_emptyings,
    estimate_models,
    fit_bin,
    last_emptying_read,
    match_reports,
    offset_notes,
    over_read_notes,
    pickup_rate,
    prepare_sensor_fit,
    sensor_checks,
    sensor_offsets,
    stuck_notes,
    stuck_sensor,
    under_read_notes,
)
from fleet.forecast import FillModel, SensorOffset, StuckSensor
from fleet.models import CitizenReport, FillReading, PickupRecord
from fleet.simulate import SimConfig, simulate_history
from tests.fleet.conftest import CET, T0, at, make_bin, readings


@pytest.mark.parametrize(
    ("fills", "expected"),
    [
        pytest.param([0.5, 0.6, 0.7, 0.05, 0.8, 0.9], [], id="single-low-spike"),
        pytest.param([0.5, 0.6, 0.7, 0.05, 0.07, 0.1], [3], id="emptying"),
        pytest.param([0.5, 0.6, 0.99, 0.6, 0.65, 0.7], [], id="high-spike-then-normal"),
        pytest.param([0.5, 0.6, 0.7, 0.05, 0.9, 0.1, 0.12], [3], id="emptying-then-spike"),
        pytest.param([0.7, 0.8, 0.9, 0.02, 0.04, 0.06, 0.8, 0.82, 0.84], [3], id="low-gap"),
        pytest.param([0.6, 0.7, 0.8, 0.05], [3], id="lone-last-low-is-emptying"),
        pytest.param([0.6, 0.7, 0.8, 0.4], [], id="lone-last-half-is-not"),
        pytest.param([0.6, 0.7, 0.8, 0.05, 0.1, 0.5, 0.7, 0.02, 0.03], [3, 7], id="two"),
        pytest.param([0.6, 0.62, 0.61, 0.63, 0.59], [], id="noise-only"),
    ],
)
def test_detect_emptyings(fills: list[float], expected: list[int]) -> None:
    assert detect_emptyings(fills).tolist() == expected


def test_sawtooth_one_emptying_rate_and_state(sawtooth: list[FillReading]) -> None:
    fit = prepare_sensor_fit("b1", sawtooth)
    assert fit.emptyings == (at(36),)
    spike_times = [t for t, s in zip(fit.times, fit.spikes, strict=True) if s]
    assert spike_times == [at(20)]
    model = fit_bin("b1", sawtooth)
    assert model is not None
    assert model.rate_per_h == pytest.approx(0.02, rel=0.05)
    assert model.anchor_at == at(60)
    assert model.anchor_fill == pytest.approx(0.02 + 0.02 * 24.5, abs=0.02)
    assert model.last_emptying_at == at(36)
    # 10 more hours at 2 %/h
    assert model.fill_at(at(70)).expected == pytest.approx(0.51 + 0.2, abs=0.03)


def test_sawtooth_with_noise_still_one_emptying(sawtooth: list[FillReading]) -> None:
    rng = np.random.default_rng(7)
    noisy = [
        FillReading(
            bin_id=r.bin_id,
            at=r.at,
            fill_fraction=float(np.clip(r.fill_fraction + rng.normal(0, 0.02), 0, 1)),
        )
        for r in sawtooth
    ]
    fit = prepare_sensor_fit("b1", noisy)
    assert len(fit.emptyings) == 1
    model = fit_bin("b1", noisy)
    assert model is not None
    assert model.rate_per_h == pytest.approx(0.02, rel=0.15)


def test_saturated_readings_do_not_bend_the_rate() -> None:
    pairs = [(float(h), min(0.2 + 0.05 * h, 1.0)) for h in range(30)]
    model = fit_bin("b1", readings("b1", pairs))
    assert model is not None
    assert model.rate_per_h == pytest.approx(0.05, rel=0.05)
    assert model.anchor_fill >= 1.0


def test_collection_log_vetoes_a_lone_low_last_reading() -> None:
    rs = readings("b1", [(float(h), 0.2 + 0.02 * h) for h in range(20)] + [(20.0, 0.03)])
    blind = prepare_sensor_fit("b1", rs)
    logged = prepare_sensor_fit("b1", rs, collections_known=True, last_collection=None)
    confirmed = prepare_sensor_fit("b1", rs, collections_known=True, last_collection=at(19.5))
    assert blind.emptyings == (at(20),)
    assert logged.emptyings == ()
    assert logged.spikes[-1]
    assert confirmed.emptyings == (at(20),)


@pytest.mark.parametrize(
    ("fills", "expected"),
    [
        pytest.param([0.6, 0.7, 0.97, 0.05, 0.06], 3, id="confirmed-drop"),
        pytest.param([0.6, 0.7, 0.97, 0.05], None, id="lone-low-last-may-be-a-glitch"),
        pytest.param([0.6, 0.7, 0.05, 0.1, 0.97, 0.9], 2, id="an-earlier-one"),
        pytest.param([0.6, 0.7, 0.97, 0.9], None, id="none"),
    ],
)
def test_last_emptying_read_is_the_newest_confirmed_drop(
    fills: list[float], expected: int | None
) -> None:
    rs = readings("b1", [(float(h), f) for h, f in enumerate(fills)])
    got = last_emptying_read(list(reversed(rs)))  # any order
    assert got == (None if expected is None else at(expected))


def test_weekday_pattern_recovered_on_simulated_data() -> None:
    pattern = (1.0, 0.8, 0.8, 0.9, 1.0, 1.6, 0.9)
    true = np.array(pattern) / np.mean(pattern)
    bins = [make_bin(f"b{i}") for i in range(120)]
    sim = SimConfig(weekday_pattern=pattern, weekday_jitter=0.0, events_per_day=0.0)
    hist = simulate_history(bins, start=T0, days=28, seed=11, config=sim)
    now = hist.end
    models = estimate_models(bins, hist.readings(), now=now, last_emptied=hist.last_emptied(now))
    est = np.median(np.array([m.weekday_factors for m in models.values()]), axis=0)
    assert int(np.argmax(est)) == 5  # Saturday
    assert np.abs(est - true).max() < 0.12
    rel = np.array([models[b.bin_id].rate_per_h for b in bins]) / hist.base_rate_per_h
    assert np.median(np.abs(rel - 1.0)) < 0.1


def test_short_history_every_two_days_still_pools_the_city_pattern() -> None:
    """10 days, emptied every 2 days: no bin sees every weekday for a whole day, yet the
    stream's pooled pattern (Saturday high) reaches every bin's factors."""
    bins = [make_bin(f"b{i}") for i in range(150)]
    sim = SimConfig(rate_median_per_day=0.45, collection_every_days=2, weekday_jitter=0.0)
    hist = simulate_history(bins, start=T0, days=10, seed=5, config=sim)
    now = hist.end
    models = estimate_models(bins, hist.readings(), now=now, last_emptied=hist.last_emptied(now))
    est = np.median(np.array([m.weekday_factors for m in models.values()]), axis=0)
    true = hist.weekday_factors[0]
    assert int(np.argmax(est)) == 5  # Saturday
    assert np.abs(est - true).max() < 0.1


def _linear(bin_id: str, rate: float) -> list[FillReading]:
    return readings(bin_id, [(float(h), 0.05 + rate * h) for h in range(0, 30, 2)])


def test_no_sensor_bins_borrow_street_then_stream_then_global() -> None:
    bins = [
        make_bin("m1", street="Main St"),
        make_bin("m2", street="Main St"),
        make_bin("m3", street="Main St"),
        make_bin("o1", street="Other St"),
        make_bin("m4", street="Main St", has_sensor=False),
        make_bin("x1", street="Nowhere", has_sensor=False),
        make_bin("g1", street="Main St", stream="glass", has_sensor=False),
    ]
    rs = _linear("m1", 0.01) + _linear("m2", 0.02) + _linear("m3", 0.03) + _linear("o1", 0.025)
    models = estimate_models(bins, rs, now=at(30))
    assert models["m4"].source == "street"
    assert models["m4"].rate_per_h == pytest.approx(0.02, rel=0.05)
    assert models["x1"].source == "stream"
    assert models["x1"].rate_per_h == pytest.approx(0.0225, rel=0.05)
    assert models["g1"].source == "global"
    assert models["m4"].anchor_at == at(30)  # unknown state: assumed at "now"


def test_a_borrowed_weekday_pattern_keeps_the_weekly_rate() -> None:
    """Three sensor bins of a street, each busy on another day (Monday, Wednesday,
    Friday): the bin without a sensor borrows their rate and a pattern of mean 1, so over
    a week it gains what they do (a day-by-day median of their patterns is below 1 on
    every day)."""
    bins = [make_bin(f"s{k}", street="Market") for k in range(3)]
    bins.append(make_bin("n", street="Market", has_sensor=False))
    rs: list[FillReading] = []
    for k, busy in enumerate((0, 2, 4)):
        fill, pairs = 0.05, []
        for h in range(24 * 7 * 6):
            pairs.append((float(h), round(fill, 4)))
            fill += 0.004 * (3.0 if (h // 24) % 7 == busy else 1.0)
            fill = 0.03 if fill > 0.9 else fill
        rs += readings(f"s{k}", pairs)
    models = estimate_models(bins, rs, now=at(24 * 7 * 6))
    n = models["n"]
    assert n.source == "street"
    assert np.mean(n.weekday_factors) == pytest.approx(1.0)
    week = np.array([168.0])
    gained = {b: float(m.effective_hours(week)[0]) * m.rate_per_h for b, m in models.items()}
    assert gained["n"] == pytest.approx(np.median([gained[f"s{k}"] for k in range(3)]), rel=0.02)


def test_the_slope_of_a_long_series_is_taken_from_a_few_hundred_points() -> None:
    """6000 readings five minutes apart (one cycle of three weeks): the Theil-Sen slope
    comes from ``SLOPE_POINTS`` of them, evenly spread, and is the series' slope."""
    from fleet.fill import SLOPE_POINTS, median_slope
    from fleet.fill_cycles import _pairs

    rng = np.random.default_rng(0)
    x = np.arange(6000) / 12.0
    y = 0.1 + 0.002 * x + rng.normal(0.0, 0.02, x.size)
    _pairs.cache_clear()
    assert median_slope(x, y) == pytest.approx(0.002, rel=0.02)
    assert _pairs.cache_info().currsize == 1
    i, _ = _pairs(SLOPE_POINTS)
    assert _pairs.cache_info().currsize == 1 and i.size == SLOPE_POINTS * (SLOPE_POINTS - 1) // 2


def test_known_emptying_sets_state_of_no_sensor_bin() -> None:
    bins = [make_bin("s1"), make_bin("n1", has_sensor=False)]
    models = estimate_models(bins, _linear("s1", 0.02), now=at(30), last_emptied={"n1": at(20)})
    m = models["n1"]
    assert (m.anchor_at, m.anchor_fill, m.last_emptying_at) == (at(20), 0.0, at(20))
    assert m.fill_at(at(30)).expected == pytest.approx(0.2, rel=0.05)


def _pickups(bin_id: str, pairs: list[tuple[float, float]]) -> list[PickupRecord]:
    return [PickupRecord(bin_id=bin_id, at=at(h), fill_fraction=f) for h, f in pairs]


def test_logged_pickups_split_cycles_whose_drop_is_too_small_to_see() -> None:
    """Emptied daily at 10:00 after filling 1 %/h from 0.02: drops of ~0.22 hide in the noise
    of the detector; the trucks' log splits the cycles and the rate comes out right."""
    pairs = [(float(h), 0.02 + 0.01 * ((h - 10) % 24)) for h in range(10, 24 * 6, 3)]
    rs = readings("s1", pairs)
    found = _pickups("s1", [(24.0 * d + 10.0 - 0.5, 0.24) for d in range(1, 6)])
    blind = estimate_models([make_bin("s1")], rs, now=at(24 * 6))["s1"]
    logged = estimate_models([make_bin("s1")], rs, now=at(24 * 6), pickups=found)["s1"]
    assert blind.rate_per_h < 0.005  # one long cycle: the saw teeth average out
    assert logged.rate_per_h == pytest.approx(0.01, rel=0.05)


def test_truck_recorded_fills_give_a_sensorless_bin_its_own_rate() -> None:
    """The sensor bin fills 2 %/h; the sensorless one is found 48-50 % full after 24 h cycles."""
    bins = [make_bin("s1"), make_bin("n1", has_sensor=False), make_bin("n2", has_sensor=False)]
    found = _pickups("n1", [(0.0, 0.3), (24.0, 0.48), (48.0, 0.50), (72.0, 0.49)])
    models = estimate_models(bins, _linear("s1", 0.02), now=at(80), pickups=found)
    m = models["n1"]
    own = (0.48 + 0.50 + 0.49) / 72.0
    expected = (3 * own + PICKUP_PRIOR_CYCLES * 0.02) / (3 + PICKUP_PRIOR_CYCLES)
    assert m.source == "pickups"
    assert m.rate_per_h == pytest.approx(expected, rel=0.01)
    assert (m.anchor_at, m.anchor_fill, m.last_emptying_at) == (at(72), 0.0, at(72))
    assert m.fill_at(at(80)).expected == pytest.approx(8 * expected, rel=0.01)
    assert models["n2"].source == "stream"  # no records: still borrowed


def test_bin_found_full_bounds_the_rate_from_below() -> None:
    """Found full after 20 h: it was full after at most 0.8 x 20 h, so >= 1/16 per hour."""
    bins = [make_bin("s1"), make_bin("n1", has_sensor=False)]
    found = _pickups("n1", [(0.0, 0.2), (20.0, 1.0)])
    m = estimate_models(bins, _linear("s1", 0.01), now=at(21), pickups=found)["n1"]
    floor = 1.0 / (PICKUP_CENSORED_SPAN * 20.0)
    assert m.rate_per_h == pytest.approx((floor + PICKUP_PRIOR_CYCLES * 0.01) / 1.5, rel=0.01)
    assert pickup_rate(m, found) == pytest.approx((floor, 1))


def test_an_emptying_without_a_fill_starts_the_next_cycle() -> None:
    """n1 is emptied every 24 h, found 48-50 % full on every other visit only: its own rate
    is about 2 %/h over the two cycles ending in a fill, not 1 %/h over 48 h ones."""
    bins = [make_bin("s1"), make_bin("n1", has_sensor=False)]
    found = [
        PickupRecord(bin_id="n1", at=at(h), fill_fraction=f)
        for h, f in [(0.0, 0.3), (24.0, None), (48.0, 0.48), (72.0, None), (96.0, 0.50)]
    ]
    m = estimate_models(bins, _linear("s1", 0.02), now=at(100), pickups=found)["n1"]
    assert pickup_rate(m, found) == pytest.approx(((0.48 + 0.50) / 48.0, 2))
    assert (m.source, m.last_emptying_at) == ("pickups", at(96))
    only_emptied = [PickupRecord(bin_id="n1", at=at(h), fill_fraction=None) for h in (0.0, 24.0)]
    assert pickup_rate(m, only_emptied) is None


def test_a_pickup_weighed_without_a_fill_is_refused() -> None:
    with pytest.raises(FleetDataError, match=r"pickup of bin 'n1'.*a weight and no fill"):
        PickupRecord(bin_id="n1", at=at(0), fill_fraction=None, weight_kg=40.0)


def test_pickup_record_rejects_percentages() -> None:
    with pytest.raises(FleetDataError, match=r"pickup of bin 'n1'.*not a percentage"):
        PickupRecord(bin_id="n1", at=at(0), fill_fraction=80.0)


def test_citizen_report_sets_full_and_nudges_borrowed_rate() -> None:
    bins = [make_bin("s1"), make_bin("n1", has_sensor=False)]
    report = CitizenReport(report_id="r17", at=at(30), bin_id="n1", text="overflowing")
    models = estimate_models(
        bins, _linear("s1", 0.02), [report], now=at(31), last_emptied={"n1": at(20)}
    )
    m = models["n1"]
    assert (m.anchor_at, m.anchor_fill) == (at(30), 1.0)
    assert m.source.endswith("+report")
    # predicted 0.2 at the report; implied 0.1/h; the rate moves halfway
    assert m.rate_per_h == pytest.approx(0.5 * (0.02 + 0.1), rel=0.05)


def test_report_before_last_emptying_is_stale() -> None:
    bins = [make_bin("n1", has_sensor=False)]
    report = CitizenReport(report_id="r1", at=at(10), bin_id="n1")
    m = estimate_models(bins, [], [report], now=at(30), last_emptied={"n1": at(20)})["n1"]
    assert m.anchor_fill == 0.0


def test_report_matched_by_location() -> None:
    bins = [make_bin("a", lon=8.69, lat=49.41), make_bin("b", lon=8.70, lat=49.41)]
    near_b = CitizenReport(report_id="r1", at=at(1), lon=8.7001, lat=49.4101)
    far = CitizenReport(report_id="r2", at=at(1), lon=8.80, lat=49.41)
    by_bin, unmatched = match_reports(bins, [near_b, far], max_dist_m=50)
    assert by_bin == {"b": [near_b]}
    assert unmatched == [far]


def test_readings_of_unknown_bin_raise() -> None:
    with pytest.raises(FleetDataError, match="not in the inventory"):
        estimate_models([make_bin("a")], _linear("zz", 0.01), now=at(40))


def test_readings_after_now_are_ignored() -> None:
    rs = _linear("a", 0.02)
    m = estimate_models([make_bin("a")], rs, now=at(10))["a"]
    assert m.anchor_at == at(10)


def test_naive_now_rejected() -> None:
    with pytest.raises(FleetDataError, match="add an offset"):
        estimate_models([make_bin("a")], [], now=T0.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"drop": 0.0}, "drop"),
        ({"drop": 1.0}, "drop"),
        ({"min_points": 1}, "min_points"),
        ({"z": 0.0}, "z > 0"),
    ],
)
def test_fill_config_validation(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(FleetDataError, match=match):
        FillConfig(**kwargs)  # type: ignore[arg-type]


def test_every_bin_gets_a_model() -> None:
    bins = [make_bin(f"b{i}", has_sensor=i % 2 == 0) for i in range(6)]
    hist = simulate_history(bins, start=T0, days=5, seed=2)
    models = estimate_models(bins, hist.readings(), hist.reports, now=hist.end)
    assert set(models) == {b.bin_id for b in bins}
    assert all(m.anchor_at <= hist.end for m in models.values())


def test_pickup_log_counts_as_the_last_emptying_and_names_stray_bins() -> None:
    bins = [make_bin("s1"), make_bin("n1", has_sensor=False)]
    found = _pickups("n1", [(20.0, 0.4)])
    m = estimate_models(bins, _linear("s1", 0.02), now=at(30), pickups=found)["n1"]
    assert (m.anchor_at, m.anchor_fill, m.last_emptying_at) == (at(20), 0.0, at(20))
    with pytest.raises(FleetDataError, match=r"pickups name 1 bin.*ghost"):
        estimate_models(bins, (), now=at(30), pickups=_pickups("ghost", [(1.0, 0.3)]))


@pytest.mark.parametrize("later", [[], [(30.0, 0.03)]], ids=["nothing-later", "low-later"])
def test_a_reading_just_after_a_logged_emptying_showing_the_bin_before_it_is_stale(
    later: list[tuple[float, float]],
) -> None:
    """Emptied at 28:00 by the log, b1 still reads 61 % a minute later (the lift came
    after the truck's record): the bin is empty from then, whether a low reading follows
    (3 % at 30:00, not a spike) or none yet; it was read as 61 % filling on."""
    pairs = [(float(h), 0.05 + 0.02 * h) for h in range(0, 28, 2)]
    rs = readings("b1", [*pairs, (28.0 + 1 / 60, 0.61), *later])
    found = [PickupRecord(bin_id="b1", at=at(28))]  # no fill recorded
    m = estimate_models([make_bin("b1")], rs, now=at(31), pickups=found)["b1"]
    assert m.rate_per_h == pytest.approx(0.02, rel=0.05)
    assert m.fill_at(at(31)).expected < 0.1, m


def test_two_readings_at_one_time_give_one_model_whatever_their_order() -> None:
    """b1 read 41 % and 3 % at the same time, last: in time order the fuller one first (a
    bin drops at once only when emptied), so it was just emptied, given either way round
    (the order given decided between 'emptied' and '41 % and filling')."""
    pairs = [(float(h), 0.05 + 0.02 * h) for h in range(0, 18, 2)]
    same = [(18.0, 0.41), (18.0, 0.03)]
    bins = [make_bin("b1")]
    fwd, rev = (
        estimate_models(bins, readings("b1", [*pairs, *two]), now=at(20))["b1"]
        for two in (same, same[::-1])
    )
    assert fwd == rev
    assert (fwd.anchor_at, fwd.anchor_fill, fwd.last_emptying_at) == (at(18), 0.03, at(18))


def event_cycle(after: int, noise_seed: int = 3) -> list[FillReading]:
    """Bin b1 filling 0.5 %/h from 0.02 over a 4-day cycle (readings every 3 h), with waste
    dumped at once (+0.15) before the last ``after`` readings."""
    rng = np.random.default_rng(noise_seed)
    hours = [1.0 + 3 * k for k in range(32)]
    jump_h = hours[-after] - 1.0 if after else math.inf
    return readings(
        "b1",
        [
            (h, 0.02 + 0.005 * h + (0.15 if h > jump_h else 0.0) + 0.01 * rng.standard_normal())
            for h in hours
        ],
    )


@pytest.mark.parametrize("after", [2, 3, 4])
def test_waste_dumped_at_once_is_a_level_shift_once_two_readings_see_it(after: int) -> None:
    """An event late in a long cycle used to be rejected as spikes (state 0.15 low)."""
    fit = prepare_sensor_fit("b1", event_cycle(after))
    assert fit.emptyings == ()  # a shift, not an emptying
    assert int(fit.seg[-1]) == 1 and int(fit.seg[-after - 1]) == 0
    model = fit_bin("b1", event_cycle(after))
    assert model is not None
    truth = 0.02 + 0.005 * 94.0 + 0.15
    assert model.fill_at(at(94)).expected == pytest.approx(truth, abs=0.03)
    assert model.rate_per_h == pytest.approx(0.005, rel=0.1)


def test_a_lone_high_last_reading_lifts_the_state_halfway_and_widens_it() -> None:
    no_event = fit_bin("b1", event_cycle(0))
    one_high = fit_bin("b1", event_cycle(1))
    assert no_event is not None and one_high is not None
    assert one_high.anchor_at == at(94)
    lifted = one_high.anchor_fill - no_event.fill_at(at(94)).expected
    assert lifted == pytest.approx(LONE_HIGH_WEIGHT * 0.15, abs=0.02)
    assert one_high.anchor_sd >= 0.5 * 0.15 * 0.9
    assert no_event.anchor_sd < 0.03


@pytest.mark.parametrize("extra", [(24.5, 1.0), (24.1, 0.6)])
def test_a_pickup_logged_twice_at_once_tells_no_rate(extra: tuple[float, float]) -> None:
    """A sensorless bin is emptied every 24 h, found 60 % full. One more pickup logged
    30 min after one, found full (a second lift), or 6 min after, found 60 % (the row sent
    twice), leaves the rate as it was (they set it to 2.5 bins an hour, and 17 % higher)."""
    bins = [make_bin("s1"), make_bin("n1", has_sensor=False)]
    log = [(24.0 * k, 0.6) for k in range(5)]
    clean = _pickups("n1", log)
    twice = _pickups("n1", sorted([*log, extra]))
    now = at(100)
    rates = [
        estimate_models(bins, _linear("s1", 0.01), now=now, pickups=found)["n1"].rate_per_h
        for found in (clean, twice)
    ]
    assert rates[1] == pytest.approx(rates[0], rel=0.01)  # the next cycle starts 0.5 h later


def _frozen_at_day_one(days: int = 4) -> list[FillReading]:
    """b1 filling 1 %/h, read every 3 h: 5 % at 0:00 .. 29 % at 24:00, then 29 % at every
    reading for ``days`` days (the sensor froze at 24:00)."""
    rising = [(float(h), 0.05 + 0.01 * h) for h in range(0, 25, 3)]
    return readings("b1", rising + [(float(h), 0.29) for h in range(27, 25 + 24 * days, 3)])


def test_a_sensor_repeating_one_value_for_days_is_stuck_and_its_fill_forecast_past_it() -> None:
    """A frozen sensor read 29 % for 4 days: the flat readings bent the rate to almost
    nothing and set the state at 29 %, so the bin never came due (0 % risk forever). Now
    the readings after the first 29 % are left out: the bin overflows at its 1 %/h."""
    rs = _frozen_at_day_one()
    m = estimate_models([make_bin("b1")], rs, now=at(120))["b1"]
    assert m.stuck is not None
    assert (m.stuck.since, m.stuck.fill, m.stuck.last_at) == (at(24), 0.29, at(120))
    assert m.stuck.readings == 33
    assert m.rate_per_h == pytest.approx(0.01, rel=0.1)
    assert (m.anchor_at, m.anchor_fill) == (at(24), pytest.approx(0.29, abs=0.01))
    assert m.fill_at(at(120)).expected > 1.0


@pytest.mark.parametrize(
    "pairs",
    [
        pytest.param([(h, 1.0) for h in range(0, 121, 3)], id="a-full-bin-left-full"),
        pytest.param(
            [(0.0, 0.2), *[(h, 0.3) for h in range(3, 3 + int(STUCK_AFTER_H) - 3, 3)]],
            id="repeated-under-72h",
        ),
        pytest.param([(0.0, 0.2), (100.0, 0.3), (200.0, 0.3)], id="two-readings-over-72h"),
        pytest.param([(h, 0.1 + 0.001 * h) for h in range(0, 121, 3)], id="a-slow-bin"),
    ],
)
def test_readings_that_move_or_may_repeat_are_no_stuck_sensor(
    pairs: list[tuple[float, float]],
) -> None:
    assert stuck_sensor(readings("b1", pairs)) is None


def test_a_bin_read_as_full_as_before_after_its_collection_is_full_again() -> None:
    """Read 95 % at 20:00, emptied at 06:30 by the log, 95 % again at 10:00: a busy bin full
    again on a sensor that rounds, not a stuck one (taken for stuck, the bin was reset to
    empty at its collection and skipped)."""
    rs = readings("b1", [(h, 0.5 + 0.025 * h) for h in range(0, 19, 6)] + [(20.0, 0.95)])
    rs += readings("b1", [(34.0, 0.95)])
    found = [PickupRecord(bin_id="b1", at=at(30.5))]
    m = estimate_models([make_bin("b1")], rs, now=at(34.5), pickups=found)["b1"]
    assert m.stuck is None
    assert m.fill_at(at(34.5)).expected >= 0.9


def test_a_stuck_sensor_is_one_note_naming_the_bin_value_and_times() -> None:
    frozen = estimate_models([make_bin("b1"), make_bin("b2")], _frozen_at_day_one(), now=at(120))
    assert stuck_notes(frozen, CET) == (
        "bin b1: its sensor has read 29% at each of its 33 readings 2026-11-03 00:00 - "
        "2026-11-07 00:00: stuck; its readings after 2026-11-03 00:00 are left out and its "
        "fill is forecast from there at its usual rate (a logged collection resets it); "
        "check the sensor",
    )


def _found(
    bin_id: str, hours: float, fill: float | None, weight_kg: float | None = None
) -> PickupRecord:
    """A pickup ``hours`` after T0 with the fill found, or derived from ``weight_kg``."""
    return PickupRecord(
        bin_id=bin_id,
        at=at(hours),
        fill_fraction=fill,
        weight_kg=weight_kg,
        fill_from_weight=weight_kg is not None,
    )


def _twice(bin_id: str, first: float, then: float, at_h: float = 6.0) -> list[FillReading]:
    """Two readings of ``bin_id``: ``first`` six hours before ``at_h``, then ``then``."""
    return readings(bin_id, [(at_h - 6.0, first), (at_h, then)])


def test_a_sensor_reading_far_fuller_than_its_crew_found_is_named() -> None:
    """b1's sensor read 93 % at 00:00 and 95 % at 06:00, and its crew found the bin 20 %
    full at 08:00: a bin loses no waste but by an emptying, so the sensor reads too full
    (stuck near full, dirt, a bag on it) and will call the bin full again. b2 read 60 % and
    was found 40 %: within what a sensor and a crew's eye differ by; b3 was read 95 % the
    evening before: it may have been emptied unlogged since; b4 read 40 %, then 95 % once
    (a spike): one glitch is no faulty sensor."""
    rs = _twice("b1", 0.93, 0.95) + _twice("b2", 0.6, 0.6) + _twice("b3", 0.95, 0.95, -6.0)
    rs += _twice("b4", 0.4, 0.95)
    ps = [_found(b, 8.0, f) for b, f in (("b1", 0.2), ("b2", 0.4), ("b3", 0.1), ("b4", 0.2))]
    assert over_read_notes(rs, ps, since=at(0), tz=CET) == (
        "bin b1: its sensor read 93% at 2026-11-02 00:00 and 95% at 2026-11-02 06:00, its "
        "crew found it 20% full at 08:00: the sensor reads too full (stuck, dirty, or a bag "
        "on it) and may call the bin full again; check the sensor",
    )


def _rate_model(bin_id: str, per_h: float) -> FillModel:
    """A fill model of ``bin_id`` filling ``per_h`` of the bin an hour, every day alike."""
    return FillModel(
        bin_id=bin_id,
        anchor_at=at(0.0),
        anchor_fill=0.0,
        anchor_sd=0.0,
        rate_per_h=per_h,
        rate_sd_per_h=0.1 * per_h,
        weekday_factors=(1.0,) * 7,
    )


def test_a_sensor_reading_far_emptier_than_its_crew_found_is_named() -> None:
    """b1's sensor read 10 % at 00:00 and 15 % at 06:00, and its crew found the bin 90 %
    full at 08:00: a bin filling 1 % an hour does not fill by 75 points in two hours but
    when waste is dumped in it, so the sensor likely reads too empty, and the bin may
    overflow unplanned. b4 too, but it fills 15 % an hour (a market's bin): its waste since
    the readings makes it over 100 %, and 90 % found is no proof. b2 read 40 % and was found
    60 %: within a sensor's and a crew's eye's difference and two hours' waste; b3 read
    95 % and was found 20 %: too full, named by :func:`over_read_notes`, not here; b5 read
    50 %, then 10 % once (a spike) and was found 90 %: one glitch is no faulty sensor."""
    rs = _twice("b1", 0.1, 0.15) + _twice("b2", 0.4, 0.4) + _twice("b3", 0.95, 0.95)
    rs += _twice("b4", 0.1, 0.15) + _twice("b5", 0.5, 0.1)
    found = (("b1", 0.9), ("b2", 0.6), ("b3", 0.2), ("b4", 0.9), ("b5", 0.9))
    ps = [_found(b, 8.0, fill) for b, fill in found]
    models = {b: _rate_model(b, 0.01) for b, _ in found} | {"b4": _rate_model("b4", 0.15)}
    assert [n[:6] for n in under_read_notes(rs, ps, since=at(0), tz=CET, models={})] == [
        "bin b1",
        "bin b4",
    ]
    assert under_read_notes(rs, ps, since=at(0), tz=CET, models=models) == (
        "bin b1: its sensor read 10% at 2026-11-02 00:00 and 15% at 2026-11-02 06:00, its "
        "crew found it 90% full at 08:00: the sensor reads too empty (tilted, its echo off a "
        "wall or a bulky item) and may let the bin overflow unplanned, unless waste was "
        "dumped in it meanwhile; check the sensor",
    )
    assert [n[:6] for n in over_read_notes(rs, ps, since=at(0), tz=CET)] == ["bin b3"]


def test_no_sensor_is_named_for_an_emptying_between_a_weight_or_an_old_pickup() -> None:
    """Another truck emptied b1 at 07:00 (its readings are no longer the bin's), b5 at
    03:00, between its two readings; b2's fill was derived from the lift scale's weight (a
    density can be wrong too); b3's pickup is before ``since``; b4's crew recorded no
    fill."""
    rs = [r for b in ("b1", "b2", "b3", "b4", "b5") for r in _twice(b, 0.95, 0.95)]
    ps = [
        _found("b1", 7.0, None),
        _found("b1", 8.0, 0.2),
        _found("b2", 8.0, 0.2, weight_kg=10.0),
        _found("b3", 7.0, 0.2),
        _found("b4", 8.0, None),
        _found("b5", 3.0, None),
        _found("b5", 8.0, 0.2),
    ]
    assert over_read_notes(rs, ps, since=at(7.5), tz=CET) == ()
    assert [n[:6] for n in over_read_notes(rs, ps, since=at(6.5), tz=CET)] == ["bin b3"]
    emptier = [r for b in ("b1", "b2", "b3", "b4", "b5") for r in _twice(b, 0.05, 0.05)]
    full = [dataclasses.replace(p, fill_fraction=0.9) if p.fill_fraction else p for p in ps]
    assert under_read_notes(emptier, full, since=at(7.5), tz=CET, models={}) == ()
    late = under_read_notes(emptier, full, since=at(6.5), tz=CET, models={})
    assert [n[:6] for n in late] == ["bin b3"]


def _askew(bin_id: str, off: float, days: int = 4) -> tuple[list[FillReading], list[PickupRecord]]:
    """``bin_id`` filling 3 % an hour, emptied every 24 h (found 72 % full), its sensor
    reading its true fill plus ``off`` (within 0..1) every hour on the half hour, for
    ``days`` days and 14 h (mounted askew)."""
    pairs = [(h + 0.5, 0.03 * ((h + 0.5) % 24) + off) for h in range(24 * days + 14)]
    rs = readings(bin_id, [(h, min(max(f, 0.0), 1.0)) for h, f in pairs])
    return rs, [_found(bin_id, 24.0 * k, 0.72) for k in range(1, days + 1)]


def test_a_sensor_reading_off_its_crews_fills_pickup_after_pickup_is_corrected() -> None:
    """b1's sensor reads 25 points below the true fill (0 when the bin is below that): at
    each of its four pickups it read the bin near 45 % when its crew found it 72 % full.
    Its readings are raised by the median miss, its readings of 0 left out (the bin was
    anywhere up to 25 % then), so the forecast of its next pickup comes to the 72 % it will
    be, where the sensor taken at its word forecast under 45 % (and the bin would
    overflow unplanned). b3's sensor reads 25 points above: its readings are lowered, and
    its forecast is no longer full a day early. The models say so and the notes name both;
    b2's sensor reads true: nothing changes."""
    rs = [r for b, off in (("b1", -0.25), ("b2", 0.0), ("b3", 0.25)) for r in _askew(b, off)[0]]
    ps = [p for b in ("b1", "b2", "b3") for p in _askew(b, 0.0)[1]]
    bins = [make_bin(b) for b in ("b1", "b2", "b3")]
    now, next_pickup = at(110.6), at(120.0)
    emptied = {b: at(96.0) for b in ("b1", "b2", "b3")}
    as_read = estimate_models(bins, rs, now=now, last_emptied=emptied)
    models = estimate_models(bins, rs, now=now, pickups=ps)
    low, high = models["b1"].offset, models["b3"].offset
    assert low is not None and low.pickups == 4 and low.last_at == at(96.0)
    assert high is not None and high.pickups == 4 and models["b2"].offset is None
    assert low.fill == pytest.approx(0.25, abs=0.02) and high.fill == pytest.approx(-0.25)
    assert as_read["b1"].fill_at(next_pickup).expected < 0.45
    assert as_read["b3"].fill_at(next_pickup).expected > 0.95
    for b in ("b1", "b2", "b3"):
        assert models[b].fill_at(next_pickup).expected == pytest.approx(0.72, abs=0.02), b
    assert offset_notes(models, CET) == (
        "bin b1: its sensor read 25% below the fill its crews found at its last 4 pickups "
        "(the latest 2026-11-06 00:00): its readings are raised by that much for its "
        "forecast; check the sensor (its mounting, or the bin depth it is set to)",
        "bin b3: its sensor read 25% above the fill its crews found at its last 4 pickups "
        "(the latest 2026-11-06 00:00): its readings are lowered by that much for its "
        "forecast; check the sensor (its mounting, or the bin depth it is set to)",
    )


def test_no_offset_is_taken_from_few_mixed_or_full_pickups() -> None:
    """b1's crews found it far fuller than read at two pickups only; b2's sensor missed by
    25 points at three pickups but by 5 the other way at a fourth (a crew's eye); b3's
    crews found it full each time (a full bin hides how full: its sensor may be right)."""
    rs, ps = _askew("b1", -0.25, days=2)
    rs2, ps2 = _askew("b2", -0.25)
    ps2[1] = _found("b2", 48.0, 0.4)
    rs3, _ = _askew("b3", -0.25)
    ps3 = [_found("b3", 24.0 * k, 1.0) for k in range(1, 5)]
    bins = [make_bin(b) for b in ("b1", "b2", "b3")]
    models = estimate_models(bins, rs + rs2 + rs3, now=at(110.6), pickups=ps + ps2 + ps3)
    assert [m.offset for m in models.values()] == [None, None, None]
    assert sensor_offsets(rs + rs2 + rs3, ps + ps2 + ps3, models) == {}


def test_a_sensor_whose_offset_is_corrected_is_not_also_named_misread() -> None:
    """b1's and b3's sensors missed their crews' fills by 75 points: each is named reading
    too empty or too full, unless its model corrects an offset (its own note names it)."""
    rs = _twice("b1", 0.1, 0.15) + _twice("b3", 0.95, 0.95)
    ps = [_found("b1", 8.0, 0.9), _found("b3", 8.0, 0.2)]
    models = {b: _rate_model(b, 0.01) for b in ("b1", "b3")}
    assert [n[:6] for n in under_read_notes(rs, ps, since=at(0), tz=CET, models=models)] == [
        "bin b1"
    ]
    assert [n[:6] for n in over_read_notes(rs, ps, since=at(0), tz=CET, models=models)] == [
        "bin b3"
    ]
    off = SensorOffset(fill=0.3, pickups=3, last_at=at(8.0))
    fixed = {b: dataclasses.replace(m, offset=off) for b, m in models.items()}
    assert under_read_notes(rs, ps, since=at(0), tz=CET, models=fixed) == ()
    assert over_read_notes(rs, ps, since=at(0), tz=CET, models=fixed) == ()


def test_the_sensor_checks_list_each_issue_in_order_then_by_bin() -> None:
    """One maintenance list: stuck sensors, then those read off and corrected, then too
    full, then too empty at a pickup, each by bin id, with the note the plan gives."""
    rs = _twice("b9", 0.1, 0.15) + _twice("b1", 0.1, 0.15) + _twice("b3", 0.95, 0.95)
    ps = [_found("b9", 8.0, 0.9), _found("b1", 8.0, 0.9), _found("b3", 8.0, 0.2)]
    models = {b: _rate_model(b, 0.01) for b in ("b1", "b3", "b9")}
    stuck = StuckSensor(at(-80.0), 0.3, 20, at(-1.0))
    models["b7"] = dataclasses.replace(_rate_model("b7", 0.01), stuck=stuck)
    off = SensorOffset(fill=-0.25, pickups=4, last_at=at(8.0))
    models["b2"] = dataclasses.replace(_rate_model("b2", 0.01), offset=off)
    checks = sensor_checks(rs, ps, at(0), CET, models)
    assert [(c.issue, c.bin_id) for c in checks] == [
        ("stuck", "b7"),
        ("offset", "b2"),
        ("reads_too_full", "b3"),
        ("reads_too_empty", "b1"),
        ("reads_too_empty", "b9"),
    ]
    assert [c.issue for c in checks] == sorted((c.issue for c in checks), key=SENSOR_ISSUES.index)
    assert [c.note for c in checks] == [
        *stuck_notes(models, CET),
        *offset_notes(models, CET),
        *over_read_notes(rs, ps, at(0), CET, models),
        *under_read_notes(rs, ps, at(0), CET, models),
    ]
