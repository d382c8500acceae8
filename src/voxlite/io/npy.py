"""NumPy .npy files: the array alone (unit spacing), read without pickles.

``np.load`` allocates the shape its header states before reading (and a header
can state 2**31 elements over a 100-byte file), so the header is parsed first
and its size checked against the file and the memory budget.
"""

from __future__ import annotations

import math
import tokenize
from pathlib import Path

import numpy as np

from voxlite.image import Image
from voxlite.io.limits import check_claim, claimed_bytes


def read(path: Path) -> Image:
    from numpy.lib import format as npy_format

    with open(path, "rb") as stream:
        version = npy_format.read_magic(stream)
        if version not in ((1, 0), (2, 0)):  # 3.0: utf-8 field names, structured data
            raise ValueError(f".npy format version {version[0]}.{version[1]} is not read")
        read_header = (
            npy_format.read_array_header_1_0
            if version == (1, 0)
            else npy_format.read_array_header_2_0
        )
        # numpy reads the header length it is told (version 2: up to 4 GiB) in one
        # read() before refusing headers over 10000 bytes: refuse them before it reads.
        width = 2 if version == (1, 0) else 4
        field = stream.read(width)
        length = int.from_bytes(field, "little")
        if len(field) < width or length > 10_000:
            raise ValueError(f"its header length {field!r} is cut short or over 10000 bytes")
        stream.seek(-width, 1)
        try:
            shape, fortran_order, dtype = read_header(stream)
        except (tokenize.TokenError, SyntaxError) as error:  # numpy tokenizes old headers
            raise ValueError(f"its header is not a Python literal ({error})") from None
        if dtype.hasobject:
            raise ValueError(f"its dtype {dtype} holds Python objects (pickles are not read)")
        start = stream.tell()
        size = stream.seek(0, 2)
        check_claim(path, claimed_bytes(path, shape, dtype.itemsize), size - start)
        stream.seek(start)
        count = math.prod(shape)
        # As np.load reads it, now that the count is known to fit in the file.
        array = np.fromfile(stream, dtype=dtype, count=count)
    if array.size != count:
        raise ValueError(f"its data holds {array.size} of the {count} values its header gives")
    array = array.reshape(shape[::-1]).transpose() if fortran_order else array.reshape(shape)
    return Image(array)


def write(image: Image, path: Path, final: Path | None = None) -> None:
    with open(path, "wb") as stream:
        np.save(stream, image.array, allow_pickle=False)
