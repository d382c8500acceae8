"""DICOM series through pydicom: slices sorted in space, rescaled, with LPS geometry.

DICOM's patient coordinates are LPS already. A series is the slices sharing a
SeriesInstanceUID; a folder holding several gives the largest, and the others
are named in a warning. Slices are ordered by the projection of
ImagePositionPatient on the slice normal (the cross product of the two
ImageOrientationPatient cosines), and the slice spacing is taken from those
positions, not from SliceThickness.

Files are not trusted: pydicom reads an element's stated length in one read()
(which allocates that length before reading), so files are opened through a
reader that never asks for more than the file holds; the pixel data the headers
claim (rows x columns x samples x frames x bytes, summed over the slices) is
checked against the memory budget before any slice is decoded.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voxlite.image import Image
from voxlite.io.errors import ImageIOError
from voxlite.io.limits import check_claim, max_bytes

# Fields that identify a patient: dropped from the metadata with anonymize=True.
PATIENT_FIELDS = (
    *("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge"),
    *("PatientAddress", "OtherPatientIDs", "InstitutionName", "ReferringPhysicianName"),
    *("AccessionNumber", "StudyID"),
)
KEPT_FIELDS = (
    *("Modality", "SeriesDescription", "StudyDescription", "SeriesInstanceUID"),
    *("StudyInstanceUID", "BodyPartExamined", "Manufacturer", *PATIENT_FIELDS),
)
# Every field the reader uses, decoded when a slice's header is read.
USED_FIELDS = (
    *(*KEPT_FIELDS, "ImagePositionPatient", "ImageOrientationPatient", "Rows", "Columns"),
    *("PixelSpacing", "SpacingBetweenSlices", "SliceThickness", "BitsAllocated"),
    *("SamplesPerPixel", "NumberOfFrames"),
)


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
    files = _files_of(source)
    headers = [_header(path) for path in files]
    series = _group_by_series([(p, h) for p, h in zip(files, headers, strict=True) if h])
    if not series:
        raise ImageIOError(source, "no DICOM image slices found")
    chosen = max(series.values(), key=len)
    if len(series) > 1:
        others = [
            f"{_describe(s[0][1])} ({len(s)} slices)" for s in series.values() if s is not chosen
        ]
        warnings.warn(
            f"{source}: holds {len(series)} series; showing "
            f"{_describe(chosen[0][1])} ({len(chosen)} slices), not: {'; '.join(others)}",
            stacklevel=3,
        )
    try:
        return _volume(source, chosen, anonymize)
    except pydicom_errors() as error:  # header values are decoded lazily, on first use
        raise ImageIOError(source, f"a DICOM header is corrupt: {error}") from None


def pydicom_errors() -> tuple[type[Exception], ...]:
    """pydicom's exceptions that are not ValueErrors (wrong element lengths)."""
    from pydicom import errors

    return (errors.BytesLengthException,)


def _files_of(source: Path | Sequence[Path]) -> list[Path]:
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


class _WithinFile(io.BufferedReader):
    """A file whose read(n) never asks for more than what is left of it.

    pydicom reads each element with ``read(stated_length)``; a plain file object
    allocates that many bytes before reading, so a length field of 0xFFFFFFF0 in
    a 1 kB file would cost 4 GB.
    """

    def __init__(self, path: Path):
        super().__init__(io.FileIO(path, "rb"))
        self.size = os.fstat(self.fileno()).st_size

    def read(self, size: int | None = -1, /) -> bytes:
        if size is not None and size > 0:
            size = min(size, max(self.size - self.tell(), 0))
        return super().read(size)


# Deflated Explicit VR Little Endian: pydicom inflates all of such a file at once,
# with no limit; deflate inflates 1032 times at most, which bounds what it can cost.
_DEFLATED = b"1.2.840.10008.1.2.1.99"
_DEFLATE_RATIO = 1032


def _dcmread(path: Path, **options: Any) -> Any:
    import pydicom

    with _WithinFile(path) as stream:
        if _DEFLATED in stream.read(1 << 16) and stream.size * _DEFLATE_RATIO > max_bytes():
            raise ImageIOError(
                path,
                f"a deflated DICOM file of {stream.size} bytes could "
                "inflate past the memory budget",
            )
        stream.seek(0)
        return pydicom.dcmread(stream, **options)


