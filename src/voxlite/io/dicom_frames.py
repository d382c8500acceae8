"""The frames of a DICOM file, each placed in space: classic, enhanced, RT Dose, SEG.

A classic image file is one frame; a multi-frame file is many, and where each
sits is said differently by each kind of object:

* Enhanced MR/CT/PET (and SEG): per-frame functional groups, falling back on the
  shared ones: Plane Position, Plane Orientation, Pixel Measures, Pixel Value
  Transformation, Frame Content (stack, temporal position);
* RT Dose: ImagePositionPatient plus GridFrameOffsetVector along the normal,
  values times DoseGridScaling;
* other multi-frame files (NM, cine): ImagePositionPatient plus
  SpacingBetweenSlices, or no place at all (frames stacked with unit spacing).

Each frame becomes a :class:`Frame`; :mod:`voxlite.io.dicom` groups them into series.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from voxlite.io.errors import ImageIOError

__all__ = ["Frame", "count", "frames_of", "numbers"]

# What can tell apart frames at the same place (one volume each), in the order tried.
DISCRIMINATORS = (
    "TemporalPositionIndex",
    "TemporalPositionIdentifier",
    "EchoNumbers",
    "EffectiveEchoTime",
    "DiffusionBValue",
    "StackID",
    "AcquisitionNumber",
    "TriggerTime",
    "ImageType",
)


@dataclasses.dataclass(frozen=True, eq=False)
class Frame:
    """One 2D frame of a file and where it sits."""

    path: Path
    header: Any
    #: Frame index in a multi-frame file (0-based), or None for a single-frame file.
    number: int | None
    rows: int
    columns: int
    #: ImagePositionPatient of the frame's first voxel (LPS mm), None when not placed.
    position: np.ndarray | None
    #: Row and column direction cosines (2 x 3), None when not placed.
    cosines: np.ndarray | None
    #: (row spacing, column spacing) in mm, and the field they come from.
    pixel_spacing: tuple[float, float]
    spacing_source: str
    slope: float = 1.0
    intercept: float = 0.0
    #: Values that tell apart frames at one place (echo, time point ...).
    keys: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The segment of a DICOM SEG frame.
    segment: int | None = None
    #: Where pydicom stopped: the pixel data element (uncompressed files read directly).
    offset: int | None = None

    @property
    def normal(self) -> np.ndarray | None:
        return None if self.cosines is None else np.cross(self.cosines[0], self.cosines[1])


def numbers(path: Path, header: Any, keyword: str, size: int) -> np.ndarray:
    """``size`` finite numbers from a header field, or an ImageIOError naming it."""
    try:
        value = header.get(keyword)
        found = np.asarray(value if value is not None else [], dtype=float).reshape(-1)
    except (TypeError, ValueError, OverflowError):
        found = np.empty(0)
    if found.size != size or not np.isfinite(found).all():
        raise ImageIOError(path, f"its {keyword} is not {size} finite numbers: {value!r}")
    return found


def count(path: Path, header: Any, keyword: str, default: int | None = None) -> int:
    """A positive integer header field (Rows, Columns, NumberOfFrames, ...)."""
    value = header.get(keyword, default)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        number = 0
    if number < 1:
        raise ImageIOError(path, f"its {keyword} is not a positive integer: {value!r}")
    return number


def _number(value: Any, default: float) -> float:
    try:
        number = float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default
    return number if np.isfinite(number) else default


def _item(header: Any, keyword: str) -> Any:
    """The first item of a sequence, or None."""
    sequence = header.get(keyword) if header is not None else None
    return sequence[0] if sequence else None


def frames_of(path: Path, header: Any, offset: int | None = None) -> list[Frame]:
    """Every frame of a file, placed as its kind of object says."""
    frames = count(path, header, "NumberOfFrames", 1)
    base = {
        "path": path,
        "header": header,
        "rows": count(path, header, "Rows"),
        "columns": count(path, header, "Columns"),
        "offset": offset,
    }
    if "PerFrameFunctionalGroupsSequence" in header or "SharedFunctionalGroupsSequence" in header:
        return _enhanced(header, frames, base)
    spacing, source = _pixel_spacing(path, header)
    placed = "ImagePositionPatient" in header and "ImageOrientationPatient" in header
    position = numbers(path, header, "ImagePositionPatient", 3) if placed else None
    cosines = numbers(path, header, "ImageOrientationPatient", 6).reshape(2, 3) if placed else None
    slope = _number(header.get("RescaleSlope"), 1.0)
    intercept = _number(header.get("RescaleIntercept"), 0.0)
    if header.get("Modality") == "RTDOSE" or "DoseGridScaling" in header:
        slope = _number(header.get("DoseGridScaling"), 1.0)
    keys = {k: _key(header.get(k)) for k in DISCRIMINATORS if k in header}
    common = {**base, "pixel_spacing": spacing, "spacing_source": source}
    common |= {"slope": slope, "intercept": intercept, "keys": keys, "cosines": cosines}
    if frames == 1 or "NumberOfFrames" not in header:
        return [Frame(number=None if frames == 1 else 0, position=position, **common)]
    offsets = _frame_offsets(path, header, frames, placed)
    return [
        Frame(
            number=k,
            position=None if position is None else position + offsets[k] * _normal(cosines),
            **common,
        )
        for k in range(frames)
    ]


def _normal(cosines: np.ndarray) -> np.ndarray:
    return np.cross(cosines[0], cosines[1])


def _frame_offsets(path: Path, header: Any, frames: int, placed: bool) -> np.ndarray:
    """Each frame's distance along the normal from ImagePositionPatient (mm)."""
    if "GridFrameOffsetVector" in header:  # RT Dose
        offsets = numbers(path, header, "GridFrameOffsetVector", frames)
        # PS3.3 C.8.8.3.2: relative to the first frame when it starts at 0; otherwise
        # absolute z positions (axial grids), of which the first is the position's.
        return offsets - offsets[0]
    step = _number(header.get("SpacingBetweenSlices"), 0.0) if placed else 0.0
    if placed and step == 0:
        raise ImageIOError(
            path,
            f"its {frames} frames share one ImagePositionPatient and it says no "
            "SpacingBetweenSlices or GridFrameOffsetVector: where they sit is unknown",
        )
    return np.arange(frames) * step


