"""Street matrix benchmark on Porto: load times, CH preparation, N x N matrices with both
engines (scipy reference and ch), networkx baseline, incremental add.

Run: ``python -m benchmarks.matrix [--pbf PATH] [--sizes 100,500,1000,2000]``. Prints one JSON
object per line; each size line has both engines' seconds measured back to back in the same run,
their ratio, and whether the matrices are identical. Exits 0 with a message when the .pbf is
absent.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

from network import (
    GraphSettings,
    StreetNetwork,
    TravelMatrix,
    fastpath,
    load_graph,
    load_network,
)
from network.streets import TIME_UNITS_PER_S

DEFAULT_PBF = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "osm"
    / "porto_portugal.osm.pbf"
)


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def emit(**record: object) -> None:
    """Print one JSON line."""
    print(json.dumps(record), flush=True)


# networkx's Dijkstra knows neither local-only streets (driven only to reach a place on them)
# nor turn restrictions: compared on a network without them, so that the paths are the same
# problem's (with them, ours are up to 542 s longer on 1196 of Heidelberg's 10 000 pairs)
PLAIN_RULES = GraphSettings(local_access=False, turn_restrictions=False)


def networkx_baseline(
    pbf: Path, cache: Path, workers: int, points: list[tuple[float, float]]
) -> None:
    """Per-source networkx Dijkstra between the points' snapped edge ends vs ours (N small),
    both on the network without local-only streets and turn restrictions (``PLAIN_RULES``)."""
    graph = load_graph(pbf, cache_dir=cache, settings=PLAIN_RULES)
    net = load_network(pbf, cache_dir=cache, workers=workers, engine="ch", settings=PLAIN_RULES)
    net.matrix(points[:10])  # the hierarchy prepared, the JIT compiled: not timed
    snaps = net.snap(points)
    # compare on node-to-node travel: place each point exactly on a graph node
    nodes = [s.edge[1] for s in snaps]
    node_pts = [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes]
    start = time.perf_counter()
    ours = net.matrix(node_pts)
    ours_s = time.perf_counter() - start

    def weight(u: int, v: int, data: dict[int, dict[str, float]]) -> float:
        return float(min(round(d["travel_time"] * TIME_UNITS_PER_S) for d in data.values()))

    start = time.perf_counter()
    ref = np.zeros((len(nodes), len(nodes)))
    for i, a in enumerate(nodes):
        dist = nx.single_source_dijkstra_path_length(graph, a, weight=weight)
        ref[i] = [dist[b] / TIME_UNITS_PER_S for b in nodes]
    nx_s = time.perf_counter() - start
    emit(
        n=len(nodes),
        method="networkx-single_source_dijkstra",
        rules="no local-only streets, no turn restrictions",
        engine=net.engine,
        seconds=round(nx_s, 3),
        ours_seconds=round(ours_s, 3),
        speed_ratio=round(nx_s / ours_s, 1),
        max_abs_diff_s=float(np.abs(ours.duration_s - ref).max()),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see module docstring."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pbf", type=Path, default=DEFAULT_PBF)
    parser.add_argument("--sizes", default="100,500,1000,2000")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    pbf = args.pbf.resolve()
    if not pbf.is_file():
        print(f"skipped: {pbf} not found", file=sys.stderr)
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        net = time_loads(pbf, cache, args.workers)
        pool = net.sample_street_points(
            max(sizes) + 1,
            highway=("residential", "tertiary", "secondary", "unclassified"),
            seed=42,
        )
        points = [(p.lon, p.lat) for p in pool]
        start = time.perf_counter()
        net.snap(points)
        emit(step="snap", n=len(points), seconds=round(time.perf_counter() - start, 3))
        net = time_ch(net, pbf, cache, args.workers, points)
        ref = StreetNetwork(net.table, workers=args.workers, engine="scipy")
        matrix = time_sizes(net, ref, points, sizes, args.workers)
        if matrix is not None:
            time_extend(net, ref, matrix, [points[max(sizes)]])
        networkx_baseline(pbf, cache, args.workers, points[:100])
    return 0


def time_loads(pbf: Path, cache: Path, workers: int) -> StreetNetwork:
    """The network of ``pbf`` loaded cold (parsed, ``cache`` written), then from the cache;
    a line each."""
    start = time.perf_counter()
    load_network(pbf, cache_dir=cache, workers=workers)
    emit(step="cold_load", seconds=round(time.perf_counter() - start, 3), pbf=pbf.name)
    start = time.perf_counter()
    net = load_network(pbf, cache_dir=cache, workers=workers)
    emit(
        step="cached_load",
        seconds=round(time.perf_counter() - start, 3),
        nodes=net.table.n_nodes,
        edges=net.table.n_edges,
    )
    return net


def time_ch(
    net: StreetNetwork, pbf: Path, cache: Path, workers: int, points: list[tuple[float, float]]
) -> StreetNetwork:
    """The contraction hierarchy of ``net`` prepared (and saved to its cache), the network
    loaded again with it from the cache, and its first matrix (10 of ``points``, (lon,
    lat): the JIT's compile); a line each. Returns the network with the hierarchy."""
    start = time.perf_counter()
    fresh = StreetNetwork(net.table, workers=workers, engine="ch")
    hierarchy = fresh.hierarchy
    emit(
        step="ch_prepare",
        seconds=round(time.perf_counter() - start, 3),
        order=fastpath.cache_tag(),
        arcs=len(hierarchy.up_head),
    )
    if net.ch_cache is not None:
        hierarchy.save(net.ch_cache)
    start = time.perf_counter()
    net = load_network(pbf, cache_dir=cache, workers=workers, engine="ch")
    net.hierarchy  # noqa: B018 - read from the cache written above
    emit(step="cached_load_with_ch", seconds=round(time.perf_counter() - start, 3))
    start = time.perf_counter()
    net.matrix(points[:10])
    emit(step="ch_first_call_jit", seconds=round(time.perf_counter() - start, 3))
    return net


def time_sizes(
    net: StreetNetwork,
    ref: StreetNetwork,
    points: list[tuple[float, float]],
    sizes: list[int],
    workers: int,
) -> TravelMatrix | None:
    """For each size n, the matrix of the first n ``points`` by ``net`` (ch) and ``ref``
    (scipy), back to back: a line each with both times, their ratio and whether the
    matrices are identical. Returns the last matrix of ``net`` (None for no sizes)."""
    matrix = None
    for n in sizes:
        start = time.perf_counter()
        matrix = net.matrix(points[:n])
        ch_s = time.perf_counter() - start
        start = time.perf_counter()
        expected = ref.matrix(points[:n])
        scipy_s = time.perf_counter() - start
        same = np.array_equal(matrix.duration_s, expected.duration_s) and np.array_equal(
            matrix.distance_m, expected.distance_m
        )
        emit(
            n=n,
            ch_seconds=round(ch_s, 3),
            scipy_seconds=round(scipy_s, 3),
            speed_ratio=round(scipy_s / ch_s, 1),
            identical=bool(same),
            peak_rss_mb=round(peak_rss_mb(), 1),
            workers=workers,
        )
    return matrix


def time_extend(
    net: StreetNetwork, ref: StreetNetwork, matrix: TravelMatrix, extra: list[tuple[float, float]]
) -> None:
    """``matrix`` extended by the ``extra`` points with each engine; a line each."""
    for engine, which in (("ch", net), ("scipy", ref)):
        start = time.perf_counter()
        which.extend_matrix(matrix, extra)
        emit(
            step="extend_by_1",
            engine=engine,
            n=matrix.size,
            seconds=round(time.perf_counter() - start, 3),
        )


if __name__ == "__main__":
    raise SystemExit(main())
