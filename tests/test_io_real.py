"""Real files nobody in this project wrote (pydicom's, pydicom-data's, nibabel's test data),
read with voxlite and cross-checked against SimpleITK, nibabel or pydicom: voxels, spacing,
origin, direction. No file is downloaded: they ship inside those packages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file
from pydicom.pixels.decoders.base import get_decoder

import voxlite
from voxlite import ImageIOError, read_image
from voxlite.io import dicom
from voxlite.io.dicom_pixels import read_colour

sitk.ProcessObject_SetGlobalWarningDisplay(False)
NIBABEL_DATA = Path(nibabel.__file__).parent / "tests" / "data"
PYDICOM_DATA = Path(get_testdata_file("CT_small.dcm", download=False)).parent
DICOMDIR_TESTS = PYDICOM_DATA / "dicomdirtests"


def data(name: str) -> Path:
    """A pydicom (or pydicom-data) test file, offline."""
    path = get_testdata_file(name, download=False)  # never from the network
    if path is None:
        pytest.skip(f"{name} is not installed (pydicom-data)")
    header = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    uid = getattr(header, "file_meta", {}).get("TransferSyntaxUID")
    if uid and not get_decoder(uid).is_available:
        pytest.skip(f"{name}: no decoder for {uid.name} (pip install 'voxlite[dicom]')")
    return Path(path)


def quietly(source, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_image(source, **options)


def aligned(image: voxlite.Image, reference: sitk.Image) -> voxlite.Image:
    """``image`` with its index axes flipped to run as the reference's (same voxels in space).

    Two readers may order the slices of one volume in opposite directions (voxlite: a
    right-handed frame, ascending along the slice normal); the physical image is the same.
    """
    ours = image.direction
    theirs = np.reshape(reference.GetDirection(), (3, 3))
    array, origin, direction = np.asarray(image.array), np.asarray(image.origin), ours.copy()
    for axis in range(3):
        if np.dot(ours[:, axis], theirs[:, axis]) < 0:
            n = array.shape[2 - axis]
            origin = origin + ours[:, axis] * image.spacing[axis] * (n - 1)
            direction[:, axis] = -direction[:, axis]
            array = np.flip(array, axis=2 - axis)
    return image.replace(array=np.ascontiguousarray(array), origin=origin, direction=direction)


def assert_like_simpleitk(image, reference, atol=0.0, slice_spacing=True) -> None:
    """Same voxels, spacing, origin and direction as SimpleITK (z spacing of 1 slice aside)."""
    image = aligned(image, reference)
    expected = sitk.GetArrayFromImage(reference)
    assert image.shape == expected.shape
    np.testing.assert_allclose(image.array, expected, atol=atol)
    spacing = reference.GetSpacing()
    compared = 3 if slice_spacing and image.shape[0] > 1 else 2
    # (ITK takes the distance between positions, voxlite their projection on the normal)
    np.testing.assert_allclose(image.spacing[:compared], spacing[:compared], rtol=1e-4)
    np.testing.assert_allclose(image.origin, reference.GetOrigin(), atol=1e-3)
    np.testing.assert_allclose(
        image.direction, np.reshape(reference.GetDirection(), (3, 3)), atol=1e-4
    )


# -- single DICOM files: transfer syntaxes, byte orders, 2D images ------------------------

# file, what it is (the cases table of issue 15)
DICOM_FILES = {
    "CT_small.dcm": "CT, explicit VR little endian",
    "MR_small.dcm": "MR, explicit VR little endian",
    "MR_small_implicit.dcm": "MR, implicit VR",
    "MR_small_bigendian.dcm": "MR, explicit VR big endian",
    "MR_small_expb.dcm": "MR, explicit VR big endian (other writer)",
    "MR_small_padded.dcm": "MR, trailing padding",
    "MR_small_RLE.dcm": "MR, RLE lossless",
    "MR_small_jp2klossless.dcm": "MR, JPEG 2000 lossless",
    "MR_small_jpeg_ls_lossless.dcm": "MR, JPEG-LS lossless",
    "JPEG2000.dcm": "NM secondary capture, JPEG 2000",
    "JPEG-LL.dcm": "NM secondary capture, JPEG lossless process 14 SV1",
    "JPEGLSNearLossless_16.dcm": "JPEG-LS near-lossless, 16-bit",
    "JPEGLSNearLossless_08.dcm": "JPEG-LS near-lossless, 8-bit",
    "693_J2KR.dcm": "CT, JPEG 2000 lossless",
    "693_J2KI.dcm": "CT, JPEG 2000 lossy",
    "explicit_VR-UN.dcm": "CT, JPEG 2000, elements with VR UN",
    "J2K_pixelrep_mismatch.dcm": "CT oblique, JPEG 2000 signedness mismatch",
    "image_dfl.dcm": "secondary capture, deflated explicit VR",
    "vlut_04.dcm": "8-bit secondary capture (no geometry)",
    "mlut_18.dcm": "16-bit secondary capture with modality LUT",
    "emri_small.dcm": "Enhanced MR, 10 frames, no plane positions",
    "emri_small_big_endian.dcm": "Enhanced MR, big endian",
    "emri_small_RLE.dcm": "Enhanced MR, RLE",
    "emri_small_jpeg_2k_lossless.dcm": "Enhanced MR, JPEG 2000",
    "emri_small_jpeg_ls_lossless.dcm": "Enhanced MR, JPEG-LS",
    "MR-SIEMENS-DICOM-WithOverlays.dcm": "MR with overlays, 12 bits stored",
}


@pytest.mark.parametrize("name", sorted(DICOM_FILES))
def test_dicom_files_read_as_simpleitk_reads_them(name):
    path = data(name)
    image = quietly(path)
    assert_like_simpleitk(image, sitk.ReadImage(str(path)))
    assert image.metadata["format"] == "DICOM"


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "vlut_04.dcm"]
)
def test_uncompressed_pixels_read_directly_equal_pydicoms(name):
    """The direct read (no second parse) gives exactly what pydicom's handlers give."""
    path = data(name)
    dataset = pydicom.dcmread(path)
    stored = np.asarray(dataset.pixel_array, dtype=float)
    slope, intercept = (
        float(dataset.get("RescaleSlope", 1)),
        float(dataset.get("RescaleIntercept", 0)),
    )
    np.testing.assert_array_equal(read_image(path).array[0], stored * slope + intercept)


