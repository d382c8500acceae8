"""Streaming a 2 GiB OME-Zarr from a static server into the view, in Chromium.

    .venv/bin/python -m benchmarks.streaming [--runs 2] [--side 1024] [--data DIR]
        [--fronts page,site,app,jupyterlab]
    .venv/bin/python -m benchmarks.streaming --generate-only   # just write the data

The data is written once, with voxlite's own converter (:func:`voxlite.to_ome_zarr`:
ngff-zarr on dask, out of core), and cached in ``--data`` (default: the system's temp
folder, ``voxlite-benchmarks/streaming``; never in git): a ``side``³ uint16 volume
(1024³: 2 GiB), 5 levels, blosc-zstd, 64³ chunks, NGFF 0.4; and a 128³ one of one level,
the baseline. The volume is made by dask block by block (a smooth blob, fine stripes
the coarse levels average away, a little noise), so nothing holds it whole.

The folder is served on 127.0.0.1 by the tests' threaded server with HTTP Range
(``tests/harness/ranged.py``), which logs every request; each page is a saved viewer
streaming one image (``Viewer.open_stream`` + ``save_html``), opened in a fresh browser
context of Debian's Chromium (SwiftShader WebGL). Figures, each against a baseline of
the same run:

1. **first frame**: page load to the view saying it has drawn a level
   (``data-voxlite-level``, the moment seen by an observer in the page), for the 2 GiB
   image and for the 128³ one (target: ≤ 2x);
   and until a screenshot of the canvas differs from its background (which, on
   SwiftShader, waits for every frame queued, the refined level's too);
2. **bytes before the first frame**: the bytes the server had sent by then (metadata
   and chunks), over the bytes of the coarsest level (target: ≤ 2x);
3. **a slice step at full resolution**: an axial view in a window large enough that
   the view reads level 0, on the last plane of a chunk; after that plane is in, the
   slice moves one voxel, into the next chunks, and the time is until the view shows the
   new plane at that level (``data-voxlite-stream-planes``), with the chunk requests it
   took;
4. **peak page memory**: the high-water mark of the page's renderer process (its
   ``VmHWM``, which holds the page and its worker) over the 128³ page's, against the
   chunk cache budget (``cache_mb``) + 20 %; and the page's JS heap (CDP
   ``Performance.getMetrics``) at its largest, polled.

The same run then opens the same two images through the other front doors
(:mod:`benchmarks.streaming_fronts`: the JupyterLite site, the app, JupyterLab; once
each), figures 1 and 2 from the open to the first level, keyed ``<front>_...``
(``site_first_frame_ratio`` ...). ``--fronts`` picks the front doors (``page`` is the
saved page above; ``--runs`` is its runs).

The Python side is timed too: the conversion's seconds and bytes per second.
The peer (NiiVue + fidnii) is measured on the same data by :mod:`benchmarks.streaming_peer`,
which ``benchmarks/run streaming`` runs next. Results and the machine go to
benchmarks/results/streaming.json. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import describe_machine

RESULTS = Path(__file__).parent / "results"
LEVELS = 5
CHUNKS = 64
SMALL = 128
TIMEOUT = 300.0  # seconds for any one wait in the page
VIEWPORT = (1400, 1200)  # an axial view of 1024 voxels at about a pixel each: level 0
VIEWPORT_3D = (900, 700)  # SwiftShader draws (and screenshots) a smaller 3D view sooner
FRONTS = ("page", "site", "app", "jupyterlab")  # the saved page, then streaming_fronts.py's


def default_data() -> Path:
    return Path(tempfile.gettempdir()) / "voxlite-benchmarks" / "streaming"


# -- the data -----------------------------------------------------------------------------


def volume(side: int) -> Any:
    """A lazy ``side``³ uint16 volume (dask), made block by block."""
    import dask.array as da

    def block(block_info=None) -> np.ndarray:
        (z0, z1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
        z, y, x = np.ogrid[z0:z1, y0:y1, x0:x1]
        u = [(c.astype(np.float32) / side - 0.5) * 2 for c in (z, y, x)]
        blob = 3000 * np.exp(-3 * (u[0] ** 2 + u[1] ** 2 + 0.5 * u[2] ** 2))
        stripes = 400 * (((x // 4) + (y // 4)) % 2)  # averaged away by the coarse levels
        rng = np.random.default_rng(z0 * side * side + y0 * side + x0)
        noise = rng.integers(0, 64, (z1 - z0, y1 - y0, x1 - x0), dtype=np.uint16)
        return (blob + stripes + noise).astype(np.uint16)

    chunks = (CHUNKS, min(side, 256), side)
    return da.map_blocks(
        block, chunks=da.core.normalize_chunks(chunks, (side,) * 3), dtype=np.uint16
    )


def generate(data: Path, side: int) -> dict[str, Any]:
    """Write (once) the big and the small OME-Zarr; what was written, and how fast."""
    import voxlite

    data.mkdir(parents=True, exist_ok=True)
    record_path = data / f"generated-{side}.json"
    if record_path.exists():
        return json.loads(record_path.read_text())
    record: dict[str, Any] = {}
    for name, size, levels in (("big", side, LEVELS), ("small", SMALL, 1)):
        image = voxlite.Image(volume(size), spacing=(0.5, 0.5, 0.5), name=name)
        start = time.perf_counter()
        voxlite.to_ome_zarr(
            image,
            data / f"{name}.ome.zarr",
            levels=levels,
            chunks=CHUNKS,
            codec="blosc-zstd",
            overwrite=True,
            progress=True,
        )
        seconds = time.perf_counter() - start
        record[name] = {
            "shape": [size] * 3,
            "levels": levels,
            "convert_seconds": round(seconds, 2),
            "voxel_bytes": size**3 * 2,
            "convert_mb_per_s": round(size**3 * 2 / seconds / 2**20, 1),
            "level_bytes": level_bytes(data / f"{name}.ome.zarr", levels),
        }
        print(name, record[name], flush=True)
    record_path.write_text(json.dumps(record, indent=2))
    return record


def level_bytes(folder: Path, levels: int) -> list[int]:
    """Bytes on disk of each level's folder (its chunks and metadata)."""
    return [
        sum(f.stat().st_size for f in (folder / f"scale{n}").rglob("*") if f.is_file())
        for n in range(levels)
    ]


