"""Plan exports: JSON, GeoJSON, CSV, GPX and VROOM-style JSON.

All functions take a :class:`optimiser.daily.DayPlan` (the plan plus the problem it solves)
and are pure: they return a document, never write files. Coordinates are (lon, lat) WGS84;
times are ISO-8601 with the city's UTC offset.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any
from xml.sax.saxutils import escape

from fleet.models import Action
from optimiser.daily import DayPlan, waiting_at_depot_s
from optimiser.plan import Route, Visit, VisitKind
from optimiser.problem import bin_of

LonLat = tuple[float, float]
# (visit points, whether each is taken from the kerb) -> street-following polyline
Geometry = Callable[[Sequence[LonLat], Sequence[bool]], list[LonLat]]


def _where(day: DayPlan, visit: Visit) -> LonLat | None:
    if visit.location is None:
        return None
    lon, lat = day.built.problem.matrix.points[visit.location]
    return (float(lon), float(lat))


def _visit_points(day: DayPlan, route: Route) -> list[LonLat]:
    return [p for v in route.visits if (p := _where(day, v)) is not None]


def _visit_kerb(day: DayPlan, route: Route) -> list[bool]:
    """Whether each of ``_visit_points`` is taken from the kerb (its matrix row's flag)."""
    return [kerb_at(day, v.location) for v in route.visits if v.location is not None]


def _iso(day: DayPlan, seconds: int) -> str:
    return day.at(seconds).isoformat()


def _utc(day: DayPlan, seconds: int) -> str:
    """``seconds`` of the plan's day as UTC with a Z, as GPX wants its times."""
    return day.at(seconds).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _finite(value: float) -> float | None:
    """``value``, or None (JSON null) for NaN and infinities: e.g. the mean fill at pickup
    of a day that collects nothing."""
    return value if math.isfinite(value) else None


def _visit_json(day: DayPlan, visit: Visit, order: int) -> dict[str, Any]:
    where = _where(day, visit)
    doc: dict[str, Any] = {
        "order": order,
        "kind": str(visit.kind),
        "ref": visit.ref,
        "place": place_of(day, visit),
        "lon": round(where[0], 7) if where else None,  # 1 cm: float noise off the CSV
        "lat": round(where[1], 7) if where else None,
        "arrival": _iso(day, visit.arrival_s),
        "start": _iso(day, visit.start_s),
        "end": _iso(day, visit.end_s),
        "load_l": visit.volume_l,
        "load_kg": visit.weight_kg,
    }
    if visit.kind is VisitKind.BIN:
        doc["bin_id"] = bin_of(visit.ref)
        fill = day.fill_at_pickup.get(visit.ref)
        doc["expected_fill"] = None if fill is None else _finite(round(fill, 3))
        doc["kerb_side"] = kerb_at(day, visit.location)
        timed = day.street_hours.get(bin_of(visit.ref))
        if timed is not None:  # a street trucks may drive only at some hours
            doc["street_hours"] = timed.text
            doc["street_open"] = timed.json()
    return doc


def place_of(day: DayPlan, visit: Visit) -> str | None:
    """The ref of the place of ``visit`` (its matrix row's: a depot, site or bin id, or the
    truck's own where it was on the road), None for a break (where the truck is)."""
    return None if visit.location is None else day.built.point_refs[visit.location]


def kerb_at(day: DayPlan, location: int | None) -> bool:
    """Whether the point at matrix row ``location`` is taken from the kerb."""
    flags = day.built.problem.matrix.kerb_side
    return bool(flags) and location is not None and flags[location]


def _streams(day: DayPlan, route: Route) -> list[str]:
    """The waste streams ``route``'s truck takes, sorted (what its bins may be)."""
    for v in day.built.problem.vehicles:
        if v.ref == route.vehicle_ref:
            return sorted(v.streams)
    return []


def route_json(day: DayPlan, route: Route) -> dict[str, Any]:
    """One truck's route as a JSON-ready dict (visits with ISO times and loads;
    ``waiting_at_depot_s``: the part of ``duration_s`` it stands at its depot between two
    outings, which the hours KPI leaves out; ``streams``: the waste streams the truck
    takes, sorted; ``shift_start`` / ``shift_end``: its shift that day, from a plan made
    during the day its start then; each visit's ``place``: the depot, site or bin it is
    at, null for a break). Bin visits say whether an overflow alert asked
    for them (``alert``); those with a response target give it (``respond_by``) and how late
    they start against it (``late_s``, 0 when on time); a visit done whose crew could not
    empty the bin says so (``missed``: passed, nothing taken)."""
    visits = [_visit_json(day, v, i) for i, v in enumerate(route.visits)]
    targets = {s.ref: s.due_s for s in day.built.problem.stops if s.due_s is not None}
    for doc, visit in zip(visits, route.visits, strict=True):
        if visit.kind is not VisitKind.BIN:
            continue
        doc["alert"] = visit.ref in day.alerted
        if visit.ref in day.missed:  # passed: its crew could not empty the bin
            doc["missed"] = True
        due = targets.get(visit.ref)
        if due is not None:
            doc["respond_by"] = _iso(day, due)
            doc["late_s"] = max(0, visit.start_s - due)
    spec = next((v for v in day.built.problem.vehicles if v.ref == route.vehicle_ref), None)
    return {
        "vehicle_id": route.vehicle_ref,
        "streams": _streams(day, route),
        "shift_start": _iso(day, spec.shift_s[0]) if spec is not None else None,
        "shift_end": _iso(day, spec.shift_s[1]) if spec is not None else None,
        "distance_m": route.distance_m,
        "duration_s": route.duration_s,
        "waiting_at_depot_s": waiting_at_depot_s(route, day.built.problem),
        "cost": route.cost / 100.0,
        "bins": len(route.bin_refs),
        "disposal_trips": sum(v.kind is VisitKind.DISPOSAL for v in route.visits),
        "visits": visits,
    }


def plan_json(day: DayPlan) -> dict[str, Any]:
    """The whole plan: status, when a plan made during the day starts (``start_at``; null
    for a plan made before the shifts: work reported before it was done on an earlier
    plan), KPIs, routes, unserved bins with reasons and their kinds (``kind``: an
    ``optimiser.plan.UnservedKind`` value; ``required``: a
    must-collect bin or an alert's; ``alert``: a visit an overflow alert asked for), policy
    decisions, notes, the sensors a crew should check (``sensor_checks``: bin id, issue
    in ``fleet.fill.SENSOR_ISSUES``, note), and the independent checker's violations
    (empty when every rule holds)."""
    plan = day.plan
    must = {d.bin_id for d in day.decisions if d.action is Action.MUST}
    required = {s.ref for s in day.built.problem.stops if s.required} | {
        u.ref for u in day.unplaced if bin_of(u.ref) in must
    }
    return {
        "plan_date": day.plan_date.isoformat(),
        "timezone": day.tz_name,
        "start_at": day.start_at.isoformat() if day.start_at is not None else None,
        "status": str(plan.status),
        "engine": plan.engine,
        "objective": plan.objective,
        "solve_time_s": round(plan.solve_time_s, 3),
        "kpis": {k: _finite(v) for k, v in day.kpis.items()},
        "routes": [route_json(day, r) for r in plan.routes],
        "unserved": [
            {
                "bin_id": bin_of(u.ref),
                "ref": u.ref,
                "required": u.ref in required,
                "alert": u.ref in day.alerted,
                "reason": u.reason,
                "kind": str(u.kind),
            }
            for u in day.unserved
        ],
        "decisions": [
            {
                "bin_id": d.bin_id,
                "action": str(d.action),
                "expected_fill": round(d.expected_fill_fraction, 3),
                "expected_volume_l": round(d.expected_volume_l, 1),
                "expected_weight_kg": round(d.expected_weight_kg, 1),
                "prize": d.prize,
                "reason": d.reason,
                "due_at": d.due_at.isoformat() if d.due_at is not None else None,
                "release_at": d.release_at.isoformat() if d.release_at is not None else None,
            }
            for d in day.decisions
        ],
        "notes": list(plan.notes),
        "sensor_checks": [
            {"bin_id": c.bin_id, "issue": c.issue, "note": c.note} for c in day.sensor_checks
        ],
        "violations": [
            {"vehicle_id": v.vehicle_ref, "ref": v.ref, "code": v.code, "message": v.message}
            for v in day.violations
        ],
    }


def _line(day: DayPlan, route: Route, geometry: Geometry | None) -> list[list[float]]:
    """The route's line through its visits: along the streets with ``geometry``, the kerb
    rule kept, else straight."""
    points = _visit_points(day, route)
    if geometry is not None and len(points) > 1:
        coords = geometry(points, _visit_kerb(day, route))
    else:
        coords = list(points)
    return [[round(lon, 7), round(lat, 7)] for lon, lat in coords]


def _point_feature(where: LonLat, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [where[0], where[1]]},
        "properties": props,
    }


