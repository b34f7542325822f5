"""Import/export: CSV, GeoJSON and FIWARE round trips; bad rows reported, good rows kept."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.errors import FleetDataError
from fleet.io import (
    load_inventory,
    places_file,
    read_bins_csv,
    read_depots_csv,
    read_downtimes_csv,
    read_fiware_waste_containers,
    read_inventory_geojson,
    read_pickups_csv,
    read_readings_csv,
    read_reports_csv,
    read_sites_csv,
    read_vehicles_csv,
    save_inventory,
    write_bins_csv,
    write_csv,
    write_depots_csv,
    write_fiware_waste_containers,
    write_inventory_geojson,
    write_readings_csv,
    write_reports_csv,
    write_sites_csv,
    write_vehicles_csv,
)
from fleet.models import (
    CitizenReport,
    Depot,
    DisposalSite,
    Downtime,
    FillReading,
    Inventory,
    PickupRecord,
    TimeWindow,
    Vehicle,
)
from tests.fleet.conftest import at, make_bin

BINS = (
    make_bin("b1"),
    make_bin(
        "b2",
        lon=8.7,
        lat=49.4,
        capacity_l=240,
        stream="organic",
        service_s=45,
        access_window=TimeWindow(time(6, 0), time(9, 30)),
        has_sensor=False,
        density_kg_per_l=0.35,
        street="Hauptstraße, Nord",
        kerb_side=True,
        needs=frozenset({"crane", "scale"}),
    ),
)
DEPOTS = (Depot(depot_id="d1", lon=8.65, lat=49.39, name="Depot West"),)
SITES = (
    DisposalSite(
        site_id="s1",
        lon=8.6,
        lat=49.45,
        streams=frozenset({"residual", "organic"}),
        opening=TimeWindow(time(5, 0), time(18, 0)),
        unload_s=600,
    ),
)
VEHICLES = (
    Vehicle(vehicle_id="v1", depot_id="d1", capacity_l=20000, capacity_kg=9000),
    Vehicle(
        vehicle_id="v2",
        depot_id="d1",
        capacity_l=16000,
        capacity_kg=7000,
        streams=frozenset({"paper", "plastic"}),
        shift=TimeWindow(time(5, 30), time(13, 30)),
        break_s=1800,
        break_window=TimeWindow(time(9, 0), time(10, 0)),
        cost_per_km=1.25,
        cost_per_hour=42.0,
        fixed_cost=100.0,
        max_stops=150,
        max_daily_kg=12000,
        equipment=frozenset({"crane"}),
    ),
)
READINGS = (
    FillReading(bin_id="b1", at=at(1.5), fill_fraction=0.42, weight_kg=31.5),
    FillReading(bin_id="b1", at=at(4), fill_fraction=0.5),
    FillReading(bin_id="b2", at=at(4.25), fill_fraction=1.0),
)
REPORTS = (
    CitizenReport(report_id="r1", at=at(3), bin_id="b1", text='bags, "lots" of them'),
    CitizenReport(report_id="r2", at=at(5), lon=8.71, lat=49.42, overflowing=False),
)


@pytest.mark.parametrize(
    ("records", "write", "read"),
    [
        (BINS, write_bins_csv, read_bins_csv),
        (DEPOTS, write_depots_csv, read_depots_csv),
        (SITES, write_sites_csv, read_sites_csv),
        (VEHICLES, write_vehicles_csv, read_vehicles_csv),
        (READINGS, write_readings_csv, read_readings_csv),
        (REPORTS, write_reports_csv, read_reports_csv),
    ],
    ids=["bins", "depots", "sites", "vehicles", "readings", "reports"],
)
def test_csv_round_trip(records, write, read) -> None:
    got = read(write(records))
    assert got.errors == ()
    assert got.records == records


def test_csv_round_trip_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "bins.csv"
    write_bins_csv(BINS, path)
    assert read_bins_csv(path).records == BINS
    assert read_bins_csv(str(path)).records == BINS


def test_geojson_round_trip() -> None:
    text = write_inventory_geojson(BINS, DEPOTS, SITES)
    doc = json.loads(text)
    assert doc["features"][0]["geometry"] == {"type": "Point", "coordinates": [8.69, 49.41]}
    got = read_inventory_geojson(text)
    assert got.errors == ()
    assert (got.bins, got.depots, got.sites) == (BINS, DEPOTS, SITES)


@pytest.mark.parametrize("key_values", [True, False], ids=["keyValues", "normalized"])
def test_fiware_round_trip(key_values: bool) -> None:
    plain_bins = (make_bin("b1"), make_bin("b2", stream="organic", lon=8.7))
    text = write_fiware_waste_containers(READINGS, plain_bins, key_values=key_values)
    got = read_fiware_waste_containers(text, default_capacity_l=1100)
    assert got.errors == ()
    assert got.readings == READINGS
    assert got.bins == plain_bins


def test_fiware_normalized_entity_by_hand() -> None:
    entity = {
        "id": "urn:ngsi-ld:WasteContainer:wastecontainer:Fleming:12a",
        "type": "WasteContainer",
        "fillingLevel": {"type": "Number", "value": 0.4},
        "cargoWeight": {"type": "Number", "value": 89},
        "dateLastEmptying": {"type": "DateTime", "value": "2016-06-21T15:05:59.408Z"},
        "dateObserved": {"type": "DateTime", "value": "2016-06-22T09:05:59Z"},
        "location": {"type": "geo:json", "value": {"type": "Point", "coordinates": [-3.16, 40.6]}},
        "refWasteContainerModel": {"type": "Relationship", "value": "wastecontainermodel:c1"},
        "storedWasteKind": {"type": "StructuredValue", "value": ["inorganic"]},
    }
    got = read_fiware_waste_containers(
        [entity], capacity_l_by_model={"wastecontainermodel:c1": 3200}, emptying_as_reading=True
    )
    assert got.errors == ()
    (emptied, observed) = got.readings
    assert (emptied.fill_fraction, observed.fill_fraction, observed.weight_kg) == (0.0, 0.4, 89)
    assert observed.bin_id == "wastecontainer:Fleming:12a"
    assert observed.at.isoformat() == "2016-06-22T09:05:59+00:00"
    (b,) = got.bins
    assert (b.lon, b.lat, b.capacity_l, b.stream) == (-3.16, 40.6, 3200, "residual")


def test_fiware_bad_entities_reported_good_kept() -> None:
    ents = [
        {
            "id": "a",
            "type": "WasteContainer",
            "fillingLevel": 0.3,
            "dateObserved": "2026-11-02T08:00:00+01:00",
        },
        {"id": "b", "type": "WasteContainer", "dateObserved": "2026-11-02T08:00:00+01:00"},
        {
            "id": "c",
            "type": "WasteContainer",
            "fillingLevel": 0.3,
            "dateObserved": "2026-11-02T08:00:00",
        },
        {"id": "d", "type": "Streetlight", "fillingLevel": 0.3},
        {
            "id": "e",
            "type": "WasteContainer",
            "fillingLevel": 42,
            "dateObserved": "2026-11-02T08:00:00Z",
        },
    ]
    got = read_fiware_waste_containers(ents)
    assert [r.bin_id for r in got.readings] == ["a"]
    assert [(e.row, e.record_id) for e in got.errors] == [(2, "b"), (3, "c"), (4, "d"), (5, "e")]
    assert "fillingLevel missing" in got.errors[0].message
    # numbered as entities, not rows (a JSON file has no rows to count)
    assert str(got.errors[0]).startswith("entity 2 (b): fillingLevel missing")
    assert "add one" in got.errors[1].message
    assert "percentage" in got.errors[3].message
    with pytest.raises(FleetDataError, match="4 bad entities") as err:
        got.raise_if_errors()
    assert "\n  entity 5 (e)" in str(err.value)


BAD_BINS_CSV = """bin_id,lon,lat,capacity_l,stream
ok1,8.69,49.41,1100,residual
bad-lon,abc,49.41,1100,residual
ok2,8.70,49.42,240,organic
bad-cap,8.69,49.41,0,residual
,8.69,49.41,100,residual
ok1,8.69,49.41,1100,residual
swapped,49.41,200.0,1100,residual
"""


def test_bad_rows_reported_with_line_numbers_good_rows_kept() -> None:
    got = read_bins_csv(BAD_BINS_CSV)
    assert [b.bin_id for b in got.records] == ["ok1", "ok2"]
    assert [(e.row, e.record_id, e.field) for e in got.errors] == [
        (3, "bad-lon", "lon"),
        (5, "bad-cap", None),
        (6, None, "bin_id"),
        (7, "ok1", "bin_id"),
        (8, "swapped", None),
    ]
    assert "capacity_l must be > 0" in got.errors[1].message
    assert "repeats row 2" in got.errors[3].message
    assert "column order" in got.errors[4].message
    with pytest.raises(FleetDataError, match=r"5 bad rows;[\s\S]*row 3 \(bad-lon\) \[lon\]"):
        got.raise_if_errors("bins.csv")


def test_naive_time_rejected_with_a_fix() -> None:
    text = "bin_id,at,fill_fraction\nb1,2026-11-02T08:00:00,0.5\nb1,2026-11-02T09:00:00Z,0.55\n"
    got = read_readings_csv(text)
    assert [r.fill_fraction for r in got.records] == [0.55]
    (err,) = got.errors
    assert (err.row, err.field) == (2, "at")
    assert "no UTC offset; add one" in err.message


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        (
            "vehicle_id,depot_id,capacity_l,capacity_kg,shift\nv,d,1,1,6-14\n",
            "shift",
            "HH:MM-HH:MM",
        ),
        (
            "vehicle_id,depot_id,capacity_l,capacity_kg,shift\nv,d,1,1,14:00-06:00\n",
            "shift",
            "split",
        ),
        ("vehicle_id,depot_id,capacity_l,capacity_kg,streams\nv,d,1,1,;\n", "streams", "a;b"),
        ("vehicle_id,depot_id,capacity_l,capacity_kg\nv,d,1.5,1\n", "capacity_l", "whole number"),
        ("bin_id,lon,lat,capacity_l,has_sensor\nb,1,1,1,maybe\n", "has_sensor", "true or false"),
    ],
)
def test_field_errors_name_the_fix(text: str, field: str, fragment: str) -> None:
    reader = read_vehicles_csv if text.startswith("vehicle") else read_bins_csv
    (err,) = reader(text).errors
    assert (err.row, err.field) == (2, field)
    assert fragment in err.message


@pytest.mark.parametrize(
    ("text", "field", "fix"),
    [
        (
            "vehicle_id,depot_id,capacity_l,capacity_kg,shift\nv,d,1,1,22:00-06:00\n",
            "shift",
            "split the shift at midnight",
        ),
        (
            "bin_id,lon,lat,capacity_l,access_window\nb,1,1,1,22:00-06:00\n",
            "access_window",
            "give the hours of one day the bin can be emptied in, e.g. 00:00-06:00",
        ),
        (
            "site_id,lon,lat,streams,opening\ns,1,1,residual,22:00-06:00\n",
            "opening",
            "give the site's hours within one day, e.g. 00:00-06:00 or 22:00-23:59",
        ),
    ],
)
def test_a_window_past_midnight_names_the_fix_of_its_kind(text: str, field: str, fix: str) -> None:
    """A truck's shift, a bin's access window, a site's opening hours past midnight: each
    error names the fix of its kind (each said 'split the shift'); only the shift's says so."""
    reader: Any = {"v": read_vehicles_csv, "b": read_bins_csv, "s": read_sites_csv}[text[0]]
    (err,) = reader(text).errors
    assert (err.row, err.field) == (2, field)
    assert err.message.startswith("time window 22:00:00-06:00:00 ends before it starts; ")
    assert f"past midnight are not supported: {fix}" in err.message, err.message
    assert ("split the shift" in err.message) == (field == "shift")


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ('bin_id,lon,lat,capacity_l\nb1,"24,94",60.17,660\n', "lon", "a point (24.94)"),
        ('bin_id,lon,lat,capacity_l\nb1,24.94,60.17,"1,100"\n', "capacity_l", "thousands"),
        ("bin_id,at,fill_fraction\nb1,2026-11-24T08:00+02:00,50%\n", "fill_fraction", "% sign"),
        ("bin_id,at,fill_fraction\nb1,24.11.2026 08:00,0.5\n", "at", "2026-11-24T08:00+02:00"),
        (
            "bin_id,lon,lat,capacity_l,access_window\nb1,1,1,1,00:00-24:00\n",
            "access_window",
            "23:59",
        ),
    ],
)
def test_a_spreadsheets_number_and_date_formats_are_refused_with_the_fix(
    text: str, field: str, fragment: str
) -> None:
    """A spreadsheet in a European locale writes decimal commas, thousands separators,
    percentages, day-first dates and windows to 24:00: the error says how to write the value."""
    reader = read_readings_csv if ",at," in text else read_bins_csv
    (err,) = reader(text).errors
    assert (err.row, err.field) == (2, field)
    assert fragment in err.message


