"""The dashboard in a real headless browser (Debian chromium driven by Playwright).

The app runs under uvicorn on 127.0.0.1 (a free port, a temp SQLite file, the real planning
pipeline over a hand-made street grid and a 1 s solver limit); data is seeded through the API.
Screenshots go to tests/_artifacts/ (gitignored); their paths are printed.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
import pytest

from api.app import create_app
from api.deps import get_routing
from api.routing import Routing
from api.security import Role, issue_key
from api.settings import Settings
from network.streets import StreetNetwork
from tests.api.conftest import CLOCK_SKEW_MIN, EVE, PLAN_DATE
from tests.network.conftest import add_street

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# how long a page waits for what it expects (a wait, not a timing check: it ends as soon
# as the page shows it); plan jobs solve for real, and on a machine at load 7 a re-plan
# took more than 20 s to read "ready"
TIMEOUT_MS = 60_000
DAWN = "2026-11-25T05:00:00+02:00"  # before the shifts start

if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing: pip install playwright"
)
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is missing")


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


def _seed_requests() -> list[tuple[str, Any]]:
    """A depot, a disposal site, two small trucks, the bins, dawn readings, a citizen report."""
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
        ("/readings", [{"bin_id": b, "at": DAWN, "fill_fraction": f} for b, _, _, f in BINS]),
        (
            "/reports",
            {
                "report_id": "r1",
                "at": DAWN,
                "text": "bags beside the bin",
                "lon": 24.9385,
                "lat": 60.1715,
                "overflowing": False,
            },
        ),
    ]


def _grid_town() -> StreetNetwork:
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


def _routing(network: StreetNetwork) -> Routing:
    """Street travel times, route geometry and directions over ``network``."""
    return Routing.on_streets(network)


def _bound_socket() -> socket.socket:
    """A socket bound to a free local port, handed to uvicorn as it is: a port found
    free and closed again could be taken by another process before uvicorn bound it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(base url, dispatcher key) of a live app seeded through the API (see ``_seed_requests``);
    parametrised indirectly with a datetime, its jobs take that as now (else ``EVE``), or with
    (datetime, minutes): also the clock skew it allows (else ``CLOCK_SKEW_MIN``)."""
    param = getattr(request, "param", None)
    now, skew = param if isinstance(param, tuple) else (param or EVE, CLOCK_SKEW_MIN)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'binroute.db'}",
        scheduler_enabled=False,
        city="haversine",  # unused: get_routing is overridden
        timezone="Europe/Helsinki",
        default_time_limit_s=1,
        max_time_limit_s=2,
        clock_skew_min=skew,
    )
    app = create_app(settings, clock=lambda: now)  # the real PipelinePlanner, now its clock
    routing = _routing(_grid_town())
    app.dependency_overrides[get_routing] = lambda: routing
    sock = _bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    key = issue_key(app.state.runtime.db, Role.DISPATCHER, "browser test")
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, timeout=10) as c:
        for path, body in _seed_requests():
            r = c.post(path, json=body, headers=headers)
            assert r.status_code in (200, 201), r.text
    try:
        yield base, key
    finally:
        srv.should_exit = True
        thread.join(15)
        sock.close()


@contextmanager
def _dashboard(
    base: str,
    key: str,
    errors: list[str],
    external: list[str],
    routes: dict[str, Any] | None = None,
    timezone: str | None = None,
) -> Iterator[Any]:
    """A headless page on the dashboard with the key saved and ``PLAN_DATE`` chosen.

    Page errors and console errors go to ``errors``, requests leaving ``base`` to ``external``;
    ``routes`` maps URL patterns to Playwright route handlers (set before the page loads);
    ``timezone``: the browser's (else the machine's).
    """
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, timezone_id=timezone)
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on(
                "request",
                lambda r: None if r.url.startswith(base) else external.append(r.url),
            )
            for pattern, handler in (routes or {}).items():
                page.route(pattern, handler)
            page.goto(f"{base}/dashboard")
            page.fill("#api-key", key)
            page.click("#save-key")
            page.fill("#plan-date", PLAN_DATE)
            page.dispatch_event("#plan-date", "change")
            yield page
        finally:
            browser.close()


def _until(page: Any, expression: str) -> None:
    """Wait until ``expression`` is true in the page. ``page.wait_for_function`` polls by
    evaluating a string in the page, which the dashboard's policy (``script-src 'self'``)
    forbids; ``page.evaluate`` is the browser's own."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression!r} still false after {TIMEOUT_MS} ms")
        page.wait_for_timeout(20)


def _version(page: Any, version: int) -> str:
    """The value of version ``version``'s option in the Version menu."""
    value: str = page.eval_on_selector(
        "#plan-select",
        "(s, v) => [...s.options].find((o) => o.text.startsWith(v)).value",
        f"v{version} ",
    )
    return value


