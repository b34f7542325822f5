"""Rerouting on overflow alerts, coalesced per plan date (:class:`Rerouting`, part of
:class:`api.jobs.JobRunner`): one pass takes all the open alerts of a date into a new plan
version; alerts arriving meanwhile trigger another pass, so none is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, select, update

from api import repo, state
from api.db import (
    AlertRow,
    PlanRow,
    ProgressRow,
    utcnow,
)
from api.jobs_alerts import (
    _Claim,
    _crews_notes,
    _emptied,
    _targets,
    _unserved_of,
)
from api.jobs_core import JobsCore, _failure_text, route_diffs
from api.planner import Planner
from api.repo_alerts import BIN_DELETED
from api.routing import Routing

log = logging.getLogger("api.jobs")  # one logger for the jobs' modules


class Rerouting(JobsCore):
    """The reroute passes of the job runner, and the reroutes a stored plan asks for (a bin
    emptied off route that the plan still sends a truck to)."""

    def resume(self, planner: Planner, routing: Routing) -> list[date]:
        """Queue a reroute pass for each day from today with open alerts (left by a stop:
        raised while a plan job ran, or taken by a reroute the stop interrupted; those of
        earlier days, within the readings history, reroute today), and for today when a
        bin a truck emptied off its route is still a truck's to empty (a stop came
        before its reroute: :meth:`request_emptied`); the days."""
        today = self.today()
        open_days = select(AlertRow.plan_date).where(
            AlertRow.status == "open", AlertRow.plan_date >= self.carried_from(today)
        )
        with self.db.reader() as s:
            days = {self._rerouted_day(d) for d in s.scalars(open_days.distinct())}
            emptied = self._emptied_off_route_on(s, today)
        if emptied:
            with self._lock:
                self._emptied_off_route.setdefault(today, {}).update(emptied)
            days.add(today)
        for day in sorted(days):
            self.request_reroute(day, planner, routing)
        return sorted(days)

    def _emptied_off_route_on(self, s: Any, plan_date: date) -> dict[tuple[str, str], datetime]:
        """The bins trucks emptied off their routes on ``plan_date`` that its newest plan
        still sends a truck to, by (truck, bin), with the last such report's time."""
        off = select(ProgressRow).where(
            ProgressRow.plan_date == plan_date,
            ProgressRow.kind == "visit_done",
            ProgressRow.off_route.is_(True),
        )
        last: dict[tuple[str, str], datetime] = {}
        for row in s.scalars(off):
            if row.bin_id is not None:
                key = (row.vehicle_id, row.bin_id)
                last[key] = max(last.get(key, row.at), row.at)
        return {k: at for k, at in last.items() if repo.visit_to_come(s, plan_date, *k)}

    def request_reroute(self, plan_date: date, planner: Planner, routing: Routing) -> None:
        """Make sure a reroute pass for ``plan_date`` runs after the alerts committed so far
        (none while stopping: the next start resumes the alerts left open). An earlier day's
        alerts reroute today's plan (:meth:`_rerouted_day`)."""
        plan_date = self._rerouted_day(plan_date)
        with self._lock:
            if self._stopping:
                log.info("stopping: the open alerts of %s wait for the next start", plan_date)
                return
            if plan_date in self._active:
                self._dirty.add(plan_date)
                return
            self._active.add(plan_date)
        self._track(self._reroutes.submit(self._reroute_loop, plan_date, planner, routing))

    def request_emptied(
        self,
        plan_date: date,
        vehicle_id: str,
        bin_id: str,
        at: datetime,
        planner: Planner,
        routing: Routing,
    ) -> None:
        """Truck ``vehicle_id`` emptied ``bin_id`` off its route at ``at`` while the newest
        plan of ``plan_date`` sends a truck there (another, or its own later on its route:
        its crew took the bin ahead of the route's order): a reroute pass of the day (origin
        ``emptied``, the reroute's budget) takes that trip to an empty bin out, or the reroute
        for an alert, or the plan job, that comes first (:meth:`_claim_alerts`)."""
        with self._lock:
            self._emptied_off_route.setdefault(plan_date, {})[vehicle_id, bin_id] = at
        self.request_reroute(plan_date, planner, routing)

    def reroute_emptied(
        self, emptied: list[tuple[date, str, str, datetime]], planner: Planner, routing: Routing
    ) -> None:
        """A reroute for each bin of ``emptied`` (date, truck, bin, when: a bin a truck
        emptied off its route that the plans still send a truck to, from
        :meth:`_store`): :meth:`request_emptied`."""
        for plan_date, vehicle_id, bin_id, at in emptied:
            self.request_emptied(plan_date, vehicle_id, bin_id, at, planner, routing)

    def _reroute_loop(self, plan_date: date, planner: Planner, routing: Routing) -> None:
        try:
            while True:
                with self._lock:
                    self._dirty.discard(plan_date)
                self.reroute_once(plan_date, planner, routing)
                with self._lock:
                    if plan_date not in self._dirty:
                        self._active.discard(plan_date)
                        return
        except BaseException:
            with self._lock:
                self._active.discard(plan_date)
            raise

    def _claim_alerts(self, plan_date: date) -> _Claim | None:
        """Take the open alerts of the date into a new running plan version, in one commit.

        Today's reroute takes in the open alerts of earlier days too (within the readings
        history): overflows known only after their day was over (a report typed in late, a
        sensor's gateway sending late, a stop of the service). An alert whose bin was
        emptied since (``repo.emptied_since``: a truck reported it, or for a sensor's alert
        its readings show it) is closed as ``emptied`` (with the plan being driven): the
        overflow it reported is gone. Each bin's response target is its first alert's time +
        ``alert_response_min``, among those taken and those of the day left unserved (the
        reroute may serve them too: a bin placed on a street since, :func:`_unserved_of`);
        an earlier day's alert's target passed, so it is now (emptied as soon as a truck
        can), and now is when the reroute runs.
        With no alert, a bin a truck emptied off its route that the plan being driven still
        sends a truck to (:meth:`request_emptied`) makes a version of its own (origin
        ``emptied``, now is the clock's); every reroute takes such trips out.
        While a plan job of the date is queued or running, the alerts stay open: the job
        reroutes them into its plan once done (a reroute of the plan it replaces would be
        lost with it). A job takes in the alerts being rerouted when it reads its inputs.
        """
        with self._lock:
            reported = dict(self._emptied_off_route.get(plan_date, {}))
        with self.db.writer() as s:
            alerts = list(
                s.scalars(
                    select(AlertRow).where(self._open_alerts_of(plan_date)).order_by(AlertRow.id)
                )
            )
            if not alerts and not reported:
                return None
            base = repo.latest_done_plan(s, plan_date, with_state=True)
            if base is None or base.state is None:
                for a in alerts:
                    a.status = "no_plan"
                self._forget_emptied(plan_date, reported)  # no plan sends a truck there
                return None
            if repo.plan_job_pending(s, plan_date):
                return None  # kept open: the plan job reroutes them into its plan once done
            self._forget_emptied(plan_date, reported)  # this pass takes them in, or need not
            elsewhere = [
                at
                for (truck, bin_id), at in reported.items()
                if repo.visit_to_come(s, plan_date, truck, bin_id)
            ]
            again = _unserved_of(s, plan_date)  # it may serve them: they need targets
            if alerts or again:
                emptied, empty = self._emptied_since(s, plan_date, [*alerts, *again])
                for a in alerts:  # the bin was emptied after the alert: no new visit
                    if repo.emptied_since(a, emptied, empty):
                        _emptied(a, base.id)
                alerts = [a for a in alerts if a.status == "open"]
                again = [a for a in again if not repo.emptied_since(a, emptied, empty)]
            if not alerts and not elsewhere:
                return None
            new = PlanRow(
                plan_date=plan_date,
                version=repo.next_version(s, plan_date),
                parent_id=base.id,
                origin="reroute" if alerts else "emptied",
                status="running",
                progress=0.0,
                time_limit_s=self.settings.reroute_time_limit_s,  # trucks wait: seconds
                reports_seen_id=base.reports_seen_id,  # its start is the base's
                message=(
                    f"rerouting for {len(alerts)} alert(s)"
                    if alerts
                    else "rerouting: a truck is sent to a bin a crew emptied off its route"
                ),
            )
            s.add(new)
            s.flush()
            for a in alerts:
                a.status, a.plan_id = "rerouting", new.id
            urgent = list(dict.fromkeys(a.bin_id for a in alerts))
            own = [a.at for a in alerts if a.plan_date == plan_date]
            carried = not alerts or len(own) < len(alerts)
            running = carried or plan_date == self.today()  # now is when this runs
            now = max(own + elsewhere + ([self.clock()] if running else []))
            due = _targets([*alerts, *again], self.settings.alert_response_min, plan_date, now)
            return _Claim(
                plan_id=new.id,
                base_id=base.id,
                state=base.state,
                alert_ids=tuple(a.id for a in alerts),
                urgent=urgent,
                now=now,
                due=due,
                reports_seen_id=base.reports_seen_id,
                why=_crews_notes(alerts),
            )

    def _forget_emptied(self, plan_date: date, seen: Mapping[tuple[str, str], datetime]) -> None:
        """Drop the emptyings ``seen`` of :meth:`request_emptied` (those reported again since
        stay)."""
        with self._lock:
            left = {
                k: at
                for k, at in self._emptied_off_route.get(plan_date, {}).items()
                if seen.get(k) != at
            }
            if left:
                self._emptied_off_route[plan_date] = left
            else:
                self._emptied_off_route.pop(plan_date, None)

    def _rerouted_day(self, plan_date: date) -> date:
        """The day whose plan the alerts of ``plan_date`` reroute: today for an earlier day
        within the readings history (that day is over: a truck can only go today), else
        their own."""
        today = self.today()
        return today if self.carried_from(today) <= plan_date < today else plan_date

    def _open_alerts_of(self, plan_date: date) -> Any:
        """The filter of the open alerts a reroute of ``plan_date`` takes in: the day's, and
        today's reroute those of earlier days within the readings history too."""
        own = AlertRow.plan_date == plan_date
        if plan_date == self.today():
            earliest = self.carried_from(plan_date)
            own = and_(AlertRow.plan_date <= plan_date, AlertRow.plan_date >= earliest)
        return and_(own, AlertRow.status == "open")

    def _emptied_since(
        self, s: Any, plan_date: date, alerts: list[AlertRow]
    ) -> tuple[dict[str, datetime], dict[str, datetime]]:
        """For ``repo.emptied_since`` of ``alerts``: the bins' last reported emptyings since
        the first alert, and when their sensors' readings (to ``plan_date``'s end) last show
        them emptied, for the sensors' alerts."""
        since = min(a.at for a in alerts)
        emptied = repo.last_emptied_since(s, since, {a.bin_id for a in alerts})
        sensed = {a.bin_id for a in alerts if a.source == "sensor"}
        if not sensed:
            return emptied, {}
        until = repo.history_window(plan_date, 0, self.settings.tz)[1]
        return emptied, repo.read_empty(repo.load_readings(s, since, until, sensed))

    def reroute_once(self, plan_date: date, planner: Planner, routing: Routing) -> int | None:
        """One reroute pass over the open alerts of ``plan_date``; the new plan id or None."""
        claimed = self._claim_alerts(plan_date)
        if claimed is None:
            return None
        new_id, base_id, alert_ids = claimed.plan_id, claimed.base_id, claimed.alert_ids
        try:
            base_day = state.loads(claimed.state)  # written by this service only
            since = planner.started_at(base_day)  # work reported before: an earlier plan's
            with self.db.reader() as s:
                read = repo.reports_read(s, plan_date)  # the truck reports it knows
                progress = repo.truck_progress(
                    s, plan_date, since, late_after=claimed.reports_seen_id
                )
                limit = repo.get_or_404(s, PlanRow, new_id, "plan").time_limit_s
                inventory = repo.load_inventory(s)
            listed = {b.bin_id for b in inventory.bins}
            urgent = [b for b in claimed.urgent if b in listed]  # deleted since (with its alerts)
            if claimed.urgent and not urgent:
                gone = ", ".join(claimed.urgent)
                raise ValueError(f"the alerted bin(s) {gone} were deleted meanwhile: no reroute")
            new_day, changes = planner.reroute(
                base_day,
                progress,
                urgent,
                routing.provider(),
                now=claimed.now,
                time_limit_s=float(limit),
                inventory=inventory,
                due={b: t for b, t in claimed.due.items() if b in listed},
                why=claimed.why,
            )
            diffs = route_diffs(planner.routes(base_day), planner.routes(new_day), changes)
            diffs_of = (base_id, diffs)
            stored = self._store(new_id, new_day, planner, routing, diffs_of, alert_ids, read=read)
            self.reroute_emptied(stored, planner, routing)
        except Exception as exc:
            log.exception("reroute %s failed", new_id)
            self._set(new_id, status="failed", message=_failure_text(exc), finished_at=utcnow())
            with self.db.writer() as s:
                s.execute(  # unless a plan job took them in meanwhile
                    update(AlertRow)
                    .where(
                        AlertRow.id.in_(alert_ids),
                        AlertRow.plan_id == new_id,
                        AlertRow.status != BIN_DELETED,  # closed with its bin meanwhile
                    )
                    .values(status="failed")
                )
        return new_id
