"""Point sets and triangle meshes in the image's physical space (LPS, millimetres).

Like :class:`voxlite.Image`, each is a small validated model; adapters accept
what people already have: ``N x 3`` arrays, trimesh and meshio meshes, pyvista
``PolyData``, or ``{"vertices", "faces"}`` dicts. Nothing here imports those
libraries: objects are recognised by their attributes.

Example:
    >>> import numpy as np, voxlite
    >>> points = voxlite.as_points(np.array([[0.0, 0, 0], [1, 2, 3]]))
    >>> points.count
    2
    >>> mesh = voxlite.as_mesh({"vertices": np.eye(3), "faces": [[0, 1, 2]]})
    >>> mesh.count
    1
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from voxlite.adapters import as_image

__all__ = ["Mesh", "PointSet", "as_mesh", "as_points", "surface_from_labels"]

MAX_POINTS = 20_000_000  # beyond this a browser tab runs out of memory before drawing


@dataclass(frozen=True, eq=False)
class PointSet:
    """``points`` (N x 3, float32, physical x, y, z) with optional per-point values.

    ``scalars`` (N) are coloured through a colormap, ``colors`` (N x 3, 0..1) are
    used as they are, ``sizes`` (N) are diameters in millimetres.
    """

    points: np.ndarray
    scalars: np.ndarray | None = None
    colors: np.ndarray | None = None
    sizes: np.ndarray | None = None

    @property
    def count(self) -> int:
        return len(self.points)


@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh: ``vertices`` (N x 3 float32, physical) and ``faces`` (M x 3 uint32)."""

    vertices: np.ndarray
    faces: np.ndarray

    @property
    def count(self) -> int:
        return len(self.faces)


def _coordinates(value: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{what} must be numbers, got {type(value).__name__}") from error
    if array.ndim == 1 and array.size == 3:
        array = array.reshape(1, 3)
    if array.ndim != 2 or array.shape[1] != 3:
        raise ValueError(f"{what} must be an N x 3 array of (x, y, z), got shape {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{what} is empty: there is nothing to show")
    if len(array) > MAX_POINTS:
        raise ValueError(f"{what} has {len(array):,} points; at most {MAX_POINTS:,} can be shown")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{what} has {int(bad.sum())} point(s) with NaN or infinite coordinates "
            f"(first at row {int(np.flatnonzero(bad)[0])}); drop them first"
        )
    return np.ascontiguousarray(array, dtype=np.float32)


def _per_point(value: Any, count: int, what: str, width: int = 1) -> np.ndarray | None:
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64)
    expected = (count,) if width == 1 else (count, width)
    if array.shape != expected:
        raise ValueError(f"{what} must have shape {expected}, one per point, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} has NaN or infinite values")
    return np.ascontiguousarray(array, dtype=np.float32)


def as_points(
    value: Any,
    *,
    scalars: Any = None,
    colors: Any = None,
    sizes: Any = None,
) -> PointSet:
    """A :class:`PointSet` from an ``N x 3`` array or an object with ``.points`` (pyvista, meshio).

    Example:
        >>> as_points([[1, 2, 3]], sizes=[4]).sizes.tolist()
        [4.0]
    """
    if isinstance(value, PointSet):
        return value
    coordinates = getattr(value, "points", value)
    points = _coordinates(coordinates, "points")
    if colors is not None:
        colors = np.asarray(colors, dtype=np.float64)
        if colors.size and colors.max() > 1:  # 0..255, as most libraries store them
            colors = colors / 255
    checked_colors = _per_point(colors, len(points), "colors", width=3)
    if checked_colors is not None and (checked_colors.min() < 0 or checked_colors.max() > 1):
        raise ValueError("colors must be 0..1 (or 0..255) RGB values")
    checked_sizes = _per_point(sizes, len(points), "sizes")
    if checked_sizes is not None and checked_sizes.min() <= 0:
        raise ValueError("sizes must be positive diameters in millimetres")
    return PointSet(
        points,
        scalars=_per_point(scalars, len(points), "scalars"),
        colors=checked_colors,
        sizes=checked_sizes,
    )


def as_mesh(value: Any, faces: Any = None) -> Mesh:
    """A :class:`Mesh` from vertices and faces, or a trimesh, meshio or pyvista object.

    Quads and polygons are split into triangles (fans); other cells (lines,
    vertices, tetrahedra) are ignored.
    """
    if isinstance(value, Mesh):
        return value
    vertices, cells = _mesh_arrays(value, faces)
    vertices = _coordinates(vertices, "mesh vertices")
    triangles = _triangles(cells)
    if len(triangles) == 0:
        raise ValueError("the mesh has no triangles (no faces, or only lines and points)")
    if triangles.min() < 0 or triangles.max() >= len(vertices):
        raise ValueError(
            f"mesh faces index vertices {int(triangles.min())}..{int(triangles.max())}, "
            f"but there are only {len(vertices)} vertices (0..{len(vertices) - 1})"
        )
    return Mesh(vertices, np.ascontiguousarray(triangles, dtype=np.uint32))


