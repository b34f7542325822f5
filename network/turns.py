"""Turn restrictions on an EdgeTable: a junction with forbidden turns is split so that no
path makes them.

OSM restricts turns with ``type=restriction`` relations (``from`` way, ``via`` node, ``to``
way; ``no_left_turn``, ``only_straight_on``...). A shortest path over plain street nodes
cannot obey them: it reaches a junction with no memory of the street it came by. So each
restricted junction ``v`` is split (:func:`restrict_turns`):

- every street leaving ``v`` starts at a node of its own (same place);
- a street arriving at ``v`` with a restricted turn ends at a node of its own, joined by
  zero-length connectors (``table.CONNECTOR_HIGHWAY``) to the streets it may turn into;
- the other streets arriving end at ``v`` (or at its local side, when ``network.zones``
  split it), joined to every street leaving it. A connector from a street open to through
  traffic into a local-only one is an entry into local streets (``edge_local``).

Street pieces keep their edge indices (connectors and new nodes are appended), so snapping
and sampling are unchanged. A connector weighs one metre in the matrices' combined weight
(the routing graph has no zero weights), so a path through a restricted junction reads at
most a metre long per junction.

A junction is its node and the nodes connectors already join it to (its local side,
``network.zones``), not every node at its place: the two sides of a barrier
(``osm.CUT_ID_START``) stand there too. With ``u_turns=False`` every junction is split so
that no path turns back where it may go on another way (``GraphSettings.u_turns``).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from network.speeds import RESTRICTION_TAGS, GraphSettings, truck_restriction
from network.table import EdgeTable, ends_of, street_edges, with_connectors
from network.zones import ZONE_ID_START

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


Member = tuple[str, int, str]  # (type "n" / "w" / "r", OSM id, role)
Relation = tuple[int, Mapping[str, str], Sequence[Member]]  # (id, tags, members)


def restrictions_of(
    relations: Iterable[Relation], settings: GraphSettings
) -> tuple[list[TurnRestriction], int]:
    """The turn restrictions among OSM ``relations`` of ``type=restriction`` that bind the
    trucks of ``settings`` (``speeds.truck_restriction``), and how many were left out for
    turning through a way (a ``via`` way, not a node: not read). A relation without a
    ``from``, ``via`` or ``to`` member is left out as incomplete (an extract cut through
    it)."""
    found: list[TurnRestriction] = []
    via_ways = 0
    for relation, tags, members in relations:
        value = truck_restriction({k: tags[k] for k in RESTRICTION_TAGS if k in tags}, settings)
        if value is None:
            continue
        if any(kind != "n" for kind, _, role in members if role == "via"):
            via_ways += 1
            continue
        restriction = _restriction(relation, members, value)
        if restriction is not None:
            found.append(restriction)
    return found, via_ways


def _restriction(relation: int, members: Sequence[Member], value: str) -> TurnRestriction | None:
    """A relation's members as a TurnRestriction, or None when one role is missing."""
    ways = {
        role: tuple(ref for kind, ref, r in members if r == role and kind == "w")
        for role in ("from", "to")
    }
    via = [ref for t, ref, role in members if role == "via" and t == "n"]
    if len(via) != 1 or not ways["from"] or not ways["to"]:
        return None
    return TurnRestriction(
        relation=relation,
        from_ways=ways["from"],
        via_node=via[0],
        to_ways=ways["to"],
        kind=value.split("_")[0],
        u_turn=value.endswith("_u_turn"),
    )


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
    u_turn_junctions: int = 0


def restrict_turns(
    table: EdgeTable, restrictions: Sequence[TurnRestriction], *, u_turns: bool = True
) -> RestrictedTable:
    """``table`` with each restricted junction split so that no path turns where a
    restriction forbids it (see the module docstring); with ``u_turns=False`` no path turns
    back either where it may go on another way (at a dead end, or where every other way on
    is one-way against it or forbidden, it turns back, as a truck must)."""
    vias = {r.via_node for r in restrictions}
    if not u_turns:
        vias |= _junction_ids(table)
    junctions = _junctions(table, vias)
    forbidden, applied = _forbidden_turns(table, restrictions, junctions)
    banned = 0
    if not u_turns:
        for via, j in junctions.items():
            pairs = _u_turns(table, j, forbidden.get(via, set()))
            if pairs:
                forbidden.setdefault(via, set()).update(pairs)
                banned += 1
    if not forbidden:
        return RestrictedTable(table, applied=0, skipped=len(restrictions))
    split = _split_junctions(table, forbidden, junctions)
    return RestrictedTable(
        split, applied=applied, skipped=len(restrictions) - applied, u_turn_junctions=banned
    )


def _junction_ids(table: EdgeTable) -> set[int]:
    """The OSM id of every node where a street ends, but the local sides of junctions
    (``network.zones``: they belong to their junction's node)."""
    ends = ends_of(table, street_edges(table)) & (table.node_osmid > ZONE_ID_START)
    return set(table.node_osmid[ends].tolist())


