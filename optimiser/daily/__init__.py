"""The daily planning job: readings -> forecast -> bin selection -> routes -> KPIs.

This is the pipeline behind ``binroute demo``, the nightly run of the service and the
scenario simulator. It glues fleet (forecast, policy) to the optimiser (build, solve, check).

- :mod:`~optimiser.daily.dayplan`: :class:`DayPlan`, what every job returns, its KPIs and
  the day's local clock;
- :mod:`~optimiser.daily.planning`: :func:`plan_day` (a day from readings) and
  :func:`route_day` (a day from decisions made elsewhere);
- :mod:`~optimiser.daily.rerouting` and :mod:`~optimiser.daily.replanning`: a day being
  driven, after overflow alerts (:func:`reroute_day`) or with the bins chosen again
  (:func:`replan_day`), from what :mod:`~optimiser.daily.driven` shares between them;
- :mod:`~optimiser.daily.places` (on the map or not, matrix rows),
  :mod:`~optimiser.daily.deadlines` (must bins late rather than never),
  :mod:`~optimiser.daily.off_route` (bins emptied off a route),
  :mod:`~optimiser.daily.fleet_now` (records changed during the day) and
  :mod:`~optimiser.daily.stranded` (trucks that cannot unload or get home in time).
"""

from optimiser.daily.dayplan import (
    ALERT,
    DayPlan,
    ProgressFn,
    Provider,
    compute_kpis,
    fill_at_pickup,
    planned_weights,
    waiting_at_depot_s,
)
from optimiser.daily.driven import found_loads
from optimiser.daily.off_route import Emptied, OffRoute
from optimiser.daily.planning import plan_day, route_day, stream_opportunities
from optimiser.daily.replanning import replan_day
from optimiser.daily.rerouting import reroute_day

__all__ = [
    "ALERT",
    "DayPlan",
    "Emptied",
    "OffRoute",
    "ProgressFn",
    "Provider",
    "compute_kpis",
    "fill_at_pickup",
    "found_loads",
    "plan_day",
    "planned_weights",
    "replan_day",
    "reroute_day",
    "route_day",
    "stream_opportunities",
    "waiting_at_depot_s",
]
