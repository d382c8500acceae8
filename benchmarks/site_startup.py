"""Zero-server start-up: voxlite's offline site against ipyniivue's, measured in one run.

    .venv/bin/python -m benchmarks.site_startup [--runs 3] [--size 64]

Both sites are built by the same builder from the same Pyodide, differing only in
the viewer; each run opens a cold browser context (no cache) on 127.0.0.1 and
times page open -> kernel idle -> (run all) -> first non-blank 3D canvas, for a
sphere volume of size³ voxels. Beside them: Pyodide alone starting on the same
origin (the floor). Ratios are taken against the peer measured in the same run;
results go to benchmarks/results/site_startup.json.

Also in the same run, on voxlite's site:

* second visit: page -> frame twice in one browser context (the second one with the
  browser's cache and the site's service worker), in a context that observes requests
  instead of routing them (Playwright's routing turns the HTTP cache off); any request
  to another host still fails the run;
* transfer: a 256³ float32 volume from Python (``set_image``) to the page's typed array,
  against the transport's own floor: a worker posting the same bytes to the page
  (``postMessage``, as the kernel's worker does), measured in the same browser;
* a per-phase timeline of one cold load (benchmarks/results/site_timeline.json): the
  kernel worker's requests (Resource Timing), Pyodide's package messages, kernel idle,
  each cell, the first frame.

The peer's wheels (ipyniivue 2.4.4 and the requests stack it imports) are pinned
with sha256 in peer-requirements.txt and downloaded from PyPI on first use.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

import nbformat
import numpy as np
from PIL import Image as PILImage

from benchmarks.large_volumes import TRANSFER_CELLS, bench_output, received_at, start_cell
from benchmarks.machine import describe_machine
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS, GuardedPage
from tests.harness.jupyter import run_cell, wait_for_idle_kernel
from voxlite.site import SiteOptions, build_site, serving
from voxlite.site.sources import cache_dir, download_pure_wheels

HERE = Path(__file__).parent

WORK = HERE / ".work"
RESULTS = HERE / "results"

SPHERE = (
    "import numpy as np\n"
    "z, y, x = np.mgrid[:{n}, :{n}, :{n}]\n"
    "c = ({n} - 1) / 2\n"
    "inside = (x - c) ** 2 + (y - c) ** 2 + (z - c) ** 2 <= ({n} / 3) ** 2\n"
    "sphere = inside.astype(np.uint8) * 200"
)
VOXLITE_CELLS = ["import voxlite", SPHERE, "voxlite.view(sphere, ui_collapsed=True, height=400)"]
NIIVUE_CELLS = [
    "import piplite\nawait piplite.install(['ipyniivue', 'nibabel'])\nimport ipyniivue, nibabel",
    SPHERE,
    "nii = nibabel.Nifti1Image(sphere.transpose(2, 1, 0), np.eye(4))\n"
    "nv = ipyniivue.NiiVue(height=400)\n"
    "nv.load_volumes([ipyniivue.Volume(data=nii.to_bytes(), name='sphere.nii')])\n"
    "nv.set_slice_type(ipyniivue.SliceType.RENDER)\n"
    "nv",
]


def peer_wheels() -> list[Path]:
    return download_pure_wheels(HERE / "peer-requirements.txt", cache_dir() / "peers")


def write_notebook(path: Path, cells: list[str], size: int) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(c.replace("{n}", str(size))) for c in cells]
    nbformat.write(notebook, path)
    return path


TRANSFER_SIZE = 256


def build(name: str, cells: list[str], size: int, **options) -> tuple[Path, dict[str, float]]:
    folder = WORK / name
    folder.mkdir(parents=True, exist_ok=True)
    notebooks = [write_notebook(folder / "bench.ipynb", cells, size)]
    if name == "voxlite":
        cells = [c.replace("{n}", str(TRANSFER_SIZE)) for c in TRANSFER_CELLS]
        notebooks.append(write_notebook(folder / "transfer.ipynb", cells, TRANSFER_SIZE))
    report = build_site(
        SiteOptions(output=folder / "site", notebooks=notebooks, demo=False, **options),
        log=lambda line: None,
    )
    sizes = {"disk_mb": report.total_bytes / 1e6, "gzip_mb": report.transfer_bytes / 1e6}
    sizes["parts_mb"] = {name: size / 1e6 for name, size in report.largest}
    return report.output, sizes


def canvas_has_content(page) -> bool:
    """A non-blank first 3D canvas in the notebook's outputs (a screenshot of its area).

    A page screenshot clipped to the canvas, not an element screenshot: the latter waits
    for layout to settle, which would add seconds while the output area grows.
    """
    canvases = page.locator(".jp-OutputArea-output canvas")
    box = canvases.first.bounding_box() if canvases.count() else None
    if not box or box["width"] < 10 or box["height"] < 10:
        return False
    png = page.screenshot(clip=box)
    pixels = np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB")).astype(int)
    background = pixels[2, 2]
    return int((np.abs(pixels - background).max(axis=2) > 40).sum()) > 200


def wait_for_frame(page, since: float) -> float:
    deadline = since + 300
    while not canvas_has_content(page):
        if time.perf_counter() > deadline:
            raise TimeoutError("no rendered canvas within 300 s")
        page.wait_for_timeout(50)
    return time.perf_counter()


def visit(page, url: str) -> dict[str, float]:
    """Page open -> kernel idle -> (run all) -> first non-blank 3D canvas."""
    start = time.perf_counter()
    page.goto(f"{url}/lab/index.html?path=bench.ipynb")
    wait_for_idle_kernel(page, timeout=300_000)
    idle = time.perf_counter()
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    frame = wait_for_frame(page, idle)
    return {
        "page_to_idle": idle - start,
        "run_all_to_frame": frame - idle,
        "page_to_frame": frame - start,
    }


def time_once(browser, url: str) -> dict[str, float]:
    with GuardedPage(
        browser, viewport=(1280, 900), allowed_errors=("Unsatisfied version",)
    ) as guarded:
        return visit(guarded.page, url)


def time_second_visit(browser, url: str) -> dict[str, float]:
    """A first and a second visit in one context, whose requests are observed, not routed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    outside: list[str] = []
    context.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            else outside.append(request.url)
        ),
    )
    try:
        times = {}
        for name in ("first", "second"):
            page = context.new_page()
            times[name] = visit(page, url)["page_to_frame"]
            page.close()
    finally:
        context.close()
    if outside:
        raise RuntimeError(f"requests to other hosts: {outside[:5]}")
    return {"first_visit_page_to_frame": times["first"],
            "second_visit_page_to_frame": times["second"]}  # fmt: skip


