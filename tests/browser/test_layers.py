"""Point sets, meshes, layer toggles, pictures and saved views, checked by their pixels."""

import json
import math

import numpy as np
import pytest
import trimesh

import voxlite
from tests.harness.browser import (
    ARTIFACTS,
    GuardedPage,
    canvas_pixels,
    drag,
    frame_sent,
    set_and_render,
    wait_for_frames,
)
from voxlite.site import serving

pytestmark = pytest.mark.browser

SIZE = 64
CENTRE = (SIZE - 1) / 2
RADIUS = 15
VIEW_ANGLE = math.radians(30)  # vtk.js' default vertical view angle


def camera_of(page):
    page.wait_for_function("window.voxlite.saved.some((s) => s.camera && s.camera.position)")
    return page.evaluate(
        "window.voxlite.saved.filter((s) => s.camera && s.camera.position).at(-1).camera"
    )


def project(camera, point, width, height):
    """Pixel (column, row) of a physical point through vtk.js' perspective camera."""
    position = np.asarray(camera["position"])
    forward = np.subtract(camera["focal_point"], position)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, camera["view_up"])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    offset = np.asarray(point) - position
    depth = offset @ forward
    scale = depth * math.tan(VIEW_ANGLE / 2)
    x = offset @ right / (scale * width / height)
    y = offset @ up / scale
    return width / 2 * (1 + x), height / 2 * (1 - y)


def scene(page, name):
    pixels = canvas_pixels(page, name)
    pixels[:40, :120] = 0  # the collapsed control panel
    return pixels


def test_points_appear_where_their_coordinates_project(show, guarded):
    corners = np.array([[12.0, CENTRE, 12.0], [52, CENTRE, 12], [12, CENTRE, 52], [52, CENTRE, 52]])
    colors = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]]
    viewer = voxlite.view(views="3d", ui_collapsed=True)
    viewer.add_points(corners, colors=colors, size=4.0)
    page = show(viewer)
    pixels = scene(page, "points-corners")
    height, width, _ = pixels.shape
    camera = camera_of(page)
    for point, color in zip(corners, colors, strict=True):
        column, row = (round(v) for v in project(camera, point, width, height))
        patch = pixels[row - 2 : row + 3, column - 2 : column + 3].reshape(-1, 3).mean(axis=0)
        # Lit spheres: the colour's channels dominate, the others stay dark.
        on, off = np.array(color) > 0, np.array(color) == 0
        assert patch[on].min() > 90 and (not off.any() or patch[off].max() < 60), (color, patch)
    lit = pixels.max(axis=2) > 40
    assert 4 * 40 < lit.sum() < 4 * 2000, "four small spheres, nothing else"


def test_scalars_are_coloured_through_the_colormap(show, guarded):
    line = np.column_stack([np.linspace(8, 56, 7), np.full(7, CENTRE), np.full(7, CENTRE)])
    viewer = voxlite.view(views="3d", ui_collapsed=True)
    viewer.add_points(line, scalars=np.arange(7.0), size=5.0, cmap="hot")
    page = show(viewer)
    pixels = scene(page, "points-scalars")
    camera = camera_of(page)
    height, width, _ = pixels.shape
    ends = []
    for point in (line[1], line[-1]):
        column, row = (round(v) for v in project(camera, point, width, height))
        ends.append(pixels[row - 1 : row + 2, column - 1 : column + 2].reshape(-1, 3).mean(axis=0))
    low, high = ends
    assert high.sum() > low.sum() + 100, "the 'hot' map brightens with the scalar"


def sphere_mesh():
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=RADIUS)
    mesh.apply_translation([CENTRE, CENTRE, CENTRE])
    return mesh


