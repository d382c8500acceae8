"""NRRD (.nrrd, or .nhdr with a detached data file) through pynrrd.

pynrrd parses the header; the voxels are read here, because pynrrd trusts the
header: it skips ``line skip`` lines one by one (10**12 of them is a hang),
opens any ``data file`` path (``/dev/zero`` never ends) and decompresses gzip and
bzip2 data without a limit. Here the claimed size is checked against the file
and the memory budget first, and decompression stops at the claimed size.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from voxlite.image import Image, select_component
from voxlite.io.limits import (
    check_claim,
    claimed_bytes,
    decompress_at_most,
    max_bytes,
    regular_file_beside,
)

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
    """A NRRD file; a 4D one (vectors, time points) needs ``component=``."""
    import nrrd

    with open(path, "rb") as stream:
        try:
            header = nrrd.read_header(stream)
        except StopIteration:  # pynrrd's next() on an empty file
            raise ValueError("the file is empty") from None
        except (nrrd.NRRDError, OverflowError) as error:  # OverflowError: sizes past int64
            raise ValueError(f"not a readable NRRD file ({error})") from None
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
    data = select_component(data, component, axis=_component_axis(header, data.ndim))
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
    )


def _component_axis(header: dict[str, Any], ndim: int) -> int:
    """The C-order axis of a 4D NRRD's non-spatial axis (its kind is not 'domain'/'space')."""
    kinds = [str(k).lower() for k in header.get("kinds", [])]
    if ndim == 4 and len(kinds) == 4:
        others = [i for i, kind in enumerate(kinds) if kind not in ("domain", "space")]
        if len(others) == 1:
            return ndim - 1 - others[0]
    return -1


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
        for _ in range(line_skip):
            source.readline()
        available = size - source.tell()
        if encoding in _TEXT:
            data = np.fromfile(source, dtype, sep=" ") if available else np.empty(0, dtype)
        elif encoding == "raw":
            if byte_skip == -1:  # the data is the last bytes of the file
                byte_skip = max(available - claim, 0)
            check_claim(path, claim, available - byte_skip)
            source.seek(byte_skip, io.SEEK_CUR)
            raw = bytearray(claim)  # no more than the file holds: checked just above
            source.readinto(raw)
            data = np.frombuffer(raw, dtype)
        elif encoding in _COMPRESSED:
            compressed = source.read()
            limit = max_bytes() if byte_skip == -1 else claim + byte_skip
            raw, more = decompress_at_most(compressed, limit, _COMPRESSED[encoding])
            if more:
                raise ValueError(
                    f"header and data disagree: the data holds more than {claim} "
                    "bytes, the size its header claims"
                )
            raw = raw[len(raw) - claim :] if byte_skip == -1 else raw[byte_skip:]
            if len(raw) != claim:
                raise ValueError(
                    f"header and data disagree: its header claims {claim} bytes, "
                    f"the data holds {len(raw)}"
                )
            data = np.frombuffer(bytearray(raw), dtype)
        else:
            raise ValueError(f"unsupported NRRD encoding {header['encoding']!r}")
    if data.size != claim // max(dtype.itemsize, 1):
        raise ValueError(f"header and data disagree: sizes {sizes} but {data.size} values")
    return data.reshape(sizes[::-1])


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
