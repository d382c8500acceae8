"""The viewer app with a colour picture and a time series: the same renderer, Python in the
page's worker answering the time bar (one Pyodide start for both)."""

import io
import time

import nibabel
import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage

from tests.browser.test_app import OPEN_TIMEOUT, app_page, wait_opened
from tests.browser.test_kinds import check_quadrants
from tests.browser.test_views import cells, crop
from tests.harness.browser import ARTIFACTS
from tests.test_kinds import quadrants
from voxlite.app import AppOptions, build_app

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

SIDE = 24
TIME = "window.voxliteApp.model.get('time')"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kinds-data")
    # An MHA (voxlite's own reader): the app's Python has no Pillow for PNGs.
    photo = sitk.GetImageFromArray(quadrants(), isVector=True)
    sitk.WriteImage(photo, str(folder / "photo.mha"))
    i, j, k = np.indices((SIDE, SIDE, SIDE))
    series = np.stack(  # [i, j, k, t]: a blob moving along i, 4 voxels a time point
        [((i - 6 - 4 * t) ** 2 + (j - 12) ** 2 + (k - 12) ** 2 < 9) * 1000 for t in range(4)],
        axis=-1,
    ).astype(np.int16)
    nibabel.save(nibabel.Nifti1Image(series, np.diag([-1.0, -1, 1, 1])), folder / "cine.nii.gz")
    output = tmp_path_factory.mktemp("app-kinds") / "app"
    files = [folder / "photo.mha", folder / "cine.nii.gz"]
    build_app(AppOptions(output=output, files=files, demo=False), log=lambda line: None)
    return output


def until(page, condition, timeout=OPEN_TIMEOUT / 1000):
    """Poll `condition()` (page.evaluate works under the app's CSP; wait_for_function evals)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


def view_pixels(page, name):
    """The 2D view's pixels, the HTML over the canvas hidden (by inline styles: the CSP's)."""
    page.locator(".voxlite-root[data-voxlite-quality=full]").wait_for(
        state="attached", timeout=OPEN_TIMEOUT
    )
    page.evaluate(
        "document.querySelectorAll('.voxlite-overlay, .voxlite-panel, #side')"
        ".forEach((e) => { e.style.visibility = 'hidden'; })"
    )
    page.wait_for_timeout(300)
    png = page.screenshot(clip=page.locator(".voxlite-canvas").bounding_box())
    page.evaluate(
        "document.querySelectorAll('.voxlite-overlay, .voxlite-panel, #side')"
        ".forEach((e) => { e.style.visibility = ''; })"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(png)
    pixels = np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return crop(pixels, cells(page)["axial"])


def test_a_colour_picture_and_a_time_series_in_the_app(app, browser):
    with app_page(app, browser, "?url=data/photo.mha") as page:
        wait_opened(page, 1)
        page.locator(".voxlite-root[data-voxlite-kind='rgb 2d']").wait_for(state="attached")
        check_quadrants(view_pixels(page, "app-kinds-photo"))  # the app's view is wider

        page.evaluate("window.voxliteApp.openUrls(['data/cine.nii.gz'])")
        wait_opened(page, 2)
        timebar = page.locator("[data-control=timebar]")
        timebar.wait_for()
        assert page.locator(".voxlite-time-label").inner_text() == "1 / 4"
        page.evaluate("window.voxliteApp.model.set('views', 'axial')")
        page.evaluate("window.voxliteApp.model.save_changes()")
        page.locator(".voxlite-root[data-voxlite-views=axial]").wait_for(state="attached")

        def blob_x():
            cell = view_pixels(page, f"app-kinds-time-{page.evaluate(TIME)}")
            columns = np.nonzero((cell.min(axis=2) > 128).any(axis=0))[0]
            return columns.mean() / (cell.shape[0] / SIDE)  # in voxels: the image fits the height

        first = blob_x()
        received = "performance.getEntriesByName('voxlite:image-received').length"
        before = page.evaluate(received)
        page.locator("[data-control=time]").fill("2")
        page.locator(".voxlite-time-label", has_text="3 / 4").wait_for()
        until(page, lambda: page.evaluate(received) > before)
        assert page.evaluate(received) == before + 1, "one frame for one time point"
        moved = blob_x() - first
        # 8 voxels along i (patient left, +x in LPS after nibabel's RAS -1 flips): screen right.
        assert page.evaluate(TIME) == 2
        assert abs(abs(moved) - 8) < 0.7, moved
