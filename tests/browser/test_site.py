"""The offline zero-server site, end to end: built, served on 127.0.0.1, run in Chromium."""

import numpy as np
import pytest
from pages import GuardedPage, canvas_pixels, wait_for_frames

from voxlite.site import SiteOptions, build_site, find_outside_urls, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def offline_site(tmp_path_factory):
    output = tmp_path_factory.mktemp("site") / "_output"
    report = build_site(SiteOptions(output=output), log=lambda line: None)
    assert report.total_bytes > 0
    return output


def test_offline_site_names_no_other_origin(offline_site):
    assert find_outside_urls(offline_site) == []


def test_hello3dworld_renders_with_zero_outside_requests(offline_site, browser):
    guarded = GuardedPage(browser, viewport=(1280, 1000))
    page = guarded.page
    try:
        with serving(offline_site) as url:
            page.goto(f"{url}/lab/index.html?path=Hello3DWorld.ipynb")
            page.wait_for_function(
                """() => {
                    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                    const kernel = widget && widget.sessionContext
                        && widget.sessionContext.session && widget.sessionContext.session.kernel;
                    return kernel && kernel.status === 'idle';
                }""",
                timeout=180_000,
            )
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            ct = page.locator(".voxlite-root").first
            ct.wait_for(timeout=180_000)
            wait_for_frames(page, 1)
            page.wait_for_function(
                "() => document.querySelectorAll('.voxlite-root').length >= 2",
                timeout=180_000,
            )
            ct.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            first = canvas_pixels(page, "site-ct")
            assert (first.max(axis=2) > 60).sum() > 2000, "the CT phantom is rendered"

            # A change in the widget's own panel re-renders with other colours.
            frames = int(ct.get_attribute("data-voxlite-frames"))
            ct.locator("[data-control=cmap]").select_option("hot")
            wait_for_frames(page, frames + 1)
            page.wait_for_timeout(500)
            recoloured = canvas_pixels(page, "site-ct-hot")
            assert np.abs(recoloured - first).mean() > 1.0

            brain = page.locator(".voxlite-root").nth(1)
            brain.scroll_into_view_if_needed()
            page.wait_for_function(
                "() => Number(document.querySelectorAll('.voxlite-root')[1]"
                "?.dataset.voxliteFrames || 0) >= 1",
                timeout=120_000,
            )
            page.wait_for_timeout(1000)
            pixels = canvas_pixels(page, "site-mri", selector=".voxlite-canvas >> nth=1")
            assert (pixels.max(axis=2) > 40).sum() > 3000, "the MNI brain is rendered"
        guarded.check_clean()
    finally:
        guarded.close()
