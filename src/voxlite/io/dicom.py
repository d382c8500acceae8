"""DICOM through pydicom: series found, split, sorted in space, rescaled, in LPS.

DICOM's patient coordinates are LPS already. The frames of every file (one for a
classic image, many for an enhanced, RT Dose or SEG object: see
:mod:`voxlite.io.dicom_frames`) are grouped into series: frames share a series
when they share SeriesInstanceUID, FrameOfReferenceUID, size and orientation, so
that scouts, localizers and radial slices in one SeriesInstanceUID are series of
their own, never stacked into one volume. Frames at the same place (echoes, time
points, b-values) make several volumes of one series, told apart by what their
headers say (temporal position, echo, acquisition ...); ``component=`` picks one.

A folder holding several series shows the largest and names the others in a
warning; :func:`series` lists them and ``read_image(folder, series=...)`` reads
another (an index into that list, or a SeriesInstanceUID). Slices are ordered by
the projection of their position on the slice normal, and the slice spacing is
taken from those positions, not from SliceThickness.

Files are not trusted (:mod:`voxlite.io.dicom_files`): reads are bounded by the
file size, deflated data by the read's budget, and the pixel data the headers
claim (rows x columns x samples x frames x bytes, over the files of the series)
is checked against the memory budget before any of it is decoded.

Imports: this package's modules and :mod:`voxlite.image`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voxlite.image import Image
from voxlite.io.dicom_files import Header, is_dicom, one_read, read_dicom
from voxlite.io.dicom_frames import DISCRIMINATORS, Frame, count, frames_of
from voxlite.io.dicom_pixels import read_colour, stored_frames
from voxlite.io.errors import ImageIOError, source_name
from voxlite.io.limits import check_claim

__all__ = ["Series", "is_dicom", "read_series", "series", "write_series"]

# Fields that identify a patient: dropped from the metadata with anonymize=True.
PATIENT_FIELDS = (
    *("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge"),
    *("PatientAddress", "OtherPatientIDs", "InstitutionName", "ReferringPhysicianName"),
    *("AccessionNumber", "StudyID"),
)
KEPT_FIELDS = (
    *("Modality", "SeriesDescription", "StudyDescription", "SeriesInstanceUID"),
    *("StudyInstanceUID", "SeriesNumber", "BodyPartExamined", "Manufacturer"),
    *("DoseUnits", "DoseType", "SegmentationType", "PhotometricInterpretation"),
    *PATIENT_FIELDS,
)
# Every field the grouping reads, decoded when a file's header is read: a field
# pydicom cannot decode is an error naming it, not an exception later.
USED_FIELDS = (
    *("ImagePositionPatient", "ImageOrientationPatient", "Rows", "Columns", "PixelSpacing"),
    *("SpacingBetweenSlices", "SliceThickness", "BitsAllocated", "SamplesPerPixel"),
    *("NumberOfFrames", "SeriesInstanceUID", "FrameOfReferenceUID", "SeriesDescription"),
    *("SeriesNumber", "Modality", "RescaleSlope", "RescaleIntercept", "InstanceNumber"),
    *("PhotometricInterpretation", "SOPInstanceUID", "SOPClassUID"),
)
_DEFAULT_NAMES = {"dose": "RT Dose", "labels": "Segmentation", "image": "DICOM series"}
_SAME_PLACE = 1e-3  # mm: frames closer than this along the normal are at one place
_SAME_ORIENTATION = 1e-3  # largest difference of direction cosines within one series


@dataclasses.dataclass(frozen=True)
class Series:
    """One series of a DICOM folder, as :func:`series` lists it."""

    #: Its place in :func:`series`' list: ``read_image(folder, series=index)``.
    index: int
    uid: str
    number: int | None
    description: str
    modality: str
    #: "axial", "coronal", "sagittal", "oblique (axial)" ... or "" when not placed.
    orientation: str
    #: Slices of one volume.
    slices: int
    #: Volumes at the same places (echoes, time points): ``component=`` picks one.
    volumes: int
    rows: int
    columns: int
    #: "image", "labels" (DICOM SEG), "dose" (RT Dose) or "colour" (not shown yet).
    kind: str
    files: tuple[Path, ...]

    def __str__(self) -> str:
        name = self.description or self.uid or "unnamed"
        number = f"series {self.number}, " if self.number is not None else ""
        volumes = f" x {self.volumes} volumes" if self.volumes > 1 else ""
        where = f", {self.orientation}" if self.orientation else ""
        kind = f", {self.kind}" if self.kind != "image" else ""
        return f"#{self.index} {name!r} ({number}{self.slices} slices{volumes}{where}{kind})"


@dataclasses.dataclass(eq=False)
class _Group:
    """Frames of one series: its volumes, each a list of frames."""

    kind: str
    volumes: list[list[Frame]]

    @property
    def first(self) -> Frame:
        return self.volumes[0][0]

    @property
    def size(self) -> int:
        return sum(len(volume) for volume in self.volumes)


def series(folder: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Series]:
    """The series of a DICOM folder (or list of files), in series-number order.

    Parameters
    ----------
    folder
        A folder (searched recursively) or a list of DICOM files.

    Returns
    -------
    list of Series
        Each with its description, modality, slice and volume counts, orientation,
        series number and UID, and files. ``read_image(folder, series=s.index)``
        reads one.

    Example
    -------
    >>> import numpy as np, tempfile, voxlite
    >>> from voxlite.io import dicom
    >>> folder = tempfile.mkdtemp()
    >>> _ = dicom.write_series(voxlite.Image(np.zeros((3, 4, 4), np.int16)), folder)
    >>> [(s.slices, s.orientation) for s in dicom.series(folder)]
    [(3, 'axial')]
    """
    source = _source(folder)
    with one_read():
        return [_summary(i, g) for i, g in enumerate(_groups(source))]


def read_series(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    anonymize: bool = False,
    series: int | str | None = None,
    component: int | None = None,
) -> Image:
    """Read one series of a folder or list of files: the largest, or the one asked for.

    Parameters
    ----------
    source
        A folder, one file, or a list of files.
    anonymize
        Drop the fields that identify the patient from the metadata.
    series
        An index into :func:`series`' list, or a SeriesInstanceUID.
    component
        Which volume of a series with several at the same places (echoes, time points).

    Example
    -------
    >>> import numpy as np, tempfile, voxlite
    >>> from voxlite.io import dicom
    >>> folder = tempfile.mkdtemp()
    >>> _ = dicom.write_series(voxlite.Image(np.ones((3, 4, 5), np.int16)), folder)
    >>> dicom.read_series(folder).shape
    (3, 4, 5)
    """
    source = _source(source)
    with one_read():
        groups = _groups(source)
        chosen = _choose(source, groups, series)
        try:
            return _image(source, chosen, groups, anonymize, component)
        except pydicom_errors() as error:  # header values are decoded lazily, on first use
            raise ImageIOError(source_name(source), f"a DICOM header is corrupt: {error}") from None


def pydicom_errors() -> tuple[type[Exception], ...]:
    """pydicom's exceptions that are not ValueErrors (wrong element lengths)."""
    from pydicom import errors

    return (errors.BytesLengthException,)


