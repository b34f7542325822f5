"""Database queries of the plans: versions, jobs queued and pending, the days planned, and
what the plan being driven has each bin, truck and site do.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, undefer

from api.db import (
    BinRow,
    PlanRow,
    ProgressRow,
    SiteRow,
    VehicleRow,
)

# truck -> its ("bin"|"disposal", id) visits and ("waypoint", ISO start) restarts, in order
_Routes = dict[str, tuple[tuple[str, str], ...]]


def serialise(session: Session, name: str) -> None:
    """Hold the PostgreSQL advisory lock ``name`` until this transaction ends (no-op elsewhere).

    SQLite writers are serialised by ``Database.writer``; on PostgreSQL (READ COMMITTED) two
    writers doing check-then-insert (the next plan version, one sensor alert per bin and day)
    would both see the old state and insert twice.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest, signed=True))))


def next_version(session: Session, plan_date: date) -> int:
    """1 + the highest plan version of ``plan_date`` (1 for the first).

    Locks the date's version numbers until the caller's transaction ends (PostgreSQL).
    """
    serialise(session, f"plan-version {plan_date.isoformat()}")
    top = session.scalar(select(func.max(PlanRow.version)).where(PlanRow.plan_date == plan_date))
    return 1 if top is None else int(top) + 1


def last_report_id(session: Session) -> int:
    """The id of the newest truck progress report stored (0: none yet)."""
    return int(session.scalar(select(func.max(ProgressRow.id))) or 0)


@dataclass(frozen=True, slots=True)
class ReportsRead:
    """The truck reports a plan job or reroute read its inputs with: the id of the newest
    report stored then (``upto``; 0: none) and the off-route flag each report of the day
    had then (report id -> flag), as the plan it stores takes them in."""

    upto: int
    flags: Mapping[int, bool | None]


def report_flags(session: Session, plan_date: date) -> dict[int, bool | None]:
    """The off-route flag of each truck report of ``plan_date``, by report id (positions,
    which no flag judges, left out)."""
    rows = session.execute(
        select(ProgressRow.id, ProgressRow.off_route).where(
            ProgressRow.plan_date == plan_date, ProgressRow.kind != "position"
        )
    )
    return dict(rows.tuples().all())


def reports_read(session: Session, plan_date: date) -> ReportsRead:
    """:class:`ReportsRead` of ``plan_date``'s reports as ``session`` sees them."""
    return ReportsRead(last_report_id(session), report_flags(session, plan_date))


def latest_done_plan(
    session: Session, plan_date: date, *, with_state: bool = False
) -> PlanRow | None:
    """The newest finished plan version of ``plan_date``; ``with_state``: its stored day
    plan read by the same query (a later read could find it dropped: :func:`drop_states`)."""
    query = select(PlanRow).where(PlanRow.plan_date == plan_date, PlanRow.status == "done")
    if with_state:
        query = query.options(undefer(PlanRow.state))
    return session.scalars(query.order_by(PlanRow.version.desc()).limit(1)).first()


def drop_states(session: Session, plan: PlanRow, today: date) -> None:
    """Drop the stored day plans no job will read again, now that ``plan`` is finished:
    those of its day's earlier versions (reroutes and re-plans start from the day's newest
    finished plan) and of the days before yesterday (``today`` the city's date; such a day
    is over). A city's day plan holds its travel matrices: 65 MB for 2000 bins, stored
    again by every reroute of the day. The plans' documents (routes, sheets, KPIs) stay."""
    stale = or_(
        and_(PlanRow.plan_date == plan.plan_date, PlanRow.version < plan.version),
        PlanRow.plan_date < today - timedelta(days=1),
    )
    session.execute(
        update(PlanRow)
        .where(PlanRow.id != plan.id, PlanRow.state.is_not(None), stale)
        .values(state=None)
    )


def planned_days(session: Session, since: date) -> list[date]:
    """The dates from ``since`` on with a finished plan, or a plan job queued or running (a
    change to the fleet then needs a plan after it: it may have read its inputs), in order."""
    job = and_(PlanRow.status.in_(("queued", "running")), PlanRow.origin.not_in(REROUTE_ORIGINS))
    return sorted(
        session.scalars(
            select(PlanRow.plan_date)
            .where(or_(PlanRow.status == "done", job), PlanRow.plan_date >= since)
            .distinct()
        )
    )


# origins of the versions a reroute pass makes (``JobRunner.reroute_once``): for alerts, and
# for a bin a crew emptied off its route; every other origin is a plan job's
REROUTE_ORIGINS = ("reroute", "emptied")


def queued_plan_job(session: Session, plan_date: date) -> PlanRow | None:
    """The oldest plan job (not a reroute) of ``plan_date`` still queued, if any."""
    return session.scalars(
        select(PlanRow)
        .where(
            PlanRow.plan_date == plan_date,
            PlanRow.status == "queued",
            PlanRow.origin.not_in(REROUTE_ORIGINS),
        )
        .order_by(PlanRow.version)
        .limit(1)
    ).first()


