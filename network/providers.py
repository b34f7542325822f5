"""Matrix providers: callables (points (lon, lat)) -> TravelMatrix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from network.errors import NetworkError
from network.hours import TimedStreet
from network.matrix import TravelMatrix
from network.snap import MAX_SNAP_M
from network.streets import StreetNetwork
from network.table import haversine_m


@dataclass(frozen=True, slots=True, kw_only=True)
class HaversineProvider:
    """Offline, deterministic matrix: great-circle metres times a detour factor at a fixed speed.

    Attributes
    ----------
    speed_kph : float
        Average driving speed.
    detour : float
        Street distance / straight-line distance (>= 1).
    """

    speed_kph: float = 25.0
    detour: float = 1.3

    def __post_init__(self) -> None:
        if self.speed_kph <= 0 or self.detour < 1:
            raise NetworkError(
                f"HaversineProvider needs speed_kph > 0 and detour >= 1, got "
                f"{self.speed_kph}, {self.detour}"
            )

    def __call__(self, points: Sequence[tuple[float, float]]) -> TravelMatrix:
        """Symmetric matrix (int seconds, int metres) between the (lon, lat) points."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if not np.all(np.isfinite(pts)):
            raise NetworkError("points must have finite (lon, lat) coordinates")
        metres = self.detour * haversine_m(
            pts[:, None, 0], pts[:, None, 1], pts[None, :, 0], pts[None, :, 1]
        )
        distance_m = np.round(metres).astype(np.int64)
        duration_s = np.round(metres / (self.speed_kph / 3.6)).astype(np.int64)
        return TravelMatrix(
            duration_s=duration_s,
            distance_m=distance_m,
            points=tuple((float(x), float(y)) for x, y in pts),
        )

    def extend(
        self, matrix: TravelMatrix, new_points: Sequence[tuple[float, float]]
    ) -> TravelMatrix:
        """``matrix`` with ``new_points`` appended (recomputed: closed form, cheap)."""
        return self([*matrix.points, *new_points])


@dataclass(frozen=True, slots=True)
class StreetProvider:
    """Street matrix provider backed by a :class:`StreetNetwork`."""

    network: StreetNetwork
    max_snap_m: float = MAX_SNAP_M

    def __call__(
        self, points: Sequence[tuple[float, float]], *, kerb_side: Sequence[bool] | None = None
    ) -> TravelMatrix:
        """Fastest-path matrix between the (lon, lat) points, those flagged ``kerb_side``
        passed with them on the kerb (see StreetNetwork.matrix)."""
        return self.network.matrix(points, max_snap_m=self.max_snap_m, kerb_side=kerb_side)

    def sideless(self, points: Sequence[tuple[float, float]]) -> list[int]:
        """Indices of the (lon, lat) points on no kerb of their two-way street (see
        StreetNetwork.sideless)."""
        return self.network.sideless(points, max_snap_m=self.max_snap_m)

    def street_hours(self, points: Sequence[tuple[float, float]]) -> list[TimedStreet | None]:
        """The street of each point when trucks may drive it only at some hours, else None
        (see StreetNetwork.street_hours)."""
        return self.network.street_hours(points, max_snap_m=self.max_snap_m)

    def far_points(self, points: Sequence[tuple[float, float]]) -> dict[int, float]:
        """Index -> metres to the nearest drivable street of each (lon, lat) point farther
        than ``max_snap_m`` (a matrix of them would raise SnapError)."""
        return self.network.far_points(points, self.max_snap_m)

    def cut_off_near(
        self, points: Sequence[tuple[float, float]], far: Iterable[int]
    ) -> dict[int, str]:
        """Index -> why no truck reaches it, for each of the ``far`` points within
        ``max_snap_m`` of a street cut off from the network (see StreetNetwork.cut_off_near)."""
        return self.network.cut_off_near(points, far, self.max_snap_m)

    def extend(
        self,
        matrix: TravelMatrix,
        new_points: Sequence[tuple[float, float]],
        *,
        kerb_side: Sequence[bool] | None = None,
    ) -> TravelMatrix:
        """``matrix`` with ``new_points`` appended: only the new rows and columns computed
        (``kerb_side`` flags the new points; the old keep theirs)."""
        return self.network.extend_matrix(
            matrix, new_points, max_snap_m=self.max_snap_m, kerb_side=kerb_side
        )
