from __future__ import annotations

import dataclasses
import warnings
from datetime import datetime
from typing import Any

import numpy as np
import pytest

from fleet.errors import FleetDataError
from fleet.models import MAX_FILL
from fleet.simulate import SimConfig
from scenarios.config_sim import SIM_MAX
from scenarios.simulate import PICKUP_NOISE_SD, CitySim
from tests.scenarios.conftest import tiny_bins

# No events and no step noise unless a test wants them: physics is easy to follow.
CALM = SimConfig(events_per_day=0.0, step_cv=0.05, report_prob_per_h=1.0, report_after_h=2.0)


def _sim(midnight: datetime, *, days: int = 6, seed: int = 1, config: SimConfig = CALM) -> CitySim:
    return CitySim.create(tiny_bins(), start=midnight, days=days, seed=seed, config=config)


def test_uncollected_bins_overflow_and_overflow_grows(midnight: datetime) -> None:
    sim = _sim(midnight, days=8)
    fills = []
    events = 0
    for _ in range(8):
        out = sim.advance_day()
        events += out.overflow_events
        fills.append(sim.fill.copy())
    assert np.all(np.diff(np.array(fills), axis=0) > 0)  # never emptied: fill only grows
    over = sim.fill >= 1.0
    assert over.any()
    assert events == int(over.sum())  # one event per bin passing 100 %
    before = sim.open_overflow_l()
    assert before > 0
    assert sim.reports  # overflowing bins got citizen reports (one per episode at most)
    assert len({r.bin_id for r in sim.reports}) == len(sim.reports)


def test_emptying_at_visit_resets_and_counts_true_fill(midnight: datetime) -> None:
    sim = _sim(midnight)
    sim.advance_day()
    fill_before = float(sim.fill[0])
    out = sim.advance_day([(0, 24.0 + 9.5)])  # bin 0 at 09:30 on day 2
    (p,) = out.pickups
    assert p.bin_index == 0 and p.at_h == 33.5
    assert p.fill > fill_before  # it kept filling until 09:30
    assert p.litres == pytest.approx(min(p.fill, 1.0) * 360)
    assert sim.fill[0] < p.fill  # restarted from the residual
    assert sim.fill[0] < 0.03 + 15 * float(sim.ex.inc[0, 33:48].max())
    assert sim.last_emptied()["b00"] == sim.at(33.5)
    (rec,) = sim.pickups_since(24.0)
    assert (rec.bin_id, rec.at) == ("b00", sim.at(33.5))
    expected = 1.0 if p.fill >= 1.0 else p.fill
    assert rec.fill_fraction is not None
    assert abs(rec.fill_fraction - expected) <= 4 * PICKUP_NOISE_SD


def test_overflow_volume_counted_when_emptied(midnight: datetime) -> None:
    sim = _sim(midnight, days=8)
    for _ in range(7):
        sim.advance_day()
    i = int(np.argmax(sim.fill))
    assert sim.fill[i] > 1.0
    out = sim.advance_day([(i, 7 * 24.0 + 8.0)])
    (p,) = out.pickups
    assert p.litres == pytest.approx(360.0)  # the truck takes a full bin
    assert p.overflow_l == pytest.approx((p.fill - 1.0) * 360.0)
    assert out.overflow_l == pytest.approx(p.overflow_l)


def test_readings_only_from_sensor_bins_and_in_range(midnight: datetime) -> None:
    sim = _sim(midnight, config=SimConfig())
    sim.advance_day()
    sim.advance_day([(0, 30.0)])
    ids = {r.bin_id for r in sim.readings_since(0.0)}
    sensors = {b.bin_id for b in sim.bins if b.has_sensor}
    assert ids and ids <= sensors
    assert all(0.0 <= r.fill_fraction <= 1.0 for r in sim.readings)
    assert all(r.at <= sim.now for r in sim.readings)
    assert len(sim.readings_since(24.0)) < len(sim.readings_since(0.0))
    after = [r for r in sim.readings_since(30.0) if r.bin_id == "b00"]
    before = [r for r in sim.readings_since(24.0) if r.bin_id == "b00" and r.at < sim.at(30.0)]
    if after and before:  # the sensor sees the emptying (noise 2 %, spikes rare)
        assert min(r.fill_fraction for r in after[:2]) < max(r.fill_fraction for r in before)


def test_same_seed_same_city_other_seed_differs(midnight: datetime) -> None:
    def run(seed: int) -> tuple[np.ndarray, int, int]:
        sim = _sim(midnight, seed=seed, config=SimConfig())
        sim.advance_day([(1, 8.0), (2, 9.0)])
        out = sim.advance_day([(3, 32.0)])
        return sim.fill, len(sim.readings), out.overflow_events

    a, b, c = run(5), run(5), run(6)
    assert np.array_equal(a[0], b[0]) and a[1:] == b[1:]
    assert not np.array_equal(a[0], c[0])


