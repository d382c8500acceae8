"""Render the README's pictures with the real widget in headless Chromium.

    .venv/bin/python -m docs.pictures            # demo.png, views.png, layers.png, multiscale.png
    .venv/bin/python -m docs.pictures views      # some of them: demo, views, layers, multiscale

Renders each viewer's standalone page (Viewer.save_html): the same bundle, state
and buffers as in a notebook, served on 127.0.0.1; the pictures of the 2D views move the
mouse over the grey matter (the readout names it), and one draws a ruler.
"""

import io
import pathlib
import sys
import tempfile

import numpy as np
from PIL import Image as PILImage

import voxlite
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS, GuardedPage, wait_for_frames
from voxlite.site import serving

HERE = pathlib.Path(__file__).parent


def oblique_camera(image: voxlite.Image, direction, distance: float) -> dict:
    centre = image.index_to_physical(np.subtract(image.size, 1) / 2)
    unit = np.asarray(direction, float) / np.linalg.norm(direction)
    return {
        "position": (centre + distance * unit).tolist(),
        "focal_point": centre.tolist(),
        "view_up": [0, 0, 1],
    }


def brain() -> voxlite.Viewer:
    """The MNI152 brain and its tissue labels in the quad layout, the crosshair off centre."""
    return voxlite.view(
        voxlite.data.mri(),
        voxlite.data.mri_tissue_labels(),
        cmap="mr",
        label_opacity=0.35,
        slices=[118, 140, 104],
    )


def grey_matter_point(viewer: voxlite.Viewer) -> list[float]:
    """A grey-matter voxel on the axial slice shown, in the frontal cortex (LPS mm)."""
    k = viewer.slices[2]
    rows, columns = np.nonzero(viewer.label_image.array[k] == 1)
    anterior = rows < np.percentile(rows, 25)
    index = int(np.argmax(columns * anterior))  # the largest i there
    return viewer.image.index_to_physical([columns[index], rows[index], k]).tolist()


def pixel_of(page, view: str, point) -> tuple[float, float]:
    """The page position of a physical point in a 2D view (the viewer's own mapping)."""
    return tuple(
        page.evaluate(
            """([name, point]) => {
                const viewer = document.querySelector('.voxlite-root').voxliteViewer;
                const view = viewer.views.find((v) => v.name === name);
                const box = view.host.getBoundingClientRect();
                const [x, y] = view.scene.toPixel(point);
                return [box.left + x, box.top + y];
            }""",
            [view, point],
        )
    )


def hover_grey_matter(viewer: voxlite.Viewer):
    point = grey_matter_point(viewer)
    return lambda page: page.mouse.move(*pixel_of(page, "axial", point))


def with_ruler(viewer: voxlite.Viewer):
    """Measure the brain's width in the coronal view, then hover the grey matter."""
    j = viewer.slices[1]
    ends = [viewer.image.index_to_physical([i, j, 60]).tolist() for i in (40, 156)]
    hover = hover_grey_matter(viewer)

    def act(page):
        page.click("[data-control=ruler]")
        start, end = (pixel_of(page, "coronal", p) for p in ends)
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*end, steps=10)
        page.mouse.up()
        page.click("[data-control=ruler]")
        hover(page)

    return act


def layers_view() -> voxlite.Viewer:
    """CT + kidney label map + lumen surface + centre-line points, all in one view."""
    ct = voxlite.data.ct_phantom((160, 140, 140))
    denoised = ct.array.astype(np.float32)
    kidneys = ((denoised > 110) & (denoised < 200)).astype(np.uint8)
    viewer = voxlite.view(
        ct,
        ct.replace(array=kidneys),
        cmap="ct-bone",
        label_opacity=0.8,
        label_colors={1: "#e8a33d"},
        camera=oblique_camera(ct, (0.7, -1, 0.35), 420),
        views="3d",
    )
    lumen = ct.replace(array=((denoised > 250) & (denoised < 450)).astype(np.uint8))
    viewer.add_surface(lumen, name="lumen", color="#ff4040", opacity=0.4)
    heights = np.linspace(60, -40, 11)
    viewer.add_points(
        np.column_stack([np.full(11, 12.0), np.full(11, -8.0), heights]),
        name="centre line",
        scalars=heights,
        cmap="viridis",
        size=6.0,
    )
    return viewer


def multiscale_views() -> list[voxlite.Viewer]:
    """A CT over the texture budget: its preview, its refined level, its full-resolution slices.

    Outside a kernel the level is computed at once, so the preview tile puts the
    preview back by hand.
    """
    from voxlite.display import image_payload
    from voxlite.multiscale import levels_of

    ct = voxlite.data.ct_phantom((400, 256, 256))  # 26 M voxels: over the 16.7 M budget
    camera = oblique_camera(ct, (0.55, -1, 0.2), 430)
    preview, refined = (
        voxlite.view(ct, cmap="ct-bone", camera=camera, views="3d") for _ in range(2)
    )
    level = levels_of(ct).preview(preview.max_voxels)
    preview._image = image_payload(level, ct, "preview", preview._image["serial"])
    slices = voxlite.view(
        ct, cmap="ct-soft-tissue", mode="slices", slices=[128, 150, 200], views="3d"
    )
    return [preview, refined, slices]


def save_sheet(tiles: list[PILImage.Image], path: pathlib.Path) -> None:
    width = sum(tile.width for tile in tiles) + 8 * (len(tiles) - 1)
    sheet = PILImage.new("RGB", (width, tiles[0].height), "white")
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width + 8
    sheet.save(path, optimize=True)
    print(f"wrote {path} ({sheet.width}x{sheet.height})")


def render(viewer: voxlite.Viewer, browser, viewport=(900, 700), act=None) -> PILImage.Image:
    """The viewer's saved page in a browser window of `viewport`, after `act(page)`."""
    with tempfile.TemporaryDirectory() as folder:
        viewer.save_html(pathlib.Path(folder) / "index.html")
        with serving(pathlib.Path(folder)) as url, GuardedPage(browser, viewport) as guarded:
            page = guarded.page
            page.goto(f"{url}/index.html")
            wait_for_frames(page, 1)
            if act:
                act(page)
            page.wait_for_function(  # the settled, full-quality picture
                "() => document.querySelector('.voxlite-root').dataset.voxliteReported",
                timeout=180_000,
            )
            page.wait_for_timeout(500)
            png = page.locator(".voxlite-root").screenshot(timeout=180_000)
    return PILImage.open(io.BytesIO(png)).convert("RGB")


def save(picture: PILImage.Image, name: str) -> None:
    path = HERE / "images" / name
    picture.save(path, optimize=True)
    print(f"wrote {path} ({picture.width}x{picture.height})")


def main(names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    names = names or ["demo", "views", "layers", "multiscale"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if "demo" in names:  # a notebook's width
            viewer = brain()
            save(render(viewer, browser, (1000, 560), hover_grey_matter(viewer)), "demo.png")
        if "views" in names:  # a full window
            viewer = brain()
            viewer.height = 760
            save(render(viewer, browser, (1400, 780), with_ruler(viewer)), "views.png")
        if "layers" in names:
            save(render(layers_view(), browser), "layers.png")
        if "multiscale" in names:
            save_sheet(
                [render(v, browser) for v in multiscale_views()],
                HERE / "images" / "multiscale.png",
            )
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
