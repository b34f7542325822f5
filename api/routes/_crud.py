"""CRUD and bulk import for the inventory resources (one router per resource).

Not using ``from __future__ import annotations``: FastAPI reads the endpoint annotations,
which refer to the resource's schemas held in this factory's closure.
"""

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import repo, repo_changes
from api.db import Base
from api.deps import DbDep, JobsDep, PlannerDep, RoutingDep
from api.errors import ConflictError, NotFoundError, RecordError
from api.jobs import JobRunner
from api.planner import Planner
from api.routing import Routing
from api.schemas import (
    ERROR_RESPONSES,
    BulkResult,
    ReplanBulkResult,
    RowError,
    UrlKey,
    bulk_body,
)
from api.security import CallerKey, CanDispatch, CanRead
from fleet.errors import FleetDataError

RefCheck = Callable[[Session, Any], list[tuple[list[str | int], str]]]
UseCheck = Callable[[Session, str], str | None]
DeleteHook = Callable[[Session, str, JobRunner], None]  # in the deletion's transaction


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """How one inventory resource maps between wire, domain and table."""

    kind: str
    path: str
    row: type[Base]
    schema_in: type[BaseModel]
    schema_out: type[BaseModel]
    id_field: str
    to_record: Callable[[Any], object]
    references: RefCheck = field(default=lambda s, item: [])
    in_use: UseCheck = field(default=lambda s, ident: None)
    on_delete: DeleteHook = field(default=lambda s, ident, jobs: None)  # once it is flushed
    read_csv: Callable[[str], Any] | None = None  # fleet.io reader: text -> ImportResult
    to_wire: Callable[[Any], dict[str, Any]] | None = None  # fleet record -> schema_in fields
    replans: str | None = None  # a change re-plans the days planned from today (job origin)
    replans_on: frozenset[str] = frozenset({"create", "replace", "delete"})  # which changes
    plan_ignores: frozenset[str] = frozenset()  # fields no plan reads: changed alone, no re-plan

    @property
    def listed(self) -> str:
        """The name its changes are logged under: its list's path (``"bins"``)."""
        return self.path.strip("/")


@dataclass(frozen=True, slots=True)
class Replanner:
    """What a change of a ``Resource.replans`` resource needs to queue plan jobs."""

    jobs: JobRunner
    planner: Planner
    routing: Routing

    def days(self, res: Resource, change: str, changed: bool = True) -> list[int]:
        """When ``changed`` and ``res`` re-plans on ``change`` ("create", "replace" (bulk
        rows too) or "delete"): a plan job queued for each date from today with a finished
        plan or a plan job under way (``repo.planned_days``; ``origin`` ``res.replans``);
        their plan ids."""
        origin = res.replans
        if origin is None or change not in res.replans_on or not changed:
            return []
        with self.jobs.db.reader() as s:
            days = repo.planned_days(s, self.jobs.today())
        jobs = [self.jobs.submit_replan(d, origin, self.planner, self.routing) for d in days]
        return [job.id for job in jobs]


def get_replanner(jobs: JobsDep, planner: PlannerDep, routing: RoutingDep) -> Replanner:
    """The job runner and seams a change that re-plans needs."""
    return Replanner(jobs, planner, routing)


ReplannerDep = Annotated[Replanner, Depends(get_replanner)]


def _linked(response: Response, plan_ids: list[int]) -> None:
    """Name the plan jobs a change queued in ``response``'s ``Link`` header."""
    if plan_ids:
        response.headers["Link"] = ", ".join(f'</plans/{i}>; rel="replan"' for i in plan_ids)


def _queued(response: Response, plan_ids: list[int]) -> None:
    """A change of one record that queued plan jobs: 202, naming them (``Link``)."""
    if plan_ids:
        response.status_code = status.HTTP_202_ACCEPTED
        _linked(response, plan_ids)


def _replans_on(res: Resource, change: str) -> bool:
    """Whether a ``change`` of ``res`` re-plans."""
    return res.replans is not None and change in res.replans_on


