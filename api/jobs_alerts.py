"""The overflow alerts of the plan and reroute jobs (:mod:`api.jobs`): which alerts a job
takes in, their bins' response targets, and what the stored plan did with each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from api import repo
from api.db import (
    AlertRow,
    PlanRow,
)
from api.repo_alerts import BIN_DELETED


@dataclass(frozen=True, slots=True, kw_only=True)
class _Claim:
    """Open alerts taken into a new running plan version: the plan to reroute (``state`` of
    plan ``base_id``), the bins alerted, now (the latest alert's, truck report's or, for a
    reroute of today or with an earlier day's alert or no alert, the clock's time: an alert
    that arrives late is routed from when it arrives) and each bin's response target
    (empty when targets are off), for the alerts taken and for those of the day left
    unserved, which it may serve (:func:`_unserved_of`). A version for a bin another
    truck's crew emptied has no alert (:meth:`JobRunner.request_emptied`). ``why``: the
    note of each bin's newest alert a crew raised (it could not empty the bin), which its
    unserved reason begins with."""

    plan_id: int
    base_id: int
    state: bytes
    alert_ids: tuple[int, ...]
    urgent: list[str]
    now: datetime
    due: dict[str, datetime]
    reports_seen_id: int | None = None
    why: dict[str, str] = dataclasses.field(default_factory=dict)


# alerts a new plan of their day takes in: those not closed (emptied, dismissed, bin_deleted),
# bar the open ones, which a reroute takes into its plan once stored
_TAKEN_BY_PLANS = ("no_plan", "failed", "rerouting", "rerouted", "unserved", "planned")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Waiting:
    """The alerts a plan job takes in (ids; their bins, each with its response target when
    targets are on: ``JobRunner._waiting``), those a truck emptied since
    (``emptied_ids``) and the crews' notes on bins they could not empty (``why``)."""

    alert_ids: tuple[int, ...] = ()
    emptied_ids: tuple[int, ...] = ()
    bins: tuple[str, ...] = ()
    due: dict[str, datetime] = dataclasses.field(default_factory=dict)
    why: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Coming:
    """A visit an alert asked for, as a plan has it: its ref, the truck, when it starts and
    the alert's response target."""

    ref: str
    bin_id: str
    vehicle_id: str
    eta: datetime
    respond_by: datetime | None


def _alert_visits(plan: Mapping[str, Any]) -> list[_Coming]:
    """The visits alerts asked for in a plan JSON (``optimiser.export.plan_json``)."""
    return [
        _Coming(
            ref=v["ref"],
            bin_id=v["bin_id"],
            vehicle_id=route["vehicle_id"],
            eta=datetime.fromisoformat(v["start"]),
            respond_by=datetime.fromisoformat(v["respond_by"]) if v.get("respond_by") else None,
        )
        for route in plan.get("routes", [])
        for v in route.get("visits", [])
        if v.get("alert")
    ]


def _newest(coming: list[_Coming]) -> dict[str, _Coming]:
    """Each bin's newest visit among ``coming``."""
    return {c.bin_id: c for c in sorted(coming, key=lambda c: c.eta)}


