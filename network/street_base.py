"""The street network's base (:class:`StreetBase`, part of :class:`network.streets.StreetNetwork`):
snapping points to streets, telling far, swapped and cut-off places, street hours, and the
points joined to the graph (kerb sides, virtual edges)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, cast

import networkx as nx
import numpy as np
from scipy import sparse

from network import fastpath, hours, reach
from network.cutoff import CutOffStreets
from network.directions import Piece
from network.errors import NetworkError, SnapError
from network.hours import TimedStreet
from network.snap import FAR_FIX, MAX_SNAP_M, EdgeIndex, Snap
from network.speeds import DRIVE_SIDES
from network.street_weights import (
    TIME_UNITS_PER_S,
    VIRTUAL_EXTRA,
    Point,
    _combined_weights,
    _edge_keys,
    _min_per_pair,
    _street_csr,
    _twins,
    kerb_ways,
)
from network.table import EdgeTable, street_edges
from network.table_nx import table_from_graph

AT_NODE_M = 1.0  # a snap this close to an edge end counts as at that intersection

SNAP_CACHE_MAX = 200_000  # remembered snaps (extend_matrix reuses them)

ENGINES = ("auto", "ch", "scipy")


@dataclass(frozen=True, slots=True)
class _Augmented:
    """Street CSR plus one source node and one target node per point."""

    csr: sparse.csr_array
    sources: np.ndarray
    targets: np.ndarray


class StreetBase:
    """The street network's snapping, places and street hours: the base of
    :class:`network.streets.StreetNetwork`, whose docstring gives the parameters."""

    def __init__(
        self,
        table: EdgeTable,
        *,
        workers: int = 2,
        engine: str = "auto",
        ch_cache: Path | None = None,
        cut_off: EdgeTable | None = None,
        drive_side: str = "right",
    ) -> None:
        if table.n_edges == 0:
            raise NetworkError("the street network has no edges")
        if engine not in ENGINES:
            raise NetworkError(f"unknown matrix engine {engine!r}; use one of {ENGINES}")
        if engine == "ch" and not fastpath.AVAILABLE:
            raise NetworkError("engine='ch' needs the numba package: pip install numba")
        if engine == "auto":
            engine = "ch" if fastpath.AVAILABLE else "scipy"
        if drive_side not in DRIVE_SIDES:
            raise NetworkError(f"unknown drive_side {drive_side!r}; use one of {DRIVE_SIDES}")
        self.drive_side = drive_side
        self.table = table
        self.workers = workers
        self.engine = engine
        self.ch_cache = ch_cache
        self._twin = _twins(table)
        self._keys = _edge_keys(table)
        self._bits, self._time_bits, self._weight = _combined_weights(table)
        self._csr_edge, self._base = _street_csr(table, self._weight)
        self._index: EdgeIndex | None = None
        self._snaps: dict[tuple[Point, float], Snap] = {}
        self._routes: dict[tuple[Any, ...], tuple[list[Piece], int]] = {}
        self._exits: np.ndarray | None = None  # ways out of each node (directions.exit_counts)
        self._ch: fastpath.Hierarchy | None = None
        self._cut_off = CutOffStreets(cut_off) if cut_off is not None else None
        self._zones: reach.Zones | None = None
        self._behind = np.zeros(0, dtype=bool)  # Zones.behind, with _zones

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph, **kwargs: Any) -> Self:
        """Build from an osmnx-style graph (node x/y, edge length and travel_time)."""
        return cls(table_from_graph(graph), **kwargs)

    @property
    def edge_index(self) -> EdgeIndex:
        """Spatial index of street pieces (built on first use)."""
        if self._index is None:
            one = (self._twin < 0) | (np.arange(self.table.n_edges) < self._twin)
            rep = np.flatnonzero(one & street_edges(self.table))
            self._index = EdgeIndex(self.table, rep, self._keys)
        return self._index

    def snap(self, points: Sequence[Point], *, max_snap_m: float = MAX_SNAP_M) -> list[Snap]:
        """Snap (lon, lat) points onto their nearest street edge.

        Raises
        ------
        SnapError
            A point is farther than ``max_snap_m`` metres from every street (names the point;
            says so when it stands by a street cut off from the network, :meth:`cut_off_near`).
        """
        keys = [((float(p[0]), float(p[1])), max_snap_m) for p in points]
        # the cache is read once and the answer built here: another thread (the service's
        # plan and reroute jobs share a network) may empty it while this call snaps
        found = [self._snaps.get(k) for k in keys]
        missing = [i for i, s in enumerate(found) if s is None]
        if missing:
            try:
                new = self.edge_index.snap([keys[i][0] for i in missing], max_snap_m)
            except SnapError as err:  # numbered among the points not cached: renumber
                if err.index is None:
                    raise
                i = missing[err.index]
                detail = self._far_detail(keys[i][0], err.detail, max_snap_m)
                raise SnapError.of_point(i, detail) from None
            if len(self._snaps) + len(missing) > SNAP_CACHE_MAX:
                self._snaps.clear()  # bounded memory for long-running services
            for i, s in zip(missing, new, strict=True):
                found[i] = self._snaps[keys[i]] = s
        return cast(list[Snap], found)  # every None was filled above

    def _far_detail(self, point: Point, detail: str, max_snap_m: float) -> str:
        """``detail`` of a SnapError for ``point``, ending with why no truck reaches it when
        it stands by a street cut off from the network instead of 'fix its coordinates'."""
        if not detail.endswith(FAR_FIX):
            return detail
        why = self.cut_off_near([point], [0], max_snap_m).get(0)
        return detail if why is None else detail.removesuffix(FAR_FIX) + why

    def swapped_near(
        self, points: Sequence[Point], far: Iterable[int], max_snap_m: float
    ) -> dict[int, str]:
        """Index -> the fix for each of the ``far`` (lon, lat) ``points`` (:meth:`far_points`)
        that read the other way round, (lat, lon), is within ``max_snap_m`` of a drivable
        street: its lon and lat were swapped (the classic mistake), which 'fix its
        coordinates' alone would not tell."""
        tried = [i for i in far if abs(points[i][0]) <= 90]  # a swapped lon must be a latitude
        if not tried:
            return {}
        snaps = self.snap([(points[i][1], points[i][0]) for i in tried], max_snap_m=math.inf)
        return {
            i: (
                f"its lon and lat look swapped: ({points[i][1]:.6f}, {points[i][0]:.6f}) is "
                f"{snap.snap_m:.0f} m from one; give lon first, then lat"
            )
            for i, snap in zip(tried, snaps, strict=True)
            if snap.snap_m <= max_snap_m
        }

    def cut_off_near(
        self, points: Sequence[Point], far: Iterable[int], max_snap_m: float
    ) -> dict[int, str]:
        """Index -> why no truck reaches it, for each of the ``far`` (lon, lat) ``points``
        (:meth:`far_points`) within ``max_snap_m`` of a street cut off from this network
        (``cut_off``): it stands on a street, but one no truck drives onto from the others,
        or off, so "fix its coordinates" would mislead. Empty without ``cut_off``."""
        tried = list(far)
        if self._cut_off is None or not tried:
            return {}
        found = self._cut_off.near([points[i] for i in tried], max_snap_m)
        return {tried[k]: why for k, why in found.items()}

    def far_points(self, points: Sequence[Point], max_snap_m: float) -> dict[int, float]:
        """Index -> metres to the nearest drivable street of each (lon, lat) point farther
        than ``max_snap_m`` (those :meth:`snap` refuses), in one pass over all the points;
        a point that is not a WGS84 (lon, lat) point raises :class:`SnapError`."""
        snaps = self.snap(points, max_snap_m=math.inf)
        return {i: s.snap_m for i, s in enumerate(snaps) if s.snap_m > max_snap_m}

    def sideless(self, points: Sequence[Point], *, max_snap_m: float = MAX_SNAP_M) -> list[int]:
        """Indices of the (lon, lat) points on a two-way street but on neither of its kerbs
        (on the centre line, or past its end: :data:`network.snap.SIDE_MIN_M`): a kerb-side
        flag (:meth:`matrix`) cannot say which way to pass them, so they are passed either
        way."""
        snaps = self.snap(points, max_snap_m=max_snap_m)
        return [i for i, s in enumerate(snaps) if s.side == 0 and self._twin[s.edge_index] >= 0]

    def street_hours(
        self, points: Sequence[Point], *, max_snap_m: float = MAX_SNAP_M
    ) -> list[TimedStreet | None]:
        """For each (lon, lat) point, the street it stands on when trucks may drive that
        street only at some hours (``EdgeTable.edge_hours``), or reach or leave it only
        through such streets (``reach.Zones``), with its rule, name, the ways in and out
        through other timed streets (``through``) and the seconds driven on such streets
        to reach the point and leave it; else None (also for a point farther than
        ``max_snap_m`` from every street)."""
        timed = self.table.timed_edges
        if not timed.any() or not points:
            return [None] * len(points)
        if self._zones is None:  # _behind first: a thread seeing _zones sees it too
            found = reach.zones(self.table)
            self._behind = found.behind(self.table)
            self._zones = found
        out: list[TimedStreet | None] = []
        for s in self.snap(points, max_snap_m=math.inf):
            e = s.edge_index
            if not (timed[e] or self._behind[e]) or s.snap_m > max_snap_m:
                out.append(None)
                continue
            out.append(self._timed_street(e, s, self._zones))
        return out

    def _timed_street(self, e: int, s: Snap, zones: reach.Zones) -> TimedStreet:
        """The :class:`TimedStreet` of snap ``s`` on edge ``e`` (timed, or behind timed
        streets: ``Zones.behind``)."""
        t, u, v = self.table.edge_time_s, self.table.edge_u, self.table.edge_v
        twin = int(self._twin[e])
        ways = [(e, s.fraction)] + ([(twin, 1.0 - s.fraction)] if twin >= 0 else [])
        into, w_in = min((zones.enter_s[u[w]] + f * t[w], w) for w, f in ways)
        out_of, w_out = min(((1.0 - f) * t[w] + zones.leave_s[v[w]], w) for w, f in ways)
        met = (*zones.enter_via.get(int(u[w_in]), ()), *zones.leave_via.get(int(v[w_out]), ()))
        return TimedStreet(
            self.table.rule_of(e),
            str(self.table.edge_name[e]),
            float(into),
            float(out_of),
            hours.place_of(*s.snapped),
            tuple(self._way(way, met) for way in zones.ways(self.table, e, twin, met) if way),
        )

    def _way(self, rules: frozenset[int], met: Sequence[int]) -> hours.Way:
        """(name, rule) of each of ``rules`` (``edge_hours`` indices): the name of its
        street on the fastest ways in and out (``met``), else of one of its edges."""
        table = self.table
        out = []
        for r in sorted(rules):
            on_way = [b for b in met if table.edge_hours[b] == r]
            b = on_way[0] if on_way else int(np.flatnonzero(table.edge_hours == r)[0])
            out.append((str(table.edge_name[b]), str(table.hours_rules[r])))
        return tuple(out)

    def _augment(self, snaps: list[Snap], ways: np.ndarray) -> _Augmented:
        """Add a source node (out-edges) and a target node (in-edges) for every point."""
        base = self._base
        n_graph, n = base.shape[0], len(snaps)
        src = n_graph + np.arange(n)
        dst = n_graph + n + np.arange(n)
        rows, cols, vals = _min_per_pair(*self._virtual_edges(snaps, src, dst, ways))
        # virtual edges only leave source nodes (rows >= n_graph) or enter target nodes, so
        # the street CSR can be extended row-wise: graph rows get their extra columns appended
        size = n_graph + 2 * n
        extra = sparse.csr_array((vals, (rows, cols)), shape=(size, size))
        padded = sparse.csr_array(
            (base.data, base.indices, np.concatenate([base.indptr, np.full(2 * n, base.nnz)])),
            shape=(size, size),
        )
        csr = padded + extra
        return _Augmented(csr=csr, sources=src, targets=dst)

    def _partial(self, e: Any, frac: Any) -> np.ndarray:
        """Combined weights of the first ``frac`` (0..1) of edges ``e`` (arrays or scalars).

        Time and metres are rounded separately; VIRTUAL_EXTRA keeps every weight above zero.
        """
        t = self.table
        time_u = np.round(np.asarray(frac) * t.edge_time_s[e] * TIME_UNITS_PER_S).astype(np.int64)
        metres = np.round(np.asarray(frac) * t.edge_length_m[e]).astype(np.int64)
        packed: np.ndarray = ((time_u << self._bits) + metres + VIRTUAL_EXTRA).astype(np.float64)
        return packed

    def kerb_ways(
        self,
        points: Sequence[Point],
        *,
        kerb_side: Sequence[bool] | None = None,
        max_snap_m: float = MAX_SNAP_M,
    ) -> np.ndarray:
        """Which way a truck may pass each (lon, lat) point, flagged as :meth:`matrix`
        takes them: 0 either way, 1 only along the edge it snaps to, -1 only against it
        (:func:`kerb_ways`)."""
        return self._ways(self.snap(points, max_snap_m=max_snap_m), kerb_side)

    def _ways(self, snaps: list[Snap], kerb: Sequence[bool] | None) -> np.ndarray:
        """Which way a truck may pass each point, as :func:`kerb_ways` says, per point: 0
        either way, 1 only along its snap edge (``u`` -> ``v``), -1 only along the twin."""
        e = np.array([s.edge_index for s in snaps], dtype=np.int64)
        side = np.array([s.side for s in snaps], dtype=np.int64)
        wants = np.zeros(len(snaps), dtype=bool) if kerb is None else np.asarray(kerb, dtype=bool)
        if len(wants) != len(snaps):
            raise NetworkError(f"kerb_side has {len(wants)} flags for {len(snaps)} points")
        return kerb_ways(side, wants & (self._twin[e] >= 0), self.drive_side)

    def _virtual_edges(
        self, snaps: list[Snap], src: np.ndarray, dst: np.ndarray, ways: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = self.table
        e = np.array([s.edge_index for s in snaps], dtype=np.int64)
        f = np.array([s.fraction for s in snaps], dtype=np.float64)
        tw = self._twin[e]
        u, v = t.edge_u[e], t.edge_v[e]
        has, twe = tw >= 0, np.maximum(tw, 0)
        # the twin's own ends: at a junction split for its turns (network.turns) a street
        # piece's two directions end at different nodes of the junction
        tu, tv = t.edge_u[twe], t.edge_v[twe]
        # a point taken from the kerb is passed one way only; at an intersection (the
        # shortcuts below join it to any street there) it has no kerb to keep
        along, back, free = ways >= 0, has & (ways <= 0), ways == 0
        at_u = free & (f * t.edge_length_m[e] <= AT_NODE_M)  # the point is at an intersection
        at_v = free & ((1 - f) * t.edge_length_m[e] <= AT_NODE_M)
        extra = np.full(len(e), float(VIRTUAL_EXTRA))
        parts = [
            (src, v, self._partial(e, 1 - f), along),
            (u, dst, self._partial(e, f), along),
            (src, tv, self._partial(twe, f), back),
            (tu, dst, self._partial(twe, 1 - f), back),
            (src, u, extra, at_u),
            (u, dst, extra, at_u),
            (src, v, extra, at_v),
            (v, dst, extra, at_v),
        ]
        rows = [r[m] for r, _, _, m in parts]
        cols = [c[m] for _, c, _, m in parts]
        vals = [w[m] for _, _, w, m in parts]
        by_edge: dict[int, list[int]] = {}
        for i, edge in enumerate(e.tolist()):
            by_edge.setdefault(edge, []).append(i)
        same = list(self._same_edge(snaps, by_edge, src, dst, ways))
        if same:
            arr = np.array(same, dtype=np.float64)
            rows.append(arr[:, 0].astype(np.int64))
            cols.append(arr[:, 1].astype(np.int64))
            vals.append(arr[:, 2])
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)

    def _same_edge(
        self,
        snaps: list[Snap],
        by_edge: Mapping[int, list[int]],
        src: np.ndarray,
        dst: np.ndarray,
        ways: np.ndarray,
    ) -> Iterable[tuple[int, int, float]]:
        """Direct source->target edges for points on the same street piece, in driving order,
        each way both points may be passed (``ways``).

        Each carries ``2 * VIRTUAL_EXTRA`` like every source-to-target path through the graph
        (one extra per virtual edge), so decoding stays exact (duplicate points: 0 s, 0 m).
        """
        for e, members in by_edge.items():
            if len(members) < 2:
                continue
            tw = int(self._twin[e])
            for i in members:
                for j in members:
                    fi, fj = snaps[i].fraction, snaps[j].fraction
                    if i == j:
                        continue
                    if fi <= fj and ways[i] >= 0 and ways[j] >= 0:
                        w = float(self._partial(e, fj - fi)) + VIRTUAL_EXTRA
                        yield int(src[i]), int(dst[j]), w
                    elif fi >= fj and tw >= 0 and ways[i] <= 0 and ways[j] <= 0:
                        w = float(self._partial(tw, fi - fj)) + VIRTUAL_EXTRA
                        yield int(src[i]), int(dst[j]), w
