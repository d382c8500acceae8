"""voxlite in marimo: examples/marimo_viewer.py run by `marimo run` on 127.0.0.1.

marimo has its own anywidget host (no ipywidgets manager, each widget in a shadow
root): the viewer renders, a marimo slider sets ``viewer.slices``, and a click in the
view comes back to Python as the ``mo.ui.anywidget`` wrapper's value.
"""

import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.harness.browser import GuardedPage, canvas_pixels, wait_for_locator_frames
from tests.harness.jupyter import free_port, server_process

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXAMPLE = Path(__file__).parents[2] / "examples" / "marimo_viewer.py"


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory):
    pytest.importorskip("marimo")
    root = tmp_path_factory.mktemp("marimo")
    port = free_port()
    command = [
        sys.executable, "-m", "marimo", "run", str(EXAMPLE), "--headless",
        "--host", "127.0.0.1", "--port", str(port), "--no-token", "--no-sandbox",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with server_process(command, root, f"{url}/", "marimo", {"MARIMO_SKIP_UPDATE_CHECK": "1"}):
        yield url


def shown_slices(page) -> list[int]:
    text = page.get_by_text("slices shown").inner_text()
    return [int(n) for n in re.findall(r"\d+", text.split(":", 1)[1])]


def test_marimo_renders_a_slider_drives_the_slices_and_a_click_comes_back(marimo_app, browser):
    with GuardedPage(browser, viewport=(1200, 1000)) as guarded:
        page = guarded.page
        page.goto(marimo_app)
        root = page.locator(".voxlite-root")
        root.wait_for(timeout=60_000)
        wait_for_locator_frames(root, 1)
        page.wait_for_timeout(500)
        axial = ".voxlite-view[data-view='axial']"
        first = canvas_pixels(page, "marimo-ct", selector=axial)
        assert (first.max(axis=2) > 60).sum() > 2000, "the phantom is rendered in marimo"
        assert shown_slices(page) == [28, 28, 32]

        # marimo -> voxlite: the slider's cell sets viewer.slices; the axial view follows.
        before = int(root.get_attribute("data-voxlite-frames"))
        page.get_by_role("slider").focus()
        page.keyboard.press("Home")  # slice 0
        wait_for_locator_frames(root, before + 1)
        page.wait_for_timeout(500)
        moved = canvas_pixels(page, "marimo-ct-slice-0", selector=axial)
        assert np.abs(moved - first).mean() > 1.0, "the slider's slice is shown"

        # voxlite -> marimo: a click in the axial view moves the crosshair; the cell
        # that reads the wrapper's value re-runs with the new slices.
        box = page.locator(axial).bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
        deadline = time.monotonic() + 30
        while shown_slices(page)[:2] == [28, 28] and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        i, j, k = shown_slices(page)
        assert (i, j) != (28, 28) and k == 0, "the view's new crosshair, on the slider's slice"
