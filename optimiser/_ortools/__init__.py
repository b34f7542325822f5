"""OR-Tools routing engine: the ONLY package importing ortools, in its module ``model``
(``heap``, ``layout``, ``decode`` and ``engine`` compute without it).

Model
-----
Nodes are, in order: one start node and one end node per vehicle, one node per stop, then
``K`` optional copies of each disposal site (intermediate facilities: a truck may visit
several). Each node maps to a matrix row through ``_Nodes.loc``. All data goes in as
matrices or vectors (``RegisterTransitMatrix`` / ``RegisterUnaryTransitVector``), never as
per-arc Python callbacks.

* Costs: objective units are 1/3600 of a cost unit. An arc costs
  ``cost_per_km * km + cost_per_hour * (travel + service at the from-node) hours`` in its
  vehicle's cost class, and the time dimension's slack (waiting, and the break) costs
  ``cost_per_hour`` too: the search costs a route's span, as the reported route cost
  (``optimiser.costs.route_cost``) does. Counting driving and service only, it waited 3.5 h
  for an optional bin worth far less; on 60 random small problems (1 s) the sum of
  objectives fell 12 %. The finalizer starts trucks as late as possible.
* Volume and weight: "reload" dimensions. A site copy has demand ``-max capacity`` and may
  use slack up to that, so the load can drop to anything >= 0 there; every other node has
  slack 0. With ``return_empty`` the load at each vehicle end is fixed to 0, forcing a final
  disposal trip. The start cumul is the truck's initial load (rerouting).
* Daily limits: cumulative volume/weight dimensions without reset; max stops: a count
  dimension over stop nodes.
* Time: transit = travel + service/unload at the from-node, slack for waiting; windows of
  stops and site copies, a soft upper bound at a stop's response target (``due_s``, cost
  ``LATE_PER_S`` a second late; none on a stop the start leaves out), shift bounds at
  start/end, a break interval per vehicle (``SetBreakIntervalsOfVehicle`` with the node
  visit times; when rerouting, optional and performed whenever the rest of the route spans
  the break window, the checker's rule).
* Streams: ``SetAllowedVehiclesForIndex`` for stops (trucks taking the stream) and site
  copies (trucks whose every stream the site takes).
* Optional stops: ``AddDisjunction([i], prize)``; required stops have none, unless the solve
  with them all required fails: then they get a huge penalty and the dropped ones are
  reported unserved.

Search: the start is the warm start (rerouting) or ``optimiser.greedy.greedy_routes``
(nearest-neighbour routes, feasible by construction and verified by the checker), read with
``ReadAssignmentFromRoutes`` within half the time left or a second (it searches the start's
times with no limit of its own); required stops it could not place get the huge drop penalty.
OR-Tools' own first-solution strategies (``SolveParams.first_solutions``, a short share of
the budget each, greedy descent) are also tried on problems of up to ``STRATEGY_MAX_STOPS``
stops: on larger ones with site copies they rarely find anything (measured: none of
PATH_CHEAPEST_ARC, PARALLEL/SEQUENTIAL/LOCAL_CHEAPEST_INSERTION, SAVINGS within 60 s at
1000 bins). The cheapest start is improved by the configured metaheuristic for the rest of
the time limit (``SolveFromAssignmentWithParameters``) and the result kept only when
strictly cheaper, so a warm start is not changed for nothing.

Known limit (OR-Tools 9.15): with driver-break intervals on ~2000-stop models,
``SolveFromAssignmentWithParameters`` fails at once (ROUTING_FAIL) from a start that
``ReadAssignmentFromRoutes`` accepts; the plan is then the (valid) start itself. Without
breaks, or at 1000 stops, the local search runs normally.

OR-Tools routing search has no random choices: for a given model and parameters it is
deterministic, up to how much search fits in the time limit.

Memory (OR-Tools 9.15): the driver-break constraint copies the time dimension's transit
evaluator, and with it the whole time matrix (``8 * nodes**2`` bytes, about 41 MB at 2 262
nodes), each time it propagates a vehicle. glibc returns the freed copy to the system and
the next copy faults it in again: a reroute of 5 000 bins (2 262 nodes, 50 trucks) took 6 s
instead of 1.7 s in a process that had not solved a big model before (the service after a
start), and a 20 s search of the whole day 39 s. :func:`_keep_heap` asks glibc to keep
that much free memory on its heaps (``mallopt(M_TOP_PAD)``).
"""

from optimiser._ortools.engine import solve_ortools
from optimiser._ortools.heap import heap_pad_bytes

__all__ = ["heap_pad_bytes", "solve_ortools"]
