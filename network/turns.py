"""Turn restrictions on an EdgeTable: a junction with forbidden turns is split so that no
path makes them.

OSM restricts turns with ``type=restriction`` relations (``from`` way, ``via`` node, ``to``
way; ``no_left_turn``, ``only_straight_on``...). A shortest path over plain street nodes
cannot obey them: it reaches a junction with no memory of the street it came by. So each
restricted junction ``v`` is split (:func:`restrict_turns`):

- every street leaving ``v`` starts at a node of its own (same place);
- a street arriving at ``v`` with a restricted turn ends at a node of its own, joined by
  zero-length turn connectors (``table.TURN_HIGHWAY``) to the streets it may turn into;
- the other streets arriving end at ``v``, joined to every street leaving it.

Street pieces keep their edge indices (connectors and new nodes are appended), so snapping
and sampling are unchanged. A connector weighs one metre in the matrices' combined weight
(the routing graph has no zero weights), so a path through a restricted junction reads at
most a metre long per junction.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from network.table import TURN_HIGHWAY, EdgeTable, street_edges

# node ids of the split junctions' new nodes, counting down from here: below the ids of the
# barrier cuts (``osm.CUT_ID_START``), any OSM node's and any an editor gives
TURN_ID_START = -(2**41)
KINDS = ("no", "only")


@dataclass(frozen=True, slots=True)
class TurnRestriction:
    """One OSM turn restriction through a node, as it binds a truck.

    Attributes
    ----------
    relation : int
        OSM relation id (for messages).
    from_ways, to_ways : tuple of int
        OSM way ids of the ``from`` and ``to`` members (``no_entry`` has several ``from``,
        ``no_exit`` several ``to``).
    via_node : int
        OSM node id of the ``via`` member.
    kind : {"no", "only"}
        ``no``: the turns from a ``from`` way into a ``to`` way are forbidden; ``only``: from
        a ``from`` way, those turns are the only ones allowed.
    u_turn : bool
        The restriction is about turning back (``no_u_turn``, ``only_u_turn``): with the
        same way as ``from`` and ``to``, its turn goes back the way it came; otherwise it
        goes on along that way.
    """

    relation: int
    from_ways: tuple[int, ...]
    via_node: int
    to_ways: tuple[int, ...]
    kind: str
    u_turn: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"restriction {self.relation}: kind {self.kind!r} not in {KINDS}")


@dataclass(frozen=True, slots=True)
class RestrictedTable:
    """An EdgeTable with its turn restrictions applied, and how many applied.

    Attributes
    ----------
    table : EdgeTable
        Street pieces (same indices as the input) plus the turn connectors.
    applied : int
        Restrictions that forbid at least one turn of the trucks' streets.
    skipped : int
        Restrictions whose via node, ``from`` or ``to`` street is not a truck street of the
        table (closed to trucks, or outside the extract): there is no such turn to forbid.
    """

    table: EdgeTable
    applied: int
    skipped: int


def restrict_turns(table: EdgeTable, restrictions: Sequence[TurnRestriction]) -> RestrictedTable:
    """``table`` with each restricted junction split so that no path turns where a
    restriction forbids it (see the module docstring)."""
    forbidden, applied = _forbidden_turns(table, restrictions)
    if not forbidden:
        return RestrictedTable(table, applied=0, skipped=len(restrictions))
    return RestrictedTable(
        _split_junctions(table, forbidden), applied=applied, skipped=len(restrictions) - applied
    )


def _forbidden_turns(
    table: EdgeTable, restrictions: Sequence[TurnRestriction]
) -> tuple[dict[int, set[tuple[int, int]]], int]:
    """Junction node index -> its forbidden (in edge, out edge) pairs, and the number of
    restrictions that forbid any."""
    via_ids = np.array(sorted({r.via_node for r in restrictions}), dtype=np.int64)
    nodes = np.flatnonzero(np.isin(table.node_osmid, via_ids))
    node_of = dict(zip(table.node_osmid[nodes].tolist(), nodes.tolist(), strict=True))
    ins, outs = _edges_at(table, nodes)
    forbidden: dict[int, set[tuple[int, int]]] = defaultdict(set)
    applied = 0
    for r in restrictions:
        v = node_of.get(r.via_node)
        if v is None:
            continue
        pairs = _turns(table, r, ins[v], outs[v])
        if pairs:
            forbidden[v] |= pairs
            applied += 1
    return dict(forbidden), applied


def _edges_at(
    table: EdgeTable, nodes: np.ndarray
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Street edges arriving at and leaving each of ``nodes`` (node index -> edge indices)."""
    streets = street_edges(table)
    ins: dict[int, list[int]] = defaultdict(list)
    outs: dict[int, list[int]] = defaultdict(list)
    for e in np.flatnonzero(streets & np.isin(table.edge_v, nodes)).tolist():
        ins[int(table.edge_v[e])].append(e)
    for e in np.flatnonzero(streets & np.isin(table.edge_u, nodes)).tolist():
        outs[int(table.edge_u[e])].append(e)
    return ins, outs


