"""``binroute scenarios``: simulate weeks of a city and compare collection policies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from binroute.console import error, print_table, progress, say


def _print_comparison(results: Sequence[Any], title: str = "Scenario comparison") -> None:
    """The scenarios' KPI table (:func:`print_table`: markdown when not in a terminal)."""
    from scenarios.commands import SHOWN, shown_table

    print_table(shown_table(results), title, right=SHOWN)


scenarios_app = typer.Typer(
    help="Simulate weeks of a city and compare collection policies.", no_args_is_help=True
)
ScenarioOutOpt = Annotated[Path, typer.Option(help="Directory for tables, CSV and plots")]


@scenarios_app.command("run")
def scenarios_run(
    file: Annotated[Path, typer.Argument(help="Scenario TOML (or a name in scenarios/catalog)")],
    out: ScenarioOutOpt = Path("binroute-scenarios"),
) -> None:
    """Simulate one scenario under each of its policies; write comparison.md/.csv and plots."""
    from fleet.errors import FleetDataError
    from scenarios.commands import run_file
    from scenarios.config import ScenarioError

    try:
        with progress("scenario") as update:
            result, files = run_file(file, out, progress=update)
    except (ScenarioError, FleetDataError) as err:
        error(err)
        raise typer.Exit(code=2) from None
    _print_comparison([result], f"{result.config.name}: {result.n_bins} bins")
    for path in files:
        say(f"wrote {path}")


@scenarios_app.command("compare")
def scenarios_compare(
    files: Annotated[list[Path], typer.Argument(help="Scenario TOML files")],
    out: ScenarioOutOpt = Path("binroute-scenarios"),
) -> None:
    """Run several scenarios and write one comparison table (markdown and CSV)."""
    from fleet.errors import FleetDataError
    from scenarios.commands import compare_files
    from scenarios.config import ScenarioError

    try:
        with progress("scenarios") as update:
            results, written = compare_files(files, out, progress=update)
    except (ScenarioError, FleetDataError) as err:
        error(err)
        raise typer.Exit(code=2) from None
    _print_comparison(results)
    for path in written:
        say(f"wrote {path}")


@scenarios_app.command("sweep")
def scenarios_sweep(
    file: Annotated[
        Path, typer.Argument(help=escape("Scenario TOML with a [sweep] table"))  # not markup
    ],
    out: ScenarioOutOpt = Path("binroute-scenarios"),
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (default: a local cluster)")
    ] = None,
) -> None:
    """Sensitivity sweep (one parameter at a time) on Dask, with a progress bar."""
    from fleet.errors import FleetDataError
    from scenarios.commands import SWEEP_SHOWN, shown_sweep, sweep_file
    from scenarios.config import ScenarioError
    from scenarios.sweep import SweepError

    try:
        with progress("sweep") as update:

            def points(done: int, total: int, message: str) -> None:
                update(done / total, f"{done}/{total} points ({message} done)")

            table, written = sweep_file(file, out, scheduler=scheduler, progress=points)
    except (ScenarioError, FleetDataError, SweepError) as err:
        error(err)
        raise typer.Exit(code=2) from None
    title = "Sensitivity sweep (sweep.md and sweep.csv have every KPI)"
    print_table(shown_sweep(table), title, right=SWEEP_SHOWN)
    for path in written:
        say(f"wrote {path}")
