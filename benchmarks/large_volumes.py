"""Large volumes in a real JupyterLab: transfer, first frame, a peer, and memory.

    .venv/bin/python -m benchmarks.large_volumes [--runs 2] [--sizes 128 256 512] [--quick]
    .venv/bin/python -m benchmarks.large_volumes --only transfer --runs 3

A JupyterLab server runs on 127.0.0.1 (the kernel is this venv's Python) and Debian's
chromium, driven by Playwright, opens one fresh notebook per measurement, each in a
cold browser context with its own kernel (shut down afterwards), so measurements do
not share caches or memory and their order does not matter. Four figures, each a
ratio against a baseline measured in the same run:

1. transfer: bytes per second of a 256³ float32 volume from ``set_image`` on a viewer
   already on screen, in the kernel (``time.time()`` before the call), to the voxels
   being a typed array in the page
   (the widget's ``performance.mark('voxlite:image-received')``, read as epoch time),
   against ``np.copy`` of the same array in the kernel (best of 5), and against the
   transport's own floor, in the same page right after: the same bytes as one binary
   message over a raw websocket on 127.0.0.1 from a tiny tornado server (a Python
   process the benchmark starts), timed the same way, from ``time.time()`` before
   ``write_message`` to ``onmessage`` having them as a Float32Array (epoch time);
2. first frame: from triggering the view cell to a non-blank 3D canvas on screen (a
   page screenshot clipped to the canvas), for smooth uint16 blobs of each size; the
   largest size over the smallest. For the largest size, also until the widget has
   finished refining (``data-voxlite-loading`` on ``.voxlite-root`` gone), if it says so;
3. the same volumes with ipyniivue 2.4.4 (anywidget + NiiVue) in the same server:
   voxlite's time over the peer's, per size;
4. memory: peak ``tracemalloc`` while viewing a 512³ uint16 volume (from ``view`` until
   the widget has finished loading), as (volume + peak) / volume; RSS beside it
   (/proc/self/status: VmRSS now, VmHWM the peak).

A measurement that fails or times out (180 s) is recorded as such and the run goes on.
Beware the harness: Chromium reports every websocket frame, base64-encoded, to
Playwright's driver, which slows large transfers (a 128 MB frame took 1.7x as long
observed as unobserved, here) and kills the driver outright for a frame of 256 MB or
more (ipyniivue sends a 512³ uint16 NIfTI as one); the driver is then started afresh,
and what it wrote as it died is in .work/large-lab/driver.log.

The peer's pure wheels are pinned in peer-requirements.txt (as for site_startup.py);
those this venv lacks are unzipped into .work/peer-lib, which is on the server's
PYTHONPATH (nothing is installed into the venv). Any request leaving 127.0.0.1 fails
the run. Results and the machine description go to benchmarks/results/large_volumes.json.
Timings are printed, never asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
from PIL import Image as PILImage

from benchmarks.machine import describe_machine
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS, GuardedPage
from tests.harness.jupyter import jupyterlab_server, run_cell, wait_for_idle_kernel
from voxlite.site.sources import cache_dir, download_pure_wheels

HERE = Path(__file__).parent
WORK = HERE / ".work"
RESULTS = HERE / "results"
PEER_LIB = WORK / "peer-lib"
TIMEOUT = 180.0  # seconds for any one wait in the page
VIEWPORT = (1280, 1000)
# shown as progress
SECONDS = ("seconds", "websocket_floor_seconds", "encode_seconds", "first_frame", "refined")

# A smooth blob plus noise, made slab by slab so that making it peaks at about its size.
VOLUME = """\
import numpy as np
n = {n}
r = np.linspace(-1, 1, n, dtype=np.float32) ** 2
rng = np.random.default_rng(0)
vol = np.empty((n, n, n), np.uint16)
for i in range(n):
    blob = 3000 * np.exp(-4 * (r[i] + r[:, None] + 0.5 * r[None, :]))
    vol[i] = blob + rng.integers(0, 300, (n, n), dtype=np.uint16)
