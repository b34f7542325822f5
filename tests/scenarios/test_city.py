from __future__ import annotations

import numpy as np

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
