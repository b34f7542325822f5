"""The dashboard following others' changes (live.js) in a real headless browser: a truck's
report from its tablet, a sensor's alert and its reroute, another dispatcher's plan and
bins, each shown without "Show"; a version picked kept; a fill being typed kept; the
page's own reports not announced as news."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import PLAN_DATE
from tests.api.dashboard.browser import dashboard, synced, until
from tests.api.dashboard.town import DAWN, planned, planned_doc

REFRESH_S = 0.5
MORNING = datetime.fromisoformat(f"{PLAN_DATE}T05:30:00+02:00")  # before the shifts


def bin_stops(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(truck, visit) of each bin visit of a plan's routes JSON, in route order."""
    return [(r["vehicle_id"], v) for r in doc["routes"] for v in r["visits"] if v["kind"] == "bin"]


def tablet_done(base: str, key: str, plan_id: int, truck: str, visit: dict[str, Any]) -> None:
    """``truck``'s tablet reports ``visit`` emptied at its planned start."""
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        body = {"vehicle_id": truck, "kind": "visit_done", "at": visit["start"]}
        sent = c.post(f"/plans/{plan_id}/progress", json={**body, "bin_id": visit["ref"]})
        assert sent.status_code == 201, sent.text


def settled(page: Any) -> None:
    """Wait until the page, idle, has looked twice and found it shows the server as it is
    (its ``#live`` ``data-synced`` counts such looks)."""
    looks = synced(page)
    until(page, f"Number(document.getElementById('live').dataset.synced) > {looks + 1}")


def trucks_text(page: Any) -> str:
    return str(page.inner_text("#trucks"))


@pytest.mark.parametrize("server", [MORNING], indirect=True)
def test_a_tablets_report_and_a_sensors_reroute_show_without_show(
    server: tuple[str, str],
) -> None:
    """A truck's tablet reports its first bin emptied while the dispatcher types a fill in
    another stop's box: the row turns done, the header names the report, and the box keeps
    its text and the focus. A sensor's alert then reroutes the day: the page shows the
    reroute, its change, and what a fresh page of it shows. The dispatcher's own report is
    not announced as news."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    plan, doc = planned_doc(base, key)
    stops = bin_stops(doc)
    assert len(stops) >= 4
    (truck, first), (_, second), (_, third), (other, fourth) = stops[:4]
    with dashboard(base, key, errors, external, refresh_s=REFRESH_S) as page:
        page.wait_for_selector(".truck table.stops")
        box = page.locator(f"tr[data-stop='{second['ref']}'] input.fill-found")
        box.fill("55")
        tablet_done(base, key, plan["id"], truck, first)
        page.wait_for_selector(f"tr.done[data-stop='{first['ref']}']")
        page.wait_for_selector(f"#live:has-text('{truck} emptied {first['ref']}')")
        assert page.evaluate("document.activeElement.closest('tr').dataset.stop") == second["ref"]
        assert box.input_value() == "55"
        assert "v1: done" in page.inner_text("#plan-status")

        with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
            full = {"bin_id": "late", "at": MORNING.isoformat(), "fill_fraction": 0.98}
            assert c.post("/readings", json=[full]).json()["alert_ids"]
        page.wait_for_selector("#live:has-text('on late (sensor)')")
        page.wait_for_selector("tr[data-stop='late']")
        page.wait_for_selector("#diff-panel:has-text('late')")
        assert "v2: done" in page.inner_text("#plan-status")
        page.wait_for_selector("#live:has-text('shown')")
        settled(page)
        shown = trucks_text(page)
        page.reload()
        page.wait_for_selector("tr[data-stop='late']")
        assert trucks_text(page) == shown.replace("55", "")  # but the box typed, not sent

        row = page.locator(f"tr[data-stop='{third['ref']}']")
        row.locator("button.done-btn").click()
        page.wait_for_selector(f"tr.done[data-stop='{third['ref']}']")
        settled(page)  # it may have rerouted the day (a bin ahead of its truck's route)
        newest = int(page.input_value("#plan-select"))
        tablet_done(base, key, newest, other, fourth)
        page.wait_for_selector(f"#live:has-text('{other} emptied {fourth['ref']}')")
        said = page.evaluate("live.said")
        assert not [s for s in said if third["ref"] in s], said  # its own report: no news
    assert errors == []
    assert external == []


@pytest.mark.parametrize("server", [MORNING], indirect=True)
def test_a_version_picked_stays_shown_when_another_dispatcher_plans(
    server: tuple[str, str],
) -> None:
    """The dispatcher looks at v1 of two versions; another dispatcher asks for a plan: the
    page keeps v1 shown, lists the new version in the menu and names it in the header;
    "Show" then shows the newest."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    planned(base, key)
    planned(base, key)
    with dashboard(base, key, errors, external, refresh_s=REFRESH_S) as page:
        page.wait_for_selector("#plan-status:has-text('v2: done')")
        v1 = page.eval_on_selector(
            "#plan-select", "(s) => [...s.options].find((o) => o.text.startsWith('v1 ')).value"
        )
        page.select_option("#plan-select", v1)
        page.wait_for_selector("#plan-status:has-text('v1: done')")
        assert page.evaluate("document.activeElement.tagName") != "SELECT"
        third = planned(base, key)
        page.wait_for_selector(f"#live:has-text('plan #{third['id']} v3 (request) ready')")
        settled(page)
        assert "v1: done" in page.inner_text("#plan-status")
        assert page.input_value("#plan-select") == v1
        assert page.locator("#plan-select option").count() == 3
        page.click("#load-date")
        page.wait_for_selector("#plan-status:has-text('v3: done')")
    assert errors == []
    assert external == []


