"""The one image model every voxlite path goes through.

An :class:`Image` is a 3D array plus the geometry that places it in physical
space, following ITK's conventions:

* ``array`` is indexed ``[z, y, x]`` (like ``itk.GetArrayFromImage``), so the
  last axis varies fastest in memory. It may also be a lazy array (zarr,
  dask, a memory map), read in parts by the viewer's multiscale display;
* ``spacing`` and ``origin`` are given in ``(x, y, z)`` order, in millimetres;
* ``direction`` is a 3x3 matrix whose *columns* are the physical directions of
  the x, y and z index axes, in LPS (left, posterior, superior) space.

The physical position of the voxel ``array[k, j, i]`` is therefore::

    origin + direction @ (spacing * (i, j, k))

Beyond one scalar per voxel, ``pixel`` says what the last axis holds and
``timeseries`` whether the first is time, as OME-NGFF's ``t`` and ITK's vector
pixels do:

=============  ==========================  ======================================
``pixel``      ``array``                   for
=============  ==========================  ======================================
``"scalar"``   ``[z, y, x]``               CT, MR, most of what is scanned
``"rgb"``      ``[z, y, x, 3]``            photos, histology, colour ultrasound
``"rgba"``     ``[z, y, x, 4]``            the same with opacity
``"channels"`` ``[z, y, x, c]``            fluorescence microscopy, MONAI tensors
=============  ==========================  ======================================

with ``[t, ...]`` in front when ``timeseries`` (fMRI, cine, 4D CT). A 2D image is
one slice: ``z`` (or the axis across it) has one voxel. :meth:`Image.frame` and
:meth:`Image.channel` take one time point or one channel, lazily for lazy arrays.

An image may also carry the coarser levels it was stored with (an OME-Zarr's
pyramid) in ``levels``, for the viewer's multiscale display.

This module is the base of voxlite's data path: it imports nothing of voxlite,
and every other module may import it (``io`` reads files into images,
``adapters`` converts foreign objects, the view model shows them).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "Image",
    "LazyArray",
    "affine_to_lps_geometry",
    "is_lazy",
    "pick_component",
    "select_component",
    "split_extra_axis",
]

# LPS = diag(-1, -1, 1) @ RAS: NIfTI, nibabel and MONAI affines are RAS.
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])
#: What a voxel holds, and how many values along the last axis (None: any count).
PIXEL_TYPES = {"scalar": 0, "rgb": 3, "rgba": 4, "channels": None}


@runtime_checkable
class LazyArray(Protocol):
    """An array read on demand, in parts: a zarr or dask array, an h5py dataset, a memory map.

    The viewer never converts it whole; it reads the slabs, planes and levels it shows
    by indexing. numpy arrays satisfy it too: :func:`is_lazy` tells them apart.
    """

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> Any: ...

    @property
    def ndim(self) -> int: ...

    def __getitem__(self, key: Any) -> Any: ...


@dataclasses.dataclass(frozen=True, eq=False)
class Image:
    """An image: voxels ``[z, y, x]`` (see the module for colour, channels and time)
    plus LPS geometry and metadata.

    Example:
        >>> import numpy as np
        >>> img = Image(np.zeros((4, 5, 6), np.uint8), spacing=(0.5, 0.5, 2.0))
        >>> img.shape, img.spacing
        ((4, 5, 6), (0.5, 0.5, 2.0))
        >>> img.index_to_physical((1, 0, 0)).tolist()
        [0.5, 0.0, 0.0]
    """

    array: np.ndarray | LazyArray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = dataclasses.field(default_factory=lambda: np.eye(3))
    name: str = ""
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Coarser stored levels of the same image (an OME-Zarr's pyramid), finest first,
    #: each an :class:`Image` (usually lazy) placed in the same physical space.
    levels: tuple[Image, ...] = ()
    #: What each voxel holds: "scalar", "rgb", "rgba" or "channels" (the last axis).
    pixel: str = "scalar"
    #: The first axis is time.
    timeseries: bool = False
    #: Names of the channels (``pixel="channels"``), e.g. from OME metadata.
    channel_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        array = _check_array(self.array, self.pixel, self.timeseries)
        spacing = _vector3("spacing", self.spacing)
        if any(s <= 0 for s in spacing):
            raise ValueError(f"spacing must be positive in every axis, got {spacing}")
        origin = _vector3("origin", self.origin)
        direction = _direction(self.direction)
        # frozen dataclass: normalised fields are written once, here.
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "direction", direction)
        object.__setattr__(self, "metadata", dict(self.metadata))
        object.__setattr__(self, "levels", _levels(self.levels))
        object.__setattr__(self, "channel_names", _channel_names(self))

    @property
    def shape(self) -> tuple[int, int, int]:
        """The spatial shape ``(nz, ny, nx)`` (without time or components)."""
        start = 1 if self.timeseries else 0
        return tuple(int(n) for n in self.array.shape[start : start + 3])  # type: ignore[return-value]

    @property
    def components(self) -> int:
        """Values per voxel: 1 for a scalar image, 3 for RGB, the channels' count ..."""
        return 1 if self.pixel == "scalar" else int(self.array.shape[-1])

    @property
    def frames(self) -> int:
        """Time points: 1 unless :attr:`timeseries`."""
        return int(self.array.shape[0]) if self.timeseries else 1

    def frame(self, index: int) -> Image:
        """Time point ``index`` as an image of its own (read lazily for a lazy array).

        Example
        -------
        >>> cine = Image(np.zeros((5, 1, 8, 8)), timeseries=True)
        >>> cine.frames, cine.frame(2).shape, cine.frame(2).timeseries
        (5, (1, 8, 8), False)
        """
        if not self.timeseries:
            if index != 0:
                raise ValueError(f"time point {index}: the image has one (it is not a series)")
            return self
        if not -self.frames <= index < self.frames:
            raise ValueError(f"time point {index} is outside 0..{self.frames - 1}")
        array = self.array[index]
        return dataclasses.replace(self, array=array, timeseries=False, levels=())

    def channel(self, index: int) -> Image:
        """Channel (or colour component) ``index`` as a scalar image.

        Example
        -------
        >>> rgb = Image(np.zeros((1, 4, 4, 3), np.uint8), pixel="rgb")
        >>> rgb.channel(1).pixel, rgb.channel(1).shape
        ('scalar', (1, 4, 4))
        """
        if self.pixel == "scalar":
            if index != 0:
                raise ValueError(f"channel {index}: the image has one (it is scalar)")
            return self
        if not -self.components <= index < self.components:
            raise ValueError(f"channel {index} is outside 0..{self.components - 1}")
        array = self.array[..., index]
        name = self.channel_names[index] if self.channel_names else self.name
        return dataclasses.replace(
            self, array=array, pixel="scalar", channel_names=(), levels=(), name=name
        )

    @property
    def size(self) -> tuple[int, int, int]:
        """Voxel counts in ``(x, y, z)`` order, as ITK's ``GetSize()``."""
        nz, ny, nx = self.shape
        return (nx, ny, nz)

    def index_to_physical(self, index_xyz: Any) -> np.ndarray:
        """Physical LPS position of a continuous index given as ``(i, j, k)``."""
        index = np.asarray(index_xyz, dtype=float)
        return np.asarray(self.origin) + self.direction @ (np.asarray(self.spacing) * index)

    def physical_to_index(self, point: Any) -> np.ndarray:
        """The continuous index ``(i, j, k)`` of a physical LPS point (the inverse of
        :meth:`index_to_physical`)."""
        offset = np.asarray(point, dtype=float) - np.asarray(self.origin)
        return np.linalg.solve(self.direction * np.asarray(self.spacing), offset)

    def same_geometry(self, other: Image, tolerance: float = 1e-4) -> bool:
        """True when ``other`` has the same grid: shape, spacing, origin, direction."""
        return (
            self.shape == other.shape
            and np.allclose(self.spacing, other.spacing, rtol=tolerance)
            and np.allclose(self.origin, other.origin, atol=tolerance * max(self.spacing))
            and np.allclose(self.direction, other.direction, atol=tolerance)
        )

    @property
    def lazy(self) -> bool:
        """True when the voxels are read on demand (zarr, dask): see :func:`is_lazy`."""
        return is_lazy(self.array)

    def load(self) -> Image:
        """This image with its voxels in memory as a numpy array (itself if they already are)."""
        return self.replace(array=np.asarray(self.array)) if self.lazy else self

    def replace(self, **changes: Any) -> Image:
        """A copy with some fields changed (the array is not copied).

        New voxels are a new image: they drop the stored ``levels`` unless given too.
        """
        if "array" in changes:
            changes.setdefault("levels", ())
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_ijk(cls, array_ijk: Any, affine: Any, *, ras: bool = True, **fields: Any) -> Image:
        """An image from an array indexed ``[i, j, k]`` and its 4x4 affine (nibabel, MONAI).

        Parameters
        ----------
        array_ijk
            2D or 3D voxels indexed ``[i, j, k]`` (x fastest in physical meaning), with a
            fourth axis last for a time series or channels (``timeseries``, ``pixel``).
        affine
            The 4x4 voxel-to-world matrix.
        ras
            The affine maps to RAS (NIfTI) rather than LPS.
        **fields
            Other :class:`Image` fields (``name``, ``metadata``, ``pixel``, ``timeseries``).

        Example
        -------
        >>> img = Image.from_ijk(np.zeros((4, 3, 2)), np.diag([2.0, 2.0, 3.0, 1.0]))
        >>> img.shape, img.spacing, img.direction.diagonal().tolist()
        ((2, 3, 4), (2.0, 2.0, 3.0), [-1.0, -1.0, 1.0])
        """
        array = np.asarray(array_ijk)
        extra = fields.get("timeseries") or fields.get("pixel", "scalar") != "scalar"
        spatial = array.ndim - 1 if extra else array.ndim
        array = array.transpose(*reversed(range(spatial)), *range(spatial, array.ndim))
        if fields.get("timeseries"):
            array = np.moveaxis(array, -1, 0)
        if not isinstance(array, np.memmap):  # a memory map stays one: its voxels stay on disk
            array = np.ascontiguousarray(array)
        return cls(array, **affine_to_lps_geometry(affine, ras=ras), **fields)

    def __repr__(self) -> str:
        return (
            f"Image(name={self.name!r}, shape={self.shape}, dtype={self.array.dtype}, "
            f"spacing={self.spacing}, origin={self.origin})"
        )