def test_bad_emptyings_are_errors(midnight: datetime) -> None:
    sim = _sim(midnight, days=1)
    with pytest.raises(FleetDataError, match="outside the simulated day"):
        sim.advance_day([(0, 30.0)])
    with pytest.raises(FleetDataError, match="twice"):
        sim.advance_day([(0, 8.1), (0, 8.5)])
    with pytest.raises(FleetDataError, match="time zone"):
        CitySim.create(tiny_bins(), start=datetime(2026, 1, 1), days=1, seed=1)


# noise-free level sensors: a weighing sensor's kg per litre of fill is the true density
WEIGHED = SimConfig(
    noise_sd=0.0,
    spike_prob=0.0,
    density_factor=2.0,
    density_sigma_log=0.3,
    weigh_share=1.0,
)


def test_weighing_sensors_report_the_weight_at_each_bin_s_true_density(
    midnight: datetime,
) -> None:
    sim = _sim(midnight, config=WEIGHED)
    sim.advance_day()
    out = sim.advance_day([(0, 30.0)])
    density = sim.ex.density
    assert np.allclose(np.median(density / 0.10), 2.0, rtol=0.3)  # residual's 0.10 x 2
    assert np.ptp(density) > 0.01  # each bin its own
    counted = [r for r in sim.readings if r.fill_fraction > 0]
    assert counted and all(r.weight_kg is not None for r in counted)
    index = {b.bin_id: i for i, b in enumerate(sim.bins)}
    for r in counted:
        assert r.weight_kg == pytest.approx(r.fill_fraction * 360 * density[index[r.bin_id]])
    (p,) = out.pickups
    assert p.kg == pytest.approx(p.litres * density[0])


def test_without_weighing_the_city_is_as_before(midnight: datetime) -> None:
    """The default config: planning densities are the true ones, no reading has a weight;
    the weighing draws do not move the city's other draws (same fills, same readings)."""
    plain = _sim(midnight, config=SimConfig())
    weighed = _sim(midnight, config=SimConfig(density_sigma_log=0.3, weigh_share=0.5))
    for sim in (plain, weighed):
        sim.advance_day()
    assert np.all(plain.ex.density == 0.10) and not plain.ex.weighs.any()
    assert all(r.weight_kg is None for r in plain.readings)
    assert np.array_equal(plain.fill, weighed.fill)
    assert [r.fill_fraction for r in plain.readings] == [r.fill_fraction for r in weighed.readings]
    sensors = np.array([b.has_sensor for b in weighed.bins])
    assert weighed.ex.weighs.any() and not (weighed.ex.weighs & ~sensors).any()


def test_sensors_that_only_weigh_give_fills_at_the_planning_density(midnight: datetime) -> None:
    """Their readings are stored as the service stores them: the true weight, and a fill
    at residual's 0.10 kg/l, off by the bin's true density, at most MAX_FILL (the heavy
    ones of bins twice as dense are kept, not lost); the other bins' readings, and every
    bin's density, are those of the city whose sensors all read levels too."""
    both = _sim(midnight, config=WEIGHED)
    only = _sim(midnight, config=dataclasses.replace(WEIGHED, weight_only_share=0.5))
    for sim in (both, only):
        sim.advance_day()
    assert np.array_equal(both.ex.density, only.ex.density)
    assert only.ex.weight_only.any() and not only.ex.weight_only.all()
    index = {b.bin_id: i for i, b in enumerate(only.bins)}
    alone = [r for r in only.readings if only.ex.weight_only[index[r.bin_id]]]
    assert alone and all(r.fill_from_weight for r in alone)
    for r in alone:
        assert r.weight_kg is not None
        assert r.fill_fraction == pytest.approx(min(r.weight_kg / (0.10 * 360), MAX_FILL))
    assert any(r.fill_fraction == MAX_FILL for r in alone)
    truth = {(r.bin_id, r.at): r for r in both.readings}
    for r in alone:  # noise-free levels: the fill is off by the true density alone
        level = truth[(r.bin_id, r.at)].fill_fraction
        off = level * only.ex.density[index[r.bin_id]] / 0.10
        assert r.fill_fraction == pytest.approx(min(off, MAX_FILL))
    rest = [r for r in only.readings if not only.ex.weight_only[index[r.bin_id]]]
    assert rest == [r for r in both.readings if not only.ex.weight_only[index[r.bin_id]]]


