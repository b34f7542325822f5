"""A self-contained HTML map of a day plan (inline SVG, no tiles, no scripts from the web).

Streets are drawn from the street graph itself, so the file opens offline. Map data
(c) OpenStreetMap contributors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from network.drawing import Projector, svg_polyline

LonLat = tuple[float, float]

TRUCK_COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
)
WIDTH_PX = 1000


def fill_colour(fill: float) -> str:
    """Green below 50 %, amber to 90 %, red above (fill fraction 0..1+)."""
    if fill >= 0.9:
        return "#d62728"
    if fill >= 0.5:
        return "#ff9f1c"
    return "#2ca02c"


def _truck_colours(geojson: Mapping[str, Any]) -> dict[str, str]:
    """Each truck of ``geojson`` -> its colour, in the order its features come."""
    colours: dict[str, str] = {}
    for feat in geojson["features"]:
        truck = feat["properties"]["vehicle_id"]
        colours.setdefault(truck, TRUCK_COLOURS[len(colours) % len(TRUCK_COLOURS)])
    return colours


def _route_layers(proj: Projector, geojson: Mapping[str, Any]) -> list[str]:
    layers: list[str] = []
    colours = _truck_colours(geojson)
    for feat in geojson["features"]:
        props = feat["properties"]
        colour = colours[props["vehicle_id"]]
        if feat["geometry"]["type"] == "LineString":
            line = [(c[0], c[1]) for c in feat["geometry"]["coordinates"]]
            style = f'fill="none" stroke="{colour}" stroke-width="3" stroke-opacity="0.8"'
            layers.append(svg_polyline(proj, line, style))
        elif props["kind"] == "bin":
            x, y = proj(tuple(feat["geometry"]["coordinates"]))
            layers.append(
                f'<text x="{x + 4}" y="{y - 4}" font-size="9" fill="{colour}">'
                f"{props['order']}</text>"
            )
    return layers


def _geojson_points(geojson: Mapping[str, Any]) -> list[LonLat]:
    """Every (lon, lat) of the route lines and stop points of ``geojson``."""
    out: list[LonLat] = []
    for feat in geojson["features"]:
        geom = feat["geometry"]
        coords = geom["coordinates"] if geom["type"] == "LineString" else [geom["coordinates"]]
        out += [(float(c[0]), float(c[1])) for c in coords]
    return out


def _marker(proj: Projector, where: LonLat, shape: str, colour: str, title: str) -> str:
    x, y = proj(where)
    tip = f"<title>{escape(title)}</title>"
    if shape == "square":
        return f'<rect x="{x - 7}" y="{y - 7}" width="14" height="14" fill="{colour}">{tip}</rect>'
    return f'<circle cx="{x}" cy="{y}" r="4" fill="{colour}" stroke="#333">{tip}</circle>'


def _trucks_panel(geojson: Mapping[str, Any]) -> str:
    """The legend of the route lines: each truck's colour, id, waste streams (the route
    line's ``streams``, when given) and bins (escaped); empty without routes."""
    colours = _truck_colours(geojson)
    items = []
    for feat in geojson["features"]:
        props = feat["properties"]
        if feat["geometry"]["type"] != "LineString":
            continue
        truck = props["vehicle_id"]
        streams = ", ".join(props.get("streams") or ())
        takes = f" takes {escape(streams)}" if streams else ""
        bins = f": {props['bins']} bin(s)" if "bins" in props else ""
        swatch = f'<span style="color:{colours[truck]}">&#9632;</span>'
        items.append(f"<li>{swatch} {escape(str(truck))}{takes}{bins}</li>")
    if not items:
        return ""
    return f'<section class="trucks"><h2>Trucks</h2><ul>{"".join(items)}</ul></section>'


def _notes_panel(notes: Sequence[str]) -> str:
    """The planner's notes as an HTML list under a heading (escaped); empty without notes."""
    if not notes:
        return ""
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return f'<section class="notes"><h2>Planner notes</h2><ul>{items}</ul></section>'


