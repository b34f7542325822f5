"""The dashboard's view of the service in a real headless browser: the last nightly run,
a stopped scheduler, the API docs without the internet."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from tests.api.conftest import PLAN_DATE
from tests.api.dashboard.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    dashboard,
    shot,
    sync_api,
    until,
)


def nightly_run(
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
    with dashboard(base, key, errors, external, timezone="UTC") as page:
        page.wait_for_selector("#message:has-text('no plan for')")
        assert page.inner_text("#nightly") == "last nightly plan: none yet"
        failure = "attempt 1 of 4 failed: solver crashed; retry at 02:15"
        nightly_run(tmp_path / "binroute.db", "failed", failure)
        page.click("#load-date")
        page.wait_for_selector("#nightly[data-status='failed']")
        line = page.inner_text("#nightly")
        assert line.startswith(f"last nightly plan: {PLAN_DATE}, ran 25 Nov"), line
        assert "02:00" in line and "00:00" not in line, line  # the city's time, not UTC
        assert line.endswith(f": failed: {failure}"), line
        assert page.get_attribute("#nightly", "class") == "failed"
        shot(page, "nightly_failed")
        long = f"attempt 1 of 4 failed: {'solver crashed: ' * 20}; retry at 02:15"
        retry_at = datetime.fromisoformat(f"{PLAN_DATE}T00:15:00+00:00")
        nightly_run(tmp_path / "binroute.db", "failed", long, retry_at=retry_at)
        page.click("#load-date")
        until(page, "document.getElementById('nightly').textContent.includes('tried again')")
        line = page.inner_text("#nightly")  # the message cut before its retry's time
        assert line.endswith("...; tried again 25 Nov, 02:15"), line
        page.click("#request-plan")
        page.wait_for_selector("#plan-status:has-text('done 100%')")
        nightly_run(tmp_path / "binroute.db", "done", "published", plan_id=1)
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

    with dashboard(base, key, errors, external, {"**/health": stopped}) as page:
        page.wait_for_selector("#nightly[data-status='none']")
        line = page.inner_text("#nightly")
        assert line == (
            "last nightly plan: none yet; scheduler stopped: "
            "the scheduler's thread has died: restart the service"
        )
        assert page.get_attribute("#nightly", "class") == "failed"
    assert [e for e in errors if "503" not in e] == [] and external == []


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


def test_the_page_opens_on_tomorrow_of_the_dispatchers_zone(server: tuple[str, str]) -> None:
    """A dispatcher in Seoul opens the page for the first time (no date kept) at 08:00 on
    25 November, still the 24th in UTC: the date box reads the 26th, tomorrow where the
    dispatcher is (it read the 25th, UTC's tomorrow: today's plan)."""
    base, _key = server
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(timezone_id="Asia/Seoul")
            page.set_default_timeout(TIMEOUT_MS)
            page.clock.set_fixed_time(datetime.fromisoformat("2026-11-25T08:00:00+09:00"))
            page.goto(f"{base}/dashboard")
            assert page.input_value("#plan-date") == "2026-11-26"
        finally:
            browser.close()
