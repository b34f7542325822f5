"""Streets behind timed streets: bins trucks reach or leave only through a street open at
some hours, planned.

Run: ``python -m benchmarks.yards [PBF ...] [--bins 40] [--trucks 2] [--time-limit 5]
[--seed 3]`` (default: Heidelberg for a 7 t truck, whose old town's lanes are open to
vehicles up to 7.5 t for deliveries Monday to Saturday 06:00-11:00, and Porto Alegre for a
26 t one, whose riverside avenues close at weekends; ``../shared/data/osm``). A bin stands
at the middle of each way whose points a truck reaches or leaves only through a timed
street with other hours than its own (``TimedStreet.through``: a street open at all hours
behind timed ones, ``network.reach.Zones.behind``, or a timed street behind another), and
``--bins`` more on other streets, all nearly full the evening before; one depot and one
disposal site on the streets; ``--trucks`` trucks working 06:00-14:00. Each day (a
Monday, a Saturday, a Sunday) is planned twice, back to back in this process: ``now`` and
``before``, the same network with those bins told their own street's rule alone (as
before ``Zones``: none for a street open at all hours). Prints one JSON object per city
and day: per plan those bins served, served while a street on their way in or out was
closed (the visit's start less the drive in, or its end plus the drive out, outside every
span all their streets are open), unserved by kind, km, the checker's violations and the
planning seconds; and, per city, the streets counted and the seconds ``Zones`` takes
against a 100-point matrix of the same network. Exits 0 with a message when no file is
found.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from benchmarks.street_hours import inventory_of
from benchmarks.turns import SAMPLED, SHARED_OSM
from fleet.models import FillReading
from network import GraphSettings, StreetNetwork, load_network
from network.hours import TimedStreet
from network.providers import StreetProvider
from network.reach import zones
from network.snap import sub_line
from optimiser.daily import DayPlan, plan_day
from optimiser.params import SolveParams
from optimiser.plan import VisitKind

MONDAY = date(2026, 12, 7)
DAYS = {"monday": MONDAY, "saturday": MONDAY + timedelta(5), "sunday": MONDAY + timedelta(6)}
CITIES = {"heidelberg.osm.pbf": 7000.0, "porto_alegre.osm.pbf": 26000.0}
TIME_ZONES = {"porto_alegre.osm.pbf": "America/Sao_Paulo"}
Point = tuple[float, float]


class Before(StreetProvider):
    """The network's street hours as they read before ``network.reach``: a timed
    street's own rule alone, none for a street open at all hours reached through timed
    ones."""

    def street_hours(self, points: Sequence[Point]) -> list[TimedStreet | None]:
        told = super().street_hours(points)
        return [dataclasses.replace(t, through=()) if t and t.rule else None for t in told]


def through_points(net: StreetNetwork) -> list[Point]:
    """The middle of one street edge of each way whose points a truck reaches or leaves
    through a timed street with other hours (``TimedStreet.through``): the ways behind
    timed streets (``Zones.behind``), and timed ones reached through others."""
    table = net.table
    edges = np.flatnonzero(zones(table).behind(table) | table.timed_edges)
    ways: dict[int, int] = {}
    for e in edges.tolist():
        ways.setdefault(int(table.edge_osmid[e]), e)
    middles = [sub_line(table, e, 0.5, 0.5)[0] for e in ways.values()]
    told = net.street_hours(middles)
    return [p for p, t in zip(middles, told, strict=True) if t is not None and t.through]


def closed_visits(day: DayPlan, found: dict[str, TimedStreet], on: date) -> int:
    """The visits of ``found``'s bins whose truck is on their streets out of their hours."""
    out = 0
    for route in day.plan.routes:
        for v in route.visits:
            timed = found.get(v.ref)
            if v.kind is not VisitKind.BIN or timed is None:
                continue
            spans = timed.open_on(on)
            inside = any(
                lo <= v.start_s - timed.enter_s and v.end_s + timed.leave_s <= hi
                for lo, hi in spans
            )
            out += not inside
    return out


