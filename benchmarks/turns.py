"""Turn restrictions, local-only streets, U-turns and street hours on real cities: how many
bind trucks, what they cost to prepare and query, and how much longer they make the trips.

Run: ``python -m benchmarks.turns [PBF ...] [--points 1000] [--rule turns|local|uturns|hours]``
(default: the OSM extracts of ``../shared/data/osm``, turn restrictions). Prints one JSON
object per city, comparing the network read with the rule (``obeying``) and without it
(``free``): ``GraphSettings(turn_restrictions=False)`` against the default,
``local_access=False`` against the default, the default against ``u_turns=False``
(U-turns only at dead ends), or ``street_hours=False`` against the default (access that
changes with the time, ``network.hours``: such streets driven only to reach a place on
them). For street hours, the timed ways, their km (both directions of a two-way street)
and highway kinds, and their commonest rules. For turns, the restrictions obeyed, left out
(not on truck streets) and through a via way (not read); for local-only streets, their
pieces; for U-turns, the junctions where they are forbidden; the street pieces the rule
cuts off from the network and the connectors it adds; the table build, hierarchy
preparation and ``--points`` x ``--points`` matrix seconds of both, measured back to back
in this process (the numba kernels compiled first; each matrix the fastest of three runs
taken alternately, so the snapping of the first is left out), and their ratios; and the
matrices' difference: the share of point pairs made longer, by how much, and the pairs
made shorter (none: either rule only takes paths away). Exits 0 with a message when no
file is found.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from network import GraphSettings, StreetNetwork, load_network
from network.hours import describe
from network.osm import read_pbf_streets, read_turn_restrictions
from network.table import EdgeTable, street_edges
from network.turns import restrict_turns
from network.zones import split_local_zones

SHARED_OSM = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "osm"
# rule -> (the network read without it, "free"; with it, "obeying")
RULES = {
    "turns": (GraphSettings(turn_restrictions=False), GraphSettings()),
    "local": (GraphSettings(local_access=False), GraphSettings()),
    "uturns": (GraphSettings(), GraphSettings(u_turns=False)),
    "hours": (GraphSettings(street_hours=False), GraphSettings()),
}
SAMPLED = ("residential", "tertiary", "secondary", "primary", "unclassified")


def run(pbf: Path, points: int, seed: int = 3, rule: str = "turns") -> dict[str, Any]:
    """The figures of one city for one rule (see the module docstring)."""
    out: dict[str, Any] = {"city": pbf.name, "rule": rule}
    if rule == "turns":
        found, via_ways = read_turn_restrictions(pbf)
        done = restrict_turns(read_pbf_streets(pbf), found)
        out |= {"obeyed": done.applied, "not_on_truck_streets": done.skipped,
                "via_way_not_read": via_ways}  # fmt: skip
    with tempfile.TemporaryDirectory() as cache:
        nets, seconds = _load_both(pbf, Path(cache), *RULES[rule])
    obeying = nets["obeying"]
    streets = {name: street_edges(net.table) for name, net in nets.items()}
    if rule == "local":
        out["local_street_pieces"] = int((streets["obeying"] & obeying.table.edge_local).sum())
    if rule == "uturns":
        done = restrict_turns(split_local_zones(read_pbf_streets(pbf)), [], u_turns=False)
        out["u_turn_junctions"] = done.u_turn_junctions
    if rule == "hours":
        out |= timed_streets(obeying.table)
    out["street_pieces_cut_off"] = int(streets["free"].sum() - streets["obeying"].sum())
    out["connectors"] = int((~streets["obeying"]).sum() - (~streets["free"]).sum())
    spots = obeying.sample_street_points(points, highway=SAMPLED, seed=seed)
    where = [(p.lon, p.lat) for p in spots]
    for name, net in nets.items():
        t0 = time.perf_counter()
        _ = net.hierarchy  # prepared here, timed apart from the queries
        seconds[f"prepare_{name}"] = time.perf_counter() - t0
    matrices = {}
    for name, net in [*nets.items()] * 3:  # alternately, the fastest of three each
        t0 = time.perf_counter()
        matrices[name] = net.matrix(where)
        took = time.perf_counter() - t0
        seconds[f"matrix_{name}"] = min(took, seconds.get(f"matrix_{name}", took))
    for step in ("build", "prepare", "matrix"):
        seconds[f"{step}_ratio"] = seconds[f"{step}_obeying"] / seconds[f"{step}_free"]
    out["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
    return (
        out
        | difference(matrices["free"].duration_s, matrices["obeying"].duration_s)
        | {
            "distance_change": round(
                float(matrices["obeying"].distance_m.sum() / matrices["free"].distance_m.sum() - 1),
                5,
            )
        }
    )


def timed_streets(table: EdgeTable) -> dict[str, Any]:
    """The ways of ``table`` whose truck access changes with the time: how many, their km
    (edges: both directions of a two-way way), their highway kinds and commonest rules."""
    timed = table.timed_edges
    ways = dict(
        zip(
            table.edge_osmid[timed].tolist(),
            table.hours_rules[table.edge_hours[timed]].tolist(),
            strict=True,
        )
    )
    kinds = Counter(
        dict(
            zip(table.edge_osmid[timed].tolist(), table.edge_highway[timed].tolist(), strict=True)
        ).values()
    )
    return {
        "timed_ways": len(ways),
        "timed_edge_km": round(float(table.edge_length_m[timed].sum()) / 1000, 2),
        "timed_highways": dict(kinds.most_common()),
        "timed_rules": Counter(describe(r) for r in ways.values()).most_common(4),
    }


def _load_both(
    pbf: Path, cache: Path, free: GraphSettings, obeying: GraphSettings
) -> tuple[dict[str, StreetNetwork], dict[str, float]]:
    """Both networks, each built (not read from a cache) and timed, the free one first."""
    nets: dict[str, StreetNetwork] = {}
    seconds: dict[str, float] = {}
    for name, settings in (("free", free), ("obeying", obeying)):
        t0 = time.perf_counter()
        nets[name] = load_network(pbf, cache_dir=cache / name, settings=settings)
        seconds[f"build_{name}"] = time.perf_counter() - t0
    return nets, seconds


def difference(free: np.ndarray, obeying: np.ndarray) -> dict[str, Any]:
    """How the trips' seconds change when the restrictions are obeyed (1 s of rounding)."""
    added = obeying.astype(float) - free
    longer = added > 1
    return {
        "pairs": int(added.size),
        "longer_share": round(float(longer.mean()), 4),
        "mean_added_s_when_longer": round(float(added[longer].mean()), 1) if longer.any() else 0,
        "max_added_s": round(float(added.max()), 1),
        "shorter_pairs": int((added < -1).sum()),
        "time_change": round(float(obeying.sum() / free.sum() - 1), 5),
    }


