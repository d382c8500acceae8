"""What the browser receives: dtypes, masking, binary buffers, label tables."""

import numpy as np
import pytest

from voxlite import Image
from voxlite.checks import to_hex
from voxlite.transfer import encode_image, encode_labels, wire_array

KEPT = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32"]


@pytest.mark.parametrize("dtype", KEPT)
def test_webgl_dtypes_travel_unchanged(dtype):
    array = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    payload = encode_image(Image(array))
    assert payload["dtype"] == dtype
    assert isinstance(payload["data"], memoryview)  # a binary buffer, not JSON numbers
    np.testing.assert_array_equal(np.frombuffer(payload["data"], dtype).reshape(2, 3, 4), array)


@pytest.mark.parametrize(
    ("values", "dtype", "sent"),
    [
        ([0, 1], "bool", "uint8"),
        ([0.5, 2.5], "float64", "float32"),
        ([0.5, 2.5], "float16", "float32"),
        ([-5, 2**31 - 1], "int64", "int32"),
        ([0, 2**32 - 1], "uint64", "uint32"),
        ([-1, 2**40], "int64", "float32"),
    ],
)
def test_other_dtypes_follow_the_documented_rules(values, dtype, sent):
    array = np.array(values, dtype=dtype).reshape(1, 1, 2)
    assert wire_array(array).dtype.name == sent


def test_non_finite_voxels_are_masked_to_the_minimum():
    array = np.array([[[np.nan, 3.0, np.inf, -np.inf, -2.0]]], np.float32)
    payload = encode_image(Image(array))
    sent = np.frombuffer(payload["data"], np.float32)
    np.testing.assert_array_equal(sent, [-2, 3, -2, -2, -2])
    assert payload["range"] == [-2.0, 3.0]


def test_all_nan_is_rejected():
    with pytest.raises(ValueError, match="no finite value"):
        encode_image(Image(np.full((2, 2, 2), np.nan)))


def test_direction_is_sent_column_major_for_vtk_js():
    direction = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]], float)
    payload = encode_image(Image(np.zeros((2, 2, 2)), direction=direction))
    # first three numbers: the x axis' direction, i.e. the first column.
    assert payload["direction"][:3] == [0.0, 1.0, 0.0]


def test_label_table_lists_present_labels_with_colours():
    labels = np.zeros((2, 3, 4), np.int64)
    labels[0, 0, :2] = 3
    labels[1, 2, 3] = 300
    payload = encode_labels(Image(labels), colors={3: "#00ff00"})
    assert payload["dtype"] == "uint16"
    table = {row[0]: row[1:] for row in payload["colors"]}
    assert set(table) == {3, 300}  # 0 is background, absent labels are not listed
    assert table[3] == [0.0, 1.0, 0.0]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.full((2, 2, 2), -1), "negative labels"),
        (np.full((2, 2, 2), 70000), "at most 65535"),
        (np.full((2, 2, 2), 1.5), "whole numbers"),
    ],
)
def test_bad_label_maps_are_rejected(labels, message):
    with pytest.raises(ValueError, match=message):
        encode_labels(Image(labels))


def test_colours():
    assert to_hex("#FFaa00") == "#ffaa00"
    assert to_hex((1.0, 0.0, 0.5)) == "#ff0080"
    assert to_hex((255, 0, 0)) == "#ff0000"
    for bad in ("red", "#12345", (1, 2), (-1, 0, 0)):
        with pytest.raises(ValueError, match="colour"):
            to_hex(bad)


@pytest.mark.parametrize("dtype", [">i2", ">u2", ">f4", ">f8", ">i8", ">i4"])
def test_big_endian_voxels_are_sent_little_endian(dtype):
    array = np.array([-3, 0, 1, 300, 70000], dtype=np.int64).clip(0 if "u" in dtype else None)
    array = array.astype(dtype).reshape(1, 1, 5)
    payload = encode_image(Image(array))
    sent = np.frombuffer(payload["data"], np.dtype(payload["dtype"]).newbyteorder("<"))
    np.testing.assert_array_equal(sent, array.ravel())
    labels = np.array([[[0, 1, 300, 65535]]], ">u2")
    np.testing.assert_array_equal(
        np.frombuffer(encode_labels(Image(labels))["data"], "<u2"), labels.ravel()
    )


def test_points_and_meshes_are_sent_little_endian():
    from voxlite.geometry import Mesh, PointSet
    from voxlite.transfer import encode_mesh, encode_points

    # Made directly, as a caller's big-endian arrays would be (the constructors convert).
    points = PointSet(np.array([[1.5, 2, 3]], ">f4"), scalars=np.array([7], ">f4"))
    payload = encode_points("p", points)
    np.testing.assert_array_equal(np.frombuffer(payload["points"], "<f4"), [1.5, 2, 3])
    np.testing.assert_array_equal(np.frombuffer(payload["scalars"], "<f4"), [7])
    mesh = Mesh(np.eye(3, dtype=">f4"), np.array([[0, 1, 2]], ">u4"))
    np.testing.assert_array_equal(np.frombuffer(encode_mesh("m", mesh)["faces"], "<u4"), [0, 1, 2])
