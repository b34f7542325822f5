"""Fill-level readings: bulk ingest, idempotent on (bin_id, at), acknowledged after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Query
from pydantic import ValidationError
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api import mapping, repo
from api.db import BinRow, Database, ReadingRow
from api.deps import DbDep, JobsDep, PlannerDep, RoutingDep, SettingsDep
from api.errors import RecordError
from api.jobs import JobRunner
from api.schemas import (
    ERROR_RESPONSES,
    Instant,
    NoNul,
    ReadingIn,
    ReadingOut,
    ReadingsResult,
    RowError,
    bulk_body,
)
from api.security import CanRead, CanWriteReadings
from api.settings import Settings
from fleet.errors import FleetDataError
from fleet.models import MAX_FILL, FillReading, WeightReading
from fleet.weights import heavier_than_held

router = APIRouter(prefix="/readings", tags=["readings"], responses=ERROR_RESPONSES)


def _validate(
    rows: list[dict[str, Any]],
) -> tuple[list[tuple[int, FillReading | WeightReading]], list[RowError]]:
    good: list[tuple[int, FillReading | WeightReading]] = []
    bad: list[RowError] = []
    for i, raw in enumerate(rows):
        got = _reading(i, raw)
        if isinstance(got, list):
            bad += got
        else:
            good.append((i, got))
    return good, bad


def _reading(i: int, raw: dict[str, Any]) -> FillReading | WeightReading | list[RowError]:
    """Row ``i`` as a fleet reading (a weight alone: a ``WeightReading``), or its errors."""
    record = f"bin_id={raw.get('bin_id')!r} at={raw.get('at')!r}"
    try:
        item = ReadingIn.model_validate(raw)
    except ValidationError as exc:
        return [
            RowError(index=i, loc=["body", i, *e["loc"]], msg=e["msg"], record=record)
            for e in exc.errors()
        ]
    if item.fill_fraction is None and item.weight_kg is None:
        msg = "give fill_fraction, or weight_kg for a sensor that only weighs"
        return [RowError(index=i, loc=["body", i, "fill_fraction"], msg=msg, record=record)]
    try:
        if item.fill_fraction is None:
            return mapping.weight_record(item)
        return mapping.reading_record(item)
    except FleetDataError as exc:
        return [RowError(index=i, loc=["body", i], msg=str(exc), record=record)]


def _not_ahead(
    valid: list[tuple[int, FillReading | WeightReading]], bad: list[RowError], jobs: JobRunner
) -> list[tuple[int, FillReading | WeightReading]]:
    """The readings not dated after the service's clock, nor before the readings kept
    (``JobRunner.reading_refused``); the others are added to ``bad``."""
    kept = []
    for i, r in valid:
        why = jobs.reading_refused(r.at)
        if why is None:
            kept.append((i, r))
        else:
            record = f"bin_id={r.bin_id!r} at={r.at.isoformat()!r}"
            bad.append(RowError(index=i, loc=["body", i, "at"], msg=why, record=record))
    return kept


def _too_old(r: FillReading, settings: Settings) -> str:
    days = settings.readings_history_days
    return (
        f"the reading of {r.at.isoformat()} is older than the readings history ({days} "
        "days): stored, no overflow alert (no plan would take it)"
    )


_Row = TypeVar("_Row", FillReading, FillReading | WeightReading)


def _known(s: Session, good: list[tuple[int, _Row]], bad: list[RowError]) -> list[tuple[int, _Row]]:
    """The readings of bins in the inventory; the others are added to ``bad``."""
    ids = {r.bin_id for _, r in good}
    known = set(s.scalars(select(BinRow.bin_id).where(BinRow.bin_id.in_(ids))))
    bad += [
        RowError(
            index=i,
            loc=["body", i, "bin_id"],
            record=_where(r),
            msg=f"unknown bin {r.bin_id!r}; create the bin first",
        )
        for i, r in good
        if r.bin_id not in known
    ]
    return [(i, r) for i, r in good if r.bin_id in known]


def _fills(
    db: Database,
    valid: list[tuple[int, FillReading | WeightReading]],
    bad: list[RowError],
    history_days: int,
) -> list[tuple[int, FillReading]]:
    """The readings of bins in the inventory with the weights of sensors that only weigh
    turned into fills; those that cannot be (a bin not listed, a weight no waste could
    have) are added to ``bad``. The densities are read in a reader's session, before the
    writer's (SQLite: other writes wait for it): a reading stored meanwhile is missed."""
    if not any(isinstance(r, WeightReading) for _, r in valid):
        return [(i, r) for i, r in valid if isinstance(r, FillReading)]  # all are
    with db.reader() as s:
        good = _known(s, valid, bad)
        made = repo.fills_from_weights(s, [r for _, r in good], history_days)
    bad += [
        RowError(index=i, loc=["body", i, "weight_kg"], record=_where(r), msg=m)
        for (i, r), m in zip(good, made, strict=True)
        if isinstance(m, str)
    ]
    return [(i, m) for (i, _), m in zip(good, made, strict=True) if isinstance(m, FillReading)]


def _alert_note(r: FillReading) -> str:
    if r.fill_from_weight and r.fill_fraction >= MAX_FILL:
        return (
            f"sensor weight {r.weight_kg:g} kg (more than {MAX_FILL:g} times the bin at its "
            "density: overflowing, or its waste is denser)"
        )
    if r.fill_from_weight:
        return f"sensor weight {r.weight_kg:g} kg (fill {r.fill_fraction:.2f} at the bin's density)"
    return f"sensor fill {r.fill_fraction:.2f}"