def _shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"dashboard_{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T05:30:00+02:00")], indirect=True
)
def test_dispatcher_plans_alerts_and_marks_done_in_a_browser(server: tuple[str, str]) -> None:
    """The dispatcher on duty the morning of the day (05:30, before the shifts): plans the
    day, raises an alert (dated by the service's clock) that reroutes it, marks stops done."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    with _dashboard(base, key, errors, external) as page:
        page.wait_for_selector("#message:has-text('no plan for')")

        # request a plan and follow its progress to done
        page.click("#request-plan")
        page.wait_for_selector("#plan-status:has-text('done 100%')")
        page.wait_for_selector(".truck table.stops")
        kpis = page.inner_text("#kpis")
        assert "bins collected" in kpis and "km" in kpis and "mean fill at pickup" in kpis
        collected = int(page.inner_text("[data-kpi='bins collected'] b"))
        bin_rows = page.locator("tr[data-kind='bin']")
        assert bin_rows.count() == collected > 0
        etas = page.locator("tr[data-kind='bin'] td:nth-child(3)").all_inner_texts()
        assert all(len(t) == 5 and t[2] == ":" for t in etas), etas
        assert page.locator("#map polyline[data-truck]").count() >= 1
        assert page.locator("#layer-streets polyline").count() > 100
        assert "streets" in page.inner_text("#streets-note")
        assert page.locator("#map g.bin").count() == 9  # every seeded bin
        assert page.locator("#map [data-depot='d1']").count() == 1
        assert page.locator("#map [data-site='s1']").count() == 1
        assert page.locator("#map [data-report='r1']").count() == 1
        assert page.is_visible("#credit")
        assert "OpenStreetMap contributors" in page.inner_text("#credit")
        _shot(page, "1_plan")

        # raise an overflow alert on the unplanned bin and see the reroute's diff
        assert page.locator("tr[data-stop='late']").count() == 0
        page.click("#map g.bin[data-bin='late']")
        page.wait_for_selector("#popup:has-text('bin late')")
        _shot(page, "2_popup")
        page.click("#raise-alert")
        page.wait_for_selector("#diff-panel:has-text('late')")
        assert "+ " in page.inner_text("#diff")
        assert page.locator("tr[data-stop='late']").count() == 1
        assert page.locator("#map g.bin[data-bin='late'] .alert-ring").count() == 1
        assert "v2" in page.inner_text("#plan-select")
        # which truck comes when, against the alert's response target
        page.wait_for_selector("#message:has-text('empties it at')")
        assert "(target " in page.inner_text("#message") or "after its target" in page.inner_text(
            "#message"
        )
        eta = page.locator("tr[data-stop='late'] td:nth-child(3)")
        assert (eta.get_attribute("title") or "").startswith("alert: empty by ")
        # the alerts panel: the truck and its ETA, in the city's clock like the route sheet
        row = page.locator("#alerts tr[data-status='rerouted']")
        cells = row.locator("td").all_inner_texts()
        truck = page.locator(".truck:has(tr[data-stop='late'])").get_attribute("data-truck")
        assert cells[1] == "late" and cells[4] == truck
        assert cells[0] == "05:30"  # the alert's time: the service's clock, when it was raised
        assert cells[5] >= eta.inner_text()  # service starts at arrival or after a wait
        assert len(cells[6]) == 5 and cells[6][2] == ":"
        _shot(page, "3_rerouted")

        # the version before the reroute: no diff (it has no parent); back: the reroute's own
        page.select_option("#plan-select", _version(page, 1))
        page.wait_for_selector("#plan-status:has-text('v1: done')")
        assert page.locator("tr[data-stop='late']").count() == 0
        assert page.locator("#diff-panel").is_hidden()
        page.select_option("#plan-select", _version(page, 2))
        page.wait_for_selector("#diff-panel:has-text('late')")
        assert page.locator("tr[data-stop='late']").count() == 1

        # mark the first bin stop done: a fill above 100 % is refused, 80 % is sent
        first = page.locator("tr[data-kind='bin']").first
        stop = first.get_attribute("data-stop")
        first.locator("input.fill-found").fill("150")
        first.locator("button.done-btn").click()
        page.wait_for_selector("#message:has-text('from 0 to 100')")
        assert page.locator(f"tr.done[data-stop='{stop}']").count() == 0
        first.locator("input.fill-found").fill("80")
        first.locator("button.done-btn").click()
        page.wait_for_selector(f"tr.done[data-stop='{stop}']")
        assert "found 80%" in page.inner_text(f"tr.done[data-stop='{stop}'] td.act")
        _shot(page, "4_done")
        page.reload()  # the found fill comes back from the server's progress log
        page.wait_for_selector(f"tr.done[data-stop='{stop}'] td.act:has-text('found 80%')")

        # the same truck's first unloading, marked from its disposal row
        truck = page.locator(".truck", has=page.locator(f"tr[data-stop='{stop}']"))
        vehicle = truck.get_attribute("data-truck")
        unload = truck.locator("tr[data-kind='disposal']").first
        site = unload.get_attribute("data-stop")
        unload.locator("button.done-btn").click()
        page.wait_for_selector(f"#message:has-text('{vehicle} unloaded at {site}')")
        page.reload()
        first_unload = page.locator(f".truck[data-truck='{vehicle}'] tr[data-kind='disposal']")
        page.wait_for_selector(f".truck[data-truck='{vehicle}'] tr.done[data-kind='disposal']")
        assert first_unload.first.inner_text().endswith("unloaded")
        assert page.locator(".truck tr.done[data-kind='disposal']").count() == 1
    with httpx.Client(base_url=base, timeout=10) as c:
        plans = c.get("/plans", headers={"X-API-Key": key}).json()
        newest = max(p["id"] for p in plans)
        progress = c.get(f"/plans/{newest}/progress", headers={"X-API-Key": key}).json()
    assert [(p["kind"], p["bin_id"], p["fill_fraction"], p["site_id"]) for p in progress] == [
        ("visit_done", stop, 0.8, None),
        ("disposal_done", None, None, site),
    ]
    assert errors == []
    assert external == []  # OSM tiles stay off unless switched on


def _planned(base: str, key: str, plan_date: str = PLAN_DATE) -> dict[str, Any]:
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


def _with_second_visit(plan: dict[str, Any]) -> str:
    """Give the first bin stop of the plan a second visit (``<bin>#2``) two hours later, as
    ``optimiser.build.timed_stops`` plans for a bin refilling within the day; returns the bin."""
    route = next(r for r in plan["routes"] if any(v["kind"] == "bin" for v in r["visits"]))
    first = next(v for v in route["visits"] if v["kind"] == "bin")
    later = (datetime.fromisoformat(first["end"]) + timedelta(hours=2)).isoformat()
    second = {**first, "ref": f"{first['ref']}#2", "arrival": later, "start": later, "end": later}
    visits = route["visits"]
    visits.insert(len(visits) - 1, second)  # before the return to the depot
    for i, v in enumerate(visits):
        v["order"] = i
    return str(first["ref"])


def _adding_second_visit(binned: list[str]) -> Callable[[Any], None]:
    """A page route handler that gives the plan's first bin a second visit (``<bin>#2``,
    :func:`_with_second_visit`) and appends the bin to ``binned``."""

    def add(route: Any) -> None:
        response = route.fetch()
        plan = response.json()
        binned.append(_with_second_visit(plan))
        route.fulfill(response=response, json=plan)

    return add


def test_dispatcher_marks_a_second_visit_done_by_its_bin_id(server: tuple[str, str]) -> None:
    """The stop ``<bin>#2`` is reported as the bin (ids have no '#'), and each visit of the
    bin shows done only once it has its own report."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    binned: list[str] = []

    plan = _planned(base, key)
    routes = {"**/plans/*/routes": _adding_second_visit(binned)}
    with _dashboard(base, key, errors, external, routes) as page:
        page.wait_for_selector(".truck table.stops")
        b = binned[-1]
        first, second = f"tr[data-stop='{b}']", f"tr[data-stop='{b}#2']"
        page.locator(f"{first} button.done-btn").click()
        page.wait_for_selector(f"tr.done[data-stop='{b}']")
        assert page.locator(f"tr.done[data-stop='{b}#2']").count() == 0
        page.locator(f"{second} input.fill-found").fill("40")
        page.locator(f"{second} button.done-btn").click()
        page.wait_for_selector(f"tr.done[data-stop='{b}#2'] td.act:has-text('found 40%')")
        page.reload()
        page.wait_for_selector(f"tr.done[data-stop='{b}#2'] td.act:has-text('found 40%')")
        assert page.inner_text(f"tr.done[data-stop='{b}'] td.act") == "done"
        _shot(page, "5_second_visit")
    with httpx.Client(base_url=base, timeout=10) as c:
        progress = c.get(f"/plans/{plan['id']}/progress", headers={"X-API-Key": key}).json()
    assert [(p["bin_id"], p["fill_fraction"]) for p in progress] == [(b, None), (b, 0.4)]
    assert errors == []
    assert external == []