def test_askew_sensors_read_off_by_their_fill_and_move_nothing_else(midnight: datetime) -> None:
    """An askew_share of the sensor bins read askew_fill off the true fill (noise-free
    sensors here), kept in 0..1; the other bins' readings, and the city, are those of a city
    whose sensors all read true."""
    true = dataclasses.replace(WEIGHED, weigh_share=0.0)
    askew = dataclasses.replace(true, askew_share=0.5, askew_fill=-0.3)
    plain, off = _sim(midnight, config=true), _sim(midnight, config=askew)
    for sim in (plain, off):
        sim.advance_day()
    assert np.array_equal(plain.fill, off.fill)
    sensors = np.array([b.has_sensor for b in off.bins])
    assert (off.ex.askew != 0).any() and (off.ex.askew[sensors] == 0).any()
    assert set(off.ex.askew[~sensors]) == {0.0} and set(off.ex.askew) == {0.0, -0.3}
    index = {b.bin_id: i for i, b in enumerate(off.bins)}
    truth = {(r.bin_id, r.at): r.fill_fraction for r in plain.readings}
    assert len(truth) == len(off.readings)
    for r in off.readings:
        want = max(truth[(r.bin_id, r.at)] + off.ex.askew[index[r.bin_id]], 0.0)
        assert r.fill_fraction == pytest.approx(want)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (lambda: SimConfig(weigh_share=1.5), "weigh_share"),
        (lambda: SimConfig(weight_only_share=-0.5), "weight_only_share"),
        (lambda: SimConfig(density_factor=0.0), "density_factor"),
        (lambda: SimConfig(density_sigma_log=-0.1), "density_sigma_log"),
        (lambda: SimConfig(lift_scales="yes"), "lift_scales"),  # type: ignore[arg-type]
        (lambda: SimConfig(askew_share=2.0), "askew_share"),
        (lambda: SimConfig(askew_fill=-1.5), "askew_fill"),
    ],
)
def test_bad_weighing_settings_are_errors(config: object, match: str) -> None:
    with pytest.raises(FleetDataError, match=match):
        config()  # type: ignore[operator]


def test_lift_scales_log_the_weight_each_truck_took(midnight: datetime) -> None:
    """With lift scales each pickup logs the kg taken (at the bin's true density) beside
    the crew's fill; without crew fills, the fill is the weight's at the planning density
    (residual's 0.10 kg/l, at most 1), and without either the emptying is logged without a
    fill (as the service logs a visit reported without one). The city is the same in all
    four."""
    visits = [(0, 30.0), (1, 31.0)]
    logs = {}
    for lift in (False, True):
        for crew in (True, False):
            cfg = dataclasses.replace(WEIGHED, weigh_share=0.0, lift_scales=lift, crew_fills=crew)
            sim = _sim(midnight, config=cfg)
            sim.advance_day()
            out = sim.advance_day(visits)
            logs[lift, crew] = (sim.pickups, out.pickups)
    truth = logs[False, True][1]
    assert all(got[1] == truth for got in logs.values())
    crew_only, _ = logs[False, True]
    assert len(crew_only) == 2 and all(p.weight_kg is None for p in crew_only)
    both, _ = logs[True, True]
    assert [p.fill_fraction for p in both] == [p.fill_fraction for p in crew_only]
    assert [p.weight_kg for p in both] == [pytest.approx(p.kg) for p in truth]
    alone, _ = logs[True, False]
    assert all(p.fill_from_weight for p in alone)
    fills = [min(p.kg / (0.10 * 360), 1.0) for p in truth]
    assert [p.fill_fraction for p in alone] == [pytest.approx(f) for f in fills]
    neither, _ = logs[False, False]
    assert [(p.at, p.fill_fraction, p.weight_kg) for p in neither] == [
        (p.at, None, None) for p in crew_only
    ]


def test_a_city_at_the_most_each_rate_and_spread_may_be_still_counts(midnight: datetime) -> None:
    """Every ``[sim]`` rate and spread at the most a scenario file may give (``SIM_MAX``):
    the city fills, overflows and is emptied without a number overflowing or turning to
    NaN. Past them, 1e6 and up, fills were NaN or the simulator raised (OverflowError,
    "lam value too large") in the middle of a run."""
    most: dict[str, Any] = {key: value for key, (value, _) in SIM_MAX.items()}
    config = SimConfig(**most, weigh_share=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        sim = _sim(midnight, days=3, config=config)
        sim.advance_day()
        out = sim.advance_day([(0, 24.0 + 9.5), (5, 24.0 + 10.0)])
        sim.advance_day()
    assert np.isfinite(sim.fill).all() and (sim.fill >= 0).all()
    assert [p.bin_index for p in out.pickups] == [0, 5]
    assert all(np.isfinite([p.fill, p.litres, p.kg, p.overflow_l]).all() for p in out.pickups)
    assert np.isfinite(sim.open_overflow_l())


def test_a_city_whose_bins_never_fill_reads_them_empty_without_a_nan(midnight: datetime) -> None:
    """``rate_median_per_day = 0`` (valid: bins that never fill), a bin emptied: its
    sensor readings are its residual, and no invalid value is computed on the way (the
    readings' time since an emptying was inf x 0 for the bins not emptied that hour)."""
    config = SimConfig(rate_median_per_day=0.0, events_per_day=0.0, noise_sd=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        sim = _sim(midnight, days=2, config=config)
        sim.advance_day([(0, 9.5)])
        sim.advance_day()
    assert np.isfinite(sim.fill).all() and sim.fill.max() <= 0.6  # the initial fills at most
    assert sim.readings and all(0.0 <= r.fill_fraction <= 1.0 for r in sim.readings)