def pick_component(array: np.ndarray, component: int | None, axis: int = -1) -> np.ndarray:
    """Reduce a 4D array to 3D by choosing ``component`` along ``axis``."""
    if array.ndim != 4:
        return array
    count = array.shape[axis]
    if component is None:
        if count == 1:
            return np.take(array, 0, axis=axis)
        raise ValueError(
            f"got a 4D array of shape {array.shape} with {count} components along axis "
            f"{axis}; choose one with component=0..{count - 1}"
        )
    if not -count <= component < count:
        raise ValueError(f"component={component} is out of range for {count} components")
    return np.take(array, component, axis=axis)


def select_component(array: Any, component: int | None, axis: int = -1) -> np.ndarray:
    """:func:`pick_component` for what a file holds: a 3D array has only component 0.

    Example:
        >>> select_component(np.zeros((2, 3, 4, 5)), 1).shape
        (2, 3, 4)
    """
    array = np.asarray(array)
    if array.ndim != 4 and component not in (None, 0, -1):
        raise ValueError(f"component={component}: the image is {array.ndim}D, one component")
    return pick_component(array, component, axis=axis)


def split_extra_axis(
    array: Any, axis: int, kind: str, component: int | None = None, colour: bool = False
) -> tuple[np.ndarray, dict[str, Any]]:
    """A 3D array, or a 4D one's extra ``axis`` where an :class:`Image` keeps it.

    ``kind`` is "time" (moved first: a time series) or "channels" (moved last; RGB(A)
    when ``colour`` and there are 3 or 4). ``component`` picks one instead. Returns the
    array and the Image fields (``timeseries``, ``pixel``) that say so.

    Example
    -------
    >>> array, fields = split_extra_axis(np.zeros((2, 3, 4, 5)), 0, "time")
    >>> array.shape, fields
    ((2, 3, 4, 5), {'timeseries': True})
    >>> split_extra_axis(np.zeros((3, 3, 4, 5)), 0, "channels", colour=True)[1]
    {'pixel': 'rgb'}
    """
    array = np.asarray(array)
    if component is not None or array.ndim != 4:
        return select_component(array, component, axis=axis), {}
    if array.shape[axis] == 1:
        return np.take(array, 0, axis=axis), {}
    if kind == "time":
        return np.moveaxis(array, axis, 0), {"timeseries": True}
    array = np.moveaxis(array, axis, -1)
    count = array.shape[-1]
    if colour and count in (3, 4):
        return array, {"pixel": "rgb" if count == 3 else "rgba"}
    return array, {"pixel": "channels"}


