"""Frozen domain records: what exists in the world.

Coordinates are WGS84 degrees, always given as ``lon`` then ``lat``. Clock times of day
(``datetime.time``) are local to the city; instants (``datetime.datetime``) are tz-aware.
Units are in the field names: ``_l`` litres, ``_kg`` kilograms, ``_s`` seconds, ``_m`` metres.

The records live by topic, and import from here: :mod:`fleet.models_assets` (bins, depots,
disposal sites, vehicles, time windows), :mod:`fleet.models_records` (readings, weights,
pickups, citizens' reports, downtimes) and :mod:`fleet.models_inventory` (the inventory and
its service days); this module has the bins' collection decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fleet.models_assets import (
    DEFAULT_STREAM,
    DENSITY_RANGE_KG_PER_L,
    MAX_COST,
    PAST_MIDNIGHT_FIXES,
    STREAM_DENSITY_KG_PER_L,
    Bin,
    Depot,
    DisposalSite,
    TimeWindow,
    Vehicle,
    check_break,
    clock_s,
)
from fleet.models_inventory import (
    OPPORTUNITY_HORIZON_DAYS,
    Inventory,
    collection_period,
    next_opportunities,
    taker_key,
)
from fleet.models_records import (
    MAX_FILL,
    CitizenReport,
    Downtime,
    FillReading,
    PickupRecord,
    WeightReading,
)


class Action(StrEnum):
    """What the collection policy decided for a bin on a plan date."""

    MUST = "must"  # predicted to overflow before the next opportunity, or reported overflowing
    MAY = "may"  # worth collecting if the route passes by: optional, with a prize
    SKIP = "skip"  # not worth a visit


@dataclass(frozen=True, slots=True, kw_only=True)
class BinDecision:
    """The policy's decision for one bin at the planned collection time.

    Attributes
    ----------
    bin_id : str
        The bin.
    action : Action
        must / may / skip.
    expected_fill_fraction : float
        Forecast fill at the planned collection time (may exceed 1.0 when overflowing).
    expected_volume_l : float
        Litres to load: the fill expected at the latest time the bin may be collected that
        day (``due_at``, else the end of the shifts), capped at the bin's capacity.
    expected_weight_kg : float
        Kilograms to load.
    prize : float
        Value of collecting a MAY bin (cost units, same as vehicle costs); 0 for MUST/SKIP.
    reason : str
        Human-readable reason ("forecast overflow 2026-11-25T09:10+02:00", "citizen report").
    due_at : datetime, optional
        When the bin is forecast to reach 100 % during the collection day (tz-aware): the
        truck should come before. None when it is not expected to overflow that day, or
        already overflows when the day starts.
    release_at : datetime, optional
        For a MUST bin that fills faster than the gap to the next opportunity: empty it no
        earlier than this, so that it lasts until then. When that comes after ``due_at`` (or
        the bin is full when the day starts) the bin needs two visits that day: one by
        ``due_at`` and one from ``release_at``.
    refill_fraction : float
        Expected fill a visit after ``release_at`` may find, at the latest time it may come
        (the release or the end of the shifts), if the first emptying was at the start of
        the day (0 without a release).
    """

    bin_id: str
    action: Action
    expected_fill_fraction: float
    expected_volume_l: float
    expected_weight_kg: float
    prize: float = 0.0
    reason: str = ""
    due_at: datetime | None = None
    release_at: datetime | None = None
    refill_fraction: float = 0.0


__all__ = [
    "DEFAULT_STREAM",
    "DENSITY_RANGE_KG_PER_L",
    "MAX_COST",
    "MAX_FILL",
    "OPPORTUNITY_HORIZON_DAYS",
    "PAST_MIDNIGHT_FIXES",
    "STREAM_DENSITY_KG_PER_L",
    "Action",
    "Bin",
    "BinDecision",
    "CitizenReport",
    "Depot",
    "DisposalSite",
    "Downtime",
    "FillReading",
    "Inventory",
    "PickupRecord",
    "TimeWindow",
    "Vehicle",
    "WeightReading",
    "check_break",
    "clock_s",
    "collection_period",
    "next_opportunities",
    "taker_key",
]