def _u_turns(
    table: EdgeTable, j: _Junction, forbidden: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """The (in edge, out edge) pairs at junction ``j`` that turn back along the way they
    came by, for each street arriving with another way on (a turn that neither goes back
    nor is ``forbidden``): at a dead end, or where every other turn is one-way against the
    truck or forbidden, it turns back, as it must."""
    way = table.edge_osmid
    out: set[tuple[int, int]] = set()
    for e in j.ins:
        back = {
            f
            for f in j.outs
            if way[e] == way[f] and _end(table, f, last=True) == _end(table, e, last=False)
        }
        if any(f not in back and (e, f) not in forbidden for f in j.outs):
            out |= {(e, f) for f in back}
    return out


@dataclass(frozen=True, slots=True)
class _Junction:
    """The nodes at a via node's place (itself, and its side of local-only streets when
    ``network.zones`` split it) and the street edges arriving at and leaving them."""

    nodes: tuple[int, ...]
    ins: tuple[int, ...]
    outs: tuple[int, ...]


def _junctions(table: EdgeTable, via_ids: set[int]) -> dict[int, _Junction]:
    """OSM via node id -> its junction, for the via nodes in the table: the node and the
    nodes a connector joins it to (its local side, ``network.zones``; not another node at
    the same place, such as the far side of a barrier)."""
    vias = np.flatnonzero(np.isin(table.node_osmid, np.array(sorted(via_ids), dtype=np.int64)))
    streets = street_edges(table)
    joined: dict[int, set[int]] = defaultdict(set)  # node -> nodes a connector joins it to
    for c in np.flatnonzero(~streets).tolist():
        u, v = int(table.edge_u[c]), int(table.edge_v[c])
        joined[u].add(v)
        joined[v].add(u)
    arriving: dict[int, list[int]] = defaultdict(list)  # node -> street edges ending there
    leaving: dict[int, list[int]] = defaultdict(list)
    for e in np.flatnonzero(streets).tolist():
        arriving[int(table.edge_v[e])].append(e)
        leaving[int(table.edge_u[e])].append(e)
    out: dict[int, _Junction] = {}
    for v in vias.tolist():
        nodes = sorted({v} | joined[v])
        ins = sorted(e for g in nodes for e in arriving[g])
        outs = sorted(e for g in nodes for e in leaving[g])
        out[int(table.node_osmid[v])] = _Junction(tuple(nodes), tuple(ins), tuple(outs))
    return out


def _forbidden_turns(
    table: EdgeTable, restrictions: Sequence[TurnRestriction], junctions: dict[int, _Junction]
) -> tuple[dict[int, set[tuple[int, int]]], int]:
    """Via node id -> its junction's forbidden (in edge, out edge) pairs, and the number of
    restrictions that forbid any."""
    forbidden: dict[int, set[tuple[int, int]]] = defaultdict(set)
    applied = 0
    for r in restrictions:
        j = junctions.get(r.via_node)
        pairs = set() if j is None else _turns(table, r, j.ins, j.outs)
        if pairs:
            forbidden[r.via_node] |= pairs
            applied += 1
    return dict(forbidden), applied


def _turns(
    table: EdgeTable, r: TurnRestriction, ins: Sequence[int], outs: Sequence[int]
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


def _split_junctions(
    table: EdgeTable, forbidden: dict[int, set[tuple[int, int]]], junctions: dict[int, _Junction]
) -> EdgeTable:
    """The table with each junction of ``forbidden`` split and joined by connectors; a
    connector from a street open to through traffic into a local-only one enters such
    streets (``EdgeTable.edge_local``)."""
    edge_u, edge_v = table.edge_u.copy(), table.edge_v.copy()
    ids = itertools.count(TURN_ID_START, -1)
    copies: list[tuple[int, int]] = []  # (new node osm id, node it copies)
    links: list[tuple[int, int, int, bool]] = []  # (tail, head, out edge, enters local)
    local, n = table.edge_local & street_edges(table), table.n_nodes
    local_node = ends_of(table, local)  # a local-only street ends there (not a connector)

    def copy_of(v: int) -> int:
        copies.append((next(ids), v))
        return n + len(copies) - 1

    for via, pairs in forbidden.items():
        j = junctions[via]
        start = {f: copy_of(j.nodes[0]) for f in j.outs}
        for f, tail in start.items():
            edge_u[f] = tail
        restricted = {e for e, _ in pairs}
        for g in j.nodes:  # each node keeps its streets arriving with every turn
            if any(table.edge_v[e] == g and e not in restricted for e in j.ins):
                enters = not local_node[g]
                links.extend((g, start[f], f, enters and local[f]) for f in j.outs)
        for e in sorted(restricted):
            edge_v[e] = head = copy_of(j.nodes[0])
            allowed = (f for f in j.outs if (e, f) not in pairs)
            links.extend((head, start[f], f, not local[e] and local[f]) for f in allowed)
    return with_connectors(table, edge_u, edge_v, copies, links)
