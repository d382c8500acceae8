"""End to end in a real JupyterLab on 127.0.0.1: the kernel, the comm and the browser."""

import json
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
from PIL import Image as PILImage

from tests.harness.browser import GuardedPage, canvas_pixels, drag, wait_for_frames
from tests.harness.jupyter import jupyterlab_server, run_cell, wait_for_idle_kernel

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = [
    "import json, voxlite\n"
    "viewer = voxlite.view(voxlite.data.ct_phantom((64, 56, 56)), cmap='ct-bone',"
    " ui_collapsed=True, height=400)\n"
    "viewer",
    "viewer.cmap = 'hot'",
    "print('CAMERA=' + json.dumps(viewer.camera))",
    "brain = voxlite.view(voxlite.data.mri(), voxlite.data.mri_tissue_labels(), cmap='mr',"
    " label_opacity=0.2, ui_collapsed=True, height=400)\n"
    "brain",
    "import numpy as np\n"
    "ct = voxlite.data.ct_phantom((48, 64, 64))\n"
    "bone = ct.replace(array=(ct.array > 500).astype(np.uint8))\n"
    "shapes = voxlite.view(ct, mode='mip', cmap='ct-bone', height=400, ui_collapsed=True,"
    " views='3d',"
    " point_sets=np.array([[10.0, 20, 30], [40, 30, 20]]),"
    " geometries=voxlite.surface_from_labels(bone))\n"
    "shapes",
    "print('SHOT=' + str(shapes.screenshot('shot.png').shape))",
]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, root / "e2e.ipynb")
    with jupyterlab_server(root) as url:
        yield SimpleNamespace(url=url, root=root)


def camera_from_python(page) -> dict:
    run_cell(page, 2)
    output = page.locator(".jp-OutputArea-output", has_text="CAMERA=").first
    output.wait_for(timeout=30_000)
    page.wait_for_timeout(200)
    text = output.inner_text().strip()
    return json.loads(text.split("CAMERA=", 1)[1])


