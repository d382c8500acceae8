"""Pictures the view sends back: decode them, and write PNG files with no imaging library.

The front end reads its canvas after the view settles and sends the RGBA pixels
zlib-compressed; :func:`decode_frame` checks the sizes before inflating, so a
malformed message cannot make Python allocate more than the picture it claims.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from voxlite.io import atomic_target

MAX_PIXELS = 8192 * 8192


def decode_frame(width: int, height: int, data: bytes) -> np.ndarray:
    """The ``height x width x 4`` uint8 array of a zlib-compressed RGBA frame."""
    if not (isinstance(width, int) and isinstance(height, int)) or not (
        0 < width * height <= MAX_PIXELS and width > 0 and height > 0
    ):
        raise ValueError(f"a frame of {width} x {height} pixels is not a picture voxlite takes")
    expected = width * height * 4
    inflater = zlib.decompressobj()
    try:
        pixels = inflater.decompress(bytes(data), expected)
    except zlib.error as error:
        raise ValueError(f"the frame's pixels are corrupt: {error}") from error
    if len(pixels) != expected or inflater.unconsumed_tail:
        raise ValueError(f"the frame has {len(pixels)} bytes of pixels, expected {expected}")
    return np.frombuffer(pixels, np.uint8).reshape(height, width, 4)


def png_bytes(picture: np.ndarray) -> bytes:
    """A PNG (8-bit RGB or RGBA, no filter) of an ``H x W x 3|4`` uint8 array.

    Example:
        >>> png_bytes(np.zeros((2, 3, 3), np.uint8))[:8]
        b'\\x89PNG\\r\\n\\x1a\\n'
    """
    picture = np.ascontiguousarray(picture, dtype=np.uint8)
    if picture.ndim != 3 or picture.shape[2] not in (3, 4):
        raise ValueError(f"a picture must be H x W x 3 or 4, got {picture.shape}")
    height, width, channels = picture.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), picture.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + checksum

    color_type = 6 if channels == 4 else 2
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def write_png(path: str | Path, picture: np.ndarray) -> Path:
    """Write a PNG atomically (a failed write leaves any previous file as it was)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder {path.parent} does not exist")
    data = png_bytes(picture)
    with atomic_target(path) as temporary:
        temporary.write_bytes(data)
    return path
