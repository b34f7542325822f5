"""How the scenario outputs write numbers: to :data:`DECIMALS` decimals, everywhere.

:func:`rounded` rounds a number as the CSV files hold it (days.csv, unserved.csv,
comparison.csv, sweep.csv; a plain number a program reads back) and as the totals of a run
keep it; :func:`format_number` writes that figure in the tables people read (the printed
tables and comparison.md / sweep.md), with thousands separators and no trailing zeros.
"""

from __future__ import annotations

import math
from typing import Any

DECIMALS = 3  # decimals of every number the scenario outputs write (CSV, markdown, printed)
MAX_DECIMALS = 6  # at most, for a value just short of one (:func:`decimals_short_of_one`)


def decimals_short_of_one(v: float, decimals: int = DECIMALS) -> int:
    """``decimals``, or more for a value just short of 1 (a service level of 0.9996: four
    overflows in 10 000 bin-days), so that it never reads as 1; at most
    :data:`MAX_DECIMALS`."""
    while 1.0 - v > 0.0 and round(v, decimals) >= 1.0 and decimals < MAX_DECIMALS:
        decimals += 1
    return decimals


def rounded(v: Any) -> Any:
    """``v`` rounded to :data:`DECIMALS` (more just short of 1) when it is a finite float
    (no float noise such as 12.300000000000001 in a file); anything else as it is."""
    if isinstance(v, float) and math.isfinite(v):
        return round(v, decimals_short_of_one(v)) + 0.0  # + 0.0: no -0.0
    return v


def format_number(v: object) -> str:
    """A number as the tables people read show it, the printed ones and comparison.md /
    sweep.md alike: :func:`rounded` as the CSV files hold it, with thousands separators and
    no trailing zeros ('1,234.5', '0.713', '0.9996', '12,345'); nan is 'n/a'."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if math.isnan(v):
        return "n/a"
    text = f"{rounded(v):,.{decimals_short_of_one(v)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
