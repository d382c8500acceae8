"""The viewer app's start-up against the JupyterLite site's, measured in one run.

    .venv/bin/python -m benchmarks.app_startup [--runs 3]

Builds the app (`voxlite app build`, with its demo data) and the default demo site
(`voxlite site build`) from the same Pyodide, then, interleaved, in cold browser
contexts on 127.0.0.1:

* app: page open -> interactive (Python ready, the Open buttons enabled), then the MRI
  demo file (MNI152 T1, 197 x 233 x 189, NIfTI .gz) set in the file input -> its first
  frame on screen;
* site: page open -> kernel idle (Hello3DWorld.ipynb);
* Pyodide alone, loaded from the app's folder (the floor of both).

Results and the machine description go to benchmarks/results/app_startup.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from benchmarks.machine import describe_machine
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS, GuardedPage
from tests.harness.jupyter import wait_for_idle_kernel
from voxlite.app import AppOptions, build_app
from voxlite.site import SiteOptions, build_site, serving

HERE = Path(__file__).parent

WORK = HERE / ".work"
RESULTS = HERE / "results"
TIMEOUT = 600_000
FLOOR_PAGE = """<!doctype html><html><body><script src="pyodide/pyodide.js"></script>
<script>loadPyodide({indexURL: "pyodide/"}).then(() => { window.ready = true; });</script>
</body></html>"""


def time_app(browser, url: str, app: Path) -> dict[str, float]:
    with GuardedPage(browser, viewport=(1280, 800)) as guarded:
        page = guarded.page
        start = time.perf_counter()
        page.goto(f"{url}/index.html")
        page.locator("body[data-app-state=ready]").wait_for(state="attached", timeout=TIMEOUT)
        ready = time.perf_counter()
        page.set_input_files("#file-input", app / "data" / "mni152_t1.nii.gz")
        page.locator("body[data-opened='1']").wait_for(state="attached", timeout=TIMEOUT)
        frame = time.perf_counter()
        inside = page.evaluate("window.voxliteApp.timings")
        return {
            "page_to_ready": ready - start,
            "file_to_frame": frame - ready,
            "page_to_frame": frame - start,
            # The same, timed inside the page (no polling delay).
            "in_page_ready": inside["ready"],
            "in_page_file_to_frame": inside["lastFrame"] - inside["fileStart"],
            "worker_pyodide": inside["worker"]["pyodide"],
            "worker_packages": inside["worker"]["packages"],
            "worker_voxlite": inside["worker"]["voxlite"],
        }


def time_site(browser, url: str) -> dict[str, float]:
    with GuardedPage(
        browser, viewport=(1280, 900), allowed_errors=("Unsatisfied version",)
    ) as guarded:
        start = time.perf_counter()
        guarded.page.goto(f"{url}/lab/index.html?path=Hello3DWorld.ipynb")
        wait_for_idle_kernel(guarded.page, timeout=TIMEOUT)
        idle = time.perf_counter()
        return {"page_to_idle": idle - start}


def time_floor(browser, url: str) -> dict[str, float]:
    with GuardedPage(browser) as guarded:
        start = time.perf_counter()
        guarded.page.goto(f"{url}/pyodide-floor.html")
        guarded.page.wait_for_function("window.ready === true", timeout=TIMEOUT, polling=50)
        return {"page_to_pyodide": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    quiet = lambda line: None  # noqa: E731
    print("building the app and the demo site …")
    app = build_app(AppOptions(output=WORK / "app"), log=quiet)
    site = build_site(SiteOptions(output=WORK / "site-demo"), log=quiet)
    (app.output / "pyodide-floor.html").write_text(FLOOR_PAGE)
    results: dict[str, dict[str, list[float]]] = {"app": {}, "site": {}, "floor": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with serving(app.output) as app_url, serving(site.output) as site_url:
            for run in range(args.runs):  # interleaved: all see the same machine load
                measured = {
                    "app": time_app(browser, app_url, app.output),
                    "site": time_site(browser, site_url),
                    "floor": time_floor(browser, app_url),
                }
                for name, values in measured.items():
                    for key, value in values.items():
                        results[name].setdefault(key, []).append(value)
                print(f"  run {run + 1}: app ready {measured['app']['page_to_ready']:.1f} s, "
                      f"file -> frame {measured['app']['file_to_frame']:.1f} s; site idle "
                      f"{measured['site']['page_to_idle']:.1f} s; Pyodide alone "
                      f"{measured['floor']['page_to_pyodide']:.1f} s")  # fmt: skip
        browser.close()
    report(results, app.total_bytes / 1e6, site.total_bytes / 1e6, args.runs)


def report(results, app_mb: float, site_mb: float, runs: int) -> None:
    median = {name: {k: statistics.median(v) for k, v in values.items()}
              for name, values in results.items()}  # fmt: skip
    a, s, f = median["app"], median["site"], median["floor"]
    rows = [
        ("size on disk (MB)", app_mb, site_mb),
        ("page open -> interactive / kernel idle (s)", a["page_to_ready"], s["page_to_idle"]),
        ("MRI file -> first frame (s)", a["file_to_frame"], float("nan")),
        ("page open -> MRI on screen (s)", a["page_to_frame"], float("nan")),
        ("Pyodide alone: page -> ready (s)", f["page_to_pyodide"], f["page_to_pyodide"]),
    ]
    print(f"\n{'median of ' + str(runs):44} {'app':>10} {'site':>10}")
    for label, x, y in rows:
        print(f"{label:44} {x:10.2f} {y:10.2f}")
    ratios = {
        "app ready / site kernel idle": a["page_to_ready"] / s["page_to_idle"],
        "app ready / Pyodide alone (target <= 1.5)": a["page_to_ready"] / f["page_to_pyodide"],
        "app size / site size": app_mb / site_mb,
    }
    for label, ratio in ratios.items():
        print(f"{label:44} {ratio:10.2f}")
    print(
        "worker phases (s since the worker started, medians): "
        + ", ".join(f"{k.removeprefix('worker_')} {a[k]:.2f}" for k in a if k.startswith("worker_"))
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "app_startup.json"
    out.write_text(json.dumps({
        "file": "MNI152 2009 T1, 197x233x189 uint8, NIfTI .nii.gz (1.6 MB)",
        "runs": runs,
        "size_mb": {"app": app_mb, "site": site_mb},
        "seconds": results,
        "median": median,
        "ratios": ratios,
        "machine": describe_machine(),
    }, indent=2))  # fmt: skip
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
