from __future__ import annotations

import re
from typing import Any

from scenarios.mapview import render_html


def _drawn(html: str) -> tuple[float, float, list[tuple[float, float]]]:
    """Canvas width, height and the centre of every marker and route vertex drawn on it."""
    size = re.search(r'<svg width="(\d+)" height="(\d+)"', html)
    assert size is not None
    squares = re.findall(r'<rect x="([-\d.]+)" y="([-\d.]+)"', html)  # 14 px, from a corner
    dots = re.findall(r'<circle cx="([-\d.]+)" cy="([-\d.]+)"', html)
    lines = re.findall(r'<polyline points="([^"]+)"', html)
    vertices = [tuple(v.split(",")) for line in lines for v in line.split()]
    points = [(float(x) + 7, float(y) + 7) for x, y in squares]
    points += [(float(x), float(y)) for x, y in [*dots, *vertices]]
    return float(size.group(1)), float(size.group(2)), points


def test_map_without_streets_shows_depot_site_and_routes() -> None:
    """No street network (``plan`` without --city): the canvas holds everything drawn, not
    only the bins (the depot and the disposal site lay off it)."""
    bins = [(f"b{i}", (24.95 + 0.001 * i, 60.17 + 0.001 * i), 0.5) for i in range(4)]
    route = [[24.90, 60.15], [24.95, 60.17], [24.99, 60.20]]  # depot, bin, site
    geojson = {
        "features": [
            {
                "geometry": {"type": "LineString", "coordinates": route},
                "properties": {"vehicle_id": "t1", "kind": "route"},
            },
            {
                "geometry": {"type": "Point", "coordinates": [24.95, 60.17]},
                "properties": {"vehicle_id": "t1", "kind": "bin", "order": 1},
            },
        ]
    }
    html = render_html(
        title="plan",
        streets=[],
        geojson=geojson,
        bins=bins,
        depots=[("d1", (24.90, 60.15))],
        sites=[("s1", (24.99, 60.20))],
        kpis={},
    )
    width, height, points = _drawn(html)
    assert len(points) == 2 + 4 + 3  # depot and site, bins, route vertices
    assert all(0 <= x <= width and 0 <= y <= height for x, y in points)


def _one_bin_map(**kw: Any) -> str:
    """The map of one bin and a depot, no route unless ``kw`` gives one (``kw``: more
    arguments of ``render_html``, e.g. notes, violations, geojson)."""
    args: dict[str, Any] = {"geojson": {"features": []}, "kpis": {}, **kw}
    return render_html(
        title="plan",
        streets=[],
        bins=[("b1", (24.95, 60.17), 0.5)],
        depots=[("d1", (24.90, 60.15))],
        sites=[],
        **args,
    )


def test_map_lists_the_planners_notes_escaped() -> None:
    """A day's notes (a truck in the workshop, its reason typed by a person) are listed
    beside the map as text: the markup in a note is shown, not run."""
    said = "t2 is out of service until 10:00 (<b>clutch</b> & brakes): it works 10:00-14:00"
    html = _one_bin_map(notes=[said, "no bin is due"])
    panel = re.search(r"<h2>Planner notes</h2><ul>(.*?)</ul>", html)
    assert panel is not None
    assert re.findall(r"<li>(.*?)</li>", panel.group(1)) == [
        "t2 is out of service until 10:00 (&lt;b&gt;clutch&lt;/b&gt; &amp; brakes): it works "
        "10:00-14:00",
        "no bin is due",
    ]
    assert "<b>" not in html


def test_map_says_when_the_checker_refuses_the_plan() -> None:
    """A plan breaking a rule is headed so on the map, each rule listed (escaped): the map
    of a refused plan looked like a feasible one's."""
    broken = "t1: arrives at b1 at 09:10 after its window <09:00>"
    html = _one_bin_map(violations=[broken])
    panel = re.search(r"<h2>Independent checker: (.*?)</h2><ul>(.*?)</ul>", html)
    assert panel is not None and panel.group(1).startswith("the plan breaks 1 rule(s)")
    assert re.findall(r"<li>(.*?)</li>", panel.group(2)) == [
        "t1: arrives at b1 at 09:10 after its window &lt;09:00&gt;"
    ]
    assert "plan feasible" not in html


def test_the_maps_truck_legend_names_each_trucks_colour_and_streams() -> None:
    """Each route line's truck is listed in its line's colour with its waste streams and
    bins (the map had no legend: which colour was which truck, taking what, was not said)."""

    def line(truck: str, streams: list[str]) -> dict[str, object]:
        coords = [[24.90, 60.15], [24.95, 60.17]]
        props = {"vehicle_id": truck, "kind": "route", "streams": streams, "bins": 3}
        return {"geometry": {"type": "LineString", "coordinates": coords}, "properties": props}

    routes = [line("t1", ["bio", "residual"]), line("t<2>", ["paper"])]
    html = _one_bin_map(geojson={"features": routes})
    legend = re.search(r'<section class="trucks"><h2>Trucks</h2><ul>(.*?)</ul>', html)
    assert legend is not None, html
    items = re.findall(
        r'<li><span style="color:(#[0-9a-f]{6})">&#9632;</span> ([^<]*)</li>', legend.group(1)
    )
    assert [text for _, text in items] == [
        "t1 takes bio, residual: 3 bin(s)",
        "t&lt;2&gt; takes paper: 3 bin(s)",
    ]
    drawn = re.findall(r'<polyline points="[^"]+" fill="none" stroke="(#[0-9a-f]{6})"', html)
    assert [colour for colour, _ in items] == drawn