def test_a_report_sent_twice_marks_no_second_visit_done(server: tuple[str, str]) -> None:
    """A crew's tablet sends its report of the first bin twice, five minutes apart (a
    retry): the service takes the second for a resend (``resend`` in the progress list),
    and the page shows the bin's visit done but not its second visit ``<bin>#2`` (it took
    every report for a visit of the bin)."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    binned: list[str] = []

    plan = _planned(base, key)
    with httpx.Client(base_url=base, timeout=10) as c:
        headers = {"X-API-Key": key}
        doc = c.get(f"/plans/{plan['id']}/routes", headers=headers).json()
        route = next(r for r in doc["routes"] if any(v["kind"] == "bin" for v in r["visits"]))
        first = next(v for v in route["visits"] if v["kind"] == "bin")
        done = {"vehicle_id": route["vehicle_id"], "kind": "visit_done", "bin_id": first["ref"]}
        end = datetime.fromisoformat(first["end"])
        for at in (end, end + timedelta(minutes=5)):
            sent = c.post(
                f"/plans/{plan['id']}/progress",
                json={**done, "at": at.isoformat()},
                headers=headers,
            )
            assert sent.status_code == 201, sent.text
        progress = c.get(f"/plans/{plan['id']}/progress", headers=headers).json()
    assert [p["resend"] for p in progress] == [False, True]
    routes = {"**/plans/*/routes": _adding_second_visit(binned)}
    with _dashboard(base, key, errors, external, routes) as page:
        page.wait_for_selector(f"tr.done[data-stop='{first['ref']}']")
        assert binned[-1] == first["ref"]
        assert page.locator(f"tr[data-stop='{first['ref']}#2']").count() == 1
        assert page.locator(f"tr.done[data-stop='{first['ref']}#2']").count() == 0
    assert errors == []
    assert external == []


def test_a_click_the_service_takes_for_a_resend_marks_no_second_visit_done(
    server: tuple[str, str],
) -> None:
    """The crew's tablet reports the first bin emptied 90 minutes late, half an hour before
    its second visit ``<bin>#2`` is due; the dispatcher, seeing the bin done, clicks done on
    ``<bin>#2``: the service takes it for a resend (the truck's last report again within
    the hour) and the page marks no visit done, saying so (it marked ``<bin>#2`` done until
    the page was reloaded)."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    binned: list[str] = []

    plan = _planned(base, key)
    with httpx.Client(base_url=base, timeout=10) as c:
        headers = {"X-API-Key": key}
        doc = c.get(f"/plans/{plan['id']}/routes", headers=headers).json()
        route = next(r for r in doc["routes"] if any(v["kind"] == "bin" for v in r["visits"]))
        first = next(v for v in route["visits"] if v["kind"] == "bin")
        late = datetime.fromisoformat(first["end"]) + timedelta(minutes=90)
        done = {"vehicle_id": route["vehicle_id"], "kind": "visit_done", "bin_id": first["ref"]}
        sent = c.post(
            f"/plans/{plan['id']}/progress", json={**done, "at": late.isoformat()}, headers=headers
        )
        assert sent.status_code == 201, sent.text
    routes = {"**/plans/*/routes": _adding_second_visit(binned)}
    with _dashboard(base, key, errors, external, routes) as page:
        b = first["ref"]
        page.wait_for_selector(f"tr.done[data-stop='{b}']")
        assert binned[-1] == b
        with page.expect_response("**/progress") as answer:
            page.locator(f"tr[data-stop='{b}#2'] button.done-btn").click()
        assert answer.value.json()["resend"] is True
        _until(page, "document.getElementById('message').textContent !== ''")
        assert page.locator(f"tr.done[data-stop='{b}#2']").count() == 0
        assert page.locator(f"tr.done[data-stop='{b}']").count() == 1
        assert "taken for a resend" in page.inner_text("#message")
    assert errors == []
    assert external == []


def test_the_planners_notes_and_broken_rules_are_shown(server: tuple[str, str]) -> None:
    """A rerouted plan may carry the checker's verdict (a late truck overruns its shift) and
    notes (why); the dispatcher sees both, the broken rule first."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    late = {
        "vehicle_id": "v1",
        "ref": None,
        "code": "shift",
        "message": "returns at 14:00, after its shift end 13:53:20",
    }
    note = "v1 cannot be back at its depot by its shift end (13:53): the soonest is 14:00"

    def with_verdict(route: Any) -> None:
        response = route.fetch()
        plan = response.json()
        plan["notes"], plan["violations"] = [note], [late]
        route.fulfill(response=response, json=plan)

    plan = _planned(base, key)
    with httpx.Client(base_url=base, timeout=10) as c:
        real = c.get(f"/plans/{plan['id']}/routes", headers={"X-API-Key": key}).json()
    assert real["violations"] == []  # the service's own plan breaks no rule
    with _dashboard(base, key, errors, external, {"**/plans/*/routes": with_verdict}) as page:
        page.wait_for_selector("#notes li.violation[data-violation='shift']")
        items = page.locator("#notes li").all_inner_texts()
        assert items == [f"rule broken (shift) v1: {late['message']}", note]
        _shot(page, "6_notes")
    assert errors == []
    assert external == []


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T05:30:00+02:00")], indirect=True
)
def test_an_alert_no_truck_can_serve_says_why(server: tuple[str, str]) -> None:
    """An alert on a glass bank (no truck collects glass), raised the morning of the day
    planned: the page says no truck can collect it today, with the planner's reason, and
    keeps the alert ring on the bin until the dispatcher dismisses the alert."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    bank = {"bin_id": "glass", "lon": 24.9450, "lat": 60.1720, "capacity_l": 2500}
    with httpx.Client(base_url=base, timeout=10) as c:
        r = c.post("/bins", json={**bank, "stream": "glass"}, headers={"X-API-Key": key})
        assert r.status_code == 201, r.text
    _planned(base, key)
    with _dashboard(base, key, errors, external) as page:
        page.wait_for_selector(".truck table.stops")
        page.click("#map g.bin[data-bin='glass']")
        page.wait_for_selector("#popup:has-text('bin glass')")
        page.click("#raise-alert")
        page.wait_for_selector("#message:has-text('no truck can collect it today')")
        assert "stream 'glass'" in page.inner_text("#message")
        assert page.locator("#map g.bin[data-bin='glass'] .alert-ring").count() == 1
        # the dispatcher finds it a false alarm and dismisses it: no ring, no next-day plan
        page.click("#alerts tr[data-status='unserved'] button.dismiss")
        page.wait_for_selector("#message:has-text('dismissed: no plan takes it in')")
        assert page.locator("#alerts tr[data-status='dismissed']").count() == 1
        assert page.locator("#map g.bin[data-bin='glass'] .alert-ring").count() == 0
    assert errors == []
    assert external == []