def test_missing_required_column_and_unknown_column() -> None:
    got = read_bins_csv("bin_id,lon,capacity_l\nb1,8.6,100\n")
    assert got.records == ()
    assert [(e.row, e.field) for e in got.errors] == [(1, "lat")]
    got = read_bins_csv("bin_id,lon,lat,capacity_l,colour\nb1,8.6,49.4,100,green\n")
    assert [b.bin_id for b in got.records] == ["b1"]
    assert [(e.row, e.field) for e in got.errors] == [(1, "colour")]


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_separated_by_semicolons_or_tabs_is_named_so(sep: str, name: str) -> None:
    """A spreadsheet in a European locale saves ``bin_id;lon;lat``: one error saying so,
    not four missing columns and an unknown one."""
    text = sep.join(["bin_id", "lon", "lat", "capacity_l"]) + "\n" + sep.join(["b1", "1", "2", "3"])
    got = read_bins_csv(text + "\n")
    assert got.records == ()
    assert [(e.row, e.field) for e in got.errors] == [(1, None)]
    assert f"separated by {name}, not commas" in got.errors[0].message


def test_a_column_name_in_another_case_is_named_with_its_spelling() -> None:
    """``Bin_ID`` or ``Stream`` from a spreadsheet: the error names the rename to make (a
    ``Stream`` column left aside would plan every bin as residual)."""
    got = read_bins_csv("Bin ID,lon,lat,capacity_l,Stream\nb1,8.6,49.4,100,paper\n")
    assert got.records == ()
    required = [e.message for e in got.errors if not e.ignored]
    assert required == [
        "required column 'bin_id' is missing from the header; rename its column 'Bin ID' to "
        "'bin_id'"
    ]
    ignored = {e.field: e.message for e in got.errors if e.ignored}
    assert "rename it to 'stream'" in ignored["Stream"]


