"""Point sets, meshes, layers, saved states and screenshots, in Python (no browser)."""

import io
import json
import zlib

import meshio
import numpy as np
import pytest
import pyvista
import trimesh
from PIL import Image as PILImage

import voxlite
from voxlite.screenshot import decode_frame, png_bytes


def frame_message(picture):
    height, width, _ = picture.shape
    content = {"type": "frame", "width": width, "height": height, "encoding": "zlib-rgba"}
    return content, [zlib.compress(picture.tobytes())]


# -- point sets and meshes ------------------------------------------------------------


def test_points_from_arrays_and_mesh_libraries():
    assert voxlite.as_points([1, 2, 3]).count == 1
    assert voxlite.as_points(pyvista.PolyData(np.random.default_rng(0).random((5, 3)))).count == 5
    colors = voxlite.as_points(np.zeros((2, 3)), colors=[[255, 0, 0], [0, 128, 255]]).colors
    assert np.allclose(colors, [[1, 0, 0], [0, 128 / 255, 1]])


def test_meshes_from_trimesh_meshio_pyvista_and_dicts():
    sphere = trimesh.creation.icosphere(subdivisions=2)
    assert voxlite.as_mesh(sphere).count == len(sphere.faces)
    quads = meshio.Mesh(np.eye(4, 3), [("quad", [[0, 1, 2, 3]]), ("line", [[0, 1]])])
    assert voxlite.as_mesh(quads).faces.tolist() == [[0, 1, 2], [0, 2, 3]]
    cube = pyvista.Cube()  # six quads
    assert voxlite.as_mesh(cube).count == 12
    mesh = voxlite.as_mesh({"vertices": np.eye(3), "faces": [[0, 1, 2]]})
    assert mesh.vertices.dtype == np.float32 and mesh.faces.dtype == np.uint32


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (np.zeros((4, 2)), "N x 3"),
        (np.zeros((0, 3)), "empty"),
        ([[0, 0, np.nan], [1, 1, 1]], "NaN or infinite coordinates .*row 0"),
        ("points", "must be numbers"),
    ],
)
def test_bad_points_are_refused_with_the_reason(points, message):
    with pytest.raises((ValueError, TypeError), match=message):
        voxlite.as_points(points)


def test_bad_per_point_values_are_refused():
    with pytest.raises(ValueError, match="one per point"):
        voxlite.as_points(np.zeros((3, 3)), scalars=[1, 2])
    with pytest.raises(ValueError, match="positive"):
        voxlite.as_points(np.zeros((1, 3)), sizes=[0])


@pytest.mark.parametrize(
    ("faces", "message"),
    [
        ([[0, 1, 3]], "only 3 vertices"),
        ([[0, -1, 2]], "index vertices -1"),
        (np.zeros((0, 3), int), "no triangles"),
        ([[0, 1]], "no triangles"),
        ([[0.5, 1, 2]], "whole vertex indices"),
    ],
)
def test_bad_faces_are_refused_with_the_reason(faces, message):
    with pytest.raises(ValueError, match=message):
        voxlite.as_mesh(np.eye(3), faces)


def test_mesh_of_an_unknown_object_says_what_is_accepted():
    with pytest.raises(TypeError, match="trimesh, meshio or pyvista"):
        voxlite.as_mesh(object())


def test_surface_of_a_label_is_in_physical_coordinates():
    labels = np.zeros((20, 30, 40), np.uint8)
    labels[5:15, 10:20, 10:30] = 2
    image = voxlite.Image(labels, spacing=(0.5, 1.0, 2.0), origin=(100.0, -50.0, 10.0))
    mesh = voxlite.surface_from_labels(image, label=2, smooth=False)
    low, high = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    # Voxels 10..29 (x), 10..19 (y), 5..14 (z); the surface lies half a voxel outside.
    expected_low = np.array([100 + 9.5 * 0.5, -50 + 9.5 * 1.0, 10 + 4.5 * 2.0])
    expected_high = np.array([100 + 29.5 * 0.5, -50 + 19.5 * 1.0, 10 + 14.5 * 2.0])
    assert np.allclose(low, expected_low, atol=1e-3) and np.allclose(high, expected_high, atol=1e-3)
    with pytest.raises(ValueError, match="label 7 is not in the label image"):
        voxlite.surface_from_labels(image, label=7)