def _alert_with_no_plan(base: str, key: str, at: str) -> dict[str, Any]:
    """An overflow alert on "late" at ``at``, once it reads ``no_plan`` (its day has no
    plan): the alert."""
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        alert: dict[str, Any] = c.post("/alerts", json={"bin_id": "late", "at": at}).json()
        for _ in range(200):
            if c.get(f"/alerts/{alert['id']}").json()["status"] == "no_plan":
                break
            time.sleep(0.05)
    return alert


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T10:30:00+02:00")], indirect=True
)
def test_a_plan_made_mid_morning_says_who_empties_a_waiting_alert(server: tuple[str, str]) -> None:
    """ "late" (nearly empty at dawn) overflows at 10:00, before the day has a plan. The
    dispatcher plans the day at 10:30: the message and the alerts panel say which truck
    empties it when, against its 12:00 target, and the notes say the plan starts at 10:30."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    alert = _alert_with_no_plan(base, key, f"{PLAN_DATE}T10:00:00+02:00")
    with _dashboard(base, key, errors, external) as page:
        page.click("#request-plan")
        page.wait_for_selector("#message:has-text('ready; alert #')")
        message = page.inner_text("#message")
        assert f"alert #{alert['id']} on late: truck v" in message
        assert "(target 12:00)" in message
        row = page.locator(f"#alerts tr[data-alert='{alert['id']}']")
        assert row.get_attribute("data-status") == "planned"
        assert "planned at 10:30" in page.inner_text("#notes")
    assert errors == []
    assert external == []


def test_a_plan_asked_for_while_the_same_is_being_made_says_so(server: tuple[str, str]) -> None:
    """Another dispatcher asked for the day's plan a moment before this click: the service
    answers that job (no other is started) and the dashboard says so once it is shown, and
    that asking again plans with the readings and alerts of now. Before, it said "ready" as
    if the click had made it."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    first: list[dict[str, Any]] = []

    def other_dispatcher_first(route: Any, request: Any) -> None:
        if request.method == "POST" and not first:
            with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
                first.append(c.post("/plans", json={"plan_date": PLAN_DATE}).json())
        route.continue_()

    routes = {"**/plans": other_dispatcher_first}
    with _dashboard(base, key, errors, external, routes=routes) as page:
        page.click("#request-plan")
        page.wait_for_selector("#message:has-text('ready')")
        message = page.inner_text("#message")
        assert message.startswith(f"plan #{first[0]['id']} ready"), message
        assert "when you asked: it is shown, and no other was started" in message
        assert "ask again to plan with the readings and alerts of now" in message
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        assert len(c.get("/plans", params={"plan_date": PLAN_DATE}).json()) == 1
    assert errors == []
    assert external == []


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T02:00:00+02:00")], indirect=True
)
def test_an_alert_from_the_evening_before_shows_its_day_and_first_thing_target(
    server: tuple[str, str],
) -> None:
    """ "late" overflowed at 17:30 the evening before, when the day had no plan. The night
    plan takes it in: the alerts panel dates it "24 Nov 17:30" (before, "17:30", read as
    today's) and shows its target, the first shift's start."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    alert = _alert_with_no_plan(base, key, "2026-11-24T17:30:00+02:00")
    with _dashboard(base, key, errors, external) as page:
        page.click("#request-plan")
        page.wait_for_selector("#message:has-text('ready; alert #')")
        row = page.locator(f"#alerts tr[data-alert='{alert['id']}']")
        assert row.get_attribute("data-status") == "planned"
        cells = row.locator("td").all_inner_texts()
        assert (cells[0], cells[6]) == ("24 Nov 17:30", "06:00"), cells
    assert errors == []
    assert external == []


def _driven(base: str, key: str) -> tuple[dict[str, Any], str]:
    """The day planned and the first truck with bins reporting its first one emptied: the
    plan row and the truck."""
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        first: dict[str, Any] = c.post("/plans", json={"plan_date": PLAN_DATE}).json()
        for _ in range(400):
            if c.get(f"/plans/{first['id']}").json()["status"] == "done":
                break
            time.sleep(0.05)
        routes = c.get(f"/plans/{first['id']}/routes").json()["routes"]
        route = next(r for r in routes if any(v["kind"] == "bin" for v in r["visits"]))
        visit = next(v for v in route["visits"] if v["kind"] == "bin")
        truck: str = route["vehicle_id"]
        done = {"vehicle_id": truck, "kind": "visit_done", "at": visit["start"]}
        sent = c.post(f"/plans/{first['id']}/progress", json={**done, "bin_id": visit["bin_id"]})
        assert sent.status_code == 201, sent.text
    return first, truck


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T10:30:00+02:00")], indirect=True
)
def test_a_plan_asked_for_while_a_truck_is_out_shows_each_drivers_change(
    server: tuple[str, str],
) -> None:
    """The day's plan is driven: a truck reports its first bin. Asked for a plan again, the
    dashboard says the rest of the day was re-planned from where the trucks are and shows
    each driver's change against the plan they were on.

    The plan is asked for while the date, just chosen, is still loading (its versions'
    answer held until the re-plan is done): that load, which found only the first plan, is
    overtaken by the re-plan's; it used to finish last, show the first plan and clear the
    message."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    first, _ = _driven(base, key)
    with _dashboard(base, key, errors, external) as page:
        page.fill("#plan-date", "2026-11-24")
        page.dispatch_event("#plan-date", "change")
        page.wait_for_selector("#message:has-text('no plan for 2026-11-24')")
        page.evaluate(HOLD_ANSWERS, f"/plans?plan_date={PLAN_DATE}")
        page.fill("#plan-date", PLAN_DATE)
        page.dispatch_event("#plan-date", "change")
        page.click("#request-plan")
        page.wait_for_selector("#plan-status:has-text('v2: done')")
        page.evaluate("window.release()")
        _until(page, "window.busy === 0")
        message = page.inner_text("#message")
        assert "ready" in message
        assert f"re-planned from where the trucks are on plan #{first['id']}" in message
        assert not page.locator("#diff-panel").is_hidden()
        assert f"against #{first['id']}" in page.inner_text("#diff")
        assert "re-planned at 10:30 from where the trucks are" in page.inner_text("#notes")
    assert errors == []
    assert external == []


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T10:30:00+02:00")], indirect=True
)
def test_dismissing_an_alert_a_truck_was_sent_to_shows_the_day_without_it(
    server: tuple[str, str],
) -> None:
    """The day's plan is driven (a truck emptied its first bin) when "late" is reported
    overflowing and a reroute sends a truck. The dispatcher finds it a false alarm and
    dismisses it: the page follows the re-plan, says the plan is ready without the visit,
    shows each driver's change, and the alert reads dismissed."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    _driven(base, key)
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        alert = c.post("/alerts", json={"bin_id": "late", "at": f"{PLAN_DATE}T10:30:00+02:00"})
        for _ in range(400):
            got = c.get(f"/alerts/{alert.json()['id']}").json()
            if got["status"] not in ("open", "rerouting"):
                break
            time.sleep(0.05)
        assert got["status"] == "rerouted", got
    with _dashboard(base, key, errors, external) as page:
        page.click(f"#alerts tr[data-alert='{got['id']}'] button.dismiss")
        page.wait_for_selector("#message:has-text('ready without its visit')")
        row = page.locator(f"#alerts tr[data-alert='{got['id']}']")
        assert row.get_attribute("data-status") == "dismissed"
        assert not page.locator("#diff-panel").is_hidden()
        assert f"against #{got['plan_id']}" in page.inner_text("#diff")
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        job = c.get(f"/alerts/{got['id']}").json()["plan_id"]
        doc = c.get(f"/plans/{job}/routes").json()
    assert "late" not in {v.get("bin_id") for r in doc["routes"] for v in r["visits"]}
    assert errors == []
    assert external == []


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T10:30:00+02:00")], indirect=True
)
def test_a_truck_broken_down_is_taken_out_of_service_and_back_from_its_card(
    server: tuple[str, str],
) -> None:
    """The day's plan is driven: a truck emptied its first bin and breaks down. The
    dispatcher presses "out of service" on its card: the page follows the re-plan, the
    notes say the truck takes no more bins and stands where it was last reported, its card
    ends there ("stands"), and it offers "back in service", which re-plans the day again."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    _, truck = _driven(base, key)
    card = f".truck[data-truck='{truck}']"
    with _dashboard(base, key, errors, external) as page:
        page.click(f"{card} button.service-btn[data-down='no']")
        page.wait_for_selector(f"#message:has-text('truck {truck} out of service: plan #')")
        notes = page.inner_text("#notes")
        assert f"{truck} is out of service from 10:30 (dashboard)" in notes
        assert "it takes no more bins today" in notes
        assert f"{truck} stands where it was last reported" in notes
        last = page.locator(f"{card} table.stops tr").last.inner_text()
        assert "stands (out of service)" in last, last
        page.click(f"{card} button.service-btn[data-down='yes']")
        page.wait_for_selector(f"#message:has-text('truck {truck} back in service: plan #')")
        assert "out of service" not in page.inner_text("#notes")
        assert page.locator(f"{card} button.service-btn[data-down='no']").count() == 1
    assert errors == []
    assert external == []


