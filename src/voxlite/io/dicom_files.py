"""Opening DICOM files without trusting them: bounded reads, bounded inflation, no preamble.

pydicom reads an element's stated length in one ``read()`` (which allocates that
length before reading), so files are opened through a reader that never asks for
more than the file holds. Deflated files (Deflated Explicit VR Little Endian) are
inflated here, not by pydicom, which inflates all of a file at once without limit
and keeps the inflated bytes with the dataset: the inflation of every file of one
read is counted against that read's memory budget (:func:`one_read`), so a folder
of small deflated files cannot inflate into many times the budget.

Files without the 128-byte preamble and ``DICM`` marker (older "ACR-NEMA style"
files, and files stripped by some PACS exports) are recognised by their first
element, as pydicom's ``force=True`` would read them.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import os
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voxlite.io.errors import ImageIOError
from voxlite.io.limits import decompressed, max_bytes, take

__all__ = ["DEFLATED", "Header", "NotDicomError", "is_dicom", "one_read", "read_dicom"]

DEFLATED = "1.2.840.10008.1.2.1.99"
# The groups a dataset without preamble can start with (file meta, identifying, patient ...).
_FIRST_GROUPS = (0x0002, 0x0008, 0x0010, 0x0018, 0x0020, 0x0028)
_inflated: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "inflated", default=None
)


def is_dicom(path: Path) -> bool:
    """True for a DICOM file: the ``DICM`` marker after its preamble, or a bare dataset.

    A bare dataset (no preamble, no file meta) starts with an element of group
    0x0008 (or another low group) in implicit or explicit VR, little or big endian.

    Example
    -------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = path.write_text("not DICOM")
    >>> is_dicom(path)
    False
    """
    try:
        with open(path, "rb") as stream:
            head = stream.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM" or _bare_dataset(head)


def _bare_dataset(head: bytes) -> bool:
    if len(head) < 12:
        return False
    for order in "<>":
        group, element = struct.unpack(f"{order}HH", head[:4])
        if group not in _FIRST_GROUPS or element > 0x00FF:
            continue
        vr = head[4:6]
        if vr.isalpha() and vr.isupper():  # explicit VR: two capital letters
            return True
        (length,) = struct.unpack(f"{order}I", head[4:8])
        if order == "<" and 0 < length < 1 << 16:  # implicit VR is always little endian
            return True
    return False


@contextlib.contextmanager
def one_read() -> Iterator[None]:
    """The block is one read: deflated files inflated in it share one memory budget."""
    token = _inflated.set([0])
    try:
        yield
    finally:
        _inflated.reset(token)


class NotDicomError(ValueError):
    """Neither a DICM marker nor a DICOM element at the start: not a DICOM file."""


class WithinFile(io.BufferedReader):
    """A file whose read(n) never asks for more than what is left of it.

    pydicom reads each element with ``read(stated_length)``; a plain file object
    allocates that many bytes before reading, so a length field of 0xFFFFFFF0 in
    a 1 kB file would cost 4 GB.
    """

    def __init__(self, path: Path):
        super().__init__(io.FileIO(str(path), "rb"))
        self.size = os.fstat(self.fileno()).st_size

    def read(self, size: int | None = -1, /) -> bytes:
        if size is not None and size > 0:
            size = min(size, max(self.size - self.tell(), 0))
        return super().read(size)


class Header:
    """A dataset whose fields are each decoded once: ``get``, ``in`` and attributes.

    pydicom converts a raw element on first access and then goes through several
    layers of lookup on every access; a series of a thousand files asks each of them
    for the same twenty fields several times. Everything else is the dataset's.
    """

    __slots__ = ("_present", "_values", "dataset")

    def __init__(self, dataset: Any):
        self.dataset = dataset
        self._values: dict[str, Any] = {}
        self._present: dict[str, bool] = {}

    def get(self, keyword: str, default: Any = None) -> Any:
        try:
            value = self._values[keyword]
        except KeyError:
            value = self._values[keyword] = self._decoded(keyword)
        return default if value is None else value

    def _decoded(self, keyword: str) -> Any:
        """The field's value: the few numbers and UIDs of every slice decoded here, the
        rest (and anything odd: empty, unparsable) by pydicom, with its warnings."""
        known = _PLAIN_FIELDS.get(keyword)
        raw = self.dataset._dict.get(known[0]) if known else None
        if raw is not None and getattr(raw, "is_raw", False) and raw.value:
            try:
                return _plain_value(raw, known[1])
            except (ValueError, UnicodeDecodeError, struct.error):
                pass
        return self.dataset.get(keyword)

    def __contains__(self, keyword: str) -> bool:
        try:
            return self._present[keyword]
        except KeyError:
            found = self._present[keyword] = keyword in self.dataset
            return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dataset, name)


# (tag, VR) of the fields every slice is asked for, decoded without pydicom's machinery,
# which costs half of reading a series' headers. Their VRs are fixed by the standard.
_PLAIN_FIELDS = {
    "ImagePositionPatient": (0x00200032, "DS"),
    "ImageOrientationPatient": (0x00200037, "DS"),
    "PixelSpacing": (0x00280030, "DS"),
    "SliceThickness": (0x00180050, "DS"),
    "SpacingBetweenSlices": (0x00180088, "DS"),
    "RescaleIntercept": (0x00281052, "DS"),
    "RescaleSlope": (0x00281053, "DS"),
    "Rows": (0x00280010, "US"),
    "Columns": (0x00280011, "US"),
    "SamplesPerPixel": (0x00280002, "US"),
    "BitsAllocated": (0x00280100, "US"),
    "BitsStored": (0x00280101, "US"),
    "PixelRepresentation": (0x00280103, "US"),
    "NumberOfFrames": (0x00280008, "IS"),
    "SeriesNumber": (0x00200011, "IS"),
    "AcquisitionNumber": (0x00200012, "IS"),
    "InstanceNumber": (0x00200013, "IS"),
    "SOPInstanceUID": (0x00080018, "UI"),
    "SeriesInstanceUID": (0x0020000E, "UI"),
    "FrameOfReferenceUID": (0x00200052, "UI"),
    "Modality": (0x00080060, "CS"),
    "PhotometricInterpretation": (0x00280004, "CS"),
}


def _plain_value(raw: Any, vr: str) -> Any:
    """A raw element's value as pydicom gives it: one value, or a list of several."""
    if raw.VR not in (None, vr):  # an explicit VR that is not the standard's: pydicom's job
        raise ValueError(raw.VR)
    if vr == "US":
        if len(raw.value) != 2:
            raise ValueError("not one US value")
        return struct.unpack("<H" if raw.is_little_endian else ">H", raw.value)[0]
    text = raw.value.decode("ascii").strip(" \0")
    if vr in ("UI", "CS"):
        if "\\" in text or not text:
            raise ValueError("several values")
        return text
    values = [float(v) if vr == "DS" else int(v) for v in text.split("\\")]
    return values[0] if len(values) == 1 else values