def test_blank_cells_beyond_the_header_are_a_trailing_comma_not_an_error() -> None:
    """Some exports end every row with a comma; a cell with a value beyond the header is
    still reported (the row may have a column shifted)."""
    got = read_bins_csv("bin_id,lon,lat,capacity_l\nb1,8.6,49.4,100,\nb2,8.6,49.4,100, ,\n")
    assert [b.bin_id for b in got.records] == ["b1", "b2"] and got.errors == ()
    got = read_bins_csv("bin_id,lon,lat,capacity_l\nb1,8.6,49.4,100,240\n")
    assert got.records == ()
    assert [(e.row, e.message) for e in got.errors] == [(2, "1 cell(s) beyond the header")]


def test_a_spreadsheets_empty_columns_are_not_unknown_ones() -> None:
    """Excel saves columns it once formatted with an empty name: they are no column to
    report (each was listed as "unknown column ''"), unless a row holds a value in one."""
    got = read_bins_csv("bin_id,lon,lat,capacity_l,,\nb1,8.6,49.4,100,,\n,,,,,\n")
    assert [b.bin_id for b in got.records] == ["b1"] and got.errors == ()
    got = read_bins_csv("bin_id,lon,lat,capacity_l,,\nb1,8.6,49.4,100,,kerbside\n")
    assert [b.bin_id for b in got.records] == ["b1"]
    assert [(e.row, e.field, e.ignored) for e in got.errors] == [(1, "column 6", True)]
    assert "has values but no name" in got.errors[0].message


