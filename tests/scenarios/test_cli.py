from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from binroute.cli import app

TINY = """
name = "{name}"
city = "helsinki"
n_bins = 10
sensor_share = 0.8
warmup_days = 3
days = 2
seed = {seed}
time_limit_s = 0.2
provider = "haversine"

[fleet]
trucks = 2

[[policies]]
kind = "fixed"
every_k_days = 2

[[policies]]
kind = "forecast"

[sweep]
"fleet.trucks" = [1, 2]
"""


def _toml(tmp_path: Path, name: str, seed: int = 1) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(TINY.format(name=name, seed=seed))
    tomllib.loads(path.read_text())  # the fixture itself is valid TOML
    return path


def test_scenarios_run_writes_table_csv_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["scenarios", "run", str(_toml(tmp_path, "a")), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output
    for name in ("comparison.md", "comparison.csv", "days.csv", "days.png", "result.json"):
        assert (out / "a" / name).is_file()
    with (out / "a" / "comparison.csv").open() as fh:
        assert [r["policy"] for r in csv.DictReader(fh)] == ["fixed-2d", "forecast"]


def test_scenarios_compare_two_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = [str(_toml(tmp_path, "a")), str(_toml(tmp_path, "b", seed=2))]
    res = CliRunner().invoke(app, ["scenarios", "compare", *files, "--out", str(out)])
    assert res.exit_code == 0, res.output
    with (out / "comparison.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["scenario"], r["policy"]) for r in rows] == [
        ("a", "fixed-2d"),
        ("a", "forecast"),
        ("b", "fixed-2d"),
        ("b", "forecast"),
    ]
    assert (out / "a" / "days.png").is_file() and (out / "b" / "days.png").is_file()


def test_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    """The error names the key and the file, its path whole (not folded at 80 columns)."""
    folder = tmp_path / ("scenarios_of_the_city_" * 4)
    folder.mkdir()
    bad = folder / "bad.toml"
    bad.write_text('name = "x"\nn_bins = -1\n[[policies]]\nkind = "fixed"\n')
    res = CliRunner().invoke(app, ["scenarios", "run", str(bad)])
    assert res.exit_code == 2
    assert "n_bins" in res.output and str(bad) in res.output


@pytest.mark.slow
def test_scenarios_sweep_on_local_cluster(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["scenarios", "sweep", str(_toml(tmp_path, "s")), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    with (out / "s-sweep" / "sweep.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["parameter"], r["value"]) for r in rows] == [("fleet.trucks", "1")] * 2 + [
        ("fleet.trucks", "2")
    ] * 2
    assert (out / "s-sweep" / "sweep.png").is_file()


def test_an_error_keeps_its_bracketed_example(tmp_path: Path) -> None:
    """The message's ``[min_lon, min_lat, max_lon, max_lat]`` is text, not console markup."""
    bad = tmp_path / "area.toml"
    bad.write_text('name = "x"\narea = [1, 2, 3]\n[[policies]]\nkind = "fixed"\n')
    res = CliRunner().invoke(app, ["scenarios", "run", str(bad)])
    assert res.exit_code == 2
    assert "[min_lon, min_lat, max_lon, max_lat]" in " ".join(res.output.split())


def test_compare_refuses_two_scenarios_of_one_name(tmp_path: Path) -> None:
    """Each writes into ``out/<name>``: the second would overwrite the first's files."""
    (tmp_path / "other").mkdir()
    files = [str(_toml(tmp_path, "a")), str(_toml(tmp_path / "other", "a", seed=2))]
    res = CliRunner().invoke(app, ["scenarios", "compare", *files, "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "both named 'a'" in res.output


def test_compare_checks_every_city_file_before_running(tmp_path: Path) -> None:
    """B's city file is missing: nothing runs (A used to run in full before B failed)."""
    out = tmp_path / "out"
    b = _toml(tmp_path, "b")
    b.write_text(b.read_text().replace('city = "helsinki"', f'city = "{tmp_path}/typo.osm.pbf"'))
    res = CliRunner().invoke(
        app, ["scenarios", "compare", str(_toml(tmp_path, "a")), str(b), "--out", str(out)]
    )
    assert res.exit_code == 2
    assert "typo.osm.pbf" in "".join(res.output.split()) and "b.toml" in res.output
    assert not (out / "a").exists()


def test_sim_step_h_is_a_clear_error(tmp_path: Path) -> None:
    bad = _toml(tmp_path, "a")
    bad.write_text(bad.read_text().replace("[fleet]", "[sim]\nstep_h = 0.5\n\n[fleet]"))
    res = CliRunner().invoke(app, ["scenarios", "run", str(bad)])
    assert res.exit_code == 2
    assert "sim.step_h must be 1.0" in " ".join(res.output.split())


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_a_data_error_of_the_simulation_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """A FleetDataError raised while the scenario runs: its message, exit code 2."""
    from fleet.errors import FleetDataError

    def refuse(*_args: object, **_kw: object) -> None:
        raise FleetDataError("CitySim steps hourly; set sim.step_h = 1.0")

    monkeypatch.setattr("scenarios.commands.run_scenario", refuse)
    monkeypatch.setattr("scenarios.commands.run_sweep", refuse)
    res = CliRunner().invoke(app, ["scenarios", command, str(_toml(tmp_path, "a"))])
    assert res.exit_code == 2, res.output
    assert "CitySim steps hourly" in res.output


def test_compare_refuses_one_file_given_twice_saying_so(tmp_path: Path) -> None:
    """Not 'both named': the same file, by any path to it."""
    a = _toml(tmp_path, "a")
    same = tmp_path / "." / "a.toml"
    res = CliRunner().invoke(
        app, ["scenarios", "compare", str(a), str(same), "--out", str(tmp_path / "out")]
    )
    assert res.exit_code == 2
    assert "is given twice; compare each scenario file once" in " ".join(res.output.split())
    assert not (tmp_path / "out").exists()


def test_the_printed_table_is_whole_when_output_is_not_a_terminal(tmp_path: Path) -> None:
    """Piped to a file or a CI log, rich cut the table to 80 characters ('km_vs_…', values
    folded); there it is printed as markdown: every shown column, every row on one line."""
    from scenarios.commands import SHOWN
    from scenarios.report import label

    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["scenarios", "run", str(_toml(tmp_path, "a")), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    header = "| " + " | ".join(["scenario", "policy", *map(label, SHOWN)]) + " |"
    assert header in lines
    rows = [line for line in lines if line.startswith("| a | ")]
    assert [row.split(" | ")[1] for row in rows] == ["fixed-2d", "forecast"]
    assert all(row.count(" | ") == len(SHOWN) + 1 for row in rows)
    assert "…" not in res.output


def test_sweep_prints_its_main_kpis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`scenarios sweep` printed '4 rows' and the paths: no figure of any point, where `run`
    and `compare` print their main KPIs. Now a row per point and policy (markdown here, the
    output being no terminal)."""
    from scenarios.commands import SWEEP_SHOWN
    from scenarios.report import Table, label
    from scenarios.results import KPI_COLUMNS
    from scenarios.sweep import SWEEP_COLUMNS

    def row(trucks: int, policy: str, km: float, overflows: int) -> tuple[object, ...]:
        kpis = dict.fromkeys(KPI_COLUMNS, 0) | {"km": km, "overflow_events": overflows}
        return ("fleet.trucks", trucks, policy, *(kpis[c] for c in KPI_COLUMNS), "")

    made = [row(1, "fixed-2d", 40.5, 3), row(1, "forecast", 38.0, 1)]
    made += [row(2, "fixed-2d", 44.25, 0), row(2, "forecast", 41.0, 0)]
    monkeypatch.setattr(
        "scenarios.commands.run_sweep", lambda *_a, **_k: Table(SWEEP_COLUMNS, tuple(made))
    )
    res = CliRunner().invoke(
        app, ["scenarios", "sweep", str(_toml(tmp_path, "a")), "--out", str(tmp_path / "out")]
    )
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    header = "| " + " | ".join(["parameter", "value", "policy", *map(label, SWEEP_SHOWN)]) + " |"
    assert header in lines
    printed = [line.split(" | ") for line in lines if line.startswith("| fleet.trucks | ")]
    km, overflows = 3 + SWEEP_SHOWN.index("km"), 3 + SWEEP_SHOWN.index("overflow_events")
    assert [(r[1], r[2], r[km], r[overflows]) for r in printed] == [
        ("1", "fixed-2d", "40.5", "3"),
        ("1", "forecast", "38", "1"),  # as sweep.md writes it
        ("2", "fixed-2d", "44.25", "0"),
        ("2", "forecast", "41", "0"),
    ]
