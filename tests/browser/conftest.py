"""Real-browser fixtures: Debian's Chromium driven by Playwright, loopback only."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator

import pytest

import voxlite
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS, GuardedPage, wait_for_frames
from voxlite.site import serving


@pytest.fixture(scope="session")
def browser():
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/setup (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def guarded(browser) -> Iterator[GuardedPage]:
    page = GuardedPage(browser)
    yield page
    page.close()


@pytest.fixture
def show(guarded: GuardedPage, tmp_path: pathlib.Path):
    """show(viewer) renders the viewer's standalone page (save_html) and returns the page."""
    stack = contextlib.ExitStack()

    def _show(viewer: voxlite.Viewer):
        viewer.save_html(tmp_path / "index.html")
        url = stack.enter_context(serving(tmp_path))
        page = guarded.page
        page.goto(f"{url}/index.html")
        wait_for_frames(page, 1)
        return page

    yield _show
    stack.close()
