"""Formats nibabel reads besides NIfTI: Analyze, MGH/MGZ, MINC 1 (and 2), PAR/REC, AFNI.

nibabel parses the header and gives the voxel-to-RAS affine, which becomes
voxlite's LPS geometry as for NIfTI. nibabel allocates the data size a header
claims before reading it, so the claim is checked here first: against the
memory budget, and against the size of the data file when it is not compressed.
A 4D file (time points, echoes) needs ``component=``.

MINC 2 files are HDF5: nibabel reads them with h5py, which voxlite does not
require (it is a Pyodide package, and ``pip install h5py`` in CPython).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from voxlite.image import Image, select_component
from voxlite.io.limits import check_claim, claimed_bytes

__all__ = ["FORMAT_NAMES", "NOT_IMAGES", "read", "volumes"]

FORMAT_NAMES = {
    ".hdr": "Analyze 7.5",
    ".img": "Analyze 7.5",
    ".mgh": "MGH",
    ".mgz": "MGZ",
    ".mnc": "MINC",
    ".par": "PAR/REC",
    ".rec": "PAR/REC",
    ".head": "AFNI BRIK",
    ".brik": "AFNI BRIK",
}
# What else nibabel (or others) read that is no image voxlite shows: named by format.
NOT_IMAGES = {
    ".v": "ECAT 7 (PET)",
    ".trk": "TrackVis streamlines",
    ".tck": "MRtrix streamlines",
    ".gii": "GIFTI surface data",
    ".dcm.gz": "gzip-compressed DICOM",
}


def read(path: Path, component: int | None = None) -> Image:
    """An Analyze, MGH/MGZ, MINC or PAR/REC file as an Image (LPS, ``[z, y, x]``)."""
    import nibabel

    suffix = path.suffix.lower()
    what = _format_of(path, suffix)
    if what == "MINC 2":
        try:
            import h5py  # noqa: F401 (nibabel needs it for MINC 2)
        except ImportError:
            raise ValueError(
                "it is MINC 2 (HDF5), and MINC 2 needs h5py: pip install h5py"
            ) from None
    try:
        image = nibabel.load(_header_path(path, suffix))
    except FileNotFoundError as error:
        raise ValueError(f"its {what} data file is missing ({Path(error.filename).name})") from None
    except Exception as error:  # nibabel's errors (ImageFileError, PARRECError, ...) vary
        raise ValueError(f"not a readable {what} file ({error})") from None
    data_file = Path(image.file_map["image"].filename or path)
    if not data_file.is_file():
        raise ValueError(f"its {what} data file {data_file.name} is missing")
    compressed = data_file.suffix.lower() in (".mgz", ".gz")
    claim = claimed_bytes(path, image.shape, np.dtype(image.get_data_dtype()).itemsize)
    available = None if compressed else data_file.stat().st_size
    check_claim(path, claim, available)
    try:
        array = np.asanyarray(image.dataobj)
    except Exception as error:
        raise ValueError(f"its {what} data cannot be read ({error})") from None
    if what.startswith("MINC") and array.ndim == 4:  # its time axis is not last: move it there
        array = np.moveaxis(array, _minc_time_axis(image), -1)
    voxels, kind = volumes(array, component)
    return Image.from_ijk(voxels, image.affine, metadata={"format": what}, **kind)


def _minc_time_axis(image: Any) -> int:
    """The axis of a 4D MINC array that is not ``xspace``/``yspace``/``zspace`` (time)."""
    names = getattr(getattr(image.dataobj, "minc_file", None), "_dim_names", None) or ()
    others = [i for i, name in enumerate(names) if not str(name).endswith("space")]
    return others[0] if len(names) == 4 and len(others) == 1 else 0


def _format_of(path: Path, suffix: str) -> str:
    if suffix == ".mnc":
        with open(path, "rb") as stream:
            return "MINC 2" if stream.read(4) == b"\x89HDF" else "MINC 1"
    return FORMAT_NAMES[suffix]


def _header_path(path: Path, suffix: str) -> Path:
    """The file nibabel opens: a PAR/REC pair's .PAR, an AFNI pair's .HEAD (either case)."""
    header = {".rec": ".PAR", ".brik": ".HEAD"}.get(suffix)
    if header is None:
        return path
    for candidate in (path.with_suffix(header), path.with_suffix(header.lower())):
        if candidate.exists():
            return candidate
    raise ValueError(f"its header {path.with_suffix(header).name} is missing")


def volumes(array: Any, component: int | None) -> tuple[np.ndarray, dict[str, Any]]:
    """nibabel's ``[i, j, k(, t)(, c)]``: the component asked for, or all of them.

    Returns the array and the :class:`voxlite.Image` fields that say what a fourth
    axis is: time for NIfTI's 4th dimension, channels for its vectors (a NIfTI vector
    image is ``[i, j, k, 1, c]``: the unit time axis is dropped first).
    """
    array = np.asanyarray(array)
    vectors = array.ndim == 5
    while array.ndim > 4 and 1 in array.shape[3:]:
        array = array.squeeze(axis=3 + array.shape[3:].index(1))
    if array.ndim > 4:
        raise ValueError(f"it is {array.ndim}D {array.shape}: 3D and 4D images are read")
    if array.ndim == 4 and array.shape[3] == 1:
        array = array[..., 0]
    if array.ndim < 4 or component is not None:
        return select_component(array, component, axis=-1), {}
    return array, {"pixel": "channels"} if vectors else {"timeseries": True}