def _turns(
    table: EdgeTable, r: TurnRestriction, ins: list[int], outs: list[int]
) -> set[tuple[int, int]]:
    """The (in edge, out edge) turns ``r`` forbids at its junction (empty when its ``from``
    or ``to`` way has no truck street there)."""
    way = table.edge_osmid
    froms = [e for e in ins if way[e] in r.from_ways]
    pairs: set[tuple[int, int]] = set()
    for e in froms:
        named = {f for f in outs if way[f] in r.to_ways and _matches(table, r, e, f)}
        if not named:
            continue
        banned = named if r.kind == "no" else set(outs) - named
        pairs |= {(e, f) for f in banned}
    return pairs


def _matches(table: EdgeTable, r: TurnRestriction, e: int, f: int) -> bool:
    """True when leaving by ``f`` after arriving by ``e`` is the turn ``r`` names: on one
    way (``from`` = ``to``), a U-turn goes back to where ``e`` came from and any other turn
    goes on."""
    if table.edge_osmid[e] != table.edge_osmid[f]:
        return True
    back = _end(table, f, last=True) == _end(table, e, last=False)
    return back == r.u_turn


def _end(table: EdgeTable, e: int, *, last: bool) -> tuple[float, float]:
    """(lon, lat) of edge ``e``'s first or last vertex (node indices change when junctions
    are split; places do not)."""
    i = int(table.geom_offset[e + 1]) - 1 if last else int(table.geom_offset[e])
    return float(table.geom_lon[i]), float(table.geom_lat[i])


def _split_junctions(table: EdgeTable, forbidden: dict[int, set[tuple[int, int]]]) -> EdgeTable:
    """The table with each junction of ``forbidden`` split and joined by connectors."""
    ins, outs = _edges_at(table, np.array(sorted(forbidden), dtype=np.int64))
    edge_u, edge_v = table.edge_u.copy(), table.edge_v.copy()
    ids = itertools.count(TURN_ID_START, -1)
    new_nodes: list[tuple[int, int]] = []  # (new node osm id, junction it copies)
    links: list[tuple[int, int, int]] = []  # connector (tail node, head node, out edge)
    n = table.n_nodes

    def copy_of(v: int) -> int:
        new_nodes.append((next(ids), v))
        return n + len(new_nodes) - 1

    for v, pairs in forbidden.items():
        start = {f: copy_of(v) for f in outs[v]}
        restricted = sorted({e for e, _ in pairs})
        for f, tail in start.items():
            edge_u[f] = tail
            if len(restricted) < len(ins[v]):  # a street arrives at v with every turn
                links.append((v, tail, f))
        for e in restricted:
            edge_v[e] = head = copy_of(v)
            links.extend((head, start[f], f) for f in outs[v] if (e, f) not in pairs)
    return _with_connectors(table, edge_u, edge_v, new_nodes, links)


def _with_connectors(
    table: EdgeTable,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    new_nodes: Iterable[tuple[int, int]],
    links: list[tuple[int, int, int]],
) -> EdgeTable:
    """The table with re-pointed street edges, the new nodes and the connectors appended."""
    copies = np.array(list(new_nodes), dtype=np.int64).reshape(-1, 2)
    conn = np.array(links, dtype=np.int64).reshape(-1, 3)
    k = len(conn)
    node_lon = np.concatenate([table.node_lon, table.node_lon[copies[:, 1]]])
    node_lat = np.concatenate([table.node_lat, table.node_lat[copies[:, 1]]])
    at_lon = np.repeat(node_lon[conn[:, 0]], 2)  # a connector's two vertices: its junction
    at_lat = np.repeat(node_lat[conn[:, 0]], 2)
    last = table.geom_offset[-1]
    return EdgeTable(
        node_osmid=np.concatenate([table.node_osmid, copies[:, 0]]),
        node_lon=node_lon,
        node_lat=node_lat,
        edge_u=np.concatenate([edge_u, conn[:, 0]]),
        edge_v=np.concatenate([edge_v, conn[:, 1]]),
        edge_osmid=np.concatenate([table.edge_osmid, np.full(k, -1, dtype=np.int64)]),
        edge_highway=np.concatenate([table.edge_highway, np.full(k, TURN_HIGHWAY)]),
        edge_name=np.concatenate([table.edge_name, np.full(k, "")]),
        edge_oneway=np.concatenate([table.edge_oneway, np.ones(k, dtype=bool)]),
        edge_reversed=np.concatenate([table.edge_reversed, np.zeros(k, dtype=bool)]),
        edge_length_m=np.concatenate([table.edge_length_m, np.zeros(k)]),
        edge_speed_kph=np.concatenate([table.edge_speed_kph, table.edge_speed_kph[conn[:, 2]]]),
        edge_time_s=np.concatenate([table.edge_time_s, np.zeros(k)]),
        geom_offset=np.concatenate([table.geom_offset, last + 2 * np.arange(1, k + 1)]),
        geom_lon=np.concatenate([table.geom_lon, at_lon]),
        geom_lat=np.concatenate([table.geom_lat, at_lat]),
    )
