"""The daily planning job (``plan_day``) and the plan exports, on the tiny city."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, time

import pytest

from fleet.fill import estimate_models
from fleet.models import (
    Action,
    Bin,
    CitizenReport,
    Depot,
    DisposalSite,
    FillReading,
    Inventory,
    Vehicle,
)
from network.providers import HaversineProvider
from optimiser.check import check
from optimiser.daily import DayPlan, compute_kpis, plan_day, planned_weights
from optimiser.export import gpx, plan_csv, plan_json, routes_geojson, vroom_json
from optimiser.params import SolveParams
from optimiser.plan import Unserved, Visit, VisitKind
from tests.optimiser.daily.city import DAY, TZ, plan_tiny_day


def test_plan_day_collects_must_bins_with_disposal_trips(day: DayPlan) -> None:
    """Fast-filling and reported bins are must; the 1000 l truck unloads between them."""
    actions = {d.bin_id: d.action for d in day.decisions}
    assert actions["b0"] is Action.MUST and actions["b1"] is Action.MUST
    assert actions["b2"] is Action.MUST  # citizen report
    assert actions["b5"] is Action.SKIP
    assert check(day.built.problem, day.plan) == []
    assert day.violations == ()
    assert {"b0", "b1", "b2"} <= day.plan.served_refs
    assert day.kpis["disposal_trips"] >= 2  # 3 x 660 l into a 1000 l body
    assert day.kpis["must_collected"] == 3
    route = next(r for r in day.plan.routes if r.used)
    assert route.visits[-2].kind is VisitKind.DISPOSAL  # returns empty


@pytest.mark.parametrize("left", ["unserved", "unplaced"])
def test_a_must_bin_whose_second_visit_is_left_out_is_not_counted_collected(
    day: DayPlan, left: str
) -> None:
    """b0 was emptied (its visit ``b0`` served) and must be emptied again (``b0#2``), which
    the plan leaves out, unserved or unplaced (no street reaches it now): the KPIs count
    b0 among the unserved must bins, not the collected ones (both counted it, so
    must_collected + unserved_must came to more than must_total)."""
    assert "b0" in day.plan.served_refs
    again = Unserved(ref="b0#2", reason="no truck can reach it")
    plan, unplaced = day.plan, (again,) if left == "unplaced" else ()
    if left == "unserved":
        plan = dataclasses.replace(plan, unserved=(*plan.unserved, again))
    weights = planned_weights(day.decisions, day.built.problem)
    kpis = compute_kpis(
        plan, day.decisions, day.fill_at_pickup, weights, day.built.problem, unplaced
    )
    assert (kpis["must_collected"], kpis["unserved_must"]) == (
        day.kpis["must_collected"] - 1,
        day.kpis["unserved_must"] + 1,
    )
    assert kpis["must_collected"] + kpis["unserved_must"] == kpis["must_total"]


def test_fill_at_pickup_counts_a_bin_forecast_past_full_as_full(day: DayPlan) -> None:
    """A bin forecast at 150 % at its visit is emptied full (its overflow is beside it):
    the mean fill at pickup counts it 1.0, and stays within 0..1 (it came to 1.075 on a
    tiny town before)."""
    served = sorted(day.plan.served_refs)
    assert len(served) >= 2
    fills = dict.fromkeys(served, 0.5) | {served[0]: 1.5}
    weights = planned_weights(day.decisions, day.built.problem)
    kpis = compute_kpis(day.plan, day.decisions, fills, weights, day.built.problem)
    expected = (1.0 + 0.5 * (len(served) - 1)) / len(served)
    assert kpis["mean_fill_at_pickup"] == pytest.approx(expected, abs=1e-3)


def test_plan_day_loads_each_bin_as_late_as_a_truck_may_come(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]], day: DayPlan
) -> None:
    """Loads are the fill at the deadline, else at the end of the shift (14:00)."""
    inventory, readings, reports = tiny_city
    end = datetime.combine(DAY, time(14), tzinfo=TZ)
    models = estimate_models(
        inventory.bins, readings, reports, now=datetime.combine(DAY, time(6), tzinfo=TZ)
    )
    capacity = {b.bin_id: b.capacity_l for b in inventory.bins}
    planned = [d for d in day.decisions if d.action is not Action.SKIP]
    assert any(d.due_at is None for d in planned)
    for d in planned:
        load_at = min(d.due_at, end) if d.due_at is not None else end
        fill = min(models[d.bin_id].fill_at(load_at).expected, 1.0)
        assert d.expected_volume_l == pytest.approx(fill * capacity[d.bin_id]), d.bin_id


def test_plan_day_reports_progress() -> None:
    """The progress callback goes from 0 to 1 with messages."""
    seen: list[tuple[float, str]] = []
    inv = Inventory(
        bins=(Bin(bin_id="x", lon=24.94, lat=60.17, capacity_l=240),),
        depots=(Depot(depot_id="d", lon=24.93, lat=60.165),),
        vehicles=(Vehicle(vehicle_id="t", depot_id="d", capacity_l=1000, capacity_kg=500),),
        sites=(DisposalSite(site_id="s", lon=24.96, lat=60.18),),
    )
    plan_day(
        inv,
        [],
        [],
        HaversineProvider(),
        plan_date=DAY,
        tz=TZ,
        params=SolveParams(time_limit_s=0.5),
        progress=lambda f, m: seen.append((f, m)),
    )
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(m for _, m in seen)


def test_kpis_add_up(day: DayPlan) -> None:
    """KPIs are recomputed from the routes, not copied."""
    used = [r for r in day.plan.routes if r.used]
    assert day.kpis["km"] == round(sum(r.distance_m for r in used) / 1000, 2)
    assert day.kpis["bins_collected"] == sum(len(r.bin_refs) for r in used)
    assert 0.3 < day.kpis["mean_fill_at_pickup"] <= 1.0


def test_plan_json_round_trips_and_times_are_local(day: DayPlan) -> None:
    """plan.json is strict JSON; visit times carry the Helsinki offset."""
    doc = json.loads(json.dumps(plan_json(day), allow_nan=False))
    assert doc["plan_date"] == "2026-11-25" and doc["timezone"] == "Europe/Helsinki"
    first = doc["routes"][0]["visits"][0]
    assert first["kind"] == "start" and first["start"].endswith("+02:00")
    assert len(doc["decisions"]) == 6


def test_geojson_uses_lon_lat_and_the_geometry_callback(day: DayPlan) -> None:
    """Route lines go through the geometry callback; points are [lon, lat]."""
    calls: list[tuple[int, int]] = []

    def geometry(
        points: Sequence[tuple[float, float]], kerb: Sequence[bool]
    ) -> list[tuple[float, float]]:
        calls.append((len(points), len(kerb)))
        return list(points)

    geo = routes_geojson(day, geometry)
    assert calls, "geometry callback unused"
    assert all(n == k for n, k in calls), "one kerb flag per point"
    for feat in geo["features"]:
        coords = feat["geometry"]["coordinates"]
        first = coords[0] if feat["geometry"]["type"] == "LineString" else coords
        assert 24.0 < first[0] < 25.0 and 60.0 < first[1] < 61.0


def test_each_route_names_its_trucks_streams(
    tiny_city: tuple[Inventory, list[FillReading], list[CitizenReport]],
) -> None:
    """plan.json's routes (the API's /plans/{id}/routes) and the GeoJSON route lines name
    the waste streams of each truck, sorted (they named none)."""
    inventory, readings, reports = tiny_city
    both = frozenset({"residual", "bio"})
    mixed = dataclasses.replace(inventory.vehicles[0], streams=both)
    site = dataclasses.replace(inventory.sites[0], streams=both)
    day = plan_tiny_day(
        dataclasses.replace(inventory, vehicles=(mixed,), sites=(site,)), readings, reports
    )
    (route,) = plan_json(day)["routes"]
    assert route["vehicle_id"] == "t1" and route["streams"] == ["bio", "residual"]
    lines = [f["properties"] for f in routes_geojson(day)["features"]]
    (line,) = [p for p in lines if p["kind"] == "route"]
    assert line["streams"] == ["bio", "residual"]


def test_csv_has_one_row_per_visit(day: DayPlan) -> None:
    """plan.csv: header + a row per visit of every route."""
    rows = list(csv.DictReader(io.StringIO(plan_csv(day))))
    assert len(rows) == sum(len(r.visits) for r in day.plan.routes)
    assert {r["kind"] for r in rows} >= {"start", "bin", "disposal", "end"}
    located = [r for r in rows if r["lon"]]
    assert all(len(r["lon"].split(".")[1]) <= 7 for r in located)  # no float noise


def test_gpx_is_valid_xml_and_unknown_truck_is_a_key_error(day: DayPlan) -> None:
    """GPX parses and names each stop; asking for a truck without a route fails clearly."""
    root = ET.fromstring(gpx(day, "t1"))
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert len(root.findall("g:rte/g:rtept", ns)) >= 5
    with pytest.raises(KeyError, match="no route for vehicle 'nope'"):
        gpx(day, "nope")


def test_gpx_route_points_give_their_time_first_and_in_utc(day: DayPlan) -> None:
    """GPX 1.1 orders a point's children time, then name; its times are UTC (a Z): the
    first point is the truck leaving at its shift's start, 06:00 in Helsinki."""
    root = ET.fromstring(gpx(day, "t1"))
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    points = root.findall("g:rte/g:rtept", ns)
    for point in points:
        assert [child.tag.split("}")[1] for child in point] == ["time", "name"]
    first = points[0].find("g:time", ns)
    assert first is not None and first.text is not None and first.text.endswith("Z")
    leaves = datetime.fromisoformat(first.text.replace("Z", "+00:00"))
    assert leaves == day.at(day.plan.routes[0].visits[0].arrival_s)