@pytest.mark.parametrize("server", [MORNING], indirect=True)
def test_the_days_first_plan_is_shown_when_it_comes(server: tuple[str, str]) -> None:
    """The page opened on a day without a plan: the nightly run (here another dispatcher)
    plans it, and the page shows it."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    with dashboard(base, key, errors, external, refresh_s=REFRESH_S) as page:
        page.wait_for_selector("#message:has-text('no plan for')")
        plan = planned(base, key)
        page.wait_for_selector(".truck table.stops")
        assert f"plan #{plan['id']} v1: done" in page.inner_text("#plan-status")
        page.wait_for_selector(f"#live:has-text('plan #{plan['id']} v1 (request) ready')")
    assert errors == []
    assert external == []


def test_the_page_does_not_look_with_refresh_0(server: tuple[str, str]) -> None:
    """``?refresh=0``: the page says it does not follow others' changes, and does not."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    plan, doc = planned_doc(base, key)
    truck, first = bin_stops(doc)[0]
    with dashboard(base, key, errors, external, refresh_s=0) as page:
        page.wait_for_selector(".truck table.stops")
        assert "press Show" in page.inner_text("#live")
        tablet_done(base, key, plan["id"], truck, first)
        page.wait_for_timeout(1500)
        assert page.locator(f"tr.done[data-stop='{first['ref']}']").count() == 0
        page.click("#load-date")
        page.wait_for_selector(f"tr.done[data-stop='{first['ref']}']")
    assert errors == []
    assert external == []


@pytest.mark.parametrize("server", [MORNING], indirect=True)
def test_a_bins_popup_open_holds_the_page_until_closed(server: tuple[str, str]) -> None:
    """The dispatcher has a bin's popup open (about to raise an alert): the page does not
    look, nor redraw under it, until it is closed; then it shows the tablet's report."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    plan, doc = planned_doc(base, key)
    truck, first = bin_stops(doc)[0]
    with dashboard(base, key, errors, external, refresh_s=REFRESH_S) as page:
        page.wait_for_selector(".truck table.stops")
        settled(page)
        page.click("#map g.bin[data-bin='late']")
        page.wait_for_selector("#popup:has-text('bin late')")
        looks = page.get_attribute("#live", "data-looks")
        tablet_done(base, key, plan["id"], truck, first)
        page.wait_for_timeout(REFRESH_S * 4000)
        assert page.get_attribute("#live", "data-looks") == looks
        assert page.locator(f"tr.done[data-stop='{first['ref']}']").count() == 0
        page.click("#popup button:has-text('Close')")
        page.wait_for_selector(f"tr.done[data-stop='{first['ref']}']")
    assert errors == []
    assert external == []


def shows_fill(page: Any, bin_id: str, fill: str) -> None:
    """Wait until the map's title of ``bin_id`` says its fill now is ``fill`` ("55%")."""
    title = f"document.querySelector(\"#map g.bin[data-bin='{bin_id}'] title\").textContent"
    until(page, f"{title}.includes('now {fill},')")


