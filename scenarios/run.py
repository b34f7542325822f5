"""Run a scenario: simulate the city day by day under each policy and measure the KPIs.

For each policy the same city (same bins, same waste, same sensor noise: one seed) is
warmed up with ``warmup_days`` of a fixed every-``warmup_every_k_days`` schedule, then for
each of ``settle_days + days`` days: the policy plans from the readings, reports and
collection log so far, the trucks drive the plan (each bin is emptied at its planned visit
time), and the simulator counts what was really collected and what overflowed. The
``settle_days`` come first (day numbers -settle_days .. -1) and are not counted: they let a
policy leave the warm-up schedule behind (its last collection empties every bin at once).

The KPIs and their tables are :mod:`scenarios.results`'s.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta

from fleet.weights import planned_at_densities
from optimiser.daily import DayPlan
from optimiser.params import SolveParams
from optimiser.plan import VisitKind
from optimiser.problem import bin_of
from scenarios.city import City, build_city
from scenarios.config import ScenarioConfig
from scenarios.policies import PlanContext, Policy, fixed_due, make_policy
from scenarios.results import DayRecord, PolicyResult, ScenarioResult, totals
from scenarios.simulate import HOURS_PER_DAY, CitySim, DayOutcome

WARMUP_HOUR = 7.0


ProgressFn = Callable[[float, str], None]


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
