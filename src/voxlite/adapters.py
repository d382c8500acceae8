"""Conversions from foreign image types to :class:`voxlite.Image`.

One small function per library, recognised by duck typing so that none of
these libraries is a dependency: an object is only handled by an adapter when
its library is already imported by the caller.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from voxlite.image import Image, is_lazy, pick_component

__all__ = ["affine_to_lps_geometry", "convert"]

# LPS = diag(-1, -1, 1) @ RAS: nibabel and MONAI affines are RAS.
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


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
        linear, translation = _RAS_TO_LPS @ linear, _RAS_TO_LPS @ translation
    spacing = np.linalg.norm(linear, axis=0)
    if np.any(spacing == 0):
        raise ValueError("the affine has a zero-length axis (zero spacing)")
    return {
        "spacing": tuple(spacing.tolist()),
        "origin": tuple(translation.tolist()),
        "direction": linear / spacing,
    }


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
    from voxlite.io import read_image

    image = read_image(obj)
    return (
        image if component is None else image.replace(array=pick_component(image.array, component))
    )


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
    if array.ndim == 3:
        array = array.transpose(2, 1, 0)
    elif array.ndim == 2:
        array = array.transpose(1, 0)
    return Image(np.ascontiguousarray(array), **affine_to_lps_geometry(affine, ras=ras))


def _embed_direction(direction: np.ndarray) -> np.ndarray:
    """A 2x2 direction (2D image) becomes 3x3 with z as the identity."""
    if direction.shape == (3, 3):
        return direction
    full = np.eye(3)
    full[:2, :2] = direction
    return full
