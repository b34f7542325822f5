"""Snapping (lon, lat) points onto the nearest street edge, with a shapely STRtree."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from network.errors import SnapError
from network.table import EARTH_RADIUS_M, EdgeTable, haversine_m

# How far (m) a bin, depot or site may stand from the nearest drivable street, by default
# (``binroute plan --max-snap-m``, the service's ``BINROUTE_MAX_SNAP_M``): the crew wheels a
# bin to the truck, and a point farther is more likely misplaced (a park's waste station, a
# swapped lon/lat) than reachable; the limit README's demo and CLI promise.
MAX_SNAP_M = 150.0
# A point nearer the street's centre line than this (m), or standing more ahead of its
# nearest spot than beside it (past a dead end), is on neither side (``Snap.side`` 0): OSM
# draws a two-way street as one line, so a bin mapped on it tells no kerb.
SIDE_MIN_M = 1.0
SIDE_MIN_SINE = 0.5
# how a SnapError for a point far from every street ends (a caller that knows better, e.g.
# that the point stands on a street cut off from the network, says that instead)
FAR_FIX = "fix its coordinates or raise max_snap_m"


@dataclass(frozen=True, slots=True, kw_only=True)
class Snap:
    """Where a point joins the street network.

    Attributes
    ----------
    point : (lon, lat)
        The input point, WGS84 degrees.
    edge : (u, v, key)
        The osmnx edge (OSM node ids and parallel-edge key) the point lies on.
    edge_index : int
        Row of that edge in the network's EdgeTable.
    fraction : float
        Position along the edge from ``u`` (0) to ``v`` (1), by length.
    snap_m : float
        Great-circle distance in metres from ``point`` to ``snapped``.
    snapped : (lon, lat)
        The nearest location on the edge.
    side : int
        Which side of the edge (driving from ``u`` to ``v``) the point stands on: 1 left,
        -1 right, 0 neither (on the centre line, or past the street's end: ``SIDE_MIN_M``).
    """

    point: tuple[float, float]
    edge: tuple[int, int, int]
    edge_index: int
    fraction: float
    snap_m: float
    snapped: tuple[float, float]
    side: int = 0


class EdgeIndex:
    """STRtree over one representative edge per street piece, in a local metric projection.

    Parameters
    ----------
    table : EdgeTable
    candidates : numpy.ndarray
        Indices of the edges to index (one per undirected street piece).
    edge_keys : numpy.ndarray
        osmnx parallel-edge key of every edge.
    """

    def __init__(self, table: EdgeTable, candidates: np.ndarray, edge_keys: np.ndarray) -> None:
        self._table = table
        self._keys = edge_keys
        self._cand = candidates
        self._lon0 = float(np.mean(table.node_lon))
        self._lat0 = float(np.mean(table.node_lat))
        self._kx = math.radians(1) * EARTH_RADIUS_M * math.cos(math.radians(self._lat0))
        self._ky = math.radians(1) * EARTH_RADIUS_M
        off = table.geom_offset
        counts = off[candidates + 1] - off[candidates]
        gidx = np.repeat(off[candidates] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        gidx = gidx + np.arange(counts.sum())
        xy = self._project(table.geom_lon[gidx], table.geom_lat[gidx])
        self._lines = shapely.linestrings(xy, indices=np.repeat(np.arange(len(candidates)), counts))
        self._tree = shapely.STRtree(self._lines)

    def _project(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return np.column_stack([(lon - self._lon0) * self._kx, (lat - self._lat0) * self._ky])

    def _unproject(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return xy[:, 0] / self._kx + self._lon0, xy[:, 1] / self._ky + self._lat0

    def snap(self, points: Sequence[tuple[float, float]], max_snap_m: float) -> list[Snap]:
        """Nearest edge for each (lon, lat) point.

        Raises
        ------
        SnapError
            A point is farther than ``max_snap_m`` metres from every street, or not a WGS84
            (lon, lat) point (non-finite, lon outside [-180, 180], lat outside [-90, 90]);
            names the point.
        """
        if len(points) == 0:
            return []
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if not np.all(np.isfinite(pts)):
            bad = int(np.flatnonzero(~np.isfinite(pts).all(axis=1))[0])
            raise SnapError.of_point(bad, f"{tuple(pts[bad])} has a non-finite coordinate")
        off_globe = (np.abs(pts[:, 0]) > 180) | (np.abs(pts[:, 1]) > 90)
        if off_globe.any():  # lon + 360 is 0 m from lon by the great circle: never snap it
            bad = int(np.flatnonzero(off_globe)[0])
            raise SnapError.of_point(
                bad,
                f"(lon={pts[bad, 0]:.6f}, lat={pts[bad, 1]:.6f}) is not a WGS84 (lon, lat) "
                "point: lon must be in [-180, 180] and lat in [-90, 90]; fix its coordinates",
            )
        geoms = shapely.points(self._project(pts[:, 0], pts[:, 1]))
        idx = self._tree.query_nearest(geoms, all_matches=False)
        order = np.argsort(idx[0], kind="stable")
        hit = idx[1][order]
        lines = self._lines[hit]
        frac = shapely.line_locate_point(lines, geoms, normalized=True)
        on_line = shapely.get_coordinates(
            shapely.line_interpolate_point(lines, frac, normalized=True)
        )
        slon, slat = self._unproject(on_line)
        dist = haversine_m(pts[:, 0], pts[:, 1], slon, slat)
        side = _sides(lines, frac, on_line, shapely.get_coordinates(geoms))
        return [
            self._make(
                i,
                pts[i],
                int(self._cand[hit[i]]),
                float(frac[i]),
                float(dist[i]),
                (float(slon[i]), float(slat[i])),
                max_snap_m,
                int(side[i]),
            )
            for i in range(len(pts))
        ]

    def _make(
        self,
        i: int,
        pt: np.ndarray,
        e: int,
        frac: float,
        dist: float,
        snapped: tuple[float, float],
        max_snap_m: float,
        side: int,
    ) -> Snap:
        point = (float(pt[0]), float(pt[1]))
        if dist > max_snap_m:
            raise SnapError.of_point(
                i,
                f"(lon={point[0]:.6f}, lat={point[1]:.6f}) is {dist:.0f} m from the nearest "
                f"drivable street (limit {max_snap_m:.0f} m); {FAR_FIX}",
            )
        t = self._table
        edge = (int(t.node_osmid[t.edge_u[e]]), int(t.node_osmid[t.edge_v[e]]), int(self._keys[e]))
        return Snap(
            point=point,
            edge=edge,
            edge_index=e,
            fraction=min(max(frac, 0.0), 1.0),
            snap_m=dist,
            snapped=snapped,
            side=side,
        )


def _sides(lines: np.ndarray, frac: np.ndarray, on_line: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Side (1 left, -1 right, 0 neither) of each projected point ``xy`` (metres) from its
    line's direction at its nearest spot ``on_line`` (at ``frac``, normalised by length)."""
    length = shapely.length(lines)
    at = frac * length
    step = np.minimum(0.5, 0.5 * length)  # metres either way along the line: its heading there
    ahead = shapely.get_coordinates(
        shapely.line_interpolate_point(lines, np.minimum(at + step, length))
    )
    behind = shapely.get_coordinates(
        shapely.line_interpolate_point(lines, np.maximum(at - step, 0.0))
    )
    heading = ahead - behind
    off = xy - on_line
    cross = heading[:, 0] * off[:, 1] - heading[:, 1] * off[:, 0]
    norms = np.hypot(heading[:, 0], heading[:, 1]) * np.hypot(off[:, 0], off[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        sine = np.where(norms > 0, cross / norms, 0.0)
    beside = (np.hypot(off[:, 0], off[:, 1]) >= SIDE_MIN_M) & (np.abs(sine) >= SIDE_MIN_SINE)
    return np.where(beside, np.sign(cross), 0).astype(np.int64)


def sub_line(table: EdgeTable, e: int, t0: float, t1: float) -> list[tuple[float, float]]:
    """Part of edge ``e``'s geometry between fractions ``t0 <= t1`` (by length), as (lon, lat)."""
    coords = np.array(table.edge_coords(e))
    seg = haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    if total <= 0:
        return [tuple(coords[0]), tuple(coords[-1])]
    d0, d1 = t0 * total, t1 * total
    lon0, lat0 = np.interp(d0, cum, coords[:, 0]), np.interp(d0, cum, coords[:, 1])
    lon1, lat1 = np.interp(d1, cum, coords[:, 0]), np.interp(d1, cum, coords[:, 1])
    inner = [(float(x), float(y)) for (x, y), d in zip(coords, cum, strict=True) if d0 < d < d1]
    return [(float(lon0), float(lat0)), *inner, (float(lon1), float(lat1))]
