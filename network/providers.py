"""Matrix providers: callables (points (lon, lat)) -> TravelMatrix."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

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

    def reach_m(self, seconds: float) -> float:
        """Straight-line metres a truck covers in ``seconds`` at this speed and detour."""
        return seconds * self.speed_kph / 3.6 / self.detour


class Stray(NamedTuple):
    """A point far from the middle of its set (:func:`strays`)."""

    away_m: float  # great-circle metres from the middle
    swapped_m: float  # the same, read the other way round, (lat, lon); inf: its lon is no lat


def strays(
    points: Sequence[tuple[float, float]], limit_m: float
) -> tuple[tuple[float, float], dict[int, Stray]]:
    """The middle of the (lon, lat) ``points`` (the median lon, the median lat) and, index ->
    :class:`Stray`, each point farther than ``limit_m`` metres from it.

    In one city's places, a point thousands of km from the others is a typing mistake (a
    digit dropped, lon and lat swapped) that straight-line travel times would plan a drive
    to; a street network has no street there (``StreetNetwork.far_points``). The median
    is not moved by a few such points.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return (math.nan, math.nan), {}
    mid_lon, mid_lat = (float(x) for x in np.median(pts, axis=0))
    away = haversine_m(pts[:, 0], pts[:, 1], mid_lon, mid_lat)
    flipped = haversine_m(pts[:, 1], pts[:, 0], mid_lon, mid_lat)
    flipped[np.abs(pts[:, 0]) > 90] = math.inf  # a lon past 90 degrees is no latitude
    return (mid_lon, mid_lat), {
        int(i): Stray(float(away[i]), float(flipped[i])) for i in np.flatnonzero(away > limit_m)
    }


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

    def swapped_near(
        self, points: Sequence[tuple[float, float]], far: Iterable[int]
    ) -> dict[int, str]:
        """Index -> the fix for each of the ``far`` points whose lon and lat look swapped
        (see StreetNetwork.swapped_near)."""
        return self.network.swapped_near(points, far, self.max_snap_m)

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
