"""OME-Zarr images streamed by the front end from a URL: Python never touches their chunks.

``voxlite.view("https://host/image.ome.zarr")`` opens a *stream*: the view model sets
its ``_stream`` trait (:func:`stream_source`), and the front end (``js/src/stream/``)
fetches and decodes the chunks it needs in a Web Worker, coarsest level first. It then
reports the geometry it read (shape, spacing and origin from the scale and translation
transforms, units, levels, data type, value range) as the ``_stream_info`` trait, which
:func:`check_info` checks and :func:`stream_image` turns into an :class:`~voxlite.Image`
whose voxels stay in the browser (:class:`StreamArray`): slices, the cursor, points,
meshes and the saved state then use that geometry as for any image.

Which inputs are streams (:func:`is_stream`): a URL (``http://``, ``https://``, or a
relative one in the JupyterLite site), and in Pyodide (the site, the app) any path
to a ``.zarr`` folder, since Pyodide's offline packages have no zarr codecs: a path
under the site's files is fetched from its ``files/`` URL.

Example
-------
>>> is_stream("https://example.org/image.ome.zarr"), is_stream("scan.nii.gz")
(True, False)
>>> source = stream_source("https://example.org/image.ome.zarr", serial=1)
>>> source["url"], source["base"]
('https://example.org/image.ome.zarr', 'page')
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import numpy as np

from voxlite.image import Image
from voxlite.io.units import MM_PER_UNIT

__all__ = ["DEFAULT_CACHE_MB", "StreamArray", "check_info", "is_stream", "stream_image"]

#: The chunk cache of a stream in the page (decoded voxels), in MiB: a laptop's tab.
DEFAULT_CACHE_MB = 512
#: The most a stream's cache may be set to (a browser tab holds a few GB at most).
MAX_CACHE_MB = 8192
#: Where the JupyterLite kernel's files are (its drive); the site serves them at files/.
PYODIDE_DRIVE = "/drive"
_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
_DTYPES += ("float32", "float64")


def is_stream(source: Any) -> bool:
    """Is ``source`` an OME-Zarr image for the front end to stream (a URL, or a .zarr in
    Pyodide)? A local path in CPython is read by :mod:`voxlite.io.omezarr` instead.

    Parameters
    ----------
    source
        What the user passed to ``view``; anything but a string is not a stream.

    Examples
    --------
    >>> is_stream("https://example.org/ct.ome.zarr"), is_stream("ct.nii.gz")
    (True, False)
    """
    if not isinstance(source, str):
        return False
    if source.startswith(("http://", "https://")):
        return True
    return sys.platform == "emscripten" and source.rstrip("/").lower().endswith(".zarr")


def stream_source(
    source: str, serial: int, max_voxels: int = 256**3, cache_mb: int = DEFAULT_CACHE_MB
) -> dict:
    """The ``_stream`` trait for ``source``: its URL, what it is relative to, the budget.

    ``base`` is ``"page"`` for a URL (absolute, or relative to the page), ``"files"`` for
    a path in the JupyterLite site's drive (the front end resolves it to the site's
    ``files/`` URL).

    Parameters
    ----------
    source
        A URL, or (in Pyodide) a path in the site's drive.
    serial
        The stream's number: a front end reports back with it, so a late report of an
        earlier stream is told apart.
    max_voxels
        The 3D view's budget: the finest level within it is shown.
    cache_mb
        The front end's chunk cache, in MiB.

    Examples
    --------
    >>> stream_source("https://example.org/ct.ome.zarr/", 1)["url"]
    'https://example.org/ct.ome.zarr'
    """
    url, base = source, "page"
    if not source.startswith(("http://", "https://")):
        path = os.path.abspath(source) if sys.platform == "emscripten" else source
        drive = PYODIDE_DRIVE + "/"
        if path.startswith(drive):
            url, base = path[len(drive) :], "files"
    return {
        "url": url.rstrip("/"),
        "base": base,
        "serial": serial,
        "max_voxels": max_voxels,
        "cache_mb": cache_mb,
        "mm_per_unit": MM_PER_UNIT,
    }


class StreamArray:
    """The voxels of a streamed image, which stay in the browser: a shape and a type only.

    Reading it raises: the front end fetches the chunks it shows, Python none.
    """

    def __init__(self, shape: tuple[int, int, int], dtype: Any, url: str) -> None:
        self.shape, self.dtype, self.url = tuple(shape), np.dtype(dtype), url
        self.ndim = 3

    def __getitem__(self, key: Any) -> np.ndarray:
        raise ValueError(
            f"the voxels of {self.url} are streamed by the view and stay in the browser; "
            "read them in Python with voxlite.read_image (zarr), or download the file"
        )


def check_info(info: Any) -> dict[str, Any]:
    """The geometry a front end reported, checked (shape, spacing, origin ...), or ValueError.

    Parameters
    ----------
    info
        The ``_stream_info`` trait as the front end set it: untrusted JSON. A report of
        an error keeps only its URL and message.

    Returns
    -------
    dict
        The same keys, each of its type and bounded in size.
    """
    if not isinstance(info, dict):
        raise ValueError("stream info must be a dict")
    if "error" in info:
        return {"url": str(info.get("url", "")), "error": str(info["error"])[:2000]}
    shape = info.get("shape")
    if not (isinstance(shape, list) and len(shape) == 3 and all(_count(n) for n in shape)):
        raise ValueError(f"stream shape {shape!r} is not 3 positive voxel counts")
    spacing = _numbers(info.get("spacing"), 3, "spacing")
    if any(s <= 0 for s in spacing):
        raise ValueError(f"stream spacing {spacing} must be positive")
    origin = _numbers(info.get("origin"), 3, "origin")
    direction = _numbers(info.get("direction", list(np.eye(3).ravel())), 9, "direction")
    dtype = str(info.get("dtype"))
    if dtype not in _DTYPES:
        raise ValueError(f"stream data type {dtype!r} is not one of {', '.join(_DTYPES)}")
    value_range = _numbers(info.get("range", [0, 1]), 2, "range")
    window = _numbers(info.get("default_window", [1, 0.5]), 2, "default_window")
    levels = info.get("levels", [])
    if not isinstance(levels, list) or len(levels) > 64:
        raise ValueError("stream levels must be a list of at most 64")
    return {
        "url": str(info.get("url", ""))[:4096],
        "serial": info.get("serial"),
        "name": str(info.get("name", ""))[:200],
        "shape": [int(n) for n in shape],
        "spacing": spacing,
        "origin": origin,
        "direction": direction,
        "unit": info.get("unit") if info.get("unit") in ("mm", None) else None,
        "unit_in_file": str(info["unit_in_file"])[:40] if info.get("unit_in_file") else None,
        "dtype": dtype,
        "range": value_range,
        "default_window": window if window[0] > 0 else [1.0, window[1]],
        "levels": [_level(level) for level in levels],
    }


def stream_image(info: dict[str, Any]) -> Image:
    """The image a checked stream ``info`` describes: its geometry, its voxels in the browser.

    Example
    -------
    >>> info = check_info({"shape": [4, 5, 6], "spacing": [0.5, 0.5, 2], "origin": [0, 0, 0],
    ...                    "dtype": "uint16", "url": "https://example.org/a.zarr"})
    >>> image = stream_image(info)
    >>> image.shape, image.spacing, image.metadata["format"]
    ((4, 5, 6), (0.5, 0.5, 2.0), 'OME-Zarr (streamed)')
    """
    # The front end sends the direction column-major (vtk.js' order), as Python sends it.
    direction = np.asarray(info["direction"], float).reshape(3, 3).T
    return Image(
        StreamArray(tuple(info["shape"]), info["dtype"], info["url"]),
        spacing=tuple(info["spacing"]),
        origin=tuple(info["origin"]),
        direction=direction,
        name=info["name"] or info["url"].rsplit("/", 1)[-1],
        metadata={
            "format": "OME-Zarr (streamed)",
            "url": info["url"],
            "unit": info["unit"],
            "unit_in_file": info["unit_in_file"],
            "levels": info["levels"],
        },
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 1 << 24


def _chunks(chunks: Any) -> list[int]:
    if not (isinstance(chunks, list) and len(chunks) == 3 and all(_count(n) for n in chunks)):
        raise ValueError(f"a stream level's chunks {chunks!r} are not 3 voxel counts")
    return chunks


def _numbers(values: Any, count: int, what: str) -> list[float]:
    ok = isinstance(values, list) and len(values) == count
    if ok:
        try:
            numbers = [float(v) for v in values]
        except (TypeError, ValueError):
            ok = False
    if not ok or not all(math.isfinite(v) for v in numbers):
        raise ValueError(f"stream {what} {values!r} is not {count} finite numbers")
    return numbers


def _level(level: Any) -> dict[str, Any]:
    if not isinstance(level, dict):
        raise ValueError("a stream level must be a dict")
    shape = level.get("shape")
    if not (isinstance(shape, list) and len(shape) == 3 and all(_count(n) for n in shape)):
        raise ValueError(f"a stream level's shape {shape!r} is not 3 voxel counts")
    return {
        "path": str(level.get("path", ""))[:400],
        "shape": shape,
        "chunks": _chunks(level.get("chunks", shape)),
        "spacing": _numbers(level.get("spacing"), 3, "level spacing"),
        "origin": _numbers(level.get("origin"), 3, "level origin"),
    }