def _header(path: Path) -> Any:
    """The dataset without pixels, or None for a file that is not a DICOM image."""
    try:
        dataset = _dcmread(path, stop_before_pixels=True)
        if "ImagePositionPatient" not in dataset or "Rows" not in dataset:
            return None
    except (ImageIOError, MemoryError):  # refused by voxlite, not junk; MemoryError: a bug
        raise
    # pydicom raises a dozen kinds for bytes that are not (quite) DICOM: InvalidDicomError,
    # BytesLengthException (a RuntimeError), struct.error, ValueError, KeyError, ...;
    # a file of the folder that it cannot parse is not one of the slices.
    except Exception:
        return None
    # An image slice it is. pydicom decodes each field when first read, and raises
    # (NotImplementedError for an unknown VR, ...) then: decode the ones used now.
    for keyword in USED_FIELDS:
        try:
            dataset.get(keyword)
        except Exception as error:
            raise ImageIOError(path, f"its {keyword} cannot be decoded ({error})") from None
    return dataset


def _group_by_series(items: list[tuple[Path, Any]]) -> dict[str, list[tuple[Path, Any]]]:
    series: dict[str, list[tuple[Path, Any]]] = {}
    for path, header in items:
        series.setdefault(str(header.get("SeriesInstanceUID", "")), []).append((path, header))
    return series


def _describe(header: Any) -> str:
    return str(header.get("SeriesDescription", "") or header.get("SeriesInstanceUID", "?"))


def _volume(source: Any, slices: list[tuple[Path, Any]], anonymize: bool) -> Image:
    first_path, first = slices[0]
    cosines = _numbers(first_path, first, "ImageOrientationPatient", 6).reshape(2, 3)
    normal = np.cross(cosines[0], cosines[1])
    sizes = {(_count(p, h, "Rows"), _count(p, h, "Columns")) for p, h in slices}
    if len(sizes) > 1:
        raise ImageIOError(source, f"its slices have different sizes {sorted(sizes)}")
    # Every byte of pixel data the headers claim, before decoding any of it.
    check_claim(source, sum(_pixel_bytes(p, h) for p, h in slices), what="its slices' headers")
    placed = sorted(
        (
            (float(np.dot(_numbers(p, h, "ImagePositionPatient", 3), normal)), p, h)
            for p, h in slices
        ),
        key=lambda item: item[0],
    )
    ordered = [(p, h) for _, p, h in placed]
    positions = np.array([_numbers(p, h, "ImagePositionPatient", 3) for p, h in ordered])
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
            dataset = _dcmread(path)
            pixels = dataset.pixel_array
            rescale = [dataset.get(k) for k in ("RescaleSlope", "RescaleIntercept")]
        except Exception as error:  # pydicom raises many kinds for bad pixel data
            raise ImageIOError(path, f"cannot decode its pixel data ({error})") from None
        slope = float(rescale[0] or 1)
        intercept = float(rescale[1] or 0)
        planes.append((pixels, slope, intercept))
    if len({pixels.shape for pixels, _, _ in planes}) > 1:
        raise ImageIOError(
            source,
            "its slices decode to different shapes "
            f"{sorted({pixels.shape for pixels, _, _ in planes})}",
        )
    array = _rescaled(planes)
    if "PixelSpacing" in first:
        row_spacing, column_spacing = _numbers(first_path, first, "PixelSpacing", 2)
    else:
        row_spacing = column_spacing = 1.0
    direction = np.column_stack([cosines[0], cosines[1], normal])
    return Image(
        array,
        spacing=(column_spacing, row_spacing, slice_spacing),
        origin=positions[0],
        direction=direction,
        name=str(first.get("SeriesDescription", "") or "DICOM series"),
        metadata=_metadata(first, anonymize, len(ordered)),
    )


def _numbers(path: Path, header: Any, keyword: str, count: int) -> np.ndarray:
    """``count`` finite numbers from a header field, or an ImageIOError naming it."""
    try:
        value = header.get(keyword)
        numbers = np.asarray(value if value is not None else [], dtype=float).reshape(-1)
    except (TypeError, ValueError, OverflowError):
        numbers = np.empty(0)
    if numbers.size != count or not np.isfinite(numbers).all():
        raise ImageIOError(
            path, f"its {keyword} is not {count} finite numbers: {header.get(keyword)!r}"
        )
    return numbers


def _count(path: Path, header: Any, keyword: str, default: int | None = None) -> int:
    """A positive integer header field (Rows, Columns, NumberOfFrames, ...)."""
    value = header.get(keyword, default)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        number = 0
    if number < 1:
        raise ImageIOError(path, f"its {keyword} is not a positive integer: {value!r}")
    return number


def _pixel_bytes(path: Path, header: Any) -> int:
    """The bytes of pixels a header claims: rows x columns x samples x frames x bytes."""
    bits = _count(path, header, "BitsAllocated", 16)
    return math.prod(
        (
            _count(path, header, "Rows"),
            _count(path, header, "Columns"),
            _count(path, header, "SamplesPerPixel", 1),
            _count(path, header, "NumberOfFrames", 1),
            (bits + 7) // 8,
        )
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


def write_series(
    image: Image, folder: Path, description: str = "voxlite series", modality: str = "CT"
) -> list[Path]:
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