def test_the_map_numbers_each_stop_as_its_trucks_stops_table(server: tuple[str, str]) -> None:
    """A bin's number on the map is its '#' in the stops table (the visit order, the depot
    start 0 and the disposal trips counted), not its rank among the truck's bins."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    _planned(base, key)
    with _dashboard(base, key, errors, external) as page:
        page.wait_for_selector(".truck table.stops")
        rows = page.locator("tr[data-kind='bin']")
        table = {
            r.get_attribute("data-stop"): r.locator("td").first.inner_text() for r in rows.all()
        }
        labels = page.locator("#layer-labels g")
        shown = {
            g.get_attribute("data-stop"): g.locator("text").text_content() for g in labels.all()
        }
        assert shown == table
        assert page.locator("tr[data-kind='disposal']").count() > 0  # numbers count the trips
    assert errors == []
    assert external == []


def test_a_fill_typed_in_one_row_stays_when_another_stop_is_marked_done(
    server: tuple[str, str],
) -> None:
    """Marking a stop done redraws the trucks' tables: the "fill %" typed in other rows
    stays, and is sent with that stop when it is marked done."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    plan = _planned(base, key)
    with _dashboard(base, key, errors, external) as page:
        page.wait_for_selector(".truck table.stops")
        rows = page.locator("tr[data-kind='bin']")
        a, b, d = (rows.nth(i).get_attribute("data-stop") for i in range(3))
        page.fill(f"tr[data-stop='{b}'] input.fill-found", "75")
        page.fill(f"tr[data-stop='{d}'] input.fill-found", "60")
        page.click(f"tr[data-stop='{a}'] button.done-btn")
        page.wait_for_selector(f"tr.done[data-stop='{a}']")
        assert page.input_value(f"tr[data-stop='{b}'] input.fill-found") == "75"
        assert page.input_value(f"tr[data-stop='{d}'] input.fill-found") == "60"
        page.click(f"tr[data-stop='{b}'] button.done-btn")
        page.wait_for_selector(f"tr.done[data-stop='{b}'] td.act:has-text('found 75%')")
        assert page.input_value(f"tr[data-stop='{d}'] input.fill-found") == "60"
    with httpx.Client(base_url=base, timeout=10) as c:
        progress = c.get(f"/plans/{plan['id']}/progress", headers={"X-API-Key": key}).json()
    assert [(p["bin_id"], p["fill_fraction"]) for p in progress] == [(a, None), (b, 0.75)]
    assert errors == []
    assert external == []


