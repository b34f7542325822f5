"""The dashboard in a real headless browser (Debian chromium driven by Playwright): the page
and its waits. A test module importing this one is skipped without chromium or playwright.

Screenshots go to tests/_artifacts/ (gitignored); their paths are printed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import PLAN_DATE

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "_artifacts"
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

if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing: pip install playwright"
)


@contextmanager
def dashboard(
    base: str,
    key: str,
    errors: list[str],
    external: list[str],
    routes: dict[str, Any] | None = None,
    timezone: str | None = None,
    refresh_s: float = 0,
) -> Iterator[Any]:
    """A headless page on the dashboard with the key saved and ``PLAN_DATE`` chosen.

    Page errors and console errors go to ``errors``, requests leaving ``base`` to ``external``;
    ``routes`` maps URL patterns to Playwright route handlers (set before the page loads);
    ``timezone``: the browser's (else the machine's); ``refresh_s``: how often the page looks
    for others' changes (live.js; 0, never, by default: a test drives what the page shows).
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
            page.goto(f"{base}/dashboard?refresh={refresh_s:g}")
            page.fill("#api-key", key)
            page.click("#save-key")
            page.fill("#plan-date", PLAN_DATE)
            page.dispatch_event("#plan-date", "change")
            yield page
        finally:
            browser.close()


def until(page: Any, expression: str) -> None:
    """Wait until ``expression`` is true in the page. ``page.wait_for_function`` polls by
    evaluating a string in the page, which the dashboard's policy (``script-src 'self'``)
    forbids; ``page.evaluate`` is the browser's own."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression!r} still false after {TIMEOUT_MS} ms")
        page.wait_for_timeout(20)


def synced(page: Any) -> int:
    """How many of its looks the page found it shows the server as it is (live.js's
    ``#live`` ``data-synced``; 0 before its first)."""
    return int(page.get_attribute("#live", "data-synced") or 0)


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"dashboard_{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
