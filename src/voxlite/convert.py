"""Multiscale OME-Zarr from any image voxlite reads: ngff-zarr's writer on dask, out of core.

``voxlite convert INPUT OUT.ome.zarr`` and :func:`to_ome_zarr` write a pyramid for
static hosting and streaming. The writing is ngff-zarr's (``pip install
'voxlite[convert]'``: ngff-zarr, dask, distributed, imported when a conversion
starts); voxlite only hands it the source as a dask array with its geometry:

- **Sources, out of core.** An uncompressed or gzip NIfTI is read through nibabel's
  array proxy slab by slab (not memory-mapped: a map of a file larger than the address
  space left fails), a DICOM series slice by slice, a TIFF stack through tifffile's zarr
  store, an OME-Zarr or a plain zarr array through zarr: none is loaded whole. Other
  formats (NRRD, MetaImage, MGH ...) are compressed as one stream and are read whole,
  within the memory budget. An in-memory :class:`voxlite.Image`, numpy, dask or zarr
  array is used as it is.
- **Levels.** Block mean for intensities (ngff-zarr's ``dask_bin_shrink``: integers
  rounded), the most frequent label of each block for label maps (``dask_image_mode``,
  or ``nearest``); each level halves the axes at least half as long as the longest one,
  so thin stacks keep their slices until the other axes come down to them. ngff-zarr
  writes level by level, each from the one before as written, in z slabs that fit
  ``memory`` bytes.
- **Geometry.** voxlite's LPS millimetres become NGFF's z, y, x ``scale`` and
  ``translation`` (units ``millimeter``; a source without a unit, such as a TIFF that
  states none, gets none). NGFF 0.4 and 0.5 have no rotation: an image whose axes are
  LPS axes, flipped or permuted (NIfTI's RAS storage, a sagittal DICOM series) is
  re-indexed (lazily) so that its axes run along +x, +y, +z, which loses nothing; an
  oblique one is refused unless ``oblique="drop"``, which writes it in its own index
  frame (the same voxels, the origin kept, the rotation recorded in the root's
  ``voxlite.direction`` attribute and not applied by readers).
- **Codecs.** ``blosc-zstd`` (default), ``blosc-lz4``, ``zstd``, ``gzip`` and ``none``
  are written by ngff-zarr's engine; plain ``lz4``, which that engine does not encode,
  as its documentation says to: ngff-zarr writes the metadata and empty arrays
  (``metadata_only``), zarr-python re-creates each level with numcodecs' LZ4 and dask
  fills it, each level from the previous one as written.
- **NGFF 0.4** (zarr v2) by default; ``version="0.5"`` writes zarr v3, where
  ``shards=N`` groups N³ chunks per shard file.
- **Where it runs.** dask's threads by default; ``scheduler="tcp://host:8786"`` or a
  ``dask.distributed.Client`` runs the tasks on a cluster (whose workers must see the
  input and output paths); ``progress`` shows a line per stage with its tasks done.

The result is written beside its target and renamed into place: a failed conversion
leaves nothing, or the previous output, behind.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from voxlite.adapters import as_image
from voxlite.image import Image, is_lazy
from voxlite.io import (
    DICOM_SUFFIXES,
    ImageIOError,
    dicom,
    nifti,
    omezarr,
    read_image,
    suffix_of,
    tiff,
)
from voxlite.io.errors import source_name
from voxlite.io.limits import SSIZE_MAX

__all__ = ["CODECS", "METHODS", "VERSIONS", "open_source", "to_ome_zarr"]

#: Codecs written: blosc (zstd or lz4 inside, byte shuffle), zstd, lz4, gzip, or none.
CODECS = ("blosc-zstd", "blosc-lz4", "zstd", "lz4", "gzip", "none")
#: OME-NGFF versions written: 0.4 (zarr v2), 0.5 (zarr v3).
VERSIONS = ("0.4", "0.5")
#: How a coarser level is made: block mean (intensities), mode or nearest (label maps).
METHODS = ("mean", "mode", "nearest")
#: Voxels per side of a chunk: 64³ uint16 is 512 KiB, a good request for streaming.
DEFAULT_CHUNKS = 64
#: How long to try to reach a scheduler address.
SCHEDULER_TIMEOUT = "10s"
#: The most bytes of one block read from a lazy source (and at most a quarter of ``memory``).
SOURCE_BLOCK_BYTES = 8 << 20
#: Bytes of source voxels ngff-zarr computes at once (its z slabs).
DEFAULT_MEMORY = 256 << 20
_NGFF_METHODS = {
    "mean": "DASK_BIN_SHRINK",
    "mode": "DASK_IMAGE_MODE",
    "nearest": "DASK_IMAGE_NEAREST",
}
_AXIS_TOLERANCE = 1e-6  # direction cosines this close to 0 or 1 are axis-aligned
_ZARR_MARKERS = (".zgroup", ".zattrs", "zarr.json", ".zarray")


def to_ome_zarr(
    image: Any,
    path: str | os.PathLike,
    *,
    levels: int | None = None,
    chunks: int | Sequence[int] = DEFAULT_CHUNKS,
    codec: str = "blosc-zstd",
    version: str = "0.4",
    shards: int | None = None,
    labels: bool = False,
    method: str | None = None,
    overwrite: bool = False,
    scheduler: Any = None,
    memory: int = DEFAULT_MEMORY,
    progress: bool | TextIO = False,
    oblique: str = "refuse",
    **read_options: Any,
) -> Path:
    """Write an image as a multiscale OME-Zarr, out of core, with ngff-zarr on dask.

    Parameters
    ----------
    image
        A path voxlite reads (NIfTI, a DICOM folder, TIFF, OME-Zarr or zarr, ...;
        see the module for which are read lazily), or an image :func:`voxlite.as_image`
        takes (a :class:`voxlite.Image`, numpy, dask or zarr array ...).
    path
        The ``.ome.zarr`` folder to write.
    levels
        How many levels, the full resolution included (default: until the longest
        side is at most one chunk).
    chunks
        Voxels per chunk side, or ``(z, y, x)``.
    codec
        One of :data:`CODECS`.
    version
        ``"0.4"`` (zarr v2) or ``"0.5"`` (zarr v3).
    shards
        Chunks per shard side (0.5 only): fewer, larger files.
    labels
        A label map: levels by the most frequent label of each block (``method="mode"``).
    method
        ``"mean"``, ``"mode"`` or ``"nearest"`` (default: mean, or mode for ``labels``).
    overwrite
        Replace an existing zarr folder at ``path``.
    scheduler
        None (dask's threads), ``"threads"``, ``"synchronous"``, a scheduler address
        (``"tcp://10.0.0.5:8786"``) or a ``dask.distributed.Client``.
    memory
        Bytes of source voxels computed at once (ngff-zarr's ``memory_target``).
    progress
        True: a progress line on stderr; or a text stream to write it to.
    oblique
        ``"refuse"`` an image whose axes are not along x, y, z (OME-Zarr stores no
        rotation), or ``"drop"`` its rotation (recorded as ``voxlite.direction``).
    **read_options
        For a path: ``component=``, ``series=`` (DICOM), ``level=`` (OME-Zarr).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ImageIOError
        The input cannot be read.
    ValueError
        A bad option, an existing output without ``overwrite``, an oblique image.

    Example
    -------
    >>> import numpy as np, tempfile, pathlib, voxlite
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "blob.ome.zarr"
    >>> volume = np.arange(64**3, dtype=np.uint16).reshape(64, 64, 64)
    >>> voxlite.to_ome_zarr(voxlite.Image(volume, spacing=(0.5, 0.5, 2.0)), out, chunks=32).name
    'blob.ome.zarr'
    >>> [level.shape for level in (lambda i: (i, *i.levels))(voxlite.read_image(out))]
    [(64, 64, 64), (32, 32, 32)]
    """
    options = _checked_options(codec, version, shards, method, labels, chunks, levels, oblique)
    _check_memory(memory)  # before the source is opened: a bad value costs nothing
    _check_scheduler(scheduler)
    target = _checked_target(Path(path), overwrite, image)
    source = open_source(image, **read_options)
    nz = _ngff_zarr()
    _check_method_needs(options["method"])
    chunk_shape = options["chunks"]
    block = min(SOURCE_BLOCK_BYTES, memory // 4)
    source = source.replace(array=_dask_array(source.array, chunk_shape, block))
    data, geometry, dropped = _aligned(source, options["oblique"])
    array = data.rechunk(chunk_shape)
    ngff = nz.to_ngff_image(
        array,
        dims=("z", "y", "x"),
        scale=dict(zip("zyx", geometry["spacing"], strict=True)),
        translation=dict(zip("zyx", geometry["origin"], strict=True)),
        name="image",  # also the arrays' names (scale0/image ...): the source's is an attribute
        axes_units=dict.fromkeys("zyx", "millimeter") if _in_mm(source) else None,
    )
    factors = _factors(array.shape, chunk_shape, options["levels"])
    with _engine(nz, memory, scheduler) as client, _progress_to(nz, progress) as shown:
        multiscales = nz.to_multiscales(
            ngff,
            scale_factors=factors or [],
            method=getattr(nz.Methods, _NGFF_METHODS[options["method"]]),
            chunks=dict(zip("zyx", chunk_shape, strict=True)),
            cache=False,
        )
        multiscales.root_attributes = {"voxlite": _provenance(source, dropped)}
        with _staged(target, overwrite) as staging:
            _write(nz, staging, multiscales, options, shown, client, memory)
    return target


def _checked_options(
    codec: str,
    version: str,
    shards: int | None,
    method: str | None,
    labels: bool,
    chunks: int | Sequence[int],
    levels: int | None,
    oblique: str,
) -> dict[str, Any]:
    """Every option checked before anything is read: a bad one fails at once."""
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}: choose one of {', '.join(CODECS)}")
    version = str(version)
    if version not in VERSIONS:
        raise ValueError(f"unknown OME-NGFF version {version!r}: choose {' or '.join(VERSIONS)}")
    if shards is not None:
        if version == "0.4":
            raise ValueError("shards need zarr v3: write version 0.5 (--ngff-version 0.5)")
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ValueError(f"shards={shards!r} is not a positive number of chunks per side")
        if codec == "lz4":
            raise ValueError("lz4 is written without shards; choose blosc-lz4 to shard")
    method = method or ("mode" if labels else "mean")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    if labels and method == "mean":
        raise ValueError("a label map is not averaged: use method 'mode' or 'nearest'")
    sides = [chunks] * 3 if isinstance(chunks, int) else list(chunks)
    if len(sides) != 3 or not all(isinstance(n, int) and not isinstance(n, bool) for n in sides):
        raise ValueError(f"chunks={chunks!r} is not a number or (z, y, x) numbers")
    if not all(8 <= n <= 1024 for n in sides):
        raise ValueError(f"chunks={chunks!r}: each side is 8 to 1024 voxels")
    if levels is not None and (isinstance(levels, bool) or not 1 <= int(levels) <= 16):
        raise ValueError(f"levels={levels!r} is not 1 to 16")
    if oblique not in ("refuse", "drop"):
        raise ValueError(f"oblique={oblique!r}: 'refuse' or 'drop'")
    return {
        "codec": codec,
        "version": version,
        "shards": shards,
        "method": method,
        "chunks": tuple(sides),
        "levels": levels,
        "oblique": oblique,
    }


def _checked_target(target: Path, overwrite: bool, image: Any) -> Path:
    """The output folder: new, or (``overwrite``) a zarr folder that is not the input."""
    if not target.parent.is_dir():
        raise ValueError(f"{target}: the folder {target.parent} does not exist")
    if isinstance(image, (str, os.PathLike)) and Path(image).resolve() == target.resolve():
        raise ValueError(f"{target}: the output is the input; write another folder")
    if not target.exists() and not target.is_symlink():
        return target
    if not overwrite:
        raise ValueError(f"{target} exists: pass overwrite=True (--overwrite) to replace it")
    is_zarr = target.is_dir() and not target.is_symlink()
    if not is_zarr or not (
        any((target / m).exists() for m in _ZARR_MARKERS) or not any(target.iterdir())
    ):
        raise ValueError(
            f"{target} exists and is not a zarr folder: voxlite replaces zarr folders only"
        )
    return target


def open_source(image: Any, **read_options: Any) -> Image:
    """The image to convert, its voxels left where they are (a lazy array) when a path's
    format allows: NIfTI, DICOM, TIFF, OME-Zarr and zarr; other formats are read whole.

    Example
    -------
    >>> import numpy as np, tempfile, pathlib, voxlite
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ct.nii"
    >>> _ = voxlite.write_image(np.zeros((4, 5, 6), np.int16), path)
    >>> source = open_source(path)
    >>> source.lazy, source.shape
    (True, (4, 5, 6))
    """
    if not isinstance(image, (str, os.PathLike)):
        return _scalar(as_image(image), "the image")
    path = Path(image)
    if not path.exists():
        raise ImageIOError(path, "no such file or folder")
    try:
        opened = _open_path(path, read_options)
    except ImageIOError:
        raise
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise ImageIOError(source_name(path), f"cannot read it: {error}") from error
    return _scalar(opened.replace(name=opened.name or path.name), str(path))


def _open_path(path: Path, options: dict[str, Any]) -> Image:
    suffix = suffix_of(path)
    if path.is_dir() and omezarr.is_omezarr(path) and not _is_zarr_array(path):
        return read_image(path, lazy=True, max_bytes=SSIZE_MAX, **options)
    if path.is_dir() and path.name.lower().endswith(".zarr"):
        return _plain_zarr(path)
    if (
        path.is_dir()
        or suffix in DICOM_SUFFIXES
        or (path.is_file() and not suffix and dicom.is_dicom(path))
    ):
        return dicom.open_lazy(path, **options)
    if suffix in (".nii", ".nii.gz"):
        return nifti.open_lazy(path, **options)
    if suffix in (".tif", ".tiff") and not options:
        return tiff.open_lazy(path)
    return read_image(path, **options)  # within the memory budget


def _is_zarr_array(path: Path) -> bool:
    """Is the folder one zarr array (v2 ``.zarray``, or v3 ``zarr.json`` of an array),
    not a group? Both formats' group files would send it to the OME-Zarr reader."""
    if (path / ".zarray").is_file():
        return True
    meta = path / "zarr.json"
    if not meta.is_file() or meta.stat().st_size > 1 << 20:  # an array's is a few kB
        return False
    try:
        return json.loads(meta.read_bytes()).get("node_type") == "array"
    except (ValueError, AttributeError):
        return False


def _plain_zarr(path: Path) -> Image:
    """A zarr array (not OME): ``[z, y, x]`` voxels of unit spacing, no unit."""
    import zarr

    try:
        array = zarr.open_array(path, mode="r")
    except Exception as error:  # zarr raises several kinds for what it cannot open
        raise ValueError(f"not an OME-Zarr image nor a readable zarr array ({error})") from None
    if array.ndim not in (2, 3):
        raise ValueError(f"a zarr array of shape {array.shape}: voxlite converts [z,] y, x")
    if array.ndim == 2:  # one slice, still read chunk by chunk
        import dask.array as da

        return Image(da.from_zarr(array)[None], metadata={"format": "zarr", "unit": None})
    return Image(array, metadata={"format": "zarr", "unit": None})


def _scalar(image: Image, what: str) -> Image:
    if image.pixel != "scalar" or image.timeseries:
        kind = "a time series" if image.timeseries else f"{image.pixel} voxels"
        raise ValueError(
            f"{what} holds {kind}: voxlite converts scalar volumes; pick one with "
            "component= (or image.channel(i), image.frame(t))"
        )
    return image


def _in_mm(image: Image) -> bool:
    """Is the spacing in millimetres? Not when the source said no unit (TIFF, zarr ...)."""
    return "unit" not in image.metadata or image.metadata["unit"] == "mm"


# -- geometry -------------------------------------------------------------------------


def _aligned(image: Image, oblique: str) -> tuple[Any, dict[str, tuple], np.ndarray | None]:
    """Voxels ``[z, y, x]`` whose axes run along +z, +y, +x, their (z, y, x) spacing and
    origin, and the direction dropped (an oblique image, ``oblique="drop"``), if any.

    A flipped or permuted axis is re-indexed lazily (a transpose and a reversed slice);
    an oblique image is re-indexed to its nearest such frame, then its residual
    rotation dropped.
    """
    direction = np.asarray(image.direction, float)
    nearest = np.zeros((3, 3))
    for column in np.argsort(-np.abs(direction).max(axis=0)):  # the clearest axes first
        free = [p for p in range(3) if not nearest[p].any()]
        row = max(free, key=lambda p: abs(direction[p, column]))
        nearest[row, column] = np.sign(direction[row, column]) or 1.0
    dropped = None
    if not np.allclose(direction, nearest, atol=_AXIS_TOLERANCE):
        angle = math.degrees(math.acos(np.clip((np.trace(nearest.T @ direction) - 1) / 2, -1, 1)))
        if oblique != "drop":
            raise ValueError(
                f"{image.name or 'the image'} is oblique (its axes are {angle:.1f}° off x, y, "
                "z) and OME-Zarr 0.4/0.5 store no rotation: resample it onto an axis-aligned "
                "grid first, or pass oblique='drop' (--oblique drop) to write it in its own "
                "index frame, the rotation recorded in the 'voxlite.direction' attribute"
            )
        dropped = direction
    if dropped is not None:  # in its own index frame: the voxels as they are
        nearest = np.eye(3)
    # the index axis (x, y, z: 0, 1, 2) along each physical axis, and whether it runs back
    axis_of = [int(np.flatnonzero(nearest[p])[0]) for p in range(3)]
    flipped = [bool(nearest[p, axis_of[p]] < 0) for p in range(3)]
    start = [0, 0, 0]  # the index of the voxel that comes first
    for p in range(3):
        start[axis_of[p]] = image.size[axis_of[p]] - 1 if flipped[p] else 0
    origin_xyz = image.index_to_physical(start)
    spacing_xyz = [image.spacing[a] for a in axis_of]
    array = _reindexed(image.array, axis_of, flipped)
    geometry = {
        "spacing": tuple(float(s) for s in reversed(spacing_xyz)),
        "origin": tuple(float(o) for o in reversed(np.asarray(origin_xyz))),
    }
    return array, geometry, dropped


def _reindexed(array: Any, axis_of: list[int], flipped: list[bool]) -> Any:
    """``array[z, y, x]`` with its axes reordered and reversed, lazily (dask)."""
    if axis_of == [0, 1, 2] and not any(flipped):
        return array
    import dask.array as da

    data = da.asarray(array)
    # array axis of index axis a (x=0, y=1, z=2) is 2 - a; new array axis of physical p is 2 - p
    data = data.transpose([2 - axis_of[p] for p in (2, 1, 0)])
    flips = tuple(slice(None, None, -1) if flipped[p] else slice(None) for p in (2, 1, 0))
    return data[flips]


def _provenance(image: Image, dropped: np.ndarray | None) -> dict[str, Any]:
    """What the root's ``voxlite`` attribute records: the source, a dropped rotation."""
    record: dict[str, Any] = {"source": image.name, "format": image.metadata.get("format")}
    if dropped is not None:
        record["direction"] = [[float(v) for v in row] for row in dropped]
    return record


# -- the pyramid ------------------------------------------------------------------------


def _factors(
    shape: Sequence[int], chunks: Sequence[int], levels: int | None
) -> list[dict[str, int]]:
    """Absolute (z, y, x) factors of each coarser level, as ngff-zarr takes them.

    Each level halves the axes at least half as long as the longest; by default until
    the longest side fits one chunk.
    """
    current = [int(n) for n in shape]
    factors = [1, 1, 1]
    result: list[dict[str, int]] = []
    while levels is None or len(result) < levels - 1:
        if levels is None and all(n <= c for n, c in zip(current, chunks, strict=True)):
            break
        longest = max(current)
        if longest < 2:
            break
        halved = [n >= max(longest / 2, 2) for n in current]
        factors = [f * 2 if h else f for f, h in zip(factors, halved, strict=True)]
        current = [n // 2 if h else n for n, h in zip(current, halved, strict=True)]
        result.append(dict(zip("zyx", factors, strict=True)))
    return result


def _dask_array(array: Any, chunks: Sequence[int], block_bytes: int) -> Any:
    """A dask array of ``array``, read in blocks of whole rows (and planes) where they
    fit ``block_bytes``: a file's rows are contiguous, and a block of output chunks'
    size would read each row in pieces."""
    import dask.array as da

    if isinstance(array, da.Array):
        return array
    shape = [int(n) for n in array.shape]
    itemsize = np.dtype(array.dtype).itemsize
    blocks = [min(c, n) for c, n in zip(chunks, shape, strict=True)]
    for axis in (2, 1):  # widen x to whole rows, then y to whole planes
        wider = [*blocks[:axis], shape[axis], *blocks[axis + 1 :]]
        if math.prod(wider) * itemsize <= block_bytes:
            blocks = wider
    if is_lazy(array):  # read as dask asks, a block at a time, never whole
        meta = np.empty((0, 0, 0), np.dtype(array.dtype))
        return da.from_array(array, chunks=tuple(blocks), asarray=True, lock=False, meta=meta)
    return da.from_array(np.asarray(array), chunks=tuple(blocks))


# -- writing ---------------------------------------------------------------------------


def _compressor(codec: str, version: str) -> Any:
    """The numcodecs compressor (zarr v2) or zarr v3 codec of a codec's name, or None."""
    import numcodecs

    if codec == "none":
        return None
    if codec.startswith("blosc-"):
        return numcodecs.Blosc(
            cname=codec.removeprefix("blosc-"), clevel=5, shuffle=numcodecs.Blosc.SHUFFLE
        )
    if codec == "zstd":
        return numcodecs.Zstd(level=3)
    if codec == "gzip":
        return numcodecs.GZip(level=6)
    if version == "0.4":
        return numcodecs.LZ4()
    from numcodecs.zarr3 import LZ4

    with warnings.catch_warnings():  # "not in the Zarr version 3 specification": documented
        warnings.filterwarnings("ignore", "Numcodecs codecs are not in", UserWarning)
        return LZ4()


def _write(
    nz: Any,
    folder: Path,
    multiscales: Any,
    options: dict[str, Any],
    shown: Any,
    client: Any,
    memory: int,
) -> None:
    """ngff-zarr's own engine writes; with a codec it does not encode (lz4), or on a
    cluster (its engine's arrays do not pickle, so cannot go to workers), zarr-python."""
    version, codec = options["version"], options["codec"]
    compressor = _compressor(codec, version)
    if codec == "lz4" or client is not None:
        # zarr warns that numcodecs' lz4 is not in the zarr v3 spec (readers need numcodecs)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Numcodecs codecs are not in", UserWarning)
            warnings.filterwarnings("ignore", "Consolidated metadata is currently", UserWarning)
            _write_with_zarr(nz, folder, multiscales, options, compressor, shown, client, memory)
        return
    codecs = (
        {"compressor": compressor}
        if version == "0.4"
        else {"compressors": [compressor] if compressor else []}
    )
    nz.to_ngff_zarr(
        str(folder),
        multiscales,
        version=version,
        chunks_per_shard=options["shards"],
        progress=shown,
        **codecs,
    )


def _write_with_zarr(
    nz: Any,
    folder: Path,
    multiscales: Any,
    options: dict[str, Any],
    compressor: Any,
    shown: Any,
    client: Any,
    memory: int,
) -> None:
    """Write with zarr-python, the way ngff-zarr's documentation says for what its engine
    does not do: ngff-zarr writes the metadata and empty arrays (``metadata_only``),
    zarr-python re-creates each level with the codec, and dask fills it, each level
    derived from the one before as written (so no level recomputes the source)."""
    import dask.array as da
    import zarr

    version = options["version"]
    nz.to_ngff_zarr(
        str(folder),
        multiscales,
        version=version,
        metadata_only=True,
        chunks_per_shard=options["shards"],
    )
    group = zarr.open_group(str(folder), mode="r+")
    datasets = multiscales.metadata.datasets
    previous = None
    for index, dataset in enumerate(datasets):
        image = multiscales.images[index]
        if previous is not None:
            array, scale, translation = previous
            source = nz.to_ngff_image(
                da.from_zarr(array), dims=image.dims, scale=scale, translation=translation
            )
            factor = {d: round(image.scale[d] / scale[d]) for d in "zyx"}
            image = nz.to_multiscales(
                source,
                scale_factors=[factor],
                method=multiscales.method,
                chunks=multiscales.chunks,
                cache=False,
                axis_order="preserve",
            ).images[1]
        stored = group[dataset.path]
        shards = getattr(stored, "shards", None)
        array = zarr.create_array(
            store=stored.store,
            name=stored.path,
            shape=image.data.shape,
            dtype=image.data.dtype,
            chunks=stored.chunks,
            shards=shards,
            fill_value=0,
            overwrite=True,
            zarr_format=stored.metadata.zarr_format,
            attributes=dict(stored.attrs),
            compressors=[compressor] if compressor is not None else None,
            **({"dimension_names": list(image.dims)} if version != "0.4" else {}),
        )
        stage = f"Writing scale {index + 1} of {len(datasets)}"
        if shown is not None:
            shown.add_callback_task(stage)
        data = image.data.rechunk(shards or array.chunks)  # one task per stored file
        for region in _regions(data.shape, data.chunksize, data.dtype.itemsize, memory):
            _store(data[region], array, region, client, shown)
        previous = (array, image.scale, image.translation)
    zarr.consolidate_metadata(str(folder), zarr_format=group.metadata.zarr_format)


def _regions(
    shape: Sequence[int], chunks: Sequence[int], itemsize: int, memory: int
) -> Iterator[tuple[slice, ...]]:
    """Boxes of whole chunks of about ``memory`` bytes (a chunk at least), z slabs first,
    then rows of them, then pieces of rows, computed one after the other: a scheduler
    holds little more than one box's data at once (a cluster's runs all it is given)."""
    steps = [int(n) for n in shape]
    for axis in range(3):  # thin the box along z, then y, then x, to whole chunks
        others = math.prod(steps) // steps[axis] * itemsize  # the box's bytes per plane
        steps[axis] = min(
            shape[axis], max(1, memory // max(others * chunks[axis], 1)) * chunks[axis]
        )
        if math.prod(steps) * itemsize <= memory or steps[axis] > chunks[axis]:
            break
    for z0 in range(0, shape[0], steps[0]):
        for y0 in range(0, shape[1], steps[1]):
            for x0 in range(0, shape[2], steps[2]):
                yield tuple(
                    slice(start, min(start + step, n))
                    for start, step, n in zip((z0, y0, x0), steps, shape, strict=True)
                )


def _store(data: Any, array: Any, region: tuple, client: Any, shown: Any) -> None:
    """Compute ``data`` into ``array[region]``: here, or on the cluster with its progress."""
    import dask.array as da

    if client is None:
        da.store(data, array, regions=region, lock=False)
        return
    future = client.compute(da.store(data, array, regions=region, lock=False, compute=False))
    if shown is not None:  # the local callback sees no task of a cluster's
        from distributed import progress

        progress(future, notebook=False)
        sys.stdout.flush()
    future.result()


@contextlib.contextmanager
def _staged(target: Path, overwrite: bool) -> Iterator[Path]:
    """A folder beside ``target``, renamed onto it when the block succeeds (removed if not)."""
    staging = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():  # checked to be a zarr folder (overwrite): moved away, then removed
        old = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)


def _ngff_zarr() -> Any:
    try:
        import dask  # noqa: F401
        import ngff_zarr
    except ImportError as error:
        raise ImportError(
            f"converting to OME-Zarr needs ngff-zarr and dask ({error.name} is missing): "
            "pip install 'voxlite[convert]'"
        ) from None
    return ngff_zarr


def _check_method_needs(method: str) -> None:
    if method == "nearest":
        try:
            import dask_image  # noqa: F401
        except ImportError:
            raise ImportError(
                "method 'nearest' is ngff-zarr's dask_image_nearest, which needs dask-image: "
                "pip install dask-image (or use method 'mode', the default for labels)"
            ) from None


def _check_memory(memory: Any) -> None:
    if isinstance(memory, bool) or not isinstance(memory, int) or memory < (1 << 20):
        raise ValueError(f"memory={memory!r} is not a number of bytes of at least 1 MiB")


@contextlib.contextmanager
def _engine(nz: Any, memory: int, scheduler: Any) -> Iterator[Any]:
    """ngff-zarr's memory target and dask's scheduler for the block; yields the
    distributed Client, or None for a local scheduler."""
    import dask

    saved = nz.config.memory_target
    nz.config.memory_target = memory
    try:
        with _scheduler(scheduler) as chosen, dask.config.set(scheduler=chosen):
            yield None if isinstance(chosen, str) else chosen
    finally:
        nz.config.memory_target = saved


@contextlib.contextmanager
def _scheduler(scheduler: Any) -> Iterator[Any]:
    """What dask.config's ``scheduler`` is set to: a name, or a distributed Client."""
    if scheduler is None:
        yield "threads"
    elif scheduler in ("threads", "synchronous", "processes"):
        yield scheduler
    elif isinstance(scheduler, str):
        try:
            from distributed import Client
        except ImportError:
            raise ImportError(
                "a scheduler address needs distributed: pip install 'voxlite[convert]'"
            ) from None
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise ValueError(f"cannot reach the dask scheduler at {scheduler}: {error}") from None
        try:
            yield client
        finally:
            client.close()
    else:
        yield scheduler  # a dask.distributed.Client (checked by _check_scheduler)


def _check_scheduler(scheduler: Any) -> None:
    if scheduler is None or isinstance(scheduler, str):
        return
    if not (hasattr(scheduler, "submit") and hasattr(scheduler, "scheduler_info")):
        raise ValueError(
            f"scheduler={scheduler!r}: 'threads', 'synchronous', a scheduler address "
            "(tcp://host:8786) or a dask.distributed.Client"
        )


# -- progress ---------------------------------------------------------------------------


class _Line:
    """A progress line (what ngff-zarr asks of a rich Progress): one line per stage, its
    tasks done as a percentage, redrawn in place on a terminal, every 10 % elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.tty = stream, stream.isatty()
        self.tasks: dict[int, str] = {}
        self.shown: tuple[int, int] | None = None
        self.last = 0.0
        self.start = time.perf_counter()

    def add_task(self, description: str, total: float | None = None, **_: Any) -> int:
        description = re.sub(r"\[/?[a-z ]+\]", "", description)  # rich's markup
        self.tasks[len(self.tasks)] = description
        self._print(f"{description}", end_line=self.tty is False)
        return len(self.tasks) - 1

    def update(
        self, task: int, total: float | None = None, completed: float | None = None, **_: Any
    ) -> None:
        if not total or completed is None:
            return
        percent = int(100 * completed / total)
        step = percent if self.tty else percent // 10 * 10
        now = time.perf_counter()
        if (task, step) == self.shown or (self.tty and now - self.last < 0.2 and percent < 100):
            return
        self.shown, self.last = (task, step), now
        name = self.tasks.get(task, "")
        text = f"{name}: {percent} % of {int(total)} tasks ({now - self.start:.0f} s)"
        self._print(text, end_line=not self.tty)

    def _print(self, text: str, end_line: bool) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
        else:
            self.stream.write(text + ("\n" if end_line else ""))
        self.stream.flush()

    def close(self) -> None:
        self.stream.write(
            f"{'' if not self.tty else chr(10)}done in {time.perf_counter() - self.start:.1f} s\n"
        )
        self.stream.flush()


@contextlib.contextmanager
def _progress_to(nz: Any, progress: bool | TextIO) -> Iterator[Any]:
    """ngff-zarr's progress callback (a dask callback: local schedulers report tasks; a
    cluster reports the stages), drawing a :class:`_Line`; None without progress."""
    if not progress:
        yield None
        return
    stream = sys.stderr if progress is True else progress
    line = _Line(stream)
    from ngff_zarr.rich_dask_progress import NgffProgressCallback

    callback = NgffProgressCallback(line)
    with callback:
        yield callback
    line.close()
