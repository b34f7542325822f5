"""Streets through osmnx: an OSM XML file, or a place name or bbox downloaded from the
Overpass API (with its turn restrictions), read under the .pbf reader's truck rules
(:mod:`network.osm`) and prepared as an edge table (:mod:`network.graph` caches it)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import networkx as nx

from network.errors import NetworkError
from network.hours import way_rule
from network.speeds import (
    DRIVABLE_HIGHWAYS,
    LIMIT_TAGS,
    NODE_TAGS,
    ONEWAY_BACKWARD,
    SPEED_TAGS,
    TIMED_HIGHWAYS,
    WAY_TAGS,
    GraphSettings,
    blocks_trucks,
    is_roundabout,
    local_only,
    oneway_direction,
    street_name,
    way_kph,
)
from network.table import EdgeTable
from network.table_nx import table_from_graph
from network.turns import Relation


def from_xml(path: Path, settings: GraphSettings) -> EdgeTable:
    import osmnx as ox

    if not path.is_file():
        raise NetworkError(f"{path}: no such OSM file")
    try:
        with _truck_tags(ox):
            graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
        backward = _backward_ways(path)
    except Exception as exc:  # osmnx/xml raise many types on bad input
        raise NetworkError(f"{path}: cannot read as OSM XML ({exc})") from exc
    return _prepare_unsimplified(_mark_backward(graph, backward), settings, str(path))


def _backward_ways(path: Path) -> set[int]:
    """Ids of the ways of an OSM XML file tagged one-way against their node order
    (``oneway=-1`` or ``reverse``, ``speeds.ONEWAY_BACKWARD``, as osmnx spells them)."""
    from xml.etree import ElementTree

    ids: set[int] = set()
    for _, element in ElementTree.iterparse(path):
        if element.tag == "way" and any(
            tag.get("k") == "oneway" and tag.get("v") in ONEWAY_BACKWARD
            for tag in element.iter("tag")
        ):
            ids.add(int(element.get("id", "0")))
        if element.tag in ("node", "way", "relation"):
            element.clear()
    return ids


def _mark_backward(graph: nx.MultiDiGraph, ways: set[int]) -> nx.MultiDiGraph:
    """``graph`` (osmnx's, unsimplified) with the one-way edges of ``ways`` marked
    ``reversed``: osmnx reverses the nodes of a way one-way against their order and keeps
    no ``oneway=-1``, so its edges read as running along the way (not reversed, at its
    ``maxspeed:forward``); the .pbf reader marks them reversed and reads ``:backward``."""
    for _, _, data in graph.edges(data=True):
        if data.get("oneway") is True and _first(data.get("osmid")) in ways:
            data["reversed"] = True
    return graph


def _prepare_unsimplified(
    graph: nx.MultiDiGraph, settings: GraphSettings, source: str
) -> EdgeTable:
    """An unsimplified osmnx graph (a file's or a download's) under the .pbf reader's rules:
    non-truck and wrong-way edges dropped, barriers cut, then simplified and prepared."""
    import osmnx as ox

    graph = _cut_barriers(_drop_non_truck(graph, settings, source), settings)
    # split at way ends too (edge_attrs_differ), as the .pbf reader does
    graph = ox.simplify_graph(graph, edge_attrs_differ=["osmid"])
    return osmnx_streets(graph, settings, source)


@contextlib.contextmanager
def _truck_tags(ox: Any) -> Iterator[None]:
    """osmnx keeps the way and node tags the truck rules read (``WAY_TAGS``: ``hgv``,
    ``vehicle``...; ``NODE_TAGS``: ``barrier``, access and limits) while it builds a graph;
    it keeps only its ``useful_tags_way`` and ``useful_tags_node`` otherwise."""
    saved = ox.settings.useful_tags_way, ox.settings.useful_tags_node
    ox.settings.useful_tags_way = list(dict.fromkeys([*saved[0], *WAY_TAGS]))
    ox.settings.useful_tags_node = list(dict.fromkeys([*saved[1], *NODE_TAGS]))
    try:
        yield
    finally:
        ox.settings.useful_tags_way, ox.settings.useful_tags_node = saved


def _drop_non_truck(graph: nx.MultiDiGraph, settings: GraphSettings, source: str) -> Any:
    """Drop the edges of ways no truck may use, and the backward edges of ways one-way by
    the .pbf reader's rules that osmnx reads as two-way (a motorway, ``junction=circular``;
    osmnx keeps no ``oneway`` tag, only whether it made the way one-way, so an explicit
    ``oneway=no`` on a motorway is read as one-way here)."""
    drop = []
    today = date.today()
    for u, v, k, data in graph.edges(keys=True, data=True):
        tags = {key: val for key, val in _edge_tags(data).items() if key != "oneway"}
        two_way = not data.get("oneway", False)
        backward = two_way and bool(_first(data.get("reversed"))) and oneway_direction(tags) == 1
        if backward or way_rule(tags, settings, today) is None:
            drop.append((u, v, k))
    graph = graph.copy()
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    if graph.number_of_edges() == 0:
        raise NetworkError(f"{source}: no drivable streets found; check the file and area")
    return graph


def _cut_barriers(graph: nx.MultiDiGraph, settings: GraphSettings) -> nx.MultiDiGraph:
    """The unsimplified graph with each barrier node no truck passes
    (``speeds.blocks_trucks``) split into one dead end per neighbour (new negative ids), as
    the .pbf reader cuts ways there, so no path runs through it."""
    blocked = [
        node
        for node, data in graph.nodes(data=True)
        if blocks_trucks({k: _first(data[k]) for k in NODE_TAGS if k in data}, settings)
    ]
    cuts = itertools.count(min(0, *graph.nodes) - 1, -1)
    for node in blocked:
        place = {"x": graph.nodes[node]["x"], "y": graph.nodes[node]["y"]}
        for other in (set(graph.predecessors(node)) | set(graph.successors(node))) - {node}:
            end = next(cuts)
            graph.add_node(end, **place)
            for data in (graph.get_edge_data(other, node) or {}).values():
                graph.add_edge(other, end, **data)
            for data in (graph.get_edge_data(node, other) or {}).values():
                graph.add_edge(end, other, **data)
        graph.remove_node(node)
    return graph


# The ways a download asks Overpass for: every street class the truck rules may drive
# (``DRIVABLE_HIGHWAYS``, ``TIMED_HIGHWAYS``), whatever its access tags, which those rules
# read as they read a file's. osmnx's "drive" filter left out every ``highway=service``
# way (a depot's or a disposal site's yard road), pedestrian zones open to deliveries at
# some hours, and ways with ``access=private`` or ``motor_vehicle=no`` that a conditional
# tag or ``hgv=yes`` opens.
DOWNLOAD_FILTER = (
    f'["highway"~"^({"|".join(sorted(DRIVABLE_HIGHWAYS | TIMED_HIGHWAYS))})$"]["area"!~"yes"]'
)


def download_streets(source: Any, settings: GraphSettings) -> EdgeTable:
    """A place name or bbox downloaded by osmnx (the ways of :data:`DOWNLOAD_FILTER`),
    unsimplified so that it gets the same rules as a file (:func:`_prepare_unsimplified`):
    osmnx reads an untagged motorway as two-way and its simplifying would merge a bollard's
    node away."""
    import osmnx as ox

    if isinstance(source, tuple) and len(source) == 4:
        west, south, east, north = (float(x) for x in source)
        with _truck_tags(ox):
            graph = ox.graph_from_bbox(
                (west, south, east, north),
                network_type="drive",  # one-way streets one way (the filter is ours)
                custom_filter=DOWNLOAD_FILTER,
                simplify=False,
                retain_all=True,
            )
    elif isinstance(source, str) and source.strip():
        with _truck_tags(ox):
            graph = ox.graph_from_place(
                source,
                network_type="drive",
                custom_filter=DOWNLOAD_FILTER,
                simplify=False,
                retain_all=True,
            )
    else:
        raise NetworkError(
            f"source {source!r} is neither an OSM file, a place name nor a "
            "(west, south, east, north) bbox"
        )
    return _prepare_unsimplified(graph, settings, repr(source))


def download_restrictions(bbox: tuple[float, float, float, float]) -> list[Relation]:
    """The ``type=restriction`` relations in ``bbox`` (west, south, east, north; degrees)
    as (id, tags, members) (a member's type its first letter, as pyosmium's), from the
    Overpass API osmnx is set to use (``osmnx.settings.overpass_url``, its pauses and
    response cache).

    Raises
    ------
    NetworkError
        The Overpass API could not be reached or answered in error.
    """
    from collections import OrderedDict

    from osmnx import _overpass

    west, south, east, north = bbox
    query = (
        f"{_overpass._make_overpass_settings()};"
        f'relation["type"="restriction"]({south:.6f},{west:.6f},{north:.6f},{east:.6f});out body;'
    )
    try:
        answer = _overpass._overpass_request(OrderedDict(data=query))
    except Exception as exc:  # requests' and osmnx's errors: the download failed
        raise NetworkError(
            f"the turn restrictions of the downloaded area could not be downloaded ({exc}); "
            "try again, or load the city without them (GraphSettings(turn_restrictions=False))"
        ) from exc
    return [
        (
            int(e["id"]),
            {str(k): str(v) for k, v in e.get("tags", {}).items()},
            [(str(m["type"])[:1], int(m["ref"]), str(m.get("role", ""))) for m in e["members"]],
        )
        for e in answer.get("elements", [])
        if e.get("type") == "relation" and e.get("members")
    ]


def osmnx_streets(graph: nx.MultiDiGraph, settings: GraphSettings, source: str) -> EdgeTable:
    """:func:`prepare_osmnx_graph` keeping every street, also those cut off."""
    graph = graph.copy()
    drop = []
    today = date.today()  # a timed way's access is read for the week from today
    for u, v, k, data in graph.edges(keys=True, data=True):
        tags = _edge_tags(data)
        rule = way_rule(tags, settings, today)
        if rule is None:
            drop.append((u, v, k))
            continue
        speed_tags = {
            k: _joined(data[k]) for k in SPEED_TAGS if isinstance(data.get(k), str | list)
        }
        backward = bool(_first(data.get("reversed")))
        data["speed_kph"] = way_kph(
            {**speed_tags, "highway": tags["highway"]}, settings, backward=backward
        )
        data["travel_time"] = float(data["length"]) / (data["speed_kph"] / 3.6)
        data["local"] = local_only(tags, settings) or bool(rule)
        data["name"] = street_name(tags)
        data["roundabout"] = is_roundabout(tags)
        data["hours"] = rule
    graph.remove_edges_from(drop)
    if graph.number_of_edges() == 0:
        raise NetworkError(f"{source}: no drivable streets found; check the file and area")
    return table_from_graph(graph)


def _edge_tags(data: Mapping[str, Any]) -> dict[str, str]:
    """An osmnx edge's tags for the truck rules: the first value of a list osmnx merged
    (the ways of a simplified edge), but every merged way's height and weight limit
    (``LIMIT_TAGS``: the tightest holds). A ``maxweight:conditional`` lifts the weight
    limits as its first value does."""
    tags = {key: _first(val) for key, val in data.items() if isinstance(val, str | list)}
    tags.update({k: _joined(data[k]) for k in LIMIT_TAGS if isinstance(data.get(k), str | list)})
    return tags


def _joined(value: str | list[str]) -> str:
    """A tag osmnx merged into a list (the ways of a simplified edge) as one ``;`` list."""
    return ";".join(value) if isinstance(value, list) else value


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value
