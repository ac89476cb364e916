"""The system's Chromium driven by Playwright, for the console's tests in a real browser.

Playwright's own browser download is not reachable, so it drives Debian's `chromium`
(scripts/bootstrap.sh installs it with the test extras). Without it the browser tests skip, unless
REQUIRE_BROWSER=1 (set by scripts/test.sh and so CI), which makes a missing browser a failure.
Every page is kept on loopback: a request anywhere else is aborted, so a page that needs the
internet shows it. Screenshots go to a scratch folder, or to CONSOLE_SCREENSHOTS when set
(`CONSOLE_SCREENSHOTS=docs/console` refreshes the ones docs/console.md shows), so a test run
leaves the working copy as it found it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(
    os.environ.get("CONSOLE_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "campaign-service-console-screenshots"
).resolve()
LOOPBACK = {"127.0.0.1", "localhost"}


@contextmanager
def launched_chromium() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(
                f"REQUIRE_BROWSER=1 but there is no {CHROMIUM}: run scripts/bootstrap.sh test as root"
            )
        pytest.skip(f"no {CHROMIUM}: scripts/bootstrap.sh test installs it (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # a shared two-core machine: a page may take seconds to load

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _loopback_only(route: Any) -> None:
    if urlsplit(route.request.url).hostname in LOOPBACK:
        route.continue_()
    else:
        route.abort()


@contextmanager
def browsing(chromium: Any, base_url: str) -> Iterator[Any]:
    """A fresh page (its own cookies) in the shared browser, kept on loopback."""
    context = chromium.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    context.route("**/*", _loopback_only)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Any, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
