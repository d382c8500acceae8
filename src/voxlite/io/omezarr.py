"""OME-Zarr (OME-NGFF 0.4 and 0.5) multiscale images through zarr.

One level is read (the first, finest, by default), or with ``lazy=True`` opened
and left in the store; the coarser levels are opened lazily as the image's
``levels``, for the viewer's multiscale display, and every level's path, shape
and scale is listed in ``metadata["levels"]``. Axes named z, y, x are the
spatial ones; a single channel or time point is squeezed away. Units are kept
as the file states them (``metadata["unit"]``), since microscopy is rarely in mm.

Zarr's codecs (numcodecs) are compiled, and Pyodide's offline set lacks them:
OME-Zarr is read in CPython, not in the zero-server site.

The metadata is not trusted: its structure is checked before use, dataset paths
must stay inside the group, and before reading a level its claimed size is
checked against the memory budget and its number of chunks against
:data:`MAX_CHUNKS` (zarr looks each chunk up, present or not: a lying shape of
10**9 one-voxel chunks would take hours of fill values).
"""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from voxlite.image import Image
from voxlite.io.limits import check_claim, claimed_bytes

#: At most this many chunks in the level read (4096 chunks of 32**3 voxels = 2**27 voxels).
MAX_CHUNKS = 1 << 17
#: At most this many levels in a multiscale image (real pyramids have a handful).
MAX_LEVELS = 64


def is_omezarr(path: Path) -> bool:
    return (
        path.is_dir()
        and any((path / name).exists() for name in (".zattrs", "zarr.json", ".zgroup"))
        and path.name.lower().endswith((".zarr", ".ome.zarr"))
    )


def read(path: Path, level: int = 0, lazy: bool = False) -> Image:
    """One level of an OME-Zarr image, with the coarser ones (opened lazily) as its ``levels``.

    ``lazy`` leaves its voxels in the store until used.
    """
    image = _read_level(path, level, lazy)
    count = len(image.metadata["levels"])
    coarser = tuple(_read_level(path, n, lazy=True) for n in range(level + 1, count))
    return image.replace(levels=coarser)


def _read_level(path: Path, level: int, lazy: bool) -> Image:
    """One level of an OME-Zarr image, alone."""
    try:
        import zarr
    except ImportError:
        raise ValueError("reading OME-Zarr needs zarr: pip install zarr") from None
    try:
        group = zarr.open_group(str(path), mode="r")
        attributes = dict(group.attrs)
    except Exception as error:  # zarr raises several kinds for a folder it cannot open
        raise ValueError(f"not a readable Zarr group ({error})") from None
    ome = attributes.get("ome")
    multiscales = (ome if isinstance(ome, dict) else attributes).get("multiscales")
    if not multiscales:
        raise ValueError("not an OME-Zarr image: no 'multiscales' in its attributes")
    scales = multiscales[0] if isinstance(multiscales, list) else None
    if not isinstance(scales, dict):
        raise ValueError("its 'multiscales' is not a list of objects")
    axes_field = scales.get("axes", [])
    if not isinstance(axes_field, list):
        raise ValueError(f"its axes {axes_field!r} are not a list")
    axes = [str(a.get("name")) if isinstance(a, dict) else str(a) for a in axes_field]
    datasets = scales.get("datasets")
    if not isinstance(datasets, list) or not all(isinstance(d, dict) for d in datasets):
        raise ValueError("its 'datasets' is not a list of objects")
    if len(datasets) > MAX_LEVELS:
        raise ValueError(f"{len(datasets)} levels; at most {MAX_LEVELS} are read")
    if not 0 <= level < len(datasets):
        raise ValueError(f"level {level} does not exist: the image has {len(datasets)} levels")
    levels = [_level(group, axes, dataset) for dataset in datasets]
    chosen = levels[level]
    stored = _array(group, chosen["path"])
    _check_chunks(path, stored, budget=not lazy)
    spatial = [axes.index(name) for name in ("z", "y", "x") if name in axes]
    if len(axes) != stored.ndim or len(set(axes)) != len(axes):
        raise ValueError(f"axes {axes} do not fit an array of shape {stored.shape}")
    others = [i for i in range(stored.ndim) if i not in spatial]
    for axis in others:
        if stored.shape[axis] != 1:
            raise ValueError(
                f"axes {axes}: {stored.shape[axis]} channels or time points; "
                "voxlite shows one 3D volume"
            )
    if lazy and len(spatial) == 3 and others + spatial == list(range(stored.ndim)):
        array = Squeezed(stored, len(others))  # NGFF puts z, y, x last, in this order
    else:
        array = np.transpose(_read_array(stored), others + spatial)
        array = array.reshape(array.shape[len(others) :])
    unit = next(
        (a.get("unit") for a in axes_field if isinstance(a, dict) and a.get("name") == "x"), None
    )
    return Image(
        array,
        spacing=chosen["spacing"],
        origin=chosen["origin"],
        name=str(scales.get("name", "") or path.name),
        metadata={
            "format": "OME-Zarr",
            "unit": unit,
            "level": level,
            "levels": levels,
            "path": str(path),
        },
    )


