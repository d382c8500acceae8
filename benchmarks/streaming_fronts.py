"""The streaming benchmark's 2 GiB OME-Zarr opened through voxlite's other front doors.

:mod:`benchmarks.streaming` measures a saved page; here the same data folder is opened
in the JupyterLite site (a ``.zarr`` in its files, streamed from its ``files/`` URL), in
the viewer app (``data/big.ome.zarr`` beside it, as ``?url=`` opens it) and in
JupyterLab (``voxlite.view(url)`` in a kernel, the data on the tests' ranged server,
another origin: CORS). Each front door opens, in one page and one view:

1. the 128³ image once, not measured (the stream's worker and codecs start);
2. the 128³ image again: the baseline;
3. the 2 GiB image.

For 2 and 3: the time from issuing the open (the notebook's cell run, the app's
``openUrls``) to the view saying it has drawn a level (``data-voxlite-level``, which is
cleared before each open), and the bytes of the image's files the server sent by then,
over its coarsest level's. The start-up of the site or the app (Pyodide) and of the
notebook's kernel is not timed: the page is ready (kernel idle, app ready) first.

The site and the app are built without the 2 GiB image (their builds copy files, and
refuse over 1 GiB): its files are hard-linked into the built folder (no bytes copied),
as ``voxlite site serve`` serves no link out of its folder. They are served by
voxlite's own server with their Content-Security-Policy, its handler logging the paths
asked for.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from benchmarks.streaming import (
    LEVEL_OBSERVER,
    TIMEOUT,
    VIEWPORT_3D,
    attribute,
    level_at,
    wait_until,
)

FRONTS = ("site", "app", "jupyterlab")
HEIGHT = VIEWPORT_3D[1] - 200  # the notebook's view: about the saved page's
CLEAR_LEVEL = (
    "window.voxliteLevelAt = null;"
    "document.querySelector('.voxlite-root')?.removeAttribute('data-voxlite-level')"
)
STREAM_URL = "document.querySelector('.voxlite-root').voxliteViewer.stream?.url || ''"


def link_tree(source: Path, target: Path) -> None:
    """``source``'s files hard-linked under ``target`` (same file system: no copy)."""
    shutil.copytree(source, target, copy_function=os.link, dirs_exist_ok=True)


def image_bytes(served: list, root: Path, name: str, before: float) -> int:
    """The bytes of the files of ``name``.ome.zarr sent before ``before`` (``time.time()``),
    from a log of ``(time sent, URL path under root)``."""
    marker = f"/{name}.ome.zarr/"
    files = [root / p.lstrip("/") for t, p in list(served) if marker in p and t <= before]
    return sum(f.stat().st_size for f in files if f.is_file())


@contextlib.contextmanager
def logged_serving(folder: Path, policy: Any) -> Iterator[tuple[str, list[str]]]:
    """``folder`` served by voxlite's server (its policy); yields its URL and a list that
    gathers ``(time.time(), path)`` of every GET answered, when its answer was sent."""
    from voxlite.site.serve import _DEFAULT, make_server

    server = make_server(folder, quiet=True, policy=_DEFAULT if policy is None else policy)
    handler = server.RequestHandlerClass  # functools.partial(Handler, directory=...)
    log: list[str] = []

    class Logged(handler.func):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            super().do_GET()
            log.append((time.time(), unquote(urlsplit(self.path).path)))

    server.RequestHandlerClass = functools.partial(Logged, *handler.args, **handler.keywords)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url, log
    finally:
        server.shutdown()
        server.server_close()


def level_shown(page) -> bool:
    return attribute(page, "level") is not None


def open_timed(page, issue: Callable[[], None], name: str, log: list, root: Path) -> dict[str, Any]:
    """Issue an open of ``name``.ome.zarr in the page's one view; the time until the view
    has drawn a level of it, and the bytes of its files served by then."""
    page.evaluate(CLEAR_LEVEL)  # a notebook's view is made by its first open
    log.clear()
    start = time.time()
    issue()
    wait_until(page, lambda: level_shown(page), f"a first level of {name}")
    shown = level_at(page)
    result = {
        "first_frame": shown - start,
        "bytes_first_frame": image_bytes(log, root, name, shown),
        "level_first_frame": attribute(page, "level"),
        "views": attribute(page, "views"),
    }
    url = page.evaluate(STREAM_URL)
    if not url.endswith(f"/{name}.ome.zarr"):  # the level shown is this image's
        raise RuntimeError(f"the view streams {url!r}, not {name}.ome.zarr")
    return result


def baseline_then_big(page, issue: Callable[[str], None], log: list, root: Path) -> dict:
    """The warm-up, the 128³ baseline and the 2 GiB image, opened in turn (``issue(name)``)."""
    open_timed(page, lambda: issue("small"), "small", log, root)  # warm-up: not measured
    small = open_timed(page, lambda: issue("small"), "small", log, root)
    big = open_timed(page, lambda: issue("big"), "big", log, root)
    return {"small": small, "big": big}


def notebook_cells(small: str, big: str) -> list[str]:
    """Cell 0 shows the warm-up image; cells 1 and 2 open the baseline, then the big one."""
    return [
        "import voxlite\n"
        f"viewer = voxlite.view({small!r}, views='3d', height={HEIGHT}, ui_collapsed=True)\n"
        "viewer",
        f"viewer.open_stream({small!r})",
        f"viewer.open_stream({big!r})",
    ]


def run_notebook(page, log: list, root: Path) -> dict:
    """The three cells of :func:`notebook_cells` run in turn in a ready notebook."""
    from tests.harness.jupyter import run_cell, wait_for_idle_kernel

    wait_for_idle_kernel(page, timeout=TIMEOUT * 1000)
    cells = iter(range(3))

    def issue(name: str) -> None:
        run_cell(page, next(cells), wait=False)

    return baseline_then_big(page, issue, log, root)


