"""Customizable contraction hierarchy (CCH) many-to-many search: the ``"ch"`` matrix engine.

Preparation (once per network, :func:`prepare`):

1. a nested-dissection node order (RoutingKit's inertial-flow order from the optional
   ``routingkit-cch`` package, else a geometric median-split order computed here);
2. the elimination game in that order: each eliminated node joins its higher neighbours into a
   clique (shortcut arcs), giving the chordal "upward" graph and its elimination tree;
3. customisation with the integer combined weights (``streets._combined_weights``): every arc
   keeps an upward and a downward weight, lowered through each lower triangle in rank order
   (int64, so sums are exact).

Query: a point's search starts at its departure nodes with their partial-edge weights and walks
up the elimination tree (no priority queue); targets do the same backwards and leave bucket
entries (node, target, weight); a source's result for every target is the minimum of
``forward[x] + bucket weight`` over its search space. The minimum over up-down paths in a
customised CCH equals the shortest path in the street graph, so the matrix is identical to the
scipy engine's.

The search kernels are compiled with numba (optional): :data:`AVAILABLE` is False without it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

try:  # optional dependency
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None  # type: ignore[assignment]

routingkit_cch: Any
try:  # optional: RoutingKit's inertial-flow order (better than the geometric fallback)
    import routingkit_cch
except ImportError:  # pragma: no cover - exercised only without routingkit-cch
    routingkit_cch = None

AVAILABLE = numba is not None
CH_VERSION = "1"  # bump when preparation changes so cached hierarchies are ignored
UNREACHED = np.iinfo(np.int64).max  # weight of a missing arc / result cell with no path
LEAF_NODES = 64  # geometric order: parts this small are ordered by degree


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


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """A customised CCH. Nodes are renumbered by rank (``rank[node]``).

    Attributes
    ----------
    rank : (N,) int64
        Rank of each street node (0 = contracted first).
    parent : (N,) int64
        Elimination-tree parent of each rank, -1 at roots.
    up_ptr, up_head : int64
        Upward arcs of rank ``x``: ``up_head[up_ptr[x]:up_ptr[x + 1]]`` (ascending ranks).
    up_w, down_w : int64
        Weight of arc ``x -> head`` and ``head -> x``; :data:`UNREACHED` when absent.
    digest : (32,) uint8
        :func:`arcs_digest` of the input arcs (a cached hierarchy is used only when it matches).
    """

    rank: np.ndarray
    parent: np.ndarray
    up_ptr: np.ndarray
    up_head: np.ndarray
    up_w: np.ndarray
    down_w: np.ndarray
    digest: np.ndarray

    def save(self, path: Path) -> None:
        """Write to an uncompressed ``.npz`` (atomic replace; concurrent writers are safe)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp.npz")
        np.savez(tmp, **{f.name: getattr(self, f.name) for f in fields(self)})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Hierarchy:
        """Read a hierarchy written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {f.name: data[f.name] for f in fields(cls)}
        digest = arrays.pop("digest").astype(np.uint8)
        return cls(**{k: v.astype(np.int64) for k, v in arrays.items()}, digest=digest)


def arcs_digest(tail: np.ndarray, head: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """sha256 (as 32 uint8) of the arcs and weights a hierarchy is prepared for."""
    h = hashlib.sha256()
    for arr in (tail, head, weight):
        h.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
    return np.frombuffer(h.digest(), dtype=np.uint8).copy()


def cache_tag() -> str:
    """Distinguishes cached hierarchies by preparation code and node-order method."""
    return f"ch{CH_VERSION}-{'rk' if routingkit_cch is not None else 'geo'}"


def prepare(
    tail: np.ndarray,
    head: np.ndarray,
    weight: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
) -> Hierarchy:
    """Build and customise a CCH for directed arcs ``tail -> head`` (int64 weights > 0).

    ``lon``/``lat`` (degrees) of every node guide the nested-dissection order.
    """
    n = len(lon)
    order = node_order(tail, head, lon, lat)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    u, v = rank[tail], rank[head]
    parent, up_ptr, up_head = _eliminate(n, u, v)
    up_w, down_w = _customise(up_ptr, up_head, u, v, weight.astype(np.int64))
    return Hierarchy(
        rank=rank,
        parent=parent,
        up_ptr=up_ptr,
        up_head=up_head,
        up_w=up_w,
        down_w=down_w,
        digest=arcs_digest(tail, head, weight),
    )


def node_order(tail: np.ndarray, head: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Nodes from first to last contracted (nested dissection: separators last)."""
    if routingkit_cch is None:
        return _geometric_order(tail, head, lon, lat)
    return np.asarray(
        routingkit_cch.compute_order_inertial(
            len(lon), tail.tolist(), head.tolist(), lat.tolist(), lon.tolist()
        ),
        dtype=np.int64,
    )


