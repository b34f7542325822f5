"""The seeded simulator."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from fleet.errors import FleetDataError
from fleet.simulate import SimConfig, simulate_history
from tests.fleet.conftest import T0, make_bin

BINS = [make_bin(f"b{i}", has_sensor=i % 4 != 0) for i in range(40)]


def test_same_seed_same_history_other_seed_differs() -> None:
    a = simulate_history(BINS, start=T0, days=4, seed=5)
    b = simulate_history(BINS, start=T0, days=4, seed=5)
    c = simulate_history(BINS, start=T0, days=4, seed=6)
    assert np.array_equal(a.fill_post, b.fill_post)
    assert a.readings() == b.readings()
    assert not np.array_equal(a.fill_post, c.fill_post)


def test_readings_only_for_sensors_within_range() -> None:
    h = simulate_history(BINS, start=T0, days=4, seed=1)
    rs = h.readings()
    sensor_ids = {b.bin_id for b in BINS if b.has_sensor}
    assert {r.bin_id for r in rs} == sensor_ids
    assert all(0.0 <= r.fill_fraction <= 1.0 and T0 <= r.at <= h.end for r in rs)
    assert h.readings(until=T0 + timedelta(days=1)) == tuple(
        r for r in rs if r.at <= T0 + timedelta(days=1)
    )


def test_emptyings_at_collection_hour_reset_fill_and_stop_at_collect_until() -> None:
    until = T0 + timedelta(days=3)
    cfg = SimConfig(collection_every_days=2, collection_hour=7.0, collect_until=until)
    h = simulate_history(BINS, start=T0, days=6, seed=3, config=cfg)
    assert h.emptyings
    for bid, when in h.emptyings:
        assert (when.hour, when.minute) == (7, 0)
        assert when < until
        assert h.true_fill(bid, when) <= cfg.residual_max
    per_bin = {bid for bid, _ in h.emptyings}
    assert per_bin == {b.bin_id for b in BINS}  # each bin is collected at least once in 3 days


def test_reports_only_when_overflowing() -> None:
    cfg = SimConfig(rate_median_per_day=0.8, collection_every_days=4, report_prob_per_h=0.5)
    h = simulate_history(BINS, start=T0, days=6, seed=4, config=cfg)
    assert h.reports
    for r in h.reports:
        assert r.bin_id is not None
        assert h.true_fill(r.bin_id, r.at) >= 1.0


def test_true_fill_grows_between_emptyings() -> None:
    cfg = SimConfig(collect_until=T0)  # no collections
    h = simulate_history(BINS, start=T0, days=3, seed=9, config=cfg)
    grid = h.true_fill_hours(np.arange(0.0, 72.0, 0.5))
    assert (np.diff(grid, axis=1) >= 0).all()


def test_naive_start_rejected() -> None:
    with pytest.raises(FleetDataError, match="add an offset"):
        simulate_history(BINS, start=T0.replace(tzinfo=None), days=1, seed=0)
