"""Hostile files, made by code in milliseconds: FIFOs, devices, sparse giants and bombs.

Each builder writes into a folder and returns the path to hand ``read_image``.
The bombs are small files that inflate far past what their headers claim; they
are built without compressing gigabytes: deflate blocks of zeros compressed once
after a full flush are all alike, so they are repeated (``deflated``).
"""

from __future__ import annotations

import bz2
import functools
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np

MiB = 1 << 20
GiB = 1 << 30


@functools.cache
def deflated(*parts: bytes | int, wrapper: str = "gzip") -> bytes:
    """``parts`` (bytes, or an int: that many zero bytes) as one gzip, zlib or raw stream."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = [compressor.flush(zlib.Z_FULL_FLUSH)]
    zeros = bytes(MiB)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    check = zlib.adler32 if wrapper == "zlib" else zlib.crc32
    value = 1 if wrapper == "zlib" else 0
    for part in parts:
        if isinstance(part, int):
            whole, rest = divmod(part, MiB)
            out.append(block * whole)
            for _ in range(whole if wrapper != "raw" else 0):
                value = check(zeros, value)
            part = bytes(rest)
        out.append(compressor.compress(part) + compressor.flush(zlib.Z_FULL_FLUSH))
        value = check(part, value)
    out.append(compressor.flush())
    body = b"".join(out)
    total = sum(p if isinstance(p, int) else len(p) for p in parts)
    if wrapper == "raw":
        return body
    if wrapper == "zlib":
        return b"\x78\xda" + body + value.to_bytes(4, "big")
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + body + value.to_bytes(4, "little") + (total % 2**32).to_bytes(4, "little")


def zstd_rle(size: int) -> bytes:
    """A Zstandard frame of ``size`` zero bytes (RLE blocks) that does not state its size."""
    block = 1 << 17
    frame = bytearray(b"\x28\xb5\x2f\xfd\x00\x38")  # magic; no content size; 128 KiB window
    count = -(-size // block)
    for index in range(count):
        header = block << 3 | 1 << 1 | (index == count - 1)  # size, RLE, last block
        frame += header.to_bytes(3, "little") + b"\0"
    return bytes(frame)


@functools.cache
def bzipped(*parts: bytes | int) -> bytes:
    """``parts`` as one bzip2 stream (zeros compress at about 70 MB/s: keep them small)."""
    compressor = bz2.BZ2Compressor(9)
    out = []
    for part in parts:
        if isinstance(part, int):
            whole, rest = divmod(part, MiB)
            out.extend(compressor.compress(bytes(MiB)) for _ in range(whole))
            part = bytes(rest)
        out.append(compressor.compress(part))
    out.append(compressor.flush())
    return b"".join(out)


# -- main files that are not regular files -----------------------------------------------


def fifo(folder: Path, name: str) -> Path:
    path = folder / name
    os.mkfifo(path)
    return path


def device_link(folder: Path, name: str, device: str = "/dev/zero") -> Path:
    path = folder / name
    path.symlink_to(device)
    return path


def sparse(folder: Path, name: str, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that takes no disk space: ``head``, then a hole of zeros."""
    path = folder / name
    with open(path, "wb") as stream:
        stream.write(head)
        stream.truncate(size)
    return path


# -- NRRD and MetaImage --------------------------------------------------------------------


def nrrd_header(sizes: str = "1 1 1", encoding: str = "raw", type: str = "uchar", **fields):
    lines = [
        "NRRD0004",
        f"type: {type}",
        "dimension: 3",
        f"sizes: {sizes}",
        "endian: little",
        f"encoding: {encoding}",
        *(f"{key.replace('_', ' ')}: {value}" for key, value in fields.items()),
    ]
    return ("\n".join(lines) + "\n\n").encode()


def mha_header(sizes: str = "1 1 1", compressed: bool = False) -> bytes:
    return (
        f"NDims = 3\nDimSize = {sizes}\nElementType = MET_UCHAR\n"
        f"CompressedData = {compressed}\nElementDataFile = LOCAL\n"
    ).encode()


# -- NIfTI ---------------------------------------------------------------------------------


