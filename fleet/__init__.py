"""fleet: what exists (bins, readings, vehicles, depots, sites) and how full it is."""

from fleet.errors import FleetDataError
from fleet.models import (
    Action,
    Bin,
    BinDecision,
    CitizenReport,
    Depot,
    DisposalSite,
    FillReading,
    Inventory,
    TimeWindow,
    Vehicle,
)

__all__ = [
    "Action",
    "Bin",
    "BinDecision",
    "CitizenReport",
    "Depot",
    "DisposalSite",
    "FillReading",
    "FleetDataError",
    "Inventory",
    "TimeWindow",
    "Vehicle",
]