del blob"""
REPORT = "import json\nprint('BENCH=' + json.dumps({fields}))"

TRANSFER_CELLS = [
    "import json, time\n"
    "import numpy as np\n"
    "import voxlite, voxlite.transfer\n"
    "vol = np.random.default_rng(0).random(({n}, {n}, {n}), dtype=np.float32)\n"
    "def best(fn, repeat):\n"
    "    times = []\n"
    "    for _ in range(repeat):\n"
    "        start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)\n"
    "    return min(times)\n"
    "copy_s = best(lambda: np.copy(vol), 5)\n"
    "try:\n"
    "    encode_s = best(lambda: voxlite.transfer.encode_image(voxlite.as_image(vol)), 3)\n"
    "except Exception as error:\n"
    "    encode_s = repr(error)",
    # A viewer on screen first, so that loading the front end is not counted; its budget
    # (512³, previews up to 256³) sends the volume whole, in one message.
    "v = voxlite.view(np.zeros((8, 8, 8), np.float32), ui_collapsed=True, height=300,"
    " max_voxels=512**3)\nv",
    "t0 = time.time(); v.set_image(vol)",
    REPORT.format(fields="dict(t0=t0, copy_s=copy_s, encode_s=encode_s, nbytes=vol.nbytes)"),
]
VOXLITE_CELLS = [
    "import voxlite\n" + VOLUME,
    "voxlite.view(vol, ui_collapsed=True, height=400)",
]
NIIVUE_CELLS = [
    "import ipyniivue, nibabel\n" + VOLUME,
    "nii = nibabel.Nifti1Image(vol.transpose(2, 1, 0), np.eye(4))\n"
    "nv = ipyniivue.NiiVue(height=400)\n"
    "nv.load_volumes([ipyniivue.Volume(data=nii.to_bytes(), name='vol.nii')])\n"
    "nv.set_slice_type(ipyniivue.SliceType.RENDER)\n"
    "nv",
]
MEMORY_CELLS = [
    "import tracemalloc\n"
    "import voxlite\n"
    "def rss():  # this process's resident memory now and at most (MiB), from /proc\n"
    "    status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
    "    return {key: int(status[key].split()[0]) * 1024 for key in ('VmRSS', 'VmHWM')}\n"
    + VOLUME
    + "\nrss_before = rss()",
    "tracemalloc.start()\nv = voxlite.view(vol, ui_collapsed=True, height=400)\nv",
    REPORT.format(
        fields="dict(nbytes=vol.nbytes, peak=tracemalloc.get_traced_memory()[1],"
        " rss_before=rss_before, rss_after=rss())"
    ),
]

# The transport's floor: a tornado websocket server in its own Python process (as the
# kernel is) that holds the transfer's bytes and, on each "go", records time.time() and
# sends them as one binary message, then that time as text.
FLOOR_SERVER = """\
import json, sys, time
import numpy as np
import tornado.httpserver, tornado.ioloop, tornado.netutil, tornado.web, tornado.websocket
n = int(sys.argv[1])
data = np.random.default_rng(0).random((n, n, n), dtype=np.float32).tobytes()
class Echo(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True
    async def on_message(self, message):
        t0 = time.time()
        await self.write_message(data, binary=True)
        await self.write_message(json.dumps(dict(t0=t0, nbytes=len(data))))
app = tornado.web.Application([('/floor', Echo)], websocket_max_message_size=2**31)
sockets = tornado.netutil.bind_sockets(0, '127.0.0.1')
tornado.httpserver.HTTPServer(app).add_sockets(sockets)
print(sockets[0].getsockname()[1], flush=True)
tornado.ioloop.IOLoop.current().start()
"""
# In the page: on the binary message, the time it is a Float32Array (as voxlite's mark).
FLOOR_PAGE = """(url) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    let received = null;
    ws.onopen = () => ws.send('go');
    ws.onerror = () => reject(new Error('websocket error'));
    ws.onmessage = (event) => {
        if (typeof event.data !== 'string') {
            const voxels = new Float32Array(event.data);
            received = { at: performance.timeOrigin + performance.now(), bytes: voxels.byteLength };
        } else {
            ws.close();
            resolve({ ...received, ...JSON.parse(event.data) });
        }
    };
})"""


@contextmanager
def floor_server(size: int) -> Iterator[str]:
    """The websocket floor's server for size³ float32, as a ``ws://127.0.0.1`` URL."""
    process = subprocess.Popen(
        [sys.executable, "-c", FLOOR_SERVER, str(size)], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(process.stdout.readline())
        yield f"ws://127.0.0.1:{port}/floor"
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- the server ---------------------------------------------------------------------------


def peer_lib() -> Path:
    """The peer's wheels this venv lacks (ipyniivue), unzipped into one folder."""
    if PEER_LIB.exists():
        shutil.rmtree(PEER_LIB)
    PEER_LIB.mkdir(parents=True)
    for wheel in download_pure_wheels(HERE / "peer-requirements.txt", cache_dir() / "peers"):
        try:
            importlib.metadata.distribution(wheel.name.split("-")[0])
        except importlib.metadata.PackageNotFoundError:
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(PEER_LIB)
    return PEER_LIB


def jupyterlab(root: Path, pythonpath: Path) -> Any:
    """A JupyterLab server on 127.0.0.1 serving ``root``, as tests/browser runs it."""
    # shutdown_kernels() calls the REST API without a token
    return jupyterlab_server(
        root, "--ServerApp.disable_check_xsrf=True", pythonpath=str(pythonpath)
    )


# --- one notebook in one cold context -----------------------------------------------------


class Session:
    """One browser at a time, one notebook per measurement; keeps what pages saw.

    After any failure the driver and browser are started afresh: Playwright's driver
    dies ("Zone Allocation failed") when the page receives a websocket frame of 256 MB.
    """

    def __init__(self, url: str, root: Path) -> None:
        self.url, self.root = url, root
        self.outside_requests: list[str] = []
        self.errors: list[str] = []
        self.count = 0
        self.playwright: Any = None
        self.browser: Any = None
        self.launch()

    def launch(self) -> None:
        from playwright.sync_api import sync_playwright

        self.close()
        with stderr_to(self.root / "driver.log"):  # where a dying driver writes its stack
            self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

    def close(self) -> None:
        if self.playwright is not None:
            with suppress(Exception):  # the driver may be gone already
                self.browser.close()
            with suppress(Exception):
                self.playwright.stop()
            self.playwright = self.browser = None

    def alive(self) -> bool:
        try:
            self.browser.new_context().close()
            return True
        except Exception:
            return False

    @contextmanager
    def notebook(self, cells: list[str], size: int, name: str) -> Iterator[Any]:
        """A new notebook of ``cells`` open in its own workspace, context and kernel."""
        self.count += 1
        stem = f"{self.count:02d}-{name}-{size}"
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(c.replace("{n}", str(size))) for c in cells]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(notebook, self.root / f"{stem}.ipynb")
        guarded = GuardedPage(self.browser, viewport=VIEWPORT)
        try:
            guarded.page.goto(f"{self.url}/lab/workspaces/{stem}/tree/{stem}.ipynb")
            wait_for_idle_kernel(guarded.page, timeout=TIMEOUT * 1000)
            yield guarded.page
        finally:
            self.outside_requests += guarded.outside_requests
            self.errors += [f"{stem}: {e}" for e in guarded.errors]
            with suppress(Exception):
                guarded.close(check=False)  # counted above, over the whole run
            shutdown_kernels(self.url)

    def attempt(self, label: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """A measurement's result, or what went wrong: one failure does not end the run."""
        started = time.perf_counter()
        try:
            result = measure()
        except Exception as error:
            message = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
            if not self.alive():
                message += f" (the browser or Playwright's driver died; see {self.root}/driver.log)"
            result = {"error": message}
            self.launch()
        took = time.perf_counter() - started
        shown = result.get("error") or ", ".join(
            f"{k} {v:.2f} s" for k, v in result.items() if isinstance(v, float) and k in SECONDS
        )
        print(f"  {label}: {shown} ({took:.0f} s)", flush=True)
        return result


@contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """File descriptor 2 sent to ``path`` for a while: what child processes inherit."""
    saved = os.dup(2)
    with open(path, "a") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def shutdown_kernels(url: str) -> None:
    """End every notebook session on the server (each measurement has its own kernel)."""
    for session in json.load(urllib.request.urlopen(f"{url}/api/sessions", timeout=30)):
        request = urllib.request.Request(f"{url}/api/sessions/{session['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=60)


def start_cell(page, index: int) -> None:
    """Run a cell without waiting for it (run_cell waits until the kernel replies)."""
    page.evaluate(
        """(index) => {
            const panel = window.jupyterapp.shell.currentWidget;
            panel.content.activeCellIndex = index;
            window.jupyterapp.commands.execute('notebook:run-cell');
        }""",
        index,
    )


def bench_output(page) -> dict[str, Any]:
    """The ``BENCH=`` line a report cell printed."""
    output = page.locator(".jp-OutputArea-output", has_text="BENCH=").first
    output.wait_for(timeout=TIMEOUT * 1000)
    return json.loads(output.inner_text().split("BENCH=", 1)[1].strip().splitlines()[0])


def has_content(page) -> bool:
    """Whether the first output canvas, as on screen, shows something.

    As site_startup.canvas_has_content, a page screenshot clipped to the canvas (an
    element screenshot would wait for the output area's layout to settle), but counting
    at least 1 % of the canvas as different from its corner, by a smaller step (NiiVue
    renders these blobs dim): voxlite's collapsed panel (about 600 pixels) and NiiVue's
    "loading ..." text are drawn over blank canvases.
    """
    canvases = page.locator(".jp-OutputArea-output canvas")
    box = canvases.first.bounding_box() if canvases.count() else None
    if not box:
        return False
    top, bottom = max(box["y"], 0), min(box["y"] + box["height"], VIEWPORT[1])
    left, right = max(box["x"], 0), min(box["x"] + box["width"], VIEWPORT[0])
    if bottom - top < 10 or right - left < 10:
        return False
    png = page.screenshot(clip={"x": left, "y": top, "width": right - left, "height": bottom - top})
    pixels = np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB")).astype(int)
    different = (np.abs(pixels - pixels[2, 2]).max(axis=2) > 10).sum()
    return bool(different > 0.01 * pixels.shape[0] * pixels.shape[1])


def loading(page) -> str:
    """What voxlite says it is still loading ('' when done or when it does not say)."""
    return page.evaluate(
        "() => document.querySelector('.voxlite-root')?.dataset.voxliteLoading || ''"
    )


def first_frame(page, start: float, refine: bool) -> dict[str, float]:
    """Seconds from ``start`` to a non-blank canvas; with ``refine``, also until voxlite
    reports that no level is loading any more (only if it was seen loading)."""
    seen_loading = False

    def shown() -> bool:
        nonlocal seen_loading
        seen_loading = seen_loading or (refine and bool(loading(page)))
        return has_content(page)

    if not poll(page, shown, TIMEOUT - (time.perf_counter() - start)):
        raise TimeoutError(f"no frame within {TIMEOUT:.0f} s")
    result = {"first_frame": time.perf_counter() - start}
    if refine:
        if not seen_loading:  # the attribute may be set just after the first (coarse) frame
            seen_loading = poll(page, lambda: bool(loading(page)), 2.0)
        if seen_loading and poll(page, lambda: not loading(page), TIMEOUT):
            result["refined"] = time.perf_counter() - start
    return result


def poll(page, test: Callable[[], bool], timeout: float) -> bool:
    """Whether ``test`` became true within ``timeout`` seconds (tried at least once)."""
    deadline = time.perf_counter() + timeout
    while not test():
        if time.perf_counter() > deadline:
            return False
        page.wait_for_timeout(50)
    return True


def received_at(page, size: int) -> float:
    """Epoch seconds at which the page had the size³ voxels as a typed array."""
    handle = page.wait_for_function(
        """(n) => {
            const mark = performance.getEntriesByName('voxlite:image-received').find(
                (m) => m.detail && JSON.stringify(m.detail.shape) === JSON.stringify([n, n, n]));
            return mark ? performance.timeOrigin + mark.startTime : null;
        }""",
        arg=size,
        timeout=TIMEOUT * 1000,
        polling=20,
    )
    return handle.json_value() / 1000


# --- the measurements ---------------------------------------------------------------------


def run_setup(page) -> None:
    run_cell(page, 0)  # resolves when the kernel has replied
    wait_for_idle_kernel(page, timeout=TIMEOUT * 1000)


def measure_transfer(session: Session, size: int, floor_url: str) -> dict[str, Any]:
    with session.notebook(TRANSFER_CELLS, size, "transfer") as page:
        run_setup(page)
        start_cell(page, 1)
        received_at(page, 8)  # the viewer is on screen
        start_cell(page, 2)
        received = received_at(page, size)
        run_cell(page, 3)
        kernel = bench_output(page)
        floor = page.evaluate(FLOOR_PAGE, floor_url)  # the same page, the same bytes
    if floor["bytes"] != kernel["nbytes"]:
        raise RuntimeError(f"the floor sent {floor['bytes']} bytes, voxlite {kernel['nbytes']}")
    seconds = received - kernel["t0"]
    floor_seconds = floor["at"] / 1000 - floor["t0"]
    encode = kernel["encode_s"]
    return {
        "bytes": kernel["nbytes"],
        "seconds": seconds,
        "bandwidth": kernel["nbytes"] / seconds,
        "memcpy_seconds": kernel["copy_s"],
        "memcpy_bandwidth": kernel["nbytes"] / kernel["copy_s"],
        "encode_seconds": encode if isinstance(encode, float) else None,
        "websocket_floor_seconds": floor_seconds,
        "floor_over_voxlite": floor_seconds / seconds,
    }


def measure_first_frame(session: Session, tool: str, size: int, refine: bool) -> dict[str, Any]:
    cells = VOXLITE_CELLS if tool == "voxlite" else NIIVUE_CELLS
    with session.notebook(cells, size, tool) as page:
        run_setup(page)
        start = time.perf_counter()
        start_cell(page, 1)
        return first_frame(page, start, refine)


def measure_memory(session: Session, size: int) -> dict[str, Any]:
    with session.notebook(MEMORY_CELLS, size, "memory") as page:
        run_setup(page)
        start = time.perf_counter()
        start_cell(page, 1)
        shown = first_frame(page, start, refine=True)
        page.wait_for_timeout(2000)  # anything still on its way
        run_cell(page, 2)
        kernel = bench_output(page)
    return {
        **shown,
        "volume_bytes": kernel["nbytes"],
        "peak_traced_bytes": kernel["peak"],
        "ratio": (kernel["nbytes"] + kernel["peak"]) / kernel["nbytes"],
        "rss_before": kernel["rss_before"]["VmRSS"],
        "rss_after": kernel["rss_after"]["VmRSS"],
        "rss_peak_before": kernel["rss_before"]["VmHWM"],
        "rss_peak_after": kernel["rss_after"]["VmHWM"],
    }


def one_run(session: Session, args: argparse.Namespace, run: int) -> dict[str, Any]:
    tools = ["voxlite", "ipyniivue"] if run % 2 == 0 else ["ipyniivue", "voxlite"]
    frames: dict[str, dict[int, dict[str, Any]]] = {tool: {} for tool in tools}
    result: dict[str, Any] = {
        "transfer": session.attempt(
            f"transfer {args.transfer_size}³",
            partial(measure_transfer, session, args.transfer_size, args.floor_url),
        ),
        "first_frame": frames,
    }
    if args.only == "transfer":
        return result
    for size in args.sizes:  # both tools at one size, one after the other: the same load
        for tool in tools:
            refine = tool == "voxlite" and size == max(args.sizes)
            frames[tool][size] = session.attempt(
                f"{tool} {size}³", partial(measure_first_frame, session, tool, size, refine)
            )
    result["memory"] = session.attempt(
        f"memory {args.memory_size}³", partial(measure_memory, session, args.memory_size)
    )
    return result


# --- summary and report -------------------------------------------------------------------


def median_of(results: list[dict[str, Any]], key: str) -> float | None:
    """The median of ``key`` over the runs where it was measured (None if never)."""
    values = [r[key] for r in results if r.get(key) is not None]
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


TRANSFER_KEYS = (
    "bandwidth",
    "memcpy_bandwidth",
    "seconds",
    "encode_seconds",
    "websocket_floor_seconds",
)


def websocket_floor(runs: list[dict[str, Any]], size: int) -> dict[str, Any]:
    """voxlite's transfer against the raw websocket's, over the runs (medians)."""
    transfers = [r["transfer"] for r in runs]
    voxlite = median_of(transfers, "seconds")
    floor = median_of(transfers, "websocket_floor_seconds")
    return {
        "what": f"{size}^3 float32 Python -> page: voxlite set_image -> typed array, against one"
        " binary websocket message of the same bytes from a tornado server on 127.0.0.1"
        " to the same page (time.time() before the send -> onmessage as a Float32Array)",
        "size": size,
        "runs": len(runs),
        "voxlite_seconds": voxlite,
        "websocket_floor_seconds": floor,
        "floor_over_voxlite": ratio(floor, voxlite),
        "target": ">= 0.5",
        "raw": transfers,
    }


def summarize(runs: list[dict[str, Any]], sizes: list[int], transfer_size: int) -> dict[str, Any]:
    transfer = {key: median_of([r["transfer"] for r in runs], key) for key in TRANSFER_KEYS}
    frames = {
        tool: {
            size: {
                key: median_of([r["first_frame"][tool][size] for r in runs], key)
                for key in ("first_frame", "refined")
            }
            for size in sizes
        }
        for tool in ("voxlite", "ipyniivue")
    }
    memory = {
        key: median_of([r["memory"] for r in runs], key)
        for key in (
            "ratio",
            "peak_traced_bytes",
            "volume_bytes",
            "rss_before",
            "rss_after",
            "rss_peak_before",
            "rss_peak_after",
        )
    }
    voxlite = {size: frames["voxlite"][size]["first_frame"] for size in sizes}
    peer = {size: frames["ipyniivue"][size]["first_frame"] for size in sizes}
    return {
        "transfer": transfer,
        "websocket_floor": websocket_floor(runs, transfer_size),
        "first_frame": frames,
        "memory": memory,
        "ratios": {
            "transfer_vs_memcpy": ratio(transfer["bandwidth"], transfer["memcpy_bandwidth"]),
            "largest_vs_smallest": ratio(voxlite[sizes[-1]], voxlite[sizes[0]]),
            "voxlite_vs_ipyniivue": {size: ratio(voxlite[size], peer[size]) for size in sizes},
            "memory_vs_volume": memory["ratio"],
        },
    }


def cell(value: float | None, digits: int = 2, width: int = 9) -> str:
    return f"{'-' if value is None else f'{value:.{digits}f}':>{width}}"


def print_table(summary: dict[str, Any], args: argparse.Namespace) -> None:
    ratios, transfer, memory = summary["ratios"], summary["transfer"], summary["memory"]
    frames = summary["first_frame"]
    small, large = args.sizes[0], args.sizes[-1]
    gb = 1e9
    rows = [
        (
            f"transfer {args.transfer_size}³ float32 (GB/s)",
            cell(ratio(transfer["bandwidth"], gb), 3),
            f"memcpy {cell(ratio(transfer['memcpy_bandwidth'], gb), 2, 6)}",
            cell(ratios["transfer_vs_memcpy"], 3),
            "≥ 0.5",
        ),
        ("  view → received (s)", cell(transfer["seconds"]), "", "", ""),
        (
            "  against the websocket floor (s)",
            cell(transfer["seconds"]),
            f"floor  {cell(transfer['websocket_floor_seconds'], 2, 6)}",
            cell(summary["websocket_floor"]["floor_over_voxlite"], 3),
            "≥ 0.5",
        ),
        ("  encode in Python (s)", cell(transfer["encode_seconds"]), "", "", ""),
    ]
    for size in args.sizes:
        rows.append(
            (
                f"first frame {size}³ uint16 (s)",
                cell(frames["voxlite"][size]["first_frame"]),
                f"niivue {cell(frames['ipyniivue'][size]['first_frame'], 2, 6)}",
                cell(ratios["voxlite_vs_ipyniivue"][size]),
                "≤ 1.0",
            )
        )
        if frames["voxlite"][size]["refined"] is not None:
            rows.append((f"  {size}³ refined (s)", cell(frames["voxlite"][size]["refined"])))
    rows.append(
        (f"first frame {large}³ / {small}³", "", "", cell(ratios["largest_vs_smallest"]), "≤ 1.5")
    )
    mib = 2**20
    rows += [
        (
            f"peak memory {args.memory_size}³ uint16 (x volume)",
            "",
            "",
            cell(ratios["memory_vs_volume"]),
            "≤ 1.5",
        ),
        (
            "  tracemalloc peak / volume (MiB)",
            cell(ratio(memory["peak_traced_bytes"], mib), 0),
            f"volume {cell(ratio(memory['volume_bytes'], mib), 0, 6)}",
        ),
        (
            "  peak RSS before / after view (MiB)",
            cell(ratio(memory["rss_peak_before"], mib), 0),
            f"after  {cell(ratio(memory['rss_peak_after'], mib), 0, 6)}",
        ),
    ]
    runs = f"median of {args.runs}" if args.runs > 1 else "1 run"
    print(f"\n{f'figure ({runs})':40} {'voxlite':>9}   {'baseline':<14} {'ratio':>9}  target")
    for row in rows:
        label, value, baseline, *rest = (*row, "", "", "", "")[:5]
        print(f"{label:40} {value:>9}   {baseline:<14} {rest[0]:>9}  {rest[1]}".rstrip())


def failures(runs: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for number, run in enumerate(runs, 1):
        measured = {"transfer": run["transfer"], "memory": run["memory"]}
        for tool, sizes in run["first_frame"].items():
            measured.update({f"{tool} {size}³": result for size, result in sizes.items()})
        for label, result in measured.items():
            if "error" in result:
                yield f"run {number}, {label} failed", result["error"]


def print_floor(floor: dict[str, Any]) -> None:
    x, y = floor["voxlite_seconds"], floor["websocket_floor_seconds"]
    print(
        f"\n{floor['size']}³ float32 Python → page: voxlite {cell(x, 2, 0)} s,"
        f" websocket floor {cell(y, 2, 0)} s, ratio Y/X {cell(floor['floor_over_voxlite'], 3, 0)}"
        f" (medians of {floor['runs']}; target ≥ 0.5)"
    )


def load() -> dict[str, Any]:
    """The machine's load average now (it is shared): beside every figure."""
    one, five, fifteen = os.getloadavg()
    return {"1min": one, "5min": five, "15min": fifteen, "cores": os.cpu_count()}


def write_floor(runs, session: Session, args: argparse.Namespace) -> Path:
    """``--only transfer``: the floor's figures added to the results, the others kept."""
    out = RESULTS / "large_volumes.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    results["websocket_floor"] = {
        **websocket_floor(runs, args.transfer_size),
        "outside_requests": session.outside_requests,
        "page_errors": session.errors,
        "seconds_total": args.took,
        "load_before": args.load_before,
        "load_after": load(),
        "machine": describe_machine(),
    }
    RESULTS.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return out


def write_results(runs, summary, session: Session, args: argparse.Namespace) -> Path:
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "large_volumes.json"
    out.write_text(
        json.dumps(
            {
                "volumes": {
                    "transfer": f"{args.transfer_size}^3 float32, uniform noise",
                    "first_frame": f"{args.sizes} ^3 uint16, smooth blob + noise",
                    "memory": f"{args.memory_size}^3 uint16, smooth blob + noise",
                },
                "runs": args.runs,
                "raw": runs,
                "median": summary,
                "targets": {
                    "transfer_vs_memcpy": ">= 0.5",
                    "largest_vs_smallest": "<= 1.5",
                    "voxlite_vs_ipyniivue": "<= 1.0",
                    "memory_vs_volume": "<= 1.5",
                },
                "outside_requests": session.outside_requests,
                "page_errors": session.errors,
                "websocket_floor": summary["websocket_floor"],
                "seconds_total": args.took,
                "load_before": args.load_before,
                "load_after": load(),
                "machine": describe_machine(),
            },
            indent=2,
        )
    )
    return out


def lab_root(name: str = "large-lab") -> Path:
    """A fresh server root (``WORK / name``) whose user settings turn JupyterLab's news
    toast off."""
    root = WORK / name
    if root.exists():
        shutil.rmtree(root)
    settings = root / ".config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs (median when > 1)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--transfer-size", type=int, default=256)
    parser.add_argument("--memory-size", type=int, default=512)
    parser.add_argument("--quick", action="store_true", help="small volumes: checks the harness")
    parser.add_argument(
        "--only", choices=["transfer"], help="only the transfer and its websocket floor"
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.transfer_size, args.memory_size = [32, 64], 64, 64
    args.sizes = sorted(args.sizes)
    began = time.perf_counter()
    args.load_before = load()
    print(f"load average {args.load_before['1min']:.1f} on {os.cpu_count()} cores", flush=True)
    root = lab_root()
    runs: list[dict[str, Any]] = []
    with jupyterlab(root, peer_lib()) as url, floor_server(args.transfer_size) as floor_url:
        args.floor_url = floor_url
        session = Session(url, root)
        try:
            for run in range(args.runs):
                print(f"run {run + 1} of {args.runs}", flush=True)
                runs.append(one_run(session, args, run))
        finally:
            session.close()
    args.took = time.perf_counter() - began
    if args.only == "transfer":
        out = write_floor(runs, session, args)
    else:
        summary = summarize(runs, args.sizes, args.transfer_size)
        print_table(summary, args)
        for label, error in failures(runs):
            print(f"  {label}: {error}")
        out = write_results(runs, summary, session, args)
    print_floor(websocket_floor(runs, args.transfer_size))
    print(f"load average {load()['1min']:.1f} after (before {args.load_before['1min']:.1f})")
    print(f"\nwrote {out} ({args.took / 60:.1f} min)")
    if session.errors:
        print(f"{len(session.errors)} page error(s), in the JSON; the first: {session.errors[0]}")
    if session.outside_requests:
        sys.exit(f"FAILED: requests left 127.0.0.1: {session.outside_requests}")


if __name__ == "__main__":
    main()
