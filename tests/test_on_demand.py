"""voxlite.on_demand: readers' packages unpacked from the lock on first import (Pyodide)."""

import json
import subprocess
import sys

import pytest

from tests.test_site import digest, make_wheel
from voxlite import on_demand
from voxlite.on_demand import OnDemandFinder

# The fake lock's import names -> package names ("reader" is imported as pyreader is, say,
# nrrd as pynrrd).
IMPORTS = {"reader": "pyreader", "compiled": "compiled"}
READERS = ("nibabel", "pydicom", "nrrd", "tifffile", "zarr", "PIL")


@pytest.mark.parametrize("module", ["voxlite", "voxlite.app.browser"])
def test_import_voxlite_imports_no_reader_nor_build_machinery(module):
    """What `import voxlite` costs every kernel (and the app's worker its import of
    voxlite.app.browser): no reader, no widget, no site/app builder."""
    code = f"import sys, {module}; print(sorted(sys.modules))"
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code.replace("print(", "import json; print(json.dumps(")
             + ")"], capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    heavy = (
        *READERS,
        "anywidget",
        "ipywidgets",
        "IPython",
        "voxlite.site",
        "packaging",
        "voxlite.app.build",
        "voxlite.builder",
        "voxlite.widget",
        "scipy",
        "skimage",
    )
    if module == "voxlite":
        heavy = (*heavy, "voxlite.app")  # fmt: skip
    imported = [m for m in loaded if m.split(".")[0] in heavy or m.startswith(heavy)]
    assert imported == []


@pytest.fixture
def lock(tmp_path):
    """A lock of three wheels (reader needs helper) and a compiled one, served from a folder."""
    served = tmp_path / "served"
    served.mkdir()
    entries = {}
    for name, depends, tags in (("reader", ["helper"], "py3-none-any"),
                                ("helper", [], "py3-none-any"),
                                ("compiled", [], "cp312-cp312-pyodide_2024_0_wasm32")):  # fmt: skip
        wheel = make_wheel(served, name, tags=tags)
        entries[f"py{name}" if name == "reader" else name] = {
            "file_name": wheel.name, "sha256": digest(wheel), "depends": depends}  # fmt: skip
    target = tmp_path / "site-packages"
    target.mkdir()
    sys.path.append(str(target))
    yield served, entries, target
    sys.path.remove(str(target))
    for name in ("reader", "helper", "compiled"):
        sys.modules.pop(name, None)


def finder_for(served, entries, target, installed=()):
    unpacked = []

    def fetch(name):
        return (served / name).read_bytes()

    finder = OnDemandFinder(entries, fetch, lambda n: n in installed, str(target),
                            unpacked.append, packages=IMPORTS)  # fmt: skip
    return finder, unpacked


def test_a_reader_is_unpacked_with_its_dependencies_on_first_import(lock):
    finder, unpacked = finder_for(*lock)
    sys.meta_path.append(finder)
    try:
        import reader  # noqa: F401

        assert sys.modules["reader"].VALUE == 1
        assert unpacked == ["helper", "pyreader"]  # dependencies first
        assert finder.find_spec("json", None) is None  # not one of the readers
        assert finder.find_spec("reader.sub", ["x"]) is None  # submodules: the usual finders
    finally:
        sys.meta_path.remove(finder)


def test_installed_dependencies_and_compiled_wheels_are_left_alone(lock):
    target = lock[2]
    finder, unpacked = finder_for(*lock, installed=("helper",))
    assert finder.find_spec("reader", None) is not None
    assert unpacked == ["pyreader"]
    assert finder.find_spec("compiled", None) is None  # Pyodide's own loader's job
    assert not (target / "compiled").exists()


def test_a_file_that_does_not_match_the_lock_is_refused(lock):
    served, entries, _ = lock
    (served / entries["helper"]["file_name"]).write_bytes(b"PK tampered")
    finder, unpacked = finder_for(*lock)
    with pytest.raises(ImportError, match="does not match the sha256"):
        finder.find_spec("reader", None)
    assert unpacked == []


def test_install_does_nothing_outside_pyodide():
    assert on_demand.install() is None
    assert not any(isinstance(f, OnDemandFinder) for f in sys.meta_path)
