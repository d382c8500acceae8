"""2D reading in Python: view geometry and letters, the crosshair, layouts, rulers, label
names, and the window an image opens with."""

import json

import numpy as np
import pytest
import SimpleITK as sitk

import voxlite
from voxlite.orientation import letters_of, view_geometry
from voxlite.windowing import SOFT_TISSUE, default_window

OPPOSITE = {"L": "R", "R": "L", "P": "A", "A": "P", "S": "I", "I": "S"}


def rotation(axis, degrees):
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    i, j = [a for a in range(3) if a != axis]
    matrix = np.eye(3)
    matrix[i, i], matrix[i, j], matrix[j, i], matrix[j, j] = c, -s, s, c
    return matrix


DIRECTIONS = {
    "lps": np.eye(3),
    "ras": np.diag([-1.0, -1.0, 1.0]),
    "coronal-stored": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),  # j runs inferior
    "sagittal-stored": np.array([[0.0, 0, -1], [1, 0, 0], [0, -1, 0]]),
    "upside-down": np.diag([1.0, -1.0, -1.0]),
}


@pytest.mark.parametrize("name", DIRECTIONS)
@pytest.mark.parametrize("view", ["axial", "coronal", "sagittal"])
def test_letters_agree_with_simpleitk(name, view):
    """Each screen axis runs along an index axis: its letter is the one SimpleITK gives
    that axis (DICOMOrientImageFilter), or its opposite when it runs the other way."""
    direction = DIRECTIONS[name]
    sitk_letters = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(
        direction.ravel().tolist()
    )
    geometry = view_geometry(direction, view)
    for edge, vector in (("right", geometry.right), ("top", geometry.up)):
        along = direction.T @ np.asarray(vector)  # components along the index axes
        axis = int(np.argmax(np.abs(along)))
        expected = sitk_letters[axis] if along[axis] > 0 else OPPOSITE[sitk_letters[axis]]
        assert geometry.letters[edge] == expected
    assert not geometry.oblique
    # The view slices across the index axis nearest its patient axis.
    patient = {"sagittal": 0, "coronal": 1, "axial": 2}[view]
    assert np.argmax(np.abs(direction[patient])) == geometry.axis


def test_conventions_radiological_and_neurological():
    axial = view_geometry(np.eye(3), "axial")
    assert axial.letters == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert view_geometry(np.eye(3), "coronal").letters == {
        "left": "R",
        "right": "L",
        "top": "S",
        "bottom": "I",
    }
    sagittal = view_geometry(np.eye(3), "sagittal")
    assert (sagittal.letters["left"], sagittal.letters["top"]) == ("A", "S")
    neuro = view_geometry(np.eye(3), "axial", radiological=False)
    assert (neuro.letters["left"], neuro.letters["right"]) == ("L", "R")
    assert view_geometry(np.eye(3), "sagittal", radiological=False) == sagittal


def test_an_oblique_plane_is_marked_and_its_letters_stay_truthful():
    tilted = rotation(0, 20) @ np.eye(3)  # k leans 20 degrees towards anterior
    axial = view_geometry(tilted, "axial")
    assert axial.oblique and axial.axis == 2
    # Up is anterior as far as the tilted plane allows: it leans inferior.
    assert axial.letters["top"] == "AI"
    assert axial.letters["right"] == "L"
    assert np.isclose(np.dot(axial.normal, tilted[:, 2]), 1.0)
    in_plane = view_geometry(rotation(2, 30), "axial")  # rotated within the axial plane
    assert not in_plane.oblique and in_plane.letters["top"] == "A"
    assert letters_of([0.1, 0.0, 1.0]) == "S"  # a share under cos 75 is not named