def test_geojson_bad_features_reported() -> None:
    doc = json.loads(write_inventory_geojson(BINS, DEPOTS))
    doc["features"].append({"type": "Feature", "geometry": None, "properties": {"kind": "bin"}})
    doc["features"].append(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [8.6, 49.4]},
            "properties": {"kind": "tree", "bin_id": "t"},
        }
    )
    got = read_inventory_geojson(doc)
    assert got.bins == BINS and got.depots == DEPOTS
    assert [(e.row, e.field) for e in got.errors] == [(4, "geometry"), (5, "kind")]
    assert [e.label for e in got.errors] == ["feature 4", "feature 5"]


def _bin_feature(geometry: Any = None, **props: Any) -> dict[str, Any]:
    """A bin's feature: b9 at (8.6, 49.4), 240 l, ``props`` over those properties."""
    point = {"type": "Point", "coordinates": [8.6, 49.4]}
    base = {"kind": "bin", "bin_id": "b9", "capacity_l": 240}
    return {"type": "Feature", "geometry": geometry or point, "properties": base | props}


@pytest.mark.parametrize(
    ("feature", "field", "said"),
    [
        ({"type": "Feature", "geometry": None, "properties": "b9"}, "properties", "an object"),
        ({"type": "Feature", "geometry": None, "properties": [["kind", "bin"]]}, "properties", ""),
        (_bin_feature(geometry="8.6,49.4"), "geometry", "a Point [lon, lat]"),
        (_bin_feature(geometry={"type": "Point", "coordinates": [[8.6, 49.4]] * 2}), "lon", ""),
        (_bin_feature(bin_id={"id": "b9"}), "bin_id", "bin_id is an object; write one text"),
        (_bin_feature(bin_id=["b9", "b10"]), "bin_id", "bin_id is a list; write one text"),
        (_bin_feature(capacity_l=[240]), "capacity_l", "a list; write one whole number"),
        (_bin_feature(needs=[["crane"]]), "needs", "write a list of names or one name"),
    ],
)
def test_a_geojson_feature_of_the_wrong_shape_is_a_bad_feature(
    feature: dict[str, Any], field: str, said: str
) -> None:
    """Properties or geometry not an object, a list or an object where one value goes: the
    feature is reported with the property at fault and its fix, the others read (they were
    a traceback, or a bin named "['b9', 'b10']")."""
    doc = json.loads(write_inventory_geojson(BINS))
    doc["features"].append(feature)
    got = read_inventory_geojson(doc)
    assert got.bins == BINS
    assert {e.row for e in got.errors} == {len(BINS) + 1}  # lon and lat both, for a line
    err = got.errors[0]
    assert err.field == field and said in err.message