@contextlib.contextmanager
def observed_page(browser, folder: Path, policy: Any, path: str) -> Iterator[tuple[Any, list]]:
    """``folder`` served with ``policy`` (:func:`logged_serving`) and ``path`` opened in a
    guarded page whose first drawn level is recorded (``LEVEL_OBSERVER``); yields the page
    and the server's log."""
    from tests.harness.browser import GuardedPage

    with (
        GuardedPage(browser, viewport=VIEWPORT_3D, bypass_csp=False) as guarded,
        logged_serving(folder, policy) as (url, log),
    ):
        guarded.context.add_init_script(LEVEL_OBSERVER)
        page = guarded.page
        page.set_default_timeout(TIMEOUT * 1000)
        page.goto(f"{url}/{path}")
        yield page, log


def site(browser, data: Path, work: Path) -> dict:
    """In the JupyterLite site: ``voxlite.view('big.ome.zarr')`` of a file in its files."""
    from tests.harness.jupyter import write_notebook
    from voxlite.site import SiteOptions, build_site

    notebook = write_notebook(
        work / "fronts.ipynb", notebook_cells("small.ome.zarr", "big.ome.zarr")
    )
    output = work / "site"
    options = SiteOptions(
        output=output, notebooks=[notebook], files=[data / "small.ome.zarr"], demo=False
    )
    build_site(options, log=lambda line: None)
    link_tree(data / "big.ome.zarr", output / "files" / "big.ome.zarr")
    with observed_page(browser, output, None, "lab/index.html?path=fronts.ipynb") as (page, log):
        return run_notebook(page, log, output)


def app(browser, data: Path, work: Path) -> dict:
    """In the viewer app: ``openUrls(['data/big.ome.zarr'])``, as ``?url=`` does."""
    from voxlite.app import AppOptions, build_app
    from voxlite.app.build import HEADER_POLICY

    output = work / "app"
    build_app(
        AppOptions(output=output, files=[data / "small.ome.zarr"], demo=False),
        log=lambda line: None,
    )
    link_tree(data / "big.ome.zarr", output / "data" / "big.ome.zarr")
    with observed_page(browser, output, HEADER_POLICY, "index.html") as (page, log):
        page.locator("body[data-app-state=ready]").wait_for(
            state="attached", timeout=TIMEOUT * 1000
        )

        def issue(name: str) -> None:
            page.evaluate(f"window.voxliteApp.openUrls(['data/{name}.ome.zarr'])")

        return baseline_then_big(page, issue, log, output)


def jupyterlab(browser, data: Path, work: Path) -> dict:
    """In JupyterLab: ``voxlite.view('http://127.0.0.1:PORT/big.ome.zarr')`` in a kernel."""
    import voxlite
    from benchmarks.large_volumes import jupyterlab as lab_server
    from benchmarks.large_volumes import lab_root
    from tests.harness.browser import GuardedPage
    from tests.harness.jupyter import write_notebook
    from tests.harness.ranged import ranged

    root = lab_root("streaming-lab")
    source = Path(voxlite.__file__).parents[1]  # the kernel imports this checkout
    with ranged(data) as server:  # another origin than JupyterLab's: CORS
        cells = notebook_cells(f"{server.url}/small.ome.zarr", f"{server.url}/big.ome.zarr")
        write_notebook(root / "fronts.ipynb", cells)
        with (
            lab_server(root, source) as url,
            GuardedPage(browser, viewport=VIEWPORT_3D) as guarded,
        ):
            guarded.context.add_init_script(LEVEL_OBSERVER)
            page = guarded.page
            page.set_default_timeout(TIMEOUT * 1000)
            page.goto(f"{url}/lab/tree/fronts.ipynb")
            return run_notebook(page, server.served, data)


def measure_fronts(browser, data: Path, fronts: list[str]) -> dict[str, dict]:
    """Each front door of ``fronts`` in turn; a front that fails records its error."""
    doors = {"site": site, "app": app, "jupyterlab": jupyterlab}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(dir=data, prefix="fronts-") as work:
        for front in fronts:
            folder = Path(work) / front
            folder.mkdir()
            try:
                results[front] = doors[front](browser, data, folder)
            except Exception as error:  # Playwright's errors too: recorded, the others go on
                results[front] = {"error": f"{type(error).__name__}: {error}"}
            print(f"{front}: {results[front]}", flush=True)
    return results


def front_figures(results: dict[str, dict], generated: dict[str, Any]) -> dict[str, Any]:
    """The figures of each front door, keyed ``<front>_...``."""
    coarsest = generated["big"]["level_bytes"][-1]
    small_bytes = generated["small"]["level_bytes"][-1]
    figures: dict[str, Any] = {}
    for front, result in results.items():
        if "error" in result:
            figures[f"{front}_error"] = result["error"]
            continue
        big, small = result["big"], result["small"]
        figures.update(
            {
                f"{front}_first_frame_big_s": big["first_frame"],
                f"{front}_first_frame_small_s": small["first_frame"],
                f"{front}_first_frame_ratio": big["first_frame"] / small["first_frame"],
                f"{front}_bytes_first_frame": big["bytes_first_frame"],
                f"{front}_bytes_ratio": big["bytes_first_frame"] / coarsest,
                f"{front}_bytes_ratio_small": small["bytes_first_frame"] / small_bytes,
                f"{front}_level_first_frame": big["level_first_frame"],
                f"{front}_views": big["views"],
            }
        )
    return figures
