"""Read and write fleet data: CSV, GeoJSON and FIWARE ``WasteContainer`` JSON.

This is the only module of :mod:`fleet` that parses files. Every reader keeps the good rows
and reports each bad row as a :class:`RowError`; call :meth:`ImportResult.raise_if_errors`
(or pass the result to :func:`strict`) to turn any error into one :class:`FleetDataError`.

Formats
-------
* CSV: a header line, then one record per line. ``RowError.row`` is the 1-based *line
  number* in the file, the header being line 1 (so the first data row is line 2).
* Times: ISO-8601 with an offset (``2026-11-24T07:30:00+01:00`` or ``...Z``); naive times
  are rejected with a message asking for an offset.
* Daily windows: ``HH:MM-HH:MM`` (local clock time). Streams: ``a;b`` (semicolon separated).
* Booleans: ``true/false``, ``yes/no``, ``1/0`` (any case).
* GeoJSON: a ``FeatureCollection`` of ``Point`` features, coordinates ``[lon, lat]``, with a
  property ``kind`` of ``bin``, ``depot`` or ``site`` and the CSV columns as properties
  (numbers and booleans may be JSON-native, streams may be a JSON list). ``RowError.row`` is
  the 1-based index of the feature.
* FIWARE: a JSON list (or one object) of Smart Data Models ``WasteContainer`` entities in
  NGSI-v2 *normalized* (``{"fillingLevel": {"type": "Number", "value": 0.4}}``) or
  *keyValues* (``{"fillingLevel": 0.4}``) form. ``RowError.row`` is the 1-based index of the
  entity. A container that only weighs gives ``cargoWeight`` alone.
* Readings: a row with ``weight_kg`` and no ``fill_fraction`` is a sensor that only weighs;
  its fill is derived at the bin's density (:func:`read_readings_csv`). A bin has one
  reading per instant: a row (or FIWARE entity) repeating an earlier one is dropped
  (``duplicates``), one with other values is an error.

The column specification of every record type is in :data:`COLUMNS` (one place).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, time
from pathlib import Path
from typing import Any, Generic, TypeVar

from fleet.density import fills_from_weights, pickups_from_weights
from fleet.errors import FleetDataError
from fleet.models import (
    DEFAULT_STREAM,
    Bin,
    CitizenReport,
    Depot,
    DisposalSite,
    Downtime,
    FillReading,
    Inventory,
    PickupRecord,
    TimeWindow,
    Vehicle,
    WeightReading,
)

T = TypeVar("T")

Source = str | Path
"""A file path (``Path``, or a one-line ``str``) or the text itself (``str`` with a newline,
or JSON text starting with ``{`` or ``[``)."""


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad input row.

    Attributes
    ----------
    row : int
        1-based line number for CSV (header = line 1), 1-based feature/entity index for JSON.
    record_id : str or None
        The id of the record if it could be read.
    field : str or None
        The offending column/property, or None when the whole record is wrong.
    message : str
        What is wrong and how to fix it.
    ignored : bool
        A column (or property) the reader does not know and leaves aside, the rest of the
        row read: a warning, never a reason to refuse a file.
    unit : {"row", "feature", "entity"}
        What ``row`` counts: CSV lines, GeoJSON features or FIWARE entities.
    """

    row: int
    record_id: str | None
    field: str | None
    message: str
    ignored: bool = False
    unit: str = "row"

    def __str__(self) -> str:
        rid = f" ({self.record_id})" if self.record_id else ""
        col = f" [{self.field}]" if self.field else ""
        return f"{self.label}{rid}{col}: {self.message}"

    @property
    def label(self) -> str:
        """The record as a reader names it: ``row 3``, ``feature 3``, ``entity 3``."""
        return f"{self.unit} {self.row}"

    @property
    def units(self) -> str:
        """The plural of ``unit``: rows, features, entities."""
        return PLURAL_UNITS.get(self.unit, f"{self.unit}s")


PLURAL_UNITS = {"row": "rows", "feature": "features", "entity": "entities"}


def _as_unit(errors: Sequence[RowError], unit: str) -> tuple[RowError, ...]:
    """``errors`` numbering ``unit`` records (features, entities) instead of rows."""
    return tuple(replace(e, unit=unit) for e in errors)


@dataclass(frozen=True, slots=True)
class ImportResult(Generic[T]):
    """Good records (in input order) and the errors of the bad rows; ``lines``: the line
    of each record in its CSV (header = line 1), when the reader numbers them;
    ``duplicates``: rows left out as repeats of an earlier row (a resend), when the reader
    drops them (:func:`read_readings_csv`)."""

    records: tuple[T, ...]
    errors: tuple[RowError, ...] = ()
    lines: tuple[int, ...] = ()
    duplicates: int = 0

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return not self.errors

    def raise_if_errors(self, what: str = "input") -> tuple[T, ...]:
        """Return the records, or raise one :class:`FleetDataError` listing every bad row."""
        if self.errors:
            raise FleetDataError(summarise_errors(what, self.errors))
        return self.records


def summarise_errors(what: str, errors: Sequence[RowError], limit: int = 20) -> str:
    """One message naming every bad row (at most ``limit``, then a count)."""
    noun = "rows" if not errors else errors[0].unit if len(errors) == 1 else errors[0].units
    lines = [f"{what}: {len(errors)} bad {noun}; fix them and reload:"]
    lines += [f"  {e}" for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"  ... and {len(errors) - limit} more")
    return "\n".join(lines)


def strict(result: ImportResult[T], what: str = "input") -> tuple[T, ...]:
    """Return ``result.records`` or raise :class:`FleetDataError` if any row was bad."""
    return result.raise_if_errors(what)


# ----------------------------------------------------------------------------- value codecs


def parse_datetime(text: str) -> datetime:
    """Parse ISO-8601 with a UTC offset; naive times raise ``ValueError``."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        at = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(
            f"time {text!r} is not ISO-8601; write it as YYYY-MM-DDTHH:MM with its UTC "
            "offset, e.g. 2026-11-24T08:00+02:00"
        ) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"time {text!r} has no UTC offset; add one, e.g. {s}+01:00 or {s}Z")
    return at


def parse_window(text: str, field: str = "") -> TimeWindow:
    """Parse a daily window ``HH:MM-HH:MM``; one past midnight is a FleetDataError with
    the fix of ``field`` (the column: shift, access_window, opening, ...)."""
    parts = text.strip().split("-")
    if len(parts) != 2:
        raise ValueError(f"window {text!r} is not HH:MM-HH:MM (e.g. 06:00-14:00)")
    try:
        start, end = (time.fromisoformat(p.strip()) for p in parts)
    except ValueError as exc:
        midnight = parts[1].strip() in ("24:00", "24:00:00")  # all day, as people write it
        fix = "; end a window at midnight as 23:59" if midnight else ""
        raise ValueError(f"window {text!r} is not HH:MM-HH:MM (e.g. 06:00-14:00){fix}") from exc
    return TimeWindow.of(start, end, field)


def format_window(w: TimeWindow) -> str:
    """``HH:MM-HH:MM`` (seconds kept when non-zero)."""

    def f(t: time) -> str:
        return t.strftime("%H:%M:%S" if t.second else "%H:%M")

    return f"{f(w.start)}-{f(w.end)}"


def parse_names(text: str) -> frozenset[str]:
    """Parse ``crane;comb`` into a set of names (blank entries ignored; none is an empty
    set)."""
    return frozenset(s.strip() for s in text.split(";") if s.strip())


def parse_streams(text: str) -> frozenset[str]:
    """Parse ``a;b`` into a set of stream names (blank entries ignored; at least one)."""
    streams = parse_names(text)
    if not streams:
        raise ValueError("no stream given; list streams as a;b")
    return streams


def parse_bool(text: str) -> bool:
    """Parse true/false, yes/no, 1/0 (any case)."""
    s = text.strip().lower()
    if s in {"true", "yes", "1", "y", "t"}:
        return True
    if s in {"false", "no", "0", "n", "f"}:
        return False
    raise ValueError(f"{text!r} is not a boolean; write true or false")


def _number(text: str, *, whole: bool = False) -> float:
    """``float(text)``, or a ValueError saying how to write the number: spreadsheets set
    to a European locale write a decimal comma (``24,94``) or a thousands separator in a
    ``whole`` number (``1,100``), and a fill as ``50%``."""
    try:
        return float(text)
    except ValueError:
        pass
    s = text.strip()
    fix = "write a plain number, e.g. 12.5"
    if s.endswith("%"):
        fix = "write it without the % sign (a fill as a fraction: 0.5 for 50%)"
    elif "," in s and whole:
        fix = "write the digits alone, without a thousands separator"
    elif "," in s:
        fix = f"write the decimal separator as a point ({s.replace(',', '.')}), not a comma"
    raise ValueError(f"{text!r} is not a number; {fix}") from None


def parse_int(text: str) -> int:
    """Parse an integer (``"12.0"`` accepted, ``"12.5"`` rejected)."""
    v = _number(text, whole=True)
    if not math.isfinite(v) or v != int(v):
        raise ValueError(f"{text!r} is not a whole number")
    return int(v)


def parse_float(text: str) -> float:
    """Parse a finite float."""
    v = _number(text)
    if not math.isfinite(v):
        raise ValueError(f"{text!r} is not a finite number")
    return v


@dataclass(frozen=True, slots=True)
class Codec:
    """How one kind of value is read from text and written to CSV / JSON."""

    parse: Callable[[str], Any]
    to_text: Callable[[Any], str]
    to_json: Callable[[Any], Any]


CODECS: dict[str, Codec] = {
    "str": Codec(lambda s: s, str, lambda v: v),
    "float": Codec(parse_float, repr, lambda v: v),
    "int": Codec(parse_int, str, lambda v: v),
    "bool": Codec(parse_bool, lambda v: "true" if v else "false", lambda v: v),
    "window": Codec(parse_window, format_window, format_window),
    "streams": Codec(parse_streams, lambda v: ";".join(sorted(v)), lambda v: sorted(v)),
    "names": Codec(parse_names, lambda v: ";".join(sorted(v)), lambda v: sorted(v)),
    "datetime": Codec(parse_datetime, lambda v: v.isoformat(), lambda v: v.isoformat()),
}


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column / GeoJSON property: its name (= the record attribute) and kind."""

    name: str
    kind: str
    required: bool = False


def _cols(spec: str) -> tuple[Column, ...]:
    """Build columns from ``"name:kind[!]"`` words; ``!`` marks a required column."""
    out = []
    for word in spec.split():
        name, kind = word.split(":")
        out.append(Column(name, kind.rstrip("!"), kind.endswith("!")))
    return tuple(out)


# The column spec of every record type (the single place to change a file format).
COLUMNS: dict[type, tuple[Column, ...]] = {
    Bin: _cols(
        "bin_id:str! lon:float! lat:float! capacity_l:int! stream:str service_s:int "
        "access_window:window has_sensor:bool density_kg_per_l:float street:str kerb_side:bool "
        "needs:names"
    ),
    Depot: _cols("depot_id:str! lon:float! lat:float! name:str"),
    DisposalSite: _cols(
        "site_id:str! lon:float! lat:float! streams:streams opening:window unload_s:int name:str"
    ),
    Vehicle: _cols(
        "vehicle_id:str! depot_id:str! capacity_l:int! capacity_kg:int! streams:streams "
        "shift:window break_s:int break_window:window cost_per_km:float cost_per_hour:float "
        "fixed_cost:float max_stops:int max_daily_kg:int equipment:names"
    ),
    FillReading: _cols(
        "bin_id:str! at:datetime! fill_fraction:float! weight_kg:float fill_from_weight:bool"
    ),
    WeightReading: _cols("bin_id:str! at:datetime! weight_kg:float!"),
    PickupRecord: _cols(  # no fill and no weight: emptied, no fill recorded
        "bin_id:str! at:datetime! fill_fraction:float weight_kg:float fill_from_weight:bool"
    ),
    CitizenReport: _cols(
        "report_id:str! at:datetime! text:str bin_id:str lon:float lat:float overflowing:bool"
    ),
    Downtime: _cols("vehicle_id:str! start:datetime! end:datetime reason:str"),
}


def _id_field(cls: type) -> str:
    return COLUMNS[cls][0].name


# ----------------------------------------------------------------------------- generic rows


def _build(
    cls: type[T],
    row: Mapping[str, Any],
    rownum: int,
    text_of: Callable[[Any], str],
    instead: str = "",
) -> T | list[RowError]:
    """Build one record from a row of raw values; return it or the row's errors (a
    required cell left empty: fill it, or give ``instead``, when given)."""
    cols = COLUMNS[cls]
    rid_raw = row.get(cols[0].name)
    rid = text_of(rid_raw).strip() or None if rid_raw is not None else None
    kwargs: dict[str, Any] = {}
    errs: list[RowError] = []
    for col in cols:
        raw = row.get(col.name)
        text = "" if raw is None else text_of(raw).strip()
        if not text:
            if col.required:
                fix = f"fill it, or give {instead}" if instead else "fill it"
                errs.append(RowError(rownum, rid, col.name, f"{col.name} is required; {fix}"))
            continue
        try:
            if col.kind == "window":  # past midnight: the fix of its field
                kwargs[col.name] = parse_window(text, col.name)
            else:
                kwargs[col.name] = CODECS[col.kind].parse(text)
        except (ValueError, FleetDataError) as exc:
            errs.append(RowError(rownum, rid, col.name, str(exc)))
    if errs:
        return errs
    try:
        return cls(**kwargs)
    except FleetDataError as exc:
        return [RowError(rownum, rid, None, str(exc))]


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
        built = _build(kind, row, rownum, text_of, instead)
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


def _read_text(src: Source) -> str:
    """File contents for a ``Path`` or a one-line ``str`` (not JSON); else ``src`` itself."""
    if isinstance(src, str) and ("\n" in src or src.lstrip().startswith(("{", "["))):
        return src
    path = Path(src)
    if not path.is_file():
        raise FleetDataError(f"file {str(path)!r} not found; check the path")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise FleetDataError(
            f"file {str(path)!r} is not UTF-8 text (byte {err.object[err.start]:#04x} at "
            f"offset {err.start}); save it as UTF-8 CSV or JSON"
        ) from None


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
            extra = row.pop(None, None)  # type: ignore[call-overload]
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
    density in ``inventory`` (``derive``, by default :func:`fleet.density.fills_from_weights`:
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
    density in ``inventory`` (:func:`fleet.density.pickups_from_weights`; at most 1).
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


# ----------------------------------------------------------------------------- GeoJSON

_KINDS: dict[str, type] = {"bin": Bin, "depot": Depot, "site": DisposalSite}


def _json_text(v: Any) -> str:
    """Raw JSON property value -> the CSV text form parsed by the codecs."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ";".join(str(x) for x in v)
    return str(v)


@dataclass(frozen=True, slots=True)
class InventoryImport:
    """Places read from GeoJSON: bins, depots, disposal sites and the bad features."""

    bins: tuple[Bin, ...]
    depots: tuple[Depot, ...]
    sites: tuple[DisposalSite, ...]
    errors: tuple[RowError, ...] = ()

    def raise_if_errors(self, what: str = "GeoJSON inventory") -> InventoryImport:
        """Return self, or raise one :class:`FleetDataError` listing every bad feature."""
        if self.errors:
            raise FleetDataError(summarise_errors(what, self.errors))
        return self


def _load_json(src: Source | Any) -> Any:
    if isinstance(src, (str, Path)):
        try:
            return json.loads(_read_text(src))
        except json.JSONDecodeError as exc:
            raise FleetDataError(f"not valid JSON: {exc}; check the file") from exc
    return src


def _feature_row(feat: Any, idx: int) -> tuple[type, dict[str, Any]] | RowError:
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        return RowError(idx, None, None, "not a GeoJSON Feature object")
    props = dict(feat.get("properties") or {})
    kind = str(props.pop("kind", "")).strip().lower()
    cls = _KINDS.get(kind)
    rid = props.get("bin_id") or props.get("depot_id") or props.get("site_id")
    if cls is None:
        return RowError(idx, rid, "kind", f"kind {kind!r} unknown; use bin, depot or site")
    geom = feat.get("geometry") or {}
    coords = geom.get("coordinates")
    if geom.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
        return RowError(idx, rid, "geometry", "geometry must be a Point [lon, lat]")
    props["lon"], props["lat"] = coords[0], coords[1]
    return cls, props


def read_inventory_geojson(src: Source | Mapping[str, Any]) -> InventoryImport:
    """Read bins, depots and sites from a GeoJSON FeatureCollection (file, text or dict).

    ``RowError.row`` is the 1-based index of the feature in ``features``.
    """
    doc = _load_json(src)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise FleetDataError("GeoJSON inventory must be a FeatureCollection")
    out: dict[type, list[Any]] = {Bin: [], Depot: [], DisposalSite: []}
    seen: dict[tuple[type, str], int] = {}
    errors: list[RowError] = []
    for idx, feat in enumerate(doc.get("features") or [], start=1):
        row = _feature_row(feat, idx)
        if isinstance(row, RowError):
            errors.append(row)
            continue
        cls, props = row
        known = {c.name for c in COLUMNS[cls]}
        errors += [
            RowError(
                idx, None, k, f"unknown property {k!r} for {cls.__name__} (ignored)", ignored=True
            )
            for k in props
            if k not in known
        ]
        built = _build(cls, props, idx, _json_text)
        if isinstance(built, list):
            errors += built
            continue
        rid = getattr(built, _id_field(cls))
        if (cls, rid) in seen:
            errors.append(RowError(idx, rid, None, f"id repeats feature {seen[(cls, rid)]}"))
            continue
        seen[(cls, rid)] = idx
        out[cls].append(built)
    return InventoryImport(
        tuple(out[Bin]), tuple(out[Depot]), tuple(out[DisposalSite]), _as_unit(errors, "feature")
    )


def _feature(kind: str, rec: Any) -> dict[str, Any]:
    cls = type(rec)
    props: dict[str, Any] = {"kind": kind}
    for c in COLUMNS[cls]:
        if c.name in ("lon", "lat"):
            continue
        v = getattr(rec, c.name)
        if v is not None:
            props[c.name] = CODECS[c.kind].to_json(v)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [rec.lon, rec.lat]},
        "properties": props,
    }


def inventory_geojson(
    bins: Iterable[Bin] = (), depots: Iterable[Depot] = (), sites: Iterable[DisposalSite] = ()
) -> dict[str, Any]:
    """The GeoJSON FeatureCollection (a dict) of the given places."""
    feats = [_feature("bin", b) for b in bins]
    feats += [_feature("depot", d) for d in depots]
    feats += [_feature("site", s) for s in sites]
    return {"type": "FeatureCollection", "features": feats}


def write_inventory_geojson(
    bins: Iterable[Bin] = (),
    depots: Iterable[Depot] = (),
    sites: Iterable[DisposalSite] = (),
    dest: Path | None = None,
) -> str:
    """Write places as a GeoJSON FeatureCollection; return the JSON text."""
    text = json.dumps(inventory_geojson(bins, depots, sites), indent=1)
    if dest is not None:
        dest.write_text(text, encoding="utf-8")
    return text


# ----------------------------------------------------------------------------- FIWARE

FIWARE_ID_PREFIX = "urn:ngsi-ld:WasteContainer:"
# Smart Data Models ``storedWasteKind`` values -> our stream names.
FIWARE_KIND_TO_STREAM: dict[str, str] = {
    "organic": "organic",
    "inorganic": "residual",
    "glass": "glass",
    "plastic": "plastic",
    "paper": "paper",
    "other": "residual",
}
_STREAM_TO_FIWARE_KIND = {"residual": "inorganic"}


@dataclass(frozen=True, slots=True)
class FiwareImport:
    """Readings (and bins, when a capacity is known) read from WasteContainer entities;
    ``duplicates``: entities left out as repeats of an earlier entity's reading (a resend)."""

    readings: tuple[FillReading, ...]
    bins: tuple[Bin, ...]
    errors: tuple[RowError, ...] = ()
    duplicates: int = 0

    def raise_if_errors(self, what: str = "FIWARE WasteContainer") -> FiwareImport:
        """Return self, or raise one :class:`FleetDataError` listing every bad entity."""
        if self.errors:
            raise FleetDataError(summarise_errors(what, self.errors))
        return self


def _unwrap(v: Any) -> Any:
    """NGSI-v2 normalized ``{"type": ..., "value": v}`` -> ``v``; keyValues unchanged."""
    if isinstance(v, dict) and "value" in v:
        return v["value"]
    return v


def _bin_id_of(entity_id: str) -> str:
    return entity_id.removeprefix(FIWARE_ID_PREFIX)


def _fiware_time(ent: Mapping[str, Any]) -> tuple[str, Any]:
    for key in ("dateObserved", "dateUpdated", "dateModified"):
        if ent.get(key) is not None:
            return key, _unwrap(ent[key])
    return "dateObserved", None


def _fiware_bin(ent: Mapping[str, Any], bin_id: str, capacity_l: int | None) -> Bin | None:
    loc = _unwrap(ent.get("location"))
    if capacity_l is None or not isinstance(loc, dict):
        return None
    lon, lat = loc["coordinates"][:2]
    kinds = _unwrap(ent.get("storedWasteKind"))
    kind = kinds[0] if isinstance(kinds, list) and kinds else kinds
    stream = FIWARE_KIND_TO_STREAM.get(str(kind), str(kind)) if kind else DEFAULT_STREAM
    return Bin(bin_id=bin_id, lon=float(lon), lat=float(lat), capacity_l=capacity_l, stream=stream)


def _fiware_entity(
    ent: Any, idx: int, capacity_l: Mapping[str, int], default_capacity_l: int | None
) -> tuple[FillReading | WeightReading, Bin | None] | RowError:
    if not isinstance(ent, dict) or not ent.get("id"):
        return RowError(idx, None, "id", "entity has no id")
    bin_id = _bin_id_of(str(ent["id"]))
    if ent.get("type", "WasteContainer") != "WasteContainer":
        return RowError(idx, bin_id, "type", f"type {ent.get('type')!r} is not WasteContainer")
    key, when = _fiware_time(ent)
    level = _unwrap(ent.get("fillingLevel"))
    weight = _unwrap(ent.get("cargoWeight"))
    try:
        if when is None:
            raise ValueError("no dateObserved/dateUpdated/dateModified; add the observation time")
        at = parse_datetime(str(when))
        if level is None and weight is None:
            raise ValueError(
                "fillingLevel missing; give a fraction 0..1 (or cargoWeight in kg for a "
                "container that only weighs)"
            )
        reading = (
            WeightReading(bin_id=bin_id, at=at, weight_kg=float(weight))
            if level is None
            else FillReading(
                bin_id=bin_id,
                at=at,
                fill_fraction=float(level),
                weight_kg=None if weight is None else float(weight),
            )
        )
        model = _unwrap(ent.get("refWasteContainerModel"))
        cap = capacity_l.get(str(model), default_capacity_l) if model else default_capacity_l
        return reading, _fiware_bin(ent, bin_id, cap)
    except (ValueError, TypeError, KeyError, FleetDataError) as exc:
        return RowError(idx, bin_id, key if "date" in str(exc) else None, str(exc))


def read_fiware_waste_containers(
    src: Source | Sequence[Any] | Mapping[str, Any],
    *,
    capacity_l_by_model: Mapping[str, int] | None = None,
    default_capacity_l: int | None = None,
    emptying_as_reading: bool = False,
    inventory: Inventory | None = None,
) -> FiwareImport:
    """Read Smart Data Models ``WasteContainer`` entities (NGSI-v2 normalized or keyValues).

    Parameters
    ----------
    src : path, JSON text, list of entity dicts or one entity dict
        The entities; ``id`` may carry the ``urn:ngsi-ld:WasteContainer:`` prefix (stripped
        to give the bin id).
    capacity_l_by_model : mapping, optional
        Litres per ``refWasteContainerModel`` id (the capacity lives in the model entity).
    default_capacity_l : int, optional
        Capacity for containers whose model is not in the mapping; a :class:`Bin` is produced
        for each entity with a known capacity and a ``location`` (first one per bin id).
    emptying_as_reading : bool
        Also emit a 0.0 reading at ``dateLastEmptying`` (before the observation) so the fill
        estimator sees the emptying even when readings are sparse.
    inventory : Inventory, optional
        The bins, for containers that only weigh (``cargoWeight`` without ``fillingLevel``):
        their fill is derived at the bin's density (:func:`fleet.density.fills_from_weights`;
        a bin not in it but read from the entities takes its stream's default). Without the
        bin, such an entity is an error.

    Returns
    -------
    FiwareImport
        ``fillingLevel`` (fraction 0..1) -> ``fill_fraction``; ``cargoWeight`` (kg) ->
        ``weight_kg``; observation time from ``dateObserved``, else ``dateUpdated``, else
        ``dateModified``.

    Notes
    -----
    A bin has one reading per instant (in any UTC offset), the first entity's, as in
    :func:`read_readings_csv`: a later entity with the same reading (a resend) is dropped
    and counted in ``duplicates``; one with other values is an error naming the bin, the
    instant and the entity used. An emptying reading goes only where no observation is.
    """
    doc = _load_json(src)
    ents = [doc] if isinstance(doc, dict) else list(doc)
    observed: list[tuple[int, FillReading | WeightReading]] = []
    emptied: dict[int, FillReading] = {}
    bins: dict[str, Bin] = {}
    errors: list[RowError] = []
    for idx, ent in enumerate(ents, start=1):
        got = _fiware_entity(ent, idx, capacity_l_by_model or {}, default_capacity_l)
        if isinstance(got, RowError):
            errors.append(got)
            continue
        reading, b = got
        if b is not None:
            bins.setdefault(b.bin_id, b)
        observed.append((idx, reading))
        extra = _emptying_reading(ent, reading) if emptying_as_reading else None
        if extra is not None:
            emptied[idx] = extra
    kept, clashes, repeats = _once_per_instant(observed, "entity")
    readings = _with_emptyings(kept, emptied)
    fills, refused = _weights_as_fills(readings, inventory, bins.values())
    errors = sorted((*errors, *clashes, *refused), key=lambda e: e.row)
    return FiwareImport(fills, tuple(bins.values()), _as_unit(errors, "entity"), duplicates=repeats)


def _with_emptyings(
    kept: Sequence[tuple[int, FillReading | WeightReading]], emptied: Mapping[int, FillReading]
) -> list[tuple[int, FillReading | WeightReading]]:
    """The entities' readings (number, reading), each after its entity's emptying reading
    (``emptied``, by entity number) when no observation or earlier emptying of its bin is
    at that instant."""
    taken = {(r.bin_id, r.at) for _, r in kept}
    out: list[tuple[int, FillReading | WeightReading]] = []
    for idx, r in kept:
        extra = emptied.get(idx)
        if extra is not None and (extra.bin_id, extra.at) not in taken:
            taken.add((extra.bin_id, extra.at))
            out.append((idx, extra))
        out.append((idx, r))
    return out


def _weights_as_fills(
    numbered: Sequence[tuple[int, Any]],
    inventory: Inventory | None,
    found: Iterable[Bin] = (),
    derive: Callable[[Inventory, Sequence[Any]], list[Any]] = fills_from_weights,
) -> tuple[tuple[Any, ...], list[RowError]]:
    """The records (row number, record) with each weight alone turned into a fill at its
    bin's density by ``derive`` (:func:`fleet.density.fills_from_weights` for readings,
    :func:`fleet.density.pickups_from_weights` for pickups; densities measured from the
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


def _emptying_reading(
    ent: Mapping[str, Any], reading: FillReading | WeightReading
) -> FillReading | None:
    raw = _unwrap(ent.get("dateLastEmptying"))
    if raw is None:
        return None
    try:
        at = parse_datetime(str(raw))
    except ValueError:
        return None
    if at >= reading.at:
        return None
    return FillReading(bin_id=reading.bin_id, at=at, fill_fraction=0.0)


def fiware_waste_containers(
    readings: Iterable[FillReading],
    bins: Iterable[Bin] = (),
    *,
    key_values: bool = True,
) -> list[dict[str, Any]]:
    """One ``WasteContainer`` entity snapshot per reading (a history, as QuantumLeap gives).

    ``location`` and ``storedWasteKind`` are added for readings whose bin is in ``bins``.
    ``key_values=False`` gives the NGSI-v2 normalized form. A fill derived from a weight
    (``fill_from_weight``) is left out: the entity says what the sensor did, its weight.
    """
    by_id = {b.bin_id: b for b in bins}
    out = []
    for r in readings:
        attrs: dict[str, tuple[str, Any]] = {}
        if not r.fill_from_weight:
            attrs["fillingLevel"] = ("Number", r.fill_fraction)
        attrs["dateObserved"] = ("DateTime", r.at.isoformat())
        if r.weight_kg is not None:
            attrs["cargoWeight"] = ("Number", r.weight_kg)
        b = by_id.get(r.bin_id)
        if b is not None:
            attrs["location"] = ("geo:json", {"type": "Point", "coordinates": [b.lon, b.lat]})
            kind = _STREAM_TO_FIWARE_KIND.get(b.stream, b.stream)
            attrs["storedWasteKind"] = ("StructuredValue", [kind])
        ent: dict[str, Any] = {"id": FIWARE_ID_PREFIX + r.bin_id, "type": "WasteContainer"}
        for k, (typ, v) in attrs.items():
            ent[k] = v if key_values else {"type": typ, "value": v}
        out.append(ent)
    return out


def write_fiware_waste_containers(
    readings: Iterable[FillReading],
    bins: Iterable[Bin] = (),
    *,
    key_values: bool = True,
    dest: Path | None = None,
) -> str:
    """Write readings as a JSON list of ``WasteContainer`` entities; return the text."""
    text = json.dumps(fiware_waste_containers(readings, bins, key_values=key_values), indent=1)
    if dest is not None:
        dest.write_text(text, encoding="utf-8")
    return text


def record_fields(cls: type) -> tuple[str, ...]:
    """Attribute names of a record class (helper for tests and docs)."""
    return tuple(f.name for f in fields(cls))


# ----------------------------------------------------------------------------- directories

INVENTORY_FILES = {
    "bins": "bins.csv",
    "depots": "depots.csv",
    "vehicles": "vehicles.csv",
    "sites": "sites.csv",
}
INVENTORY_GEOJSON = "inventory.geojson"  # may replace the bins, depots and sites files
DOWNTIMES_FILE = "downtimes.csv"  # optional: trucks out of service


def places_file(directory: Path, kind: str) -> str:
    """The file of ``directory`` that :func:`load_inventory` reads ``kind`` from.

    Parameters
    ----------
    directory : Path
        An inventory directory.
    kind : {"bins", "depots", "sites"}
        The places asked about.

    Returns
    -------
    str
        ``inventory.geojson`` when the directory has one, else the kind's CSV file name.
    """
    if (Path(directory) / INVENTORY_GEOJSON).is_file():
        return INVENTORY_GEOJSON
    return INVENTORY_FILES[kind]


def _homed(
    vehicles: ImportResult[Vehicle], depots: Sequence[Depot], depots_file: str
) -> tuple[ImportResult[Vehicle], list[RowError]]:
    """``vehicles`` without those whose home depot is not among ``depots`` (read from
    ``depots_file``), and a row error naming each one's line and the fix (the
    :class:`~fleet.models.Inventory` check named the vehicle alone, not its file and row)."""
    known = {p.depot_id for p in depots}
    lines = vehicles.lines or (0,) * len(vehicles.records)
    kept: list[tuple[int, Vehicle]] = []
    errors: list[RowError] = []
    for line, v in zip(lines, vehicles.records, strict=True):
        if v.depot_id in known:
            kept.append((line, v))
            continue
        errors.append(
            RowError(
                line,
                v.vehicle_id,
                "depot_id",
                f"home depot {v.depot_id!r} is not in {depots_file}; add the depot there or "
                "fix depot_id",
            )
        )
    if not errors:
        return vehicles, []
    result = replace(
        vehicles,
        records=tuple(v for _, v in kept),
        lines=tuple(line for line, _ in kept) if vehicles.lines else (),
    )
    return result, errors


def load_inventory(
    directory: Path, *, strict: bool = True
) -> tuple[Inventory, tuple[RowError, ...]]:
    """Read ``bins.csv``, ``depots.csv``, ``vehicles.csv`` and ``sites.csv`` from a directory.

    ``inventory.geojson`` (bins, depots, sites) may replace the three place files; the
    vehicles always come from ``vehicles.csv``; the trucks' downtimes (out of service) from
    ``downtimes.csv`` when there is one (a downtime of a truck not in the inventory raises
    a :class:`FleetDataError` naming it, in either mode). With ``strict`` any bad row raises one
    :class:`FleetDataError` naming every bad row (file, line); otherwise the good rows form
    the inventory and the errors are returned (their messages prefixed with the file name).
    Columns the readers do not know are left aside, in either mode: returned as errors
    marked ``ignored`` (a city's file with an ``address`` column is read, not refused).
    """
    d = Path(directory)
    errors: list[RowError] = []

    def tagged(name: str, errs: Iterable[RowError]) -> None:
        errors.extend(replace(e, message=f"{name}: {e.message}") for e in errs)

    geo = d / INVENTORY_GEOJSON
    both = [f for k in ("bins", "depots", "sites") if (d / (f := INVENTORY_FILES[k])).is_file()]
    if geo.is_file() and both:
        raise FleetDataError(
            f"inventory in {d}: both {geo.name} and {', '.join(both)} list bins, depots or "
            f"sites; keep one of them (a plan would read {geo.name} alone)"
        )
    if geo.is_file():
        places = read_inventory_geojson(geo)
        tagged(geo.name, places.errors)
        bins, depots, sites = places.bins, places.depots, places.sites
    else:
        b = read_bins_csv(d / INVENTORY_FILES["bins"])
        dp = read_depots_csv(d / INVENTORY_FILES["depots"])
        st = read_sites_csv(d / INVENTORY_FILES["sites"])
        for name, res in (("bins", b), ("depots", dp), ("sites", st)):
            tagged(INVENTORY_FILES[name], res.errors)
        bins, depots, sites = b.records, dp.records, st.records
    vehicles = read_vehicles_csv(d / INVENTORY_FILES["vehicles"])
    tagged(INVENTORY_FILES["vehicles"], vehicles.errors)
    vehicles, homeless = _homed(vehicles, depots, places_file(d, "depots"))
    tagged(INVENTORY_FILES["vehicles"], homeless)
    down = d / DOWNTIMES_FILE
    downtimes = read_downtimes_csv(down) if down.is_file() else ImportResult(())
    tagged(DOWNTIMES_FILE, downtimes.errors)
    wrong = [e for e in errors if not e.ignored]  # columns left aside are warnings
    if strict and wrong:
        raise FleetDataError(summarise_errors(f"inventory in {d}", wrong))
    inv = Inventory(
        bins=bins,
        depots=depots,
        vehicles=vehicles.records,
        sites=sites,
        downtimes=downtimes.records,
    )
    return inv, tuple(errors)


def save_inventory(inventory: Inventory, directory: Path) -> None:
    """Write an inventory as the four CSV files read by :func:`load_inventory`, and
    ``downtimes.csv`` when it has downtimes."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    write_bins_csv(inventory.bins, d / INVENTORY_FILES["bins"])
    write_depots_csv(inventory.depots, d / INVENTORY_FILES["depots"])
    write_vehicles_csv(inventory.vehicles, d / INVENTORY_FILES["vehicles"])
    write_sites_csv(inventory.sites, d / INVENTORY_FILES["sites"])
    if inventory.downtimes:
        write_downtimes_csv(inventory.downtimes, d / DOWNTIMES_FILE)