def _source(source: Any) -> Path | list[Path]:
    if isinstance(source, (str, os.PathLike)):
        return Path(source)
    return [Path(p) for p in source]


def _files_of(source: Path | list[Path]) -> list[Path]:
    if isinstance(source, Path):
        if not source.is_dir():
            if not source.is_file():
                raise ImageIOError(source, "no such file")
            return [source]
        files = sorted(p for p in source.rglob("*") if p.is_file())
        if not files:
            raise ImageIOError(source, "the folder is empty")
        return files
    if not source:
        raise ImageIOError("(no files)", "no DICOM files given")
    missing = [str(p) for p in source if not p.is_file()]
    if missing:
        raise ImageIOError(missing[0], "no such file")
    return source


def _groups(source: Path | list[Path]) -> list[_Group]:
    """Every image series of the source, split and ordered (series number, then size)."""
    files = _files_of(source)
    frames: list[Frame] = []
    others: dict[str, int] = {}
    for path in files:
        found = _frames(path)
        if isinstance(found, str):
            others[found] = others.get(found, 0) + 1
        else:
            frames.extend(found)
    if not frames:
        raise ImageIOError(source_name(source), _nothing_found(others))
    groups = [g for bucket in _buckets(_unique(frames)).values() for g in _split(bucket)]
    groups.sort(key=lambda g: (_series_number(g.first) is None, _series_number(g.first) or 0))
    return groups