def test_notebook_renders_phantom_and_mni_and_syncs_both_ways(jupyterlab, browser):
    with GuardedPage(browser, viewport=(1200, 1000)) as guarded:
        page = guarded.page
        page.goto(f"{jupyterlab.url}/lab/tree/e2e.ipynb")
        wait_for_idle_kernel(page)

        run_cell(page, 0)
        ct = ".voxlite-root >> nth=0"
        page.locator(ct).wait_for(timeout=60_000)
        wait_for_frames(page, 1, root=".voxlite-root")
        page.wait_for_timeout(300)
        first = canvas_pixels(page, "jupyterlab-ct")
        assert (first.max(axis=2) > 60).sum() > 2000, "the phantom is rendered in the notebook"

        # Python -> browser: a trait set in the kernel changes the pixels.
        frames_before = int(page.locator(ct).get_attribute("data-voxlite-frames"))
        run_cell(page, 1)
        wait_for_frames(page, frames_before + 1, root=".voxlite-root")
        page.wait_for_timeout(300)
        recoloured = canvas_pixels(page, "jupyterlab-ct-hot")
        assert np.abs(recoloured - first).mean() > 1.0, "cmap change from Python shows"

        # Browser -> Python: dragging the mouse in the 3D view (the quad layout's fourth)
        # moves the camera trait in the kernel.
        before = camera_from_python(page)
        box = page.locator(".voxlite-view[data-view='3d']").first.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        drag(page, (x, y), (150, 40), steps=10)
        page.wait_for_timeout(800)  # the widget reports the camera once motion settles
        after = camera_from_python(page)
        assert np.linalg.norm(np.subtract(after["position"], before["position"])) > 1.0

        # The MNI brain with its tissue labels, in a second viewer.
        run_cell(page, 3)
        brain = page.locator(".voxlite-root").nth(1)
        brain.wait_for(timeout=60_000)
        page.wait_for_function(
            "() => Number(document.querySelectorAll('.voxlite-root')[1]"
            "?.dataset.voxliteFrames || 0) >= 1",
            timeout=60_000,
        )
        brain.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        pixels = canvas_pixels(page, "jupyterlab-mri", selector=".voxlite-canvas >> nth=1")
        visible = pixels.max(axis=2) > 40
        assert visible.sum() > 5000, "the brain is rendered"
        reddish = visible & (pixels[..., 0] > pixels[..., 1] + 30)
        assert reddish.sum() > 500, "grey-matter labels (red) show on the brain"

        # Image + points + a surface; screenshot() in the kernel is what the canvas shows.
        run_cell(page, 4)
        shapes = page.locator(".voxlite-root").nth(2)
        shapes.wait_for(timeout=60_000)
        shapes.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => document.querySelectorAll('.voxlite-root')[2]?.dataset.voxliteReported",
            timeout=60_000,
        )
        page.wait_for_timeout(500)
        run_cell(page, 5)
        shot = page.locator(".jp-OutputArea-output", has_text="SHOT=").first
        shot.wait_for(timeout=30_000)
        assert "(400," in shot.inner_text()
        shown = canvas_pixels(page, "jupyterlab-shapes", selector=".voxlite-canvas >> nth=2")
        saved = np.asarray(PILImage.open(jupyterlab.root / "shot.png").convert("RGB")).astype(int)
        # The element's box may start mid-pixel: one more row or column than the canvas.
        extra = np.subtract(shown.shape, saved.shape)[:2]
        assert np.all((extra >= 0) & (extra <= 1))
        height, width = saved.shape[:2]
        covered = np.zeros((height, width), bool)  # HTML over the canvas, not the rendering:
        covered[:40, :120] = True  # the panel,
        covered[-80:, width // 2 :] = True  # and where JupyterLab shows its notifications
        difference = min(
            np.abs(saved - shown[dy : dy + height, dx : dx + width])[~covered].mean()
            for dy in range(extra[0] + 1)
            for dx in range(extra[1] + 1)
        )
        assert difference < 2.0, "screenshot() equals the canvas"


LARGE_CELLS = [
    "import time, numpy as np, voxlite\n"
    "vol = np.empty((512, 512, 512), np.uint16)  # 256 MB, made plane by plane\n"
    "y, x = np.ogrid[:512, :512]\n"
    "for k in range(512):\n"
    "    vol[k] = ((x - 256) ** 2 + (y - 256) ** 2 + (k - 256) ** 2 < 150**2) * 1000"
    " + (x % 4 == 0) * 600",
    # The preview is on screen while this cell sleeps; the finer level follows it. A fixed
    # window: each level's own robust window would show both discs saturated alike.
    "big = voxlite.view(vol, mode='mip', vmin=0, vmax=2000, ui_collapsed=True, height=400)\n"
    "display(big)\n"
    "time.sleep(15)",
]


# The viewer in the notebook on show: JupyterLab keeps other notebooks' tabs (and
# their viewers) in the page, hidden.
SHOWN = ".jp-NotebookPanel:not(.lm-mod-hidden) .voxlite-root"


def level_shown(page) -> dict:
    return page.evaluate(
        """(selector) => {
            const root = document.querySelector(selector);
            const { voxliteLevel, voxliteFrames, voxliteLoading, voxliteState } = root.dataset;
            return { level: voxliteLevel, frames: voxliteFrames, loading: voxliteLoading,
                     state: voxliteState };
        }""",
        SHOWN,
    )


def wait_for_level(page, level: str, timeout: float) -> None:
    """Wait until the viewer shows ``level`` and has drawn it (and no level is loading,
    for 'refined'); polled on a timer: animation frames wait for the (software) GPU."""
    page.wait_for_function(
        """([selector, level]) => {
            const root = document.querySelector(selector);
            return root && root.dataset.voxliteLevel === level && root.dataset.voxliteFrames >= 1
                && (level === 'preview' || !root.dataset.voxliteLoading);
        }""",
        arg=[SHOWN, level],
        timeout=timeout,
        polling=100,
    )


def test_a_512_cubed_volume_shows_a_coarse_level_first_then_a_finer_one(jupyterlab, browser):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in LARGE_CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, jupyterlab.root / "large.ipynb")
    with GuardedPage(browser, viewport=(1000, 800)) as guarded:
        page = guarded.page
        page.goto(f"{jupyterlab.url}/lab/tree/large.ipynb")
        page.wait_for_function(  # the workspace also restores e2e.ipynb, which opens first
            "() => window.jupyterapp?.shell.currentWidget?.context?.path === 'large.ipynb'"
        )
        wait_for_idle_kernel(page)
        run_cell(page, 0)
        wait_for_idle_kernel(page, timeout=120_000)
        run_cell(page, 1, wait=False)  # the preview shows while the cell sleeps
        wait_for_level(page, "preview", timeout=60_000)
        page.wait_for_timeout(300)
        coarse = canvas_pixels(page, "jupyterlab-512-preview", selector=f"{SHOWN} .voxlite-canvas")
        shown = level_shown(page)
        assert shown["level"] == "preview", "the kernel was still asleep: no finer level yet"
        assert shown["loading"] is not None, "progress shows while the level loads"
        wait_for_level(page, "refined", timeout=120_000)
        wait_for_frames(page, int(shown["frames"]) + 1, root=SHOWN)
        page.wait_for_timeout(300)
        fine = canvas_pixels(page, "jupyterlab-512-refined", selector=f"{SHOWN} .voxlite-canvas")
        assert (coarse.max(axis=2) > 60).sum() > 2000 and (fine.max(axis=2) > 60).sum() > 2000
        assert np.abs(fine - coarse).mean() > 1.0, "the finer level changes the picture"
        assert level_shown(page)["state"] == "ready"


