"""The transfer-function editor and the crop box in headless Chromium: canvas pixels and the
traits the page sends back (``window.voxlite.saved``: what reaches Python)."""

import numpy as np
import pytest

import voxlite
from tests.harness.browser import (
    canvas_pixels,
    drag,
    frames,
    set_and_render,
    wait_for_frames,
)

pytestmark = pytest.mark.browser

SIZE = 64
CENTRE = (SIZE - 1) / 2


def ball(value=1000.0):
    z, y, x = np.mgrid[:SIZE, :SIZE, :SIZE]
    inside = (x - CENTRE) ** 2 + (y - CENTRE) ** 2 + (z - CENTRE) ** 2 <= 15**2
    return (inside * value).astype(np.float32)


def last_saved(page, key):
    return page.evaluate(
        "(key) => window.voxlite.saved.filter((s) => key in s).map((s) => s[key]).at(-1)", key
    )


def settled(page):
    """Wait for the full-quality frame (the view reports it once refined)."""
    page.wait_for_function(
        "document.querySelector('.voxlite-root').dataset.voxliteQuality === 'full'",
        timeout=60_000,
    )
    page.wait_for_timeout(400)


def scene(page, name=None):
    pixels = canvas_pixels(page, name, selector="[data-view='3d']")
    return pixels.max(axis=2)


def test_moving_an_opacity_point_changes_the_volume(show, guarded):
    viewer = voxlite.view(
        ball(), views="3d", ui_collapsed=True, height=300, opacity_points=[[0, 0], [1000, 1.0]]
    )  # a low widget: fewer rays to cast on the software GPU
    page = show(viewer)
    settled(page)
    opaque = scene(page, "tf-opaque")
    set_and_render(page, "opacity_points", [[0, 0], [999, 0], [1000, 0.05]])
    settled(page)
    faint = scene(page, "tf-faint")
    disc = opaque > 60
    assert disc.sum() > 1500, "the ball is drawn"
    assert faint[disc].mean() < 0.6 * opaque[disc].mean(), "a lower point: a fainter ball"
    set_and_render(page, "cmap", "viridis")  # a colormap keeps the points
    set_and_render(page, "opacity_points", [])  # the preset's curve again
    assert scene(page)[disc].mean() > faint[disc].mean()


def test_dragging_clicking_and_double_clicking_the_editor_edit_the_points(show, guarded):
    # A 2D view only: cheap frames (the points shape the 3D volume, tested above).
    viewer = voxlite.view(ball(), views="axial", opacity_points=[[0, 0], [1000, 1.0]])
    page = show(viewer)
    plot = page.locator("[data-control=opacity-editor]")
    box = plot.bounding_box()
    scale = box["width"] / 216  # the drawing's width in CSS pixels
    top_right = (box["x"] + box["width"] - 5 * scale, box["y"] + 5)
    drag(page, top_right, (0, 30))
    page.wait_for_function("window.voxlite.saved.some((s) => s.opacity_points?.[1]?.[1] < 0.9)")
    points = last_saved(page, "opacity_points")
    assert points[0] == [0, 0] and points[1][0] == pytest.approx(1000, abs=1)
    assert points[1][1] == pytest.approx(1 - 30 / (72 - 10), abs=0.03)
    viewer.opacity_points = points  # Python takes what the page sent
    assert viewer.opacity_points[1][1] < 0.6
    # A click adds a point where it is; a double click on it removes it.
    middle = (box["x"] + box["width"] / 2, box["y"] + 36)
    page.mouse.click(*middle)
    added = last_saved(page, "opacity_points")
    assert len(added) == 3 and added[1][0] == pytest.approx(500, abs=10)
    assert added[1][1] == pytest.approx(0.5, abs=0.03)
    page.mouse.dblclick(*middle)
    page.wait_for_function("window.voxlite.saved.at(-1).opacity_points?.length === 2")
    # Back to the preset's curve; the first click makes it points over the value range.
    page.click("[data-control=reset-opacity]")
    assert last_saved(page, "opacity_points") == []
    page.mouse.click(*middle)
    curve = last_saved(page, "opacity_points")
    assert curve[0][0] == 0 and curve[-1][0] == 1000 and len(curve) >= 3
    assert [500, 0.5] in [[round(v, -1), round(a, 1)] for v, a in curve]
    before = frames(page)
    page.select_option("[data-control=cmap]", "ct-bone")  # a CT preset brings its own curve
    wait_for_frames(page, before + 1)
    canvas_pixels(page, "tf-editor-panel", selector=".voxlite-panel")


