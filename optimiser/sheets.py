"""Drivers' route sheets: each truck's stops in order with the turn-by-turn directions to
each, as JSON (for a driver's app) and as a printable HTML page (one page per truck).

:func:`directions_json` takes a :class:`optimiser.daily.DayPlan` and a ``Directions``
callable (``StreetNetwork.directions``: the legs between the visit points, the kerb rule
kept, the paths the route lines draw). :func:`route_sheets_html` renders the plan's JSON
(``optimiser.export.plan_json``) with those documents, so that the service renders a
stored plan as the command does a fresh one. Without directions (straight-line travel
times) a sheet lists the stops and times alone and says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from network.directions import Directions, Step
from network.drawing import Projector, svg_polyline
from optimiser.daily import DayPlan
from optimiser.export import kerb_at, place_of, plan_json, route_of
from optimiser.plan import Route, Visit, span

LonLat = tuple[float, float]
NO_DIRECTIONS = (
    "no street directions: these travel times are straight-line estimates (plan with a "
    "city's street file for them)"
)


def legs(day: DayPlan, route: Route, directions: Directions | None) -> dict[int, list[Step]]:
    """Index in ``route.visits`` -> the steps from the visit before it that has a place to
    it, for each visit with a place after the first (a break happens where the truck is);
    empty without ``directions`` or with fewer than two places."""
    placed = [i for i, v in enumerate(route.visits) if v.location is not None]
    if directions is None or len(placed) < 2:
        return {}
    points = [_point(day, route.visits[i]) for i in placed]
    kerb = [kerb_at(day, route.visits[i].location) for i in placed]
    found = directions(points, kerb)
    if len(found) != len(placed) - 1:
        raise ValueError(f"directions gave {len(found)} legs for {len(placed)} points")
    return dict(zip(placed[1:], found, strict=True))


def directions_json(
    day: DayPlan, vehicle_id: str, directions: Directions | None = None
) -> dict[str, Any]:
    """Truck ``vehicle_id``'s directions as a JSON-ready dict: one leg per visit with a
    place after the first (``to_order``: the visit's index in the route's visits, as
    plan.json orders them; ``to``: its place), each with its metres, seconds and steps
    (``maneuver``, ``instruction`` in words, ``street``, ``highway``, ``distance_m``,
    ``duration_s``, ``lon``, ``lat``; ``heading`` on departure, ``side`` of the stop on
    arrival); ``note`` says why there are none without ``directions``.

    Raises
    ------
    KeyError
        If ``vehicle_id`` has no route in the plan.
    """
    route = route_of(day, vehicle_id)
    out = []
    for i, found in legs(day, route, directions).items():
        visit = route.visits[i]
        stop = _arrival_name(str(visit.kind), visit.ref, place_of(day, visit))
        out.append(
            {
                "to_order": i,
                "to": place_of(day, visit),
                "distance_m": round(sum(s.distance_m for s in found), 1),
                "duration_s": round(sum(s.duration_s for s in found), 1),
                "steps": [_step_json(s, stop) for s in found],
            }
        )
    doc: dict[str, Any] = {"vehicle_id": vehicle_id, "legs": out}
    if directions is None:
        doc["note"] = NO_DIRECTIONS
    return doc


def all_directions(day: DayPlan, directions: Directions | None) -> dict[str, dict[str, Any]]:
    """:func:`directions_json` of every truck that leaves its depot, by vehicle id."""
    return {
        r.vehicle_ref: directions_json(day, r.vehicle_ref, directions)
        for r in day.plan.routes
        if r.used
    }


def day_sheets_html(
    day: DayPlan, directions: Directions | None = None, geojson: Mapping[str, Any] | None = None
) -> str:
    """:func:`route_sheets_html` of a fresh plan: every truck that leaves its depot (a map
    of each with ``geojson``, its ``routes_geojson``)."""
    return route_sheets_html(plan_json(day), all_directions(day, directions), geojson=geojson)


def _step_json(step: Step, stop: str) -> dict[str, Any]:
    return {
        "maneuver": step.maneuver,
        "instruction": step.text(stop),
        "street": step.street,
        "highway": step.highway,
        "distance_m": round(step.distance_m, 1),
        "duration_s": round(step.duration_s, 1),
        "lon": round(step.lon, 7),
        "lat": round(step.lat, 7),
        "heading": step.heading,
        "side": step.side,
        "exit": step.exit_number,
    }


def route_sheets_html(
    plan: Mapping[str, Any],
    directions: Mapping[str, Mapping[str, Any]],
    vehicle_ids: Sequence[str] | None = None,
    *,
    missing: str = NO_DIRECTIONS,
    geojson: Mapping[str, Any] | None = None,
) -> str:
    """Printable route sheets: a page per truck of ``plan`` (plan.json's document) that
    leaves its depot, or per truck of ``vehicle_ids`` (KeyError naming one the plan has no
    route for): its shift and totals, then each stop in order with its times, street, the
    load after it and what the crew should know (which side it stands on, taken from the
    kerb, waiting for its window, an overflow alert's target, missed), each preceded by the
    directions to it from ``directions`` (:func:`directions_json` by vehicle id; a truck
    without one gets the stops alone, and the ``missing`` note). With ``geojson`` (the
    plan's routes, ``optimiser.export.routes_geojson``) each page opens with a map of the
    truck's route, its stops numbered as the table's rows."""
    routes = {r["vehicle_id"]: r for r in plan.get("routes", [])}
    if vehicle_ids is None:
        chosen = [r for r in routes.values() if r.get("bins") or r.get("disposal_trips")]
    else:
        unknown = [v for v in vehicle_ids if v not in routes]
        if unknown:
            raise KeyError(f"no route for vehicle {unknown[0]!r} in this plan")
        chosen = [routes[v] for v in vehicle_ids]
    day = str(plan.get("plan_date", ""))
    maps = _route_maps(geojson) if geojson is not None else {}
    body = "".join(
        _sheet(r, directions.get(r["vehicle_id"]), day, missing, maps.get(r["vehicle_id"], ""))
        for r in chosen
    )
    if not chosen:
        body = "<p>No truck leaves its depot in this plan.</p>"
    title = escape(f"binroute route sheets {day}")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )


_STYLE = (
    "body{font:13px/1.35 sans-serif;margin:1.5em}"
    "section{break-after:page;margin-bottom:3em}"
    "h1{font-size:18px;margin:0 0 .3em}p.sum{margin:0 0 1em}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border-bottom:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
    "tr.way td{border-bottom:none;color:#333;padding-top:0}"
    "ol{margin:0;padding-left:1.6em}li span{color:#666}"
    "td.n,th.n{text-align:right;white-space:nowrap}.note{color:#555}"
    "svg.map{display:block;border:1px solid #ccc;margin:0 0 .2em}"
)
_HEAD = (
    "<tr><th class=n>#</th><th>arrive</th><th>leave</th><th>stop</th><th>street</th>"
    "<th class=n>load after</th><th>for the crew</th></tr>"
)


def _sheet(
    route: Mapping[str, Any],
    found: Mapping[str, Any] | None,
    day: str,
    missing: str,
    drawn: str = "",
) -> str:
    """One truck's section of the route sheets (``missing``: the note without ``found``;
    ``drawn``: its route map, an SVG)."""
    legs = (found or {}).get("legs", [])
    by_order = {leg["to_order"]: leg for leg in legs}
    rows = []
    for i, visit in enumerate(route.get("visits", [])):
        leg = by_order.get(i)
        if leg is not None:
            rows.append(_way_row(leg))
            street = _arrival_street(leg["steps"])
        else:  # where the truck sets off: the street the next leg leaves by
            after = next((x for x in legs if x["to_order"] > i and x["steps"]), None)
            street = _arrival_street(after["steps"][:1]) if after is not None else ""
        rows.append(_visit_row(visit, i, leg, street))
    note = found.get("note", "") if found is not None else missing
    said = f'<p class="note">{escape(note)}.</p>' if note else ""
    return (
        f"<section><h1>{escape(str(route['vehicle_id']))}: {escape(day)}</h1>"
        f'<p class="sum">{escape(_summary(route))}</p>{said}{drawn}'
        f"<table>{_HEAD}{''.join(rows)}</table></section>"
    )


MAP_WIDTH_PX = 680
MAP_MAX_HEIGHT_PX = 420
STOP_COLOURS = {"bin": "#1f77b4", "disposal": "#8c564b", "start": "#222", "end": "#222"}


def _route_maps(geojson: Mapping[str, Any]) -> dict[str, str]:
    """Each truck's route map (an inline SVG: the street line, its stops numbered by their
    visit order, the depot as a square), by vehicle id."""
    lines: dict[str, list[LonLat]] = {}
    stops: dict[str, list[tuple[int, str, LonLat]]] = {}
    for feat in geojson.get("features", []):
        props, geom = feat["properties"], feat["geometry"]
        truck = props["vehicle_id"]
        if geom["type"] == "LineString":
            lines[truck] = [(float(c[0]), float(c[1])) for c in geom["coordinates"]]
        else:
            at = (float(geom["coordinates"][0]), float(geom["coordinates"][1]))
            stops.setdefault(truck, []).append((int(props["order"]), str(props["kind"]), at))
    return {
        truck: _route_svg(line, stops.get(truck, []))
        for truck, line in lines.items()
        if len(line) > 1
    }


def _route_svg(line: Sequence[LonLat], stops: Sequence[tuple[int, str, LonLat]]) -> str:
    proj = Projector([*line, *(at for _, _, at in stops)], MAP_WIDTH_PX, MAP_MAX_HEIGHT_PX)
    parts = [svg_polyline(proj, line, 'fill="none" stroke="#d62728" stroke-width="2.5"')]
    for order, kind, at in stops:
        x, y = proj(at)
        colour = STOP_COLOURS.get(kind, "#555")
        if kind in ("start", "end"):
            parts.append(f'<rect x="{x - 6}" y="{y - 6}" width="12" height="12" fill="{colour}"/>')
            continue
        parts.append(f'<circle cx="{x}" cy="{y}" r="3.5" fill="{colour}"/>')
        parts.append(f'<text x="{x + 4}" y="{y - 4}" font-size="10">{order}</text>')
    return (
        f'<svg class="map" width="{proj.width}" height="{proj.height}" '
        f'viewBox="0 0 {proj.width} {proj.height}" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(parts)}</svg>"
        '<p class="note">Map data (c) OpenStreetMap contributors.</p>'
    )


def _summary(route: Mapping[str, Any]) -> str:
    """The truck's day in one line: depot, shift, streams, bins, trips, km, hours."""
    visits = route.get("visits", [])
    parts = []
    if visits and visits[0].get("place"):
        parts.append(f"from {visits[0]['place']}")
    if route.get("shift_start") and route.get("shift_end"):
        parts.append(f"shift {_hhmm(route['shift_start'])}-{_hhmm(route['shift_end'])}")
    if route.get("streams"):
        parts.append("streams " + ", ".join(route["streams"]))
    trips = int(route.get("disposal_trips", 0))
    parts += [
        f"{route.get('bins', 0)} bins",
        f"{trips} disposal trip{'' if trips == 1 else 's'}",
        f"{route.get('distance_m', 0) / 1000:.2f} km",
        span(int(route.get("duration_s", 0))),
    ]
    return " · ".join(parts)


def _way_row(leg: Mapping[str, Any]) -> str:
    items = "".join(
        f"<li>{escape(s['instruction'])}"
        + (f" <span>{_metres(s['distance_m'])}</span>" if s["distance_m"] > 0 else "")
        + "</li>"
        for s in leg["steps"]
    )
    return f'<tr class="way"><td></td><td colspan=6><ol>{items}</ol></td></tr>'


def _visit_row(
    visit: Mapping[str, Any], order: int, leg: Mapping[str, Any] | None, street: str
) -> str:
    steps = leg["steps"] if leg is not None else []
    load = f"{visit.get('load_l', 0):,} l / {visit.get('load_kg', 0):,} kg"
    name = _stop_name(visit["kind"], visit["ref"], visit.get("place"))
    cells = [
        f"<td class=n>{order}</td>",
        f"<td>{_hhmm(visit['arrival'])}</td>",
        f"<td>{_hhmm(visit['end'])}</td>",
        f"<td>{escape(name)}</td>",
        f"<td>{escape(street)}</td>",
        f"<td class=n>{load}</td>",
        f'<td class="note">{escape("; ".join(_crew_notes(visit, steps)))}</td>',
    ]
    return f"<tr>{''.join(cells)}</tr>"


def _crew_notes(visit: Mapping[str, Any], steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the crew should know at ``visit`` (plan.json's)."""
    notes = []
    if datetime.fromisoformat(visit["start"]) > datetime.fromisoformat(visit["arrival"]):
        notes.append(f"wait until {_hhmm(visit['start'])}")
    if steps and steps[-1].get("side"):
        notes.append(f"on the {steps[-1]['side']}")
    if visit.get("kerb_side"):
        notes.append("taken from the kerb")
    if visit.get("street_hours"):
        notes.append(f"timed street: {visit['street_hours']}")
    if visit.get("alert"):
        by = f": empty by {_hhmm(visit['respond_by'])}" if visit.get("respond_by") else ""
        notes.append(f"overflow alert{by}")
    if visit.get("missed"):
        notes.append("missed: the crew could not empty it")
    return notes


def _arrival_street(steps: Sequence[Mapping[str, Any]]) -> str:
    """The street of the last of ``steps``: of a leg's, the street its stop stands on."""
    if not steps:
        return ""
    last = steps[-1]
    if last["street"]:
        return str(last["street"])
    return f"unnamed {last['highway'].replace('_', ' ')}" if last["highway"] else ""


def _arrival_name(kind: str, ref: str, place: str | None) -> str:
    """Where a leg arrives, for its last instruction ("Arrive at bin b1")."""
    if kind == "bin":
        return f"bin {ref}"
    if kind == "disposal":
        return f"disposal site {place or ref}"
    if kind == "waypoint":
        return "the truck's place when its route changed"
    return str(place or ref)


def _stop_name(kind: str, ref: str, place: str | None) -> str:
    """A visit's stop for a driver: "bin b1", "disposal site s1", "leave depot-1"... (a
    plan stored before visits named their ``place`` says "the depot")."""
    if kind == "start" and place == ref:  # the truck's own place: where it was reported
        return "set off from where the truck is"
    return {
        "start": f"leave {place or 'the depot'}",
        "end": f"back at {place or 'the depot'}",
        "bin": f"bin {ref}",
        "disposal": f"disposal site {place or ref}",
        "break": "break",
        "waypoint": "where the truck was when its route changed",
    }.get(kind, f"{kind} {ref}")


def _point(day: DayPlan, visit: Visit) -> LonLat:
    lon, lat = day.built.problem.matrix.points[visit.location]  # type: ignore[index]
    return (float(lon), float(lat))


def _hhmm(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M")


def _metres(m: float) -> str:
    return f"{m / 1000:.1f} km" if m >= 1000 else f"{round(m)} m"
