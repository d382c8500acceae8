"""The 2D views in Chromium: each side where its letters say, the crosshair, the readout,
the gestures, the label legend, rulers and the quad layout, checked by their pixels."""

import math

import numpy as np
import pytest
import SimpleITK as sitk

import voxlite
from tests.harness.browser import (
    ARTIFACTS,
    canvas_pixels,
    drag,
    frame_sent,
    frames,
    wait_for_frames,
)
from tests.test_views import OPPOSITE, rotation

pytestmark = pytest.mark.browser

# Shapes at known patient positions (LPS mm from the image's centre), each its own value.
BLOBS = {
    "L": ((11.0, 0.0, 0.0), 80),
    "R": ((-11.0, 0.0, 0.0), 120),
    "P": ((0.0, 11.0, 0.0), 160),
    "A": ((0.0, -11.0, 0.0), 200),
    "S": ((0.0, 0.0, 11.0), 240),
    "I": ((0.0, 0.0, -11.0), 280),
}
BODY = 20
BLOB_RADIUS = 5.0
# What each 2D view shows of the blobs (the slices through the centre).
SEEN = {"axial": "LRAP", "coronal": "LRSI", "sagittal": "APSI"}
# Overlays are HTML over the canvas: hidden when the canvas' pixels are read.
HIDE_OVERLAYS = ".voxlite-overlay, .voxlite-panel { visibility: hidden !important; }"


DIRECTIONS = {
    "lps": np.eye(3),
    "ras": np.diag([-1.0, -1.0, 1.0]),  # as a NIfTI file stores it
    "oblique": rotation(0, 15) @ rotation(2, 10),
}


def phantom(direction=None, n=40, spacing=(1.0, 1.0, 1.0)):
    """An image centred on the origin: a body, and the BLOBS placed in patient space."""
    direction = np.eye(3) if direction is None else np.asarray(direction, float)
    spacing = np.asarray(spacing, float)
    z, y, x = np.indices((n, n, n))
    index = np.stack([x, y, z], axis=-1) - (n - 1) / 2
    points = (index * spacing) @ direction.T
    array = np.where(np.linalg.norm(points, axis=-1) < 17, BODY, 0).astype(np.int16)
    for centre, value in BLOBS.values():
        array[np.linalg.norm(points - centre, axis=-1) < BLOB_RADIUS] = value
    origin = -(direction @ (spacing * (n - 1) / 2))
    return voxlite.Image(array, spacing=tuple(spacing), origin=tuple(origin), direction=direction)


def settle(page):
    """Wait for the settled, full-quality picture (the one sent to Python)."""
    page.wait_for_function(
        "() => { const r = document.querySelector('.voxlite-root');"
        " return r.dataset.voxliteReported && r.dataset.voxliteQuality === 'full'; }",
        timeout=60_000,
    )


def scene(page, name=None):
    """The canvas' pixels without the HTML over it."""
    page.add_style_tag(content=HIDE_OVERLAYS)
    try:
        return canvas_pixels(page, name)
    finally:
        page.evaluate(
            "document.querySelectorAll('style:not(#voxlite-style)').forEach((s) => s.remove())"
        )


def cells(page):
    """Each view's cell, (left, top, right, bottom) in the canvas' pixels."""
    return page.evaluate(
        """() => {
            const area = document.querySelector('.voxlite-canvas').getBoundingClientRect();
            return Object.fromEntries([...document.querySelectorAll('.voxlite-view')].map((v) => {
                const b = v.getBoundingClientRect();
                return [v.dataset.view, [b.left - area.left, b.top - area.top,
                                         b.right - area.left, b.bottom - area.top]];
            }));
        }"""
    )


def to_page(page, point):
    """A point in the canvas' pixels as a page position."""
    box = page.locator(".voxlite-canvas").bounding_box()
    return box["x"] + point[0], box["y"] + point[1]


def letters(page, view):
    return page.evaluate(
        """(view) => Object.fromEntries([...document.querySelectorAll(
            `.voxlite-view[data-view=${view}] .voxlite-letter`)].map(
                (l) => [l.dataset.edge, l.textContent]))""",
        view,
    )


def crop(pixels, box, margin=3):
    left, top, right, bottom = (round(v) for v in box)
    return pixels[top + margin : bottom - margin, left + margin : right - margin]


