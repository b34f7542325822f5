"""EdgeTable: a prepared street graph as flat NumPy arrays (cacheable; networkx conversions in
:mod:`network.table_nx`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from network.errors import NetworkError

EARTH_RADIUS_M = 6_371_008.8
CUT_OFF_PREFIX = "cut_off."  # .npz keys of the streets cut off from a saved table
# ``edge_highway`` of a connector: a zero-length edge across a junction split for its turn
# restrictions (``network.turns``) or between its local-only streets and the others
# (``network.zones``), no street of its own (not snapped to or drawn)
CONNECTOR_HIGHWAY = "connector"


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in metres between (lon, lat) degree arrays (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True, slots=True, eq=False)
class EdgeTable:
    """Directed street edges between intersections, as arrays (node/edge indices are int64).

    Attributes
    ----------
    node_osmid, node_lon, node_lat : (N,) arrays
        OSM node id and WGS84 degrees of each graph node.
    edge_u, edge_v : (E,) int64
        Tail and head node index of each directed edge.
    edge_osmid : (E,) int64
        OSM way id.
    edge_highway, edge_name : (E,) str arrays
        ``highway`` tag and street name (``speeds.street_name``: its ``name``, else its
        road number, ``ref``; ``""`` when it has neither).
    edge_oneway, edge_reversed : (E,) bool
        osmnx semantics: ``reversed`` marks the direction opposite to the way's node order.
    edge_length_m, edge_speed_kph, edge_time_s : (E,) float64
        Length along the geometry (m), truck speed (km/h), travel time (s).
    edge_local : (E,) bool
        A street open to trucks only to reach a place on it (``access=destination``,
        ``delivery``, ``customers``: no through traffic, ``speeds.local_only``); on a
        connector (``CONNECTOR_HIGHWAY``), that it enters such streets from the others.
    edge_roundabout : (E,) bool
        A piece of a roundabout (``junction=roundabout`` or ``circular``): directions count
        its exits.
    edge_hours : (E,) int32
        Index into ``hours_rules`` of the rule of a way whose truck access changes with the
        time (``network.hours``: ``way_rule``, JSON), 0 ("") for the others. Such a way
        is local-only (``edge_local``): no through traffic at any hour, so only its places'
        visits are timed by it.
    hours_rules : (R,) str
        The distinct rules, ``""`` first (a city has a few dozen: one string each, not one
        per edge).
    geom_offset : (E + 1,) int64
        Edge ``e`` has vertices ``geom_lon[geom_offset[e]:geom_offset[e + 1]]`` (tail to head).
    geom_lon, geom_lat : float64
        Concatenated edge geometries, WGS84 degrees.
    """

    node_osmid: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_osmid: np.ndarray
    edge_highway: np.ndarray
    edge_name: np.ndarray
    edge_oneway: np.ndarray
    edge_reversed: np.ndarray
    edge_length_m: np.ndarray
    edge_speed_kph: np.ndarray
    edge_time_s: np.ndarray
    edge_local: np.ndarray
    edge_roundabout: np.ndarray
    edge_hours: np.ndarray
    hours_rules: np.ndarray
    geom_offset: np.ndarray
    geom_lon: np.ndarray
    geom_lat: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_lon)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.edge_u)

    @property
    def timed_edges(self) -> np.ndarray:
        """(E,) bool: the edges of ways whose truck access changes with the time."""
        return np.asarray(self.edge_hours > 0)

    def rule_of(self, e: int) -> str:
        """The rule of edge ``e``'s way (``network.hours``), "" for an untimed one."""
        return str(self.hours_rules[self.edge_hours[e]])

    def edge_coords(self, e: int) -> list[tuple[float, float]]:
        """Vertices (lon, lat) of edge ``e`` from tail to head."""
        a, b = int(self.geom_offset[e]), int(self.geom_offset[e + 1])
        return list(zip(self.geom_lon[a:b].tolist(), self.geom_lat[a:b].tolist(), strict=True))

    def street_label(self, e: int) -> str:
        """Edge ``e``'s street for a message: "'Name' (class, OSM way id)", or "an unnamed
        class street (OSM way id)" (no way id when unknown, below 0)."""
        name, highway, way = str(self.edge_name[e]), str(self.edge_highway[e]), self.edge_osmid[e]
        osm = [f"OSM way {way}"] if way >= 0 else []
        if name:
            return f"{name!r} ({', '.join([highway, *osm])})"
        return f"an unnamed {highway} street" + (f" ({osm[0]})" if osm else "")

    def equals(self, other: EdgeTable) -> bool:
        """True when every array is identical."""
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)
        )

    def save(self, path: Path, *, cut_off: EdgeTable | None = None) -> None:
        """Write the table to an uncompressed ``.npz`` (loads in milliseconds), with the
        streets ``cut_off`` from it (:func:`split_strong_component`) when given
        (:meth:`load_cut_off` reads them)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f.name: getattr(self, f.name) for f in fields(self)}
        if cut_off is not None:
            arrays |= {CUT_OFF_PREFIX + f.name: getattr(cut_off, f.name) for f in fields(cut_off)}
        # a name of its own per writer: two processes building one cache each rename theirs
        tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp.npz")
        try:
            np.savez(tmp, **arrays)
            tmp.replace(path)
        except OSError:  # a full disk: no half-written file left behind
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> EdgeTable:
        """Read a table written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            return cls(**{f.name: data[f.name] for f in fields(cls)})

    @classmethod
    def load_cut_off(cls, path: Path) -> EdgeTable | None:
        """The streets cut off from the table :meth:`save` wrote to ``path``, or None when
        it wrote none."""
        with np.load(path, allow_pickle=False) as data:
            if CUT_OFF_PREFIX + "edge_u" not in data.files:
                return None
            return cls(**{f.name: data[CUT_OFF_PREFIX + f.name] for f in fields(cls)})


