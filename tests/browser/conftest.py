"""Browser tests drive a real Chromium, headless, through Playwright: the one `make test` found or
installed and passed on as CHROMIUM_PATH, or, when pytest runs alone, the one its finder finds
(scripts/devenv.py, `chromium_find`)."""

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, sync_playwright


def _chromium_path() -> str | None:
    """None leaves the choice to Playwright, whose error then says what it looked for."""
    spec = importlib.util.spec_from_file_location("devenv", Path(settings.BASE_DIR) / "scripts" / "devenv.py")
    devenv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(devenv)
    found = devenv.chromium_find(os.environ)
    return str(found[0]) if found else None


CHROMIUM_PATH = _chromium_path()
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-gpu"]


@pytest.fixture
def page(live_site) -> Iterator[Page]:
    """A fresh headless Chromium page. Playwright runs an event loop in this thread while it is
    open, and Django refuses database calls from a thread with a running loop, so it starts after
    every fixture that touches the database and stops before their teardown."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and other outputs of browser tests, for people to look at (git-ignored)."""
    path = Path(settings.BASE_DIR) / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
