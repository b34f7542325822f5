"""Street hours on a real city: bins on streets trucks may drive only at some hours, planned.

Run: ``python -m benchmarks.street_hours [PBF] [--truck-weight-kg 7000] [--zone-bins 30]
[--bins 150] [--trucks 2] [--time-limit 5] [--seed 3]`` (default: Heidelberg of
``../shared/data/osm``, whose old town's pedestrian lanes are open to vehicles up to 7.5 t
for deliveries Monday to Saturday 06:00-11:00). ``--zone-bins`` bins stand on streets
whose truck access changes with the time (``network.hours``), ``--bins`` on other streets
(residential to primary), all nearly full the evening before (each one must be emptied);
one depot and one disposal site on the streets; ``--trucks`` trucks of the given weight
working 06:00-14:00. The day is planned on a Monday and on a Sunday, on the city read with
street hours (``obeying``) and without (``free``: timed streets read by their plain tags;
a pedestrian lane is then no street and its bins are emptied from the nearest street, the
crew walking), each back to back in this process. Prints one JSON object per city and day:
per network the bins served, the zone's bins served and the span of their visits' starts
(local clock), the unserved by kind, km, truck-hours, the checker's violations, and the
planning seconds with their ratio obeying / free. Exits 0 with a message when no file is
found.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.turns import SAMPLED, SHARED_OSM
from fleet.models import Bin, Depot, DisposalSite, FillReading, Inventory, TimeWindow, Vehicle
from network import GraphSettings, StreetNetwork, load_network
from network.providers import StreetProvider
from optimiser.daily import DayPlan, plan_day
from optimiser.params import SolveParams
from optimiser.plan import VisitKind

TZ = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 12, 7)
DAYS = {"monday": MONDAY, "sunday": MONDAY + timedelta(days=6)}
Point = tuple[float, float]


def zone_points(net: StreetNetwork, n: int, seed: int) -> list[Point]:
    """``n`` seeded points on the network's timed streets (those ``street_hours`` names)."""
    kinds = sorted(set(net.table.edge_highway[net.table.timed_edges].tolist()))
    if not kinds:
        return []
    found: list[Point] = []
    for round_ in range(20):
        spots = net.sample_street_points(4 * n, highway=kinds, seed=seed + round_)
        where = [(p.lon, p.lat) for p in spots]
        found += [p for p, t in zip(where, net.street_hours(where), strict=True) if t is not None]
        if len(found) >= n:
            break
    return found[:n]


def inventory_of(
    zone: list[Point], other: list[Point], depot: Point, site: Point, trucks: int
) -> Inventory:
    """The bins (``z*`` in the zone, ``b*`` elsewhere), depot, site and trucks measured."""
    bins = [
        Bin(bin_id=f"{prefix}{i}", lon=p[0], lat=p[1], capacity_l=240)
        for prefix, points in (("z", zone), ("b", other))
        for i, p in enumerate(points)
    ]
    vehicles = tuple(
        Vehicle(
            vehicle_id=f"t{k}",
            depot_id="d",
            capacity_l=10_000,
            capacity_kg=3_000,
            shift=TimeWindow(clock(6), clock(14)),
        )
        for k in range(trucks)
    )
    return Inventory(
        bins=tuple(bins),
        depots=(Depot(depot_id="d", lon=depot[0], lat=depot[1]),),
        vehicles=vehicles,
        sites=(DisposalSite(site_id="s", lon=site[0], lat=site[1]),),
    )


def summary(day: DayPlan, seconds: float) -> dict[str, Any]:
    """What one plan did with the zone's bins and the rest."""
    starts = sorted(
        v.start_s
        for r in day.plan.routes
        for v in r.visits
        if v.kind is VisitKind.BIN and v.ref.startswith("z")
    )
    served = day.plan.served_refs
    span = [_hhmm(starts[0]), _hhmm(starts[-1])] if starts else None
    return {
        "served": len(served),
        "zone_served": sum(r.startswith("z") for r in served),
        "zone_starts": span,
        "unserved": dict(Counter(str(u.kind) for u in day.unserved)),
        "km": round(day.kpis["km"], 2),
        "truck_hours": round(day.kpis["hours"], 2),
        "violations": len(day.violations),
        "seconds": round(seconds, 2),
    }


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def run(pbf: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One JSON object per day planned (see the module docstring)."""
    weight = {"truck_weight_kg": args.truck_weight_kg}
    with tempfile.TemporaryDirectory() as cache:
        nets = {
            name: load_network(pbf, cache_dir=Path(cache) / name, settings=settings)
            for name, settings in (
                ("free", GraphSettings(street_hours=False, **weight)),
                ("obeying", GraphSettings(**weight)),
            )
        }
    obeying = nets["obeying"]
    zone = zone_points(obeying, args.zone_bins, args.seed)
    spots = obeying.sample_street_points(args.bins + 2, highway=SAMPLED, seed=args.seed)
    where = [(p.lon, p.lat) for p in spots]
    inventory = inventory_of(zone, where[2:], where[0], where[1], args.trucks)
    params = SolveParams(time_limit_s=args.time_limit, seed=args.seed)
    out = []
    for name, day in DAYS.items():
        eve = datetime.combine(day - timedelta(days=1), clock(20), tzinfo=TZ)
        readings = [
            FillReading(bin_id=b.bin_id, at=eve, fill_fraction=0.95) for b in inventory.bins
        ]
        record: dict[str, Any] = {"city": pbf.name, "day": name, "zone_bins": len(zone)}
        for net_name, net in nets.items():
            provider = StreetProvider(net)
            t0 = time.perf_counter()
            planned = plan_day(
                inventory, readings, [], provider, plan_date=day, tz=TZ, params=params
            )
            record[net_name] = summary(planned, time.perf_counter() - t0)
        record["seconds_ratio"] = round(record["obeying"]["seconds"] / record["free"]["seconds"], 3)
        out.append(record)
    return out


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pbf", nargs="?", type=Path, default=SHARED_OSM / "heidelberg.osm.pbf")
    ap.add_argument("--truck-weight-kg", type=float, default=7000.0)
    ap.add_argument("--zone-bins", type=int, default=30)
    ap.add_argument("--bins", type=int, default=150)
    ap.add_argument("--trucks", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    if not args.pbf.is_file():
        print(f"no such file {args.pbf}: nothing to measure", file=sys.stderr)
        return
    for record in run(args.pbf, args):
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
