"""Reading and writing medical image files, in CPython and in Pyodide.

Every reader returns a :class:`voxlite.Image` in voxlite's one convention
(array ``[z, y, x]``, LPS geometry), whatever the format's own; every failure is
an :class:`ImageIOError` naming the file and the reason, raised before anything
is returned (nothing is half-loaded). Only pure-Python libraries are used, so
the same code runs in the browser.

============  ========================  ===============================
format        suffixes                  library
============  ========================  ===============================
NIfTI         .nii, .nii.gz             nibabel
NRRD          .nrrd, .nhdr (+ data)     pynrrd
MetaImage     .mha, .mhd (+ .raw)       voxlite.io.metaimage (own)
DICOM series  a folder, or files        pydicom
NumPy         .npy                      numpy
TIFF stacks   .tif, .tiff               tifffile (optional)
OME-Zarr      a .zarr folder            zarr (optional; CPython only)
============  ========================  ===============================

Headers are not trusted. Before allocating anything, every reader checks the bytes
of voxels a header claims against the file size (uncompressed data: a header
promising more than the file holds is refused as truncated) and against a memory
budget, :data:`MAX_BYTES`: 2**31 bytes (2 GiB) of stored voxels unless the
``VOXLITE_MAX_BYTES`` environment variable (read at import) says otherwise, or
``read_image(path, max_bytes=...)`` for one call; setting ``voxlite.io.MAX_BYTES``
changes it for the session. Compressed data (``.nii.gz``, gzip/bzip2 NRRD,
compressed MetaImage) is decompressed as a stream that stops at the claimed size,
so a small file cannot inflate into more memory than its header admitted to.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from voxlite.image import Image, as_image

__all__ = ["MAX_BYTES", "SUFFIXES", "ImageIOError", "read_image", "write_image"]


def _budget_from_environment(default: int = 2**31) -> int:
    value = os.environ.get("VOXLITE_MAX_BYTES", "").strip()
    if not value:
        return default
    try:
        budget = int(float(value))  # "4e9" and "4000000000" alike
        if budget <= 0:
            raise ValueError
    except (ValueError, OverflowError):
        warnings.warn(f"VOXLITE_MAX_BYTES={value!r} is not a positive number of bytes; "
                      f"using {default}", stacklevel=2)  # fmt: skip
        return default
    return budget


#: The memory budget: the most bytes of stored voxels a file may claim (see above).
MAX_BYTES: int = _budget_from_environment()
_call_budget: contextvars.ContextVar[int | None] = contextvars.ContextVar("max_bytes", default=None)


class ImageIOError(ValueError):
    """A file cannot be read or written; the message names it and says why."""

    def __init__(self, path: Any, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def max_bytes() -> int:
    """The budget in force: this call's ``read_image(max_bytes=)``, else :data:`MAX_BYTES`."""
    budget = _call_budget.get()
    return MAX_BYTES if budget is None else budget


