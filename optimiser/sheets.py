"""Drivers' route sheets: each truck's stops in order with the turn-by-turn directions to
each, as JSON (for a driver's app) and as a printable HTML page (one page per truck).

:func:`directions_json` takes a :class:`optimiser.daily.DayPlan` and a ``Directions``
callable (``StreetNetwork.directions``: the legs between the visit points, the kerb rule
kept, the paths the route lines draw). :func:`route_sheets_html` renders the plan's JSON
(``optimiser.export.plan_json``) with those documents, so that the service renders a
stored plan as the command does a fresh one. Without directions (straight-line travel
times) a sheet lists the stops and times alone and says why.

Both are written in the drivers' language (``language``, one of
``network.language.LANGUAGES``): the steps' instructions from the directions' catalogue
(``network/locales``), the sheets' words from this package's (``optimiser/locales``,
domain ``sheets``). A stored plan's directions keep each step's fields (maneuver, street,
road class, heading, side, exit), so its instructions are said again in any language
(:func:`localized`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Any

from network.directions import Directions, Step, instruction, road_class
from network.drawing import Projector, svg_polyline
from network.language import DEFAULT_LANGUAGE, N_, Words, direction_words, words
from optimiser.daily import DayPlan
from optimiser.export import kerb_at, place_of, plan_json, route_of
from optimiser.plan import Route, Visit, span

LonLat = tuple[float, float]
NO_DIRECTIONS = N_(
    "no street directions: these travel times are straight-line estimates (plan with a "
    "city's street file for them)"
)
PLANNED_BEFORE = N_(
    "no directions: this plan was made before the service stored them; plan the day again for them"
)
SHEET_LOCALES = Path(__file__).with_name("locales")


@dataclass(frozen=True, slots=True)
class Language:
    """The words of a route sheet: its directions' (``network``) and its own."""

    directions: Words
    sheets: Words

    @property
    def code(self) -> str:
        return self.sheets.language


def language(tag: str = DEFAULT_LANGUAGE) -> Language:
    """The route sheets' words in ``tag``'s language.

    Raises
    ------
    network.language.UnknownLanguage
        If the sheets have no words in that language (the message lists those they have).
    """
    return Language(direction_words(tag), words(tag, SHEET_LOCALES, "sheets"))


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
    day: DayPlan,
    vehicle_id: str,
    directions: Directions | None = None,
    lang: Language | None = None,
) -> dict[str, Any]:
    """Truck ``vehicle_id``'s directions as a JSON-ready dict: one leg per visit with a
    place after the first (``to_order``: the visit's index in the route's visits, as
    plan.json orders them; ``to``: its place), each with its metres, seconds and steps
    (``maneuver``, ``instruction`` in words, ``street``, ``highway``, ``distance_m``,
    ``duration_s``, ``lon``, ``lat``; ``heading`` on departure, ``side`` of the stop on
    arrival); ``note`` says why there are none without ``directions``; the words in
    ``lang``'s language (English by default).

    Raises
    ------
    KeyError
        If ``vehicle_id`` has no route in the plan.
    """
    lang = lang or language()
    route = route_of(day, vehicle_id)
    out = []
    for i, found in legs(day, route, directions).items():
        visit = route.visits[i]
        stop = _arrival_name(lang.sheets, str(visit.kind), visit.ref, place_of(day, visit))
        out.append(
            {
                "to_order": i,
                "to": place_of(day, visit),
                "distance_m": round(sum(s.distance_m for s in found), 1),
                "duration_s": round(sum(s.duration_s for s in found), 1),
                "steps": [_step_json(s, stop, lang.directions) for s in found],
            }
        )
    doc: dict[str, Any] = {"vehicle_id": vehicle_id, "language": lang.code, "legs": out}
    if directions is None:
        doc["note"] = lang.sheets.say(NO_DIRECTIONS)
    return doc


def localized(plan: Mapping[str, Any], doc: Mapping[str, Any], lang: Language) -> dict[str, Any]:
    """``doc`` (one truck's :func:`directions_json`, as stored with ``plan``, plan.json's
    document) with every instruction and its note said in ``lang``'s language, from the
    steps' fields and the route's visits."""
    visits = _visits_of(plan, str(doc.get("vehicle_id", "")))
    out = dict(doc, language=lang.code)
    out["legs"] = [
        dict(
            leg,
            steps=[
                dict(s, instruction=_said(s, _leg_stop(lang.sheets, visits, leg), lang))
                for s in leg["steps"]
            ],
        )
        for leg in doc.get("legs", [])
    ]
    if "note" in doc:
        out["note"] = lang.sheets.say(str(doc["note"]))
    return out


