"""StreetNetwork: snapping, many-to-many matrices (scipy.sparse.csgraph) and route geometry."""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import multiprocessing
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from network import directions, fastpath, hours, reach
from network.cutoff import CutOffStreets
from network.directions import Piece, Step
from network.errors import NetworkError, SnapError, UnreachableError
from network.hours import TimedStreet
from network.matrix import TravelMatrix
from network.snap import FAR_FIX, MAX_SNAP_M, EdgeIndex, Snap, sub_line
from network.speeds import DRIVE_SIDES
from network.table import (
    CONNECTOR_HIGHWAY,
    EdgeTable,
    haversine_m,
    street_edges,
    table_from_graph,
)

log = logging.getLogger(__name__)

FLOAT_EXACT_BITS = 53  # float64 holds integers below 2**53 exactly
TIME_UNITS_PER_S = 10  # path weights count time in deciseconds (the one unit choice)
ENTRY_BITS = 3  # entries into local-only streets a path weight counts exactly: up to 7
VIRTUAL_EXTRA = 1  # added to each virtual (point) edge so none has weight zero
AT_NODE_M = 1.0  # a snap this close to an edge end counts as at that intersection
SNAP_CACHE_MAX = 200_000  # remembered snaps (extend_matrix reuses them)
ROUTE_CACHE_MAX = 20_000  # remembered paths (a plan's exports draw each leg more than once)
# a path search looks this far (s) beyond the straight line driven at PATH_LIMIT_MPS first
PATH_LIMIT_S = 120.0
PATH_LIMIT_MPS = 3.0
BLOCK_BYTES = 150_000_000  # max size of one (sources x nodes) Dijkstra block
PARALLEL_MIN_WORK = 20_000_000  # sources * nodes above which 2 processes pay off

ENGINES = ("auto", "ch", "scipy")

Point = tuple[float, float]
_CH_LOCK = threading.Lock()  # one hierarchy preparation at a time (module-level: picklable nets)


@dataclass(frozen=True, slots=True, kw_only=True)
class StreetPoint:
    """A point placed on a street (lon, lat WGS84 degrees), with the street's name and class."""

    lon: float
    lat: float
    street: str
    highway: str


@dataclass(frozen=True, slots=True)
class _Joins:
    """How points join the street graph: departures, arrivals and same-edge direct links."""

    starts: fastpath.Attach
    ends: fastpath.Attach
    direct: tuple[np.ndarray, np.ndarray, np.ndarray]  # (from point, to point, weight)


@dataclass(frozen=True, slots=True)
class _Augmented:
    """Street CSR plus one source node and one target node per point."""

    csr: sparse.csr_array
    sources: np.ndarray
    targets: np.ndarray


