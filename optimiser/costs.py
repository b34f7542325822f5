"""The cost of a route: the one definition shared by the engines, the checker and scoring."""

from __future__ import annotations

from optimiser.problem import VehicleSpec

# Cost rates are per km and per hour; the exact value is kept in integers by scaling with
# KM_HOUR = 1000 m * 3600 s and rounding half up once per route.
KM_HOUR = 1000 * 3600
# What an hour of lateness against a stop's response target (``Stop.due_s``, an overflow
# alert's) costs, in cost units: 1 currency unit a second, i.e. 120 hours of a truck at the
# default 30 an hour. The search meets a target whenever some route can, then keeps the
# lateness as small as it can; it is not a rule, so a target no truck can meet never costs
# the bin its visit.
LATE_COST_PER_H = 360_000


def route_cost(vehicle: VehicleSpec, *, distance_m: int, duration_s: int, used: bool) -> int:
    """Cost of a route in integer cost units.

    ``fixed_cost`` (when the truck is used) + ``cost_per_km`` * km + ``cost_per_hour`` *
    hours, where hours is the route's span (end - start, waiting and break included); the
    variable part is rounded half up to a whole cost unit.

    Parameters
    ----------
    vehicle : VehicleSpec
        Its cost rates.
    distance_m : int
        Route length, metres.
    duration_s : int
        Route span, seconds.
    used : bool
        Whether the truck serves anything (the fixed cost is paid only then).
    """
    scaled = vehicle.cost_per_km * distance_m * 3600 + vehicle.cost_per_hour * duration_s * 1000
    variable = (scaled + KM_HOUR // 2) // KM_HOUR
    return variable + (vehicle.fixed_cost if used else 0)


def late_cost(late_s: int) -> int:
    """Cost units of serving a stop ``late_s`` seconds after its response target (rounded
    half up); 0 when on time."""
    return (max(0, late_s) * LATE_COST_PER_H + 1800) // 3600
