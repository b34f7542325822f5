"""``benchmarks.reroute``: a day plan saved by one run is rerouted by the next."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import reroute as bench


def test_a_saved_day_plan_is_rerouted_by_the_next_run_without_solving_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = tmp_path / "day.pkl"
    first = bench.run(40, 3, 1.0, 0.3, seed=1, day=day)
    assert day.exists() and first["day_plan"]["seconds"] is not None

    def no_solve(*args: object, **kwargs: object) -> None:
        raise AssertionError("the day plan was solved again")

    monkeypatch.setattr(bench, "solve", no_solve)
    second = bench.run(40, 3, 1.0, 0.3, seed=1, day=day)
    assert second["day_plan"] == {**first["day_plan"], "seconds": None, "read_from": str(day)}
    assert second["feasible"] and second["violations"] == []
    assert second["trucks_on_road"] == first["trucks_on_road"] > 0
