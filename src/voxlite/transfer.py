"""How images, point sets and meshes travel to the browser: dicts of JSON and binary buffers.

Voxel types that WebGL textures take as they are keep their type: uint8, int8,
uint16, int16, uint32, int32 and float32. The others are converted:

===========================  ==============================================
input                        sent as
===========================  ==============================================
bool                         uint8 (0/1)
float16, float64             float32
int64, uint64                int32 / uint32 when the values fit, else float32
===========================  ==============================================

Non-finite voxels (NaN, ±inf) are masked: they are replaced by the lowest
finite value, so that they are transparent in volume rendering and dark in
slices. An image with no finite voxel at all is rejected.

Every buffer is little-endian, as JavaScript's typed arrays read it on every
browser: big-endian voxels (an Analyze or NIfTI file written on a SPARC, DICOM's
Explicit VR Big Endian) are byte-swapped here, not sent as they are stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxlite.checks import rgb
from voxlite.geometry import Mesh, PointSet
from voxlite.image import Image

KEPT_DTYPES = frozenset({"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32"})

# Label maps: 0 is background; colours of the first labels follow ITK-SNAP's palette.
LABEL_PALETTE = [
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
    (0, 255, 255),
    (255, 0, 255),
    (255, 239, 213),
    (0, 0, 205),
    (205, 133, 63),
    (210, 180, 140),
    (102, 205, 170),
    (0, 0, 128),
    (0, 139, 139),
    (46, 139, 87),
    (255, 228, 225),
    (106, 90, 205),
    (221, 160, 221),
    (233, 150, 122),
    (165, 42, 42),
    (255, 250, 250),
]
MAX_LABEL = 65535


def wire_array(array: np.ndarray) -> np.ndarray:
    """The array as it is sent: a kept dtype, C-contiguous, finite.

    Example:
        >>> wire_array(np.array([[[1.0, np.nan]]])).tolist()
        [[[1.0, 1.0]]]
    """
    array = little_endian(_wire_dtype(array))
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            if not finite.any():
                raise ValueError("the image has no finite value (all NaN or infinite)")
            array = np.where(finite, array, array[finite].min())
    return np.ascontiguousarray(array)


def little_endian(array: np.ndarray) -> np.ndarray:
    """The array with a little-endian dtype (itself when it has one): what typed arrays read.

    Example:
        >>> little_endian(np.array([1], ">i2")).dtype.str
        '<i2'
    """
    if array.dtype.byteorder in "<|" or (array.dtype.byteorder == "=" and np.little_endian):
        return array
    return array.astype(array.dtype.newbyteorder("<"))


def _wire_dtype(array: np.ndarray) -> np.ndarray:
    if array.dtype.name in KEPT_DTYPES:
        return array
    if array.dtype.kind == "b":
        return array.astype(np.uint8)
    if array.dtype.kind == "f":
        with np.errstate(over="ignore"):  # values beyond float32 become inf, masked below
            return array.astype(np.float32)
    if array.dtype.kind in "iu":
        low, high = int(array.min()), int(array.max())
        for candidate in (np.int32, np.uint32):
            info = np.iinfo(candidate)
            if info.min <= low and high <= info.max:
                return array.astype(candidate)
        return array.astype(np.float32)
    raise TypeError(f"unsupported dtype {array.dtype}")


def value_range(array: np.ndarray) -> tuple[float, float]:
    """Finite (min, max) of an array already passed through :func:`wire_array`."""
    return float(array.min()), float(array.max())


def encode_image(image: Image) -> dict[str, Any]:
    """The synced form of an image: geometry as JSON, voxels as one binary buffer.

    Colour and channels travel interleaved (a voxel's values together, as WebGL
    textures take them), with ``pixel`` and ``components``; colour as 8-bit values,
    channels with the range of each.
    """
    array = np.asarray(image.array)
    if image.pixel in ("rgb", "rgba"):
        array = colour_bytes(array)
    payload = _payload(image, wire_array(array))
    if image.pixel == "scalar":
        return payload
    payload.update(pixel=image.pixel, components=image.components)
    if image.pixel == "channels":
        values = np.frombuffer(payload["data"], dtype=payload["dtype"]).reshape(
            -1, image.components
        )
        payload["ranges"] = [[float(v.min()), float(v.max())] for v in values.T]
        payload["channel_names"] = list(image.channel_names)
    return payload


def colour_bytes(array: np.ndarray) -> np.ndarray:
    """RGB(A) values as 8 bits: 16-bit scaled down, floats of 0..1 (or 0..255) scaled up.

    Example:
        >>> colour_bytes(np.array([[0.0, 0.5, 1.0]])).tolist()
        [[0, 128, 255]]
    """
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind in "iu":
        top = 65535 if array.max(initial=0) > 255 else 255
        return np.round(np.clip(array, 0, top) * (255 / top)).astype(np.uint8)
    finite = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    scale = 255.0 if finite.max(initial=0.0) <= 1.0 else 1.0
    return np.round(np.clip(finite * scale, 0, 255)).astype(np.uint8)


def grid(image: Image) -> dict[str, Any]:
    """An image's grid as JSON: shape ``[z, y, x]``, spacing, origin and direction."""
    return {
        "shape": list(image.shape),
        "spacing": list(image.spacing),
        "origin": list(image.origin),
        # vtk.js wants the direction column-major: the x axis' direction first.
        "direction": image.direction.T.ravel().tolist(),
    }


