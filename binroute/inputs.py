"""The city's files the command reads besides its inventory: readings, citizen reports and
pickups, each file's bad rows as (record, reason), and the notes and errors on what they
hold (a wrong file, a wrong date, readings too old, bins the inventory lacks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fleet.errors import FleetDataError
from fleet.fill import FillConfig, match_reports, nearest_bin
from fleet.io import (
    RowError,
    read_csv,
    read_fiware_waste_containers,
    read_pickups_csv,
    read_readings_csv,
)
from fleet.models import CitizenReport, FillReading, Inventory, PickupRecord
from optimiser.daily import DayPlan

T = TypeVar("T")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` or a FleetDataError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FleetDataError(
            f"unknown time zone {name!r}; use an IANA name like Europe/Helsinki"
        ) from None


def _row_errors(path: Path, errors: Sequence[RowError]) -> tuple[tuple[str, str], ...]:
    return tuple((f"{path.name} {e.label}", e.message) for e in errors)


def _some_good(path: Path, records: Sequence[object], errors: Sequence[RowError]) -> None:
    """A file whose every row is bad (e.g. fills in percent, times without an offset) is
    a wrong file, not data: a FleetDataError naming its first problems."""
    if records or not errors:
        return
    header = errors[0].unit == "row"  # a CSV's line 1 is its header, not a record
    rows = len({e.row for e in errors if e.row > 1 or not header})  # a row's errors once
    lines = [
        f"{path.name}: none of its {rows} {errors[0].units} could be used; is it the right file?"
        if rows
        else f"{path.name}: no row was read, for its header is wrong (below); is it the right file?"
    ]
    lines += [f"  {e}" for e in errors[:5]]
    if len(errors) > 5:
        lines.append(f"  ... and {len(errors) - 5} more like these")
    raise FleetDataError("\n".join(lines))


def read_readings(
    path: Path, inventory: Inventory
) -> tuple[tuple[FillReading, ...], tuple[tuple[str, str], ...]]:
    """Readings from a CSV file or a FIWARE WasteContainer JSON file (by extension); the
    weights of sensors that only weigh become fills at the densities of ``inventory``.

    Returns the good readings and (record, reason) for each bad row, and one counting the
    rows (FIWARE entities) that repeat an earlier one (read once; the same bin and time with
    other values is a bad row). A file with no reading at all (a header alone, ``[]``) is a
    FleetDataError: planned on it, every bin would be forecast from nothing, with nothing
    to say so.
    """
    if path.suffix.lower() == ".json":
        fiware = read_fiware_waste_containers(path, inventory=inventory)
        records, errors, repeats = tuple(fiware.readings), fiware.errors, fiware.duplicates
        each, many = "entity", "entity(ies)"
    else:
        result = read_readings_csv(path, inventory)
        records, errors, repeats = result.records, result.errors, result.duplicates
        each, many = "row", "row(s)"
    if not records and not errors:
        raise FleetDataError(f"{path.name} has no readings; is it the right file?")
    _some_good(path, records, errors)
    resent = (
        path.name,
        f"{repeats} {many} repeating an earlier {each} (same bin, time and values) read once",
    )
    return tuple(records), (*_row_errors(path, errors), *([resent] if repeats else []))


def read_pickups(
    path: Path, inventory: Inventory
) -> tuple[tuple[PickupRecord, ...], tuple[tuple[str, str], ...]]:
    """The trucks' pickups from a CSV file; the weights their lift scales took from bins
    the crews gave no fill for become fills at the densities of ``inventory``.

    Returns the good pickups and (record, reason) for each bad row.
    """
    result = read_pickups_csv(path, inventory)
    _some_good(path, result.records, result.errors)
    return tuple(result.records), _row_errors(path, result.errors)


def csv_rows(cls: type[T], path: Path | None) -> tuple[tuple[T, ...], tuple[tuple[str, str], ...]]:
    """Good records of type ``cls`` from a CSV file and (record, reason) for each bad row."""
    if path is None:
        return (), ()
    result = read_csv(cls, path)
    _some_good(path, result.records, result.errors)
    return tuple(result.records), _row_errors(path, result.errors)


STALE_READINGS_DAYS = 30  # a newest reading older than this before the day: a wrong date?


def not_stale(path: Path | None, readings: Sequence[FillReading], first: datetime) -> None:
    """A FleetDataError when the newest of ``readings`` is more than
    :data:`STALE_READINGS_DAYS` before ``first`` (the day's first shift): a --date a year
    off forecast bins at 2244 % full, with nothing to say so; and when every one is after
    ``first`` (a --date in the past): the bins were forecast from nothing."""
    if path is None or not readings:
        return
    oldest = min(r.at for r in readings)
    if oldest > first:
        raise FleetDataError(
            f"{path.name}: every reading is dated after the day planned starts "
            f"({first.isoformat()}), the oldest at {oldest.isoformat()}: no fill of then is "
            "known; check --date (and --start), or the file"
        )
    newest = max(r.at for r in readings)
    days = (first - newest).total_seconds() / 86400
    if days > STALE_READINGS_DAYS:
        raise FleetDataError(
            f"{path.name}: its newest reading ({newest.isoformat()}) is {days:.0f} days before "
            f"the day planned ({first.date().isoformat()}); check --date, or the file"
        )


OLD_READINGS_DAYS = 3.0
"""A newest reading more than this before the day's first shift gets a plan note. Sensors
report several times a day and a city's export is at most a day or two old (a weekend), so
a longer gap is a feed that stopped or a file exported long ago: every fill since is
extrapolated at the rate learned, not read, and the forecasts drift (readings 25 days old
forecast bins at 1846 % full), while :data:`STALE_READINGS_DAYS` stops the job."""


def old_readings_note(
    path: Path | None,
    readings: Sequence[FillReading],
    first: datetime,
    day: DayPlan,
    pickups: Sequence[PickupRecord] = (),
) -> tuple[str, ...]:
    """A note when the newest of ``readings`` is more than :data:`OLD_READINGS_DAYS` before
    ``first`` (the day's first shift, or the plan's start), naming its age, the highest
    forecast of ``day`` and what the gap means for the forecasts; none otherwise. A bin the
    trucks emptied (``pickups``) within that time is known since: none when every bin read
    was, and the note counts those that were not."""
    used = [r for r in readings if r.at <= first]  # later ones are listed as not used
    if path is None or not used:
        return ()
    newest = max(r.at for r in used)
    days = (first - newest).total_seconds() / 86400
    if days <= OLD_READINGS_DAYS:
        return ()
    gap = timedelta(days=OLD_READINGS_DAYS)
    emptied = {p.bin_id for p in pickups if first - gap <= p.at <= first}  # after every reading
    read = {r.bin_id for r in used}
    if read <= emptied:
        return ()
    top = max(
        (d.expected_fill_fraction for d in day.decisions if d.bin_id not in emptied), default=0.0
    )
    which = (
        f"the fill since of {len(read - emptied)} of the {len(read)} bins read (the others were "
        "emptied since, by --pickups)"
        if read & emptied
        else "every fill since"
    )
    return (
        f"{path.name}: the newest reading ({newest.isoformat(timespec='minutes')}) is {days:.1f} "
        f"days before the day starts ({first.isoformat()}): {which} is extrapolated at "
        f"the rate learned, not read, so the forecasts are guesses that grow with the gap (the "
        f"highest is {top:.0%} full), and bins emptied since are known only from --pickups; "
        "check that the sensors still report, or give a newer file",
    )


def unknown_fills_note(
    readings_path: Path | None, pickups_path: Path | None, reports: Sequence[CitizenReport]
) -> tuple[str, ...]:
    """A note when neither readings nor pickups were given: no bin's fill is known, and each
    is forecast from the defaults of :class:`fleet.fill.FillConfig` (named, with the citizen
    reports, which alone say anything of a bin); none otherwise."""
    if readings_path is not None or pickups_path is not None:
        return ()
    cfg = FillConfig()
    also = f", but for the bins the {len(reports)} citizen report(s) name" if reports else ""
    return (
        "no --readings and no --pickups: no bin's fill is known"
        f"{also}; each is assumed {cfg.unknown_fill:.0%} full when the day starts, filling "
        f"at {cfg.default_rate_per_h * 24:.0%} a day, so the bins chosen rest on that "
        "assumption, not on data; give the sensors' readings (--readings) or the trucks' "
        "pickup log (--pickups)",
    )


def names_known_bins(
    path: Path | None, readings: Sequence[FillReading], inventory: Inventory
) -> None:
    """A FleetDataError when no reading of ``path`` names a bin of ``inventory`` (another
    city's file, or bins renumbered): planned on it, every bin would be forecast from
    nothing, as on an empty file."""
    known = {b.bin_id for b in inventory.bins}
    if path is None or not readings or any(r.bin_id in known for r in readings):
        return
    named = sorted({r.bin_id for r in readings})
    some = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
    raise FleetDataError(
        f"{path.name}: none of its readings names a bin of the inventory (it names {some}); "
        "is it the right file, or the right inventory?"
    )


def far_reports(inventory: Inventory, reports: Sequence[CitizenReport]) -> list[tuple[str, str]]:
    """(record, reason) for each citizen report with a location but no bin of ``inventory``
    near enough to be the one meant (``fleet.fill.match_reports``): no bin is alerted by
    it, which the plan would not say."""
    _, unmatched = match_reports(inventory.bins, reports)
    out = []
    for r in unmatched:
        if r.lon is None or r.lat is None:
            continue  # its bin_id is not listed: said with the unknown bins
        near = nearest_bin(inventory.bins, r.lon, r.lat)
        if near is not None:
            out.append(
                (
                    f"report {r.report_id}",
                    f"({r.lon:.6f}, {r.lat:.6f}) is {near[1]:.0f} m from the nearest bin "
                    f"{near[0].bin_id}: too far to alert it; fix the location or give its bin_id",
                )
            )
    return out


def _rows_of(name: str) -> str:
    """What a file's records are called: a FIWARE file's entities, a CSV file's rows."""
    return "entity(ies)" if name.lower().endswith(".json") else "row(s)"


def unknown_bins(
    inventory: Inventory, refs: Sequence[tuple[Path | None, Sequence[str]]]
) -> list[tuple[str, str]]:
    """(record, reason) for readings, reports and pickups naming bins the inventory lacks,
    with the rows of each file (``refs``: each file and the bin ids its rows name)."""
    known = {b.bin_id for b in inventory.bins}
    counts: dict[str, dict[str, int]] = {}
    for path, ids in refs:
        for ref in ids:
            if path is not None and ref not in known:
                files = counts.setdefault(ref, {})
                files[path.name] = files.get(path.name, 0) + 1
    return [
        (
            f"bin {ref}",
            " and ".join(f"{n} {_rows_of(name)} of {name}" for name, n in files.items())
            + " name a bin not in the inventory; add it, or fix their bin_id",
        )
        for ref, files in sorted(counts.items())
    ]


def after_start(
    path: Path | None,
    records: Sequence[FillReading | CitizenReport | PickupRecord],
    start: datetime,
) -> list[tuple[str, str]]:
    """(file, reason) when rows of ``path`` are dated after ``start`` (the first shift of the
    planned day, or when the plan starts): the forecast reads the bins at that moment, so
    later rows are not used."""
    late = [r.at for r in records if r.at > start]
    if path is None or not late:
        return []
    return [
        (
            path.name,
            f"{len(late)} row(s) dated after {start.isoformat()}, when the planned day "
            f"starts (latest {max(late).isoformat()}), were not used; check --date and --start",
        )
    ]
