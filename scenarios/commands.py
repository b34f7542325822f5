"""What ``binroute scenarios run / compare / sweep`` do (the CLI only parses and prints)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from scenarios.config import ScenarioConfig, ScenarioError, load_config
from scenarios.numbers import format_number
from scenarios.report import MAIN_KPIS, Table, compare, write_comparison, write_run
from scenarios.results import KPI_COLUMNS, ScenarioResult
from scenarios.run import run_scenario
from scenarios.sweep import run_sweep, write_sweep

ProgressFn = Callable[[float, str], None]
SHOWN = (*MAIN_KPIS, "km_vs_first_pct", "hours_vs_first_pct")


def run_file(
    path: Path, out: Path, *, progress: ProgressFn | None = None
) -> tuple[ScenarioResult, tuple[Path, ...]]:
    """Run one scenario file and write its outputs into ``out / <scenario name>``."""
    cfg = load_config(path)
    result = run_scenario(cfg, progress=progress)
    return result, write_run(result, out / cfg.name)


def _distinct_names(configs: Sequence[ScenarioConfig]) -> None:
    """Each compared scenario writes into ``out / <name>``: one name, one scenario."""
    seen: dict[str, str] = {}
    for cfg in configs:
        if cfg.name in seen and Path(seen[cfg.name]).resolve() == Path(cfg.source).resolve():
            raise ScenarioError(
                f"{cfg.source} is given twice; compare each scenario file once (to compare a "
                "variant of it, copy it under another name and change the copy)"
            )
        if cfg.name in seen:
            raise ScenarioError(
                f"{seen[cfg.name]} and {cfg.source} are both named {cfg.name!r}; "
                "give each compared scenario its own name"
            )
        seen[cfg.name] = cfg.source


def compare_files(
    paths: Sequence[Path], out: Path, *, progress: ProgressFn | None = None
) -> tuple[list[ScenarioResult], tuple[Path, ...]]:
    """Run several scenario files; per-run outputs in ``out / <name>`` and one comparison."""
    configs = [load_config(p) for p in paths]  # fail fast on a bad file
    _distinct_names(configs)
    for cfg in configs:  # and on a missing city file, before the first run
        cfg.city_path()
    results: list[ScenarioResult] = []
    files: list[Path] = []
    for k, cfg in enumerate(configs):

        def tick(fraction: float, message: str, k: int = k, name: str = cfg.name) -> None:
            if progress is not None:
                progress((k + fraction) / len(configs), f"{name}: {message}")

        result = run_scenario(cfg, progress=tick)
        results.append(result)
        files += write_run(result, out / cfg.name)
    files += write_comparison(results, out)
    return results, tuple(files)


def sweep_file(
    path: Path,
    out: Path,
    *,
    scheduler: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[Table, tuple[Path, ...]]:
    """Run the ``[sweep]`` of a scenario file on Dask; outputs in ``out / <name>-sweep``."""
    cfg = load_config(path)
    table = run_sweep(cfg, scheduler=scheduler, progress=progress)
    return table, write_sweep(table, out / f"{cfg.name}-sweep", cfg)


def shown_table(results: Sequence[ScenarioResult]) -> Table:
    """The main KPIs (:data:`SHOWN`) of ``results``, one row per scenario and policy, as the
    command prints them: each cell a string, numbers as comparison.md writes them
    (:func:`~scenarios.numbers.format_number`)."""
    table = compare(results)
    idx = [table.columns.index(c) for c in SHOWN]
    rows = tuple(
        (str(row[0]), str(row[1]), *(format_number(row[j]) for j in idx)) for row in table.rows
    )
    return Table(("scenario", "policy", *SHOWN), rows)


SWEEP_SHOWN = tuple(c for c in SHOWN if c in KPI_COLUMNS)  # no *_vs_first_pct in a sweep


def shown_sweep(table: Table) -> Table:
    """The main KPIs (:data:`SWEEP_SHOWN`) of a sweep's table (:func:`run_sweep`), one row
    per point and policy, as the command prints them (sweep.md and .csv have them all), each
    number as sweep.md writes it (:func:`~scenarios.numbers.format_number`)."""
    idx = [table.columns.index(c) for c in ("parameter", "value", "policy", *SWEEP_SHOWN)]
    rows = tuple(
        (
            str(row[idx[0]]),
            format_number(row[idx[1]]),
            str(row[idx[2]]),
            *(format_number(row[j]) for j in idx[3:]),
        )
        for row in table.rows
    )
    return Table(("parameter", "value", "policy", *SWEEP_SHOWN), rows)
