"""binroute scenarios: the demo city and week-long policy comparisons.

``scenarios.config`` (TOML scenario files, ``scenarios/catalog/``), ``scenarios.city``
(bins, fleet and a cached travel matrix), ``scenarios.simulate`` (the day-stepping city
simulator), ``scenarios.policies`` (fixed schedule, threshold, forecast + routing),
``scenarios.run`` (``run_scenario``: KPIs per policy), ``scenarios.results`` (the KPIs,
days' records and their rows), ``scenarios.report`` (comparison tables and plots),
``scenarios.sweep`` (sensitivity sweeps on Dask).
"""