def grey(pixels, value, tolerance=12):
    """Pixels of grey level `value` (not the coloured crosshair or labels)."""
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    neutral = (np.abs(r - g) < 8) & (np.abs(g - b) < 8)
    return neutral & (np.abs(g - value) < tolerance)


def centroid(mask):
    rows, columns = np.nonzero(mask)
    assert rows.size > 20, "the shape is not in the view"
    return columns.mean(), rows.mean()


def shade_of(value, window=300.0, level=150.0):
    return (value - (level - window / 2)) / window * 255


def last_saved(page):
    return page.evaluate("window.voxlite.saved.at(-1)")


@pytest.mark.parametrize("name", DIRECTIONS)
def test_each_view_shows_each_side_where_its_letters_say(show, guarded, name):
    direction = DIRECTIONS[name]
    page = show(voxlite.view(phantom(direction), window=300, level=150, ui_collapsed=True))
    settle(page)
    assert page.locator(".voxlite-root").get_attribute("data-voxlite-views") == (
        "axial coronal sagittal 3d"
    )
    orientation = page.evaluate("window.voxlite.model.get('_orientation')")
    sitk_letters = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(
        direction.ravel().tolist()
    )
    pixels = scene(page, f"views-letters-{name}")
    boxes = cells(page)
    for view, seen in SEEN.items():
        shown = letters(page, view)
        geometry = orientation[view]
        # The letters on screen are SimpleITK's for the index axis nearest each screen axis.
        for edge, vector in (("right", geometry["right"]), ("top", geometry["up"])):
            along = direction.T @ np.asarray(vector)
            axis = int(np.argmax(np.abs(along)))
            expected = sitk_letters[axis] if along[axis] > 0 else OPPOSITE[sitk_letters[axis]]
            assert shown[edge][0] == expected, (view, edge, shown)
            assert shown[{"right": "left", "top": "bottom"}[edge]][0] == OPPOSITE[expected]
        oblique = page.locator(f".voxlite-view[data-view={view}] .voxlite-oblique")
        assert oblique.is_visible() == geometry["oblique"]
        # Each shape lies on the side of its letter.
        box = boxes[view]
        cell = crop(pixels, box)
        middle = np.array(cell.shape[1::-1]) / 2
        for letter in seen:
            x, y = np.subtract(centroid(grey(cell, shade_of(BLOBS[letter][1]))), middle)
            edge = next(e for e, text in shown.items() if text[0] == letter)
            offset = {"right": x, "left": -x, "top": -y, "bottom": y}[edge]
            assert offset > 0.25 * min(cell.shape[:2]) * 11 / 40, (view, letter, edge, x, y)
    assert all(orientation[view]["oblique"] == (name == "oblique") for view in ("axial", "coronal"))


