"""StreetNetwork: snapping, many-to-many matrices (scipy.sparse.csgraph, or the contraction
hierarchy of :mod:`network.fastpath`) and route geometry. Its parts: :mod:`network.street_base`
(snapping, places, street hours), :mod:`network.street_paths` (paths, directions) and
:mod:`network.street_weights` (path weights, the sparse graph)."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from network import fastpath
from network.matrix import TravelMatrix
from network.snap import MAX_SNAP_M, Snap
from network.street_base import ENGINES
from network.street_paths import StreetPaths, StreetPoint
from network.street_weights import (
    TIME_UNITS_PER_S,
    VIRTUAL_EXTRA,
    Point,
    _dijkstra_block,
    _forked_block,
    _joined_flags,
    _min_per_pair,
    _raise_unreachable,
    _seconds,
    _take_job,
    _with_direct,
)

__all__ = ["ENGINES", "TIME_UNITS_PER_S", "Point", "StreetNetwork", "StreetPoint"]

log = logging.getLogger(__name__)

PARALLEL_MIN_WORK = 20_000_000  # sources * nodes above which 2 processes pay off

_CH_LOCK = threading.Lock()  # one hierarchy preparation at a time (module-level: picklable nets)


@dataclass(frozen=True, slots=True)
class _Joins:
    """How points join the street graph: departures, arrivals and same-edge direct links."""

    starts: fastpath.Attach
    ends: fastpath.Attach
    direct: tuple[np.ndarray, np.ndarray, np.ndarray]  # (from point, to point, weight)


class StreetNetwork(StreetPaths):
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
