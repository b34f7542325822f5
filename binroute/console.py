"""The ``binroute`` command's output: errors, lines, progress bars and tables, each whole
when piped to a file or a CI log."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from scenarios.report import Table as TextTable

console = Console()


def error(err: Exception) -> None:
    """Print ``err`` as the command's error (its text verbatim: brackets are not markup; not
    folded at the console's width, so a long file path in it stays whole to copy)."""
    console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True)


def say(text: str, *, style: str | None = None) -> None:
    """One line of the command's output, as it is (no markup) and whole: not folded at the
    console's width (80 characters when piped to a file or a CI log), so that a note or a
    written path reads, greps and copies whole; a terminal wraps it on the screen."""
    console.print(text, style=style, soft_wrap=True, markup=False)


@contextmanager
def progress(description: str) -> Iterator[Any]:
    """A rich progress bar; yields a callback ``(fraction 0..1, message) -> None``."""
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=1.0)

        def update(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, description=escape(f"{description}: {message}"))

        yield update
        bar.update(task, completed=1.0)


def print_table(table: TextTable, title: str, *, right: Collection[str] = ()) -> None:
    """``table`` (its cells text) under ``title``: drawn by rich in a terminal; elsewhere (a
    file, a CI log) as markdown, each row whole on one line, where rich would cut its columns
    and fold its cells to 80 characters. ``right``: the columns aligned right (numbers)."""
    if not console.is_terminal:
        text = f"{title}\n\n{table.to_markdown()}"
        console.print(text, soft_wrap=True, markup=False, highlight=False)
        return
    drawn = Table(title=escape(title))
    for column, header in zip(table.columns, table.headers(), strict=True):
        drawn.add_column(escape(header), justify="right" if column in right else "left")
    for row in table.rows:
        drawn.add_row(*(escape(str(v)) for v in row))
    console.print(drawn)


def kpi_table(kpis: dict[str, Any]) -> TextTable:
    """The KPI dict as a two-column table, KPI and value, each number written as the
    scenarios' tables write it (:func:`scenarios.numbers.format_number`: '3,163.5', nan
    as 'n/a')."""
    from scenarios.numbers import format_number
    from scenarios.report import Table as TextTable

    rows = tuple((key, format_number(value)) for key, value in kpis.items())
    return TextTable(("KPI", "value"), rows)


SHOWN_ROWS = 20  # rows of a reasons table on the screen; plan.json keeps them all


def print_reasons(title: str, column: str, rows: Sequence[tuple[str, str]]) -> None:
    """(record, reason) rows under ``title``, the first :data:`SHOWN_ROWS` of them."""
    from scenarios.report import Table as TextTable

    shown = list(rows[:SHOWN_ROWS])
    if len(rows) > SHOWN_ROWS:
        shown.append(("...", f"and {len(rows) - SHOWN_ROWS} more in plan.json"))
    print_table(TextTable((column, "reason"), tuple(shown)), f"{title}, with reasons ({len(rows)})")
