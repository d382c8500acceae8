"""The wheel: pure Python, and it carries the front-end bundle however it is built."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
REQUIRED = [
    "voxlite/static/widget.js",
    "voxlite/static/THIRD_PARTY_LICENSES.txt",
    "voxlite/presets.json",
    "voxlite/data/mni152/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "voxlite/data/mni152/LICENSE",
]

pytestmark = pytest.mark.slow


def pip_wheel(source: Path, out: Path, **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    return subprocess.run(
        [*command, "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )


def build_wheel(source: Path, out: Path) -> Path:
    result = pip_wheel(source, out)
    assert result.returncode == 0, result.stderr
    (wheel,) = out.glob("voxlite-*.whl")
    return wheel


def assert_complete(wheel: Path) -> None:
    assert wheel.name.endswith("-py3-none-any.whl"), "installs in Pyodide only if pure"
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in REQUIRED if name not in names]
    assert not missing, f"wheel lacks {missing}"
    bundle = zipfile.ZipFile(wheel).read("voxlite/static/widget.js")
    assert b"voxlite-root" in bundle and len(bundle) > 500_000


def tracked_copy(destination: Path) -> Path:
    """The files git tracks (a clean clone's content), without generated ones."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def test_wheel_from_the_checkout_carries_the_bundle(tmp_path):
    assert_complete(build_wheel(ROOT, tmp_path))


def test_build_hook_bundles_the_front_end_when_it_is_missing(tmp_path):
    if shutil.which("npm") is None:
        pytest.fail("npm is needed to build the front end: run scripts/setup")
    source = tracked_copy(tmp_path / "src")
    assert not (source / "src/voxlite/static/widget.js").exists()
    # Reuse the installed npm packages: tests make no registry request.
    (source / "js/node_modules").symlink_to(ROOT / "js/node_modules")
    assert_complete(build_wheel(source, tmp_path / "dist"))


def test_build_without_npm_explains_what_is_missing(tmp_path):
    source = tracked_copy(tmp_path / "src")
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = pip_wheel(source, tmp_path / "dist", PATH=str(empty_path))
    assert result.returncode != 0
    assert "npm is not installed" in result.stdout + result.stderr
