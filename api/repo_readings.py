"""Database queries of the sensors' readings: stored, loaded, and turned into fills at
the bins' densities (rows in, fleet records out; re-exported by :mod:`api.repo`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from api import mapping
from api.db import BinRow, ReadingRow, utcnow
from api.repo_progress import collection_log
from fleet import weights
from fleet.models import FillReading, Inventory, PickupRecord, WeightReading


def load_readings(
    session: Session, since: datetime, until: datetime, bin_ids: Iterable[str] | None = None
) -> list[FillReading]:
    """Readings with ``since <= at < until`` (of ``bin_ids`` only, when given), oldest first."""
    query = select(ReadingRow).where(ReadingRow.at >= since, ReadingRow.at < until)
    if bin_ids is not None:
        query = query.where(ReadingRow.bin_id.in_(set(bin_ids)))
    rows = session.scalars(query.order_by(ReadingRow.at, ReadingRow.bin_id))
    return [mapping.reading_record(r) for r in rows]


def fills_from_weights(
    session: Session,
    readings: Sequence[FillReading | WeightReading],
    history_days: int = 14,
    window: tuple[datetime, datetime] | None = None,
) -> list[FillReading | str]:
    """``readings`` with those of sensors that only weigh as fill readings at their bins'
    density, or the reason each is refused (:func:`fleet.weights.fills_from_weights`): the
    density set on the bin, else the one its readings stored in the ``history_days``
    before (or in ``window``, (start, end), when given; and those of ``readings``) and its
    pickups then (the fills the trucks found, the weights their lift scales took) show,
    else its stream's default. Only the weighed bins' readings, and the reports of the
    trucks that emptied them, are read."""
    weighed = [r for r in readings if isinstance(r, WeightReading)]
    if not weighed:
        return [r for r in readings if isinstance(r, FillReading)]  # all are
    if window is None:
        start = min(w.at for w in weighed) - timedelta(days=history_days)
        window = (start, max(w.at for w in weighed) + timedelta(seconds=1))
    since, until = window
    ids = {w.bin_id for w in weighed}
    bins, stored, found = density_evidence(session, ids, since, until)
    return weights.fills_from_weights(bins, readings, stored, found)


def lifted_weight_refused(session: Session, bin_id: str, weight_kg: float) -> str | None:
    """Why ``weight_kg`` cannot be what a truck's lift scale took from bin ``bin_id``
    (:func:`fleet.weights.weight_refused`: a scale in grams), or None; a bin not
    listed is not refused here (a visit of it is a report like any other)."""
    row = session.get(BinRow, bin_id)
    if row is None:
        return None
    return weights.weight_refused(mapping.bin_record(row), weight_kg)


def density_evidence(
    session: Session, ids: set[str], since: datetime, until: datetime
) -> tuple[Inventory, list[FillReading], list[PickupRecord]]:
    """The bins ``ids`` listed, and their readings and pickups stored with ``since <= at <
    until`` (to measure densities from)."""
    rows = session.scalars(select(BinRow).where(BinRow.bin_id.in_(ids)))
    bins = Inventory(bins=tuple(map(mapping.bin_record, rows)), depots=(), vehicles=(), sites=())
    stored = load_readings(session, since, until, ids)
    found = list(collection_log(session, since, until, ids).pickups)
    return bins, stored, found


def delete_readings_before(session: Session, before: datetime, limit: int) -> int:
    """Delete the oldest ``limit`` at most of the readings dated before ``before``; how many
    (fewer than ``limit``: none is left)."""
    oldest = select(ReadingRow.id).where(ReadingRow.at < before).order_by(ReadingRow.at)
    ids = list(session.scalars(oldest.limit(limit)))
    if ids:
        session.execute(delete(ReadingRow).where(ReadingRow.id.in_(ids)))
    return len(ids)


def reading_clash(session: Session, r: FillReading) -> str | None:
    """Why ``r`` is not used when the reading stored at its bin and instant has other
    values (the first stored stays: a bin has one reading per instant); None when there is
    none or it has the same values (``r`` was sent again)."""
    stored = session.scalars(
        select(ReadingRow).where(ReadingRow.bin_id == r.bin_id, ReadingRow.at == r.at)
    ).first()
    if stored is None:
        return None
    kept = mapping.reading_record(stored)
    if (kept.fill_fraction, kept.weight_kg) == (r.fill_fraction, r.weight_kg):
        return None

    def values(x: FillReading) -> str:
        return f"fill {x.fill_fraction:g}" + (
            f", {x.weight_kg:g} kg" if x.weight_kg is not None else ""
        )

    return (
        f"{r.bin_id}: the reading of {r.at.isoformat()} ({values(r)}) is not used: the one "
        f"stored at that instant ({values(kept)}) stays; a bin has one reading per instant"
    )


def insert_reading(session: Session, reading: FillReading) -> bool:
    """Insert one reading unless (bin_id, at) is stored already; True when inserted.

    One statement per dialect (``ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL), so two
    writers sending the same reading cannot both store it.
    """
    values = {f.name: getattr(reading, f.name) for f in dataclasses.fields(reading)}
    values["received_at"] = utcnow()
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect in ("postgresql", "sqlite"):
        # RETURNING tells inserted from skipped: with implicit RETURNING (PostgreSQL)
        # the result's rowcount is -1 either way.
        upsert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = upsert(ReadingRow).values(**values)
        stmt = stmt.on_conflict_do_nothing(index_elements=["bin_id", "at"])
        return session.execute(stmt.returning(ReadingRow.id)).first() is not None
    exists = session.scalar(
        select(ReadingRow.id).where(
            ReadingRow.bin_id == values["bin_id"], ReadingRow.at == values["at"]
        )
    )
    if exists is not None:
        return False
    session.execute(insert(ReadingRow).values(**values))
    return True