def test_a_visit_its_crew_could_not_empty_reads_missed_in_every_export(day: DayPlan) -> None:
    """The plan's second bin visit was passed, its crew unable to empty the bin: the CSV's
    last column (after the columns readers already know, in their order), the GeoJSON stop
    Points, the GPX route point and the VROOM step say so, and no other visit does."""
    bins = [v for v in day.plan.routes[0].visits if v.kind is VisitKind.BIN]
    passed = bins[1].ref
    missed = dataclasses.replace(day, missed=(passed,))

    header, *rows = list(csv.reader(io.StringIO(plan_csv(missed))))
    assert header == [
        *("vehicle_id", "order", "kind", "ref", "lon", "lat"),
        *("arrival", "start", "end", "load_l", "load_kg", "missed"),
    ]
    assert {r[3]: r[-1] for r in rows if r[-1] == "true"} == {passed: "true"}
    assert {r[-1] for r in rows if r[3] != passed} == {"false"}

    points = [f["properties"] for f in routes_geojson(missed)["features"]]
    stops = [p for p in points if p["kind"] != "route"]
    assert [p["ref"] for p in stops if p["missed"] is True] == [passed]
    assert {p["missed"] for p in stops if p["ref"] != passed} == {False}

    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    root = ET.fromstring(gpx(missed, day.plan.routes[0].vehicle_ref))
    described = {
        p.findtext("g:name", namespaces=ns): [c.tag.split("}")[1] for c in p]
        for p in root.findall("g:rte/g:rtept", ns)
        if p.find("g:desc", ns) is not None
    }
    ((name, tags),) = described.items()
    assert name is not None and name.endswith(f" bin {passed}")
    assert tags == ["time", "name", "desc"]

    steps = [s for r in vroom_json(missed)["routes"] for s in r["steps"]]
    assert [s["id"] for s in steps if s.get("missed")] == [passed]
    assert not any("missed" in s for s in vroom_json(day)["routes"][0]["steps"])


