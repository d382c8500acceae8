"""DICOM pixel data: uncompressed frames read straight from the file, the rest via pydicom.

Uncompressed grey pixel data (Implicit/Explicit VR Little Endian, Explicit VR Big
Endian; 8 to 64 bits) is read here, at the offset the header pass found, into one
array: no second parse of the file and none of pydicom's per-file machinery,
which made a 256-slice series cost twice what SimpleITK takes. Everything else
(compressed syntaxes, deflated files, 1-bit SEG frames, colour) goes through
pydicom's pixel-data decoders, which use the pylibjpeg plugins when installed
(``pip install 'voxlite[dicom]'``).

What decodes where:

========================  ==============================  ===========================
transfer syntax           CPython                         Pyodide (browser)
========================  ==============================  ===========================
uncompressed, deflated    yes (numpy)                     yes
RLE Lossless              yes (pydicom's numpy decoder)   yes
JPEG Baseline (8-bit)     Pillow or pylibjpeg             Pillow (Pyodide's has libjpeg)
JPEG Extended (12-bit)    pylibjpeg                       no
JPEG Lossless (14, SV1)   pylibjpeg                       no
JPEG-LS                   pylibjpeg                       no
JPEG 2000, HTJ2K          pylibjpeg (Pillow: J2K only)    no (Pyodide's Pillow has no
                                                          OpenJPEG)
========================  ==============================  ===========================

A missing decoder is an ImageIOError naming the transfer syntax and what to install.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np

from voxlite.io.dicom_files import read_dicom
from voxlite.io.errors import ImageIOError

__all__ = ["EXTRA", "decoded", "is_native", "read_colour", "stored_frames", "transfer_syntax"]

EXTRA = "pip install 'voxlite[dicom]'"
_IMPLICIT_LE, _EXPLICIT_LE, _EXPLICIT_BE = (
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
)
_NATIVE_ORDER = {_IMPLICIT_LE: "<", _EXPLICIT_LE: "<", _EXPLICIT_BE: ">"}
# Explicit VRs whose length field is 4 bytes after 2 reserved ones (PS3.5 7.1.2).
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV"}
_PIXEL_DATA = (0x7FE0, 0x0010)


def transfer_syntax(header: Any) -> str:
    """The file's transfer syntax UID; for a file without file meta, the one pydicom found."""
    meta = getattr(header, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid:
        return str(uid)
    implicit, little = getattr(header, "original_encoding", (True, True))[:2]
    if implicit:
        return _IMPLICIT_LE
    return _EXPLICIT_LE if little else _EXPLICIT_BE


def syntax_name(uid: str) -> str:
    from pydicom.uid import UID

    name = UID(uid).name
    return f"{name} ({uid})" if name != uid else uid


def stored_frames(path: Path, header: Any, offset: int | None) -> np.ndarray:
    """All frames of a grey file as stored (before rescale): ``[frames, rows, columns]``."""
    frames = _frames(header)
    array = _native(path, header, offset, frames)
    if array is None:
        array = decoded(path, header)
    if array.ndim != 3 or array.shape[0] != frames:
        raise ImageIOError(
            path,
            f"its pixel data decodes to shape {array.shape}, not the {frames} frames of "
            f"{header.get('Rows')} x {header.get('Columns')} its header claims",
        )
    return array


def is_native(header: Any) -> bool:
    """Uncompressed pixel data, stored in the file as it is (not deflated)."""
    return transfer_syntax(header) in _NATIVE_ORDER


def _frames(header: Any) -> int:
    try:
        return max(int(header.get("NumberOfFrames", 1) or 1), 1)
    except (TypeError, ValueError):
        return 1


def _native(path: Path, header: Any, offset: int | None, frames: int) -> np.ndarray | None:
    """Uncompressed grey pixels read at ``offset``, or None when pydicom must decode them."""
    uid = transfer_syntax(header)
    order = _NATIVE_ORDER.get(uid)
    bits = int(header.get("BitsAllocated", 0) or 0)
    if (
        offset is None
        or order is None
        or bits not in (8, 16, 32, 64)
        or (bits == 8 and order == ">")  # 8-bit big endian may be byte-swapped as OW words
        or int(header.get("SamplesPerPixel", 1) or 1) != 1
        or str(header.get("PhotometricInterpretation", "")).startswith("PALETTE")
    ):
        return None
    rows, columns = int(header.get("Rows")), int(header.get("Columns"))
    signed = int(header.get("PixelRepresentation", 0) or 0) == 1
    dtype = np.dtype(f"{order}{'i' if signed else 'u'}{bits // 8}")
    need = rows * columns * frames * dtype.itemsize
    with open(path, "rb") as stream:
        stream.seek(offset)
        head = stream.read(12)
        if len(head) < 8 or struct.unpack(f"{order}HH", head[:4]) != _PIXEL_DATA:
            return None  # FloatPixelData, or not where pydicom stopped: let pydicom read it
        if uid == _IMPLICIT_LE:
            (length,), start = struct.unpack("<I", head[4:8]), offset + 8
        elif head[4:6] in _LONG_VRS:
            (length,), start = struct.unpack(f"{order}I", head[8:12]), offset + 12
        else:
            (length,), start = struct.unpack(f"{order}H", head[6:8]), offset + 8
        if length == 0xFFFFFFFF:  # encapsulated, though the syntax says not
            return None
        if length < need:
            raise ImageIOError(
                path,
                f"its pixel data holds {length} bytes; its header claims {need} "
                f"({frames} x {rows} x {columns} x {dtype.itemsize})",
            )
        raw = np.empty(need, np.uint8)  # no more than the element holds: checked above
        stream.seek(start)
        got = stream.readinto(memoryview(raw))
    if got != need:
        raise ImageIOError(path, f"the file is truncated: {need} bytes of pixels, {got} there")
    array = raw.view(dtype).reshape(frames, rows, columns)
    if order == ">":
        array = array.astype(dtype.newbyteorder("="))
    return _unused_bits_cleared(array, header)


def _unused_bits_cleared(array: np.ndarray, header: Any) -> np.ndarray:
    """What pydicom does to native data: bits above BitsStored ignored (sign-extended)."""
    stored = int(header.get("BitsStored", 0) or 0)
    shift = array.dtype.itemsize * 8 - stored
    if 0 < shift < array.dtype.itemsize * 8:
        np.left_shift(array, shift, out=array)
        np.right_shift(array, shift, out=array)
    return array


def decoded(path: Path, header: Any) -> np.ndarray:
    """All frames as pydicom decodes them: ``[frames, rows, columns(, samples)]``.

    Colour comes as RGB (YBR converted), palette colour as stored indices.
    """
    uid = transfer_syntax(header)
    _check_decoder(path, uid)
    try:
        dataset, _ = read_dicom(path)
    except ImageIOError:
        raise
    except Exception as error:  # it parsed before its pixels, not with them
        raise ImageIOError(path, f"its pixel data cannot be read ({error})") from None
    if "TransferSyntaxUID" not in getattr(dataset, "file_meta", {}):
        from pydicom.dataset import FileMetaDataset

        dataset.file_meta = getattr(dataset, "file_meta", None) or FileMetaDataset()
        dataset.file_meta.TransferSyntaxUID = uid  # no file meta: the encoding found
    try:
        pixels = dataset.pixel_array
    except Exception as error:  # pydicom and its plugins raise many kinds for bad data
        raise ImageIOError(
            path, f"cannot decode its pixel data ({syntax_name(uid)}): {error}"
        ) from None
    frames, rows, columns = _frames(header), int(header.get("Rows")), int(header.get("Columns"))
    samples = int(header.get("SamplesPerPixel", 1) or 1)
    shape = (frames, rows, columns) if samples == 1 else (frames, rows, columns, samples)
    if pixels.size != np.prod(shape):
        raise ImageIOError(
            path, f"its pixel data decodes to shape {pixels.shape}, not {shape} as its header says"
        )
    return pixels.reshape(shape)


def _check_decoder(path: Path, uid: str) -> None:
    """Refuse, naming the syntax and the remedy, pixel data no installed decoder reads."""
    from pydicom.pixels.decoders.base import get_decoder

    try:
        available = get_decoder(uid).is_available
    except NotImplementedError:
        available = None
    if available:
        return
    if available is None:
        reason = "which pydicom has no decoder for"
    elif sys.platform == "emscripten":
        reason = (
            "which cannot be decoded in the browser: its decoders are compiled libraries. "
            "Pyodide decodes uncompressed, deflated, RLE and JPEG baseline (8-bit, with "
            "Pillow) DICOM; convert it (e.g. gdcmconv --raw) or open it in Python"
        )
    else:
        reason = f"and no decoder for it is installed: {EXTRA} adds pylibjpeg's"
    raise ImageIOError(path, f"its pixel data is {syntax_name(uid)}, {reason}")


def read_colour(path: str | Path) -> np.ndarray:
    """The frames of a colour DICOM file as RGB: ``[frames, rows, columns, 3]`` uint8.

    RGB and YBR files are converted to RGB by pydicom; palette colour is looked up
    in its palette (``apply_color_lut``); 16-bit colour is scaled to 8 bits.

    Parameters
    ----------
    path
        A colour DICOM file (SamplesPerPixel 3, or PhotometricInterpretation
        PALETTE COLOR).

    Example
    -------
    >>> from pydicom.data import get_testdata_file
    >>> read_colour(get_testdata_file("SC_rgb.dcm", download=False)).shape
    (1, 100, 100, 3)
    """
    from pydicom.pixels import apply_color_lut

    path = Path(path)
    header, _ = read_dicom(path, stop_before_pixels=True)
    pixels = decoded(path, header)
    if str(header.get("PhotometricInterpretation", "")) == "PALETTE COLOR":
        pixels = apply_color_lut(pixels, header)
    if pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise ImageIOError(path, f"it is not a colour image (pixels of shape {pixels.shape})")
    if pixels.dtype != np.uint8:
        bits = int(header.get("BitsStored", 8) or 8)
        if "RedPaletteColorLookupTableDescriptor" in header:  # the palette's own depth
            bits = int(header.get("RedPaletteColorLookupTableDescriptor")[2])
            bits = 8 if bits == 16 and pixels.max() <= 255 else bits  # 8-bit values, 16-bit words
        # The top 8 bits, as GDCM (and so SimpleITK) shows deeper colour.
        pixels = (pixels >> max(bits - 8, 0)).astype(np.uint8)
    return pixels
