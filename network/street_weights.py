"""The street network's path weights (time and metres in one number, entries into
local-only streets counted), its sparse graph and Dijkstra blocks, and the matrices' helpers
(part of :mod:`network.streets`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from network import fastpath
from network.errors import NetworkError, UnreachableError
from network.matrix import TravelMatrix
from network.snap import Snap
from network.table import (
    EdgeTable,
    street_edges,
)

log = logging.getLogger("network.streets")  # one logger for the street network's modules

FLOAT_EXACT_BITS = 53  # float64 holds integers below 2**53 exactly

TIME_UNITS_PER_S = 10  # path weights count time in deciseconds (the one unit choice)

ENTRY_BITS = 3  # entries into local-only streets a path weight counts exactly: up to 7

VIRTUAL_EXTRA = 1  # added to each virtual (point) edge so none has weight zero

BLOCK_BYTES = 150_000_000  # max size of one (sources x nodes) Dijkstra block

Point = tuple[float, float]


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