FLOOR_WORKER = """const n = {n};
self.onmessage = () => {
  const voxels = new Float32Array(n * n * n).fill(1.5);  // the volume's bytes, in the worker
  const sent = performance.timeOrigin + performance.now();
  self.postMessage({ sent, voxels });  // copied (structured clone), as the kernel's comms are
};
""".replace("{n}", str(TRANSFER_SIZE))
FLOOR_SCRIPT = """const worker = new Worker('postmessage-floor-worker.js');
window.floor = () => new Promise((resolve) => {
  worker.onmessage = ({ data }) => resolve(
    { seconds: (performance.timeOrigin + performance.now() - data.sent) / 1000,
      bytes: data.voxels.byteLength });
  worker.postMessage('go');
});
"""


def time_transfer(browser, site: Path, url: str) -> dict[str, float]:
    """256³ float32 from Python to the page in the site, and worker -> page postMessage."""
    (site / "postmessage-floor-worker.js").write_text(FLOOR_WORKER)
    (site / "postmessage-floor.js").write_text(FLOOR_SCRIPT)
    (site / "postmessage-floor.html").write_text(
        '<!doctype html><script src="postmessage-floor.js"></script>'
    )
    with GuardedPage(browser) as guarded:
        guarded.page.goto(f"{url}/postmessage-floor.html")
        floors = [guarded.page.evaluate("window.floor()") for _ in range(3)]
    floor = min(floors, key=lambda f: f["seconds"])
    with GuardedPage(
        browser, viewport=(1280, 900), allowed_errors=("Unsatisfied version",)
    ) as guarded:
        page = guarded.page
        page.goto(f"{url}/lab/index.html?path=transfer.ipynb")
        wait_for_idle_kernel(page, timeout=300_000)
        run_cell(page, 0)
        start_cell(page, 1)
        received_at(page, 8)  # the viewer is on screen
        start_cell(page, 2)
        received = received_at(page, TRANSFER_SIZE)
        run_cell(page, 3)
        kernel = bench_output(page)
    seconds = received - kernel["t0"]
    return {
        "bytes": kernel["nbytes"],
        "voxlite_seconds": seconds,
        "voxlite_bandwidth": kernel["nbytes"] / seconds,
        "floor_seconds": floor["seconds"],
        "floor_bandwidth": floor["bytes"] / floor["seconds"],
        "memcpy_seconds": kernel["copy_s"],
        "encode_seconds": kernel["encode_s"] if isinstance(kernel["encode_s"], float) else None,
    }