# -- layers in the viewer -------------------------------------------------------------------


def test_layers_are_named_added_toggled_and_removed():
    viewer = voxlite.view(
        np.zeros((8, 8, 8), np.uint8),
        point_set=np.zeros((3, 3)),
        geometries=[trimesh.creation.box(), trimesh.creation.box()],
    )
    assert [g["name"] for g in viewer._geometries] == ["points", "mesh", "mesh 2"]
    assert viewer.layers["points"]["size"] == pytest.approx(np.linalg.norm([8, 8, 8]) * 0.01)
    viewer.set_visible("mesh", False)
    viewer.update_layer("points", color=(0, 255, 0), size=3)
    assert viewer.layers["mesh"]["visible"] is False
    assert viewer.layers["points"]["color"] == "#00ff00" and viewer.layers["points"]["size"] == 3
    viewer.remove("mesh 2")
    assert "mesh 2" not in viewer.layers and len(viewer._geometries) == 2
    with pytest.raises(KeyError, match="no layer named 'nope'"):
        viewer.remove("nope")
    with pytest.raises(ValueError, match="already a layer named 'points'"):
        viewer.add_points([[0, 0, 0]], name="points")
    with pytest.raises(ValueError, match="no setting 'size'"):
        viewer.update_layer("mesh", size=2)


def test_add_surface_uses_the_shown_label_map_and_its_colour():
    labels = np.zeros((16, 16, 16), np.uint8)
    labels[4:12, 4:12, 4:12] = 3
    viewer = voxlite.view(labels * 100, labels, label_colors={3: "#12ab34"})
    name = viewer.add_surface(label=3)
    assert name == "label 3" and viewer.layers[name]["color"] == "#12ab34"
    viewer.remove("labels")
    with pytest.raises(ValueError, match="needs a label_image"):
        viewer.add_surface()


def test_a_rejected_layer_leaves_the_viewer_unchanged():
    viewer = voxlite.view(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError):
        viewer.add_points([[0, 0, 0]], opacity=2.0)
    assert viewer._geometries == [] and "points" not in viewer.layers


def test_vmin_vmax_set_window_and_level():
    viewer = voxlite.view(np.arange(64, dtype=np.float32).reshape(4, 4, 4), vmin=10, vmax=30)
    assert (viewer.window, viewer.level) == (20.0, 20.0)
    with pytest.raises(ValueError, match="either vmin/vmax or window/level"):
        voxlite.view(np.zeros((4, 4, 4)), vmin=0, window=3)
    with pytest.raises(ValueError, match="greater than vmin"):
        voxlite.view(np.zeros((4, 4, 4)), vmin=5, vmax=1)


# -- saved state ------------------------------------------------------------------------------


def test_state_round_trips_through_json():
    data = np.random.default_rng(1).random((10, 12, 14)).astype(np.float32)
    viewer = voxlite.view(data, mode="slices", cmap="viridis", gradient_opacity=0.3)
    viewer.add_points([[1.0, 2.0, 3.0]], name="seed", color="#ff0000")
    viewer.camera = {"position": [1, 2, 300], "focal_point": [1, 2, 3], "view_up": [0, 1, 0]}
    viewer.slices = [1, 2, 3]
    saved = json.loads(json.dumps(viewer.state))
    again = voxlite.view(data, point_sets=[[[1.0, 2.0, 3.0]]])
    again.remove("points")
    again.add_points([[1.0, 2.0, 3.0]], name="seed")
    again.state = saved
    assert again.state == saved
    assert again.layers["seed"]["color"] == "#ff0000"


