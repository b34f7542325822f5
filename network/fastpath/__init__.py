"""Customizable contraction hierarchy (CCH) many-to-many search: the ``"ch"`` matrix engine.

Preparation (once per network, :func:`prepare`):

1. a nested-dissection node order (RoutingKit's inertial-flow order from the optional
   ``routingkit-cch`` package, else a geometric median-split order computed here);
2. the elimination game in that order: each eliminated node joins its higher neighbours into a
   clique (shortcut arcs), giving the chordal "upward" graph and its elimination tree;
3. customisation with the integer combined weights (``streets._combined_weights``): every arc
   keeps an upward and a downward weight, lowered through each lower triangle in rank order
   (int64, so sums are exact).

Query: a point's search starts at its departure nodes with their partial-edge weights and walks
up the elimination tree (no priority queue); targets do the same backwards and leave bucket
entries (node, target, weight); a source's result for every target is the minimum of
``forward[x] + bucket weight`` over its search space. The minimum over up-down paths in a
customised CCH equals the shortest path in the street graph, so the matrix is identical to the
scipy engine's.

The search kernels are compiled with numba (optional): :data:`AVAILABLE` is False without it.
"""

from __future__ import annotations

from network.fastpath.build import CH_VERSION, cache_tag, node_order, prepare
from network.fastpath.hierarchy import UNREACHED, Hierarchy, arcs_digest
from network.fastpath.query import AVAILABLE, Attach, many_to_many

__all__ = [
    "AVAILABLE",
    "CH_VERSION",
    "UNREACHED",
    "Attach",
    "Hierarchy",
    "arcs_digest",
    "cache_tag",
    "many_to_many",
    "node_order",
    "prepare",
]
