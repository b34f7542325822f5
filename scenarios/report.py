"""Comparison tables (markdown, CSV) and plots (matplotlib PNG) of scenario runs."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.config import ScenarioConfig, config_to_dict
from scenarios.numbers import format_number, rounded
from scenarios.results import KPI_COLUMNS, ScenarioResult, day_rows, unserved_rows

TABLE_COLUMNS = ("scenario", "policy", *KPI_COLUMNS, "km_vs_first_pct", "hours_vs_first_pct")
# what a column holds where its name alone does not say: the headers of the markdown and
# printed tables; the CSV files keep the plain names (the columns their readers know)
COLUMN_LABELS = {"trucks_used": "trucks_used (mean per day)"}
# the main KPIs: the printed tables show them, and each later scenario of a compare gives
# them against the first one, policy by policy
MAIN_KPIS = (
    "km",
    "truck_hours",
    "trucks_used",
    "kg_collected",
    "mean_fill_at_pickup",
    "overflow_events",
    "overflow_l",
    "service_level",
    "co2_kg",
)
CSV_NOTE = (
    "In comparison.csv and sweep.csv, trucks_used is this mean per day; in days.csv, the "
    "trucks out on that day."
)


def label(column: str) -> str:
    """The header of ``column`` in tables read by people (see :data:`COLUMN_LABELS`)."""
    return COLUMN_LABELS.get(column, column)


@dataclass(frozen=True, slots=True)
class Table:
    """A comparison table: column names and rows of values."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def headers(self) -> tuple[str, ...]:
        """The column headers people read (:func:`label`); the CSV keeps :attr:`columns`."""
        return tuple(label(c) for c in self.columns)

    def to_markdown(self) -> str:
        """GitHub-flavoured markdown."""
        head = "| " + " | ".join(self.headers()) + " |"
        rule = "|" + "|".join("---" for _ in self.columns) + "|"
        body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in self.rows]
        return "\n".join([head, rule, *body]) + "\n"

    def write_csv(self, path: Path) -> Path:
        """Write the table as CSV, each number :func:`~scenarios.numbers.rounded`; returns
        ``path``."""
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(self.columns)
            w.writerows(tuple(rounded(v) for v in row) for row in self.rows)
        return path

    def column(self, name: str) -> list[Any]:
        """The values of one column."""
        j = self.columns.index(name)
        return [row[j] for row in self.rows]


