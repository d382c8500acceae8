"""Build hook: make sure the wheel carries a fresh front-end bundle.

The bundle (src/voxlite/static/widget.js) is generated from js/ by esbuild and
is not in git. When it is missing or older than its sources, this hook runs
``npm ci`` (if js/node_modules is absent) and ``npm run build``. Set
VOXLITE_SKIP_JS_BUILD=1 to package whatever bundle is present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ROOT = Path(__file__).parent
JS = ROOT / "js"
BUNDLE = ROOT / "src" / "voxlite" / "static" / "widget.js"
SOURCES = [
    *JS.glob("src/*.js"),
    JS / "build.mjs",
    JS / "package-lock.json",
    ROOT / "src" / "voxlite" / "presets.json",
]


def bundle_is_stale() -> bool:
    if not BUNDLE.exists():
        return True
    built = BUNDLE.stat().st_mtime
    return any(source.exists() and source.stat().st_mtime > built for source in SOURCES)


def build_bundle() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "voxlite's front-end bundle must be built, but npm is not installed: "
            "install Node.js and npm (apt-get install nodejs npm), or run scripts/setup"
        )
    if not (JS / "node_modules").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True)
    subprocess.run([npm, "run", "build"], cwd=JS, check=True)


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or os.environ.get("VOXLITE_SKIP_JS_BUILD"):
            return
        if JS.exists() and bundle_is_stale():
            build_bundle()
        if not BUNDLE.exists():
            raise RuntimeError(f"front-end bundle {BUNDLE} is missing after the build step")
