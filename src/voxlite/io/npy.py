"""NumPy .npy files: the array alone (unit spacing), read without pickles."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxlite.image import Image


def read(path: Path) -> Image:
    return Image(np.load(path, allow_pickle=False))


def write(image: Image, path: Path, final: Path | None = None) -> None:
    with open(path, "wb") as stream:
        np.save(stream, image.array, allow_pickle=False)