@pytest.mark.parametrize(  # the service's default clock skew, 15 minutes
    "server", [(datetime.fromisoformat(f"{PLAN_DATE}T20:00:00+02:00"), 15)], indirect=True
)
def test_an_alert_raised_the_evening_before_is_dated_by_the_services_clock(
    server: tuple[str, str],
) -> None:
    """In the evening tomorrow's plan is made and shown (the page's default day). The
    dispatcher raises an alert on a bin: it is dated now by the service's clock (not at the
    shown plan's first departure, after the service's clock: refused), finds no plan of
    today, and the next plan of tomorrow takes it in."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    tomorrow = "2026-11-26"
    _planned(base, key, tomorrow)
    with _dashboard(base, key, errors, external) as page:
        page.fill("#plan-date", tomorrow)
        page.dispatch_event("#plan-date", "change")
        page.wait_for_selector(".truck table.stops")
        page.click("#map g.bin[data-bin='late']")
        page.click("#raise-alert")
        page.wait_for_selector(f"#message:has-text('no finished plan for {PLAN_DATE}')")
        page.click("#request-plan")
        page.wait_for_selector("#message:has-text('ready; alert #')")
        assert "on late: truck v" in page.inner_text("#message")
        assert page.locator("tr[data-stop='late']").count() == 1
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        (alert,) = [a for a in c.get("/alerts").json() if a["source"] == "dispatcher"]
    assert datetime.fromisoformat(alert["at"]) == datetime.fromisoformat(
        f"{PLAN_DATE}T20:00:00+02:00"
    )
    assert alert["status"] == "planned"
    assert errors == []
    assert external == []


# a fetch hook: the answers to a URL ending with ``held`` wait until ``window.release()``;
# ``window.busy`` counts requests whose answer the page has not yet taken in (each answer is
# read ahead and handed over at once, and counted done a task later), 0 once the page is idle
HOLD_ANSWERS = """(held) => {
  const fetch0 = window.fetch;
  const gate = new Promise((res) => { window.release = res; });
  window.busy = 0;
  window.fetch = async (url, options) => {
    window.busy += 1;
    try {
      const r = await fetch0(url, options);
      const text = await r.text();
      if (String(url).endsWith(held)) await gate;
      return { ok: r.ok, status: r.status, statusText: r.statusText, headers: r.headers,
        json: async () => JSON.parse(text), text: async () => text };
    } finally {
      setTimeout(() => { window.busy -= 1; }, 0);
    }
  };
}"""


def test_a_date_left_before_its_plans_came_is_not_shown(server: tuple[str, str]) -> None:
    """The date changed twice quickly (25 Nov, then 26 Nov): the answer for 25 Nov, coming
    last, is dropped, and the page shows 26 Nov's plan under 26 Nov."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    _planned(base, key)
    later = _planned(base, key, "2026-11-26")
    with _dashboard(base, key, errors, external) as page:
        page.wait_for_selector(".truck table.stops")
        page.fill("#plan-date", "2026-11-24")
        page.dispatch_event("#plan-date", "change")
        page.wait_for_selector("#message:has-text('no plan for 2026-11-24')")
        page.evaluate(HOLD_ANSWERS, f"/plans?plan_date={PLAN_DATE}")
        for day in (PLAN_DATE, "2026-11-26"):
            page.fill("#plan-date", day)
            page.dispatch_event("#plan-date", "change")
        page.wait_for_selector(f"#plan-status:has-text('plan #{later['id']} ')")
        page.evaluate("window.release()")
        _until(page, "window.busy === 0")
        assert page.inner_text("#plan-status").startswith(f"plan #{later['id']} v1: done")
        menu = page.eval_on_selector("#plan-select", "s => [...s.options].map((o) => o.value)")
        assert menu == [str(later["id"])]
        assert page.input_value("#plan-date") == "2026-11-26"
    assert errors == []
    assert external == []


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T10:30:00+02:00")], indirect=True
)
def test_the_map_shows_the_dates_citizen_reports_but_not_false_alarms(
    server: tuple[str, str],
) -> None:
    """Citizen reports are circled on the map of their own day (the city's), not on other
    days; one whose alert the dispatcher dismissed (a false alarm) is no longer circled."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    _, lon, lat, _ = BINS[-1]
    report = {"at": f"{PLAN_DATE}T10:00:00+02:00", "bin_id": "late", "lon": lon, "lat": lat}
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        got = c.post("/reports", json={"report_id": "r2", "text": "overflowing", **report})
        assert got.status_code == 201, got.text
        alert = got.json()["alert_id"]
        for _ in range(200):  # no plan of the day: the alert waits for one
            if c.get(f"/alerts/{alert}").json()["status"] == "no_plan":
                break
            time.sleep(0.05)
    with _dashboard(base, key, errors, external, timezone="Europe/Helsinki") as page:
        page.wait_for_selector(f"#alerts tr[data-alert='{alert}'][data-status='no_plan']")
        assert page.locator("#map [data-report]").count() == 2  # r1 at dawn, r2
        page.click(f"#alerts tr[data-alert='{alert}'] button.dismiss")
        page.wait_for_selector(f"#alerts tr[data-alert='{alert}'][data-status='dismissed']")
        assert page.locator("#map [data-report='r2']").count() == 0
        assert page.locator("#map [data-report='r1']").count() == 1
        page.fill("#plan-date", "2026-11-26")
        page.dispatch_event("#plan-date", "change")
        page.wait_for_selector("#message:has-text('no plan for 2026-11-26')")
        assert page.locator("#map [data-report]").count() == 0
    assert errors == []
    assert external == []


def test_a_stop_its_crew_could_not_empty_is_marked_missed_and_sent_again(
    server: tuple[str, str],
) -> None:
    """The dispatcher marks a truck's first bin missed, and is asked why: cancelling sends
    nothing; then, typing "  parked car  ", the report carries the reason "parked car" (the
    crew's alert's note ends with it), the row reads "missed" (passed, nothing taken), the
    day is rerouted and shown, the bin's new visit ``<bin>#2`` is still to do, and the map
    does not dim the bin as emptied; a reload shows the same."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    plan = _planned(base, key)
    with httpx.Client(base_url=base, timeout=10) as c:
        doc = c.get(f"/plans/{plan['id']}/routes", headers={"X-API-Key": key}).json()
    route = next(r for r in doc["routes"] if any(v["kind"] == "bin" for v in r["visits"]))
    b = next(v["ref"] for v in route["visits"] if v["kind"] == "bin")
    with _dashboard(base, key, errors, external) as page:
        page.wait_for_selector(".truck table.stops")
        missed = page.locator(f"tr[data-stop='{b}'] button.missed-btn")
        asked: list[str] = []

        def cancel(d: Any) -> None:
            asked.append(d.message)
            d.dismiss()

        def parked_car(d: Any) -> None:
            asked.append(d.message)
            d.accept("  parked car  ")

        page.once("dialog", cancel)
        missed.click()
        assert missed.is_enabled() and page.locator(f"tr.done[data-stop='{b}']").count() == 0
        page.once("dialog", parked_car)
        missed.click()
        page.wait_for_selector("#message:has-text('rerouted into plan')")
        assert len(asked) == 2 and all(b in text and "optional" in text for text in asked)
        for _ in range(2):  # as shown after the reroute, then reloaded
            page.wait_for_selector(f"tr.done.missed[data-stop='{b}'] td.act:has-text('missed')")
            again = page.locator(f"tr[data-stop='{b}#2']")
            again.first.wait_for()
            assert again.count() == 1
            assert page.locator(f"tr.done[data-stop='{b}#2']").count() == 0
            assert page.locator(f"g.bin[data-bin='{b}'][opacity]").count() == 0
            page.reload()
            page.wait_for_selector(".truck table.stops")
        _shot(page, "missed")
    with httpx.Client(base_url=base, timeout=10) as c:
        progress = c.get(f"/plans/{plan['id']}/progress", headers={"X-API-Key": key}).json()
        alerts = c.get("/alerts", headers={"X-API-Key": key}).json()
    assert [(p["kind"], p["bin_id"], p["vehicle_id"], p["reason"]) for p in progress] == [
        ("visit_missed", b, route["vehicle_id"], "parked car")
    ]
    assert [a["note"].endswith("(parked car)") for a in alerts if a["bin_id"] == b] == [True]
    assert errors == []
    assert external == []


