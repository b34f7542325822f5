"""The dashboard's stops and trucks in a real headless browser: second visits and resends,
missed stops, fills typed, the map's numbers, a truck out of service, route sheets."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import PLAN_DATE
from tests.api.dashboard.browser import dashboard, shot, until
from tests.api.dashboard.town import driven, first_bin, planned, planned_doc


def with_second_visit(plan: dict[str, Any]) -> str:
    """Give the first bin stop of the plan a second visit (``<bin>#2``) two hours later, as
    ``optimiser.build.timed_stops`` plans for a bin refilling within the day; returns the bin."""
    route, first = first_bin(plan["routes"])
    later = (datetime.fromisoformat(first["end"]) + timedelta(hours=2)).isoformat()
    second = {**first, "ref": f"{first['ref']}#2", "arrival": later, "start": later, "end": later}
    visits = route["visits"]
    visits.insert(len(visits) - 1, second)  # before the return to the depot
    for i, v in enumerate(visits):
        v["order"] = i
    return str(first["ref"])


def adding_second_visit(binned: list[str]) -> Callable[[Any], None]:
    """A page route handler that gives the plan's first bin a second visit (``<bin>#2``,
    :func:`with_second_visit`) and appends the bin to ``binned``."""

    def add(route: Any) -> None:
        response = route.fetch()
        plan = response.json()
        binned.append(with_second_visit(plan))
        route.fulfill(response=response, json=plan)

    return add


def report_first_bin(
    base: str, key: str, plan: dict[str, Any], *after: timedelta
) -> dict[str, Any]:
    """Report the plan's first bin emptied at its planned end plus each of ``after`` (each
    report accepted: 201); returns the bin's stop."""
    with httpx.Client(base_url=base, timeout=10) as c:
        headers = {"X-API-Key": key}
        doc = c.get(f"/plans/{plan['id']}/routes", headers=headers).json()
        route, first = first_bin(doc["routes"])
        done = {"vehicle_id": route["vehicle_id"], "kind": "visit_done", "bin_id": first["ref"]}
        end = datetime.fromisoformat(first["end"])
        for delay in after:
            at = (end + delay).isoformat()
            sent = c.post(f"/plans/{plan['id']}/progress", json={**done, "at": at}, headers=headers)
            assert sent.status_code == 201, sent.text
    return first


def test_dispatcher_marks_a_second_visit_done_by_its_bin_id(server: tuple[str, str]) -> None:
    """The stop ``<bin>#2`` is reported as the bin (ids have no '#'), and each visit of the
    bin shows done only once it has its own report."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    binned: list[str] = []

    plan = planned(base, key)
    routes = {"**/plans/*/routes": adding_second_visit(binned)}
    with dashboard(base, key, errors, external, routes) as page:
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
        shot(page, "5_second_visit")
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

    plan = planned(base, key)
    first = report_first_bin(base, key, plan, timedelta(0), timedelta(minutes=5))
    with httpx.Client(base_url=base, timeout=10) as c:
        progress = c.get(f"/plans/{plan['id']}/progress", headers={"X-API-Key": key}).json()
    assert [p["resend"] for p in progress] == [False, True]
    routes = {"**/plans/*/routes": adding_second_visit(binned)}
    with dashboard(base, key, errors, external, routes) as page:
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

    first = report_first_bin(base, key, planned(base, key), timedelta(minutes=90))
    routes = {"**/plans/*/routes": adding_second_visit(binned)}
    with dashboard(base, key, errors, external, routes) as page:
        b = first["ref"]
        page.wait_for_selector(f"tr.done[data-stop='{b}']")
        assert binned[-1] == b
        with page.expect_response("**/progress") as answer:
            page.locator(f"tr[data-stop='{b}#2'] button.done-btn").click()
        assert answer.value.json()["resend"] is True
        until(page, "document.getElementById('message').textContent !== ''")
        assert page.locator(f"tr.done[data-stop='{b}#2']").count() == 0
        assert page.locator(f"tr.done[data-stop='{b}']").count() == 1
        assert "taken for a resend" in page.inner_text("#message")
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
    _, truck = driven(base, key)
    card = f".truck[data-truck='{truck}']"
    with dashboard(base, key, errors, external) as page:
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
    planned(base, key)
    with dashboard(base, key, errors, external) as page:
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
    plan = planned(base, key)
    with dashboard(base, key, errors, external) as page:
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
    plan, doc = planned_doc(base, key)
    route, visit = first_bin(doc["routes"])
    b = visit["ref"]
    with dashboard(base, key, errors, external) as page:
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
        shot(page, "missed")
    with httpx.Client(base_url=base, timeout=10) as c:
        progress = c.get(f"/plans/{plan['id']}/progress", headers={"X-API-Key": key}).json()
        alerts = c.get("/alerts", headers={"X-API-Key": key}).json()
    assert [(p["kind"], p["bin_id"], p["vehicle_id"], p["reason"]) for p in progress] == [
        ("visit_missed", b, route["vehicle_id"], "parked car")
    ]
    assert [a["note"].endswith("(parked car)") for a in alerts if a["bin_id"] == b] == [True]
    assert errors == []
    assert external == []


def test_a_bin_marked_done_ahead_of_its_route_shows_the_day_rerouted(
    server: tuple[str, str],
) -> None:
    """The dispatcher marks a truck's second bin done, its first not reported (the crew took
    them in another order): the service reroutes the day without that trip, and the page
    follows it as it does an alert's reroute: the new version shown with the truck's change,
    the bin no longer on its stops, the first still to do, and saying so (it stayed on the
    version shown, the truck still sent to the bin, until the page was reloaded)."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    plan, doc = planned_doc(base, key)
    route, first = first_bin(doc["routes"])
    truck, ahead = route["vehicle_id"], [v for v in route["visits"] if v["kind"] == "bin"][1]
    card = f".truck[data-truck='{truck}']"
    with dashboard(base, key, errors, external) as page:
        page.locator(f"{card} tr[data-stop='{ahead['ref']}'] button.done-btn").click()
        page.wait_for_selector("#message:has-text('ready')")
        message = page.inner_text("#message")
        assert message.startswith(f"{ahead['ref']} emptied by {truck} off its route: plan #")
        newer = int(message.split("plan #")[1].split()[0])
        assert newer > plan["id"]
        assert page.inner_text("#plan-status").startswith(f"plan #{newer} ")
        assert page.locator(f"{card} tr[data-stop='{ahead['ref']}']").count() == 0
        assert page.locator(f"{card} tr[data-stop='{first['ref']}']:not(.done)").count() == 1
        assert ahead["ref"] in page.inner_text(f"[data-diff-truck='{truck}'] .rem")
    assert errors == []
    assert external == []