CHANNEL_CELLS = [
    "import numpy as np, voxlite\n"
    "z, y, x = np.indices((32, 32, 32))\n"
    "blobs = np.stack([((z - 16) ** 2 + (y - 16) ** 2 + (x - cx) ** 2 < 25) * 1000.0"
    " for cx in (8, 24)], axis=-1)\n"
    "cells = voxlite.view(voxlite.Image(blobs, pixel='channels'), views='axial',"
    " ui_collapsed=True, height=400)\n"
    "cells",
    "cells.channels = [{**c, 'visible': i == 0} for i, c in enumerate(cells.channels)]",
    "series = np.stack([((z - 16) ** 2 + (y - 16) ** 2 + (x - 8 - 4 * t) ** 2 < 16) * 1000.0"
    " for t in range(4)])\n"
    "cine = voxlite.view(voxlite.Image(series, timeseries=True), views='axial',"
    " ui_collapsed=True, height=300)\n"
    "cine",
    "print('TIME=' + str(cine.time))",
]


def test_channels_hidden_from_python_and_a_time_bar_asking_the_kernel(jupyterlab, browser):
    from tests.browser.test_kinds import colour_mask

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CHANNEL_CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, jupyterlab.root / "channels.ipynb")
    with GuardedPage(browser, viewport=(1000, 800)) as guarded:
        page = guarded.page
        page.goto(f"{jupyterlab.url}/lab/tree/channels.ipynb")
        page.wait_for_function(
            "() => window.jupyterapp?.shell.currentWidget?.context?.path === 'channels.ipynb'"
        )
        wait_for_idle_kernel(page)
        run_cell(page, 0)
        page.locator(f"{SHOWN}[data-voxlite-kind=channels]").wait_for(timeout=60_000)
        wait_for_frames(page, 1, root=SHOWN)
        page.wait_for_timeout(300)
        both = canvas_pixels(page, "jupyterlab-channels", selector=SHOWN + " .voxlite-canvas")
        assert colour_mask(both, "green").sum() > 200 and colour_mask(both, "magenta").sum() > 200
        count = int(page.locator(SHOWN).get_attribute("data-voxlite-frames"))
        run_cell(page, 1)
        wait_for_frames(page, count + 1, root=SHOWN)
        page.wait_for_timeout(300)
        one = canvas_pixels(page, "jupyterlab-channel-hidden", selector=SHOWN + " .voxlite-canvas")
        assert colour_mask(one, "green").sum() > 200 and colour_mask(one, "magenta").sum() == 0

        # A time series: the time bar asks the kernel for a time point, which sends its frame.
        run_cell(page, 2)
        cine = page.locator(SHOWN).nth(1)
        cine.locator("[data-control=timebar]").wait_for(timeout=60_000)
        received = "performance.getEntriesByName('voxlite:image-received').length"
        before = page.evaluate(received)
        cine.locator("[data-control=time]").fill("2")
        page.wait_for_function(f"{received} > {before}", timeout=30_000)
        run_cell(page, 3)
        output = page.locator(".jp-OutputArea-output", has_text="TIME=").first
        output.wait_for(timeout=30_000)
        assert output.inner_text().strip() == "TIME=2"
