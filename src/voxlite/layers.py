"""Layer settings: how each layer of a view looks, as plain JSON data.

A view has up to two volume layers, ``"image"`` and ``"labels"``, and any number
of named point-set and mesh layers. Each layer's settings are a small dict;
every value is checked here, so settings restored from a saved state are data,
never code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import traitlets

from voxlite.checks import short, to_hex
from voxlite.geometry import as_mesh, as_points, surface_from_labels
from voxlite.image import Image
from voxlite.presets import COLORMAPS
from voxlite.transfer import encode_mesh, encode_points, label_color

VOLUME_LAYERS = ("image", "labels")
# Default colours of point sets and meshes, in the order layers are added.
GEOMETRY_COLORS = ("#ffd23f", "#3fc8ff", "#ff5ca8", "#8cff5c", "#c49bff", "#ff9f40")
SETTING_KEYS = {
    "points": {"visible", "color", "opacity", "size", "cmap"},
    "mesh": {"visible", "color", "opacity"},
    "volume": {"visible"},
}


def check_settings(name: str, kind: str, settings: Any, colormaps: Any) -> dict[str, Any]:
    """Validate one layer's settings and return them normalised."""
    if not isinstance(settings, dict):
        raise ValueError(f"settings of layer {name!r} must be a dict, got {short(settings)}")
    unknown = set(settings) - SETTING_KEYS[kind]
    if unknown:
        raise ValueError(
            f"layer {name!r} ({kind}) has no setting {', '.join(map(short, sorted(unknown)))}; "
            f"its settings are {', '.join(sorted(SETTING_KEYS[kind]))}"
        )
    checked: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "visible":
            if not isinstance(value, bool):
                raise ValueError(f"layer {name!r}: visible must be True or False")
            checked[key] = value
        elif key == "color":
            checked[key] = to_hex(value)
        elif key == "opacity":
            checked[key] = _number(name, key, value, 0.0, 1.0)
        elif key == "size":
            checked[key] = _number(name, key, value, 1e-9, 1e9)
        elif key == "cmap":
            if not isinstance(value, str) or value not in colormaps:
                raise ValueError(
                    f"layer {name!r}: unknown cmap {short(value)}; choose one of "
                    f"{', '.join(colormaps)}"
                )
            checked[key] = value
    return checked


def _number(name: str, key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"layer {name!r}: {key} must be a number, got {short(value)}")
    if isinstance(value, int) and abs(value) > 2**53:  # past a float's exact integers
        value = math.copysign(math.inf, value)
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(
            f"layer {name!r}: {key} must be between {low:g} and {high:g}, got {short(value)}"
        )
    return float(value)


def check_name(name: Any, taken: set[str]) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValueError(
            f"a layer name must be a non-empty string of 200 characters at most, got {short(name)}"
        )
    if name in VOLUME_LAYERS or name in taken:
        raise ValueError(f"there is already a layer named {name!r}; pick another name")
    return name


def free_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base 2``, ``base 3`` ... whichever is not taken."""
    if base not in taken:
        return base
    number = 2
    while f"{base} {number}" in taken:
        number += 1
    return f"{base} {number}"


def default_point_size(points: np.ndarray, image: Image | None) -> float:
    """1% of the scene's diagonal: the image's if there is one, else the points'."""
    if image is not None:
        extent = np.asarray(image.size) * np.asarray(image.spacing)
    else:
        extent = points.max(axis=0) - points.min(axis=0)
    return float(max(np.linalg.norm(extent) * 0.01, 1e-3))


