from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from optimiser.plan import Unserved, UnservedKind
from scenarios.city import City
from scenarios.config import ScenarioConfig, config_from_dict
from scenarios.numbers import DECIMALS, rounded
from scenarios.report import compare, vs_first_scenario, write_comparison, write_run
from scenarios.results import CO2_KG_PER_KM, KPI_COLUMNS, ScenarioResult
from scenarios.run import run_scenario
from tests.scenarios.conftest import tiny_dict


def test_tiny_run_measures_every_policy_and_writes_files(
    tiny_config: ScenarioConfig, tiny_city: City, tmp_path: Path
) -> None:
    progress: list[float] = []
    result = run_scenario(tiny_config, city=tiny_city, progress=lambda f, _m: progress.append(f))
    assert progress[-1] == 1.0 and progress == sorted(progress)
    assert [p.policy for p in result.policies] == ["fixed-2d", "threshold-60%", "forecast"]
    for p in result.policies:
        t = p.totals
        assert set(KPI_COLUMNS) <= set(t)
        assert len(p.days) == tiny_config.days
        assert t["violations"] == 0
        assert t["km"] == rounded(sum(r.km for r in p.days))
        assert t["co2_kg"] == pytest.approx(CO2_KG_PER_KM * t["km"], abs=0.01)  # km is rounded
        assert 0.0 <= t["service_level"] <= 1.0
        if t["bins_collected"]:
            assert 0.0 < t["mean_fill_at_pickup"] <= 1.0
        else:
            assert math.isnan(t["mean_fill_at_pickup"])
    fixed = result.policy("fixed-2d")
    # 12 bins every 2 days over 3 days: 6 + 6 + 6 visits, all served in this small city
    assert [r.bins_collected for r in fixed.days] == [6, 6, 6]

    files = write_run(result, tmp_path / "run")
    names = {f.name for f in files}
    assert names == {
        "comparison.md",
        "comparison.csv",
        "days.csv",
        "unserved.csv",
        "days.png",
        "result.json",
    }
    assert all(f.stat().st_size > 0 for f in files)  # unserved.csv: its header at least
    assert (tmp_path / "run" / "days.png").read_bytes()[:4] == b"\x89PNG"
    with (tmp_path / "run" / "comparison.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["policy"] for r in rows] == ["fixed-2d", "threshold-60%", "forecast"]
    assert float(rows[0]["km_vs_first_pct"]) == 0.0
    md = (tmp_path / "run" / "comparison.md").read_text()
    assert "| scenario | policy | km |" in md
    settings = json.loads((tmp_path / "run" / "result.json").read_text())["settings"]
    assert config_from_dict(settings, source=tiny_config.source) == tiny_config  # to repeat it


def test_same_seed_same_result(tiny_config: ScenarioConfig, tiny_city: City) -> None:
    from dataclasses import replace

    cfg = replace(tiny_config, policies=tiny_config.policies[:1], days=2)
    a = run_scenario(cfg, city=tiny_city)
    b = run_scenario(cfg, city=tiny_city)
    keys = ("bins_collected", "overflow_events", "kg_collected", "overflow_l")
    assert [a.policies[0].totals[k] for k in keys] == [b.policies[0].totals[k] for k in keys]


def test_compare_two_results_relative_to_first_policy(
    tiny_config: ScenarioConfig, tiny_city: City, tmp_path: Path
) -> None:
    from dataclasses import replace

    cfg = replace(tiny_config, days=1)
    res = run_scenario(cfg, city=tiny_city)
    other = run_scenario(replace(cfg, name="tiny-b", seed=9), city=tiny_city)
    table = compare([res, other])
    assert table.column("scenario") == ["tiny"] * 3 + ["tiny-b"] * 3
    km = table.column("km")
    rel = table.column("km_vs_first_pct")
    if km[0]:
        assert rel[2] == rounded(100 * (km[2] - km[0]) / km[0])
    md, csv_path, vs_first = write_comparison([res, other], tmp_path)
    assert "tiny-b" in md.read_text() and csv_path.exists() and vs_first.exists()


def test_bins_filling_faster_than_a_day_are_emptied_twice_and_overflow_less(
    tiny_city: City,
) -> None:
    """Every bin fills ~130 %/day: emptied once a day each overflows daily; the forecast
    policy empties them early and again late in the shift (its plan checker-clean)."""
    forecast = {"name": "forecast", "kind": "forecast", "must_fill": 0.9, "may_fill": 0.6}
    cfg = config_from_dict(
        tiny_dict(
            days=2,
            time_limit_s=1.0,
            sim={"rate_median_per_day": 1.3, "rate_sigma_log": 0.05, "events_per_day": 0.0},
            policies=[{"name": "daily", "kind": "fixed", "every_k_days": 1}, forecast],
        ),
        source="fast.toml",
    )
    result = run_scenario(cfg, city=tiny_city)
    daily, twice = result.policy("daily"), result.policy("forecast")
    n = len(tiny_city.inventory.bins)
    assert all(d.bins_collected == n for d in daily.days)
    assert max(d.bins_collected for d in twice.days) > n
    assert twice.totals["violations"] == 0
    assert twice.totals["overflow_events"] < daily.totals["overflow_events"]


def test_a_bin_whose_first_visit_is_late_is_not_emptied_twice_within_the_hour(
    tiny_city: City,
) -> None:
    """40 bins filling ~130 %/day and one truck out 06:00-08:30: must bins' first visits
    miss their deadlines and are emptied late. Each stays an hour ahead of the bin's second
    visit (it had been put 90 s before it, which the simulator refuses: two emptyings of
    one bin in an hour, and the run stopped)."""
    import dataclasses
    from datetime import time

    from fleet.models import TimeWindow
    from tests.scenarios.conftest import tiny_bins

    inv = tiny_city.inventory
    short = TimeWindow(time(6), time(8, 30))
    inv = dataclasses.replace(
        inv,
        bins=tuple(tiny_bins(40)),
        vehicles=(dataclasses.replace(inv.vehicles[0], shift=short),),
    )
    forecast = {"name": "forecast", "kind": "forecast", "must_fill": 0.9, "may_fill": 0.6}
    cfg = config_from_dict(
        tiny_dict(
            n_bins=40,
            days=2,
            time_limit_s=0.5,
            sim={"rate_median_per_day": 1.3, "rate_sigma_log": 0.05, "events_per_day": 0.0},
            policies=[forecast],
        ),
        source="fast.toml",
    )
    result = run_scenario(cfg, city=dataclasses.replace(tiny_city, inventory=inv))
    assert result.policy("forecast").totals["violations"] == 0


def test_settling_days_run_first_and_are_not_counted(
    tiny_config: ScenarioConfig, tiny_city: City, tmp_path: Path
) -> None:
    """2 settling days + 1 compared day from 11-04 are the days 11-02..11-04 of a 3-day run
    from 11-02 (same city, waste and schedule); only 11-04 is counted."""
    from dataclasses import replace
    from datetime import date

    from scenarios.results import totals

    base = replace(tiny_config, policies=tiny_config.policies[:1], start=date(2026, 11, 2))
    plain = run_scenario(replace(base, days=3), city=tiny_city).policies[0]
    progress: list[float] = []
    cfg = replace(base, settle_days=2, days=1, start=date(2026, 11, 4))
    result = run_scenario(cfg, city=tiny_city, progress=lambda f, _m: progress.append(f))
    settled = result.policies[0]
    assert [r.day for r in settled.days] == [-2, -1, 0]
    assert [r.plan_date for r in settled.days] == [r.plan_date for r in plain.days]
    keys = ("bins_collected", "overflow_events", "kg")
    assert [[getattr(r, k) for k in keys] for r in settled.days] == [
        [getattr(r, k) for k in keys] for r in plain.days
    ]
    counted = totals(settled.days[2:], n_bins=12)
    for key in ("km", "truck_hours", "bins_collected", "overflow_events", "service_level"):
        assert settled.totals[key] == counted[key]
    assert settled.totals["bins_collected"] == 6  # every other bin of 12
    assert progress[-1] == 1.0 and len(progress) == 4  # the city, then 3 days
    write_run(result, tmp_path)
    with (tmp_path / "days.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["day"], r["counted"]) for r in rows] == [
        ("-2", "False"),
        ("-1", "False"),
        ("0", "True"),
    ]
    assert "2 settling days per policy (not counted)" in (tmp_path / "comparison.md").read_text()


def _weighty(city: City) -> City:
    """``city`` with every bin sensed and trucks that fill up by weight: 250 kg."""
    from dataclasses import replace

    inv = city.inventory
    return replace(
        city,
        inventory=replace(
            inv,
            bins=tuple(replace(b, has_sensor=True) for b in inv.bins),
            vehicles=tuple(replace(v, capacity_kg=250) for v in inv.vehicles),
        ),
    )


def test_weighing_sensors_keep_trucks_within_their_weight(tiny_city: City) -> None:
    """The bins' waste is three times as dense as residual's default (0.10 kg/l). Planned at
    the default, trucks leave bins overweight; with every sensor also weighing, the plans
    load each bin at the density its readings show: fewer trips over the truck, more of
    them, the same bins emptied."""
    city = _weighty(tiny_city)
    policies = [
        {"kind": "fixed", "every_k_days": 1},
        {"kind": "forecast", "must_fill": 0.9, "may_fill": 0.6},
    ]

    def run(share: float) -> dict[str, Mapping[str, float]]:
        sim = {"density_factor": 3.0, "density_sigma_log": 0.3, "weigh_share": share}
        cfg = config_from_dict(tiny_dict(sim=sim, policies=policies), source="weighing.toml")
        return {p.policy: p.totals for p in run_scenario(cfg, city=city).policies}

    plain, weighed = run(0.0), run(1.0)
    for name in ("fixed-1d", "forecast"):
        assert weighed[name]["violations"] == plain[name]["violations"] == 0
        assert weighed[name]["trips_over_capacity"] < plain[name]["trips_over_capacity"]
    assert plain["fixed-1d"]["trips_over_capacity"] >= 2
    assert weighed["fixed-1d"]["bins_collected"] == plain["fixed-1d"]["bins_collected"]
    assert weighed["fixed-1d"]["km"] > plain["fixed-1d"]["km"]  # more trips to the site


def test_a_service_level_just_short_of_one_never_reads_as_one() -> None:
    """Four overflowing bin-days in 10 000 (a Porto week): 0.9996 in the markdown table
    and the CLI's (one formatter), not 1; other fractions keep three decimals."""
    from scenarios.numbers import format_number

    assert format_number(0.9996) == "0.9996"
    assert format_number(0.99995) == "0.99995"
    assert format_number(1.0) == "1"
    assert format_number(0.71349) == "0.713"


def test_overflow_volume_counts_only_what_overflowed_in_the_compared_days(
    tiny_city: City, tmp_path: Path
) -> None:
    """Bins filling 4x a day overflow from the warm-up on; a fixed schedule every 1000 days
    empties only bin 0 (on day 0). The litres that went over the bins' capacity in the 2
    compared days are at least the waste that arrived in the never-emptied bins (all of it
    overflowed) and at most the waste that arrived in all of them: the litres the warm-up
    left above capacity are not the policy's. days.csv adds up to the table."""
    from scenarios.run import warmed_up_sim

    sim = {"rate_median_per_day": 4.0, "rate_sigma_log": 0.0, "report_prob_per_h": 0.0}
    policies = [{"kind": "fixed", "every_k_days": 1000}]
    cfg = config_from_dict(tiny_dict(sim=sim, policies=policies, days=2), source="over.toml")
    warm = warmed_up_sim(cfg, tiny_city)
    assert (warm.fill > 1.0).all()  # every bin overflows when the compared days begin
    hours = slice(int(warm.now_h), int(warm.now_h) + 24 * cfg.days)
    caps = [b.capacity_l for b in tiny_city.inventory.bins]
    arrived_l = [cap * float(warm.ex.inc[i, hours].sum()) for i, cap in enumerate(caps)]

    result = run_scenario(cfg, city=tiny_city)
    fixed = result.policies[0]
    assert [r.bins_collected for r in fixed.days] == [1, 0]  # bin 0 on day 0, then none
    assert sum(arrived_l[1:]) - 0.1 <= fixed.totals["overflow_l"] <= sum(arrived_l) + 0.1
    write_run(result, tmp_path)
    with (tmp_path / "days.csv").open() as fh:
        days_l = sum(float(r["overflow_l"]) for r in csv.DictReader(fh))
    # each day rounded in days.csv, the total once: apart by half a last decimal a day at most
    assert fixed.totals["overflow_l"] == pytest.approx(days_l, abs=10.0**-DECIMALS * cfg.days)


def test_the_comparison_names_each_scenario_s_city_and_trucks(tmp_path: Path) -> None:
    """Scenarios of different cities or fleets can be compared; comparison.md says which
    city, area and trucks (their load, size and loaded weight) each row is about."""
    from scenarios.results import ScenarioResult

    porto = "../shared/data/osm/porto_portugal.osm.pbf"
    a = config_from_dict(tiny_dict(name="hel"), source="hel.toml")
    fleet = {"trucks": 1, "capacity_l": 20000, "capacity_kg": 5000, "shift": ["05:00", "13:00"]}
    fleet |= {"truck_height_m": 2.5, "truck_weight_kg": 3500, "truck_width_m": 2.1}
    fleet |= {"truck_length_m": 6.5, "truck_axle_load_kg": 2000}
    b = config_from_dict(
        tiny_dict(name="porto", city=porto, area=[-8.7, 41.1, -8.6, 41.2], fleet=fleet),
        source="porto.toml",
    )
    results = [ScenarioResult(config=c, n_bins=12, policies=()) for c in (a, b)]
    md = (write_comparison(results, tmp_path)[0]).read_text()
    hel, por = (line for line in md.splitlines() if line.startswith("- **"))
    assert "city helsinki," in hel
    default = "3.8 m high, 2.55 m wide, 10 m long, 26 t loaded, 10 t per axle"
    assert f"2 trucks of 40000 l / 8000 kg, {default}, shift 06:00-14:00" in hel
    assert f"city {porto} (area -8.7, 41.1, -8.6, 41.2)," in por
    small = "2.5 m high, 2.1 m wide, 6.5 m long, 3.5 t loaded, 2 t per axle"
    assert f"1 truck of 20000 l / 5000 kg, {small}, shift 05:00-13:00" in por
    assert "not obeyed" not in hel and "driven through" not in hel
    free = config_from_dict(
        tiny_dict(
            name="free",
            turn_restrictions=False,
            local_access=False,
            u_turns=False,
            street_hours=False,
        ),
        source="free.toml",
    )
    table = write_comparison([ScenarioResult(config=free, n_bins=12, policies=())], tmp_path)[0]
    line = next(x for x in table.read_text().splitlines() if x.startswith("- **free"))
    rules = "turn restrictions not obeyed, local-only streets driven through, U-turns only at"
    assert f"haversine matrix, {rules} dead ends, streets' hours ignored" in line


@pytest.mark.parametrize("days", [1, 2])
def test_the_days_plot_labels_its_axes_and_ticks_whole_days(
    days: int,
    tiny_config: ScenarioConfig,
    tiny_city: City,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each panel says what its y axis holds, with units; days (and overflow events) tick
    as whole numbers, not 1.2, 1.4 ..., also in a 1-day run."""
    from dataclasses import replace

    from scenarios.report import plot_days
    from tests.scenarios.test_sweep import _saved_figures

    cfg = replace(tiny_config, policies=tiny_config.policies[:1], days=days)
    result = run_scenario(cfg, city=tiny_city)
    saved = _saved_figures(monkeypatch)
    plot_days(result, tmp_path / "days.png")
    (fig,) = saved
    axes = fig.axes  # type: ignore[attr-defined]
    assert [ax.get_ylabel() for ax in axes] == [
        "km per day",
        "bins passing 100 % per day",
        "fill (fraction of the bin)",
    ]
    for ax in axes:
        assert ax.get_xlabel() == "day (0 = first compared day, as in days.csv)"
        lo, hi = ax.get_xlim()
        assert all(float(t).is_integer() for t in ax.get_xticks() if lo <= t <= hi)
    lo, hi = axes[1].get_ylim()
    assert all(float(t).is_integer() for t in axes[1].get_yticks() if lo <= t <= hi)


def test_the_days_plot_numbers_the_days_as_days_csv_does(
    tiny_config: ScenarioConfig,
    tiny_city: City,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """days.png put the first compared day at 1, days.csv and unserved.csv number it 0: what
    the plot shows on its day 2 was the files' day 1. Now the plot's days are the files'
    (a settling day -1, left of the dashed line at -0.5)."""
    from dataclasses import replace

    from tests.scenarios.test_sweep import _saved_figures

    cfg = replace(tiny_config, policies=tiny_config.policies[:1], days=2, settle_days=1)
    result = run_scenario(cfg, city=tiny_city)
    saved = _saved_figures(monkeypatch)
    write_run(result, tmp_path)
    (fig,) = saved
    with (tmp_path / "days.csv").open() as fh:
        days = [(int(r["day"]), float(r["km"])) for r in csv.DictReader(fh)]
    assert [d for d, _ in days] == [-1, 0, 1]
    km_axis = fig.axes[0]  # type: ignore[attr-defined]
    (line,) = [ln for ln in km_axis.get_lines() if ln.get_label() == "fixed-2d"]
    assert list(zip(line.get_xdata(), line.get_ydata(), strict=True)) == days
    (settling,) = [ln for ln in km_axis.get_lines() if ln.get_linestyle() == "--"]
    assert list(settling.get_xdata()) == [-0.5, -0.5]


def test_one_overflowing_bin_day_in_30000_keeps_the_service_level_below_one() -> None:
    """2000 bins over 15 days and a single bin overflowing on one of them: 0.999967, in the
    totals and in the table, not 1 (rounded to 4 decimals it was 1.0)."""
    from datetime import date

    from scenarios.numbers import format_number
    from scenarios.results import DayRecord, totals

    def day(d: int, overflowing: int) -> DayRecord:
        zero: dict[str, Any] = {
            k: 0
            for k in DayRecord.__dataclass_fields__
            if k not in ("policy", "day", "plan_date", "overflowing_bins")
        }
        return DayRecord(
            policy="p", day=d, plan_date=date(2026, 11, 2), overflowing_bins=overflowing, **zero
        )

    level = totals([day(d, int(d == 3)) for d in range(15)], n_bins=2000)["service_level"]
    assert 0.99996 < level < 1.0
    assert format_number(level) == "0.99997"


def test_a_name_with_a_pipe_keeps_the_markdown_table_in_its_columns() -> None:
    """Scenario and policy names are free text; a '|' in one must not add a column."""
    from scenarios.report import Table

    md = Table(("scenario", "policy", "km"), (("a|b", "fixed | 2d", 1.5),)).to_markdown()
    row = md.splitlines()[2]
    assert row == "| a\\|b | fixed \\| 2d | 1.5 |"
    cells = [c for c in row.replace("\\|", "").split("|") if c.strip()]
    assert len(cells) == 3


def _made_result(name: str = "made", **totals: float):
    """A result of one policy with hand-made totals (every KPI 1.0 unless given)."""
    from scenarios.results import PolicyResult, ScenarioResult

    cfg = config_from_dict(tiny_dict(name=name), source=f"{name}.toml")
    kpis = dict.fromkeys(KPI_COLUMNS, 1.0) | totals
    policy = PolicyResult(policy="fixed-2d", kind="fixed", days=(), totals=kpis)
    return ScenarioResult(config=cfg, n_bins=12, policies=(policy,))


def test_comparison_md_says_what_the_vs_first_columns_compare_with(tmp_path: Path) -> None:
    """In a compare of two scenarios the second one's first policy reads 0 % in
    km_vs_first_pct, more km or not than the first row: comparison.md did not say that each
    scenario's policies are against its own first policy, not the table's first row."""
    from dataclasses import replace

    a = _made_result("a", km=10.0)
    made = _made_result("b", km=30.0)
    b = replace(made, policies=(replace(made.policies[0], policy="weekly"), *made.policies))
    md = write_comparison([a, b], tmp_path)[0].read_text()
    assert (
        "km_vs_first_pct and hours_vs_first_pct: each policy's km and truck_hours against the "
        "first policy of its own scenario (a: fixed-2d; b: weekly), in % (negative: fewer)."
    ) in md.splitlines()


def test_comparison_md_counts_one_day_in_the_singular(tmp_path: Path) -> None:
    """A 1-day run with 1 settling day read '1 days after 4 warm-up days and 1 settling
    days per policy'."""
    from dataclasses import replace

    made = _made_result("one")
    cfg = replace(made.config, days=1, settle_days=1, warmup_days=1)
    md = write_comparison([replace(made, config=cfg)], tmp_path)[0].read_text()
    assert "1 day after 1 warm-up day and 1 settling day per policy (not counted)" in md
    cfg = replace(cfg, days=2, settle_days=3, warmup_days=4)
    md = write_comparison([replace(made, config=cfg)], tmp_path)[0].read_text()
    assert "2 days after 4 warm-up days and 3 settling days per policy (not counted)" in md


def test_trucks_used_says_it_is_a_mean_per_day_where_people_read_it(tmp_path: Path) -> None:
    """2.5 trucks over a week read as a count ('trucks_used'); the markdown tables and the
    printed one say it is a mean per day, comparison.md says the CSV column is the same, and
    the CSV keeps the column name its readers know."""
    from scenarios.commands import shown_table
    from scenarios.report import Table
    from scenarios.sweep import SWEEP_COLUMNS, write_sweep

    result = _made_result(trucks_used=2.5)
    md_path, csv_path = write_comparison([result], tmp_path)
    md = md_path.read_text()
    header = next(line for line in md.splitlines() if line.startswith("| scenario"))
    assert "| trucks_used (mean per day) |" in header
    assert "comparison.csv and sweep.csv, trucks_used is this mean per day" in md
    with csv_path.open() as fh:
        assert next(csv.DictReader(fh))["trucks_used"] == "2.5"
    headers = shown_table([result]).headers()  # the printed table's, terminal or not
    assert "trucks_used (mean per day)" in headers and "trucks_used" not in headers
    sweep = Table(
        SWEEP_COLUMNS, (("fleet.trucks", 3, "fixed-2d", *([1.0] * len(KPI_COLUMNS)), ""),)
    )
    (_, sweep_md, _) = write_sweep(sweep, tmp_path / "sweep", result.config)
    assert "| trucks_used (mean per day) |" in sweep_md.read_text()


def _short_shift(city: City) -> City:
    """``city`` with one truck whose shift is 40 minutes: it cannot empty every bin."""
    from dataclasses import replace
    from datetime import time

    from fleet.models import TimeWindow

    inv = city.inventory
    truck = replace(inv.vehicles[0], shift=TimeWindow(time(6), time(6, 40)))
    return replace(city, inventory=replace(inv, vehicles=(truck,)))


def test_unserved_must_bins_are_counted_by_reason_in_the_outputs(
    tiny_city: City, tmp_path: Path
) -> None:
    """Every bin due every day, one truck on a 40-minute shift: some must bins go unserved.
    The outputs said how many, not why; now days.csv counts them by reason, unserved.csv
    lists each with the optimiser's words, result.json and comparison.md count them."""
    import json

    policies = [{"kind": "fixed", "every_k_days": 1}]
    cfg = config_from_dict(tiny_dict(days=2, policies=policies), source="short.toml")
    result = run_scenario(cfg, city=_short_shift(tiny_city))
    fixed = result.policies[0]
    n = int(fixed.totals["unserved_must"])
    assert n > 0
    assert fixed.unserved_by_reason == {"could not fit: shift end": n}
    kept = [u for r in fixed.days if r.counted for u in r.unserved_why]
    assert {(u.kind, u.rules) for u in kept} == {(UnservedKind.COULD_NOT_FIT, ("shift",))}
    write_run(result, tmp_path)
    with (tmp_path / "unserved.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n
    assert all(r["reason"].startswith("could not fit in any route: shift end") for r in rows)
    assert {(r["kind"], r["label"]) for r in rows} == {
        ("could_not_fit", "could not fit: shift end")
    }
    with (tmp_path / "days.csv").open() as fh:
        days = list(csv.DictReader(fh))
    for day, record in zip(days, fixed.days, strict=True):
        assert day["unserved_reasons"] == f"could not fit: shift end: {record.unserved_must}"
    doc = json.loads((tmp_path / "result.json").read_text())
    assert doc["unserved_by_reason"] == {"fixed-1d": {"could not fit: shift end": n}}
    md = (tmp_path / "comparison.md").read_text()
    assert f"- **tiny / fixed-1d**: {n} could not fit: shift end" in md


def test_no_unserved_bin_no_reasons_line(tmp_path: Path) -> None:
    result = _made_result(unserved_must=0)
    md = write_comparison([result], tmp_path)[0].read_text()
    assert "unserved, by reason" not in md


@pytest.mark.parametrize(
    ("unserved", "label"),
    [
        (
            Unserved(
                ref="b1",
                reason="could not fit in any route: shift end, truck volume (t1); stop limit (t3)",
                kind=UnservedKind.COULD_NOT_FIT,
                rules=("capacity_volume", "max_stops", "shift"),
            ),
            "could not fit: shift end, stop limit, truck volume",
        ),
        (
            Unserved(
                ref="b1", reason="could not fit in any route", kind=UnservedKind.COULD_NOT_FIT
            ),
            "could not fit in any route",
        ),
        (
            Unserved(ref="b1", reason="reworded", kind=UnservedKind.UNREACHABLE),
            "unreachable: no drivable street near it",
        ),
        (
            Unserved(ref="b1", reason="reworded", kind=UnservedKind.TOO_BIG),
            "bigger than any truck's capacity",
        ),
        (Unserved(ref="b1", reason="stored before kinds"), "stored before kinds"),
    ],
)
def test_reason_kinds_label_the_optimisers_kind_not_its_words(
    unserved: Unserved, label: str
) -> None:
    """The label comes from the kind (and the rules broken), whatever the reason says."""
    from scenarios.results import reason_kind

    assert reason_kind(unserved) == label


def test_every_kind_of_unserved_bin_has_a_label() -> None:
    """A kind added to the optimiser without a label here would be counted by its reason's
    words, one row per wording."""
    from scenarios.results import REASON_KINDS

    assert set(REASON_KINDS) == set(UnservedKind) - {UnservedKind.OTHER}
    assert len(set(REASON_KINDS.values())) == len(REASON_KINDS)


def _noisy_result():
    """A result of one policy and one day whose floats carry float noise (0.1 + 0.2 is
    0.30000000000000004), as sums of legs and loads do."""
    from datetime import date

    from scenarios.results import DayRecord, PolicyResult, ScenarioResult, totals

    cfg = config_from_dict(tiny_dict(name="noisy"), source="noisy.toml")
    floats = {k for k, f in DayRecord.__dataclass_fields__.items() if f.type == "float"}
    ints = {k for k, f in DayRecord.__dataclass_fields__.items() if f.type == "int"}
    noisy: dict[str, Any] = dict.fromkeys(floats, 12.2 + 0.1)  # 12.299999999999999
    noisy |= dict.fromkeys(ints - {"day"}, 1)
    record = DayRecord(policy="fixed-2d", day=0, plan_date=date(2026, 11, 2), **noisy)
    kpis = totals([record], n_bins=12) | {"km": 0.1 + 0.2, "truck_hours": 1 / 3}
    policy = PolicyResult(policy="fixed-2d", kind="fixed", days=(record,), totals=kpis)
    return ScenarioResult(config=cfg, n_bins=12, policies=(policy,))


def test_every_number_in_the_csv_files_is_rounded_to_the_decimals_setting(
    tmp_path: Path,
) -> None:
    """days.csv wrote each day's figures as the sums left them (km 12.299999999999999,
    0.30000000000000004) and comparison.csv the totals as given: every number in the CSV
    outputs is now rounded to ``scenarios.numbers.DECIMALS``, one setting for them all."""
    write_run(_noisy_result(), tmp_path)
    for name in ("days.csv", "comparison.csv", "unserved.csv"):
        with (tmp_path / name).open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for row in rows:
            for column, cell in row.items():
                if "." not in cell or not cell.replace(".", "").lstrip("-").isdigit():
                    continue  # not a number with decimals
                assert len(cell.split(".")[1]) <= DECIMALS, (name, column, cell)
                assert float(cell) == rounded(float(cell)), (name, column, cell)
    with (tmp_path / "days.csv").open(encoding="utf-8") as fh:
        day = next(csv.DictReader(fh))
    assert (day["km"], day["truck_hours"]) == ("12.3", "12.3")
    with (tmp_path / "comparison.csv").open(encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    assert (row["km"], row["truck_hours"]) == ("0.3", "0.333")


def _markdown_cells(md: str, header_start: str) -> dict[str, str]:
    """The first row of the markdown table whose header starts with ``header_start``, by
    column header."""
    lines = md.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(header_start))

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split(" | ")]

    return dict(zip(cells(lines[at]), cells(lines[at + 2]), strict=True))


@pytest.mark.parametrize(
    "value", [1234.5678, 31634.25, 12.3456, 2.345, 0.71349, 0.9996, 0.999967, 1.0, -12.3456, 0.0]
)
def test_a_number_reads_the_same_printed_and_in_the_markdown_files(
    value: float, tmp_path: Path
) -> None:
    """The printed tables gave numbers to 3 significant digits ('2.35', '1,234.5678') and
    comparison.md / sweep.md to 3 decimals ('2.345', '1,234.568'), an integer with
    thousands separators printed and without in the files: one formatter now writes both."""
    from scenarios.commands import shown_sweep, shown_table
    from scenarios.report import Table, label
    from scenarios.sweep import SWEEP_COLUMNS, write_sweep

    result = _made_result(km=value, bins_collected=12345, overflow_events=1234)
    printed = shown_table([result])
    shown = dict(zip(printed.headers(), printed.rows[0], strict=True))
    md = _markdown_cells(write_comparison([result], tmp_path)[0].read_text(), "| scenario")
    for column in ("km", "truck_hours", "trucks_used", "service_level", "km_vs_first_pct"):
        assert shown[label(column)] == md[label(column)], column
    kpis = [result.policies[0].totals[c] for c in KPI_COLUMNS]
    sweep = Table(SWEEP_COLUMNS, (("fleet.trucks", 3, "fixed-2d", *kpis, ""),))
    printed = shown_sweep(sweep)
    shown = dict(zip(printed.headers(), printed.rows[0], strict=True))
    md_path = write_sweep(sweep, tmp_path / "sweep", result.config)[1]
    md = _markdown_cells(md_path.read_text(), "| parameter")
    for column in ("value", "km", "truck_hours", "overflow_events", "service_level"):
        assert shown[label(column)] == md[label(column)], column
    assert md["bins_collected"] == "12,345"


def test_a_compare_gives_each_later_scenario_against_the_first(tmp_path: Path) -> None:
    """An analyst comparing a smaller fleet (b) and another city (c) with a baseline (a)
    reads each one's change against a, policy by policy, in comparison.md and
    comparison_vs_first.csv: b's fixed-2d drives 80 km where a's drove 100 (-20 %); a policy
    a lacks, or a KPI a has at 0, is n/a (nan in the CSV)."""
    from dataclasses import replace

    a = _made_result("a", km=100.0, overflow_events=0.0, mean_fill_at_pickup=0.5)
    b = _made_result("b", km=80.0, overflow_events=3.0, mean_fill_at_pickup=0.75)
    made = _made_result("c", km=150.0)
    c = replace(made, policies=(*made.policies, replace(made.policies[0], policy="weekly")))
    table = vs_first_scenario([a, b, c])
    assert table.columns[:4] == ("scenario", "policy", "km_pct", "truck_hours_pct")
    assert [r[:2] for r in table.rows] == [("b", "fixed-2d"), ("c", "fixed-2d"), ("c", "weekly")]
    assert table.column("km_pct")[:2] == [-20.0, 50.0]
    assert table.column("mean_fill_at_pickup_pct")[0] == 50.0
    assert math.isnan(table.column("overflow_events_pct")[0])  # a had none
    assert all(math.isnan(v) for v in table.rows[2][2:])  # a has no weekly policy
    files = write_comparison([a, b, c], tmp_path)
    assert [f.name for f in files] == [
        "comparison.md",
        "comparison.csv",
        "comparison_vs_first.csv",
    ]
    md = files[0].read_text()
    assert "## Against the first scenario, a" in md
    assert "| b | fixed-2d | -20 | 0 | 0 | 0 | 50 | n/a |" in md, md
    with files[2].open() as fh:
        rows = list(csv.DictReader(fh))
    assert (rows[0]["scenario"], rows[0]["km_pct"], rows[0]["overflow_events_pct"]) == (
        "b",
        "-20.0",
        "nan",
    )


def test_a_compare_of_one_scenario_writes_nothing_against_a_first(tmp_path: Path) -> None:
    files = write_comparison([_made_result("alone")], tmp_path / "one")
    assert [f.name for f in files] == ["comparison.md", "comparison.csv"]
    assert "Against the first scenario" not in files[0].read_text()
    assert vs_first_scenario([_made_result("alone")]).rows == ()


def test_underground_containers_without_a_crane_truck_are_counted_unserved() -> None:
    """A quarter of the bins need a crane: with no crane truck each policy leaves them
    unserved, labelled so in unserved.csv; with one, every policy empties them."""
    from scenarios.city import build_city
    from scenarios.results import unserved_rows

    def run(cranes: int) -> ScenarioResult:
        fleet = {"trucks": 2, "crane_trucks": cranes}
        cfg = config_from_dict(tiny_dict(crane_share=0.25, fleet=fleet), source="u.toml")
        return run_scenario(cfg, city=build_city(cfg))

    none = run(0)
    rows = unserved_rows(none)
    assert rows and {r["kind"] for r in rows} == {"equipment"}
    assert {r["label"] for r in rows} == {"no truck has the equipment it needs"}
    assert all(p.totals["violations"] == 0 for p in none.policies)
    one = run(1)
    assert unserved_rows(one) == []
    assert all(p.totals["violations"] == 0 for p in one.policies)
