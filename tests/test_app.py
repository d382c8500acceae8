"""The viewer app: its Python logic (run in CPython here, as in the page's Pyodide), its build."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import voxlite
from voxlite import Image
from voxlite.app import AppError, AppOptions, build_app
from voxlite.app import build as app_build
from voxlite.app.browser import App
from voxlite.cli import main as cli
from voxlite.io.dicom import write_series
from voxlite.received import sources_of
from voxlite.site import find_outside_urls
from voxlite.site.sources import pyodide_dir

BRAIN = Image(
    np.arange(12 * 10 * 8, dtype=np.int16).reshape(12, 10, 8),
    spacing=(0.8, 0.9, 2.5),
    origin=(10.0, -20.0, 5.0),
)


def by(*values: str, unit: str) -> str:
    """Values joined by a multiplication sign, then the unit, as the metadata panel shows them."""
    return " \N{MULTIPLICATION SIGN} ".join(values) + " " + unit


def nifti_bytes(tmp_path: Path, image: Image, name: str) -> tuple[str, bytes]:
    path = voxlite.write_image(image, tmp_path / name)
    return name, path.read_bytes()


def labels_of(image: Image) -> Image:
    labels = (image.array % 3).astype(np.uint8)
    return image.replace(array=labels)


def info(update) -> dict[str, str]:
    return dict(update["info"])


# -- the app's logic ------------------------------------------------------------


def test_a_nifti_file_is_shown_with_its_metadata(tmp_path):
    progress = []
    app = App(progress=progress.append)
    first = app.update()
    assert set(first["state"]) >= {"_image", "cmap", "mode", "window", "slices"}
    assert "height" not in first["state"], "the page sizes the view"
    assert "_esm" not in first["state"], "the page loads the front end itself"

    update = app.open([nifti_bytes(tmp_path, BRAIN, "brain.nii.gz")])
    assert update["errors"] == []
    image = update["state"]["_image"]
    assert image["shape"] == [12, 10, 8] and image["dtype"] == "int16"
    assert len(image["data"]) == BRAIN.array.nbytes
    assert update["state"]["slices"] == [4, 5, 6]
    rows = info(update)
    assert rows["Spacing"] == by("0.8", "0.9", "2.5", unit="mm")
    assert rows["Dimensions"] == by("8", "10", "12", unit="voxels")
    assert rows["Origin"] == "(10, -20, 5) mm"
    assert rows["Value range"] == "0 … 959"
    assert rows["Format"] == "NIfTI"
    assert update["items"] == [
        {
            "id": 1,
            "name": "brain.nii.gz",
            "role": "image",
            "shown": True,
            "summary": by("8", "10", "12", unit="int16"),
        }
    ]
    assert "Reading brain.nii.gz…" in progress
    # Only what changed is sent again: the voxels are not resent for a colormap change.
    again = app.sync({"cmap": "viridis"})
    assert "_image" not in again["state"] and "cmap" not in again["state"]


def test_the_list_names_colour_multichannel_and_time_series_files(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    pil = pytest.importorskip("PIL.Image")
    photo = np.zeros((20, 30, 3), np.uint8)
    photo[..., 0] = 200
    pil.fromarray(photo).save(tmp_path / "photo.png")
    series = np.zeros((6, 5, 4, 7), np.int16)  # nibabel's [i, j, k, t]: 7 time points
    nibabel.save(nibabel.Nifti1Image(series, np.eye(4)), tmp_path / "fmri.nii.gz")
    vectors = np.zeros((6, 5, 4, 1, 3), np.float32)  # a NIfTI vector image: 3 channels
    nibabel.save(nibabel.Nifti1Image(vectors, np.eye(4)), tmp_path / "channels.nii.gz")
    names = ["photo.png", "fmri.nii.gz", "channels.nii.gz"]
    update = App().open([(name, (tmp_path / name).read_bytes()) for name in names])
    assert update["errors"] == []
    summaries = {item["name"]: item["summary"] for item in update["items"]}
    assert summaries == {
        "photo.png": "RGB " + by("30", "20", unit="uint8"),
        "fmri.nii.gz": by("6", "5", "4", unit="int16") + ", 7 time points",
        "channels.nii.gz": by("6", "5", "4", unit="float32") + ", 3 channels",
    }


def test_a_label_map_on_the_same_grid_goes_over_the_image(tmp_path):
    app = App()
    update = app.open(
        [
            nifti_bytes(tmp_path, labels_of(BRAIN), "brain_seg.nii.gz"),
            nifti_bytes(tmp_path, BRAIN, "brain.nii.gz"),
        ]
    )  # the label map comes second whatever the order
    assert [(i["name"], i["role"], i["shown"]) for i in update["items"]] == [
        ("brain.nii.gz", "image", True),
        ("brain_seg.nii.gz", "labels", True),
    ]
    assert update["state"]["_labels"]["shape"] == [12, 10, 8]
    assert [c[0] for c in update["state"]["_labels"]["colors"]] == [1, 2]
    assert info(update)["Label map"] == "brain_seg.nii.gz (2 labels)"

    # A mask without a telling name is a label map too (a few small integers).
    mask = BRAIN.replace(array=(BRAIN.array > 400).astype(np.uint8))
    update = app.open([nifti_bytes(tmp_path, mask, "other.nii.gz")])
    assert update["items"][-1]["role"] == "labels"

    # Clicking the shown label map takes it off; as an image it is shown alone.
    off = app.show(3)
    assert off["state"]["_labels"] == {} and "Label map" not in info(off)
    as_image = app.set_role(3, "image")
    assert as_image["state"]["_image"]["dtype"] == "uint8"
    assert as_image["items"][-1] == {**as_image["items"][-1], "role": "image", "shown": True}


def test_a_dicom_series_shows_its_description_and_spacing(tmp_path):
    ct = Image(np.full((5, 6, 7), 40, np.int16), spacing=(0.7, 0.7, 3.0))
    paths = write_series(ct, tmp_path / "ct", description="CT test series")
    app = App()
    update = app.open([(f"ct/{p.name}", p.read_bytes()) for p in paths])
    assert update["errors"] == []
    rows = info(update)
    assert rows["Series description"] == "CT test series"
    assert rows["Spacing"] == by("0.7", "0.7", "3", unit="mm")
    assert rows["Slices"] == "5"
    assert "PatientName" not in str(update), "the app keeps no patient fields"
    assert update["items"][0]["name"] == "CT test series"


def test_a_corrupt_file_is_reported_and_the_next_file_opens(tmp_path):
    app = App()
    app.update()  # what the page gets at start-up
    bad = app.open([("broken.nii.gz", b"\x1f\x8b not really gzip")])
    assert len(bad["errors"]) == 1
    assert bad["errors"][0].startswith("broken.nii.gz: ")
    assert "voxlite-app-" not in bad["errors"][0], "no private temporary path in the message"
    assert bad["items"] == [] and "_image" not in bad["state"]

    unknown = app.open([("notes.txt", b"hello")])
    assert "unknown image format" in unknown["errors"][0]
    assert app.open([])["errors"] == ["nothing to open: no file was given"]
    two = app.open([("a.txt", b"x"), ("b.txt", b"y")])
    assert two["errors"] == ["a.txt, b.txt: none of these files is an image voxlite reads"]

    good = app.open([("broken.nii.gz", b"junk"), nifti_bytes(tmp_path, BRAIN, "ok.nii.gz")])
    assert len(good["errors"]) == 1 and good["state"]["_image"]["shape"] == [12, 10, 8]
    assert [i["name"] for i in good["items"]] == ["ok.nii.gz"]


def test_a_gz_file_already_decompressed_by_the_browser_opens(tmp_path):
    """Hosts that send .nii.gz with Content-Encoding: gzip: fetch() hands over the .nii."""
    _, data = nifti_bytes(tmp_path, BRAIN, "brain.nii")
    update = App().open([("brain.nii.gz", data)])
    assert update["errors"] == [] and update["items"][0]["name"] == "brain.nii"


def test_panel_changes_come_back_with_what_follows_from_them(tmp_path):
    app = App()
    app.open([nifti_bytes(tmp_path, BRAIN, "brain.nii.gz")])
    update = app.sync({"cmap": "ct-bone", "mode": "mip", "height": 300, "_image": {}})
    # The CT preset sets window and level in Python: the page must hear of them.
    assert update["state"] == {"window": 1600.0, "level": 500.0}
    assert (app.viewer.cmap, app.viewer.mode) == ("ct-bone", "mip")
    assert app.viewer._image["shape"] == [12, 10, 8], "private traits are Python's"
    refused = app.sync({"window": -5, "opacity": 0.5})
    assert refused["state"] == {"window": 1600.0}, "a refused value is corrected in the page"
    assert app.viewer.opacity == 0.5
    # The next image keeps the page's colormap and mode.
    update = app.open([nifti_bytes(tmp_path, BRAIN.replace(spacing=(1, 1, 1)), "b.nii")])
    assert "mode" not in update["state"] and app.viewer.mode == "mip"


def test_received_files_are_grouped_into_what_to_read(tmp_path):
    def touch(name, data=b"x"):
        path = tmp_path / name
        path.write_bytes(data)
        return path

    dicom = [touch(f"IM{i}", b"\0" * 128 + b"DICM") for i in range(3)]
    mhd, raw = touch("a.mhd"), touch("a.raw")
    seg = touch("a_seg.nii.gz")
    sources = sources_of([seg, *dicom, mhd, raw, touch("DICOMDIR.txt")])
    assert [(name, source) for name, source in sources] == [
        ("a.mhd", mhd),
        ("DICOM series (3 files)", dicom),
        ("a_seg.nii.gz", seg),
    ]
    with pytest.raises(voxlite.ImageIOError, match="none of these files is an image"):
        sources_of([touch("a.txt"), touch("b.txt")])


def test_the_app_logic_runs_without_anywidget(tmp_path):
    """As in the page's Pyodide: anywidget, ipywidgets and IPython absent; the app drives
    the view model, with nothing put in their place."""
    _, data = nifti_bytes(tmp_path, BRAIN, "brain.nii.gz")
    (tmp_path / "in.bin").write_bytes(data)
    script = f"""
