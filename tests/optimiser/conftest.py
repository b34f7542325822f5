"""Tiny hand-built routing problems for the optimiser core tests.

Points lie on a grid in km; travel is Manhattan: 1 km = 1000 m = 100 s (36 km/h). The
``kit`` fixture builds trucks, stops, sites and problems with readable defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from typing import Any

import numpy as np
import pytest

from fleet.models import Bin, Depot, DisposalSite, Inventory, TimeWindow, Vehicle
from network.matrix import TravelMatrix
from optimiser.check import check
from optimiser.daily import DayPlan
from optimiser.params import SolveParams
from optimiser.plan import Plan, Visit, VisitKind
from optimiser.problem import Problem, Site, Stop, VehicleSpec
from optimiser.reroute import Progress
from optimiser.solve import solve

H = 3600
SHIFT = (6 * H, 14 * H)


def progress_after(
    vehicle_ref: str,
    done: Sequence[str],
    last: Visit,
    late_s: int = 0,
    *,
    break_taken: bool = False,
) -> Progress:
    """Truck ``vehicle_ref`` with ``done`` done, standing at ``last`` (the last of them, or
    its START) ``late_s`` seconds after it ends, with the loads the plan has there."""
    assert last.location is not None  # a START, bin or site
    return Progress(
        vehicle_ref=vehicle_ref,
        done=tuple(done),
        location=last.location,
        time_s=last.end_s + late_s,
        volume_l=last.volume_l,
        weight_kg=last.weight_kg,
        daily_l=last.daily_l,
        daily_kg=last.daily_kg,
        break_taken=break_taken,
    )


class Kit:
    """Builders for tiny problems (all units as in ``optimiser.problem``)."""

    H = H
    SHIFT = SHIFT

    @staticmethod
    def matrix(points_km: Sequence[tuple[float, float]]) -> TravelMatrix:
        """Manhattan grid matrix: metres = 1000 * km, seconds = metres / 10."""
        xy = np.array(points_km, dtype=float)
        km = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
        dist = np.rint(km * 1000).astype(np.int64)
        return TravelMatrix(
            duration_s=dist // 10,
            distance_m=dist,
            points=tuple((float(x), float(y)) for x, y in points_km),
        )

    @staticmethod
    def truck(ref: str = "t1", **kw: Any) -> VehicleSpec:
        values: dict[str, Any] = {
            "start": 0,
            "end": 0,
            "capacity_l": 10_000,
            "capacity_kg": 10_000,
            "streams": frozenset({"residual"}),
            "shift_s": SHIFT,
        }
        values.update(kw)
        return VehicleSpec(ref=ref, **values)

    @staticmethod
    def stop(ref: str, location: int, **kw: Any) -> Stop:
        values: dict[str, Any] = {"volume_l": 100, "weight_kg": 10, "service_s": 60}
        values.update(kw)
        return Stop(ref=ref, location=location, **values)

    @staticmethod
    def site(ref: str = "s1", location: int = 1, **kw: Any) -> Site:
        values: dict[str, Any] = {
            "streams": frozenset({"residual"}),
            "window_s": (0, 24 * H - 1),
            "unload_s": 300,
        }
        values.update(kw)
        return Site(ref=ref, location=location, **values)

    @staticmethod
    def solved(problem: Problem, seconds: float = 0.5) -> Plan:
        """Solve with a tiny budget and assert the checker accepts the plan."""
        plan = solve(problem, SolveParams(time_limit_s=seconds, first_solution_share=0.5))
        violations = check(problem, plan)
        assert violations == [], violations
        return plan

    @staticmethod
    def kinds(plan: Plan, vehicle_ref: str) -> list[VisitKind]:
        route = next(r for r in plan.routes if r.vehicle_ref == vehicle_ref)
        return [v.kind for v in route.visits]

    @staticmethod
    def route_of(plan: Plan, vehicle_ref: str) -> Any:
        return next(r for r in plan.routes if r.vehicle_ref == vehicle_ref)


@pytest.fixture
def kit() -> type[Kit]:
    """The builders."""
    return Kit


@pytest.fixture
def line_problem() -> Problem:
    """Depot at 0 km, site at 5 km, six 400 l bins at 1..4 km and (1,1), (2,1); 1000 l truck."""
    m = Kit.matrix([(0, 0), (5, 0), (1, 0), (2, 0), (3, 0), (4, 0), (1, 1), (2, 1)])
    stops = tuple(Kit.stop(f"b{i}", i, volume_l=400, weight_kg=40) for i in range(2, 8))
    return Problem(
        matrix=m,
        stops=stops,
        vehicles=(Kit.truck(capacity_l=1000),),
        sites=(Kit.site(location=1),),
    )


@pytest.fixture
def random_problem() -> Problem:
    """Seeded: 30 bins (100-600 l, every 5th with an 08-11 h window), 3 trucks (2000 l), 2 sites."""
    import numpy as np

    rng = np.random.default_rng(7)
    pts = [(0.0, 0.0), (4.0, 4.0), (-4.0, 3.0)] + [
        (float(x), float(y)) for x, y in rng.uniform(-5, 5, size=(30, 2))
    ]
    h = Kit.H
    stops = tuple(
        Kit.stop(
            f"b{i}",
            i,
            volume_l=int(rng.integers(100, 600)),
            window_s=(8 * h, 11 * h) if i % 5 == 0 else None,
        )
        for i in range(3, 33)
    )
    return Problem(
        matrix=Kit.matrix(pts),
        stops=stops,
        vehicles=tuple(Kit.truck(f"t{k}", capacity_l=2000) for k in range(3)),
        sites=(Kit.site("s1", 1), Kit.site("s2", 2)),
    )


def street_town(
    bins: Sequence[Bin],
    depot: tuple[float, float] = (10.0, 50.0),
    site: tuple[float, float] = (10.002, 50.0),
) -> Inventory:
    """``bins`` with one depot ``d`` and one disposal site ``s`` (lon, lat; by default at A
    and C of the six-node street town of tests.network, ``build_tiny_graph``) and one
    5000 l / 2000 kg truck ``t1`` working 06:00-14:00."""
    return Inventory(
        bins=tuple(bins),
        depots=(Depot(depot_id="d", lon=depot[0], lat=depot[1]),),
        vehicles=(
            Vehicle(
                vehicle_id="t1",
                depot_id="d",
                capacity_l=5000,
                capacity_kg=2000,
                shift=TimeWindow(time(6), time(14)),
            ),
        ),
        sites=(DisposalSite(site_id="s", lon=site[0], lat=site[1]),),
    )


def at_row(visit: Visit) -> int:
    """The matrix row of ``visit``'s place (a visit with none fails the test)."""
    assert visit.location is not None, visit
    return visit.location


def route_work(day: DayPlan, truck: str) -> list[Visit]:
    """The bin and disposal visits of ``truck``'s route in ``day``."""
    route = next(r for r in day.plan.routes if r.vehicle_ref == truck)
    return [v for v in route.visits if v.kind in (VisitKind.BIN, VisitKind.DISPOSAL)]


def done_through(truck: str, work: list[Visit], last: int) -> Progress:
    """``truck`` has done ``work`` up to and including ``work[last]``, as planned."""
    here = work[last]
    return Progress(
        vehicle_ref=truck,
        done=tuple(v.ref for v in work[: last + 1]),
        location=int(here.location or 0),
        time_s=here.end_s,
        volume_l=here.volume_l,
        weight_kg=here.weight_kg,
        daily_l=here.daily_l,
        daily_kg=here.daily_kg,
    )
