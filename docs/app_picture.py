"""Render the README's picture of the viewer app in headless Chromium.

    .venv/bin/python -m docs.app_picture   # writes docs/images/app.png

Builds the app with its demo data, opens the MNI152 MRI and its tissue labels through
``?url=`` on a desktop (the quad layout: three slices and the volume rendering) and the
MRI alone on a phone-sized viewport (the 3D view alone, volume rendering, the metadata
sheet open), and puts the two screenshots side by side.
"""

import io
import pathlib
import tempfile

from PIL import Image as PILImage

from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS, GuardedPage
from voxlite.app import AppOptions, build_app
from voxlite.site import serving

HERE = pathlib.Path(__file__).parent

MRI = "?url=data/mni152_t1.nii.gz"
WITH_LABELS = MRI + "&url=data/mni152_tissue_labels.nii.gz"
TIMEOUT = 600_000


def screenshot(browser, url: str, viewport: tuple[int, int], phone: bool) -> PILImage.Image:
    query = MRI if phone else WITH_LABELS
    with GuardedPage(browser, viewport=viewport, bypass_csp=False) as guarded:
        page = guarded.page
        page.goto(f"{url}/index.html{query}")
        page.locator("body[data-opened='1']").wait_for(state="attached", timeout=TIMEOUT)
        if phone:
            page.evaluate(
                "window.voxliteApp.model.set('views', '3d'); window.voxliteApp.model.save_changes()"
            )
            page.locator("#toggle-side").click()  # the metadata sheet
        page.wait_for_timeout(2000)
        page.locator(".voxlite-root[data-voxlite-quality=full]").wait_for(
            state="attached", timeout=TIMEOUT
        )
        page.wait_for_timeout(1000)
        png = page.screenshot(timeout=TIMEOUT)
        return PILImage.open(io.BytesIO(png)).convert("RGB")


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        app = build_app(AppOptions(output=pathlib.Path(scratch) / "app"), log=lambda line: None)
        with sync_playwright() as playwright, serving(app.output) as url:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            desktop = screenshot(browser, url, (1280, 800), phone=False)
            phone = screenshot(browser, url, (390, 800), phone=True)
            browser.close()
    gap = 24
    picture = PILImage.new("RGB", (desktop.width + gap + phone.width, 800), "white")
    picture.paste(desktop, (0, 0))
    picture.paste(phone, (desktop.width + gap, 0))
    out = HERE / "images" / "app.png"
    picture.save(out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
