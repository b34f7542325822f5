from __future__ import annotations

import socket
from pathlib import Path

import dask
import pytest

import scenarios.sweep
from scenarios.config import ScenarioError, config_from_dict
from scenarios.sweep import (
    SWEEP_COLUMNS,
    SweepError,
    dask_client,
    run_sweep,
    sweep_points,
    write_sweep,
)
from tests.scenarios.conftest import tiny_dict


def _cfg(**over: object):
    data = tiny_dict(
        n_bins=8,
        days=1,
        warmup_days=3,
        time_limit_s=0.2,
        policies=[{"kind": "fixed", "every_k_days": 2}, {"kind": "threshold"}],
        sweep={"fleet.trucks": [1, 2]},
    )
    data.update(over)
    return config_from_dict(data, source="sweep.toml")


def test_points_one_parameter_at_a_time() -> None:
    cfg = _cfg(sweep={"fleet.trucks": [1, 3], "threshold.fill_threshold": [0.5]})
    pts = sweep_points(cfg)
    assert [(p.parameter, p.value) for p, _ in pts] == [
        ("fleet.trucks", 1),
        ("fleet.trucks", 3),
        ("threshold.fill_threshold", 0.5),
    ]
    assert [c.fleet.trucks for _, c in pts] == [1, 3, 2]
    assert pts[2][1].policy("threshold-70%").fill_threshold == 0.5
    with pytest.raises(ScenarioError, match=r"\[sweep\]"):
        sweep_points(_cfg(sweep={}))


def test_sweep_on_an_in_process_dask_client(tmp_path: Path) -> None:
    from dask.distributed import Client

    seen: list[tuple[int, int]] = []
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as c:
        table = run_sweep(_cfg(), client=c, progress=lambda d, t, _m: seen.append((d, t)))
    assert table.columns == SWEEP_COLUMNS
    assert sorted(seen) == [(1, 2), (2, 2)]
    assert [(r[0], r[1], r[2]) for r in table.rows] == [
        ("fleet.trucks", 1, "fixed-2d"),
        ("fleet.trucks", 1, "threshold-70%"),
        ("fleet.trucks", 2, "fixed-2d"),
        ("fleet.trucks", 2, "threshold-70%"),
    ]
    files = write_sweep(table, tmp_path, _cfg())
    assert [f.name for f in files] == ["sweep.csv", "sweep.md", "sweep.png"]
    assert files[2].read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_sweep_on_a_local_cluster() -> None:
    """The real path: a LocalCluster of 2 worker processes."""
    table = run_sweep(_cfg(policies=[{"kind": "fixed"}]))
    assert [(r[0], r[1]) for r in table.rows] == [("fleet.trucks", 1), ("fleet.trucks", 2)]
    assert all(r[SWEEP_COLUMNS.index("violations")] == 0 for r in table.rows)


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    """A scheduler address nobody listens on: a SweepError naming it, not a traceback."""
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    with (
        pytest.raises(SweepError, match="cannot reach the Dask scheduler"),
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        dask_client(address),
    ):
        pass


@pytest.mark.timeout(60)  # without the probe, Client() waits for the handshake forever
def test_a_server_that_is_not_a_scheduler_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Something listens at the address (an HTTP dashboard, say) but never answers as a Dask
    scheduler: a SweepError naming the address and the fix, after a bounded wait."""
    monkeypatch.setattr(scenarios.sweep, "PROBE_TIMEOUT_S", 0.5)
    with socket.socket() as server:  # accepts connections (the kernel's backlog), silent
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(SweepError) as err, dask_client(address):
            pass
    assert repr(address) in str(err.value)
    assert "no Dask scheduler answered" in str(err.value) and "local cluster" in str(err.value)


def test_a_real_scheduler_passes_the_probe() -> None:
    from dask.distributed import LocalCluster

    with (
        LocalCluster(n_workers=0, processes=False, protocol="tcp", dashboard_address=None) as c,
        dask_client(c.scheduler_address) as client,
    ):
        assert client.scheduler.address == c.scheduler_address


def test_a_missing_city_file_stops_the_sweep_before_any_point_runs(tmp_path: Path) -> None:
    """Checked once, not in each Dask worker: the client is not even used."""
    cfg = _cfg(sweep={"city": ["helsinki", str(tmp_path / "atlantis.osm.pbf")]})
    with pytest.raises(ScenarioError, match=r"atlantis\.osm\.pbf"):
        run_sweep(cfg, client=object())


def _saved_figures(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The matplotlib figures saved from now on (the PNG is still written)."""
    from matplotlib.figure import Figure

    saved: list[object] = []
    save = Figure.savefig

    def keep(self: Figure, *args: object, **kwargs: object) -> None:
        saved.append(self)
        save(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Figure, "savefig", keep)
    return saved


