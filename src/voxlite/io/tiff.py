"""TIFF stacks (multi-page TIFF, ImageJ hyperstacks, OME-TIFF) through tifffile.

tifffile is optional (``pip install tifffile``). Voxel size, in millimetres, comes
from the ImageJ metadata (``unit=`` and ``spacing`` for z, the resolution tags for
x and y), OME-XML's PhysicalSize (and its unit, µm unless it says otherwise), or
the resolution tags and their ResolutionUnit (inch, the TIFF default, or cm). A
file that gives no unit keeps unit spacing (x, y, z in ImageJ's ratios), and
says so: ``metadata["unit"]`` is None rather than "mm".

Before reading, the series' claimed size is checked against the memory budget
(and, uncompressed, against the file size), and every strip or tile must lie
inside the file and be no more than twice the bytes its tags give it: tifffile
allocates the output and reads each strip whole, as the tags say. tifffile also
inflates each strip whole with no limit, so each compressed strip is first
inflated here as a stream, counting, and refused if it holds more than its
share; compressions voxlite cannot bound so (LZW, JPEG ... which need
``imagecodecs`` anyway) are refused.
"""

from __future__ import annotations

import math
import re
import struct
import weakref
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxlite.image import Image
from voxlite.io.limits import CHUNK, check_claim, claimed_bytes, decompressed, length_of
from voxlite.io.units import MM_PER_UNIT

# TIFF Compression codes voxlite can inflate as a stream (and so bound), and how.
_BOUNDED = {
    1: None,  # none
    8: "zlib",  # Adobe Deflate
    32946: "zlib",  # Deflate
    50013: "zlib",  # PixTIFF (zlib)
    34925: "lzma",
    32773: "packbits",
}
# ResolutionUnit: 2 inch (the default when the tag is absent), 3 centimetre, 1 none.
_RESOLUTION_UNITS = {2: ("inch", 25.4), 3: ("cm", 10.0)}


def read(path: Path) -> Image:
    try:
        import tifffile
    except ImportError:
        raise ValueError("reading TIFF needs tifffile: pip install tifffile") from None
    try:
        with tifffile.TiffFile(path) as tif:
            _check_sizes(path, tif)
            array = tif.asarray()
            series = tif.series[0]
            axes, colour = series.axes, _is_colour(series.keyframe)
            spacing, unit, stated = _spacing(tif)
    # Besides TiffFileError, tifffile lets these out for bad bytes: RuntimeError for pages
    # that disagree ("incompatible keyframe"), struct.error for short tag values,
    # zlib.error and LZMAError for corrupt strips, ZeroDivisionError for zero RowsPerStrip
    # and the like.
    except (
        tifffile.TiffFileError,
        RuntimeError,
        struct.error,
        zlib.error,
        *_lzma_errors(),
        ArithmeticError,
    ) as error:
        raise ValueError(f"not a readable TIFF file ({error or type(error).__name__})") from None
    array, fields = _arranged(array, axes, colour)
    metadata = {"format": "TIFF", "unit": unit, "unit_in_file": stated, "axes": axes}
    return Image(array, spacing=spacing, metadata=metadata, **fields)


def open_lazy(path: Path) -> Image:
    """A TIFF stack whose planes stay in the file: read through tifffile's zarr store, as
    they are indexed (for converting a stack larger than memory).

    Its tags are checked as for :func:`read` (but not against the memory budget); the
    series must be one Z, Y, X stack (other axes of size 1).
    """
    try:
        import tifffile
        import zarr
    except ImportError:
        raise ValueError("reading TIFF lazily needs tifffile and zarr") from None
    try:
        with tifffile.TiffFile(path) as tif:
            _check_sizes(path, tif, budget=False)
            series = tif.series[0]
            axes, shape = series.axes, tuple(series.shape)
            spacing, unit, stated = _spacing(tif)
        kept = [i for i, (a, n) in enumerate(zip(axes, shape, strict=True)) if n > 1 or a in "YX"]
        if "".join(axes[i] for i in kept).replace("Q", "Z").replace("I", "Z") not in ("ZYX", "YX"):
            raise ValueError(f"its axes are {axes} {shape}: lazily, voxlite reads Z, Y, X stacks")
        store = tifffile.imread(path, aszarr=True, series=0)  # holds the file open
        try:
            stored = zarr.open_array(store, mode="r")
        except BaseException:
            store.close()
            raise
    except (tifffile.TiffFileError, RuntimeError, struct.error, ArithmeticError) as error:
        raise ValueError(f"not a readable TIFF file ({error or type(error).__name__})") from None
    lazy = Squeezed(stored, tuple(kept))
    weakref.finalize(lazy, store.close)  # the file closes with the last reference to its planes
    metadata = {"format": "TIFF", "unit": unit, "unit_in_file": stated, "axes": axes}
    return Image(lazy, spacing=spacing, metadata=metadata)


