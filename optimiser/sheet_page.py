"""The printable route sheet of one truck: its summary line, the table of stops with the
directions to each and what the crew should know (a wait, the side, the kerb, a timed
street, an alert, a miss), and its route map (an inline SVG, stops numbered as the rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

from network.drawing import Projector, svg_polyline
from network.language import N_, Words
from optimiser.plan import span
from optimiser.sheet_words import (
    Language,
    LonLat,
    _arrival_street,
    _hhmm,
    _leg_stop,
    _metres,
    _said,
    _stop_name,
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
