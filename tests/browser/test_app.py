"""The viewer app end to end: built, served on 127.0.0.1, driven in Chromium with its own CSP.

Each page starts Python (Pyodide) in the app's worker, so each test opens one page
and does several things in it.
"""

import contextlib
import io
import json
import re
import time

import numpy as np
import pytest
from PIL import Image as PILImage

import voxlite
from tests.harness.browser import ARTIFACTS, GuardedPage
from voxlite import Image
from voxlite.app import AppOptions, build_app
from voxlite.app.build import HEADER_POLICY
from voxlite.io.dicom import write_series
from voxlite.site import serving

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

HOSTILE = "<img src=x onerror=window.pwned=1><script>window.pwned=2</script>"
START_TIMEOUT = 300_000  # Python's start-up, on a busy 2-core machine
OPEN_TIMEOUT = 120_000


def by(*values: str, unit: str) -> str:
    """Values joined by a multiplication sign, then the unit, as the metadata panel shows them."""
    return " \N{MULTIPLICATION SIGN} ".join(values) + " " + unit


def sphere(shape=(32, 40, 48), value=900) -> np.ndarray:
    z, y, x = np.indices(shape)
    centre = (np.array(shape) - 1) / 2
    r = ((z - centre[0]) / shape[0]) ** 2 + ((y - centre[1]) / shape[1]) ** 2
    r = r + ((x - centre[2]) / shape[2]) ** 2
    return np.where(r <= 0.1, value, 0).astype(np.int16)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    image = Image(sphere(), spacing=(0.8, 0.9, 2.5), origin=(-10.0, 4.0, 0.0))
    labels = image.replace(array=(image.array > 0).astype(np.uint8) * 2)
    ct = Image(sphere((24, 36, 36), 1200), spacing=(0.7, 0.7, 3.0))
    write_series(ct, folder / "ct_dicom", description="CT app test")
    write_series(ct, folder / "hostile_dicom", description=HOSTILE)
    return {
        "nifti": voxlite.write_image(image, folder / "sphere.nii.gz"),
        "labels": voxlite.write_image(labels, folder / "sphere_seg.nii.gz"),
        "dicom": folder / "ct_dicom",
        "hostile": folder / "hostile_dicom",
        "broken": _write(folder / "broken.nii.gz", b"\x1f\x8b\x08 this is not a NIfTI file"),
    }


def _write(path, data):
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory, data):
    output = tmp_path_factory.mktemp("app") / "app"
    files = [data["nifti"], data["labels"], data["dicom"], data["hostile"]]
    build_app(AppOptions(output=output, files=files, demo=False), log=lambda line: None)
    return output


@contextlib.contextmanager
def app_page(app, browser, query="", viewport=(1100, 760), allowed_errors=(), init_script=None):
    """The app's page as `voxlite app serve` serves it: its Content-Security-Policy in force,
    as a header too (so in the Python worker as well). On leaving: no request off
    127.0.0.1, no error in the page, no violation reported."""
    violations: list[dict] = []
    guarded_page = GuardedPage(
        browser, viewport=viewport, bypass_csp=False, allowed_errors=allowed_errors
    )
    with guarded_page as guarded:
        if init_script:
            guarded.context.add_init_script(init_script)
        with serving(app, policy=HEADER_POLICY, reports=violations) as url:
            guarded.page.goto(f"{url}/index.html{query}")
            yield guarded.page
        assert violations == []


def wait_ready(page):
    page.locator("body[data-app-state=ready]").wait_for(state="attached", timeout=START_TIMEOUT)


def wait_opened(page, count):
    """The app has finished `count` opens (each waits for its first frame, or fails)."""
    page.locator(f"body[data-opened='{count}']").wait_for(state="attached", timeout=OPEN_TIMEOUT)


CAMERA = "window.voxliteApp.model.get('camera')"
CAMERA_MOVED = """(before) =>
    JSON.stringify(window.voxliteApp.model.get('camera')) !== JSON.stringify(before)"""


def metadata(page) -> dict[str, str]:
    terms = page.locator("#meta dt").all_inner_texts()
    return dict(zip(terms, page.locator("#meta dd").all_inner_texts(), strict=True))


