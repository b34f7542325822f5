"""Fixtures for the network tests: tiny hand-built street graphs near (lon 10, lat 50)."""

from __future__ import annotations

import html
import importlib.util
import itertools
import os
from pathlib import Path

import networkx as nx
import pytest
from shapely import LineString

from network.table import haversine_m

LON0, LAT0 = 10.0, 50.0
UNIT = 0.001  # degrees per grid step
SPEED_MPS = 5.0  # every tiny street is driven at 18 km/h


# both matrix engines, for tests run on each (ch only with numba)
ENGINES = [
    "scipy",
    pytest.param(
        "ch",
        marks=pytest.mark.skipif(not importlib.util.find_spec("numba"), reason="numba"),
    ),
]


def grid(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of grid position (x, y)."""
    return (LON0 + x * UNIT, LAT0 + y * UNIT)


def polyline_m(coords: list[tuple[float, float]]) -> float:
    """Haversine length of a (lon, lat) polyline in metres."""
    return float(sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(coords)))


def add_street(
    graph: nx.MultiDiGraph,
    u: int,
    v: int,
    via: list[tuple[float, float]] = (),  # type: ignore[assignment]
    *,
    oneway: bool = False,
    osmid: int = 0,
) -> None:
    """Add a street u-v (both directions unless oneway) with optional intermediate vertices."""
    coords = [(graph.nodes[u]["x"], graph.nodes[u]["y"]), *via,
              (graph.nodes[v]["x"], graph.nodes[v]["y"])]  # fmt: skip
    length = polyline_m(coords)
    attrs = {"osmid": osmid, "highway": "residential", "name": f"street {osmid}",
             "length": length, "travel_time": length / SPEED_MPS, "oneway": oneway}  # fmt: skip
    graph.add_edge(u, v, geometry=LineString(coords), reversed=False, **attrs)
    if not oneway:
        graph.add_edge(v, u, geometry=LineString(coords[::-1]), reversed=True, **attrs)


def build_tiny_graph() -> nx.MultiDiGraph:
    """Six-node town: a bottom row A-B-C, verticals A-D and C-F, a long bent block D-F,
    and a one-way street B->D (diagonal shortcut, northbound only).

    ::

        D ~~~~~~~~~ F        (D-F: one long edge bending north through (1, 1.3))
        | \\         |
        |  \\        |
        A---B-------C
    """
    graph = nx.MultiDiGraph(crs="epsg:4326")
    for node, (x, y) in {1: (0, 0), 2: (1, 0), 3: (2, 0), 4: (0, 1), 6: (2, 1)}.items():
        lon, lat = grid(x, y)
        graph.add_node(node, x=lon, y=lat)
    add_street(graph, 1, 2, osmid=12)
    add_street(graph, 2, 3, osmid=23)
    add_street(graph, 1, 4, osmid=14)
    add_street(graph, 3, 6, osmid=36)
    add_street(graph, 4, 6, [grid(1, 1.3)], osmid=46)
    add_street(graph, 2, 4, oneway=True, osmid=24)
    return graph


def build_split_graph() -> nx.MultiDiGraph:
    """Two two-way streets far apart (no route between them)."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    for node, (x, y) in {1: (0, 0), 2: (1, 0), 3: (0, 5), 4: (1, 5)}.items():
        lon, lat = grid(x, y)
        graph.add_node(node, x=lon, y=lat)
    add_street(graph, 1, 2, osmid=1)
    add_street(graph, 3, 4, osmid=2)
    return graph


@pytest.fixture
def tiny_graph() -> nx.MultiDiGraph:
    """Six-node town with a one-way shortcut and a long bent block (see tiny_streets)."""
    return build_tiny_graph()


@pytest.fixture
def split_graph() -> nx.MultiDiGraph:
    """Two disconnected streets."""
    return build_split_graph()


@pytest.fixture(scope="session")
def shared_osm() -> Path:
    """``<repo>/../shared/data/osm`` (or $BINROUTE_SHARED_DATA/osm)."""
    root = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("BINROUTE_SHARED_DATA", root / ".." / "shared" / "data")) / "osm"


# A square of streets 1-2-3-4 and, east of it behind a bollard (node 5) on the stub 2-5-6,
# "Island Road" (way 21, 6-7, about 330 m north-east of the square): trucks reach no street
# beyond the bollard, so the island is cut off from the truck network.
ISLAND_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="50.000" lon="10.000" version="1"/>
  <node id="2" lat="50.000" lon="10.001" version="1"/>
  <node id="3" lat="50.001" lon="10.001" version="1"/>
  <node id="4" lat="50.001" lon="10.000" version="1"/>
  <node id="5" lat="50.000" lon="10.002" version="1"><tag k="barrier" v="bollard"/></node>
  <node id="6" lat="50.000" lon="10.006" version="1"/>
  <node id="7" lat="50.003" lon="10.006" version="1"/>
  <way id="11" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
  <way id="12" version="1"><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="13" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/></way>
  <way id="14" version="1"><nd ref="4"/><nd ref="1"/><tag k="highway" v="residential"/></way>
  <way id="20" version="1"><nd ref="2"/><nd ref="5"/><nd ref="6"/>
    <tag k="highway" v="residential"/></way>
  <way id="21" version="1"><nd ref="6"/><nd ref="7"/>
    <tag k="highway" v="residential"/><tag k="name" v="Island Road"/></way>
