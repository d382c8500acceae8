"""Zero-server start-up: voxlite's offline site against ipyniivue's, measured in one run.

    .venv/bin/python -m benchmarks.site_startup [--runs 3] [--size 64]

Both sites are built by the same builder from the same Pyodide, differing only in
the viewer; each run opens a cold browser context (no cache) on 127.0.0.1 and
times page open -> kernel idle -> (run all) -> first non-blank 3D canvas, for a
sphere volume of size³ voxels. Beside them: Pyodide alone starting on the same
origin (the floor). Ratios are taken against the peer measured in the same run;
results go to benchmarks/results/site_startup.json.

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

from benchmarks.machine import describe_machine
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS, GuardedPage
from tests.harness.jupyter import wait_for_idle_kernel
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


def build(name: str, cells: list[str], size: int, **options) -> tuple[Path, float]:
    folder = WORK / name
    folder.mkdir(parents=True, exist_ok=True)
    notebook = write_notebook(folder / "bench.ipynb", cells, size)
    report = build_site(
        SiteOptions(output=folder / "site", notebooks=[notebook], demo=False, **options),
        log=lambda line: None,
    )
    return report.output, report.total_bytes / 1e6


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


def time_once(browser, url: str) -> dict[str, float]:
    with GuardedPage(
        browser, viewport=(1280, 900), allowed_errors=("Unsatisfied version",)
    ) as guarded:
        page = guarded.page
        start = time.perf_counter()
        page.goto(f"{url}/lab/index.html?path=bench.ipynb")
        wait_for_idle_kernel(page, timeout=300_000)
        idle = time.perf_counter()
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        deadline = idle + 300
        while not canvas_has_content(page):
            if time.perf_counter() > deadline:
                raise TimeoutError("no rendered canvas within 300 s")
            page.wait_for_timeout(50)
        frame = time.perf_counter()
        return {
            "page_to_idle": idle - start,
            "run_all_to_frame": frame - idle,
            "page_to_frame": frame - start,
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
    results: dict[str, dict[str, list[float]]] = {"voxlite": {}, "ipyniivue": {}, "floor": {}}
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
        browser.close()
    report(results, voxlite_mb, peer_mb, args)


def report(results, voxlite_mb: float, peer_mb: float, args) -> None:
    median = {
        name: {k: statistics.median(v) for k, v in values.items()}
        for name, values in results.items()
    }
    v, p = median["voxlite"], median["ipyniivue"]
    ratios = {
        "run_all_to_frame (voxlite/ipyniivue, target <= 0.4)": v["run_all_to_frame"]
        / p["run_all_to_frame"],
        "page_to_frame (voxlite/ipyniivue, target <= 0.8)": v["page_to_frame"] / p["page_to_frame"],
        "page_to_idle (voxlite/pyodide alone)": v["page_to_idle"]
        / median["floor"]["page_to_pyodide"],
    }
    rows = [
        ("site size (MB, target <= 40)", voxlite_mb, peer_mb),
        *(
            (f"{key} (s, median of {args.runs})", v[key], p[key])
            for key in ("page_to_idle", "run_all_to_frame", "page_to_frame")
        ),
        ("Pyodide alone: page -> ready (s)", median["floor"]["page_to_pyodide"], float("nan")),
    ]
    print(f"\n{'':44} {'voxlite':>10} {'ipyniivue':>10}")
    for label, a, b in rows:
        print(f"{label:44} {a:10.2f} {b:10.2f}")
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
                "seconds": results,
                "median": median,
                "ratios": ratios,
                "machine": describe_machine(),
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