class Squeezed:
    """A zarr array seen without its leading one-long axes (channel, time), still lazy."""

    def __init__(self, array: Any, leading: int) -> None:
        self.array, self.leading = array, leading
        self.shape = tuple(int(n) for n in array.shape[leading:])
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        return np.asarray(self.array[(0,) * self.leading + key])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self[...], dtype=dtype)


def _array(group: Any, name: Any) -> Any:
    """The array at a dataset path, which must name an array inside the group."""
    import zarr

    parts = PurePosixPath(name).parts if isinstance(name, str) else ()
    if not parts or parts[0] == "/" or ".." in parts:
        raise ValueError(f"dataset path {name!r} is not a path inside the group")
    try:
        array = group[name]
    except KeyError:
        raise ValueError(f"dataset {name!r} is missing") from None
    except Exception as error:  # zarr: bad metadata raises many kinds
        raise ValueError(f"dataset {name!r} cannot be opened ({error})") from None
    if not isinstance(array, zarr.Array):
        raise ValueError(f"dataset {name!r} is not an array")
    return array


def _check_chunks(path: Path, array: Any, budget: bool) -> None:
    """Refuse a level with a data type voxlite cannot show, too many chunks or (to be read
    whole, ``budget``) more bytes than the memory budget."""
    dtype = np.dtype(array.dtype)
    if dtype.kind not in "biuf":
        raise ValueError(f"unsupported data type {dtype}")
    if budget:
        check_claim(path, claimed_bytes(path, array.shape, dtype.itemsize))
    chunks = math.prod(
        -(-int(n) // max(int(c), 1)) for n, c in zip(array.shape, array.chunks, strict=False)
    )
    if chunks > MAX_CHUNKS:
        raise ValueError(f"its {chunks} chunks are more than the {MAX_CHUNKS} voxlite reads")


def _read_array(array: Any) -> np.ndarray:
    """All of a zarr array (checked by :func:`_check_chunks` first)."""
    try:
        return np.asarray(array[...])
    except MemoryError:
        raise
    except Exception as error:  # codecs (numcodecs, blosc, zstd) each raise their own kinds
        raise ValueError(f"its chunks cannot be decoded ({error})") from None


def _level(group: Any, axes: list[str], dataset: dict) -> dict[str, Any]:
    scale = [1.0] * len(axes)
    translation = [0.0] * len(axes)
    transforms = dataset.get("coordinateTransformations", [])
    if not isinstance(transforms, list) or not all(isinstance(t, dict) for t in transforms):
        raise ValueError(f"coordinateTransformations {transforms!r} are not a list of objects")
    for transform in transforms:
        if transform.get("type") == "scale":
            scale = _floats(transform.get("scale"), len(axes), "scale")
        elif transform.get("type") == "translation":
            translation = _floats(transform.get("translation"), len(axes), "translation")

    def xyz(values: list[float], default: float) -> tuple[float, float, float]:
        return tuple(values[axes.index(n)] if n in axes else default for n in ("x", "y", "z"))

    return {
        "path": dataset.get("path"),
        "shape": list(_array(group, dataset.get("path")).shape),
        "spacing": xyz(scale, 1.0),
        "origin": xyz(translation, 0.0),
    }


def _floats(values: Any, count: int, what: str) -> list[float]:
    if not isinstance(values, list) or len(values) != count:
        raise ValueError(f"{what} {values!r} is not {count} numbers")
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"{what} {values!r} is not {count} numbers") from None
