"""Comparing two images: one onto the other's grid, then shown as one (registration checks).

Two images of one patient or specimen rarely share a grid: another scanner, another
resolution, a registration result. :func:`resample` puts the moving image on the fixed
image's grid by their physical geometry (each fixed voxel's LPS point looked up in the
moving image, trilinear; nearest for label maps), so that both are compared voxel by
voxel where they overlap. Then:

===================  ==============================================================
``"green-magenta"``  two channels: fixed green, moving magenta (white where they agree)
``"cyan-magenta"``,  the same with other colour pairs
``"cyan-red"``
``"blend"``          two grey channels mixed: ``(1 - mix) * fixed + mix * moving``
``"checkerboard"``   squares of fixed and moving, each at its own window, alternating
===================  ==============================================================

Example
-------
>>> import numpy as np
>>> fixed = Image(np.zeros((4, 4, 4)), spacing=(2, 2, 2))
>>> moving = Image(np.arange(512.0).reshape(8, 8, 8))  # 1 mm voxels over the same box
>>> resample(moving, fixed).array[1, 1, 1]  # the fixed voxel at (2, 2, 2) mm
np.float32(146.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxlite.image import Image
from voxlite.windowing import default_window

__all__ = ["METHODS", "channel_settings", "checkerboard", "pair", "resample"]

METHODS = ("green-magenta", "cyan-magenta", "cyan-red", "blend", "checkerboard")
#: The channel colours of each two-colour method: fixed, moving.
COLOURS = {
    "green-magenta": ("#00ff00", "#ff00ff"),
    "cyan-magenta": ("#00ffff", "#ff00ff"),
    "cyan-red": ("#00ffff", "#ff0000"),
    "blend": ("#ffffff", "#ffffff"),
}


def resample(moving: Image, onto: Image, nearest: bool = False, fill: float = 0.0) -> Image:
    """``moving`` on ``onto``'s grid, looked up by physical position.

    Parameters
    ----------
    moving
        A scalar image (a time point, a channel).
    onto
        The image whose grid (shape, spacing, origin, direction) the result takes.
    nearest
        Nearest voxel (label maps) instead of trilinear interpolation.
    fill
        The value where a voxel of ``onto`` falls outside ``moving``.

    Raises
    ------
    ValueError
        When the two images do not overlap in physical space.
    """
    if moving.pixel != "scalar" or moving.timeseries:
        raise ValueError("resample a scalar image: pick a channel or a time point first")
    # Index of onto -> index of moving: two affines composed.
    to_moving = np.linalg.inv(moving.direction * np.asarray(moving.spacing))
    linear = to_moving @ (onto.direction * np.asarray(onto.spacing))
    offset = to_moving @ (np.asarray(onto.origin) - np.asarray(moving.origin))
    source = np.asarray(moving.array)
    out = np.empty(onto.shape, dtype=np.float32 if not nearest else source.dtype)
    nz, ny, nx = onto.shape
    j, i = np.mgrid[0:ny, 0:nx]
    inside = 0
    for k in range(nz):  # a plane at a time: memory of a plane, not of the volume's points
        points = np.stack([i.ravel(), j.ravel(), np.full(i.size, k)])
        index = linear @ points + offset[:, None]  # (i, j, k) of moving, continuous
        values, hits = (_nearest if nearest else _trilinear)(source, index, fill)
        out[k] = values.reshape(ny, nx)
        inside += int(hits.sum())
    if inside == 0:
        raise ValueError(
            "the images do not overlap in physical space (check their origins and "
            f"directions): moving spans {_extent(moving)}, fixed {_extent(onto)} (LPS mm)"
        )
    return onto.replace(array=out, name=moving.name, metadata=dict(moving.metadata))


def channel_settings(
    channels: list[dict[str, Any]], method: str, mix: float
) -> list[dict[str, Any]]:
    """The two channels' settings for a colour-pair or blend ``method`` (their windows kept)."""
    colours = COLOURS[method]
    opacities = (1.0 - mix, mix) if method == "blend" else (1.0, 1.0)
    return [
        {**channel, "color": colour, "opacity": opacity, "visible": True}
        for channel, colour, opacity in zip(channels, colours, opacities, strict=True)
    ]


