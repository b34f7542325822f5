"""Run every Kim and CVRPLIB instance in shared/data and tabulate the JSON lines.

``python -m benchmarks.run_all --time-limit 10 --out results.jsonl`` runs
``benchmarks.kim`` / ``benchmarks.cvrplib`` once per instance (each in its own process,
so one crash does not stop the rest) and appends their JSON lines to ``--out``;
``python -m benchmarks.run_all --table results.jsonl`` prints the Markdown table used in
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BINROUTE_SHARED_DATA", REPO / ".." / "shared" / "data"))
KIM = ("102", "277", "335", "444", "804")
CVRP = ("X-n101-k25", "X-n204-k19", "X-n502-k39")
ENGINES = "binroute,ortools_plain,pyvrp,pyvrp+ortools"
COLUMNS = ("binroute", "ortools_plain", "pyvrp", "pyvrp+ortools")


def jobs() -> Iterable[tuple[str, Path]]:
    """(module, instance file) for every instance present."""
    for name in KIM:
        yield "benchmarks.kim", SHARED / "bench" / "kim2006" / f"{name}_stop.txt"
    for name in CVRP:
        yield "benchmarks.cvrplib", SHARED / "bench" / "cvrplib" / f"{name}.vrp"


def run(time_limit: float, out: Path, engines: str) -> None:
    """Run all instances, appending one JSON line each to ``out``."""
    for module, path in jobs():
        if not path.exists():
            print(f"skip {path} (absent)", file=sys.stderr)
            continue
        cmd = [sys.executable, "-W", "ignore", "-m", module, str(path)]
        cmd += ["--time-limit", str(time_limit), "--engines", engines]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
        line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if not line:
            line = json.dumps({"instance": path.name, "error": done.stderr[-500:]})
        with out.open("a") as fh:
            fh.write(line + "\n")
        print(line, flush=True)


def _cell(res: dict[str, Any] | None, gap: bool) -> str:
    if not res or "distance" not in res:
        return "error" if res else "-"
    text = f"{res['vehicles']} / {res['distance']:g}"
    if gap and res.get("gap_pct") is not None:
        text += f" ({res['gap_pct']:+.2f} %)"
    return text + ("" if res.get("feasible") else " INFEASIBLE")


def table(path: Path) -> str:
    """Markdown table: vehicles / distance per engine (CVRPLIB: gap to BKS)."""
    head = "| instance | limit s | " + " | ".join(COLUMNS) + " | reference |"
    rows = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        keys = ("vehicles", "distance", "feasible", "gap_pct", "error")
        top = {k: rec[k] for k in keys if k in rec}  # the first engine's figures, or error
        cells = [
            _cell(top if rec.get("engine") == name else rec.get(name), True) for name in COLUMNS
        ]
        if "engine" not in rec and "error" in rec:  # the benchmark process itself failed
            cells = ["error"] * len(COLUMNS)
        ref = rec.get("kim2006") or ({"bks": rec["bks"]} if rec.get("bks") else {})
        ref_text = (
            f"Kim {ref['vehicles']} / {ref['distance']}"
            if "vehicles" in ref
            else f"BKS {ref.get('bks', '-')}"
        )
        rows.append(
            f"| {rec['instance']} | {rec.get('time_limit', '')} | "
            + " | ".join(cells)
            + f" | {ref_text} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--time-limit", type=float, default=10.0)
    p.add_argument("--out", type=Path, default=Path("benchmark_results.jsonl"))
    p.add_argument("--engines", default=ENGINES)
    p.add_argument("--table", type=Path, help="print the Markdown table of a results file")
    args = p.parse_args(argv)
    if args.table:
        print(table(args.table))
    else:
        run(args.time_limit, args.out, args.engines)


if __name__ == "__main__":
    main(sys.argv[1:])
