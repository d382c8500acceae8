"""Streaming OME-Zarr against a peer: NiiVue 0.69 + fidnii 0.2, in the same run.

    .venv/bin/python -m benchmarks.streaming_peer [--runs 2] [--side 1024] [--data DIR]

The peer is a page of NiiVue (``@niivue/niivue``) with fidnii (``@fideus-labs/fidnii``,
"Render OME-Zarr images in NiiVue with progressive multi-resolution loading"), both from
npm, pinned in ``benchmarks/peers/niivue/package-lock.json`` and bundled with esbuild into
one HTML file (``npm ci`` and ``npm run build`` there, once, when the bundle is absent or
older than its sources). It opens ``?url=NAME.ome.zarr`` in a 3D render view and marks
``<body data-peer-state="drawn">`` when fidnii has loaded and drawn its first level (its
``loadingComplete`` event, after which it has called ``nv.updateGLVolume()``, which draws).

Both viewers read the same data (``benchmarks.streaming``'s: a 1024³ uint16 OME-Zarr of
2 GiB, 5 levels, blosc-zstd, 64³ chunks, and a 128³ one), written by
``python -m benchmarks.streaming --generate-only`` (or here, if absent), served by one
ranged static server on 127.0.0.1, each page in a fresh context of the same Chromium, in
turn (the order alternates by run). voxlite's page is its saved viewer
(``benchmarks.streaming.save_page`` / ``first_frame``). Figures, voxlite over the peer:

1. **first frame**: page load until the page says it has drawn a first level (voxlite's
   ``data-voxlite-level``, the peer's ``data-peer-state``), and until a screenshot of the
   canvas differs from its background;
2. **bytes before the first frame**: what the server sent by then (both pages are single
   HTML files, not counted: the data only);
3. **refined**: until each has loaded what it aims for (voxlite: its refined level, not
   loading; fidnii: ``populateComplete``, its finest level under 50 M voxels), and the
   bytes by then: the two aim at different levels, so this is context, not a race;
4. peak renderer memory (``VmHWM``), for context.

A screenshot of each peer view is saved (test-artifacts/peer-niivue-NAME.png) and the
share of its canvas that differs from the background is recorded: a peer that drew a
blank canvas is not measured (the run stops). Results: benchmarks/results/streaming_peer.json.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import describe_machine
from benchmarks.streaming import (
    SMALL,
    TIMEOUT,
    VIEWPORT_3D,
    default_data,
    first_frame,
    generate,
    js_heap_sampler,
    median,
    renderers,
    save_page,
    served_bytes,
    wait_until,
)

RESULTS = Path(__file__).parent / "results"
PEER = Path(__file__).parent / "peers" / "niivue"
PEER_PAGE = "peer-niivue.html"
# The peer's sources: a bundle older than any of them is rebuilt.
PEER_SOURCES = ("main.js", "index.html", "build.mjs", "package.json", "package-lock.json")
# zarrita and ngff-zarr look for a zarr v3 ``zarr.json`` before reading v2 metadata: each
# miss is a 404 that Chromium logs as a console error. Those (and only those) are expected.
PROBE_404 = "Failed to load resource: the server responded with a status of 404"
DRAWN_SHARE = 0.01  # a canvas differing from its background on less than this is blank


def peer_versions() -> dict[str, str]:
    """The peer's npm packages and the versions the lock file pins."""
    lock = json.loads((PEER / "package-lock.json").read_text())
    packages = lock["packages"]
    names = ("@niivue/niivue", "@fideus-labs/fidnii", "@fideus-labs/ngff-zarr", "esbuild")
    return {name: packages[f"node_modules/{name}"]["version"] for name in names}


def build_peer() -> Path:
    """Build the peer page (once): ``npm ci`` if needed, then the esbuild bundle.

    Returns
    -------
    Path
        The bundled page, ``benchmarks/peers/niivue/dist/peer-niivue.html``.
    """
    page = PEER / "dist" / PEER_PAGE
    newest = max((PEER / name).stat().st_mtime for name in PEER_SOURCES)
    if page.exists() and page.stat().st_mtime >= newest:
        return page
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the NiiVue peer needs Node.js and npm (npm ci) to build its page")
    installed = PEER / "node_modules" / ".package-lock.json"
    if (
        not installed.exists()
        or installed.stat().st_mtime < (PEER / "package-lock.json").stat().st_mtime
    ):
        print("peer: npm ci (benchmarks/peers/niivue)", flush=True)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True)
    subprocess.run([npm, "run", "--silent", "build"], cwd=PEER, check=True)
    return page


def install_peer(data: Path) -> str:
    """Copy the peer page into the served folder (a copy: the server serves nothing whose
    real path is outside it); its name there."""
    shutil.copyfile(build_peer(), data / PEER_PAGE)
    return PEER_PAGE


