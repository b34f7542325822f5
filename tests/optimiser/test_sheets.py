"""Drivers' route sheets and directions (optimiser.sheets): a day planned on the tiny street
town (tests.network; depot at A, site at C), and hand-made plan documents for the page."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fleet.models import Bin, FillReading
from network.providers import StreetProvider
from network.streets import StreetNetwork
from optimiser.check import check
from optimiser.daily import DayPlan, plan_day
from optimiser.export import plan_json, routes_geojson
from optimiser.params import SolveParams
from optimiser.plan import VisitKind
from optimiser.sheets import (
    NO_DIRECTIONS,
    all_directions,
    day_sheets_html,
    directions_json,
    language,
    localized,
    route_sheets_html,
)
from tests.network.conftest import build_tiny_graph, grid
from tests.optimiser.conftest import at_row, street_town

TZ = ZoneInfo("Europe/Helsinki")
DAY = date(2026, 11, 25)
NORTH = grid(0.75, 0.07)  # on the north kerb of A-B: taken from the kerb, driving west
BINS = (("q", NORTH, True), ("m", grid(2, 0.5), False), ("w", grid(0, 0.6), False))


@pytest.fixture(scope="module")
def net() -> StreetNetwork:
    return StreetNetwork.from_graph(build_tiny_graph())


@pytest.fixture(scope="module")
def day(net: StreetNetwork) -> DayPlan:
    """Three full bins, q on the north kerb of A-B (kerb side), m on C-F, w on A-D."""
    inventory = street_town(
        [Bin(bin_id=b, lon=at[0], lat=at[1], capacity_l=240, kerb_side=k) for b, at, k in BINS]
    )
    eve = datetime.combine(DAY - timedelta(days=1), time(20), tzinfo=TZ)
    readings = [FillReading(bin_id=b, at=eve, fill_fraction=0.95) for b, _, _ in BINS]
    provider = StreetProvider(net, max_snap_m=250.0)
    params = SolveParams(time_limit_s=1.0, seed=1)
    return plan_day(inventory, readings, [], provider, plan_date=DAY, tz=TZ, params=params)


def _directions(net: StreetNetwork):
    def directions(points, kerb):
        return net.directions(points, max_snap_m=250.0, kerb_side=kerb)

    return directions


def test_a_leg_per_visit_with_a_place_adding_up_to_the_route(
    day: DayPlan, net: StreetNetwork
) -> None:
    """One leg per visit with a place after the start, in order, each ending at that
    visit's place; their metres add up to the route's (the same paths as the matrix)."""
    assert day.plan.served_refs == {"q", "m", "w"} and check(day.built.problem, day.plan) == []
    (route,) = [r for r in day.plan.routes if r.used]
    doc = directions_json(day, "t1", _directions(net))
    placed = [i for i, v in enumerate(route.visits) if v.location is not None]
    assert [leg["to_order"] for leg in doc["legs"]] == placed[1:]
    refs = day.built.point_refs
    assert [leg["to"] for leg in doc["legs"]] == [refs[at_row(route.visits[i])] for i in placed[1:]]
    driven = sum(leg["distance_m"] for leg in doc["legs"])
    assert driven == pytest.approx(route.distance_m, abs=len(doc["legs"]))
    for leg in doc["legs"]:
        assert leg["steps"][-1]["maneuver"] == "arrive"
        assert leg["distance_m"] == pytest.approx(
            sum(s["distance_m"] for s in leg["steps"]), abs=0.5
        )
    assert "note" not in doc


def test_the_kerb_side_bin_is_arrived_at_on_the_right(day: DayPlan, net: StreetNetwork) -> None:
    doc = directions_json(day, "t1", _directions(net))
    (leg,) = [leg for leg in doc["legs"] if leg["to"] == "q"]
    arrive = leg["steps"][-1]
    assert arrive["side"] == "right" and arrive["street"] == "street 12"
    assert arrive["instruction"] == "Arrive at bin q, on the right"
    home = doc["legs"][-1]
    assert home["steps"][-1]["instruction"] == "Arrive at d"  # back at the depot


def test_the_sheet_lists_each_stop_in_order_with_its_directions(
    day: DayPlan, net: StreetNetwork
) -> None:
    page = day_sheets_html(day, _directions(net))
    (route,) = [r for r in day.plan.routes if r.used]
    bins = [v.ref for v in route.visits if v.kind is VisitKind.BIN]
    shown = re.findall(r"<td>bin (\w+)</td>", page)
    assert shown == bins
    assert page.count("<section>") == 1 and "<h1>t1: 2026-11-25</h1>" in page
    assert "shift 06:00-14:00" in page and "from d" in page
    first = directions_json(day, "t1", _directions(net))["legs"][0]["steps"][0]["street"]
    assert f"<td>leave d</td><td>{first}</td>" in page  # the street it sets off along
    assert "Arrive at bin q, on the right" in page and "taken from the kerb" in page
    assert "disposal site s" in page and "back at d" in page
    assert page.count("<ol>") == len(directions_json(day, "t1", _directions(net))["legs"])
    assert escape(NO_DIRECTIONS) not in page


def test_each_page_opens_with_a_map_of_its_route(day: DayPlan, net: StreetNetwork) -> None:
    """Given the plan's routes (GeoJSON), the page draws the truck's street line and its
    stops, each bin numbered by its row in the table."""

    def geometry(points, kerb):
        return net.polyline(points, max_snap_m=250.0, kerb_side=kerb)

    geo = routes_geojson(day, geometry)
    page = day_sheets_html(day, _directions(net), geo)
    assert page.count('<svg class="map"') == 1 and "OpenStreetMap contributors" in page
    (line,) = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
    (drawn,) = re.findall(r'<polyline points="([^"]+)"', page)
    assert len(drawn.split()) == len(line["geometry"]["coordinates"])
    (route,) = [r for r in day.plan.routes if r.used]
    orders = [str(i) for i, v in enumerate(route.visits) if v.kind is VisitKind.BIN]
    labels = re.findall(r'font-size="10">(\d+)</text>', page)
    assert [x for x in labels if x in orders] == orders
    assert "<svg" not in day_sheets_html(day, _directions(net))


def test_without_directions_the_sheet_lists_the_stops_and_says_why(day: DayPlan) -> None:
    page = day_sheets_html(day, None)
    assert "<ol>" not in page and escape(NO_DIRECTIONS) in page
    assert re.findall(r"<td>bin (\w+)</td>", page)
    doc = directions_json(day, "t1")
    assert doc["legs"] == [] and doc["note"] == NO_DIRECTIONS


def test_an_unknown_truck_is_named(day: DayPlan) -> None:
    with pytest.raises(KeyError, match="'t9'"):
        directions_json(day, "t9")
    with pytest.raises(KeyError, match="'t9'"):
        route_sheets_html(plan_json(day), {}, ["t9"])
    assert set(all_directions(day, None)) == {"t1"}


def _visit(kind: str, ref: str, place: str | None, at: str, **extra: Any) -> dict[str, Any]:
    stamp = f"2026-11-25T{at}:00+02:00"
    return {
        "kind": kind,
        "ref": ref,
        "place": place,
        "arrival": stamp,
        "start": extra.pop("start", stamp),
        "end": extra.pop("end", stamp),
        "load_l": extra.pop("load_l", 0),
        "load_kg": extra.pop("load_kg", 0),
        **extra,
    }


def test_the_crew_is_told_waits_alerts_misses_and_ids_are_escaped() -> None:
    """A hand-made rerouted route: it sets off from where the truck was, waits for a bin's
    window, takes an alerted bin by its target, misses one, breaks, unloads."""
    on, tz = "2026-11-25T", ":00+02:00"
    route = {
        "vehicle_id": "<t&1>",
        "streams": ["residual"],
        "shift_start": "2026-11-25T06:00:00+02:00",
        "shift_end": "2026-11-25T14:00:00+02:00",
        "distance_m": 12345,
        "duration_s": 7200,
        "bins": 3,
        "disposal_trips": 1,
        "visits": [
            _visit("start", "<t&1>", "<t&1>", "10:00"),
            _visit("bin", "b1", "b1", "10:05", start=f"{on}10:30{tz}", end=f"{on}10:32{tz}"),
            _visit("bin", "b2", "b2", "10:40", alert=True, respond_by=f"{on}11:00{tz}",
                   load_l=1200, load_kg=300),
            _visit("bin", "b3", "b3", "10:50", missed=True),
            _visit("break", "<t&1>", None, "11:00", end="2026-11-25T11:30:00+02:00"),
            _visit("disposal", "s1", "s1", "12:00"),
            _visit("end", "<t&1>", "d1", "12:30"),
        ],
    }  # fmt: skip
    plan = {"plan_date": "2026-11-25", "routes": [route]}
    page = route_sheets_html(plan, {}, missing="no directions here")
    german = route_sheets_html(plan, {}, missing=NO_DIRECTIONS, lang=language("de"))
    spanish = route_sheets_html(plan, {}, lang=language("es"))
    assert "&lt;t&amp;1&gt;" in page and "<t&1>" not in page
    assert "set off from where the truck is" in page
    assert "wait until 10:30" in page and "<td>10:32</td>" in page
    assert "overflow alert: empty by 11:00" in page and "1,200 l / 300 kg" in page
    assert "missed: the crew could not empty it" in page
    assert "<td>break</td>" in page and "disposal site s1" in page and "back at d1" in page
    assert "no directions here." in page
    assert "12.35 km" in page and "2 h" in page and "1 disposal trip ·" in page
    assert "streams residual" in page and "shift 06:00-14:00" in page
    assert '<html lang="de">' in german and "<th>Ankunft</th>" in german
    assert "Abfahrt vom Standort des Fahrzeugs" in german and "warten bis 10:30" in german
    assert "Überlaufmeldung: bis 11:00 leeren" in german and "1.200 l / 300 kg" in german
    assert "ausgelassen: die Besatzung konnte ihn nicht leeren" in german
    assert "<td>Pause</td>" in german and "Entsorgungsanlage s1" in german
    assert "12,35 km" in german and "3 Behälter · 1 Entsorgungsfahrt ·" in german
    assert "keine Wegbeschreibung: diese Fahrzeiten sind Luftlinien" in german
    assert "zurück in d1" in german and "back at" not in german
    assert "sin indicaciones por calles" in spanish and "3 contenedores" in spanish


def test_a_plan_stored_before_visits_named_their_place_still_reads() -> None:
    """plan.json of an older version: no ``place`` on visits, no shift on routes."""
    route = {
        "vehicle_id": "t1",
        "bins": 1,
        "visits": [
            _visit("start", "t1", None, "06:00"),
            _visit("bin", "b1", None, "06:10"),
            _visit("disposal", "s1", None, "06:30"),
            _visit("end", "t1", None, "07:00"),
        ],
    }
    page = route_sheets_html({"plan_date": "2026-11-25", "routes": [route]}, {})
    assert "leave the depot" in page and "back at the depot" in page
    assert "<td>bin b1</td>" in page and "disposal site s1" in page and "shift" not in page


def test_a_plan_with_no_truck_out_says_so() -> None:
    plan = {"plan_date": "2026-11-25", "routes": [{"vehicle_id": "t1", "bins": 0, "visits": []}]}
    assert "No truck leaves its depot in this plan." in route_sheets_html(plan, {})


def test_directions_and_sheets_are_said_in_the_drivers_language(
    day: DayPlan, net: StreetNetwork
) -> None:
    """A fresh plan's directions in Finnish; stored English directions said again in
    Portuguese from their steps' fields (the service's ``?language=``), the same as made in
    Portuguese; the sheet's instructions are said from the fields too."""
    finnish = directions_json(day, "t1", _directions(net), language("fi"))
    english = directions_json(day, "t1", _directions(net))
    assert finnish["language"] == "fi" and english["language"] == "en"
    (leg,) = [leg for leg in finnish["legs"] if leg["to"] == "q"]
    assert leg["steps"][-1]["instruction"] == "Perillä: astia q, oikealla"
    assert finnish["legs"][-1]["steps"][-1]["instruction"] == "Perillä: d"
    strip = [
        {**leg, "steps": [{**s, "instruction": ""} for s in leg["steps"]]}
        for leg in finnish["legs"]
    ]
    assert strip == [
        {**leg, "steps": [{**s, "instruction": ""} for s in leg["steps"]]}
        for leg in english["legs"]
    ]
    plan = plan_json(day)
    portuguese = directions_json(day, "t1", _directions(net), language("pt"))
    assert localized(plan, english, language("pt")) == portuguese
    assert localized(plan, portuguese, language("en")) == english
    said = [s["instruction"] for leg in portuguese["legs"] for s in leg["steps"]]
    assert any(s.startswith("Vire à ") for s in said) and "Chegada a contêiner q, à direita" in said
    page = route_sheets_html(plan, {"t1": english}, lang=language("pt"))
    assert all(escape(s) in page for s in said) and "Arrive at" not in page
    without = localized(plan, directions_json(day, "t1"), language("zh"))
    assert without["note"].startswith("无道路指引") and without["legs"] == []