def street_edges(table: EdgeTable) -> np.ndarray:
    """Boolean mask of the edges that are street pieces, not connectors
    (``CONNECTOR_HIGHWAY``)."""
    return np.asarray(table.edge_highway != CONNECTOR_HIGHWAY)


def ends_of(table: EdgeTable, edges: np.ndarray) -> np.ndarray:
    """Boolean node mask: the nodes at an end (tail or head) of the edges in the boolean
    edge mask ``edges``."""
    at = np.zeros(table.n_nodes, dtype=bool)
    at[table.edge_u[edges]] = at[table.edge_v[edges]] = True
    return at


def with_connectors(
    table: EdgeTable,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    copies: Sequence[tuple[int, int]],
    links: Sequence[tuple[int, int, int, bool]],
) -> EdgeTable:
    """``table`` with its edges re-pointed (``edge_u``, ``edge_v``), new nodes and
    connectors appended (``network.turns``, ``network.zones``).

    Parameters
    ----------
    copies : sequence of (osm id, node index)
        One new node each, at the place of the node it copies.
    links : sequence of (tail, head, edge, entering)
        One connector each between node indices (new ones numbered after the table's, in
        ``copies`` order), at its tail's place; driven at ``edge``'s speed (0 m, 0 s), and
        ``entering`` local-only streets (``edge_local``) or not.
    """
    new = np.array(copies, dtype=np.int64).reshape(-1, 2)
    conn = np.array([link[:3] for link in links], dtype=np.int64).reshape(-1, 3)
    k = len(conn)
    node_lon = np.concatenate([table.node_lon, table.node_lon[new[:, 1]]])
    node_lat = np.concatenate([table.node_lat, table.node_lat[new[:, 1]]])
    return EdgeTable(
        node_osmid=np.concatenate([table.node_osmid, new[:, 0]]),
        node_lon=node_lon,
        node_lat=node_lat,
        edge_u=np.concatenate([edge_u, conn[:, 0]]),
        edge_v=np.concatenate([edge_v, conn[:, 1]]),
        edge_osmid=np.concatenate([table.edge_osmid, np.full(k, -1, dtype=np.int64)]),
        edge_highway=np.concatenate([table.edge_highway, np.full(k, CONNECTOR_HIGHWAY)]),
        edge_name=np.concatenate([table.edge_name, np.full(k, "")]),
        edge_oneway=np.concatenate([table.edge_oneway, np.ones(k, dtype=bool)]),
        edge_reversed=np.concatenate([table.edge_reversed, np.zeros(k, dtype=bool)]),
        edge_length_m=np.concatenate([table.edge_length_m, np.zeros(k)]),
        edge_speed_kph=np.concatenate([table.edge_speed_kph, table.edge_speed_kph[conn[:, 2]]]),
        edge_time_s=np.concatenate([table.edge_time_s, np.zeros(k)]),
        edge_local=np.concatenate([table.edge_local, [bool(link[3]) for link in links]]).astype(
            bool
        ),
        edge_roundabout=np.concatenate([table.edge_roundabout, np.zeros(k, dtype=bool)]),
        edge_hours=np.concatenate([table.edge_hours, np.zeros(k, dtype=np.int32)]),
        hours_rules=table.hours_rules,
        geom_offset=np.concatenate(
            [table.geom_offset, table.geom_offset[-1] + 2 * np.arange(1, k + 1)]
        ),
        geom_lon=np.concatenate([table.geom_lon, np.repeat(node_lon[conn[:, 0]], 2)]),
        geom_lat=np.concatenate([table.geom_lat, np.repeat(node_lat[conn[:, 0]], 2)]),
    )


