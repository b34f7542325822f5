"""EdgeTable <-> networkx: an osmnx-compatible MultiDiGraph of a table
(:func:`graph_from_table`), and a table of an osmnx-style graph (:func:`table_from_graph`)."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from network.errors import NetworkError
from network.table import EdgeTable, indexed_rules


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
