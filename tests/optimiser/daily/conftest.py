"""Fixtures of the daily job's tests: the tiny city and its planned day (computed once for
the package's test modules, as once for the one module they were before)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from fleet.models import (
    Bin,
    CitizenReport,
    Depot,
    DisposalSite,
    FillReading,
    Inventory,
    TimeWindow,
    Vehicle,
)
from optimiser.daily import DayPlan
from tests.optimiser.daily.city import DAY, TZ, plan_tiny_day, rising_readings


@pytest.fixture(scope="package")
def tiny_city() -> tuple[Inventory, list[FillReading], list[CitizenReport]]:
    """Six bins: two filling fast (must), one reported overflowing, three nearly empty."""
    bins = tuple(
        Bin(bin_id=f"b{i}", lon=24.94 + 0.002 * i, lat=60.17 + 0.001 * i, capacity_l=660)
        for i in range(6)
    )
    inventory = Inventory(
        bins=bins,
        depots=(Depot(depot_id="d", lon=24.93, lat=60.165),),
        vehicles=(
            Vehicle(
                vehicle_id="t1",
                depot_id="d",
                capacity_l=1000,
                capacity_kg=2000,
                shift=TimeWindow(time(6), time(14)),
                break_s=1800,
                break_window=TimeWindow(time(9), time(11)),
            ),
        ),
        sites=(DisposalSite(site_id="s", lon=24.96, lat=60.18),),
    )
    readings = rising_readings("b0", 0.012, 0.05) + rising_readings("b1", 0.011, 0.1)
    for b in ("b3", "b4", "b5"):
        readings += rising_readings(b, 0.0005, 0.02)
    report = CitizenReport(
        report_id="r1",
        at=datetime.combine(DAY - timedelta(days=1), time(18), tzinfo=TZ),
        bin_id="b2",
    )
    return inventory, readings, [report]


@pytest.fixture(scope="package")
def day(tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]]) -> DayPlan:
    """The planned day (1 s solver budget)."""
    return plan_tiny_day(*tiny_city)
