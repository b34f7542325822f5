"""EdgeTable: a prepared street graph as flat NumPy arrays (cacheable, convertible to networkx)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import networkx as nx
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


def graph_from_table(table: EdgeTable) -> nx.MultiDiGraph:
    """osmnx-compatible MultiDiGraph (crs epsg:4326, node x=lon/y=lat, edge geometry LineString)."""
    import shapely

    graph = nx.MultiDiGraph(crs="epsg:4326", simplified=True)
    osmids = table.node_osmid.tolist()
    graph.add_nodes_from(
        (osm, {"x": x, "y": y})
        for osm, x, y in zip(osmids, table.node_lon.tolist(), table.node_lat.tolist(), strict=True)
    )
    counts = np.diff(table.geom_offset)
    lines = shapely.linestrings(
        np.column_stack([table.geom_lon, table.geom_lat]),
        indices=np.repeat(np.arange(table.n_edges), counts),
    )
    columns = zip(
        table.edge_u.tolist(),
        table.edge_v.tolist(),
        table.edge_osmid.tolist(),
        table.edge_highway.tolist(),
        table.edge_name.tolist(),
        table.edge_oneway.tolist(),
        table.edge_reversed.tolist(),
        table.edge_length_m.tolist(),
        table.edge_speed_kph.tolist(),
        table.edge_time_s.tolist(),
        table.edge_local.tolist(),
        table.edge_roundabout.tolist(),
        table.hours_rules[table.edge_hours].tolist(),
        lines,
        strict=True,
    )
    graph.add_edges_from(
        (
            osmids[u],
            osmids[v],
            {
                "osmid": osm,
                "highway": hw,
                "name": name,
                "oneway": ow,
                "reversed": rev,
                "length": length,
                "speed_kph": kph,
                "travel_time": tt,
                "local": local,
                "roundabout": roundabout,
                "hours": hours,
                "geometry": line,
            },
        )
        for u, v, osm, hw, name, ow, rev, length, kph, tt, local, roundabout, hours, line in columns
    )
    return graph


def table_from_graph(graph: nx.MultiDiGraph) -> EdgeTable:
    """EdgeTable from an osmnx-style graph (needs node x/y and edge length/travel_time).

    Missing ``geometry`` means a straight segment; missing ``speed_kph`` is derived from
    ``length`` and ``travel_time``; missing ``local`` is False (through traffic allowed).
    List-valued attributes (osmnx merges) take the first item.
    """
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    lon = np.array([graph.nodes[n]["x"] for n in nodes], dtype=np.float64)
    lat = np.array([graph.nodes[n]["y"] for n in nodes], dtype=np.float64)
    keys = ("u", "v", "osmid", "hw", "name", "ow", "rev", "local", "roundabout", "hours")
    cols: dict[str, list[Any]] = {k: [] for k in keys}
    nums: dict[str, list[float]] = {"len": [], "tt": [], "kph": []}
    glon: list[float] = []
    glat: list[float] = []
    offset = [0]
    for u, v, data in graph.edges(data=True):
        coords = _edge_geometry(
            data, (lon[index[u]], lat[index[u]]), (lon[index[v]], lat[index[v]])
        )
        glon.extend(c[0] for c in coords)
        glat.extend(c[1] for c in coords)
        offset.append(len(glon))
        _append_edge(cols, nums, index[u], index[v], data)
    return EdgeTable(
        node_osmid=np.array([n if isinstance(n, int) else i for i, n in enumerate(nodes)]),
        node_lon=lon,
        node_lat=lat,
        edge_u=np.array(cols["u"], dtype=np.int64),
        edge_v=np.array(cols["v"], dtype=np.int64),
        edge_osmid=np.array(cols["osmid"], dtype=np.int64),
        edge_highway=np.array(cols["hw"], dtype=np.str_),
        edge_name=np.array(cols["name"], dtype=np.str_),
        edge_oneway=np.array(cols["ow"], dtype=bool),
        edge_reversed=np.array(cols["rev"], dtype=bool),
        edge_length_m=np.array(nums["len"], dtype=np.float64),
        edge_speed_kph=np.array(nums["kph"], dtype=np.float64),
        edge_time_s=np.array(nums["tt"], dtype=np.float64),
        edge_local=np.array(cols["local"], dtype=bool),
        edge_roundabout=np.array(cols["roundabout"], dtype=bool),
        **indexed_rules(cols["hours"]),
        geom_offset=np.array(offset, dtype=np.int64),
        geom_lon=np.array(glon, dtype=np.float64),
        geom_lat=np.array(glat, dtype=np.float64),
    )


def indexed_rules(per_edge: Sequence[str]) -> dict[str, np.ndarray]:
    """``edge_hours`` and ``hours_rules`` of an EdgeTable from each edge's rule ("" for
    none): the distinct rules once, "" first, and each edge's index among them."""
    rules = ["", *sorted({r for r in per_edge if r})]
    index = {r: i for i, r in enumerate(rules)}
    return {
        "edge_hours": np.array([index[r] for r in per_edge], dtype=np.int32),
        "hours_rules": np.array(rules, dtype=np.str_),
    }


def _first(value: Any, default: Any) -> Any:
    if isinstance(value, list):
        value = value[0] if value else default
    return default if value is None else value


def _append_edge(
    cols: dict[str, list[Any]], nums: dict[str, list[float]], u: int, v: int, data: dict[str, Any]
) -> None:
    if "length" not in data or "travel_time" not in data:
        raise NetworkError(f"edge {u}->{v} lacks 'length' or 'travel_time'; prepare the graph")
    length, time_s = float(data["length"]), float(data["travel_time"])
    cols["u"].append(u)
    cols["v"].append(v)
    osmid = data.get("osmid", -1)  # osmnx lists a merged edge's ways in any order
    cols["osmid"].append(
        int(min(osmid) if isinstance(osmid, list) and osmid else _first(osmid, -1))
    )
    cols["hw"].append(str(_first(data.get("highway"), "")))
    name = _first(data.get("name"), "")
    cols["name"].append("" if name != name else str(name))  # NaN-safe
    cols["ow"].append(bool(data.get("oneway", False)))
    cols["rev"].append(bool(_first(data.get("reversed"), False)))
    cols["local"].append(bool(data.get("local", False)))
    cols["roundabout"].append(bool(data.get("roundabout", False)))
    cols["hours"].append(str(_first(data.get("hours"), "")))
    nums["len"].append(length)
    nums["tt"].append(time_s)
    nums["kph"].append(float(data.get("speed_kph", length / time_s * 3.6 if time_s else 0.0)))


def _edge_geometry(
    data: dict[str, Any], tail: tuple[float, float], head: tuple[float, float]
) -> list[tuple[float, float]]:
    geom = data.get("geometry")
    if geom is None:
        return [tail, head]
    coords = [(float(x), float(y)) for x, y, *_ in getattr(geom, "coords", geom)]
    return coords
