"""OME-Zarr (OME-NGFF 0.4 and 0.5) multiscale images through zarr.

The first (finest) level is read; every level's path, shape and scale is kept in
``metadata["levels"]`` for multiscale display. Axes named z, y, x are the
spatial ones; a single channel or time point is squeezed away. Units are kept
as the file states them (``metadata["unit"]``), since microscopy is rarely in mm.

Zarr's codecs (numcodecs) are compiled, and Pyodide's offline set lacks them:
OME-Zarr is read in CPython, not in the zero-server site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from voxlite.image import Image


def is_omezarr(path: Path) -> bool:
    return (
        path.is_dir()
        and any((path / name).exists() for name in (".zattrs", "zarr.json", ".zgroup"))
        and path.name.lower().endswith((".zarr", ".ome.zarr"))
    )


def read(path: Path, level: int = 0) -> Image:
    try:
        import zarr
    except ImportError:
        raise ValueError("reading OME-Zarr needs zarr: pip install zarr") from None
    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception as error:  # zarr raises several kinds for a folder it cannot open
        raise ValueError(f"not a readable Zarr group ({error})") from None
    attributes = dict(group.attrs)
    multiscales = (attributes.get("ome") or attributes).get("multiscales")
    if not multiscales:
        raise ValueError("not an OME-Zarr image: no 'multiscales' in its attributes")
    scales = multiscales[0]
    axes = [a["name"] if isinstance(a, dict) else str(a) for a in scales.get("axes", [])]
    datasets = scales["datasets"]
    if not 0 <= level < len(datasets):
        raise ValueError(f"level {level} does not exist: the image has {len(datasets)} levels")
    levels = [_level(group, axes, dataset) for dataset in datasets]
    chosen = levels[level]
    array = np.asarray(group[datasets[level]["path"]][...])
    spatial = [axes.index(name) for name in ("z", "y", "x") if name in axes]
    others = [i for i in range(array.ndim) if i not in spatial]
    array = np.transpose(array, others + spatial)
    while array.ndim > len(spatial):
        if array.shape[0] != 1:
            raise ValueError(f"axes {axes}: {array.shape[0]} channels or time points; "
                             "voxlite shows one 3D volume")  # fmt: skip
        array = array[0]
    unit = next((a.get("unit") for a in scales.get("axes", [])
                 if isinstance(a, dict) and a.get("name") == "x"), None)  # fmt: skip
    return Image(array, spacing=chosen["spacing"], origin=chosen["origin"],
                 name=str(scales.get("name", "") or path.name),
                 metadata={"format": "OME-Zarr", "unit": unit, "level": level,
                           "levels": levels})  # fmt: skip


def _level(group: Any, axes: list[str], dataset: dict) -> dict[str, Any]:
    scale = [1.0] * len(axes)
    translation = [0.0] * len(axes)
    for transform in dataset.get("coordinateTransformations", []):
        if transform.get("type") == "scale":
            scale = [float(v) for v in transform["scale"]]
        elif transform.get("type") == "translation":
            translation = [float(v) for v in transform["translation"]]

    def xyz(values: list[float], default: float) -> tuple[float, float, float]:
        return tuple(values[axes.index(n)] if n in axes else default for n in ("x", "y", "z"))

    return {
        "path": dataset["path"],
        "shape": list(group[dataset["path"]].shape),
        "spacing": xyz(scale, 1.0),
        "origin": xyz(translation, 0.0),
    }
