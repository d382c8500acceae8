"""Render docs/tf-and-crop.md's picture with the real widget in headless Chromium.

    .venv/bin/python -m docs.tf_crop_pictures      # docs/images/tf-and-crop.png

The MNI152 brain in the quad layout with the transfer-function editor open in the panel
(opacity points that hide the skin and keep the brain), the front half cropped away so
that the 3D view looks inside, the 2D views dimmed outside the box, and the Crop tool on:
its handles on the box's faces. Served on 127.0.0.1 from the viewer's saved page.
"""

import sys

import voxlite
from docs.pictures import oblique_camera, render, save
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS
from voxlite.viewmodel import physical_bounds


def cropped_brain() -> voxlite.Viewer:
    """The brain with its own opacity points and the front (anterior) half cropped away."""
    mri = voxlite.data.mri()
    low, high = physical_bounds(mri)
    front = (low[1] + high[1]) / 2 - 10  # LPS: +y is posterior; keep behind this plane
    return voxlite.view(
        mri,
        cmap="mr",
        opacity_points=[[0, 0], [70, 0], [120, 0.15], [190, 0.9], [255, 1]],
        crop={"min": [low[0], front, low[2]], "max": high},
        camera=oblique_camera(mri, (-0.6, -1, 0.5), 520),
        slices=[98, 120, 104],
        height=700,
    )


def main(names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def crop_tool(page):
            page.click("[data-control=crop-tool]")

        save(render(cropped_brain(), browser, (1200, 720), crop_tool), "tf-and-crop.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
