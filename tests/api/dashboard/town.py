"""The town the dashboard's browser tests drive: a hand-made street grid, its depot, site,
trucks and bins seeded through the API at dawn; plans asked for and driven through the API.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import networkx as nx

from api.routing import Routing
from network.streets import StreetNetwork
from tests.api.conftest import PLAN_DATE
from tests.network.conftest import add_street

DAWN = "2026-11-25T05:00:00+02:00"  # before the shifts start

# (bin id, lon, lat, fill at dawn): two clusters around the depot; "late" is too empty to plan
BINS = [
    ("b0", 24.9300, 60.1740, 0.92),
    ("b1", 24.9330, 60.1760, 0.55),
    ("b2", 24.9270, 60.1770, 0.81),
    ("b3", 24.9310, 60.1790, 0.68),
    ("b4", 24.9520, 60.1650, 0.95),
    ("b5", 24.9560, 60.1670, 0.47),
    ("b6", 24.9540, 60.1690, 0.74),
    ("b7", 24.9490, 60.1680, 0.88),
    ("late", 24.9440, 60.1740, 0.05),
]


def seed_requests(dawn: str = DAWN) -> list[tuple[str, Any]]:
    """A depot, a disposal site, two small trucks, the bins, readings at ``dawn`` (ISO), a
    citizen report then."""
    truck = {"depot_id": "d1", "capacity_l": 800, "capacity_kg": 400}
    return [
        ("/depots", {"depot_id": "d1", "lon": 24.9410, "lat": 60.1700}),
        ("/sites", {"site_id": "s1", "lon": 24.9600, "lat": 60.1800}),
        ("/vehicles", {"vehicle_id": "v1", **truck}),
        ("/vehicles", {"vehicle_id": "v2", **truck}),
        (
            "/bins/bulk",
            [{"bin_id": b, "lon": x, "lat": y, "capacity_l": 240} for b, x, y, _ in BINS],
        ),
        ("/readings", [{"bin_id": b, "at": dawn, "fill_fraction": f} for b, _, _, f in BINS]),
        (
            "/reports",
            {
                "report_id": "r1",
                "at": dawn,
                "text": "bags beside the bin",
                "lon": 24.9385,
                "lat": 60.1715,
                "overflowing": False,
            },
        ),
    ]


def grid_town() -> StreetNetwork:
    """A hand-made street grid (every 0.003 deg of lon, 0.002 deg of lat) under the bins, with
    a diagonal avenue: the plan follows its streets and the map draws them."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    cols, rows = range(14), range(11)
    for i in cols:
        for j in rows:
            graph.add_node(100 * i + j, x=24.924 + 0.003 * i, y=60.163 + 0.002 * j)
    osmid = 0
    for i in cols:
        for j in rows:
            for u, v in [(100 * i + j, 100 * (i + 1) + j), (100 * i + j, 100 * i + j + 1)]:
                if v in graph.nodes:
                    osmid += 1
                    add_street(graph, u, v, osmid=osmid)
    for k in range(10):  # the avenue, south-west to north-east
        osmid += 1
        add_street(graph, 100 * (k + 2) + k, 100 * (k + 3) + k + 1, osmid=osmid)
    return StreetNetwork.from_graph(graph)


def town_routing(network: StreetNetwork) -> Routing:
    """Street travel times, route geometry and directions over ``network``."""
    return Routing.on_streets(network)


def bound_socket() -> socket.socket:
    """A socket bound to a free local port, handed to uvicorn as it is: a port found
    free and closed again could be taken by another process before uvicorn bound it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def planned(base: str, key: str, plan_date: str = PLAN_DATE) -> dict[str, Any]:
    """Request a plan of ``plan_date`` through the API and wait until it is done."""
    with httpx.Client(base_url=base, timeout=10) as c:
        headers = {"X-API-Key": key}
        plan: dict[str, Any] = c.post(
            "/plans", json={"plan_date": plan_date}, headers=headers
        ).json()
        deadline = time.monotonic() + 60
        while c.get(f"/plans/{plan['id']}", headers=headers).json()["status"] != "done":
            assert time.monotonic() < deadline, "the plan did not finish"
            time.sleep(0.2)
    return plan


def planned_doc(base: str, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A plan of ``PLAN_DATE`` requested and done (:func:`planned`), and its routes' JSON."""
    plan = planned(base, key)
    with httpx.Client(base_url=base, timeout=10) as c:
        doc: dict[str, Any] = c.get(
            f"/plans/{plan['id']}/routes", headers={"X-API-Key": key}
        ).json()
    return plan, doc


def first_bin(routes: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first route (plan JSON) with a bin visit, and that visit."""
    route = next(r for r in routes if any(v["kind"] == "bin" for v in r["visits"]))
    return route, next(v for v in route["visits"] if v["kind"] == "bin")


def driven(base: str, key: str) -> tuple[dict[str, Any], str]:
    """The day planned and the first truck with bins reporting its first one emptied: the
    plan row and the truck."""
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        first: dict[str, Any] = c.post("/plans", json={"plan_date": PLAN_DATE}).json()
        for _ in range(400):
            if c.get(f"/plans/{first['id']}").json()["status"] == "done":
                break
            time.sleep(0.05)
        route, visit = first_bin(c.get(f"/plans/{first['id']}/routes").json()["routes"])
        truck: str = route["vehicle_id"]
        done = {"vehicle_id": truck, "kind": "visit_done", "at": visit["start"]}
        sent = c.post(f"/plans/{first['id']}/progress", json={**done, "bin_id": visit["bin_id"]})
        assert sent.status_code == 201, sent.text
    return first, truck