AFTER_MIDNIGHT = datetime.fromisoformat(f"{PLAN_DATE}T01:30:00+02:00")  # 23:30 UTC the eve


@pytest.mark.parametrize("server", [AFTER_MIDNIGHT], indirect=True)
def test_a_stop_marked_done_after_midnight_is_dated_now_on_the_city_s_day(
    server: tuple[str, str],
) -> None:
    """The plan's day at 01:30 in Helsinki, still the day before in UTC (in Seoul the same
    from midnight to 09:00, a morning's collection): the dispatcher marks a stop done, and
    the report is dated now, the plan being of today in the city's zone (the page took
    UTC's date for today's, and dated the report at the visit's planned end, hours ahead)."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    plan, doc = planned_doc(base, key)
    first = first_bin(doc["routes"])[1]
    assert datetime.fromisoformat(first["end"]) > AFTER_MIDNIGHT + timedelta(hours=1)
    with dashboard(base, key, errors, external) as page:
        page.clock.set_fixed_time(AFTER_MIDNIGHT)
        page.locator(f"tr[data-stop='{first['ref']}'] button.done-btn").click()
        page.wait_for_selector(f"tr.done[data-stop='{first['ref']}']")
    with httpx.Client(base_url=base, timeout=10) as c:
        progress = c.get(f"/plans/{plan['id']}/progress", headers={"X-API-Key": key}).json()
    assert [datetime.fromisoformat(p["at"]) for p in progress] == [AFTER_MIDNIGHT]
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

    doc = planned_doc(base, key)[1]
    stops = [v["ref"] for r in doc["routes"] for v in r["visits"] if v["kind"] == "bin"][:3]
    typed = ["", "   ", "  " + "\N{AUTOMOBILE}" * 250 + " "]
    assert len(stops) == len(typed)
    routes = {"**/plans/*/progress": catch_reports}
    with dashboard(base, key, errors, external, routes) as page:
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
    plan = planned(base, key)
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, timeout=10) as c:
        doc = c.get(f"/plans/{plan['id']}/routes", headers=headers).json()
    route, visit = first_bin(doc["routes"])
    truck, b = route["vehicle_id"], visit["ref"]
    stop = f".truck[data-truck='{truck}'] tr[data-stop='{b}']"
    line = f".truck[data-truck='{truck}'] [data-off-route='{b}']"
    with dashboard(base, key, errors, external) as page:
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
        shot(page, "missed_off_route")
    with httpx.Client(base_url=base, timeout=10) as c:
        progress = c.get(f"/plans/{plan['id']}/progress", headers=headers).json()
    assert [(p["kind"], p["bin_id"], p["vehicle_id"], p["off_route"]) for p in progress] == [
        ("visit_missed", b, truck, True)
    ]
    assert errors == []
    assert external == []


def test_a_trucks_route_sheet_is_saved_from_its_card(server: tuple[str, str]) -> None:
    """The "route sheet" button on a truck's card saves its page of the plan's route sheets
    (fetched with the key): the truck's bins in the order of its stops table, with the
    directions."""
    base, key = server
    errors: list[str] = []
    external: list[str] = []
    planned(base, key)
    with dashboard(base, key, errors, external) as page:
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
