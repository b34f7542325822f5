"""Drivers' directions on real cities: what they cost a plan's exports, and how they read.

Run: ``python -m benchmarks.sheets [PBF ...] [--points 1000] [--trucks 10]`` (default: the
OSM extracts of ``../shared/data/osm``). For each city, ``--points`` random spots on its
streets (residential to primary) are put in a sweep order (west to east in bands of
latitude, alternately) and cut into ``--trucks`` routes of neighbours, as a day's routes
chain near bins. Timed, alternately, three times each (the fastest kept):

- ``old``: the exports' street paths as they were drawn before: each route's line twice
  (the GeoJSON and the GPX), every leg searched each time over the whole graph;
- ``new``: the line twice and the directions (``StreetNetwork.directions``), the paths
  remembered between them (``ROUTE_CACHE_MAX``), each searched within a bound first
  (``PATH_LIMIT_S``, ``PATH_LIMIT_MPS``).

And, for reading: legs, steps per leg, the share of steps on unnamed streets, the share of
legs with a U-turn, the roundabouts passed (one step each), the largest and mean gap
between a leg's metres in its steps and the matrix's metres of that trip, and the largest
gap in seconds (a check that the directions follow the matrix's path: the matrix rounds
each edge to the metre and counts a metre per connector of a split junction, which the
directions do not; its seconds are the path's to the second).
Exits 0 with a message when no file is found.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.turns import SAMPLED, city_files
from network import StreetNetwork, load_network, street_paths

Point = tuple[float, float]
BAND_DEG = 0.004  # latitude band of the sweep order (about 450 m)


def routes_of(points: list[Point], trucks: int) -> list[list[Point]]:
    """``points`` in sweep order (west to east in bands of latitude, alternately), cut into
    ``trucks`` routes of consecutive points."""

    def key(p: Point) -> tuple[int, float]:
        band = int(p[1] // BAND_DEG)
        return band, p[0] if band % 2 == 0 else -p[0]

    ordered = sorted(points, key=key)
    parts = np.array_split(np.array(ordered), trucks)
    return [[(float(x), float(y)) for x, y in part] for part in parts if len(part)]


def _exports(net: StreetNetwork, routes: list[list[Point]], directions: bool) -> float:
    """Seconds to draw each route twice (and its directions), no path remembered at the
    start; as before (no ``directions``): every draw searched, over the whole graph."""
    net._routes.clear()
    bound = street_paths.PATH_LIMIT_S
    street_paths.PATH_LIMIT_S = bound if directions else math.inf
    try:
        t0 = time.perf_counter()
        for route in routes:
            for _ in range(2):
                if not directions:
                    net._routes.clear()
                net.polyline(route)
            if directions:
                net.directions(route)
        return time.perf_counter() - t0
    finally:
        street_paths.PATH_LIMIT_S = bound


def run(pbf: Path, points: int, trucks: int, seed: int = 5) -> dict[str, Any]:
    """The figures of one city (see the module docstring)."""
    with tempfile.TemporaryDirectory() as cache:
        net = load_network(pbf, cache_dir=cache)
    spots = net.sample_street_points(points, highway=SAMPLED, seed=seed)
    routes = routes_of([(p.lon, p.lat) for p in spots], trucks)
    seconds: dict[str, float] = {}
    for name in ("old", "new") * 3:
        took = _exports(net, routes, directions=name == "new")
        seconds[name] = min(took, seconds.get(name, took))
    legs, gaps, time_gaps, unnamed, u_turns, roundabouts = 0, [], [], 0, 0, 0
    steps_total = 0
    for route in routes:
        matrix = net.matrix(route)
        for i, leg in enumerate(net.directions(route)):
            legs += 1
            moving = [s for s in leg if s.maneuver != "arrive"]
            steps_total += len(moving)
            unnamed += sum(not s.street for s in moving)
            u_turns += any(s.maneuver == "u-turn" for s in leg)
            roundabouts += sum(s.maneuver == "roundabout" for s in leg)
            driven = sum(s.distance_m for s in leg)
            gaps.append(abs(driven - float(matrix.distance_m[i, i + 1])))
            took = sum(s.duration_s for s in leg)
            time_gaps.append(abs(took - float(matrix.duration_s[i, i + 1])))
    return {
        "city": pbf.name,
        "points": points,
        "routes": len(routes),
        "legs": legs,
        "seconds_old": round(seconds["old"], 2),
        "seconds_new": round(seconds["new"], 2),
        "ratio_new_to_old": round(seconds["new"] / seconds["old"], 2),
        "steps_per_leg": round(steps_total / legs, 2),
        "unnamed_step_share": round(unnamed / max(steps_total, 1), 3),
        "u_turn_leg_share": round(u_turns / legs, 3),
        "roundabout_steps": roundabouts,
        "max_gap_m": round(max(gaps), 1),
        "mean_gap_m": round(float(np.mean(gaps)), 2),
        "max_time_gap_s": round(max(time_gaps), 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pbf", nargs="*", type=Path, help="OSM .pbf files (default: ../shared)")
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--trucks", type=int, default=10)
    args = ap.parse_args(argv)
    for pbf in city_files(ap, args.pbf):
        print(json.dumps(run(pbf, args.points, args.trucks)), flush=True)


if __name__ == "__main__":
    main()