def test_a_lossy_12_bit_jpeg_matches_pydicoms_decoder():
    """JPEG Extended (12-bit, lossy): decoders differ by rounding (libjpeg vs GDCM's)."""
    path = data("JPGExtended.dcm")
    image = read_image(path)
    np.testing.assert_array_equal(image.array[0], pydicom.dcmread(path).pixel_array)
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    assert np.abs(image.array.astype(int) - reference).max() <= 4


def test_monochrome1_keeps_modality_values_and_says_so():
    """GDCM inverts MONOCHROME1 before rescaling; voxlite keeps the modality values (stored
    times slope plus intercept, as pydicom) and says MONOCHROME1 for the display to invert."""
    path = sorted((DICOMDIR_TESTS / "77654033" / "CR1").iterdir())[0]
    dataset = pydicom.dcmread(path)
    image = read_image(path)
    expected = dataset.pixel_array * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
    np.testing.assert_allclose(image.array[0], expected, rtol=1e-6)
    assert image.metadata["PhotometricInterpretation"] == "MONOCHROME1"
    inverted = (2**dataset.BitsStored - 1 - dataset.pixel_array) * float(dataset.RescaleSlope)
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))[0]
    np.testing.assert_allclose(reference, inverted + float(dataset.RescaleIntercept), rtol=1e-5)
    # a radiograph: its detector's spacing, and where it comes from
    assert image.spacing[:2] == (0.1, 0.1)
    assert image.metadata["spacing_source"] == "ImagerPixelSpacing"


