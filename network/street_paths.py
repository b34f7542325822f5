"""Paths on the street network (:class:`StreetPaths`, part of
:class:`network.streets.StreetNetwork`): the fastest path between two points, drawn as
lines and GeoJSON, turn-by-turn directions, street lines and sample street points."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import csgraph

from network import directions
from network.directions import Piece, Step
from network.errors import NetworkError, UnreachableError
from network.snap import MAX_SNAP_M, Snap, sub_line
from network.street_base import (
    StreetBase,
)
from network.street_weights import (
    TIME_UNITS_PER_S,
    Point,
    _flags,
)
from network.table import (
    CONNECTOR_HIGHWAY,
    haversine_m,
)

ROUTE_CACHE_MAX = 20_000  # remembered paths (a plan's exports draw each leg more than once)

# a path search looks this far (s) beyond the straight line driven at PATH_LIMIT_MPS first
PATH_LIMIT_S = 120.0

PATH_LIMIT_MPS = 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class StreetPoint:
    """A point placed on a street (lon, lat WGS84 degrees), with the street's name and class."""

    lon: float
    lat: float
    street: str
    highway: str


class StreetPaths(StreetBase):
    """The street network with paths: :class:`network.streets.StreetNetwork`."""

    def path(
        self,
        a: Point,
        b: Point,
        *,
        max_snap_m: float = MAX_SNAP_M,
        kerb_side: tuple[bool, bool] = (False, False),
    ) -> list[Point]:
        """Street-following polyline (lon, lat) of the fastest path from ``a`` to ``b``.

        Starts at ``a``'s snapped location and ends at ``b``'s, including partial edges;
        ``kerb_side`` flags ``a`` and ``b`` as :meth:`matrix` does.
        """
        pieces, _ = self._route(a, b, max_snap_m, kerb_side)
        coords = directions.piece_coords(self.table, pieces[0])
        for piece in pieces[1:]:
            coords.extend(directions.piece_coords(self.table, piece)[1:])
        return coords

    def steps(
        self,
        a: Point,
        b: Point,
        *,
        max_snap_m: float = MAX_SNAP_M,
        kerb_side: tuple[bool, bool] = (False, False),
    ) -> list[Step]:
        """Turn-by-turn directions (:mod:`network.directions`) of the fastest path from
        ``a`` to ``b`` (the one :meth:`path` draws): depart, each turn onto another street,
        and arrive, saying which side of the truck ``b`` stands on."""
        pieces, side = self._route(a, b, max_snap_m, kerb_side)
        if self._exits is None:
            self._exits = directions.exit_counts(self.table)
        return directions.steps(self.table, pieces, arrive_side=side, exits=self._exits)

    def _route(
        self, a: Point, b: Point, max_snap_m: float, kerb_side: tuple[bool, bool]
    ) -> tuple[list[Piece], int]:
        """The pieces of the fastest path from ``a`` to ``b`` and the side of its last
        piece ``b`` stands on (1 left, -1 right, 0 neither); remembered (``ROUTE_CACHE_MAX``),
        as a plan's exports draw each leg more than once."""
        key = (*map(float, a), *map(float, b), bool(kerb_side[0]), bool(kerb_side[1]), max_snap_m)
        known = self._routes.get(key)
        if known is not None:
            return known
        sa, sb = self.snap([a, b], max_snap_m=max_snap_m)
        ways = self._ways([sa, sb], kerb_side)
        aug = self._augment([sa, sb], ways)
        source, goal = int(aug.sources[0]), int(aug.targets[1])
        _, pred = csgraph.dijkstra(
            aug.csr, indices=source, return_predecessors=True, limit=self._search_limit(sa, sb)
        )
        if pred[goal] < 0:  # farther than the limit: the whole graph
            _, pred = csgraph.dijkstra(aug.csr, indices=source, return_predecessors=True)
        if pred[goal] < 0:
            raise UnreachableError(f"no street path from {a} to {b}")
        nodes = [goal]
        while nodes[-1] != aug.sources[0]:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        pieces = self._nodes_to_pieces(nodes, sa, sb, (int(ways[0]), int(ways[1])))
        last = pieces[-1].edge
        side = sb.side if last == sb.edge_index else -sb.side if last >= 0 else 0
        if len(self._routes) >= ROUTE_CACHE_MAX:
            self._routes.clear()
        self._routes[key] = (pieces, side)
        return pieces, side

    def _search_limit(self, sa: Snap, sb: Snap) -> float:
        """A path weight (combined units) a search from ``sa`` to ``sb`` need not look
        beyond, as a rule: ``PATH_LIMIT_S`` plus the straight line at ``PATH_LIMIT_MPS``
        (a slow truck on a long detour). The path found within it is the one the whole
        graph gives; a path longer, or entering local-only streets, is searched again
        without it."""
        crow_m = float(haversine_m(*sa.snapped, *sb.snapped))
        limit_s = PATH_LIMIT_S + crow_m / PATH_LIMIT_MPS
        if not math.isfinite(limit_s):
            return math.inf
        return float((int(limit_s * TIME_UNITS_PER_S) + 1) << self._bits)

    def _nodes_to_pieces(
        self, nodes: list[int], sa: Snap, sb: Snap, ways: tuple[int, int]
    ) -> list[Piece]:
        """The street pieces of a path through the augmented graph's ``nodes`` (source,
        street nodes, target), the points' ``ways`` as :meth:`_ways` gives them."""
        if len(nodes) == 2:  # direct along one edge
            ea, fa, fb = sa.edge_index, sa.fraction, sb.fraction
            if fa <= fb:
                return [Piece(ea, fa, fb)]
            return [Piece(int(self._twin[ea]), 1 - fa, 1 - fb)]
        pieces = [self._depart(sa, nodes[1], ways[0])]
        for x, y in itertools.pairwise(nodes[1:-1]):
            e = self._edge_between(x, y)
            if self.table.edge_highway[e] != CONNECTOR_HIGHWAY:  # a connector stays at its junction
                pieces.append(Piece(e))
        pieces.append(self._arrive(sb, nodes[-2], ways[1]))
        return pieces

    def _depart(self, s: Snap, first: int, way: int) -> Piece:
        """The piece from point ``s`` to the path's first street node ``first``."""
        t, e, tw = self.table, s.edge_index, int(self._twin[s.edge_index])
        if tw >= 0 and first == t.edge_v[e] == t.edge_v[tw]:  # a loop: either way round
            return self._shorter(
                (way >= 0, self._partial(e, 1 - s.fraction), Piece(e, s.fraction, 1.0)),
                (way <= 0, self._partial(tw, s.fraction), Piece(tw, 1 - s.fraction, 1.0)),
            )
        if first == t.edge_v[e]:
            return Piece(e, s.fraction, 1.0)
        if tw >= 0:
            return Piece(tw, 1 - s.fraction, 1.0)
        return Piece(-1, coords=(s.snapped, (float(t.node_lon[first]), float(t.node_lat[first]))))

    def _arrive(self, s: Snap, last: int, way: int) -> Piece:
        """The piece from the path's last street node ``last`` to point ``s``."""
        t, e, tw = self.table, s.edge_index, int(self._twin[s.edge_index])
        if tw >= 0 and last == t.edge_u[e] == t.edge_u[tw]:  # a loop: either way round
            return self._shorter(
                (way >= 0, self._partial(e, s.fraction), Piece(e, 0.0, s.fraction)),
                (way <= 0, self._partial(tw, 1 - s.fraction), Piece(tw, 0.0, 1 - s.fraction)),
            )
        if last == t.edge_u[e]:
            return Piece(e, 0.0, s.fraction)
        if tw >= 0:
            return Piece(tw, 0.0, 1 - s.fraction)
        return Piece(-1, coords=((float(t.node_lon[last]), float(t.node_lat[last])), s.snapped))

    @staticmethod
    def _shorter(*options: tuple[bool, Any, Piece]) -> Piece:
        """The piece of the lightest allowed option (allowed, path weight, piece): the one
        the search took where both directions of a loop street join the same node."""
        allowed = [(float(weight), i) for i, (ok, weight, _) in enumerate(options) if ok]
        return options[min(allowed)[1]][2]

    def _edge_between(self, x: int, y: int) -> int:
        lo, hi = self._base.indptr[x], self._base.indptr[x + 1]
        pos = lo + int(np.flatnonzero(self._base.indices[lo:hi] == y)[0])
        return int(self._csr_edge[pos])

    def polyline(
        self,
        points: Sequence[Point],
        *,
        max_snap_m: float = MAX_SNAP_M,
        kerb_side: Sequence[bool] | None = None,
    ) -> list[Point]:
        """Street-following (lon, lat) polyline through ``points`` in order, from the first
        one's snapped location (``kerb_side``: one flag per point, as :meth:`matrix` takes);
        empty for no points."""
        pts, flags = list(points), _flags(points, kerb_side)
        if not pts:
            return []
        coords: list[Point] = [self.snap(pts[:1], max_snap_m=max_snap_m)[0].snapped]
        for (a, ka), (b, kb) in itertools.pairwise(zip(pts, flags, strict=True)):
            coords.extend(self.path(a, b, max_snap_m=max_snap_m, kerb_side=(ka, kb))[1:])
        return coords

    def directions(
        self,
        points: Sequence[Point],
        *,
        max_snap_m: float = MAX_SNAP_M,
        kerb_side: Sequence[bool] | None = None,
    ) -> list[list[Step]]:
        """Turn-by-turn steps (:meth:`steps`) of each leg between consecutive ``points``,
        the paths :meth:`polyline` draws through them (``kerb_side``: one flag per point)."""
        pts, flags = list(points), _flags(points, kerb_side)
        return [
            self.steps(a, b, max_snap_m=max_snap_m, kerb_side=(ka, kb))
            for (a, ka), (b, kb) in itertools.pairwise(zip(pts, flags, strict=True))
        ]

    def route_geojson(
        self,
        points_in_visit_order: Sequence[Point],
        properties: Mapping[str, Any] | None = None,
        *,
        max_snap_m: float = MAX_SNAP_M,
        kerb_side: Sequence[bool] | None = None,
    ) -> dict[str, Any]:
        """GeoJSON Feature whose LineString ([lon, lat]) follows streets through the points
        (``kerb_side``: one flag per point, as :meth:`matrix` takes)."""
        pts = list(points_in_visit_order)
        if not pts:
            raise NetworkError("a route needs at least one point")
        coords = self.polyline(pts, max_snap_m=max_snap_m, kerb_side=kerb_side)
        if len(coords) == 1:
            coords.append(coords[0])
        return {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[x, y] for x, y in coords]},
            "properties": dict(properties or {}),
        }

    def street_lines(
        self,
        bbox: tuple[float, float, float, float] | None = None,
        highway: Iterable[str] | None = None,
    ) -> list[list[Point]]:
        """Street pieces as (lon, lat) polylines for drawing a base map.

        Parameters
        ----------
        bbox : (min_lon, min_lat, max_lon, max_lat), optional
            Keep pieces with at least one vertex inside.
        highway : iterable of str, optional
            Keep only these ``highway`` classes.
        """
        t = self.table
        rep = self.edge_index._cand
        if highway is not None:
            rep = rep[np.isin(t.edge_highway[rep], list(highway))]
        lines = [t.edge_coords(int(e)) for e in rep]
        if bbox is None:
            return lines
        x0, y0, x1, y1 = bbox
        return [c for c in lines if any(x0 <= x <= x1 and y0 <= y <= y1 for x, y in c)]

    def sample_street_points(
        self, n: int, *, highway: Iterable[str] = ("residential",), seed: int
    ) -> list[StreetPoint]:
        """``n`` seeded points on streets of the given classes (uniform by street length)."""
        t = self.table
        rep = self.edge_index._cand
        rep = rep[np.isin(t.edge_highway[rep], list(highway)) & (t.edge_length_m[rep] > 0)]
        if len(rep) == 0:
            raise NetworkError(f"no streets of class {list(highway)} to sample points on")
        rng = np.random.default_rng(seed)
        weights = t.edge_length_m[rep] / t.edge_length_m[rep].sum()
        picks = rng.choice(rep, size=n, p=weights)
        fracs = rng.uniform(0.05, 0.95, size=n)
        result = []
        for e, f in zip(picks.tolist(), fracs.tolist(), strict=True):
            lon, lat = sub_line(t, e, f, f)[0]
            result.append(
                StreetPoint(
                    lon=lon, lat=lat, street=str(t.edge_name[e]), highway=str(t.edge_highway[e])
                )
            )
        return result