def rendered_pixels(page, name) -> int:
    """Bright pixels in the middle of the view (the panels sit at its sides).

    Once the full-quality picture is drawn; a page screenshot clipped to the view, since
    an element screenshot waits for two quick frames in a row, which software WebGL on a
    busy machine may not give for a while.
    """
    quality = page.locator(".voxlite-root[data-voxlite-quality=full]")
    quality.wait_for(state="attached", timeout=OPEN_TIMEOUT)
    png = page.screenshot(clip=page.locator(".voxlite-canvas").bounding_box(), timeout=OPEN_TIMEOUT)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(png)
    pixels = np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB")).astype(int)
    h, w = pixels.shape[:2]
    middle = pixels[h // 4 : 3 * h // 4, w // 3 : 2 * w // 3]
    return int((middle.max(axis=2) > 60).sum())


def test_nifti_and_dicom_folder_render_with_metadata_and_a_bad_file_is_reported(app, data, browser):
    with app_page(app, browser) as page:
        # Progress from the first paint, not a blank page.
        assert page.locator("#steps li").count() == 3
        assert "Loading" in page.locator("#status").inner_text()
        wait_ready(page)
        assert page.locator("#steps li.current").inner_text() == "Ready for files"

        page.set_input_files("#file-input", data["nifti"])
        wait_opened(page, 1)
        assert page.locator("#error").is_hidden()
        info = metadata(page)
        assert info["Spacing"] == by("0.8", "0.9", "2.5", unit="mm")
        assert info["Dimensions"] == by("48", "40", "32", unit="voxels")
        assert info["Origin"] == "(-10, 4, 0) mm"
        assert rendered_pixels(page, "app-nifti") > 500, "the sphere is rendered"
        assert page.locator("#welcome").is_hidden()

        page.set_input_files("#folder-input", data["dicom"])  # a DICOM folder, as picked
        wait_opened(page, 2)
        info = metadata(page)
        assert info["Series description"] == "CT app test"
        assert info["Spacing"] == by("0.7", "0.7", "3", unit="mm")
        assert info["Slices"] == "24"
        assert rendered_pixels(page, "app-dicom") > 500
        assert page.locator("#items li").count() == 2

        # A corrupt file: an error in the page, and the app goes on with the next file.
        page.set_input_files("#file-input", data["broken"])
        wait_opened(page, 3)
        error = page.locator("#error")
        assert error.is_visible()
        assert error.inner_text().startswith("broken.nii.gz: ")
        assert page.locator("#items li").count() == 2
        page.set_input_files("#file-input", data["nifti"])
        wait_opened(page, 4)
        assert error.is_hidden()
        assert metadata(page)["Spacing"] == by("0.8", "0.9", "2.5", unit="mm")
        assert rendered_pixels(page, "app-after-error") > 500

        # The list switches the image shown.
        page.locator("#items li").nth(1).locator("button.show").click()
        page.locator("#meta", has_text="CT app test").wait_for()
        assert "shown" in page.locator("#items li").nth(1).get_attribute("class")


def test_url_parameters_open_datasets_beside_the_app(app, browser):
    query = "?url=data/sphere.nii.gz&url=data/sphere_seg.nii.gz"
    # The browser logs the 404 of the missing file asked for at the end.
    with app_page(app, browser, query, allowed_errors=("status of 404",)) as page:
        wait_opened(page, 1)
        items = page.locator("#items li")
        assert items.count() == 2
        assert "label map" in items.nth(1).inner_text()
        assert metadata(page)["Label map"] == "sphere_seg.nii.gz (1 label)"
        assert rendered_pixels(page, "app-url-labels") > 500

        # A folder URL (its files.json lists the DICOM slices), and a missing file.
        page.evaluate("window.voxliteApp.openUrls(['data/ct_dicom/'])")
        wait_opened(page, 2)
        assert metadata(page)["Series description"] == "CT app test"
        page.evaluate("window.voxliteApp.openUrls(['data/missing.nii.gz'])")
        page.locator("#error", has_text="404").wait_for()
        assert page.locator("#items li").count() == 3

        # Metadata is text: a series description made of markup is shown, never run.
        page.evaluate("window.voxliteApp.openUrls(['data/hostile_dicom/'])")
        page.locator("#meta dd", has_text="onerror").first.wait_for(timeout=OPEN_TIMEOUT)
        assert metadata(page)["Series description"] == HOSTILE
        assert page.locator("#side img, #side script, .voxlite-root img").count() == 0
        assert page.evaluate("window.pwned") is None


def test_phone_viewport_touch_rotate_and_pinch(app, browser):
    with app_page(app, browser, "?url=data/sphere.nii.gz", viewport=(390, 760)) as page:
        wait_opened(page, 1)
        panel = page.locator(".voxlite-panel")
        assert "collapsed" in panel.get_attribute("class"), "the panel starts folded on phones"
        assert page.locator("#side").is_hidden(), "the side panel is a sheet opened on demand"
        box = page.locator(".voxlite-canvas").bounding_box()
        assert box["width"] == 390 and box["height"] > 500, "the view fills the phone's screen"
        assert rendered_pixels(page, "app-phone") > 300
        # Touch in the 3D view, alone on the screen.
        page.evaluate(
            "window.voxliteApp.model.set('views', '3d'); window.voxliteApp.model.save_changes()"
        )
        page.locator(".voxlite-root[data-voxlite-views='3d']").wait_for(state="attached")

        cdp = page.context.new_cdp_session(page)
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

        def touch(kind, points):
            cdp.send("Input.dispatchTouchEvent", {
                "type": kind, "touchPoints": [{"x": x, "y": y, "id": i}
                                              for i, (x, y) in enumerate(points)]})  # fmt: skip

        def settled_camera():
            """The camera the view reports once a gesture is over (reports are debounced)."""
            camera = page.evaluate(CAMERA)
            for _ in range(60):
                page.wait_for_timeout(1000)
                now = page.evaluate(CAMERA)
                if now == camera:
                    return camera
                camera = now
            raise AssertionError("the camera never settled")

        def distance(c):
            return float(np.linalg.norm(np.subtract(c["position"], c["focal_point"])))

        camera = settled_camera()
        touch("touchStart", [(cx, cy)])
        for step in range(1, 11):
            touch("touchMove", [(cx + 12 * step, cy)])
        touch("touchEnd", [])
        page.wait_for_function(CAMERA_MOVED, arg=camera)
        rotated = settled_camera()
        assert rotated["position"] != camera["position"], "one finger rotates"
        assert abs(distance(rotated) - distance(camera)) < 1e-3 * distance(camera)

        touch("touchStart", [(cx - 30, cy), (cx + 30, cy)])
        for step in range(1, 11):
            touch("touchMove", [(cx - 30 - 8 * step, cy), (cx + 30 + 8 * step, cy)])
        touch("touchEnd", [])
        page.wait_for_function(CAMERA_MOVED, arg=rotated)
        pinched = settled_camera()
        assert distance(pinched) < distance(rotated) * 0.95, "two fingers apart zoom in"

        page.locator("#toggle-side").click()
        assert page.locator("#side").is_visible()
        assert metadata(page)["Spacing"] == by("0.8", "0.9", "2.5", unit="mm")


def test_a_files_json_naming_another_origin_is_refused(app, browser):
    folder = app / "data" / "elsewhere"
    folder.mkdir()
    outside = ["https://example.invalid/x", "http://example.invalid/x", "//example.invalid/y"]
    (folder / "files.json").write_text(json.dumps([*outside, "../sphere.nii.gz"]))
    # Leaving the page: not one request off 127.0.0.1 (the route records any), no CSP violation.
    with app_page(app, browser, "?url=data/elsewhere/") as page:
        error = page.locator("#error")
        error.wait_for(timeout=OPEN_TIMEOUT)
        text = error.inner_text()
        assert all(json.dumps(url) in text for url in outside), text
        assert "../sphere.nii.gz" not in text, "a file beside it is not refused"
        assert "not on this site" in text and "?url=" in text


# Every text of the status line, from the first.
RECORD_STATUS = """window.voxliteStatus = [];
addEventListener('DOMContentLoaded', () => {
  const status = document.getElementById('status');
  new MutationObserver(() => window.voxliteStatus.push(status.textContent))
    .observe(status, { childList: true, characterData: true, subtree: true });
});
"""
PARALLEL_FETCHES = 8  # app.js


def test_a_series_of_2000_slices_opens_with_bounded_parallel_downloads(app, browser):
    folder = app / "data" / "long_series"
    # 4 x 4 x 2000 voxels: a 160 x 160 mm slab 8 mm thick, facing the camera, so that its
    # rays are short (software WebGL casts them on the CPU). Its upper half is bright in
    # the middle of its thickness: a gradient towards the camera shades it (lit, not flat).
    z, y, _ = np.indices((2000, 4, 4))
    bright = (z >= 1000) & (y % 3 > 0)
    series = Image(bright * np.int16(1000), spacing=(40.0, 2.0, 0.08))
    started = time.monotonic()
    names = [path.name for path in write_series(series, folder, description="long series")]
    (folder / "files.json").write_text(json.dumps(names))
    written = time.monotonic() - started

    in_flight, most = set(), [0]

    def sent(request):
        if "/long_series/slice" in request.url:
            in_flight.add(request.url)
            most[0] = max(most[0], len(in_flight))

    with app_page(app, browser, init_script=RECORD_STATUS) as page:
        page.on("request", sent)
        page.on("requestfinished", lambda request: in_flight.discard(request.url))
        page.on("requestfailed", lambda request: in_flight.discard(request.url))
        wait_ready(page)
        started = time.monotonic()
        page.evaluate("window.voxliteApp.openUrls(['data/long_series/'])")
        wait_opened(page, 1)
        opened = time.monotonic() - started
        assert page.locator("#error").is_hidden()
        info = metadata(page)
        assert info["Series description"] == "long series"
        assert info["Slices"] == "2000"
        assert rendered_pixels(page, "app-2000-slices") > 500
        statuses = page.evaluate("window.voxliteStatus")
    progress = [text for text in statuses if text.startswith("Fetching")]
    assert progress and progress[-1] == "Fetching 2,000 / 2,000 files…"
    assert all(re.fullmatch(r"Fetching [\d,]+ / 2,000 files…", text) for text in progress)
    assert 0 < most[0] <= PARALLEL_FETCHES, f"{most[0]} slices were downloading at once"
    print(f"2000 slices: written in {written:.1f} s; fetched ({most[0]} at once), read and shown")
    print(f"in {opened:.1f} s (each request goes through the test's route to Python)")