import sys

class Absent:  # anywidget, ipywidgets and IPython are not in the app's Pyodide
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("anywidget", "ipywidgets", "IPython"):
            raise ImportError(f"no {{name}} here")

sys.meta_path.insert(0, Absent())
import voxlite.app.browser as browser
app = browser.App()
update = app.open([("brain.nii.gz", open({str(tmp_path / "in.bin")!r}, "rb").read())])
assert update["errors"] == [], update["errors"]
print(dict(update["info"])["Spacing"], "IPython" in sys.modules, "anywidget" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("mm") == [by("0.8", "0.9", "2.5", unit=""), " False False\n"]


# -- the build -----------------------------------------------------------------------

needs_pyodide = pytest.mark.skipif(
    not (pyodide_dir() / "pyodide-lock.json").exists(),
    reason="needs `voxlite site fetch` (Pyodide in the cache)",
)


@pytest.fixture(scope="module")
def voxlite_wheel(tmp_path_factory):
    from voxlite.site.build import build_voxlite_wheel

    return build_voxlite_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def built(tmp_path_factory, voxlite_wheel):
    folder = tmp_path_factory.mktemp("app")
    extra = voxlite.write_image(BRAIN, folder / "mine.nii.gz")
    output = folder / "app"
    report = build_app(
        AppOptions(output=output, files=[extra], voxlite_wheel=voxlite_wheel),
        log=lambda line: None,
    )
    return output, report


@needs_pyodide
def test_build_writes_an_offline_app(built, capsys):
    output, report = built
    for name in (
        "index.html",
        "app.js",
        "app.css",
        "worker.js",
        "widget.js",
        ".voxlite-app",
        "pyodide/pyodide.mjs",
        "pyodide/pyodide.asm.wasm",
        "data/mine.nii.gz",
        "data/mni152_t1.nii.gz",
        "data/ct_phantom_dicom/files.json",
    ):
        assert (output / name).exists(), name
    assert find_outside_urls(output) == []
    assert cli(["site", "check", str(output)]) == 0
    assert "every load stays" in capsys.readouterr().out
    assert report.total_bytes < 40e6, "well under the JupyterLite site's size"

    lock = json.loads((output / "pyodide" / "pyodide-lock.json").read_text())["packages"]
    assert sorted(lock) == sorted(report.pyodide_packages + report.wheels)
    assert "anywidget" not in lock and "ipython" not in lock and "micropip" not in lock
    assert "anywidget" not in lock["voxlite"]["depends"]
    assert lock["voxlite"]["depends"] == ["numpy", "traitlets"]  # readers: on first import
    assert {"nibabel", "pydicom", "pynrrd", "tifffile"} <= set(lock)
    with zipfile.ZipFile(output / "pyodide" / lock["voxlite"]["file_name"]) as wheel:
        names = wheel.namelist()
    app_files = ("browser.py", "static/index.html", "static/worker.js")
    assert {f"voxlite/app/{name}" for name in app_files} <= set(names)
    assert not [n for n in names if n.endswith(".nii.gz")], "demo volumes are served as data/"
    dicom = json.loads((output / "data" / "ct_phantom_dicom" / "files.json").read_text())
    assert len(dicom) == 96 and dicom[0].endswith(".dcm")


@needs_pyodide
def test_the_page_is_safe_and_renders_before_python(built):
    page = (built[0] / "index.html").read_text()
    assert f'http-equiv="Content-Security-Policy" content="{app_build.POLICY}"' in page
    defaults = page.split('id="voxlite-defaults">')[1].split("</script>")[0]
    state = json.loads(defaults)
    assert state["cmap"] == "grayscale" and "_esm" not in state and "height" not in state
    assert 'href="?url=data/mni152_t1.nii.gz&amp;url=data/mni152_tissue_labels.nii.gz"' in page
    assert "innerHTML" not in (built[0] / "app.js").read_text()


@needs_pyodide
def test_a_failed_build_leaves_the_previous_app(built, voxlite_wheel, monkeypatch):
    output, _ = built
    before = sorted(p.relative_to(output) for p in output.rglob("*"))

    def broken(target, options):
        target.mkdir(parents=True)
        (target / "half.nii.gz").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(app_build, "write_data", broken)
    with pytest.raises(AppError, match="step 'data' failed: disk full"):
        build_app(AppOptions(output=output, voxlite_wheel=voxlite_wheel), log=lambda line: None)
    assert sorted(p.relative_to(output) for p in output.rglob("*")) == before
    assert [p.name for p in output.parent.iterdir() if "building" in p.name] == []


def test_build_refuses_a_folder_that_is_not_an_app(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("precious")
    with pytest.raises(AppError, match="not empty and not a voxlite app"):
        build_app(AppOptions(output=tmp_path / "out"), log=lambda line: None)
    with pytest.raises(AppError, match="file not found"):
        build_app(AppOptions(output=tmp_path / "new", files=[tmp_path / "nope.nii"]))
    assert cli(["app", "build", "-o", str(tmp_path / "out")]) == 1
    assert (tmp_path / "out" / "thesis.tex").read_text() == "precious"


def test_app_serve_needs_a_built_app(tmp_path, capsys):
    assert cli(["app", "serve", str(tmp_path)]) == 1
    assert "build one with `voxlite app build" in capsys.readouterr().err


@needs_pyodide
def test_the_readers_are_in_the_apps_pyodide_for_their_first_import(built):
    """Loading `voxlite` loads none of the readers' packages (the app is ready sooner):
    the lock must list each (and what it needs) for voxlite.on_demand to unpack it."""
    from voxlite.site.pyodide import sha256

    output, report = built
    assert app_build.ON_DEMAND == ("nibabel", "pydicom", "pynrrd", "tifffile")
    lock = json.loads((output / "pyodide" / "pyodide-lock.json").read_text())["packages"]
    assert set(app_build.ON_DEMAND).isdisjoint(lock["voxlite"]["depends"])
    assert lock["voxlite"]["depends"] == ["numpy", "traitlets"]
    entry = lock["tifffile"]
    assert entry["imports"] == ["tifffile"] and entry["depends"] == ["numpy"]
    assert entry["sha256"] == sha256(output / "pyodide" / entry["file_name"])
    assert "tifffile" in report.wheels
    for name, package in lock.items():  # everything in the lock loads with what it needs
        assert set(package.get("depends", [])) <= set(lock), name


@needs_pyodide
def test_app_serve_sends_the_policy_the_build_wrote(built):
    import urllib.request

    from voxlite.site import serving

    output, _ = built
    assert f"Content-Security-Policy: {app_build.HEADER_POLICY}\n" in (
        (output / "_headers").read_text()
    )
    with serving(output) as url, urllib.request.urlopen(f"{url}/index.html") as response:
        assert response.headers["Content-Security-Policy"] == app_build.HEADER_POLICY
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_study_folder_lists_each_series(tmp_path):
    """A DICOM study folder: each series is an item, told apart by its description."""
    axial = write_series(BRAIN, tmp_path / "study", description="T1 axial")
    small = Image(np.ones((3, 6, 5), np.int16), spacing=(1, 1, 4))
    scout = write_series(small, tmp_path / "study" / "scout", description="scout")
    app = App()
    update = app.open([(p.name, p.read_bytes()) for p in [*axial, *scout]])
    assert update["errors"] == []
    names = [item["name"] for item in update["items"]]
    assert (
        len(names) == 2 and any("T1 axial" in n for n in names) and any("scout" in n for n in names)
    )
    summaries = sorted(item["summary"] for item in update["items"])
    assert summaries == sorted([by("8", "10", "12", unit="int16"), by("5", "6", "3", unit="int16")])
