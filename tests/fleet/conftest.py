"""Tiny hand-made fleet fixtures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fleet.models import Bin, FillReading

CET = timezone(timedelta(hours=1))
# A Monday at midnight, local time (UTC+1).
T0 = datetime(2026, 11, 2, 0, 0, tzinfo=CET)


def at(hours: float) -> datetime:
    """``T0 + hours``."""
    return T0 + timedelta(hours=hours)


def make_bin(bin_id: str = "b1", **kw: object) -> Bin:
    """A 1100 l residual bin in Heidelberg unless overridden."""
    args: dict[str, object] = {"bin_id": bin_id, "lon": 8.69, "lat": 49.41, "capacity_l": 1100}
    args.update(kw)
    return Bin(**args)  # type: ignore[arg-type]


def readings(bin_id: str, pairs: list[tuple[float, float]]) -> list[FillReading]:
    """Readings from (hours after T0, fill fraction) pairs."""
    return [FillReading(bin_id=bin_id, at=at(h), fill_fraction=f) for h, f in pairs]


@pytest.fixture
def sawtooth() -> list[FillReading]:
    """Bin b1 filling 2 %/h from 0.10, emptied at 35.5 h, one low spike at 20 h, a gap
    from 45 h to 52 h, hourly readings 0..60 h."""
    pairs = []
    for h in range(61):
        if 45 <= h <= 52:
            continue
        fill = 0.10 + 0.02 * h if h < 35.5 else 0.02 + 0.02 * (h - 35.5)
        pairs.append((float(h), 0.05 if h == 20 else fill))
    return readings("b1", pairs)