def test_a_missed_report_s_reason_is_trimmed_capped_and_left_out_when_empty(
    server: tuple[str, str],
) -> None:
    """The reason typed for a missed stop is sent trimmed and cut to the service's 200
    characters (counted as the service counts them: a car emoji is one, never cut in half);
    an empty or blank one is left out (the service refuses an empty reason). The page's
    reports are caught before they reach the service, which would reroute each."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    sent: list[dict[str, Any]] = []

    def catch_reports(route: Any) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        sent.append(route.request.post_data_json)
        route.fulfill(status=201, json={"id": len(sent)})

    plan = _planned(base, key)
    with httpx.Client(base_url=base, timeout=10) as c:
        doc = c.get(f"/plans/{plan['id']}/routes", headers={"X-API-Key": key}).json()
    stops = [v["ref"] for r in doc["routes"] for v in r["visits"] if v["kind"] == "bin"][:3]
    typed = ["", "   ", "  " + "\N{AUTOMOBILE}" * 250 + " "]
    assert len(stops) == len(typed)
    routes = {"**/plans/*/progress": catch_reports}
    with _dashboard(base, key, errors, external, routes) as page:
        page.wait_for_selector(".truck table.stops")
        for stop, text in zip(stops, typed, strict=True):
            page.once("dialog", lambda d, text=text: d.accept(text))
            page.locator(f"tr[data-stop='{stop}'] button.missed-btn").click()
            page.wait_for_selector(f"tr.done.missed[data-stop='{stop}']")
    assert [(b["kind"], b["bin_id"], b.get("reason")) for b in sent] == [
        ("visit_missed", stops[0], None),
        ("visit_missed", stops[1], None),
        ("visit_missed", stops[2], "\N{AUTOMOBILE}" * 200),
    ]
    assert "reason" not in sent[0] and "reason" not in sent[1]
    assert errors == []
    assert external == []


def _nightly_run(
    db_file: Path,
    status: str,
    message: str,
    plan_id: int | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Store ``PLAN_DATE``'s nightly run as the scheduler records it, started at 02:00 in
    Helsinki (00:00 UTC), in the live app's database."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from api.db import NightlyRunRow

    engine = create_engine(f"sqlite:///{db_file}")
    try:
        with Session(engine) as s, s.begin():
            s.merge(
                NightlyRunRow(
                    plan_date=datetime.fromisoformat(PLAN_DATE).date(),
                    status=status,
                    plan_id=plan_id,
                    started_at=datetime.fromisoformat(f"{PLAN_DATE}T00:00:00+00:00"),
                    message=message,
                    retry_at=retry_at,
                )
            )
    finally:
        engine.dispose()


def test_the_last_nightly_run_is_shown_with_its_day_time_and_failure(
    server: tuple[str, str], tmp_path: Path
) -> None:
    """The header has a line for the last nightly run (from /health): none yet; failed, with
    its day, when it ran in the city's time (the browser in UTC) and its error, in red; then
    done, with its plan. Before, the page had no word of the nightly run."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    with _dashboard(base, key, errors, external, timezone="UTC") as page:
        page.wait_for_selector("#message:has-text('no plan for')")
        assert page.inner_text("#nightly") == "last nightly plan: none yet"
        failure = "attempt 1 of 4 failed: solver crashed; retry at 02:15"
        _nightly_run(tmp_path / "binroute.db", "failed", failure)
        page.click("#load-date")
        page.wait_for_selector("#nightly[data-status='failed']")
        line = page.inner_text("#nightly")
        assert line.startswith(f"last nightly plan: {PLAN_DATE}, ran 25 Nov"), line
        assert "02:00" in line and "00:00" not in line, line  # the city's time, not UTC
        assert line.endswith(f": failed: {failure}"), line
        assert page.get_attribute("#nightly", "class") == "failed"
        _shot(page, "nightly_failed")
        long = f"attempt 1 of 4 failed: {'solver crashed: ' * 20}; retry at 02:15"
        retry_at = datetime.fromisoformat(f"{PLAN_DATE}T00:15:00+00:00")
        _nightly_run(tmp_path / "binroute.db", "failed", long, retry_at=retry_at)
        page.click("#load-date")
        _until(page, "document.getElementById('nightly').textContent.includes('tried again')")
        line = page.inner_text("#nightly")  # the message cut before its retry's time
        assert line.endswith("...; tried again 25 Nov, 02:15"), line
        page.click("#request-plan")
        page.wait_for_selector("#plan-status:has-text('done 100%')")
        _nightly_run(tmp_path / "binroute.db", "done", "published", plan_id=1)
        page.click("#load-date")
        page.wait_for_selector("#nightly[data-status='done']")
        line = page.inner_text("#nightly")
        assert line.endswith(": done (plan 1)") and "02:00" in line, line
        assert page.get_attribute("#nightly", "class") == ""
    assert errors == [] and external == []


