"""Nightly ingest of reading files: ``*.csv`` dropped in ``settings.ingest_dir``.

Each file (``fleet.io`` reading columns: ``bin_id, at, fill_fraction[, weight_kg]``; a row with
a weight and no fill is a sensor that only weighs: its fill is derived at the bin's density
set in the inventory, else measured from the file's rows, else from the readings and the
trucks' pickups stored in the night's history window, as ``POST /readings`` does) is stored
idempotently like ``POST /readings`` and then moved to ``done/``; its rejected rows (or the
reason the whole file was, e.g. not UTF-8 text, or a line holding a NUL byte) are written
next to it as ``<name>.errors.txt``. Readings pushed through the API need no ingest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from api import repo
from api.db import BinRow, Database
from fleet import io
from fleet.errors import FleetDataError
from fleet.models import FillReading, Inventory, WeightReading

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ingest pass did."""

    files: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0

    def __str__(self) -> str:
        return (
            f"ingested {self.files} file(s): {self.stored} new reading(s), "
            f"{self.duplicates} duplicate(s), {self.rejected} rejected row(s)"
        )


def _parsed(
    db: Database, path: Path, history: tuple[datetime, datetime] | None
) -> io.ImportResult[FillReading]:
    """``path``'s readings, weights alone at their bins' densities: set, else measured from
    the file's rows and, with ``history`` (start, end), the readings and pickups of those
    bins stored then (:func:`api.repo.fills_from_weights`, as ``POST /readings``)."""
    with db.reader() as s:
        inventory = repo.load_inventory(s)
        if history is None:
            return io.read_readings_csv(path, inventory)

        def stored_too(
            _: Inventory, records: Sequence[FillReading | WeightReading]
        ) -> list[FillReading | str]:
            return repo.fills_from_weights(s, records, window=history)

        return io.read_readings_csv(path, inventory, derive=stored_too)


NOT_A_FILE = "not read: a symbolic link, or not a regular file; drop the file itself"


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a new file: never through a link left in its place
    (the drop folder is written by another system)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _nul_line(path: Path) -> str | None:
    """Why ``path`` is not read when a line of it holds a NUL byte (a damaged file, or one
    saved in UTF-16): PostgreSQL text cannot hold one, nor could the ids be looked up."""
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if b"\x00" in line:
                return (
                    f"{path.name}: line {number} holds a NUL character (\\x00): the file is "
                    "damaged or not UTF-8 text (UTF-16?); save it as UTF-8 and drop it in again"
                )
    return None


def _ingest_file(
    db: Database,
    path: Path,
    history: tuple[datetime, datetime] | None,
    ahead: Callable[[datetime], str | None] | None = None,
) -> tuple[IngestReport, list[str]]:
    try:  # a file not in UTF-8 is a FleetDataError
        if (damaged := _nul_line(path)) is not None:
            return IngestReport(files=1, rejected=1), [damaged]
        parsed = _parsed(db, path, history)
    except (FleetDataError, OSError) as exc:
        return IngestReport(files=1, rejected=1), [str(exc)]
    errors = [str(e) for e in parsed.errors]
    stored, duplicates = 0, parsed.duplicates  # rows repeating one of the file's: read once
    with db.writer() as s:
        ids = {r.bin_id for r in parsed.records}
        known = set(s.scalars(select(BinRow.bin_id).where(BinRow.bin_id.in_(ids))))
        for r in parsed.records:
            if r.bin_id not in known:
                errors.append(f"reading of unknown bin {r.bin_id!r} at {r.at.isoformat()}")
            elif ahead is not None and (why := ahead(r.at)) is not None:
                errors.append(f"reading of bin {r.bin_id!r} {why}")
            elif repo.insert_reading(s, r):
                stored += 1
            elif (clash := repo.reading_clash(s, r)) is not None:
                errors.append(clash)  # another value at a stored instant: not used
            else:
                duplicates += 1
    return IngestReport(1, stored, duplicates, len(errors)), errors


def ingest_dir(
    db: Database,
    folder: Path,
    history: tuple[datetime, datetime] | None = None,
    ahead: Callable[[datetime], str | None] | None = None,
) -> IngestReport:
    """Store the readings of every ``*.csv`` in ``folder`` and move the files to ``done/``;
    weights alone are read at the densities the readings and pickups stored in ``history``
    (start, end; the night's plan's window) show, when given. A reading ``ahead`` says why
    it cannot be dated so (``JobRunner.reading_refused``, as ``POST /readings``) is
    rejected: after the service's clock, it would stay the bin's newest reading for years;
    before the readings kept, the nightly run would delete it.

    The folder is written by another system (a sensor gateway): a symbolic link in it is
    not read (it could name any file the service may read, whose lines would go to the
    errors file), and no errors file is written through one. A ``done`` that is a link
    raises ``OSError`` (the night plans on the readings stored)."""
    if not folder.is_dir():
        log.warning("ingest folder %s does not exist; nothing ingested", folder)
        return IngestReport()
    done = folder / "done"
    if done.is_symlink():
        raise OSError(
            f"{done} is a symbolic link: files would go where it points; make it a folder"
        )
    done.mkdir(exist_ok=True)
    total = IngestReport()
    for path in sorted(folder.glob("*.csv")):
        if path.is_symlink() or not path.is_file():
            report, errors = IngestReport(files=1, rejected=1), [f"{path.name}: {NOT_A_FILE}"]
        else:
            report, errors = _ingest_file(db, path, history, ahead)
        if errors:
            _write_new(done / f"{path.name}.errors.txt", "\n".join(errors) + "\n")
        os.replace(path, done / path.name)  # the entry itself: a link is moved, not followed
        total = IngestReport(
            total.files + report.files,
            total.stored + report.stored,
            total.duplicates + report.duplicates,
            total.rejected + report.rejected,
        )
    log.info("%s", total)
    return total