def _replanned(res: Resource, change: str) -> dict[int | str, dict[str, Any]]:
    """The 202 answer of a ``change`` that re-plans, for the OpenAPI document."""
    if not _replans_on(res, change):
        return {}
    return {202: {"description": "Stored; plan jobs of the days planned from today are queued"}}


def _result_type(res: Resource) -> type[BulkResult]:
    """The bulk result of ``res``: with the plan jobs a change queued when it re-plans."""
    return ReplanBulkResult if _replans_on(res, "replace") else BulkResult


def _bulk_answer(
    res: Resource, replan: Replanner, response: Response, result: BulkResult, changed: bool
) -> BulkResult:
    """A bulk change's ``result``, with the plan jobs it queued when it re-plans (``Link``
    and, for a resource that re-plans on bulk rows, ``replans``)."""
    replans = replan.days(res, "replace", changed)
    _linked(response, replans)
    if not _replans_on(res, "replace"):
        return result
    return ReplanBulkResult(**result.model_dump(), replans=replans)


def _store(res: Resource, session: Session, item: BaseModel, log: repo_changes.ChangeLog) -> bool:
    """Create or replace ``item``'s row, the change noted in ``log``; whether that changed
    what a plan reads (a field not in ``res.plan_ignores``: a depot's name changed alone
    re-plans nothing)."""
    values = item.model_dump()
    ident = values[res.id_field]
    before = repo_changes.values_of(session.get(res.row, ident))
    read = {k: v for k, v in values.items() if k not in res.plan_ignores}
    same = before is not None and all(before[k] == v for k, v in read.items())
    session.merge(res.row(**values))
    log.note(ident, before, values)
    return not same


def _check(res: Resource, session: Session, item: BaseModel) -> None:
    """Domain and reference checks of one item; ``RecordError`` (422) on the first problem."""
    record = f"{res.id_field}={getattr(item, res.id_field)!r}"
    try:
        res.to_record(item)
    except FleetDataError as exc:
        raise RecordError(["body"], str(exc), record) from exc
    for loc, msg in res.references(session, item):
        raise RecordError(["body", *loc], msg, record)


def _raw_record(res: Resource, raw: Any) -> str | None:
    if isinstance(raw, dict) and res.id_field in raw:
        return f"{res.id_field}={raw[res.id_field]!r}"
    return None


def _bulk_row(
    res: Resource, session: Session, index: int, raw: Any, seen: set[str]
) -> BaseModel | list[RowError]:
    record = _raw_record(res, raw)
    try:
        item = res.schema_in.model_validate(raw)
    except ValidationError as exc:
        return [
            RowError(index=index, loc=["body", index, *e["loc"]], msg=e["msg"], record=record)
            for e in exc.errors()
        ]
    ident = getattr(item, res.id_field)
    if ident in seen:
        msg = f"{res.kind} {ident!r} appears twice in this request; send it once"
        return [RowError(index=index, loc=["body", index, res.id_field], msg=msg, record=record)]
    try:
        _check(res, session, item)
    except RecordError as exc:
        loc: list[str | int] = ["body", index, *exc.loc[1:]]
        return [RowError(index=index, loc=loc, msg=exc.msg, record=record)]
    seen.add(ident)
    return item


def crud_router(res: Resource) -> APIRouter:
    """The router of ``res``: list, get, create, replace, delete and bulk upsert (and the CSV
    import, for a resource with a CSV reader)."""
    router = APIRouter(prefix=res.path, tags=[res.path.strip("/")], responses=ERROR_RESPONSES)
    _add_reads(router, res)
    _add_create(router, res)
    _add_replace(router, res)
    _add_delete(router, res)
    _add_bulk(router, res)
    if res.read_csv is not None and res.to_wire is not None:
        _add_csv_import(router, res)
    return router


