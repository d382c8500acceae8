"""Levels of detail for volumes larger than one texture.

A browser draws a volume from one 3D texture. A 512 x 512 x 600 CT (300 MB as
uint16, 600 MB as float32) is more than a laptop GPU, a browser tab or Pyodide's
32-bit heap should hold, so the viewer shows a volume over its budget
(:data:`DEFAULT_MAX_VOXELS`) in stages:

1. **Preview**: a coarse level, at most ``max_voxels / 8`` voxels, sent at once.
   It comes from the file's own pyramid (OME-Zarr) or is sampled with a stride,
   which reads a fraction of the source: the first picture does not wait for a
   pass over the data. Every image larger than a preview gets one.
2. **Refined**: the finest level that fits the budget (the image itself if it
   fits), from the file's pyramid or computed once by block averaging (labels:
   nearest voxel, so that labels stay labels). It is computed slab by slab in
   the kernel's event loop once the view has drawn the preview (see
   :func:`voxlite.widget.Viewer.set_image`): each slab of source voxels is read,
   reduced and dropped, so memory holds the source (which may stay on disk, for
   zarr, dask and memory-mapped NIfTI) plus the level, never a float copy of
   the whole volume.
3. **Slices** are cut from the full-resolution source, plane by plane, at the
   current position.

Levels keep their physical placement: a block's average sits at the centre of
its block, so a level overlays the full-resolution grid exactly.

Example:
    >>> import numpy as np
    >>> source = Image(np.arange(4 * 4 * 4, dtype=np.uint16).reshape(4, 4, 4))
    >>> factors_for(source.shape, max_voxels=8)
    (2, 2, 2)
    >>> level = run(block_mean(source, (2, 2, 2)))
    >>> level.shape, level.spacing, level.origin
    ((2, 2, 2), (2.0, 2.0, 2.0), (0.5, 0.5, 0.5))
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np

from voxlite.image import Image

#: Voxels per volume texture: 256³ (32 MB as uint16) suits a laptop GPU.
DEFAULT_MAX_VOXELS = 256**3
#: The most voxels ``max_voxels`` may be set to (2 GB of float32 texture: past this
#: a browser tab fails, and Pyodide's heap cannot hold the level).
LIMIT_MAX_VOXELS = 512**3
#: WebGL2 guarantees 3D textures of 256 per side; desktop GPUs and SwiftShader give 2048.
MAX_TEXTURE_SIDE = 2048
#: A preview has at most this fraction of the budget: the first frame should be quick.
PREVIEW_FRACTION = 1 / 8
#: Voxels read per step of a level computation (about 8 MB of uint16).
SLAB_VOXELS = 1 << 22

# (z, y, x) factors, as the array's axes.
Factors = tuple[int, int, int]
Progress = Generator[float, None, Image]


def preview_voxels(max_voxels: int) -> int:
    return max(1, int(max_voxels * PREVIEW_FRACTION))


def voxels(shape: Sequence[int]) -> int:
    return math.prod(int(n) for n in shape)


def fits(shape: Sequence[int], max_voxels: int) -> bool:
    """Can a volume of this (z, y, x) shape be one texture within the budget?"""
    return voxels(shape) <= max_voxels and max(shape) <= MAX_TEXTURE_SIDE


def factors_for(shape: Sequence[int], max_voxels: int) -> Factors:
    """Power-of-two (z, y, x) reduction factors that bring ``shape`` within the budget.

    The longest axis (in voxels) is halved first, so thin stacks keep their slices.
    """
    factors = [1, 1, 1]
    while not fits(reduced_shape(shape, factors), max_voxels):
        reduced = reduced_shape(shape, factors)
        axis = max(range(3), key=lambda a: reduced[a])
        if reduced[axis] == 1:
            break  # a single voxel: nothing left to reduce
        factors[axis] *= 2
    return tuple(factors)  # type: ignore[return-value]


def reduced_shape(shape: Sequence[int], factors: Sequence[int]) -> tuple[int, int, int]:
    return tuple(-(-int(n) // f) for n, f in zip(shape, factors, strict=True))  # type: ignore[return-value]


def level_geometry(image: Image, factors: Sequence[int], centred: bool) -> dict[str, Any]:
    """Spacing and origin of a level: voxels ``factors`` times larger.

    A block average sits at its block's centre (``centred``); a strided sample
    at its first voxel.
    """
    fx, fy, fz = factors[2], factors[1], factors[0]
    scale = np.array([fx, fy, fz], dtype=float)
    shift = (scale - 1) / 2 if centred else np.zeros(3)
    return {
        "spacing": tuple(np.asarray(image.spacing) * scale),
        "origin": tuple(image.index_to_physical(shift)),
    }


def strided(image: Image, factors: Sequence[int]) -> Image:
    """Every ``factors``-th voxel: a nearest-neighbour level that reads a fraction of the source.

    Used for previews, and for label maps at every level (labels are not averaged).
    """
    fz, fy, fx = factors
    array = np.ascontiguousarray(np.asarray(image.array[::fz, ::fy, ::fx]))
    return image.replace(array=array, **level_geometry(image, factors, centred=False))


def block_mean(image: Image, factors: Sequence[int]) -> Progress:
    """Average ``factors`` blocks of voxels, slab by slab; yields the fraction done.

    Integer images stay in their type (rounded), others become float32. Blocks at
    the far edges may be partial; they average the voxels they have. Use
    :func:`run` to compute it at once.
    """
    fz, fy, fx = factors
    nz, ny, nx = image.shape
    dtype = image.array.dtype if np.dtype(image.array.dtype).kind in "iu" else np.dtype(np.float32)
    components = tuple(int(n) for n in image.array.shape[3:])  # colour, channels
    level = np.empty(reduced_shape(image.shape, factors) + components, dtype=dtype)
    y_starts, x_starts = np.arange(0, ny, fy), np.arange(0, nx, fx)
    area = np.outer(np.diff(y_starts, append=ny), np.diff(x_starts, append=nx))
    area = area.reshape(area.shape + (1,) * len(components))
    step = max(1, SLAB_VOXELS // (ny * nx * fz)) * fz  # slices per slab, a multiple of fz
    for z0 in range(0, nz, step):
        slab = np.asarray(image.array[z0 : z0 + step])
        for start in range(0, slab.shape[0], fz):
            block = slab[start : start + fz]
            total = np.add.reduceat(block.sum(axis=0, dtype=np.float32), y_starts, axis=0)
            total = np.add.reduceat(total, x_starts, axis=1)
            mean = total / (area * block.shape[0])
            level[(z0 + start) // fz] = np.rint(mean) if dtype.kind in "iu" else mean
        yield min(1.0, (z0 + step) / nz)
    return image.replace(array=level, **level_geometry(image, factors, centred=True))


def read_slabs(image: Image) -> Progress:
    """Load a lazy image into memory slab by slab; yields the fraction done."""
    nz, ny, nx = image.shape
    array = np.empty(tuple(image.array.shape), dtype=np.dtype(image.array.dtype))
    step = max(1, SLAB_VOXELS // (ny * nx))
    for z0 in range(0, nz, step):
        array[z0 : z0 + step] = np.asarray(image.array[z0 : z0 + step])
        yield min(1.0, (z0 + step) / nz)
    return image.replace(array=array)


def run(steps: Progress) -> Image:
    """Run a level computation to its end and return the level."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def plane(image: Image, axis: int, index: int) -> Image:
    """One full-resolution plane: ``axis`` 0, 1, 2 is x, y, z (index order i, j, k)."""
    key: list[Any] = [slice(None)] * 3
    key[2 - axis] = slice(index, index + 1)
    position = [0, 0, 0]
    position[axis] = index
    array = np.ascontiguousarray(np.asarray(image.array[tuple(key)]))
    return image.replace(array=array, origin=tuple(image.index_to_physical(position)))


