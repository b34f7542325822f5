"""CSV files of every record type: read with a row error per bad line (the header is line 1;
a spreadsheet's separators, decimal commas and day-first dates named), and written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from fleet.io.rows import ImportResult, RowError, Source, T, _read_text
from fleet.io.values import CODECS, COLUMNS, _build, _id_field
from fleet.models import (
    Bin,
    CitizenReport,
    Depot,
    DisposalSite,
    Downtime,
    FillReading,
    Inventory,
    PickupRecord,
    Vehicle,
    WeightReading,
)
from fleet.weights import fills_from_weights, pickups_from_weights


def _numbered(
    cls: type,
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    text_of: Callable[[Any], str],
    alternative: tuple[type, str] | None = None,
) -> tuple[list[tuple[int, Any]], list[RowError]]:
    """(row number, record) of the good rows and the errors of the bad ones; with
    ``alternative`` (a record type and what it needs, for the errors: a weight in place of
    the fill), a row that lacks a required cell of ``cls`` or its fill but fills all of
    the alternative's is read as one."""
    records: list[tuple[int, Any]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    unique = cls not in (FillReading, PickupRecord, Downtime)  # many per bin, per truck
    for rownum, row in rows:
        kind, instead = cls, ""
        if alternative is not None and not _has_cells(cls, row, text_of, ("fill_fraction",)):
            other, instead = alternative
            kind = other if _has_cells(other, row, text_of) else cls
        built: object = _build(kind, row, rownum, text_of, instead)
        if isinstance(built, list):
            errors.extend(built)
            continue
        rid = getattr(built, _id_field(kind))
        if unique and rid in seen:
            errors.append(
                RowError(
                    rownum, rid, _id_field(kind), f"id repeats row {seen[rid]}; ids must be unique"
                )
            )
            continue
        seen[rid] = rownum
        records.append((rownum, built))
    return records, errors


def _has_cells(
    cls: type, row: Mapping[str, Any], text_of: Callable[[Any], str], also: Sequence[str] = ()
) -> bool:
    """Whether ``row`` has a non-blank cell for every required column of ``cls`` and for
    each of its columns named in ``also``."""
    cells = (row.get(c.name) for c in COLUMNS[cls] if c.required or c.name in also)
    return all(v is not None and text_of(v).strip() for v in cells)


def _header_errors(
    cls: type, header: Sequence[str], alternative: type | None = None
) -> list[RowError]:
    """Missing required columns (those of ``cls`` that ``alternative`` requires too) and
    unknown ones."""
    kinds = (cls,) if alternative is None else (cls, alternative)
    known = {c.name for k in kinds for c in COLUMNS[k]}
    separated = _separator_error(header, known)
    if separated is not None:
        return [separated]
    required = [{c.name for c in COLUMNS[k] if c.required} for k in kinds]
    spelt = {_column_name(h): h for h in header if h not in known}  # Bin_ID -> bin_id
    errs = [
        RowError(1, None, c.name, f"required column {c.name!r} is missing from the header")
        for c in COLUMNS[cls]
        if c.name in set.intersection(*required) and c.name not in header
    ]
    errs += [
        RowError(1, None, h, f"unknown column {h!r} (ignored); {_known_as(h, known)}", ignored=True)
        for h in header
        if h not in known
    ]
    return [
        replace(e, message=f"{e.message}; rename its column {spelt[e.field]!r} to {e.field!r}")
        if not e.ignored and e.field in spelt
        else e
        for e in errs
    ]


def _column_name(header_cell: str) -> str:
    """How a header cell would read in this format's words: ``Bin ID`` -> ``bin_id``."""
    return "_".join(header_cell.strip().lower().replace("-", " ").split())


def _known_as(header_cell: str, known: set[str]) -> str:
    """What to do with a header cell that names no column (``Stream``: rename it)."""
    name = _column_name(header_cell)
    if name in known:
        return f"rename it to {name!r} (column names are lower case, words joined by _)"
    return f"known: {', '.join(sorted(known))}"


SEPARATORS = {";": "semicolons", "\t": "tabs"}  # what spreadsheets write in place of commas


def _separator_error(header: Sequence[str], known: set[str]) -> RowError | None:
    """The error for a header whose column names are joined by another separator than
    a comma (a spreadsheet in a European locale saves ``bin_id;lon;lat``), else None."""
    for cell in header:
        for sep, name in SEPARATORS.items():
            if sum(part.strip() in known for part in cell.split(sep)) >= 2:
                return RowError(
                    1,
                    None,
                    None,
                    f"the columns are separated by {name}, not commas; save the file as "
                    "comma-separated CSV (a spreadsheet's 'CSV UTF-8 (comma delimited)'), with "
                    "a point as the decimal separator",
                )
    return None


def _malformed(err: csv.Error) -> str:
    return (
        f"malformed CSV ({err}); quote cells holding line breaks, carriage returns or "
        "quotes. Rows after this one were not read"
    )


def read_csv(cls: type[T], src: Source) -> ImportResult[T]:
    """Read records of type ``cls`` (a key of :data:`COLUMNS`) from CSV text or a file.

    Empty cells take the record's default. A missing required column gives one error
    (line 1) and no records; an unknown column is reported (line 1) and ignored; blank
    lines are skipped; a repeated id is an error on the later row.
    """
    numbered, errors = _read_numbered(cls, src)
    return ImportResult(tuple(r for _, r in numbered), errors, tuple(line for line, _ in numbered))


def _read_numbered(
    cls: type, src: Source, alternative: tuple[type, str] | None = None
) -> tuple[list[tuple[int, Any]], tuple[RowError, ...]]:
    """:func:`read_csv` with each record's line number; rows may be ``alternative``
    records (:func:`_numbered`), and only the columns both require are required."""
    text = _read_text(src)
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as err:
        return [], (RowError(1, None, None, _malformed(err)),)
    unnamed = [f"column {i + 1}" for i, h in enumerate(header) if not h]  # a spreadsheet's
    reader.fieldnames = [h or f"column {i + 1}" for i, h in enumerate(header)]  # empty ones
    named = [h for h in header if h]
    herrs = _header_errors(cls, named, alternative[0] if alternative else None)
    if any(not e.ignored for e in herrs):  # a required column missing, or no commas
        return [], tuple(herrs)
    filled: set[str] = set()  # unnamed columns holding a value in some row

    def rows() -> Iterable[tuple[int, Mapping[str, Any]]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:  # the reader cannot resync after this: stop here
                herrs.append(RowError(reader.line_num + 1, None, None, _malformed(err)))
                return
            extra = row.pop(None, None)
            if extra and any(str(v).strip() for v in extra):  # blank ones: a trailing comma
                herrs.append(
                    RowError(reader.line_num, None, None, f"{len(extra)} cell(s) beyond the header")
                )
                continue
            filled.update(c for c in unnamed if str(row.pop(c, None) or "").strip())
            if all(v is None or not str(v).strip() for v in row.values()):
                continue
            yield reader.line_num, row

    numbered, errors = _numbered(cls, rows(), str, alternative)
    herrs += [
        RowError(
            1,
            None,
            c,
            f"{c} has values but no name (ignored); name it in the header or delete it",
            ignored=True,
        )
        for c in unnamed
        if c in filled
    ]
    return numbered, (*herrs, *errors)


def write_csv(records: Iterable[Any], cls: type, dest: Path | None = None) -> str:
    """Write records of type ``cls`` as CSV (all columns of :data:`COLUMNS`); return the text."""
    cols = COLUMNS[cls]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.name for c in cols])
    for r in records:
        vals = [getattr(r, c.name) for c in cols]
        w.writerow(
            [
                "" if v is None else CODECS[c.kind].to_text(v)
                for c, v in zip(cols, vals, strict=True)
            ]
        )
    text = buf.getvalue()
    if dest is not None:
        dest.write_text(text, encoding="utf-8")
    return text


