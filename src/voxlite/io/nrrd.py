"""NRRD (.nrrd, or .nhdr with a detached data file) through pynrrd.

pynrrd parses the header; the voxels are read here, because pynrrd trusts the
file: it reads its first line whole (an 8 GiB file without a newline is 8 GiB of
memory), skips ``line skip`` lines one by one (10**12 of them is a hang), opens
any ``data file`` path (``/dev/zero`` never ends) and reads and decompresses gzip
and bzip2 data whole, without a limit. Here pynrrd gets the header's lines from
at most :data:`MAX_HEADER_BYTES`, the claimed size is checked against the file and
the memory budget first, and the data is read and decompressed in chunks that
stop at the claimed size (``byte skip: -1`` keeps only the last claimed bytes).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from voxlite.image import Image, split_extra_axis
from voxlite.io.limits import (
    CHUNK,
    check_claim,
    claimed_bytes,
    decompressed,
    max_bytes,
    regular_file_beside,
    tail_of,
    take,
)

#: A NRRD header is text, a few kB; one with no blank line in this many bytes is refused.
MAX_HEADER_BYTES = 1 << 20

# NRRD's spaces, as the sign flips that take each to LPS.
_TO_LPS = {
    "left-posterior-superior": (1, 1, 1),
    "lps": (1, 1, 1),
    "right-anterior-superior": (-1, -1, 1),
    "ras": (-1, -1, 1),
    "left-anterior-superior": (1, -1, 1),
    "las": (1, -1, 1),
    "scanner-xyz": (1, 1, 1),
    "3d-right-handed": (1, 1, 1),
}
_COMPRESSED = {"gzip": "gzip", "gz": "gzip", "bzip2": "bzip2", "bz2": "bzip2"}
_TEXT = ("ascii", "text", "txt")


def read(path: Path, component: int | None = None) -> Image:
    """A NRRD file: a 4D one is channels (vectors, colour) or a time series, as its
    ``kinds`` say; ``component=`` picks one."""
    import nrrd

    with open(path, "rb") as stream:
        lines = _header_lines(stream)
        try:
            header = nrrd.read_header(lines)
        except StopIteration:  # pynrrd's next() on an empty file
            raise ValueError("the file is empty") from None
        except (nrrd.NRRDError, OverflowError) as error:  # OverflowError: sizes past int64
            raise ValueError(f"not a readable NRRD file ({error})") from None
        stream.seek(sum(len(line) for line in lines))  # attached data starts after them
        try:
            data = _read_data(path, header, stream)
        except nrrd.NRRDError as error:
            raise ValueError(f"not a readable NRRD file ({error})") from None
    space = str(header.get("space", "left-posterior-superior")).lower()
    if space not in _TO_LPS:
        raise ValueError(f"unsupported NRRD space {space!r}")
    flip = np.asarray(_TO_LPS[space], dtype=float)
    # In C order a per-voxel vector axis (NRRD's fastest) comes last, as voxlite wants; a
    # time or list axis elsewhere is found by its kind.
    axis, kind = _extra_axis(header, data.ndim)
    colour = kind in _COLOUR_KINDS or (kind in _VECTOR_KINDS and data.dtype == np.uint8)
    extra = "time" if kind == "time" else "channels"
    data, pixel_fields = split_extra_axis(data, axis, extra, component, colour)
    directions = header.get("space directions")
    if directions is not None:
        rows = np.asarray(
            [d for d in directions if d is not None and not np.isnan(d).all()], dtype=float
        )
        vectors = rows.T * flip[:, None]  # columns: the x, y, z axes in LPS
        spacing = np.linalg.norm(vectors, axis=0)
        direction = vectors / spacing
    else:
        spacing = np.asarray(header.get("spacings", [1.0, 1.0, 1.0]), dtype=float)
        direction = np.eye(3)
    origin = np.asarray(header.get("space origin", [0.0, 0.0, 0.0]), dtype=float) * flip
    return Image(
        data,
        spacing=spacing,
        origin=origin,
        direction=direction,
        metadata={"format": "NRRD", "space": space},
        **pixel_fields,
    )


# NRRD's kinds of a non-spatial axis that hold colour, and that hold a vector.
_COLOUR_KINDS = {"rgb-color", "rgba-color", "hsv-color", "xyz-color"}
_VECTOR_KINDS = {"vector", "3-vector", "4-vector", "3-color", "4-color", "list", "point"}


def _extra_axis(header: dict[str, Any], ndim: int) -> tuple[int, str]:
    """The C-order axis of a 4D NRRD's non-spatial axis (its kind is not 'domain'/'space')
    and its kind; a per-voxel vector (NRRD's fastest axis, last in C order) by default."""
    kinds = [str(k).lower() for k in header.get("kinds", [])]
    if ndim == 4 and len(kinds) == 4:
        others = [i for i, kind in enumerate(kinds) if kind not in ("domain", "space")]
        if len(others) == 1:
            return ndim - 1 - others[0], kinds[others[0]]
    return -1, "vector"


def _header_lines(stream: Any) -> list[bytes]:
    """The header's lines, up to its blank line (or the end of a detached header).

    Read from the first :data:`MAX_HEADER_BYTES` bytes only; the blank line is found
    as pynrrd finds it (ASCII, trailing whitespace ignored).
    """
    block = stream.read(MAX_HEADER_BYTES + 1)
    if block and not block.startswith(b"NRRD"):
        raise ValueError(f"not a NRRD file: it starts with {block[:8]!r}, not NRRD000x")
    whole = len(block) <= MAX_HEADER_BYTES
    # As a file's lines: split at b"\n" only; a last line cut off by the limit is dropped.
    parts = block[:MAX_HEADER_BYTES].split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] and whole else [])
    for index, line in enumerate(lines[1:], start=1):
        if not line.decode("ascii", "ignore").rstrip():
            return lines[: index + 1]
    if not whole:
        raise ValueError(
            f"its header does not end (a blank line) in its first {MAX_HEADER_BYTES} bytes"
        )
    return lines


