"""Sensitivity sweeps: one scenario parameter at a time, each point a full run, on Dask.

A sweep takes the ``[sweep]`` table of a scenario (parameter -> values, see
:func:`scenarios.config.with_param`) and runs the scenario once per (parameter, value), the
other parameters at their base values. Points run in parallel on a Dask cluster: a local
one (``LocalCluster(n_workers=2, threads_per_worker=1)``) by default, or an existing one
given by its scheduler address (first asked who it is: a server there that is not a Dask
scheduler is an error after :data:`PROBE_TIMEOUT_S`, not an endless wait). Every point's
city file is checked before any point runs. Results come back as they finish
(``as_completed``) and feed a progress callback.

Outputs: ``sweep.csv`` / ``sweep.md`` (one row per point and policy: the totals of
:data:`scenarios.results.KPI_COLUMNS`, then ``unserved_reasons``, the unserved must bins counted
by reason in days.csv's words, :func:`scenarios.results.reasons_cell`) and ``sweep.png`` (km and
overflow events against each parameter, a line per policy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.config import ScenarioConfig, ScenarioError, with_param
from scenarios.report import CSV_NOTE, Table, describe, whole_numbers
from scenarios.results import KPI_COLUMNS, reasons_cell
from scenarios.run import run_scenario

SWEEP_COLUMNS = ("parameter", "value", "policy", *KPI_COLUMNS, "unserved_reasons")
ProgressFn = Callable[[int, int, str], None]
PROBE_TIMEOUT_S = 10.0  # a Dask scheduler answers who it is within this, or it is not one


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One run of a sweep: the parameter changed and its value."""

    parameter: str
    value: Any


def sweep_points(cfg: ScenarioConfig) -> list[tuple[SweepPoint, ScenarioConfig]]:
    """Every (point, config) of ``cfg``'s ``[sweep]`` table, one parameter at a time.

    Raises
    ------
    ScenarioError
        No ``[sweep]`` table, or a key/value the scenario cannot take.
    """
    if not cfg.sweep:
        raise ScenarioError(f'{cfg.source}: no [sweep] table; add e.g. "fleet.trucks" = [2, 3]')
    return [
        (SweepPoint(name, value), with_param(cfg, name, value))
        for name, values in cfg.sweep
        for value in values
    ]


def run_point(cfg: ScenarioConfig) -> list[dict[str, Any]]:
    """Run one sweep point (in a Dask worker): the totals of each policy as rows, with its
    unserved must bins counted by reason (``unserved_reasons``)."""
    result = run_scenario(cfg)
    return [
        {"policy": p.policy, **p.totals, "unserved_reasons": reasons_cell(p.unserved_by_reason)}
        for p in result.policies
    ]


class SweepError(RuntimeError):
    """A sweep cannot run where it was sent (e.g. its Dask scheduler is unreachable)."""


def probe_scheduler(address: str, timeout_s: float | None = None) -> None:
    """Check that a Dask scheduler answers at ``address`` before a client connects to it.

    ``Client(address)`` waits forever for the handshake of a server that accepts the
    connection but is not a Dask scheduler (the dashboard's HTTP port 8787, say); this asks
    the server who it is and waits at most ``timeout_s`` (default :data:`PROBE_TIMEOUT_S`).

    Raises
    ------
    SweepError
        Nothing answers in time, or what answers is not a Dask scheduler (names the address).
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm.core import connect
    from distributed.security import Security

    wait_s = PROBE_TIMEOUT_S if timeout_s is None else timeout_s
    args = Security().get_connection_args("client")

    async def identity() -> Any:
        comm = await connect(address, **args)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            await comm.close()

    fix = (
        "give the address the scheduler prints (tcp://host:8786 by default; 8787 is its "
        "dashboard), start it, or leave out the scheduler address to run on a local cluster"
    )
    try:  # in a thread of its own: the caller may be inside an event loop (a notebook)
        with ThreadPoolExecutor(1) as pool:
            reply = pool.submit(asyncio.run, asyncio.wait_for(identity(), wait_s)).result()
    except TimeoutError:
        raise SweepError(
            f"cannot reach the Dask scheduler {address!r}: no Dask scheduler answered there "
            f"within {wait_s:g} s; {fix}"
        ) from None
    except (OSError, ValueError, TypeError) as err:
        raise SweepError(f"cannot reach the Dask scheduler {address!r} ({err}); {fix}") from None
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        raise SweepError(
            f"cannot reach the Dask scheduler {address!r}: what answers there is not a Dask "
            f"scheduler; {fix}"
        )


@contextmanager
def dask_client(scheduler: str | None = None, *, n_workers: int = 2) -> Iterator[Any]:
    """A Dask client: on ``scheduler`` (address) or on a fresh local cluster."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        probe_scheduler(scheduler)
        try:
            remote = Client(scheduler)
        except (OSError, ValueError) as err:
            raise SweepError(
                f"cannot reach the Dask scheduler {scheduler!r} ({err}); start it, or leave "
                "out the scheduler address to run on a local cluster"
            ) from None
        with remote as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_sweep(
    cfg: ScenarioConfig,
    *,
    scheduler: str | None = None,
    client: Any = None,
    progress: ProgressFn | None = None,
) -> Table:
    """Run every sweep point of ``cfg`` on Dask and return the table (row order = points).

    Parameters
    ----------
    cfg : ScenarioConfig
        The scenario with a ``[sweep]`` table.
    scheduler : str, optional
        Address of an existing Dask scheduler ("tcp://host:8786"); a local cluster when
        omitted (and no ``client`` is given).
    client : dask.distributed.Client, optional
        A client to use as is (tests).
    progress : callable, optional
        ``(done, total, message)`` as points finish.
    """
    points = sweep_points(cfg)
    for _, point in points:  # a missing city file stops the sweep here, not in each worker
        point.city_path()
    if client is not None:
        rows = _gather(client, points, progress)
    else:
        with dask_client(scheduler) as c:
            rows = _gather(c, points, progress)
    return Table(SWEEP_COLUMNS, tuple(rows))


