"""The columns of every record type (:data:`COLUMNS`, one place) and how each kind of value is
read from text and written (:data:`CODECS`): times, daily windows, streams, booleans,
numbers; a record built from its cells, or the row error saying what to fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, time
from typing import Any

from fleet.errors import FleetDataError
from fleet.io.rows import RowError, T
from fleet.models import (
    Bin,
    CitizenReport,
    Depot,
    DisposalSite,
    Downtime,
    FillReading,
    PickupRecord,
    TimeWindow,
    Vehicle,
    WeightReading,
)

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


def record_fields(cls: type) -> tuple[str, ...]:
    """Attribute names of a record class (helper for tests and docs)."""
    return tuple(f.name for f in fields(cls))