def _left_out(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The unserved entries of a plan JSON for visits alerts asked for (plans stored before
    "alert" existed: any required visit)."""
    return [u for u in plan.get("unserved", []) if u.get("alert", u.get("required", True))]


def _settle(
    alert: AlertRow,
    plan_id: int,
    coming: _Coming | None,
    missed: str | None,
    served: str = "rerouted",
) -> None:
    """Record on ``alert`` what plan ``plan_id`` does with its visit: ``unserved`` when it is
    left out (``missed``: its ref, "" when unknown), else ``served`` (``rerouted`` by a
    reroute, ``planned`` by a plan job) with the truck, the time and the target (when the
    plan shows the visit)."""
    alert.plan_id = plan_id
    if missed is not None:
        alert.status, alert.visit_ref = "unserved", missed or alert.visit_ref
        alert.vehicle_id = alert.eta = None
    else:
        alert.status = served
        if coming is not None:
            alert.visit_ref, alert.vehicle_id = coming.ref, coming.vehicle_id
            alert.eta, alert.respond_by = coming.eta, coming.respond_by


def _emptied(alert: AlertRow, plan_id: int) -> None:
    """Close ``alert`` as ``emptied`` with plan ``plan_id``: its bin was emptied since it was
    raised, so no truck is sent for it any more (nor its time kept)."""
    alert.status, alert.plan_id = "emptied", plan_id
    alert.vehicle_id = alert.eta = None


def _targets(
    alerts: list[AlertRow], respond_min: int, plan_date: date, carried_at: datetime
) -> dict[str, datetime]:
    """Each alerted bin's response target (none when ``respond_min`` is 0: targets are off):
    its first alert of ``plan_date``'s time + ``respond_min`` minutes; an earlier day's
    alert's own target passed, so it is ``carried_at`` (as soon as a truck can), unless one
    of the day's is sooner."""
    if not respond_min:
        return {}
    first: dict[str, datetime] = {}
    for a in alerts:
        if a.plan_date == plan_date:
            first[a.bin_id] = min(first.get(a.bin_id, a.at), a.at)
    due = {b: at + timedelta(minutes=respond_min) for b, at in first.items()}
    for a in alerts:
        if a.plan_date != plan_date:
            due[a.bin_id] = min(due.get(a.bin_id, carried_at), carried_at)
    return due


def _unserved_of(s: Any, plan_date: date) -> list[AlertRow]:
    """The alerts the plans of ``plan_date`` left unserved (raised that day, or taken in by
    one of its plans). A reroute may serve them, whichever alert it is for (a bin no street
    reached, placed since: ``optimiser.daily.driven._alerts_left_out``): they need their targets
    then, as the alerts it takes in do and as a re-plan gives them (:func:`_targets`)."""
    of_date = select(PlanRow.id).where(PlanRow.plan_date == plan_date)
    unserved = select(AlertRow).where(
        or_(AlertRow.plan_date == plan_date, AlertRow.plan_id.in_(of_date)),
        AlertRow.status == "unserved",
    )
    return list(s.scalars(unserved))


def _crews_notes(alerts: list[AlertRow]) -> dict[str, str]:
    """Per bin, the note of its newest alert (by id) a crew raised: it could not empty the
    bin, when and why (``visit_missed``); an unserved visit of the bin says so first."""
    return {a.bin_id: a.note for a in sorted(alerts, key=lambda a: a.id) if a.source == "crew"}


def settle_planned(s: Any, plan_id: int, plan: Mapping[str, Any], waiting: _Waiting) -> None:
    """After plan job ``plan_id``: each alert it took in reads ``planned`` with its
    visit's truck, time and target, or ``unserved`` when the visit is left out; those a
    truck emptied since read ``emptied``. An alert a reroute took meanwhile is its own."""
    coming = _newest(_alert_visits(plan))
    left = {u["bin_id"]: u.get("ref", "") for u in _left_out(plan)}
    ids = waiting.alert_ids + waiting.emptied_ids
    for alert in s.scalars(select(AlertRow).where(AlertRow.id.in_(ids))):
        if alert.status not in _TAKEN_BY_PLANS:
            continue
        if alert.id in waiting.emptied_ids:
            _emptied(alert, plan_id)
        else:
            _settle(alert, plan_id, coming.get(alert.bin_id), left.get(alert.bin_id), "planned")


def settle_rerouted(
    s: Any, plan_id: int, plan: Mapping[str, Any], alert_ids: tuple[int, ...]
) -> None:
    """After a reroute into plan ``plan_id``: each alert it took in reads ``rerouted``
    with its visit's truck, time and target, or ``unserved`` when the visit it asked for
    is left out; earlier rerouted alerts of the day follow their visits into this plan
    (a reroute for another alert may move them, or leave them out), and one whose visit
    left the plan because a truck emptied the bin since the alert (off its route) reads
    ``emptied``."""
    coming = _alert_visits(plan)
    latest = _newest(coming)
    by_ref = {c.ref: c for c in coming}
    left = _left_out(plan)  # by bin and by ref
    left_bins = {u["bin_id"]: u.get("ref", "") for u in left}
    left_refs = {u["ref"] for u in left if "ref" in u}
    claimed = select(AlertRow).where(
        AlertRow.id.in_(alert_ids),
        AlertRow.plan_id == plan_id,  # a newer plan job may have taken them meanwhile
        AlertRow.status != BIN_DELETED,  # or their bin been deleted
    )
    for alert in s.scalars(claimed):
        _settle(alert, plan_id, latest.get(alert.bin_id), left_bins.get(alert.bin_id))
    row = s.get(PlanRow, plan_id)
    plan_date = row.plan_date
    if repo.newer_done(s, plan_date, row.version):
        return  # a plan job finished while this reroute ran: its alerts follow that one
    of_date = select(PlanRow.id).where(PlanRow.plan_date == plan_date)
    earlier = select(AlertRow).where(
        or_(AlertRow.plan_date == plan_date, AlertRow.plan_id.in_(of_date)),
        AlertRow.status.in_(("rerouted", "unserved", "planned")),
        AlertRow.visit_ref.is_not(None),
        AlertRow.id.not_in(alert_ids),
    )
    alerts = list(s.scalars(earlier))
    emptied = repo.last_emptied_on(s, plan_date, (a.bin_id for a in alerts))
    for alert in alerts:
        ref = alert.visit_ref
        if ref in by_ref or ref in left_refs:
            served = "planned" if alert.status == "planned" else "rerouted"
            missed = ref if ref in left_refs else None
            _settle(alert, plan_id, by_ref.get(ref), missed, served)
        elif alert.bin_id in emptied and emptied[alert.bin_id] >= alert.at:
            _emptied(alert, plan_id)