def nifti_header(vox_offset: int, shape=(1, 1, 1), dtype=np.uint8, extensions: bool = False):
    """A NIfTI-1 header and its 4 extension bytes, the voxels at ``vox_offset``."""
    import nibabel

    header = nibabel.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    header["vox_offset"] = vox_offset
    return header.binaryblock + (b"\x01\0\0\0" if extensions else b"\0\0\0\0")


# -- TIFF ----------------------------------------------------------------------------------


def tiff(strips: list[bytes], compression: int, width: int = 16, height: int = 16, **tags) -> bytes:
    """A little-endian, 16-bit grayscale, single-page TIFF of the given strips.

    ``counts=[...]`` gives StripByteCounts other than the strips' lengths (lying ones).
    """
    counts = tags.pop("counts", None) or [len(s) for s in strips]
    rows = tags.pop("rows_per_strip", height)
    start = 8
    offsets = []
    for strip in strips:
        offsets.append(start)
        start += len(strip)
    ifd_at = start + (start % 2)
    long = 4
    entries = {
        256: (long, [width]),
        257: (long, [height]),
        258: (3, [16]),
        259: (3, [compression]),
        262: (3, [1]),
        273: (long, offsets),
        277: (3, [1]),
        278: (long, [rows]),
        279: (long, counts),
        **{tag: (long if isinstance(v, int) and v > 65535 else 3, [v]) for tag, v in tags.items()},
    }
    extra = bytearray()
    ifd = bytearray(struct.pack("<H", len(entries)))
    extra_at = ifd_at + 2 + 12 * len(entries) + 4
    for tag in sorted(entries):
        kind, values = entries[tag]
        packed = struct.pack(f"<{len(values)}{'I' if kind == long else 'H'}", *values)
        if len(packed) <= 4:
            ifd += struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", tag, kind, len(values), extra_at + len(extra))
            extra += packed
    ifd += struct.pack("<I", 0)
    body = b"".join(strips) + b"\0" * (start % 2)
    return b"II*\0" + struct.pack("<I", ifd_at) + body + bytes(ifd) + bytes(extra)


# -- OME-Zarr ------------------------------------------------------------------------------


def ome_zarr_v2(
    folder: Path, shape, chunks, compressor, chunk: bytes | None, dtype: str = "|u1"
) -> Path:
    """An OME-Zarr (v2) of one level whose first chunk holds ``chunk``."""
    root = folder / "a.ome.zarr"
    (root / "0").mkdir(parents=True)
    (root / ".zgroup").write_text('{"zarr_format": 2}')
    attrs = {
        "multiscales": [{"version": "0.4", "axes": ["z", "y", "x"], "datasets": [{"path": "0"}]}]
    }
    (root / ".zattrs").write_text(json.dumps(attrs))
    zarray = {
        "shape": list(shape),
        "chunks": list(chunks),
        "dtype": dtype,
        "fill_value": 0,
        "order": "C",
        "filters": None,
        "compressor": compressor,
        "zarr_format": 2,
    }
    (root / "0" / ".zarray").write_text(json.dumps(zarray))
    if chunk is not None:
        (root / "0" / ".".join("0" * len(shape))).write_bytes(chunk)
    return root


def ome_zarr_v3(folder: Path, shape, chunks, codecs, chunk: bytes | None) -> Path:
    """An OME-Zarr (v3, NGFF 0.5) of one level whose first chunk holds ``chunk``."""
    root = folder / "a.ome.zarr"
    (root / "0").mkdir(parents=True)
    multiscales = [
        {"axes": [{"name": n, "type": "space"} for n in "zyx"], "datasets": [{"path": "0"}]}
    ]
    group = {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {"ome": {"version": "0.5", "multiscales": multiscales}},
    }
    (root / "zarr.json").write_text(json.dumps(group))
    array = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": list(shape),
        "data_type": "uint8",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": codecs,
    }
    (root / "0" / "zarr.json").write_text(json.dumps(array))
    if chunk is not None:
        key = root / "0" / "c" / "/".join("0" * len(shape))
        key.parent.mkdir(parents=True)
        key.write_bytes(chunk)
    return root


@functools.cache
def lzma_zeros(size: int) -> bytes:
    import lzma

    return lzma.compress(bytes(size), preset=0)