def affine_to_lps_geometry(affine: Any, ras: bool = True) -> dict[str, Any]:
    """Split a 4x4 voxel-to-world affine into ITK-style spacing, origin and direction.

    The affine maps nibabel's index order ``(i, j, k)`` to world coordinates
    (RAS when ``ras`` is true, as in NIfTI; LPS otherwise).

    Example:
        >>> geo = affine_to_lps_geometry(np.diag([2.0, 3.0, 4.0, 1.0]))
        >>> geo["spacing"], geo["direction"].diagonal().tolist()
        ((2.0, 3.0, 4.0), [-1.0, -1.0, 1.0])
    """
    affine = np.asarray(affine, dtype=float)
    if affine.shape != (4, 4):
        raise ValueError(f"an affine must be 4x4, got shape {affine.shape}")
    if not np.all(np.isfinite(affine)):
        raise ValueError("the affine contains NaN or infinite values")
    linear, translation = affine[:3, :3], affine[:3, 3]
    if ras:
        linear, translation = RAS_TO_LPS @ linear, RAS_TO_LPS @ translation
    spacing = np.linalg.norm(linear, axis=0)
    if np.any(spacing == 0):
        raise ValueError("the affine has a zero-length axis (zero spacing)")
    return {
        "spacing": tuple(spacing.tolist()),
        "origin": tuple(translation.tolist()),
        "direction": linear / spacing,
    }


