"""Render the README's pictures with the real widget in headless Chromium.

    .venv/bin/python -m docs.pictures   # writes docs/images/demo.png, layers.png, multiscale.png

Renders each viewer's standalone page (Viewer.save_html): the same bundle, state
and buffers as in a notebook, served on 127.0.0.1.
"""

import io
import pathlib
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


def views() -> list[voxlite.Viewer]:
    ct = voxlite.data.ct_phantom((160, 140, 140))
    mri, labels = voxlite.data.mri(), voxlite.data.mri_tissue_labels()
    return [
        voxlite.view(ct, cmap="ct-bone", camera=oblique_camera(ct, (0.55, -1, 0.2), 430)),
        voxlite.view(
            mri, cmap="mr", ui_collapsed=True, camera=oblique_camera(mri, (-0.8, -1, 0.5), 420)
        ),
        voxlite.view(
            mri,
            labels,
            cmap="mr",
            mode="slices",
            label_opacity=0.35,
            ui_collapsed=True,
            camera=oblique_camera(mri, (-1, -0.8, 0.35), 520),
        ),
    ]


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
    from voxlite.multiscale import levels_of

    ct = voxlite.data.ct_phantom((400, 256, 256))  # 26 M voxels: over the 16.7 M budget
    camera = oblique_camera(ct, (0.55, -1, 0.2), 430)
    preview, refined = (voxlite.view(ct, cmap="ct-bone", camera=camera) for _ in range(2))
    level = levels_of(ct).preview(preview.max_voxels)
    preview._image = preview._image_payload(level, ct, "preview", preview._serial)
    slices = voxlite.view(ct, cmap="ct-soft-tissue", mode="slices", slices=[128, 150, 200])
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


def render(viewer: voxlite.Viewer, browser) -> PILImage.Image:
    with tempfile.TemporaryDirectory() as folder:
        viewer.save_html(pathlib.Path(folder) / "index.html")
        with serving(pathlib.Path(folder)) as url, GuardedPage(browser) as guarded:
            guarded.page.goto(f"{url}/index.html")
            wait_for_frames(guarded.page, 1)
            guarded.page.wait_for_timeout(500)
            png = guarded.page.locator(".voxlite-root").screenshot(timeout=180_000)
    return PILImage.open(io.BytesIO(png)).convert("RGB")


def main() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        save_sheet([render(v, browser) for v in views()], HERE / "images" / "demo.png")
        render(layers_view(), browser).save(HERE / "images" / "layers.png", optimize=True)
        save_sheet(
            [render(v, browser) for v in multiscale_views()], HERE / "images" / "multiscale.png"
        )
        browser.close()


if __name__ == "__main__":
    main()
