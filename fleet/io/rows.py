"""What the readers of :mod:`fleet.io` return: the good records and a :class:`RowError` per bad
row (:class:`ImportResult`), and the text of a file or of text given as is (``Source``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, TypeVar

from fleet.errors import FleetDataError

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
