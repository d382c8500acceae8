"""OME-Zarr streamed by the front end from a URL (js/src/stream/), in Chromium.

The images are written by ngff-zarr (zarr v2 / NGFF 0.4 and zarr v3 / NGFF 0.5, in each
codec) and served on 127.0.0.1 by a threaded server with HTTP Range; the page is the
saved page of a streaming viewer (its Content-Security-Policy allows the stream)."""

from __future__ import annotations

import gzip
import json
import pathlib
import shutil
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
    page.wait_for_function(  # until the page's module has run, window.voxlite is its <div>
        "window.voxlite?.model"
        " && Object.keys(window.voxlite.model.get('_stream_info') || {}).length"
    )
    return page.evaluate("window.voxlite.model.get('_stream_info')")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    stream_data.write(folder, "a")
    return folder


@pytest.fixture
def data(written, tmp_path):
    """A copy of the written image for each test (tests break chunks)."""
    shutil.copytree(written, tmp_path, dirs_exist_ok=True)
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
        # The panel reads the stream's image too (slice sliders over its grid, a range).
        slice_z = page.locator("input[data-control='slice-z']").first.get_attribute("max")
    assert coarse.max() > 60 and fine.max() > 60, "both pictures show the image"
    assert np.abs(coarse - fine).mean() > 1, "the finest level shows more (the stripes)"
    assert len(server.requests("/a.ome.zarr/scale2/")) == 1  # the coarsest level: one chunk
    image = voxlite.read_image(data / "a.ome.zarr")
    assert info["shape"] == list(image.shape)
    spacing = np.asarray(image.spacing)
    assert np.allclose(info["spacing"], spacing)
    assert np.all(np.abs(np.subtract(info["origin"], image.origin)) <= spacing / 2)
    assert info["unit"] == "mm" and info["dtype"] == "uint16" and len(info["levels"]) == 3
    assert slice_z == str(image.shape[0] - 1), "the panel's Z slider spans the stream's slices"
    # The view model takes that geometry as its image's.
    model = voxlite.viewmodel.ViewModel()
    model.open_stream(info["url"])
    model._stream_info = {**info, "serial": model._stream["serial"]}
    assert model.image.shape == image.shape and model.image.spacing == image.spacing
    assert model.slices == [n // 2 for n in image.size]
    assert model.window == info["default_window"][0]


def level0_chunks(server, name: str = "a", z_chunk: int | None = None) -> list[str]:
    """Chunk requests of level 0 (``scale0/<name>/z/y/x`` in zarr v2), in one z row if told."""
    found = server.requests(f"/{name}.ome.zarr/scale0/{name}/")
    return [p for p in found if z_chunk is None or p.split("/")[-3] == str(z_chunk)]


def test_a_2d_view_fetches_the_chunks_of_its_slice_not_of_the_level(guarded: GuardedPage, data):
    with ranged(data) as server:
        open_page(guarded.page, data, server, "a.ome.zarr", views="axial", slices=[0, 0, 20])
        page = guarded.page
        wait_for(page, lambda: attribute(page, "stream-planes") == "2:20:0", "the axial plane")
        needed = (stream_data.SHAPE[1] // 16) * (stream_data.SHAPE[2] // 16)
        level = needed * (stream_data.SHAPE[0] // 16)
        assert len(level0_chunks(server)) == needed < level
        files = [data / p.lstrip("/") for p in server.requests("/a.ome.zarr/", chunks_only=False)]
        served = sum(f.stat().st_size if f.is_file() else len(b"not found") for f in files)
        assert int(attribute(page, "stream-bytes")) == served  # what the benchmark reads
        assert {p.split("/")[-3] for p in level0_chunks(server)} == {"1"}  # z 20: chunk row 1
        pixels = canvas_pixels(page, "stream-axial")
    assert pixels.max() > 60


def test_moving_on_cancels_the_requests_of_the_slice_left(guarded: GuardedPage, data):
    with ranged(data, delay=0.6) as server:
        server.slow = "scale0"
        open_page(guarded.page, data, server, "a.ome.zarr", views="axial", slices=[0, 0, 2])
        page = guarded.page
        wait_for(page, lambda: len(level0_chunks(server)) >= 6, "the first fetches")
        page.evaluate("window.voxlite.model.set('slices', [0, 0, 30])")
        wait_for(page, lambda: attribute(page, "stream-planes") == "2:30:0", "the plane at 30")
        left = len(level0_chunks(server, z_chunk=0))
        needed = (stream_data.SHAPE[1] // 16) * (stream_data.SHAPE[2] // 16)
        assert left < needed, "the queued chunks of slice 2 were never fetched"
        assert int(attribute(page, "stream-cancelled")) >= needed - left
        assert len(level0_chunks(server, z_chunk=1)) == needed


def test_the_channel_shown_opens_with_its_omero_window_and_is_named(guarded: GuardedPage, tmp_path):
    stream_data.write_channels(tmp_path, "cells", windows=[(300, 900), (0, 100)])
    page = guarded.page
    with ranged(tmp_path) as server:
        open_page(page, tmp_path, server, "cells.ome.zarr", views="axial")
        info = stream_info(page)
        window, level = page.evaluate(
            "[window.voxlite.model.get('window'), window.voxlite.model.get('level')]"
        )
    assert (window, level) == (600, 600)  # DAPI's start..end, not the voxels' percentiles
    assert info["default_window"] == [600, 600]
    assert info["name"].endswith("(channel 1 of 2: DAPI)"), info["name"]
    assert info["shape"] == list(stream_data.SHAPE)


def error_text(page) -> str:
    wait_for(page, lambda: attribute(page, "state") == "error", "an error")
    return page.locator(".voxlite-message").first.text_content()


def test_errors_name_the_url_and_the_cause(guarded: GuardedPage, data, tmp_path):
    guarded.allow("voxlite:", "Failed to load resource", "CORS policy")
    page = guarded.page
    chunk = data / "a.ome.zarr" / "scale2" / "a" / "0" / "0" / "0"
    with ranged(data) as server:
        open_page(page, data, server, "nothing.ome.zarr")
        text = error_text(page)
        assert f"{server.url}/nothing.ome.zarr" in text and "404" in text, text

        stream_data.write(data, "z", codec="zstd")  # (Blosc has no checksum to fail)
        corrupt = data / "z.ome.zarr" / "scale2" / "z" / "0" / "0" / "0"
        corrupt.write_bytes(corrupt.read_bytes()[:6] + bytes(range(256)) * 4)
        open_page(page, data, server, "z.ome.zarr", views="3d")
        text = error_text(page)
        assert "corrupt" in text and f"{server.url}/z.ome.zarr/scale2/z/0/0/0" in text, text

        original = chunk.read_bytes()
        chunk.unlink()  # a missing chunk is the fill value, and said so
        open_page(page, data, server, "a.ome.zarr", views="3d")
        wait_for(page, lambda: attribute(page, "stream-missing") == "1", "the missing chunk")
        assert "fill value 0" in page.locator(".voxlite-message").first.text_content()
        assert attribute(page, "state") != "error"

        chunk.write_bytes(b"\x02\x01garbage" * 20)  # a Blosc header that claims 1.7 GB
        open_page(page, data, server, "a.ome.zarr", views="3d")
        text = error_text(page)
        assert "blosc says the chunk decodes to 1734435442 bytes" in text, text
        chunk.write_bytes(original)

        stream_data.write(data, "g", codec="gzip")  # gzip states no size: inflated, counted
        bomb = data / "g.ome.zarr" / "scale2" / "g" / "0" / "0" / "0"
        bomb.write_bytes(gzip.compress(bytes(64 << 20), compresslevel=9))  # 64 MiB in 64 kB
        open_page(page, data, server, "g.ome.zarr", views="3d")
        text = error_text(page)
        assert "gzip chunk decodes to more than the" in text and "g.ome.zarr" in text, text

        other = tmp_path / "other"
        other.mkdir()
        stream_data.write(other, "a")
        with ranged(other, cors=False) as elsewhere:
            open_page(page, data, server, f"{elsewhere.url}/a.ome.zarr")
            text = error_text(page)
        assert "Access-Control-Allow-Origin" in text and elsewhere.url in text, text
        assert "CORS" in text

        stream_data.write_with_zarr(other, "bz", "bz2")
        with ranged(other) as elsewhere:
            open_page(page, data, server, f"{elsewhere.url}/bz.ome.zarr", views="3d")
            text = error_text(page)
        assert "unsupported codec" in text and "bz2" in text, text


CODECS = [
    *(("0.4", codec, None) for codec in ("blosc", "zstd", "gzip")),
    *(("zarr", codec, None) for codec in ("lz4", "zlib")),  # zarr-python itself writes these
    *(("0.5", codec, None) for codec in ("blosc", "zstd", "gzip")),
    ("0.5", "zstd", 2),  # zarr v3 sharding: 2³ chunks a shard, read by HTTP Range
]


@pytest.mark.slow
def test_every_codec_and_format_streams_the_voxels_the_writer_wrote(guarded: GuardedPage, tmp_path):
    names = []
    for n, (version, codec, shards) in enumerate(CODECS):
        names.append(f"c{n}")
        if version == "zarr":
            stream_data.write_with_zarr(tmp_path, names[-1], codec)
        else:
            stream_data.write(tmp_path, names[-1], codec=codec, version=version, shards=shards)
    expected = stream_data.volume()
    page = guarded.page
    with ranged(tmp_path) as server:
        open_page(page, tmp_path, server, f"{names[0]}.ome.zarr", views="3d", mode="slices")
        for serial, name in enumerate(names, start=100):
            url = f"{server.url}/{name}.ome.zarr"
            if serial > 100:
                page.evaluate(
                    "([url, serial]) => window.voxlite.model.set('_stream', "
                    "{...window.voxlite.model.get('_stream'), url, serial})",
                    [url, serial],
                )
            page.wait_for_function(
                """(url) => {
                    const root = document.querySelector('.voxlite-root');
                    if (root?.dataset.voxliteState === 'error')
                        throw new Error(document.querySelector('.voxlite-message').textContent);
                    const stream = root?.voxliteViewer?.stream;
                    return stream?.url === url && stream.volumeLevel === 0;
                }""",
                arg=url,
            )
            checksum = page.evaluate(
                """() => {
                    const root = document.querySelector('.voxlite-root');
                    const { data: d } = root.voxliteViewer.stream.volume;
                    const values = new Uint16Array(d.buffer, d.byteOffset, d.byteLength >> 1);
                    let sum = 0;
                    for (let i = 0; i < values.length; i += 1) sum += values[i] * ((i % 1009) + 1);
                    return [values.length, sum];
                }"""
            )
            weights = np.arange(expected.size) % 1009 + 1
            assert checksum == [expected.size, int((expected.ravel() * weights).sum())], name
    assert len(server.requests("/c8.ome.zarr/scale0/c8/c/")) > 0  # shards read by range


def test_a_saved_page_streams_under_its_content_security_policy(browser, data):
    """numcodecs' WebAssembly (Blosc here) runs in the worker under the saved page's policy."""
    with GuardedPage(browser, bypass_csp=False) as guarded, ranged(data) as server:
        open_page(guarded.page, data, server, "a.ome.zarr", views="3d")
        page = guarded.page
        wait_for(page, lambda: attribute(page, "level") == "full", "level 0 under the policy")
        policy = page.locator("meta[http-equiv]").get_attribute("content")
    assert "'unsafe-eval'" in policy and "connect-src 'self'" in policy


@pytest.mark.slow
def test_the_app_streams_url_zarr_and_python_in_the_page_takes_its_geometry(
    browser, written, tmp_path
):
    from tests.browser.test_app import OPEN_TIMEOUT, app_page, wait_ready
    from voxlite.app import AppOptions, build_app

    output = tmp_path / "app"
    options = AppOptions(output=output, files=[written / "a.ome.zarr"], demo=False)
    build_app(options, log=lambda line: None)
    assert (output / "data" / "a.ome.zarr" / ".zattrs").is_file()  # zarr v2's dotfiles too
    with app_page(output, browser, "?url=data/a.ome.zarr") as page:
        wait_ready(page)
        page.locator(".voxlite-root[data-voxlite-level=full]").wait_for(
            state="attached", timeout=OPEN_TIMEOUT
        )
        # Python (Pyodide, in the app's worker) took the geometry: it moved the slices
        # to the middle and sent them back.
        middle = [n // 2 for n in reversed(stream_data.SHAPE)]
        page.wait_for_function(
            "(middle) => JSON.stringify(window.voxliteApp.model.get('slices')) === "
            "JSON.stringify(middle)",
            arg=middle,
            timeout=OPEN_TIMEOUT,
        )
        pixels = canvas_pixels(page, "stream-app")
    assert pixels.max() > 60


def test_zoomed_in_a_2d_view_fetches_the_finer_chunks_in_view_only(browser, tmp_path):
    """512² slices in 64² chunks: the whole view at level 1 (its pixels are 2 mm), then
    zoomed in 4 times, level 0 for the part in view, the coarse level around it."""
    _, y, x = np.mgrid[:8, :512, :512]
    array = (100 + (x % 8 < 4) * 1000 + y).astype(np.uint16)
    path = tmp_path / "big.ome.zarr"
    import ngff_zarr

    image = ngff_zarr.to_ngff_image(array, dims=["z", "y", "x"], name="big")
    multiscales = ngff_zarr.to_multiscales(image, scale_factors=[2, 4], chunks=64)
    ngff_zarr.to_ngff_zarr(path, multiscales, version="0.4")
    with (
        GuardedPage(browser, viewport=(420, 300)) as guarded,
        ranged(tmp_path) as server,
    ):
        page = guarded.page
        open_page(page, tmp_path, server, "big.ome.zarr", views="axial", height=240)
        wait_for(page, lambda: attribute(page, "stream-planes") == "2:0:1", "level 1")
        assert server.requests("/big.ome.zarr/scale0/") == []
        page.evaluate(
            """() => {
                const viewer = document.querySelector('.voxlite-root').voxliteViewer;
                const scene = viewer.views[0].scene;
                scene.zoomBy(4, scene.size[0] / 2, scene.size[1] / 2);
                viewer.draw();
            }"""
        )
        wait_for(page, lambda: attribute(page, "stream-planes") == "2:0:0", "level 0 in view")
        fetched = len(server.requests("/big.ome.zarr/scale0/"))
        pixels = canvas_pixels(page, "stream-zoomed")
    assert 0 < fetched <= 16 < 64, fetched  # the chunks in view, not the slice's 64
    assert pixels.max() > 60


@pytest.mark.slow
def test_in_jupyterlab_view_of_a_url_streams_and_the_kernel_takes_the_geometry(
    browser, written, tmp_path
):
    import nbformat

    from tests.harness.jupyter import jupyterlab_server, run_cell, wait_for_idle_kernel

    with ranged(written) as server:  # another origin than JupyterLab's: CORS
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [
            nbformat.v4.new_code_cell(source)
            for source in (
                "import json, voxlite\n"
                f"viewer = voxlite.view('{server.url}/a.ome.zarr', height=300, ui_collapsed=True)\n"
                "viewer",
                "print('INFO=' + json.dumps([viewer.image.shape, viewer.slices, viewer.views]))",
            )
        ]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(notebook, tmp_path / "stream.ipynb")
        with (
            jupyterlab_server(tmp_path) as url,
            GuardedPage(browser, viewport=(1100, 900)) as guarded,
        ):
            page = guarded.page
            page.goto(f"{url}/lab/tree/stream.ipynb")
            wait_for_idle_kernel(page)
            run_cell(page, 0)
            wait_for(page, lambda: attribute(page, "level") == "full", "level 0", timeout=120)
            page.wait_for_timeout(500)  # the report reaches the kernel
            run_cell(page, 1)
            output = page.locator(".jp-OutputArea-output", has_text="INFO=").first
            output.wait_for(timeout=30_000)
            shape, slices, views = json.loads(output.inner_text().split("INFO=", 1)[1])
    assert shape == list(stream_data.SHAPE)
    assert slices == [n // 2 for n in reversed(stream_data.SHAPE)] and views == "quad"
    assert server.requests("/a.ome.zarr/scale2/")  # the page fetched, not the kernel


@pytest.mark.slow
def test_in_the_jupyterlite_site_a_zarr_in_its_files_streams_from_its_files_url(
    browser, written, tmp_path
):
    """Pyodide has no zarr codecs: a .zarr path there is streamed from the site's files/."""
    import nbformat

    from tests.browser.test_site import notebook_page
    from voxlite.site import SiteOptions, build_site

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import voxlite\n"
            "viewer = voxlite.view('a.ome.zarr', height=300, ui_collapsed=True)\n"
            "viewer"
        )
    ]
    nbformat.write(notebook, tmp_path / "stream.ipynb")
    output = tmp_path / "_output"
    options = SiteOptions(
        output=output, notebooks=[tmp_path / "stream.ipynb"], files=[written / "a.ome.zarr"]
    )
    build_site(options, log=lambda line: None)
    with notebook_page(output, browser, "stream.ipynb") as page:
        page.locator(".voxlite-root[data-voxlite-level=full]").wait_for(
            state="attached", timeout=300_000
        )
        page.wait_for_function(
            "() => document.querySelector('.voxlite-root').voxliteViewer.model"
            ".get('slices').join() === '32,24,16'",  # Pyodide took the geometry
            timeout=60_000,
        )
        pixels = canvas_pixels(page, "stream-site")
    assert pixels.max() > 60


def test_a_slice_step_into_the_next_chunks_reaches_level_0_with_one_planes_chunks(
    guarded: GuardedPage, data
):
    """The streaming benchmark's step, small: on the first plane of a chunk row at level 0,
    the slice steps back one voxel into the row before; the view shows that plane at level
    0 in bounded time, having fetched exactly that plane's chunks (no refetch, no thrash),
    and a step within the row fetches nothing."""
    needed = (stream_data.SHAPE[1] // 16) * (stream_data.SHAPE[2] // 16)
    with ranged(data) as server:
        page = guarded.page
        open_page(page, data, server, "a.ome.zarr", views="axial", slices=[0, 0, 16])
        wait_for(page, lambda: attribute(page, "stream-planes") == "2:16:0", "the plane at 16")
        assert {p.split("/")[-3] for p in level0_chunks(server)} == {"1"}
        before = int(attribute(page, "stream-requests"))
        start = time.monotonic()
        page.evaluate("window.voxlite.model.set('slices', [0, 0, 15])")
        wait_for(page, lambda: attribute(page, "stream-planes") == "2:15:0", "plane 15", 20.0)
        seconds = time.monotonic() - start
        assert int(attribute(page, "stream-requests")) - before == needed
        assert len(level0_chunks(server, z_chunk=0)) == needed  # each chunk fetched once
        page.wait_for_timeout(500)  # settled: its own frame does not start it again
        assert attribute(page, "stream-planes") == "2:15:0" and not attribute(page, "loading")
        assert int(attribute(page, "stream-requests")) - before == needed
        page.evaluate("window.voxlite.model.set('slices', [0, 0, 14])")
        wait_for(page, lambda: attribute(page, "stream-planes") == "2:14:0", "plane 14", 20.0)
        assert int(attribute(page, "stream-requests")) - before == needed  # cached
        pixels = canvas_pixels(page, "stream-step")
    assert seconds < 20 and pixels.max() > 60
