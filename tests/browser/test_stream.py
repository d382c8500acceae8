"""OME-Zarr streamed by the front end from a URL (js/src/stream/), in Chromium.

The images are written by ngff-zarr (zarr v2 / NGFF 0.4 and zarr v3 / NGFF 0.5, in each
codec) and served on 127.0.0.1 by a threaded server with HTTP Range; the page is the
saved page of a streaming viewer (its Content-Security-Policy allows the stream)."""

from __future__ import annotations

import pathlib
import time

import numpy as np
import pytest

import voxlite
from tests import stream_data
from tests.harness.browser import GuardedPage, canvas_pixels
from tests.harness.ranged import ranged

pytestmark = [pytest.mark.browser]
pytest.importorskip("ngff_zarr")

ROOT = ".voxlite-root"


def attribute(page, name: str) -> str | None:
    return page.locator(ROOT).first.get_attribute(f"data-voxlite-{name}")


def wait_for(page, condition, what: str, timeout: float = 60.0) -> None:
    """Poll the widget's attributes from Python (works under the page's CSP too)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if attribute(page, "state") == "error" and "error" not in what:
            raise AssertionError(page.locator(".voxlite-message").first.text_content())
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def open_page(page, folder: pathlib.Path, server, url: str, **options) -> None:
    """Save a viewer streaming ``url`` into ``folder`` (served by ``server``) and open it."""
    viewer = voxlite.Viewer(ui_collapsed=True, **options)
    viewer.open_stream(url)
    viewer.save_html(folder / "index.html")
    page.goto(f"{server.url}/index.html")


def stream_info(page) -> dict:
    page.wait_for_function("Object.keys(window.voxlite.model.get('_stream_info') || {}).length")
    return page.evaluate("window.voxlite.model.get('_stream_info')")


@pytest.fixture
def data(tmp_path):
    stream_data.write(tmp_path, "a")
    return tmp_path


def test_the_coarse_level_comes_first_then_the_finest_and_the_geometry_is_cpythons(
    guarded: GuardedPage, data
):
    with ranged(data, delay=1.0) as server:
        server.slow = "scale0"  # the finest level takes a while: the coarse one shows first
        open_page(guarded.page, data, server, "a.ome.zarr", views="3d", mode="mip")
        page = guarded.page
        wait_for(page, lambda: attribute(page, "level") == "preview", "the coarsest level")
        page.wait_for_timeout(300)
        coarse = canvas_pixels(page, "stream-coarse")
        assert server.requests("/a.ome.zarr/scale0/") == [] or attribute(page, "level") == "preview"
        wait_for(page, lambda: attribute(page, "level") == "full", "level 0")
        page.wait_for_timeout(300)
        fine = canvas_pixels(page, "stream-fine")
        info = stream_info(page)
    assert coarse.max() > 60 and fine.max() > 60, "both pictures show the image"
    assert np.abs(coarse - fine).mean() > 1, "the finest level shows more (the stripes)"
    assert len(server.requests("/a.ome.zarr/scale2/")) == 1  # the coarsest level: one chunk
    image = voxlite.read_image(data / "a.ome.zarr")
    assert info["shape"] == list(image.shape)
    spacing = np.asarray(image.spacing)
    assert np.allclose(info["spacing"], spacing)
    assert np.all(np.abs(np.subtract(info["origin"], image.origin)) <= spacing / 2)
    assert info["unit"] == "mm" and info["dtype"] == "uint16" and len(info["levels"]) == 3
    # The view model takes that geometry as its image's.
    model = voxlite.viewmodel.ViewModel()
    model.open_stream(info["url"])
    model._stream_info = {**info, "serial": model._stream["serial"]}
    assert model.image.shape == image.shape and model.image.spacing == image.spacing
    assert model.slices == [n // 2 for n in image.size]
    assert model.window == info["default_window"][0]