HOSTILE_STATES = [
    ({"mode": "volume", "__class__": "x"}, "unknown state key"),
    ({"mode": "<script>alert(1)</script>"}, "unknown mode"),
    ({"cmap": "x" * 100_000}, "unknown cmap"),
    ({"window": "__import__('os').system('touch /tmp/pwned')"}, "state\\['window'\\]"),
    ({"window": 1e400}, "window must be a positive number"),
    ({"slices": [10**30, 0, 0]}, "outside"),
    ({"slices": [0, 0]}, "3 voxel indices"),
    ({"camera": {"position": [0, 0, "1"]}}, "camera position"),
    ({"camera": {"eval": [0, 0, 0]}}, "unknown camera keys"),
    ({"layers": {"ghost": {"visible": True}}}, "no layer named"),
    ({"layers": {"image": {"visible": "yes"}}}, "True or False"),
    ({"layers": {"image": {"onclick": 1}}}, "no setting"),
    ({"layers": []}, "state\\['layers'\\]"),
    ({"bg_color": "javascript:alert(1)"}, "colour"),
    ({"version": 99}, "version"),
    ([("mode", "mip")], "must be a dict"),
    # Integers too long for a float (OverflowError, not ValueError, in Python).
    ({"window": 10**400}, "state\\['window'\\]: window must be a number"),
    ({"opacity": -(10**400)}, "state\\['opacity'\\]"),
    ({"camera": {"position": [0, 0, 10**400]}}, "camera position"),
    ({"layers": {"points": {"size": 10**400}}}, "state\\['layers'\\]"),
    ({"slices": [10**400, 0, 0]}, "outside"),
]


@pytest.mark.parametrize(("state", "message"), HOSTILE_STATES)
def test_a_hostile_state_fails_cleanly_and_changes_nothing(state, message, tmp_path):
    viewer = voxlite.view(np.zeros((4, 4, 4), np.uint8), cmap="hot", point_sets=[[[1, 2, 3]]])
    before = viewer.state
    with pytest.raises(ValueError, match=message) as error:
        viewer.state = {"mode": "mip", **state} if isinstance(state, dict) else state
    assert len(str(error.value)) < 600, "a hostile value is not echoed in full"
    assert viewer.state == before, "all or nothing"
    assert not (tmp_path / "pwned").exists()


# -- screenshots --------------------------------------------------------------------------


def test_screenshot_before_any_picture_says_when_to_call_it():
    with pytest.raises(RuntimeError, match="later cell"):
        voxlite.view(np.zeros((4, 4, 4), np.uint8)).screenshot()


def test_screenshot_returns_the_picture_the_view_sent(tmp_path):
    picture = np.random.default_rng(2).integers(0, 256, (30, 40, 4), dtype=np.uint8)
    viewer = voxlite.view(np.zeros((4, 4, 4), np.uint8))
    viewer._on_front_end_message(viewer, *frame_message(picture))
    shot = viewer.screenshot(tmp_path / "view.png")
    assert np.array_equal(shot, picture[..., :3])
    assert np.array_equal(np.asarray(PILImage.open(tmp_path / "view.png")), picture[..., :3])


@pytest.mark.parametrize(
    ("width", "height", "data", "message"),
    [
        (40, 30, zlib.compress(b"\0" * 10), "expected 4800"),
        (40, 30, b"not zlib", "corrupt"),
        (10**6, 10**6, zlib.compress(b"\0" * 16), "not a picture"),
        ("40", 30, b"", "not a picture"),
        (2, 2, zlib.compress(b"\0" * 10**6), "expected 16"),  # more than it claims
    ],
)
def test_malformed_frames_are_refused(width, height, data, message):
    with pytest.raises(ValueError, match=message):
        decode_frame(width, height, data)


def test_png_writer_round_trips_through_pillow():
    for channels in (3, 4):
        picture = np.random.default_rng(3).integers(0, 256, (7, 5, channels), dtype=np.uint8)
        decoded = np.asarray(PILImage.open(io.BytesIO(png_bytes(picture))))
        assert np.array_equal(decoded, picture)