def all_directions(
    day: DayPlan, directions: Directions | None, lang: Language | None = None
) -> dict[str, dict[str, Any]]:
    """:func:`directions_json` of every truck that leaves its depot, by vehicle id."""
    return {
        r.vehicle_ref: directions_json(day, r.vehicle_ref, directions, lang)
        for r in day.plan.routes
        if r.used
    }


def day_sheets_html(
    day: DayPlan,
    directions: Directions | None = None,
    geojson: Mapping[str, Any] | None = None,
    lang: Language | None = None,
) -> str:
    """:func:`route_sheets_html` of a fresh plan: every truck that leaves its depot (a map
    of each with ``geojson``, its ``routes_geojson``), in ``lang``'s language."""
    return route_sheets_html(
        plan_json(day), all_directions(day, directions, lang), geojson=geojson, lang=lang
    )


def _visits_of(plan: Mapping[str, Any], vehicle_id: str) -> list[Mapping[str, Any]]:
    """The visits of ``vehicle_id``'s route in ``plan`` (plan.json's), none without one."""
    for r in plan.get("routes", []):
        if r.get("vehicle_id") == vehicle_id:
            return list(r.get("visits", []))
    return []


def _leg_stop(sheets: Words, visits: Sequence[Mapping[str, Any]], leg: Mapping[str, Any]) -> str:
    """Where ``leg`` arrives, named for its last instruction (``sheets``' language)."""
    i = int(leg.get("to_order", -1))
    if 0 <= i < len(visits):
        v = visits[i]
        return _arrival_name(sheets, str(v["kind"]), str(v["ref"]), v.get("place"))
    return _arrival_name(sheets, "", "", leg.get("to"))


def _said(step: Mapping[str, Any], stop: str, lang: Language) -> str:
    """A stored step's (:func:`_step_json`) instruction in ``lang``'s language."""
    return instruction(
        lang.directions,
        maneuver=str(step["maneuver"]),
        street=str(step.get("street", "")),
        highway=str(step.get("highway", "")),
        heading=str(step.get("heading", "")),
        side=str(step.get("side", "")),
        exit_number=int(step.get("exit", 0)),
        stop=stop,
    )


def _step_json(step: Step, stop: str, words: Words) -> dict[str, Any]:
    return {
        "maneuver": step.maneuver,
        "instruction": step.text(stop, words),
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
    lang: Language | None = None,
) -> str:
    """Printable route sheets: a page per truck of ``plan`` (plan.json's document) that
    leaves its depot, or per truck of ``vehicle_ids`` (KeyError naming one the plan has no
    route for): its shift and totals, then each stop in order with its times, street, the
    load after it and what the crew should know (which side it stands on, taken from the
    kerb, waiting for its window, an overflow alert's target, missed), each preceded by the
    directions to it from ``directions`` (:func:`directions_json` by vehicle id; a truck
    without one gets the stops alone, and the ``missing`` note). With ``geojson`` (the
    plan's routes, ``optimiser.export.routes_geojson``) each page opens with a map of the
    truck's route, its stops numbered as the table's rows. Written in ``lang``'s language
    (English by default): the instructions are said again from the steps' fields."""
    lang = lang or language()
    routes = {r["vehicle_id"]: r for r in plan.get("routes", [])}
    if vehicle_ids is None:
        chosen = [r for r in routes.values() if r.get("bins") or r.get("disposal_trips")]
    else:
        unknown = [v for v in vehicle_ids if v not in routes]
        if unknown:
            raise KeyError(f"no route for vehicle {unknown[0]!r} in this plan")
        chosen = [routes[v] for v in vehicle_ids]
    day = str(plan.get("plan_date", ""))
    maps = _route_maps(geojson, lang.sheets) if geojson is not None else {}
    page = _Page(lang, day, missing)
    body = "".join(
        page.sheet(r, directions.get(r["vehicle_id"]), maps.get(r["vehicle_id"], ""))
        for r in chosen
    )
    if not chosen:
        nothing = lang.sheets.say("No truck leaves its depot in this plan.")
        body = f"<p>{escape(nothing)}</p>"
    title = escape(lang.sheets.say("binroute route sheets {day}", day=day))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang.code}"><head><meta charset="utf-8"><title>{title}</title>'
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