def test_the_sweep_plot_labels_its_axes_and_names_non_numeric_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each panel says what its axes hold (with units); trucks tick as whole numbers and a
    swept provider reads 'street' and 'haversine', not positions 0.0 .. 1.0."""
    from scenarios.report import Table
    from scenarios.results import KPI_COLUMNS

    def row(name: str, value: object, km: float) -> tuple[object, ...]:
        kpis = dict.fromkeys(KPI_COLUMNS, 0) | {"km": km, "overflow_events": 3}
        return (name, value, "fixed-2d", *(kpis[c] for c in KPI_COLUMNS), "")

    rows = [row("fleet.trucks", 1, 40.0), row("fleet.trucks", 2, 42.5)]
    rows += [row("provider", "street", 41.0), row("provider", "haversine", 39.0)]
    saved = _saved_figures(monkeypatch)
    write_sweep(Table(SWEEP_COLUMNS, tuple(rows)), tmp_path, _cfg())
    (fig,) = saved
    trucks_km, provider_km = fig.axes[0], fig.axes[1]  # type: ignore[attr-defined]
    for ax in fig.axes:  # type: ignore[attr-defined]
        assert ax.get_xlabel() in ("fleet.trucks", "provider")
        assert ax.get_ylabel() in ("km (all compared days)", "overflow events (bins passing 100 %)")
    lo, hi = trucks_km.get_xlim()
    assert all(float(t).is_integer() for t in trucks_km.get_xticks() if lo <= t <= hi)
    assert [t.get_text() for t in provider_km.get_xticklabels()] == ["street", "haversine"]


def test_the_sweep_outputs_count_unserved_must_bins_by_reason(tmp_path: Path) -> None:
    """Every bin due every day, trucks on a 40-minute shift: some must bins go unserved.
    sweep.csv / sweep.md said how many, not why, though each run's days.csv and result.json
    did; now each row counts them by reason in days.csv's words ('' when none)."""
    import csv

    from dask.distributed import Client

    cfg = _cfg(
        policies=[{"kind": "fixed", "every_k_days": 1}],
        fleet={"trucks": 1, "shift": ["06:00", "06:40"], "break_s": 0},
        sweep={"fleet.trucks": [1, 2]},
    )
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as c:
        table = run_sweep(cfg, client=c)
    assert table.columns[-1] == "unserved_reasons"
    (csv_path, md_path, _) = write_sweep(table, tmp_path, cfg)
    with csv_path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["value"], r["policy"]) for r in rows] == [("1", "fixed-1d"), ("2", "fixed-1d")]
    assert int(rows[0]["unserved_must"]) > 0
    for r in rows:
        n = int(r["unserved_must"])
        assert r["unserved_reasons"] == (f"could not fit: shift end: {n}" if n else "")
    md = md_path.read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| parameter |"))
    assert header.endswith("| unserved_reasons |")
    one_truck = next(line for line in md.splitlines() if line.startswith("| fleet.trucks | 1 |"))
    assert one_truck.endswith(f"| could not fit: shift end: {rows[0]['unserved_must']} |")


def test_sweep_md_says_the_base_scenario_its_points_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sweep.md named the scenario alone: the values every point keeps (city, bins, days,
    fleet, seed, solver budget) and its policies, which comparison.md gives for a run, were
    not in it, so a reader of the sweep could not tell what 'fleet.trucks = 2' was a change
    of."""
    from dask.distributed import Client

    import scenarios.commands

    path = tmp_path / "base.toml"
    path.write_text(
        'name = "base"\nn_bins = 8\ndays = 1\nwarmup_days = 3\nseed = 3\ntime_limit_s = 0.2\n'
        'provider = "haversine"\n[fleet]\ntrucks = 3\n[[policies]]\nkind = "fixed"\n'
        '[sweep]\n"fleet.trucks" = [1, 2]\n'
    )
    real = scenarios.sweep.run_sweep

    def in_process(cfg: object, **_kw: object) -> object:
        with Client(processes=False, n_workers=1, dashboard_address=None) as client:
            return real(cfg, client=client)  # type: ignore[arg-type]

    monkeypatch.setattr(scenarios.commands, "run_sweep", in_process)
    _, files = scenarios.commands.sweep_file(path, tmp_path / "out")
    base = files[1].read_text(encoding="utf-8").splitlines()[2]
    assert base.startswith(f"Base scenario **base** ({path}): city helsinki, 8 bins, ")
    for words in ("1 day after 3 warm-up days", "3 trucks of 40000 l", "seed 3", "0.2 s/day"):
        assert words in base
    assert base.endswith(
        "; policies fixed-2d. Each point runs it with one parameter changed (swept: "
        "fleet.trucks = 1, 2), the others as here."
    )