def summary(
    day: DayPlan, found: dict[str, TimedStreet], on: date, seconds: float
) -> dict[str, Any]:
    """What one plan did with the bins reached through timed streets (``z*``) and the rest."""
    served = day.plan.served_refs
    return {
        "through_served": sum(r.startswith("z") for r in served),
        "through_served_while_closed": closed_visits(day, found, on),
        "served": len(served),
        "unserved": dict(Counter(str(u.kind) for u in day.unserved)),
        "km": round(day.kpis["km"], 2),
        "violations": len(day.violations),
        "seconds": round(seconds, 2),
    }


def run(pbf: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One JSON object per city and day (see the module docstring)."""
    weight = CITIES.get(pbf.name, 26000.0)
    tz = ZoneInfo(TIME_ZONES.get(pbf.name, "Europe/Berlin"))
    with tempfile.TemporaryDirectory() as cache:
        net = load_network(pbf, cache_dir=cache, settings=GraphSettings(truck_weight_kg=weight))
    t0 = time.perf_counter()
    found_zones = zones(net.table)
    zones_s = time.perf_counter() - t0
    edges = np.flatnonzero(found_zones.behind(net.table) | net.table.timed_edges).tolist()
    t0 = time.perf_counter()
    for e in edges:  # every street edge's ways (each zone's combinations searched once)
        found_zones.ways(net.table, e, -1)
    ways_s = time.perf_counter() - t0
    spots = net.sample_street_points(args.bins + 2, highway=SAMPLED, seed=args.seed)
    where = [(p.lon, p.lat) for p in spots]
    t0 = time.perf_counter()
    net.matrix(where[:100])
    matrix_s = time.perf_counter() - t0
    yard = through_points(net)
    inventory = inventory_of(yard, where[2:], where[0], where[1], args.trucks)
    now = StreetProvider(net)
    told = now.street_hours([(b.lon, b.lat) for b in inventory.bins])
    found = {b.bin_id: t for b, t in zip(inventory.bins, told, strict=True) if t and t.through}
    params = SolveParams(time_limit_s=args.time_limit, seed=args.seed)
    head = {
        "city": pbf.name,
        "truck_weight_kg": weight,
        "behind_edges": int(found_zones.behind(net.table).sum()),
        "behind_bins": sum(not t.rule for t in found.values()),
        "timed_bins_through_others": sum(bool(t.rule) for t in found.values()),
        "zones_seconds": round(zones_s, 4),
        "zones_vs_100_point_matrix": round(zones_s / matrix_s, 3),
        "ways_seconds": round(ways_s, 4),
        "ways_vs_100_point_matrix": round(ways_s / matrix_s, 3),
    }
    out = [head]
    for name, on in DAYS.items():
        eve = datetime.combine(on - timedelta(days=1), clock(20), tzinfo=tz)
        readings = [
            FillReading(bin_id=b.bin_id, at=eve, fill_fraction=0.95) for b in inventory.bins
        ]
        record: dict[str, Any] = {"city": pbf.name, "day": name}
        for label, provider in (("now", now), ("before", Before(net))):
            t0 = time.perf_counter()
            planned = plan_day(
                inventory, readings, [], provider, plan_date=on, tz=tz, params=params
            )
            record[label] = summary(planned, found, on, time.perf_counter() - t0)
        out.append(record)
    return out


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pbf", nargs="*", type=Path, default=[SHARED_OSM / n for n in CITIES])
    ap.add_argument("--bins", type=int, default=40)
    ap.add_argument("--trucks", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    files = [p for p in args.pbf if p.is_file()]
    if not files:
        print(f"no such file {args.pbf}: nothing to measure", file=sys.stderr)
        return
    for pbf in files:
        for record in run(pbf, args):
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