@dataclass(frozen=True, slots=True)
class _Page:
    """What every truck's section of one document shares: its words, day, missing note."""

    lang: Language
    day: str
    missing: str

    def sheet(self, route: Mapping[str, Any], found: Mapping[str, Any] | None, drawn: str) -> str:
        """One truck's section of the route sheets (``found``: its directions; ``drawn``:
        its route map, an SVG)."""
        sheets = self.lang.sheets
        legs = (found or {}).get("legs", [])
        by_order = {leg["to_order"]: leg for leg in legs}
        visits = route.get("visits", [])
        rows = []
        for i, visit in enumerate(visits):
            leg = by_order.get(i)
            if leg is not None:
                rows.append(self.way_row(leg, visits))
                street = _arrival_street(self.lang, leg["steps"])
            else:  # where the truck sets off: the street the next leg leaves by
                after = next((x for x in legs if x["to_order"] > i and x["steps"]), None)
                street = _arrival_street(self.lang, after["steps"][:1]) if after is not None else ""
            rows.append(self.visit_row(visit, i, leg, street))
        note = found.get("note", "") if found is not None else self.missing
        said = f'<p class="note">{escape(sheets.say(note))}.</p>' if note else ""
        return (
            f"<section><h1>{escape(str(route['vehicle_id']))}: {escape(self.day)}</h1>"
            f'<p class="sum">{escape(_summary(route, sheets))}</p>{said}{drawn}'
            f"<table>{self.head()}{''.join(rows)}</table></section>"
        )

    def head(self) -> str:
        """The table's header row (numbers right-aligned)."""
        say_in = self.lang.sheets.say_in
        columns = (
            ("<th class=n>", "#"),
            ("<th>", say_in("column", "arrive")),
            ("<th>", say_in("column", "leave")),
            ("<th>", say_in("column", "stop")),
            ("<th>", say_in("column", "street")),
            ("<th class=n>", say_in("column", "load after")),
            ("<th>", say_in("column", "for the crew")),
        )
        return f"<tr>{''.join(f'{tag}{escape(name)}</th>' for tag, name in columns)}</tr>"

    def way_row(self, leg: Mapping[str, Any], visits: Sequence[Mapping[str, Any]]) -> str:
        stop = _leg_stop(self.lang.sheets, visits, leg)
        items = "".join(
            f"<li>{escape(_said(s, stop, self.lang))}"
            + (
                f" <span>{_metres(s['distance_m'], self.lang.sheets)}</span>"
                if s["distance_m"] > 0
                else ""
            )
            + "</li>"
            for s in leg["steps"]
        )
        return f'<tr class="way"><td></td><td colspan=6><ol>{items}</ol></td></tr>'

    def visit_row(
        self, visit: Mapping[str, Any], order: int, leg: Mapping[str, Any] | None, street: str
    ) -> str:
        sheets = self.lang.sheets
        steps = leg["steps"] if leg is not None else []
        load = (
            f"{sheets.number(visit.get('load_l', 0))} l / "
            f"{sheets.number(visit.get('load_kg', 0))} kg"
        )
        name = _stop_name(sheets, visit["kind"], visit["ref"], visit.get("place"))
        notes = "; ".join(_crew_notes(visit, steps, sheets, self.day))
        cells = [
            f"<td class=n>{order}</td>",
            f"<td>{_hhmm(visit['arrival'])}</td>",
            f"<td>{_hhmm(visit['end'])}</td>",
            f"<td>{escape(name)}</td>",
            f"<td>{escape(street)}</td>",
            f"<td class=n>{load}</td>",
            f'<td class="note">{escape(notes)}</td>',
        ]
        return f"<tr>{''.join(cells)}</tr>"


MAP_WIDTH_PX = 680
MAP_MAX_HEIGHT_PX = 420
STOP_COLOURS = {"bin": "#1f77b4", "disposal": "#8c564b", "start": "#222", "end": "#222"}


def _route_maps(geojson: Mapping[str, Any], sheets: Words) -> dict[str, str]:
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
    credit = escape(sheets.say("Map data (c) OpenStreetMap contributors."))
    return {
        truck: _route_svg(line, stops.get(truck, [])) + f'<p class="note">{credit}</p>'
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
    )


def _summary(route: Mapping[str, Any], sheets: Words) -> str:
    """The truck's day in one line: depot, shift, streams, bins, trips, km, hours."""
    visits = route.get("visits", [])
    parts = []
    if visits and visits[0].get("place"):
        parts.append(sheets.say("from {place}", place=visits[0]["place"]))
    if route.get("shift_start") and route.get("shift_end"):
        shift = f"{_hhmm(route['shift_start'])}-{_hhmm(route['shift_end'])}"
        parts.append(sheets.say("shift {hours}", hours=shift))
    if route.get("streams"):
        parts.append(sheets.say("streams {streams}", streams=", ".join(route["streams"])))
    parts += [
        sheets.count("{n} bin", "{n} bins", int(route.get("bins", 0))),
        sheets.count(
            "{n} disposal trip", "{n} disposal trips", int(route.get("disposal_trips", 0))
        ),
        f"{sheets.number(route.get('distance_m', 0) / 1000, 2)} km",
        span(int(route.get("duration_s", 0))),
    ]
    return " · ".join(parts)


