"""Kerb-side bins on real cities: how much longer the trips between bins get when every
bin is taken from its kerb (a side-loader's containers), and what the rule costs a matrix.

Run: ``python -m benchmarks.kerb [PBF ...] [--points 1000] [--offset-m 6]`` (default: the
OSM extracts of ``../shared/data/osm``). Prints one JSON object per city: ``--points``
random spots on its streets (residential to primary), each moved ``--offset-m`` metres in a
random direction, as bins stand beside the street; how many of them the rule binds (on a
two-way street, on one of its kerbs), how many stand on a one-way street (driven its one
way anyway) and how many on neither kerb (moved along the street, not beside it:
``StreetNetwork.sideless``); the ``--points`` x ``--points`` matrix seconds without and
with every point flagged ``kerb_side`` (the fastest of three runs each, taken alternately,
the numba kernels compiled first) and their ratio; and the matrices' difference: the share
of pairs made longer, by how much, and the pairs made shorter (none: the rule only takes
ways away). Exits 0 with a message when no file is found.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.turns import SAMPLED, SHARED_OSM, difference, warm_kernels
from network import load_network
from network.table import EARTH_RADIUS_M


def run(pbf: Path, points: int, seed: int = 3, offset_m: float = 6.0) -> dict[str, Any]:
    """The figures of one city (see the module docstring)."""
    with tempfile.TemporaryDirectory() as cache:
        net = load_network(pbf, cache_dir=cache)
    spots = net.sample_street_points(points, highway=SAMPLED, seed=seed)
    rng = np.random.default_rng(seed)
    where = [_moved(p.lon, p.lat, offset_m, rng.uniform(0, 2 * math.pi)) for p in spots]
    kerb = [True] * len(where)
    bound = int((net.kerb_ways(where, kerb_side=kerb) != 0).sum())
    sideless = len(net.sideless(where))
    _ = net.hierarchy  # prepared before anything is timed
    seconds: dict[str, float] = {}
    matrices = {}
    for name, flags in [("free", None), ("kerb", kerb)] * 3:  # alternately, fastest of three
        t0 = time.perf_counter()
        matrices[name] = net.matrix(where, kerb_side=flags)
        took = time.perf_counter() - t0
        seconds[f"matrix_{name}"] = min(took, seconds.get(f"matrix_{name}", took))
    seconds["matrix_ratio"] = seconds["matrix_kerb"] / seconds["matrix_free"]
    free, ruled = matrices["free"], matrices["kerb"]
    return {
        "city": pbf.name,
        "points": len(where),
        "bound": bound,
        "one_way": len(where) - bound - sideless,
        "sideless": sideless,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        **difference(free.duration_s, ruled.duration_s),
        "distance_change": round(float(ruled.distance_m.sum() / free.distance_m.sum() - 1), 5),
    }


def _moved(lon: float, lat: float, metres: float, angle: float) -> tuple[float, float]:
    """(lon, lat) ``metres`` away from the given point towards ``angle`` (radians from east)."""
    dlat = metres * math.sin(angle) / (math.radians(1) * EARTH_RADIUS_M)
    dlon = (
        metres * math.cos(angle) / (math.radians(1) * EARTH_RADIUS_M * math.cos(math.radians(lat)))
    )
    return (lon + dlon, lat + dlat)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pbf", nargs="*", type=Path, help="OSM .pbf files (default: ../shared)")
    ap.add_argument("--points", type=int, default=1000, help="matrix size (points)")
    ap.add_argument("--offset-m", type=float, default=6.0, help="bins' distance from the street")
    args = ap.parse_args(argv)
    if args.points < 2:
        ap.error(f"--points {args.points}: give 2 or more")
    if not 0 < args.offset_m <= 50:
        ap.error(f"--offset-m {args.offset_m}: give metres in (0, 50]")
    files = args.pbf or sorted(SHARED_OSM.glob("*.osm.pbf"))
    missing = [p for p in files if not p.is_file()]
    if missing:
        ap.error(f"no such file: {', '.join(map(str, missing))}")
    if not files:
        print(f"no .osm.pbf under {SHARED_OSM}: nothing to measure", file=sys.stderr)
        return
    warm_kernels()
    for pbf in files:
        print(json.dumps(run(pbf, args.points, offset_m=args.offset_m)), flush=True)


if __name__ == "__main__":
    main()