def _shifted(visit: Visit, by_s: int, lasting_s: int | None = None) -> Visit:
    """``visit`` ``by_s`` seconds later (lasting ``lasting_s``, when given)."""
    start = visit.start_s + by_s
    end = start + (visit.end_s - visit.start_s if lasting_s is None else lasting_s)
    return dataclasses.replace(visit, arrival_s=visit.arrival_s + by_s, start_s=start, end_s=end)


def test_vroom_driving_service_and_waiting_add_up_to_each_routes_duration(
    day: DayPlan,
) -> None:
    """Driving is the matrix's; a break (service) is not waiting, wherever the engine
    put it. A break taken while the truck waits for a window, as OR-Tools may list it:
    before the stop, after the truck's arrival there."""
    doc = vroom_json(day)
    dur = day.built.problem.matrix.duration_s
    for vroom, route in zip(doc["routes"], [r for r in day.plan.routes if r.used], strict=True):
        located = [v.location for v in route.visits if v.location is not None]
        assert vroom["duration"] == sum(int(dur[a, b]) for a, b in itertools.pairwise(located))
        total = vroom["duration"] + vroom["service"] + vroom["waiting_time"]
        assert total == route.duration_s, vroom["vehicle"]
        assert all(step["waiting_time"] >= 0 for step in vroom["steps"])
    route = next(r for r in day.plan.routes if r.used)
    stop = next(i for i, v in enumerate(route.visits) if v.kind is VisitKind.BIN and i > 1)
    prev, at = route.visits[stop - 1], route.visits[stop]
    leg = int(dur[prev.location, at.location])
    start = prev.end_s + leg + 3600  # a window opens an hour after the truck could come
    brk = _shifted(prev, start - 1800 - prev.start_s, 1800)
    brk = dataclasses.replace(brk, kind=VisitKind.BREAK, ref=route.vehicle_ref, location=None)
    waited = dataclasses.replace(_shifted(at, start - at.start_s), arrival_s=prev.end_s + leg)
    later = [_shifted(v, waited.end_s - at.end_s) for v in route.visits[stop + 1 :]]
    visits = (*route.visits[:stop], brk, waited, *later)
    edited = dataclasses.replace(
        route, visits=visits, duration_s=visits[-1].end_s - visits[0].start_s
    )
    plan = dataclasses.replace(day.plan, routes=(edited,))
    vroom = vroom_json(dataclasses.replace(day, plan=plan))["routes"][0]
    assert vroom["duration"] + vroom["service"] + vroom["waiting_time"] == edited.duration_s
    step = next(x for x in vroom["steps"] if x["id"] == at.ref)
    assert step["waiting_time"] == 3600 - 1800


def test_vroom_json_summary_matches_routes(day: DayPlan) -> None:
    """VROOM layout: summary sums the routes; steps start with start and end with end."""
    doc = vroom_json(day)
    assert doc["code"] == 0
    assert doc["summary"]["distance"] == sum(r["distance"] for r in doc["routes"])
    for route in doc["routes"]:
        assert route["steps"][0]["type"] == "start" and route["steps"][-1]["type"] == "end"
