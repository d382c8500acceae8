"""Interaction cost in a real JupyterLab, voxlite against ipyniivue on the same 256³ volume.

    .venv/bin/python -m benchmarks.interaction [--runs 2] [--size 256]

Two figures per viewer, measured the same way for both, in one run:

* **wheel → 2D frame**: a mouse-wheel notch over an axial 2D view (voxlite:
  ``views="axial"``; NiiVue: ``SliceType.AXIAL``) until the next frame is drawn;
* **drag frame time**: the median time between drawn frames while the mouse drags the
  3D view (voxlite: ``views="3d"``; NiiVue: ``SliceType.RENDER``).

"Drawn" is timed in the page by the same instrument for both: WebGL2 draw calls are
counted (``drawArrays``/``drawElements``), and at each animation frame after some,
``gl.finish()`` waits until the GPU has drawn them. WebGL runs on SwiftShader (the CPU),
so the figures are slower than on a GPU; the ratio voxlite / ipyniivue is the result
(target: at most 1.0). Results: benchmarks/results/interaction.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.large_volumes import (
    VOLUME,
    Session,
    jupyterlab,
    lab_root,
    peer_lib,
    ratio,
    run_setup,
)
from benchmarks.machine import describe_machine
from tests.harness.browser import drag
from tests.harness.jupyter import run_cell, wait_for_idle_kernel

RESULTS = Path(__file__).parent / "results"
# Counts draw calls and times their completion: the same instrument for both viewers.
INSTRUMENT = """
(() => {
  const draws = { count: 0, frames: [] };
  window.voxliteBenchDraws = draws;
  const wrap = (proto) => {
    const names = ['drawArrays', 'drawElements', 'drawArraysInstanced', 'drawElementsInstanced'];
    for (const name of names) {
      const original = proto[name];
      if (!original) continue;
      proto[name] = function (...args) {
        draws.count += 1;
        draws.gl = this;
        return original.apply(this, args);
      };
    }
  };
  wrap(WebGL2RenderingContext.prototype);
  let seen = 0;
  const tick = () => {
    if (draws.count !== seen && draws.gl) {
      seen = draws.count;
      draws.gl.finish();
      draws.frames.push(performance.now());
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""
VOXLITE_CELLS = [
    "import voxlite\n" + VOLUME,
    "v = voxlite.view(vol, views='{views}', ui_collapsed=True, height=400)\nv",
]
NIIVUE_CELLS = [
    "import ipyniivue, nibabel\n" + VOLUME,
    "nii = nibabel.Nifti1Image(vol.transpose(2, 1, 0), np.eye(4))\n"
    "nv = ipyniivue.NiiVue(height=400)\n"
    "nv.load_volumes([ipyniivue.Volume(data=nii.to_bytes(), name='vol.nii')])\n"
    "nv.set_slice_type(ipyniivue.SliceType.{slice_type})\n"
    "nv",
]


def settle(page, quiet_ms: float = 1500, timeout: float = 300) -> None:
    """Wait until nothing has been drawn for ``quiet_ms`` (the viewer is idle)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = page.evaluate("(window.voxliteBenchDraws.frames.slice(-1)[0] || 0)")
        now = page.evaluate("performance.now()")
        if last and now - last > quiet_ms:
            return
        page.wait_for_timeout(250)
    raise TimeoutError("the viewer never became idle")


def canvas_centre(page) -> tuple[float, float]:
    box = page.locator(".jp-OutputArea-output canvas").first.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def open_viewer(session: Session, tool: str, size: int, kind: str):
    """A notebook whose viewer shows ``kind`` ("2d" or "3d"), rendered and idle."""
    cells = VOXLITE_CELLS if tool == "voxlite" else NIIVUE_CELLS
    fill = {"views": "axial" if kind == "2d" else "3d"}
    fill["slice_type"] = "AXIAL" if kind == "2d" else "RENDER"
    cells = [c.replace("{views}", fill["views"]) for c in cells]
    cells = [c.replace("{slice_type}", fill["slice_type"]) for c in cells]
    return session.notebook(cells, size, f"{tool}-{kind}")


def wheel_to_frame(page, repeats: int = 5) -> float:
    """Median ms from a wheel notch over the view to its next drawn frame."""
    x, y = canvas_centre(page)
    page.mouse.move(x, y)
    times = []
    for _ in range(repeats):
        settle(page, 800)
        before = page.evaluate("window.voxliteBenchDraws.frames.length")
        start = page.evaluate("performance.now()")
        page.mouse.wheel(0, 120)
        page.wait_for_function(f"window.voxliteBenchDraws.frames.length > {before}", timeout=60_000)
        done = page.evaluate(f"window.voxliteBenchDraws.frames[{before}]")
        times.append(done - start)
    return statistics.median(times)


def drag_frame_time(page) -> float:
    """Median ms between frames drawn while dragging across the 3D view."""
    settle(page)
    x, y = canvas_centre(page)
    before = page.evaluate("window.voxliteBenchDraws.frames.length")
    drag(page, (x - 100, y), (200, 40), steps=40)
    page.wait_for_timeout(500)
    frames = page.evaluate(f"window.voxliteBenchDraws.frames.slice({before})")
    gaps = [b - a for a, b in itertools.pairwise(frames)]
    if len(gaps) < 3:
        raise RuntimeError(f"only {len(frames)} frames were drawn during the drag")
    return statistics.median(gaps)


def measure(session: Session, tool: str, size: int, kind: str) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        with open_viewer(session, tool, size, kind) as page:
            page.context.add_init_script(INSTRUMENT)  # for the page from now on
            page.reload()
            wait_for_idle_kernel(page, timeout=300_000)
            run_setup(page)  # the volume
            run_cell(page, 1)  # the viewer
            page.locator(".jp-OutputArea-output canvas").first.wait_for(timeout=300_000)
            settle(page)
            if kind == "2d":
                return {"wheel_ms": wheel_to_frame(page)}
            return {"drag_ms": drag_frame_time(page)}

    return session.attempt(f"{tool} {kind} {size}³", run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    root = lab_root()
    results: dict[str, list[float]] = {}
    with jupyterlab(root, peer_lib()) as url:
        session = Session(url, root)
        try:
            for run in range(args.runs):
                tools = ("voxlite", "ipyniivue") if run % 2 == 0 else ("ipyniivue", "voxlite")
                for tool in tools:
                    for kind, key in (("2d", "wheel_ms"), ("3d", "drag_ms")):
                        value = measure(session, tool, args.size, kind).get(key)
                        if value is not None:
                            results.setdefault(f"{tool}_{key}", []).append(value)
        finally:
            session.close()
    summary = {key: statistics.median(values) for key, values in results.items()}
    ratios = {
        "wheel_to_frame": ratio(summary.get("voxlite_wheel_ms"), summary.get("ipyniivue_wheel_ms")),
        "drag_frame_time": ratio(summary.get("voxlite_drag_ms"), summary.get("ipyniivue_drag_ms")),
    }
    for name, value in ratios.items():
        print(f"{name}: voxlite / ipyniivue = {value if value is None else round(value, 2)}")
    RESULTS.mkdir(exist_ok=True)
    document = {
        "machine": describe_machine(),
        "size": args.size,
        "runs": args.runs,
        "samples": results,
        "medians_ms": summary,
        "ratios": ratios,
        "targets": {"wheel_to_frame": "<= 1.0", "drag_frame_time": "<= 1.0"},
        "outside_requests": session.outside_requests,
    }
    (RESULTS / "interaction.json").write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