def test_geojson_lists_of_names_are_read_and_features_must_be_a_list() -> None:
    """``needs`` as a JSON list is a bin's equipment; ``features`` not a list stops the
    import (a string was read feature by character, a number was a traceback)."""
    got = read_inventory_geojson(
        {"type": "FeatureCollection", "features": [_bin_feature(needs=["crane", "comb"])]}
    )
    assert got.errors == () and got.bins[0].needs == frozenset({"crane", "comb"})
    for features in (5, "ab", {"b9": 1}):
        with pytest.raises(FleetDataError, match="features must be a list of Feature objects"):
            read_inventory_geojson({"type": "FeatureCollection", "features": features})


def test_inventory_directory_round_trip(tmp_path: Path) -> None:
    inv = Inventory(bins=BINS, depots=DEPOTS, vehicles=VEHICLES, sites=SITES)
    save_inventory(inv, tmp_path)
    assert load_inventory(tmp_path) == (inv, ())
    (tmp_path / "bins.csv").write_text("bin_id,lon,lat,capacity_l\nb1,8.6,49.4,-5\n")
    with pytest.raises(FleetDataError, match=r"row 2 \(b1\): bins.csv: bin 'b1': capacity_l"):
        load_inventory(tmp_path)
    lenient, errors = load_inventory(tmp_path, strict=False)
    assert lenient.bins == () and len(errors) == 1


def test_a_vehicle_of_an_unknown_depot_is_a_bad_row_of_vehicles_csv(tmp_path: Path) -> None:
    """A truck homed at a depot depots.csv lacks is named with its file and line (it was an
    error naming the vehicle alone, raised in lenient mode too); lenient, it is left out."""
    save_inventory(Inventory(bins=BINS, depots=DEPOTS, vehicles=VEHICLES, sites=SITES), tmp_path)
    text = (tmp_path / "vehicles.csv").read_text()
    (tmp_path / "vehicles.csv").write_text(text.replace("v2,d1,", "v2,d9,", 1))
    said = r"row 3 \(v2\) \[depot_id\]: vehicles.csv: home depot 'd9' is not in depots.csv"
    with pytest.raises(FleetDataError, match=said):
        load_inventory(tmp_path)
    lenient, errors = load_inventory(tmp_path, strict=False)
    assert [v.vehicle_id for v in lenient.vehicles] == ["v1"]
    assert [(e.row, e.record_id, e.field) for e in errors] == [(3, "v2", "depot_id")]


def test_an_inventory_in_both_geojson_and_csv_is_refused(tmp_path: Path) -> None:
    """inventory.geojson beside bins.csv: which lists the city's bins? The job stops and
    says to keep one (bins.csv was read as absent, its bins reported unknown)."""
    inv = Inventory(bins=BINS, depots=DEPOTS, vehicles=VEHICLES, sites=SITES)
    save_inventory(inv, tmp_path)
    (tmp_path / "inventory.geojson").write_text(write_inventory_geojson(BINS[:1]))
    for strict in (True, False):
        with pytest.raises(FleetDataError, match=r"both inventory\.geojson and bins\.csv"):
            load_inventory(tmp_path, strict=strict)


def test_downtimes_travel_with_the_inventory_directory(tmp_path: Path) -> None:
    """A truck's two downtimes (one until further notice) are saved to ``downtimes.csv``
    and read back; a bad row names its line and fix; one of an unknown truck says so."""
    truck = VEHICLES[0].vehicle_id
    down = (
        Downtime(vehicle_id=truck, start=at(2), end=at(4), reason="tyre, front left"),
        Downtime(vehicle_id=truck, start=at(30)),
    )
    inv = Inventory(bins=BINS, depots=DEPOTS, vehicles=VEHICLES, sites=SITES, downtimes=down)
    save_inventory(inv, tmp_path)
    assert load_inventory(tmp_path) == (inv, ())
    bad = read_downtimes_csv(
        f"vehicle_id,start,end\n{truck},{at(4).isoformat()},{at(2).isoformat()}\n"
    )
    (err,) = bad.errors
    assert err.row == 2 and "is not after start" in err.message
    (tmp_path / "downtimes.csv").write_text(f"vehicle_id,start\nghost,{at(1).isoformat()}\n")
    with pytest.raises(FleetDataError, match="downtime of vehicle 'ghost': the vehicle is not"):
        load_inventory(tmp_path, strict=False)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FleetDataError, match="not found; check the path"):
        read_bins_csv(str(tmp_path / "nope.csv"))
    with pytest.raises(FleetDataError, match="not valid JSON"):
        read_inventory_geojson("{not json")


