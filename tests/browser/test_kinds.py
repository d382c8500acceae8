"""Every kind of image in Chromium, checked by the canvas' pixels: 2D colour pictures, colour
volumes, multichannel volumes (each channel its colour, hidden ones gone), a time series
moving through its frames (only the frames asked for travel), and comparisons.

The time series and the comparison's controls need Python answering the page: they run
in the live page (tests/harness/live.py), the others in the saved page."""

import itertools

import numpy as np
import pytest

import voxlite
from tests.browser.test_views import cells, crop, scene, settle
from tests.harness.browser import frames, set_and_render, wait_for_frames
from tests.harness.live import live_page
from tests.test_kinds import quadrants
from voxlite.viewmodel import ViewModel

pytestmark = pytest.mark.browser

QUADRANT_COLOURS = {"top-left": (255, 0, 0), "top-right": (0, 255, 0)}
QUADRANT_COLOURS |= {"bottom-left": (0, 0, 255), "bottom-right": (255, 255, 255)}


def colour_mask(pixels, name, floor=60):
    """Pixels of a pure hue: one or two of red, green, blue well above the others."""
    r, g, b = (pixels[..., c] for c in range(3))
    wanted = {
        "red": (r, (g, b)),
        "green": (g, (r, b)),
        "blue": (b, (r, g)),
        "magenta": (np.minimum(r, b), (g,)),
        "cyan": (np.minimum(g, b), (r,)),
        "yellow": (np.minimum(r, g), (b,)),
    }[name]
    high, lows = wanted
    low = np.max(np.stack(lows), axis=0)
    return (high > floor) & (high > 2 * low + 20)


def centroid(mask):
    rows, columns = np.nonzero(mask)
    assert rows.size > 15, "the colour is not in the view"
    return columns.mean(), rows.mean()


def wait_kind(page, kind):
    page.locator(f".voxlite-root[data-voxlite-kind='{kind}']").wait_for(state="attached")


def check_quadrants(pixels, aspect=None):
    """The picture's four quadrants in their colours and places (and its width : height)."""
    lit = pixels.max(axis=2) > 40
    rows, columns = np.nonzero(lit)
    top, bottom, left, right = rows.min(), rows.max(), columns.min(), columns.max()
    if aspect is not None:
        assert (right - left) / (bottom - top) == pytest.approx(aspect, rel=0.04), "spacing kept"
    for name, colour in QUADRANT_COLOURS.items():
        y = top + (bottom - top) * (0.25 if name.startswith("top") else 0.75)
        x = left + (right - left) * (0.25 if name.endswith("left") else 0.75)
        patch = pixels[int(y) - 3 : int(y) + 4, int(x) - 3 : int(x) + 4].reshape(-1, 3)
        assert np.abs(patch - colour).max() <= 12, (name, patch.mean(axis=0), colour)


def sources():
    """A 2D RGB picture as an array, as an MHA SimpleITK wrote and as a PNG Pillow wrote."""

    def array(tmp_path):
        return quadrants(), 60 / 40

    def mha(tmp_path):
        sitk = pytest.importorskip("SimpleITK", reason="SimpleITK writes the MHA")
        written = sitk.GetImageFromArray(quadrants(), isVector=True)
        written.SetSpacing((0.5, 0.25))  # 30 mm wide, 10 mm high
        sitk.WriteImage(written, str(tmp_path / "photo.mha"))
        return voxlite.read_image(tmp_path / "photo.mha"), 30 / 10

    def png(tmp_path):
        pil = pytest.importorskip("PIL.Image", reason="Pillow writes the PNG")
        pil.fromarray(quadrants()).save(tmp_path / "photo.png")
        return voxlite.read_image(tmp_path / "photo.png"), 60 / 40

    return {"array": array, "mha": mha, "png": png}


@pytest.mark.parametrize("source", ["array", "mha", "png"])
def test_a_2d_rgb_image_shows_its_quadrants_in_colour_in_one_2d_view(
    show, guarded, tmp_path, source
):
    image, aspect = sources()[source](tmp_path)
    viewer = voxlite.view(image, ui_collapsed=True)
    assert viewer.views == "axial", "a 2D image opens in one 2D view"
    page = show(viewer)
    wait_kind(page, "rgb 2d")
    settle(page)
    assert page.locator(".voxlite-root").get_attribute("data-voxlite-views") == "axial"
    info = page.locator(".voxlite-info").inner_text()
    assert "2D RGB colour image" in info, info
    pixels = scene(page, f"kinds-rgb-2d-{source}")
    check_quadrants(crop(pixels, cells(page)["axial"]), aspect)


