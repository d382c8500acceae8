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


def as_image(obj: Any, *, component: int | None = None, **geometry: Any) -> Image:
    """Convert anything voxlite understands into an :class:`Image`.

    Parameters
    ----------
    obj
        An :class:`Image`, a path (read with :func:`voxlite.read_image`), a numpy
        array, or (duck-typed, without importing them) an ITK, SimpleITK, nibabel,
        xarray, zarr, dask, torch or MONAI object, or anything with ``__array__``.
    component
        Picks one channel of a 4D input (the last axis, as ITK's vector images;
        channel-first for torch/MONAI tensors).
    **geometry
        ``spacing``, ``origin``, ``direction``, ``name`` and ``metadata`` override
        what the object carries.

    Example
    -------
    >>> import numpy as np
    >>> as_image(np.ones((3, 4, 5)), spacing=(1, 1, 2)).spacing
    (1.0, 1.0, 2.0)
    """
    if isinstance(obj, Image) and component is not None:
        raise ValueError("component= applies to 4D inputs, not to an Image (already 3D)")
    image = obj if isinstance(obj, Image) else convert(obj, component=component)
    unknown = set(geometry) - GEOMETRY_FIELDS
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    overrides = {k: v for k, v in geometry.items() if v is not None}
    return image.replace(**overrides) if overrides else image


def convert(obj: Any, *, component: int | None = None) -> Image:
    """Dispatch ``obj`` to the first adapter that recognises it."""
    for recognises, adapter in _ADAPTERS:
        if recognises(obj):
            return adapter(obj, component)
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


def _is_arraylike(obj: Any) -> bool:
    return isinstance(obj, (np.ndarray, list, tuple)) or hasattr(obj, "__array__")


# -- adapters --------------------------------------------------------------------


def _from_simpleitk(obj: Any, component: int | None) -> Image:
    import SimpleITK

    array = pick_component(SimpleITK.GetArrayFromImage(obj), component)
    dim = obj.GetDimension()
    direction = np.asarray(obj.GetDirection(), dtype=float).reshape(dim, dim)
    return Image(
        array,
        spacing=obj.GetSpacing(),
        origin=obj.GetOrigin(),
        direction=_embed_direction(direction),
    )


def _from_itk(obj: Any, component: int | None) -> Image:
    import itk

    array = pick_component(np.asarray(itk.array_view_from_image(obj)), component)
    direction = np.asarray(itk.array_from_matrix(obj.GetDirection()), dtype=float)
    return Image(
        array.copy(),
        spacing=tuple(obj.GetSpacing()),
        origin=tuple(obj.GetOrigin()),
        direction=_embed_direction(direction),
    )


def _from_nibabel(obj: Any, component: int | None) -> Image:
    array_ijk = np.asanyarray(obj.dataobj)  # applies scl_slope/inter, like nibabel does
    return _from_ijk_and_affine(array_ijk, obj.affine, component, channel_axis=-1)


def _from_monai(obj: Any, component: int | None) -> Image:
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
    return _from_ijk_and_affine(array, affine, component, channel_axis=0, ras=space != "LPS")


def _from_torch(obj: Any, component: int | None) -> Image:
    # plain tensors carry no geometry; (C, D, H, W) is the deep-learning layout.
    array = obj.detach().cpu().numpy()
    return Image(pick_component(array, component, axis=0))


def _from_xarray(obj: Any, component: int | None) -> Image:
    spatial = [d for d in ("z", "y", "x") if d in obj.dims]
    others = [d for d in obj.dims if d not in spatial]
    if len(spatial) >= 2:
        obj = obj.transpose(*spatial, *others)
    array = pick_component(np.asarray(obj.values), component)
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
    return Image(
        array,
        spacing=spacing,
        origin=origin,
        name=str(obj.name) if obj.name is not None else "",
        metadata=dict(obj.attrs),
    )


def _from_lazy(obj: Any, component: int | None) -> Image:
    """A lazy array (zarr, dask, h5py) stays lazy: the viewer reads the levels and slices
    it needs."""
    if obj.ndim == 4:
        return Image(_lazy_component(obj, component))
    return Image(obj if obj.ndim == 3 else np.asarray(obj))


def _lazy_component(array: Any, component: int | None) -> Any:
    count = int(array.shape[-1])
    if component is None and count == 1:
        component = 0
    if component is None or not -count <= component < count:
        pick_component(np.empty((1, 1, 1, count)), component)  # raises the usual error
    return array[..., component]


def _from_arraylike(obj: Any, component: int | None) -> Image:
    array = np.asarray(obj)
    return Image(pick_component(array, component))


# Order matters: MONAI tensors are torch tensors with an affine.
_ADAPTERS: list[tuple[Callable[[Any], bool], Callable[[Any, int | None], Image]]] = [
    (_is_path, _from_path),
    (_is_simpleitk, _from_simpleitk),
    (_is_itk, _from_itk),
    (_is_monai, _from_monai),
    (_is_torch, _from_torch),
    (_is_nibabel, _from_nibabel),
    (_is_xarray, _from_xarray),
    (is_lazy, _from_lazy),
    (_is_arraylike, _from_arraylike),
]


# -- helpers -------------------------------------------------------------------


def _from_ijk_and_affine(
    array: np.ndarray, affine: Any, component: int | None, channel_axis: int, ras: bool = True
) -> Image:
    """Arrays indexed ``[i, j, k]`` (nibabel, MONAI) become ``[k, j, i]``."""
    array = pick_component(np.asarray(array), component, axis=channel_axis)
    return Image.from_ijk(array, affine, ras=ras)


def _embed_direction(direction: np.ndarray) -> np.ndarray:
    """A 2x2 direction (2D image) becomes 3x3 with z as the identity."""
    if direction.shape == (3, 3):
        return direction
    full = np.eye(3)
    full[:2, :2] = direction
    return full
