"""DICOM series through pydicom: slices sorted in space, rescaled, with LPS geometry.

DICOM's patient coordinates are LPS already. A series is the slices sharing a
SeriesInstanceUID; a folder holding several gives the largest, and the others
are named in a warning. Slices are ordered by the projection of
ImagePositionPatient on the slice normal (the cross product of the two
ImageOrientationPatient cosines), and the slice spacing is taken from those
positions, not from SliceThickness.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voxlite.image import Image

# Fields that identify a patient: dropped from the metadata with anonymize=True.
PATIENT_FIELDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge",
    "PatientAddress", "OtherPatientIDs", "InstitutionName", "ReferringPhysicianName",
    "AccessionNumber", "StudyID",
)  # fmt: skip
KEPT_FIELDS = (
    "Modality", "SeriesDescription", "StudyDescription", "SeriesInstanceUID",
    "StudyInstanceUID", "BodyPartExamined", "Manufacturer", *PATIENT_FIELDS,
)  # fmt: skip


def is_dicom(path: Path) -> bool:
    """True when the file has DICOM's 'DICM' marker after its 128-byte preamble."""
    try:
        with open(path, "rb") as stream:
            stream.seek(128)
            return stream.read(4) == b"DICM"
    except OSError:
        return False


def read_series(source: Path | Sequence[Path], anonymize: bool = False) -> Image:
    """Read the (largest) DICOM series of a folder, or the series the given files form."""
    from voxlite.io import ImageIOError

    files = _files_of(source)
    headers = [_header(path) for path in files]
    series = _group_by_series([(p, h) for p, h in zip(files, headers, strict=True) if h])
    if not series:
        raise ImageIOError(source, "no DICOM image slices found")
    chosen = max(series.values(), key=len)
    if len(series) > 1:
        others = [f"{_describe(s[0][1])} ({len(s)} slices)" for s in series.values()
                  if s is not chosen]  # fmt: skip
        warnings.warn(
            f"{source}: holds {len(series)} series; showing "
            f"{_describe(chosen[0][1])} ({len(chosen)} slices), not: {'; '.join(others)}",
            stacklevel=3,
        )
    return _volume(source, chosen, anonymize)


def _files_of(source: Path | Sequence[Path]) -> list[Path]:
    from voxlite.io import ImageIOError

    if isinstance(source, Path):
        if not source.is_dir():
            return [source]
        files = sorted(p for p in source.rglob("*") if p.is_file())
        if not files:
            raise ImageIOError(source, "the folder is empty")
        return files
    missing = [str(p) for p in source if not Path(p).is_file()]
    if missing:
        raise ImageIOError(missing[0], "no such file")
    return [Path(p) for p in source]


def _header(path: Path) -> Any:
    """The dataset without pixels, or None for a file that is not a DICOM image."""
    import pydicom

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
    except (pydicom.errors.InvalidDicomError, OSError, EOFError, ValueError):
        return None
    if "ImagePositionPatient" not in dataset or "Rows" not in dataset:
        return None
    return dataset


def _group_by_series(items: list[tuple[Path, Any]]) -> dict[str, list[tuple[Path, Any]]]:
    series: dict[str, list[tuple[Path, Any]]] = {}
    for path, header in items:
        series.setdefault(str(header.get("SeriesInstanceUID", "")), []).append((path, header))
    return series


def _describe(header: Any) -> str:
    return str(header.get("SeriesDescription", "") or header.get("SeriesInstanceUID", "?"))