def _geometric_order(
    tail: np.ndarray, head: np.ndarray, lon: np.ndarray, lat: np.ndarray
) -> np.ndarray:
    """Nested dissection by median splits across the longer extent (fallback order).

    The separator of a part is the set of nodes with an edge across the split, taken on the
    side where that set is smaller; it is contracted after both halves.
    """
    from scipy import sparse

    n = len(lon)
    adj = sparse.csr_array((np.ones(len(tail)), (tail, head)), shape=(n, n))
    adj = (adj + adj.T).tocsr()
    degree = np.diff(adj.indptr)
    y = np.asarray(lat, dtype=np.float64)
    x = np.asarray(lon, dtype=np.float64) * np.cos(np.radians(np.mean(y) if n else 0.0))
    parts: list[np.ndarray] = []
    # depth-first; a separator is pushed before its halves so it is emitted after them
    stack: list[tuple[np.ndarray, bool]] = [(np.arange(n), False)]
    while stack:
        nodes, is_separator = stack.pop()
        if is_separator or len(nodes) <= LEAF_NODES:
            parts.append(nodes if is_separator else nodes[np.argsort(degree[nodes])])
            continue
        coord = x[nodes] if np.ptp(x[nodes]) >= np.ptp(y[nodes]) else y[nodes]
        high = coord > np.median(coord)
        if high.all() or not high.any():
            high = np.arange(len(nodes)) >= len(nodes) // 2
        cut_low, cut_high = _crossing(adj, nodes, high), _crossing(adj, nodes, ~high)
        cut = cut_low if cut_low.sum() <= cut_high.sum() else cut_high
        stack.append((nodes[cut], True))
        stack.append((nodes[high & ~cut], False))
        stack.append((nodes[~high & ~cut], False))
    return np.concatenate(parts).astype(np.int64)


def _crossing(adj: Any, nodes: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Mask over ``nodes``: not in ``other`` and adjacent to a node in ``other``."""
    in_other = np.zeros(adj.shape[0], dtype=np.float64)
    in_other[nodes[other]] = 1.0
    rim: np.ndarray = ~other & ((adj @ in_other)[nodes] > 0)
    return rim


def _eliminate(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
    """Elimination game in rank order: (parent, up_ptr, up_head) of the chordal upward graph."""
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    keep = lo != hi
    up: list[set[int]] = [set() for _ in range(n)]
    for a, c in zip(lo[keep].tolist(), hi[keep].tolist(), strict=True):
        up[a].add(c)
    parent = np.full(n, -1, dtype=np.int64)
    for x in range(n):
        s = up[x]
        if s:
            p = min(s)
            parent[x] = p
            up[p] |= s - {p}
    sizes = np.fromiter((len(s) for s in up), dtype=np.int64, count=n)
    up_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    up_head = np.fromiter((c for s in up for c in sorted(s)), dtype=np.int64, count=int(up_ptr[-1]))
    return parent, up_ptr, up_head


def _customise(
    up_ptr: np.ndarray, up_head: np.ndarray, u: np.ndarray, v: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    m = len(up_head)
    up_w = np.full(m, UNREACHED, dtype=np.int64)
    down_w = np.full(m, UNREACHED, dtype=np.int64)
    _bind(up_ptr, up_head, u, v, w, up_w, down_w)
    _triangles(up_ptr, up_head, up_w, down_w)
    return up_w, down_w


def _arc(up_ptr: Any, up_head: Any, a: int, b: int) -> int:
    """Index of upward arc a -> b (a < b); binary search."""
    lo, hi = up_ptr[a], up_ptr[a + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if up_head[mid] < b:
            lo = mid + 1
        else:
            hi = mid
    return int(lo)


def _bind(up_ptr: Any, up_head: Any, u: Any, v: Any, w: Any, up_w: Any, down_w: Any) -> None:
    """Input arc weights (lightest per direction) onto the CCH arcs."""
    for e in range(len(u)):
        a, b = u[e], v[e]
        if a < b:
            k = _arc(up_ptr, up_head, a, b)
            if w[e] < up_w[k]:
                up_w[k] = w[e]
        elif b < a:
            k = _arc(up_ptr, up_head, b, a)
            if w[e] < down_w[k]:
                down_w[k] = w[e]


def _triangles(up_ptr: Any, up_head: Any, up_w: Any, down_w: Any) -> None:
    """Basic customisation: for x < y < z, y -> x -> z lowers y -> z and z -> x -> y lowers
    z -> y."""
    inf = np.iinfo(np.int64).max
    for x in range(len(up_ptr) - 1):
        for i in range(up_ptr[x], up_ptr[x + 1]):
            y = up_head[i]
            for j in range(i + 1, up_ptr[x + 1]):
                z = up_head[j]
                k = _arc(up_ptr, up_head, y, z)
                if down_w[i] != inf and up_w[j] != inf and down_w[i] + up_w[j] < up_w[k]:
                    up_w[k] = down_w[i] + up_w[j]
                if down_w[j] != inf and up_w[i] != inf and down_w[j] + up_w[i] < down_w[k]:
                    down_w[k] = down_w[j] + up_w[i]


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
    n = len(parent)
    inf = np.iinfo(np.int64).max
    dist = np.empty(n, dtype=np.int64)
    mark = np.zeros(n, dtype=np.bool_)
    space = np.empty(n, dtype=np.int64)
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
    n = len(parent)
    inf = np.iinfo(np.int64).max
    dist = np.empty(n, dtype=np.int64)
    mark = np.zeros(n, dtype=np.bool_)
    space = np.empty(n, dtype=np.int64)
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
    _arc = _jit(_arc)
    _bind = _jit(_bind)
    _triangles = _jit(_triangles)
    _space = _jit(_space)
    _sweep = _jit(_sweep)
    _grow = _jit(_grow)
    _buckets = _jit(_buckets)
    _sweep_rows = _jit(_sweep_rows)