def pending_request(session: Session, plan_date: date, time_limit_s: int) -> PlanRow | None:
    """The oldest plan job a dispatcher requested (``POST /plans``) of ``plan_date`` with the
    budget ``time_limit_s`` still queued or running, if any: the same request."""
    return session.scalars(
        select(PlanRow)
        .where(
            PlanRow.plan_date == plan_date,
            PlanRow.origin == "request",
            PlanRow.time_limit_s == time_limit_s,
            PlanRow.status.in_(("queued", "running")),
        )
        .order_by(PlanRow.version)
        .limit(1)
    ).first()


def plan_job_pending(session: Session, plan_date: date) -> bool:
    """Whether a plan job (not a reroute) of ``plan_date`` is queued or running."""
    return (
        session.scalars(
            select(PlanRow.id)
            .where(
                PlanRow.plan_date == plan_date,
                PlanRow.status.in_(("queued", "running")),
                PlanRow.origin.not_in(REROUTE_ORIGINS),
            )
            .limit(1)
        ).first()
        is not None
    )


def newer_done(session: Session, plan_date: date, version: int) -> bool:
    """Whether a finished plan version of ``plan_date`` is newer than ``version``."""
    return (
        session.scalars(
            select(PlanRow.id)
            .where(
                PlanRow.plan_date == plan_date,
                PlanRow.status == "done",
                PlanRow.version > version,
            )
            .limit(1)
        ).first()
        is not None
    )


# per (database, plan id): each truck's bin and disposal visits in order and the plan's
# start; a finished plan's documents never change, and reading them takes ~45 ms on 2000 bins
_WORK_PLANNED: OrderedDict[tuple[str, int], tuple[_Routes, datetime | None]] = OrderedDict()
_WORK_PLANNED_SIZE = 16
_WORK_PLANNED_LOCK = threading.Lock()


def bin_of_the_day(session: Session, plan_date: date, bin_id: str) -> bool:
    """Whether ``bin_id`` is listed, or in the routes of a plan of ``plan_date`` (a bin
    deleted after a truck was sent to it)."""
    if session.get(BinRow, bin_id) is not None:
        return True
    return _planned_on(session, plan_date, lambda truck, work: ("bin", bin_id) in work)


def vehicle_of_the_day(session: Session, plan_date: date, vehicle_id: str) -> bool:
    """Whether ``vehicle_id`` is in the fleet, or has work in a plan of ``plan_date`` (a
    truck deleted from the fleet after it was sent out: its crew's reports of that day,
    a tablet syncing late, still count)."""
    if session.get(VehicleRow, vehicle_id) is not None:
        return True
    return _planned_on(session, plan_date, lambda truck, work: truck == vehicle_id)


def site_of_the_day(session: Session, plan_date: date, site_id: str) -> bool:
    """Whether ``site_id`` is listed, or a truck unloads there in a plan of ``plan_date``
    (a site closed after a truck was sent to it: the unloading done before still counts)."""
    if session.get(SiteRow, site_id) is not None:
        return True
    return _planned_on(session, plan_date, lambda truck, work: ("disposal", site_id) in work)


def _planned_on(
    session: Session,
    plan_date: date,
    holds: Callable[[str, tuple[tuple[str, str], ...]], bool],
) -> bool:
    """Whether a truck's work (its ("bin"|"disposal", id) visits) in a finished plan of
    ``plan_date`` ``holds``."""
    plans = session.scalars(
        select(PlanRow).where(PlanRow.plan_date == plan_date, PlanRow.status == "done")
    )
    for plan in plans:
        worked = _work_planned(session, plan)
        if worked and any(holds(truck, work) for truck, work in worked[0].items()):
            return True
    return False


def _work_planned(session: Session, plan: PlanRow) -> tuple[_Routes, datetime | None] | None:
    """Each truck's ("bin", bin id) and ("disposal", site id) visits in ``plan``'s routes,
    in order, with a ("waypoint", ISO start) where a reroute or re-plan went on from where
    the truck was then, and when the plan starts (its JSON's ``start_at``); None when its
    documents show no visits (not done yet, or a planner whose documents have none)."""
    key = (str(session.get_bind().engine.url), plan.id)
    with _WORK_PLANNED_LOCK:
        if key in _WORK_PLANNED:
            _WORK_PLANNED.move_to_end(key)
            return _WORK_PLANNED[key]
    doc = (plan.exports or {}).get("plan") or {}
    routes = doc.get("routes")
    if not isinstance(routes, list) or not all("visits" in r for r in routes):
        return None
    work: dict[str, list[tuple[str, str]]] = {}
    for r in routes:
        for v in r["visits"]:
            kind = v.get("kind")
            ident = {"bin": v.get("bin_id"), "disposal": v.get("ref"), "waypoint": v.get("start")}
            if ident.get(kind) is not None:
                work.setdefault(r.get("vehicle_id", ""), []).append((kind, str(ident[kind])))
    since = datetime.fromisoformat(doc["start_at"]) if doc.get("start_at") else None
    got = ({k: tuple(v) for k, v in work.items()}, since)
    if plan.status == "done":  # its documents are final
        with _WORK_PLANNED_LOCK:
            _WORK_PLANNED[key] = got
            while len(_WORK_PLANNED) > _WORK_PLANNED_SIZE:
                _WORK_PLANNED.popitem(last=False)
    return got