def test_a_2d_image_is_one_slice_with_its_pixel_spacing():
    path = data("JPEG-LL.dcm")
    image = read_image(path)
    assert image.shape == (1, 1024, 256)
    assert image.spacing[:2] == (2.26, 2.26)
    assert image.metadata["spacing_source"] == "PixelSpacing"
    assert read_image(data("vlut_04.dcm")).metadata["spacing_source"] == "none"


# -- multi-frame objects: Enhanced CT, RT Dose, SEG ------------------------------------------


def test_enhanced_ct_frames_are_placed_by_their_functional_groups():
    path = data("eCT_Supplemental.dcm")
    image = read_image(path)
    assert image.shape == (2, 512, 512)
    # Its IOP (-1, 0, 0, 0, 1, 0): the slice normal is -z; voxlite's frame is right-handed.
    np.testing.assert_allclose(image.direction[:, 2], [0, 0, -1])
    assert_like_simpleitk(image, sitk.ReadImage(str(path)))
    assert image.array.min() == -1024  # its Pixel Value Transformation's intercept


@pytest.mark.parametrize("name", ["rtdose.dcm", "rtdose_rle.dcm", "rtdose_expb.dcm"])
def test_rt_dose_grid_and_dose_grid_scaling(name):
    path = data(name)
    dataset = pydicom.dcmread(path)
    image = read_image(path)
    assert image.name == "RT Dose" and image.metadata["DoseUnits"] == "RELATIVE"
    scaling = float(dataset.DoseGridScaling)
    np.testing.assert_allclose(image.array, dataset.pixel_array * scaling, rtol=1e-6)
    offsets = np.asarray(dataset.GridFrameOffsetVector, float)
    assert image.spacing == (10.0, 10.0, float(np.diff(offsets)[0]))
    np.testing.assert_allclose(image.origin, dataset.ImagePositionPatient)
    reference = sitk.ReadImage(str(path))  # GDCM: the grid, and stored values unscaled
    if name != "rtdose_expb.dcm":  # GDCM mis-reads big-endian 32-bit doses
        assert_like_simpleitk(image.replace(array=image.array / scaling), reference, atol=1e-2)
    else:
        np.testing.assert_allclose(image.spacing, reference.GetSpacing())
        np.testing.assert_allclose(image.origin, reference.GetOrigin())


@pytest.mark.parametrize("name", ["liver.dcm", "liver_expb.dcm", "liver_1frame.dcm"])
def test_dicom_seg_is_a_label_map_with_segment_names(name):
    path = data(name)
    image = read_image(path)
    assert image.metadata["label_names"] == {1: "Liver"}
    assert image.array.dtype == np.uint8 and set(np.unique(image.array)) <= {0, 1}
    reference = sitk.ReadImage(str(path))  # GDCM: the frames as 0/255 masks
    assert_like_simpleitk(image.replace(array=image.array * 255), reference)
    assert image.array.sum() > 1000
    viewer = voxlite.view(image.replace(array=np.zeros(image.shape, np.int16)), label_image=image)
    assert viewer._labels["colors"][0][0] == 1  # a label map the viewer takes as it is


# -- folders: series split, never stacked ------------------------------------------------------


def test_a_series_folder_reads_as_simpleitks_series_reader():
    folder = DICOMDIR_TESTS / "98892001" / "CT5N"
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    assert_like_simpleitk(read_image(folder), reader.Execute())


def test_localizer_planes_of_one_series_are_never_stacked(tmp_path):
    """A 3-plane localizer ('T/S/C RF FAST PILOT'): three slices of one SeriesInstanceUID,
    one axial, one coronal, one sagittal. They used to be stacked into one 3-slice volume."""
    source = DICOMDIR_TESTS / "98892003" / "MR2"
    by_uid: dict[str, list[Path]] = {}
    for path in sorted(source.iterdir()):
        by_uid.setdefault(pydicom.dcmread(path).SeriesInstanceUID, []).append(path)
    ((uid, files),) = [(u, f) for u, f in by_uid.items() if len(f) == 3][:1]
    for path in files:
        shutil.copy(path, tmp_path / path.name)
    listed = dicom.series(tmp_path)
    assert sorted(s.orientation for s in listed) == ["axial", "coronal", "sagittal"]
    assert all(s.slices == 1 and s.uid == uid for s in listed)
    with pytest.warns(UserWarning, match="holds 3 series; .*axial.*coronal|coronal.*axial"):
        read_image(tmp_path)
    for entry in listed:
        (path,) = entry.files
        image = read_image(tmp_path, series=entry.index)
        assert_like_simpleitk(image, sitk.ReadImage(str(path)), slice_spacing=False)
    with pytest.raises(ImageIOError, match="holds 3 series .*choose one by index"):
        read_image(tmp_path, series=uid)


