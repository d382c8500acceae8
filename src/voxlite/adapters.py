"""Conversions from anything voxlite shows to :class:`voxlite.Image`: :func:`as_image`.

One small function per library, recognised by duck typing so that none of
these libraries is a dependency: an object is only handled by an adapter when
its library is already imported by the caller. A path is read with
:func:`voxlite.io.read_image`.

Imports: :mod:`voxlite.image` and :mod:`voxlite.io` (never the reverse).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from voxlite.image import Image, affine_to_lps_geometry, is_lazy, pick_component
from voxlite.io import read_image

__all__ = ["affine_to_lps_geometry", "as_image", "convert"]

GEOMETRY_FIELDS = frozenset({"spacing", "origin", "direction", "name", "metadata"})


def as_image(
    obj: Any,
    *,
    component: int | None = None,
    rgb: bool | None = None,
    timeseries: bool | None = None,
    **geometry: Any,
) -> Image:
    """Convert anything voxlite understands into an :class:`Image`.

    A fourth axis is read as the source means it: channels for ITK/SimpleITK vector
    images, torch and MONAI tensors (channel first) and arrays (the last axis if it
    has at most 8 values, else the first); time for 4D NIfTI (its 4th dimension is
    time, as the standard says) and xarray's ``t``/``time``. RGB(A) is told from
    channels by its 3 or 4 8-bit values per voxel; a 3D array of 8-bit values whose
    last axis has 3 or 4 values and whose other two have at least 16 each is a 2D
    colour image (a photo, a slide), not a thin volume. ``rgb`` and ``timeseries``
    override these rules.

    Parameters
    ----------
    obj
        An :class:`Image`, a path (read with :func:`voxlite.read_image`), a numpy
        array, or (duck-typed, without importing them) an ITK, SimpleITK, nibabel,
        xarray, zarr, dask, torch or MONAI object, or anything with ``__array__``.
    component
        Shows one channel (or time point) of a 4D input as a scalar image.
    rgb
        True: the last axis is colour; False: never colour (channels, or a volume).
    timeseries
        True: an array's first axis is time.
    **geometry
        ``spacing``, ``origin``, ``direction``, ``name`` and ``metadata`` override
        what the object carries.

    Example
    -------
    >>> import numpy as np
    >>> as_image(np.ones((3, 4, 5)), spacing=(1, 1, 2)).spacing
    (1.0, 1.0, 2.0)
    >>> photo = as_image(np.zeros((480, 640, 3), np.uint8))
    >>> photo.pixel, photo.shape
    ('rgb', (1, 480, 640))
    >>> as_image(np.zeros((2, 10, 10, 10)), timeseries=True).frames
    2
    """
    if isinstance(obj, Image):
        image = _chosen(obj, component)
    else:
        image = convert(obj, component=component, rgb=rgb, timeseries=timeseries)
    unknown = set(geometry) - GEOMETRY_FIELDS
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    overrides = {k: v for k, v in geometry.items() if v is not None}
    return image.replace(**overrides) if overrides else image


def convert(
    obj: Any,
    *,
    component: int | None = None,
    rgb: bool | None = None,
    timeseries: bool | None = None,
) -> Image:
    """Dispatch ``obj`` to the first adapter that recognises it (see :func:`as_image`)."""
    for recognises, adapter in _ADAPTERS:
        if recognises(obj):
            if _is_path(obj):  # the reader picks the component, reading only that one
                return (
                    read_image(obj) if component is None else read_image(obj, component=component)
                )
            array, extra, geometry = adapter(obj, timeseries)
            return shaped(array, extra, component, rgb, **geometry)
    raise TypeError(
        f"cannot show an object of type {type(obj).__module__}.{type(obj).__qualname__}: "
        "pass a numpy array, a voxlite.Image, an ITK/SimpleITK/nibabel image, an xarray "
        "DataArray, a zarr/dask array or a torch tensor"
    )


# -- recognisers ---------------------------------------------------------------


def _module_of(obj: Any) -> str:
    return type(obj).__module__ or ""


def _is_simpleitk(obj: Any) -> bool:
    return _module_of(obj).startswith("SimpleITK") and hasattr(obj, "GetSpacing")


def _is_itk(obj: Any) -> bool:
    return _module_of(obj).startswith("itk") and hasattr(obj, "GetLargestPossibleRegion")


def _is_monai(obj: Any) -> bool:
    return hasattr(obj, "affine") and hasattr(obj, "detach")


def _is_torch(obj: Any) -> bool:
    return _module_of(obj).startswith("torch") and hasattr(obj, "detach")


def _is_nibabel(obj: Any) -> bool:
    return hasattr(obj, "affine") and hasattr(obj, "dataobj")


def _is_xarray(obj: Any) -> bool:
    return hasattr(obj, "dims") and hasattr(obj, "coords") and hasattr(obj, "transpose")


def _is_path(obj: Any) -> bool:
    return isinstance(obj, (str, os.PathLike))


def _from_path(obj: Any, component: int | None) -> Image:
    # The reader picks the component: the image it returns is 3D already.
    return read_image(obj) if component is None else read_image(obj, component=component)


def _is_channel_list(obj: Any) -> bool:
    """A list of images or 2D/3D arrays: the channels of one image."""
    return (
        isinstance(obj, (list, tuple))
        and len(obj) > 1
        and all(isinstance(item, Image) or getattr(item, "ndim", 0) >= 2 for item in obj)
    )


def _is_arraylike(obj: Any) -> bool:
    return isinstance(obj, (np.ndarray, list, tuple)) or hasattr(obj, "__array__")


# -- adapters --------------------------------------------------------------------
# Each returns the voxels [z, y, x] (with a fourth axis last, if any), what that axis
# is ("channels" or "time"), and the geometry; shaped() makes the Image.

Converted = tuple[Any, str, dict[str, Any]]


def _from_simpleitk(obj: Any, timeseries: Any) -> Converted:
    import SimpleITK

    array = SimpleITK.GetArrayFromImage(obj)  # vector pixels: components last
    dim = obj.GetDimension()
    direction = np.asarray(obj.GetDirection(), dtype=float).reshape(dim, dim)
    geometry = {"spacing": obj.GetSpacing(), "origin": obj.GetOrigin()}
    return array, "channels", {**geometry, "direction": _embed_direction(direction)}


def _from_itk(obj: Any, timeseries: Any) -> Converted:
    import itk

    array = np.asarray(itk.array_view_from_image(obj)).copy()
    direction = np.asarray(itk.array_from_matrix(obj.GetDirection()), dtype=float)
    geometry = {"spacing": tuple(obj.GetSpacing()), "origin": tuple(obj.GetOrigin())}
    return array, "channels", {**geometry, "direction": _embed_direction(direction)}


def _from_nibabel(obj: Any, timeseries: Any) -> Converted:
    array_ijk = np.asanyarray(obj.dataobj)  # applies scl_slope/inter, like nibabel does
    # NIfTI's 4th dimension is time; its 5th holds vectors (intent codes).
    extra = "time" if array_ijk.ndim == 4 and timeseries is not False else "channels"
    if array_ijk.ndim == 5 and array_ijk.shape[3] == 1:
        array_ijk = array_ijk[:, :, :, 0]
    array, geometry = _ijk_to_zyx(array_ijk, obj.affine, channel_axis=-1)
    return array, extra, geometry


def _from_monai(obj: Any, timeseries: Any) -> Converted:
    array = obj.detach().cpu().numpy()
    meta = getattr(obj, "meta", {}) or {}
    space = str(meta.get("space", "RAS")).upper()
    affine = np.asarray(
        obj.affine.detach().cpu().numpy() if hasattr(obj.affine, "detach") else obj.affine,
        dtype=float,
    )
    if affine.ndim == 3:  # batched affine: MONAI keeps one per item
        affine = affine[0]
    # MONAI tensors are channel-first: (C, i, j, k).
    array, geometry = _ijk_to_zyx(array, affine, channel_axis=0, ras=space != "LPS")
    return array, "channels", geometry


def _from_torch(obj: Any, timeseries: Any) -> Converted:
    # plain tensors carry no geometry; (C, D, H, W) is the deep-learning layout.
    array = obj.detach().cpu().numpy()
    if array.ndim == 4:
        array = np.moveaxis(array, 0, -1)
    return array, "time" if timeseries else "channels", {}


def _from_xarray(obj: Any, timeseries: Any) -> Converted:
    spatial = [d for d in ("z", "y", "x") if d in obj.dims]
    times = [d for d in obj.dims if str(d).lower() in ("t", "time")]
    others = [d for d in obj.dims if d not in spatial and d not in times]
    if len(spatial) >= 2:
        obj = obj.transpose(*spatial, *times, *others)
    spacing, origin = [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]
    for axis, dim in enumerate(("x", "y", "z")):
        if dim in obj.coords and obj.coords[dim].size > 0:
            values = np.asarray(obj.coords[dim].values, dtype=float)
            origin[axis] = float(values[0])
            if values.size > 1:
                steps = np.diff(values)
                if not np.allclose(steps, steps[0], rtol=1e-3):
                    raise ValueError(f"coordinate {dim!r} is not evenly spaced")
                spacing[axis] = float(steps[0])
    geometry = {
        "spacing": spacing,
        "origin": origin,
        "name": str(obj.name) if obj.name is not None else "",
        "metadata": dict(obj.attrs),
    }
    return np.asarray(obj.values), "time" if times else "channels", geometry


def _from_lazy(obj: Any, timeseries: Any) -> Converted:
    """A lazy array (zarr, dask, h5py) stays lazy: the viewer reads the levels and slices
    it needs."""
    return (obj if obj.ndim in (3, 4) else np.asarray(obj)), _array_extra(timeseries), {}


def _from_arraylike(obj: Any, timeseries: Any) -> Converted:
    array = np.asarray(obj)
    last, first = (array.shape[-1], array.shape[0]) if array.ndim == 4 else (0, 0)
    if not timeseries and last > MAX_LAST_CHANNELS >= first:  # channel first (C, Z, Y, X)
        array = np.moveaxis(array, 0, -1)
    return array, _array_extra(timeseries), {}


def _from_channel_list(obj: Any, timeseries: Any) -> Converted:
    """Channels given one image each (DAPI, GFP, ...): same grid, stacked last."""
    channels = [item if isinstance(item, Image) else Image(np.asarray(item)) for item in obj]
    first = channels[0]
    for index, channel in enumerate(channels[1:], start=1):
        if channel.pixel != "scalar" or channel.timeseries:
            raise ValueError(f"channel {index} is {channel.pixel}: channels are scalar images")
        if not channel.same_geometry(first) and isinstance(obj[index], Image):
            raise ValueError(f"channel {index}'s grid differs from channel 0's: resample it first")
        if channel.shape != first.shape:
            raise ValueError(
                f"channel {index} has shape {channel.shape}, channel 0 {first.shape}: "
                "channels must have one shape"
            )
    array = np.stack([np.asarray(channel.array) for channel in channels], axis=-1)
    names = tuple(channel.name or f"channel {i}" for i, channel in enumerate(channels))
    geometry = {"spacing": first.spacing, "origin": first.origin, "direction": first.direction}
    return array, "channels", {**geometry, "channel_names": names}


def _array_extra(timeseries: Any) -> str:
    return "time_first" if timeseries else "channels"


# Order matters: MONAI tensors are torch tensors with an affine.
_ADAPTERS: list[tuple[Callable[[Any], bool], Callable[[Any, Any], Any]]] = [
    (_is_path, read_image),
    (_is_simpleitk, _from_simpleitk),
    (_is_itk, _from_itk),
    (_is_monai, _from_monai),
    (_is_torch, _from_torch),
    (_is_nibabel, _from_nibabel),
    (_is_xarray, _from_xarray),
    (is_lazy, _from_lazy),
    (_is_channel_list, _from_channel_list),
    (_is_arraylike, _from_arraylike),
]


# -- shaping -------------------------------------------------------------------

#: A last axis with at most this many values holds channels (more: it is spatial).
MAX_LAST_CHANNELS = 8
#: A 2D colour image's two axes have at least this many pixels each.
MIN_PHOTO_SIDE = 16


def shaped(
    array: Any,
    extra: str,
    component: int | None = None,
    rgb: bool | None = None,
    **geometry: Any,
) -> Image:
    """An Image from voxels ``[z, y, x]`` (or ``[y, x]``) with a fourth axis, if any, last
    (``extra`` says what it is: "channels", "time"; "time_first": first).

    ``component`` picks one channel (or time point); ``rgb`` overrides the colour rules
    (see :func:`as_image`).
    """
    if extra == "time_first" and array.ndim == 4:
        array, extra = np.moveaxis(np.asarray(array), 0, -1), "time"
    if array.ndim == 4 and array.shape[-1] == 1 and component in (None, 0, -1):
        array, component = array[..., 0], None  # one channel or time point: a 3D image
    if array.ndim == 4 and component is not None:
        geometry.pop("channel_names", None)
        return Image(pick_component(np.asarray(array), component), **geometry)
    if array.ndim == 4 and extra == "time":
        return Image(np.moveaxis(np.asarray(array), -1, 0), timeseries=True, **geometry)
    if array.ndim == 4:
        return Image(array, pixel=_pixel_of(array, rgb), **geometry)
    if component not in (None, 0, -1):
        raise ValueError(f"component={component}: the image has one component")
    if array.ndim == 3 and (rgb or (rgb is None and _looks_like_a_photo(array))):
        return Image(np.asarray(array)[np.newaxis], pixel=_pixel_of(array, True), **geometry)
    return Image(array, **geometry)


def _pixel_of(array: Any, rgb: bool | None) -> str:
    """The pixel type of an array whose last axis holds its values."""
    count = int(array.shape[-1])
    colour = count in (3, 4) and (rgb or (rgb is None and np.dtype(array.dtype) == np.uint8))
    if rgb and not colour:
        raise ValueError(f"rgb=True needs 3 or 4 values per voxel, got {count}")
    if colour:
        return "rgb" if count == 3 else "rgba"
    return "channels"


def _looks_like_a_photo(array: Any) -> bool:
    """H x W x 3 (or 4) bytes with both sides at least MIN_PHOTO_SIDE: a 2D colour image."""
    height, width, values = array.shape
    return (
        values in (3, 4)
        and np.dtype(array.dtype) == np.uint8
        and min(height, width) >= MIN_PHOTO_SIDE
    )


def _chosen(image: Image, component: int | None) -> Image:
    """One channel (or time point) of an image, when ``component`` names it."""
    if component is None:
        return image
    if image.pixel != "scalar":
        return image.channel(component)
    if image.timeseries:
        return image.frame(component)
    raise ValueError("component= applies to 4D inputs, not to a 3D image")


def _ijk_to_zyx(
    array: np.ndarray, affine: Any, channel_axis: int, ras: bool = True
) -> tuple[np.ndarray, dict[str, Any]]:
    """Arrays indexed ``[i, j, k]`` (nibabel, MONAI), with a channel axis if 4D, become
    ``[k, j, i]`` with it last, and their affine an LPS geometry."""
    array = np.asarray(array)
    if array.ndim == 4:
        array = np.moveaxis(array, channel_axis, -1).transpose(2, 1, 0, 3)
    elif array.ndim in (2, 3):
        array = array.transpose(*reversed(range(array.ndim)))
    return np.ascontiguousarray(array), affine_to_lps_geometry(affine, ras=ras)


def _embed_direction(direction: np.ndarray) -> np.ndarray:
    """A 2x2 direction (2D image) becomes 3x3 with z as the identity."""
    if direction.shape == (3, 3):
        return direction
    full = np.eye(3)
    full[:2, :2] = direction
    return full