def _nothing_found(others: dict[str, int]) -> str:
    if not others or set(others) == {""}:
        return "no DICOM image slices found"
    found = ", ".join(f"{n} {kind}" for kind, n in sorted(others.items()) if kind)
    return f"no DICOM image slices found (it holds {found}: objects without pixels)"


def _frames(path: Path) -> list[Frame] | str:
    """The frames of a file; for a file that is no DICOM image, what it is ('' if nothing)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns of every odd value it meets
            dataset, offset = read_dicom(path, stop_before_pixels=True)
        header = Header(dataset)
    except (ImageIOError, MemoryError):  # refused by voxlite, not junk; MemoryError: a bug
        raise
    # pydicom raises a dozen kinds for bytes that are not (quite) DICOM: InvalidDicomError,
    # BytesLengthException (a RuntimeError), struct.error, ValueError, KeyError, ...;
    # a file of the folder that it cannot parse is not one of the slices.
    except Exception:
        return ""
    try:
        if (
            "Rows" not in header
            or "Columns" not in header
            or (offset is None and not _deflated(header))
        ):
            return _kind_of(header)
    except Exception:
        return ""
    # An image it is. pydicom decodes each field when first read, and raises
    # (NotImplementedError for an unknown VR, ...) then: decode the ones used now.
    for keyword in USED_FIELDS:
        try:
            header.get(keyword)
        except Exception as error:
            raise ImageIOError(path, f"its {keyword} cannot be decoded ({error})") from None
    _check_file_claim(path, header, offset)
    try:
        return frames_of(path, header, offset)
    except ImageIOError:
        raise
    except Exception as error:  # a functional group of the wrong shape, ...
        raise ImageIOError(path, f"its frames cannot be placed ({error})") from None


def _check_file_claim(path: Path, header: Any, offset: int | None) -> None:
    """A file's claimed pixels: within the budget, and within the file when uncompressed.

    Checked before its frames are made: NumberOfFrames = 2**31 in a small file is a
    lie, not two billion frames to place.
    """
    from voxlite.io.dicom_pixels import is_native

    size = path.stat().st_size
    check_claim(path, _pixel_bytes(path, header), what="its header")
    grey = count(path, header, "SamplesPerPixel", 1) == 1
    if offset is not None and is_native(header) and grey:  # stored as they are: in the file
        bits = count(path, header, "BitsAllocated", 16)
        stored = math.prod(count(path, header, k, 1) for k in ("Rows", "Columns", "NumberOfFrames"))
        check_claim(path, (stored * bits + 7) // 8, size - offset, what="its header", budget=False)
    frames = count(path, header, "NumberOfFrames", 1)
    if frames > size:  # even compressed, each frame takes bytes of the file
        raise ImageIOError(path, f"its NumberOfFrames {frames} is more than its file could hold")


def _deflated(header: Any) -> bool:
    from voxlite.io.dicom_files import DEFLATED

    meta = getattr(header, "file_meta", None)
    return meta is not None and meta.get("TransferSyntaxUID") == DEFLATED


def _kind_of(header: Any) -> str:
    """What a DICOM object without pixels is: 'RT Structure Set Storage', 'DICOMDIR' ..."""
    if "DirectoryRecordSequence" in header:
        return "DICOMDIR"
    sop = header.get("SOPClassUID")
    name = getattr(sop, "name", "") or str(header.get("Modality", "") or "")
    return name.removesuffix(" Storage") or "other object"


def _unique(frames: list[Frame]) -> list[Frame]:
    """Frames without copies: one file found twice (a copy in another folder) counts once."""
    seen: set[tuple[str, int | None]] = set()
    unique = []
    for frame in frames:
        uid = str(frame.header.get("SOPInstanceUID", "") or frame.path)
        if (uid, frame.number) not in seen:
            seen.add((uid, frame.number))
            unique.append(frame)
    return unique


def _kind(frame: Frame) -> str:
    header = frame.header
    if int(header.get("SamplesPerPixel", 1) or 1) > 1 or "PALETTE" in str(
        header.get("PhotometricInterpretation", "")
    ):
        return "colour"
    if header.get("Modality") == "SEG" or frame.segment is not None:
        return "labels"
    return "dose" if header.get("Modality") == "RTDOSE" else "image"


def _buckets(frames: list[Frame]) -> dict[tuple[Any, ...], list[Frame]]:
    """Frames by series UID, frame of reference, size, orientation and kind."""
    orientations: list[np.ndarray] = []
    buckets: dict[tuple[Any, ...], list[Frame]] = {}
    for frame in frames:
        header, kind = frame.header, _kind(frame)
        if frame.position is None:  # not placed: the frames of one file, stacked
            key: tuple[Any, ...] = ("file", str(frame.path), kind)
        else:
            cosines = frame.cosines.ravel()
            index = next(
                (
                    i
                    for i, o in enumerate(orientations)
                    if np.abs(o - cosines).max() < _SAME_ORIENTATION
                ),
                None,
            )
            if index is None:
                orientations.append(cosines)
                index = len(orientations) - 1
            key = (
                str(header.get("SeriesInstanceUID", "")),
                str(header.get("FrameOfReferenceUID", "")),
                frame.rows,
                frame.columns,
                index,
                kind,
                # each SEG object is a label map of its own
                str(header.get("SOPInstanceUID", "")) if kind == "labels" else "",
            )
        buckets.setdefault(key, []).append(frame)
    return buckets


def _locations(frames: list[Frame]) -> np.ndarray:
    normal = frames[0].normal
    return np.array([float(np.dot(f.position, normal)) for f in frames])


def _distinct(locations: np.ndarray) -> bool:
    return len(locations) < 2 or bool(np.diff(np.sort(locations)).min() >= _SAME_PLACE)


def _split(frames: list[Frame]) -> list[_Group]:
    """One bucket as series: volumes at the same places together, others apart."""
    kind = _kind(frames[0])
    if frames[0].position is None or kind == "labels":  # SEG: segments merged by place
        return [_Group(kind, [_ordered(frames)])]
    volumes = _volumes(frames)
    places = [np.sort(_locations(v)) for v in volumes]
    same = all(
        len(p) == len(places[0]) and np.abs(p - places[0]).max() < _SAME_PLACE for p in places
    )
    if same:
        return [_Group(kind, [_ordered(v) for v in volumes])]
    return [_Group(kind, [_ordered(v)]) for v in volumes]


def _volumes(frames: list[Frame]) -> list[list[Frame]]:
    """Frames at distinct places; or split into volumes that each have them."""
    if _distinct(_locations(frames)):
        return [frames]
    for key in DISCRIMINATORS:
        values = [f.keys.get(key) for f in frames]
        distinct = sorted(set(values), key=_sortable)
        if len(distinct) < 2:
            continue
        parts = [[f for f, v in zip(frames, values, strict=True) if v == d] for d in distinct]
        if all(_distinct(_locations(part)) for part in parts):
            return parts
    # Nothing says which volume a frame is in: the n-th frame at each place (in instance
    # order) belongs to the n-th volume.
    locations = _locations(frames)
    order = sorted(range(len(frames)), key=lambda i: (_instance(frames[i]), i))
    rank: dict[int, int] = {}
    seen: list[tuple[float, int]] = []
    for i in order:
        same = [n for place, n in seen if abs(place - locations[i]) < _SAME_PLACE]
        rank[i] = len(same)
        seen.append((locations[i], i))
    return [[frames[i] for i in order if rank[i] == n] for n in range(max(rank.values()) + 1)]


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    return (1, value) if isinstance(value, float) else (2, str(value))


def _instance(frame: Frame) -> tuple[float, int]:
    try:
        number = float(frame.header.get("InstanceNumber") or 0)
    except (TypeError, ValueError):
        number = 0.0
    return (number, frame.number or 0)


def _ordered(frames: list[Frame]) -> list[Frame]:
    """Frames along their normal (placed), or in file and frame order (not placed)."""
    if frames[0].position is None:
        return sorted(frames, key=lambda f: (str(f.path), f.number or 0))
    locations = _locations(frames)
    return [frames[i] for i in np.argsort(locations, kind="stable")]


def _series_number(frame: Frame) -> int | None:
    try:
        value = frame.header.get("SeriesNumber")
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _orientation(frame: Frame) -> str:
    normal = frame.normal
    if normal is None:
        return ""
    axis = int(np.argmax(np.abs(normal)))
    name = ("sagittal", "coronal", "axial")[axis]
    return name if abs(normal[axis]) > 0.9 else f"oblique ({name})"


def _summary(index: int, group: _Group) -> Series:
    first = group.first
    header = first.header
    files = tuple(dict.fromkeys(f.path for v in group.volumes for f in v))
    merged = group.kind == "labels" and first.position is not None  # segments merged by place
    slices = len(_places(group.volumes[0])) if merged else len(group.volumes[0])
    return Series(
        index=index,
        uid=str(header.get("SeriesInstanceUID", "")),
        number=_series_number(first),
        description=str(header.get("SeriesDescription", "") or ""),
        modality=str(header.get("Modality", "") or ""),
        orientation=_orientation(first),
        slices=slices,
        volumes=len(group.volumes),
        rows=first.rows,
        columns=first.columns,
        kind=group.kind,
        files=files,
    )


def _choose(source: Any, groups: list[_Group], wanted: int | str | None) -> _Group:
    listed = [_summary(i, g) for i, g in enumerate(groups)]
    if wanted is None:
        shown = [i for i, s in enumerate(listed) if s.kind != "colour"] or [0]
        index = max(shown, key=lambda i: (listed[i].slices * listed[i].volumes, -i))
        if len(groups) > 1:
            others = "; ".join(str(s) for s in listed if s.index != index)
            warnings.warn(
                f"{source_name(source)}: holds {len(groups)} series; showing "
                f"{listed[index]}, not: {others}. Choose one with "
                "read_image(..., series=INDEX or SeriesInstanceUID); "
                "voxlite.io.dicom.series(folder) lists them",
                stacklevel=4,
            )
        return groups[index]
    if isinstance(wanted, str):
        matches = [s.index for s in listed if s.uid == wanted]
        if len(matches) == 1:
            return groups[matches[0]]
        if matches:
            raise ImageIOError(
                source_name(source),
                f"SeriesInstanceUID {wanted} holds {len(matches)} series (split by orientation, "
                f"size or frame of reference): choose one by index, "
                f"{', '.join(str(listed[i]) for i in matches)}",
            )
        raise ImageIOError(source_name(source), f"no series has SeriesInstanceUID {wanted}")
    if isinstance(wanted, bool) or not isinstance(wanted, int) or not 0 <= wanted < len(groups):
        raise ImageIOError(
            source_name(source),
            f"series={wanted!r}: it holds {len(groups)} series, 0..{len(groups) - 1}: "
            + "; ".join(str(s) for s in listed),
        )
    return groups[wanted]


def _image(
    source: Any, group: _Group, groups: list[_Group], anonymize: bool, component: int | None
) -> Image:
    first = group.first
    name = source_name(source)
    if group.kind == "colour":
        return _colour_image(name, group, anonymize)
    count_ = len(group.volumes)
    if component is None:
        if count_ > 1:
            warnings.warn(
                f"{name}: the series holds {count_} volumes at the same places (echoes, time "
                f"points, ...); showing the first: choose one with component=0..{count_ - 1}",
                stacklevel=4,
            )
        component = 0
    if (
        isinstance(component, bool)
        or not isinstance(component, int)
        or not (-count_ <= component < count_)
    ):
        raise ImageIOError(
            name, f"component={component!r} is out of range: the series holds {count_} volume(s)"
        )
    frames = group.volumes[component]
    files = list(dict.fromkeys(f.path for f in frames))
    headers = {f.path: f.header for f in frames}
    check_claim(name, sum(_pixel_bytes(p, headers[p]) for p in files), what="its files' headers")
    if group.kind == "labels" and first.position is not None:
        array, places, frames = _label_map(frames)
    else:
        array = _rescaled(_stored(frames), frames)
        places = None
    geometry = _geometry(name, frames, places)
    return Image(
        array,
        **geometry,
        name=str(first.header.get("SeriesDescription", "") or _DEFAULT_NAMES.get(group.kind)),
        metadata={
            **_metadata(first.header, anonymize, array.shape[0]),
            "spacing_source": first.spacing_source,
            "volumes": count_,
            "volume": component % count_,
            **_labels(first.header, group.kind),
        },
    )


def _colour_image(name: str, group: _Group, anonymize: bool) -> Image:
    """RGB, YBR and palette colour as RGB: a photo or a colour slice, a colour volume of
    placed frames, or (frames not placed: ultrasound cine) a time series of one slice."""
    frames = group.volumes[0]
    files = list(dict.fromkeys(f.path for f in frames))
    headers = {f.path: f.header for f in frames}
    # As RGB: 3 bytes a pixel, whatever the file stores (palette indices, YBR, 16 bits).
    samples = {p: count(p, headers[p], "SamplesPerPixel", 1) for p in files}
    claim = sum(3 * _pixel_bytes(p, headers[p]) // samples[p] for p in files)
    check_claim(name, claim, what="its files' headers")
    rgb = np.concatenate([read_colour(path) for path in files])  # [frames, rows, columns, 3]
    first = group.first
    cine = len(rgb) > 1 and first.position is None
    geometry = _geometry(name, frames[:1] if cine else frames, None)
    array = rgb[:, np.newaxis] if cine else rgb
    metadata = _metadata(first.header, anonymize, 1 if cine else len(rgb))
    metadata["spacing_source"] = first.spacing_source
    frame_time = first.header.get("FrameTime")
    if cine and frame_time not in (None, ""):
        metadata["frame_ms"] = float(frame_time)
    return Image(
        array,
        **geometry,
        pixel="rgb",
        timeseries=cine,
        name=str(first.header.get("SeriesDescription", "") or "colour"),
        metadata=metadata,
    )


def _pixel_bytes(path: Path, header: Any) -> int:
    """The bytes of pixels a header claims: rows x columns x samples x frames x bytes."""
    bits = count(path, header, "BitsAllocated", 16)
    return math.prod(
        (
            count(path, header, "Rows"),
            count(path, header, "Columns"),
            count(path, header, "SamplesPerPixel", 1),
            count(path, header, "NumberOfFrames", 1),
            (bits + 7) // 8,
        )
    )


def _stored(frames: list[Frame]) -> np.ndarray:
    """The stored values of the frames, stacked; each file decoded once, then let go.

    Planes are copied into the stack as their files are decoded: memory is the stack
    and one file's pixels, not every file's pixels and a stacked copy of them.
    """
    left = {path: 0 for path in (f.path for f in frames)}
    for frame in frames:
        left[frame.path] += 1
    decoded: dict[Path, np.ndarray] = {}
    stack: np.ndarray | None = None
    for k, frame in enumerate(frames):
        if frame.path not in decoded:
            decoded[frame.path] = stored_frames(frame.path, frame.header, frame.offset)
        plane = decoded[frame.path][frame.number or 0]
        left[frame.path] -= 1
        if not left[frame.path]:
            del decoded[frame.path]
        if stack is None:
            stack = np.empty((len(frames), *plane.shape), plane.dtype)
        elif plane.shape != stack.shape[1:]:
            raise ImageIOError(
                source_name([f.path for f in frames]),
                f"its slices have different sizes {sorted({plane.shape, stack.shape[1:]})}",
            )
        elif not np.can_cast(plane.dtype, stack.dtype):  # signed and unsigned slices
            stack = stack.astype(np.result_type(stack.dtype, plane.dtype))
        stack[k] = plane
    assert stack is not None  # frames is never empty
    return stack


def _rescaled(stack: np.ndarray, frames: list[Frame]) -> np.ndarray:
    """Stored values times slope plus intercept: int16 when exact and in range, else float32.

    Computed plane by plane, so memory is the result and one plane of float64.
    """
    factors = [(f.slope, f.intercept) for f in frames]
    if set(factors) == {(1.0, 0.0)}:
        return stack
    integral = all(s.is_integer() and i.is_integer() for s, i in factors)
    ends = [
        (float(stack[k].min()) * s + i, float(stack[k].max()) * s + i)
        for k, (s, i) in enumerate(factors)
    ]
    low, high = min(min(e) for e in ends), max(max(e) for e in ends)
    dtype = np.int16 if integral and low >= -32768 and high <= 32767 else np.float32
    result = np.empty(stack.shape, dtype)
    for k, (slope, intercept) in enumerate(factors):
        result[k] = stack[k] * slope + intercept
    return result


def _places(frames: list[Frame]) -> np.ndarray:
    """The distinct places (along the normal) of frames, sorted."""
    locations = np.sort(_locations(frames))
    keep = np.concatenate([[True], np.diff(locations) >= _SAME_PLACE])
    return locations[keep]


def _label_map(frames: list[Frame]) -> tuple[np.ndarray, np.ndarray, list[Frame]]:
    """A SEG object's frames as one label map: each voxel the number of its segment.

    Frames of the segments at one place are merged; places between the frames
    (a SEG stores only frames with content) are filled with background, on the
    grid of the smallest step when the places fit one.
    """
    places = _places(frames)
    if len(places) > 1:
        step = float(np.diff(places).min())
        steps = (places - places[0]) / step
        if np.abs(steps - np.round(steps)).max() < 0.01 and steps[-1] < 4 * len(places) + 1024:
            places = places[0] + step * np.arange(round(float(steps[-1])) + 1)
    masks = _stored(frames)
    header = frames[0].header
    fractional = str(header.get("SegmentationType", "")).upper() == "FRACTIONAL"
    threshold = float(header.get("MaximumFractionalValue", 255) or 255) / 2 if fractional else 0
    top = max((f.segment or 1) for f in frames)
    labels = np.zeros(
        (len(places), frames[0].rows, frames[0].columns), np.uint8 if top < 256 else np.uint16
    )
    locations = _locations(frames)
    representative: dict[int, Frame] = {}
    for frame, mask, location in zip(frames, masks, locations, strict=True):
        k = int(np.argmin(np.abs(places - location)))
        labels[k][mask > threshold] = frame.segment or 1
        representative.setdefault(k, frame)
    # Each place's frame (for geometry): the first frame placed there, or one moved there.
    ordered = []
    for k, place in enumerate(places):
        frame = representative.get(k) or representative[min(representative)]
        if k not in representative:
            shift = (place - float(np.dot(frame.position, frame.normal))) * frame.normal
            frame = dataclasses.replace(frame, position=frame.position + shift)
        ordered.append(frame)
    return labels, places, ordered


def _labels(header: Any, kind: str) -> dict[str, Any]:
    """A SEG's segment numbers and labels: ``{"label_names": {1: "Liver"}}``."""
    if kind != "labels":
        return {}
    names = {}
    for segment in header.get("SegmentSequence") or []:
        try:
            number = int(segment.SegmentNumber)
        except (AttributeError, TypeError, ValueError):
            continue
        names[number] = str(segment.get("SegmentLabel", "") or f"segment {number}")
    return {"label_names": names}