def city_files(ap: argparse.ArgumentParser, given: list[Path]) -> list[Path]:
    """The .pbf files ``given``, or those of ``../shared/data/osm``; a usage error names a
    file missing, and none at all is said on stderr (an empty list: nothing to measure)."""
    files = given or sorted(SHARED_OSM.glob("*.osm.pbf"))
    missing = [p for p in files if not p.is_file()]
    if missing:
        ap.error(f"no such file: {', '.join(map(str, missing))}")
    if not files:
        print(f"no .osm.pbf under {SHARED_OSM}: nothing to measure", file=sys.stderr)
    return files


def warm_kernels() -> None:
    """Compile the ch engine's kernels before anything is timed (on a 70 m street)."""
    graph = nx.MultiDiGraph()
    graph.add_node(1, x=10.0, y=50.0)
    graph.add_node(2, x=10.001, y=50.0)
    for u, v in ((1, 2), (2, 1)):
        graph.add_edge(u, v, length=71.5, travel_time=10.0)
    StreetNetwork.from_graph(graph, workers=1).matrix([(10.0002, 50.0), (10.0008, 50.0)])


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pbf", nargs="*", type=Path, help="OSM .pbf files (default: ../shared)")
    ap.add_argument("--points", type=int, default=1000, help="matrix size (points)")
    ap.add_argument("--rule", choices=sorted(RULES), default="turns", help="the rule compared")
    args = ap.parse_args(argv)
    if args.points < 2:
        ap.error(f"--points {args.points}: give 2 or more")
    files = city_files(ap, args.pbf)
    if not files:
        return
    warm_kernels()
    for pbf in files:
        print(json.dumps(run(pbf, args.points, rule=args.rule)), flush=True)


if __name__ == "__main__":
    main()
