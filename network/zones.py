"""Local-only streets: a truck drives them to reach or leave a place on them, never through.

OSM marks streets a truck may use only to reach a place on them with ``access=destination``
(or ``hgv=destination``, ``delivery``, ``customers``; ``speeds.local_only``): residents'
streets, old towns, industrial yards. A shortest path would cut through them. Here each
junction where such streets meet the others is split (:func:`split_local_zones`): its
local-only streets end at a node of its own, joined to the junction by two zero-length
connectors, one leaving the local streets and one entering them (``edge_local`` set).

The matrices count the connectors entered above everything else (``streets``' combined
weight): a path enters local-only streets as few times as it can, then is the fastest. A
trip to a bin on such a street enters once; a trip across town does not cut through them
while any other way exists, however long (the rule has no detour limit), and goes through
them when no other way does (a village reached only by a destination-signed road).
"""

from __future__ import annotations

import itertools

import numpy as np

from network.table import EdgeTable, ends_of, street_edges, with_connectors

# node ids of the junctions' local sides, counting down from here: below the ids of the
# turn splits (``turns.TURN_ID_START``), the barrier cuts and any OSM node's or editor's
ZONE_ID_START = -(2**42)


def split_local_zones(table: EdgeTable) -> EdgeTable:
    """``table`` with each junction of local-only and other streets split in two, joined
    by a connector leaving the local-only streets and one entering them (module docstring).
    Street pieces keep their edge indices; the table is returned as is when no junction
    mixes them."""
    streets = street_edges(table)
    local = streets & table.edge_local
    through = streets & ~table.edge_local
    n = table.n_nodes
    mixed = np.flatnonzero(ends_of(table, local) & ends_of(table, through))
    if len(mixed) == 0:
        return table
    side = np.full(n, -1, dtype=np.int64)  # junction -> index of its local side
    side[mixed] = n + np.arange(len(mixed))
    edge_u, edge_v = table.edge_u.copy(), table.edge_v.copy()
    moved_u = local & (side[edge_u] >= 0)
    moved_v = local & (side[edge_v] >= 0)
    edge_u[moved_u] = side[table.edge_u[moved_u]]
    edge_v[moved_v] = side[table.edge_v[moved_v]]
    speed_of = _a_local_edge(table, local, mixed)
    ids = itertools.count(ZONE_ID_START, -1)
    copies = [(next(ids), int(x)) for x in mixed]
    links = [
        link
        for x, e in zip(mixed.tolist(), speed_of.tolist(), strict=True)
        for link in ((x, int(side[x]), e, True), (int(side[x]), x, e, False))
    ]
    return with_connectors(table, edge_u, edge_v, copies, links)


def _a_local_edge(table: EdgeTable, local: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """For each of ``nodes``, a local-only street edge at it (its speed is the connectors')."""
    edges = np.flatnonzero(local)
    ends = np.concatenate([table.edge_u[edges], table.edge_v[edges]])
    of = np.full(table.n_nodes, -1, dtype=np.int64)
    of[ends] = np.concatenate([edges, edges])
    owner: np.ndarray = of[nodes]
    return owner