class StreetNetwork:
    """A prepared street graph ready for snapping, matrices and geometry.

    Parameters
    ----------
    table : EdgeTable
        Prepared edges; should be strongly connected (as :func:`network.load_network` gives),
        otherwise some matrices raise :class:`UnreachableError`.
    workers : int
        Threads (ch engine) or processes (scipy engine) used for big matrices (2 matches the
        target machines).
    engine : {"auto", "ch", "scipy"}
        Matrix search: ``"ch"`` (customizable contraction hierarchy, see
        :mod:`network.fastpath`; needs the optional numba package; prepared on first use),
        ``"scipy"`` (one scipy.sparse.csgraph Dijkstra per point, the reference) or ``"auto"``
        (ch when numba is installed, else scipy). Both give identical matrices.
    ch_cache : Path, optional
        ``.npz`` file holding the prepared hierarchy of this table: read when present and
        valid, written after preparing (:func:`network.load_network` sets it next to the
        table cache).
    cut_off : EdgeTable, optional
        The streets cut off from ``table`` (``table.split_strong_component``;
        :func:`network.load_network` gives them): a point far from every street of ``table``
        but near one of these is told apart from a misplaced point (:meth:`cut_off_near`).
    drive_side : {"right", "left"}
        The side of the street traffic keeps to ("left" in the UK, Japan, Hong Kong...): a
        point taken from the kerb (``kerb_side`` of :meth:`matrix`) is on the truck's right
        where traffic keeps right.
    """

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
    def from_graph(cls, graph: nx.MultiDiGraph, **kwargs: Any) -> StreetNetwork:
        """Build from an osmnx-style graph (node x/y, edge length and travel_time)."""
        return cls(table_from_graph(graph), **kwargs)

    # ------------------------------------------------------------------ snapping
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

    # ------------------------------------------------------------------ matrices
    def matrix(
        self,
        points: Sequence[Point],
        *,
        max_snap_m: float = MAX_SNAP_M,
        kerb_side: Sequence[bool] | None = None,
    ) -> TravelMatrix:
        """Travel time and distance between all points along the fastest street paths.

        Parameters
        ----------
        points : sequence of (lon, lat)
        max_snap_m : float
            Snapping limit in metres.
        kerb_side : sequence of bool, optional
            One flag per point: a truck must pass it with the point on its kerb side (the
            right where traffic drives on the right, ``drive_side``), as a side-loaded
            container needs; on a two-way street it is then reached driving one way only
            (:func:`kerb_ways`). Default: none.

        Returns
        -------
        TravelMatrix
            Asymmetric (one-way streets), integer seconds and metres, zero diagonal.

        Raises
        ------
        SnapError, UnreachableError
        """
        snaps = self.snap(points, max_snap_m=max_snap_m)
        ways = self._ways(snaps, kerb_side)
        if self.engine == "ch":
            joins = self._joins(snaps, ways)
            found = fastpath.many_to_many(self.hierarchy, joins.starts, joins.ends, self.workers)
            block = _with_direct(found, joins.direct, rows_from=0, cols_from=0)
        else:
            aug = self._augment(snaps, ways)
            block = self._run_dijkstra(aug.csr, aug.sources, aug.targets)
        return self._to_matrix(block, snaps, kerb_side)

    def extend_matrix(
        self,
        matrix: TravelMatrix,
        new_points: Sequence[Point],
        *,
        max_snap_m: float = MAX_SNAP_M,
        kerb_side: Sequence[bool] | None = None,
    ) -> TravelMatrix:
        """Append points to a matrix, computing only the new rows and columns.

        Old points' snaps are reused from this network's snap cache, their kerb flags from
        ``matrix.kerb_side``; ``kerb_side`` flags the new points (see :meth:`matrix`). The
        result equals ``self.matrix(old + new, kerb_side=old flags + new flags)``.
        """
        old = list(matrix.points)
        snaps = self.snap([*old, *new_points], max_snap_m=max_snap_m)
        n, k = len(old), len(new_points)
        if k == 0:
            return matrix
        kerb = _joined_flags(matrix, k, kerb_side)
        ways = self._ways(snaps, kerb)
        if self.engine == "ch":
            rows, cols = self._ch_extend(snaps, n, ways)
        else:
            aug = self._augment(snaps, ways)
            rows = self._run_dijkstra(aug.csr, aug.sources[n:], aug.targets)  # (k, n + k)
            cols = csgraph.dijkstra(aug.csr.T.tocsr(), indices=aug.targets[n:])
            cols = cols[:, aug.sources[:n]]
        row_t, row_d = self._decode_block(rows, snaps, rows_from=n, cols_from=0)
        col_t, col_d = self._decode_block(cols.T, snaps, rows_from=0, cols_from=n)
        duration = np.empty((n + k, n + k), dtype=np.int64)
        distance = np.empty((n + k, n + k), dtype=np.int64)
        duration[:n, :n], distance[:n, :n] = matrix.duration_s, matrix.distance_m
        duration[n:, :], distance[n:, :] = _seconds(row_t), row_d
        duration[:n, n:], distance[:n, n:] = _seconds(col_t), col_d
        return TravelMatrix(
            duration_s=duration,
            distance_m=distance,
            points=tuple(s.point for s in snaps),
            kerb_side=tuple(kerb or ()),
        )

    def _ch_extend(
        self, snaps: list[Snap], n: int, ways: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """New rows ``(k, n + k)`` and old-to-new columns transposed ``(k, n)`` (ch engine)."""
        joins = self._joins(snaps, ways)
        k = len(snaps) - n
        starts, ends = joins.starts, joins.ends
        rows = fastpath.many_to_many(self.hierarchy, starts.rows(n, n + k), ends, self.workers)
        rows = _with_direct(rows, joins.direct, rows_from=n, cols_from=0)
        cols = fastpath.many_to_many(
            self.hierarchy, starts.rows(0, n), ends.rows(n, n + k), self.workers
        )
        cols = _with_direct(cols, joins.direct, rows_from=0, cols_from=n)
        return rows, cols.T

    @property
    def hierarchy(self) -> fastpath.Hierarchy:
        """The customised contraction hierarchy of the ch engine (prepared on first use, or
        read from ``ch_cache``)."""
        with _CH_LOCK:
            if self._ch is None:
                self._ch = self._load_or_prepare_hierarchy()
            return self._ch

    def _load_or_prepare_hierarchy(self) -> fastpath.Hierarchy:
        base = self._base.tocoo()
        arcs = (base.row.astype(np.int64), base.col.astype(np.int64), base.data.astype(np.int64))
        cached = self._cached_hierarchy(fastpath.arcs_digest(*arcs))
        if cached is not None:
            return cached
        prepared = fastpath.prepare(*arcs, self.table.node_lon, self.table.node_lat)
        if self.ch_cache is not None:
            with contextlib.suppress(OSError):  # read-only cache: keep it in memory only
                prepared.save(self.ch_cache)
        return prepared

    def _cached_hierarchy(self, digest: np.ndarray) -> fastpath.Hierarchy | None:
        """The hierarchy in ``ch_cache`` if it was prepared for these arcs (else None)."""
        if self.ch_cache is None or not self.ch_cache.is_file():
            return None
        try:
            cached = fastpath.Hierarchy.load(self.ch_cache)
        except (OSError, ValueError, KeyError):
            return None  # corrupt or old layout: prepared again and overwritten
        return cached if np.array_equal(cached.digest, digest) else None

    def _joins(self, snaps: list[Snap], ways: np.ndarray) -> _Joins:
        """Departure / arrival nodes of every point and same-edge links, int64 weights."""
        n_graph, n = self._base.shape[0], len(snaps)
        src = n_graph + np.arange(n)
        dst = n_graph + n + np.arange(n)
        rows, cols, vals = _min_per_pair(*self._virtual_edges(snaps, src, dst, ways))
        weight = vals.astype(np.int64)
        dep = (rows >= n_graph) & (cols < n_graph)
        arr = (rows < n_graph) & (cols >= n_graph)
        link = (rows >= n_graph) & (cols >= n_graph)
        return _Joins(
            starts=fastpath.Attach.group(rows[dep] - n_graph, cols[dep], weight[dep], n),
            ends=fastpath.Attach.group(cols[arr] - n_graph - n, rows[arr], weight[arr], n),
            direct=(rows[link] - n_graph, cols[link] - n_graph - n, weight[link]),
        )

    def _to_matrix(
        self, block: np.ndarray, snaps: list[Snap], kerb_side: Sequence[bool] | None
    ) -> TravelMatrix:
        time_ds, dist_m = self._decode(block, snaps)
        flags = tuple(bool(k) for k in kerb_side) if kerb_side is not None else ()
        return TravelMatrix(
            duration_s=_seconds(time_ds),
            distance_m=dist_m,
            points=tuple(s.point for s in snaps),
            kerb_side=flags if any(flags) else (),
        )

    def _decode(self, block: np.ndarray, snaps: list[Snap]) -> tuple[np.ndarray, np.ndarray]:
        return self._decode_block(block, snaps, rows_from=0, cols_from=0)

    def _decode_block(
        self, block: np.ndarray, snaps: list[Snap], *, rows_from: int, cols_from: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Split combined path weights of points ``rows_from + r`` -> ``cols_from + c`` into
        (time units, metres); the diagonal (same point) is zero."""
        ri = rows_from + np.arange(block.shape[0])
        ci = cols_from + np.arange(block.shape[1])
        diag = ri[:, None] == ci[None, :]
        block = np.where(diag, 2.0 * VIRTUAL_EXTRA, block)
        bad = ~np.isfinite(block)
        if bad.any():
            pairs = np.argwhere(bad)
            _raise_unreachable(pairs + np.array([rows_from, cols_from]), snaps, self.table)
        total = block.astype(np.int64) - 2 * VIRTUAL_EXTRA
        time_u = (total >> self._bits) & ((1 << self._time_bits) - 1)  # no entries counted
        return time_u, total & ((1 << self._bits) - 1)

    def _run_dijkstra(
        self, csr: sparse.csr_array, sources: np.ndarray, targets: np.ndarray
    ) -> np.ndarray:
        """Shortest combined weights from each source node to each target node.

        Big jobs are split over ``workers`` forked processes (scipy's dijkstra holds the GIL,
        so threads do not help); the children inherit the graph instead of unpickling it (as
        their pool's initializer arguments: each pool its own, so two threads' jobs at once,
        a plan job's and a reroute's, cannot swap graphs), and scripts need no ``__main__``
        guard. Without ``fork`` (non-POSIX), or in a daemonic process (a Dask worker), which
        may not have children, it runs serially.
        """
        parallel = (
            self.workers > 1
            and len(sources) * csr.shape[0] >= PARALLEL_MIN_WORK
            and not multiprocessing.current_process().daemon
        )
        if not parallel or "fork" not in multiprocessing.get_all_start_methods():
            return _dijkstra_block(csr, targets, sources)
        ctx = multiprocessing.get_context("fork")
        job = (csr, targets)
        with ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_take_job, initargs=job
        ) as pool:
            blocks = list(pool.map(_forked_block, np.array_split(sources, self.workers)))
        return np.vstack(blocks)

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

    # ------------------------------------------------------------------ geometry
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


# ---------------------------------------------------------------------- helpers
def _flags(points: Sequence[Point], kerb_side: Sequence[bool] | None) -> list[bool]:
    """One kerb flag per point (none given: all False); NetworkError when they differ in
    number."""
    flags = [bool(x) for x in kerb_side] if kerb_side is not None else [False] * len(points)
    if len(flags) != len(points):
        raise NetworkError(f"kerb_side has {len(flags)} flags for {len(points)} points")
    return flags


def _seconds(time_units: np.ndarray) -> np.ndarray:
    """Deciseconds -> integer seconds (rounded half up)."""
    return ((time_units + TIME_UNITS_PER_S // 2) // TIME_UNITS_PER_S).astype(np.int64)


def _with_direct(
    found: np.ndarray,
    direct: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    rows_from: int,
    cols_from: int,
) -> np.ndarray:
    """Float block (``inf`` = no path) of ``found`` improved by same-edge direct links.

    ``found[r, c]`` is for points ``rows_from + r`` -> ``cols_from + c``.
    """
    block = np.where(found == fastpath.UNREACHED, np.inf, found.astype(np.float64))
    i, j, w = direct
    r, c = i - rows_from, j - cols_from
    ok = (r >= 0) & (r < block.shape[0]) & (c >= 0) & (c < block.shape[1])
    r, c, w = r[ok], c[ok], w[ok].astype(np.float64)
    block[r, c] = np.minimum(block[r, c], w)
    return block


def _raise_unreachable(pairs: np.ndarray, snaps: list[Snap], table: EdgeTable) -> None:
    """Raise UnreachableError for the point pairs ``pairs`` (from, to), naming first the
    point in the most of them (the one to move), how many others it cannot reach or be
    reached from, and the street it snapped to (cut off from theirs: what to check)."""
    worst = int(np.argmax(np.bincount(pairs.ravel(), minlength=len(snaps))))
    cut_off = {j for i, j in pairs.tolist() if i == worst} | {
        i for i, j in pairs.tolist() if j == worst
    }
    shown = ", ".join(f"{i}{snaps[i].point}->{j}{snaps[j].point}" for i, j in pairs[:5].tolist())
    raise UnreachableError(
        f"point {worst} {snaps[worst].point} has no street route to or from "
        f"{len(cut_off)} other points ({len(pairs)} point pairs have none, e.g. {shown}); "
        f"the street it snapped to, {table.street_label(snaps[worst].edge_index)}, is cut off from "
        "theirs (by a barrier, an access rule, a height or weight limit, one-way streets or "
        "turn restrictions): "
        "check its barrier, access, maxheight and maxweight tags, move the point to a street "
        "trucks reach, or load the largest strongly connected component"
    )


def kerb_ways(side: np.ndarray, kerb: np.ndarray, drive_side: str) -> np.ndarray:
    """Which way a truck may pass each point: 0 either way, 1 only along the edge it snapped
    to (driving ``u`` -> ``v``), -1 only against it (along the twin).

    Parameters
    ----------
    side : numpy.ndarray
        ``Snap.side`` of each point: 1 left of its edge, -1 right, 0 neither.
    kerb : numpy.ndarray
        bool, whether each point is taken from the kerb and its street is two-way (a one-way
        street is driven its one way whichever side the point stands on).
    drive_side : {"right", "left"}
        The side traffic keeps to: the kerb the truck stops at.

    Returns
    -------
    numpy.ndarray
        int64 per point; a point on neither side (:data:`network.snap.SIDE_MIN_M`) is passed
        either way.
    """
    kerb_on = -1 if drive_side == "right" else 1  # the side of the edge that is the kerb
    return np.where(kerb & (side != 0), np.where(side == kerb_on, 1, -1), 0).astype(np.int64)


def _joined_flags(
    matrix: TravelMatrix, k: int, kerb_side: Sequence[bool] | None
) -> list[bool] | None:
    """Kerb flags of ``matrix``'s points followed by those of ``k`` new points (None: none)."""
    old = list(matrix.kerb_side) or [False] * matrix.size
    new = [bool(x) for x in kerb_side] if kerb_side is not None else [False] * k
    if len(new) != k:
        raise NetworkError(f"kerb_side has {len(new)} flags for {k} new points")
    return old + new if any(old) or any(new) else None


def _twins(table: EdgeTable) -> np.ndarray:
    """For each edge, the opposite-direction edge of the same street piece, or -1.

    A piece that starts and ends at one node (a loop joined to the streets at a single
    junction) has both directions under one key: they pair by their ``edge_reversed``
    flags, never an edge with itself (which routed a two-way loop one way only and left a
    one-way loop out of snapping).

    The ends are matched by place, not node: at a junction split for its turns
    (:mod:`network.turns`) a piece's two directions end at different nodes of one place.
    Turn connectors have no twin."""
    first, last = table.geom_offset[:-1], table.geom_offset[1:] - 1
    cols = (
        list(zip(table.geom_lon[first].tolist(), table.geom_lat[first].tolist(), strict=True)),
        list(zip(table.geom_lon[last].tolist(), table.geom_lat[last].tolist(), strict=True)),
        table.edge_osmid.tolist(),
        np.round(table.edge_length_m, 1).tolist(),
    )
    key: dict[tuple[Point, Point, int, float], list[int]] = {}
    for e in np.flatnonzero(street_edges(table)).tolist():
        key.setdefault((cols[0][e], cols[1][e], cols[2][e], cols[3][e]), []).append(e)
    twin = np.full(table.n_edges, -1, dtype=np.int64)
    rev = table.edge_reversed
    for (u, v, osm, length), edges in key.items():
        if u != v:
            other = key.get((v, u, osm, length))
            twin[edges[0]] = other[0] if other else -1
            continue
        ahead = [e for e in edges if not rev[e]]
        back = [e for e in edges if rev[e]]
        for a, b in zip(ahead, back, strict=False):
            twin[a], twin[b] = b, a
    return twin


def _min_per_pair(
    rows: np.ndarray, cols: np.ndarray, vals: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the smallest value per (row, col) (sparse constructors would sum duplicates)."""
    order = np.lexsort((vals, cols, rows))
    r, c = rows[order], cols[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    keep = order[first]
    return rows[keep], cols[keep], vals[keep]


def _edge_keys(table: EdgeTable) -> np.ndarray:
    """osmnx/networkx parallel-edge key: rank of each edge among edges with the same (u, v)."""
    order = np.lexsort((np.arange(table.n_edges), table.edge_v, table.edge_u))
    u, v = table.edge_u[order], table.edge_v[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
    keys = np.empty(table.n_edges, dtype=np.int64)
    keys[order] = np.arange(len(order)) - group_start
    return keys


def _combined_weights(table: EdgeTable) -> tuple[int, int, np.ndarray]:
    """Edge weights ``entries * 2**(bits + time_bits) + time_ds * 2**bits + metres``
    (float64, exact integers), with ``bits`` and ``time_bits``.

    Minimising the sum minimises the connectors entering local-only streets first
    (``network.zones``: no through traffic), then time, then distance; the low ``bits``
    bits of any simple path's sum are its metres and the next ``time_bits`` its time.
    ``bits`` is chosen so the metres of the whole network (an upper bound for any simple
    path, plus two partial edges) fit, ``time_bits`` so its time does. Entries need at
    least ``ENTRY_BITS`` bits above them below 2**53 (a path entering local streets that
    often is never the shortest); a network too large for that is planned without the
    local-only rule, with a warning.
    """
    time_u = np.round(table.edge_time_s * TIME_UNITS_PER_S).astype(np.int64)
    metres = np.round(table.edge_length_m).astype(np.int64)
    # every zero-metre edge (a connector) weighs 1 below, so counts in the bound
    bound_m = int(metres.sum()) + int((metres == 0).sum()) + 2 * int(metres.max())
    bound_m += 2 * VIRTUAL_EXTRA + 1
    bits = max(1, math.ceil(math.log2(bound_m)))
    time_bits = (int(time_u.sum()) + 2 * int(time_u.max()) + 2).bit_length()
    if time_bits + bits > FLOAT_EXACT_BITS:
        raise NetworkError(
            f"network too large for exact combined weights ({bits} + {time_bits} bits)"
        )
    weight = ((time_u << bits) + metres).astype(np.float64)
    entries = table.edge_local & ~street_edges(table)
    if entries.any() and FLOAT_EXACT_BITS - bits - time_bits < ENTRY_BITS:
        log.warning(
            "network too large to weigh entries into local-only streets (%d bits left): "
            "its matrices let trucks through them",
            FLOAT_EXACT_BITS - bits - time_bits,
        )
    elif entries.any():
        weight[entries] += float(1 << (bits + time_bits))
    return bits, time_bits, np.maximum(weight, 1.0)  # no zero-weight edges (csgraph drops zeros)


def _street_csr(table: EdgeTable, weight: np.ndarray) -> tuple[np.ndarray, sparse.csr_array]:
    """CSR of the lightest edge per (u, v) pair, and the edge index behind each CSR entry."""
    n = table.n_nodes
    order = np.lexsort((weight, table.edge_v, table.edge_u))
    u, v = table.edge_u[order], table.edge_v[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    keep = order[first & (u != v)]  # self-loops never shorten a path
    csr = sparse.csr_array((weight[keep], (table.edge_u[keep], table.edge_v[keep])), shape=(n, n))
    # csr built from coo sorted by (u, v) keeps that order, so entries align with `keep`
    if not np.array_equal(csr.indices, table.edge_v[keep]):
        raise NetworkError("internal: CSR entries are not aligned with their edges")
    return keep, csr


_JOB: list[Any] = []  # in a forked worker: its pool's (csr, targets), inherited


def _take_job(csr: sparse.csr_array, targets: np.ndarray) -> None:
    """A forked worker's initializer: keep its pool's graph and targets (not pickled)."""
    _JOB[:] = [csr, targets]


def _forked_block(sources: np.ndarray) -> np.ndarray:
    csr, targets = _JOB
    return _dijkstra_block(csr, targets, sources)


def _dijkstra_block(csr: sparse.csr_array, targets: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Dijkstra from ``sources`` in memory-bounded chunks, keeping only the target columns."""
    rows = max(1, BLOCK_BYTES // (8 * csr.shape[0]))
    out = np.empty((len(sources), len(targets)))
    for i in range(0, len(sources), rows):
        out[i : i + rows] = csgraph.dijkstra(csr, indices=sources[i : i + rows])[:, targets]
    return out