def cell(v: Any) -> str:
    """A markdown table's cell: a number as :func:`~scenarios.numbers.format_number` writes
    it (as the printed tables do), text with its '|' escaped (it would end the cell)."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return format_number(v)
    return str(v).replace("|", "\\|")


def _pct(value: float, base: float) -> float:
    return rounded(100.0 * (value - base) / base) if base else math.nan


def compare(results: Sequence[ScenarioResult]) -> Table:
    """One row per (scenario, policy); the ``*_vs_first_pct`` columns compare each policy
    with the first policy of its scenario (negative: fewer km / hours)."""
    rows = []
    for res in results:
        first = res.policies[0].totals if res.policies else {}
        for p in res.policies:
            t = p.totals
            rows.append(
                (
                    res.config.name,
                    p.policy,
                    *(t[c] for c in KPI_COLUMNS),
                    _pct(t["km"], first["km"]),
                    _pct(t["truck_hours"], first["truck_hours"]),
                )
            )
    return Table(TABLE_COLUMNS, tuple(rows))


def vs_first_scenario(results: Sequence[ScenarioResult]) -> Table:
    """Each later scenario's KPIs (:data:`MAIN_KPIS`) against the first scenario's, policy
    by policy (the policy of the same name), in % (negative: less); nan where the first
    scenario has no such policy, or its value is 0.

    Columns ``scenario``, ``policy``, then ``<kpi>_pct``; no rows with one scenario.
    """
    base = {p.policy: p.totals for p in results[0].policies} if results else {}
    rows = []
    for res in results[1:]:
        for p in res.policies:
            first = base.get(p.policy)
            rows.append(
                (
                    res.config.name,
                    p.policy,
                    *(
                        _pct(p.totals[k], first[k]) if first is not None else math.nan
                        for k in MAIN_KPIS
                    ),
                )
            )
    return Table(("scenario", "policy", *(f"{k}_pct" for k in MAIN_KPIS)), tuple(rows))


def _vs_first_lines(results: Sequence[ScenarioResult], table: Table) -> list[str]:
    """comparison.md's section of :func:`vs_first_scenario`'s table (none with one scenario)."""
    if len(results) < 2:
        return []
    first = results[0].config.name
    return [
        f"## Against the first scenario, {first}",
        "",
        f"Each policy's KPIs against the same policy in {first}, in % (negative: less; n/a: "
        f"{first} has no such policy, or its value is 0).",
        "",
        table.to_markdown(),
    ]


def write_comparison(results: Sequence[ScenarioResult], out: Path) -> tuple[Path, ...]:
    """``comparison.md`` and ``comparison.csv`` of ``results`` in ``out`` (created), and
    with two scenarios or more ``comparison_vs_first.csv`` (:func:`vs_first_scenario`)."""
    out.mkdir(parents=True, exist_ok=True)
    table = compare(results)
    md = out / "comparison.md"
    lines = ["# Scenario comparison", ""]
    for res in results:
        c = res.config
        lines.append(
            f"- **{c.name}** ({c.source}): {describe(c, res.n_bins)}; wall time {res.wall_s:.0f} s"
        )
    lines += ["", table.to_markdown(), CSV_NOTE, "", _base_line(results), ""]
    lines += _unserved_lines(results)
    vs_first = vs_first_scenario(results)
    lines += _vs_first_lines(results, vs_first)
    md.write_text("\n".join(lines), "utf-8")
    files = [md, table.write_csv(out / "comparison.csv")]
    if len(results) >= 2:
        files.append(vs_first.write_csv(out / "comparison_vs_first.csv"))
    return tuple(files)


def describe(c: ScenarioConfig, n_bins: int) -> str:
    """A scenario's setting in words, as comparison.md and sweep.md give it: city, ``n_bins``
    bins, sensors, days, fleet, seed, solver budget and matrix."""
    return (
        f"city {c.city}{_area(c.area)}, {n_bins} bins, {c.sensor_share:.0%} with sensors, "
        f"{f'{c.crane_share:.0%} underground (a crane empties them), ' if c.crane_share else ''}"
        f"{_count(c.days, 'day')} after {_count(c.warmup_days, 'warm-up day')}"
        f"{_settle(c.settle_days)}, "
        f"{_fleet(c)}, seed {c.seed}, solver {c.time_limit_s:g} s/day, {c.provider} matrix"
        f"{_rules_off(c)}"
    )


def _base_line(results: Sequence[ScenarioResult]) -> str:
    """What the ``*_vs_first_pct`` columns compare with: the first policy of each scenario
    (not the table's first row: two scenarios are not compared with each other there)."""
    firsts = "; ".join(f"{r.config.name}: {r.policies[0].policy}" for r in results if r.policies)
    return (
        "km_vs_first_pct and hours_vs_first_pct: each policy's km and truck_hours against the "
        f"first policy of its own scenario ({firsts}), in % (negative: fewer)."
    )


def _unserved_lines(results: Sequence[ScenarioResult]) -> list[str]:
    """Why must bins went unserved, per scenario and policy ([] when none did)."""
    lines = [
        f"- **{res.config.name} / {p.policy}**: "
        + "; ".join(f"{n} {kind}" for kind, n in p.unserved_by_reason.items())
        for res in results
        for p in res.policies
        if p.unserved_by_reason
    ]
    if not lines:
        return []
    head = "Must bins left unserved, by reason (each, in the optimiser's words: unserved.csv):"
    return [head, "", *lines, ""]


def _area(area: tuple[float, float, float, float] | None) -> str:
    return "" if area is None else f" (area {', '.join(f'{v:g}' for v in area)})"


def _fleet(c: ScenarioConfig) -> str:
    """The trucks of a scenario: how many, what each carries in one load, and its size and
    loaded weight (which streets it drives)."""
    f = c.fleet
    trucks = _count(f.trucks, "truck")
    shift = f"{f.shift[0]:%H:%M}-{f.shift[1]:%H:%M}"
    size = (
        f"{f.truck_height_m:g} m high, {f.truck_width_m:g} m wide, {f.truck_length_m:g} m "
        f"long, {f.truck_weight_kg / 1000:g} t loaded, {f.truck_axle_load_kg / 1000:g} t per axle"
    )
    cranes = f" ({f.crane_trucks} with a crane)" if f.crane_trucks else ""
    return f"{trucks}{cranes} of {f.capacity_l} l / {f.capacity_kg} kg, {size}, shift {shift}"


def _rules_off(c: ScenarioConfig) -> str:
    """', turn restrictions not obeyed, local-only streets driven through, U-turns only at
    dead ends' for the street rules the scenario sets apart from the defaults ('' when
    none)."""
    unusual = [
        words
        for apart, words in (
            (not c.turn_restrictions, "turn restrictions not obeyed"),
            (not c.local_access, "local-only streets driven through"),
            (not c.u_turns, "U-turns only at dead ends"),
            (not c.street_hours, "streets' hours ignored"),
        )
        if apart
    ]
    return "".join(f", {words}" for words in unusual)


def _settle(days: int) -> str:
    return f" and {_count(days, 'settling day')} per policy (not counted)" if days else ""


def _count(n: int, noun: str) -> str:
    """``n`` ``noun``, plural but for one: '1 day', '4 days'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def plot_days(result: ScenarioResult, path: Path) -> Path:
    """PNG with km per day, overflow events per day and mean fill at pickup, per policy;
    days numbered as in days.csv and unserved.csv (0 = the first compared day; settling
    days, negative and not counted in the totals, left of a dashed line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    days = sorted({r.day for p in result.policies for r in p.days})
    panels = (
        ("km", "km driven", "km per day"),
        ("overflow_events", "overflow events", "bins passing 100 % per day"),
        ("mean_fill_at_pickup", "mean true fill at pickup", "fill (fraction of the bin)"),
    )
    for ax, (key, title, unit) in zip(axes, panels, strict=True):
        for p in result.policies:
            ys = [getattr(r, key) for r in p.days]
            ax.plot([r.day for r in p.days], ys, marker="o", label=p.policy)
        if result.config.settle_days:
            ax.axvline(-0.5, color="grey", linestyle="--", linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("day (0 = first compared day, as in days.csv)")
        ax.set_ylabel(unit)
        whole_numbers(ax.xaxis)
        if days:
            ax.set_xlim(days[0] - 0.5, days[-1] + 0.5)
        if key == "overflow_events":
            whole_numbers(ax.yaxis)
            ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"{result.config.name}: {result.n_bins} bins")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def whole_numbers(axis: Any) -> None:
    """Tick a matplotlib axis (days, trucks, counts) at whole numbers only, even when
    its range is shorter than one (a 1-day run, no overflow at all)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def write_run(result: ScenarioResult, out: Path) -> tuple[Path, ...]:
    """All files of one run: comparison.md/.csv, days.csv, unserved.csv (every unserved
    must bin with the optimiser's reason), days.png, result.json (its ``settings``: the
    scenario as the TOML reads it, to repeat the run)."""
    out.mkdir(parents=True, exist_ok=True)
    files = list(write_comparison([result], out))
    rows = day_rows(result)
    files.append(_write_rows(out / "days.csv", rows, list(rows[0]) if rows else ["scenario"]))
    files.append(_write_rows(out / "unserved.csv", unserved_rows(result), UNSERVED_COLUMNS))
    files.append(plot_days(result, out / "days.png"))
    doc = {
        "scenario": result.config.name,
        "source": result.config.source,
        "n_bins": result.n_bins,
        "wall_s": round(result.wall_s, 1),
        "totals": {p.policy: _finite(p.totals) for p in result.policies},
        "unserved_by_reason": {p.policy: p.unserved_by_reason for p in result.policies},
        "settings": config_to_dict(result.config),
    }
    js = out / "result.json"
    js.write_text(json.dumps(doc, indent=2, allow_nan=False, default=str) + "\n", "utf-8")
    files.append(js)
    return tuple(files)


UNSERVED_COLUMNS = (
    "scenario",
    "policy",
    "day",
    "plan_date",
    "counted",
    "bin",
    "kind",
    "label",
    "reason",
)


def _write_rows(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Path:
    """``rows`` as CSV with ``columns`` (the header alone when there is no row), each number
    :func:`~scenarios.numbers.rounded`."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns))
        w.writeheader()
        w.writerows({k: rounded(v) for k, v in row.items()} for row in rows)
    return path


def _finite(values: Any) -> dict[str, Any]:
    """A KPI mapping with nan (no pickups) as None, for strict JSON."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()
    }