# -- validation helpers ------------------------------------------------------


def is_lazy(array: Any) -> bool:
    """An array read on demand (zarr, dask, h5py): indexed in parts, never converted whole.

    Example:
        >>> is_lazy(np.zeros(3)), is_lazy([1, 2])
        (False, False)
    """
    if isinstance(array, np.ndarray) or not all(
        hasattr(array, name) for name in ("shape", "dtype", "ndim", "__getitem__")
    ):
        return False
    try:
        np.dtype(array.dtype)  # torch and other tensor types have dtypes numpy does not know
    except TypeError:
        return False
    return True


def _levels(levels: Any) -> tuple[Image, ...]:
    levels = tuple(levels)
    if not all(isinstance(level, Image) for level in levels):
        raise TypeError("levels must be Images (an image's coarser stored levels)")
    return levels


def _check_array(array: Any, pixel: str, timeseries: bool) -> np.ndarray | LazyArray:
    if pixel not in PIXEL_TYPES:
        raise ValueError(f"unknown pixel {pixel!r}; choose one of {', '.join(PIXEL_TYPES)}")
    spatial_start = 1 if timeseries else 0
    expected = 3 + (pixel != "scalar") + timeseries
    if not is_lazy(array):
        array = np.asarray(array)
        if array.ndim == expected - 1:  # a 2D image: one slice
            array = np.expand_dims(array, spatial_start)
    _check_dtype(np.dtype(array.dtype))
    shape = tuple(int(n) for n in array.shape)
    if math.prod(shape) == 0:
        raise ValueError(f"the image is empty (shape {shape})")
    if len(shape) != expected:
        raise ValueError(_dimension_message(shape, pixel, timeseries, expected))
    count = PIXEL_TYPES[pixel]
    if count and shape[-1] != count:
        raise ValueError(f"an {pixel.upper()} image has {count} values per voxel, got {shape[-1]}")
    return array


def _dimension_message(shape: tuple[int, ...], pixel: str, timeseries: bool, expected: int) -> str:
    if pixel == "scalar" and not timeseries:
        hint = (
            "; a 4D array needs component= (one channel), or pixel='channels' / 'rgb' (the "
            "last axis) or timeseries=True (the first)"
        )
        return (
            f"expected a 2D or 3D array, got {len(shape)}D {shape}{hint if len(shape) == 4 else ''}"
        )
    what = f"{'time, ' if timeseries else ''}z, y, x{'' if pixel == 'scalar' else ', ' + pixel}"
    return f"expected {expected} axes ({what}), got {len(shape)}D {shape}"


def _channel_names(image: Image) -> tuple[str, ...]:
    names = tuple(str(name) for name in image.channel_names)
    if names and (image.pixel != "channels" or len(names) != image.components):
        raise ValueError(
            f"channel_names gives {len(names)} names for {image.components} "
            f"{'channels' if image.pixel == 'channels' else 'components of a ' + image.pixel}"
        )
    return names


def _check_dtype(dtype: np.dtype) -> None:
    if dtype.kind == "O":
        raise TypeError("object arrays cannot be shown; convert to a numeric dtype first")
    if dtype.kind == "c":
        raise TypeError(
            f"complex data ({dtype}) cannot be shown; pass np.abs(a), a.real or np.angle(a)"
        )
    if dtype.kind not in "biuf":
        raise TypeError(f"unsupported dtype {dtype}: voxlite shows numeric images")


def _vector3(label: str, value: Any) -> tuple[float, float, float]:
    try:
        vector = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"{label} must be 3 numbers, got {value!r}") from None
    if vector.size == 2:  # 2D geometry: add a unit third axis
        vector = np.append(vector, 1.0 if label == "spacing" else 0.0)
    if vector.size != 3:
        raise ValueError(f"{label} must have 3 values (x, y, z), got {vector.size}")
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"{label} must be finite, got {tuple(vector.tolist())}")
    return tuple(float(v) for v in vector)  # type: ignore[return-value]


def _direction(value: Any) -> np.ndarray:
    matrix = np.asarray(value, dtype=float)
    if matrix.size == 9:
        matrix = matrix.reshape(3, 3)
    if matrix.shape != (3, 3):
        raise ValueError(f"direction must be a 3x3 matrix, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("direction must be finite")
    if abs(np.linalg.det(matrix)) < 1e-6:
        raise ValueError("direction is singular: its columns must be independent axes")
    return matrix.copy()
