"""The fill estimator's settings (:class:`FillConfig`), shared by its modules
(:mod:`fleet.fill` describes the steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fleet.errors import FleetDataError
from fleet.forecast import HOURS_PER_DAY, Z_90

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class FillConfig:
    """Knobs of the fill estimator (fractions of the bin unless named otherwise)."""

    drop: float = 0.2
    empty_level: float = 0.25
    saturated: float = 0.98
    spike_k: float = 4.0
    spike_min: float = 0.08
    # Days of data on a weekday that weigh as much as the stream's pooled pattern (7 rather
    # than 3 since the pool is filled on short histories: measured equal on the fill errors).
    weekday_shrink_days: float = 7.0
    min_points: int = 4
    sigma_floor: float = 0.01
    rate_sd_rel_floor: float = 0.1
    rate_sd_rel_single: float = 0.3
    default_rate_per_h: float = 0.3 / HOURS_PER_DAY
    unknown_fill: float = 0.5
    unknown_fill_sd: float = 0.25
    report_fill_sd: float = 0.05
    report_match_m: float = 50.0
    z: float = Z_90

    def __post_init__(self) -> None:
        if not 0 < self.drop < 1:
            raise FleetDataError(f"FillConfig: drop must be in (0, 1), got {self.drop}")
        if self.min_points < 2:
            raise FleetDataError("FillConfig: min_points must be >= 2")
        if self.weekday_shrink_days < 0 or self.default_rate_per_h < 0 or self.z <= 0:
            raise FleetDataError("FillConfig: shrink days and default rate >= 0, z > 0")
