"""What logging the inventory's changes costs a city's bulk import, and a page's look.

``python -m benchmarks.inventory_changes [--bins 10000] [--repeat 3]``

Since session 73 each record created, changed or deleted leaves a row in
``inventory_changes`` (``api.repo_changes``; ``GET /inventory/changes``). A fresh service
(a temporary SQLite file, no scheduler) takes ``POST /bins/bulk`` of ``--bins`` bins three
ways: all new (the bins deleted before), all moved, all unchanged (none logged); each
timed with the log on and, as the baseline in the same process, off (``ChangeLog.note``
a no-op), the two alternating, best of ``--repeat``. Then the live look a dispatcher's
open page makes every 15 s, ``GET /inventory/changes?after=N`` with nothing new, is timed
with the log as long as the runs left it. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from fastapi.testclient import TestClient
from sqlalchemy import delete

from api import repo_changes
from api.db import BinRow
from api.deps import Runtime
from api.settings import Settings
from benchmarks.api_readings import best_s
from benchmarks.api_reroute import _ok, service


def _rows(bins: int, shift: float) -> list[dict[str, Any]]:
    """``bins`` 660 l bins on a grid around Helsinki, ``shift`` degrees east."""
    return [
        {
            "bin_id": f"b{i:05d}",
            "lon": 24.90 + (i % 100) * 1e-3 + shift,
            "lat": 60.15 + (i // 100) * 5e-4,
            "capacity_l": 660,
        }
        for i in range(bins)
    ]


def _bulk_s(
    client: TestClient, key: dict[str, str], runtime: Runtime, bins: int, shift: float
) -> dict[str, float]:
    """Seconds of a bulk of ``bins`` bins: new (all deleted before), moved (``shift``
    degrees east), unchanged (the same bulk again)."""

    def post(rows: list[dict[str, Any]]) -> Callable[[], None]:
        return lambda: _ok(client.post("/bins/bulk", json=rows, headers=key), "bins")

    def fresh() -> None:
        with runtime.db.writer() as s:
            s.execute(delete(BinRow))

    fresh()
    new_s = best_s(1, post(_rows(bins, 0.0)))
    moved = _rows(bins, shift)
    return {"new": new_s, "moved": best_s(1, post(moved)), "unchanged": best_s(1, post(moved))}


def _best(
    client: TestClient, key: dict[str, str], runtime: Runtime, bins: int, repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """The best seconds of each way with the log off and on, the two alternating."""
    off: dict[str, float] = {}
    on: dict[str, float] = {}
    for r in range(repeat):
        with mock.patch.object(repo_changes.ChangeLog, "note", lambda *a, **k: None):
            for way, s in _bulk_s(client, key, runtime, bins, 1e-4 * (2 * r + 1)).items():
                off[way] = min(off.get(way, s), s)
        for way, s in _bulk_s(client, key, runtime, bins, 1e-4 * (2 * r + 2)).items():
            on[way] = min(on.get(way, s), s)
    return off, on


def run(bins: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            scheduler_enabled=False,
            city="haversine",
        )
        with service(settings) as (client, key, runtime):
            off, on = _best(client, key, runtime, bins, repeat)
            logged = _ok(client.get("/inventory/changes?limit=1", headers=key), "changes")
            newest = logged[0]["id"] if logged else 0
            look_s = best_s(
                repeat * 10,
                lambda: _ok(client.get(f"/inventory/changes?after={newest}", headers=key), "look"),
            )
    out: dict[str, Any] = {"bins": bins, "changes_logged": newest}
    for way in ("new", "moved", "unchanged"):
        out[f"{way}_log_off_s"] = round(off[way], 3)
        out[f"{way}_log_on_s"] = round(on[way], 3)
        out[f"{way}_on_vs_off"] = round(on[way] / off[way], 3)
    out["look_ms"] = round(1000 * look_s, 2)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.bins, args.repeat)))


if __name__ == "__main__":
    main()