def _pixel_spacing(path: Path, header: Any) -> tuple[tuple[float, float], str]:
    """(row, column) spacing and its source: PixelSpacing, then the detector's, else 1 mm."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing"):
        if header.get(keyword):
            row, column = numbers(path, header, keyword, 2)
            if row > 0 and column > 0:
                return (float(row), float(column)), keyword
    return (1.0, 1.0), "none"


def _key(value: Any) -> Any:
    """A hashable, comparable form of a header value (multi-valued ones as tuples)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return tuple(str(v) for v in value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _enhanced(header: Any, frames: int, base: dict[str, Any]) -> list[Frame]:
    """Frames of an enhanced multi-frame file (MR, CT, PET, SEG ...)."""
    path = base["path"]
    shared = _item(header, "SharedFunctionalGroupsSequence")
    per_frame = header.get("PerFrameFunctionalGroupsSequence") or []
    if per_frame and len(per_frame) < frames:  # more groups than frames: the first ones
        raise ImageIOError(
            path,
            f"it has {frames} frames but {len(per_frame)} per-frame functional groups",
        )
    result = []
    for k in range(frames):
        groups = per_frame[k] if per_frame else None

        def group(keyword: str, groups: Any = groups) -> Any:
            return _item(groups, keyword) or _item(shared, keyword)

        plane = group("PlanePositionSequence")
        orientation = group("PlaneOrientationSequence")
        placed = plane is not None and orientation is not None
        measures = group("PixelMeasuresSequence")
        spacing, source = _pixel_spacing(path, measures if measures is not None else header)
        transform = group("PixelValueTransformationSequence") or header
        content = group("FrameContentSequence")
        keys = {}
        for source_item in (content, group("MREchoSequence"), group("MRDiffusionSequence"), header):
            for keyword in DISCRIMINATORS:
                if source_item is not None and keyword in source_item and keyword not in keys:
                    keys[keyword] = _key(source_item.get(keyword))
        segment = group("SegmentIdentificationSequence")
        result.append(
            Frame(
                **base,
                number=k,
                position=numbers(path, plane, "ImagePositionPatient", 3) if placed else None,
                cosines=(
                    numbers(path, orientation, "ImageOrientationPatient", 6).reshape(2, 3)
                    if placed
                    else None
                ),
                pixel_spacing=spacing,
                spacing_source=source,
                slope=_number(transform.get("RescaleSlope"), 1.0),
                intercept=_number(transform.get("RescaleIntercept"), 0.0),
                keys=keys,
                segment=None if segment is None else int(segment.ReferencedSegmentNumber),
            )
        )
    return result
