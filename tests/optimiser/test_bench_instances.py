"""Benchmark parsers on the real Kim (2006) and CVRPLIB files (skipped when data is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.instances import (
    BenchmarkFormatError,
    hhmm_to_s,
    kim_route_miles,
    parse_cvrplib,
    parse_kim,
    read_cvrplib,
    read_cvrplib_solution,
    read_kim,
    route_cost,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("BINROUTE_SHARED_DATA", REPO / ".." / "shared" / "data"))
KIM = SHARED / "bench" / "kim2006"
CVRP = SHARED / "bench" / "cvrplib"

needs_kim = pytest.mark.skipif(not KIM.is_dir(), reason=f"{KIM} absent")
needs_cvrp = pytest.mark.skipif(not CVRP.is_dir(), reason=f"{CVRP} absent")


@pytest.mark.parametrize(
    ("hhmm", "seconds"),
    [
        (0, 0),
        (600, 6 * 3600),
        (1050, 10 * 3600 + 50 * 60),
        (775, 8 * 3600 + 15 * 60),
        (2400, 86400),
    ],
)
def test_hhmm_uses_hundreds_as_hours(hhmm: int, seconds: int) -> None:
    assert hhmm_to_s(hhmm) == seconds


@needs_kim
def test_kim_102_header_and_rows() -> None:
    problem = read_kim(KIM / "102_stop.txt")
    assert len(problem.stops) == 99
    assert len(problem.sites) == 2
    truck = problem.vehicles[0]
    assert truck.capacity_l == 280 * 100  # hundredths of a cubic yard
    assert truck.max_daily_l == 400 * 100
    assert truck.max_stops == 500
    assert truck.break_s == 3600
    assert truck.break_window_s == (11 * 3600, 12 * 3600)
    assert truck.shift_s == (4 * 3600, 15 * 3600)
    assert sum(s.volume_l for s in problem.stops) == 897 * 100
    assert all(v.start == v.end == 0 for v in problem.vehicles)


@needs_kim
def test_kim_102_example_distance_from_the_benchmark_page() -> None:
    # "stop 0 -> stop 1 = 15387 ft = 2.914 mi = 262.3 s" (row 1 is landfill 1)
    problem = read_kim(KIM / "102_stop.txt")
    miles = kim_route_miles(problem.matrix.points, [0, 1])
    assert miles == pytest.approx(15387 / 5280)
    assert round(miles, 3) == 2.914
    assert problem.matrix.duration_s[0, 1] == round(15387 / 5280 * 90)  # 262.3 s
    assert problem.matrix.distance_m[0, 1] == round(15387 * 0.3048)


@needs_kim
@pytest.mark.parametrize(
    ("name", "stops", "landfills"),
    [("277", 275, 1), ("335", 330, 4), ("444", 442, 1), ("804", 784, 19)],
)
def test_kim_tab_and_space_files_parse(name: str, stops: int, landfills: int) -> None:
    inst = parse_kim(KIM / f"{name}_stop.txt")
    assert sum(n.node_type == 1 for n in inst.nodes) == stops
    assert sum(n.node_type == 2 for n in inst.nodes) == landfills
    assert inst.speed_mph == 40
    assert inst.lunch_s == 3600


def test_kim_short_file_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad_stop.txt"
    bad.write_text("280.0 // capacity\r\n400 // daily\r\n")
    with pytest.raises(BenchmarkFormatError, match="bad_stop"):
        parse_kim(bad)


@needs_cvrp
def test_cvrplib_x_n101_k25_parses() -> None:
    problem = read_cvrplib(CVRP / "X-n101-k25.vrp")
    assert len(problem.stops) == 100
    assert problem.vehicles[0].capacity_l == 206
    assert problem.sites == ()
    inst = parse_cvrplib(CVRP / "X-n101-k25.vrp")
    assert inst.demands[0] == 0
    assert inst.coords[0] == (365.0, 689.0)


@needs_cvrp
@pytest.mark.parametrize("name", ["X-n101-k25", "X-n204-k19", "X-n502-k39"])
def test_bks_cost_recomputed_from_the_sol_routes(name: str) -> None:
    problem = read_cvrplib(CVRP / f"{name}.vrp")
    routes, stated = read_cvrplib_solution(CVRP / f"{name}.sol")
    served = sorted(c for r in routes for c in r)
    assert served == list(range(1, len(problem.stops) + 1))
    assert route_cost(problem.matrix.distance_m, routes) == stated
    demand = {int(s.ref): s.volume_l for s in problem.stops}
    assert all(sum(demand[c] for c in r) <= problem.vehicles[0].capacity_l for r in routes)


def test_cvrplib_rejects_other_edge_weights(tmp_path: Path) -> None:
    bad = tmp_path / "bad.vrp"
    bad.write_text(
        "NAME : bad\nTYPE : CVRP\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : GEO\nCAPACITY : 5\n"
        "NODE_COORD_SECTION\n1 0 0\n2 1 1\nDEMAND_SECTION\n1 0\n2 1\n"
        "DEPOT_SECTION\n1\n-1\nEOF\n"
    )
    with pytest.raises(BenchmarkFormatError, match="EUC_2D"):
        parse_cvrplib(bad)


@needs_kim
def test_kim_benchmark_can_minimise_distance_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--fixed-cost 0``: the trucks of the solved problem cost nothing, and the JSON line
    says which objective ran."""
    import json

    from benchmarks import kim

    solved = []

    def read(path: Path, **kw: int):
        solved.append(read_kim(path, **kw))
        return solved[-1]

    monkeypatch.setattr(kim, "read_kim", read)
    argv = [str(KIM / "102_stop.txt"), "--time-limit", "1", "--engines", "binroute"]
    kim.main([*argv, "--fixed-cost", "0"])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["fixed_cost"] == 0 and line["feasible"] is True
    assert [v.fixed_cost for v in solved[0].vehicles] == [0] * len(solved[0].vehicles)
    kim.main(argv)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["fixed_cost"] > 0
    assert all(v.fixed_cost > 0 for v in solved[1].vehicles)
    with pytest.raises(SystemExit):
        kim.main([*argv, "--fixed-cost", "-5"])
    assert "--fixed-cost: must be >= 0, got -5" in capsys.readouterr().err
