"""Solver settings: a small validated object with defaults, loadable from TOML."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from optimiser.errors import InvalidProblemError

FIRST_SOLUTION_STRATEGIES = frozenset(
    {
        "AUTOMATIC",
        "PATH_CHEAPEST_ARC",
        "PATH_MOST_CONSTRAINED_ARC",
        "SAVINGS",
        "PARALLEL_SAVINGS",
        "SWEEP",
        "CHRISTOFIDES",
        "BEST_INSERTION",
        "PARALLEL_CHEAPEST_INSERTION",
        "SEQUENTIAL_CHEAPEST_INSERTION",
        "LOCAL_CHEAPEST_INSERTION",
        "LOCAL_CHEAPEST_COST_INSERTION",
        "GLOBAL_CHEAPEST_ARC",
        "LOCAL_CHEAPEST_ARC",
        "FIRST_UNBOUND_MIN_VALUE",
    }
)
METAHEURISTICS = frozenset(
    {"AUTOMATIC", "GREEDY_DESCENT", "GUIDED_LOCAL_SEARCH", "SIMULATED_ANNEALING", "TABU_SEARCH"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveParams:
    """How long and how to search.

    Attributes
    ----------
    time_limit_s : float
        Wall-clock budget of one solve, seconds (> 0). Always applied; engine "auto"
        below ``solve.PORTFOLIO_MIN_S`` may take up to 1.5 times it when PyVRP's plan
        needs OR-Tools after it (``solve._fallback``).
    seed : int
        Random seed. OR-Tools routing search is deterministic for a given model and
        parameters (no random choices); the seed is passed to the engines that use one
        (PyVRP, CP-SAT sub-solvers). Runs cut by a time limit may still differ when the
        machine is loaded, because a different amount of search fits in the budget.
    first_solutions : tuple of str
        OR-Tools first-solution strategies tried in turn for a short share of the budget;
        the cheapest start is then improved by ``metaheuristic``.
    first_solution_share : float
        Share of ``time_limit_s`` (0..1) spent on building the starts, split over them.
    metaheuristic : str
        OR-Tools local search metaheuristic ("GUIDED_LOCAL_SEARCH", ...).
    log_search : bool
        Let OR-Tools print its search log.
    """

    time_limit_s: float = 10.0
    seed: int = 0
    first_solutions: tuple[str, ...] = (
        "PATH_CHEAPEST_ARC",
        "PARALLEL_CHEAPEST_INSERTION",
        "SAVINGS",
    )
    first_solution_share: float = 0.3
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    log_search: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_limit_s) and self.time_limit_s > 0):
            raise InvalidProblemError(
                f"time_limit_s must be a finite number of seconds > 0, got {self.time_limit_s}"
            )
        if not 0.0 < self.first_solution_share <= 1.0:
            raise InvalidProblemError("first_solution_share must be in (0, 1]")
        if not self.first_solutions:
            raise InvalidProblemError("first_solutions is empty; list at least one strategy")
        for name in self.first_solutions:
            if name not in FIRST_SOLUTION_STRATEGIES:
                raise InvalidProblemError(
                    f"unknown first-solution strategy {name!r}; "
                    f"use one of {sorted(FIRST_SOLUTION_STRATEGIES)}"
                )
        if self.metaheuristic not in METAHEURISTICS:
            raise InvalidProblemError(
                f"unknown metaheuristic {self.metaheuristic!r}; use one of {sorted(METAHEURISTICS)}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SolveParams:
        """Build from a mapping (unknown keys raise ``InvalidProblemError``)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidProblemError(
                f"unknown solve parameter(s) {sorted(unknown)}; known: {sorted(known)}"
            )
        values = dict(data)
        if "first_solutions" in values:
            values["first_solutions"] = tuple(values["first_solutions"])
        return cls(**values)

    @classmethod
    def from_toml(cls, path: str | Path, *, table: str | None = "solve") -> SolveParams:
        """Read parameters from a TOML file.

        Parameters
        ----------
        path : str or Path
            The file.
        table : str or None
            The table holding the parameters (``[solve]`` by default); None reads the top
            level. A missing table gives the defaults.
        """
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
        if table is not None:
            data = data.get(table, {})
        return cls.from_dict(data)
