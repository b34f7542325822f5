"""Run a scenario: simulate the city day by day under each policy and measure the KPIs.

For each policy the same city (same bins, same waste, same sensor noise: one seed) is
warmed up with ``warmup_days`` of a fixed every-``warmup_every_k_days`` schedule, then for
each of ``settle_days + days`` days: the policy plans from the readings, reports and
collection log so far, the trucks drive the plan (each bin is emptied at its planned visit
time), and the simulator counts what was really collected and what overflowed. The
``settle_days`` come first (day numbers -settle_days .. -1) and are not counted: they let a
policy leave the warm-up schedule behind (its last collection empties every bin at once).

KPIs per policy (totals over the compared days, numbered 0 .. days - 1):

* ``km``, ``truck_hours`` (route spans: driving, service, unloading, waiting, break),
  ``trucks_used`` (mean per day of the trucks out; a day's record has that day's count),
  ``bins_collected``, ``kg_collected`` (true loads);
* ``mean_fill_at_pickup``: mean TRUE fill at the visit, capped at 100 % (an overflowing
  bin counts as full);
* ``overflow_events`` (bins passing 100 %), ``overflow_l`` (litres that went above the
  bins' capacity during the compared days: what the bins emptied held above capacity, plus
  what the overflowing ones hold above it at the end, minus what they held above it at the
  start, which the warm-up and settling days left; each day's record counts its own day),
  ``service_level`` (share of bin-days without an overflow);
* ``co2_kg``: ``CO2_KG_PER_KM`` x km. Assumption: a diesel refuse collection truck burns
  about 0.41 l of diesel per km on collection rounds, and diesel emits 2.68 kg CO2 per litre
  (well-to-wheel excluded), i.e. about 1.1 kg CO2/km. Idling at bins is not added;
* ``unserved_must`` (required bins the routes could not take; each day's record keeps the
  optimiser's unserved entry for each, its reason and kind, and
  :meth:`PolicyResult.unserved_by_reason` counts them by :func:`reason_kind`, a label of
  the kind), ``trips_over_capacity``
  (truck trips whose TRUE load exceeded the truck in litres or kg: the forecast loads, or
  the densities they were weighed at, were too low; the crew would need an extra unload),
  ``load_error_pct`` (true minus planned litres, % of planned), ``violations`` (independent
  checker findings; 0 expected).
"""

from __future__ import annotations

import copy
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from fleet.density import planned_at_densities
from optimiser.daily import DayPlan
from optimiser.explain import UNFIT, rule_words
from optimiser.params import SolveParams
from optimiser.plan import Unserved, UnservedKind, VisitKind
from optimiser.problem import bin_of
from scenarios.city import City, build_city
from scenarios.config import ScenarioConfig
from scenarios.numbers import rounded
from scenarios.policies import PlanContext, Policy, fixed_due, make_policy
from scenarios.simulate import HOURS_PER_DAY, CitySim, DayOutcome

CO2_KG_PER_KM = 1.1
WARMUP_HOUR = 7.0
ProgressFn = Callable[[float, str], None]