def _volume(source: Any, slices: list[tuple[Path, Any]], anonymize: bool) -> Image:
    import pydicom

    from voxlite.io import ImageIOError

    first = slices[0][1]
    try:
        cosines = np.asarray(first.ImageOrientationPatient, dtype=float).reshape(2, 3)
    except (AttributeError, ValueError):
        raise ImageIOError(source, "its slices have no valid ImageOrientationPatient") from None
    normal = np.cross(cosines[0], cosines[1])
    sizes = {(int(h.Rows), int(h.Columns)) for _, h in slices}
    if len(sizes) > 1:
        raise ImageIOError(source, f"its slices have different sizes {sorted(sizes)}")
    ordered = sorted(
        slices,
        key=lambda item: float(
            np.dot(np.asarray(item[1].ImagePositionPatient, dtype=float), normal)
        ),
    )
    positions = np.array([np.asarray(h.ImagePositionPatient, float) for _, h in ordered])
    steps = np.diff(positions @ normal)
    if len(ordered) > 1 and np.any(np.abs(steps) < 1e-6):
        raise ImageIOError(source, "two slices share one position (duplicated files?)")
    slice_spacing = (
        float(np.median(steps))
        if len(ordered) > 1
        else float(first.get("SpacingBetweenSlices", first.get("SliceThickness", 1.0)) or 1.0)
    )
    if len(ordered) > 2 and np.ptp(steps) > 0.01 * abs(slice_spacing):
        warnings.warn(
            f"{source}: slices are unevenly spaced ({steps.min():.3g} to "
            f"{steps.max():.3g} mm); using {slice_spacing:.3g} mm",
            stacklevel=4,
        )
    planes = []
    for path, _ in ordered:
        try:
            dataset = pydicom.dcmread(path)
            pixels = dataset.pixel_array
        except Exception as error:  # pydicom raises many kinds for bad pixel data
            raise ImageIOError(path, f"cannot decode its pixel data ({error})") from None
        slope = float(dataset.get("RescaleSlope", 1) or 1)
        intercept = float(dataset.get("RescaleIntercept", 0) or 0)
        planes.append((pixels, slope, intercept))
    array = _rescaled(planes)
    row_spacing, column_spacing = (float(v) for v in first.get("PixelSpacing", [1.0, 1.0]))
    direction = np.column_stack([cosines[0], cosines[1], normal])
    return Image(
        array,
        spacing=(column_spacing, row_spacing, slice_spacing),
        origin=positions[0],
        direction=direction,
        name=str(first.get("SeriesDescription", "") or "DICOM series"),
        metadata=_metadata(first, anonymize, len(ordered)),
    )


def _rescaled(planes: list[tuple[np.ndarray, float, float]]) -> np.ndarray:
    """Stack slices as stored values times slope plus intercept (int16 when exact)."""
    stack = np.stack([pixels for pixels, _, _ in planes])
    factors = {(slope, intercept) for _, slope, intercept in planes}
    integral = all(s.is_integer() and i.is_integer() for s, i in factors)
    if factors == {(1.0, 0.0)}:
        return stack
    result = np.stack([p.astype(np.float64) * s + i for p, s, i in planes])
    if integral and result.min() >= -32768 and result.max() <= 32767:
        return result.astype(np.int16)
    return result.astype(np.float32)


def _metadata(header: Any, anonymize: bool, count: int) -> dict[str, Any]:
    fields = [f for f in KEPT_FIELDS if not (anonymize and f in PATIENT_FIELDS)]
    metadata: dict[str, Any] = {"format": "DICOM", "slices": count}
    for field in fields:
        if field in header:
            metadata[field] = str(header.get(field))
    return metadata


def write_series(image: Image, folder: Path, description: str = "voxlite series",
                 modality: str = "CT") -> list[Path]:  # fmt: skip
    """Write a 3D image as a DICOM series (one file per slice, int16, rescale 1/0).

    Made for demo data and tests: the UIDs are generated, the patient is "Phantom".
    """
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    array = np.asarray(image.array)
    if array.dtype != np.int16:
        array = np.clip(np.round(array), -32768, 32767).astype(np.int16)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    normal = image.direction[:, 2]
    paths = []
    for k in range(array.shape[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = pydicom.Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.SeriesDescription, ds.PatientName = modality, description, "Phantom"
        ds.PatientID, ds.SeriesNumber, ds.InstanceNumber = "PHANTOM", 1, k + 1
        position = np.asarray(image.origin) + normal * image.spacing[2] * k
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in image.direction[:, :2].T.ravel()]
        ds.PixelSpacing = [f"{image.spacing[1]:.6f}", f"{image.spacing[0]:.6f}"]
        ds.SliceThickness = f"{image.spacing[2]:.6f}"
        ds.Rows, ds.Columns = array.shape[1], array.shape[2]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = "0", "1"
        ds.PixelData = np.ascontiguousarray(array[k]).tobytes()
        path = folder / f"slice{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
