"""`binroute plan`: a city's own files in, checked plan files out."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from binroute.cli import app
from fleet.io import (
    fiware_waste_containers,
    load_inventory,
    read_readings_csv,
    save_inventory,
    write_inventory_geojson,
    write_readings_csv,
)
from fleet.models import Bin, Depot, DisposalSite, Inventory, TimeWindow, Vehicle
from fleet.simulate import simulate_history
from network import helsinki_pbf
from scenarios.demo import TZ
from scenarios.numbers import format_number

PLAN_DATE = date(2026, 11, 25)


@pytest.fixture
def city_files(tmp_path: Path) -> Path:
    """Twelve Helsinki bins (one far out at sea), a depot, a site, two trucks, readings."""
    bins = [
        Bin(bin_id=f"b{i:02d}", lon=24.940 + 0.001 * i, lat=60.168 + 0.0005 * i, capacity_l=660)
        for i in range(11)
    ]
    bins.append(Bin(bin_id="at-sea", lon=24.90, lat=60.14, capacity_l=240))
    inventory = Inventory(
        bins=tuple(bins),
        depots=(Depot(depot_id="d1", lon=24.9405, lat=60.1680),),
        vehicles=tuple(
            Vehicle(
                vehicle_id=f"t{i}",
                depot_id="d1",
                capacity_l=4000,
                capacity_kg=1500,
                shift=TimeWindow(time(6), time(14)),
            )
            for i in (1, 2)
        ),
        sites=(DisposalSite(site_id="s1", lon=24.9500, lat=60.1760),),
    )
    save_inventory(inventory, tmp_path / "inv")
    start = datetime.combine(PLAN_DATE - timedelta(days=7), time(0), tzinfo=TZ)
    history = simulate_history(inventory.bins, start=start, days=7, seed=3)
    text = write_readings_csv(history.readings())
    text += "b01,not-a-time,0.5,\n"  # one bad row: reported, the rest used
    (tmp_path / "readings.csv").write_text(text)
    return tmp_path


def _run(
    files: Path, *extra: str, readings: str = "readings.csv"
) -> tuple[int, str, dict[str, Any]]:
    out = files / "out"
    args = ["plan", "--inventory", str(files / "inv"), "--readings", str(files / readings)]
    args += ["--date", PLAN_DATE.isoformat(), "--out", str(out), "--time-limit", "1", *extra]
    result = CliRunner().invoke(app, args)
    plan = json.loads((out / "plan.json").read_text()) if (out / "plan.json").exists() else {}
    return result.exit_code, result.output, plan


def test_plan_on_helsinki_streets_reports_far_bins_and_bad_rows(city_files: Path) -> None:
    """The far bin and the bad reading row are listed with reasons; the plan is feasible."""
    code, output, plan = _run(city_files, "--city", str(helsinki_pbf()))
    assert code == 0, output
    assert "independent checker: plan feasible" in output
    excluded = {e["record"]: e["reason"] for e in plan["excluded"]}
    assert "nearest drivable street" in excluded["bin at-sea"]
    assert any(r.startswith("readings.csv row") for r in excluded)
    assert plan["violations"] == []


def test_the_printed_tables_are_whole_when_output_is_not_a_terminal(city_files: Path) -> None:
    """Piped to a file or a CI log (CliRunner's output is no terminal), rich drew the tables
    80 characters wide: the far bin's reason folded over three lines of its box. Now the
    KPIs and the records left out are markdown there, each row whole on one line."""
    code, output, plan = _run(city_files, "--city", str(helsinki_pbf()))
    assert code == 0, output
    lines = output.splitlines()
    assert "| KPI | value |" in lines
    kpis: dict[str, object] = plan["kpis"]
    for key, value in kpis.items():  # as the scenarios' tables write numbers
        assert f"| {key} | {format_number(math.nan if value is None else value)} |" in lines
    assert "| record | reason |" in lines
    for e in plan["excluded"]:
        assert f"| {e['record']} | {e['reason']} |" in lines
    assert len(next(x for x in lines if x.startswith("| bin at-sea |"))) > 80
    assert "│" not in output and "…" not in output


def test_the_kpis_are_written_as_the_scenarios_tables_write_numbers() -> None:
    """The KPI table printed 3163.5 kg and 'nan' where the scenarios' tables (and a reader)
    write 3,163.5 and n/a."""
    from binroute.console import kpi_table

    kpis = {"bins_collected": 1234, "kg": 3163.5, "mean_fill_at_pickup": math.nan}
    assert kpi_table(kpis).rows == (
        ("bins_collected", "1,234"),
        ("kg", "3,163.5"),
        ("mean_fill_at_pickup", "n/a"),
    )


def test_a_bin_far_from_every_street_is_kept_under_a_raised_max_snap_m(city_files: Path) -> None:
    """The at-sea bin's reason names the option that raises the limit, and --max-snap-m
    raised past its distance keeps it (the reason said 'raise the limit', which the command
    had no option for)."""
    code, output, plan = _run(city_files, "--city", str(helsinki_pbf()))
    excluded = {e["record"]: e["reason"] for e in plan["excluded"]}
    reason = excluded["bin at-sea"]
    assert code == 0 and reason.endswith("fix its coordinates, or raise --max-snap-m"), reason
    away = re.search(r"is (\d+) m from the nearest", reason)
    assert away is not None, reason
    away_m = float(away.group(1))
    wider = str(away_m + 50)
    code, output, plan = _run(city_files, "--city", str(helsinki_pbf()), "--max-snap-m", wider)
    assert code == 0, output
    assert not any(e["record"] == "bin at-sea" for e in plan["excluded"])


@pytest.mark.parametrize("metres", ["0", "-5", "nan", "inf"])
def test_a_max_snap_m_that_places_nothing_is_a_usage_error(city_files: Path, metres: str) -> None:
    code, output, plan = _run(city_files, "--max-snap-m", metres)
    assert code == 2 and plan == {}
    assert "is not a distance in metres > 0" in " ".join(output.split())


@pytest.mark.parametrize(
    ("layout", "depots_file", "sites_file"),
    [
        ("csv", "depots.csv", "sites.csv"),
        ("geojson", "inventory.geojson", "inventory.geojson"),
    ],
)
def test_a_depot_and_a_site_far_from_every_street_are_named_with_their_file(
    city_files: Path, layout: str, depots_file: str, sites_file: str
) -> None:
    """Depot d1 and site s1 out at sea: the job stops naming both, each with its id and the
    file it came from (it said "point 0" and stopped at the first)."""
    inv_dir = city_files / "inv"
    inventory, _ = load_inventory(inv_dir)
    at_sea = replace(
        inventory,
        depots=(replace(inventory.depots[0], lon=24.90, lat=60.14),),
        sites=(replace(inventory.sites[0], lon=24.91, lat=60.13),),
    )
    save_inventory(at_sea, inv_dir)
    if layout == "geojson":
        for name in ("bins.csv", "depots.csv", "sites.csv"):
            (inv_dir / name).unlink()
        geo = write_inventory_geojson(at_sea.bins, at_sea.depots, at_sea.sites)
        (inv_dir / "inventory.geojson").write_text(geo)
    code, output, plan = _run(city_files, "--city", str(helsinki_pbf()))
    assert code == 2 and plan == {}
    text = " ".join(output.split())
    assert f"{depots_file}: depot d1 (24.900000, 60.140000) is " in text
    assert f"fix its lon/lat in {depots_file}, or raise --max-snap-m" in text
    assert f"{sites_file}: disposal site s1 (24.910000, 60.130000) is " in text
    assert "Traceback" not in output


def test_a_bin_and_a_site_with_lon_and_lat_swapped_are_named_so(city_files: Path) -> None:
    """b02 and s1 written (lat, lon): each is thousands of km from every street, and the
    reason says their columns look swapped (it said 'fix its coordinates or raise the
    limit'); the at-sea bin, not swapped, keeps the plain reason."""
    inv_dir = city_files / "inv"
    inventory, _ = load_inventory(inv_dir)
    b02, s1 = inventory.bins[2], inventory.sites[0]
    bins = [replace(b02, lon=b02.lat, lat=b02.lon) if b is b02 else b for b in inventory.bins]
    save_inventory(replace(inventory, bins=tuple(bins)), inv_dir)
    code, output, plan = _run(city_files, "--city", str(helsinki_pbf()))
    assert code == 0, output
    excluded = {e["record"]: e["reason"] for e in plan["excluded"]}
    assert f"lon and lat look swapped: ({b02.lon:.6f}, {b02.lat:.6f}) is" in excluded["bin b02"]
    assert "swapped" not in excluded["bin at-sea"]
    save_inventory(replace(inventory, sites=(replace(s1, lon=s1.lat, lat=s1.lon),)), inv_dir)
    code, output, plan = _run(city_files, "--city", str(helsinki_pbf()))
    text = " ".join(output.split())
    assert code == 2 and "sites.csv: disposal site s1 (60.176000, 24.950000) is" in text
    assert "its lon and lat look swapped" in text and "then lat in sites.csv" in text


def test_plan_without_a_city_uses_straight_lines(city_files: Path) -> None:
    """No street file: haversine travel times, every bin kept."""
    code, output, plan = _run(city_files)
    assert code == 0, output
    assert not any(e["record"] == "bin at-sea" for e in plan["excluded"])


def test_without_a_city_bins_thousands_of_km_away_are_left_out_naming_the_fix(
    city_files: Path,
) -> None:
    """b03 with a digit dropped from its latitude and b04 written (lat, lon): straight
    lines planned them as any bin, 6,000 and 4,750 km out (here both skipped by the policy
    without a word; a bin due there is unserved, "the nearest truck is 13 d 01 h away").
    Now each is listed with where it is and the fix, its readings not used."""
    inv_dir = city_files / "inv"
    inventory, _ = load_inventory(inv_dir)
    b03, b04 = inventory.bins[3], inventory.bins[4]
    typos = {
        b03.bin_id: replace(b03, lat=6.0695),
        b04.bin_id: replace(b04, lon=b04.lat, lat=b04.lon),
    }
    bins = tuple(typos.get(b.bin_id, b) for b in inventory.bins)
    save_inventory(replace(inventory, bins=bins), inv_dir)
    code, output, plan = _run(city_files)
    assert code == 0, output
    excluded = {e["record"]: e["reason"] for e in plan["excluded"]}
    middle = "km from the middle of the inventory's places"
    day = "farther than a truck drives in a day (462 km in a straight line)"
    assert excluded["bin b03"].startswith(f"({b03.lon:.6f}, 6.069500) is 6,016 {middle} (")
    assert excluded["bin b03"].endswith(f"{day}; fix its lon/lat in bins.csv")
    assert excluded["bin b04"].startswith(f"({b04.lat:.6f}, {b04.lon:.6f}) is ")
    assert excluded["bin b04"].endswith(
        f"its lon and lat look swapped: ({b04.lon:.6f}, {b04.lat:.6f}) is 0.1 km from the "
        "middle; give lon first, then lat in bins.csv"
    )
    planned = {d["bin_id"] for d in plan["decisions"]}
    assert {"b03", "b04"}.isdisjoint(planned) and len(planned) == 10
    assert plan["violations"] == [] and "b03" not in output.replace("bin b03 |", "")


def test_without_a_city_a_depot_and_a_site_thousands_of_km_away_stop_the_job(
    city_files: Path,
) -> None:
    """Depot d1 with a digit dropped, site s1 written (lat, lon): every bin was unserved
    ("the nearest truck is 13 d 01 h away") in a plan said feasible; now the job stops
    naming both, each with its file and fix."""
    inv_dir = city_files / "inv"
    inventory, _ = load_inventory(inv_dir)
    d1, s1 = inventory.depots[0], inventory.sites[0]
    save_inventory(
        replace(
            inventory,
            depots=(replace(d1, lat=6.0168),),
            sites=(replace(s1, lon=s1.lat, lat=s1.lon),),
        ),
        inv_dir,
    )
    code, output, plan = _run(city_files)
    assert code == 2 and plan == {}
    text = " ".join(output.split())
    assert "depots.csv: depot d1 (24.940500, 6.016800) is 6,022 km" in text
    assert "(462 km in a straight line); fix its lon/lat in depots.csv" in text
    assert "sites.csv: disposal site s1 (60.176000, 24.950000) is " in text
    assert "its lon and lat look swapped: (24.950000, 60.176000) is " in text
    assert "give lon first, then lat in sites.csv" in text and "Traceback" not in output


def test_plan_names_a_bad_inventory_row(city_files: Path) -> None:
    """A bad bins.csv row stops the job with the file, line and fix; no traceback."""
    bins_csv = city_files / "inv" / "bins.csv"
    lines = bins_csv.read_text().splitlines()
    lines[2] = lines[2].replace("660", "-5", 1)
    bins_csv.write_text("\n".join(lines) + "\n")
    code, output, _ = _run(city_files)
    assert code == 2
    assert "bins.csv" in output and "row 3" in output and "capacity_l" in output
    assert "Traceback" not in output


def test_a_truck_of_an_unknown_depot_is_named_with_its_file_and_row(city_files: Path) -> None:
    """t2 (vehicles.csv row 3) homed at d9, a depot depots.csv lacks: the job stops naming
    the file, the row, the column and the fix (it named the vehicle alone)."""
    vehicles_csv = city_files / "inv" / "vehicles.csv"
    lines = vehicles_csv.read_text().splitlines()
    assert lines[2].startswith("t2,d1,")
    lines[2] = lines[2].replace("t2,d1,", "t2,d9,", 1)
    vehicles_csv.write_text("\n".join(lines) + "\n")
    code, output, plan = _run(city_files)
    text = " ".join(output.split())
    assert code == 2 and plan == {}
    assert (
        "row 3 (t2) [depot_id]: vehicles.csv: home depot 'd9' is not in depots.csv; add the "
        "depot there or fix depot_id"
    ) in text
    assert "Traceback" not in output


def test_plan_rejects_an_unknown_time_zone(city_files: Path) -> None:
    """A bad --tz is a clear error."""
    code, output, _ = _run(city_files, "--tz", "Mars/Olympus")
    assert code == 2 and "Mars/Olympus" in output


@pytest.mark.parametrize("command", ["plan", "demo"])
@pytest.mark.parametrize("seconds", ["inf", "nan", "0.05"])
def test_a_time_limit_no_solver_keeps_is_a_usage_error(command: str, seconds: str) -> None:
    """A budget that is not a finite number of seconds >= 0.1 is refused before anything
    runs (``inf`` and ``nan`` went on to the solver)."""
    result = CliRunner().invoke(app, [command, "--time-limit", seconds])
    assert result.exit_code == 2
    assert f"{seconds} is not a number of seconds >= 0.1" in result.output


def test_a_start_with_a_utc_offset_is_a_usage_error() -> None:
    """``--start 10:30+05:00`` is read in --tz: the offset was dropped without a word and
    the plan started at 10:30 Helsinki time, not at the moment meant."""
    args = ["plan", "--inventory", ".", "--date", "2026-11-25", "--start", "10:30+05:00"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "has a UTC offset" in result.output


def test_an_out_that_is_a_file_is_a_usage_error(city_files: Path) -> None:
    """``--out`` naming a file: refused before reading and solving (the plan was solved,
    then the job stopped on '[Errno 17] File exists', naming no fix)."""
    (city_files / "out").write_text("not a directory")
    code, output, _ = _run(city_files)
    text = "".join(output.replace("│", "").split())  # the message is folded in a box
    assert code == 2 and "isafile;giveadirectory" in text and "plan:done" not in text


def test_pickups_log_is_read_and_its_bad_rows_reported(city_files: Path) -> None:
    """The trucks' pickup log: good rows used, a percentage and an unknown bin reported."""
    yesterday = datetime.combine(PLAN_DATE - timedelta(days=1), time(9), tzinfo=TZ).isoformat()
    (city_files / "pickups.csv").write_text(
        "bin_id,at,fill_fraction\n"
        f"b00,{yesterday},0.55\n"
        f"b01,{yesterday},80\n"
        f"ghost,{yesterday},0.4\n"
    )
    code, output, plan = _run(city_files, "--pickups", str(city_files / "pickups.csv"))
    assert code == 0, output
    excluded = {e["record"]: e["reason"] for e in plan["excluded"]}
    assert "not a percentage" in excluded["pickups.csv row 3"]
    assert excluded["bin ghost"].startswith("1 row(s) of pickups.csv name a bin not in the")
    assert plan["violations"] == []


def test_a_pickups_log_without_fills_gives_the_last_emptyings(city_files: Path) -> None:
    """A city's log of the trucks' lifts, ``bin_id, at`` only: b00 and b01 were emptied at
    23:50 last night, after their sensors' last readings, so they start the day near
    empty; no row is refused."""
    late = datetime.combine(PLAN_DATE - timedelta(days=1), time(23, 50), tzinfo=TZ).isoformat()
    (city_files / "pickups.csv").write_text(f"bin_id,at\nb00,{late}\nb01,{late}\n")
    _, _, blind = _run(city_files)
    code, output, plan = _run(city_files, "--pickups", str(city_files / "pickups.csv"))
    assert code == 0, output
    excluded = [e["record"] for e in plan["excluded"]]
    assert not [r for r in excluded if "pickups" in r]

    def fills(doc: dict[str, Any]) -> dict[str, float]:
        return {d["bin_id"]: d["expected_fill"] for d in doc["decisions"]}

    before, after = fills(blind), fills(plan)
    assert after["b00"] < before["b00"] / 2 and after["b01"] < before["b01"] / 2
    assert {b: f for b, f in after.items() if b not in ("b00", "b01")} == {
        b: f for b, f in before.items() if b not in ("b00", "b01")
    }


def test_lift_scale_weights_in_the_pickups_log_teach_a_bins_density(city_files: Path) -> None:
    """b00 emptied on three days at half full, the lift scale took 99 kg of its 660 l each
    time: 0.3 kg/l, three times residual's default, and the plan says so. b01's pickup
    has the scale's weight and no fill from the crew: read at b01's density, not refused."""
    days = [datetime.combine(PLAN_DATE - timedelta(days=d), time(9), tzinfo=TZ) for d in (5, 3, 1)]
    rows = "".join(f"b00,{d.isoformat()},0.5,99\n" for d in days)
    (city_files / "pickups.csv").write_text(
        f"bin_id,at,fill_fraction,weight_kg\n{rows}b01,{days[2].isoformat()},,30\n"
    )
    code, output, plan = _run(city_files, "--pickups", str(city_files / "pickups.csv"))
    assert code == 0, output
    said = "1 bin(s) loaded at the density their weights show (0.30 kg/l)"
    assert any(n.startswith(said) for n in plan["notes"])
    excluded = [e["record"] for e in plan["excluded"]]
    assert not [r for r in excluded if "pickups" in r] and plan["violations"] == []


def test_a_readings_rows_resend_is_read_once_and_a_clash_is_listed(city_files: Path) -> None:
    """A row sent twice is read once (counted); the same bin and instant with another fill
    is a bad row naming both (both were read)."""
    path = city_files / "readings.csv"
    lines = path.read_text().splitlines()
    first = lines[1]
    bin_id, at, fill = first.split(",")[:3]
    clash = f"{bin_id},{at},{float(fill) / 2:g}"
    path.write_text("\n".join([*lines, first, clash]) + "\n")
    code, output, plan = _run(city_files)
    assert code == 0, output
    excluded = {e["record"]: e["reason"] for e in plan["excluded"]}
    said = f"bin {bin_id} has another reading at {at} (row 2: fill {float(fill):g}; this row"
    assert said in excluded[f"readings.csv row {len(lines) + 2}"]
    assert excluded["readings.csv"].startswith("1 row(s) repeating an earlier row")


def test_a_fiware_files_resent_entity_is_read_once_and_a_clash_is_listed(
    city_files: Path,
) -> None:
    """The readings as WasteContainer entities, the first sent again and again with
    another fill: read once (counted) and a bad entity naming both (it was left out
    silently)."""
    readings = read_readings_csv(city_files / "readings.csv").records
    ents = fiware_waste_containers(readings)
    first = ents[0]
    clash = first | {"fillingLevel": first["fillingLevel"] / 2}
    (city_files / "readings.json").write_text(json.dumps([*ents, first, clash]))
    code, output, plan = _run(city_files, readings="readings.json")
    assert code == 0, output
    excluded = {e["record"]: e["reason"] for e in plan["excluded"]}
    said = (
        f"bin {readings[0].bin_id} has another reading at {first['dateObserved']} "
        f"(entity 1: fill {first['fillingLevel']:g}; this entity"
    )
    assert said in excluded[f"readings.json entity {len(ents) + 2}"]
    assert excluded["readings.json"].startswith("1 entity(ies) repeating an earlier entity")


def test_a_readings_file_with_no_good_row_stops_the_job(city_files: Path) -> None:
    """Every time without its UTC offset: the job stops naming the file and the fix; it
    does not plan on no readings at all."""
    path = city_files / "readings.csv"
    rows = path.read_text().splitlines()[:-1]  # the last row is the bad one of the fixture
    path.write_text("\n".join(r.replace("+02:00", "") for r in rows) + "\n")
    (city_files / "twice.csv").write_text(  # two bad cells a row: the rows are counted
        "\n".join([rows[0], *(r.replace("+02:00", "").replace(",0.", ",x0.") for r in rows[1:])])
    )
    code, output, plan = _run(city_files, readings="twice.csv")
    text = " ".join(output.split())
    assert code == 2 and f"twice.csv: none of its {len(rows) - 1} rows could be used" in text
    code, output, plan = _run(city_files)
    assert code == 2 and plan == {}
    text = " ".join(output.split())
    assert f"readings.csv: none of its {len(rows) - 1} rows could be used" in text
    assert "has no UTC offset; add one" in text and "Traceback" not in output


def test_a_readings_file_whose_header_cannot_be_read_is_not_counted_in_rows(
    city_files: Path,
) -> None:
    """Saved with semicolons by a spreadsheet: the job stops on its header; before, it
    said 'none of its 1 rows could be used' of a file of hundreds (the header's errors
    counted as rows)."""
    path = city_files / "readings.csv"
    path.write_text(path.read_text().replace(",", ";"))
    code, output, plan = _run(city_files)
    text = " ".join(output.split())
    assert code == 2 and plan == {}
    assert "readings.csv: no row was read, for its header is wrong" in text
    assert "rows could be used" not in text
    assert "separated by semicolons" in text


@pytest.mark.parametrize("empty", ["readings.csv", "readings.json"])
def test_a_readings_file_with_no_row_at_all_stops_the_job(city_files: Path, empty: str) -> None:
    """A header alone (or ``[]``): the job stops naming the file (it planned every bin at a
    default forecast, with nothing to say so)."""
    path = city_files / "readings.csv"
    header = path.read_text().splitlines()[0]
    (city_files / empty).write_text(header + "\n" if empty.endswith(".csv") else "[]")
    args = ["plan", "--inventory", str(city_files / "inv"), "--readings", str(city_files / empty)]
    args += ["--date", PLAN_DATE.isoformat(), "--out", str(city_files / "out")]
    result = CliRunner().invoke(app, [*args, "--time-limit", "1"])
    assert result.exit_code == 2 and f"{empty} has no readings" in result.output


def test_an_inventory_column_the_reader_does_not_know_is_left_aside(city_files: Path) -> None:
    """A city's bins.csv with an address column: the plan is made, the column named as
    left aside (the job stopped on it, though its message said "ignored")."""
    bins_csv = city_files / "inv" / "bins.csv"
    lines = bins_csv.read_text().splitlines()
    bins_csv.write_text(
        "\n".join(
            [lines[0] + ",address", *(f"{line},Main St {i}" for i, line in enumerate(lines[1:]))]
        )
        + "\n"
    )
    code, output, plan = _run(city_files)
    assert code == 0, output
    reasons = [e["reason"] for e in plan["excluded"]]
    assert any("unknown column 'address' (ignored)" in r for r in reasons)
    assert len(plan["decisions"]) == 12


def test_a_file_that_is_not_text_is_a_clear_error(city_files: Path) -> None:
    (city_files / "readings.csv").write_bytes(bytes(range(256)))
    code, output, _ = _run(city_files)
    assert code == 2 and "UTF-8" in output and "Traceback" not in output


def test_an_inventory_without_trucks_is_a_clear_error(city_files: Path) -> None:
    (city_files / "inv" / "vehicles.csv").write_text("vehicle_id,depot_id,capacity_l,capacity_kg\n")
    code, output, _ = _run(city_files)
    assert code == 2 and "no vehicle" in output and "Traceback" not in output


def test_a_truck_in_the_workshop_is_read_from_downtimes_csv(city_files: Path) -> None:
    """t2 is in the workshop until 10:00 (``downtimes.csv``): the plan starts it then and
    says why; no rule is broken."""
    until = datetime.combine(PLAN_DATE, time(10), tzinfo=TZ).isoformat()
    down = f"vehicle_id,start,end,reason\nt2,2026-11-24T17:00:00+02:00,{until},clutch\n"
    (city_files / "inv" / "downtimes.csv").write_text(down)
    code, output, plan = _run(city_files)
    assert code == 0, output
    said = "t2 is out of service from 2026-11-24 17:00 until 10:00 (clutch): it works 10:00-14:00"
    assert said in plan["notes"]
    assert f"note: {said}" in " ".join(output.split())  # on the console too, not only the file
    assert plan["violations"] == []
    t2 = [r for r in plan["routes"] if r["vehicle_id"] == "t2"]
    assert all(v["start"] >= until for r in t2 for v in r["visits"])


def test_the_plans_notes_are_on_its_map_as_text(city_files: Path) -> None:
    """t2's workshop note, its reason typed with markup, is listed on map.html as on the
    console and in plan.json, escaped (the map showed no note)."""
    until = datetime.combine(PLAN_DATE, time(10), tzinfo=TZ).isoformat()
    why = "<b>clutch</b> & brakes"
    down = f"vehicle_id,start,end,reason\nt2,2026-11-24T17:00:00+02:00,{until},{why}\n"
    (city_files / "inv" / "downtimes.csv").write_text(down)
    code, output, plan = _run(city_files)
    assert code == 0, output
    (said,) = [n for n in plan["notes"] if why in n]
    html = (city_files / "out" / "map.html").read_text(encoding="utf-8")
    assert f"<li>{escape(said)}</li>" in html and why not in html


def test_plan_json_and_the_map_name_each_trucks_streams(city_files: Path) -> None:
    """Each route of plan.json names its truck's waste streams, and map.html lists each
    truck drawn with them (neither said which streams a truck takes)."""
    vehicles_csv = city_files / "inv" / "vehicles.csv"
    inventory, _ = load_inventory(city_files / "inv")
    both = frozenset({"residual", "bio"})
    t1 = replace(inventory.vehicles[0], streams=both)
    sites = tuple(replace(x, streams=both) for x in inventory.sites)
    save_inventory(
        replace(inventory, vehicles=(t1, *inventory.vehicles[1:]), sites=sites), city_files / "inv"
    )
    assert "bio;residual" in vehicles_csv.read_text()
    code, output, plan = _run(city_files)
    assert code == 0, output
    streams = {r["vehicle_id"]: r["streams"] for r in plan["routes"]}
    assert streams == {"t1": ["bio", "residual"], "t2": ["residual"]}
    html = (city_files / "out" / "map.html").read_text(encoding="utf-8")
    drawn = [r for r in plan["routes"] if r["bins"]]
    assert drawn, plan["routes"]
    for r in drawn:
        said = f"{r['vehicle_id']} takes {', '.join(r['streams'])}: {r['bins']} bin(s)</li>"
        assert said in html


def test_the_map_lists_the_bins_not_served_and_the_checkers_verdict(city_files: Path) -> None:
    """The plan starts at 13:55, too late for the bins it cannot reach: map.html lists each
    with its reason, as the console and plan.json do, and the checker's verdict (the map
    showed the unserved count alone, and no verdict: a plan the checker refused looked as
    good as a feasible one)."""
    code, output, plan = _run(city_files, "--start", "13:55")
    assert code == 0, output
    html = (city_files / "out" / "map.html").read_text(encoding="utf-8")
    unserved = plan["unserved"]
    assert unserved
    panel = re.search(r"<h2>Bins not served</h2><ul>(.*?)</ul>", html)
    assert panel is not None
    assert re.findall(r"<li>(.*?)</li>", panel.group(1)) == [
        escape(f"{u['ref']}: {u['reason']}") for u in unserved
    ]
    assert "Independent checker: plan feasible." in html


def test_a_day_with_no_bin_served_writes_its_files(city_files: Path) -> None:
    """The site is closed all day: nothing can be collected; plan.json still is valid JSON
    (no NaN: a mean fill at pickup of no pickup is null) and lists why."""
    sites = city_files / "inv" / "sites.csv"
    sites.write_text(sites.read_text().replace("00:00-23:59", "03:00-04:00"))
    code, output, plan = _run(city_files)
    assert code == 0, output
    kpis = plan["kpis"]
    assert kpis["bins_collected"] == 0
    assert kpis["mean_fill_at_pickup"] is None
    assert plan["unserved"] and "Bins not served" in output
    said = {(u["kind"], u["reason"].split(":")[0]) for u in plan["unserved"]}
    assert said == {("sites_closed", "no truck can unload after it before its shift ends")}


def test_left_out_rows_are_listed_apart_from_unserved_bins(city_files: Path) -> None:
    """A bad reading row is a record left out, not a bin not served; a long list is cut
    short on the screen and kept whole in plan.json."""
    path = city_files / "readings.csv"
    path.write_text(path.read_text() + "".join(f"b02,bad-{k},0.5,\n" for k in range(30)))
    code, output, plan = _run(city_files)
    assert code == 0, output
    assert "Records left out, with reasons (31)" in output
    assert output.index("Records left out") < output.index("readings.csv row")
    assert "and 11 more in plan.json" in " ".join(output.split())
    assert len(plan["excluded"]) == 31


def test_readings_after_the_day_starts_are_listed_as_not_used(city_files: Path) -> None:
    """A reading from the planned day's afternoon (a wrong --date?) is named, not dropped
    silently: the forecast reads the bins when the first shift starts."""
    path = city_files / "readings.csv"
    later = datetime.combine(PLAN_DATE, time(15), tzinfo=TZ).isoformat()
    path.write_text(path.read_text() + f"b03,{later},0.9,\n")
    code, output, plan = _run(city_files)
    assert code == 0, output
    excluded = {e["record"]: e["reason"] for e in plan["excluded"]}
    assert excluded["readings.csv"].startswith("1 row(s) dated after 2026-11-25T06:00:00+02:00")
    assert f"latest {later}" in excluded["readings.csv"]


def test_a_plan_started_mid_morning_reads_the_mornings_report(city_files: Path) -> None:
    """``--start 10:30``: the citizen report of 10:00 counts (b03 is collected, as reported
    overflowing), no truck leaves before 10:30, and the plan's notes say so. Without it the
    report is named as not used."""
    reports = city_files / "reports.csv"
    at = datetime.combine(PLAN_DATE, time(10), tzinfo=TZ).isoformat()
    reports.write_text(f"report_id,at,bin_id,text\nr1,{at},b03,bags on the street\n")
    code, output, plan = _run(city_files, "--reports", str(reports), "--start", "10:30")
    assert code == 0, output
    decisions = {d["bin_id"]: d for d in plan["decisions"]}
    assert decisions["b03"]["reason"] == "citizen report r1: overflowing"
    starts = [r["visits"][0]["start"] for r in plan["routes"] if r["bins"]]
    assert starts and min(datetime.fromisoformat(s) for s in starts) >= datetime.combine(
        PLAN_DATE, time(10, 30), tzinfo=TZ
    )
    assert plan["notes"][0].startswith("planned at 10:30")
    assert not any(e["record"] == "reports.csv" for e in plan["excluded"])
    code, output, plan = _run(city_files, "--reports", str(reports))
    excluded = {e["record"]: e["reason"] for e in plan["excluded"]}
    assert "when the planned day starts" in excluded["reports.csv"]
    code, output, _ = _run(city_files, "--start", "half past ten")
    assert code == 2 and "--start 'half past ten' is not a local time HH:MM" in output


def test_a_citizen_report_far_from_every_bin_is_listed(city_files: Path) -> None:
    """r2 gives a place 580 m from the nearest bin and no bin_id: it alerts no bin, and the
    plan's left-out records say so, with the nearest bin (it was dropped without a word);
    r1, beside b03, alerts b03."""
    reports = city_files / "reports.csv"
    at = datetime.combine(PLAN_DATE - timedelta(days=1), time(18), tzinfo=TZ).isoformat()
    reports.write_text(
        "report_id,at,lon,lat,text\n"
        f"r1,{at},24.94301,60.16950,bags on the street\n"
        f"r2,{at},24.93,60.1665,overflowing\n"
    )
    code, output, plan = _run(city_files, "--reports", str(reports))
    assert code == 0, output
    excluded = {e["record"]: e["reason"] for e in plan["excluded"]}
    assert "report r1" not in excluded
    assert "m from the nearest bin b00: too far to alert it" in excluded["report r2"]


def test_a_date_far_after_the_readings_is_a_clear_error(city_files: Path) -> None:
    """--date a year after the readings (a typo): the job stops naming the newest reading
    and the fix (it planned every bin at thousands of per cent)."""
    out = city_files / "out"
    args = ["plan", "--inventory", str(city_files / "inv"), "--readings"]
    args += [str(city_files / "readings.csv"), "--date", "2027-11-25", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--time-limit", "1"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "days before the day planned (2027-11-25)" in text
    assert "check --date" in text


def test_readings_days_older_than_the_day_get_a_note_naming_their_age(city_files: Path) -> None:
    """--date 25 days after the newest reading (under the 30 that stop the job): the plan
    says how old the readings are and what that means for the forecasts, on the screen and
    in plan.json (it forecast bins at over 1000 % full with no word); a day right after the
    readings has no such note."""
    code, output, plan = _run(city_files)
    assert code == 0 and not any("newest reading" in n for n in plan["notes"])
    late = (PLAN_DATE + timedelta(days=24)).isoformat()
    code, output, plan = _run(city_files, "--date", late)
    assert code == 0, output
    notes = [n for n in plan["notes"] if "newest reading" in n]
    assert len(notes) == 1, plan["notes"]
    assert re.search(r"readings\.csv: the newest reading \(.*\) is 2[45]\.\d days before", notes[0])
    assert "extrapolated at the rate learned, not read" in notes[0]
    top = max(d["expected_fill"] for d in plan["decisions"])
    said = re.search(r"\(the highest is (\d+)% full\)", notes[0])
    assert said is not None and abs(int(said.group(1)) - 100 * top) <= 1, notes[0]
    assert "the newest reading" in " ".join(output.split())


def test_bins_the_trucks_emptied_since_the_old_readings_are_known(city_files: Path) -> None:
    """--date 24 days after the readings with a pickups log emptying b01..b11 and at-sea the
    day before: their fills are known since, so the note counts b00 alone (it said every
    fill was extrapolated); with b00 emptied too there is no note."""
    late = PLAN_DATE + timedelta(days=24)
    eve = datetime.combine(late - timedelta(days=1), time(18), tzinfo=TZ).isoformat()
    emptied = ["at-sea", *(f"b{i:02d}" for i in range(1, 11))]
    pickups = city_files / "pickups.csv"
    pickups.write_text("bin_id,at\n" + "".join(f"{b},{eve}\n" for b in emptied))
    code, output, plan = _run(city_files, "--date", late.isoformat(), "--pickups", str(pickups))
    assert code == 0, output
    notes = [n for n in plan["notes"] if "newest reading" in n]
    assert len(notes) == 1 and "the fill since of 1 of the 12 bins read" in notes[0], notes
    b00 = next(d for d in plan["decisions"] if d["bin_id"] == "b00")
    said = re.search(r"\(the highest is (\d+)% full\)", notes[0])
    assert said is not None and abs(int(said.group(1)) - 100 * b00["expected_fill"]) <= 1
    pickups.write_text(pickups.read_text() + f"b00,{eve}\n")
    code, output, plan = _run(city_files, "--date", late.isoformat(), "--pickups", str(pickups))
    assert code == 0 and not any("newest reading" in n for n in plan["notes"]), output


def test_a_plan_without_readings_or_pickups_says_no_fill_is_known(city_files: Path) -> None:
    """No --readings, no --pickups: the plan says no bin's fill is known and what was assumed
    (every bin was forecast at the default 50 % with no word); with readings it does not."""
    code, _, plan = _run(city_files)
    assert code == 0 and not any("no bin's fill is known" in n for n in plan["notes"])
    out = city_files / "bare"
    args = ["plan", "--inventory", str(city_files / "inv"), "--date", PLAN_DATE.isoformat()]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--time-limit", "1"])
    assert result.exit_code == 0, result.output
    notes = json.loads((out / "plan.json").read_text())["notes"]
    said = [n for n in notes if n.startswith("no --readings and no --pickups")]
    assert len(said) == 1, notes
    assert "no bin's fill is known; each is assumed 50% full when the day starts" in said[0]
    assert "no bin's fill is known" in " ".join(result.output.split())


def test_the_notes_and_written_paths_print_whole_when_output_is_not_a_terminal(
    city_files: Path,
) -> None:
    """Piped to a file or a CI log, rich folded every line at 80 characters: the note saying
    no fill is known came out over three lines, and a long --out path over two (a path cut in
    a CI log does not copy). Now each is one line, as in plan.json."""
    out = city_files / ("a-long-output-directory-name-" * 3)
    args = ["plan", "--inventory", str(city_files / "inv"), "--date", PLAN_DATE.isoformat()]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--time-limit", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    notes = json.loads((out / "plan.json").read_text())["notes"]
    assert notes and max(map(len, notes)) > 80
    for note in notes:
        assert f"note: {note}" in lines
    for name in ("plan.json", "routes.geojson", "map.html", "sheets.html"):
        assert f"wrote {out / name}" in lines


def test_the_route_sheets_are_written_in_the_language_asked(city_files: Path) -> None:
    """--language pt-BR: sheets.html in Portuguese (its words, its numbers); an unknown
    language stops before planning, naming those there are."""
    code, output, plan = _run(city_files, "--language", "pt-BR")
    assert code == 0, output
    sheets = (city_files / "out" / "sheets.html").read_text("utf-8")
    bins = [v["ref"] for r in plan["routes"] for v in r["visits"] if v["kind"] == "bin"]
    assert '<html lang="pt">' in sheets and "<th>chegada</th>" in sheets
    assert sorted(re.findall(r"<td>contêiner ([\w#-]+)</td>", sheets)) == sorted(bins)
    assert "sem indicações pelas ruas" in sheets and "no street directions" not in sheets
    code, output, plan = _run(city_files, "--out", str(city_files / "none"), "--language", "xx")
    assert code == 2 and not (city_files / "none").exists()
    assert "use one of ca, de, en, es, fi, ko, pt, sv, zh" in " ".join(
        output.replace("│", " ").split()
    )


def test_a_date_before_every_reading_is_a_clear_error(city_files: Path) -> None:
    """--date a year before the readings (a typo): every reading is after the day's start,
    none is used; the job stops naming the fix (it planned every bin at the default fill,
    all 'may', as if the file were empty)."""
    code, output, plan = _run(city_files, "--date", "2025-11-25")
    text = " ".join(output.split())
    assert code == 2 and plan == {}
    assert "readings.csv: every reading is dated after the day planned starts" in text
    assert "check --date" in text


def test_a_readings_file_naming_no_bin_of_the_inventory_stops_the_job(city_files: Path) -> None:
    """Another city's readings (bins named otherwise): the job stops naming the file (it
    planned every bin at the default forecast, as on an empty file, and listed each of
    the file's bins as unknown)."""
    path = city_files / "readings.csv"
    path.write_text(path.read_text().replace("\nb", "\nx").replace("\nat-sea", "\nx-sea"))
    code, output, plan = _run(city_files)
    text = " ".join(output.split())
    assert code == 2 and plan == {}
    said = "readings.csv: none of its readings names a bin of the inventory"
    assert f"{said} (it names x-sea, x00, x01 and 9 more)" in text


def test_the_default_day_is_today_in_the_citys_zone() -> None:
    """At 23:00 UTC on 30 November it is already 1 December in Helsinki (and 13:00 on the
    30th in Honolulu); a zone that is not one falls back to the machine's date."""
    from binroute.cli import _today_in

    at = datetime(2026, 11, 30, 23, 0, tzinfo=ZoneInfo("UTC"))
    assert _today_in("Europe/Helsinki", at) == date(2026, 12, 1)
    assert _today_in("Pacific/Honolulu", at) == date(2026, 11, 30)
    assert _today_in("Mars/Olympus", at) == date.today()


def test_a_city_whose_sensors_only_weigh_plans_like_one_that_reads_levels(
    city_files: Path,
) -> None:
    """The same sensors reporting the weight alone (at the residual 0.10 kg/l of the 660 l
    bins): the fills derived from it give the same decisions."""
    code, output, by_level = _run(city_files)
    assert code == 0, output
    path = city_files / "readings.csv"
    rows = [r.split(",") for r in path.read_text().splitlines()[1:-1]]  # less the bad row
    path.write_text(
        "bin_id,at,weight_kg\n"
        + "".join(f"{b},{t},{float(f) * 66!r}\n" for b, t, f, *_ in rows if b != "at-sea")
        + "".join(f"{b},{t},{float(f) * 24!r}\n" for b, t, f, *_ in rows if b == "at-sea")
    )
    code, output, by_weight = _run(city_files)
    assert code == 0, output
    # the prize is a sum of products: a fill derived through a weight may move its last digit
    assert by_weight["decisions"] == [
        {**d, "prize": pytest.approx(d["prize"], rel=1e-12)} for d in by_level["decisions"]
    ]
    assert not [e for e in by_weight["excluded"] if "readings" in e["record"]]


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--truck-height-m", "0", "is not a truck height in metres in (0, 6]"),
        ("--truck-height-m", "380", "is not a truck height in metres in (0, 6]"),
        ("--truck-weight-kg", "nan", "is not a truck weight in kg in (0, 100000]"),
        ("--truck-width-m", "255", "is not a truck width in metres in (0, 5]"),
        ("--truck-length-m", "-10", "is not a truck length in metres in (0, 30]"),
        ("--truck-axle-load-kg", "1e7", "is not a truck axle load in kg in (0, 30000]"),
    ],
)
def test_a_truck_size_no_road_vehicle_has_is_a_usage_error(
    city_files: Path, option: str, value: str, words: str
) -> None:
    code, output, plan = _run(city_files, option, value)
    assert code == 2 and plan == {}
    assert words in " ".join(output.replace("│", " ").split())  # rich's box wraps it


def test_the_city_is_read_for_the_trucks_size_given(
    city_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--truck-height-m / --truck-weight-kg / --truck-width-m / --truck-length-m /
    --truck-axle-load-kg reach the street reader (GraphSettings: the streets signed lower,
    lighter, narrower or shorter are not driven), and so do --no-turn-restrictions,
    --through-local-streets, --drive-side and --no-u-turns; left out, the service's
    defaults."""
    from network import GraphSettings
    from network.errors import NetworkError

    read: list[GraphSettings] = []

    def reader(path: Path, *, settings: GraphSettings) -> None:
        read.append(settings)
        raise NetworkError("read")

    monkeypatch.setattr("binroute.jobs.load_network", reader)
    city = ("--city", str(city_files / "city.osm.pbf"))
    assert _run(city_files, *city)[0] == 2
    assert _run(city_files, *city, "--truck-height-m", "2.5", "--truck-weight-kg", "3500")[0] == 2
    small = ("--truck-width-m", "2.1", "--truck-length-m", "6.5", "--truck-axle-load-kg", "2000")
    assert _run(city_files, *city, *small)[0] == 2
    assert _run(city_files, *city, "--no-turn-restrictions", "--through-local-streets")[0] == 2
    assert _run(city_files, *city, "--drive-side", "left", "--no-u-turns")[0] == 2
    assert _run(city_files, *city, "--no-street-hours")[0] == 2
    assert read == [
        GraphSettings(),
        GraphSettings(truck_height_m=2.5, truck_weight_kg=3500.0),
        GraphSettings(truck_width_m=2.1, truck_length_m=6.5, truck_axle_load_kg=2000.0),
        GraphSettings(turn_restrictions=False, local_access=False),
        GraphSettings(drive_side="left", u_turns=False),
        GraphSettings(street_hours=False),
    ]
