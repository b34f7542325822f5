"""How trucks reach points on timed streets and behind them: the streets whose hours hold.

A street whose truck access changes with the time (``network.hours``) is local-only, so a
truck drives it only to reach a place on it; the places on it keep its hours. But the way
in may drive other timed streets too: a lane reached only through a lane with other hours,
a yard open at all hours whose only way in is a pedestrian lane, a one-way piece of an
avenue whose only way out is a road closed on Sundays. Here the nodes trucks reach and
leave at any hour are those of the largest strongly connected part of the streets open at
all hours (*free* nodes); every other node lies in a *zone* reached through timed streets.
For a point in a zone, each *way* is a smallest set of other timed streets' rules that,
open together (its own street open too), let a truck in from a free node and out to one;
a truck may take any of them, so the point is open when one of its ways is
(``hours.TimedStreet.through``). A zone with more than :data:`MAX_RULES` other rules is
told the rules of its fastest ways in and out instead.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from network.table import EdgeTable, street_edges

MAX_RULES = 8  # a zone's other rules whose every combination is tried (2**8 searches)
FREE = -1  # the zone label of a free node


@dataclass(frozen=True, slots=True)
class Zones:
    """How trucks reach the timed streets of a network and the streets behind them.

    Attributes
    ----------
    free : (N,) bool
        Nodes trucks reach and leave without driving a timed street.
    zone : (N,) int64
        Each node's zone (:data:`FREE` for a free node): the weakly connected parts of the
        edges not between free nodes, free nodes left out.
    enter_s, leave_s : (N,) float
        Seconds driven from the nearest free node to the node, and from it to the nearest
        free node, on streets that are not free (0 at a free node, and everywhere when every
        street is timed; inf where they do not lead).
    enter_via, leave_via : mapping of int to tuple of int
        Node -> the timed edges of its fastest way in, and out, one for each rule met
        (the nearest the node of that rule), nearest first; a node missing has none.
    """

    free: np.ndarray
    zone: np.ndarray
    enter_s: np.ndarray
    leave_s: np.ndarray
    enter_via: Mapping[int, tuple[int, ...]]
    leave_via: Mapping[int, tuple[int, ...]]
    _reach: dict[tuple[int, int], _ZoneReach] = field(default_factory=dict, repr=False)

    def behind(self, table: EdgeTable) -> np.ndarray:
        """(E,) bool: the street edges (no connector) open at all hours that trucks reach
        or leave only through timed streets (not both ends ``free``)."""
        free = self.free[table.edge_u] & self.free[table.edge_v]
        inner: np.ndarray = street_edges(table) & ~table.timed_edges & ~free
        return inner

    def ways(
        self, table: EdgeTable, e: int, twin: int, fastest: Sequence[int] = ()
    ) -> tuple[frozenset[int], ...]:
        """The ways to a point on edge ``e`` (``twin``: its other direction, -1 for none)
        and away: each a smallest set of rules (``edge_hours`` indices, ``e``'s own left
        out) that, open together, let a truck in and out (module docstring), the smallest
        first; ``(frozenset(),)`` when none is needed. In a zone of more than
        :data:`MAX_RULES` other rules, the rules of the timed edges ``fastest`` (those of
        its fastest ways in and out, ``enter_via`` / ``leave_via``) alone."""
        edges = [e] if twin < 0 else [e, twin]
        ins = {self._node(int(table.edge_u[w])) for w in edges}
        outs = {self._node(int(table.edge_v[w])) for w in edges}
        if FREE in ins and FREE in outs:  # in from a free node and out to one directly
            return (frozenset(),)
        zone = max(x for x in ins | outs)  # not free: its zone's
        key = (int(self.zone[zone]), int(table.edge_hours[e]))
        if key not in self._reach:
            self._reach[key] = _zone_reach(table, self, *key)
        found = self._reach[key]
        if found.combos is None:  # too many rules to try: the fastest ways' alone
            return (frozenset(int(table.edge_hours[b]) for b in fastest) - {key[1]},)
        return found.ways(ins, outs)

    def _node(self, x: int) -> int:
        """``x``, or :data:`FREE` for a free node (one stands for all)."""
        return FREE if self.free[x] else x


@dataclass(frozen=True, slots=True)
class _ZoneReach:
    """For one zone and an own rule: the nodes reached from free nodes, and those that
    reach one, with each combination of the zone's other rules open (None: too many
    rules, ``MAX_RULES``)."""

    combos: tuple[tuple[frozenset[int], frozenset[int], frozenset[int]], ...] | None

    def ways(self, ins: set[int], outs: set[int]) -> tuple[frozenset[int], ...]:
        """The smallest rule sets with which a node of ``ins`` is reached and a node of
        ``outs`` reaches a free node (this zone's ``combos`` tried)."""
        found: list[frozenset[int]] = []
        for rules, reached, leaving in self.combos or ():  # by size: smallest first
            if any(f <= rules for f in found):
                continue
            if ins & reached and outs & leaving:
                found.append(rules)
        return tuple(found)


def _zone_reach(table: EdgeTable, zones: Zones, zone: int, own: int) -> _ZoneReach:
    """:class:`_ZoneReach` of ``zone`` for points of rule ``own`` (a free node stands for
    all of them: every free node reaches every other)."""
    z = zones.zone
    u, v, hours = table.edge_u, table.edge_v, table.edge_hours
    inside = (z[u] == zone) | (z[v] == zone)
    edges = [
        (int(a) if z[a] == zone else FREE, int(b) if z[b] == zone else FREE, int(r))
        for a, b, r in zip(u[inside], v[inside], hours[inside], strict=True)
    ]
    rules = sorted({r for _, _, r in edges if r > 0} - {own})
    if len(rules) > MAX_RULES:
        return _ZoneReach(None)
    combos = []
    for size in range(len(rules) + 1):
        for picked in itertools.combinations(rules, size):
            open_ = {0, own, *picked}
            usable = [(a, b) for a, b, r in edges if r in open_]
            combos.append(
                (
                    frozenset(picked),
                    frozenset(_reached(usable, FREE)),
                    frozenset(_reached([(b, a) for a, b in usable], FREE)),
                )
            )
    return _ZoneReach(tuple(combos))


def _reached(edges: list[tuple[int, int]], start: int) -> set[int]:
    """The nodes ``edges`` lead to from ``start``, ``start`` included."""
    after: dict[int, list[int]] = {}
    for a, b in edges:
        after.setdefault(a, []).append(b)
    seen = {start}
    todo = deque([start])
    while todo:
        for b in after.get(todo.popleft(), ()):
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


def zones(table: EdgeTable) -> Zones:
    """The :class:`Zones` of ``table``: its free nodes, zones and the fastest ways from the
    free nodes to every other node and back (one Dijkstra each way over the edges not
    between free nodes)."""
    n = table.n_nodes
    timed = table.timed_edges
    untimed = ~timed
    if not untimed.any():  # every street timed: no street open at all hours to come from
        no = np.zeros(n, dtype=bool)
        return Zones(no, np.zeros(n, dtype=np.int64), np.zeros(n), np.zeros(n), {}, {})
    free = _free_nodes(table, untimed)
    use = np.flatnonzero(~(untimed & free[table.edge_u] & free[table.edge_v]))
    u, v = table.edge_u[use], table.edge_v[use]
    t = np.maximum(table.edge_time_s[use], 1e-3)
    order = np.lexsort((t, v, u))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (u[order][1:] != u[order][:-1]) | (v[order][1:] != v[order][:-1])
    keep = order[first]  # the fastest edge of each (u, v)
    graph = sparse.csr_array((t[keep], (u[keep], v[keep])), shape=(n, n))
    edge_of = {
        (a, b): e
        for a, b, e in zip(u[keep].tolist(), v[keep].tolist(), use[keep].tolist(), strict=True)
    }
    sources = np.flatnonzero(free)
    enter, enter_via = _ways_from(graph, sources, free, table, lambda p, x: edge_of[(p, x)])
    leave, leave_via = _ways_from(
        graph.T.tocsr(), sources, free, table, lambda p, x: edge_of[(x, p)]
    )
    return Zones(free, _zone_labels(graph, free), enter, leave, enter_via, leave_via)


def _zone_labels(graph: sparse.csr_array, free: np.ndarray) -> np.ndarray:
    """(N,) int64: each node's zone, the weakly connected parts of ``graph`` (the edges not
    between free nodes) with the free nodes left out; :data:`FREE` for those."""
    inner = graph.tocoo()
    keep = ~free[inner.row] & ~free[inner.col]
    n = len(free)
    links = sparse.csr_array(
        (np.ones(int(keep.sum())), (inner.row[keep], inner.col[keep])), shape=(n, n)
    )
    _, labels = csgraph.connected_components(links, directed=True, connection="weak")
    return np.where(free, FREE, labels).astype(np.int64)


def _free_nodes(table: EdgeTable, untimed: np.ndarray) -> np.ndarray:
    """(N,) bool: the nodes of the largest strongly connected part of the ``untimed``
    edges (the most nodes)."""
    n = table.n_nodes
    u, v = table.edge_u[untimed], table.edge_v[untimed]
    graph = sparse.csr_array((np.ones(len(u)), (u, v)), shape=(n, n))
    _, labels = csgraph.connected_components(graph, directed=True, connection="strong")
    on = np.zeros(n, dtype=bool)
    on[u] = on[v] = True
    largest: np.ndarray = on & (labels == np.bincount(labels[on]).argmax())
    return largest


def _ways_from(
    graph: sparse.csr_array,
    sources: np.ndarray,
    free: np.ndarray,
    table: EdgeTable,
    edge: Callable[[int, int], int],
) -> tuple[np.ndarray, dict[int, tuple[int, ...]]]:
    """(seconds, timed edges met) per node on its fastest way from ``sources`` in
    ``graph`` (the edges: one for each rule, the nearest the node, nearest first);
    ``edge(p, x)`` is the edge index of the step from predecessor ``p`` to ``x``."""
    seconds, pred, _ = csgraph.dijkstra(
        graph, indices=sources, min_only=True, return_predecessors=True
    )
    rule = table.edge_hours
    via: dict[int, tuple[int, ...]] = {}
    reached = np.flatnonzero(np.isfinite(seconds) & ~free)
    for x in reached[np.argsort(seconds[reached], kind="stable")].tolist():
        p = int(pred[x])
        e = edge(p, x)
        before = via.get(p, ())
        if rule[e] > 0:  # a timed edge: the nearest of its rule now
            before = (e, *(b for b in before if rule[b] != rule[e]))
        if before:
            via[x] = before
    return np.asarray(seconds, dtype=np.float64), via
