"""The night's reading files from the drop folder, ingested before the plan: duplicates,
clashes, readings too new or too old, weights alone, files that are not text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import repo, repo_readings
from api.app import create_app
from api.db import NightlyRunRow
from api.deps import Runtime
from api.ingest import ingest_dir
from api.routing import Routing
from api.scheduler import (
    run_nightly,
)
from api.settings import Settings
from network.providers import HaversineProvider
from tests.api.conftest import EVE, seed, the_eve
from tests.api.fakes import FakePlanner
from tests.api.scheduler.helpers import DAY, serving


def _night_with_drop(
    settings: Settings,
    tmp_path: Path,
    files: dict[str, bytes],
    *,
    done_is_a_file: bool = False,
    stored: Sequence[dict[str, object]] = (),
    clock: Callable[[], datetime] | None = None,
) -> tuple[NightlyRunRow, int | None, FakePlanner, Path]:
    """Run the night of ``DAY`` with ``files`` in the ingest folder (after ``seed`` and the
    readings ``stored`` through ``POST /readings``); its run record, plan id, planner and
    the folder."""
    drop = tmp_path / "drop"
    drop.mkdir()
    if done_is_a_file:
        (drop / "done").write_text("not a folder")
    with_dir = settings.model_copy(update={"ingest_dir": str(drop)})
    fake = FakePlanner()
    routing = Routing.static(HaversineProvider())
    app = create_app(with_dir, planner=fake, routing=routing, clock=clock)
    with serving(app, n_bins=2) as (client, runtime, admin):
        if stored:
            resp = client.post("/readings", json=list(stored), headers=admin)
            assert resp.status_code == 200 and resp.json()["stored"] == len(stored), resp.text
        for name, data in files.items():
            (drop / name).write_bytes(data)
        plan_id = run_nightly(runtime, DAY)
        with runtime.db.reader() as s:
            run = s.get(NightlyRunRow, DAY)
    assert run is not None
    return run, plan_id, fake, drop


def test_nightly_ingests_reading_files_first(settings: Settings, tmp_path: Path) -> None:
    night = (
        b"bin_id,at,fill_fraction\n"
        b"b0,2026-11-24T22:00:00+02:00,0.7\n"
        b"b1,2026-11-24T22:00:00+02:00,0.8\n"
        b"b1,2026-11-25T07:00:00+02:00,0.6\n"  # already stored by seed(): a duplicate
        b"ghost,2026-11-24T22:00:00+02:00,0.8\n"
        b"b0,yesterday,0.8\n"
    )
    run, plan_id, fake, drop = _night_with_drop(settings, tmp_path, {"night.csv": night})
    assert run.plan_id == plan_id
    assert "1 file(s): 2 new reading(s), 1 duplicate(s), 2 rejected" in run.message
    seen = {(r.bin_id, r.fill_fraction) for r in fake.calls[0]["readings"]}
    assert {("b0", 0.7), ("b1", 0.8)} <= seen
    assert not (drop / "night.csv").exists()
    assert (drop / "done" / "night.csv").exists()
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert "ghost" in errors and "yesterday" in errors


def test_a_files_resent_row_is_a_duplicate_and_a_clashing_one_is_rejected(
    settings: Settings, tmp_path: Path
) -> None:
    """b0's 22:00 reading twice (a resend: a duplicate) and again with another fill: that
    row is rejected naming the bin and the instant (it was counted as a duplicate)."""
    night = (
        b"bin_id,at,fill_fraction\n"
        b"b0,2026-11-24T22:00:00+02:00,0.7\n"
        b"b0,2026-11-24T22:00:00+02:00,0.7\n"
        b"b0,2026-11-24T22:00:00+02:00,0.9\n"
    )
    run, _, fake, drop = _night_with_drop(settings, tmp_path, {"night.csv": night})
    assert "1 file(s): 1 new reading(s), 1 duplicate(s), 1 rejected" in run.message
    assert ("b0", 0.9) not in {(r.bin_id, r.fill_fraction) for r in fake.calls[0]["readings"]}
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert "row 4 (b0): bin b0 has another reading at 2026-11-24T22:00:00+02:00" in errors


def test_a_files_row_with_another_value_at_a_stored_instant_is_rejected(
    settings: Settings, tmp_path: Path
) -> None:
    """b0's 21:00 reading is stored (0.5); the night's file sends it again (a duplicate)
    and b1's with another fill than the stored one: rejected, named in the errors file
    (it was counted as a duplicate without a word)."""
    at = "2026-11-24T21:00:00+02:00"
    stored: list[dict[str, object]] = [
        {"bin_id": b, "at": at, "fill_fraction": 0.5} for b in ("b0", "b1")
    ]
    night = f"bin_id,at,fill_fraction\nb0,{at},0.5\nb1,{at},0.8\n".encode()
    run, _, fake, drop = _night_with_drop(settings, tmp_path, {"night.csv": night}, stored=stored)
    assert "1 file(s): 0 new reading(s), 1 duplicate(s), 1 rejected" in run.message
    assert ("b1", 0.8) not in {(r.bin_id, r.fill_fraction) for r in fake.calls[0]["readings"]}
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert f"b1: the reading of {at} (fill 0.8) is not used: the one stored at that " in errors


def test_a_files_reading_dated_after_the_services_clock_is_rejected(
    settings: Settings, tmp_path: Path
) -> None:
    """A sensor gateway's clock a year ahead: its reading would stay b0's newest for a
    year (POST /readings refuses it; the night's file stored it)."""
    ahead = "2027-11-24T22:00:00+02:00"
    night = f"bin_id,at,fill_fraction\nb0,2026-11-24T19:00:00+02:00,0.7\nb0,{ahead},0.1\n"
    run, _, fake, drop = _night_with_drop(
        settings, tmp_path, {"night.csv": night.encode()}, clock=the_eve
    )
    assert "1 file(s): 1 new reading(s), 0 duplicate(s), 1 rejected" in run.message
    assert all(r.at < EVE + timedelta(days=3) for r in fake.calls[0]["readings"])
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert f"reading of bin 'b0' at {ahead} is after the service's clock" in errors
    assert "check the device's clock" in errors


def test_a_files_reading_older_than_the_readings_kept_is_rejected(
    settings: Settings, tmp_path: Path
) -> None:
    """Readings kept 14 days: a night's file row of 40 days before is rejected into the
    errors file, naming the setting (stored, the run's own pruning deleted it unseen)."""
    keep = settings.model_copy(update={"readings_keep_days": 14})
    night = (
        b"bin_id,at,fill_fraction\n"
        b"b0,2026-11-24T19:00:00+02:00,0.7\n"
        b"b0,2026-10-15T19:00:00+03:00,0.1\n"
    )
    run, _, _, drop = _night_with_drop(keep, tmp_path, {"night.csv": night}, clock=the_eve)
    assert "1 file(s): 1 new reading(s), 0 duplicate(s), 1 rejected" in run.message
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert "before the readings kept (readings_keep_days 14: from 2026-11-10)" in errors
    assert "0 reading(s) dated before 2026-11-11 deleted" in run.message


def test_a_file_of_weights_alone_is_ingested_as_fills(settings: Settings, tmp_path: Path) -> None:
    """Bins of 240 l at the residual default 0.10 kg/l: 12 kg is a fill of 0.5; 2400 kg
    (grams?) and a bin not in the inventory are rejected with the reason."""
    night = (
        b"bin_id,at,weight_kg\n"
        b"b0,2026-11-24T22:00:00+02:00,12\n"
        b"b1,2026-11-24T22:00:00+02:00,2400\n"
        b"ghost,2026-11-24T22:00:00+02:00,3\n"
    )
    run, _, fake, drop = _night_with_drop(settings, tmp_path, {"night.csv": night})
    assert "1 file(s): 1 new reading(s), 0 duplicate(s), 2 rejected" in run.message
    (b0,) = [r for r in fake.calls[0]["readings"] if r.weight_kg == 12]
    assert (b0.bin_id, b0.fill_fraction, b0.fill_from_weight) == ("b0", pytest.approx(0.5), True)
    errors = (drop / "done" / "night.csv.errors.txt").read_text()
    assert "net weight in kg" in errors and "'ghost' is not in the inventory" in errors


def test_a_file_of_weights_alone_uses_the_densities_stored_readings_show(
    settings: Settings, tmp_path: Path
) -> None:
    """b0 (240 l) weighed 24 kg at half full three times already: 0.2 kg/l, twice
    residual's default. The night's 40 kg is 0.83 full at that density (POST /readings
    reads it so), not 1.67 times the bin at the default (taken as 1.5; refused before
    session 27)."""
    stored = [
        {
            "bin_id": "b0",
            "at": f"2026-11-2{d}T08:00:00+02:00",
            "fill_fraction": 0.5,
            "weight_kg": 24,
        }
        for d in (1, 2, 3)
    ]
    night = b"bin_id,at,weight_kg\nb0,2026-11-24T22:00:00+02:00,40\n"
    run, _, fake, _ = _night_with_drop(settings, tmp_path, {"n.csv": night}, stored=stored)
    assert "1 file(s): 1 new reading(s), 0 duplicate(s), 0 rejected" in run.message
    (got,) = [r for r in fake.calls[0]["readings"] if r.weight_kg == 40]
    assert (got.fill_fraction, got.fill_from_weight) == (pytest.approx(40 / 48), True)


def test_a_nights_file_of_weights_uses_the_densities_an_earlier_file_stored(
    settings: Settings, tmp_path: Path
) -> None:
    """a.csv weighs b0 at half full three times (0.2 kg/l); b.csv, read after it, has
    b0's weight alone: 40 kg is 0.83 full at that density."""
    a = b"bin_id,at,fill_fraction,weight_kg\n" + b"".join(
        f"b0,2026-11-2{d}T08:00:00+02:00,0.5,24\n".encode() for d in (1, 2, 3)
    )
    b = b"bin_id,at,weight_kg\nb0,2026-11-24T22:00:00+02:00,40\n"
    run, _, fake, _ = _night_with_drop(settings, tmp_path, {"a.csv": a, "b.csv": b})
    assert "2 file(s): 4 new reading(s), 0 duplicate(s), 0 rejected" in run.message
    (got,) = [r for r in fake.calls[0]["readings"] if r.weight_kg == 40]
    assert got.fill_fraction == pytest.approx(40 / 48)


def test_a_nights_file_of_weights_reads_the_stored_readings_of_its_bins_only(
    runtime: Runtime,
    client: TestClient,
    admin: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A city's 14 days of readings are millions of rows: the ingest reads those of the
    bins weighed alone in the file (before, all of them, once per file)."""
    seed(client, admin, n_bins=3)
    asked: list[object] = []
    real = repo_readings.load_readings

    def spy(*args: object, **kwargs: object) -> object:
        asked.append(kwargs.get("bin_ids", args[3] if len(args) > 3 else None))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(repo_readings, "load_readings", spy)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "n.csv").write_bytes(
        b"bin_id,at,fill_fraction,weight_kg\n"
        b"b0,2026-11-24T22:00:00+02:00,,12\n"
        b"b1,2026-11-24T22:00:00+02:00,0.4,\n"
    )
    history = repo.history_window(DAY, 14, runtime.settings.tz)
    report = ingest_dir(runtime.db, drop, history)
    assert (report.stored, report.rejected) == (2, 0)
    assert asked == [{"b0"}]


def test_a_file_that_is_not_text_does_not_stop_the_night(
    settings: Settings, tmp_path: Path
) -> None:
    """A spreadsheet saved as .csv in the drop folder: rejected with the reason, moved to
    done/, and the night's other file and plan go on (it used to fail the whole night and
    stay in the folder to fail the next one too)."""
    files = {
        "a.csv": b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xff\xfe binary",
        "b.csv": b"bin_id,at,fill_fraction\nb0,2026-11-24T22:00:00+02:00,0.7\n",
    }
    run, plan_id, fake, drop = _night_with_drop(settings, tmp_path, files)
    assert run.status == "done" and run.plan_id == plan_id
    assert "2 file(s): 1 new reading(s), 0 duplicate(s), 1 rejected" in run.message
    assert ("b0", 0.7) in {(r.bin_id, r.fill_fraction) for r in fake.calls[0]["readings"]}
    assert sorted(p.name for p in drop.glob("*.csv")) == []
    assert "not UTF-8" in (drop / "done" / "a.csv.errors.txt").read_text()


def test_a_file_with_a_nul_character_is_rejected_naming_its_line(
    settings: Settings, tmp_path: Path
) -> None:
    """A NUL byte (a damaged file, or one in UTF-16): the file is rejected with its line
    and the fix, moved to done/, and the night's other file and plan go on (PostgreSQL
    cannot even look the id up: the ingest raised and the night stayed 'running')."""
    files = {
        "a.csv": b"bin_id,at,fill_fraction\nb0,2026-11-24T21:00:00+02:00,0.6\n"
        b"b\x001,2026-11-24T22:00:00+02:00,0.7\n",
        "b.csv": b"bin_id,at,fill_fraction\nb1,2026-11-24T22:00:00+02:00,0.8\n",
    }
    run, plan_id, fake, drop = _night_with_drop(settings, tmp_path, files)
    assert run.status == "done" and run.plan_id == plan_id
    assert "2 file(s): 1 new reading(s), 0 duplicate(s), 1 rejected" in run.message
    assert ("b1", 0.8) in {(r.bin_id, r.fill_fraction) for r in fake.calls[0]["readings"]}
    assert sorted(p.name for p in drop.glob("*.csv")) == []
    errors = (drop / "done" / "a.csv.errors.txt").read_text()
    assert "line 3 holds a NUL character" in errors and "save it as UTF-8" in errors


def test_an_unusable_drop_folder_does_not_stop_the_night(
    settings: Settings, tmp_path: Path
) -> None:
    """``done`` is a file, so files cannot be moved: the night plans on the readings stored,
    and its message says the ingest failed (it used to leave the night 'running' for good)."""
    run, plan_id, _, _ = _night_with_drop(settings, tmp_path, {}, done_is_a_file=True)
    assert plan_id is not None and run.status == "done"
    assert "ingest failed, planned on the readings stored" in run.message
