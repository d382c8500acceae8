"""The memory budget of a read, and reading that never allocates more than it allows.

Headers are not trusted. Before allocating anything, every reader checks the bytes
of voxels a header claims against the file size (uncompressed data: a header
promising more than the file holds is refused as truncated) and against a memory
budget, :data:`MAX_BYTES`: 2**31 bytes (2 GiB) of stored voxels unless the
``VOXLITE_MAX_BYTES`` environment variable (read at import) says otherwise, or
``read_image(path, max_bytes=...)`` for one call (:func:`budget`); setting
``voxlite.io.limits.MAX_BYTES`` changes it for the session. Compressed data is
decompressed as a stream that stops at the claimed size, so a small file cannot
inflate into more memory than its header admitted to, and compressed input is
read in chunks too (a sparse 8 GiB file is never read whole).

Sizes handed to ``read()`` and to the decompressors must fit the platform's
``ssize_t`` (:data:`SSIZE_MAX`: 2**31 - 1 in Pyodide's 32-bit WebAssembly), so
every budget is clamped to it and every read is done in chunks.

Main files must be regular files (:func:`check_regular_file`): a FIFO blocks its
reader forever and ``/dev/zero`` never ends.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import math
import os
import stat
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from voxlite.io.errors import ImageIOError

__all__ = [
    "CHUNK",
    "MAX_BYTES",
    "SSIZE_MAX",
    "budget",
    "check_claim",
    "check_regular_file",
    "claimed_bytes",
    "decompressed",
    "length_of",
    "max_bytes",
    "read_at_most",
    "read_into",
    "regular_file_beside",
    "skip_bytes",
    "tail_of",
    "take",
]

#: The largest size the platform's C functions take (``ssize_t``): every budget and every
#: size given to ``read()`` or a decompressor stays under it (Pyodide: 2**31 - 1).
SSIZE_MAX: int = sys.maxsize
#: Bytes read or decompressed per step: memory follows the data, not a header's claim.
CHUNK = 1 << 20


def _budget_from_environment(default: int = 2**31) -> int:
    value = os.environ.get("VOXLITE_MAX_BYTES", "").strip()
    if not value:
        return min(default, SSIZE_MAX)
    try:
        budget = int(float(value))  # "4e9" and "4000000000" alike
        if budget <= 0:
            raise ValueError
    except (ValueError, OverflowError):
        warnings.warn(
            f"VOXLITE_MAX_BYTES={value!r} is not a positive number of bytes; using {default}",
            stacklevel=2,
        )
        return min(default, SSIZE_MAX)
    return min(budget, SSIZE_MAX)


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
    """The budget in force: this call's ``read_image(max_bytes=)``, else :data:`MAX_BYTES`.

    Never more than :data:`SSIZE_MAX`, whatever it was set to.
    """
    budget = _call_budget.get()
    return min(MAX_BYTES if budget is None else budget, SSIZE_MAX)


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
    if claimed > SSIZE_MAX:  # even on disk (a memory map): more than the platform addresses
        raise ImageIOError(
            path, f"{what} claims {claimed} bytes of voxels, more than this platform addresses"
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


def read_into(stream: Any, count: int, block: int = 1 << 26) -> memoryview:
    """Up to ``count`` bytes of a stream, read in place into buffers allocated as they fill.

    Like :func:`read_at_most`, memory follows the bytes that are there (a buffer of
    ``block`` bytes at most is allocated before its bytes are read), but a stream
    that has them all fills one buffer, without a copy: the inflater writes into it.
    """
    import numpy as np

    parts = []
    total = 0
    while total < count:
        buffer = memoryview(np.empty(min(block, count - total), np.uint8))
        filled = 0
        while filled < len(buffer):  # in chunks: a stdlib readinto reads, then copies
            got = stream.readinto(buffer[filled : filled + (CHUNK << 2)])
            if not got:
                break
            filled += got
        parts.append(buffer[:filled])
        total += filled
        if filled < len(buffer):
            break
    return parts[0] if len(parts) == 1 else memoryview(b"".join(parts))


def skip_bytes(stream: Any, count: int, chunk: int = CHUNK) -> int:
    """Read and drop ``count`` bytes of a stream (a gzip one cannot seek cheaply); how many."""
    skipped = 0
    while skipped < count:
        part = stream.read(min(chunk, count - skipped))
        if not part:
            break
        skipped += len(part)
    return skipped


# A stream may go on with another member: gzip, bzip2 and xz readers inflate them all.
_NEXT_MEMBER = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "lzma": b"\xfd7zXZ"}


def decompressed(stream: Any, codec: str, chunk: int = CHUNK) -> Iterator[bytes]:
    """The decompressed bytes of a zlib, gzip, bzip2 or lzma stream, in pieces of ``chunk``.

    The compressed bytes are read ``chunk`` at a time too, so neither side holds more
    than a chunk: the consumer decides what to keep (:func:`take`, :func:`tail_of`).
    Concatenated gzip, bzip2 or xz members are inflated one after the other, as their
    libraries' one-shot readers do. A corrupt stream, or one that ends before its end
    marker, raises ValueError.
    """
    pending = b""
    while True:
        decompressor, errors = _decompressor(codec)
        try:
            while not decompressor.eof:
                if codec in ("bzip2", "lzma"):
                    data = pending or (b"" if not decompressor.needs_input else stream.read(chunk))
                    pending = b""
                    if decompressor.needs_input and not data:
                        break
                    piece = decompressor.decompress(data, max_length=chunk)
                else:  # at the end of the input, b"" flushes what zlib still holds
                    data = pending or stream.read(chunk)
                    piece = decompressor.decompress(data, chunk)
                    pending = decompressor.unconsumed_tail
                    if not piece and not data:
                        break
                if piece:
                    yield piece
        except errors as error:
            raise ValueError(f"its compressed data is corrupt ({error})") from None
        if not decompressor.eof:
            raise ValueError("its compressed data is corrupt: it ends before its end marker")
        pending = decompressor.unused_data or stream.read(chunk)
        if codec not in _NEXT_MEMBER or not pending.startswith(_NEXT_MEMBER[codec]):
            return


def _decompressor(codec: str) -> tuple[Any, tuple[type[BaseException], ...]]:
    """A streaming decompressor for ``codec`` and the exceptions it raises on bad data."""
    import bz2
    import zlib

    from voxlite.io import compression

    fast = compression.implementation()
    if codec == "bzip2":
        return bz2.BZ2Decompressor(), fast.errors  # OSError on bad data
    if codec == "lzma":
        import lzma  # Pyodide has it as a package of its own

        return lzma.LZMADecompressor(), (*fast.errors, lzma.LZMAError)
    # gzip: a header; zlib: its own; deflate: none (DICOM's Deflated Explicit VR Little Endian)
    wbits = {"gzip": zlib.MAX_WBITS | 16, "deflate": -zlib.MAX_WBITS}.get(codec, zlib.MAX_WBITS)
    return fast.zlib.decompressobj(wbits), fast.errors


def take(pieces: Iterable[bytes], count: int, skip: int = 0) -> tuple[bytes, bool]:
    """Bytes ``skip`` to ``skip + count`` of a stream of pieces, and whether more follow.

    The skipped bytes are dropped as they come, never held; the pieces are read to
    their end (a stream that goes on past what was wanted is ``more``).
    """
    pieces = iter(pieces)
    kept: list[bytes] = []
    held = 0
    more = False
    for piece in pieces:
        if skip >= len(piece):
            skip -= len(piece)
            continue
        part = piece[skip : skip + count - held]
        more = skip + len(part) < len(piece)
        skip = 0
        kept.append(part)
        held += len(part)
        if more or held == count:
            break
    if not more:  # also reads the stream to its end marker
        more = next(pieces, None) is not None
    return b"".join(kept), more


def length_of(pieces: Iterable[bytes], limit: int) -> int:
    """How many bytes a stream of pieces holds, counted as they pass; past ``limit`` it stops."""
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > limit:
            break
    return total


def tail_of(pieces: Iterable[bytes], count: int, limit: int) -> tuple[bytes, bool]:
    """The last ``count`` bytes of a stream of pieces, holding little more than ``count``.

    Returns them and whether the stream went past ``limit`` bytes (where it stops):
    a ring of pieces keeps the last ``count`` bytes, older ones are dropped.
    """
    ring: collections.deque[bytes] = collections.deque()
    held = total = 0
    for piece in pieces:
        ring.append(piece)
        held += len(piece)
        total += len(piece)
        while ring and held - len(ring[0]) >= count:
            held -= len(ring.popleft())
        if total > limit:
            return b"", True
    data = b"".join(ring)
    return data[len(data) - min(count, len(data)) :], False


def check_regular_file(path: Path) -> None:
    """Refuse a main file that is not a regular file (after links), before it is opened.

    Opening a FIFO blocks until someone writes to it, a device such as ``/dev/zero``
    or ``/dev/urandom`` never ends: a reader handed one would hang or fill memory.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise ImageIOError(path, f"cannot read it: {error.strerror or error}") from None
    if stat.S_ISREG(mode):
        return
    kind = (
        "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a character device"
        if stat.S_ISCHR(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a file"
    )
    raise ImageIOError(
        path,
        f"it is {kind}, not a regular file: voxlite reads image files and folders "
        "(a pipe or device could block the read or never end)",
    )


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