def test_the_cursor_and_the_slices_follow_each_other():
    image = voxlite.Image(np.zeros((10, 20, 30), np.uint8), spacing=(0.5, 1, 3), origin=(5, 6, 7))
    viewer = voxlite.view(image)
    assert viewer.slices == [15, 10, 5]
    assert viewer.cursor == pytest.approx([5 + 7.5, 6 + 10, 7 + 15])
    viewer.cursor = [5 + 2.2, 6 + 3.4, 7 + 8.9]  # inside voxel (4, 3, 3)
    assert viewer.slices == [4, 3, 3]
    assert viewer.cursor == pytest.approx([7.2, 9.4, 15.9]), "a point inside the voxel stays"
    viewer.slices = [0, 0, 9]
    assert viewer.cursor == pytest.approx([5, 6, 7 + 27])
    viewer.cursor = [-100, 1000, 7]  # outside: the nearest voxel, and the cursor at its centre
    assert viewer.slices == [0, 19, 0] and viewer.cursor == pytest.approx([5, 25, 7])
    with pytest.raises(ValueError, match="cursor must be 3 finite numbers"):
        viewer.cursor = [0, float("nan"), 0]


def test_layouts_and_their_names():
    volume = np.zeros((8, 8, 8), np.uint8)
    assert voxlite.view(volume).views == "quad"
    assert voxlite.view(volume, views="row").views == "row"
    assert voxlite.view(volume, mode="z").views == "axial"  # itkwidgets' view modes
    assert voxlite.view(volume, mode="x").views == "sagittal"
    viewer = voxlite.view(volume, mode="v")
    assert (viewer.views, viewer.mode) == ("3d", "volume")
    viewer.views = "y"
    assert viewer.views == "coronal"
    with pytest.raises(ValueError, match="unknown views 'layout'"):
        viewer.views = "layout"


def test_a_single_slice_opens_face_on():
    assert voxlite.view(np.zeros((64, 48))).views == "axial"
    coronal = voxlite.Image(np.zeros((1, 40, 30)), direction=[[1, 0, 0], [0, 0, 1], [0, -1, 0]])
    assert voxlite.view(coronal).views == "coronal"
    sagittal_stack = voxlite.view(np.zeros((20, 30, 1)))  # one voxel along i: seen along x
    assert sagittal_stack.views == "sagittal"
    viewer = voxlite.view(np.zeros((64, 48)))
    viewer.set_image(np.zeros((8, 8, 8)))
    assert viewer.views == "quad", "the next volume chooses again"
    assert voxlite.view(np.zeros((64, 48)), views="3d").views == "3d", "unless chosen"


def test_rulers_measure_in_millimetres_across_anisotropic_voxels():
    image = voxlite.Image(np.zeros((5, 6, 7), np.uint8), spacing=(0.7, 1.3, 4.0))
    viewer = voxlite.view(image)
    p, q = image.index_to_physical((1, 1, 0)), image.index_to_physical((5, 4, 3))
    viewer.measurements = [{"points": [p.tolist(), q.tolist()], "view": "axial"}]
    expected = np.sqrt((4 * 0.7) ** 2 + (3 * 1.3) ** 2 + (3 * 4.0) ** 2)
    assert viewer.measurements[0]["length"] == pytest.approx(expected)
    assert viewer.measurements[0]["kind"] == "ruler"
    saved = json.loads(json.dumps(viewer.state))
    assert voxlite.view(image, state=saved).measurements == viewer.measurements


@pytest.mark.parametrize(
    ("ruler", "message"),
    [
        ({"points": [[0, 0, 0]]}, "two LPS points"),
        ({"points": [[0, 0, 0], [1, 1, "x"]]}, "two LPS points"),
        ({"points": [[0, 0, 0], [1, 1, float("inf")]]}, "two LPS points"),
        ({"points": [[0, 0, 0], [1, 1, 1]], "onclick": 1}, "no key 'onclick'"),
        ({"kind": "angle", "points": []}, "must be"),
        ({"points": [[0, 0, 0], [1, 1, 1]], "view": "<b>"}, "view must be"),
    ],
)
def test_bad_rulers_are_refused(ruler, message):
    viewer = voxlite.view(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match=message):
        viewer.measurements = [ruler]
    assert viewer.measurements == []


