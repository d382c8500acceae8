"""The wheel: pure Python, and it carries the front-end bundle however it is built."""

import email.message
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
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


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> tuple[Path, Path]:
    """The wheel and the sdist built from the checkout, as a release would be."""
    out = tmp_path_factory.mktemp("dist")
    wheel = build_wheel(ROOT, out)
    command = [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out)]
    result = subprocess.run([*command, str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (sdist,) = out.glob("voxlite-*.tar.gz")
    return wheel, sdist


def test_wheel_from_the_checkout_carries_the_bundle(release):
    assert_complete(release[0])


def metadata_of(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_release_artifacts_pass_twine_check_and_carry_their_metadata(release):
    pytest.importorskip("twine")
    wheel, sdist = release
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    metadata = metadata_of(wheel)
    version = re.search(r'__version__ = "([^"]+)"', (ROOT / "src/voxlite/__init__.py").read_text())
    assert metadata["Version"] == version[1]
    newest = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert newest[1] == version[1], "CHANGELOG.md's newest entry names the version"
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata["Description-Content-Type"] == "text/markdown"
    classifiers = metadata.get_all("Classifier")
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    assert any(c.startswith("Development Status") for c in classifiers)
    extras = set(metadata.get_all("Provides-Extra"))
    assert {"site", "dicom", "surface", "test", "dev"} <= extras
    # Every extra is in the README's table (which may name one a parallel branch adds).
    table = set(re.findall(r"`voxlite\[(\w+)\]`", (ROOT / "README.md").read_text()))
    assert extras <= table, f"extras missing from the README's table: {extras - table}"
    with zipfile.ZipFile(wheel) as archive:
        entry_points = next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
        assert "voxlite_html = voxlite.notebook_html:VoxliteHTMLExporter" in (
            archive.read(entry_points).decode()
        )
        assert "voxlite/templates/voxlite_html/index.html.j2" in archive.namelist()
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"CHANGELOG.md", "examples/dicom_study.ipynb", "js/src/index.js"} <= names


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