def read_bins_csv(src: Source) -> ImportResult[Bin]:
    """Read bins (columns: :data:`COLUMNS` ``[Bin]``)."""
    return read_csv(Bin, src)


def read_depots_csv(src: Source) -> ImportResult[Depot]:
    """Read depots."""
    return read_csv(Depot, src)


def read_vehicles_csv(src: Source) -> ImportResult[Vehicle]:
    """Read vehicles."""
    return read_csv(Vehicle, src)


def read_sites_csv(src: Source) -> ImportResult[DisposalSite]:
    """Read disposal sites."""
    return read_csv(DisposalSite, src)


ReadingsDerive = Callable[
    [Inventory, Sequence[FillReading | WeightReading]], list[FillReading | str]
]
"""Turns weights alone into fills (or the reasons they cannot be), given the bins."""


def read_readings_csv(
    src: Source, inventory: Inventory | None = None, derive: ReadingsDerive = fills_from_weights
) -> ImportResult[FillReading]:
    """Read fill readings (``bin_id, at, fill_fraction[, weight_kg]``).

    ``weight_kg`` is the net weight of the contents, from weighing sensors
    (:mod:`fleet.density`). A row with a weight and no fill (a sensor that only weighs;
    the file may then lack the ``fill_fraction`` column) becomes a fill at the bin's
    density in ``inventory`` (``derive``, by default :func:`fleet.weights.fills_from_weights`:
    densities measured from the file's other rows; a service passes one that reads its
    stored history too). Without ``inventory``, or for a bin not in it, such a row is an
    error.

    A bin has one reading per instant (in any UTC offset), the first row's: a later row
    equal to it (a resend) is dropped and counted in ``duplicates``; one with other values
    is an error naming the bin, the instant and the row used.
    """
    weight_alone = (WeightReading, "weight_kg for a sensor that only weighs")
    numbered, errors = _read_numbered(FillReading, src, weight_alone)
    numbered, clashes, repeats = _once_per_instant(numbered)
    fills, refused = _weights_as_fills(numbered, inventory, derive=derive)
    found = sorted((*errors, *clashes, *refused), key=lambda e: e.row)
    return ImportResult(fills, tuple(found), duplicates=repeats)


