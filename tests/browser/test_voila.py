"""A dashboard under Voilà on 127.0.0.1: examples/voila_dashboard.ipynb.

Voilà runs the notebook in a kernel of its own and shows only the outputs, with its own
widget manager page: the viewer renders, and an ipywidgets menu linked to ``viewer.cmap``
recolours it through the kernel.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from tests.harness.browser import GuardedPage, canvas_pixels, wait_for_frames
from tests.harness.jupyter import free_port, jupyter_environment, server_process

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DASHBOARD = Path(__file__).parents[2] / "examples" / "voila_dashboard.ipynb"
# Voilà's lab template links Font Awesome from jsDelivr (its own icons; voxlite needs no
# icon font): aborted here, and nothing else asks another host for anything.
FONT_AWESOME = "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@"
# JupyterLab extensions that cannot load in Voilà's page (JupyterLite's kernel, Notebook 7's
# menus), left out as a user would with the same setting.
DENIED = ("@jupyterlite/pyodide-kernel-extension", "@jupyter-notebook/lab-extension")


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    pytest.importorskip("voila")
    root = tmp_path_factory.mktemp("voila")
    port = free_port()
    command = [
        sys.executable, "-m", "voila", str(DASHBOARD), "--no-browser", f"--port={port}",
        "--Voila.ip=127.0.0.1",
        *(f"--VoilaConfiguration.extension_denylist={name}" for name in DENIED),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with server_process(command, root, f"{url}/voila/static/", "voila", jupyter_environment(root)):
        yield url


def test_voila_dashboard_renders_and_its_menu_recolours_the_view(voila, browser):
    guarded = GuardedPage(browser, viewport=(1200, 1000), allowed_errors=["net::ERR_FAILED"])
    try:
        page = guarded.page
        page.goto(voila)
        page.locator(".voxlite-root").wait_for(timeout=90_000)
        wait_for_frames(page, 1)
        page.wait_for_timeout(500)
        view = ".voxlite-view[data-view='axial']"
        first = canvas_pixels(page, "voila-mri", selector=view)
        assert (first.max(axis=2) > 60).sum() > 3000, "the brain is rendered in Voilà"

        before = int(page.locator(".voxlite-root").get_attribute("data-voxlite-frames"))
        page.locator(".widget-dropdown select").select_option("hot")
        wait_for_frames(page, before + 1)
        page.wait_for_timeout(500)
        hot = canvas_pixels(page, "voila-mri-hot", selector=view)
        assert np.abs(hot - first).mean() > 1.0, "the menu's colormap reaches the view"
    finally:
        guarded.close(check=False)
    assert all(url.startswith(FONT_AWESOME) for url in guarded.outside_requests)
    guarded.outside_requests.clear()
    guarded.check_clean()