def test_geojson_must_be_a_feature_collection() -> None:
    with pytest.raises(FleetDataError, match="FeatureCollection"):
        read_inventory_geojson({"type": "Feature"})


_text = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=60, deadline=None)
@given(
    bin_id=_text,
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    capacity_l=st.integers(1, 10_000),
    street=st.none() | _text,
    has_sensor=st.booleans(),
    density=st.none() | st.floats(0.001, 2.0),
    kerb_side=st.booleans(),
    needs=st.frozensets(st.sampled_from(["crane", "comb", "scale", "Kran-2"])),
)
def test_bin_csv_and_geojson_round_trip_property(
    bin_id, lon, lat, capacity_l, street, has_sensor, density, kerb_side, needs
) -> None:
    b = make_bin(
        bin_id,
        lon=lon,
        lat=lat,
        capacity_l=capacity_l,
        street=street,
        has_sensor=has_sensor,
        density_kg_per_l=density,
        kerb_side=kerb_side,
        needs=needs,
    )
    assert read_bins_csv(write_bins_csv([b])).records == (b,)
    assert read_inventory_geojson(write_inventory_geojson([b])).bins == (b,)


def test_malformed_csv_keeps_the_rows_before_and_names_the_line() -> None:
    """A stray carriage return inside a cell is a row error, not a crash; earlier rows kept."""
    from fleet.io import read_readings_csv

    text = (
        "bin_id,at,fill_fraction,weight_kg\n"
        "b1,2026-11-20T08:00:00+02:00,0.5,\n"
        "b2,2026-11-20T08:00:00+02:00,0.4\r5,\n"
        "b3,2026-11-20T09:00:00+02:00,0.3,\n"
    )
    result = read_readings_csv(text)
    assert [r.bin_id for r in result.records] == ["b1"]
    assert len(result.errors) == 1
    assert result.errors[0].row == 3 and "malformed CSV" in result.errors[0].message


def city_of(*bins: object) -> Inventory:
    return Inventory(bins=tuple(bins), depots=DEPOTS, vehicles=(), sites=())  # type: ignore[arg-type]


def test_weight_only_rows_become_fills_at_each_bins_density() -> None:
    """b2 has a density set (0.35 kg/l, 240 l); b1's rows with level and weight show
    0.1 kg/l (1100 l); the file has a fill column that weight-only rows leave empty."""
    text = (
        "bin_id,at,fill_fraction,weight_kg\n"
        + "".join(f"b1,{at(h).isoformat()},0.5,55\n" for h in range(3))
        + f"b1,{at(4).isoformat()},,88\n"
        + f"b2,{at(5).isoformat()},,42\n"
    )
    got = read_readings_csv(text, city_of(*BINS))
    assert got.errors == ()
    *levels, b1, b2 = got.records
    assert [r.fill_from_weight for r in levels] == [False] * 3
    assert (b1.fill_fraction, b1.weight_kg, b1.fill_from_weight) == (pytest.approx(0.8), 88, True)
    assert (b2.fill_fraction, b2.at) == (pytest.approx(0.5), at(5))


def test_a_weights_file_without_a_fill_column_is_read_with_the_inventory() -> None:
    text = (
        "bin_id,at,weight_kg\n"
        f"b2,{at(1).isoformat()},84\n"
        f"ghost,{at(2).isoformat()},3\n"
        f"b2,{at(3).isoformat()},840000\n"  # more than any waste in the bin: grams
        f"b2,{at(4).isoformat()},\n"
    )
    got = read_readings_csv(text, city_of(*BINS))
    assert [(r.bin_id, r.fill_fraction) for r in got.records] == [("b2", pytest.approx(1.0))]
    assert [(e.row, e.field) for e in got.errors] == [
        (3, "weight_kg"),
        (4, "weight_kg"),
        (5, "fill_fraction"),
    ]
    assert "or give weight_kg for a sensor that only weighs" in got.errors[2].message
    assert "'ghost' is not in the inventory" in got.errors[0].message
    assert "840000 kg is more than the 240 l of bin 'b2' hold" in got.errors[1].message
    alone = read_readings_csv(text)  # no inventory: no density to read a weight with
    assert alone.records == ()
    assert "bins' inventory" in alone.errors[0].message


