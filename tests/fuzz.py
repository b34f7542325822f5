"""The seeds of the tests marked ``fuzz`` (never in ``make test``)."""

from __future__ import annotations

import os


def fuzz_seeds() -> list[int]:
    """``BINROUTE_FUZZ_SEEDS`` ("100-160": seeds 100 to 159), none by default: the seeds of
    the tests marked ``fuzz``, never in ``make test``."""
    lo, _, hi = os.environ.get("BINROUTE_FUZZ_SEEDS", "").partition("-")
    return list(range(int(lo), int(hi or int(lo) + 1))) if lo else []