def test_label_names_come_from_the_call_or_the_file():
    image = np.zeros((4, 4, 4), np.int16)
    labels = np.zeros((4, 4, 4), np.uint8)
    labels[0, 0, :2] = 1, 2
    viewer = voxlite.view(image, labels, label_names={1: "liver", 2: "spleen"})
    assert viewer.label_names == {"1": "liver", "2": "spleen"}
    named = voxlite.Image(labels, metadata={"label_names": {1: "tumour"}})
    viewer.set_label_image(named)
    assert viewer.label_names == {"1": "tumour"}
    viewer.hidden_labels = [2, 1, 1]
    assert viewer.hidden_labels == [1, 2]
    with pytest.raises(ValueError, match="not a label number"):
        viewer.label_names = {"one": "x"}
    with pytest.raises(ValueError, match="200 characters"):
        viewer.label_names = {1: "x" * 201}
    viewer.set_label_image(labels)
    assert viewer.label_names == {} and viewer.hidden_labels == []


def test_the_window_an_image_opens_with():
    ct = np.full((8, 8, 8), -1024, np.int16)
    ct[2:6, 2:6, 2:6] = 1500
    assert default_window(ct, {}) == SOFT_TISSUE, "HU-range integers are a CT"
    assert default_window(ct, {"Modality": "MR"}) != SOFT_TISSUE
    assert default_window(ct, {"WindowCenter": [40, 300], "WindowWidth": [350, 1500]}) == (
        350.0,
        40.0,
    )
    assert default_window(ct, {"WindowCenter": "x", "WindowWidth": 0, "Modality": "CT"}) == (
        SOFT_TISSUE
    )
    mr = np.random.default_rng(0).normal(300, 50, (16, 16, 16)).astype(np.float32)
    mr[0, 0, 0] = 1e6  # one hot voxel does not squeeze the window
    window, level = default_window(mr, {})
    assert 200 < window < 400 and 250 < level < 350
    mask = np.zeros((8, 8, 8), np.uint8)
    mask[0, 0, 0] = 1
    assert default_window(mask, {}) == (1.0, 0.5), "an empty robust range: the full range"
    viewer = voxlite.view(voxlite.Image(ct, metadata={"Modality": "CT"}))
    assert (viewer.window, viewer.level) == SOFT_TISSUE and viewer.cmap == "grayscale"
    viewer.cmap = "ct-bone"
    assert (viewer.window, viewer.level) == (1600.0, 500.0), "a preset keeps its own window"


ITK_SNAP = """################################################
# ITK-SnAP Label Description File
# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL
################################################
    0     0    0    0        0  0  0    "Clear Label"
    1   255    0    0        1  1  1    "liver"
    2     0  255    0        1  1  1    "left kidney"
"""
SLICER = """# Color table file /tmp/labels.ctbl
# 3 values
0 Background 0 0 0 0
1 liver 221 130 101 255
2 left_kidney 185 102 83 255
"""


@pytest.mark.parametrize(("text", "names"), [(ITK_SNAP, "left kidney"), (SLICER, "left_kidney")])
def test_label_names_and_colours_from_a_label_table(tmp_path, text, names):
    table = tmp_path / "labels.txt"
    table.write_text(text)
    labels = np.zeros((4, 4, 4), np.uint8)
    labels[0, 0, :2] = 1, 2
    viewer = voxlite.view(np.zeros((4, 4, 4)), labels, label_names=table)
    assert viewer.label_names["2"] == names and viewer.label_names["1"] == "liver"
    assert viewer.label_colors[1] in ("#ff0000", "#dd8265"), "the table's colours apply"
    given = voxlite.view(
        np.zeros((4, 4, 4)), labels, label_names=table, label_colors={1: "#0000ff"}
    )
    assert given.label_colors[1] == "#0000ff", "colours given win over the table's"


def test_a_bad_label_table_names_its_line(tmp_path):
    table = tmp_path / "labels.txt"
    table.write_text("# fine\n1 255 0 0 1 1 1 liver\n2 300 0 0 1 1 1 bad\n")
    with pytest.raises(voxlite.ImageIOError, match="line 3 .* 0..255"):
        voxlite.io.label_table.read_label_table(table)
    table.write_text("# nothing but comments\n")
    with pytest.raises(voxlite.ImageIOError, match="names no label"):
        voxlite.io.label_table.read_label_table(table)


def test_the_demo_tissue_labels_are_named():
    viewer = voxlite.view(voxlite.data.mri(), voxlite.data.mri_tissue_labels())
    assert viewer.label_names == {"1": "grey matter", "2": "white matter"}
