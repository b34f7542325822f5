"""A dispatcher's random morning on the dashboard, in a real headless browser: the fuzz
``BINROUTE_FUZZ_SEEDS=0-10 .venv/bin/python -m pytest -m fuzz
tests/api/dashboard/test_dashboard_days.py``, never in ``make test``.

Each seed drives ``BINROUTE_FUZZ_STEPS`` (20) clicks, the service's clock and the browser's
going on 3 to 25 minutes before each: stops marked done (mostly a truck's next, a fill
typed or not, or one out of range), missed (a reason, none, one too long, or cancelled) or
unloaded, a truck out of service and back, an alert raised from the map, an alert
dismissed, a plan requested, an older version picked, tomorrow shown (or today again),
the page reloaded; and others' changes the page follows by itself (live.js, looking every
``LIVE_S``): a truck's tablet reporting its next bin emptied or missed, a sensor's reading
of an overflowing bin, a gateway's late reading, a citizen's report, another
dispatcher's new bin or a bin moved. Once the page and the service are idle, the page must
show what a fresh page of the same version shows (the plan, each truck's stops and what is
done, the alerts, the unserved bins, the notes, the KPIs, the map's bins with their places
and fills, the citizens' reports), with no page error, no
message of a script's error, no rule the independent checker found broken in the plan
shown, and no button left disabled.
``BINROUTE_FUZZ_TZ`` names the service's zone (``Asia/Seoul``; ``Europe/Helsinki`` by
default) and ``BINROUTE_FUZZ_BROWSER_TZ`` the browser's (the service's by default).

It found a bin marked done ahead of its truck's route left on the page's old version while
the service rerouted the day (the page now follows that reroute).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.api.conftest import PLAN_DATE
from tests.api.dashboard.browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, sync_api, synced
from tests.api.dashboard.conftest import live_app
from tests.api.dashboard.town import BINS, planned, seed_requests
from tests.fuzz import fuzz_seeds

TZ = os.environ.get("BINROUTE_FUZZ_TZ") or "Europe/Helsinki"
BROWSER_TZ = os.environ.get("BINROUTE_FUZZ_BROWSER_TZ") or TZ
START = datetime.fromisoformat(f"{PLAN_DATE}T06:30").replace(tzinfo=ZoneInfo(TZ))
DATES = (PLAN_DATE, (START + timedelta(days=1)).date().isoformat())  # today and tomorrow
QUIET_S = 1.2  # no request of the page for this long (its polls come every 0.4 s): idle
LIVE_S = 1  # how often the dispatcher's page looks for others' changes (a fresh page: never)

# what a dispatcher sees, read from the page
SEEN = """() => ({
  status: document.getElementById('plan-status').textContent,
  version: document.getElementById('plan-select').value,
  trucks: [...document.querySelectorAll('#trucks .truck')].map((c) => ({
    truck: c.dataset.truck,
    head: c.querySelector('h3') ? c.querySelector('h3').textContent : '',
    off: [...c.querySelectorAll('.off-route')].map((d) => d.textContent),
    stops: [...c.querySelectorAll('tr[data-stop]')].map((tr) => [tr.dataset.stop,
      tr.className, [...tr.querySelectorAll('td')].map((td) => td.textContent).join('|')]),
  })),
  alerts: document.getElementById('alerts').textContent,
  unserved: document.getElementById('unserved').textContent,
  notes: document.getElementById('notes').textContent,
  kpis: document.getElementById('kpis').textContent,
  bins: [...document.querySelectorAll('g.bin')].map((g) => [g.dataset.bin,
    g.getAttribute('opacity'), !!g.querySelector('.alert-ring'),
    Math.round(Number(g.querySelector('circle:last-of-type').getAttribute('cx'))),
    g.querySelector('title') ? g.querySelector('title').textContent : '']),
  reports: [...document.querySelectorAll('#map circle[data-report]')].map((c) => c.dataset.report),
})"""
DISABLED = """() => [...document.querySelectorAll('button:disabled')].map((b) =>
  `${b.textContent} ${b.closest('[data-stop]') ? b.closest('[data-stop]').dataset.stop : b.id}`)"""


@dataclass
class Clock:
    """The service's clock, set forward by the test."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def morning(tmp_path: Path) -> Iterator[tuple[str, str, Clock]]:
    """(base url, dispatcher key, clock) of a live app at 06:30 on ``PLAN_DATE`` in ``TZ``,
    seeded with readings at 05:00, allowing 5 minutes of clock skew."""
    clock = Clock(START)
    dawn = (START - timedelta(hours=1, minutes=30)).isoformat()
    seeds = seed_requests(dawn)
    with live_app(tmp_path / "binroute.db", clock, skew_min=5, timezone=TZ, seeds=seeds) as s:
        yield (*s, clock)


