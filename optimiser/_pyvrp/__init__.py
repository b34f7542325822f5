"""PyVRP engine: translate a Problem to ``pyvrp.ProblemData``, solve, decode into a Plan.

This package is the only place importing ``pyvrp`` (its modules ``model``, ``search`` and
``engine``; ``terms`` and ``timing`` compute without it). The translation:

- Every depot row, disposal site and stop gets its own PyVRP location (rows may repeat).
  Disposal sites become *reload depots* (window = site window, service = unload time);
  a truck may reload at every site taking all its streams (``screen.usable_sites``).
- Identical trucks (all fields but ``ref``) share one vehicle type with ``num_available``.
- Loads: dimension 0 volume, 1 weight, and 2 a stop count per trip when some ``max_stops``
  binds and is not folded into the distance (below).
- Costs are scaled by 1000 (``unit_distance_cost`` = cost per km per metre x 1000, and so
  on), then divided by the gcd of all coefficients (PyVRP's penalty bounds are absolute);
  the decoded plan's costs come from :func:`optimiser.costs.route_cost` (span-based).
- Optional stops are non-required clients whose prize is their ``prize``.
- ``return_empty``: a truck's end depot is a virtual location "unload at the best usable
  site, then drive home": reaching it from ``x`` costs the cheapest ``x -> site ->
  end`` leg (site unload time included). The decoder then picks, for each route, the site
  (among those open) giving the cheapest end, so the plan shows the DISPOSAL visit.
- Limits of the day: PyVRP resets every load dimension at a reload, so one limit that
  spans a truck's trips is folded into the distance of a route: the daily volume limit
  (``max_daily_l``), else the daily weight limit (``max_daily_kg``), else the stop limit
  (``max_stops``) when trucks may unload during the day. Edges into stop ``j`` get
  ``+ M * q_j`` and ``max_distance = M * limit + M - 1``, where ``q_j`` is the stop's
  litres, kg or 1, and ``M`` >= :data:`DAILY_M` metres > any real route. Each truck gets
  its own ``M`` (a distance profile per ``M``) so that ``M`` times its cost per metre is one
  constant for all trucks (:func:`_fold_cost`); because each stop is served once, the
  added term is then a constant of the objective (prizes get the same term). The search
  neighbourhoods are computed on the plain distances. Needs a cost per km on every truck,
  and costs not too unlike (else the limit is left to the checker).
- Streams: trucks that do not take a stream get a PyVRP profile in which edges into those
  stops are prohibitively long.
- Driver break: PyVRP has no breaks. The model's shift ends ``break_s`` earlier, windows
  that can only be met after the break are shifted back by ``break_s``, a visit before the
  break must end by the break window's end (:func:`_model_window`), and the decoder
  inserts the break in the gap of each route where the real schedule (recomputed from the
  travel matrix with the break) meets every window and ends earliest.

Search: PyVRP's iterated local search (its default operators and parameters, seeded by
``SolveParams.seed``). When trucks carry a fixed cost and every stop is required, the
budget is split: 40 % search; up to 30 % fleet reduction (drop the shortest route, cap
that vehicle type at one truck fewer, search from the rest until feasible; kept only when
cheaper; repeated); the rest polishes the best solution. ``warm_start`` routes (e.g. from
OR-Tools) replace the random start, and so do ``optimiser.greedy``'s routes from
``GREEDY_START_MIN_STOPS`` stops on, or with a budget under ``GREEDY_START_S_PER_STOP``
seconds a stop (the random start's first descent cannot be cut short). A search with
required stops that has found no solution serving them all by half the budget gives up,
and the rest of the budget (a quarter at least) searches with them optional (each with a
drop penalty twice the most a stop can add to a plan), from the routes found so far.

Limitations (reported by :func:`optimiser.check.check`, never hidden): only one limit of
the day is folded, so with a daily volume or weight limit, ``max_stops`` counts per trip
(a third load dimension), not per day, for trucks that reload, and a daily weight limit
beside a volume limit is not encoded; site windows are ignored on the final virtual leg
during the search (the decoder falls back to an open site); the break is placed after the
search, so a route may rarely miss a window because of it. A truck the search leaves
without stops still drives to its end depot (and unloads first when loaded), but the
search does not count that drive. Response targets (``Stop.due_s``, an alert's; only
reroutes set them, and those run OR-Tools) are not modelled: ``solve``'s portfolio ranks
plans with their lateness. When PyVRP ends without a feasible solution the plan has
status ``NO_SOLUTION`` and every stop is unserved.
"""

from optimiser._pyvrp.engine import ENGINE, solve_pyvrp
from optimiser._pyvrp.model import build_model

__all__ = ["ENGINE", "build_model", "solve_pyvrp"]