def test_click_wheel_and_right_drag_in_a_2d_view(show, guarded):
    spacing = (0.8, 1.0, 1.5)
    image = phantom(spacing=spacing, n=36)
    viewer = voxlite.view(image, window=300, level=150, ui_collapsed=True)
    page = show(viewer)
    settle(page)
    boxes = cells(page)
    before = scene(page)
    # The crosshair's sagittal line (yellow) in the coronal view, before the click.
    coronal_before = crop(before, boxes["coronal"])

    # Click on the L shape in the axial view: the cursor goes to the point under the mouse.
    axial = crop(before, boxes["axial"], margin=0)
    x, y = centroid(grey(axial, shade_of(BLOBS["L"][1])))
    target = to_page(page, (boxes["axial"][0] + x, boxes["axial"][1] + y))
    count = frames(page)
    page.mouse.click(*target)
    wait_for_frames(page, count + 1)
    saved = last_saved(page)
    k = saved["slices"][2]  # the axial slice shown: the shape's voxels there, their centre
    rows, columns = np.nonzero(image.array[k] == BLOBS["L"][1])
    expected = image.index_to_physical([columns.mean(), rows.mean(), k])
    assert np.all(np.abs(np.subtract(saved["cursor"], expected)) <= np.array(spacing) / 2), saved
    voxel = [round(v) for v in image.physical_to_index(saved["cursor"])]
    assert saved["slices"] == voxel, "the slices go through the cursor's voxel"
    viewer.cursor = saved["cursor"]  # what Python makes of the page's cursor
    assert viewer.slices == saved["slices"]
    readout = page.locator(".voxlite-readout")
    assert readout.get_attribute("data-index") == ",".join(map(str, voxel))
    i, j, k = voxel
    assert float(readout.get_attribute("data-value")) == image.array[k, j, i] == BLOBS["L"][1]
    assert "(level)" not in readout.inner_text()

    # The other views' crosshair moved: the sagittal plane's line in the coronal view.
    after = scene(page, "views-clicked")
    coronal_after = crop(after, boxes["coronal"])
    yellow = lambda p: (p[..., 0] > 180) & (p[..., 1] > 160) & (p[..., 2] < 120)  # noqa: E731
    moved = centroid(yellow(coronal_after))[0] - centroid(yellow(coronal_before))[0]
    scale = (boxes["coronal"][3] - boxes["coronal"][1]) / 40  # about: the cell fits ~36-40 mm
    assert moved > 5 * scale, "the line moved to the patient's left (the screen's right)"

    # One wheel notch: one slice.
    page.mouse.move(*target)
    page.mouse.wheel(0, 100)
    page.wait_for_function(
        "(k) => window.voxlite.saved.at(-1).slices[2] !== k", arg=saved["slices"][2]
    )
    page.wait_for_timeout(300)
    stepped = last_saved(page)["slices"]
    assert stepped[:2] == saved["slices"][:2] and abs(stepped[2] - saved["slices"][2]) == 1
    page.keyboard.press("ArrowUp")
    page.wait_for_function("(k) => window.voxlite.saved.at(-1).slices[2] !== k", arg=stepped[2])
    assert last_saved(page)["slices"][2] == stepped[2] + 1

    # Right-drag: window (horizontal) and level (vertical).
    window, level = saved["window"], saved["level"]
    drag(page, target, (60, -40), button="right")
    page.wait_for_function("(w) => window.voxlite.saved.at(-1).window !== w", arg=window)
    changed = last_saved(page)
    assert changed["window"] > window and changed["level"] > level

    # Other layouts: a row (the 3D view joins it from 1200 px on), one view.
    root = page.locator(".voxlite-root")
    for views, shown in [("row", "axial coronal sagittal"), ("coronal", "coronal")]:
        page.evaluate("(v) => window.voxlite.model.set('views', v)", views)
        assert root.get_attribute("data-voxlite-views") == shown


def two_regions():
    """The phantom with label 1 on its L shape and label 2 (named) on its R shape."""
    image = phantom(n=36)
    labels = np.zeros(image.shape, np.uint8)
    labels[image.array == BLOBS["L"][1]] = 1
    labels[image.array == BLOBS["R"][1]] = 2
    return image, labels


def test_labels_outlined_filled_hidden_and_named(show, guarded):
    image, labels = two_regions()
    viewer = voxlite.view(
        image,
        labels,
        views="axial",
        window=300,
        level=150,
        label_colors={1: "#ff0000", 2: "#0000ff"},
        label_names={2: "<b>liver</b>"},
        label_opacity=0.8,
    )
    page = show(viewer)
    settle(page)
    box = cells(page)["axial"]
    outlined = crop(scene(page, "views-labels-outline"), box, margin=0)
    left_shape = grey(outlined, shade_of(BLOBS["R"][1]))  # R is on the screen's left
    red = (outlined[..., 0] > 150) & (outlined[..., 1] < 80)
    blue = (outlined[..., 2] > 150) & (outlined[..., 0] < 80)
    assert red.sum() > 30 and blue.sum() > 30, "each label's outline shows"
    assert left_shape.sum() > 100, "outlines leave the shapes' inside as it is"

    page.select_option("[data-control=label_display]", "filled")
    page.wait_for_function("window.voxlite.saved.at(-1).label_display === 'filled'")
    page.wait_for_timeout(500)
    filled = crop(scene(page, "views-labels-filled"), box, margin=0)
    red_filled = (filled[..., 0] > 150) & (filled[..., 1] < 80)
    assert red_filled.sum() > 3 * red.sum(), "filled labels cover their shapes"

    names = page.eval_on_selector_all(
        ".voxlite-legend-name", "nodes => nodes.map(n => n.textContent)"
    )
    assert names == ["label 1", "<b>liver</b>"]
    assert page.locator(".voxlite-legend b").count() == 0, "names are text"
    page.locator(".voxlite-legend-row[data-label='1'] input").uncheck()
    page.wait_for_function("JSON.stringify(window.voxlite.saved.at(-1).hidden_labels) === '[1]'")
    page.wait_for_timeout(500)
    hidden = crop(scene(page, "views-labels-hidden"), box, margin=0)
    changed = np.abs(hidden - filled).max(axis=2) > 30
    assert np.all(changed <= red_filled), "only label 1's pixels change"
    assert changed.sum() > 0.8 * red_filled.sum()
    assert ((hidden[..., 2] > 150) & (hidden[..., 0] < 80)).sum() > 30, "label 2 stays"

    # "only": every other label hidden; pressed again, every label shown.
    page.click("[data-only='1']")
    page.wait_for_function("JSON.stringify(window.voxlite.saved.at(-1).hidden_labels) === '[2]'")
    page.click("[data-only='1']")
    page.wait_for_function("window.voxlite.saved.at(-1).hidden_labels.length === 0")

    # The readout names the label under the mouse.
    x, y = centroid(left_shape)
    page.mouse.move(*to_page(page, (box[0] + x, box[1] + y)))
    readout = page.locator(".voxlite-readout")
    readout.filter(has_text="liver").wait_for()
    assert readout.get_attribute("data-label") == "2"
    assert "label 2: <b>liver</b>" in readout.inner_text()
    assert readout.locator("b").count() == 0


