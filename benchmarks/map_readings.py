"""The dashboard's readings at city size: each bin's newest against the newest 10 000.

``python -m benchmarks.map_readings [--bins 2000] [--hours 72] [--repeat 5]``

The dashboard's map shows each bin's newest reading from 3 days before its date. Before
session 72 it read the newest 10 000 readings (``GET /readings?limit=10000``) and took each
bin's newest of those: a city of 2000 bins read every hour fills 10 000 readings in 5
hours. It now reads ``GET /readings/latest`` (one grouped query), and live.js compares the
last stored reading (``order=received``). A temporary SQLite file gets ``--bins`` bins read
every hour for ``--hours`` hours; timed, best of ``--repeat``, in one process: the list of
10 000 (the baseline), each bin's newest, the last stored. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from api.db import Base, BinRow, Database, ReadingRow
from api.routes.readings import latest_readings, list_readings
from api.security import Role
from benchmarks.api_readings import best_s

START = datetime(2026, 12, 1, tzinfo=UTC)
VIEWER = Role.VIEWER  # the routes' key check, passed as FastAPI would


def _city(db: Database, bins: int, hours: int) -> int:
    """``bins`` bins, each read every hour for ``hours`` hours; how many readings."""
    ids = [f"b{i:05d}" for i in range(bins)]
    with db.writer() as s:
        shape = {"lon": 24.9, "lat": 60.2, "capacity_l": 240, "stream": "mixed", "service_s": 30}
        s.execute(insert(BinRow), [{"bin_id": b, **shape} for b in ids])
        for h in range(hours):
            at = START + timedelta(hours=h)
            rows = [
                {"bin_id": b, "at": at + timedelta(seconds=i), "fill_fraction": h % 24 / 24}
                for i, b in enumerate(ids)
            ]
            s.execute(insert(ReadingRow), rows)
    return bins * hours


def run(bins: int, hours: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        Base.metadata.create_all(db.engine)
        readings = _city(db, bins, hours)
        page = partial(list_readings, db, VIEWER, since=START, limit=10_000)
        latest = partial(latest_readings, db, VIEWER, since=START)
        last = partial(list_readings, db, VIEWER, since=START, limit=1, order="received")
        page_rows, latest_rows = len(page()), len(latest())
        page_s, latest_s, last_s = (best_s(repeat, f) for f in (page, latest, last))
        db.engine.dispose()
    return {
        "bins": bins,
        "readings": readings,
        "newest_10000_s": round(page_s, 4),
        "newest_10000_rows": page_rows,
        "latest_s": round(latest_s, 4),
        "latest_rows": latest_rows,
        "last_stored_s": round(last_s, 4),
        "latest_vs_newest_10000": round(latest_s / page_s, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=2000)
    parser.add_argument("--hours", type=int, default=72)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.bins, args.hours, args.repeat)))


if __name__ == "__main__":
    main()
