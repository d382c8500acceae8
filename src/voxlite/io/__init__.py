"""Reading and writing medical image files, in CPython and in Pyodide.

Every reader returns a :class:`voxlite.Image` in voxlite's one convention
(array ``[z, y, x]``, LPS geometry), whatever the format's own; every failure is
an :class:`ImageIOError` naming the file and the reason, raised before anything
is returned (nothing is half-loaded). Only pure-Python libraries are used, so
the same code runs in the browser.

============  ==========================  ===============================
format        suffixes                    library
============  ==========================  ===============================
NIfTI         .nii, .nii.gz               nibabel
NRRD          .nrrd, .nhdr (+ data)       pynrrd
MetaImage     .mha, .mhd (+ .raw)         voxlite.io.metaimage (own)
DICOM         a folder, files, .dcm       pydicom (+ pylibjpeg: compressed)
Analyze 7.5   .hdr + .img                 nibabel
MGH / MGZ     .mgh, .mgz                  nibabel
MINC 1 / 2    .mnc                        nibabel (MINC 2: + h5py)
PAR/REC       .par + .rec                 nibabel
AFNI          .HEAD + .BRIK               nibabel
NumPy         .npy                        numpy
TIFF stacks   .tif, .tiff                 tifffile (optional)
Pictures      .png, .jpg, .bmp, .gif      Pillow (optional)
OME-Zarr      a .zarr folder              zarr (optional; CPython only)
============  ==========================  ===============================

Headers are not trusted: every reader checks what a header claims against the
file and a memory budget before allocating, reads and inflates in chunks that stop
at the claimed size, and is handed only regular files: a FIFO would block it and a
device never end (:mod:`voxlite.io.limits`). gzip and zlib go through ISA-L or
zlib-ng when installed (:mod:`voxlite.io.compression`).

Imports: :mod:`voxlite.image` and this package's modules, nothing else of voxlite.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from voxlite.image import Image
from voxlite.io import dicom, metaimage, nibabel_formats, nifti, npy, nrrd, omezarr, picture, tiff
from voxlite.io.errors import ImageIOError, source_name
from voxlite.io.limits import MAX_BYTES, budget, check_regular_file

__all__ = ["MAX_BYTES", "SUFFIXES", "ImageIOError", "read_image", "write_image"]


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    for double in (".nii.gz", ".dcm.gz"):
        if name.endswith(double):
            return double
    return path.suffix.lower()


# The format module of each suffix: each has read(path), and write(image, path) if it writes.
FORMATS: dict[str, ModuleType] = {
    ".nii": nifti,
    ".nii.gz": nifti,
    ".nrrd": nrrd,
    ".nhdr": nrrd,
    ".mha": metaimage,
    ".mhd": metaimage,
    ".npy": npy,
    ".tif": tiff,
    ".tiff": tiff,
    **dict.fromkeys(nibabel_formats.FORMAT_NAMES, nibabel_formats),
    **dict.fromkeys(picture.SUFFIXES, picture),
}
WRITTEN = (".nii", ".nii.gz", ".nrrd", ".mha", ".mhd", ".npy")
# Readers that take component= (4D files and vector images).
WITH_COMPONENTS = (nifti, nrrd, metaimage, nibabel_formats)
DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")

# Data files read through their header (an Analyze .img through its .hdr ...): readable
# when named, but not images of their own when files arrive together (received.py).
COMPANIONS = (".img", ".rec", ".brik")

SUFFIXES = (*(s for s in FORMATS if s not in COMPANIONS), ".zarr", ".dcm")


def read_image(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    max_bytes: int | None = None,
    **options: Any,
) -> Image:
    """Read an image file, a DICOM folder or a list of DICOM files.

    Parameters
    ----------
    source
        A file (its suffix names the format; a file without one is tried as
        DICOM), a folder (a DICOM series, or an OME-Zarr ``.zarr``), or a list of
        DICOM files read as one series.
    max_bytes
        The memory budget of this read (default :data:`MAX_BYTES`): a file whose
        header claims more bytes of voxels is refused before anything is allocated.
    **options
        ``lazy=True`` leaves the voxels of an OME-Zarr or an uncompressed ``.nii``
        where they are (a zarr array, a memory map) for the viewer to read the
        levels and slices it shows; other formats are read whole.
        ``component=1`` picks the second volume of a 4D file (NIfTI, NRRD,
        MetaImage, MGH, MINC, PAR/REC), the second channel of a vector image, or
        the second volume of a DICOM series with several at the same places
        (echoes, time points). DICOM: ``series=`` an index into
        :func:`voxlite.io.dicom.series` or a SeriesInstanceUID (default: the
        largest series); ``anonymize=True`` drops patient fields from the
        metadata. OME-Zarr: ``level=1`` reads the second scale.

    Returns
    -------
    Image
        The voxels and their LPS geometry; ``metadata`` holds what the format says
        (``format``, DICOM fields ...).

    Raises
    ------
    ImageIOError
        Naming the file and the reason (missing, truncated, corrupt, over budget ...).

    Example
    -------
    >>> import numpy as np, tempfile, pathlib, voxlite
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ct.nii.gz"
    >>> _ = voxlite.write_image(voxlite.Image(np.zeros((2, 3, 4), np.int16)), path)
    >>> voxlite.read_image(path).shape
    (2, 3, 4)
    """
    with budget(max_bytes):
        return _read(source, **options)


def _read(source: str | os.PathLike | Sequence[str | os.PathLike], **options: Any) -> Image:
    lazy = options.pop("lazy", False)
    if not isinstance(source, (str, os.PathLike)):
        files = [Path(p) for p in source]
        if not files:
            raise ImageIOError("(no files)", "an empty list of files was given")
        for file in files:
            if file.exists():  # a missing one is dicom's to name
                check_regular_file(file)
        return _guarded(dicom.read_series, files, source_name(files), **options)
    path = Path(source)
    if not path.exists():
        raise ImageIOError(path, "no such file or folder")
    if not path.is_dir():
        check_regular_file(path)  # before any reader opens it: a FIFO would block the open
    if path.is_dir():
        if omezarr.is_omezarr(path):
            return _guarded(omezarr.read, path, lazy=lazy, **options)
        return _guarded(dicom.read_series, path, **options)
    module = FORMATS.get(suffix_of(path))
    if module is None:
        if dicom.is_dicom(path):
            return _guarded(dicom.read_series, path, **options)
        if suffix_of(path) in DICOM_SUFFIXES:
            raise ImageIOError(
                path,
                "not a DICOM file: no DICM marker after a 128-byte preamble, and no "
                "DICOM element at its start",
            )
        other = nibabel_formats.NOT_IMAGES.get(suffix_of(path))
        if other is not None:
            raise ImageIOError(path, f"it is {other}: not a format voxlite reads as an image")
        raise ImageIOError(
            path,
            f"unknown image format {suffix_of(path) or '(no suffix)'}; voxlite reads "
            f"{', '.join(SUFFIXES)} files and DICOM folders",
        )
    if options.get("component") is not None and module not in WITH_COMPONENTS:
        raise ImageIOError(path, f"component= does not apply to {suffix_of(path)} files")
    if lazy and suffix_of(path) == ".nii":
        return _guarded(module.read, path, lazy=True, **options)
    return _guarded(module.read, path, **options)


def _guarded(
    reader: Callable[..., Image], source: Any, name: str | None = None, **options: Any
) -> Image:
    """Run a reader; any failure becomes an ImageIOError naming the file (or files).

    MemoryError is deliberately not caught: readers check sizes before allocating.
    """
    name = str(source) if name is None else name
    try:
        image = reader(source, **options)
    except ImageIOError:
        raise
    except TypeError as error:
        if "unexpected keyword argument" in str(error):  # an option this format does not take
            raise ImageIOError(name, f"cannot read it with these options: {error}") from None
        raise ImageIOError(name, f"cannot read it: {error}") from error
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise ImageIOError(name, f"cannot read it: {error or type(error).__name__}") from error
    return image.replace(name=image.name or Path(name).name)


def write_image(image: Image | np.ndarray, path: str | os.PathLike) -> Path:
    """Write an image to NIfTI, NRRD, MHA/MHD or NPY.

    The file is written beside its target and renamed into place, so a failed
    write leaves any previous file as it was.

    Parameters
    ----------
    image
        A :class:`voxlite.Image`, or a numpy array (unit spacing). Convert other
        objects (SimpleITK, nibabel, torch ...) with :func:`voxlite.as_image` first.
    path
        The file to write; its suffix chooses the format (``.nii``, ``.nii.gz``,
        ``.nrrd``, ``.mha``, ``.mhd`` + ``.raw``, ``.npy``).

    Returns
    -------
    Path
        ``path``.

    Example
    -------
    >>> import numpy as np, tempfile, pathlib, voxlite
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> voxlite.write_image(np.zeros((2, 3, 4), np.uint8), folder / "x.nrrd").name
    'x.nrrd'
    """
    path = Path(path)
    if suffix_of(path) not in WRITTEN:
        raise ImageIOError(path, "unknown suffix; write .nii(.gz), .nrrd, .mha, .mhd or .npy")
    if not path.parent.is_dir():
        raise ImageIOError(path, f"the folder {path.parent} does not exist")
    if isinstance(image, np.ndarray):
        image = Image(image)
    if not isinstance(image, Image):
        raise TypeError(
            f"write_image takes a voxlite.Image or a numpy array, got {type(image).__name__}: "
            "convert it with voxlite.as_image(...) first"
        )
    image = image.load()
    with atomic_target(path) as temporary:
        try:
            FORMATS[suffix_of(path)].write(image, temporary, final=path)
        except (OSError, ValueError, TypeError) as error:
            raise ImageIOError(path, f"cannot write it: {error}") from error
    return path


@contextlib.contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it only if the block succeeds.

    Companion files written beside the temporary one (the ``.raw`` of an ``.mhd``)
    are renamed with it; on failure everything temporary is removed.
    """
    # The same suffix: writers choose their format (and gzip) from the name. Made with
    # os.open's 0o666 (less the umask), as open() would: mkstemp's 0600 would stay.
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix_of(path)}")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
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
