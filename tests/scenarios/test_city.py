from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from network import HaversineProvider
from scenarios.city import CachedProvider

PTS = [(24.93, 60.16), (24.94, 60.17), (24.95, 60.165), (24.935, 60.175)]


def test_cached_provider_returns_the_sub_matrix_in_request_order() -> None:
    base = HaversineProvider()
    cached = CachedProvider(base, PTS)
    ask = [PTS[2], PTS[0], PTS[3]]
    sub = cached(ask)
    direct = base(ask)
    assert np.array_equal(sub.distance_m, direct.distance_m)
    assert np.array_equal(sub.duration_s, direct.duration_s)
    other = [PTS[0], (24.99, 60.2)]  # an unknown point: computed by the base provider
    assert np.array_equal(cached(other).distance_m, base(other).distance_m)


def test_a_matrix_too_big_for_memory_is_an_error_naming_n_bins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """numpy's MemoryError (n_bins = 200 000 asked for 298 GiB) became a traceback."""
    import scenarios.city
    from scenarios.city import build_city
    from scenarios.config import ScenarioError, config_from_dict
    from tests.scenarios.conftest import tiny_dict

    class NoRoom:
        def __call__(self, points: object) -> object:
            raise MemoryError("Unable to allocate 298. GiB")

    monkeypatch.setattr(scenarios.city, "HaversineProvider", NoRoom)
    cfg = config_from_dict(tiny_dict(n_bins=5), source="big.toml")
    with pytest.raises(ScenarioError) as err:
        build_city(cfg)
    text = str(err.value)
    assert text.startswith("big.toml: key 'n_bins' = 5: the travel matrix of its 7 points")
    assert "does not fit in this machine's memory; lower 'n_bins'" in text


def test_cached_provider_tells_the_streets_hours_of_its_base() -> None:
    """A scenario's plans time the visits of bins on timed streets: the cached matrix
    passes the base's street hours on (none from straight lines)."""
    from network.hours import TimedStreet

    timed = TimedStreet(rule="[]", street="Market Street", enter_s=10.0, leave_s=12.0)

    class Streets(HaversineProvider):
        def street_hours(self, points: list[tuple[float, float]]) -> list[TimedStreet | None]:
            return [timed if p == PTS[1] else None for p in points]

    assert CachedProvider(Streets(), PTS).street_hours(PTS) == [None, timed, None, None]
    assert CachedProvider(HaversineProvider(), PTS).street_hours(PTS) == [None] * 4


def test_underground_containers_and_crane_trucks_of_a_scenario(tmp_path: Path) -> None:
    """``crane_share`` of the bins (exactly, seeded) need a crane, the first
    ``fleet.crane_trucks`` trucks carry one, and the scenario's description says so; a
    sweep may change how many trucks do, not more than there are."""
    from scenarios.city import CRANE, build_city
    from scenarios.config import ScenarioError, config_from_dict, with_param
    from scenarios.report import describe
    from tests.scenarios.conftest import tiny_dict

    cfg = config_from_dict(
        tiny_dict(crane_share=0.25, fleet={"trucks": 2, "crane_trucks": 1}), source="u.toml"
    )
    city = build_city(cfg, cache_dir=tmp_path)
    needing = [b.bin_id for b in city.inventory.bins if b.needs]
    assert len(needing) == 3 and all(b.needs == CRANE for b in city.inventory.bins if b.needs)
    again = build_city(cfg, cache_dir=tmp_path)
    assert [b.bin_id for b in again.inventory.bins if b.needs] == needing  # seeded
    assert [v.equipment for v in city.inventory.vehicles] == [CRANE, frozenset()]
    said = describe(cfg, 12)
    assert "25% underground (a crane empties them)" in said and "(1 with a crane)" in said
    assert with_param(cfg, "fleet.crane_trucks", 2).fleet.crane_trucks == 2
    with pytest.raises(ScenarioError, match=r"fleet\.crane_trucks must be in"):
        with_param(cfg, "fleet.crane_trucks", 3)
