"""The Viewer's Python side: traits, validation, set_image; no browser."""

import numpy as np
import pytest

import voxlite
from voxlite import Image, Viewer

CUBE = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)


def test_view_sets_defaults_from_the_image():
    viewer = voxlite.view(CUBE)
    assert isinstance(viewer, Viewer)
    assert viewer.slices == [3, 2, 2]  # centre, as (i, j, k)
    # The 0.5th to 99.5th percentile of 0..119 (voxlite.windowing), not the full range.
    assert (viewer.window, viewer.level) == pytest.approx((117.81, 59.5))
    assert viewer._image["shape"] == [4, 5, 6]
    assert viewer._labels == {}


def test_ct_presets_set_window_and_level_in_hounsfield_units():
    viewer = voxlite.view(CUBE, cmap="ct-soft-tissue")
    assert (viewer.window, viewer.level) == (500.0, 60.0)
    viewer.cmap = "grayscale"  # back to the data's own window
    assert (viewer.window, viewer.level) == pytest.approx((117.81, 59.5))
    explicit = voxlite.view(CUBE, cmap="ct-bone", window=100, level=10)
    assert (explicit.window, explicit.level) == (100.0, 10.0)


@pytest.mark.parametrize(
    ("trait", "value", "message"),
    [
        ("cmap", "jet", "unknown cmap 'jet'; choose one of grayscale"),
        ("mode", "surface", "unknown mode 'surface'"),
        ("window", 0.0, "window must be a positive number"),
        ("window", float("nan"), "window must be a positive number"),
        ("level", float("inf"), "level must be finite"),
        ("opacity", 1.5, "opacity must be between 0 and 1"),
        ("label_opacity", -0.1, "label_opacity must be between 0 and 1"),
        ("slices", [0, 0], "3 voxel indices"),
        ("slices", [6, 0, 0], "slice index 6 on axis x is outside 0..5"),
        ("camera", {"position": [0, 0]}, "camera position must be 3 finite numbers"),
        ("camera", {"zoom": 2}, "unknown camera keys"),
        ("height", 10, "height must be 64..4096"),
    ],
)
def test_bad_trait_values_are_rejected_and_state_kept(trait, value, message):
    viewer = voxlite.view(CUBE)
    before = getattr(viewer, trait)
    with pytest.raises(ValueError, match=message):
        setattr(viewer, trait, value)
    assert getattr(viewer, trait) == before


def test_set_image_replaces_data_in_place():
    viewer = voxlite.view(CUBE)
    viewer.set_image(np.ones((8, 8, 8), np.uint8) * 7, label_image=np.ones((8, 8, 8), np.uint8))
    assert viewer._image["shape"] == [8, 8, 8]
    assert viewer._image["dtype"] == "uint8"
    assert viewer.slices == [4, 4, 4]
    assert viewer._labels["colors"] == [[1, 1.0, 0.0, 0.0]]
    assert viewer.label_image.same_geometry(viewer.image)


def test_rejected_set_image_leaves_the_viewer_unchanged():
    viewer = voxlite.view(CUBE)
    before = dict(viewer._image)
    for bad in (np.zeros(0), np.full((3, 3, 3), np.nan), np.zeros((2, 2, 2), complex)):
        with pytest.raises((ValueError, TypeError)):
            viewer.set_image(bad)
    with pytest.raises(ValueError, match="does not match the image shape"):
        viewer.set_image(np.ones((2, 2, 2)), label_image=np.ones((2, 2, 3), np.uint8))
    assert viewer._image == before
    assert viewer.image.shape == CUBE.shape


def test_label_geometry_must_match_the_image():
    image = Image(CUBE, spacing=(1, 1, 2))
    shifted = Image(np.ones(CUBE.shape, np.uint8), spacing=(1, 1, 3))
    with pytest.raises(ValueError, match="geometry .* differs"):
        voxlite.view(image, label_image=shifted)
    bare = voxlite.view(image, label_image=np.ones(CUBE.shape, np.uint8))
    assert bare.label_image.spacing == (1.0, 1.0, 2.0)  # a bare array takes the image's grid


def test_labels_need_an_image():
    with pytest.raises(ValueError, match="needs an image"):
        voxlite.view(None, label_image=np.ones((2, 2, 2), np.uint8))
    viewer = voxlite.view()
    with pytest.raises(ValueError, match="set an image before"):
        viewer.set_label_image(np.ones((2, 2, 2), np.uint8))


def test_set_label_image_adds_and_removes_the_overlay():
    viewer = voxlite.view(CUBE)
    viewer.set_label_image(np.ones(CUBE.shape, np.uint8) * 2, label_colors={2: (0, 0, 255)})
    assert viewer._labels["colors"] == [[2, 0.0, 0.0, 1.0]]
    viewer.set_label_image(None)
    assert viewer._labels == {} and viewer.label_image is None


def test_state_travels_as_one_binary_buffer_per_volume():
    from ipywidgets.widgets.widget import _remove_buffers

    viewer = voxlite.view(CUBE, np.ones(CUBE.shape, np.uint8))
    _, paths, buffers = _remove_buffers(viewer.get_state())
    assert sorted(paths) == [["_image", "data"], ["_labels", "data"]]
    assert sorted(len(b) for b in buffers) == [CUBE.size, CUBE.nbytes]


def test_front_end_bundle_is_the_built_one():
    # anywidget has read the file: a missing bundle would give the error stub instead.
    assert "voxlite-root" in str(Viewer._esm), "run `npm run build` in js/"


def test_open_files_reads_what_the_front_end_sends(tmp_path):
    from voxlite.io.dicom import write_series

    viewer = voxlite.view(CUBE)
    nifti = voxlite.write_image(np.ones((5, 6, 7), np.int16), tmp_path / "scan.nii.gz")
    viewer.open_files([("C:\\Users\\me\\scan.nii.gz", nifti.read_bytes())])
    assert viewer.image.shape == (5, 6, 7) and viewer._image["name"] == "scan.nii.gz"
    header = voxlite.write_image(np.zeros((2, 3, 4), np.uint8), tmp_path / "pair.mhd")
    raw = tmp_path / "pair.raw"
    viewer.open_files([("pair.raw", raw.read_bytes()), ("pair.mhd", header.read_bytes())])
    assert viewer.image.shape == (2, 3, 4)
    slices = write_series(Image(np.full((3, 4, 4), 7, np.int16)), tmp_path / "dicom")
    viewer.open_files([("dir/" + p.name, p.read_bytes()) for p in slices])
    assert viewer.image.shape == (3, 4, 4)


def test_a_bad_file_from_the_front_end_is_reported_back_and_changes_nothing(monkeypatch):
    viewer = voxlite.view(CUBE)
    sent = []
    monkeypatch.setattr(viewer, "send", lambda content, buffers=None: sent.append(content))
    viewer._on_front_end_message(viewer, {"type": "open", "names": ["x.nii"]}, [b"garbage"])
    assert sent and sent[0]["type"] == "error" and "x.nii" in sent[0]["message"]
    viewer._on_front_end_message(viewer, {"type": "open", "names": ["a", "b"]}, [b"1"])
    assert "malformed" in sent[1]["message"]
    viewer._on_front_end_message(viewer, {"type": "open", "names": [".."]}, [b"x"])
    assert "file0: unknown image format" in sent[2]["message"]  # written inside, not above
    assert viewer.image.shape == CUBE.shape