def _where(r: FillReading | WeightReading) -> str:
    return f"bin_id={r.bin_id!r} at={r.at.isoformat()!r}"


@router.post(
    "",
    response_model=ReadingsResult,
    summary="Ingest readings (idempotent on bin+time)",
    openapi_extra=bulk_body(ReadingIn),
)
def ingest(
    rows: Annotated[list[dict[str, Any]], Body(min_length=1, max_length=10_000)],
    db: DbDep,
    jobs: JobsDep,
    settings: SettingsDep,
    planner: PlannerDep,
    routing: RoutingDep,
    _: CanWriteReadings,
) -> ReadingsResult:
    """Store readings; a reading at or above the overflow threshold raises an alert.

    Each object: ``bin_id``, ``at`` (ISO 8601 with offset), ``fill_fraction`` (0..1.5),
    optional ``weight_kg``. A sensor that only weighs gives ``weight_kg`` alone: its fill
    is derived at the bin's density (set on the bin, else measured from its readings with
    both or, for a bin without, from the fills the trucks found, else its stream's default)
    and stored with ``fill_from_weight``; a weight more than 1.5 times what the bin holds at
    that density is stored at 1.5 and named in ``notes`` (its density may be higher). Bad
    rows are reported with their index; the good ones are stored. A bin has one reading per
    instant, the first stored: one sent again is counted in ``duplicates``, and one with
    other values than the stored one is named in ``notes`` too (not used). The response is
    sent after the commit.
    """
    valid, bad = _validate(rows)
    valid = _not_ahead(valid, bad, jobs)
    earliest = jobs.carried_from(jobs.today())  # an older day's alert no reroute takes
    stored = duplicates = 0
    alert_ids: list[int] = []
    notes: list[str] = []
    dates = set()
    made = _fills(db, valid, bad, settings.readings_history_days)
    with db.writer() as s:
        good = [r for _, r in _known(s, made, bad)]  # a bin deleted meanwhile: refused
        if any(item.fill_fraction >= settings.overflow_threshold for item in good):
            repo.serialise(s, "sensor-alerts")  # first: one alert per bin and day
        for item in good:
            if not repo.insert_reading(s, item):
                duplicates += 1
                clash = repo.reading_clash(s, item)
                notes.extend([clash] if clash else [])
                continue
            stored += 1
            if item.fill_fraction < settings.overflow_threshold:
                continue
            if item.at.astimezone(settings.tz).date() < earliest:
                notes.append(f"{item.bin_id}: {_too_old(item, settings)}")
            else:
                alert = repo.add_alert(
                    s,
                    bin_id=item.bin_id,
                    source="sensor",
                    at=item.at,
                    tz=settings.tz,
                    fill_fraction=item.fill_fraction,
                    once_per_day=True,
                    note=_alert_note(item),
                )
                if alert is not None:
                    alert_ids.append(alert.id)
                    dates.add(alert.plan_date)
    if bad and not (stored or duplicates):
        first = min(bad, key=lambda e: e.index)
        raise RecordError(first.loc, first.msg + f" ({len(bad)} rejected row(s))", first.record)
    for d in sorted(dates):
        jobs.request_reroute(d, planner, routing)
    return ReadingsResult(
        stored=stored,
        duplicates=duplicates,
        rejected=sorted(bad, key=lambda e: e.index),
        alert_ids=alert_ids,
        notes=[*heavier_than_held(good), *notes],
    )


@router.get("", response_model=list[ReadingOut], summary="List readings")
def list_readings(
    db: DbDep,
    _: CanRead,
    bin_id: Annotated[str | None, Query(max_length=64), NoNul] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    order: Literal["at", "received"] = "at",
) -> list[ReadingOut]:
    """Readings, newest first, optionally of one bin and in ``[since, until)`` (by ``at``).

    ``order=received`` lists them as the service stored them, the last stored first: a
    gateway's late reading (dated before the newest) comes first when it arrives, which
    the newest by ``at`` would not show.
    """
    query = select(ReadingRow)
    if bin_id is not None:
        query = query.where(ReadingRow.bin_id == bin_id)
    query = query.where(*_between(since, until))
    # the row id orders them as stored
    newest = (
        (ReadingRow.id.desc(),)
        if order == "received"
        else (ReadingRow.at.desc(), ReadingRow.bin_id)
    )
    with db.reader() as s:
        rows = s.scalars(query.order_by(*newest).limit(limit))
        return [ReadingOut.model_validate(r) for r in rows]


@router.get("/latest", response_model=list[ReadingOut], summary="Each bin's newest reading")
def latest_readings(
    db: DbDep,
    _: CanRead,
    since: Instant | None = None,
    until: Instant | None = None,
) -> list[ReadingOut]:
    """Each bin's newest reading in ``[since, until)`` (by ``at``), by bin id; a bin without
    one there is not listed. The fill a map shows, whatever the number of readings the
    other bins' sensors sent since."""
    newest = (
        select(ReadingRow.bin_id, func.max(ReadingRow.at).label("at"))
        .where(*_between(since, until))
        .group_by(ReadingRow.bin_id)
    )
    last = newest.subquery()
    query = (
        select(ReadingRow)
        .join(last, (ReadingRow.bin_id == last.c.bin_id) & (ReadingRow.at == last.c.at))
        .order_by(ReadingRow.bin_id)
    )
    with db.reader() as s:
        return [ReadingOut.model_validate(r) for r in s.scalars(query)]


def _between(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """The conditions of a reading dated in ``[since, until)`` (either may be open)."""
    return [
        *([ReadingRow.at >= since] if since is not None else []),
        *([ReadingRow.at < until] if until is not None else []),
    ]
