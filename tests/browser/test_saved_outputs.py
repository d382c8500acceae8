"""Views that outlive the kernel: a notebook saved with its widget state, reopened in
JupyterLab once the kernel that drew it is gone, and exported to HTML by nbconvert.

The notebook is executed by nbclient (as ``jupyter nbconvert --execute`` does), which
saves the widget state, voxels included, in the notebook's metadata.
"""

import os
import re
import subprocess
import sys
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

from tests.harness.browser import (
    GuardedPage,
    canvas_pixels,
    drag,
    wait_for_frames,
    wait_for_locator_frames,
)
from tests.harness.jupyter import jupyter_environment, jupyter_server, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = [
    "import voxlite\n"
    "viewer = voxlite.view(voxlite.data.ct_phantom((48, 40, 40)), cmap='ct-bone',"
    " ui_collapsed=True, height=400)\n"
    "viewer",
]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    nbclient = pytest.importorskip("nbclient")
    root = tmp_path_factory.mktemp("saved")
    path = write_notebook(root / "saved.ipynb", CELLS)
    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    assert "widgets" in notebook.metadata, "nbclient saved the widget state"
    nbformat.write(notebook, path)
    return SimpleNamespace(root=root, path=path)


def nbconvert(saved, to: str) -> str:
    output = saved.root / to.rsplit(".", 1)[-1]
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", to, str(saved.path),
         "--output-dir", str(output)],
        check=True, capture_output=True,
    )  # fmt: skip
    (page,) = output.glob("*.html")
    return page


def test_nbconvert_html_shows_views_only_through_a_cdn(saved):
    # Why voxlite has its own exporter: nbconvert's page loads the widget manager (and
    # require.js) from CDNs, so offline, or under a CSP, the views are blank.
    page = nbconvert(saved, "html").read_text()
    scripts = re.findall(r'<script[^>]+src="(https?://[^"]+)"', page)
    assert any("require.js" in src for src in scripts), scripts
    assert "'https://unpkg.com/@jupyter-widgets/html-manager@" in page


def test_voxlite_html_export_shows_the_view_from_disk_with_no_request(saved, browser):
    page_path = nbconvert(saved, "voxlite.notebook_html.VoxliteHTMLExporter")
    # From disk (file://), with the page's own Content-Security-Policy enforced.
    with GuardedPage(browser, viewport=(1100, 800), bypass_csp=False) as guarded:
        page = guarded.page
        page.goto(page_path.as_uri())
        frame = page.frame_locator("iframe.voxlite-embed").first
        root = frame.locator(".voxlite-root")
        root.wait_for(timeout=60_000)
        wait_for_locator_frames(root, 1)
        page.wait_for_timeout(300)
        pixels = canvas_pixels(page, "nbconvert-voxlite-html", scope=frame)
        assert (pixels.max(axis=2) > 60).sum() > 2000, "the saved view is rendered"
        # nothing reached the network: GuardedPage fails on any request off 127.0.0.1
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.reload()
        frame.locator(".voxlite-root").wait_for(timeout=60_000)
        assert all(url.startswith(("file:", "data:", "blob:", "about:")) for url in requests)


def test_jupyterlab_shows_the_saved_view_once_its_kernel_is_gone(saved, browser):
    root = saved.root
    # A notebook is trusted by whoever saved it; JupyterLab renders no widget otherwise.
    env = {**os.environ, **jupyter_environment(root)}
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(saved.path)], check=True, env=env)
    with jupyter_server(root) as url, GuardedPage(browser, viewport=(1200, 1000)) as guarded:
        page = guarded.page
        page.goto(f"{url}/lab/tree/{saved.path.name}")
        # A new kernel starts, which never saw the viewer: the view comes from the state
        # saved in the notebook.
        page.locator(".voxlite-root").wait_for(timeout=60_000)
        wait_for_frames(page, 1)
        page.wait_for_timeout(300)
        first = canvas_pixels(page, "jupyterlab-saved-state")
        assert (first.max(axis=2) > 60).sum() > 2000, "the saved view is rendered"

        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel"
        )
        # No kernel: the view still turns (all of it runs in the page).
        frames = int(page.locator(".voxlite-root").get_attribute("data-voxlite-frames"))
        box = page.locator(".voxlite-view[data-view='3d']").first.bounding_box()
        drag(page, (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2), (150, 40))
        wait_for_frames(page, frames + 1)
        page.wait_for_timeout(300)
        turned = canvas_pixels(page, "jupyterlab-saved-state-no-kernel")
        assert np.abs(turned - first).mean() > 0.5, "the 3D view turned without a kernel"
