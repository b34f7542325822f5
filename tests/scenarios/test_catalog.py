"""Every catalogue scenario runs on its own street graph, shrunk to a few bins and one day.

The scenarios that name a city in ``../shared/data/osm/`` skip when that folder is absent; a
file the folder lacks (a misspelt name in the catalogue) fails.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from scenarios.city import build_city
from scenarios.config import (
    SHARED_PREFIX,
    ScenarioConfig,
    catalog,
    load_config,
    shared_data_dir,
)
from scenarios.run import run_scenario

SHRUNK_BINS = 40


def _shrunk(cfg: ScenarioConfig) -> ScenarioConfig:
    """The scenario's city, area, fleet and policies; 40 bins, 3 warm-up days, at most one
    settling day, 1 day, 1 s."""
    return replace(
        cfg,
        n_bins=SHRUNK_BINS,
        warmup_days=3,
        settle_days=min(cfg.settle_days, 1),
        days=1,
        time_limit_s=1.0,
        sweep=(),
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(catalog()))
def test_catalogue_scenario_runs_on_its_city(name: str, tmp_path: Path) -> None:
    cfg = _shrunk(load_config(name))
    osm = shared_data_dir() / "osm"
    if cfg.city.startswith(SHARED_PREFIX) and not osm.is_dir():
        pytest.skip(f"{osm} not available")
    city = build_city(cfg, cache_dir=tmp_path)
    bins = city.inventory.bins
    assert len(bins) == SHRUNK_BINS
    if cfg.area is not None:
        west, south, east, north = cfg.area
        assert all(west <= b.lon <= east and south <= b.lat <= north for b in bins)
    result = run_scenario(cfg, city=city)
    assert [p.policy for p in result.policies] == [p.name for p in cfg.policies]
    for p in result.policies:
        assert p.totals["violations"] == 0, p.policy
        assert p.totals["unserved_must"] == 0, p.policy
    assert sum(p.totals["bins_collected"] for p in result.policies) > 0