def body(page, name: str) -> str | None:
    return page.evaluate(f"document.body ? document.body.dataset.{name} ?? null : null")


def peer_failure(page) -> str | None:
    """The peer page's error message, if it says it failed."""
    if body(page, "peerState") == "error":
        return f"the peer page failed: {body(page, 'peerMessage')}"
    return None


def wait_peer(page, condition, what: str, poll=None) -> float:
    """:func:`benchmarks.streaming.wait_until` for the peer page."""
    return wait_until(page, condition, f"{what} in the peer page", poll, failure=peer_failure)


def on_screen(page, name: str | None = None) -> float:
    """The share of the peer's canvas (on screen) that differs from its background."""
    from tests.harness.browser import canvas_pixels

    pixels = canvas_pixels(page, name, selector="#gl")
    background = np.median(pixels.reshape(-1, 3), axis=0)
    return float((np.abs(pixels - background).sum(axis=2) > 30).mean())


def chunk_requests(server, name: str) -> int:
    """Chunk GETs of ``name``.ome.zarr the server logged (metadata and misses left out)."""
    return len(server.requests(f"/{name}.ome.zarr/"))


def missing(server, data: Path) -> list[str]:
    """The paths asked for that were not there (the server answered 404)."""
    paths = server.requests("", chunks_only=False)
    return sorted({p for p in paths if not (data / p.lstrip("/")).is_file()})


def peer_first_frame(browser, server, data: Path, name: str) -> dict[str, Any]:
    """Open the peer page on ``name``.ome.zarr; the time and bytes to its first frame.

    The same figures as :func:`benchmarks.streaming.first_frame`, for the NiiVue + fidnii
    page (copied into ``data`` first if it is not there).

    Parameters
    ----------
    browser
        A Playwright Chromium browser; the page opens in a fresh context of it.
    server
        The ranged server (``tests.harness.ranged``) serving ``data``.
    data
        The served folder, holding ``name``.ome.zarr.
    name
        The image: ``big`` or ``small``.

    Returns
    -------
    dict
        ``first_frame``, ``first_frame_on_screen``, ``refined`` (seconds from the page
        load), ``bytes_first_frame``, ``bytes_refined``, ``level_first_frame``,
        ``level_refined`` (fidnii's level indices), ``requests`` (chunk GETs), ``drawn_share``
        (of the canvas, when first on screen), ``js_heap_peak`` and ``renderer_peak``.
    """
    from tests.harness.browser import GuardedPage

    if not (data / PEER_PAGE).exists():
        install_peer(data)
    if not (data / f"{name}.ome.zarr").is_dir():
        raise FileNotFoundError(f"no {name}.ome.zarr in {data}: write it first")
    before = set(renderers())
    guarded = GuardedPage(browser, viewport=VIEWPORT_3D, allowed_errors=[PROBE_404])
    page = guarded.page
    page.set_default_timeout(TIMEOUT * 1000)
    sample_heap = js_heap_sampler(guarded)

    try:
        server.log.clear()
        start = time.perf_counter()
        page.goto(f"{server.url}/{PEER_PAGE}?url={name}.ome.zarr")
        shown = wait_peer(page, lambda: body(page, "peerState") == "drawn", "a first level")
        result: dict[str, Any] = {
            "first_frame": shown - start,
            "bytes_first_frame": served_bytes(server, data),
            "level_first_frame": body(page, "peerLevel"),
        }
        share = [0.0]

        def drawn() -> bool:
            share[0] = on_screen(page)
            return share[0] > DRAWN_SHARE

        confirmed = wait_peer(page, drawn, "the first frame on screen")
        result.update(first_frame_on_screen=confirmed - start, drawn_share=share[0])
        finest = wait_peer(
            page, lambda: body(page, "peerDone") is not None, "fidnii's target level", sample_heap
        )
        page.wait_for_timeout(500)
        levels = (body(page, "peerLevels") or "").split(",")
        result.update(
            refined=finest - start,
            level_refined=levels[-1],
            levels=levels,
            bytes_refined=served_bytes(server, data),
            js_heap_peak=sample_heap(),
            requests=chunk_requests(server, name),
            refined_share=on_screen(page, f"peer-niivue-{name}"),
        )
        new = {pid: peak for pid, peak in renderers().items() if pid not in before}
        result["renderer_peak"] = max(new.values()) if new else None
        # The only 404s allowed in the page are the zarr v3 metadata probes.
        unexpected = [p for p in missing(server, data) if not p.endswith("/zarr.json")]
        if unexpected:
            raise RuntimeError(f"the peer page asked for files that are not there: {unexpected}")
    finally:
        guarded.close()
    return result


