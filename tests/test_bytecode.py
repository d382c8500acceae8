"""Bytecode compiled at build time by the site's own Pyodide (voxlite.builder.bytecode)."""

import json
import shutil
import zipfile

import pytest

from tests.test_site import digest, make_wheel
from voxlite.builder.bytecode import compile_distribution
from voxlite.site import sources
from voxlite.site.pyodide import CORE_FILES, LOCK

pytestmark = pytest.mark.slow  # each boots Pyodide in Node.js (about 5 s)

# CPython 3.12's magic number (Pyodide 0.27 runs 3.12.7): the .pyc header's first 4 bytes.
MAGIC_312 = (3531).to_bytes(2, "little") + b"\r\n"


@pytest.fixture
def runtime(tmp_path):
    """A folder with the fetched Pyodide core and a lock listing two small wheels: one of
    the kernel's machinery (bytecode only), one whose sources stay (a fake voxlite)."""
    core = sources.pyodide_dir()
    if not (core / "pyodide.asm.wasm").exists() or shutil.which("node") is None:
        pytest.skip("needs `voxlite site fetch` and Node.js")
    folder = tmp_path / "pyodide"
    folder.mkdir()
    for name in CORE_FILES:
        (folder / name).symlink_to(core / name)
    packages = {}
    for name in ("small", "voxlite"):
        wheel = make_wheel(folder, name)
        packages[name] = {"name": name, "file_name": wheel.name, "sha256": digest(wheel),
                          "install_dir": "site", "depends": [], "imports": [name]}  # fmt: skip
    (folder / LOCK).write_text(json.dumps({"info": {"version": "0.27.7"},
                                           "packages": packages}))  # fmt: skip
    return folder


def test_wheels_get_unchecked_hash_pyc_of_pyodides_python(runtime, tmp_path):
    assert compile_distribution(runtime, LOCK, tmp_path / "cache", log=print) == 2
    wheel = next(runtime.glob("voxlite-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        pyc = archive.read("voxlite/__pycache__/__init__.cpython-312.pyc")
        record = archive.read("voxlite-1.0.dist-info/RECORD").decode()
        assert archive.read("voxlite/__init__.py") == b"VALUE = 1\n"  # the source stays
    assert pyc[:4] == MAGIC_312
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, never checked
    assert b"/lib/python3.12/site-packages/voxlite/__init__.py" in pyc  # where it installs
    assert "voxlite/__pycache__/__init__.cpython-312.pyc,," in record
    lock = json.loads((runtime / LOCK).read_text())
    assert lock["packages"]["voxlite"]["sha256"] == digest(wheel)


def test_the_kernels_machinery_ships_bytecode_only(runtime, tmp_path):
    compile_distribution(runtime, LOCK, tmp_path / "cache", log=print)
    wheel = next(runtime.glob("small-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = archive.read("small-1.0.dist-info/RECORD").decode().splitlines()
        assert archive.read("small/__init__.pyc")[:4] == MAGIC_312
    assert "small/__init__.py" not in names and "small/__init__.pyc" in names
    assert "small/__init__.pyc,," in record and "small/__init__.py,," not in record
    lock = json.loads((runtime / LOCK).read_text())
    assert lock["packages"]["small"]["sha256"] == digest(wheel)


def test_compiled_wheels_come_from_the_cache_without_node(runtime, tmp_path, monkeypatch):
    originals = {p: p.read_bytes() for p in [*runtime.glob("*.whl"), runtime / LOCK]}
    compile_distribution(runtime, LOCK, tmp_path / "cache", log=print)
    compiled = next(runtime.glob("small-*.whl")).read_bytes()
    for path, data in originals.items():  # the site's next build, from the same wheels
        path.write_bytes(data)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert compile_distribution(runtime, LOCK, tmp_path / "cache", log=print) == 2
    assert next(runtime.glob("small-*.whl")).read_bytes() == compiled


def test_without_node_the_wheels_stay_as_they_were_and_the_build_says_why(runtime, tmp_path,
                                                                          monkeypatch):  # fmt: skip
    before = next(runtime.glob("small-*.whl")).read_bytes()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    lines = []
    assert compile_distribution(runtime, LOCK, tmp_path / "cache", log=lines.append) == 0
    assert next(runtime.glob("small-*.whl")).read_bytes() == before
    assert "Node.js" in lines[0]
