"""Many-to-many queries of the ``"ch"`` engine (:func:`many_to_many`): upward searches of
the elimination tree, buckets, and the numba kernels (see :mod:`network.fastpath`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from network.fastpath.hierarchy import Hierarchy

try:  # optional dependency
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None  # type: ignore[assignment]

AVAILABLE = numba is not None


@dataclass(frozen=True, slots=True)
class Attach:
    """Per-point lists of (graph node, int64 weight): ``node[ptr[i]:ptr[i + 1]]`` for point i."""

    ptr: np.ndarray
    node: np.ndarray
    weight: np.ndarray

    @classmethod
    def group(cls, point: np.ndarray, node: np.ndarray, weight: np.ndarray, n: int) -> Attach:
        """Group (point, node, weight) triples by point index ``0 <= point < n``."""
        order = np.argsort(point, kind="stable")
        ptr = np.concatenate([[0], np.cumsum(np.bincount(point, minlength=n))]).astype(np.int64)
        return cls(
            ptr=ptr, node=node[order].astype(np.int64), weight=weight[order].astype(np.int64)
        )

    def rows(self, lo: int, hi: int) -> Attach:
        """Points ``lo .. hi - 1`` only."""
        a, b = int(self.ptr[lo]), int(self.ptr[hi])
        return Attach(ptr=self.ptr[lo : hi + 1] - a, node=self.node[a:b], weight=self.weight[a:b])


def many_to_many(ch: Hierarchy, starts: Attach, ends: Attach, workers: int) -> np.ndarray:
    """Shortest combined weight from each start point to each end point.

    The smaller side leaves bucket entries; the other side's searches scan them, split over
    ``workers`` threads (the kernels release the GIL).

    Parameters
    ----------
    ch : Hierarchy
    starts, ends : Attach
        Street nodes (original numbering) where each point departs / arrives, with weights.
    workers : int
        Threads.

    Returns
    -------
    numpy.ndarray
        ``(n_starts, n_ends)`` int64; :data:`UNREACHED` where no path exists.
    """
    if numba is None:  # pragma: no cover
        raise RuntimeError("numba is not installed; use engine='scipy'")
    if len(starts.ptr) < len(ends.ptr):
        return _scan(ch, ends, ch.down_w, starts, ch.up_w, workers).T
    return _scan(ch, starts, ch.up_w, ends, ch.down_w, workers)


def _scan(
    ch: Hierarchy,
    sweep: Attach,
    sweep_w: np.ndarray,
    bucketed: Attach,
    bucket_w: np.ndarray,
    workers: int,
) -> np.ndarray:
    """``out[i, j]``: best meeting of sweep point i's search and bucketed point j's search."""
    n_s, n_b = len(sweep.ptr) - 1, len(bucketed.ptr) - 1
    b_node, b_point, b_w = _buckets(
        ch.parent, ch.up_ptr, ch.up_head, bucket_w, bucketed.ptr, ch.rank[bucketed.node],
        bucketed.weight,
    )  # fmt: skip
    order = np.argsort(b_node, kind="stable")
    b_ptr = np.concatenate([[0], np.cumsum(np.bincount(b_node, minlength=len(ch.parent)))])
    out = np.empty((n_s, n_b), dtype=np.int64)
    args = (
        ch.parent, ch.up_ptr, ch.up_head, sweep_w, sweep.ptr, ch.rank[sweep.node], sweep.weight,
        b_ptr.astype(np.int64), b_point[order], b_w[order],
    )  # fmt: skip
    chunks = [c for c in np.array_split(np.arange(n_s), max(1, min(workers, n_s))) if len(c)]
    if len(chunks) <= 1:
        _sweep_rows(*args, 0, n_s, out)
        return out
    with ThreadPoolExecutor(len(chunks)) as pool:
        jobs = [pool.submit(_sweep_rows, *args, int(c[0]), int(c[-1]) + 1, out) for c in chunks]
        for job in jobs:
            job.result()
    return out


def _space(parent: Any, nodes: Any, mark: Any, space: Any) -> int:
    """Sorted union of the elimination-tree ancestors of ``nodes`` into ``space``; its size."""
    cnt = 0
    for s in range(len(nodes)):
        x = nodes[s]
        while x != -1 and not mark[x]:
            mark[x] = True
            space[cnt] = x
            cnt += 1
            x = parent[x]
    space[:cnt].sort()
    for k in range(cnt):
        mark[space[k]] = False
    return cnt


def _work(n: int) -> tuple[Any, Any, Any]:
    """Work arrays of one search over ``n`` nodes: distances, marks (all False), space."""
    return np.empty(n, dtype=np.int64), np.zeros(n, dtype=np.bool_), np.empty(n, dtype=np.int64)


def _sweep(
    parent: Any,
    up_ptr: Any,
    up_head: Any,
    arc_w: Any,
    nodes: Any,
    init: Any,
    dist: Any,
    mark: Any,
    space: Any,
) -> int:
    """Upward elimination-tree search from ``nodes`` (initial weights ``init``); ``dist`` holds
    the result on ``space[:returned count]`` (other entries untouched)."""
    inf = np.iinfo(np.int64).max
    cnt = _space(parent, nodes, mark, space)
    for k in range(cnt):
        dist[space[k]] = inf
    for s in range(len(nodes)):
        if init[s] < dist[nodes[s]]:
            dist[nodes[s]] = init[s]
    for k in range(cnt):
        x = space[k]
        d = dist[x]
        if d == inf:
            continue
        for a in range(up_ptr[x], up_ptr[x + 1]):
            if arc_w[a] != inf and d + arc_w[a] < dist[up_head[a]]:
                dist[up_head[a]] = d + arc_w[a]
    return cnt


def _buckets(
    parent: Any, up_ptr: Any, up_head: Any, arc_w: Any, e_ptr: Any, e_node: Any, e_w: Any
) -> tuple[Any, Any, Any]:
    """Searches of all bucketed points: bucket entries (node, point, weight)."""
    inf = np.iinfo(np.int64).max
    dist, mark, space = _work(len(parent))
    cap = 1024
    b_node = np.empty(cap, dtype=np.int64)
    b_point = np.empty(cap, dtype=np.int64)
    b_w = np.empty(cap, dtype=np.int64)
    size = 0
    for j in range(len(e_ptr) - 1):
        a, b = e_ptr[j], e_ptr[j + 1]
        cnt = _sweep(parent, up_ptr, up_head, arc_w, e_node[a:b], e_w[a:b], dist, mark, space)
        if size + cnt > cap:
            cap = 2 * (size + cnt)
            b_node = _grow(b_node, cap)
            b_point = _grow(b_point, cap)
            b_w = _grow(b_w, cap)
        for k in range(cnt):
            x = space[k]
            if dist[x] != inf:
                b_node[size], b_point[size], b_w[size] = x, j, dist[x]
                size += 1
    return b_node[:size], b_point[:size], b_w[:size]


def _grow(arr: Any, cap: int) -> Any:
    out = np.empty(cap, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


def _sweep_rows(
    parent: Any,
    up_ptr: Any,
    up_head: Any,
    arc_w: Any,
    s_ptr: Any,
    s_node: Any,
    s_w: Any,
    b_ptr: Any,
    b_point: Any,
    b_w: Any,
    lo: int,
    hi: int,
    out: Any,
) -> None:
    """Rows ``lo:hi`` of the result: searches scanning the buckets."""
    inf = np.iinfo(np.int64).max
    dist, mark, space = _work(len(parent))
    for i in range(lo, hi):
        row = out[i]
        row[:] = inf
        a, b = s_ptr[i], s_ptr[i + 1]
        cnt = _sweep(parent, up_ptr, up_head, arc_w, s_node[a:b], s_w[a:b], dist, mark, space)
        for k in range(cnt):
            x = space[k]
            d = dist[x]
            if d == inf:
                continue
            for q in range(b_ptr[x], b_ptr[x + 1]):
                total = d + b_w[q]
                if total < row[b_point[q]]:
                    row[b_point[q]] = total


if numba is not None:
    _jit = numba.njit(cache=True, nogil=True)
    _space = _jit(_space)
    _work = _jit(_work)
    _sweep = _jit(_sweep)
    _grow = _jit(_grow)
    _buckets = _jit(_buckets)
    _sweep_rows = _jit(_sweep_rows)