class Requests:
    """A page's requests in flight, and when one last started or ended."""

    def __init__(self, page: Any) -> None:
        self.open = 0
        self.last = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, _request: Any) -> None:
        self.open += 1
        self.last = time.monotonic()

    def _ended(self, _request: Any) -> None:
        self.open -= 1
        self.last = time.monotonic()

    def quiet(self) -> bool:
        return self.open <= 0 and time.monotonic() - self.last > QUIET_S


def service_idle(base: str, key: str) -> bool:
    """No plan job or reroute of ``DATES`` queued or running, no alert of them waiting."""
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        plans = [p for d in DATES for p in c.get(f"/plans?plan_date={d}").json()]
        alerts = [a for d in DATES for a in c.get(f"/alerts?plan_date={d}").json()]
    return all(p["status"] not in ("queued", "running") for p in plans) and all(
        a["status"] not in ("open", "rerouting") for a in alerts
    )


def settle(page: Any, requests: Requests, base: str, key: str) -> None:
    """Wait until the page has asked nothing for a while and the service is idle, twice."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not (requests.quiet() and service_idle(base, key)):
        assert time.monotonic() < deadline, "the page or the service never went idle"
        page.wait_for_timeout(100)
    page.wait_for_timeout(QUIET_S * 1000 + 100)
    if not requests.quiet():
        settle(page, requests, base, key)


def settle_live(page: Any, requests: Requests, base: str, key: str) -> None:
    """Wait until the service is idle and the page, following it by itself, has since
    looked twice and found it shows the server as it is (live.js's ``data-synced``), with
    no request of its own in flight."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not service_idle(base, key):
        assert time.monotonic() < deadline, "the service never went idle"
        page.wait_for_timeout(100)
    looks = synced(page)
    while synced(page) < looks + 2 or requests.open > 0:
        assert time.monotonic() < deadline, "the page never found it shows the server as it is"
        page.wait_for_timeout(100)
    if not service_idle(base, key):
        settle_live(page, requests, base, key)


def open_page(context: Any, clock: Clock, errors: list[str]) -> tuple[Any, Requests]:
    """A page of ``context`` at the service's time, its errors (but the failed requests the
    page answers itself: a 409, a 422) going to ``errors``."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))

    def console(m: Any) -> None:
        if m.type == "error" and "Failed to load resource" not in m.text:
            errors.append(m.text)

    page.on("console", console)
    page.clock.set_fixed_time(clock.now)
    return page, Requests(page)


def _stops(page: Any, selector: str) -> list[tuple[str, str]]:
    """(truck, stop) of each row of the trucks' tables matching ``selector``."""
    rows = page.eval_on_selector_all(
        selector, "els => els.map((e) => [e.closest('.truck').dataset.truck, e.dataset.stop])"
    )
    return [(t, s) for t, s in rows]


def _row(page: Any, truck: str, stop: str) -> Any:
    """The first row of ``stop`` still to do in ``truck``'s table (a site's come again)."""
    return page.locator(f".truck[data-truck='{truck}'] tr[data-stop='{stop}']:not(.done)").first


def _report_bin(page: Any, rng: random.Random, kind: str, answers: list[str | None]) -> str:
    """Mark a bin stop done, done with a fill out of range, or missed: mostly a truck's
    next stop to do."""
    todo = _stops(page, "tr[data-kind='bin']:not(.done)")
    if not todo:
        return "nothing to mark"
    truck = rng.choice(sorted({t for t, _ in todo}))
    truck, stop = (
        next(x for x in todo if x[0] == truck) if rng.random() < 0.75 else rng.choice(todo)
    )
    row = _row(page, truck, stop)
    if kind == "missed":
        answers.append(rng.choice([None, "", "parked car", "x" * 250]))
        row.locator("button.missed-btn").click()
    else:
        if kind == "bad fill" or rng.random() < 0.4:
            typed = rng.choice(["150", "-5"]) if kind == "bad fill" else str(rng.randint(0, 100))
            row.locator("input.fill-found").fill(typed)
        row.locator("button.done-btn").click()
    return f"{kind} {truck} {stop}"


def _choose(page: Any, rng: random.Random, selector: str, read: str) -> str | None:
    """One of the elements ``selector`` matches, as ``read`` (JS of ``e``) reads it; None
    when none matches."""
    found = page.eval_on_selector_all(selector, f"els => els.map((e) => {read})")
    return str(rng.choice(found)) if found else None


def _unloaded(page: Any, rng: random.Random) -> str:
    todo = _stops(page, "tr[data-kind='disposal']:not(.done)")
    if not todo:
        return "nothing to unload"
    truck, stop = rng.choice(todo)
    _row(page, truck, stop).locator("button.done-btn").click()
    return f"unloaded {truck} {stop}"


def _service(page: Any, rng: random.Random) -> str:
    truck = _choose(page, rng, ".truck", "e.dataset.truck")
    if truck is None:  # no plan shown
        return "no truck shown"
    page.locator(f".truck[data-truck='{truck}'] button.service-btn").click()
    return f"service {truck}"


def _alert(page: Any, rng: random.Random) -> str:
    b = _choose(page, rng, "g.bin", "e.dataset.bin")
    if b is None:
        return "no bin shown"
    page.locator(f"g.bin[data-bin='{b}']").dispatch_event("click")
    page.locator("#raise-alert").click()
    return f"alert {b}"


def _dismiss(page: Any, rng: random.Random) -> str:
    alert = _choose(page, rng, "tr[data-alert] button.dismiss", "e.closest('tr').dataset.alert")
    if alert is None:
        return "nothing to dismiss"
    page.locator(f"tr[data-alert='{alert}'] button.dismiss").click()
    return f"dismiss {alert}"


def _version(page: Any, rng: random.Random) -> str:
    version = _choose(page, rng, "#plan-select option", "e.value")
    if version is None:
        return "no version to pick"
    page.select_option("#plan-select", version)
    return f"version {version}"


def _plan(page: Any, _rng: random.Random) -> str:
    page.locator("#request-plan").click()
    return "plan"


def _date(page: Any, _rng: random.Random) -> str:
    other = DATES[1 - DATES.index(page.input_value("#plan-date"))]
    page.fill("#plan-date", other)
    page.dispatch_event("#plan-date", "change")
    return f"date {other}"


def _reload(page: Any, _rng: random.Random) -> str:
    page.reload()
    return "reload"


def _newest_done(c: httpx.Client) -> dict[str, Any] | None:
    """The newest done plan of ``PLAN_DATE`` (the plans come newest first)."""
    plans = c.get(f"/plans?plan_date={PLAN_DATE}").json()
    return next((p for p in plans if p["status"] == "done"), None)


def _tablet(served: tuple[str, str], clock: Clock, rng: random.Random) -> str:
    """A truck's tablet reports its next bin (the day's newest plan) emptied, or missed,
    now."""
    base, key = served
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        plan = _newest_done(c)
        if plan is None:
            return "tablet: no plan"
        routes = c.get(f"/plans/{plan['id']}/routes").json()["routes"]
        reported: dict[str, int] = {}
        for p in c.get(f"/plans/{plan['id']}/progress").json():
            if p["bin_id"] and p["kind"] in ("visit_done", "visit_missed") and not p["resend"]:
                reported[p["bin_id"]] = reported.get(p["bin_id"], 0) + 1
        todo = []
        for r in routes:
            bins = [v["ref"] for v in r["visits"] if v["kind"] == "bin"]
            seen: dict[str, int] = {}
            for ref in bins:  # the k-th visit of a bin ("<bin>#k") is done by its k-th report
                b = ref.split("#")[0]
                seen[b] = seen.get(b, 0) + 1
                if seen[b] > reported.get(b, 0):
                    todo.append((r["vehicle_id"], b))
                    break
        if not todo:
            return "tablet: nothing to report"
        truck, b = rng.choice(todo)
        kind = "visit_missed" if rng.random() < 0.2 else "visit_done"
        body = {"vehicle_id": truck, "kind": kind, "bin_id": b, "at": clock.now.isoformat()}
        sent = c.post(f"/plans/{plan['id']}/progress", json=body)
    return f"tablet {truck} {kind} {b}: {sent.status_code} {sent.text[:200]}"


def _sensor(served: tuple[str, str], clock: Clock, rng: random.Random) -> str:
    """A sensor reads a bin overflowing, now."""
    base, key = served
    b = rng.choice([row[0] for row in BINS])
    reading = {"bin_id": b, "at": clock.now.isoformat(), "fill_fraction": rng.uniform(0.9, 1.0)}
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        sent = c.post("/readings", json=[reading])
    return f"sensor {b}: {sent.status_code} {sent.text[:200]}"


def _gateway(served: tuple[str, str], clock: Clock, rng: random.Random) -> str:
    """A gateway sends a bin's reading of up to an hour ago, now (late: maybe older than
    the newest reading)."""
    base, key = served
    b = rng.choice([row[0] for row in BINS])
    at = clock.now - timedelta(minutes=rng.randint(1, 60))
    reading = {"bin_id": b, "at": at.isoformat(), "fill_fraction": rng.uniform(0.1, 0.8)}
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        sent = c.post("/readings", json=[reading])
    return f"gateway {b} {at:%H:%M}: {sent.status_code} {sent.text[:200]}"


def _citizen(served: tuple[str, str], clock: Clock, rng: random.Random) -> str:
    """A citizen reports a bin overflowing, or bags beside it, a few metres off, now."""
    base, key = served
    b, lon, lat, _ = rng.choice(BINS)
    overflowing = rng.random() < 0.5
    report = {
        "report_id": f"c{rng.randrange(10**9)}",
        "at": clock.now.isoformat(),
        "lon": lon + rng.uniform(-2e-4, 2e-4),
        "lat": lat + rng.uniform(-1e-4, 1e-4),
        "overflowing": overflowing,
    }
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        sent = c.post("/reports", json=report)
    return f"citizen near {b} ({overflowing=}): {sent.status_code} {sent.text[:200]}"


def _records(served: tuple[str, str], clock: Clock, rng: random.Random) -> str:
    """Another dispatcher lists a new bin, or moves one a few metres (its place corrected):
    neither re-plans."""
    base, key = served
    with httpx.Client(base_url=base, timeout=10, headers={"X-API-Key": key}) as c:
        if rng.random() < 0.5:
            b, lon, lat, _ = rng.choice(BINS)
            body = c.get(f"/bins/{b}").json()
            body |= {"lon": lon + rng.uniform(-5e-4, 5e-4), "lat": lat + rng.uniform(-3e-4, 3e-4)}
            sent = c.put(f"/bins/{b}", json=body)
            return f"records: {b} moved: {sent.status_code} {sent.text[:200]}"
        b = f"n{rng.randrange(10**6)}"
        lon, lat = rng.uniform(24.925, 24.958), rng.uniform(60.164, 60.18)
        body = {"bin_id": b, "lon": lon, "lat": lat, "capacity_l": rng.choice([240, 660])}
        sent = c.post("/bins", json=body)
        return f"records: {b} added: {sent.status_code} {sent.text[:200]}"


# others' changes, through the API: the page follows them by itself
OTHERS: dict[str, Callable[[tuple[str, str], Clock, random.Random], str]] = {
    "tablet": _tablet,
    "sensor": _sensor,
    "gateway": _gateway,
    "citizen": _citizen,
    "records": _records,
}

# the clicks but on a bin stop's buttons (``_report_bin``), each saying what it did
CLICKS: dict[str, Callable[[Any, random.Random], str]] = {
    "unloaded": _unloaded,
    "service": _service,
    "alert": _alert,
    "dismiss": _dismiss,
    "version": _version,
    "plan": _plan,
    "date": _date,
    "reload": _reload,
}


KINDS = ["done"] * 6 + ["missed", "missed", "unloaded", "unloaded", "bad fill", "service"]
KINDS += ["alert", "dismiss", "plan", "version", "version", "reload", "date"]
KINDS += ["tablet"] * 4 + ["sensor"] * 2 + ["gateway", "citizen", "records"]


def _differences(shown: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    return [
        f"{k}: {json.dumps(shown[k])[:1500]}\n    fresh: {json.dumps(fresh[k])[:1500]}"
        for k in shown
        if shown[k] != fresh[k]
    ]


def _fresh(
    context: Any, clock: Clock, served: tuple[str, str], version: str, errors: list[str]
) -> Any:
    """What a fresh page of the dashboard shows of plan ``version``; its errors go to
    ``errors``."""
    base, key = served
    page, requests = open_page(context, clock, errors)
    try:
        page.goto(f"{base}/dashboard?refresh=0")
        settle(page, requests, base, key)
        if page.input_value("#plan-select") != version:
            page.select_option("#plan-select", version)
            settle(page, requests, base, key)
        return page.evaluate(SEEN)
    finally:
        page.close()


def _answer(answers: list[str | None]) -> Any:
    """A page's dialog handler typing the next of ``answers`` (None: cancel)."""

    def answer(dialog: Any) -> None:
        typed = answers.pop(0) if answers else None
        if typed is None:
            dialog.dismiss()
        else:
            dialog.accept(typed)

    return answer


def _findings(page: Any, errors: list[str], shown: dict[str, Any]) -> list[str]:
    """What is wrong with the page once idle, but for how it compares with a fresh one."""
    found = [f"page error: {e}" for e in errors]
    message = page.inner_text("#message")
    if any(w in message for w in ("Error", "undefined", "null", "NaN", "[object")):
        found.append(f"a script's error in the message: {message}")
    if "rule broken" in shown["notes"]:
        found.append(f"a rule broken: {shown['notes']}")
    disabled = page.evaluate(DISABLED)
    if disabled:
        found.append(f"buttons left disabled: {disabled}")
    return found


@pytest.mark.fuzz
@pytest.mark.parametrize("seed", fuzz_seeds())
def test_a_dispatchers_random_morning_shows_what_a_fresh_page_shows(
    morning: tuple[str, str, Clock], seed: int
) -> None:
    """See the module's docstring."""
    base, key, clock = morning
    rng = random.Random(seed)
    planned(base, key)
    answers: list[str | None] = []  # the missed reasons to type, None: cancel
    log: list[str] = []
    found: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1400, "height": 900}, timezone_id=BROWSER_TZ
            )
            errors: list[str] = []
            page, requests = open_page(context, clock, errors)
            page.on("dialog", _answer(answers))
            page.goto(f"{base}/dashboard?refresh={LIVE_S}")
            page.fill("#api-key", key)
            page.click("#save-key")
            page.fill("#plan-date", PLAN_DATE)
            page.dispatch_event("#plan-date", "change")
            settle_live(page, requests, base, key)
            for step in range(int(os.environ.get("BINROUTE_FUZZ_STEPS", "20"))):
                clock.now += timedelta(minutes=rng.randint(3, 25))
                page.clock.set_fixed_time(clock.now)
                kind = rng.choice(KINDS)
                if kind in CLICKS:
                    what = CLICKS[kind](page, rng)
                elif kind in OTHERS:
                    what = OTHERS[kind]((base, key), clock, rng)
                else:
                    what = _report_bin(page, rng, kind, answers)
                settle_live(page, requests, base, key)
                log.append(f"{step} {clock.now:%H:%M} {what}: {page.inner_text('#message')}")
                shown = page.evaluate(SEEN)
                found = _findings(page, errors, shown)
                fresh = _fresh(context, clock, (base, key), shown["version"], errors)
                found += [f"a fresh page's error: {e}" for e in errors]
                found += [f"not as a fresh page: {d}" for d in _differences(shown, fresh)]
                if found:
                    break
        finally:
            browser.close()
    assert found == [], "\n".join([*log, *found])
