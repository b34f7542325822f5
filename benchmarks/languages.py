"""Route sheets in the drivers' languages: what saying them in another language costs.

Run: ``python -m benchmarks.languages [--street-bins 150] [--time-limit 10]``. Plans the
demo day (Helsinki, the embedded city) once, takes its directions once (as the service
stores them, in English), then, alternately, three times each (the fastest kept):

- ``sheets``: ``route_sheets_html`` of the stored plan in each language (every
  instruction said again from its step's fields, numbers and day names the language's);
- ``directions``: ``localized`` of every truck's stored directions in each language (the
  service's ``GET /plans/{id}/directions/{vehicle}?language=``).

Prints one JSON line per language: its seconds, the ratio to English in the same run, the
page's size, and the share of the page's instructions that read as the English ones (0 for
every language but English: a string left untranslated would show there).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from network.language import LANGUAGES
from optimiser.export import plan_json, routes_geojson
from optimiser.params import SolveParams
from optimiser.sheets import Language, all_directions, language, localized, route_sheets_html
from scenarios.demo import TZ, build_demo_city, provider_for

REPEATS = 3


def _all_localized(
    plan: Mapping[str, Any], stored: Mapping[str, Mapping[str, Any]], lang: Language
) -> list[dict[str, Any]]:
    """Every truck's stored directions said in ``lang``'s language."""
    return [localized(plan, d, lang) for d in stored.values()]


def _fastest(fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(street_bins: int, time_limit_s: float) -> list[dict[str, Any]]:
    """The demo day's sheets and directions in every language (see the module's doc)."""
    from optimiser.daily import plan_day

    city = build_demo_city(street_bins=street_bins, seed=7)
    day = plan_day(
        city.inventory,
        city.history.readings(),
        city.history.reports_until(city.history.end),
        provider_for(city),
        plan_date=city.plan_date,
        tz=TZ,
        params=SolveParams(time_limit_s=time_limit_s, seed=7),
        last_emptied=city.history.last_emptied(city.history.end),
    )
    net = city.network

    def directions(points, kerb):  # type: ignore[no-untyped-def]
        return net.directions(points, max_snap_m=150.0, kerb_side=kerb)

    def geometry(points, kerb):  # type: ignore[no-untyped-def]
        return net.polyline(points, max_snap_m=150.0, kerb_side=kerb)

    plan, stored = plan_json(day), all_directions(day, directions)
    geo = routes_geojson(day, geometry)
    english = [s["instruction"] for d in stored.values() for leg in d["legs"] for s in leg["steps"]]
    out = []
    for code in LANGUAGES:
        lang = language(code)
        sheet = partial(route_sheets_html, plan, stored, geojson=geo, lang=lang)
        page = sheet()
        said = [
            s["instruction"]
            for d in stored.values()
            for leg in localized(plan, d, lang)["legs"]
            for s in leg["steps"]
        ]
        same = sum(a == b for a, b in zip(said, english, strict=True))
        out.append(
            {
                "language": code,
                "sheets_s": _fastest(sheet),
                "directions_s": _fastest(partial(_all_localized, plan, stored, lang)),
                "page_kb": round(len(page.encode()) / 1024, 1),
                "steps": len(said),
                "as_english": round(same / max(len(said), 1), 3),
                "bins": len(day.plan.served_refs),
            }
        )
    base = next(r for r in out if r["language"] == "en")
    for r in out:
        r["sheets_vs_en"] = round(r["sheets_s"] / base["sheets_s"], 2)
        r["directions_vs_en"] = round(r["directions_s"] / base["directions_s"], 2)
        r["sheets_s"], r["directions_s"] = round(r["sheets_s"], 4), round(r["directions_s"], 4)
    return out


def main(argv: list[str] | None = None) -> None:
    """Print one JSON line per language."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--street-bins", type=int, default=150)
    ap.add_argument("--time-limit", type=float, default=10.0)
    args = ap.parse_args(argv)
    for row in run(args.street_bins, args.time_limit):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
