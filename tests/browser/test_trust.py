"""Hostile metadata from real files: shown as text, never run, never fetched."""

import nibabel
import numpy as np
import pydicom
import pytest

import voxlite
from voxlite.io.dicom import write_series

pytestmark = pytest.mark.browser

# Short enough for NIfTI's 80-byte descrip and DICOM's 64-character names.
HOSTILE = "<img src=x onerror=window.pwned=1><script>window.pwned=2</script>"
FILE_NAME = "<img src=x onerror=window.pwned=3><b onmouseover=window.pwned=4>x.nii.gz"  # no '/'


def small_image():
    return voxlite.Image((np.indices((16, 16, 16)).sum(0) * 40).astype(np.int16))


def hostile_nifti(folder):
    path = folder / FILE_NAME
    nifti = nibabel.Nifti1Image(small_image().array.T, np.diag([-1.0, -1, 1, 1]))
    nifti.header["descrip"] = HOSTILE.encode()
    nifti.to_filename(path)
    return path


def hostile_dicom(folder):
    files = write_series(small_image(), folder / "series", description=HOSTILE)
    for file in files:
        dataset = pydicom.dcmread(file)
        dataset.PatientName = HOSTILE
        dataset.save_as(file)
    return folder / "series"


def assert_shown_as_text(page, text):
    page.wait_for_timeout(500)
    assert text in page.locator(".voxlite-info").inner_text()
    assert page.locator(".voxlite-root img, .voxlite-root script").count() == 0
    assert page.evaluate("window.pwned") is None, "nothing from the file ran"


def test_hostile_nifti_name_and_description_are_text(show, guarded, tmp_path):
    image = voxlite.read_image(hostile_nifti(tmp_path))
    assert image.metadata["description"] == HOSTILE  # kept as data
    page = show(voxlite.view(image, mode="mip"))
    assert_shown_as_text(page, FILE_NAME)


@pytest.mark.filterwarnings(
    "ignore:The (value length|number of PN):UserWarning"
)  # hostile on purpose
def test_hostile_dicom_series_description_is_text(show, guarded, tmp_path):
    image = voxlite.read_image(hostile_dicom(tmp_path))
    assert str(image.metadata["PatientName"]) == HOSTILE
    assert "PatientName" not in voxlite.read_image(tmp_path / "series", anonymize=True).metadata
    page = show(voxlite.view(image, mode="mip"))
    assert_shown_as_text(page, HOSTILE)


def test_hostile_files_opened_in_the_viewer_are_text(show, guarded, tmp_path):
    """The Open... flow: the browser sends the bytes and names, Python reads them."""
    viewer = voxlite.view(small_image(), mode="mip")
    nifti = hostile_nifti(tmp_path)
    viewer.open_files([(nifti.name, nifti.read_bytes())])
    page = show(viewer)
    assert_shown_as_text(page, FILE_NAME)


@pytest.mark.parametrize("name", ["<!--<script>", "</script><script>window.pwned=5</script>"])
def test_a_saved_page_renders_whatever_its_image_is_named(show, guarded, name):
    """The HTML parser's script states (`<!--<script>` swallowed the page) cannot be
    entered from the data embedded in a saved page."""
    page = show(voxlite.view(small_image().replace(name=name), mode="mip"))
    assert_shown_as_text(page, name)
