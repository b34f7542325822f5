"""The dashboard's alerts in a real headless browser: unserved with the reason, waiting for
a plan, from the evening before, dismissed; citizens' reports on the map."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.api.conftest import PLAN_DATE
from tests.api.dashboard.browser import dashboard
from tests.api.dashboard.town import BINS, driven, planned


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
    planned(base, key)
    with dashboard(base, key, errors, external) as page:
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


def alert_with_no_plan(base: str, key: str, at: str) -> dict[str, Any]:
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
    alert = alert_with_no_plan(base, key, f"{PLAN_DATE}T10:00:00+02:00")
    with dashboard(base, key, errors, external) as page:
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
    alert = alert_with_no_plan(base, key, "2026-11-24T17:30:00+02:00")
    with dashboard(base, key, errors, external) as page:
        page.click("#request-plan")
        page.wait_for_selector("#message:has-text('ready; alert #')")
        row = page.locator(f"#alerts tr[data-alert='{alert['id']}']")
        assert row.get_attribute("data-status") == "planned"
        cells = row.locator("td").all_inner_texts()
        assert (cells[0], cells[6]) == ("24 Nov 17:30", "06:00"), cells
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
    driven(base, key)
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        alert = c.post("/alerts", json={"bin_id": "late", "at": f"{PLAN_DATE}T10:30:00+02:00"})
        for _ in range(400):
            got = c.get(f"/alerts/{alert.json()['id']}").json()
            if got["status"] not in ("open", "rerouting"):
                break
            time.sleep(0.05)
        assert got["status"] == "rerouted", got
    with dashboard(base, key, errors, external) as page:
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
    planned(base, key, tomorrow)
    with dashboard(base, key, errors, external) as page:
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
    with dashboard(base, key, errors, external, timezone="Europe/Helsinki") as page:
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


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T05:30:00+02:00")], indirect=True
)
def test_a_bins_popup_draws_its_fills_of_the_last_days(server: tuple[str, str]) -> None:
    """b1 read 55 % at dawn, then 60 % and 30 % (emptied, or a glitch): its popup draws its
    three readings, oldest first, and says their range; b5's has its own one."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    more = [(f"{PLAN_DATE}T05:10:00+02:00", 0.6), (f"{PLAN_DATE}T05:20:00+02:00", 0.3)]
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        rows = [{"bin_id": "b1", "at": at, "fill_fraction": f} for at, f in more]
        assert c.post("/readings", json=rows).json()["stored"] == 2
    with dashboard(base, key, errors, external) as page:
        page.wait_for_selector("#message:has-text('no plan for')")
        page.click("#map g.bin[data-bin='b1']")
        page.wait_for_selector("#popup .fill-history:has-text('3 readings since')")
        assert "30% to 60%" in page.inner_text("#popup .fill-history")
        points = page.get_attribute("#popup .fill-history polyline", "points").split()
        ys = [float(p.split(",")[1]) for p in points]
        assert len(ys) == 3 and ys[2] > ys[0] > ys[1]  # 55 %, 60 %, 30 % (y grows down)
        assert float(points[0].split(",")[0]) == 0 and float(points[2].split(",")[0]) == 200
        page.click("#popup button:has-text('Close')")
        page.click("#map g.bin[data-bin='b5']")
        page.wait_for_selector("#popup .fill-history:has-text('1 reading since')")
        assert page.locator("#popup .fill-history").count() == 1
    assert errors == []
    assert external == []


@pytest.mark.parametrize(
    "server", [datetime.fromisoformat(f"{PLAN_DATE}T05:30:00+02:00")], indirect=True
)
def test_a_bins_popup_says_who_changed_its_record(server: tuple[str, str]) -> None:
    """b1, listed with the town, was moved and then resized: its popup names the three
    changes, the last first, and the key that made them; b5's names its listing only."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        b1 = c.get("/bins/b1").json()
        assert c.put("/bins/b1", json=b1 | {"lon": 24.9335}).status_code == 200
        assert c.put("/bins/b1", json=b1 | {"lon": 24.9335, "capacity_l": 660}).is_success
    with dashboard(base, key, errors, external) as page:
        page.wait_for_selector("#message:has-text('no plan for')")
        page.click("#map g.bin[data-bin='b1']")
        page.wait_for_selector("#popup .record-history")
        said = page.inner_text("#popup .record-history")
        assert said.startswith("record: changed: capacity_l "), said
        assert said.count("(browser test)") == 3, said
        assert said.index("moved") < said.index("added"), said
        page.click("#popup button:has-text('Close')")
        page.click("#map g.bin[data-bin='b5']")
        page.wait_for_selector("#popup[data-bin='b5'] .record-history")
        assert page.inner_text("#popup .record-history").count("added") == 1
    assert errors == []
    assert external == []