def _geometry(name: str, frames: list[Frame], places: np.ndarray | None) -> dict[str, Any]:
    """Spacing, origin and direction of frames ordered along their normal."""
    first = frames[0]
    row_spacing, column_spacing = first.pixel_spacing
    if first.position is None:  # not placed: frames stacked along z, 1 mm apart (as ITK)
        return {"spacing": (column_spacing, row_spacing, 1.0)}
    normal = first.normal
    positions = np.array([f.position for f in frames])
    locations = positions @ normal if places is None else places
    steps = np.diff(locations)
    if len(frames) > 1:
        slice_spacing = float(np.median(steps))
    else:
        header = first.header
        measures = _thickness(header)
        slice_spacing = measures
    if len(frames) > 2 and np.ptp(steps) > 0.01 * abs(slice_spacing):
        warnings.warn(
            f"{name}: slices are unevenly spaced ({steps.min():.3g} to "
            f"{steps.max():.3g} mm); using {slice_spacing:.3g} mm",
            stacklevel=5,
        )
    # Gantry tilt: positions off the line along the normal (a sheared stack).
    if len(frames) > 1:
        off_line = positions - positions[0] - np.outer(locations - locations[0], normal)
        drift = float(np.linalg.norm(off_line, axis=1).max())
        if drift > 0.5 * min(row_spacing, column_spacing):
            warnings.warn(
                f"{name}: the slices are sheared (gantry tilt?): shown as an unsheared "
                f"stack, positions off by up to {drift:.3g} mm",
                stacklevel=5,
            )
    direction = np.column_stack([first.cosines[0], first.cosines[1], normal])
    return {
        "spacing": (column_spacing, row_spacing, slice_spacing),
        "origin": positions[0],
        "direction": direction,
    }


