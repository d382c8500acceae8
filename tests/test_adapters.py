"""Each foreign image type converts to the same Image, checked with the real library."""

from importlib import import_module

import numpy as np
import pytest

from voxlite import as_image
from voxlite.adapters import affine_to_lps_geometry

RNG = np.random.default_rng(7)
ARRAY = RNG.integers(0, 1000, size=(4, 5, 6)).astype(np.int16)  # [z, y, x]
SPACING = (0.7, 0.8, 2.5)
ORIGIN = (-10.0, 20.0, 5.5)
# An oblique direction: a rotation of 30 degrees about z, columns are the axes.
_c, _s = np.cos(np.pi / 6), np.sin(np.pi / 6)
DIRECTION = np.array([[_c, -_s, 0.0], [_s, _c, 0.0], [0.0, 0.0, 1.0]])


def assert_reference_image(image, array=ARRAY):
    np.testing.assert_array_equal(image.array, array)
    np.testing.assert_allclose(image.spacing, SPACING)
    np.testing.assert_allclose(image.origin, ORIGIN, atol=1e-9)
    np.testing.assert_allclose(image.direction, DIRECTION, atol=1e-9)


def lps_affine_as_ras():
    """The NIfTI affine (RAS, index order i, j, k) of the reference geometry."""
    lps = np.eye(4)
    lps[:3, :3] = DIRECTION * SPACING
    lps[:3, 3] = ORIGIN
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def test_numpy_and_array_likes():
    assert_reference_image(as_image(ARRAY, spacing=SPACING, origin=ORIGIN, direction=DIRECTION))
    nested = as_image(ARRAY.tolist())
    np.testing.assert_array_equal(nested.array, ARRAY)

    class ArrayLike:
        def __array__(self, dtype=None, copy=None):
            return ARRAY

    np.testing.assert_array_equal(as_image(ArrayLike()).array, ARRAY)


def test_simpleitk_image_keeps_geometry():
    sitk = import_module("SimpleITK")
    image = sitk.GetImageFromArray(ARRAY)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    image.SetDirection(DIRECTION.ravel().tolist())  # ITK's flat direction is row-major
    assert_reference_image(as_image(image))


def test_simpleitk_vector_image_is_channels():
    sitk = import_module("SimpleITK")
    vectors = sitk.GetImageFromArray(np.stack([ARRAY, ARRAY + 1], axis=-1), isVector=True)
    image = as_image(vectors)
    assert (image.pixel, image.components, image.shape) == ("channels", 2, ARRAY.shape)
    np.testing.assert_array_equal(image.channel(1).array, ARRAY + 1)
    np.testing.assert_array_equal(as_image(vectors, component=1).array, ARRAY + 1)
    colour = sitk.GetImageFromArray(np.zeros((20, 30, 3), np.uint8), isVector=True)
    assert as_image(colour).pixel == "rgb" and as_image(colour).shape == (1, 20, 30)


def test_simpleitk_2d_image():
    sitk = import_module("SimpleITK")
    image = sitk.GetImageFromArray(ARRAY[0])
    image.SetSpacing((0.5, 0.25))
    converted = as_image(image)
    assert converted.shape == (1, 5, 6)
    assert converted.spacing == (0.5, 0.25, 1.0)


def test_itk_image_keeps_geometry():
    itk = pytest.importorskip("itk", reason="itk is installed by scripts/setup, not the test extra")
    image = itk.image_from_array(ARRAY)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    image.SetDirection(itk.matrix_from_array(DIRECTION))
    assert_reference_image(as_image(image))


def test_nibabel_image_converts_ras_to_lps():
    nib = import_module("nibabel")
    # nibabel arrays are indexed [i, j, k]: the transpose of ITK's [z, y, x].
    image = nib.Nifti1Image(ARRAY.transpose(2, 1, 0), lps_affine_as_ras())
    assert_reference_image(as_image(image))


def test_nibabel_4d_is_a_time_series_and_picks_time_points():
    nib = import_module("nibabel")
    series = np.stack([ARRAY.transpose(2, 1, 0) + t for t in range(3)], axis=-1)  # [i, j, k, t]
    image = nib.Nifti1Image(series, lps_affine_as_ras())
    converted = as_image(image)
    assert converted.timeseries and converted.frames == 3 and converted.shape == ARRAY.shape
    assert_reference_image(converted.frame(2), ARRAY + 2)
    assert_reference_image(as_image(image, component=2), ARRAY + 2)


def test_affine_with_nan_or_zero_axis_is_rejected():
    with pytest.raises(ValueError, match="NaN"):
        affine_to_lps_geometry(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="zero spacing"):
        affine_to_lps_geometry(np.diag([1.0, 0.0, 1.0, 1.0]))


def test_xarray_uses_dims_and_coordinates():
    xr = import_module("xarray")
    coords = {
        "x": ORIGIN[0] + SPACING[0] * np.arange(6),
        "y": ORIGIN[1] + SPACING[1] * np.arange(5),
        "z": ORIGIN[2] + SPACING[2] * np.arange(4),
    }
    # dims deliberately in x, y, z order: voxlite reorders them to [z, y, x].
    data = xr.DataArray(ARRAY.transpose(2, 1, 0), dims=("x", "y", "z"), coords=coords, name="ct")
    image = as_image(data)
    np.testing.assert_array_equal(image.array, ARRAY)
    np.testing.assert_allclose(image.spacing, SPACING)
    np.testing.assert_allclose(image.origin, ORIGIN)
    assert image.name == "ct"
    uneven = data.assign_coords(x=[0, 1, 2, 4, 8, 16])
    with pytest.raises(ValueError, match="not evenly spaced"):
        as_image(uneven)


def test_zarr_array():
    zarr = import_module("zarr")
    store = zarr.zeros(shape=ARRAY.shape, dtype=ARRAY.dtype, chunks=(2, 5, 6))
    store[...] = ARRAY
    np.testing.assert_array_equal(as_image(store).array, ARRAY)


def test_dask_array():
    da = import_module("dask.array")
    lazy = da.from_array(ARRAY, chunks=(2, 5, 6))
    np.testing.assert_array_equal(as_image(lazy).array, ARRAY)


def test_torch_tensor_is_channel_first():
    torch = pytest.importorskip("torch", reason="torch is installed by scripts/setup")
    tensor = torch.from_numpy(np.stack([ARRAY, ARRAY * 2]))  # (C, D, H, W)
    channels = as_image(tensor)
    assert (channels.pixel, channels.components, channels.shape) == ("channels", 2, ARRAY.shape)
    np.testing.assert_array_equal(as_image(tensor, component=1).array, ARRAY * 2)
    np.testing.assert_array_equal(as_image(torch.from_numpy(ARRAY)).array, ARRAY)


def test_monai_metatensor_uses_its_affine():
    pytest.importorskip("torch", reason="torch is installed by scripts/setup")
    monai_data = pytest.importorskip("monai.data", reason="MONAI is installed by scripts/setup")
    # MONAI keeps nibabel's index order and a RAS affine, channel first.
    tensor = monai_data.MetaTensor(
        np.ascontiguousarray(ARRAY.transpose(2, 1, 0))[np.newaxis], affine=lps_affine_as_ras()
    )
    assert_reference_image(as_image(tensor))