def pair(fixed: Image, moving: Image, swap: bool = False) -> Image:
    """Fixed and moving (on fixed's grid) as the two channels of one image."""
    first, second = (moving, fixed) if swap else (fixed, moving)
    array = np.stack(
        [np.asarray(first.array, np.float32), np.asarray(second.array, np.float32)], -1
    )
    names = (first.name or "fixed", second.name or "moving")
    return fixed.replace(array=array, pixel="channels", channel_names=names, metadata={})


def checkerboard(fixed: Image, moving: Image, squares: int = 8) -> Image:
    """Squares of ``squares`` voxels alternating between the two, scaled to 0..1: by one
    window when they are on one scale, else each by its own (CT beside MR)."""
    if squares < 1:
        raise ValueError(f"checker squares must be at least 1 voxel, got {squares}")
    images = (fixed, moving)
    arrays = [np.asarray(image.array, np.float32) for image in images]
    windows = [default_window(a, image.metadata) for a, image in zip(arrays, images, strict=True)]
    if _one_scale(*windows):
        joint = default_window(np.concatenate([a.ravel() for a in arrays]), {})
        windows = [joint, joint]
    scaled = [_unit(array, window) for array, window in zip(arrays, windows, strict=True)]
    k, j, i = np.indices(fixed.shape, sparse=True)
    squares_of = (k // squares + j // squares + i // squares) % 2 == 1
    if fixed.shape[0] == 1:  # a 2D image: squares in its plane only
        squares_of = (j // squares + i // squares) % 2 == 1
    array = np.where(squares_of, scaled[1], scaled[0]).astype(np.float32)
    return fixed.replace(array=array, metadata={"format": "checkerboard"})


def _one_scale(first: tuple[float, float], second: tuple[float, float]) -> bool:
    """Two (window, level) pairs of one scale: alike widths and levels, or a constant image."""
    (w1, l1), (w2, l2) = first, second
    if min(w1, w2) <= 1e-6:  # a constant image has no window of its own
        return True
    return max(w1, w2) / min(w1, w2) < 4 and abs(l1 - l2) < max(w1, w2)


def _unit(array: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    width, level = window
    return np.clip((array - (level - width / 2)) / width, 0.0, 1.0)


def _trilinear(source: np.ndarray, index: np.ndarray, fill: float) -> tuple[np.ndarray, np.ndarray]:
    nz, ny, nx = source.shape
    size = np.array([[nx], [ny], [nz]])
    hits = np.all((index >= -0.5) & (index <= size - 0.5), axis=0)
    clipped = np.clip(index, 0, size - 1)
    low = np.floor(clipped).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    weight = clipped - low
    values = np.zeros(index.shape[1], np.float64)
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                x = high[0] if dx else low[0]
                y = high[1] if dy else low[1]
                z = high[2] if dz else low[2]
                w = (
                    (weight[0] if dx else 1 - weight[0])
                    * (weight[1] if dy else 1 - weight[1])
                    * (weight[2] if dz else 1 - weight[2])
                )
                values += w * source[z, y, x]
    return np.where(hits, values, fill), hits


def _nearest(source: np.ndarray, index: np.ndarray, fill: float) -> tuple[np.ndarray, np.ndarray]:
    nz, ny, nx = source.shape
    size = np.array([[nx], [ny], [nz]])
    voxel = np.rint(index).astype(np.int64)
    hits = np.all((voxel >= 0) & (voxel < size), axis=0)
    voxel = np.clip(voxel, 0, size - 1)
    return np.where(hits, source[voxel[2], voxel[1], voxel[0]], fill), hits


def _extent(image: Image) -> str:
    last = np.array(image.size) - 1
    corners = [image.index_to_physical(np.array(c) * last) for c in np.ndindex(2, 2, 2)]
    low, high = np.min(corners, axis=0), np.max(corners, axis=0)
    return f"{np.round(low, 1).tolist()} .. {np.round(high, 1).tolist()}"
