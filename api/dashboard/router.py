"""Dashboard routes: the page, its static files and the street base map (``/dashboard/...``).

The page, its script and its style hold no data and need no key; the page asks for an API key
and sends it as ``X-API-Key`` to the JSON endpoints. ``/dashboard/streets`` (viewer role) returns
street polylines of the service's city for the map's base layer.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import RoutingDep
from api.errors import NotFoundError, RecordError
from api.routing import Routing
from api.schemas import ERROR_RESPONSES
from api.security import CanRead
from network.errors import NetworkError

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

# the page's scripts, in the order it loads them (they share its globals)
SCRIPTS = ("app.js", "render.js", "actions.js", "live.js")
STATIC_TYPES: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    **dict.fromkeys(SCRIPTS, "text/javascript; charset=utf-8"),
    "style.css": "text/css; charset=utf-8",
}
# The page's buttons post with the key it keeps: no other site may frame it (clickjacking),
# and only its own script runs (no inline or injected one; it writes data as text anyway).
PAGE_HEADERS: dict[str, str] = {
    "Cache-Control": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}
MAX_STREET_LINES = 20_000
MAX_BBOX_DEG = 1.0

BBox = tuple[float, float, float, float]


def _static(name: str) -> Response:
    """One of the dashboard's own files (the names in ``STATIC_TYPES`` only)."""
    if name not in STATIC_TYPES:
        raise NotFoundError("dashboard file", name)
    body = resources.files("api.dashboard").joinpath("static", name).read_bytes()
    return Response(body, media_type=STATIC_TYPES[name], headers=PAGE_HEADERS)


@router.get("", include_in_schema=False)
def page() -> Response:
    """The dashboard page (HTML; no key needed, it holds no data)."""
    return _static("index.html")


@router.get("/static/{name}", include_in_schema=False)
def static_file(name: str) -> Response:
    """The page's script and style sheet."""
    return _static(name)


def parse_bbox(text: str) -> BBox:
    """``"min_lon,min_lat,max_lon,max_lat"`` (degrees) -> tuple; RecordError when malformed.

    The box must be ordered, inside lon/lat bounds and at most ``MAX_BBOX_DEG`` wide and high.
    """
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or any(p != p for p in parts):
        raise RecordError(["query", "bbox"], "give bbox as min_lon,min_lat,max_lon,max_lat", text)
    x0, y0, x1, y1 = parts
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise RecordError(
            ["query", "bbox"], "bbox must be ordered min < max within lon/lat bounds", text
        )
    if x1 - x0 > MAX_BBOX_DEG or y1 - y0 > MAX_BBOX_DEG:
        raise RecordError(
            ["query", "bbox"], f"bbox is larger than {MAX_BBOX_DEG} degree; zoom in", text
        )
    return x0, y0, x1, y1


def street_lines(routing: Routing, bbox: BBox) -> tuple[list[list[tuple[float, float]]], str]:
    """Street polylines ((lon, lat) vertices) inside ``bbox`` and a note for the page.

    Loads the city's street network if no plan did yet; the haversine provider (or any
    provider without a street network) has no streets: an empty list.
    """
    if routing.source == "haversine":
        return [], "straight-line travel times (haversine): no street network to draw"
    try:
        provider = routing.provider()
    except NetworkError as exc:
        return [], f"street network unavailable: {exc}"
    network: Any = getattr(provider, "network", None)
    if network is None or not hasattr(network, "street_lines"):
        return [], "the routing provider has no street network to draw"
    lines = network.street_lines(bbox=bbox)
    if len(lines) > MAX_STREET_LINES:
        return lines[:MAX_STREET_LINES], f"first {MAX_STREET_LINES} of {len(lines)} streets"
    return lines, f"{len(lines)} streets"


@router.get(
    "/streets",
    summary="Street polylines around a box, for the dashboard's base map",
    responses=ERROR_RESPONSES,
)
def streets(
    routing: RoutingDep,
    _: CanRead,
    bbox: Annotated[str, Query(max_length=200, description="min_lon,min_lat,max_lon,max_lat")],
) -> dict[str, Any]:
    """``{"bbox": [...], "lines": [[[lon, lat], ...], ...], "note": str}``."""
    box = parse_bbox(bbox)
    lines, note = street_lines(routing, box)
    return {
        "bbox": list(box),
        "lines": [[[round(x, 6), round(y, 6)] for x, y in line] for line in lines],
        "note": note,
    }
