"""binroute optimiser: problem in, plan out.

``solve(problem, params)`` plans a day; ``check(problem, plan)`` is the independent oracle;
``reroute(problem, plan, progress, urgent, params)`` re-optimises after an overflow alert;
``build_problem(...)`` turns fleet records into the integer ``Problem``.
"""

from optimiser.build import BuiltProblem, build_problem
from optimiser.check import Score, Violation, check, plan_from_sequences, score, time_route
from optimiser.errors import InvalidProblemError
from optimiser.params import SolveParams
from optimiser.plan import Plan, PlanStatus, Route, Unserved, UnservedKind, Visit, VisitKind
from optimiser.problem import Problem, Site, Stop, VehicleSpec
from optimiser.reroute import Progress, RouteChange, reroute, route_changes, with_urgent
from optimiser.solve import solve

__all__ = [
    "BuiltProblem",
    "InvalidProblemError",
    "Plan",
    "PlanStatus",
    "Problem",
    "Progress",
    "Route",
    "RouteChange",
    "Score",
    "Site",
    "SolveParams",
    "Stop",
    "Unserved",
    "UnservedKind",
    "VehicleSpec",
    "Violation",
    "Visit",
    "VisitKind",
    "build_problem",
    "check",
    "plan_from_sequences",
    "reroute",
    "route_changes",
    "score",
    "solve",
    "time_route",
    "with_urgent",
]
