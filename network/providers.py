"""Matrix providers: callables (points (lon, lat)) -> TravelMatrix."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np

from network.errors import NetworkError
from network.hours import TimedStreet
from network.matrix import TravelMatrix
from network.snap import MAX_SNAP_M
from network.streets import StreetNetwork
from network.table import haversine_m

DAY_S = 24 * 3600
MIN_STRAY_PLACES = 3  # fewer places have no middle to stray from
P = TypeVar("P")


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
    middle = (float(np.median(pts[:, 0])), float(np.median(pts[:, 1])))
    return middle, strays_from(points, middle, limit_m)


def strays_from(
    points: Sequence[tuple[float, float]], middle: tuple[float, float], limit_m: float
) -> dict[int, Stray]:
    """Index -> :class:`Stray` of each (lon, lat) point farther than ``limit_m`` metres from
    ``middle`` (lon, lat)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    away = haversine_m(pts[:, 0], pts[:, 1], *middle)
    flipped = haversine_m(pts[:, 1], pts[:, 0], *middle)
    flipped[np.abs(pts[:, 0]) > 90] = math.inf  # a lon past 90 degrees is no latitude
    return {
        int(i): Stray(float(away[i]), float(flipped[i])) for i in np.flatnonzero(away > limit_m)
    }


@dataclass(frozen=True, slots=True)
class WithinReach:
    """Straight-line travel (``base``) that places no point farther than ``limit_m`` from
    ``middle`` (lon, lat), the middle of a city's places: such a point is a typing mistake
    (a digit dropped, lon and lat swapped) that straight lines would plan days of driving
    to. Like a street network's point off the map, it is named (``far_points``, in words
    by ``far_said``, swapped by ``swapped_near``) rather than planned. Build it with
    :func:`within_reach`; ``whose`` names the places in words ("city's", "inventory's")."""

    base: HaversineProvider
    middle: tuple[float, float]
    limit_m: float
    whose: str = "city's"

    def __call__(self, points: Sequence[tuple[float, float]]) -> TravelMatrix:
        """``base``'s matrix between the (lon, lat) points."""
        return self.base(points)

    def extend(
        self, matrix: TravelMatrix, new_points: Sequence[tuple[float, float]]
    ) -> TravelMatrix:
        """``base``'s ``matrix`` with ``new_points`` appended."""
        return self.base.extend(matrix, new_points)

    def reach_m(self, seconds: float) -> float:
        """Straight-line metres a truck covers in ``seconds`` (``base``'s)."""
        return self.base.reach_m(seconds)

    def far_points(self, points: Sequence[tuple[float, float]]) -> dict[int, float]:
        """Index -> metres from the middle of each (lon, lat) point past the limit."""
        return {i: s.away_m for i, s in strays_from(points, self.middle, self.limit_m).items()}

    def far_said(self, metres: float) -> str:
        """A point ``metres`` from the middle, in words: "6,020 km from the middle of the
        city's places (24.950000, 60.170000), farther than a truck drives in a day (462 km
        in a straight line)"."""
        lon, lat = self.middle
        return (
            f"{metres / 1000:,.0f} km from the middle of the {self.whose} places ({lon:.6f}, "
            f"{lat:.6f}), farther than a truck drives in a day ({self.limit_m / 1000:,.0f} km "
            "in a straight line)"
        )

    def swapped_near(
        self, points: Sequence[tuple[float, float]], far: Iterable[int]
    ) -> dict[int, str]:
        """Index -> the fix for each of the ``far`` (lon, lat) ``points`` (:meth:`far_points`)
        that read the other way round, (lat, lon), is within the limit of the middle."""
        found = strays_from(points, self.middle, self.limit_m)
        return {
            i: (
                f"its lon and lat look swapped: ({points[i][1]:.6f}, {points[i][0]:.6f}) is "
                f"{found[i].swapped_m / 1000:,.1f} km from the middle; give lon first, then lat"
            )
            for i in far
            if i in found and found[i].swapped_m <= self.limit_m
        }


def within_reach(
    provider: P,
    places: Sequence[tuple[float, float]],
    limit_s: float = DAY_S,
    *,
    whose: str = "city's",
) -> P | WithinReach:
    """``provider`` as :class:`WithinReach` when it is straight lines
    (:class:`HaversineProvider`) and there are at least :data:`MIN_STRAY_PLACES` (lon, lat)
    ``places`` (a city's depots, sites and bins) to find their middle (:func:`strays`): a
    place farther than a truck drives in ``limit_s`` seconds from it is then named, not
    planned. Any other provider (a street network names such places already) is returned
    as it is."""
    if not isinstance(provider, HaversineProvider) or len(places) < MIN_STRAY_PLACES:
        return provider
    middle, _ = strays(places, math.inf)
    return WithinReach(provider, middle, provider.reach_m(limit_s), whose)


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