def _once_per_instant(
    numbered: Sequence[tuple[int, FillReading | WeightReading]], record: str = "row"
) -> tuple[list[tuple[int, FillReading | WeightReading]], list[RowError], int]:
    """Readings (number, reading) once per bin and instant, the first kept (as the service
    stores them): a later one equal to it (a resend) is dropped and counted; one with other
    values is a RowError naming the bin, the instant and the earlier ``record`` (``row``
    of a CSV, ``entity`` of a FIWARE file)."""
    first: dict[tuple[str, datetime], tuple[int, FillReading | WeightReading]] = {}
    kept: list[tuple[int, FillReading | WeightReading]] = []
    errors: list[RowError] = []
    repeats = 0
    for line, r in numbered:
        key = (r.bin_id, r.at)  # aware datetimes: the same instant in any offset
        if key not in first:
            first[key] = (line, r)
            kept.append((line, r))
        elif first[key][1] == r:
            repeats += 1
        else:
            row, earlier = first[key]
            errors.append(
                RowError(
                    line,
                    r.bin_id,
                    None,
                    f"bin {r.bin_id} has another reading at {r.at.isoformat()} ({record} "
                    f"{row}: {_reading_values(earlier)}; this {record}: {_reading_values(r)});"
                    f" keep the right one ({record} {row}'s is used)",
                )
            )
    return kept, errors, repeats


def _reading_values(r: FillReading | WeightReading) -> str:
    """A reading's values, for messages: ``fill 0.4``, ``fill 0.4, 52 kg``, ``52 kg``."""
    fill = f"fill {r.fill_fraction:g}" if isinstance(r, FillReading) else ""
    weight = f"{r.weight_kg:g} kg" if r.weight_kg is not None else ""
    return ", ".join(v for v in (fill, weight) if v)