def _thickness(header: Any) -> float:
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        try:
            value = float(header.get(keyword) or 0)
        except (TypeError, ValueError):
            continue
        if value > 0 and math.isfinite(value):
            return value
    return 1.0


def _metadata(header: Any, anonymize: bool, slices: int) -> dict[str, Any]:
    fields = [f for f in KEPT_FIELDS if not (anonymize and f in PATIENT_FIELDS)]
    metadata: dict[str, Any] = {"format": "DICOM", "slices": slices}
    for field in fields:
        if field in header:
            metadata[field] = str(header.get(field))
    return metadata


def write_series(
    image: Image,
    folder: str | os.PathLike,
    description: str = "voxlite series",
    modality: str = "CT",
) -> list[Path]:
    """Write a 3D image as a DICOM series (one file per slice, int16, rescale 1/0).

    Made for demo data and tests: the UIDs are generated, the patient is "Phantom".

    Parameters
    ----------
    image
        The image to write (its voxels are rounded to int16).
    folder
        The folder to write the slices to (made if missing).
    description, modality
        The series' SeriesDescription and Modality.

    Example
    -------
    >>> import numpy as np, tempfile, voxlite
    >>> files = write_series(voxlite.Image(np.zeros((2, 3, 4))), tempfile.mkdtemp())
    >>> [f.name for f in files]
    ['slice0000.dcm', 'slice0001.dcm']
    """
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    array = np.asarray(image.array)
    if array.dtype != np.int16:
        array = np.clip(np.round(array), -32768, 32767).astype(np.int16)
    study, series_uid, frame = generate_uid(), generate_uid(), generate_uid()
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
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series_uid
        ds.FrameOfReferenceUID = frame
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