def test_a_ruler_measures_millimetres_across_anisotropic_voxels(show, guarded, browser):
    spacing = (0.7, 1.3, 2.0)
    array = np.zeros((12, 48, 48), np.int16)
    marks = [(6, 10, 6), (40, 38, 6)]  # (i, j, k), in the axial slice shown (k = 6)
    for i, j, k in marks:
        array[k - 1 : k + 2, j - 1 : j + 2, i - 1 : i + 2] = 1000
    image = voxlite.Image(array, spacing=spacing, origin=(-5.0, 3.0, 7.0))
    viewer = voxlite.view(image, views="axial", window=1000, level=500)
    page = show(viewer)
    settle(page)
    box = cells(page)["axial"]
    pixels = crop(scene(page, "views-ruler-marks"), box, margin=0)
    bright = grey(pixels, 255, tolerance=40)  # not the crosshair, not the view's colour bar
    half = pixels.shape[1] // 2
    ends = []
    for columns in (slice(0, half), slice(half, None)):  # the marks lie left and right
        mask = np.zeros_like(bright)
        mask[:, columns] = bright[:, columns]
        x, y = centroid(mask)
        ends.append(to_page(page, (box[0] + x, box[1] + y)))
    page.click("[data-control=ruler]")
    drag(page, ends[0], np.subtract(ends[1], ends[0]), steps=12)
    page.wait_for_function("window.voxlite.saved.at(-1).measurements.length === 1")
    ruler = last_saved(page)["measurements"][0]
    p, q = (image.index_to_physical(m) for m in marks)
    expected = float(np.linalg.norm(q - p))
    measured = math.dist(*ruler["points"])
    assert measured == pytest.approx(expected, rel=0.01)
    assert ruler["view"] == "axial"
    label = page.locator(".voxlite-ruler-label")
    assert float(label.inner_text().split()[0]) == pytest.approx(expected, rel=0.01)
    viewer.measurements = [ruler]  # Python checks it and computes its length
    assert viewer.measurements[0]["length"] == pytest.approx(expected, rel=0.01)

    page.click("[data-control=clear-rulers]")
    page.wait_for_function("window.voxlite.saved.at(-1).measurements.length === 0")
    page.wait_for_function("document.querySelectorAll('.voxlite-ruler-label').length === 0")

    # Rulers are part of the state: a saved page shows them.
    page = show(voxlite.view(image, views="axial", state=viewer.state))
    label = page.locator(".voxlite-ruler-label")
    label.wait_for()
    assert float(label.inner_text().split()[0]) == pytest.approx(expected, rel=0.01)


def test_the_quad_layout_renders_labels_in_a_saved_page_and_its_screenshot(show, guarded):
    image, labels = two_regions()
    colors = {1: "#ff0000", 2: "#0000ff"}
    viewer = voxlite.view(
        image, labels, window=300, level=150, label_colors=colors, ui_collapsed=True
    )
    page = show(viewer)
    settle(page)
    content, data = frame_sent(page)
    viewer._on_front_end_message(viewer, content, [data])  # what the comm delivers
    shot = viewer.screenshot(ARTIFACTS / "views-quad-python.png").astype(int)
    shown = scene(page, "views-quad")
    assert shot.shape == shown.shape, "the picture holds the whole layout"
    assert np.abs(shot - shown).mean() < 2.0, "screenshot() is what the canvas shows"
    boxes = cells(page)
    for view in ("axial", "coronal", "3d"):
        cell = crop(shown, boxes[view])
        red = (cell[..., 0] > 120) & (cell[..., 0] > 2 * cell[..., 1] + 40)
        blue = (cell[..., 2] > 120) & (cell[..., 2] > 2 * cell[..., 0] + 40)
        assert red.sum() > 20 and blue.sum() > 20, f"both labels show in the {view} view"
    sagittal = crop(shown, boxes["sagittal"])
    for letter in SEEN["sagittal"]:
        assert grey(sagittal, shade_of(BLOBS[letter][1])).sum() > 100


