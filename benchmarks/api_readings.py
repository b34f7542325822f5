"""A sensor's weight alone at city size: the density evidence ``POST /readings`` reads.

``python -m benchmarks.api_readings [--bins 5000] [--trucks 50] [--days 14] [--repeat 5]``

A weight without a level (a sensor that only weighs) is turned into a fill at its bin's
density, measured from the bin's stored readings and the trucks' pickups of the
``readings_history_days`` before (``api.repo.fills_from_weights``), inside the writer's
session. A temporary SQLite file gets ``--bins`` bins, a plan per day and ``--days`` days of
``visit_done`` reports with the fill found and the weight lifted: each day every truck
empties about half of its own bins (bin ``i`` is truck ``i mod trucks``'s; one report in
ten is another truck's, covering for it). Timed, best of ``--repeat``: one weight's
``fills_from_weights`` (which reads the log of the trucks that reported its bin), a
hundred weights of different bins, and, the baseline in the same process, the whole
city's collection log of the window (``api.repo.collection_log`` without bins), which it
read before session 27. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from api import repo
from api.db import Base, BinRow, Database, PlanRow, ProgressRow
from fleet.models import WeightReading

START = datetime(2026, 11, 10, 6, tzinfo=UTC)


def _city(db: Database, bins: int, trucks: int, days: int, seed: int) -> int:
    """Bins, one plan per day and the days' ``visit_done`` reports; how many reports."""
    rng = random.Random(seed)
    with db.writer() as s:
        s.add_all(
            BinRow(
                bin_id=f"b{i:05d}",
                lon=24.90 + 0.1 * rng.random(),
                lat=60.15 + 0.06 * rng.random(),
                capacity_l=660,
                stream="residual",
                service_s=60,
            )
            for i in range(bins)
        )
        first = START.date()
        s.add_all(
            PlanRow(
                id=d + 1,
                plan_date=first + timedelta(days=d),
                version=1,
                origin="nightly",
                status="done",
                time_limit_s=10,
            )
            for d in range(days)
        )
        s.flush()
        reports = [r for d in range(days) for r in _day(rng, d, first, bins, trucks)]
        s.add_all(reports)
    return len(reports)


def _day(rng: random.Random, d: int, first: date, bins: int, trucks: int) -> list[ProgressRow]:
    """Day ``d``'s reports: about half the bins, each by its own truck (one in ten by
    another), a minute apart per truck."""
    done = sorted(rng.sample(range(bins), bins // 2))
    count = [0] * trucks
    out = []
    for i in done:
        truck = i % trucks if rng.random() >= 0.1 else rng.randrange(trucks)
        count[truck] += 1
        fill = round(rng.uniform(0.3, 1.0), 2)
        out.append(
            ProgressRow(
                plan_date=first + timedelta(days=d),
                plan_id=d + 1,
                vehicle_id=f"v{truck:02d}",
                kind="visit_done",
                at=START + timedelta(days=d, minutes=count[truck]),
                bin_id=f"b{i:05d}",
                fill_fraction=fill,
                weight_kg=round(fill * 660 * 0.1, 1),
            )
        )
    return out


def best_s(repeat: int, fn: Callable[[], object]) -> float:
    """The best of ``repeat`` runs of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run(bins: int, trucks: int, days: int, repeat: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        Base.metadata.create_all(db.engine)
        reports = _city(db, bins, trucks, days, seed)
        now = START + timedelta(days=days)
        one = [WeightReading(bin_id="b00017", at=now, weight_kg=30.0)]
        hundred = [
            WeightReading(bin_id=f"b{i:05d}", at=now, weight_kg=30.0)
            for i in random.Random(seed).sample(range(bins), min(100, bins))
        ]
        with db.reader() as s:
            got = repo.fills_from_weights(s, one, days)
            assert not isinstance(got[0], str), got
            one_s = best_s(repeat, lambda: repo.fills_from_weights(s, one, days))
            hundred_s = best_s(repeat, lambda: repo.fills_from_weights(s, hundred, days))
            city_s = best_s(repeat, lambda: repo.collection_log(s, now - timedelta(days=days), now))
        db.engine.dispose()
    return {
        "bins": bins,
        "trucks": trucks,
        "days": days,
        "reports": reports,
        "one_weight_s": round(one_s, 3),
        "hundred_weights_s": round(hundred_s, 3),
        "city_log_s": round(city_s, 3),
        "one_weight_vs_city_log": round(one_s / city_s, 3),
        "hundred_weights_vs_city_log": round(hundred_s / city_s, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=5000)
    parser.add_argument("--trucks", type=int, default=50)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.bins, args.trucks, args.days, args.repeat, args.seed)))


if __name__ == "__main__":
    main()