class LayerTraits(traitlets.HasTraits):
    """Point-set and mesh layers, and every layer's settings, mixed into the view model.

    It reads the image and label map shown from the view model it is part of
    (``_current``, ``_current_labels``, ``label_colors``) and groups changes with its
    ``hold_sync``.
    """

    _geometries = traitlets.List(traitlets.Dict()).tag(sync=True)
    layers = traitlets.Dict().tag(sync=True)
    """Settings per layer name: ``{"image": {"visible": True}, "points": {"color": ...}}``."""

    def add_points(
        self,
        points: Any,
        *,
        name: str | None = None,
        scalars: Any = None,
        colors: Any = None,
        sizes: Any = None,
        color: Any = None,
        size: float | None = None,
        opacity: float = 1.0,
        cmap: str = "viridis",
    ) -> str:
        """Add a point set drawn as spheres; returns its layer name.

        Parameters
        ----------
        points
            N x 3 physical coordinates (LPS, mm).
        name
            The layer's name (default ``points``, ``points 2`` ...).
        scalars
            N values, coloured with ``cmap``.
        colors
            N x 3 colours, used as given.
        sizes
            N diameters in millimetres.
        color
            One colour for every point (default: the next layer colour).
        size
            The spheres' diameter in millimetres (default: 1% of the scene).
        opacity
            0..1.
        cmap
            The colormap of ``scalars``.

        Example
        -------
        >>> import numpy as np
        >>> from voxlite.viewmodel import ViewModel
        >>> model = ViewModel()
        >>> model.add_points(np.random.default_rng(0).normal(size=(100, 3)))
        'points'
        """
        point_set = as_points(points, scalars=scalars, colors=colors, sizes=sizes)
        name = self._layer_name(name, "points")
        settings = {
            "visible": True,
            "color": color or self._next_color(),
            "opacity": opacity,
            "size": size or default_point_size(point_set.points, self._current),
            "cmap": cmap,
        }
        self._add_layer(encode_points(name, point_set), "points", settings)
        return name

    def add_mesh(
        self,
        mesh: Any,
        faces: Any = None,
        *,
        name: str | None = None,
        color: Any = None,
        opacity: float = 1.0,
    ) -> str:
        """Add a triangle mesh in physical coordinates; returns its layer name.

        Parameters
        ----------
        mesh
            A vertices array (with ``faces``), a ``{"vertices", "faces"}`` dict, or a
            trimesh, meshio or pyvista mesh.
        faces
            M x 3 vertex indices, when ``mesh`` is a vertices array.
        name
            The layer's name (default ``mesh``, ``mesh 2`` ...).
        color
            The mesh's colour (default: the next layer colour).
        opacity
            0..1.

        Example
        -------
        >>> from voxlite.viewmodel import ViewModel
        >>> model = ViewModel()
        >>> model.add_mesh({"vertices": np.eye(3), "faces": [[0, 1, 2]]})
        'mesh'
        """
        triangles = as_mesh(mesh, faces)
        name = self._layer_name(name, "mesh")
        settings = {"visible": True, "color": color or self._next_color(), "opacity": opacity}
        self._add_layer(encode_mesh(name, triangles), "mesh", settings)
        return name

    def add_surface(
        self,
        label_image: Any = None,
        label: int = 1,
        *,
        name: str | None = None,
        color: Any = None,
        opacity: float = 1.0,
        smooth: bool = True,
    ) -> str:
        """Add the surface of one label (marching cubes) as a mesh layer; returns its name.

        Needs scikit-image (``pip install 'voxlite[surface]'``).

        Parameters
        ----------
        label_image
            The label map (default: the one shown).
        label
            The label whose surface is drawn.
        name
            The layer's name (default ``label N``).
        color
            Default: the label's colour in the label map shown.
        opacity
            0..1.
        smooth
            Smooth the mask before marching cubes.
        """
        source = self._current_labels if label_image is None else label_image
        if source is None:
            raise ValueError("add_surface needs a label_image (or a label map shown in the viewer)")
        mesh = surface_from_labels(source, label, smooth=smooth)
        return self.add_mesh(
            mesh,
            name=name or free_name(f"label {label}", set(self.layers)),
            color=color if color is not None else self._label_color(label),
            opacity=opacity,
        )

    def remove(self, name: str) -> None:
        """Remove a point-set or mesh layer, or the label map (``"labels"``)."""
        if name == "labels":
            self.set_label_image(None)
            return
        if name == "image":
            raise ValueError("the image cannot be removed; replace it with set_image()")
        if name not in self._geometry_names():
            raise KeyError(f"no layer named {name!r}; layers: {', '.join(self.layers) or 'none'}")
        with self.hold_sync():
            self._geometries = [g for g in self._geometries if g["name"] != name]
            self.layers = {key: value for key, value in self.layers.items() if key != name}

    def update_layer(self, name: str, **settings: Any) -> None:
        """Change a layer's settings.

        Parameters
        ----------
        name
            ``"image"``, ``"labels"`` or a point-set/mesh layer's name.
        **settings
            ``visible``; for geometries ``color`` and ``opacity``; for point sets
            ``size`` and ``cmap``.

        Example
        -------
        >>> from voxlite.viewmodel import ViewModel
        >>> model = ViewModel(np.zeros((4, 4, 4), np.uint8))
        >>> model.update_layer("image", visible=False)
        >>> model.layers["image"]
        {'visible': False}
        """
        if name not in self.layers and name not in VOLUME_LAYERS:
            raise KeyError(f"no layer named {name!r}; layers: {', '.join(self.layers) or 'none'}")
        self.layers = {**self.layers, name: {**self.layers.get(name, {}), **settings}}

    def set_visible(self, name: str, visible: bool = True) -> None:
        """Show or hide a layer (``"image"``, ``"labels"`` or a point-set/mesh name)."""
        self.update_layer(name, visible=visible)

    def _add_layer(self, payload: dict[str, Any], kind: str, settings: dict[str, Any]) -> None:
        settings = check_settings(payload["name"], kind, settings, COLORMAPS)
        with self.hold_sync():
            self._geometries = [*self._geometries, payload]
            self.layers = {**self.layers, payload["name"]: settings}

    def _layer_name(self, name: str | None, kind: str) -> str:
        taken = set(self.layers) | self._geometry_names()
        return check_name(name, taken) if name is not None else free_name(kind, taken)

    def _geometry_names(self) -> set[str]:
        return {g["name"] for g in self._geometries}

    def _next_color(self) -> str:
        return GEOMETRY_COLORS[len(self._geometries) % len(GEOMETRY_COLORS)]

    def _label_color(self, label: int) -> str:
        return self.label_colors.get(label) or to_hex(label_color(label))

    @traitlets.validate("layers")
    def _valid_layers(self, proposal: dict[str, Any]) -> dict[str, Any]:
        kinds = {g["name"]: g["kind"] for g in self._geometries}
        checked = {}
        for name, settings in proposal["value"].items():
            kind = "volume" if name in VOLUME_LAYERS else kinds.get(name)
            if kind is None:
                raise ValueError(f"there is no layer named {short(name)} in this viewer")
            checked[name] = check_settings(name, kind, settings, COLORMAPS)
        return checked