class Levels:
    """The levels an image can be shown from: its own pyramid (OME-Zarr), or computed ones.

    ``images[0]`` is the full-resolution source; further entries are the file's
    coarser levels, finest first, each a (possibly lazy) :class:`Image`.
    """

    def __init__(self, images: Sequence[Image]) -> None:
        self.images = list(images)

    @property
    def full(self) -> Image:
        return self.images[0]

    def needs_levels(self, max_voxels: int) -> bool:
        """Is the image over the budget, to be shown from a level (its slices from planes)?"""
        return not fits(self.full.shape, max_voxels)

    def needs_preview(self, max_voxels: int) -> bool:
        """Is the image larger than a preview, so that a preview makes the first frame sooner?"""
        return not fits(self.full.shape, preview_voxels(max_voxels))

    def preview(self, max_voxels: int) -> Image:
        """A coarse level for the first picture: a stored one, else a strided sample."""
        budget = preview_voxels(max_voxels)
        for image in self.images:
            if fits(image.shape, budget):
                return image.load()
        coarsest = self.images[-1]
        return strided(coarsest, factors_for(coarsest.shape, budget))

    def refined(self, max_voxels: int, labels: bool = False) -> Progress:
        """The finest level within the budget: a stored one read, else one computed."""
        for image in self.images:
            if fits(image.shape, max_voxels):
                return (yield from read_slabs(image)) if image.lazy else image
        coarsest = self.images[-1]
        factors = factors_for(coarsest.shape, max_voxels)
        if labels:
            return strided(coarsest, factors)
        return (yield from block_mean(coarsest, factors))


def levels_of(image: Image) -> Levels:
    """An image's levels: the image, then its stored coarser levels (an OME-Zarr's pyramid)."""
    return Levels([image, *image.levels])
