"""Write a day plan's files: plan.json, routes.geojson, map.html and sheets.html."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from fleet.models import Bin
from network import MAX_SNAP_M, StreetNetwork
from network.directions import Directions, Step
from network.language import DEFAULT_LANGUAGE
from optimiser.daily import DayPlan
from optimiser.export import Geometry, plan_json, routes_geojson
from optimiser.sheets import day_sheets_html
from optimiser.sheets import language as sheet_language
from scenarios.mapview import render_html


def split_snappable(
    network: StreetNetwork,
    bins: Sequence[Bin],
    max_snap_m: float = MAX_SNAP_M,
    *,
    fix: str = "fix its coordinates",
) -> tuple[list[Bin], list[tuple[str, str]]]:
    """Split bins into those near a drivable street and (record, reason) for the others;
    the reason of a far bin by a street cut off from the network says so
    (``StreetNetwork.cut_off_near``), and ``fix`` ends that of one whose lon and lat do not
    look swapped either (the caller names how its user raises the limit, e.g.
    ``binroute plan``'s --max-snap-m)."""
    points = [(b.lon, b.lat) for b in bins]
    away = network.far_points(points, max_snap_m)
    # a point by a cut-off street is not misplaced: its reason wins over a swapped reading
    fixes = network.swapped_near(points, away, max_snap_m)
    fixes |= network.cut_off_near(points, away, max_snap_m)
    kept: list[Bin] = []
    excluded: list[tuple[str, str]] = []
    for i, b in enumerate(bins):
        if i not in away:
            kept.append(b)
            continue
        reason = (
            f"({b.lon:.6f}, {b.lat:.6f}) is {away[i]:.0f} m from the nearest drivable street "
            f"(limit {max_snap_m:.0f} m); {fixes.get(i, fix)}"
        )
        excluded.append((f"bin {b.bin_id}", reason))
    return kept, excluded


def write_day_outputs(
    day: DayPlan,
    out: Path,
    *,
    network: StreetNetwork | None = None,
    excluded: Sequence[tuple[str, str]] = (),
    max_snap_m: float = MAX_SNAP_M,
    language: str = DEFAULT_LANGUAGE,
) -> tuple[Path, ...]:
    """Write plan.json, routes.geojson, map.html and sheets.html (the drivers' route sheets:
    each truck's stops with turn-by-turn directions, :mod:`optimiser.sheets`) into ``out``
    (created if missing).

    Parameters
    ----------
    day : DayPlan
        The checked plan.
    out : Path
        Output directory.
    network : StreetNetwork, optional
        Street network for street-following lines and the base map; straight lines without.
    excluded : sequence of (record, reason)
        Records left out before planning (e.g. bins too far from any street), listed in
        plan.json so nothing is lost silently.
    language : str
        The drivers' language of sheets.html (``network.language.LANGUAGES``; English by
        default).
    """
    lang = sheet_language(language)  # an unknown language stops before anything is written
    out.mkdir(parents=True, exist_ok=True)
    geometry: Geometry | None = None
    directions: Directions | None = None
    if network is not None:
        net = network

        def geometry(
            pts: Sequence[tuple[float, float]], kerb: Sequence[bool]
        ) -> list[tuple[float, float]]:
            return net.polyline(pts, max_snap_m=max_snap_m, kerb_side=kerb)

        def directions(
            pts: Sequence[tuple[float, float]], kerb: Sequence[bool]
        ) -> list[list[Step]]:
            return net.directions(pts, max_snap_m=max_snap_m, kerb_side=kerb)

    geo = routes_geojson(day, geometry)
    doc = plan_json(day)
    doc["excluded"] = [{"record": r, "reason": why} for r, why in excluded]
    doc["violations"] = [str(v) for v in day.violations]
    forecast = {d.bin_id: d.expected_fill_fraction for d in day.decisions}
    inv = day.inventory
    html = render_html(
        title=f"binroute plan {day.plan_date.isoformat()}",
        streets=network.street_lines() if network is not None else [],
        geojson=geo,
        bins=[(b.bin_id, (b.lon, b.lat), forecast.get(b.bin_id, 0.0)) for b in inv.bins],
        depots=[(d.depot_id, (d.lon, d.lat)) for d in inv.depots],
        sites=[(s.site_id, (s.lon, s.lat)) for s in inv.sites],
        kpis=day.kpis,
        notes=day.plan.notes,
        unserved=[(u.ref, u.reason) for u in day.unserved],
        violations=[str(v) for v in day.violations],
    )
    files = (out / "plan.json", out / "routes.geojson", out / "map.html", out / "sheets.html")
    utf8 = "utf-8"  # as map.html declares, whatever the machine's locale
    files[0].write_text(json.dumps(doc, indent=2, allow_nan=False, default=str) + "\n", utf8)
    files[1].write_text(json.dumps(geo) + "\n", utf8)
    files[2].write_text(html, utf8)
    files[3].write_text(day_sheets_html(day, directions, geo, lang), utf8)
    return files