def sphere_volume(n=48):
    z, y, x = np.indices((n, n, n)) - (n - 1) / 2
    return np.sqrt(x**2 + y**2 + z**2), x


def test_labels_blend_with_the_image_in_the_3d_ray_cast(show, guarded):
    """One ray cast: a label inside an opaque shell stays hidden behind it (a second volume
    drawn over the image would show through), and labels are read nearest: between labels
    1 and 3 no label 2 appears."""
    radius, x = sphere_volume()
    shell = np.where(radius < 20, 300, 0) + np.where((radius >= 14) & (radius < 20), 700, 0)
    labels = np.where(radius < 14, 1, 0).astype(np.uint8)
    colors = {1: "#ff0000", 2: "#00ff00", 3: "#0000ff"}
    options = dict(views="3d", cmap="grayscale", window=1000, level=500, ui_collapsed=True)
    page = show(voxlite.view(shell.astype(np.int16), labels, label_colors=colors, **options))
    settle(page)
    pixels = scene(page, "views-3d-shell")
    height, width = pixels.shape[:2]
    centre = pixels[height // 2 - 20 : height // 2 + 20, width // 2 - 20 : width // 2 + 20]
    lit = centre.max(axis=2) > 40
    assert lit.mean() > 0.9, "the shell is drawn"
    reddish = centre[..., 0] - centre[..., 1]
    assert np.median(reddish[lit]) < 30, "the label inside stays behind the shell"

    sides = np.where(x < 0, 1, 3) * (radius < 18)  # label 1 on one half, 3 on the other
    sides[:4, :4, :4] = 2  # label 2 is present, in a corner
    solid = np.where(radius < 18, 300, 0).astype(np.int16)
    page = show(voxlite.view(solid, sides.astype(np.uint8), label_colors=colors, **options))
    settle(page)
    pixels = scene(page, "views-3d-halves")
    band = pixels[height // 4 : 3 * height // 4, width // 2 - 12 : width // 2 + 12]
    green = (band[..., 1] > band[..., 0] + 40) & (band[..., 1] > band[..., 2] + 40)
    red = (band[..., 0] > band[..., 1] + 40).sum()
    blue = (band[..., 2] > band[..., 1] + 40).sum()
    assert red > 100 and blue > 100, "both halves meet in the middle"
    assert green.sum() < 5, "no label 2 between labels 1 and 3"


def test_a_2d_view_of_an_image_over_the_budget_reads_its_full_resolution_plane(show, guarded):
    z, _, x = np.ogrid[:96, :96, :96]
    stripes = np.broadcast_to((x % 2 * 1000 + z * 10).astype(np.uint16), (96, 96, 96))
    viewer = voxlite.view(
        stripes, views="axial", max_voxels=32**3, window=2000, level=1000, ui_collapsed=True
    )
    assert viewer._image["shape"] == [24, 24, 48] and viewer._planes  # a level, and planes
    page = show(viewer)
    settle(page)
    box = cells(page)["axial"]

    def contrast():  # between neighbouring columns, in the middle of the image
        pixels = crop(scene(page), box, margin=0).mean(axis=2)
        rows, columns = (n // 2 for n in pixels.shape)
        middle = pixels[rows - 150 : rows + 150, columns - 150 : columns + 150]
        return np.abs(np.diff(middle, axis=1)).mean()

    readout = page.locator(".voxlite-readout")
    i, j, k = viewer.slices
    assert float(readout.get_attribute("data-value")) == stripes[k, j, i]
    assert "(level)" not in readout.inner_text()
    full = contrast()
    count = frames(page)
    page.evaluate("window.voxlite.model.set('_planes', [])")  # the level's slice until planes come
    wait_for_frames(page, count + 1)
    assert "(level)" in readout.inner_text()
    assert full > 20 > contrast()
