"""Drawing (lon, lat) geometry as SVG: the projection a plan's maps and route sheets share."""

from __future__ import annotations

import math
from collections.abc import Sequence

LonLat = tuple[float, float]
MARGIN_PX = 20


class Projector:
    """Equirectangular projection of (lon, lat) onto SVG pixels (y down), fitting
    ``points`` into ``width_px`` (and ``max_height_px`` when given) with a margin.

    Attributes
    ----------
    width, height : int
        The drawing's size in pixels.
    """

    def __init__(
        self, points: Sequence[LonLat], width_px: int, max_height_px: int | None = None
    ) -> None:
        lons = [p[0] for p in points]
        lats = [p[1] for p in points]
        self.lon0, self.lat1 = min(lons), max(lats)
        kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
        span_x = max((max(lons) - self.lon0) * kx, 1e-9)
        span_y = max(self.lat1 - min(lats), 1e-9)
        self.scale = (width_px - 2 * MARGIN_PX) / span_x
        if max_height_px is not None:
            self.scale = min(self.scale, (max_height_px - 2 * MARGIN_PX) / span_y)
        self.kx = kx
        self.width = width_px
        self.height = int(span_y * self.scale) + 2 * MARGIN_PX

    def __call__(self, p: LonLat) -> tuple[float, float]:
        x = MARGIN_PX + (p[0] - self.lon0) * self.kx * self.scale
        y = MARGIN_PX + (self.lat1 - p[1]) * self.scale
        return round(x, 1), round(y, 1)


def svg_polyline(proj: Projector, line: Sequence[LonLat], style: str) -> str:
    """An SVG ``<polyline>`` of ``line`` ((lon, lat) vertices) with attributes ``style``."""
    pts = " ".join(f"{x},{y}" for x, y in map(proj, line))
    return f'<polyline points="{pts}" {style}/>'
