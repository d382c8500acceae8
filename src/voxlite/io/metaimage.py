"""MetaImage (.mha, or .mhd with a .raw data file): a small reader and writer of our own.

Why not a library: the maintained MetaImage readers are ITK's and SimpleITK's,
compiled and absent from Pyodide; the pure-Python ones on PyPI are unmaintained
or wrap SimpleITK. The format is a short text header (``Key = Value`` lines,
ending with ``ElementDataFile``) followed by raw, optionally zlib-compressed,
voxels, so a careful reader is small. What it does not read (slice lists,
per-file patterns, 4D) it refuses by name.

Geometry as ITK writes it: ``Offset`` is the origin, ``ElementSpacing`` the
spacing and ``TransformMatrix`` the direction flattened column by column.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from voxlite.image import Image, split_extra_axis
from voxlite.io.limits import (
    check_claim,
    claimed_bytes,
    decompressed,
    regular_file_beside,
    take,
)

ELEMENT_TYPES = {
    "MET_UCHAR": np.uint8,
    "MET_CHAR": np.int8,
    "MET_USHORT": np.uint16,
    "MET_SHORT": np.int16,
    "MET_UINT": np.uint32,
    "MET_INT": np.int32,
    "MET_ULONG_LONG": np.uint64,
    "MET_LONG_LONG": np.int64,
    "MET_FLOAT": np.float32,
    "MET_DOUBLE": np.float64,
}
TYPE_NAMES = {np.dtype(v): k for k, v in ELEMENT_TYPES.items()}
MAX_HEADER_BYTES = 1 << 16


def read_header(path: Path) -> tuple[dict[str, str], int]:
    """The header fields and the byte offset where LOCAL data starts."""
    with open(path, "rb") as stream:
        head = stream.read(MAX_HEADER_BYTES)
    fields: dict[str, str] = {}
    offset = 0
    for raw_line in head.splitlines(keepends=True):
        offset += len(raw_line)
        line = raw_line.decode("latin-1").strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"not a MetaImage header line: {line[:60]!r}")
        fields[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            return fields, offset
    raise ValueError("not a MetaImage file: no ElementDataFile in the header")


def read(path: Path, component: int | None = None) -> Image:
    """A MetaImage: a 4D one is a time series, several channels per voxel are channels
    (RGB(A) when 3 or 4 bytes); ``component=`` picks one."""
    fields, offset = read_header(path)
    ndims = int(fields.get("NDims", "3"))
    if ndims not in (2, 3, 4):
        raise ValueError(f"NDims = {ndims}: only 2D, 3D and 4D MetaImages are read")
    if ndims == 4 and int(fields.get("ElementNumberOfChannels", "1")) > 1:
        raise ValueError("NDims = 4 with several channels per voxel: 5D data is not read")
    if "DimSize" not in fields:
        raise ValueError("its header has no DimSize")
    size = [int(v) for v in fields["DimSize"].split()]
    if len(size) != ndims or min(size) < 1:
        raise ValueError(f"DimSize = {fields['DimSize']} does not fit NDims = {ndims}")
    element = fields.get("ElementType", "")
    if element not in ELEMENT_TYPES:
        raise ValueError(f"unsupported ElementType {element!r}")
    channels = int(fields.get("ElementNumberOfChannels", "1"))
    if channels < 1:
        raise ValueError(f"ElementNumberOfChannels = {channels}")
    big_endian = _true(fields.get("BinaryDataByteOrderMSB", fields.get("ElementByteOrderMSB")))
    dtype = np.dtype(ELEMENT_TYPES[element]).newbyteorder(">" if big_endian else "<")
    # Python integers: np.prod would wrap around for absurd sizes and claim a small size.
    expected = check_claim(path, claimed_bytes(path, [*size, channels], dtype.itemsize))
    raw = _data_bytes(path, fields, offset, expected)
    array = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
    shape = [*size[::-1], channels] if channels > 1 else size[::-1]
    if ndims == 2 and channels > 1:
        shape = [1, *shape]  # one slice of vectors, not a volume of rows
    # Channels are the fastest axis (last in C order); a 4th dimension the slowest (first):
    # time, as ITK writes a 4D image. Three or four bytes per voxel are colour.
    kind, axis = ("time", 0) if ndims == 4 else ("channels", -1)
    colour = dtype.itemsize == 1 and dtype.kind == "u"
    array, pixel_fields = split_extra_axis(array.reshape(shape), axis, kind, component, colour)
    spacing = _floats(fields, ("ElementSpacing", "ElementSize"), [1.0] * ndims)[:3]
    origin = _floats(fields, ("Offset", "Origin", "Position"), [0.0] * ndims)[:3]
    matrix = _floats(fields, ("TransformMatrix", "Rotation", "Orientation"), None)
    direction = np.eye(3)
    if matrix is not None:
        full = np.asarray(matrix).reshape(ndims, ndims).T
        spatial = min(ndims, 3)
        direction[:spatial, :spatial] = full[:spatial, :spatial]
    metadata = {"format": "MetaImage"}
    return Image(
        array,
        spacing=spacing,
        origin=origin,
        direction=direction,
        metadata=metadata,
        **pixel_fields,
    )


def _data_bytes(path: Path, fields: dict[str, str], offset: int, expected: int) -> bytes:
    source = fields["ElementDataFile"]
    if source.upper().startswith("LIST") or "%" in source or len(source.split()) > 1:
        raise ValueError(f"ElementDataFile = {source}: slice lists and patterns are not read")
    # The data file must be a regular file beside the header: not any path on the
    # machine, not a device (/dev/zero never ends) nor a FIFO (it would block).
    local = source.upper() == "LOCAL"
    data_path = path if local else regular_file_beside(path, source)
    with open(data_path, "rb") as stream:
        size = stream.seek(0, 2)
        start = offset if local else int(fields.get("HeaderSize", "0"))
        if start == -1 and not local:  # ITK: the data is the last bytes of the file
            start = max(size - expected, 0)
        if not 0 <= start <= size:
            raise ValueError(f"HeaderSize = {start} is outside the {size}-byte data file")
        stream.seek(start)
        if _true(fields.get("CompressedData")):
            raw, more = take(decompressed(stream, "zlib"), expected)
            if more:
                raise ValueError(
                    f"header and data disagree: the data holds more than {expected} bytes"
                )
        else:
            if expected > size - start:  # before reading: read(n) allocates n bytes first
                raise ValueError(
                    f"header and data disagree: DimSize and ElementType need {expected} bytes, "
                    f"the data holds {size - start}"
                )
            raw = stream.read(expected)
    if len(raw) != expected:
        raise ValueError(
            f"header and data disagree: DimSize and ElementType need {expected} bytes, "
            f"the data holds {len(raw)}"
        )
    return raw


def write(image: Image, path: Path, final: Path | None = None) -> None:
    """``.mha``: one file, zlib-compressed; ``.mhd``: a header and a ``.raw`` beside it."""
    array = np.ascontiguousarray(image.array)
    if array.dtype not in TYPE_NAMES:
        array = array.astype(np.float32)
    array = array.astype(array.dtype.newbyteorder("<"))
    detached = path.suffix.lower() == ".mhd"
    data = array.tobytes() if detached else zlib.compress(array.tobytes(), 6)
    raw_name = (final or path).with_suffix(".raw").name
    header = [
        "ObjectType = Image",
        "NDims = 3",
        "BinaryData = True",
        "BinaryDataByteOrderMSB = False",
        f"CompressedData = {'False' if detached else 'True'}",
        *([] if detached else [f"CompressedDataSize = {len(data)}"]),
        "TransformMatrix = " + _numbers(image.direction.T.ravel()),
        "Offset = " + _numbers(image.origin),
        "ElementSpacing = " + _numbers(image.spacing),
        "DimSize = " + " ".join(str(n) for n in image.size),
        f"ElementType = {TYPE_NAMES[array.dtype.newbyteorder('=')]}",
        f"ElementDataFile = {raw_name if detached else 'LOCAL'}",
    ]
    text = ("\n".join(header) + "\n").encode("latin-1")
    if detached:
        path.write_bytes(text)
        path.with_suffix(".raw").write_bytes(data)
    else:
        path.write_bytes(text + data)


def _true(value: str | None) -> bool:
    return str(value).strip().lower() in ("true", "1")


def _floats(fields: dict[str, str], keys: tuple[str, ...], default):
    for key in keys:
        if key in fields:
            try:
                return [float(v) for v in fields[key].split()]
            except ValueError:
                raise ValueError(f"{key} = {fields[key]} is not a list of numbers") from None
    return default


def _numbers(values) -> str:
    return " ".join(repr(float(v)) for v in np.asarray(values).ravel())