def test_fills_derived_from_weights_keep_their_mark_through_csv() -> None:
    derived = FillReading(
        bin_id="b2", at=at(1), fill_fraction=0.5, weight_kg=42.0, fill_from_weight=True
    )
    got = read_readings_csv(write_readings_csv([*READINGS, derived]))
    assert got.records == (*READINGS, derived)


def test_fiware_containers_that_only_weigh_are_read_with_the_inventory() -> None:
    ents = [
        {"id": "b2", "cargoWeight": 42, "dateObserved": at(1).isoformat()},
        {"id": "x9", "cargoWeight": 30, "dateObserved": at(2).isoformat()},
        {
            "id": "n7",
            "cargoWeight": 30,
            "dateObserved": at(3).isoformat(),
            "location": {"type": "Point", "coordinates": [8.7, 49.4]},
        },
    ]
    got = read_fiware_waste_containers(ents, default_capacity_l=600, inventory=city_of(*BINS))
    b2, n7 = got.readings
    assert (b2.bin_id, b2.fill_fraction, b2.fill_from_weight) == ("b2", pytest.approx(0.5), True)
    assert (n7.bin_id, n7.fill_fraction) == ("n7", pytest.approx(30 / (0.1 * 600)))  # residual
    assert [(e.row, e.record_id) for e in got.errors] == [(2, "x9")]
    alone = read_fiware_waste_containers(ents[:1])
    assert alone.readings == () and "inventory" in alone.errors[0].message


def test_fills_derived_from_weights_go_to_fiware_as_the_weight_alone() -> None:
    derived = FillReading(
        bin_id="b2", at=at(1), fill_fraction=0.5, weight_kg=42.0, fill_from_weight=True
    )
    (ent,) = json.loads(write_fiware_waste_containers([derived]))
    assert "fillingLevel" not in ent and ent["cargoWeight"] == 42.0
    back = read_fiware_waste_containers([ent], inventory=city_of(*BINS))
    assert back.readings == (derived,)


def test_a_collection_log_keeps_every_pickup_of_a_bin() -> None:
    """A log of two weeks empties each bin several times: no pickup is a repeated id."""
    text = (
        "bin_id,at,fill_fraction\n"
        "b1,2026-11-02T08:00:00+01:00,0.5\n"
        "b1,2026-11-04T08:00:00+01:00,0.6\n"
        "b2,2026-11-04T09:00:00+01:00,0.7\n"
    )
    got = read_pickups_csv(text)
    assert got.errors == ()
    assert [(p.bin_id, p.fill_fraction) for p in got.records] == [
        ("b1", 0.5),
        ("b1", 0.6),
        ("b2", 0.7),
    ]


def test_a_collection_log_without_fills_is_read_as_emptyings() -> None:
    """The trucks' log of a city whose crews record no fill: ``bin_id, at`` only."""
    got = read_pickups_csv(f"bin_id,at\nb1,{at(1).isoformat()}\nb2,{at(2).isoformat()}\n")
    assert got.errors == ()
    assert [(p.bin_id, p.at, p.fill_fraction) for p in got.records] == [
        ("b1", at(1), None),
        ("b2", at(2), None),
    ]
    assert read_pickups_csv(write_csv(got.records, PickupRecord)).records == got.records


def test_pickups_weighed_by_the_lift_scale_are_read_with_the_inventory() -> None:
    """b2 (240 l at 0.35 kg/l set): a crew's fill with the weight lifted keeps both; a
    weight alone is a fill at the density (at most 1); a scale in grams and a bin not in
    the inventory are refused by row; a row with neither is an emptying without a fill; a
    file without a fill column."""
    text = (
        "bin_id,at,fill_fraction,weight_kg\n"
        f"b2,{at(1).isoformat()},0.4,30\n"
        f"b2,{at(2).isoformat()},,42\n"
        f"b2,{at(3).isoformat()},,200\n"  # 2.4 times full: full or more (density unsure)
        f"b2,{at(4).isoformat()},,8400\n"
        f"ghost,{at(5).isoformat()},,3\n"
        f"b2,{at(6).isoformat()},,\n"
    )
    got = read_pickups_csv(text, city_of(*BINS))
    crew, half, full, emptied = got.records
    assert (emptied.at, emptied.fill_fraction, emptied.weight_kg) == (at(6), None, None)
    assert (crew.fill_fraction, crew.weight_kg, crew.fill_from_weight) == (0.4, 30, False)
    assert (half.fill_fraction, half.weight_kg, half.fill_from_weight) == (
        pytest.approx(0.5),
        42,
        True,
    )
    assert full.fill_fraction == 1.0
    assert [(e.row, e.field) for e in got.errors] == [(5, "weight_kg"), (6, "weight_kg")]
    no_fill_column = "bin_id,at,weight_kg\n" + f"b2,{at(2).isoformat()},42\n"
    assert read_pickups_csv(no_fill_column, city_of(*BINS)).records == (half,)
    alone = read_pickups_csv(no_fill_column)  # no inventory: no density to read it with
    assert alone.records == () and "bins' inventory" in alone.errors[0].message


