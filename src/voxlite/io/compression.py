"""zlib and gzip: the fastest compatible implementation installed.

ISA-L's (``isal``) and zlib-ng's (``zlib-ng``) Python packages are drop-in
replacements for the standard library's ``zlib`` and ``gzip`` that inflate two
to three times as fast. voxlite uses one when it is importable and the standard
library otherwise (Pyodide has neither): the calls, and so the limits on what
is read and inflated, are the same whichever is used.
"""

from __future__ import annotations

import functools
import gzip
import importlib
import zlib
from types import ModuleType
from typing import NamedTuple

__all__ = ["FAST", "Implementation", "implementation"]

#: Tried in this order: (zlib-like module, gzip-like module).
FAST = (("isal.isal_zlib", "isal.igzip"), ("zlib_ng.zlib_ng", "zlib_ng.gzip_ng"))


class Implementation(NamedTuple):
    zlib: ModuleType  # decompressobj(wbits) with decompress(data, max_length), as zlib's
    gzip: ModuleType  # open(path, "rb"), as gzip's
    errors: tuple[type[BaseException], ...]  # what either raises for corrupt data


@functools.cache
def implementation() -> Implementation:
    """The first of :data:`FAST` that imports, else the standard library's."""
    for zlib_name, gzip_name in FAST:
        try:
            fast_zlib = importlib.import_module(zlib_name)
            fast_gzip = importlib.import_module(gzip_name)
        except ImportError:
            continue
        return Implementation(fast_zlib, fast_gzip, (fast_zlib.error, *standard().errors))
    return standard()


def standard() -> Implementation:
    """The standard library's zlib and gzip (all Pyodide has)."""
    return Implementation(zlib, gzip, (zlib.error, OSError, EOFError))
