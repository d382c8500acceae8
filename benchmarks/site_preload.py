"""Does preloading voxlite pay? voxlite's benchmark site with and without its preload.

    .venv/bin/python -m benchmarks.site_preload [--runs 2]

The site of site_startup.py (``preload=("voxlite",)``, the default) against the same
site preloading nothing, whose ``import voxlite`` cell then has the kernel load voxlite,
numpy and the widgets. Interleaved cold visits, page -> kernel idle -> (run all) ->
first 3D frame; results go to benchmarks/results/site_preload.json.
"""

from __future__ import annotations

import argparse
import json
import statistics

from benchmarks import site_startup
from benchmarks.machine import describe_machine
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS
from voxlite.site import serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    cells = site_startup.VOXLITE_CELLS
    sites = {
        "preload voxlite": site_startup.build("voxlite", cells, args.size)[0],
        "preload nothing": site_startup.build("voxlite-nopreload", cells, args.size, preload=())[0],
    }
    seconds: dict[str, list[dict[str, float]]] = {name: [] for name in sites}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for run in range(args.runs):
            for name, site in sites.items():
                with serving(site) as url:
                    seconds[name].append(site_startup.time_once(browser, url))
                print(f"  run {run + 1} {name}: {seconds[name][-1]}")
        browser.close()
    median = {name: {key: statistics.median(t[key] for t in times) for key in times[0]}
              for name, times in seconds.items()}  # fmt: skip
    out = site_startup.RESULTS / "site_preload.json"
    out.write_text(json.dumps({"runs": args.runs, "seconds": seconds, "median": median,
                               "machine": describe_machine()}, indent=2))  # fmt: skip
    print(json.dumps(median, indent=2), f"\nwrote {out}", sep="\n")


if __name__ == "__main__":
    main()