def read_pickups_csv(src: Source, inventory: Inventory | None = None) -> ImportResult[PickupRecord]:
    """Read the trucks' pickups (the collection log: ``bin_id, at[, fill_fraction,
    weight_kg]``).

    ``fill_fraction`` is the fill the crew found; ``weight_kg`` the net weight the truck's
    lift scale took from the bin (:mod:`fleet.density`). A row with a weight and no fill
    (the file may then lack the ``fill_fraction`` column) gets its fill at the bin's
    density in ``inventory`` (:func:`fleet.weights.pickups_from_weights`; at most 1).
    Without ``inventory``, or for a bin not in it, such a row is an error. A row with
    neither is an emptying with no fill recorded (it still ends the bin's fill cycle).
    """
    weight_alone = (WeightReading, "weight_kg from the truck's lift scale")
    numbered, errors = _read_numbered(PickupRecord, src, weight_alone)
    found, refused = _weights_as_fills(numbered, inventory, derive=pickups_from_weights)
    return ImportResult(found, tuple(sorted((*errors, *refused), key=lambda e: e.row)))


def read_reports_csv(src: Source) -> ImportResult[CitizenReport]:
    """Read citizen reports."""
    return read_csv(CitizenReport, src)


def read_downtimes_csv(src: Source) -> ImportResult[Downtime]:
    """Read trucks' downtimes (``vehicle_id, start, end, reason``; no end: until further
    notice)."""
    return read_csv(Downtime, src)


def write_downtimes_csv(downtimes: Iterable[Downtime], dest: Path | None = None) -> str:
    """Write trucks' downtimes as CSV; return the text."""
    return write_csv(downtimes, Downtime, dest)


def write_bins_csv(bins: Iterable[Bin], dest: Path | None = None) -> str:
    """Write bins as CSV; return the text."""
    return write_csv(bins, Bin, dest)


def write_depots_csv(depots: Iterable[Depot], dest: Path | None = None) -> str:
    """Write depots as CSV; return the text."""
    return write_csv(depots, Depot, dest)


def write_vehicles_csv(vehicles: Iterable[Vehicle], dest: Path | None = None) -> str:
    """Write vehicles as CSV; return the text."""
    return write_csv(vehicles, Vehicle, dest)


def write_sites_csv(sites: Iterable[DisposalSite], dest: Path | None = None) -> str:
    """Write disposal sites as CSV; return the text."""
    return write_csv(sites, DisposalSite, dest)


def write_readings_csv(readings: Iterable[FillReading], dest: Path | None = None) -> str:
    """Write fill readings as CSV; return the text."""
    return write_csv(readings, FillReading, dest)


def write_reports_csv(reports: Iterable[CitizenReport], dest: Path | None = None) -> str:
    """Write citizen reports as CSV; return the text."""
    return write_csv(reports, CitizenReport, dest)


def _weights_as_fills(
    numbered: Sequence[tuple[int, Any]],
    inventory: Inventory | None,
    found: Iterable[Bin] = (),
    derive: Callable[[Inventory, Sequence[Any]], list[Any]] = fills_from_weights,
) -> tuple[tuple[Any, ...], list[RowError]]:
    """The records (row number, record) with each weight alone turned into a fill at its
    bin's density by ``derive`` (:func:`fleet.weights.fills_from_weights` for readings,
    :func:`fleet.weights.pickups_from_weights` for pickups; densities measured from the
    other records), and an error for each weight that cannot be: without ``inventory``
    and ``found`` (bins read with the records; the inventory's win), no weight can."""
    records = [r for _, r in numbered]
    mine = inventory.bins if inventory is not None else ()
    known = {b.bin_id: b for b in found} | {b.bin_id: b for b in mine}
    if known:
        bins = Inventory(bins=tuple(known.values()), depots=(), vehicles=(), sites=())
        made = derive(bins, records)
    else:
        no_bins = "no fill level; a weight alone is read with the bins' inventory"
        made = [no_bins if isinstance(r, WeightReading) else r for r in records]
    errors = [
        RowError(n, r.bin_id, "weight_kg", m)
        for (n, r), m in zip(numbered, made, strict=True)
        if isinstance(m, str)
    ]
    return tuple(m for m in made if not isinstance(m, str)), errors
