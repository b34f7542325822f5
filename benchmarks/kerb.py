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
ways away). With ``--plan-bins N`` (default 200; 0 skips it) the first N points become
full bins of a day planned twice, without and with the flags (one depot and one disposal
site at two more street spots, ``--trucks`` trucks, the same seed and ``--time-limit``): the
plans' km, truck-hours and checker findings, and the km change (which includes the search's
own noise: compare it with the matrices' change). ``--no-u-turns`` reads the cities with
U-turns only where a truck must turn back (``GraphSettings(u_turns=False)``). Exits 0 with
a message when no file is found.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from benchmarks.turns import SAMPLED, city_files, difference, warm_kernels
from fleet.models import Bin, Depot, DisposalSite, FillReading, Inventory, TimeWindow, Vehicle
from network import GraphSettings, StreetNetwork, load_network
from network.providers import StreetProvider
from network.table import EARTH_RADIUS_M
from optimiser.check import check
from optimiser.daily import plan_day
from optimiser.params import SolveParams

Point = tuple[float, float]
PLAN_DATE = date(2026, 12, 1)
TZ = ZoneInfo("Europe/Lisbon")


def run(
    pbf: Path,
    points: int,
    seed: int = 3,
    offset_m: float = 6.0,
    plan_bins: int = 0,
    trucks: int = 2,
    time_limit_s: float = 10.0,
    u_turns: bool = True,
) -> dict[str, Any]:
    """The figures of one city (see the module docstring)."""
    with tempfile.TemporaryDirectory() as cache:
        net = load_network(pbf, cache_dir=cache, settings=GraphSettings(u_turns=u_turns))
    spots = net.sample_street_points(points + 2, highway=SAMPLED, seed=seed)
    depot, site = (spots[-2].lon, spots[-2].lat), (spots[-1].lon, spots[-1].lat)
    spots = spots[:points]
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
    planned = _plans(net, where[:plan_bins], depot, site, trucks, time_limit_s) if plan_bins else {}
    return {
        "city": pbf.name,
        "u_turns": u_turns,
        "points": len(where),
        "bound": bound,
        "one_way": len(where) - bound - sideless,
        "sideless": sideless,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        **difference(free.duration_s, ruled.duration_s),
        "distance_change": round(float(ruled.distance_m.sum() / free.distance_m.sum() - 1), 5),
        **planned,
    }


def _plans(
    net: StreetNetwork, bins: list[Point], depot: Point, site: Point, trucks: int, limit_s: float
) -> dict[str, Any]:
    """One day's plan of full ``bins``, without and with every bin taken from its kerb."""
    out: dict[str, Any] = {"plan_bins": len(bins)}
    for name, kerb in (("free", False), ("kerb", True)):
        inventory = _inventory(bins, depot, site, trucks, kerb)
        eve = datetime.combine(PLAN_DATE, clock(0), tzinfo=TZ)
        readings = [
            FillReading(bin_id=b.bin_id, at=eve, fill_fraction=0.95) for b in inventory.bins
        ]
        day = plan_day(
            inventory,
            readings,
            [],
            StreetProvider(net),
            plan_date=PLAN_DATE,
            tz=TZ,
            params=SolveParams(time_limit_s=limit_s, seed=1),
        )
        out[f"plan_{name}"] = {
            "km": day.kpis["km"],
            "truck_hours": day.kpis["hours"],
            "unserved": len(day.unserved),
            "checker_findings": len(check(day.built.problem, day.plan)),
        }
    free_km, kerb_km = out["plan_free"]["km"], out["plan_kerb"]["km"]
    out["plan_km_change"] = round(kerb_km / free_km - 1, 4) if free_km else None
    return out


def _inventory(bins: list[Point], depot: Point, site: Point, trucks: int, kerb: bool) -> Inventory:
    """Full 240 l bins at ``bins``, one depot, one site and ``trucks`` 20 m3 trucks."""
    shift = TimeWindow(clock(6), clock(14))
    return Inventory(
        bins=tuple(
            Bin(bin_id=f"b{i:04d}", lon=x, lat=y, capacity_l=240, kerb_side=kerb)
            for i, (x, y) in enumerate(bins)
        ),
        depots=(Depot(depot_id="depot", lon=depot[0], lat=depot[1]),),
        vehicles=tuple(
            Vehicle(
                vehicle_id=f"t{i}",
                depot_id="depot",
                capacity_l=20_000,
                capacity_kg=8_000,
                shift=shift,
            )
            for i in range(trucks)
        ),
        sites=(DisposalSite(site_id="site", lon=site[0], lat=site[1]),),
    )


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
    ap.add_argument("--plan-bins", type=int, default=200, help="bins of the day planned (0: none)")
    ap.add_argument("--trucks", type=int, default=4, help="trucks of the day planned")
    ap.add_argument("--time-limit", type=float, default=10.0, help="each plan's search, s")
    ap.add_argument(
        "--no-u-turns", action="store_true", help="read the city with U-turns only at dead ends"
    )
    args = ap.parse_args(argv)
    if args.points < 2:
        ap.error(f"--points {args.points}: give 2 or more")
    if not 0 < args.offset_m <= 50:
        ap.error(f"--offset-m {args.offset_m}: give metres in (0, 50]")
    if not 0 <= args.plan_bins <= args.points or args.trucks < 1 or args.time_limit <= 0:
        ap.error("give 0 <= --plan-bins <= --points, --trucks >= 1 and --time-limit > 0")
    files = city_files(ap, args.pbf)
    if not files:
        return
    warm_kernels()
    for pbf in files:
        record = run(
            pbf,
            args.points,
            offset_m=args.offset_m,
            plan_bins=args.plan_bins,
            trucks=args.trucks,
            time_limit_s=args.time_limit,
            u_turns=not args.no_u_turns,
        )
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
