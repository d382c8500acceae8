"""File I/O: every format round-trips and matches what SimpleITK reads; bad files say why."""

import gzip
import shutil
import warnings

import numpy as np
import pytest
import SimpleITK as sitk

import voxlite
from tests.samples import write_ome_zarr
from voxlite import Image, ImageIOError, read_image, write_image
from voxlite.io.dicom import write_series

FORMATS = [".nii.gz", ".nii", ".nrrd", ".mha", ".mhd"]


def oblique_ct() -> Image:
    """A small CT with anisotropic spacing, an offset origin and an oblique direction."""
    a, b = 0.4, 0.25
    about_z = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    about_x = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    ct = voxlite.data.ct_phantom((24, 20, 18))
    return ct.replace(direction=about_z @ about_x, origin=(12.5, -40.0, 7.25))


def assert_same_as_simpleitk(image: Image, reference) -> None:
    np.testing.assert_array_equal(image.array, sitk.GetArrayFromImage(reference))
    np.testing.assert_allclose(image.spacing, reference.GetSpacing(), rtol=1e-5)
    np.testing.assert_allclose(image.origin, reference.GetOrigin(), atol=1e-3)
    direction = np.reshape(reference.GetDirection(), (3, 3))
    np.testing.assert_allclose(image.direction, direction, atol=1e-5)


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_matches_simpleitk(tmp_path, suffix):
    original = oblique_ct()
    path = write_image(original, tmp_path / f"ct{suffix}")
    image = read_image(path)
    np.testing.assert_array_equal(image.array, original.array)
    assert image.array.dtype == original.array.dtype
    np.testing.assert_allclose(image.direction, original.direction, atol=1e-6)
    assert_same_as_simpleitk(image, sitk.ReadImage(str(path)))
    assert image.name == path.name


@pytest.mark.parametrize("suffix", FORMATS)
def test_files_written_by_simpleitk_read_the_same(tmp_path, suffix):
    original = oblique_ct()
    reference = sitk.GetImageFromArray(original.array)
    reference.SetSpacing(original.spacing)
    reference.SetOrigin(original.origin)
    reference.SetDirection(original.direction.ravel().tolist())
    path = tmp_path / f"itk{suffix}"
    sitk.WriteImage(reference, str(path), useCompression=suffix in (".mha", ".nrrd"))
    assert_same_as_simpleitk(read_image(path), reference)


def test_dicom_series_matches_simpleitk(tmp_path):
    original = oblique_ct()
    files = write_series(original, tmp_path / "series", description="phantom")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path / "series")))
    reference = reader.Execute()
    for source in (tmp_path / "series", list(reversed(files))):  # order on disk is irrelevant
        image = read_image(source)
        np.testing.assert_array_equal(image.array, original.array)
        assert_same_as_simpleitk(image, reference)
    assert image.name == "phantom"
    assert image.metadata["Modality"] == "CT"


def test_dicom_rescale_and_anonymize(tmp_path):
    import pydicom

    files = write_series(Image(np.full((3, 4, 5), 100, np.int16)), tmp_path)
    for path in files:
        dataset = pydicom.dcmread(path)
        dataset.RescaleSlope, dataset.RescaleIntercept = "0.5", "-1024"
        dataset.save_as(path)
    image = read_image(tmp_path, anonymize=True)
    assert image.array.dtype == np.float32
    np.testing.assert_allclose(image.array, 100 * 0.5 - 1024)
    assert "PatientName" not in image.metadata and "PatientID" not in image.metadata
    assert read_image(tmp_path).metadata["PatientName"] == "Phantom"