</osm>
"""
ON_ISLAND = (10.0061, 50.0015)  # 7 m east of Island Road, over 300 m from the square


def write_osm(folder: Path, name: str, text: str) -> tuple[Path, Path]:
    """OSM XML ``text`` as ``name.osm`` and as ``name.osm.pbf`` (written by pyosmium) in
    ``folder``, either replaced when there."""
    import osmium

    xml = folder / f"{name}.osm"
    xml.write_text(text)
    pbf = folder / f"{name}.osm.pbf"
    with osmium.SimpleWriter(str(pbf), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    return xml, pbf


def write_island_town(folder: Path) -> tuple[Path, Path]:
    """The island town as ``island.osm`` and ``island.osm.pbf`` in ``folder``."""
    return write_osm(folder, "island", ISLAND_OSM)


# A square of residential streets (1-2-3-4) with a diagonal 1-3 whose tags each test sets,
# and a loop street 3-8-9-3 (a close joined to the streets at one node).
SQUARE_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="50.000" lon="10.000" version="1"/>
  <node id="2" lat="50.000" lon="10.001" version="1"/>
  <node id="3" lat="50.001" lon="10.001" version="1"/>
  <node id="4" lat="50.001" lon="10.000" version="1"/>
  <node id="8" lat="50.0015" lon="10.0015" version="1"/>
  <node id="9" lat="50.002" lon="10.001" version="1"/>
  <way id="11" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
  <way id="12" version="1"><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="13" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/></way>
  <way id="14" version="1"><nd ref="4"/><nd ref="1"/><tag k="highway" v="residential"/></way>
  <way id="15" version="1"><nd ref="1"/><nd ref="3"/>{diagonal}</way>
  <way id="17" version="1"><nd ref="3"/><nd ref="8"/><nd ref="9"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="Loop Close"/>{loop}</way>
</osm>
"""


# The square's streets 1-2-3-4 and, east of it, "Yard Road" (way 22, a service road 5-6-7
# open at all hours) that trucks reach only by "Market Lane" (way 21, 2-5, a pedestrian lane
# whose tags each test sets) and, when a test gives its tags, "Church Lane" (way 23, 7-3).
YARD_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="50.000" lon="10.000" version="1"/>
  <node id="2" lat="50.000" lon="10.001" version="1"/>
  <node id="3" lat="50.001" lon="10.001" version="1"/>
  <node id="4" lat="50.001" lon="10.000" version="1"/>
  <node id="5" lat="50.000" lon="10.002" version="1"/>
  <node id="6" lat="50.0005" lon="10.003" version="1"/>
  <node id="7" lat="50.001" lon="10.002" version="1"/>
  <way id="11" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
  <way id="12" version="1"><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="13" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/></way>
  <way id="14" version="1"><nd ref="4"/><nd ref="1"/><tag k="highway" v="residential"/></way>
  <way id="21" version="1"><nd ref="2"/><nd ref="5"/>
    <tag k="highway" v="pedestrian"/><tag k="name" v="Market Lane"/>{market}</way>
  <way id="22" version="1"><nd ref="5"/><nd ref="6"/><nd ref="7"/>
    <tag k="highway" v="service"/><tag k="name" v="Yard Road"/>{yard}</way>
  {church}
</osm>
"""
ON_YARD = (10.0025, 50.00026)  # by the middle of Yard Road's first piece (5-6)


def write_yard(
    tmp_path: Path,
    name: str,
    market: dict[str, str],
    church: dict[str, str] | None = None,
    yard: dict[str, str] | None = None,
) -> tuple[Path, Path]:
    """The yard town as ``name.osm`` and ``name.osm.pbf`` in ``tmp_path``: Market Lane's
    tags ``market``; Church Lane there only with tags ``church``; Yard Road's own ``yard``
    added."""
    lane = ""
    if church is not None:
        lane = (
            '<way id="23" version="1"><nd ref="7"/><nd ref="3"/><tag k="highway" '
            f'v="pedestrian"/><tag k="name" v="Church Lane"/>{osm_tags(**church)}</way>'
        )
    text = YARD_OSM.format(market=osm_tags(**market), church=lane, yard=osm_tags(**(yard or {})))
    return write_osm(tmp_path, name, text)


def write_square(
    tmp_path: Path, name: str, diagonal: str = '<tag k="highway" v="residential"/>', loop: str = ""
) -> tuple[Path, Path]:
    """The square as ``name.osm`` and ``name.osm.pbf`` in ``tmp_path``, with the diagonal's
    tags and extra ones on the loop."""
    return write_osm(tmp_path, name, SQUARE_OSM.format(diagonal=diagonal, loop=loop))


def osm_tags(**tags: str) -> str:
    """OSM XML ``<tag>`` elements for ``tags`` (values escaped)."""
    return "".join(f'<tag k="{k}" v="{html.escape(v)}"/>' for k, v in tags.items())
