"""TIFF stacks (multi-page TIFF, ImageJ hyperstacks, OME-TIFF) through tifffile.

tifffile is optional (``pip install tifffile``). Voxel size comes from the
ImageJ metadata (``spacing`` for z, the resolution tags for x and y) or from
OME-XML's PhysicalSize; without either it is 1.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from voxlite.image import Image


def read(path: Path) -> Image:
    try:
        import tifffile
    except ImportError:
        raise ValueError("reading TIFF needs tifffile: pip install tifffile") from None
    try:
        with tifffile.TiffFile(path) as tif:
            array = tif.asarray()
            spacing = _spacing(tif)
    except tifffile.TiffFileError as error:
        raise ValueError(f"not a readable TIFF file ({error})") from None
    array = np.squeeze(array)
    if array.ndim != 3 and array.ndim != 2:
        raise ValueError(f"a TIFF stack of shape {array.shape}: voxlite reads 2D and 3D stacks")
    return Image(array, spacing=spacing, metadata={"format": "TIFF"})


def _spacing(tif) -> tuple[float, float, float]:
    page = tif.pages.first
    x = y = z = 1.0
    for tag, axis in (("XResolution", "x"), ("YResolution", "y")):
        if tag in page.tags:
            numerator, denominator = page.tags[tag].value
            if numerator:
                value = denominator / numerator
                x, y = (value, y) if axis == "x" else (x, value)
    if tif.imagej_metadata:
        z = float(tif.imagej_metadata.get("spacing", 1.0))
    elif tif.ome_metadata:
        sizes = {k: float(v) for k, v in re.findall(
            r'PhysicalSize([XYZ])="([0-9.eE+-]+)"', tif.ome_metadata)}  # fmt: skip
        x, y, z = sizes.get("X", x), sizes.get("Y", y), sizes.get("Z", z)
    return (x, y, z)