@pytest.mark.parametrize("server", [MORNING], indirect=True)
def test_a_gateways_late_reading_shows_without_show(server: tuple[str, str]) -> None:
    """b5's sensor reads at 05:20; b1's reading of 05:10 arrives after it (a gateway
    sending late: not the newest reading by its time): the map shows both fills."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    planned(base, key)
    with dashboard(base, key, errors, external, refresh_s=REFRESH_S) as page:
        page.wait_for_selector(".truck table.stops")
        shows_fill(page, "b1", "55%")
        with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
            first = {"bin_id": "b5", "at": f"{PLAN_DATE}T05:20:00+02:00", "fill_fraction": 0.6}
            assert c.post("/readings", json=[first]).json()["stored"] == 1
            shows_fill(page, "b5", "60%")
            late = {"bin_id": "b1", "at": f"{PLAN_DATE}T05:10:00+02:00", "fill_fraction": 0.77}
            assert c.post("/readings", json=[late]).json()["stored"] == 1
        shows_fill(page, "b1", "77%")
        page.wait_for_selector("#live:has-text('new readings')")
    assert errors == []
    assert external == []


@pytest.mark.parametrize("server", [MORNING], indirect=True)
def test_a_bin_read_before_ten_thousand_others_shows_its_fill(server: tuple[str, str]) -> None:
    """b1's sensor last read at dawn; the other bins' sensors sent 10 000 readings since
    (more than a page of readings): the map still shows b1's fill, and each other bin's
    newest."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    planned(base, key)
    others = ["b0", "b2", "b3", "b4", "b5", "b6", "b7", "late"]
    dawn = datetime.fromisoformat(DAWN)
    rows = [
        {"bin_id": b, "at": (dawn + timedelta(seconds=s)).isoformat(), "fill_fraction": 0.3}
        for s in range(1, 1251)
        for b in others
    ]
    with httpx.Client(base_url=base, timeout=60, headers={"X-API-Key": key}) as c:
        assert c.post("/readings", json=rows).json()["stored"] == 10_000
    with dashboard(base, key, errors, external) as page:
        page.wait_for_selector(".truck table.stops")
        shows_fill(page, "b1", "55%")
        for b in others:
            shows_fill(page, b, "30%")
    assert errors == []
    assert external == []


@pytest.mark.parametrize("server", [MORNING], indirect=True)
def test_a_citizens_report_shows_without_show(server: tuple[str, str]) -> None:
    """A citizen reports bags beside a bin (no alert): its ring is drawn and the header
    names it; one reporting a bin overflowing is named once, by the alert it raised."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    planned(base, key)
    at = MORNING.isoformat()
    bags = {"report_id": "r2", "at": at, "lon": 24.9335, "lat": 60.1761, "overflowing": False}
    full = {"report_id": "r3", "at": at, "bin_id": "b6", "text": "overflowing"}
    with dashboard(base, key, errors, external, refresh_s=REFRESH_S) as page:
        page.wait_for_selector(".truck table.stops")
        page.wait_for_selector("#map circle[data-report='r1']")  # the town's, at dawn
        with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
            assert c.post("/reports", json=bags).status_code == 201
            page.wait_for_selector("#map circle[data-report='r2']")
            page.wait_for_selector("#live:has-text('report r2 (citizen)')")
            alert = c.post("/reports", json=full).json()["alert_id"]
        page.wait_for_selector(f"#live:has-text('alert #{alert} on b6 (report)')")
        page.wait_for_selector("#map g.bin[data-bin='b6'] circle.alert-ring")
        said = page.evaluate("live.said")
        assert not [s for s in said if "report r3" in s], said
    assert errors == []
    assert external == []


def bin_x(page: Any, bin_id: str) -> float:
    """The map's x of ``bin_id`` (its fill's circle)."""
    return float(page.get_attribute(f"#map g.bin[data-bin='{bin_id}'] circle", "cx"))


@pytest.mark.parametrize("server", [MORNING], indirect=True)
def test_another_dispatchers_bins_added_and_moved_show_without_show(
    server: tuple[str, str],
) -> None:
    """Another dispatcher lists a new bin b9 and moves b2 (west of b4) east of b4 (neither
    re-plans): the map draws b9 and b2 where it is now, and the header names both."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    planned(base, key)
    with dashboard(base, key, errors, external, refresh_s=REFRESH_S) as page:
        page.wait_for_selector(".truck table.stops")
        assert bin_x(page, "b2") < bin_x(page, "b4")
        settled(page)
        with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
            new = {"bin_id": "b9", "lon": 24.9400, "lat": 60.1720, "capacity_l": 660}
            assert c.post("/bins", json=new).status_code == 201
            moved = c.get("/bins/b2").json() | {"lon": 24.9600}
            assert c.put("/bins/b2", json=moved).status_code == 200
        page.wait_for_selector("#map g.bin[data-bin='b9']")
        page.wait_for_selector("#live:has-text('bin b9 added')")
        until(page, "document.getElementById('live').textContent.includes('bin b2 moved')")
        assert bin_x(page, "b2") > bin_x(page, "b4")
    assert errors == []
    assert external == []
