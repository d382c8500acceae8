"""The Image model and its validation."""

import numpy as np
import pytest

import voxlite
from voxlite import Image, as_image


def test_geometry_maps_index_to_physical_like_itk():
    direction = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]], float)  # 90 degrees about z
    image = Image(np.zeros((3, 4, 5)), spacing=(2, 3, 4), origin=(10, 20, 30), direction=direction)
    # index (i, j, k) = (1, 0, 0): one x step of 2 mm along the first direction column.
    np.testing.assert_allclose(image.index_to_physical((1, 0, 0)), [10, 22, 30])
    np.testing.assert_allclose(image.index_to_physical((0, 1, 0)), [7, 20, 30])
    assert image.size == (5, 4, 3)


def test_two_dimensional_arrays_become_one_slice():
    image = Image(np.ones((4, 5)), spacing=(0.5, 0.25))
    assert image.shape == (1, 4, 5)
    assert image.spacing == (0.5, 0.25, 1.0)


@pytest.mark.parametrize(
    ("array", "error", "message"),
    [
        (np.zeros((0, 4, 4)), ValueError, "empty"),
        (np.zeros(5), ValueError, "expected a 2D or 3D array, got 1D"),
        (np.zeros((2, 3, 4, 5, 6)), ValueError, "got 5D"),
        (np.zeros((2, 3, 4), complex), TypeError, "complex"),
        (np.empty((2, 3, 4), object), TypeError, "object arrays"),
        (np.array([["a", "b"]]), TypeError, "unsupported dtype"),
    ],
)
def test_bad_arrays_are_rejected_with_a_reason(array, error, message):
    with pytest.raises(error, match=message):
        Image(array)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("spacing", (1, np.nan, 1), "spacing must be finite"),
        ("spacing", (1, np.inf, 1), "spacing must be finite"),
        ("spacing", (1, 0, 1), "spacing must be positive"),
        ("spacing", (1, -2, 1), "spacing must be positive"),
        ("spacing", (1, 1, 1, 1), "3 values"),
        ("origin", (0, np.nan, 0), "origin must be finite"),
        ("direction", np.zeros((3, 3)), "singular"),
        ("direction", np.eye(2), "3x3"),
        ("spacing", "abc", "3 numbers"),
    ],
)
def test_bad_geometry_is_rejected(field, value, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Image(np.zeros((2, 2, 2)), **{field: value})


def test_four_dimensional_input_is_channels_time_or_one_component():
    vectors = np.random.default_rng(0).random((4, 5, 6, 3))
    channels = as_image(vectors)  # floats: channels, not colour
    assert (channels.pixel, channels.components, channels.shape) == ("channels", 3, (4, 5, 6))
    np.testing.assert_array_equal(as_image(vectors, component=2).array, vectors[..., 2])
    with pytest.raises(ValueError, match="out of range"):
        as_image(vectors, component=3)
    # a single component needs no choice
    assert as_image(vectors[..., :1]).shape == (4, 5, 6)
    first = as_image(np.zeros((2, 16, 16, 16)))  # channel first, as a deep-learning tensor
    assert (first.pixel, first.components, first.shape) == ("channels", 2, (16, 16, 16))
    series = as_image(np.zeros((30, 16, 16, 16)), timeseries=True)
    assert series.timeseries and series.frames == 30 and series.shape == (16, 16, 16)
    with pytest.raises(ValueError, match="4D array needs component="):
        Image(np.zeros((2, 3, 4, 5)))  # the model itself guesses nothing


def test_colour_images_are_told_from_thin_volumes():
    photo = as_image(np.zeros((480, 640, 3), np.uint8))
    assert (photo.pixel, photo.shape, photo.components) == ("rgb", (1, 480, 640), 3)
    assert as_image(np.zeros((480, 640, 4), np.uint8)).pixel == "rgba"
    assert as_image(np.zeros((480, 640, 3), np.uint16)).pixel == "scalar", "not 8-bit"
    assert as_image(np.zeros((8, 8, 3), np.uint8)).pixel == "scalar", "too small: a volume"
    assert as_image(np.zeros((480, 640, 3), np.uint8), rgb=False).shape == (480, 640, 3)
    assert as_image(np.zeros((8, 8, 3), np.uint8), rgb=True).pixel == "rgb"
    volume = as_image(np.zeros((10, 32, 32, 3), np.uint8))  # a colour volume (3D RGB)
    assert (volume.pixel, volume.shape) == ("rgb", (10, 32, 32))
    with pytest.raises(ValueError, match="rgb=True needs 3 or 4"):
        as_image(np.zeros((10, 32, 32, 5), np.uint8), rgb=True)
    with pytest.raises(ValueError, match="RGB image has 3 values per voxel"):
        Image(np.zeros((1, 4, 4, 4), np.uint8), pixel="rgb")


def test_as_image_overrides_geometry_and_rejects_unknown_keywords():
    image = as_image(np.zeros((2, 3, 4)), spacing=(1, 2, 3), name="ct")
    assert image.spacing == (1.0, 2.0, 3.0)
    assert image.name == "ct"
    assert as_image(image) is image
    with pytest.raises(TypeError, match="spacings"):
        as_image(image, spacings=(1, 1, 1))


def test_unknown_objects_get_a_clear_type_error():
    with pytest.raises(TypeError, match="cannot show an object of type builtins.object"):
        as_image(object())


def test_same_geometry_tolerates_rounding_only():
    a = Image(np.zeros((2, 2, 2)), spacing=(1, 1, 1))
    assert a.same_geometry(a.replace(spacing=(1.00000001, 1, 1)))
    assert not a.same_geometry(a.replace(spacing=(1.1, 1, 1)))
    assert not a.same_geometry(a.replace(array=np.zeros((2, 2, 3))))


def test_ct_phantom_has_anatomy_in_hounsfield_units():
    ct = voxlite.data.ct_phantom((64, 56, 56))
    values = ct.array
    assert values.dtype == np.int16
    assert (values < -900).mean() > 0.2  # air around the body
    assert ((values > 200) & (values < 450)).sum() > 100  # contrast-filled aorta
    assert (values > 2500).sum() > 50  # stent wires
    assert ct.metadata["units"] == "HU"
    with pytest.raises(ValueError, match="at least 16"):
        voxlite.data.ct_phantom((8, 8, 8))


def test_mri_demo_is_the_mni_template_in_lps():
    mri = voxlite.data.mri()
    assert mri.shape == (189, 233, 197)
    # NIfTI's RAS affine diag(1,1,1) becomes LPS direction diag(-1,-1,1).
    np.testing.assert_allclose(np.diag(mri.direction), [-1, -1, 1])
    np.testing.assert_allclose(mri.origin, (98, 134, -72))
    labels = voxlite.data.mri_tissue_labels()
    assert labels.same_geometry(mri)
    counts = np.bincount(labels.array.ravel())
    assert counts[1] > 500_000 and counts[2] > 400_000  # grey and white matter


def test_the_mri_comes_from_a_sites_data_folder_when_the_wheel_has_no_volumes(
    tmp_path, monkeypatch
):
    """A demo site's copy of voxlite's wheel leaves the MNI152 volumes out (its data/
    folder has them): voxlite.data reads them there, or says what is missing."""
    from voxlite import data

    written = data.write_demo_files(tmp_path / "data")
    monkeypatch.setattr(data, "_packaged", lambda kind: None)
    monkeypatch.chdir(tmp_path)
    assert data.mri().shape == (189, 233, 197)
    labels = data.mri_tissue_labels()
    assert labels.metadata["label_names"] == {1: "grey matter", 2: "white matter"}
    assert sorted(np.unique(labels.array).tolist()) == [0, 1, 2]
    written["mri"].unlink()
    with pytest.raises(FileNotFoundError, match="no data/mni152_t1.nii.gz was found"):
        data.mri()
