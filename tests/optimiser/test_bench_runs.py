"""The benchmark runners' bookkeeping (``benchmarks._common``, ``benchmarks.run_all``)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import _common, run_all
from optimiser.check import check
from optimiser.params import SolveParams
from optimiser.plan import Plan, Unserved
from optimiser.problem import Problem


def test_pyvrp_then_ortools_keeps_the_complete_plan(
    random_problem: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyVRP's plan leaves stops out and so costs less: the complete OR-Tools plan is
    kept (by route cost alone, the incomplete one was). The incomplete plan is made
    before the run: made inside it, it took the whole budget, and OR-Tools had 0.1 s to
    put the stop back (too little on a busy machine, as a CI run found)."""
    from optimiser import _ortools, _pyvrp

    params = SolveParams(time_limit_s=0.5, seed=1)
    dropped = {s.ref for s in random_problem.stops[::2]}  # half the bins: surely cheaper
    rest = tuple(s for s in random_problem.stops if s.ref not in dropped)
    shorter = _ortools.solve_ortools(dataclasses.replace(random_problem, stops=rest), params)
    out = tuple(Unserved(ref=ref, reason="left out") for ref in sorted(dropped))
    left_out = dataclasses.replace(shorter, unserved=out)
    monkeypatch.setattr(_pyvrp, "solve_pyvrp", lambda problem, params: left_out)
    plan = _common.pyvrp_then_ortools(random_problem, 2.0, 1)
    assert plan.unserved == () and check(random_problem, plan) == []


def test_the_table_shows_an_engine_that_failed(tmp_path: Path) -> None:
    """A record whose first engine raised, and one whose benchmark process died, read
    "error" (the first crashed the whole table)."""
    results = tmp_path / "r.jsonl"
    lines = [
        {"instance": "102_stop", "time_limit": 1, "engine": "binroute", "error": "boom"},
        {"instance": "804_stop.txt", "error": "Traceback ..."},
    ]
    results.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    rows = run_all.table(results).splitlines()[2:]
    assert rows[0].startswith("| 102_stop | 1 | error |")
    assert rows[1].count("error") == len(run_all.COLUMNS)


def test_cpu_seconds_count_the_engines_child_processes(random_problem: Problem) -> None:
    """An engine whose work runs in a child process (as binroute's portfolio does) is
    charged that child's CPU time."""

    def in_a_child(problem: Problem, seconds: float, seed: int) -> Plan:
        busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass"
        subprocess.run([sys.executable, "-c", busy], check=True)
        return _common.ortools_engine(problem, 0.1, seed)

    out = _common.run_engine("child", in_a_child, random_problem, 0.1, 1, lambda p, plan: 0.0)
    assert out["cpu_seconds"] >= 0.5
