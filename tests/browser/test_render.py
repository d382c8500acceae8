"""The widget's ESM in headless Chromium (WebGL2 on SwiftShader): pixels prove the rendering."""

import itertools
import math
import pathlib

import numpy as np
import pytest

import voxlite
from tests.harness.browser import (
    GuardedPage,
    canvas_pixels,
    drag,
    frames,
    set_and_render,
    wait_for_frames,
)

pytestmark = pytest.mark.browser

SIZE = 64
RADIUS = 15
CENTRE = (SIZE - 1) / 2
VIEW_ANGLE = math.radians(30)  # vtk.js' default camera view angle
CANVAS_HEIGHT = 480


def sphere(value=1000.0, dtype=np.float32):
    z, y, x = np.mgrid[:SIZE, :SIZE, :SIZE]
    inside = (x - CENTRE) ** 2 + (y - CENTRE) ** 2 + (z - CENTRE) ** 2 <= RADIUS**2
    return (inside * value).astype(dtype)


def scene_pixels(page, name=None):
    """Canvas pixels with the collapsed control panel (top left) blacked out."""
    pixels = canvas_pixels(page, name)
    pixels[:40, :120] = 0
    return pixels


def bright(pixels, threshold=60):
    return pixels.max(axis=2) > threshold


def last_saved(page):
    return page.evaluate("window.voxlite.saved[window.voxlite.saved.length - 1]")


def test_mip_of_a_sphere_is_a_centred_disc_of_the_projected_radius(show, guarded):
    page = show(voxlite.view(sphere(), mode="mip", views="3d", ui_collapsed=True))
    pixels = scene_pixels(page, "mip-sphere")
    disc = bright(pixels)
    rows, cols = np.nonzero(disc)
    height, width = disc.shape
    assert abs(cols.mean() - width / 2) < 2 and abs(rows.mean() - height / 2) < 2
    # Expected radius from the camera the widget reports: perspective projection
    # of a sphere of radius R at distance d.
    page.wait_for_function("window.voxlite.saved.some((s) => s.camera && s.camera.position)")
    camera = last_saved(page)["camera"]
    distance = math.dist(camera["position"], camera["focal_point"])
    expected = math.tan(math.asin(RADIUS / distance)) / math.tan(VIEW_ANGLE / 2) * CANVAS_HEIGHT / 2
    measured = math.sqrt(disc.sum() / math.pi)
    assert abs(measured - expected) < 3, (measured, expected)
    y, x = np.mgrid[:height, :width]
    outside = np.hypot(x - cols.mean(), y - rows.mean()) > expected + 4
    assert pixels[outside].max() < 25, "the background stays black"