def test_a_colour_volume_shows_colour_in_3d(show, guarded):
    volume = np.repeat(quadrants(32, 32)[np.newaxis], 32, axis=0)
    page = show(voxlite.view(voxlite.Image(volume, pixel="rgb"), views="3d", ui_collapsed=True))
    settle(page)
    pixels = scene(page, "kinds-rgb-3d")
    # Seen from the front (anterior, y = 0): the red and green quadrants, patient right on the left.
    red = centroid(colour_mask(pixels, "red", 150))
    green = centroid(colour_mask(pixels, "green", 150))
    assert red[0] < green[0] - 50 and abs(red[1] - green[1]) < 10
    # Slices mode: the planes composed from the bytes; the coronal one faces us, through
    # y = 16, the blue and white half.
    set_and_render(page, "mode", "slices")
    settle(page)
    planes = scene(page, "kinds-rgb-3d-slices")
    blue, white = colour_mask(planes, "blue", 150), planes.min(axis=2) > 200
    assert blue.sum() > 5000 and white.sum() > 5000
    assert centroid(blue)[0] < centroid(white)[0] - 50
    assert colour_mask(planes, "red", 150).sum() < 1000, "only the crosshair's line is red"


# Three blobs, one per channel, at known voxels (z, y, x): green left, magenta right, cyan front.
BLOBS = {"green": (16, 16, 8), "magenta": (16, 16, 24), "cyan": (16, 8, 16)}


