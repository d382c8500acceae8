"""Pictures: PNG, JPEG, BMP and GIF files through Pillow, as 2D grey or colour images.

A photo, a microscope snapshot or a slide scan is one slice: ``[1, rows, columns]``
grey, or ``[1, rows, columns, 3 | 4]`` RGB(A); palette images are looked up into
colour. These formats carry no physical size (a PNG's ``pHYs`` is dots per metre
for printing), so the spacing is 1 (unitless, ``metadata["unit"]`` is None).

Pillow checks a picture's size before decoding it (``Image.MAX_IMAGE_PIXELS``), and
here the pixels a header claims are checked against the memory budget as for every
format. Pillow is in Pyodide's distribution; in CPython it is optional.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxlite.image import Image
from voxlite.io.limits import check_claim

__all__ = ["SUFFIXES", "read"]

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# Pillow's modes as (the mode decoded to, voxlite's pixel type).
_MODES = {
    "1": ("L", "scalar"),
    "L": ("L", "scalar"),
    "I;16": ("I;16", "scalar"),
    "I": ("I", "scalar"),
    "F": ("F", "scalar"),
    "RGB": ("RGB", "rgb"),
    "RGBA": ("RGBA", "rgba"),
    "LA": ("RGBA", "rgba"),
    "P": ("RGB", "rgb"),
    "PA": ("RGBA", "rgba"),
    "CMYK": ("RGB", "rgb"),
    "YCbCr": ("RGB", "rgb"),
}


def read(path: Path) -> Image:
    """A picture file as a 2D image; see the module."""
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise ValueError("reading pictures needs Pillow: pip install pillow") from None
    try:
        with PILImage.open(path) as picture:
            width, height = picture.size
            mode = picture.mode
            if mode == "P" and "transparency" in picture.info:
                mode = "PA"
            target, pixel = _MODES.get(mode, ("RGB", "rgb"))
            values = {"scalar": 1, "rgb": 3, "rgba": 4}[pixel]
            itemsize = 4 if target in ("I", "F") else 2 if target == "I;16" else 1
            check_claim(path, width * height * values * itemsize, what="its size")
            array = np.asarray(picture.convert(target) if target != picture.mode else picture)
    except PILImage.DecompressionBombError as error:
        raise ValueError(f"it claims too many pixels ({error})") from None
    except (OSError, SyntaxError) as error:  # Pillow's UnidentifiedImageError is an OSError
        raise ValueError(f"not a readable picture ({error})") from None
    metadata = {"format": f"{picture.format or path.suffix[1:].upper()}", "unit": None}
    return Image(array[np.newaxis], pixel=pixel, metadata=metadata)