def test_label_map_shows_its_colour_where_the_label_is(show, guarded):
    labels = np.zeros((SIZE, SIZE, SIZE), np.uint8)
    labels[:, :, SIZE // 2 :] = sphere(1, np.uint8)[:, :, SIZE // 2 :]  # patient's left half
    viewer = voxlite.view(
        sphere(), labels, mode="slices", label_opacity=0.6, views="3d", ui_collapsed=True
    )
    page = show(viewer)
    pixels = scene_pixels(page, "labels-slices")
    disc = bright(pixels)
    middle = np.nonzero(disc)[1].mean()
    red = pixels[..., 0] - pixels[..., 1]
    # Seen from the front (radiological view), the patient's left is on the screen's right.
    right, left = (
        disc & (np.arange(disc.shape[1]) > middle + 5),
        disc & (np.arange(disc.shape[1]) < middle - 5),
    )
    assert np.median(red[right]) > 80, "label 1 (red) should cover the right half"
    assert np.median(np.abs(red[left])) < 10, "the unlabelled half stays grey"


def test_modes_and_colormaps_change_the_picture(show, guarded):
    page = show(
        voxlite.view(
            voxlite.data.ct_phantom((64, 56, 56)), cmap="ct-bone", views="3d", ui_collapsed=True
        )
    )
    pictures = {"volume": scene_pixels(page, "ct-volume")}
    for mode in ("mip", "slices"):
        set_and_render(page, "mode", mode)
        pictures[mode] = scene_pixels(page, f"ct-{mode}")
    set_and_render(page, "cmap", "hot")
    pictures["hot"] = scene_pixels(page, "ct-slices-hot")
    names = list(pictures)
    for a, b in itertools.pairwise(names):
        difference = np.abs(pictures[a] - pictures[b]).mean()
        assert difference > 1.0, f"{a} and {b} look the same ({difference:.2f})"
    assert bright(pictures["volume"]).sum() > 2000, "the volume rendering shows the phantom"


def test_window_and_slices_from_the_model_move_the_picture(show, guarded):
    page = show(voxlite.view(sphere(), mode="slices", views="3d", ui_collapsed=True))
    centre = scene_pixels(page)
    set_and_render(page, "slices", [32, 5, 32])  # coronal plane outside the sphere
    assert bright(scene_pixels(page)).sum() < bright(centre).sum() / 10
    set_and_render(page, "slices", [32, 32, 32])
    set_and_render(page, "level", 50000.0)  # the sphere's 1000 falls at the window's floor
    set_and_render(page, "window", 100000.0)
    assert scene_pixels(page).max() < 30 < centre.max()


def test_control_panel_changes_reach_the_model(show, guarded):
    page = show(voxlite.view(sphere(), mode="mip"))
    before = frames(page)
    page.select_option("[data-control=cmap]", "hot")
    wait_for_frames(page, before + 1)
    assert last_saved(page)["cmap"] == "hot"
    page.select_option("[data-control=mode]", "slices")
    assert last_saved(page)["mode"] == "slices"
    page.fill("[data-control=slice-z-value]", "40")
    page.press("[data-control=slice-z-value]", "Enter")
    assert last_saved(page)["slices"] == [32, 32, 40]
    page.click("[data-control=collapse]")
    assert page.locator(".voxlite-body").is_hidden()


def test_mouse_drag_rotates_and_reports_the_camera(show, guarded):
    page = show(voxlite.view(sphere(), mode="mip", views="3d", ui_collapsed=True))
    page.wait_for_function("window.voxlite.saved.some((s) => s.camera && s.camera.position)")
    start = last_saved(page)["camera"]
    box = page.locator(".voxlite-canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    drag(page, (x, y), (120, 30), steps=8)
    page.wait_for_function(
        "(p) => { const c = window.voxlite.saved.at(-1).camera;"
        " return c && Math.hypot(...c.position.map((v, i) => v - p[i])) > 1; }",
        arg=start["position"],
    )
    end = last_saved(page)["camera"]
    assert end["focal_point"] == pytest.approx(start["focal_point"], abs=1e-6)


def test_nan_voxels_are_masked_not_fatal(show, guarded):
    volume = sphere()
    volume[:, :, :20] = np.nan
    volume[0, 0, 0] = np.inf
    page = show(voxlite.view(volume, mode="mip", views="3d", ui_collapsed=True))
    assert bright(scene_pixels(page)).sum() > 1000


def test_files_dropped_on_the_viewer_go_to_python_as_buffers(show, guarded):
    page = show(voxlite.view(sphere(), mode="mip", ui_collapsed=True))
    page.evaluate(
        """() => {
            const files = new DataTransfer();
            files.items.add(new File([new Uint8Array([1, 2, 3])], 'scan.nii'));
            files.items.add(new File([new Uint8Array([4])], 'slice.dcm'));
            document.querySelector('.voxlite-root').dispatchEvent(
                new DragEvent('drop', { dataTransfer: files, bubbles: true, cancelable: true }));
        }"""
    )
    page.wait_for_function("window.voxlite.sent.length > 0")
    sent = page.evaluate(
        "window.voxlite.sent.map((m) => ({ type: m.content.type, names: m.content.names,"
        " sizes: m.buffers.map((b) => b.byteLength) }))"
    )
    assert sent == [{"type": "open", "names": ["scan.nii", "slice.dcm"], "sizes": [3, 1]}]
    assert "Opening 2 files" in page.locator(".voxlite-message").inner_text()


def test_names_are_shown_as_text_never_as_html(show, guarded):
    hostile = '<img src="x" onerror="window.pwned = 1"><script>window.pwned = 2</script>'
    image = voxlite.Image(sphere(), name=hostile)
    page = show(voxlite.view(image, mode="mip"))
    info = page.locator(".voxlite-info")
    assert hostile in info.inner_text()
    assert info.locator("img, script").count() == 0
    assert page.evaluate("window.pwned") is None


def test_saved_html_renders_alone_under_its_own_csp(browser, tmp_path):
    viewer = voxlite.view(sphere(), mode="mip", cmap="viridis", views="3d", ui_collapsed=True)
    path = viewer.save_html(tmp_path / "view.html")
    requests = []
    # The page's policy applies; a CSP violation would be logged as an error.
    with GuardedPage(browser, bypass_csp=False) as guarded:
        guarded.page.on("request", lambda request: requests.append(request.url))
        guarded.page.goto(path.as_uri())  # a file: no server at all
        guarded.page.wait_for_selector(".voxlite-root[data-voxlite-frames]", timeout=60_000)
        guarded.page.wait_for_timeout(500)
        pixels = scene_pixels(guarded.page, "standalone-html")
        disc = bright(pixels)
        assert disc.sum() > 5000
        assert np.median(pixels[disc][:, 0] - pixels[disc][:, 2]) > 100, "viridis: yellow, not grey"
        assert [url for url in requests if not url.startswith("blob:")] == [path.as_uri()]


def test_slices_of_an_image_over_the_budget_come_at_full_resolution(show, guarded):
    z, _, x = np.ogrid[:96, :96, :96]
    stripes = np.broadcast_to((x % 2 * 1000 + z * 10).astype(np.uint16), (96, 96, 96))
    viewer = voxlite.view(stripes, mode="slices", max_voxels=32**3, views="3d", ui_collapsed=True)
    assert viewer._image["shape"] == [24, 24, 48]  # the level averages the stripes away
    page = show(viewer)
    assert page.evaluate("document.querySelector('.voxlite-root').dataset.voxliteLevel") == (
        "refined"
    )

    def column_contrast(pixels):
        centre = pixels[150:330, 300:600].mean(axis=2)
        return np.abs(np.diff(centre, axis=1)).mean()

    full = column_contrast(scene_pixels(page, "multiscale-planes"))
    set_and_render(page, "_planes", [])  # the level's own slices, until planes arrive
    level = column_contrast(scene_pixels(page, "multiscale-level"))
    assert full > 20 > level


def test_a_volume_wider_than_the_gpu_takes_is_refused_with_a_message(show, guarded):
    page = show(voxlite.view(sphere(), ui_collapsed=True))
    page.evaluate(
        """() => {
            const model = window.voxlite.model;
            const image = { ...model.get('_image'), shape: [1, 1, 8192], dtype: 'uint8',
                            data: new DataView(new ArrayBuffer(8192)), serial: 99 };
            model.set('_image', image);
        }"""
    )
    root = page.locator(".voxlite-root")
    assert root.get_attribute("data-voxlite-state") == "error"
    assert "does not fit" in root.inner_text() and "Lower max_voxels" in root.inner_text()
    guarded.allow("does not fit")


def test_a_big_endian_file_reaches_the_page_with_its_own_values(show, guarded):
    """nibabel's anatomical.nii is big-endian int16: the page must get its values, not the
    byte-swapped ones (-32763 … 32561 instead of -610 … 30393)."""
    import nibabel

    path = pathlib.Path(nibabel.__file__).parent / "tests" / "data" / "anatomical.nii"
    stored = np.asanyarray(nibabel.load(path).dataobj)
    assert stored.dtype.byteorder == ">"
    low, high = int(stored.min()), int(stored.max())
    big = voxlite.view(str(path), mode="slices", ui_collapsed=True)
    page = show(big)
    in_page = page.evaluate(
        """() => { const d = window.voxlite.model.get('_image').data;
            const v = new Int16Array(d.buffer, d.byteOffset, d.byteLength / 2);
            let low = Infinity, high = -Infinity;
            for (const x of v) { low = Math.min(low, x); high = Math.max(high, x); }
            return [low, high]; }"""
    )
    assert in_page == [low, high]
    assert page.evaluate("window.voxlite.model.get('_image').range") == [low, high]
    assert "range -610 … 30390" in page.locator(".voxlite-info").inner_text()
    shown = scene_pixels(page, "big-endian-anatomical")
    # The same voxels in native byte order must look the same.
    native = voxlite.read_image(path)
    native = native.replace(array=native.array.astype("<i2"))
    page = show(voxlite.view(native, mode="slices", ui_collapsed=True))
    reference = scene_pixels(page)
    assert bright(reference).sum() > 1000, "the anatomy is visible"
    assert np.abs(shown - reference).mean() < 1.0