def test_the_warning_about_other_series_tells_them_apart():
    folder = DICOMDIR_TESTS / "98892003" / "MR700"  # radial MIP projections of one MR angio
    listed = dicom.series(folder)
    assert len(listed) == 7 and len({s.uid for s in listed}) == 1
    with pytest.warns(UserWarning) as caught:
        read_image(folder)
    message = str(caught[0].message)
    assert "holds 7 series" in message and "series 700" in message
    assert "sagittal" in message and "coronal" in message and "1 slices" in message


def test_a_dicomdir_tree_lists_every_series():
    listed = dicom.series(str(DICOMDIR_TESTS))
    assert len(listed) == 24
    assert {s.modality for s in listed} == {"CT", "MR", "CR"}
    chosen = quietly(DICOMDIR_TESTS)  # the largest: 5 slices of "SmartScore"
    assert chosen.shape[0] == max(s.slices for s in listed) == 5


# -- files without preamble, colour ---------------------------------------------------------


@pytest.mark.parametrize("implicit", [True, False])
def test_a_file_without_preamble_and_file_meta_is_read(tmp_path, implicit):
    """CT_small.dcm written back as a bare dataset (no preamble, no DICM, no file meta)."""
    original = data("CT_small.dcm")
    dataset = pydicom.dcmread(original)
    del dataset.file_meta
    dataset.preamble = None
    bare = tmp_path / "bare.dcm"
    dataset.save_as(bare, implicit_vr=implicit, little_endian=True, enforce_file_format=False)
    assert bare.read_bytes()[128:132] != b"DICM" and bare.read_bytes()[:2] == b"\x08\x00"
    assert dicom.is_dicom(bare)
    image = read_image(bare)
    np.testing.assert_array_equal(image.array, read_image(original).array)
    assert_like_simpleitk(image, sitk.ReadImage(str(original)))


def test_colour_dicom_reads_as_rgb_images():
    """Palette colour (implicit VR, no preamble), RGB, ultrasound, and a 2-frame cine."""
    for name in ("OT-PAL-8-face.dcm", "SC_rgb.dcm", "US1_UNCR.dcm", "SC_rgb_rle_2frame.dcm"):
        rgb = read_colour(data(name))
        expected = sitk.GetArrayFromImage(sitk.ReadImage(str(data(name))))
        assert rgb.dtype == np.uint8 and rgb.shape == expected.reshape(rgb.shape).shape
        np.testing.assert_array_equal(rgb, expected.reshape(rgb.shape))
        image = read_image(data(name))
        assert image.pixel == "rgb" and image.shape[0] == 1  # a 2D colour image
        frames = [image.frame(t).array[0] for t in range(image.frames)]
        np.testing.assert_array_equal(np.stack(frames), expected.reshape(rgb.shape))
    assert read_image(data("SC_rgb_rle_2frame.dcm")).frames == 2, "frames not placed: a cine"


def test_a_folder_with_a_colour_screenshot_shows_the_grey_series(tmp_path):
    for path in sorted((DICOMDIR_TESTS / "98892001" / "CT5N").iterdir()):
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(data("SC_rgb.dcm"), tmp_path / "dose_report.dcm")
    with pytest.warns(UserWarning, match="holds 2 series; showing .*5 slices.* colour"):
        assert read_image(tmp_path).shape == (5, 16, 16)


# -- compressed syntaxes without the compiled decoders (as in Pyodide) --------------------------

