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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voxlite.io.errors import ImageIOError
from voxlite.io.limits import decompress_at_most, max_bytes

__all__ = ["DEFLATED", "is_dicom", "one_read", "read_dicom"]

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


def read_dicom(path: Path, stop_before_pixels: bool = False) -> tuple[Any, int | None]:
    """The dataset of a file, and where its pixel data element starts (None if unknown).

    The offset is known for files read from disk as they are (not deflated) when
    ``stop_before_pixels``: it lets the pixels of uncompressed files be read
    straight into the volume, without pydicom parsing the file a second time.
    """
    import pydicom

    with WithinFile(path) as stream:
        preamble = stream.read(132)
        stream.seek(0)
        force = preamble[128:132] != b"DICM"
        if not force and DEFLATED.encode() in stream.read(1 << 16):
            stream.seek(0)
            return _read_deflated(path, stream, stop_before_pixels), None
        stream.seek(0)
        dataset = pydicom.dcmread(stream, stop_before_pixels=stop_before_pixels, force=force)
        offset = stream.tell() if stop_before_pixels and stream.tell() < stream.size else None
        return dataset, offset


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
    raw, more = decompress_at_most(stream.read(), limit, "deflate")
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