def take_edges(table: EdgeTable, keep_nodes: np.ndarray) -> EdgeTable:
    """Sub-table induced by a boolean node mask (edges with both ends kept), re-indexed."""
    return _take(table, keep_nodes, keep_nodes[table.edge_u] & keep_nodes[table.edge_v])


def _take(table: EdgeTable, keep_nodes: np.ndarray, keep_e: np.ndarray) -> EdgeTable:
    """Sub-table of the edges ``keep_e`` (their ends all in ``keep_nodes``), re-indexed."""
    new_index = np.cumsum(keep_nodes) - 1
    starts, ends = table.geom_offset[:-1][keep_e], table.geom_offset[1:][keep_e]
    lengths = ends - starts
    offset = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    gidx = np.repeat(starts - offset[:-1], lengths) + np.arange(offset[-1])
    return EdgeTable(
        node_osmid=table.node_osmid[keep_nodes],
        node_lon=table.node_lon[keep_nodes],
        node_lat=table.node_lat[keep_nodes],
        edge_u=new_index[table.edge_u[keep_e]],
        edge_v=new_index[table.edge_v[keep_e]],
        edge_osmid=table.edge_osmid[keep_e],
        edge_highway=table.edge_highway[keep_e],
        edge_name=table.edge_name[keep_e],
        edge_oneway=table.edge_oneway[keep_e],
        edge_reversed=table.edge_reversed[keep_e],
        edge_length_m=table.edge_length_m[keep_e],
        edge_speed_kph=table.edge_speed_kph[keep_e],
        edge_time_s=table.edge_time_s[keep_e],
        edge_local=table.edge_local[keep_e],
        edge_roundabout=table.edge_roundabout[keep_e],
        edge_hours=table.edge_hours[keep_e],
        hours_rules=table.hours_rules,
        geom_offset=offset,
        geom_lon=table.geom_lon[gidx],
        geom_lat=table.geom_lat[gidx],
    )


def largest_strong_component(table: EdgeTable, source: str) -> EdgeTable:
    """Keep the largest strongly connected component (so every node reaches every other).

    Raises
    ------
    NetworkError
        When the table has no edges; the message names ``source``.
    """
    return split_strong_component(table, source)[0]


def split_strong_component(table: EdgeTable, source: str) -> tuple[EdgeTable, EdgeTable]:
    """The largest strongly connected component (every node reaches every other), and the
    streets cut off from it: every other edge, an island of streets behind a bollard or a
    one-way street no truck leaves once in (the second table may have no edges).

    Raises
    ------
    NetworkError
        When the table has no edges; the message names ``source``.
    """
    if table.n_edges == 0:
        raise NetworkError(f"{source}: no drivable streets found; check the file and area")
    n = table.n_nodes
    adj = sparse.csr_array((np.ones(table.n_edges), (table.edge_u, table.edge_v)), shape=(n, n))
    _, labels = csgraph.connected_components(adj, directed=True, connection="strong")
    main = labels == np.bincount(labels).argmax()
    rest_e = ~(main[table.edge_u] & main[table.edge_v])
    rest_nodes = np.zeros(n, dtype=bool)
    rest_nodes[table.edge_u[rest_e]] = rest_nodes[table.edge_v[rest_e]] = True
    return take_edges(table, main), _take(table, rest_nodes, rest_e)


def indexed_rules(per_edge: Sequence[str]) -> dict[str, np.ndarray]:
    """``edge_hours`` and ``hours_rules`` of an EdgeTable from each edge's rule ("" for
    none): the distinct rules once, "" first, and each edge's index among them."""
    rules = ["", *sorted({r for r in per_edge if r})]
    index = {r: i for i, r in enumerate(rules)}
    return {
        "edge_hours": np.array([index[r] for r in per_edge], dtype=np.int32),
        "hours_rules": np.array(rules, dtype=np.str_),
    }
