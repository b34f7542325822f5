"""OpenStreetMap .pbf reading with pyosmium (the only module that imports osmium)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from network.errors import NetworkError
from network.hours import way_rule
from network.speeds import (
    DEFAULT_SETTINGS,
    LIMIT_TAGS,
    NODE_TAGS,
    WAY_TAGS,
    GraphSettings,
    blocks_trucks,
    is_roundabout,
    local_only,
    oneway_direction,
    street_name,
    way_kph,
)
from network.table import EdgeTable, haversine_m, indexed_rules, largest_strong_component
from network.turns import TurnRestriction, restrictions_of

WASTE_AMENITIES = ("waste_basket", "waste_disposal", "recycling")
# node ids of the street ends cut at a barrier, counting down from here: below any OSM
# node's, and any an editor gives the nodes it draws (JOSM counts down from -1)
CUT_ID_START = -(2**40)


@dataclass(frozen=True, slots=True, kw_only=True)
class WasteFeature:
    """An OSM waste node (a bin site for demos).

    Attributes
    ----------
    osm_id : int
    kind : str
        ``"waste_basket"``, ``"waste_disposal"`` or ``"recycling"``.
    lon, lat : float
        WGS84 degrees.
    name : str
        ``name`` tag or ``""``.
    """

    osm_id: int
    kind: str
    lon: float
    lat: float
    name: str


@dataclass(slots=True)
class _Ways:
    """Kept ways, flattened: one row per way node."""

    refs: list[np.ndarray]
    lons: list[np.ndarray]
    lats: list[np.ndarray]
    osmid: list[int]
    highway: list[str]
    name: list[str]
    direction: list[int]
    kph: list[float]  # along the way's node order
    kph_back: list[float]  # against it
    local: list[bool]  # open to trucks only to reach a place on it
    roundabout: list[bool]  # junction=roundabout / circular
    hours: list[str]  # the rule of a way whose truck access changes with the time, or ""


def _open(path: Path, entities: Any) -> Any:
    import osmium

    if not path.is_file():
        raise NetworkError(f"{path}: no such OSM file")
    try:
        return osmium.FileProcessor(str(path), entities)
    except Exception as exc:  # osmium raises plain RuntimeError on bad input
        raise NetworkError(f"{path}: cannot read as OSM ({exc})") from exc


def _read_ways(path: Path, settings: GraphSettings) -> _Ways:
    import osmium

    fp = (
        _open(path, osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("highway", "barrier", *LIMIT_TAGS))
    )
    today = date.today()  # a timed way's access is read for the week from today
    ways = _Ways([], [], [], [], [], [], [], [], [], [], [], [])
    blocked: set[int] = set()  # barrier nodes no truck passes (nodes come before ways)
    cuts = itertools.count(CUT_ID_START, -1)  # ids of the two sides of a barrier
    try:
        for obj in fp:
            if obj.is_node():
                node_tags = {k: obj.tags.get(k) for k in NODE_TAGS if k in obj.tags}
                if blocks_trucks(node_tags, settings):
                    blocked.add(obj.id)
                continue
            if not obj.is_way():
                continue
            tags = {k: obj.tags.get(k) for k in WAY_TAGS if k in obj.tags}
            rule = way_rule(tags, settings, today)
            if rule is None or len(obj.nodes) < 2:
                continue
            nodes = [(n.ref, n.lon, n.lat) if n.location.valid() else None for n in obj.nodes]
            for piece in _pieces(nodes, blocked, cuts):
                arr = np.array(piece, dtype=np.float64)
                ways.refs.append(np.array([n[0] for n in piece], dtype=np.int64))
                ways.lons.append(arr[:, 1])
                ways.lats.append(arr[:, 2])
                ways.osmid.append(obj.id)
                ways.highway.append(tags["highway"])
                ways.name.append(street_name(tags))
                ways.direction.append(oneway_direction(tags))
                ways.kph.append(way_kph(tags, settings))
                ways.kph_back.append(way_kph(tags, settings, backward=True))
                ways.local.append(local_only(tags, settings) or bool(rule))
                ways.roundabout.append(is_roundabout(tags))
                ways.hours.append(rule)
    except RuntimeError as exc:
        raise NetworkError(f"{path}: cannot read as OSM ({exc})") from exc
    return ways


def _per_edge_rules(per_way: list[str], pw: np.ndarray) -> dict[str, np.ndarray]:
    """``edge_hours`` and ``hours_rules`` of the edges of ways ``pw`` (:func:`indexed_rules`)."""
    found = indexed_rules(per_way)
    return {"edge_hours": found["edge_hours"][pw], "hours_rules": found["hours_rules"]}


def _pieces(
    nodes: list[tuple[int, float, float] | None], blocked: set[int], cuts: Iterator[int]
) -> list[list[tuple[int, float, float]]]:
    """A way's nodes (None: a node not in the file) as the pieces a truck drives (at least
    two nodes each). A node not in the file (an extract cut without complete ways) ends the
    piece before it, so no straight line is drawn over it; each blocked barrier node ends the
    piece before it and starts the one after it as two distinct dead ends (new ids from
    ``cuts``), so no path runs through it."""
    pieces: list[list[tuple[int, float, float]]] = []
    piece: list[tuple[int, float, float]] = []
    for node in nodes:
        if node is None:
            pieces.append(piece)
            piece = []
            continue
        ref, lon, lat = node
        if ref not in blocked:
            piece.append((ref, lon, lat))
            continue
        if piece:
            piece.append((next(cuts), lon, lat))
            pieces.append(piece)
        piece = [(next(cuts), lon, lat)]
    pieces.append(piece)
    return [p for p in pieces if len(p) >= 2]


def read_pbf(path: Path, settings: GraphSettings = DEFAULT_SETTINGS) -> EdgeTable:
    """Drivable truck streets of an OSM file as an EdgeTable (largest strongly connected part).

    Ways are split at intersections (nodes shared by two ways, or used twice) so that edges
    run between intersections with intermediate vertices in the geometry (like osmnx
    ``simplify``). A barrier node no truck passes (``speeds.blocks_trucks``: a bollard, a
    private gate) cuts its ways: the streets on either side end there, each at a node of
    its own with an id from ``CUT_ID_START`` down. A way's node missing from the file
    (outside an extract cut without complete ways) cuts it too, leaving the gap undriven.

    Raises
    ------
    NetworkError
        Unreadable file or no drivable ways; the message names the file.
    """
    return largest_strong_component(read_pbf_streets(path, settings), str(path))


def read_pbf_streets(path: Path, settings: GraphSettings = DEFAULT_SETTINGS) -> EdgeTable:
    """Like :func:`read_pbf` but every drivable truck street, also those cut off from the
    largest strongly connected part (``table.split_strong_component`` parts them)."""
    ways = _read_ways(path, settings)
    if not ways.refs:
        raise NetworkError(f"{path}: no drivable streets found; check the file and area")
    return _split_ways(ways)


def _split_ways(ways: _Ways) -> EdgeTable:
    refs = np.concatenate(ways.refs)
    lons, lats = np.concatenate(ways.lons), np.concatenate(ways.lats)
    sizes = np.array([len(r) for r in ways.refs])
    way_of = np.repeat(np.arange(len(sizes)), sizes)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    uniq, inverse, counts = np.unique(refs, return_inverse=True, return_counts=True)
    split = counts[inverse] >= 2
    split[starts] = True
    split[ends - 1] = True
    seg = np.zeros(len(refs))
    seg[1:] = haversine_m(lons[:-1], lats[:-1], lons[1:], lats[1:])
    seg[starts] = 0.0
    cum = np.cumsum(seg)
    sp = np.flatnonzero(split)
    same_way = way_of[sp[:-1]] == way_of[sp[1:]]
    a, b = sp[:-1][same_way], sp[1:][same_way]
    piece_way = way_of[a]
    used = np.unique(inverse[split])
    node_index = np.full(len(uniq), -1, dtype=np.int64)
    node_index[used] = np.arange(len(used))
    first_pos = np.zeros(len(uniq), dtype=np.int64)
    first_pos[inverse[::-1]] = np.arange(len(refs))[::-1]
    return _directed_table(
        ways, a, b, piece_way, cum, node_index[inverse], lons, lats, uniq[used], first_pos[used]
    )


def _directed_table(
    ways: _Ways,
    a: np.ndarray,
    b: np.ndarray,
    piece_way: np.ndarray,
    cum: np.ndarray,
    node_at: np.ndarray,
    lons: np.ndarray,
    lats: np.ndarray,
    node_osmid: np.ndarray,
    node_pos: np.ndarray,
) -> EdgeTable:
    direction = np.array(ways.direction)[piece_way]
    fwd = direction >= 0
    bwd = direction <= 0
    # directed edges: forward pieces then backward pieces
    tail = np.concatenate([a[fwd], b[bwd]])
    head = np.concatenate([b[fwd], a[bwd]])
    pw = np.concatenate([piece_way[fwd], piece_way[bwd]])
    is_rev = np.concatenate([np.zeros(fwd.sum(), bool), np.ones(bwd.sum(), bool)])
    length = np.abs(cum[head] - cum[tail])
    kph = np.where(is_rev, np.array(ways.kph_back)[pw], np.array(ways.kph)[pw])
    npts = np.abs(head - tail) + 1
    offset = np.concatenate([[0], np.cumsum(npts)]).astype(np.int64)
    step = np.where(is_rev, -1, 1)
    local = np.arange(offset[-1]) - np.repeat(offset[:-1], npts)
    gidx = np.repeat(tail, npts) + np.repeat(step, npts) * local
    return EdgeTable(
        node_osmid=node_osmid,
        node_lon=lons[node_pos],
        node_lat=lats[node_pos],
        edge_u=node_at[tail],
        edge_v=node_at[head],
        edge_osmid=np.array(ways.osmid, dtype=np.int64)[pw],
        edge_highway=np.array(ways.highway, dtype=np.str_)[pw],
        edge_name=np.array(ways.name, dtype=np.str_)[pw],
        edge_oneway=(np.array(ways.direction) != 0)[pw],
        edge_reversed=is_rev,
        edge_length_m=length,
        edge_speed_kph=kph,
        edge_time_s=length / (kph / 3.6),
        edge_local=np.array(ways.local, dtype=bool)[pw],
        edge_roundabout=np.array(ways.roundabout, dtype=bool)[pw],
        **_per_edge_rules(ways.hours, pw),
        geom_offset=offset,
        geom_lon=lons[gidx],
        geom_lat=lats[gidx],
    )


def read_turn_restrictions(
    path: Path, settings: GraphSettings = DEFAULT_SETTINGS
) -> tuple[list[TurnRestriction], int]:
    """The turn restrictions of an OSM file (.pbf or .osm XML) that bind a waste truck
    (``speeds.truck_restriction``), and how many were left out for turning through a way
    (a ``via`` way, not a node: not read).

    A relation without a ``from``, ``via`` or ``to`` member is left out as incomplete (an
    extract cut through it).

    Raises
    ------
    NetworkError
        Unreadable file; the message names it.
    """
    import osmium

    fp = _open(Path(path), osmium.osm.RELATION).with_filter(
        osmium.filter.TagFilter(("type", "restriction"))
    )
    relations = (
        (rel.id, {t.k: t.v for t in rel.tags}, [(m.type, m.ref, m.role) for m in rel.members])
        for rel in fp
    )
    try:
        return restrictions_of(relations, settings)
    except RuntimeError as exc:
        raise NetworkError(f"{path}: cannot read as OSM ({exc})") from exc


def waste_features(pbf_path: Path) -> list[WasteFeature]:
    """OSM nodes tagged ``amenity=waste_basket|waste_disposal|recycling``, in file order."""
    import osmium

    fp = _open(Path(pbf_path), osmium.osm.NODE).with_filter(
        osmium.filter.TagFilter(*(("amenity", k) for k in WASTE_AMENITIES))
    )
    return [
        WasteFeature(
            osm_id=node.id,
            kind=node.tags["amenity"],
            lon=node.location.lon,
            lat=node.location.lat,
            name=node.tags.get("name", ""),
        )
        for node in fp
        if node.location.valid()
    ]