def routes_geojson(day: DayPlan, geometry: Geometry | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one LineString per used truck plus its stops as Points.

    Each route line names its truck's waste streams (``streams``, sorted). Every stop Point
    says whether it is a visit done whose crew could not empty the bin (``missed``: passed,
    nothing taken; false for every other stop).

    Parameters
    ----------
    day : DayPlan
        The plan.
    geometry : callable, optional
        Maps a visit sequence of (lon, lat) points and their kerb flags (whether each is
        taken from the kerb) to a street-following polyline (for example
        ``StreetNetwork.polyline``); straight segments when omitted.
    """
    features: list[dict[str, Any]] = []
    for route in day.plan.routes:
        if not route.used:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": _line(day, route, geometry),
                },
                "properties": {
                    "kind": "route",
                    "vehicle_id": route.vehicle_ref,
                    "streams": _streams(day, route),
                    "distance_m": route.distance_m,
                    "duration_s": route.duration_s,
                    "bins": len(route.bin_refs),
                },
            }
        )
        for order, visit in enumerate(route.visits):
            where = _where(day, visit)
            if where is None:
                continue
            props: dict[str, Any] = {"kind": str(visit.kind), "ref": visit.ref}
            props |= {"vehicle_id": route.vehicle_ref, "order": order}
            props["arrival"] = _iso(day, visit.arrival_s)
            props["missed"] = visit.ref in day.missed
            features.append(_point_feature(where, props))
    return {"type": "FeatureCollection", "features": features}


CSV_COLUMNS = (
    "vehicle_id",
    "order",
    "kind",
    "ref",
    "lon",
    "lat",
    "arrival",
    "start",
    "end",
    "load_l",
    "load_kg",
    "missed",
)


def plan_csv(day: DayPlan) -> str:
    """One CSV row per visit of every route (header included). ``missed`` is ``true`` for a
    visit done whose crew could not empty the bin (passed, nothing taken), else ``false``;
    it comes last so that readers of the earlier columns by position are unaffected."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for route in day.plan.routes:
        for order, visit in enumerate(route.visits):
            doc = _visit_json(day, visit, order)
            doc["missed"] = "true" if visit.ref in day.missed else "false"
            writer.writerow([route.vehicle_ref, *(doc[c] for c in CSV_COLUMNS[1:])])
    return out.getvalue()


_MISSED_DESC = "missed: the crew could not empty the bin"


def route_of(day: DayPlan, vehicle_id: str) -> Route:
    """The route of truck ``vehicle_id``; KeyError naming it when the plan has none."""
    route = next((r for r in day.plan.routes if r.vehicle_ref == vehicle_id), None)
    if route is None:
        raise KeyError(f"no route for vehicle {vehicle_id!r} in this plan")
    return route


def gpx(day: DayPlan, vehicle_id: str, geometry: Geometry | None = None) -> str:
    """A GPX 1.1 document for one truck: the stops as a route, the street path as a track.

    A stop whose crew could not empty the bin carries a ``<desc>`` saying so (after its
    time and name, as GPX 1.1 orders them).

    Raises
    ------
    KeyError
        If ``vehicle_id`` has no route in the plan.
    """
    route = route_of(day, vehicle_id)
    rtepts = []
    for order, visit in enumerate(route.visits):
        where = _where(day, visit)
        if where is None:
            continue
        name = escape(f"{order} {visit.kind} {visit.ref}")
        desc = f"<desc>{_MISSED_DESC}</desc>" if visit.ref in day.missed else ""
        rtepts.append(  # GPX 1.1: time, name, then desc; times in UTC
            f'<rtept lat="{where[1]:.7f}" lon="{where[0]:.7f}">'
            f"<time>{_utc(day, visit.arrival_s)}</time><name>{name}</name>{desc}</rtept>"
        )
    trkpts = [
        f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"/>' for lon, lat in _line(day, route, geometry)
    ]
    name = escape(f"binroute {day.plan_date.isoformat()} {vehicle_id}")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="binroute" xmlns="http://www.topografix.com/GPX/1/1">\n'
        f"<rte><name>{name}</name>{''.join(rtepts)}</rte>\n"
        f"<trk><name>{name}</name><trkseg>{''.join(trkpts)}</trkseg></trk>\n"
        "</gpx>\n"
    )


