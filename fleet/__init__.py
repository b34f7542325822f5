"""fleet: what exists in the world (bins, readings, vehicles, depots, disposal sites) and how full it is."""

from fleet.errors import FleetDataError
from fleet.models import (
    Action,
    BinDecision,
    Bin,
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
    "BinDecision",
    "Bin",
    "CitizenReport",
    "Depot",
    "DisposalSite",
    "FillReading",
    "FleetDataError",
    "Inventory",
    "TimeWindow",
    "Vehicle",
]
