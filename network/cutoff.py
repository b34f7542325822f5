"""Streets cut off from the truck network: a point on one is not a misplaced point.

:func:`network.load_network` keeps the largest strongly connected part of the streets, so a
bin on an island of streets (behind a bollard, closed by an access rule or a height or
weight limit, or reached only against a one-way street or through a forbidden turn) is far
from every street it can snap to. Its coordinates may be right: :class:`CutOffStreets`
finds the cut-off street it stands on, for the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from network.snap import EdgeIndex
from network.table import EdgeTable, street_edges


class CutOffStreets:
    """The streets cut off from a network (``table.split_strong_component``'s second part).

    Parameters
    ----------
    table : EdgeTable
        The cut-off streets (may have no edges).
    """

    def __init__(self, table: EdgeTable) -> None:
        self.table = table
        self._index: EdgeIndex | None = None

    @property
    def edge_index(self) -> EdgeIndex:
        """Spatial index of the cut-off edges (built on first use; parallel-edge keys are
        not needed here and read 0)."""
        if self._index is None:
            every = np.flatnonzero(street_edges(self.table))
            self._index = EdgeIndex(self.table, every, np.zeros(self.table.n_edges, np.int64))
        return self._index

    def near(self, points: Sequence[tuple[float, float]], max_snap_m: float) -> dict[int, str]:
        """Index -> why no truck reaches it, for each (lon, lat) point within ``max_snap_m``
        metres of a cut-off street: the street it stands by (its name, class and OSM way)
        and what to check or do."""
        if self.table.n_edges == 0 or len(points) == 0:
            return {}
        snaps = self.edge_index.snap(points, math.inf)
        return {
            i: self._reason(s.edge_index, s.snap_m)
            for i, s in enumerate(snaps)
            if s.snap_m <= max_snap_m
        }

    def _reason(self, e: int, snap_m: float) -> str:
        return (
            f"it stands {snap_m:.0f} m from {self.table.street_label(e)}, a street cut off "
            "from the truck network (by a barrier, an access rule, a height or weight limit, "
            "one-way streets or turn restrictions): check its barrier, access, maxheight and "
            "maxweight tags, or move it to the nearest street trucks reach"
        )
