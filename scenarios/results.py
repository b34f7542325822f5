"""A scenario's results: each day's record, per policy and in all, their totals and
rows (days.csv, unserved.csv).

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

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from optimiser.explain import UNFIT, rule_words
from optimiser.plan import Unserved, UnservedKind
from scenarios.config import ScenarioConfig
from scenarios.numbers import rounded

CO2_KG_PER_KM = 1.1


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