def test_a_mesh_sphere_renders_as_a_disc_and_its_toggle_hides_it(show, guarded):
    viewer = voxlite.view(geometries=sphere_mesh(), views="3d", ui_collapsed=True)
    viewer.update_layer("mesh", color="#ff3030")
    page = show(viewer)
    pixels = scene(page, "mesh-sphere")
    disc = pixels.max(axis=2) > 30
    rows, columns = np.nonzero(disc)
    height, width = disc.shape
    assert abs(columns.mean() - width / 2) < 2 and abs(rows.mean() - height / 2) < 2
    camera = camera_of(page)
    distance = math.dist(camera["position"], camera["focal_point"])
    expected = math.tan(math.asin(RADIUS / distance)) / math.tan(VIEW_ANGLE / 2) * height / 2
    assert abs(math.sqrt(disc.sum() / math.pi) - expected) < 3
    red = pixels[disc]
    assert np.median(red[:, 0]) > 2 * np.median(red[:, 1]), "the mesh takes its colour"

    set_and_render(page, "layers", {"mesh": {"visible": False}})
    hidden = scene(page, "mesh-hidden")
    assert (hidden.max(axis=2) > 30).sum() < 20, "a hidden layer is not drawn"


def test_layer_checkboxes_toggle_visibility_and_report_it(show, guarded):
    viewer = voxlite.view(voxlite.data.ct_phantom((48, 48, 48)), cmap="ct-bone")
    viewer.add_points([[0.0, 0.0, 0.0]], name="origin")
    page = show(viewer)
    names = page.eval_on_selector_all("[data-layer]", "nodes => nodes.map(n => n.dataset.layer)")
    assert names == ["image", "origin"]
    before = canvas_pixels(page)
    frames = int(page.locator(".voxlite-root").get_attribute("data-voxlite-frames"))
    page.locator('[data-layer="image"]').uncheck()
    wait_for_frames(page, frames + 1)
    after = canvas_pixels(page, "layer-image-hidden")
    assert np.abs(after - before).mean() > 2, "hiding the image changes the picture"
    saved = page.evaluate("window.voxlite.saved.at(-1)")
    assert saved["layers"]["image"]["visible"] is False


def test_screenshot_equals_what_the_canvas_shows(show, guarded, tmp_path):
    viewer = voxlite.view(
        voxlite.data.ct_phantom((48, 64, 64)), cmap="ct-bone", views="3d", ui_collapsed=True
    )
    viewer.add_mesh(sphere_mesh(), opacity=0.5)
    page = show(viewer)
    page.wait_for_function("document.querySelector('.voxlite-root').dataset.voxliteReported")
    content, data = frame_sent(page)
    viewer._on_front_end_message(viewer, content, [data])  # what the comm delivers
    ARTIFACTS.mkdir(exist_ok=True)
    shot = viewer.screenshot(ARTIFACTS / "screenshot-python.png")
    shown = canvas_pixels(page, "screenshot-canvas")
    assert shot.shape == shown.shape
    panel = np.zeros(shown.shape[:2], bool)
    panel[:40, :120] = True  # the panel is HTML over the canvas, not in the picture
    assert np.abs(shot.astype(int) - shown)[~panel].mean() < 2.0
    from PIL import Image as PILImage

    assert np.array_equal(np.asarray(PILImage.open(ARTIFACTS / "screenshot-python.png")), shot)