def _add_reads(router: APIRouter, res: Resource) -> None:
    """``GET`` of the list of ``res`` and of one by its id."""
    Out: Any = res.schema_out

    @router.get("", response_model=list[Out], summary=f"List {res.kind}s")
    def list_items(
        db: DbDep,
        _: CanRead,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> Any:
        with db.reader() as s:
            key = getattr(res.row, res.id_field)
            rows = s.scalars(select(res.row).order_by(key).limit(limit).offset(offset))
            return [Out.model_validate(r) for r in rows]

    @router.get("/{ident}", response_model=Out, summary=f"Get a {res.kind}")
    def get_item(ident: UrlKey, db: DbDep, _: CanRead) -> Any:
        with db.reader() as s:
            row = s.get(res.row, ident)
            if row is None:
                raise NotFoundError(res.kind, ident)
            return Out.model_validate(row)


def _add_create(router: APIRouter, res: Resource) -> None:
    """``POST`` of a new ``res`` (409 when its id exists)."""
    In: Any = res.schema_in
    Out: Any = res.schema_out

    @router.post(
        "",
        response_model=Out,
        status_code=status.HTTP_201_CREATED,
        summary=f"Create a {res.kind}",
        responses=_replanned(res, "create"),
    )
    def create_item(
        item: In,
        response: Response,
        db: DbDep,
        replan: ReplannerDep,
        _: CanDispatch,
        by: CallerKey,
    ) -> Any:
        ident = getattr(item, res.id_field)
        with db.writer() as s:
            if s.get(res.row, ident) is not None:
                raise ConflictError(f"{res.kind} {ident!r} exists; use PUT to replace it")
            _check(res, s, item)
            values = item.model_dump()
            row = res.row(**values)
            s.add(row)
            repo_changes.record_change(s, res.listed, ident, None, values, by)
        _queued(response, replan.days(res, "create"))
        return Out.model_validate(row)


def _add_replace(router: APIRouter, res: Resource) -> None:
    """``PUT`` of a ``res`` by its id (404 when it does not exist)."""
    In: Any = res.schema_in
    Out: Any = res.schema_out

    @router.put(
        "/{ident}",
        response_model=Out,
        summary=f"Replace a {res.kind}",
        responses=_replanned(res, "replace"),
    )
    def replace_item(
        ident: UrlKey,
        item: In,
        response: Response,
        db: DbDep,
        replan: ReplannerDep,
        _: CanDispatch,
        by: CallerKey,
    ) -> Any:
        if getattr(item, res.id_field) != ident:
            raise RecordError(
                ["body", res.id_field],
                f"{res.id_field} must equal the path id {ident!r}",
                f"{res.id_field}={getattr(item, res.id_field)!r}",
            )
        with db.writer() as s:
            if s.get(res.row, ident) is None:
                raise NotFoundError(res.kind, ident)
            _check(res, s, item)
            log = repo_changes.ChangeLog(res.listed, by)
            changed = _store(res, s, item, log)
            log.write(s)
            row = s.get(res.row, ident)
        _queued(response, replan.days(res, "replace", changed))
        return Out.model_validate(row)


def _add_delete(router: APIRouter, res: Resource) -> None:
    """``DELETE`` of a ``res`` by its id (409 while it is in use)."""

    @router.delete(
        "/{ident}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary=f"Delete a {res.kind}",
        responses=_replanned(res, "delete"),
    )
    def delete_item(
        ident: UrlKey, db: DbDep, replan: ReplannerDep, _: CanDispatch, by: CallerKey
    ) -> Response:
        with db.writer() as s:
            row = s.get(res.row, ident)
            if row is None:
                raise NotFoundError(res.kind, ident)
            reason = res.in_use(s, ident)
            if reason:
                raise ConflictError(reason)
            repo_changes.record_change(s, res.listed, ident, repo_changes.values_of(row), None, by)
            s.delete(row)
            s.flush()
            res.on_delete(s, ident, replan.jobs)
        response = Response(status_code=status.HTTP_204_NO_CONTENT)
        _queued(response, replan.days(res, "delete"))
        return response


def _add_bulk(router: APIRouter, res: Resource) -> None:
    """``POST /bulk``: create or replace many ``res``; the bad rows are reported."""
    Result: Any = _result_type(res)

    @router.post(
        "/bulk",
        openapi_extra=bulk_body(res.schema_in),
        response_model=Result,
        summary=f"Create or replace many {res.kind}s; bad rows are reported",
    )
    def bulk_upsert(
        rows: Annotated[list[dict[str, Any]], Body(min_length=1, max_length=10_000)],
        response: Response,
        db: DbDep,
        replan: ReplannerDep,
        _: CanDispatch,
        by: CallerKey,
    ) -> BulkResult:
        rejected: list[RowError] = []
        seen: set[str] = set()
        stored, changed, log = 0, False, repo_changes.ChangeLog(res.listed, by)
        with db.writer() as s:
            for index, raw in enumerate(rows):
                result = _bulk_row(res, s, index, raw, seen)
                if isinstance(result, list):
                    rejected.extend(result)
                    continue
                changed |= _store(res, s, result, log)
                stored += 1
            log.write(s)
        return _bulk_answer(
            res, replan, response, BulkResult(stored=stored, rejected=rejected), changed
        )


FORM_UPLOAD = (
    "the CSV came as a form upload (multipart/form-data, curl -F); send the file itself "
    "as the body: curl --data-binary @bins.csv -H 'Content-Type: text/csv'"
)
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


def _add_csv_import(router: APIRouter, res: Resource) -> None:
    assert res.read_csv is not None and res.to_wire is not None
    read_csv, to_wire = res.read_csv, res.to_wire

    @router.post(
        "/import",
        response_model=_result_type(res),
        openapi_extra=CSV_BODY,
        summary=f"Create or replace {res.kind}s from CSV; bad rows are reported",
    )
    async def import_csv(
        request: Request,
        response: Response,
        db: DbDep,
        replan: ReplannerDep,
        _: CanDispatch,
        by: CallerKey,
    ) -> BulkResult:
        """CSV with the ``fleet.io`` columns (header first). ``index`` in a rejected row is
        its CSV line number (header = line 1)."""
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise RecordError(["body"], FORM_UPLOAD, None)  # else: every column "missing"
        raw = await request.body()  # at most MAX_BODY_BYTES (api.limits: 413 over it)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RecordError(["body"], "the CSV is not UTF-8 text", None) from exc
        text = text if text.endswith("\n") else text + "\n"  # never read as a file path
        result, changed = await run_in_threadpool(
            _import_text, res, db, text, (read_csv, to_wire), by
        )
        return await run_in_threadpool(_bulk_answer, res, replan, response, result, changed)


def _import_text(
    res: Resource,
    db: Any,
    text: str,
    reader: tuple[Callable[[str], Any], Callable[[Any], dict[str, Any]]],
    key_id: str | None,
) -> tuple[BulkResult, bool]:
    """Store the records of CSV ``text`` (``reader``: ``res``'s CSV reader and its records'
    wire fields), the changes logged as made by key ``key_id``: the result, and whether
    any stored one changed."""
    read_csv, to_wire = reader
    try:
        parsed = read_csv(text)
    except csv.Error as exc:
        raise RecordError(["body"], f"unreadable CSV: {exc}", None) from exc
    rejected = [
        RowError(
            index=e.row,
            loc=["body", e.row, *([e.field] if e.field else [])],
            msg=e.message,
            record=f"{res.id_field}={e.record_id!r}" if e.record_id else None,
        )
        for e in parsed.errors
    ]
    stored, changed, log = 0, False, repo_changes.ChangeLog(res.listed, key_id)
    seen: set[str] = set()
    with db.writer() as s:
        for record, line in zip(parsed.records, parsed.lines, strict=True):
            wire = to_wire(record)
            result = _bulk_row(res, s, line, wire, seen)
            if isinstance(result, list):
                rejected.extend(result)
                continue
            changed |= _store(res, s, result, log)
            stored += 1
        log.write(s)
    ordered = sorted(rejected, key=lambda e: e.index)
    return BulkResult(stored=stored, rejected=ordered), changed
