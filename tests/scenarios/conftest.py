"""Tiny hand-made scenario fixtures (haversine distances, a dozen bins)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from fleet.models import Bin, Depot, DisposalSite, Inventory, TimeWindow, Vehicle
from network import HaversineProvider
from scenarios.city import City
from scenarios.config import ScenarioConfig, config_from_dict

TZ = ZoneInfo("Europe/Helsinki")


def tiny_dict(**over: object) -> dict[str, object]:
    """A valid scenario mapping: 12 bins, 3 days, tiny solver budget."""
    data: dict[str, object] = {
        "name": "tiny",
        "city": "helsinki",
        "n_bins": 12,
        "sensor_share": 0.75,
        "warmup_days": 4,
        "days": 3,
        "seed": 3,
        "time_limit_s": 0.3,
        "provider": "haversine",
        "fleet": {"trucks": 2},
        "policies": [
            {"kind": "fixed", "every_k_days": 2},
            {"kind": "threshold", "fill_threshold": 0.6},
            {"kind": "forecast", "must_fill": 0.9, "may_fill": 0.6},
        ],
    }
    data.update(over)
    return data


@pytest.fixture
def tiny_config() -> ScenarioConfig:
    return config_from_dict(tiny_dict(), source="tiny.toml")


def tiny_bins(n: int = 12) -> list[Bin]:
    return [
        Bin(
            bin_id=f"b{i:02d}",
            lon=24.93 + 0.002 * (i % 4),
            lat=60.165 + 0.002 * (i // 4),
            capacity_l=360,
            service_s=90,
            has_sensor=i % 4 != 3,
            street=f"street {i // 4}",
        )
        for i in range(n)
    ]


@pytest.fixture
def tiny_city() -> City:
    depot = Depot(depot_id="d", lon=24.925, lat=60.16)
    site = DisposalSite(
        site_id="s",
        lon=24.945,
        lat=60.175,
        streams=frozenset({"residual"}),
        opening=TimeWindow(time(5), time(22)),
    )
    trucks = tuple(
        Vehicle(
            vehicle_id=f"t{i}",
            depot_id="d",
            capacity_l=6000,
            capacity_kg=2000,
            shift=TimeWindow(time(6), time(14)),
        )
        for i in (1, 2)
    )
    inv = Inventory(bins=tuple(tiny_bins()), depots=(depot,), vehicles=trucks, sites=(site,))
    return City(inventory=inv, provider=HaversineProvider())


@pytest.fixture
def midnight() -> datetime:
    return datetime(2026, 11, 2, 0, 0, tzinfo=TZ)
