"""Preparation of the ``"ch"`` engine (:func:`prepare`): nested-dissection node order,
elimination game and customisation (see :mod:`network.fastpath`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from network.fastpath.hierarchy import UNREACHED, Hierarchy, arcs_digest

try:  # optional dependency
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None  # type: ignore[assignment]

routingkit_cch: Any
try:  # optional: RoutingKit's inertial-flow order (better than the geometric fallback)
    import routingkit_cch
except ImportError:  # pragma: no cover - exercised only without routingkit-cch
    routingkit_cch = None

CH_VERSION = "1"  # bump when preparation changes so cached hierarchies are ignored
LEAF_NODES = 64  # geometric order: parts this small are ordered by degree


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


if numba is not None:
    _jit = numba.njit(cache=True, nogil=True)
    _arc = _jit(_arc)
    _bind = _jit(_bind)
    _triangles = _jit(_triangles)
