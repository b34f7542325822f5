"""The OR-Tools model's nodes: one start and one end node per truck, one per stop, then the
disposal sites' optional copies (how many a plan may need), with each node's matrix row,
service time, volume, weight and ref. Needs no ``ortools``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from optimiser.problem import Problem

MAX_SITE_COPIES = 400


@dataclass(slots=True)
class _Nodes:
    """Per-node data (node = OR-Tools manager node)."""

    loc: np.ndarray
    service: np.ndarray
    volume: np.ndarray
    weight: np.ndarray
    is_site: np.ndarray
    is_stop: np.ndarray
    refs: list[str]
    stop_node: dict[str, int] = field(default_factory=dict)
    site_nodes: dict[str, list[int]] = field(default_factory=dict)


def _site_copies(problem: Problem, used: Mapping[str, int]) -> dict[str, int]:
    """Visits of each site a plan may need: the reload trips of full trucks plus a final
    trip per truck, and at least the visits of the start routes (``used``) plus one per truck.
    """
    if not problem.sites:
        return {}
    n_v = len(problem.vehicles)
    vol = sum(s.volume_l for s in problem.stops) + sum(v.initial_volume_l for v in problem.vehicles)
    wt = sum(s.weight_kg for s in problem.stops) + sum(
        v.initial_weight_kg for v in problem.vehicles
    )
    cap_l = min(v.capacity_l for v in problem.vehicles)
    cap_kg = min(v.capacity_kg for v in problem.vehicles)
    trips = max(math.ceil(vol / cap_l), math.ceil(wt / cap_kg))
    base = min(trips + 2 * n_v + 1, len(problem.stops) + 2 * n_v + 1, MAX_SITE_COPIES)
    return {s.ref: max(base, used.get(s.ref, 0) + n_v + 1) for s in problem.sites}


def _layout(problem: Problem, used_sites: Mapping[str, int]) -> _Nodes:
    vs, n_v = problem.vehicles, len(problem.vehicles)
    copies = _site_copies(problem, used_sites)
    refs = [v.ref for v in vs] + [v.ref for v in vs] + [s.ref for s in problem.stops]
    loc = [v.start for v in vs] + [v.end for v in vs] + [s.location for s in problem.stops]
    service = [0] * (2 * n_v) + [s.service_s for s in problem.stops]
    volume = [0] * (2 * n_v) + [s.volume_l for s in problem.stops]
    weight = [0] * (2 * n_v) + [s.weight_kg for s in problem.stops]
    nodes = _Nodes(
        loc=np.empty(0),
        service=np.empty(0),
        volume=np.empty(0),
        weight=np.empty(0),
        is_site=np.empty(0),
        is_stop=np.empty(0),
        refs=refs,
    )
    nodes.stop_node = {s.ref: 2 * n_v + i for i, s in enumerate(problem.stops)}
    for site in problem.sites:
        k = copies[site.ref]
        nodes.site_nodes[site.ref] = list(range(len(refs), len(refs) + k))
        refs.extend([site.ref] * k)
        loc.extend([site.location] * k)
        service.extend([site.unload_s] * k)
    n_sites = len(refs) - len(volume)
    volume.extend([0] * n_sites)
    weight.extend([0] * n_sites)
    nodes.loc = np.array(loc, dtype=np.int64)
    nodes.service = np.array(service, dtype=np.int64)
    nodes.volume = np.array(volume, dtype=np.int64)
    nodes.weight = np.array(weight, dtype=np.int64)
    nodes.is_site = np.zeros(len(refs), dtype=bool)
    nodes.is_site[len(refs) - n_sites :] = True
    nodes.is_stop = np.zeros(len(refs), dtype=bool)
    nodes.is_stop[2 * n_v : 2 * n_v + len(problem.stops)] = True
    return nodes
