"""Random street grids and an independent edge-based Dijkstra to check matrices against
(turn restrictions, local-only streets, kerb-side points)."""

from __future__ import annotations

import heapq
import itertools
import math

import networkx as nx
import numpy as np

from network.table import EdgeTable
from network.table_nx import table_from_graph
from network.turns import TurnRestriction
from tests.network.conftest import add_street, grid

SPEED_MPS = 5.0


def random_town(rng: np.random.Generator, size: int = 5, local_share: float = 0.0) -> EdgeTable:
    """A ``size`` x ``size`` grid of streets, each piece a way of its own, a fifth of them
    one-way (in a random direction), ``local_share`` of them local-only (drawn from a
    stream of their own, so the rest of the town is the same)."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    for x, y in itertools.product(range(size), range(size)):
        lon, lat = grid(x, y)
        graph.add_node(x * size + y + 1, x=lon, y=lat)
    way = itertools.count(1)
    for x, y in itertools.product(range(size), range(size)):
        a = x * size + y + 1
        for b in [a + size] * (x + 1 < size) + [a + 1] * (y + 1 < size):
            u, v = (a, b) if rng.random() < 0.5 else (b, a)
            add_street(graph, u, v, oneway=bool(rng.random() < 0.2), osmid=next(way))
    pick = np.random.default_rng(rng.integers(2**32, size=1)[0] if local_share else 0)
    local = {w for w in range(1, next(way)) if pick.random() < local_share}
    for *_, data in graph.edges(data=True):
        data["local"] = data["osmid"] in local
    return table_from_graph(graph)


def random_restrictions(
    table: EdgeTable, rng: np.random.Generator, n: int
) -> list[TurnRestriction]:
    """``n`` restrictions at random junctions between random arriving and leaving pieces."""
    found = []
    for rel in range(n):
        v = int(rng.integers(table.n_nodes))
        ins = np.flatnonzero(table.edge_v == v)
        outs = np.flatnonzero(table.edge_u == v)
        if len(ins) == 0 or len(outs) == 0:
            continue
        e, f = int(rng.choice(ins)), int(rng.choice(outs))
        same = table.edge_osmid[e] == table.edge_osmid[f]
        found.append(
            TurnRestriction(
                relation=rel,
                from_ways=(int(table.edge_osmid[e]),),
                via_node=int(table.node_osmid[v]),
                to_ways=(int(table.edge_osmid[f]),),
                kind="no" if rng.random() < 0.7 else "only",
                u_turn=bool(same),
            )
        )
    return found


def banned_turns(table: EdgeTable, restrictions: list[TurnRestriction]) -> set[tuple[int, int]]:
    """The (arriving edge, leaving edge) pairs the restrictions forbid, from their text:
    in this grid a way is one piece, so a ``from`` = ``to`` turn is the U-turn."""
    found = set()
    for r in restrictions:
        v = int(np.flatnonzero(table.node_osmid == r.via_node)[0])
        outs = set(np.flatnonzero(table.edge_u == v).tolist())
        for e in np.flatnonzero((table.edge_v == v) & np.isin(table.edge_osmid, r.from_ways)):
            named = {f for f in outs if table.edge_osmid[f] in r.to_ways}
            if named:
                found |= {(int(e), f) for f in (named if r.kind == "no" else outs - named)}
    return found


def twin_of(table: EdgeTable, e: int) -> int | None:
    """The other direction of two-way street piece ``e`` (None on a one-way street)."""
    back = (table.edge_u == table.edge_v[e]) & (table.edge_v == table.edge_u[e])
    found = np.flatnonzero(back & (table.edge_osmid == table.edge_osmid[e]))
    return int(found[0]) if len(found) else None


def oracle_s(
    table: EdgeTable,
    banned: set[tuple[int, int]],
    a: int,
    b: int,
    *,
    zones: bool = True,
    leave: tuple[int, ...] | None = None,
    reach: tuple[int, ...] | None = None,
) -> float:
    """Seconds from the middle of street piece ``a`` (edge index, either direction when
    two-way) to the middle of piece ``b``: Dijkstra over directed edges (a state is 'at
    the head of edge x'), turning from x into y wherever x ends where y starts unless the
    pair is banned, the fewest entries from a street open to through traffic into a
    local-only one first (with ``zones``), then the least time. No junction is split here.
    ``leave`` / ``reach``: the directions of ``a`` / ``b`` (edges) a truck may drive there
    (default: both)."""
    t, local = table.edge_time_s, table.edge_local & zones
    starts = leave if leave is not None else (a, twin_of(table, a))
    best = {x: (0, t[x] / 2) for x in starts if x is not None}
    heap = [(*d, x) for x, d in best.items()]
    heapq.heapify(heap)
    goals = reach if reach is not None else (b, twin_of(table, b))
    arrive: tuple[int, float] = (2**31, np.inf)
    while heap:
        n, d, x = heapq.heappop(heap)
        if (n, d) > best.get(x, (2**31, np.inf)) or (n, d) >= arrive:
            continue
        for y in np.flatnonzero(table.edge_u == table.edge_v[x]).tolist():
            if (x, y) in banned:
                continue
            cost = (n + int(local[y] and not local[x]), d + t[y])
            if y in goals:
                arrive = min(arrive, (cost[0], d + t[y] / 2))
            if cost < best.get(y, (2**31, np.inf)):
                best[y] = cost
                heapq.heappush(heap, (*cost, y))
    return arrive[1]


def reachable_pieces(
    table: EdgeTable, banned: set[tuple[int, int]], rng: np.random.Generator, n: int
) -> tuple[list[int], np.ndarray]:
    """``n`` random street pieces every one of which the oracle reaches from every other
    (random one-way streets and restrictions cut some off), and the oracle's seconds."""
    pieces: list[int] = []
    for e in rng.permutation(np.flatnonzero(~table.edge_reversed)).tolist():
        there = [oracle_s(table, banned, a, e) for a in pieces]
        back = [oracle_s(table, banned, e, b) for b in pieces]
        if np.isfinite(there + back).all():
            pieces.append(e)
        if len(pieces) == n:
            break
    expected = np.array([[oracle_s(table, banned, a, b) for b in pieces] for a in pieces])
    np.fill_diagonal(expected, 0.0)
    return pieces, expected


def middle(table: EdgeTable, e: int) -> tuple[float, float]:
    a, b = int(table.geom_offset[e]), int(table.geom_offset[e + 1]) - 1
    return (
        float(table.geom_lon[a] + table.geom_lon[b]) / 2,
        float(table.geom_lat[a] + table.geom_lat[b]) / 2,
    )


def beside(table: EdgeTable, e: int, side: int, metres: float = 6.0) -> tuple[float, float]:
    """A point ``metres`` from the middle of straight piece ``e``, on its left (``side`` 1)
    or right (-1) driving from its ``u`` to its ``v``."""
    lon, lat = middle(table, e)
    kx = math.radians(1) * 6_371_008.8 * math.cos(math.radians(lat))
    ky = math.radians(1) * 6_371_008.8
    dx = (table.node_lon[table.edge_v[e]] - table.node_lon[table.edge_u[e]]) * kx
    dy = (table.node_lat[table.edge_v[e]] - table.node_lat[table.edge_u[e]]) * ky
    norm = math.hypot(dx, dy)
    return (lon - side * metres * dy / norm / kx, lat + side * metres * dx / norm / ky)


def kerb_directions(
    table: EdgeTable, e: int, side: int, kerb: bool, drive_side: str
) -> tuple[int, ...]:
    """The directions (edges) of piece ``e`` a truck may take a point on ``side`` of it in."""
    twin = twin_of(table, e)
    if twin is None:
        return (e,)
    if not kerb:
        return (e, twin)
    on_right_of_e = side == -1
    return (e,) if on_right_of_e == (drive_side == "right") else (twin,)


def reachable_kerb_points(
    table: EdgeTable, banned: set[tuple[int, int]], rng: np.random.Generator, drive_side: str
) -> list[tuple[int, int, bool]]:
    """8 random (piece, side, kerb flag) points, each reached by the oracle from every other
    in the directions their flags leave them (one-way streets and restrictions cut some
    pairs off)."""
    chosen: list[tuple[int, int, bool]] = []
    for e in rng.permutation(np.flatnonzero(~table.edge_reversed)).tolist():
        side, kerb = int(rng.choice([-1, 1])), bool(rng.random() < 0.7)
        ways = kerb_directions(table, e, side, kerb, drive_side)
        trips = []
        for a, s, k in chosen:
            old = kerb_directions(table, a, s, k, drive_side)
            trips += [oracle_s(table, banned, a, e, leave=old, reach=ways)]
            trips += [oracle_s(table, banned, e, a, leave=ways, reach=old)]
        if np.isfinite(trips).all():
            chosen.append((e, side, kerb))
        if len(chosen) == 8:
            return chosen
    raise AssertionError(f"only {len(chosen)} points reach each other")


def oracle_matrix(
    table: EdgeTable,
    banned: set[tuple[int, int]],
    chosen: list[tuple[int, int, bool]],
    drive_side: str = "right",
) -> np.ndarray:
    """The oracle's seconds between the ``chosen`` (piece, side, kerb flag) points, each
    left and reached in the directions its flag allows; zero diagonal."""
    ways = [kerb_directions(table, e, s, k, drive_side) for e, s, k in chosen]
    found = np.array(
        [[oracle_s(table, banned, a[0], b[0], leave=wa, reach=wb)
          for b, wb in zip(chosen, ways, strict=True)]
         for a, wa in zip(chosen, ways, strict=True)]
    )  # fmt: skip
    np.fill_diagonal(found, 0.0)
    return found