def _mesh_arrays(value: Any, faces: Any) -> tuple[Any, Any]:
    if faces is not None:
        return value, faces
    if isinstance(value, dict):
        if "vertices" not in value or "faces" not in value:
            raise ValueError("a mesh dict needs 'vertices' and 'faces'")
        return value["vertices"], value["faces"]
    if hasattr(value, "vertices") and hasattr(value, "faces"):  # trimesh
        return value.vertices, value.faces
    if hasattr(value, "cells_dict") and hasattr(value, "points"):  # meshio
        kinds = ("triangle", "quad", "polygon")
        return value.points, [c for kind in kinds for c in value.cells_dict.get(kind, [])]
    if hasattr(value, "points") and hasattr(value, "n_points"):  # pyvista PolyData
        return value.points, _pyvista_faces(value)
    raise TypeError(
        f"cannot make a mesh of {type(value).__name__}: pass vertices and faces arrays, "
        "a {'vertices', 'faces'} dict, or a trimesh, meshio or pyvista mesh"
    )


def _pyvista_faces(polydata: Any) -> list[np.ndarray]:
    """pyvista stores faces flat: [n, i0, ..., in-1, n, ...]."""
    flat = np.asarray(getattr(polydata, "faces", []), dtype=np.int64)
    polygons, position = [], 0
    while position < len(flat):
        n = int(flat[position])
        if n < 1 or position + 1 + n > len(flat):
            raise ValueError("the pyvista faces array is malformed")
        polygons.append(flat[position + 1 : position + 1 + n])
        position += 1 + n
    return polygons


def _triangles(cells: Any) -> np.ndarray:
    """Triangles from an M x 3 array, an M x K array, or a list of polygons."""
    try:
        array = np.asarray(cells)
    except ValueError:  # ragged: polygons of different sizes
        array = None
    if array is not None and array.dtype != object and array.ndim == 2:
        polygons: list[np.ndarray] = [array] if array.shape[1] >= 3 else []
    else:
        polygons = [np.asarray(p).reshape(1, -1) for p in cells if len(p) >= 3]
    pieces = []
    for block in polygons:
        if block.dtype.kind == "f" and not np.array_equal(block, np.round(block)):
            raise ValueError("mesh faces must be whole vertex indices")
        if block.dtype.kind not in "iuf":
            raise TypeError(f"mesh faces must be integer indices, got {block.dtype}")
        block = block.astype(np.int64)
        # Fan triangulation: (0, k, k + 1) for each k.
        pieces += [block[:, [0, k, k + 1]] for k in range(1, block.shape[1] - 1)]
    return np.concatenate(pieces) if pieces else np.empty((0, 3), np.int64)


def surface_from_labels(label_image: Any, label: int = 1, smooth: bool = True) -> Mesh:
    """The boundary surface of one label as a :class:`Mesh`, in physical coordinates.

    Uses scikit-image's marching cubes (``pip install voxlite[surface]``; in a
    JupyterLite site, add ``scikit-image`` to the site's requirements).

    Example:
        >>> import numpy as np
        >>> ball = (np.indices((9, 9, 9)) - 4.0) ** 2
        >>> mesh = surface_from_labels((ball.sum(0) <= 9).astype(np.uint8))
        >>> mesh.count > 50
        True
    """
    try:
        from skimage.measure import marching_cubes
    except ImportError as error:
        raise ImportError(
            "surfaces from label maps need scikit-image: pip install 'voxlite[surface]'"
        ) from error
    image = as_image(label_image).load()
    mask = image.array == label
    if not mask.any():
        present = np.unique(image.array)
        raise ValueError(
            f"label {label} is not in the label image (labels present: {present[:20].tolist()})"
        )
    # Pad so that surfaces touching the border are closed.
    field = np.pad(mask.astype(np.float32), 1)
    if smooth:
        field = _box_blur(field)
    vertices, faces, _, _ = marching_cubes(field, level=0.5)
    index_xyz = vertices[:, ::-1] - 1.0  # marching cubes works in [z, y, x] of the padded array
    physical = np.asarray(image.origin) + (index_xyz * image.spacing) @ image.direction.T
    # Reversing the axes mirrors the mesh; reversing each face keeps its orientation.
    return as_mesh(physical, faces[:, ::-1])


def _box_blur(field: np.ndarray) -> np.ndarray:
    """A 3 x 3 x 3 mean: rounds the voxel staircase without moving the 0.5 surface much."""
    out = np.zeros_like(field)
    padded = np.pad(field, 1, mode="edge")
    nz, ny, nx = field.shape
    for dz in range(3):
        for dy in range(3):
            for dx in range(3):
                out += padded[dz : dz + nz, dy : dy + ny, dx : dx + nx]
    return out / 27