def test_a_saved_state_restores_the_same_view(show, guarded, browser, tmp_path):
    data = voxlite.data.ct_phantom((48, 64, 64))
    viewer = voxlite.view(data, cmap="ct-bone", views="3d", ui_collapsed=True)
    viewer.add_points([[10.0, 20.0, 30.0], [40.0, 30.0, 20.0]], name="marks", size=6.0)
    page = show(viewer)
    box = page.locator(".voxlite-canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    drag(page, (x, y), (120, 60), steps=8)
    # The default camera looks along +y (x = 0); the drag turns it sideways.
    page.wait_for_function(
        "window.voxlite.saved.some((s) => s.camera && Math.abs(s.camera.position[0]) > 1)"
    )
    settled = -1
    while settled != page.evaluate("window.voxlite.saved.length"):  # the drag's last camera
        settled = page.evaluate("window.voxlite.saved.length")
        page.wait_for_timeout(1000)
    for change in page.evaluate("window.voxlite.saved"):  # the browser's edits reach Python
        viewer.set_state({key: change[key] for key in ("camera", "mode", "cmap") if key in change})
    page.evaluate("window.voxlite.model.set('mode', 'mip')")
    viewer.mode = "mip"
    page.wait_for_timeout(600)
    rotated = canvas_pixels(page, "state-before")

    saved = json.loads(json.dumps(viewer.state))
    again = voxlite.view(data, cmap="ct-bone", views="3d", ui_collapsed=True, state=None)
    again.add_points([[10.0, 20.0, 30.0], [40.0, 30.0, 20.0]], name="marks", size=6.0)
    again.state = saved
    again.save_html(tmp_path / "again.html")
    with GuardedPage(browser) as other, serving(tmp_path) as url:
        other.page.goto(f"{url}/again.html")
        wait_for_frames(other.page, 1)
        other.page.wait_for_timeout(600)
        restored = canvas_pixels(other.page, "state-restored")
    assert np.abs(restored - rotated).mean() < 2.0, "the same camera, mode and layers"


def test_gradient_opacity_fades_homogeneous_regions(show, guarded):
    page = show(
        voxlite.view(voxlite.data.ct_phantom((32, 32, 32)), cmap="ct-soft-tissue", views="3d")
    )
    still = canvas_pixels(page)
    set_and_render(page, "gradient_opacity", 0.9)
    edges = canvas_pixels(page, "gradient-opacity")
    assert np.abs(edges - still).mean() > 1.0


def test_rotate_spins_the_camera_until_stopped(show, guarded):
    page = show(voxlite.view(voxlite.data.ct_phantom((32, 32, 32)), mode="mip", views="3d"))
    still = canvas_pixels(page)
    before = int(page.locator(".voxlite-root").get_attribute("data-voxlite-frames"))
    page.evaluate("window.voxlite.model.set('rotate', true)")
    wait_for_frames(page, before + 60)  # 30 degrees
    page.evaluate("window.voxlite.model.set('rotate', false)")
    page.wait_for_timeout(1000)
    spun = canvas_pixels(page, "rotated")
    assert np.abs(spun - still).mean() > 1.0, "the camera turned"
    stopped = int(page.locator(".voxlite-root").get_attribute("data-voxlite-frames"))
    page.wait_for_timeout(1000)
    assert int(page.locator(".voxlite-root").get_attribute("data-voxlite-frames")) == stopped


def tampered_page(viewer, path, edit):
    """viewer.save_html, then ``edit(state)`` on the page's embedded state, as an attacker would."""
    viewer.save_html(path)
    text = path.read_text()
    start = text.index('<script type="application/json" id="voxlite-state">') + 51
    end = text.index("</script>", start)
    document = json.loads(text[start:end])
    edit(document["state"])
    path.write_text(text[:start] + json.dumps(document).replace("</", "<\\/") + text[end:])


HOSTILE = "<img src=http://198.51.100.7/x onerror=window.pwned=1><script>window.pwned=2</script>"


def test_a_tampered_saved_page_fails_cleanly_and_runs_nothing(browser, tmp_path):
    viewer = voxlite.view(voxlite.data.ct_phantom((32, 32, 32)))
    viewer.add_points([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]], name="marks")

    def edit(state):
        state.update(cmap=HOSTILE, mode=HOSTILE, window=1e308, level="x", slices=[1e12, -5, "x"])
        state["camera"] = {"position": "alert(1)"}
        state["layers"] = {HOSTILE: {"visible": True, "color": HOSTILE}}
        state["_geometries"][0].update(name=HOSTILE, count=10**12)  # a lying count
        state["onclick"] = HOSTILE

    tampered_page(viewer, tmp_path / "index.html", edit)
    # Errors are expected (the tampered values are refused); requests are not.
    with GuardedPage(browser) as page, serving(tmp_path) as url:
        page.page.goto(f"{url}/index.html")
        page.page.wait_for_function("document.querySelector('.voxlite-root')?.dataset.voxliteState")
        page.page.wait_for_timeout(1000)
        assert page.page.evaluate("window.pwned") is None, "nothing in the state ran"
        assert page.page.locator(".voxlite-root img, .voxlite-root script").count() == 0
        page.allow("")  # any page error: the refusals are logged