# -- the page -------------------------------------------------------------------------------


def first_plane(side: int) -> int:
    """The axial plane the slice step starts on: the last of a chunk row, so that the step
    (+1) needs the next row's chunks."""
    return side // 2 - 1


def save_page(data: Path, name: str, views: str, cache_mb: int, side: int) -> str:
    """A saved viewer streaming ``name``.ome.zarr from beside it; its file name.

    A saved page has no kernel to place the slices once the stream's shape is known:
    they are given: the middle of a ``side``³ image, and in an axial page the plane the
    slice step starts on (:func:`first_plane`), which the page must show first.
    """
    import voxlite

    middle = [side // 2] * 3
    if views == "axial":
        middle[2] = first_plane(side)
    viewer = voxlite.Viewer(
        ui_collapsed=True, views=views, cache_mb=cache_mb, slices=middle, height=VIEWPORT[1] - 100
    )
    viewer.open_stream(f"{name}.ome.zarr")
    page = f"bench-{name}-{views}-{os.getpid()}.html"  # the data folder may be shared
    viewer.save_html(data / page)
    return page


def attribute(page, name: str) -> str | None:
    """The view's ``data-voxlite-<name>``; None before there is a view (a notebook's)."""
    root = page.locator(".voxlite-root")
    return root.first.get_attribute(f"data-voxlite-{name}") if root.count() else None


# The moment (the page's clock as time.time(): ms since 1970) a view first says it drew a
# level: observed in the page, so that neither the time nor the bytes served by then wait
# for Python's next poll. An init script: in the page before any of its own.
LEVEL_OBSERVER = """window.voxliteLevelAt = null;
new MutationObserver(() => {
  const root = document.querySelector('.voxlite-root[data-voxlite-level]');
  if (root && window.voxliteLevelAt === null) {
    window.voxliteLevelAt = performance.timeOrigin + performance.now();
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-voxlite-level'] });
"""


def level_at(page) -> float:
    """When (``time.time()``) the page's view first drew a level (:data:`LEVEL_OBSERVER`)."""
    return page.evaluate("window.voxliteLevelAt") / 1000


def voxlite_failure(page) -> str | None:
    """The view's error message, if it says it failed."""
    if attribute(page, "state") == "error":
        return page.locator(".voxlite-message").first.text_content()
    return None


def wait_until(page, condition, what: str, poll=None, failure=voxlite_failure) -> float:
    """Poll ``condition`` (calling ``poll`` each time) until true; the time it became so.
    ``failure(page)`` says why the page failed (ending the wait), or None."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        if poll is not None:
            poll()
        if condition():
            return time.perf_counter()
        if (message := failure(page)) is not None:
            raise RuntimeError(message)
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.03)


def drawn(page) -> bool:
    """Does the canvas (on screen) differ from its background over 1 % of its area?"""
    from tests.harness.browser import canvas_pixels

    if attribute(page, "level") is None:  # nothing drawn yet: no screenshot needed
        return False
    pixels = canvas_pixels(page)
    background = np.median(pixels.reshape(-1, 3), axis=0)
    return float((np.abs(pixels - background).sum(axis=2) > 30).mean()) > 0.01


def served_bytes(server, data: Path, before: float = float("inf")) -> int:
    """The bytes of every file the server sent (no Range: whole files) before ``before``
    (``time.time()``), the page's own file(s) aside."""
    return sum(
        (data / path.lstrip("/")).stat().st_size
        for sent, path in list(server.served)
        if sent <= before and (data / path.lstrip("/")).is_file() and not path.endswith(".html")
    )


def renderers() -> dict[int, int]:
    """Chromium renderer processes under this one, and their peak resident set (VmHWM)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    mine = {os.getpid()}
    changed = True
    while changed:
        grown = {pid for pid, parent in parents.items() if parent in mine} | mine
        changed, mine = grown != mine, grown
    found = {}
    for pid in mine:
        try:
            if b"--type=renderer" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            found[pid] = next(int(x.split()[1]) * 1024 for x in status if x.startswith("VmHWM"))
        except (OSError, StopIteration):
            continue
    return found


def js_heap_sampler(guarded) -> Callable[[], int]:
    """A function that samples the guarded page's JS heap (CDP ``Performance.getMetrics``)
    and returns the largest it has seen, in bytes."""
    cdp = guarded.context.new_cdp_session(guarded.page)
    cdp.send("Performance.enable")
    peak = 0

    def sample() -> int:
        nonlocal peak
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        peak = max(peak, int(metrics.get("JSHeapUsedSize", 0)))
        return peak

    return sample


def first_frame(browser, server, data: Path, page_name: str) -> dict[str, Any]:
    """Open a 3D page; the time and bytes to its first frame, and its memory."""
    from tests.harness.browser import GuardedPage

    before = set(renderers())
    guarded = GuardedPage(browser, viewport=VIEWPORT_3D)
    page = guarded.page
    page.set_default_timeout(TIMEOUT * 1000)  # SwiftShader on a busy machine: slow frames
    sample_heap = js_heap_sampler(guarded)

    guarded.context.add_init_script(LEVEL_OBSERVER)
    try:
        server.log.clear()
        server.served.clear()
        start, clock = time.perf_counter(), time.time()
        page.goto(f"{server.url}/{page_name}")
        # The view sets data-voxlite-level once it has drawn a level: observed in the page,
        # as a screenshot waits for every GPU frame queued (on SwiftShader, the refined one
        # too).
        wait_until(page, lambda: attribute(page, "level") is not None, "a first level")
        shown = level_at(page)
        result = {
            "first_frame": shown - clock,
            "bytes_first_frame": served_bytes(server, data, shown),
        }
        result["level_first_frame"] = attribute(page, "level")
        confirmed = wait_until(page, lambda: drawn(page), "the first frame on screen")
        result["first_frame_on_screen"] = confirmed - start
        finest = wait_until(
            page,
            lambda: (
                attribute(page, "level") in ("refined", "full") and not attribute(page, "loading")
            ),
            "the refined level",
            sample_heap,
        )
        page.wait_for_timeout(500)
        result.update(
            refined=finest - start,
            level_refined=attribute(page, "level"),
            bytes_refined=served_bytes(server, data),
            js_heap_peak=sample_heap(),
            requests=int(attribute(page, "stream-requests") or 0),
        )
        new = {pid: peak for pid, peak in renderers().items() if pid not in before}
        result["renderer_peak"] = max(new.values()) if new else None
    finally:
        guarded.close()
    return result


def slice_step(browser, server, data: Path, page_name: str, side: int) -> dict[str, Any]:
    """An axial view at full resolution: the slice moves by one; until the new plane shows."""
    from tests.harness.browser import GuardedPage

    guarded = GuardedPage(browser, viewport=VIEWPORT)
    page = guarded.page
    page.set_default_timeout(TIMEOUT * 1000)
    try:
        page.goto(f"{server.url}/{page_name}")
        middle = first_plane(side)  # the page's plane (save_page): the step needs new chunks

        def plane_at(index: int) -> bool:
            planes = attribute(page, "stream-planes") or ""
            return any(p.split(":")[:2] == ["2", str(index)] for p in planes.split(","))

        start = time.perf_counter()
        wait_until(page, lambda: plane_at(middle), "the first plane")
        first = time.perf_counter() - start
        level = (attribute(page, "stream-planes") or "").split(":")[-1]
        requests = int(attribute(page, "stream-requests") or 0)
        start = time.perf_counter()
        page.evaluate(f"window.voxlite.model.set('slices', [{middle}, {middle}, {middle + 1}])")
        done = wait_until(
            page,
            lambda: (
                plane_at(middle + 1)
                and (attribute(page, "stream-planes") or "").endswith(f":{level}")
            ),
            "the next plane",
        )
        step_requests = int(attribute(page, "stream-requests") or 0) - requests
    finally:
        guarded.close()
    return {
        "first_plane": first,
        "plane_level": level,
        "step": done - start,
        "step_requests": step_requests,
    }


def measure(args: argparse.Namespace, generated: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    from benchmarks.streaming_fronts import measure_fronts
    from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS
    from tests.harness.ranged import ranged

    data = args.data
    runs: dict[str, list[dict[str, Any]]] = {"big": [], "small": [], "axial": []}
    with ranged(data) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if "page" in args.fronts:
            measure_page(args, browser, server, runs)
        fronts = measure_fronts(browser, data, [f for f in args.fronts if f != "page"])
        browser.close()
    report(args, generated, runs, fronts)


def measure_page(args: argparse.Namespace, browser, server, runs: dict[str, list]) -> None:
    """The saved pages: ``args.runs`` runs of the first frames and the slice step."""
    data = args.data
    pages = {
        "big": save_page(data, "big", "3d", args.cache_mb, args.side),
        "small": save_page(data, "small", "3d", args.cache_mb, SMALL),
        "axial": save_page(data, "big", "axial", args.cache_mb, args.side),
    }
    try:
        page_runs(args, browser, server, pages, runs)
    finally:
        for page in pages.values():
            (data / page).unlink(missing_ok=True)


def page_runs(args: argparse.Namespace, browser, server, pages: dict, runs: dict) -> None:
    data = args.data
    first_frame(browser, server, data, pages["small"])  # a warm-up: not measured
    for run in range(args.runs):
        for name in ("small", "big"):  # alternated: the machine's load hits both
            runs[name].append(first_frame(browser, server, data, pages[name]))
            print(f"run {run + 1} {name}: {runs[name][-1]}", flush=True)
        try:
            step = slice_step(browser, server, data, pages["axial"], args.side)
        except (TimeoutError, RuntimeError) as error:  # recorded, and the run goes on
            step = {"error": str(error)}
        runs["axial"].append(step)
        print(f"run {run + 1} axial: {runs['axial'][-1]}", flush=True)


def median(runs: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def page_figures(args: argparse.Namespace, generated: dict[str, Any], runs: dict) -> dict:
    """The saved page's figures (medians of its runs)."""
    big, small, axial = runs["big"], runs["small"], runs["axial"]
    coarsest = generated["big"]["level_bytes"][-1]
    budget = args.cache_mb * 2**20
    memory_rise = median(big, "renderer_peak") - median(small, "renderer_peak")
    return {
        "first_frame_big_s": median(big, "first_frame"),
        "first_frame_small_s": median(small, "first_frame"),
        "first_frame_ratio": median(big, "first_frame") / median(small, "first_frame"),
        "bytes_first_frame": median(big, "bytes_first_frame"),
        "coarsest_level_bytes": coarsest,
        "bytes_ratio": median(big, "bytes_first_frame") / coarsest,
        "first_frame_on_screen_big_s": median(big, "first_frame_on_screen"),
        "first_frame_on_screen_small_s": median(small, "first_frame_on_screen"),
        "level_first_frame_big": big[0]["level_first_frame"],
        "refined_3d_s": median(big, "refined"),
        "slice_step_full_resolution_s": median(axial, "step"),
        "slice_step_level": axial[0].get("plane_level"),
        "first_plane_full_resolution_s": median(axial, "first_plane"),
        "slice_step_requests": median(axial, "step_requests"),
        "renderer_peak_big_mib": median(big, "renderer_peak") / 2**20,
        "renderer_peak_small_mib": median(small, "renderer_peak") / 2**20,
        "memory_rise_mib": memory_rise / 2**20,
        "cache_budget_mib": args.cache_mb,
        "memory_ratio_to_budget": memory_rise / budget,
        "memory_ratio_target": 1.2,
        "js_heap_peak_big_mib": median(big, "js_heap_peak") / 2**20,
    }


def report(
    args: argparse.Namespace, generated: dict[str, Any], runs: dict[str, list], fronts: dict
) -> None:
    from benchmarks.streaming_fronts import front_figures

    figures: dict[str, Any] = page_figures(args, generated, runs) if runs["big"] else {}
    figures.update(front_figures(fronts, generated))
    figures["first_frame_ratio_target"] = figures["bytes_ratio_target"] = 2.0
    figures["convert_seconds"] = generated["big"]["convert_seconds"]
    figures["convert_mb_per_s"] = generated["big"]["convert_mb_per_s"]
    for key, value in figures.items():
        print(f"{key:32} {value:.3f}" if isinstance(value, float) else f"{key:32} {value}")
    RESULTS.mkdir(exist_ok=True)
    result = {
        "benchmark": "streaming",
        "machine": describe_machine(),
        "data": generated,
        "figures": figures,
        "runs": runs,
        "fronts": fronts,
        "peer": "NiiVue 0.69 + fidnii 0.2, on the same data: "
        "benchmarks/results/streaming_peer.json (benchmarks/streaming_peer.py, "
        "run next by benchmarks/run streaming)",
    }
    (RESULTS / "streaming.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS / 'streaming.json'}")


def fronts_list(text: str) -> list[str]:
    """``--fronts``: a comma-separated list of front doors, each one of :data:`FRONTS`."""
    fronts = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in fronts if f not in FRONTS]
    if unknown or not fronts:
        raise argparse.ArgumentTypeError(
            f"unknown front door(s) {', '.join(unknown) or '(none)'}: "
            f"choose from {', '.join(FRONTS)}"
        )
    return fronts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=2, help="runs of the saved page")
    parser.add_argument(
        "--fronts",
        type=fronts_list,
        default=list(FRONTS),
        help=f"front doors to open the stream in, comma-separated (default {','.join(FRONTS)})",
    )
    parser.add_argument("--cache-mb", type=int, default=512, help="the page's chunk cache")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    generated = generate(args.data, args.side)
    if args.generate_only:
        return
    measure(args, generated)


if __name__ == "__main__":
    main()