def check_claim(path: Any, claimed: int, available: int | None = None,
                what: str = "its header", budget: bool = True) -> int:  # fmt: skip
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
    """Decompress zlib/gzip/bzip2 ``data`` into at most ``limit`` bytes.

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
            decompressor = zlib.decompressobj(zlib.MAX_WBITS | (16 if codec == "gzip" else 0))
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


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def _readers() -> dict[str, Callable[[Path], Image]]:
    from voxlite.io import metaimage, nifti, npy, nrrd, tiff

    return {
        ".tif": tiff.read,
        ".tiff": tiff.read,
        ".nii": nifti.read,
        ".nii.gz": nifti.read,
        ".nrrd": nrrd.read,
        ".nhdr": nrrd.read,
        ".mha": metaimage.read,
        ".mhd": metaimage.read,
        ".npy": npy.read,
    }


def _writers() -> dict[str, Callable[..., None]]:
    from voxlite.io import metaimage, nifti, npy, nrrd

    return {
        ".nii": nifti.write,
        ".nii.gz": nifti.write,
        ".nrrd": nrrd.write,
        ".mha": metaimage.write,
        ".mhd": metaimage.write,
        ".npy": npy.write,
    }


SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".npy", ".tif", ".tiff",
            ".zarr", ".dcm")  # fmt: skip


def read_image(source: str | os.PathLike | Sequence[str | os.PathLike], *,
               max_bytes: int | None = None, **options: Any) -> Image:  # fmt: skip
    """Read an image file, a DICOM folder or a list of DICOM files.

    ``options`` go to the DICOM reader (``anonymize=True`` drops patient fields) or
    the OME-Zarr reader (``level=1`` reads the second scale). ``lazy=True`` leaves
    the voxels of an OME-Zarr or an uncompressed ``.nii`` where they are (a zarr
    array, a memory map) for the viewer to read the levels and slices it shows;
    other formats are read whole. ``max_bytes`` is the
    memory budget for this call (default :data:`MAX_BYTES`): a file whose header
    claims more bytes of voxels is refused before anything is allocated.

    Example:
        >>> import numpy as np, tempfile, pathlib, voxlite
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "ct.nii.gz"
        >>> _ = voxlite.write_image(voxlite.Image(np.zeros((2, 3, 4), np.int16)), path)
        >>> voxlite.read_image(path).shape
        (2, 3, 4)
    """
    token = _call_budget.set(None if max_bytes is None else int(max_bytes))
    try:
        return _read(source, **options)
    finally:
        _call_budget.reset(token)


def _read(source: str | os.PathLike | Sequence[str | os.PathLike], **options: Any) -> Image:
    from voxlite.io import dicom

    lazy = options.pop("lazy", False)
    if not isinstance(source, (str, os.PathLike)):
        files = [Path(p) for p in source]
        return _guarded(dicom.read_series, files, Path(files[0]) if files else Path(),
                        **options)  # fmt: skip
    path = Path(source)
    if not path.exists():
        raise ImageIOError(path, "no such file or folder")
    if path.is_dir():
        from voxlite.io import omezarr

        if omezarr.is_omezarr(path):
            return _guarded(omezarr.read, path, lazy=lazy, **options)
        return _guarded(dicom.read_series, path, **options)
    reader = _readers().get(suffix_of(path))
    if reader is None:
        if dicom.is_dicom(path):
            return _guarded(dicom.read_series, [path], path, **options)
        raise ImageIOError(
            path,
            f"unknown image format {suffix_of(path) or '(no suffix)'}; voxlite reads "
            f"{', '.join(SUFFIXES)} files and DICOM folders",
        )
    return _guarded(reader, path, lazy=True) if lazy and suffix_of(path) == ".nii" else _guarded(
        reader, path)  # fmt: skip


def _guarded(reader: Callable[..., Image], source: Any, path: Path | None = None,
             **options: Any) -> Image:  # fmt: skip
    """Run a reader; any failure becomes an ImageIOError naming the file.

    MemoryError is deliberately not caught: readers check sizes before allocating.
    """
    path = Path(source) if path is None else path
    try:
        image = reader(source, **options)
    except ImageIOError:
        raise
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as error:
        raise ImageIOError(path, f"cannot read it: {error or type(error).__name__}") from error
    return image.replace(name=image.name or path.name)


def write_image(image: Any, path: str | os.PathLike) -> Path:
    """Write an image (anything :func:`voxlite.as_image` takes) to NIfTI, NRRD, MHA/MHD or NPY.

    The file is written beside its target and renamed into place, so a failed
    write leaves any previous file as it was.
    """
    path = Path(path)
    writer = _writers().get(suffix_of(path))
    if writer is None:
        raise ImageIOError(path, "unknown suffix; write .nii(.gz), .nrrd, .mha, .mhd or .npy")
    if not path.parent.is_dir():
        raise ImageIOError(path, f"the folder {path.parent} does not exist")
    image = as_image(image).load()
    with atomic_target(path) as temporary:
        try:
            writer(image, temporary, final=path)
        except (OSError, ValueError, TypeError) as error:
            raise ImageIOError(path, f"cannot write it: {error}") from error
    return path


@contextlib.contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it only if the block succeeds.

    Companion files written beside the temporary one (the ``.raw`` of an ``.mhd``)
    are renamed with it; on failure everything temporary is removed.
    """
    # The same suffix: writers choose their format (and gzip) from the name.
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix_of(path),
                                    dir=path.parent)  # fmt: skip
    os.close(handle)
    temporary = Path(name)
    stem = temporary.name.removesuffix(temporary.suffix)
    try:
        yield temporary
    except BaseException:
        for leftover in temporary.parent.glob(f"{stem}.*"):
            leftover.unlink(missing_ok=True)
        raise
    final_stem = path.name.removesuffix(path.suffix)
    for companion in temporary.parent.glob(f"{stem}.*"):
        if companion != temporary:
            os.replace(companion, path.with_name(final_stem + companion.suffix))
    os.replace(temporary, path)