KPI_COLUMNS = (
    "km",
    "truck_hours",
    "trucks_used",
    "bins_collected",
    "kg_collected",
    "mean_fill_at_pickup",
    "overflow_events",
    "overflow_l",
    "service_level",
    "co2_kg",
    "unserved_must",
    "trips_over_capacity",
    "load_error_pct",
    "violations",
    "solve_s",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DayRecord:
    """One policy's day: the plan's costs and what the city experienced.

    ``day`` counts from the first compared day (0); a settling day has a negative number.
    """

    policy: str
    day: int
    plan_date: date
    km: float
    truck_hours: float
    trucks_used: int
    bins_collected: int
    litres: float
    kg: float
    fill_sum: float  # sum of true fills at pickup (capped at 1)
    overflow_events: int
    overflow_l: float
    overflowing_bins: int
    reports: int
    unserved_must: int
    trips: int
    trips_over_capacity: int
    planned_l: float
    violations: int
    solve_s: float
    unserved_why: tuple[Unserved, ...] = ()  # the optimiser's entry of each unserved_must

    @property
    def counted(self) -> bool:
        """Whether the day is compared (in the totals); settling days are not."""
        return self.day >= 0

    @property
    def mean_fill_at_pickup(self) -> float:
        """Mean true fill (capped at 1) of the bins collected that day; nan if none."""
        return self.fill_sum / self.bins_collected if self.bins_collected else math.nan


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyResult:
    """A policy's daily records and totals (see the module docstring for the KPIs)."""

    policy: str
    kind: str
    days: tuple[DayRecord, ...]
    totals: Mapping[str, float]

    @property
    def unserved_by_reason(self) -> dict[str, int]:
        """The unserved must bins of the compared days by :func:`reason_kind`, most first."""
        kinds = Counter(reason_kind(u) for r in self.days if r.counted for u in r.unserved_why)
        return dict(kinds.most_common())


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioResult:
    """Every policy of a scenario run."""

    config: ScenarioConfig
    n_bins: int
    policies: tuple[PolicyResult, ...]
    wall_s: float = 0.0
    notes: tuple[str, ...] = field(default=())

    def policy(self, name: str) -> PolicyResult:
        """The result of the policy called ``name``."""
        for p in self.policies:
            if p.policy == name:
                return p
        raise KeyError(f"no policy {name!r} in scenario {self.config.name!r}")


# ----------------------------------------------------------------------------- one day

# a few words for each kind of unserved bin (the optimiser sets the kind, see
# optimiser.plan.UnservedKind), to count them by
REASON_KINDS: Mapping[UnservedKind, str] = {
    UnservedKind.TOO_BIG: "bigger than any truck's capacity",
    UnservedKind.SHIFTS_OVER: "every shift over",
    UnservedKind.OUT_OF_SERVICE: "every truck out of service",
    UnservedKind.SITES_CLOSED: "disposal sites closed",
    UnservedKind.WINDOW_OR_SHIFT: "time window or shift length",
    UnservedKind.UNREACHABLE: "unreachable: no drivable street near it",
    UnservedKind.STREET_CLOSED: "its street closed to trucks all their shifts",
    UnservedKind.STREAM: "no truck takes its stream",
    UnservedKind.EQUIPMENT: "no truck has the equipment it needs",
    UnservedKind.NO_SITE: "no disposal site for its trucks' streams",
    UnservedKind.NO_SOLUTION: "no solution found",
    UnservedKind.LEFT_OUT: "left out by the search (a longer time limit may serve it)",
    UnservedKind.COULD_NOT_FIT: UNFIT,
    UnservedKind.OPTIONAL: "optional: its prize does not pay",
    UnservedKind.NOT_IN_MANUAL_PLAN: "not in the manual plan",
}


def reason_kind(unserved: Unserved) -> str:
    """A label of an unserved bin's kind (:data:`REASON_KINDS`); of a bin that fits in no
    route, the rules its tries broke, e.g. ``"could not fit: shift end, truck volume"``
    (the trucks left out); of one whose kind is not recorded, its reason as it is."""
    if unserved.kind is UnservedKind.COULD_NOT_FIT and unserved.rules:
        return f"could not fit: {rule_words(unserved.rules)}"
    return REASON_KINDS.get(unserved.kind, unserved.reason)


def reasons_cell(by_reason: Mapping[str, int]) -> str:
    """Counts of unserved must bins by :func:`reason_kind` as one cell, the
    ``unserved_reasons`` of days.csv and sweep.csv: ``"label: n; label: n"`` in the order
    given (most first), ``""`` when none."""
    return "; ".join(f"{kind}: {n}" for kind, n in by_reason.items())


def _trip_loads(
    day: DayPlan, taken: Mapping[tuple[str, int], tuple[float, float]]
) -> tuple[int, int, float]:
    """(trips, trips whose true load exceeds the truck in litres or kg, planned litres) of a
    day's routes; ``taken`` maps (bin id, service start s) of each visit to what it really
    loaded (litres, kg)."""
    caps = {v.ref: (v.capacity_l, v.capacity_kg) for v in day.built.problem.vehicles}
    stops = day.built.problem.stops_by_ref()
    trips = over = 0
    planned = 0.0
    for route in day.plan.routes:
        litres = kg = 0.0
        open_trip = False
        for v in route.visits:
            if v.kind is VisitKind.BIN:
                got_l, got_kg = taken.get((bin_of(v.ref), v.start_s), (0.0, 0.0))
                litres, kg = litres + got_l, kg + got_kg
                planned += stops[v.ref].volume_l
                open_trip = True
            elif v.kind in (VisitKind.DISPOSAL, VisitKind.END) and open_trip:
                trips += 1
                cap_l, cap_kg = caps[route.vehicle_ref]
                over += litres > cap_l or kg > cap_kg
                litres, kg, open_trip = 0.0, 0.0, False
    return trips, over, planned


def emptyings_of(day: DayPlan, index: Mapping[str, int], day_h: float) -> list[tuple[int, float]]:
    """(bin index, hours since the simulation start) of every bin visit of a day plan."""
    return [
        (index[bin_of(v.ref)], day_h + v.start_s / 3600.0)
        for route in day.plan.routes
        for v in route.visits
        if v.kind is VisitKind.BIN
    ]


def _record(
    name: str,
    d: int,
    plan_date: date,
    day: DayPlan,
    out: DayOutcome,
    *,
    overflow_l: float,
) -> DayRecord:
    """The record of a simulated day; ``overflow_l`` is what overflowed during that day."""
    bins = day.inventory.bins
    day_s = 3600.0 * out.day * HOURS_PER_DAY
    taken = {
        (bins[p.bin_index].bin_id, round(p.at_h * 3600.0 - day_s)): (p.litres, p.kg)
        for p in out.pickups
    }
    trips, over, planned = _trip_loads(day, taken)
    used = [r for r in day.plan.routes if r.used]
    must = {dd.bin_id for dd in day.decisions if dd.action.value == "must"}
    return DayRecord(
        policy=name,
        day=d,
        plan_date=plan_date,
        km=sum(r.distance_m for r in used) / 1000.0,
        truck_hours=sum(r.duration_s for r in used) / 3600.0,
        trucks_used=len(used),
        bins_collected=len(out.pickups),
        litres=float(sum(p.litres for p in out.pickups)),
        kg=float(sum(p.kg for p in out.pickups)),
        fill_sum=float(sum(min(p.fill, 1.0) for p in out.pickups)),
        overflow_events=out.overflow_events,
        overflow_l=overflow_l,
        overflowing_bins=out.overflowing_bins,
        reports=out.reports,
        unserved_must=sum(bin_of(u.ref) in must for u in day.unserved),
        unserved_why=tuple(u for u in day.unserved if bin_of(u.ref) in must),
        trips=trips,
        trips_over_capacity=int(over),
        planned_l=planned,
        violations=len(day.violations),
        solve_s=day.plan.solve_time_s,
    )


# ----------------------------------------------------------------------------- runs


def warmed_up_sim(cfg: ScenarioConfig, city: City) -> CitySim:
    """The city after the warm-up days (fixed schedule at 07:00), ready for day 0."""
    bins = city.inventory.bins
    before = cfg.warmup_days + cfg.settle_days
    start = datetime.combine(cfg.start - timedelta(days=before), datetime.min.time())
    sim = CitySim.create(
        bins,
        start=start.replace(tzinfo=cfg.zone),
        days=before + cfg.days,
        seed=cfg.seed,
        config=cfg.sim,
    )
    for d in range(cfg.warmup_days):
        due = [
            (i, d * 24.0 + WARMUP_HOUR)
            for i in range(len(bins))
            if fixed_due(d, i, cfg.warmup_every_k_days)
        ]
        sim.advance_day(due)
    return sim


def run_policy(
    cfg: ScenarioConfig,
    city: City,
    policy: Policy,
    sim: CitySim,
    *,
    kind: str = "",
    progress: Callable[[int, str], None] | None = None,
) -> PolicyResult:
    """Simulate ``cfg.settle_days + cfg.days`` days of ``policy`` from the warmed-up ``sim``
    (modified); the totals count the last ``cfg.days``."""
    index = {b.bin_id: i for i, b in enumerate(city.inventory.bins)}
    params = SolveParams(time_limit_s=cfg.time_limit_s, seed=cfg.seed)
    records = []
    n_days = cfg.settle_days + cfg.days
    for d in range(-cfg.settle_days, cfg.days):
        plan_date = cfg.start + timedelta(days=d)
        day_h = sim.now_h
        readings = sim.readings_since(day_h - 24.0 * cfg.history_days)
        pickups = sim.pickups_since(day_h - 24.0 * cfg.history_days)
        # any policy's loads and fills: at the densities the weights and pickups show
        weighed, readings_now, pickups_now, _ = planned_at_densities(
            city.inventory, readings, pickups
        )
        ctx = PlanContext(
            inventory=weighed,
            readings=readings_now,
            reports=sim.reports_since(day_h - 24.0 * cfg.history_days),
            provider=city.provider,
            plan_date=plan_date,
            day_index=d,
            tz=cfg.zone,
            params=params,
            last_emptied=sim.last_emptied(),
            pickups=pickups_now,
        )
        day = policy.plan(ctx)
        open_before_l = sim.open_overflow_l()
        outcome = sim.advance_day(emptyings_of(day, index, day_h))
        # litres above capacity taken away or still there, less those there before the day
        overflowed_l = outcome.overflow_l + sim.open_overflow_l() - open_before_l
        records.append(_record(policy.name, d, plan_date, day, outcome, overflow_l=overflowed_l))
        if progress is not None:
            done = d + cfg.settle_days + 1
            progress(done, f"{policy.name}: day {done}/{n_days}")
    return PolicyResult(
        policy=policy.name,
        kind=kind,
        days=tuple(records),
        totals=totals([r for r in records if r.counted], n_bins=len(city.inventory.bins)),
    )


def totals(records: Sequence[DayRecord], *, n_bins: int) -> dict[str, float]:
    """Totals of a policy's days (KPIs of the module docstring), each float
    :func:`~scenarios.numbers.rounded` (as the CSV files write it)."""
    n_days = len(records)
    km = sum(r.km for r in records)
    picked = sum(r.bins_collected for r in records)
    planned = sum(r.planned_l for r in records)
    litres = sum(r.litres for r in records)
    out: dict[str, float] = {
        "km": km,
        "truck_hours": sum(r.truck_hours for r in records),
        "trucks_used": sum(r.trucks_used for r in records) / max(n_days, 1),
        "bins_collected": picked,
        "kg_collected": sum(r.kg for r in records),
        "mean_fill_at_pickup": sum(r.fill_sum for r in records) / picked if picked else math.nan,
        "overflow_events": sum(r.overflow_events for r in records),
        "overflow_l": sum(r.overflow_l for r in records),
        # rounded keeps one overflowing bin-day in 30 000 (2000 bins, 15 days) below 1.0
        "service_level": 1.0 - sum(r.overflowing_bins for r in records) / max(n_bins * n_days, 1),
        "co2_kg": CO2_KG_PER_KM * km,
        "unserved_must": sum(r.unserved_must for r in records),
        "trips_over_capacity": sum(r.trips_over_capacity for r in records),
        "load_error_pct": 100.0 * (litres - planned) / planned if planned else 0.0,
        "violations": sum(r.violations for r in records),
        "solve_s": sum(r.solve_s for r in records),
    }
    return {k: v if isinstance(v, int) else rounded(float(v)) for k, v in out.items()}


def run_scenario(
    config: ScenarioConfig,
    *,
    city: City | None = None,
    progress: ProgressFn | None = None,
) -> ScenarioResult:
    """Simulate every policy of ``config`` on the same city and seed.

    Parameters
    ----------
    config : ScenarioConfig
        The scenario.
    city : City, optional
        A prepared city (tests pass a hand-made one); built from the config when omitted.
    progress : callable, optional
        ``(fraction 0..1, message)`` after the city is built and after each simulated day.
    """
    t0 = time.perf_counter()
    if progress is not None:
        progress(0.0, f"building {config.name}: {config.n_bins} bins, travel matrix")
    city = city if city is not None else build_city(config)
    base = warmed_up_sim(config, city)
    per_policy = config.settle_days + config.days
    total = per_policy * len(config.policies)
    results = []
    for k, pcfg in enumerate(config.policies):

        def tick(done: int, message: str, k: int = k) -> None:
            if progress is not None:
                progress((k * per_policy + done) / total, message)

        results.append(
            run_policy(
                config, city, make_policy(pcfg), copy.deepcopy(base), kind=pcfg.kind, progress=tick
            )
        )
    return ScenarioResult(
        config=config,
        n_bins=len(city.inventory.bins),
        policies=tuple(results),
        wall_s=time.perf_counter() - t0,
    )


def day_rows(result: ScenarioResult) -> list[dict[str, Any]]:
    """Every policy's daily records as flat rows (for CSV and plots; unrounded: the CSV
    writer rounds, :func:`scenarios.report.write_run`)."""
    rows = []
    for p in result.policies:
        for r in p.days:
            row = asdict(r)
            del row["unserved_why"]  # each in unserved.csv (unserved_rows), counted here
            kinds = Counter(reason_kind(u) for u in r.unserved_why)
            row["unserved_reasons"] = reasons_cell(dict(kinds.most_common()))
            row["plan_date"] = r.plan_date.isoformat()
            row["mean_fill_at_pickup"] = r.mean_fill_at_pickup
            row["scenario"] = result.config.name
            row["counted"] = r.counted
            rows.append(row)
    return rows


def unserved_rows(result: ScenarioResult) -> list[dict[str, Any]]:
    """Every unserved must bin of every policy's days, with the optimiser's kind (its
    value, ``kind``, and :func:`reason_kind`, ``label``) and reason."""
    return [
        {
            "scenario": result.config.name,
            "policy": p.policy,
            "day": r.day,
            "plan_date": r.plan_date.isoformat(),
            "counted": r.counted,
            "bin": u.ref,
            "kind": str(u.kind),
            "label": reason_kind(u),
            "reason": u.reason,
        }
        for p in result.policies
        for r in p.days
        for u in r.unserved_why
    ]
