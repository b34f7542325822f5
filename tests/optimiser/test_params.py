"""SolveParams: validation and TOML loading."""

from __future__ import annotations

import pytest

from optimiser.errors import InvalidProblemError
from optimiser.params import SolveParams


@pytest.mark.parametrize(
    "kw",
    [
        {"time_limit_s": 0},
        {"time_limit_s": -1.0},
        {"time_limit_s": float("inf")},  # a budget no solver stops at
        {"time_limit_s": float("nan")},
        {"first_solutions": ()},
        {"first_solutions": ("NOPE",)},
        {"metaheuristic": "NOPE"},
        {"first_solution_share": 0.0},
    ],
)
def test_bad_params_are_rejected(kw):
    with pytest.raises(InvalidProblemError):
        SolveParams(**kw)


def test_from_toml_reads_the_solve_table(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        '[solve]\ntime_limit_s = 2.5\nseed = 7\nfirst_solutions = ["SAVINGS"]\n'
        'metaheuristic = "TABU_SEARCH"\n'
    )
    p = SolveParams.from_toml(path)
    assert (p.time_limit_s, p.seed, p.first_solutions, p.metaheuristic) == (
        2.5,
        7,
        ("SAVINGS",),
        "TABU_SEARCH",
    )


def test_from_toml_rejects_unknown_keys(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[solve]\ntime_limt_s = 2\n")
    with pytest.raises(InvalidProblemError, match="time_limt_s"):
        SolveParams.from_toml(path)


def test_missing_table_gives_defaults(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[other]\nx = 1\n")
    assert SolveParams.from_toml(path) == SolveParams()
