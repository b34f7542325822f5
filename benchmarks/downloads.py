"""What a downloaded city missed before: the ways osmnx's "drive" network leaves out of the
streets the truck rules drive, and the turn restrictions a download did not read.

Run: ``python -m benchmarks.downloads [PBF ...]`` (default: the OSM extracts of
``../shared/data/osm`` and the embedded Helsinki). Nothing is downloaded: each file's ways
are read with pyosmium, the truck rules (``network.hours.way_rule``) say which a truck may
drive, and osmnx's own "drive" filter (``osmnx._overpass._get_network_filter``, its
Overpass QL read here as the conditions it states) says which of those a download by it
left out, by the condition that dropped them, with their km; the file's turn restrictions
that bind a truck (``network.osm.read_turn_restrictions``) are those a download ignored.
Prints one JSON line per file.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.turns import city_files
from network import helsinki_pbf
from network.hours import way_rule
from network.osm import read_turn_restrictions
from network.speeds import DEFAULT_SETTINGS

DAY = date(2026, 12, 4)


def drive_conditions() -> list[tuple[str, str, bool]]:
    """osmnx's "drive" filter as (key, regex, negated) conditions (``["k"!~"re"]``)."""
    from osmnx import _overpass

    text = _overpass._get_network_filter("drive")
    return [(k, rx, neg == "!") for k, neg, rx in re.findall(r'\["([^"]+)"(!?)~"([^"]*)"\]', text)]


def left_out_by(tags: dict[str, str], conditions: list[tuple[str, str, bool]]) -> str | None:
    """The first condition of ``conditions`` a way of ``tags`` fails, as ``key~value``."""
    for key, rx, negated in conditions:
        value = tags.get(key)
        matched = value is not None and re.search(rx, value) is not None
        if negated and matched:
            return f"{key}={value}" if key == "highway" else f"{key}~{rx}"
    return None


def run(pbf: Path) -> dict[str, Any]:
    import osmium

    conditions = drive_conditions()
    ways, km = 0, 0.0
    dropped: dict[str, tuple[int, float]] = {}  # the rule that left a way out: ways, km
    fp: Any = osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY)
    for w in fp.with_locations():
        if not w.is_way():
            continue
        tags = {t.k: t.v for t in w.tags}
        if "highway" not in tags or way_rule(tags, DEFAULT_SETTINGS, DAY) is None:
            continue
        try:
            length = osmium.geom.haversine_distance(w.nodes) / 1000
        except osmium.InvalidLocationError:
            length = 0.0
        ways, km = ways + 1, km + length
        why = left_out_by(tags, conditions)
        if why is not None:
            n, k = dropped.get(why, (0, 0.0))
            dropped[why] = (n + 1, k + length)
    found, via_ways = read_turn_restrictions(pbf)
    out_ways = sum(n for n, _ in dropped.values())
    out_km = sum(k for _, k in dropped.values())
    return {
        "city": pbf.name.split(".")[0],
        "truck_ways": ways,
        "truck_km": round(km, 1),
        "left_out_ways": out_ways,
        "left_out_pct": round(100 * out_ways / max(ways, 1), 1),
        "left_out_km": round(out_km, 1),
        "left_out_km_pct": round(100 * out_km / max(km, 1e-9), 1),
        "by": {
            k: [n, round(x, 1)] for k, (n, x) in sorted(dropped.items(), key=lambda i: -i[1][0])
        },
        "turn_restrictions": len(found),
        "via_way_restrictions": via_ways,
    }


def main(argv: list[str] | None = None) -> None:
    """Print one JSON line per city file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pbf", nargs="*", type=Path, help="OSM .pbf files (default: ../shared)")
    args = ap.parse_args(argv)
    files = city_files(ap, args.pbf) + ([] if args.pbf else [Path(helsinki_pbf())])
    for pbf in files:
        print(json.dumps(run(Path(pbf))), flush=True)


if __name__ == "__main__":
    main()
