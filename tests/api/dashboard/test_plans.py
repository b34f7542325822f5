"""The dashboard in a real headless browser: the dispatcher plans the day, raises an alert,
marks stops done; notes and broken rules, plans asked for twice or while trucks are out."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from api.db import AlertRow, Database
from tests.api.conftest import PLAN_DATE
from tests.api.dashboard.browser import dashboard, shot, until
from tests.api.dashboard.town import driven, planned


def version_value(page: Any, version: int) -> str:
    """The value of version ``version``'s option in the Version menu."""
    value: str = page.eval_on_selector(
        "#plan-select",
        "(s, v) => [...s.options].find((o) => o.text.startsWith(v)).value",
        f"v{version} ",
    )
    return value


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T05:30:00+02:00")], indirect=True
)
def test_dispatcher_plans_alerts_and_marks_done_in_a_browser(server: tuple[str, str]) -> None:
    """The dispatcher on duty the morning of the day (05:30, before the shifts): plans the
    day, raises an alert (dated by the service's clock) that reroutes it, marks stops done."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    with dashboard(base, key, errors, external) as page:
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
        shot(page, "1_plan")

        # raise an overflow alert on the unplanned bin and see the reroute's diff
        assert page.locator("tr[data-stop='late']").count() == 0
        page.click("#map g.bin[data-bin='late']")
        page.wait_for_selector("#popup:has-text('bin late')")
        shot(page, "2_popup")
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
        shot(page, "3_rerouted")

        # the version before the reroute: no diff (it has no parent); back: the reroute's own
        page.select_option("#plan-select", version_value(page, 1))
        page.wait_for_selector("#plan-status:has-text('v1: done')")
        assert page.locator("tr[data-stop='late']").count() == 0
        assert page.locator("#diff-panel").is_hidden()
        page.select_option("#plan-select", version_value(page, 2))
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
        shot(page, "4_done")
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

    plan = planned(base, key)
    with httpx.Client(base_url=base, timeout=10) as c:
        real = c.get(f"/plans/{plan['id']}/routes", headers={"X-API-Key": key}).json()
    assert real["violations"] == []  # the service's own plan breaks no rule
    with dashboard(base, key, errors, external, {"**/plans/*/routes": with_verdict}) as page:
        page.wait_for_selector("#notes li.violation[data-violation='shift']")
        items = page.locator("#notes li").all_inner_texts()
        assert items == [f"rule broken (shift) v1: {late['message']}", note]
        shot(page, "6_notes")
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
    with dashboard(base, key, errors, external, routes=routes) as page:
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
    first, _ = driven(base, key)
    with dashboard(base, key, errors, external) as page:
        page.fill("#plan-date", "2026-11-24")
        page.dispatch_event("#plan-date", "change")
        page.wait_for_selector("#message:has-text('no plan for 2026-11-24')")
        page.evaluate(HOLD_ANSWERS, f"/plans?plan_date={PLAN_DATE}")
        page.fill("#plan-date", PLAN_DATE)
        page.dispatch_event("#plan-date", "change")
        page.click("#request-plan")
        page.wait_for_selector("#plan-status:has-text('v2: done')")
        page.evaluate("window.release()")
        until(page, "window.busy === 0")
        message = page.inner_text("#message")
        assert "ready" in message
        assert f"re-planned from where the trucks are on plan #{first['id']}" in message
        assert not page.locator("#diff-panel").is_hidden()
        assert f"against #{first['id']}" in page.inner_text("#diff")
        assert "re-planned at 10:30 from where the trucks are" in page.inner_text("#notes")
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
    planned(base, key)
    later = planned(base, key, "2026-11-26")
    with dashboard(base, key, errors, external) as page:
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
        until(page, "window.busy === 0")
        assert page.inner_text("#plan-status").startswith(f"plan #{later['id']} v1: done")
        menu = page.eval_on_selector("#plan-select", "s => [...s.options].map((o) => o.value)")
        assert menu == [str(later["id"])]
        assert page.input_value("#plan-date") == "2026-11-26"
    assert errors == []
    assert external == []


def test_a_city_of_more_bins_than_a_page_shows_them_all(server: tuple[str, str]) -> None:
    """10 010 bins (the town's 9 and 10 001 more: more than a page of the inventory list):
    the map draws every one, the last by id too."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    more = [
        {"bin_id": f"x{i:05d}", "lon": 24.93 + i * 1e-6, "lat": 60.17, "capacity_l": 240}
        for i in range(10_001)
    ]
    with httpx.Client(base_url=base, timeout=120, headers={"X-API-Key": key}) as c:
        for part in (more[:5000], more[5000:]):
            assert c.post("/bins/bulk", json=part).status_code == 200
    with dashboard(base, key, errors, external) as page:
        page.wait_for_selector("#map g.bin[data-bin='x10000']")
        assert page.locator("#map g.bin").count() == 10_010
    assert errors == []
    assert external == []


def test_a_day_of_more_alerts_than_a_page_lists_the_newest(
    server: tuple[str, str], tmp_path: Path
) -> None:
    """1000 alerts of the day dismissed (stored straight in the service's database), then a
    dispatcher's alert: the page lists it (the list's default page is the first 1000)."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    db = Database(f"sqlite:///{tmp_path / 'binroute.db'}")
    at = datetime.fromisoformat(f"{PLAN_DATE}T04:00:00+02:00")
    row = {"bin_id": "b1", "plan_date": date.fromisoformat(PLAN_DATE), "source": "dispatcher"}
    with db.writer() as s:
        s.execute(insert(AlertRow), [{**row, "at": at, "status": "dismissed"}] * 1000)
    db.dispose()
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        sent = c.post("/alerts", json={"bin_id": "b2", "at": at.isoformat()})
        assert sent.status_code == 202, sent.text
        every = c.get("/alerts", params={"plan_date": PLAN_DATE, "limit": 10_000}).json()
    assert len(every) > 1001  # the town's sensor alert at dawn too
    with dashboard(base, key, errors, external) as page:
        page.wait_for_selector(f"#alerts tr[data-alert='{sent.json()['id']}']")
        assert page.locator("#alerts tr[data-alert]").count() == len(every)
    assert errors == []
    assert external == []