def _read_data(path: Path, header: dict[str, Any], stream: Any) -> np.ndarray:
    """The voxels, C order, read no further than the header's checked claim."""
    from nrrd.reader import _determine_datatype

    for field in ("dimension", "type", "encoding", "sizes"):
        if field not in header:
            raise ValueError(f"its header has no {field!r} field")
    sizes = [int(n) for n in np.atleast_1d(header["sizes"])]
    if header["dimension"] != len(sizes):
        raise ValueError(f"dimension {header['dimension']} but sizes {sizes}")
    try:
        dtype = _determine_datatype(header)
    except KeyError:
        raise ValueError(f"unsupported NRRD type {header['type']!r}") from None
    encoding = str(header["encoding"]).lower()
    claim = check_claim(path, claimed_bytes(path, sizes, dtype.itemsize))
    line_skip = int(header.get("line skip", header.get("lineskip", 0)))
    byte_skip = int(header.get("byte skip", header.get("byteskip", 0)))
    if line_skip < 0 or byte_skip < -1:
        raise ValueError(f"line skip {line_skip} / byte skip {byte_skip} is out of range")
    name = header.get("data file", header.get("datafile"))
    start = stream.tell()
    source = stream
    if name is not None:
        name = str(name)
        if name.upper().startswith("LIST") or len(name.split()) > 1:
            raise ValueError(f"data file: {name}: file lists and patterns are not read")
        source = open(regular_file_beside(path, name), "rb")  # noqa: SIM115 (closed below)
        start = 0
    with source if source is not stream else contextlib.nullcontext(stream):
        size = source.seek(0, io.SEEK_END)
        source.seek(start)
        if line_skip > size - source.tell():  # each line is a byte at least
            raise ValueError(f"line skip {line_skip} goes past the end of the data")
        _skip_lines(source, line_skip)
        available = size - source.tell()
        count = claim // max(dtype.itemsize, 1)
        if encoding in _TEXT:  # one value more than claimed tells a longer file
            data = np.fromfile(source, dtype, count + 1, sep=" ") if available else np.empty(0)
        elif encoding == "raw":
            if byte_skip == -1:  # the data is the last bytes of the file
                byte_skip = max(available - claim, 0)
            check_claim(path, claim, available - byte_skip)
            source.seek(byte_skip, io.SEEK_CUR)
            raw = bytearray(claim)  # no more than the file holds: checked just above
            source.readinto(raw)
            data = np.frombuffer(raw, dtype)
        elif encoding in _COMPRESSED:
            data = np.frombuffer(bytearray(_decompress(source, encoding, claim, byte_skip)), dtype)
        else:
            raise ValueError(f"unsupported NRRD encoding {header['encoding']!r}")
    if data.size != count:
        raise ValueError(f"header and data disagree: sizes {sizes} but {data.size} values")
    return data.reshape(sizes[::-1])


def _skip_lines(source: Any, count: int) -> None:
    """Move past ``count`` lines: a foreign text header, of :data:`MAX_HEADER_BYTES` at most."""
    first = source.tell()
    while count:
        at = source.tell()
        chunk = source.read(min(CHUNK, first + MAX_HEADER_BYTES - at))
        if not chunk:
            raise ValueError(
                f"line skip: its data has no {count} more lines in its first "
                f"{MAX_HEADER_BYTES} bytes"
            )
        newlines = chunk.count(b"\n")
        if newlines < count:
            count -= newlines
            continue
        end = -1
        for _ in range(count):
            end = chunk.index(b"\n", end + 1)
        source.seek(at + end + 1)
        return


def _decompress(source: Any, encoding: str, claim: int, byte_skip: int) -> bytes:
    """The claimed bytes of gzip or bzip2 data, after ``byte skip`` decompressed bytes.

    ``byte skip: -1``: the last claimed bytes, found by streaming through the data
    and keeping only as many as claimed. What comes before them is a foreign header
    at most as long as the voxels (or :data:`MAX_HEADER_BYTES`): a stream that goes on
    further is refused rather than inflated for a one-voxel claim.
    """
    if byte_skip > max_bytes():
        raise ValueError(f"byte skip {byte_skip} is over the memory budget of {max_bytes()} bytes")
    pieces = decompressed(source, _COMPRESSED[encoding])
    if byte_skip == -1:
        limit = claim + max(claim, MAX_HEADER_BYTES)
        raw, more = tail_of(pieces, claim, limit)
        if more:
            raise ValueError(
                f"byte skip -1 (the voxels are the last bytes): its data decompresses to "
                f"more than the {claim} bytes its header claims and {limit - claim} before them"
            )
    else:
        raw, more = take(pieces, claim, skip=byte_skip)
        if more:
            raise ValueError(
                f"header and data disagree: the data holds more than {claim} "
                "bytes, the size its header claims"
            )
    if len(raw) != claim:
        raise ValueError(
            f"header and data disagree: its header claims {claim} bytes, the data holds {len(raw)}"
        )
    return raw


def write(image: Image, path: Path, final: Path | None = None) -> None:
    import nrrd

    header = {
        "space": "left-posterior-superior",
        "space directions": (image.direction * np.asarray(image.spacing)).T,
        "space origin": np.asarray(image.origin, dtype=float),
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip",
    }
    nrrd.write(str(path), np.ascontiguousarray(image.array), header, index_order="C")