@dataclass(frozen=True)
class Squeezed:
    """A stored array with its axes of size 1 left out (``kept``: the others), read as
    indexed; a 2D one gets a z axis of one slice."""

    stored: Any
    kept: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        shape = tuple(int(self.stored.shape[i]) for i in self.kept)
        return (1, *shape) if len(shape) == 2 else shape

    @property
    def ndim(self) -> int:
        return 3

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.stored.dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = (*key, *(slice(None),) * (3 - len(key)))
        planar = len(self.kept) == 2
        parts = key[1:] if planar else key
        full: list[Any] = [0] * self.stored.ndim
        for axis, part in zip(self.kept, parts, strict=True):
            full[axis] = part
        data = np.asarray(self.stored[tuple(full)])
        if planar:  # the z axis of one slice: its key is a slice or 0
            data = data[None][key[0]]
        return data


# tifffile's axis letters: S samples of a pixel, C channels, T time, Z/Q/I planes.
_PLANES = "ZQI"


def _is_colour(page: Any) -> bool:
    """An RGB page of 3 or 4 samples: shown as colour, not as channels."""
    photometric = getattr(getattr(page, "photometric", None), "name", "")
    return photometric == "RGB" and page.samplesperpixel in (3, 4)


def _arranged(array: np.ndarray, axes: str, colour: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """A TIFF series' array in voxlite's ``[t, z, y, x, c]`` order, and what it holds."""
    kept = [i for i, n in enumerate(array.shape) if n > 1 or axes[i] in "YX"]
    array, axes = array.reshape([array.shape[i] for i in kept]), "".join(axes[i] for i in kept)
    planes = [i for i, a in enumerate(axes) if a in _PLANES]
    values = [i for i, a in enumerate(axes) if a in "SC"]
    times = [i for i, a in enumerate(axes) if a == "T"]
    known = set(planes + values + times) | {axes.index("Y"), axes.index("X")}
    if len(planes) > 1 or len(values) > 1 or len(times) > 1 or len(known) != len(axes):
        raise ValueError(f"a TIFF of axes {axes} {array.shape}: voxlite reads [T]ZYX[C or S]")
    order = times + planes + [axes.index("Y"), axes.index("X")] + values
    array = array.transpose(order)
    if not planes:  # a 2D image: one slice
        array = np.expand_dims(array, len(times))
    fields: dict[str, Any] = {"timeseries": True} if times else {}
    if values:
        is_colour = colour and axes[values[0]] == "S" and array.shape[-1] in (3, 4)
        fields["pixel"] = ("rgb" if array.shape[-1] == 3 else "rgba") if is_colour else "channels"
    return array, fields


def _lzma_errors() -> tuple[type[Exception], ...]:
    try:
        import lzma  # Pyodide has it as a package of its own
    except ImportError:
        return ()
    return (lzma.LZMAError,)


def _check_sizes(path: Path, tif, budget: bool = True) -> None:
    """What the tags claim, against the memory budget (unless read lazily, not ``budget``)
    and the file, before reading."""
    # Index the pages first: tifffile's page iteration (which tif.series uses) can loop
    # forever on an IFD chain that points back at itself; len() detects the cycle.
    len(tif.pages)
    _check_ome_planes(tif)
    if not tif.series:
        raise ValueError("the TIFF file holds no image")
    series = tif.series[0]
    claim = claimed_bytes(path, series.shape, series.dtype.itemsize)
    check_claim(path, claim, budget=budget)
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
    for page in pages:
        _check_segments(tif, page)


def _check_segments(tif, page) -> None:
    """Each strip or tile of a page holds at most twice its share of the image (its tags'
    rows or tile, which tifffile keeps), compressed or, counted as it inflates, decoded."""
    key = _keyframe(tif, page)
    if key.compression not in _BOUNDED:
        raise ValueError(
            f"compression {_name(key.compression)}: voxlite reads uncompressed, Deflate, "
            "LZMA and PackBits TIFFs (it cannot bound what other codecs inflate to)"
        )
    codec = _BOUNDED[key.compression]
    limit = 2 * _segment_bytes(key) + 4096
    for offset, count in zip(page.dataoffsets, page.databytecounts, strict=False):
        if count > limit:
            raise ValueError(
                f"page {page.index}: a strip of {count} bytes, more than twice the "
                f"{_segment_bytes(key)} bytes its tags give it"
            )
        if codec is None or not count:
            continue
        segment = _Segment(tif.filehandle, offset, count)
        if codec == "packbits":
            decoded = _packbits_length(segment.read(count), limit)
        else:
            decoded = length_of(decompressed(segment, codec), limit)
        if decoded > limit:
            raise ValueError(
                f"page {page.index}: a {count}-byte strip inflates past {limit} bytes, "
                f"more than twice the {_segment_bytes(key)} its tags give it"
            )


def _segment_bytes(page) -> int:
    """The decoded bytes of one strip (RowsPerStrip rows) or tile, as the tags give them."""
    bits = page.bitspersample
    samples = page.samplesperpixel if page.planarconfig == 1 else 1
    bits = sum(bits) if isinstance(bits, tuple) else bits * samples
    if page.is_tiled:
        return page.tiledepth * page.tilelength * -(-page.tilewidth * bits // 8)
    return max(page.rowsperstrip, 1) * -(-page.imagewidth * bits // 8)


class _Segment:
    """The ``count`` bytes of a strip at ``offset`` of a tifffile file handle, as a stream."""

    def __init__(self, handle, offset: int, count: int) -> None:
        self.handle, self.at, self.left = handle, offset, count

    def read(self, size: int = CHUNK) -> bytes:
        self.handle.seek(self.at)
        data = self.handle.read(max(min(size, self.left), 0))
        self.at += len(data)
        self.left -= len(data)
        return data


def _packbits_length(data: bytes, limit: int) -> int:
    """How many bytes PackBits data decodes to (counted up to ``limit``, not decoded)."""
    total = position = 0
    while position < len(data) and total <= limit:
        header = data[position]
        if header < 128:  # header + 1 literal bytes follow
            total += header + 1
            position += header + 2
        elif header > 128:  # the next byte, 257 - header times
            total += 257 - header
            position += 2
        else:  # 128: no operation
            position += 1
    return total


def _name(compression: int) -> str:
    import tifffile

    try:
        return f"{tifffile.COMPRESSION(compression).name} ({compression})"
    except ValueError:
        return str(compression)


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


def _spacing(tif) -> tuple[tuple[float, float, float], str | None, str]:
    """(x, y, z) spacing, its unit ("mm", or None: unitless) and the unit the file states."""
    page = tif.pages.first
    resolution = [1.0, 1.0]  # units per pixel, x and y
    for index, tag in enumerate(("XResolution", "YResolution")):
        if tag in page.tags:
            numerator, denominator = page.tags[tag].value
            if numerator and denominator:
                resolution[index] = denominator / numerator
    imagej = tif.imagej_metadata or {}
    if imagej:
        z = _positive(imagej.get("spacing"))
        unit = str(imagej.get("unit", "")).strip()
        scale = MM_PER_UNIT.get(unit.lower())
        if scale is None:  # "pixel", or none: ImageJ's own ratios, unitless
            return (resolution[0], resolution[1], z), None, unit or "none"
        return (resolution[0] * scale, resolution[1] * scale, z * scale), "mm", unit
    if tif.ome_metadata:
        return _ome_spacing(tif.ome_metadata)
    unit_tag = page.tags.get("ResolutionUnit")
    code = int(unit_tag.value) if unit_tag is not None else 2  # TIFF's default: inch
    if code in _RESOLUTION_UNITS and "XResolution" in page.tags:
        name, scale = _RESOLUTION_UNITS[code]
        return (resolution[0] * scale, resolution[1] * scale, 1.0), "mm", name
    return (1.0, 1.0, 1.0), None, "none"  # no unit: the resolution is a ratio, not a size


def _ome_spacing(xml: str) -> tuple[tuple[float, float, float], str | None, str]:
    """OME-XML's PhysicalSizeX/Y/Z, in their units (µm unless stated), as millimetres.

    An axis without a size is one unit of the others (µm, mostly) long.
    """
    sizes = dict(re.findall(r'PhysicalSize([XYZ])="([0-9.eE+-]+)"', xml))
    units = dict(re.findall(r'PhysicalSize([XYZ])Unit="([^"]*)"', xml))
    if not sizes:
        return (1.0, 1.0, 1.0), None, "none"
    stated = units.get(next(iter(sizes)), "µm").strip()
    spacing = []
    for axis in "XYZ":
        scale = MM_PER_UNIT.get(
            units.get(axis, "µm").strip().lower() if axis in sizes else stated.lower()
        )
        if scale is None:  # a unit voxlite does not know: unitless
            return (1.0, 1.0, 1.0), None, units.get(axis, stated)
        spacing.append(_positive(sizes.get(axis)) * scale)
    return (spacing[0], spacing[1], spacing[2]), "mm", stated


def _positive(value) -> float:
    """A spacing value from metadata, or 1 when it is not a positive finite number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 1.0
    return number if math.isfinite(number) and number > 0 else 1.0