def test_the_gradient_toggle_changes_the_picture(show, guarded):
    page = show(
        voxlite.view(
            voxlite.data.ct_phantom((32, 32, 32)), cmap="ct-soft-tissue", views="3d", height=300
        )
    )
    settled(page)
    still = scene(page)
    page.check("[data-control=gradient-toggle]")
    assert last_saved(page, "gradient_opacity") == 0.5
    settled(page)
    edges = scene(page, "tf-gradient")
    assert np.abs(edges - still).mean() > 1.0


def halves(pixels):
    """Mean brightness of the picture's left and right halves, around the middle rows."""
    height, width = pixels.shape
    band = pixels[height // 4 : 3 * height // 4]
    return band[:, : width // 2].mean(), band[:, width // 2 :].mean()


def test_the_crop_box_hides_the_cut_half_and_its_handle_moves_a_face(show, guarded):
    viewer = voxlite.view(ball(), mode="mip", views="3d", ui_collapsed=True)
    page = show(viewer)
    whole = scene(page, "crop-whole")
    # Patient's left (+x) is on the screen's right in the default anterior view.
    set_and_render(page, "crop", {"min": [0, 0, 0], "max": [CENTRE, SIZE - 1, SIZE - 1]})
    cut = scene(page, "crop-cut")
    right = np.zeros_like(cut, bool)
    right[:, cut.shape[1] // 2 + 3 :] = True
    assert whole[right].max() > 200 and (whole[right] > 60).sum() > 500
    assert cut[right].max() < 25, "the cut half is background"
    assert (cut[~right] > 60).sum() > 0.8 * (whole[~right] > 60).sum(), "the other half stays"
    # The Crop tool: a handle per face; dragging the right one moves crop's max x.
    page.click("[data-control=collapse]")
    page.click("[data-control=crop-tool]")
    handle = page.locator("[data-face=x-max]")
    handle.wait_for()
    start = handle.bounding_box()
    x, y = start["x"] + 6, start["y"] + 6
    camera = last_saved(page, "camera")
    drag(page, (x, y), (-40, 0))
    page.wait_for_function("window.voxlite.saved.at(-1).crop?.max?.[0] < 25")
    page.wait_for_timeout(400)  # a camera move would be reported by now
    assert last_saved(page, "camera") == camera, "a handle drag does not turn the view"
    crop = last_saved(page, "crop")
    assert crop["min"] == [0, 0, 0] and crop["max"][1:] == [SIZE - 1, SIZE - 1]
    viewer.crop = crop  # Python takes the box the page sent
    assert viewer.crop["max"][0] == pytest.approx(crop["max"][0])
    moved = handle.bounding_box()
    assert moved["x"] < start["x"] - 30, "the handle follows its face"


def test_a_2d_view_dims_what_lies_outside_the_crop_box(show, guarded):
    crop = {"min": [0, 0, 0], "max": [CENTRE, SIZE - 1, SIZE - 1]}
    page = show(voxlite.view(ball(), views="axial", ui_collapsed=True, crop=crop))
    pixels = canvas_pixels(page, "crop-axial", selector="[data-view='axial']").max(axis=2)
    disc = pixels > 20
    cols = np.nonzero(disc)[1]
    middle = int(cols.mean())
    # Radiological: the patient's left (+x, cropped away) is on the screen's right.
    kept = np.median(pixels[:, : middle - 3][disc[:, : middle - 3]])
    dimmed = np.median(pixels[:, middle + 3 :][disc[:, middle + 3 :]])
    assert kept > 200 and 0.15 < dimmed / kept < 0.45, (kept, dimmed)