def test_folder_with_several_series_shows_the_largest_and_names_the_others(tmp_path):
    write_series(Image(np.zeros((6, 4, 4), np.int16)), tmp_path / "a", description="big")
    write_series(Image(np.ones((2, 4, 4), np.int16)), tmp_path / "b", description="scout")
    with pytest.warns(
        UserWarning,
        match=r"2 series; showing #0 'big' \(series 1, 6 slices, axial\), not: #1 "
        r"'scout' \(series 1, 2 slices, axial\)\. Choose one with read_image\(\.\.\., series=",
    ):
        image = read_image(tmp_path)
    assert image.shape == (6, 4, 4)
    listed = voxlite.io.dicom.series(str(tmp_path))
    assert [(s.description, s.slices, s.index) for s in listed] == [("big", 6, 0), ("scout", 2, 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # chosen: no warning
        scout = read_image(tmp_path, series=1)
        assert read_image(tmp_path, series=listed[1].uid).shape == scout.shape == (2, 4, 4)
    np.testing.assert_array_equal(scout.array, 1)
    expect_error(tmp_path, r"series=5: it holds 2 series, 0\.\.1: #0 'big'", series=5)


def test_view_accepts_paths(tmp_path):
    path = write_image(oblique_ct(), tmp_path / "ct.nrrd")
    viewer = voxlite.view(str(path), cmap="ct-bone")
    assert viewer.image.shape == (24, 20, 18)
    assert viewer._image["name"] == "ct.nrrd"


def test_mri_demo_as_nifti_keeps_its_geometry(tmp_path):
    mri = voxlite.data.mri()
    image = read_image(write_image(mri, tmp_path / "mni.nii.gz"))
    assert image.same_geometry(mri)


# -- bad input ----------------------------------------------------------------------


def expect_error(source, reason, **options):
    with pytest.raises(ImageIOError, match=reason) as caught:
        read_image(source, **options)
    return caught.value


def test_missing_path(tmp_path):
    error = expect_error(tmp_path / "nope.nii.gz", "no such file or folder")
    assert error.path.endswith("nope.nii.gz")


def test_folder_without_dicom(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    expect_error(tmp_path, "no DICOM image slices found")
    empty = tmp_path / "empty"
    empty.mkdir()
    expect_error(empty, "the folder is empty")


def test_truncated_nifti(tmp_path):
    path = write_image(oblique_ct(), tmp_path / "ct.nii.gz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    expect_error(path, "ct.nii.gz: .*(truncated|corrupt|cannot read)")


def test_not_a_nifti(tmp_path):
    path = tmp_path / "fake.nii"
    path.write_bytes(b"this is not an image" * 20)
    expect_error(path, "fake.nii")


def test_nrrd_with_a_missing_data_file(tmp_path):
    header = tmp_path / "ct.nhdr"
    header.write_text(
        "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\n"
        "encoding: raw\ndata file: ct.raw\n\n"
    )
    expect_error(header, "ct.nhdr: cannot read it: .*ct.raw")


def test_metaimage_header_and_data_size_mismatch(tmp_path):
    path = write_image(oblique_ct(), tmp_path / "ct.mhd")
    raw = tmp_path / "ct.raw"
    raw.write_bytes(raw.read_bytes()[:-100])
    expect_error(path, "header and data disagree: .* need 17280 bytes, the data holds 17180")
    raw.unlink()
    expect_error(path, "data file ct.raw is missing")


def test_metaimage_corrupt_compression_and_unsupported_fields(tmp_path):
    path = write_image(oblique_ct(), tmp_path / "ct.mha")
    data = bytearray(path.read_bytes())
    data[-200:-100] = b"\x00" * 100
    path.write_bytes(bytes(data))
    expect_error(path, "compressed data is corrupt|header and data disagree")
    listed = tmp_path / "list.mhd"
    listed.write_text(
        "NDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = LIST\n"
    )
    expect_error(listed, "slice lists and patterns are not read")
    odd = tmp_path / "odd.mha"
    odd.write_text("NDims = 3\nDimSize = 2 2 2\nElementType = MET_FANCY\nElementDataFile = LOCAL\n")
    expect_error(odd, "unsupported ElementType 'MET_FANCY'")


def test_dicom_slices_of_another_size_are_another_series(tmp_path):
    write_series(Image(np.zeros((3, 4, 4), np.int16)), tmp_path)
    import pydicom

    odd = pydicom.dcmread(tmp_path / "slice0001.dcm")
    odd.Rows, odd.Columns = 2, 8
    odd.save_as(tmp_path / "slice0001.dcm")
    # A slice of another size is another series (as GDCM's series details split them).
    with pytest.warns(UserWarning, match=r"2 series; showing #0 .*2 slices.* not: #1 .*1 slices"):
        assert read_image(tmp_path).shape == (2, 4, 4)
    assert read_image(tmp_path, series=1).shape == (1, 2, 8)


def test_dicom_with_unsupported_compression(tmp_path):
    import pydicom
    from pydicom.uid import JPEG2000Lossless

    files = write_series(Image(np.zeros((2, 4, 4), np.int16)), tmp_path)
    dataset = pydicom.dcmread(files[0])
    dataset.file_meta.TransferSyntaxUID = JPEG2000Lossless
    dataset.PixelData = pydicom.encaps.encapsulate([b"not a jpeg 2000 stream"])
    dataset.save_as(files[0], enforce_file_format=True)
    expect_error(tmp_path, "slice0000.dcm: cannot decode its pixel data")


def test_unknown_format(tmp_path):
    path = tmp_path / "scan.xyz"
    path.write_bytes(b"123")
    expect_error(path, r"unknown image format \.xyz; voxlite reads \.nii")


# -- writing ------------------------------------------------------------------------


def test_write_errors(tmp_path):
    with pytest.raises(ImageIOError, match="unknown suffix"):
        write_image(np.zeros((2, 2, 2)), tmp_path / "x.png")
    with pytest.raises(ImageIOError, match="the folder .* does not exist"):
        write_image(np.zeros((2, 2, 2)), tmp_path / "missing" / "x.nii")


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    from voxlite.io import metaimage

    path = write_image(oblique_ct(), tmp_path / "ct.mhd")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def disk_full(image, target, final=None):
        target.write_bytes(b"partial")
        target.with_suffix(".raw").write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(metaimage, "write", disk_full)
    with pytest.raises(ImageIOError, match="No space left on device"):
        write_image(np.ones((2, 2, 2)), path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_gzip_nifti_is_really_compressed(tmp_path):
    path = write_image(np.zeros((32, 32, 32), np.int16), tmp_path / "zeros.nii.gz")
    assert gzip.decompress(path.read_bytes())[:4] != b""  # a valid gzip stream
    assert path.stat().st_size < 32**3 * 2 / 10


def test_no_warning_for_a_single_clean_series(tmp_path):
    write_series(oblique_ct(), tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_image(tmp_path)
    shutil.rmtree(tmp_path)


# -- optional formats: TIFF stacks and OME-Zarr ------------------------------------------


def test_imagej_tiff_stack_with_voxel_size(tmp_path):
    import tifffile

    stack = np.random.default_rng(1).integers(0, 4000, (6, 7, 8)).astype(np.uint16)
    path = tmp_path / "cells.tif"
    tifffile.imwrite(
        path,
        stack,
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.25),
        # A Z stack: without axes, tifffile writes the first axis as ImageJ channels.
        metadata={"spacing": 2.0, "unit": "um", "axes": "ZYX"},
    )
    image = read_image(path)
    np.testing.assert_array_equal(image.array, stack)
    np.testing.assert_allclose(image.spacing, (0.5e-3, 0.25e-3, 2.0e-3))  # µm, in mm
    assert (image.metadata["unit"], image.metadata["unit_in_file"]) == ("mm", "um")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(path))), stack)
    (tmp_path / "bad.tif").write_bytes(b"II*\x00garbage")
    expect_error(tmp_path / "bad.tif", "bad.tif: cannot read it")


# ResolutionUnit: x and y spacing in mm, as SimpleITK (ITK's TIFFImageIO) reports them.
RESOLUTION_UNITS = {
    "inch": ({"resolution": (72.0, 36.0), "resolutionunit": "INCH"}, (25.4 / 72, 25.4 / 36)),
    "cm": ({"resolution": (10.0, 5.0), "resolutionunit": "CENTIMETER"}, (1.0, 2.0)),
    "no tag (TIFF's default: inch)": ({"resolution": (72.0, 36.0)}, (25.4 / 72, 25.4 / 36)),
    "none": ({"resolution": (2.0, 4.0), "resolutionunit": "NONE"}, (1.0, 1.0)),
}


@pytest.mark.parametrize("unit", RESOLUTION_UNITS)
def test_tiff_resolution_unit_gives_millimetres_as_simpleitk_reads_them(tmp_path, unit):
    import tifffile

    options, expected = RESOLUTION_UNITS[unit]
    path = tmp_path / "stack.tif"
    stack = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    tifffile.imwrite(path, stack, photometric="minisblack", **options)
    image = read_image(path)
    reference = sitk.ReadImage(str(path))
    np.testing.assert_allclose(image.spacing[:2], expected)
    np.testing.assert_allclose(image.spacing, reference.GetSpacing())
    np.testing.assert_array_equal(image.array, sitk.GetArrayFromImage(reference))
    assert image.metadata["unit"] == (None if unit == "none" else "mm")  # none: unitless


# ImageJ's unit= (SimpleITK ignores it, and reports 1.0): pixels per unit, and z spacing.
IMAGEJ_UNITS = {"um": 1e-3, "\\u00B5m": 1e-3, "micron": 1e-3, "nm": 1e-6, "mm": 1.0, "cm": 10.0}


@pytest.mark.parametrize("unit", IMAGEJ_UNITS)
def test_tiff_imagej_unit_gives_millimetres(tmp_path, unit):
    import tifffile

    path = tmp_path / "stack.tif"
    metadata = {"spacing": 3.0, "unit": unit, "axes": "ZYX"}
    tifffile.imwrite(
        path, np.zeros((3, 4, 5), np.uint16), imagej=True, resolution=(2.0, 4.0), metadata=metadata
    )
    image = read_image(path)
    scale = IMAGEJ_UNITS[unit]
    np.testing.assert_allclose(image.spacing, (0.5 * scale, 0.25 * scale, 3.0 * scale))
    assert (image.metadata["unit"], image.metadata["unit_in_file"]) == ("mm", unit)


def test_tiff_without_a_unit_keeps_imagej_ratios_and_ome_units_are_read(tmp_path):
    import tifffile

    plain = tmp_path / "plain.tif"
    metadata = {"spacing": 3.0, "axes": "ZYX"}
    tifffile.imwrite(
        plain, np.zeros((3, 4, 5), np.uint16), imagej=True, resolution=(2.0, 4.0), metadata=metadata
    )
    image = read_image(plain)
    assert image.spacing == (0.5, 0.25, 3.0) and image.metadata["unit"] is None
    ome = tmp_path / "cells.ome.tif"
    metadata = {"PhysicalSizeX": 0.5, "PhysicalSizeY": 0.75, "PhysicalSizeZ": 2.0, "axes": "ZYX"}
    metadata["PhysicalSizeZUnit"] = "mm"
    tifffile.imwrite(ome, np.zeros((3, 4, 5), np.uint16), ome=True, metadata=metadata)
    image = read_image(ome)
    np.testing.assert_allclose(image.spacing, (0.5e-3, 0.75e-3, 2.0))  # µm, µm (OME's default), mm
    assert image.metadata["unit"] == "mm"


def test_tiff_compressions_voxlite_cannot_bound_are_refused(tmp_path):
    import tifffile

    from tests.hostile import tiff

    stack = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    for compression in ("zlib", "lzma"):
        path = tmp_path / f"{compression}.tif"
        tifffile.imwrite(path, stack, photometric="minisblack", compression=compression)
        np.testing.assert_array_equal(read_image(path).array, stack)
    rows = stack[0].astype("<u2").tobytes()
    packbits = b"".join(b"\x09" + rows[i : i + 10] for i in range(0, len(rows), 10))  # literals
    (tmp_path / "packbits.tif").write_bytes(tiff([packbits], 32773, width=5, height=4))
    np.testing.assert_array_equal(read_image(tmp_path / "packbits.tif").array, stack[:1])
    (tmp_path / "lzw.tif").write_bytes(tiff([b"\x80\x00"], 5))
    expect_error(tmp_path / "lzw.tif", "compression LZW")


def test_ome_zarr_levels_and_geometry(tmp_path):
    full = np.arange(8 * 10 * 12, dtype=np.float32).reshape(8, 10, 12)
    half = full[::2, ::2, ::2].copy()
    path = tmp_path / "cells.ome.zarr"
    write_ome_zarr(path, [full, half], scale=(2.0, 0.5, 0.25), translation=(10.0, 20.0, 30.0))
    image = read_image(path)
    np.testing.assert_array_equal(image.array, full)
    # x, y, z from the z, y, x axes, micrometres as millimetres (voxlite's one unit)
    assert image.spacing == pytest.approx((0.00025, 0.0005, 0.002))
    assert image.origin == pytest.approx((0.03, 0.02, 0.01))
    assert (image.metadata["unit"], image.metadata["unit_in_file"]) == ("mm", "micrometer")
    assert [level["shape"] for level in image.metadata["levels"]] == [[8, 10, 12], [4, 5, 6]]
    coarse = read_image(path, level=1)
    np.testing.assert_array_equal(coarse.array, half)
    assert coarse.spacing == pytest.approx((0.0005, 0.001, 0.004))
    expect_error(path, "level 5 does not exist: the image has 2 levels", level=5)


def test_ome_zarr_bad_inputs(tmp_path):
    import zarr

    plain = tmp_path / "plain.zarr"
    zarr.open_group(str(plain), mode="w", zarr_format=2).create_array("0", data=np.zeros(3))
    expect_error(plain, "not an OME-Zarr image: no 'multiscales'")
    channels = tmp_path / "channels.ome.zarr"
    write_ome_zarr(
        channels,
        [np.zeros((2, 3, 4, 5), np.uint8)],
        scale=(1, 1, 1, 1),
        translation=(0, 0, 0, 0),
        axes=("c", "z", "y", "x"),
    )
    image = read_image(channels)  # channels are read (last, as voxlite keeps them)
    assert (image.pixel, image.components, image.shape) == ("channels", 2, (3, 4, 5))
    odd = tmp_path / "odd.ome.zarr"
    write_ome_zarr(
        odd,
        [np.zeros((2, 3, 4, 5), np.uint8)],
        scale=(1, 1, 1, 1),
        translation=(0, 0, 0, 0),
        axes=("q", "z", "y", "x"),
    )
    expect_error(odd, "voxlite shows no 'q' axis of 2")