WITHOUT_PLUGINS = """
import sys
for name in ("pylibjpeg", "libjpeg", "openjpeg", "rle", "jpeg_ls", "gdcm"):
    sys.modules[name] = None  # as in Pyodide: none of the compiled decoders
from PIL import features
features.check_codec = lambda name, _check=features.check_codec: (
    False if name == "jpg_2000" else _check(name))  # Pyodide's Pillow has no OpenJPEG
import voxlite
from voxlite.io.dicom_pixels import read_colour
from pydicom.data import get_testdata_file
f = lambda name: get_testdata_file(name, download=False)
print("rle", voxlite.read_image(f("MR_small_RLE.dcm")).array.sum())
print("jpeg baseline", read_colour(f("SC_rgb_jpeg_dcmtk.dcm")).shape)
for name in ("MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm", "JPEG-LL.dcm"):
    try:
        voxlite.read_image(f(name))
    except voxlite.ImageIOError as error:
        print("refused", error)
"""


def test_without_compiled_decoders_rle_and_baseline_decode_and_others_are_named():
    pytest.importorskip("PIL", reason="Pillow decodes JPEG baseline")
    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_PLUGINS],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"rle {read_image(data('MR_small_RLE.dcm')).array.sum()}"
    assert lines[1] == "jpeg baseline (1, 100, 100, 3)"
    refused = [line for line in lines if line.startswith("refused")]
    assert len(refused) == 3
    for line, syntax in zip(
        refused,
        ("JPEG-LS Lossless", "JPEG 2000 Image Compression (Lossless Only)", "JPEG Lossless"),
        strict=True,
    ):
        assert syntax in line and "voxlite[dicom]" in line and ".dcm: its pixel data is" in line


# -- nibabel's formats: MINC 1 (and 2), MGH/MGZ, PAR/REC, Analyze ---------------------------------


def assert_like_nibabel(image: voxlite.Image, loaded, component=None) -> None:
    """Voxels of nibabel's array ([i, j, k]) and positions from nibabel's RAS affine."""
    expected = np.asanyarray(loaded.dataobj)
    if component is not None:
        expected = expected[..., component]
    np.testing.assert_allclose(image.array, expected.transpose(2, 1, 0))
    corners = np.array([[0, 0, 0], [expected.shape[0] - 1, 1, 2], [3, expected.shape[1] - 1, 1]])
    for ijk in corners:
        ras = loaded.affine @ [*ijk, 1]
        np.testing.assert_allclose(image.index_to_physical(ijk), [-ras[0], -ras[1], ras[2]])


@pytest.mark.parametrize("name", ["tiny.mnc", "minc1_1_scale.mnc", "minc1-no-att.mnc"])
def test_minc1_matches_nibabel(name):
    image = read_image(NIBABEL_DATA / name)
    assert image.metadata["format"] == "MINC 1"
    assert_like_nibabel(image, nibabel.load(NIBABEL_DATA / name))


def test_4d_minc1_is_a_time_series():
    path = NIBABEL_DATA / "minc1_4d.mnc"
    loaded = nibabel.load(path)
    expected = np.asanyarray(loaded.dataobj)[1]  # MINC: time is nibabel's first axis
    series = read_image(path)
    assert series.timeseries and series.frames == 2
    np.testing.assert_allclose(series.frame(1).array, expected.transpose(2, 1, 0))
    image = read_image(path, component=1)
    np.testing.assert_allclose(image.array, expected.transpose(2, 1, 0))


def test_minc2_without_h5py_is_named_by_format():
    try:
        import h5py  # noqa: F401
    except ImportError:
        with pytest.raises(ImageIOError, match=r"small\.mnc: .*MINC 2 needs h5py"):
            read_image(NIBABEL_DATA / "small.mnc")
    else:
        image = read_image(NIBABEL_DATA / "small.mnc")
        assert_like_nibabel(image, nibabel.load(NIBABEL_DATA / "small.mnc"))


