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

The sheets' words and language live in :mod:`optimiser.sheet_words`, the printable page
(its table rows, crew notes and route map) in :mod:`optimiser.sheet_page`; ``make
messages`` extracts the sheets' catalogue from all three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from network.directions import Directions, Step
from network.language import N_, Words
from optimiser.daily import DayPlan
from optimiser.export import kerb_at, place_of, plan_json, route_of
from optimiser.plan import Route, Visit
from optimiser.sheet_page import _STYLE, _Page, _route_maps
from optimiser.sheet_words import (
    Language,
    LonLat,
    _arrival_name,
    _leg_stop,
    _said,
    _visits_of,
    language,
)

__all__ = [
    "NO_DIRECTIONS",
    "PLANNED_BEFORE",
    "Language",
    "all_directions",
    "day_sheets_html",
    "directions_json",
    "language",
    "legs",
    "localized",
    "route_sheets_html",
]

NO_DIRECTIONS = N_(
    "no street directions: these travel times are straight-line estimates (plan with a "
    "city's street file for them)"
)


PLANNED_BEFORE = N_(
    "no directions: this plan was made before the service stored them; plan the day again for them"
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


def _point(day: DayPlan, visit: Visit) -> LonLat:
    lon, lat = day.built.problem.matrix.points[visit.location]  # type: ignore[index]
    return (float(lon), float(lat))