def open_lazy(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    series: int | str | None = None,
    component: int | None = None,
    anonymize: bool = False,
) -> Image:
    """A series whose slices are decoded as they are indexed, for converting a series
    larger than memory: headers are read now, pixels slice by slice later.

    Its values are the rescaled ones (int16 when the stored range rescales into it
    exactly, float32 otherwise). Label maps (SEG), RT Dose and colour series are read
    whole, within the memory budget, as :func:`read_series` reads them.
    """
    path = _source(source)
    with one_read():
        groups = _groups(path)
        chosen = _choose(path, groups, series)
        if chosen.kind != "image" or chosen.first.position is None:
            return _image(path, chosen, groups, anonymize, component)
        index = 0 if component is None else component
        if isinstance(index, bool) or not -len(chosen.volumes) <= index < len(chosen.volumes):
            raise ImageIOError(
                source_name(path),
                f"component={component!r} is out of range: the series holds "
                f"{len(chosen.volumes)} volume(s)",
            )
        frames = chosen.volumes[index]
        first = frames[0]
        stack = SliceStack(tuple(frames), _lazy_dtype(frames))
        return Image(
            stack,
            **_geometry(source_name(path), frames, None),
            name=str(first.header.get("SeriesDescription", "") or _DEFAULT_NAMES["image"]),
            metadata={**_metadata(first.header, anonymize, len(frames)), "volume": index},
        )


