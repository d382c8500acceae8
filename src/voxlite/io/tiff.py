"""TIFF stacks (multi-page TIFF, ImageJ hyperstacks, OME-TIFF) through tifffile.

tifffile is optional (``pip install tifffile``). Voxel size comes from the
ImageJ metadata (``spacing`` for z, the resolution tags for x and y) or from
OME-XML's PhysicalSize; without either it is 1.

Before reading, the series' claimed size is checked against the memory budget
(and, uncompressed, against the file size), and every strip or tile must lie
inside the file: tifffile allocates the output and reads each strip whole, as
the tags say.
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from pathlib import Path

import numpy as np

from voxlite.image import Image
from voxlite.io.limits import check_claim, claimed_bytes


def read(path: Path) -> Image:
    try:
        import tifffile
    except ImportError:
        raise ValueError("reading TIFF needs tifffile: pip install tifffile") from None
    try:
        with tifffile.TiffFile(path) as tif:
            _check_sizes(path, tif)
            array = tif.asarray()
            spacing = _spacing(tif)
    # Besides TiffFileError, tifffile lets these out for bad bytes: RuntimeError for pages
    # that disagree ("incompatible keyframe"), struct.error for short tag values,
    # zlib.error for corrupt strips, ZeroDivisionError for zero RowsPerStrip and the like.
    except (
        tifffile.TiffFileError,
        RuntimeError,
        struct.error,
        zlib.error,
        ArithmeticError,
    ) as error:
        raise ValueError(f"not a readable TIFF file ({error or type(error).__name__})") from None
    array = np.squeeze(array)
    if array.ndim != 3 and array.ndim != 2:
        raise ValueError(f"a TIFF stack of shape {array.shape}: voxlite reads 2D and 3D stacks")
    return Image(array, spacing=spacing, metadata={"format": "TIFF"})


def _check_sizes(path: Path, tif) -> None:
    """What the tags claim, against the memory budget and the file, before reading."""
    # Index the pages first: tifffile's page iteration (which tif.series uses) can loop
    # forever on an IFD chain that points back at itself; len() detects the cycle.
    len(tif.pages)
    _check_ome_planes(tif)
    if not tif.series:
        raise ValueError("the TIFF file holds no image")
    series = tif.series[0]
    claim = check_claim(path, claimed_bytes(path, series.shape, series.dtype.itemsize))
    size = tif.filehandle.size
    if series.dataoffset is not None:  # one contiguous block, read in one go
        check_claim(path, claim, size - series.dataoffset, what="its tags")
    pages = list(tif.pages)  # all of them: a series lists its first page only, at times
    if all(_keyframe(tif, page).compression == 1 for page in pages):
        check_claim(path, claim, size, what="its uncompressed tags")
    for page in pages:
        if _keyframe(tif, page).dtype is None:  # tifffile asserts (AssertionError) on these
            raise ValueError(f"page {page.index}: unsupported BitsPerSample/SampleFormat")
        for offset, count in zip(page.dataoffsets, page.databytecounts, strict=False):
            if offset + count > size:
                raise ValueError(
                    f"a strip at byte {offset} of {count} bytes is past the end "
                    f"of the {size}-byte file (truncated?)"
                )


def _keyframe(tif, page):
    """The page whose tags a TiffFrame shares (tifffile asserts when it has none)."""
    return getattr(page, "keyframe", None) or tif.pages.first


def _check_ome_planes(tif) -> None:
    """The planes an OME-XML header claims must be pages of this file.

    tifffile makes a list with an entry per plane the XML claims before reading
    anything (PlaneCount="2147483647" is 16 GiB of list), and opens the other files
    of a multi-file set by the names the XML gives; voxlite reads single files.
    """
    xml = tif.ome_metadata if tif.is_ome else None
    if not xml:
        return
    pages = list(tif.pages)
    limit = len(pages) * max(_keyframe(tif, page).samplesperpixel for page in pages)
    claims = [
        (name, int(value))
        for name, value in re.findall(
            r'\b(IFD|PlaneCount|NumPlanes|First[ZCT])="\s*(-?[0-9]+)\s*"', xml
        )
    ]
    for sizes in re.findall(r"<Pixels\b[^>]*>", xml):
        counts = [int(n) for n in re.findall(r'\bSize[ZCT]="\s*(-?[0-9]+)\s*"', sizes)]
        claims.append(("SizeZ x SizeC x SizeT", math.prod(counts)))
    for name, value in claims:
        if not 0 <= value <= limit:
            raise ValueError(
                f"its OME-XML claims {name} = {value}, but the file has "
                f"{len(pages)} pages (a multi-file OME-TIFF is not read)"
            )


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
        sizes = {
            k: float(v)
            for k, v in re.findall(r'PhysicalSize([XYZ])="([0-9.eE+-]+)"', tif.ome_metadata)
        }
        x, y, z = sizes.get("X", x), sizes.get("Y", y), sizes.get("Z", z)
    return (x, y, z)
