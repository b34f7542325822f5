"""The collection policies compared by the scenarios, behind one small :class:`Policy` protocol.

Every policy turns what the city knows on the morning of a day (:class:`PlanContext`) into
a checked :class:`optimiser.daily.DayPlan`; all of them route with the same optimiser and
the same fleet, so they differ only in *which* bins they send the trucks to:

* :class:`FixedSchedule`: each bin every ``k`` days (bin ``i`` on the days ``d`` with
  ``(d + i) % k == 0``: the city's bins spread evenly over the k day groups), all required.
* :class:`Threshold`: sensor bins whose last reading is at least ``fill_threshold``, bins
  without a sensor (or without a reading since their last emptying) on the fixed schedule,
  and bins with a citizen report, all required.
* :class:`ForecastRouting`: :func:`optimiser.daily.plan_day`: fill forecasts, the
  MUST/MAY/SKIP collection policy and prize-collecting routing (optional bins are taken
  when their prize pays for the detour).

The fixed and threshold policies estimate each bin's load from the same fill models as the
forecast policy (the trucks' capacities need a number), at the end of the shifts, as
``fleet.policy`` does for bins without a deadline; the simulator then measures what the
trucks really load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from fleet.fill import estimate_models, match_reports, valid_reports
from fleet.forecast import FillModel
from fleet.models import (
    Action,
    Bin,
    BinDecision,
    CitizenReport,
    FillReading,
    Inventory,
    PickupRecord,
    collection_period,
)
from fleet.policy import CollectionPolicy, bin_decision
from optimiser.daily import DayPlan, Provider, plan_day, route_day
from optimiser.params import SolveParams
from scenarios.config import PolicyConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanContext:
    """What the city knows when it plans ``plan_date``: readings, reports, collection log
    (last emptying per bin and the fills the trucks recorded), up to then."""

    inventory: Inventory
    readings: Sequence[FillReading]
    reports: Sequence[CitizenReport]
    provider: Provider
    plan_date: date
    day_index: int
    tz: ZoneInfo
    params: SolveParams
    last_emptied: Mapping[str, datetime]
    pickups: Sequence[PickupRecord] = ()

    @property
    def collect_at(self) -> datetime:
        """Start of the earliest shift on the plan date (the policy's reference time)."""
        return collection_period(self.inventory, self.plan_date, self.tz)[0]

    @property
    def collect_until(self) -> datetime:
        """End of the latest shift on the plan date (the time loads are planned at)."""
        return collection_period(self.inventory, self.plan_date, self.tz)[1]

    def models(self) -> dict[str, FillModel]:
        """Fill models of every bin from the readings, reports and collection log."""
        return estimate_models(
            self.inventory.bins,
            self.readings,
            self.reports,
            now=self.collect_at,
            last_emptied=self.last_emptied,
            pickups=self.pickups,
        )


class Policy(Protocol):
    """A collection policy: a name and a day's plan from a :class:`PlanContext`."""

    @property
    def name(self) -> str:
        """Label in tables and plots."""
        ...

    def plan(self, ctx: PlanContext) -> DayPlan:
        """The checked plan of ``ctx.plan_date``."""
        ...


def _must(b: Bin, model: FillModel, period: tuple[datetime, datetime], reason: str) -> BinDecision:
    """MUST at the fill of the ``period``'s start, loading what the bin holds at its end
    (as ``fleet.policy`` plans the loads of bins without a deadline)."""
    fill = model.fill_at(period[0]).expected
    return bin_decision(b, Action.MUST, fill, reason, load=model.fill_at(period[1]).expected)


def _skip(b: Bin, reason: str) -> BinDecision:
    return BinDecision(
        bin_id=b.bin_id,
        action=Action.SKIP,
        expected_fill_fraction=0.0,
        expected_volume_l=0.0,
        expected_weight_kg=0.0,
        reason=reason,
    )


def route_decisions(
    ctx: PlanContext, decisions: Sequence[BinDecision], models: Mapping[str, FillModel]
) -> DayPlan:
    """Route the MUST/MAY bins of ``decisions`` with the optimiser (as ``plan_day`` does)."""
    return route_day(
        ctx.inventory,
        decisions,
        models,
        ctx.provider,
        plan_date=ctx.plan_date,
        tz=ctx.tz,
        params=ctx.params,
    )


def fixed_due(day_index: int, bin_index: int, every_k_days: int) -> bool:
    """Whether the fixed schedule visits bin ``bin_index`` on day ``day_index``."""
    return (day_index + bin_index) % every_k_days == 0


@dataclass(frozen=True, slots=True)
class FixedSchedule:
    """Each bin every ``every_k_days`` days, whatever its fill."""

    name: str
    every_k_days: int

    def decide(self, ctx: PlanContext, models: Mapping[str, FillModel]) -> list[BinDecision]:
        """MUST for the bins due today, SKIP for the others."""
        period = ctx.collect_at, ctx.collect_until
        return [
            _must(b, models[b.bin_id], period, f"fixed schedule: every {self.every_k_days} days")
            if fixed_due(ctx.day_index, i, self.every_k_days)
            else _skip(b, "not scheduled today")
            for i, b in enumerate(ctx.inventory.bins)
        ]

    def plan(self, ctx: PlanContext) -> DayPlan:
        """Route today's scheduled bins."""
        models = ctx.models()
        return route_decisions(ctx, self.decide(ctx, models), models)


def last_readings(
    readings: Sequence[FillReading], last_emptied: Mapping[str, datetime] | None = None
) -> dict[str, float]:
    """The latest fill fraction of each bin with readings.

    With ``last_emptied`` (the collection log), readings dated before a bin's last emptying
    are ignored: they show what the truck took away, not what the bin holds; a bin with no
    reading since is left out, as a bin without readings.
    """
    emptied = last_emptied or {}
    out: dict[str, tuple[datetime, float]] = {}
    for r in readings:
        since = emptied.get(r.bin_id)
        if since is not None and r.at < since:
            continue
        prev = out.get(r.bin_id)
        if prev is None or r.at >= prev[0]:
            out[r.bin_id] = (r.at, r.fill_fraction)
    return {k: v for k, (_, v) in out.items()}


def _blind(b: Bin, last_emptied: Mapping[str, datetime]) -> str:
    """Why the threshold policy has no reading of ``b`` to judge it by."""
    if not b.has_sensor:
        return "no sensor"
    return "no reading since emptied" if b.bin_id in last_emptied else "no reading"


@dataclass(frozen=True, slots=True)
class Threshold:
    """Collect sensor bins whose last reading is >= ``fill_threshold`` (others on schedule).

    Only readings since a bin's last emptying count: a sensor bin without one (its sensor
    silent since the truck came) goes on the fixed schedule, as a bin without a sensor.
    """

    name: str
    fill_threshold: float
    every_k_days: int

    def decide(self, ctx: PlanContext, models: Mapping[str, FillModel]) -> list[BinDecision]:
        """MUST for reported, full-enough and scheduled sensorless bins; SKIP otherwise."""
        period = ctx.collect_at, ctx.collect_until
        at = period[0]
        last = last_readings(ctx.readings, ctx.last_emptied)
        by_bin, _ = match_reports(ctx.inventory.bins, ctx.reports)
        out = []
        for i, b in enumerate(ctx.inventory.bins):
            model = models[b.bin_id]
            level = last.get(b.bin_id)
            if valid_reports(model, by_bin.get(b.bin_id, ()), at):
                out.append(_must(b, model, period, "citizen report"))
            elif b.has_sensor and level is not None:
                if level >= self.fill_threshold:
                    out.append(_must(b, model, period, f"last reading {level:.0%}"))
                else:
                    out.append(_skip(b, f"last reading {level:.0%} below threshold"))
            elif fixed_due(ctx.day_index, i, self.every_k_days):
                why = _blind(b, ctx.last_emptied)
                out.append(_must(b, model, period, f"{why}: every {self.every_k_days} days"))
            else:
                out.append(_skip(b, f"{_blind(b, ctx.last_emptied)}, not scheduled today"))
        return out

    def plan(self, ctx: PlanContext) -> DayPlan:
        """Route today's bins over the threshold."""
        models = ctx.models()
        return route_decisions(ctx, self.decide(ctx, models), models)


@dataclass(frozen=True, slots=True)
class ForecastRouting:
    """Forecast + integrated selection and routing (``optimiser.daily.plan_day``)."""

    name: str
    collection: CollectionPolicy

    def plan(self, ctx: PlanContext) -> DayPlan:
        """The day plan of the forecast policy with prizes for optional bins."""
        return plan_day(
            ctx.inventory,
            ctx.readings,
            ctx.reports,
            ctx.provider,
            plan_date=ctx.plan_date,
            tz=ctx.tz,
            policy=self.collection,
            params=ctx.params,
            last_emptied=ctx.last_emptied,
            pickups=ctx.pickups,
        )


def make_policy(cfg: PolicyConfig) -> Policy:
    """The policy object of a scenario's ``[[policies]]`` entry."""
    if cfg.kind == "fixed":
        return FixedSchedule(cfg.name, cfg.every_k_days)
    if cfg.kind == "threshold":
        return Threshold(cfg.name, cfg.fill_threshold, cfg.every_k_days)
    if cfg.kind == "forecast":
        return ForecastRouting(cfg.name, cfg.collection)
    raise ValueError(f"unknown policy kind {cfg.kind!r}")


def next_day(d: date) -> date:
    """The day after ``d``."""
    return d + timedelta(days=1)
