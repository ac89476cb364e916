"""The API tests' shared service: one per module, on a database of its own.

A module that never launches a campaign sets `SERVICE_ROLES = ("projector",)` to run only what
its reads need; every test stays independent by working as brands of its own.
"""

from __future__ import annotations

import pytest

from runtime.roles import IN_PROCESS
from tests.api.api_support import service_on_own_database


@pytest.fixture(scope="module")
def service(request, server_url):
    with service_on_own_database(
        server_url, roles=getattr(request.module, "SERVICE_ROLES", IN_PROCESS)
    ) as running:
        yield running


@pytest.fixture(scope="module")
def chromium():
    """A headless Debian chromium for a module (each test opens its own context in it). Not one for
    the session: Playwright's sync API keeps an event loop running in the main thread while it is
    open, and a later test of the same worker calling `asyncio.run` would be refused."""
    from tests.api.console_browser import launched_chromium

    with launched_chromium() as browser:
        yield browser
