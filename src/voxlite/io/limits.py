"""The memory budget of a read, and reading that never allocates more than it allows.

Headers are not trusted. Before allocating anything, every reader checks the bytes
of voxels a header claims against the file size (uncompressed data: a header
promising more than the file holds is refused as truncated) and against a memory
budget, :data:`MAX_BYTES`: 2**31 bytes (2 GiB) of stored voxels unless the
``VOXLITE_MAX_BYTES`` environment variable (read at import) says otherwise, or
``read_image(path, max_bytes=...)`` for one call (:func:`budget`); setting
``voxlite.io.limits.MAX_BYTES`` changes it for the session. Compressed data is
decompressed as a stream that stops at the claimed size, so a small file cannot
inflate into more memory than its header admitted to.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from voxlite.io.errors import ImageIOError

__all__ = [
    "MAX_BYTES",
    "budget",
    "check_claim",
    "claimed_bytes",
    "decompress_at_most",
    "max_bytes",
    "read_at_most",
    "regular_file_beside",
]


def _budget_from_environment(default: int = 2**31) -> int:
    value = os.environ.get("VOXLITE_MAX_BYTES", "").strip()
    if not value:
        return default
    try:
        budget = int(float(value))  # "4e9" and "4000000000" alike
        if budget <= 0:
            raise ValueError
    except (ValueError, OverflowError):
        warnings.warn(
            f"VOXLITE_MAX_BYTES={value!r} is not a positive number of bytes; using {default}",
            stacklevel=2,
        )
        return default
    return budget


#: The memory budget: the most bytes of stored voxels a file may claim (see above).
MAX_BYTES: int = _budget_from_environment()
_call_budget: contextvars.ContextVar[int | None] = contextvars.ContextVar("max_bytes", default=None)


@contextlib.contextmanager
def budget(limit: int | None) -> Iterator[None]:
    """The budget for the reads inside the block (None: :data:`MAX_BYTES`)."""
    token = _call_budget.set(None if limit is None else int(limit))
    try:
        yield
    finally:
        _call_budget.reset(token)


def max_bytes() -> int:
    """The budget in force: this call's ``read_image(max_bytes=)``, else :data:`MAX_BYTES`."""
    budget = _call_budget.get()
    return MAX_BYTES if budget is None else budget


def check_claim(
    path: Any,
    claimed: int,
    available: int | None = None,
    what: str = "its header",
    budget: bool = True,
) -> int:
    """Refuse a claimed data size over the memory budget or over what the file holds.

    ``claimed`` is computed by the caller with Python integers (no overflow);
    ``available`` is the number of bytes the file has from where the data starts
    (None for compressed data, whose size is only known once decompressed).
    """
    if claimed < 0:
        raise ImageIOError(path, f"{what} claims a negative data size ({claimed} bytes)")
    limit = max_bytes()
    if budget and claimed > limit:
        raise ImageIOError(
            path,
            f"{what} claims {claimed} bytes of voxels, over the memory budget of {limit} "
            "bytes. View it without loading it, read_image(..., lazy=True) (OME-Zarr, .nii), "
            "read a lower level (level=1), or raise the budget: read_image(..., max_bytes=) "
            "or the VOXLITE_MAX_BYTES environment variable",
        )
    if available is not None and claimed > available:
        raise ImageIOError(
            path,
            f"the file is truncated: {what} claims {claimed} bytes of voxels, "
            f"the file holds {max(available, 0)}",
        )
    return claimed


def claimed_bytes(path: Any, shape: Sequence[Any], itemsize: int, what: str = "its header") -> int:
    """Bytes of ``shape`` voxels of ``itemsize`` bytes, in Python integers; bad sizes refused."""
    try:
        sizes = [int(n) for n in shape]
    except (TypeError, ValueError, OverflowError):
        raise ImageIOError(path, f"{what} gives sizes {list(shape)!r}, not integers") from None
    if any(n < 0 for n in sizes) or itemsize < 0:
        raise ImageIOError(path, f"{what} gives negative sizes {sizes}")
    return math.prod(sizes) * int(itemsize)


def read_at_most(stream: Any, limit: int, prefix: bytes = b"", chunk: int = 1 << 22) -> bytes:
    """``prefix`` and up to ``limit`` more bytes from a (possibly decompressing) stream.

    ``stream.read(n)`` allocates n bytes before reading, so a single read of a size
    taken from a header would allocate what the header claims; chunks make memory
    follow the bytes that are really there.
    """
    parts = [prefix]
    remaining = limit
    while remaining > 0:
        part = stream.read(min(chunk, remaining))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def decompress_at_most(data: bytes, limit: int, codec: str) -> tuple[bytes, bool]:
    """Decompress zlib/gzip/bzip2/raw-deflate ``data`` into at most ``limit`` bytes.

    Returns the bytes and whether the stream holds more than ``limit``: a
    decompression bomb stops at the size its header claimed. Corrupt or truncated
    streams (no end marker, bad checksum) raise ValueError.
    """
    import bz2
    import zlib

    try:
        if codec == "bzip2":
            decompressor: Any = bz2.BZ2Decompressor()
            raw = decompressor.decompress(data, max_length=limit)
            more = not decompressor.eof and bool(decompressor.decompress(b"", max_length=1))
        else:
            # raw deflate (no header: DICOM's Deflated Explicit VR Little Endian): -MAX_WBITS
            wbits = {"gzip": zlib.MAX_WBITS | 16, "deflate": -zlib.MAX_WBITS}
            decompressor = zlib.decompressobj(wbits.get(codec, zlib.MAX_WBITS))
            raw = decompressor.decompress(data, limit)
            more = not decompressor.eof and bool(
                decompressor.decompress(decompressor.unconsumed_tail, 1)
            )
    except (zlib.error, OSError, EOFError, ValueError) as error:  # bz2: OSError on bad data
        raise ValueError(f"its compressed data is corrupt ({error})") from None
    if not decompressor.eof and not more:
        raise ValueError("its compressed data is corrupt: it ends before its end marker")
    return raw, more


def regular_file_beside(header_path: Path, name: str, what: str = "data file") -> Path:
    """The detached data file a header names, which must be a regular file in its folder.

    A header is not trusted to name any file on the machine: no absolute paths, no
    ``..`` out of the header's folder, no devices or FIFOs (``/dev/zero`` would never
    end, a FIFO would block).
    """
    folder = header_path.parent.resolve()
    data_path = (header_path.parent / name).resolve()
    if not name or Path(name).is_absolute() or not data_path.is_relative_to(folder):
        raise ValueError(f"its {what} {name!r} is not in the header's folder")
    if not data_path.exists():
        raise ValueError(f"its {what} {name} is missing")
    if not data_path.is_file():
        raise ValueError(f"its {what} {name} is not a regular file")
    return data_path