def timeline(browser, url: str) -> list[dict]:
    """Where the seconds of one cold load go, from page open to the first frame."""
    events: list[dict] = []
    with GuardedPage(
        browser, viewport=(1280, 900), allowed_errors=("Unsatisfied version",)
    ) as guarded:
        page = guarded.page
        workers = []
        start = time.perf_counter()

        def mark(what: str, at: float | None = None) -> None:
            events.append({"at": round((at or time.perf_counter()) - start, 3), "what": what})

        page.on("worker", lambda worker: (workers.append(worker), mark("worker started")))
        page.goto(f"{url}/lab/index.html?path=bench.ipynb")
        mark("page loaded")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=300_000)
        mark("notebook shown")
        wait_for_idle_kernel(page, timeout=300_000)
        mark("kernel idle")
        for index, label in enumerate(("import voxlite", "make the 64³ sphere", "voxlite.view")):
            run_cell(page, index)
            mark(f"cell {index + 1} done: {label}")
        wait_for_frame(page, time.perf_counter())
        mark("first 3D frame")
        page_origin = page.evaluate("performance.timeOrigin")
        for worker in workers:
            entries = worker.evaluate(
                """() => ({ origin: performance.timeOrigin,
                    entries: performance.getEntriesByType('resource').map((e) => [e.name
                        .split('/').pop(), e.startTime, e.responseEnd, e.encodedBodySize]) })"""
            )
            names = [e[0] for e in entries["entries"]]
            if "pyodide.asm.wasm" not in names:
                continue
            shift = (entries["origin"] - page_origin) / 1000
            for name, begin, end, size in entries["entries"]:
                events.append({"at": round(shift + begin / 1000, 3), "file": name,
                               "what": f"kernel worker requests {name} ({size / 1e6:.2f} MB)",
                               "until": round(shift + end / 1000, 3)})  # fmt: skip
    return sorted(events, key=lambda e: e["at"])


def phases(events: list[dict]) -> dict[str, float]:
    """The timeline cut into phases (seconds each).

    Pyodide loads the kernel's preloaded packages silently, so the end of that phase is
    read from the kernel worker's first request to the drive: it mounts the drive and
    changes into it right after ``loadPyodide`` has returned (jupyterlite-pyodide-kernel
    0.6's worker: initRuntime, initFilesystem, initPackageManager, initKernel).
    """

    def first(what: str) -> dict:
        return next(e for e in events if e["what"].startswith(what))

    requests = [e for e in events if e["what"].startswith("kernel worker requests")]
    wasm = next(e for e in requests if e["file"] == "pyodide.asm.wasm")
    packages = [e for e in requests if e["file"].endswith((".whl", ".zip"))
                and e["file"] != "python_stdlib.zip"]  # fmt: skip
    first_package = min(e["at"] for e in packages)
    loaded = next(e["at"] for e in requests if e["file"] == "drive")
    shown, idle = first("notebook shown")["at"], first("kernel idle")["at"]
    cells = [e["at"] for e in events if e["what"].startswith("cell ")]
    frame = first("first 3D frame")["at"]
    return {
        "page open -> notebook shown (JupyterLab's own load)": shown,
        "notebook shown -> kernel worker asks for pyodide.asm.wasm": wasm["at"] - shown,
        "Pyodide's runtime: pyodide.asm.wasm downloaded and compiled as it streams, Python "
        "started (until the first package request)": first_package - wasm["at"],
        f"{len(packages)} preloaded packages: fetched, unpacked, their wasm libraries "
        "compiled (until loadPyodide returns)": loaded - first_package,
        "kernel start: piplite, pyodide_kernel imports (ipykernel, IPython ...) -> idle": idle
        - loaded,
        "cell 1: import voxlite": cells[0] - idle,
        "cell 2: make the 64³ sphere": cells[1] - cells[0],
        "cell 3: voxlite.view (until the kernel replied)": cells[2] - cells[1],
        "widget render -> first 3D frame": frame - cells[2],
        "total: page open -> first 3D frame": frame,
    }


FLOOR_PAGE = """<!doctype html><html><body><script src="static/pyodide/pyodide.js"></script>
<script>loadPyodide({indexURL: "static/pyodide/"}).then(() => { window.ready = true; });</script>
</body></html>"""