def test_places_file_names_the_file_the_places_are_read_from(tmp_path: Path) -> None:
    """depots.csv, or inventory.geojson when the directory has one (load_inventory's rule)."""
    assert places_file(tmp_path, "depots") == "depots.csv"
    assert places_file(tmp_path, "sites") == "sites.csv"
    (tmp_path / "inventory.geojson").write_text(write_inventory_geojson(BINS, DEPOTS, SITES))
    assert places_file(tmp_path, "depots") == "inventory.geojson"


def test_a_bins_reading_repeated_at_one_instant_is_read_once_and_a_clash_is_a_row_error() -> None:
    """Row 3 resends row 2 (the same instant in another offset): dropped and counted.
    Row 4 gives the same bin and instant another fill: an error naming both, row 2 used."""
    text = (
        "bin_id,at,fill_fraction\n"
        "b1,2026-11-02T08:00:00+00:00,0.5\n"
        "b1,2026-11-02T10:00:00+02:00,0.5\n"
        "b1,2026-11-02T08:00:00Z,0.6\n"
        "b2,2026-11-02T08:00:00Z,0.6\n"
    )
    got = read_readings_csv(text)
    assert [(r.bin_id, r.fill_fraction) for r in got.records] == [("b1", 0.5), ("b2", 0.6)]
    assert got.duplicates == 1
    (err,) = got.errors
    assert (err.row, err.record_id) == (4, "b1")
    assert err.message == (
        "bin b1 has another reading at 2026-11-02T08:00:00+00:00 (row 2: fill 0.5; this row: "
        "fill 0.6); keep the right one (row 2's is used)"
    )


def _container(bin_id: str, observed: str, fill: float, **more: object) -> dict[str, object]:
    """A keyValues WasteContainer entity: ``bin_id`` at ``observed`` ``fill`` full."""
    ent = {"id": bin_id, "type": "WasteContainer", "fillingLevel": fill, "dateObserved": observed}
    return ent | more


def test_a_containers_repeated_reading_is_read_once_and_a_clash_is_an_error() -> None:
    """As in a CSV: entity 2 resends entity 1 (the same instant in another offset), dropped
    and counted; entity 3 gives the same bin and instant another fill, an error naming
    both, entity 1's used. Both were read, entity 3's silently left out."""
    ents = [
        _container("b1", "2026-11-02T08:00:00+00:00", 0.5),
        _container("b1", "2026-11-02T10:00:00+02:00", 0.5),
        _container("b1", "2026-11-02T08:00:00Z", 0.6),
        _container("b2", "2026-11-02T08:00:00Z", 0.6),
    ]
    got = read_fiware_waste_containers(ents)
    assert [(r.bin_id, r.fill_fraction) for r in got.readings] == [("b1", 0.5), ("b2", 0.6)]
    (err,) = got.errors
    assert (err.row, err.record_id) == (3, "b1")
    assert err.message == (
        "bin b1 has another reading at 2026-11-02T08:00:00+00:00 (entity 1: fill 0.5; this "
        "entity: fill 0.6); keep the right one (entity 1's is used)"
    )
    assert got.duplicates == 1


def test_a_containers_emptying_repeated_in_its_snapshots_is_no_duplicate() -> None:
    """Two snapshots of b1 carry its one emptying: one 0.0 reading, nothing counted or
    refused. b2's emptying at an instant a later entity observed gives way to the
    observation (it was kept, the observation silently left out)."""
    emptied = {"dateLastEmptying": "2026-11-02T06:00:00Z"}
    ents = [
        _container("b1", "2026-11-02T08:00:00Z", 0.2, **emptied),
        _container("b1", "2026-11-02T09:00:00Z", 0.3, **emptied),
        _container("b2", "2026-11-02T09:00:00Z", 0.4, **emptied),
        _container("b2", "2026-11-02T06:00:00Z", 0.1),
    ]
    got = read_fiware_waste_containers(ents, emptying_as_reading=True)
    assert [(r.bin_id, r.at.hour, r.fill_fraction) for r in got.readings] == [
        ("b1", 6, 0.0),
        ("b1", 8, 0.2),
        ("b1", 9, 0.3),
        ("b2", 9, 0.4),
        ("b2", 6, 0.1),
    ]
    assert (got.duplicates, got.errors) == (0, ())