_VROOM_STEP = {
    VisitKind.START: "start",
    VisitKind.END: "end",
    VisitKind.BIN: "job",
    VisitKind.DISPOSAL: "job",
    VisitKind.BREAK: "break",
    VisitKind.WAYPOINT: "job",
}


def _vroom_route(day: DayPlan, route: Route) -> dict[str, Any]:
    """One route in VROOM's layout. ``duration`` is the driving time so far (the matrix's;
    into a waypoint, as reported), ``service`` counts breaks, and a stop's
    ``waiting_time`` is the rest of the time since the last stop (a break taken on the way
    or while waiting for a window is not waiting): driving, service and waiting add up to
    the route's duration whatever the engine. A step whose crew could not empty the bin
    says so (``missed``: true; VROOM has no such field, so it is absent otherwise, as in
    plan JSON)."""
    steps = []
    travel = waiting = service = 0
    dur = day.built.problem.matrix.duration_s
    prev: Visit | None = None
    paused = 0  # breaks since the last located visit
    for visit in route.visits:
        wait = 0
        if visit.kind is VisitKind.BREAK:
            paused += visit.end_s - visit.start_s
        elif visit.location is not None:
            if prev is not None and visit.kind is VisitKind.WAYPOINT:
                leg = max(0, visit.arrival_s - prev.end_s - paused)  # there whatever the drive
            else:
                leg = 0 if prev is None else int(dur[prev.location, visit.location])
            wait = 0 if prev is None else visit.start_s - prev.end_s - leg - paused
            travel, prev, paused = travel + leg, visit, 0
        waiting += wait
        service += visit.end_s - visit.start_s
        step: dict[str, Any] = {
            "type": _VROOM_STEP[visit.kind],
            "id": visit.ref,
            "arrival": visit.arrival_s,
            "duration": travel,
            "service": visit.end_s - visit.start_s,
            "waiting_time": wait,
            "load": [visit.volume_l, visit.weight_kg],
            "description": str(visit.kind),
        }
        if (where := _where(day, visit)) is not None:
            step["location"] = [where[0], where[1]]
        if visit.ref in day.missed:  # passed: its crew could not empty the bin
            step["missed"] = True
        steps.append(step)
    return {
        "vehicle": route.vehicle_ref,
        "cost": route.cost,
        "service": service,
        "duration": travel,
        "waiting_time": waiting,
        "distance": route.distance_m,
        "steps": steps,
    }


def vroom_json(day: DayPlan) -> dict[str, Any]:
    """The plan in VROOM's output layout (code, summary, unassigned, routes with steps).

    Times are seconds since local midnight of the plan date; loads are [litres, kg];
    ``cost`` is in integer cost units (1/100 of plan.json's currency, as VROOM's costs are
    integers); disposal visits are steps of type "job" with description "disposal".
    """
    routes = [_vroom_route(day, r) for r in day.plan.routes if r.used]
    summary = {
        key: sum(r[key] for r in routes)
        for key in ("cost", "service", "duration", "waiting_time", "distance")
    }
    summary |= {"routes": len(routes), "unassigned": len(day.unserved)}
    return {
        "code": 0,
        "summary": summary,
        "unassigned": [{"id": u.ref, "type": "job", "description": u.reason} for u in day.unserved],
        "routes": routes,
    }