def _unserved_panel(unserved: Sequence[tuple[str, str]]) -> str:
    """The bins not served, each with its reason (escaped); empty when every bin is."""
    if not unserved:
        return ""
    items = "".join(f"<li>{escape(ref)}: {escape(why)}</li>" for ref, why in unserved)
    return f'<section class="unserved"><h2>Bins not served</h2><ul>{items}</ul></section>'


def _checker_panel(violations: Sequence[str] | None) -> str:
    """The independent checker's verdict: feasible, or the rules the plan breaks (escaped);
    empty when the plan was not checked (``None``)."""
    if violations is None:
        return ""
    if not violations:
        return '<p class="checker">Independent checker: plan feasible.</p>'
    items = "".join(f"<li>{escape(v)}</li>" for v in violations)
    return (
        '<section class="checker"><h2>Independent checker: the plan breaks '
        f"{len(violations)} rule(s); do not drive it</h2><ul>{items}</ul></section>"
    )


def render_html(
    *,
    title: str,
    streets: Sequence[Sequence[LonLat]],
    geojson: Mapping[str, Any],
    bins: Sequence[tuple[str, LonLat, float]],
    depots: Sequence[tuple[str, LonLat]],
    sites: Sequence[tuple[str, LonLat]],
    kpis: Mapping[str, Any],
    notes: Sequence[str] = (),
    unserved: Sequence[tuple[str, str]] = (),
    violations: Sequence[str] | None = None,
) -> str:
    """Render the plan as one HTML page.

    Parameters
    ----------
    streets : sequence of polylines
        Street centre lines, (lon, lat) vertices.
    geojson : mapping
        ``optimiser.export.routes_geojson`` output (route lines and stop points); each
        route line's truck is listed under "Trucks" in its colour, with its ``streams``.
    bins : sequence of (bin_id, (lon, lat), forecast fill fraction)
    depots, sites : sequence of (id, (lon, lat))
    kpis : mapping
        Shown in a table beside the map.
    notes : sequence of str
        The planner's notes (why a day has no work, trucks out of service, late bins...),
        listed beside the map under "Planner notes" when there are any.
    unserved : sequence of (ref, reason)
        The bins the plan does not serve, listed under "Bins not served" when there are any.
    violations : sequence of str, optional
        The independent checker's findings: none says the plan is feasible, some are
        listed as rules broken; ``None`` (not checked) says nothing.
    """
    every = [p for line in streets for p in line] + [b[1] for b in bins]
    every += [p for _, p in (*depots, *sites)] + _geojson_points(geojson)
    proj = Projector(every or [(0.0, 0.0), (1.0, 1.0)], WIDTH_PX)
    grey = 'fill="none" stroke="#bbb" stroke-width="1"'
    svg = [svg_polyline(proj, line, grey) for line in streets if len(line) > 1]
    svg += _route_layers(proj, geojson)
    svg += [_marker(proj, p, "circle", fill_colour(f), f"{b}: {f:.0%}") for b, p, f in bins]
    svg += [_marker(proj, p, "square", "#333", f"depot {d}") for d, p in depots]
    svg += [_marker(proj, p, "square", "#8c564b", f"disposal site {s}") for s, p in sites]
    rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in kpis.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:sans-serif;display:flex;gap:1em}} th{{text-align:left}}
svg{{max-height:95vh;width:auto;flex:none}} .notes{{max-width:40em}}</style>
</head><body>
<svg width="{proj.width}" height="{proj.height}" viewBox="0 0 {proj.width} {proj.height}"
 xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}">
{chr(10).join(svg)}
</svg>
<div><h1>{escape(title)}</h1><table>{rows}</table>
{_trucks_panel(geojson)}
{_checker_panel(violations)}
{_notes_panel(notes)}
{_unserved_panel(unserved)}
<p>Bins: green &lt; 50 %, amber &lt; 90 %, red &ge; 90 % forecast fill. Squares: depot (dark),
disposal site (brown). Numbers: stop order per truck.</p>
<p>Map data &copy; OpenStreetMap contributors.</p></div>
</body></html>
"""