def _crew_notes(
    visit: Mapping[str, Any], steps: Sequence[Mapping[str, Any]], sheets: Words, day: str
) -> list[str]:
    """What the crew should know at ``visit`` (plan.json's) on ``day`` (ISO date)."""
    notes = []
    if datetime.fromisoformat(visit["start"]) > datetime.fromisoformat(visit["arrival"]):
        notes.append(sheets.say("wait until {time}", time=_hhmm(visit["start"])))
    side = steps[-1].get("side") if steps else ""
    if side in SIDE_WORDS:
        notes.append(sheets.say(SIDE_WORDS[side]))
    if visit.get("kerb_side"):
        notes.append(sheets.say("taken from the kerb"))
    timed = _timed_street(visit, sheets, day)
    if timed:
        notes.append(sheets.say("timed street: {street}", street=timed))
    if visit.get("alert"):
        if visit.get("respond_by"):
            notes.append(
                sheets.say("overflow alert: empty by {time}", time=_hhmm(visit["respond_by"]))
            )
        else:
            notes.append(sheets.say("overflow alert"))
    if visit.get("missed"):
        notes.append(sheets.say("missed: the crew could not empty it"))
    return notes


SIDE_WORDS = {"left": N_("on the left"), "right": N_("on the right")}


def _timed_street(visit: Mapping[str, Any], sheets: Words, day: str) -> str:
    """The timed street ``visit`` stands on and its hours on ``day``, "" for none (a plan
    stored before ``street_open`` was: its English ``street_hours``)."""
    found = visit.get("street_open")
    if not found:
        return str(visit.get("street_hours") or "")
    spans = ", ".join(f"{a}-{b}" for a, b in found["hours"])
    street = found["street"] or sheets.say("an unnamed street")
    if found.get("through"):  # reached through other timed streets: its ways
        unnamed = sheets.say("an unnamed street")
        ways = [sheets.listing([name or unnamed for name in way]) for way in found["through"]]
        street = sheets.say(
            "{street} (reached through {streets})", street=street, streets=sheets.either(ways)
        )
    return sheets.say(
        "{street}, open to trucks {hours} on {weekday} ({rule})",
        street=street,
        hours=spans or sheets.say("at no time"),
        weekday=sheets.weekday(date.fromisoformat(day)),
        rule=found["rule"],
    )


def _arrival_street(lang: Language, steps: Sequence[Mapping[str, Any]]) -> str:
    """The street of the last of ``steps``: of a leg's, the street its stop stands on."""
    if not steps:
        return ""
    last = steps[-1]
    if last["street"]:
        return str(last["street"])
    if not last["highway"]:
        return ""
    return lang.sheets.say("unnamed {kind}", kind=road_class(lang.directions, last["highway"]))


def _arrival_name(sheets: Words, kind: str, ref: str, place: str | None) -> str:
    """Where a leg arrives, for its last instruction ("Arrive at bin b1")."""
    if kind == "bin":
        return sheets.say("bin {ref}", ref=ref)
    if kind == "disposal":
        return sheets.say("disposal site {place}", place=place or ref)
    if kind == "waypoint":
        return sheets.say("the truck's place when its route changed")
    return str(place or ref)


def _stop_name(sheets: Words, kind: str, ref: str, place: str | None) -> str:
    """A visit's stop for a driver: "bin b1", "disposal site s1", "leave depot-1"... (a
    plan stored before visits named their ``place`` says "the depot")."""
    if kind == "start" and place == ref:  # the truck's own place: where it was reported
        return sheets.say("set off from where the truck is")
    if kind == "start":
        return sheets.say("leave {place}", place=place) if place else sheets.say("leave the depot")
    if kind == "end":
        return (
            sheets.say("back at {place}", place=place) if place else sheets.say("back at the depot")
        )
    if kind in ("bin", "disposal"):
        return _arrival_name(sheets, kind, ref, place)
    if kind == "break":
        return sheets.say("break")
    if kind == "waypoint":
        return sheets.say("where the truck was when its route changed")
    return f"{kind} {ref}"


def _point(day: DayPlan, visit: Visit) -> LonLat:
    lon, lat = day.built.problem.matrix.points[visit.location]  # type: ignore[index]
    return (float(lon), float(lat))


def _hhmm(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M")


def _metres(m: float, sheets: Words) -> str:
    return f"{sheets.number(m / 1000, 1)} km" if m >= 1000 else f"{sheets.number(m)} m"