def _lazy_dtype(frames: list[Frame]) -> np.dtype:
    """The dtype of the rescaled slices, from the stored type and range, not their values."""
    first = frames[0]
    stored = stored_frames(first.path, first.header, first.offset).dtype
    factors = {(f.slope, f.intercept) for f in frames}
    if factors == {(1.0, 0.0)}:
        return stored
    bits = int(first.header.get("BitsStored", 8 * stored.itemsize) or 8 * stored.itemsize)
    signed = int(first.header.get("PixelRepresentation", 0) or 0) == 1
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    ends = [v * s + i for s, i in factors for v in (low, high)]
    integral = all(s.is_integer() and i.is_integer() for s, i in factors)
    fits = min(ends) >= -32768 and max(ends) <= 32767
    return np.dtype(np.int16 if integral and fits else np.float32)


@dataclasses.dataclass(frozen=True)
class SliceStack:
    """The slices of a series as a ``[z, y, x]`` array, each decoded when indexed."""

    frames: tuple[Frame, ...]
    dtype: np.dtype

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.frames), self.frames[0].rows, self.frames[0].columns)

    @property
    def ndim(self) -> int:
        return 3

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = (*key, *(slice(None),) * (3 - len(key)))
        picked = range(len(self.frames))[key[0]]
        planes = []
        for k in [picked] if isinstance(picked, int) else picked:
            frame = self.frames[k]
            with one_read():
                plane = stored_frames(frame.path, frame.header, frame.offset)[frame.number or 0]
            if plane.shape != self.shape[1:]:
                raise ImageIOError(frame.path, f"its slice is {plane.shape}, not {self.shape[1:]}")
            plane = plane[key[1], key[2]]
            if (frame.slope, frame.intercept) != (1.0, 0.0):
                plane = plane * frame.slope + frame.intercept
            planes.append(plane.astype(self.dtype, copy=False))
        if isinstance(picked, int):
            return planes[0]
        if not planes:
            rows, columns = (len(range(n)[k]) for n, k in zip(self.shape[1:], key[1:], strict=True))
            return np.empty((0, rows, columns), self.dtype)
        return np.stack(planes)