def wait_for_data(data: Path, side: int, wait: float) -> dict[str, Any]:
    """The generation record, once another process has written it (up to ``wait`` s)."""
    record = data / f"generated-{side}.json"
    deadline = time.monotonic() + wait
    while not record.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"no {record} after {wait:.0f} s: run python -m benchmarks.streaming "
                f"--generate-only --side {side} --data {data}"
            )
        time.sleep(5)
    return json.loads(record.read_text())


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS
    from tests.harness.ranged import ranged

    data = args.data
    generated = (
        wait_for_data(data, args.side, args.wait) if args.wait else generate(data, args.side)
    )
    install_peer(data)
    sides = {"big": args.side, "small": SMALL}
    pages = {}
    for name, side in sides.items():
        # Renamed: benchmarks.streaming, perhaps running too, opens pages of the same name.
        saved = data / save_page(data, name, "3d", args.cache_mb, side)
        pages[name] = saved.rename(data / f"vs-peer-{saved.name}").name
    runs: dict[str, dict[str, list]] = {v: {"big": [], "small": []} for v in ("voxlite", "peer")}

    def voxlite(browser, server, name: str) -> dict[str, Any]:
        result = first_frame(browser, server, data, pages[name])
        result["server_requests"] = chunk_requests(server, name)  # the log since its goto
        return result

    def peer(browser, server, name: str) -> dict[str, Any]:
        return peer_first_frame(browser, server, data, name)

    with ranged(data) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        voxlite(browser, server, "small")  # warm-ups: not measured
        peer(browser, server, "small")
        for run in range(args.runs):
            for name in ("small", "big"):
                # Alternated: the first page of a pair may meet a busier machine.
                order = ("voxlite", "peer") if run % 2 == 0 else ("peer", "voxlite")
                for viewer in order:
                    measure_one = voxlite if viewer == "voxlite" else peer
                    runs[viewer][name].append(measure_one(browser, server, name))
                    print(f"run {run + 1} {name} {viewer}: {runs[viewer][name][-1]}", flush=True)
        browser.close()
    return report(args, generated, runs)


def report(args: argparse.Namespace, generated: dict[str, Any], runs: dict) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name in ("big", "small"):
        ours, peer = runs["voxlite"][name], runs["peer"][name]
        coarsest = generated[name]["level_bytes"][-1]
        for key in ("first_frame", "first_frame_on_screen", "refined"):
            figures[f"{name}_{key}_voxlite_s"] = median(ours, key)
            figures[f"{name}_{key}_peer_s"] = median(peer, key)
            figures[f"{name}_{key}_voxlite_over_peer"] = median(ours, key) / median(peer, key)
        for key in ("bytes_first_frame", "bytes_refined"):
            figures[f"{name}_{key}_voxlite"] = int(median(ours, key))
            figures[f"{name}_{key}_peer"] = int(median(peer, key))
            figures[f"{name}_{key}_voxlite_over_peer"] = median(ours, key) / median(peer, key)
        figures[f"{name}_bytes_first_frame_peer_over_coarsest"] = (
            median(peer, "bytes_first_frame") / coarsest
        )
        figures[f"{name}_renderer_peak_voxlite_over_peer"] = median(ours, "renderer_peak") / median(
            peer, "renderer_peak"
        )
        figures[f"{name}_levels_voxlite"] = (
            [ours[0]["level_first_frame"], ours[0]["level_refined"]] if ours else None
        )
        figures[f"{name}_levels_peer"] = peer[0]["levels"] if peer else None
    for viewer in ("voxlite", "peer"):  # each against its own 128³ (streaming's target: <= 2x)
        own = runs[viewer]
        figures[f"{viewer}_first_frame_big_over_small"] = median(
            own["big"], "first_frame"
        ) / median(own["small"], "first_frame")
    for key, value in figures.items():
        print(f"{key:48} {value:.3f}" if isinstance(value, float) else f"{key:48} {value}")
    RESULTS.mkdir(exist_ok=True)
    result = {
        "benchmark": "streaming_peer",
        "machine": describe_machine(),
        "peer": {
            "page": "benchmarks/peers/niivue (NiiVue + fidnii, npm, bundled with esbuild)",
            "packages": peer_versions(),
            "notes": "fidnii draws its coarsest level first (the whole level), then its target: "
            "the finest level of at most 50 M voxels (maxPixels default), the whole level; "
            "voxlite's refined level is its own (texture budget): 'refined' compares "
            "different targets. Both pages are 3D render views, 900x700, SwiftShader.",
        },
        "data": generated,
        "figures": figures,
        "runs": runs,
    }
    (RESULTS / "streaming_peer.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS / 'streaming_peer.json'}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--cache-mb", type=int, default=512, help="voxlite's chunk cache")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="wait this long for another process to write the data, instead of writing it",
    )
    args = parser.parse_args()
    measure(args)


if __name__ == "__main__":
    main()