def channel_blobs(n=32, extra=0):
    z, y, x = np.indices((n, n, n))
    centres = [*BLOBS.values(), *[(16, 24, 8 + 8 * c) for c in range(extra)]]
    array = np.zeros((n, n, n, len(centres)), np.float32)
    for c, (cz, cy, cx) in enumerate(centres):
        array[..., c] = 1000.0 * (((z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2) < 25)
    return voxlite.Image(array, pixel="channels")


def test_each_channel_shows_its_colour_where_its_blob_is_and_hiding_one_removes_it(show, guarded):
    viewer = voxlite.view(channel_blobs(), views="quad")
    assert [c["color"] for c in viewer.channels] == ["#00ff00", "#ff00ff", "#00ffff"]
    page = show(viewer)
    wait_kind(page, "channels")
    settle(page)
    pixels, boxes = scene(page, "kinds-channels"), cells(page)
    axial, view3d = crop(pixels, boxes["axial"]), crop(pixels, boxes["3d"])
    (gx, gy), (mx, my), (cx, cy) = (centroid(colour_mask(axial, c)) for c in BLOBS)
    # Radiological axial view: patient left (+x) on the right, anterior (small y) at the top.
    assert gx < cx < mx and abs(gy - my) < 3 and cy < gy - 20
    for name in BLOBS:
        assert colour_mask(view3d, name).sum() > 40, f"{name} in the 3D view"
    green_3d = centroid(colour_mask(view3d, "green"))
    assert green_3d[0] < centroid(colour_mask(view3d, "magenta"))[0], "3D: seen from the front"

    # The panel's checkbox hides the magenta channel: gone from the 2D and the 3D views.
    count = frames(page)
    page.locator("[data-control=channel-1-visible]").uncheck()
    wait_for_frames(page, count + 1)
    assert page.evaluate("window.voxlite.saved.at(-1).channels[1].visible") is False
    settle(page)
    hidden = scene(page, "kinds-channels-hidden")
    axial, view3d = crop(hidden, boxes["axial"]), crop(hidden, boxes["3d"])
    assert colour_mask(axial, "magenta").sum() == 0 and colour_mask(view3d, "magenta").sum() < 5
    assert colour_mask(axial, "green").sum() > 100 and colour_mask(view3d, "green").sum() > 40


def test_channels_five_to_eight_go_to_a_second_volume(show, guarded):
    viewer = voxlite.view(channel_blobs(extra=3), views="3d", ui_collapsed=True)
    assert [c["color"] for c in viewer.channels][3:] == ["#ffff00", "#ff0000", "#0000ff"]
    page = show(viewer)
    settle(page)
    pixels = scene(page, "kinds-six-channels")
    for name in ("green", "magenta", "red", "blue"):  # channels 1, 2 (first volume), 5, 6
        assert colour_mask(pixels, name).sum() > 40, name


def moving_blob(frames=4, n=24):
    """A blob moving along x by 4 voxels a time point: [t, z, y, x]."""
    z, y, x = np.indices((n, n, n))
    series = np.zeros((frames, n, n, n), np.float32)
    for t in range(frames):
        series[t] = 1000.0 * (((z - 12) ** 2 + (y - 12) ** 2 + (x - 6 - 4 * t) ** 2) < 9)
    return voxlite.Image(series, timeseries=True)


def blob_x(page, view="axial"):
    """The blob's x in voxels: the 2D view fits the image's 24 voxels to its cell's height."""
    time = page.evaluate("window.voxlite.model.get('time')")
    cell = crop(scene(page, f"kinds-time-{time}"), cells(page)[view], margin=0)
    x, _ = centroid(cell.min(axis=2) > 128)  # white: not the coloured crosshair
    return x / (cell.shape[0] / 24)


def received_images(page):
    return page.evaluate("window.voxlite.received.filter((keys) => keys.includes('_image')).length")


def test_a_time_series_moves_through_its_frames_and_only_the_frames_asked_for_travel(
    guarded, tmp_path
):
    model = ViewModel(moving_blob(), views="axial", window=1000, level=500, fps=20)
    with live_page(guarded, model, tmp_path) as (page, live):
        page.locator("[data-control=timebar]").wait_for()
        settle(page)
        first = blob_x(page)
        # The slider asks for time point 3: Python sends that frame, the blob is where it is.
        page.locator("[data-control=time]").fill("3")
        page.wait_for_function("window.voxlite.received.some((keys) => keys.includes('_image'))")
        settle(page)
        assert model.time == 3
        assert blob_x(page) - first == pytest.approx(12, abs=0.5), "12 voxels to the right"
        assert page.locator(".voxlite-time-label").inner_text() == "4 / 4"
        # Play: each frame is asked for once the previous one has arrived.
        page.locator("[data-control=play]").click()
        page.wait_for_function(
            "window.voxlite.received.filter((keys) => keys.includes('_image')).length >= 5",
            timeout=30_000,
        )
        page.locator("[data-control=play]").click()
        page.wait_for_function("!window.voxlite.model.get('playing')")
        page.wait_for_timeout(500)
        updates = page.evaluate("window.voxlite.received")
        assert all(set(keys) <= {"_image", "time", "playing"} for keys in updates), updates
        times = [c["time"] for c in live.asked if "time" in c]
        assert received_images(page) == len(times), "one frame per time point asked for"
        assert all(b == (a + 1) % 4 for a, b in itertools.pairwise(times))
        voxels = 24**3
        assert model._image["shape"] == [24, 24, 24] and len(model._image["data"]) == voxels * 4


def test_a_checkerboard_alternates_at_its_size_and_the_panel_changes_it(guarded, tmp_path):
    zeros, fives = np.zeros((1, 32, 32)), np.full((1, 32, 32), 5.0)
    model = ViewModel(views="axial")
    model.compare(zeros, fives, "checkerboard", checker=4)
    with live_page(guarded, model, tmp_path) as (page, _):
        settle(page)

        def squares():
            """Bright (moving) squares, the image's top left corner on screen, a voxel's size."""
            pixels = scene(page, f"kinds-checker-{model.checker}")
            bright = crop(pixels, cells(page)["axial"], margin=0).min(axis=2) > 128  # white
            xs, ys = np.nonzero(bright.any(axis=0))[0], np.nonzero(bright.any(axis=1))[0]
            # Bright squares reach every edge of the image (each row's or column's own).
            voxel = (xs.max() - xs.min() + 1) / 32
            left, top = xs.min(), ys.min()
            return bright, left, top, voxel

        bright, left, top, voxel = squares()
        for i in range(32):
            for j in range(32):
                if i % 4 != 1 or j % 4 != 1:
                    continue
                x, y = int(left + (i + 0.5) * voxel), int(top + (j + 0.5) * voxel)
                expected = (i // 4 + j // 4) % 2 == 1
                assert bright[y, x] == expected, (i, j)
        # The panel's slider: squares of 8 voxels, composed again in Python.
        page.locator("[data-control=checker]").fill("8")
        page.wait_for_function("window.voxlite.received.some((keys) => keys.includes('_image'))")
        settle(page)
        assert model.checker == 8
        bright, left, top, voxel = squares()
        row = [bright[int(top + 4.5 * voxel), int(left + (i + 0.5) * voxel)] for i in range(32)]
        assert row == [(i // 8) % 2 == 1 for i in range(32)]


def test_a_blend_mixes_the_two_images_as_the_panel_slider_says(guarded, tmp_path):
    fixed, moving = np.zeros((1, 32, 32)), np.zeros((1, 32, 32))
    fixed[..., :16], moving[..., 16:] = 1.0, 5.0  # fixed on the left, moving on the right
    model = ViewModel(views="axial")
    model.compare(fixed, moving, "checkerboard")
    with live_page(guarded, model, tmp_path) as (page, _):
        settle(page)
        # The panel switches to a blend: two channels, the mix their opacities.
        page.locator("[data-control=compare_method]").select_option("blend")
        page.wait_for_function("window.voxlite.model.get('_image').pixel === 'channels'")

        def sides(mix):
            page.locator("[data-control=image_mix]").fill(str(mix))
            page.wait_for_function(
                "(mix) => window.voxlite.model.get('channels')[1].opacity === mix", arg=mix
            )
            settle(page)
            cell = crop(scene(page, f"kinds-blend-{mix}"), cells(page)["axial"])
            row = cell[cell.shape[0] // 3].min(axis=1)  # grey: not the crosshair
            lit = np.nonzero(row > 10)[0]
            left, right = lit.min(), lit.max()
            width = right - left
            return row[left + width // 4], row[left + 3 * width // 4]

        fixed_side, moving_side = sides(0.2)
        assert model.image_mix == 0.2
        assert fixed_side / moving_side == pytest.approx(4, rel=0.1), "0.8 fixed, 0.2 moving"
        fixed_side, moving_side = sides(0.8)
        assert moving_side / fixed_side == pytest.approx(4, rel=0.1)
