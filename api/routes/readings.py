"""Fill-level readings: bulk ingest, idempotent on (bin_id, at), acknowledged after commit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import ValidationError
from sqlalchemy import select

from api import mapping, repo
from api.db import BinRow, ReadingRow, utcnow
from api.deps import DbDep, JobsDep, PlannerDep, RoutingDep, SettingsDep
from api.errors import RecordError
from api.schemas import (
    ERROR_RESPONSES,
    BulkResult,
    Instant,
    ReadingIn,
    ReadingOut,
    RowError,
    bulk_body,
)
from api.security import CanRead, CanWriteReadings
from fleet.errors import FleetDataError

router = APIRouter(prefix="/readings", tags=["readings"], responses=ERROR_RESPONSES)


def _validate(rows: list[dict[str, Any]]) -> tuple[list[tuple[int, ReadingIn]], list[RowError]]:
    good: list[tuple[int, ReadingIn]] = []
    bad: list[RowError] = []
    for i, raw in enumerate(rows):
        record = f"bin_id={raw.get('bin_id')!r} at={raw.get('at')!r}"
        try:
            item = ReadingIn.model_validate(raw)
            mapping.reading_record(item)
        except ValidationError as exc:
            bad += [
                RowError(index=i, loc=["body", i, *e["loc"]], msg=e["msg"], record=record)
                for e in exc.errors()
            ]
            continue
        except FleetDataError as exc:
            bad.append(RowError(index=i, loc=["body", i], msg=str(exc), record=record))
            continue
        good.append((i, item))
    return good, bad


@router.post(
    "",
    response_model=BulkResult,
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
) -> BulkResult:
    """Store readings; a reading at or above the overflow threshold raises an alert.

    Each object: ``bin_id``, ``at`` (ISO 8601 with offset), ``fill_fraction`` (0..1.5),
    optional ``weight_kg``. Bad rows are reported with their index; the good ones are stored.
    The response is sent after the commit.
    """
    good, bad = _validate(rows)
    stored = duplicates = 0
    alert_ids: list[int] = []
    dates = set()
    with db.writer() as s:
        if any(item.fill_fraction >= settings.overflow_threshold for _, item in good):
            repo.serialise(s, "sensor-alerts")  # first: one alert per bin and day
        known = set(
            s.scalars(
                select(BinRow.bin_id).where(BinRow.bin_id.in_({item.bin_id for _, item in good}))
            )
        )
        for i, item in good:
            if item.bin_id not in known:
                bad.append(
                    RowError(
                        index=i,
                        loc=["body", i, "bin_id"],
                        record=f"bin_id={item.bin_id!r} at={item.at.isoformat()!r}",
                        msg=f"unknown bin {item.bin_id!r}; create the bin first",
                    )
                )
                continue
            values = {**item.model_dump(), "received_at": utcnow()}
            if not repo.insert_reading(s, values):
                duplicates += 1
                continue
            stored += 1
            if item.fill_fraction >= settings.overflow_threshold:
                alert = repo.add_alert(
                    s,
                    bin_id=item.bin_id,
                    source="sensor",
                    at=item.at,
                    tz=settings.tz,
                    fill_fraction=item.fill_fraction,
                    once_per_day=True,
                    note=f"sensor fill {item.fill_fraction:.2f}",
                )
                if alert is not None:
                    alert_ids.append(alert.id)
                    dates.add(alert.plan_date)
    if bad and not (stored or duplicates):
        first = min(bad, key=lambda e: e.index)
        raise RecordError(first.loc, first.msg + f" ({len(bad)} rejected row(s))", first.record)
    for d in sorted(dates):
        jobs.request_reroute(d, planner, routing)
    return BulkResult(
        stored=stored,
        duplicates=duplicates,
        rejected=sorted(bad, key=lambda e: e.index),
        alert_ids=alert_ids,
    )


@router.get("", response_model=list[ReadingOut], summary="List readings")
def list_readings(
    db: DbDep,
    _: CanRead,
    bin_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[ReadingOut]:
    """Readings, newest first, optionally of one bin and in ``[since, until)``."""
    query = select(ReadingRow)
    if bin_id is not None:
        query = query.where(ReadingRow.bin_id == bin_id)
    if since is not None:
        query = query.where(ReadingRow.at >= since)
    if until is not None:
        query = query.where(ReadingRow.at < until)
    with db.reader() as s:
        rows = s.scalars(query.order_by(ReadingRow.at.desc()).limit(limit))
        return [ReadingOut.model_validate(r) for r in rows]