def _payload(image: Image, array: np.ndarray) -> dict[str, Any]:
    return {
        **grid(image),
        "dtype": array.dtype.name,
        "range": list(value_range(array)),
        "name": image.name,
        # A view of the array's bytes, not a copy: ipywidgets sends it as a binary buffer.
        "data": memoryview(array).cast("B"),
    }


def label_array(image: Image) -> np.ndarray:
    """Validate a label map and return it as uint8 or uint16."""
    array = np.asarray(image.array)
    if array.dtype.kind == "b":
        return array.astype(np.uint8)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.array_equal(array, np.round(array)):
            raise ValueError("label_image must hold whole numbers (got fractional or NaN values)")
    elif array.dtype.kind not in "iu":
        raise TypeError(f"label_image must be an integer array, got {array.dtype}")
    low, high = array.min(), array.max()
    if low < 0:
        raise ValueError(f"label_image has negative labels (min {low}); labels are 0..{MAX_LABEL}")
    if high > MAX_LABEL:
        raise ValueError(f"label_image has labels up to {high}; at most {MAX_LABEL} are supported")
    return array.astype(np.uint8 if high < 256 else np.uint16)


def encode_labels(image: Image, colors: dict[int, Any] | None = None) -> dict[str, Any]:
    """The synced form of a label map, with one RGB colour per label present."""
    array = np.ascontiguousarray(little_endian(label_array(image)))
    present = np.flatnonzero(np.bincount(array.ravel()))
    chosen = {int(k): rgb(v) for k, v in (colors or {}).items()}
    table = [
        [int(label), *chosen.get(int(label), label_color(int(label)))]
        for label in present
        if label != 0
    ]
    return {**_payload(image, array), "colors": table}


def label_color(label: int) -> tuple[float, float, float]:
    """A label's default colour (0..1 RGB) from the palette."""
    r, g, b = LABEL_PALETTE[(label - 1) % len(LABEL_PALETTE)]
    return (r / 255, g / 255, b / 255)


def encode_points(name: str, points: PointSet) -> dict[str, Any]:
    """The synced form of a point set: coordinates and optional per-point arrays as buffers."""
    payload: dict[str, Any] = {
        "name": name,
        "kind": "points",
        "count": points.count,
        "points": little_endian(points.points).tobytes(),
    }
    if points.scalars is not None:
        payload["scalars"] = little_endian(points.scalars).tobytes()
        payload["range"] = [float(points.scalars.min()), float(points.scalars.max())]
    if points.colors is not None:
        payload["colors"] = np.round(points.colors * 255).astype(np.uint8).tobytes()
    if points.sizes is not None:
        payload["sizes"] = little_endian(points.sizes).tobytes()
    return payload


def encode_mesh(name: str, mesh: Mesh) -> dict[str, Any]:
    """The synced form of a triangle mesh: vertices (float32) and faces (uint32)."""
    return {
        "name": name,
        "kind": "mesh",
        "count": mesh.count,
        "points": little_endian(mesh.vertices).tobytes(),
        "faces": little_endian(mesh.faces).tobytes(),
    }
