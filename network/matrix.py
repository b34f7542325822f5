"""Travel-time and distance matrices between points (integer seconds and metres)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from network.errors import NetworkError

MAX_TRAVEL = 10**9


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Asymmetric many-to-many travel matrices.

    Attributes
    ----------
    duration_s : numpy.ndarray
        ``(n, n)`` int64 seconds, ``duration_s[i, j]`` from point i to point j; zero diagonal.
    distance_m : numpy.ndarray
        ``(n, n)`` int64 metres along the same (fastest) paths; zero diagonal.
    points : tuple of (lon, lat)
        The points, WGS84 degrees, in row order.
    kerb_side : tuple of bool
        Per point, whether the paths reach and leave it with the point on the truck's kerb
        side (:meth:`network.StreetNetwork.matrix`); empty when no point is (the default).
    """

    duration_s: np.ndarray
    distance_m: np.ndarray
    points: tuple[tuple[float, float], ...]
    kerb_side: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.points)
        if self.kerb_side and len(self.kerb_side) != n:
            raise NetworkError(f"kerb_side has {len(self.kerb_side)} flags for {n} points")
        for name in ("duration_s", "distance_m"):
            arr = getattr(self, name)
            if arr.shape != (n, n):
                raise NetworkError(f"{name} has shape {arr.shape}, expected ({n}, {n})")
            if arr.dtype != np.int64:
                raise NetworkError(f"{name} must be int64, got {arr.dtype}")
            if n and (arr.min() < 0 or arr.max() >= MAX_TRAVEL):
                raise NetworkError(f"{name} has values outside [0, {MAX_TRAVEL})")
            if n and np.any(np.diag(arr) != 0):
                raise NetworkError(f"{name} must have a zero diagonal")
            arr.setflags(write=False)

    @property
    def size(self) -> int:
        """Number of points."""
        return len(self.points)