def test_mgz_matches_nibabel_per_component():
    path = NIBABEL_DATA / "test.mgz"
    for component in (0, 1):
        image = read_image(path, component=component)
        assert image.metadata["format"] == "MGZ"
        assert_like_nibabel(image, nibabel.load(path), component)


@pytest.mark.parametrize(
    "entry", ["phantom_EPI_asc_CLEAR_2_1.PAR", "phantom_EPI_asc_CLEAR_2_1.REC"]
)
def test_par_rec_matches_nibabel(entry):
    loaded = nibabel.load(NIBABEL_DATA / "phantom_EPI_asc_CLEAR_2_1.PAR")
    series = read_image(NIBABEL_DATA / entry)
    assert series.timeseries and series.frames == 3
    assert_like_nibabel(series.frame(2), loaded, component=2)
    image = read_image(NIBABEL_DATA / entry, component=2)
    assert image.metadata["format"] == "PAR/REC"
    assert_like_nibabel(image, loaded, component=2)


def test_analyze_pair_with_nibabels_header(tmp_path):
    """nibabel's analyze.hdr (a real SPM2 header) with voxels of the size it claims."""
    header = tmp_path / "brain.hdr"
    shutil.copy(NIBABEL_DATA / "analyze.hdr", header)
    with pytest.raises(
        ImageIOError, match=r"brain\.hdr: .*Analyze 7\.5 data file brain\.img is missing"
    ):
        read_image(header)
    shape = nibabel.load(header).shape[:3]
    voxels = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    (tmp_path / "brain.img").write_bytes(voxels.tobytes(order="F"))
    for entry in (header, tmp_path / "brain.img"):
        image = read_image(entry)
        assert image.metadata["format"] == "Analyze 7.5"
        assert_like_nibabel(image, nibabel.load(header), component=0)
    (tmp_path / "brain.img").write_bytes(voxels.tobytes()[:1000])
    with pytest.raises(ImageIOError, match="truncated"):
        read_image(header)


@pytest.mark.parametrize(
    ("entry", "component"), [("scaled+tlrc.HEAD", None), ("example4d+orig.HEAD", 2)]
)
def test_afni_matches_nibabel(entry, component):
    image = read_image(NIBABEL_DATA / entry, component=component)
    assert image.metadata["format"] == "AFNI BRIK"
    assert_like_nibabel(image, nibabel.load(NIBABEL_DATA / entry), component=component or 0)


@pytest.mark.parametrize(
    ("name", "what"),
    [("tinypet.v", "ECAT 7"), ("simple.trk", "TrackVis"), ("simple.tck", "MRtrix")],
)
def test_files_that_are_not_images_are_named_by_format(name, what):
    with pytest.raises(ImageIOError, match=f"{name}: it is {what}.*not a format voxlite reads"):
        read_image(NIBABEL_DATA / name)


# -- component= for 4D and vector files -------------------------------------------------------


@pytest.mark.parametrize("name", ["example4d.nii.gz", "functional.nii"])
def test_4d_nifti_component_on_read_image_and_as_image(name):
    path = NIBABEL_DATA / name
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))  # [t, z, y, x]
    for component in (0, 1):
        for image in (
            read_image(path, component=component),
            voxlite.as_image(str(path), component=component),
        ):
            np.testing.assert_allclose(image.array, reference[component], rtol=1e-6)
    series = read_image(path)  # NIfTI's 4th dimension is time
    assert series.timeseries and series.frames == reference.shape[0]
    np.testing.assert_allclose(series.frame(1).array, reference[1], rtol=1e-6)


@pytest.mark.parametrize("suffix", [".nrrd", ".mha", ".nii.gz"])
def test_vector_images_component(tmp_path, suffix):
    vectors = np.random.default_rng(1).normal(size=(4, 5, 6, 3)).astype(np.float32)
    reference = sitk.GetImageFromArray(vectors, isVector=True)
    reference.SetSpacing((0.5, 0.7, 2.0))
    reference.SetOrigin((1.0, 2.0, 3.0))
    path = tmp_path / f"field{suffix}"
    sitk.WriteImage(reference, str(path))
    for component in range(3):
        image = read_image(path, component=component)
        np.testing.assert_allclose(image.array, vectors[..., component])
        np.testing.assert_allclose(image.spacing, reference.GetSpacing())
    channels = read_image(path)  # SimpleITK's vector pixels: channels
    assert (channels.pixel, channels.components, channels.shape) == ("channels", 3, (4, 5, 6))
    np.testing.assert_allclose(channels.array, vectors)


