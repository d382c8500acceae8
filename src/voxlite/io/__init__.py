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
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from voxlite.image import Image, as_image

__all__ = ["SUFFIXES", "ImageIOError", "read_image", "write_image"]


class ImageIOError(ValueError):
    """A file cannot be read or written; the message names it and says why."""

    def __init__(self, path: Any, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


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


def read_image(source: str | os.PathLike | Sequence[str | os.PathLike], **options: Any) -> Image:
    """Read an image file, a DICOM folder or a list of DICOM files.

    ``options`` go to the DICOM reader (``anonymize=True`` drops patient fields) or
    the OME-Zarr reader (``level=1`` reads the second scale).

    Example:
        >>> import numpy as np, tempfile, pathlib, voxlite
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "ct.nii.gz"
        >>> _ = voxlite.write_image(voxlite.Image(np.zeros((2, 3, 4), np.int16)), path)
        >>> voxlite.read_image(path).shape
        (2, 3, 4)
    """
    from voxlite.io import dicom

    if not isinstance(source, (str, os.PathLike)):
        return dicom.read_series([Path(p) for p in source], **options)
    path = Path(source)
    if not path.exists():
        raise ImageIOError(path, "no such file or folder")
    if path.is_dir():
        from voxlite.io import omezarr

        if omezarr.is_omezarr(path):
            return _guarded(omezarr.read, path, **options)
        return dicom.read_series(path, **options)
    reader = _readers().get(suffix_of(path))
    if reader is None:
        if dicom.is_dicom(path):
            return dicom.read_series([path], **options)
        raise ImageIOError(
            path,
            f"unknown image format {suffix_of(path) or '(no suffix)'}; voxlite reads "
            f"{', '.join(SUFFIXES)} files and DICOM folders",
        )
    return _guarded(reader, path)


def _guarded(reader: Callable[..., Image], path: Path, **options: Any) -> Image:
    """Run a reader; any failure becomes an ImageIOError naming the file."""
    try:
        image = reader(path, **options)
    except ImageIOError:
        raise
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as error:
        raise ImageIOError(path, f"cannot read it: {error}") from error
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
    image = as_image(image)
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
