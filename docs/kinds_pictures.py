"""Render docs/kinds.md's pictures with the real widget in headless Chromium.

    .venv/bin/python -m docs.kinds_pictures             # colour, channels, time, compare
    .venv/bin/python -m docs.kinds_pictures time        # some of them

Colour, channels and compare are rendered from the saved page (as docs/pictures.py does);
the time series from the live page of the tests (tests/harness/live.py), since a saved page
holds one time point and no time bar. Every image is made here, by code.
"""

import io
import pathlib
import sys
import tempfile

import numpy as np
from PIL import Image as PILImage

import voxlite
from docs.pictures import render, save, save_sheet
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS, GuardedPage
from tests.harness.live import live_page
from voxlite.viewmodel import ViewModel


def stained_section(height=300, width=420, seed=0) -> voxlite.Image:
    """A 2D colour picture like an H&E-stained slide: pink tissue, purple nuclei, 0.5 µm pixels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    tissue = np.sin(x / 37.0) + np.cos(y / 23.0) + 0.3 * rng.standard_normal((height, width))
    rgb = np.empty((height, width, 3), np.float32)
    rgb[...] = (238, 190, 214)
    rgb -= (tissue > 0.8)[..., None] * np.float32((40, 70, 30))
    for cy, cx, r in zip(
        rng.uniform(0, height, 140), rng.uniform(0, width, 140), rng.uniform(4, 9, 140), strict=True
    ):
        inside = (y - cy) ** 2 + ((x - cx) * 0.8) ** 2 < r**2
        rgb[inside] = np.add((95, 60, 150), rng.normal(0, 8, 3))
    rgb = np.clip(rgb + rng.normal(0, 2, rgb.shape), 0, 255).astype(np.uint8)
    return voxlite.Image(
        rgb, spacing=(0.0005, 0.0005), pixel="rgb", name="stained section (made by code)"
    )


def cells(n=64, seed=1) -> voxlite.Image:
    """Three channels of a cell culture: nuclei, membranes and spots, each its own range."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices((n // 2, n, n))
    nuclei, membranes, spots = (np.zeros(z.shape, np.float32) for _ in range(3))
    for _ in range(9):
        cz, cy, cx = rng.uniform(6, n // 2 - 6), rng.uniform(10, n - 10), rng.uniform(10, n - 10)
        d = np.sqrt(((z - cz) * 2) ** 2 + (y - cy) ** 2 + (x - cx) ** 2)
        nuclei += 3000 * (d < 5)
        membranes += 800 * (np.abs(d - 9) < 1.2)
        for _ in range(3):
            sz, sy, sx = np.add((cz, cy, cx), rng.normal(0, 5, 3))
            spots += 900 * np.exp(-(((z - sz) * 2) ** 2 + (y - sy) ** 2 + (x - sx) ** 2) / 4)
    array = np.stack([nuclei, membranes, spots], axis=-1) + rng.normal(20, 5, (*z.shape, 3))
    return voxlite.Image(
        array.astype(np.float32),
        spacing=(0.4, 0.4, 0.8),
        pixel="channels",
        channel_names=("nuclei", "membranes", "spots"),
        name="cells (made by code)",
    )


def beating(frames=12, n=48) -> voxlite.Image:
    """A time series: a sphere that swells and shrinks (a beating chamber), 12 time points."""
    z, y, x = np.indices((n, n, n)) - (n - 1) / 2
    radius = 9 + 5 * np.sin(np.linspace(0, 2 * np.pi, frames, endpoint=False))
    r = np.sqrt(z**2 + y**2 + x**2)
    series = np.stack([600.0 * (r < rt) + 200.0 * (np.abs(r - rt - 3) < 1.5) for rt in radius])
    return voxlite.Image(series.astype(np.float32), spacing=(1.5, 1.5, 1.5), timeseries=True)


def compared() -> list[voxlite.Viewer]:
    """The MNI brain against itself moved 4 mm right and 3 mm up: checkerboard, green-magenta."""
    fixed = voxlite.data.mri()
    moving = fixed.replace(origin=tuple(np.add(fixed.origin, (-4.0, 0.0, 3.0))), name="moved")
    return [
        voxlite.compare(fixed, moving, method, checker=16, views="axial", cmap="grayscale")
        for method in ("checkerboard", "green-magenta")
    ]


def render_live(model: ViewModel, browser, viewport, act) -> PILImage.Image:
    """The view model's widget in the live page, after `act(page)`."""
    with (
        tempfile.TemporaryDirectory() as folder,
        GuardedPage(browser, viewport) as guarded,
        live_page(guarded, model, pathlib.Path(folder)) as (page, _),
    ):
        act(page)
        page.wait_for_function(
            "() => document.querySelector('.voxlite-root').dataset.voxliteReported",
            timeout=180_000,
        )
        page.wait_for_timeout(500)
        png = page.locator(".voxlite-root").screenshot(timeout=180_000)
    return PILImage.open(io.BytesIO(png)).convert("RGB")


def main(names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    names = names or ["colour", "channels", "time", "compare"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if "colour" in names:
            save(render(voxlite.view(stained_section()), browser, (900, 500)), "kinds-colour.png")
        if "channels" in names:
            viewer = voxlite.view(cells(), height=560)
            # Each channel's ramp from above the background's noise to its bright parts.
            tops, opacities = (2500, 900, 500), (1.0, 0.35, 1.0)
            viewer.channels = [
                {**channel, "window": top - 60, "level": (top + 60) / 2, "opacity": opacity}
                for channel, top, opacity in zip(viewer.channels, tops, opacities, strict=True)
            ]
            save(render(viewer, browser, (1000, 580)), "kinds-channels.png")
        if "time" in names:
            model = ViewModel(beating(), views="row", cmap="hot", window=800, level=400, height=360)

            def to_time_point(page):
                page.locator("[data-control=time]").fill("3")
                page.wait_for_function("window.voxlite.model.get('time') === 3")

            save(render_live(model, browser, (1100, 380), to_time_point), "kinds-time.png")
        if "compare" in names:
            tiles = [render(viewer, browser, (720, 440)) for viewer in compared()]
            save_sheet(tiles, pathlib.Path(__file__).parent / "images" / "kinds-compare.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