def _gather(
    client: Any, points: Sequence[tuple[SweepPoint, ScenarioConfig]], progress: ProgressFn | None
) -> list[tuple[Any, ...]]:
    from dask.distributed import as_completed

    futures = {
        client.submit(run_point, c, key=f"sweep-{i}-{p.parameter}={p.value}", pure=False): i
        for i, (p, c) in enumerate(points)
    }
    done: dict[int, list[dict[str, Any]]] = {}
    for fut in as_completed(list(futures)):
        i = futures[fut]
        done[i] = fut.result()
        if progress is not None:
            p = points[i][0]
            progress(len(done), len(points), f"{p.parameter} = {p.value}")
    rows = []
    for i, (p, _) in enumerate(points):
        for r in done[i]:
            rows.append((p.parameter, p.value, *(r[c] for c in SWEEP_COLUMNS[2:])))
    return rows


def write_sweep(table: Table, out: Path, config: ScenarioConfig) -> tuple[Path, ...]:
    """``sweep.csv``, ``sweep.md`` and ``sweep.png`` in ``out`` (created); sweep.md says the
    base scenario, ``config``, whose values the points keep but the one they change."""
    out.mkdir(parents=True, exist_ok=True)
    c = config
    swept = "; ".join(f"{name} = {', '.join(map(str, values))}" for name, values in c.sweep)
    head = (
        f"# Sensitivity sweep: {c.name}\n\n"
        f"Base scenario **{c.name}** ({c.source}): {describe(c, c.n_bins)}; policies "
        f"{', '.join(p.name for p in c.policies)}. Each point runs it with one parameter "
        f"changed (swept: {swept}), the others as here.\n\n"
    )
    md = out / "sweep.md"
    md.write_text(head + table.to_markdown() + f"\n{CSV_NOTE}\n", "utf-8")
    return table.write_csv(out / "sweep.csv"), md, plot_sweep(table, out / "sweep.png", c.name)


def plot_sweep(table: Table, path: Path, title: str) -> Path:
    """km and overflow events against each swept parameter, one line per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = {
        "km": "km (all compared days)",
        "overflow_events": "overflow events (bins passing 100 %)",
    }
    params = list(dict.fromkeys(table.column("parameter")))
    fig, axes = plt.subplots(2, len(params), figsize=(5 * len(params), 7), squeeze=False)
    cols = table.columns
    for j, name in enumerate(params):
        rows = [r for r in table.rows if r[0] == name]
        values = list(dict.fromkeys(r[1] for r in rows))
        named = not all(_is_number(v) for v in values)  # names, flags: at their positions
        for policy in dict.fromkeys(r[2] for r in rows):
            mine = [r for r in rows if r[2] == policy]
            xs = [float(values.index(r[1]) if named else r[1]) for r in mine]
            for ax, key in zip(axes[:, j], ("km", "overflow_events"), strict=True):
                ax.plot(xs, [r[cols.index(key)] for r in mine], marker="o", label=policy)
                ax.set_title(f"{key} vs {name}")
                ax.set_xlabel(name)
                ax.set_ylabel(units[key])
                ax.grid(alpha=0.3)
        for ax in axes[:, j]:
            if named:
                ax.set_xticks(range(len(values)), [str(v) for v in values])
            elif all(isinstance(v, int) for v in values):  # trucks, days, seeds
                whole_numbers(ax.xaxis)
                ax.set_xlim(min(values) - 0.5, max(values) + 0.5)
        whole_numbers(axes[1, j].yaxis)  # overflow events
        axes[1, j].set_ylim(0, max(1.0, axes[1, j].get_ylim()[1]))
        axes[0, j].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _is_number(value: Any) -> bool:
    """Whether a sweep value is a finite number (not a flag or a name)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