def test_a_stopped_scheduler_is_shown_in_red_from_the_healths_503(
    server: tuple[str, str],
) -> None:
    """/health answers 503 when the scheduler is stopped (here its answer is changed on the
    way, as a thread crashed would make it): the line still shows the last run, and why no
    plan would be made tonight, in red; it was no error thrown for the 503."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []

    def stopped(route: Any) -> None:
        body = route.fetch().json()
        body.update(
            status="degraded",
            scheduler="stopped",
            scheduler_problem="the scheduler's thread has died: restart the service",
            next_nightly_run=None,
        )
        route.fulfill(status=503, json=body)

    with _dashboard(base, key, errors, external, {"**/health": stopped}) as page:
        page.wait_for_selector("#nightly[data-status='none']")
        line = page.inner_text("#nightly")
        assert line == (
            "last nightly plan: none yet; scheduler stopped: "
            "the scheduler's thread has died: restart the service"
        )
        assert page.get_attribute("#nightly", "class") == "failed"
    assert [e for e in errors if "503" not in e] == [] and external == []


def test_a_bin_missed_off_its_trucks_route_stays_shown_after_a_reload(
    server: tuple[str, str],
) -> None:
    """The dispatcher's page still shows the day's first version when a truck is taken out
    of service (through the API: a re-plan gives it no bin); marking its first stop missed
    there is a miss off its route in the newest version (``off_route``: no stop of the bin
    passed). The truck's card lists it, with its reason, after the crew's alert's reroute
    and after a reload (the page dropped it from the service's data), and the bin's visit
    in the newest version, another truck's, is not marked missed."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    plan = _planned(base, key)
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, timeout=10) as c:
        doc = c.get(f"/plans/{plan['id']}/routes", headers=headers).json()
    route = next(r for r in doc["routes"] if any(v["kind"] == "bin" for v in r["visits"]))
    truck = route["vehicle_id"]
    b = next(v["ref"] for v in route["visits"] if v["kind"] == "bin")
    stop = f".truck[data-truck='{truck}'] tr[data-stop='{b}']"
    line = f".truck[data-truck='{truck}'] [data-off-route='{b}']"
    with _dashboard(base, key, errors, external) as page:
        page.wait_for_selector(stop)
        with httpx.Client(base_url=base, timeout=10) as c:
            down = c.post(f"/vehicles/{truck}/downtimes", json={}, headers=headers)
            assert down.status_code == 202, down.text
            (replan,) = down.json()["replans"]
            deadline = time.monotonic() + 60
            while c.get(f"/plans/{replan}", headers=headers).json()["status"] != "done":
                assert time.monotonic() < deadline, "the re-plan did not finish"
                time.sleep(0.2)
        page.once("dialog", lambda d: d.accept("locked enclosure"))
        page.locator(f"{stop} button.missed-btn").click()
        page.wait_for_selector("#message:text-matches('rerouted into plan|no truck can collect')")
        for _ in range(2):  # as shown after the alert's reroute, then reloaded
            page.wait_for_selector(f"{line}:has-text('locked enclosure')")
            assert "off its route" in page.inner_text(line)
            assert page.locator(f"tr.done[data-stop='{b}']").count() == 0
            page.reload()
            page.wait_for_selector(".truck table.stops")
        _shot(page, "missed_off_route")
    with httpx.Client(base_url=base, timeout=10) as c:
        progress = c.get(f"/plans/{plan['id']}/progress", headers=headers).json()
    assert [(p["kind"], p["bin_id"], p["vehicle_id"], p["off_route"]) for p in progress] == [
        ("visit_missed", b, truck, True)
    ]
    assert errors == []
    assert external == []


def test_the_api_docs_render_without_the_internet(server: tuple[str, str]) -> None:
    """/docs (Swagger UI) and /redoc show the API's operations with every request leaving
    the service refused: FastAPI's own pages loaded their scripts from a CDN. ReDoc's
    script asks cdn.redoc.ly for its "API docs by Redocly" logo, an image it does without."""
    base, _key = server
    external: dict[str, list[tuple[str, str]]] = {"/docs": [], "/redoc": []}
    shown = ["/docs"]

    def refuse_outside(route: Any) -> None:
        request = route.request
        if request.url.startswith(base):
            route.continue_()
        else:
            external[shown[-1]].append((request.resource_type, request.url))
            route.abort()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.route("**/*", refuse_outside)
            page.goto(f"{base}/docs")
            page.wait_for_selector(".opblock-summary-path[data-path='/plans']")
            shown.append("/redoc")
            page.goto(f"{base}/redoc")
            page.wait_for_selector("text=/plans")
        finally:
            browser.close()
    assert external["/docs"] == []
    assert {kind for kind, _url in external["/redoc"]} <= {"image"}, external


def test_a_trucks_route_sheet_is_saved_from_its_card(server: tuple[str, str]) -> None:
    """The "route sheet" button on a truck's card saves its page of the plan's route sheets
    (fetched with the key): the truck's bins in the order of its stops table, with the
    directions."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    _planned(base, key)
    with _dashboard(base, key, errors, external) as page:
        page.wait_for_selector(".truck table.stops")
        truck = page.locator(".truck").first.get_attribute("data-truck")
        card = f".truck[data-truck='{truck}']"
        stops = page.locator(f"{card} tr[data-kind='bin']")
        order = [r.get_attribute("data-stop") for r in stops.all()]
        with page.expect_download() as saving:
            page.click(f"{card} button.sheet-btn")
        saved = saving.value
        assert saved.suggested_filename.endswith(f"-{truck}.html")
        text = Path(saved.path()).read_text("utf-8")
        page.wait_for_selector(f"#message:has-text('route sheet of truck {truck} saved')")
        # the sheets' language: the service's (English) until the dispatcher picks another
        assert page.locator("#sheet-language").input_value() == "en"
        assert page.locator("#sheet-language option[value='fi']").inner_text() == "suomi"
        page.select_option("#sheet-language", "fi")
        with page.expect_download() as saving:
            page.click(f"{card} button.sheet-btn")
        finnish = Path(saving.value.path()).read_text("utf-8")
    assert f"<h1>{truck}: {PLAN_DATE}</h1>" in text and text.count("<section>") == 1
    assert re.findall(r"<td>bin ([^<]+)</td>", text) == order
    assert "Arrive at bin" in text and "<ol>" in text
    assert '<html lang="fi">' in finnish and "Perillä: astia" in finnish
    assert re.findall(r"<td>astia ([^<]+)</td>", finnish) == order
    assert errors == []
    assert external == []