def read_dicom(path: Path, stop_before_pixels: bool = False) -> tuple[Any, int | None]:
    """The dataset of a file, and where its pixel data element starts (None if unknown).

    The offset is known for files read from disk as they are (not deflated) when
    ``stop_before_pixels``: it lets the pixels of uncompressed files be read
    straight into the volume, without pydicom parsing the file a second time.
    """
    with WithinFile(path) as stream:
        head = stream.read(_HEAD)
        force = head[128:132] != b"DICM"
        if force and not _bare_dataset(head):
            raise NotDicomError(path)
        if not force and DEFLATED.encode() in head:
            stream.seek(0)
            return _read_deflated(path, stream, stop_before_pixels), None
        if stop_before_pixels or len(head) == stream.size:
            found = _from_head(head, stop_before_pixels, force, whole=len(head) == stream.size)
            if found is not None:
                return found
        stream.seek(0)
        dataset = _dcmread(stream, stop_before_pixels, force)
        offset = stream.tell() if stop_before_pixels and stream.tell() < stream.size else None
        return dataset, offset


# Most headers end within this many bytes: they are parsed from memory (pydicom's many
# small reads cost far less there than through a file object).
_HEAD = 1 << 16


def _from_head(
    head: bytes, stop_before_pixels: bool, force: bool, whole: bool
) -> tuple[Any, int | None] | None:
    """The dataset parsed from the file's first bytes; None if its header goes on past them."""
    chunk = io.BytesIO(head)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error" if not whole else "default")  # a cut header warns
            dataset = _dcmread(chunk, stop_before_pixels, force)
    except Exception:
        if whole:
            raise
        return None
    stopped = stop_before_pixels and chunk.tell() < len(head)
    if not (whole or stopped):
        return None
    dataset.buffer = None  # pydicom keeps the buffer it read from: not needed, not kept
    return dataset, chunk.tell() if stopped else None


def _dcmread(stream: Any, stop_before_pixels: bool, force: bool) -> Any:
    import pydicom

    return pydicom.dcmread(stream, stop_before_pixels=stop_before_pixels, force=force)


def _read_deflated(path: Path, stream: WithinFile, stop_before_pixels: bool) -> Any:
    """A deflated file, inflated no further than what is left of this read's budget."""
    from pydicom.dataset import FileDataset
    from pydicom.filereader import _at_pixel_data, _read_file_meta_info, read_dataset, read_preamble

    preamble = read_preamble(stream, False)
    meta = _read_file_meta_info(stream)
    if meta.get("TransferSyntaxUID") != DEFLATED:  # the UID was elsewhere in the file
        stream.seek(0)
        import pydicom

        return pydicom.dcmread(stream, stop_before_pixels=stop_before_pixels)
    tally = _inflated.get()
    spent = tally[0] if tally is not None else 0
    # Its header read counted it; its pixels (read once more) are bounded by the budget alone.
    limit = max(max_bytes() - spent, 0) if stop_before_pixels else max_bytes()
    raw, more = take(decompressed(stream, "deflate"), limit)
    if more:
        raise ImageIOError(
            path,
            f"its deflated data inflates past the memory budget of {max_bytes()} bytes"
            + (f" ({spent} bytes already inflated from the other files)" if spent else ""),
        )
    if tally is not None and stop_before_pixels:  # counted once: when its header is read
        tally[0] += len(raw)
    dataset = read_dataset(
        io.BytesIO(raw), False, True, stop_when=_at_pixel_data if stop_before_pixels else None
    )
    # Read from a path, not the buffer: pydicom would keep the inflated bytes with it.
    result = FileDataset(str(path), dataset, preamble, meta, False, True)
    result.set_original_encoding(False, True, dataset._character_set)
    return result