def pyodide_floor(browser, site: Path, url: str) -> float:
    (site / "pyodide-floor.html").write_text(FLOOR_PAGE)
    with GuardedPage(browser) as guarded:
        start = time.perf_counter()
        guarded.page.goto(f"{url}/pyodide-floor.html")
        guarded.page.wait_for_function("window.ready === true", timeout=300_000, polling=50)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print("building both sites …")
    voxlite_site, voxlite_mb = build("voxlite", VOXLITE_CELLS, args.size)
    peer_site, peer_mb = build(
        "ipyniivue", NIIVUE_CELLS, args.size, wheels=peer_wheels(), preload=()
    )
    names = ("voxlite", "ipyniivue", "floor", "second_visit", "transfer")
    results: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    events: list[dict] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with serving(voxlite_site) as voxlite_url, serving(peer_site) as peer_url:
            for run in range(args.runs):  # interleaved: both see the same machine load
                for name, url in (("voxlite", voxlite_url), ("ipyniivue", peer_url)):
                    for key, value in time_once(browser, url).items():
                        results[name].setdefault(key, []).append(value)
                    print(
                        f"  run {run + 1} {name}: "
                        f"{results[name]['page_to_frame'][-1]:.1f} s page -> frame"
                    )
                floor = pyodide_floor(browser, voxlite_site, voxlite_url)
                results["floor"].setdefault("page_to_pyodide", []).append(floor)
                for name, measure in (
                    ("second_visit", lambda: time_second_visit(browser, voxlite_url)),
                    ("transfer", lambda: time_transfer(browser, voxlite_site, voxlite_url)),
                ):
                    for key, value in measure().items():
                        if value is not None:
                            results[name].setdefault(key, []).append(value)
                print(f"  run {run + 1}: second visit "
                      f"{results['second_visit']['second_visit_page_to_frame'][-1]:.1f} s, "
                      f"transfer {results['transfer']['voxlite_seconds'][-1]:.2f} s "
                      f"(floor {results['transfer']['floor_seconds'][-1]:.3f} s)")  # fmt: skip
                if run == 0:
                    events = timeline(browser, voxlite_url)
        browser.close()
    report(results, voxlite_mb, peer_mb, args)
    report_timeline(events)


def report(results, voxlite_mb: float, peer_mb: float, args) -> None:
    median = {
        name: {k: statistics.median(v) for k, v in values.items()}
        for name, values in results.items()
    }
    v, p = median["voxlite"], median["ipyniivue"]
    warm, moved = median["second_visit"], median["transfer"]
    ratios = {
        "page -> first 3D frame, voxlite/ipyniivue (target <= 0.4)": v["page_to_frame"]
        / p["page_to_frame"],
        "run all -> first frame, voxlite/ipyniivue (target <= 0.3)": v["run_all_to_frame"]
        / p["run_all_to_frame"],
        "page -> kernel idle, voxlite/Pyodide alone (target <= 2.5)": v["page_to_idle"]
        / median["floor"]["page_to_pyodide"],
        "second visit page -> frame / first visit (target <= 0.5)": warm[
            "second_visit_page_to_frame"
        ]
        / warm["first_visit_page_to_frame"],
        "256³ float32 Python -> page / postMessage floor (target >= 0.5)": moved[
            "voxlite_bandwidth"
        ]
        / moved["floor_bandwidth"],
    }
    rows = [
        ("site size on disk (MB, target <= 35)", voxlite_mb["disk_mb"], peer_mb["disk_mb"]),
        ("site size gzip-sent (MB)", voxlite_mb["gzip_mb"], peer_mb["gzip_mb"]),
        *(
            (f"{key} (s, median of {args.runs})", v[key], p[key])
            for key in ("page_to_idle", "run_all_to_frame", "page_to_frame")
        ),
        ("Pyodide alone: page -> ready (s)", median["floor"]["page_to_pyodide"], float("nan")),
        ("first visit, observed context: page -> frame (s)",
         warm["first_visit_page_to_frame"], float("nan")),
        ("second visit: page -> frame (s)", warm["second_visit_page_to_frame"], float("nan")),
        ("256³ float32 Python -> page (s)", moved["voxlite_seconds"], float("nan")),
        ("  worker -> page postMessage floor (s)", moved["floor_seconds"], float("nan")),
    ]  # fmt: skip
    print(f"\n{'':50} {'voxlite':>10} {'ipyniivue':>10}")
    for label, a, b in rows:
        print(f"{label:50} {a:10.2f} {b:10.2f}")
    print()
    for label, ratio in ratios.items():
        print(f"{label:60} {ratio:6.2f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "site_startup.json"
    out.write_text(
        json.dumps(
            {
                "volume": f"{args.size}^3 uint8 sphere",
                "runs": args.runs,
                "site_mb": {"voxlite": voxlite_mb, "ipyniivue": peer_mb},
                "transfer": f"{TRANSFER_SIZE}^3 float32, set_image on a viewer on screen",
                "seconds": results,
                "median": median,
                "ratios": ratios,
                "machine": describe_machine(),
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


def report_timeline(events: list[dict]) -> None:
    if not events:
        return
    cut = phases(events)
    print("\nOne cold load of voxlite's site, phase by phase (s):")
    for label, seconds in cut.items():
        print(f"  {seconds:7.2f}  {label}")
    out = RESULTS / "site_timeline.json"
    out.write_text(json.dumps({"phases": cut, "events": events,
                               "machine": describe_machine()}, indent=2))  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