def test_4d_metaimage_and_3d_files_with_a_component(tmp_path):
    series = np.arange(2 * 3 * 4 * 5, dtype=np.int16).reshape(2, 3, 4, 5)  # [t, z, y, x]
    reference = sitk.GetImageFromArray(series, isVector=False)
    reference.SetSpacing((0.5, 0.6, 0.7, 2.0))
    path = tmp_path / "time.mha"
    sitk.WriteImage(reference, str(path))
    image = read_image(path, component=1)
    np.testing.assert_array_equal(image.array, series[1])
    np.testing.assert_allclose(image.spacing, (0.5, 0.6, 0.7))
    three = voxlite.write_image(series[0], tmp_path / "three.nrrd")
    assert read_image(three, component=0).shape == (3, 4, 5)
    with pytest.raises(ImageIOError, match="component=1: the image is 3D"):
        read_image(three, component=1)
    with pytest.raises(ImageIOError, match="component= does not apply to .npy"):
        read_image(voxlite.write_image(series[0], tmp_path / "a.npy"), component=0)


def copy_with(source: Path, folder: Path, **changes) -> list[Path]:
    """The files of a real series copied to ``folder``, with new UIDs and some fields changed."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in sorted(source.iterdir()):
        dataset = pydicom.dcmread(path)
        dataset.SOPInstanceUID = pydicom.uid.generate_uid()
        for keyword, value in changes.items():
            setattr(dataset, keyword, value(dataset) if callable(value) else value)
        copies.append(folder / f"{changes.get('TemporalPositionIdentifier', 0)}-{path.name}")
        dataset.save_as(copies[-1])
    return copies


@pytest.mark.parametrize("discriminator", ["TemporalPositionIdentifier", None])
def test_4d_dicom_volumes_at_the_same_places_are_components(tmp_path, discriminator):
    """A real 5-slice CT series twice at the same places (a second time point, 100 HU up):
    two volumes of one series, told apart by their temporal position or, when nothing says,
    by instance order. They used to be refused as duplicated slices."""
    source = DICOMDIR_TESTS / "98892001" / "CT5N"
    for time in (1, 2):
        changes = {"InstanceNumber": lambda d, t=time: int(d.InstanceNumber) + 100 * t}
        if discriminator:
            changes[discriminator] = time
        if time == 2:
            changes["PixelData"] = lambda d: (
                (d.pixel_array + 100).astype(d.pixel_array.dtype).tobytes()
            )
        copy_with(source, tmp_path / f"t{time}", **changes)
    (entry,) = dicom.series(tmp_path)
    assert (entry.volumes, entry.slices) == (2, 5)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(source)))
    reference = reader.Execute()
    with pytest.warns(UserWarning, match="2 volumes at the same places.*component=0..1"):
        first = read_image(tmp_path)
    assert_like_simpleitk(first, reference)
    second = read_image(tmp_path, component=1)
    np.testing.assert_array_equal(second.array, first.array + 100)
    assert second.metadata["volume"] == 1 and second.same_geometry(first)
    with pytest.raises(ImageIOError, match="component=2 is out of range"):
        read_image(tmp_path, component=2)


def test_two_parallel_slices_of_a_siemens_dwi_are_one_volume(tmp_path):
    """nibabel's 0.dcm and 1.dcm (Siemens mosaics, 3 mm apart): two slices, stacked."""
    for name in ("0.dcm", "1.dcm"):
        shutil.copy(NIBABEL_DATA / name, tmp_path / name)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path)))
    assert_like_simpleitk(read_image(tmp_path), reader.Execute())


# -- messages, paths, modes -----------------------------------------------------------------------


def test_a_refused_file_is_named_and_a_list_of_files_summarised(tmp_path):
    truncated = data("MR_truncated.dcm")
    with pytest.raises(ImageIOError) as caught:
        read_image([truncated])
    assert caught.value.path == str(truncated) and "[" not in str(caught.value)
    files = [tmp_path / f"note{i}.txt" for i in range(5)]
    for path in files:
        path.write_text("not DICOM")
    with pytest.raises(
        ImageIOError, match=r"^5 files \(note0\.txt, note1\.txt, note2\.txt, …\): no DICOM"
    ):
        read_image(files)
    fake = tmp_path / "scan.dcm"
    fake.write_bytes(b"\x00" * 300)
    with pytest.raises(ImageIOError, match=r"scan\.dcm: not a DICOM file"):
        read_image(fake)
    with pytest.raises(ImageIOError, match="no DICOM image slices found .*RT Plan"):
        read_image(data("rtplan.dcm"))


def test_public_paths_take_strings_and_written_files_follow_the_umask(tmp_path):
    image = read_image(data("CT_small.dcm"))
    files = dicom.write_series(image, str(tmp_path / "out"))
    assert len(files) == 1 and read_image(str(tmp_path / "out")).shape == image.shape
    previous = os.umask(0o022)
    try:
        written = voxlite.write_image(image, str(tmp_path / "ct.nii.gz"))
        plain = tmp_path / "plain"
        plain.write_bytes(b"")
        assert written.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o644
        for name in ("ct.mhd", "ct.nrrd"):
            path = voxlite.write_image(image, tmp_path / name)
            assert path.stat().st_mode & 0o777 == 0o644
        assert (tmp_path / "ct.raw").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(previous)


# -- deflated DICOM: one budget per read, across files -----------------------------------

DEFLATE_BOMBS = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB of address space
    import voxlite
    try:
        voxlite.read_image(sys.argv[1], max_bytes=128 << 20)
        print("read")
    except voxlite.ImageIOError as error:
        print("refused:", error.reason)
    """
)


@pytest.mark.slow
def test_deflated_files_share_one_budget_per_read(tmp_path):
    """16 deflated files of ~70 KB, each inflating to 70 MB (under a 128 MiB budget alone,
    2.2 GiB together): the read is refused, in bounded memory and time."""
    dataset = pydicom.dcmread(data("image_dfl.dcm"))
    dataset.add_new(0x00291010, "OB", b"\0" * (70 << 20))  # a private element of zeros
    folder = tmp_path / "bombs"
    folder.mkdir()
    dataset.save_as(folder / "0.dcm")
    for k in range(1, 16):
        shutil.copy(folder / "0.dcm", folder / f"{k}.dcm")
    assert (folder / "0.dcm").stat().st_size < 100_000
    run = [sys.executable, "-c", DEFLATE_BOMBS]
    out = subprocess.run([*run, str(folder)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "refused: its deflated data inflates past the memory budget" in out.stdout
    assert "already inflated from the other files" in out.stdout
    out = subprocess.run([*run, str(folder / "0.dcm")], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "read", out.stderr[-2000:]


def test_files_received_together_read_pairs_once_and_dicom_as_a_series(tmp_path):
    """The viewer's Open…: a data file of a pair is its header's companion, not an image."""
    from voxlite.received import sources_of

    for name in ("phantom_EPI_asc_CLEAR_2_1.PAR", "phantom_EPI_asc_CLEAR_2_1.REC"):
        shutil.copy(NIBABEL_DATA / name, tmp_path / name)
    slices = sorted((DICOMDIR_TESTS / "98892001" / "CT5N").iterdir())
    for k, path in enumerate(slices):
        shutil.copy(path, tmp_path / f"IM{k}.IMA")
    sources = sources_of(sorted(tmp_path.iterdir()))
    assert [name for name, _ in sources] == [
        "phantom_EPI_asc_CLEAR_2_1.PAR",
        f"DICOM series ({len(slices)} files)",
    ]
    assert read_image(sources[1][1]).shape == (5, 16, 16)
