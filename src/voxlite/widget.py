"""The notebook viewer: an anywidget whose front end is the bundled vtk.js renderer."""

from __future__ import annotations

import asyncio
import json
import tempfile
import warnings
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from voxlite import tasks
from voxlite.geometry import as_mesh, as_points, surface_from_labels
from voxlite.image import Image, as_image
from voxlite.layers import (
    GEOMETRY_COLORS,
    VOLUME_LAYERS,
    check_name,
    check_settings,
    free_name,
    short,
)
from voxlite.multiscale import (
    DEFAULT_MAX_VOXELS,
    LIMIT_MAX_VOXELS,
    Levels,
    Progress,
    levels_of,
    plane,
    run,
)
from voxlite.transfer import (
    encode_image,
    encode_labels,
    encode_mesh,
    encode_points,
    grid,
    label_color,
    to_hex,
)

__all__ = ["COLORMAPS", "MODES", "Viewer", "view"]

_STATIC = Path(__file__).parent / "static"
_BUNDLE = _STATIC / "widget.js"
_MISSING_BUNDLE = """
export default { render({ el }) {
  el.textContent = "voxlite: the front-end bundle (voxlite/static/widget.js) is missing. "
    + "Reinstall voxlite from a wheel, or run `npm ci && npm run build` in js/.";
} };
"""

COLORMAPS: dict[str, dict[str, Any]] = json.loads(
    resources.files("voxlite").joinpath("presets.json").read_text()
)["colormaps"]
MODES = ("volume", "mip", "slices")
STATE_VERSION = 1
LOADING = "Loading a finer level…"
# Traits a saved state holds, in the order they are restored (a cmap preset resets
# window/level, so it comes before them).
STATE_KEYS = ("mode", "cmap", "window", "level", "opacity", "label_opacity", "gradient_opacity",
              "slices", "camera", "bg_color", "ui_collapsed", "rotate", "layers")  # fmt: skip


def _front_end() -> Path | str:
    if _BUNDLE.exists():
        return _BUNDLE
    warnings.warn(
        "voxlite's front-end bundle is missing: viewers will show an error. "
        "Run `npm ci && npm run build` in js/ (scripts/setup does it).",
        stacklevel=3,
    )
    return _MISSING_BUNDLE


class Viewer(anywidget.AnyWidget):
    """An interactive 3D view of an image, a label map, point sets and meshes.

    Every public trait is synced both ways: changing it in Python updates the
    view, and using the control panel or the mouse updates it in Python.
    Coordinates of points and meshes are physical (LPS, millimetres), the same
    space as the image's spacing, origin and direction.

    Example:
        >>> import numpy as np, voxlite
        >>> viewer = voxlite.Viewer(np.zeros((8, 8, 8), np.uint8), mode="mip")
        >>> viewer.mode, viewer.slices
        ('mip', [4, 4, 4])
    """

    _esm = _front_end()

    _image = traitlets.Dict().tag(sync=True)
    _labels = traitlets.Dict().tag(sync=True)
    _geometries = traitlets.List(traitlets.Dict()).tag(sync=True)
    # Full-resolution slice planes [x, y, z] of an image shown from a level (slices mode).
    _planes = traitlets.List(traitlets.Dict()).tag(sync=True)
    # {"text", "fraction"} while a finer level is computed; {} otherwise.
    _progress = traitlets.Dict().tag(sync=True)

    cmap = traitlets.Unicode("grayscale").tag(sync=True)
    """Colormap preset, one of :data:`COLORMAPS` (CT presets also set window/level)."""
    mode = traitlets.Unicode("volume").tag(sync=True)
    """'volume' (ray casting), 'mip' (maximum intensity projection) or 'slices'."""
    window = traitlets.Float(1.0).tag(sync=True)
    """Width of the value range the colormap spans."""
    level = traitlets.Float(0.5).tag(sync=True)
    """Centre of the value range the colormap spans."""
    opacity = traitlets.Float(1.0).tag(sync=True)
    """Scale of the volume's opacity, 0..1."""
    label_opacity = traitlets.Float(0.5).tag(sync=True)
    """Opacity of the label-map overlay, 0..1."""
    gradient_opacity = traitlets.Float(0.0).tag(sync=True)
    """0..1: how much homogeneous regions fade in volume rendering (edges stay), 0 = off."""
    slices = traitlets.List(traitlets.Int(), [0, 0, 0]).tag(sync=True)
    """Slice positions as voxel indices ``[i, j, k]`` (x, y, z)."""
    camera = traitlets.Dict().tag(sync=True)
    """``{"position", "focal_point", "view_up"}`` in physical (LPS) coordinates."""
    bg_color = traitlets.Unicode("#000000").tag(sync=True)
    ui_collapsed = traitlets.Bool(False).tag(sync=True)
    rotate = traitlets.Bool(False).tag(sync=True)
    """Spin the camera about the view-up axis."""
    layers = traitlets.Dict().tag(sync=True)
    """Settings per layer name: ``{"image": {"visible": True}, "points": {"color": ...}}``."""
    height = traitlets.Int(480).tag(sync=True)
    max_voxels = traitlets.Int(DEFAULT_MAX_VOXELS)
    """Voxels per volume texture: a larger image is shown from a level that fits
    (see :mod:`voxlite.multiscale`), its slices at full resolution."""

    # Python-side state (class defaults: trait observers may run before __init__ ends).
    _current: Image | None = None
    _current_labels: Image | None = None
    _label_colors: dict[int, Any] | None = None
    _frame: tuple[int, int, bytes] | None = None
    _loading: asyncio.Task | None = None
    _waiting: Levels | None = None  # levels to refine once the view has drawn the preview
    _over_budget = False  # shown from a level: slices come as full-resolution planes
    _serial = 0  # one per image sent; the view names it when it asks for the finer level

    def __init__(
        self,
        image: Any = None,
        label_image: Any = None,
        *,
        cmap: str = "grayscale",
        mode: str = "volume",
        window: float | None = None,
        level: float | None = None,
        opacity: float = 1.0,
        label_opacity: float = 0.5,
        label_colors: dict[int, Any] | None = None,
        slices: list[int] | None = None,
        camera: dict[str, Any] | None = None,
        bg_color: Any = "#000000",
        ui_collapsed: bool = False,
        height: int = 480,
        component: int | None = None,
        point_sets: Any = None,
        geometries: Any = None,
        vmin: float | None = None,
        vmax: float | None = None,
        gradient_opacity: float = 0.0,
        rotate: bool = False,
        state: dict[str, Any] | None = None,
        max_voxels: int = DEFAULT_MAX_VOXELS,
    ) -> None:
        super().__init__(
            mode=mode,
            opacity=opacity,
            label_opacity=label_opacity,
            gradient_opacity=gradient_opacity,
            bg_color=to_hex(bg_color),
            ui_collapsed=ui_collapsed,
            rotate=rotate,
            height=height,
        )
        self.max_voxels = max_voxels
        self.on_msg(self._on_front_end_message)
        if image is not None:
            self.set_image(image, label_image, component=component, label_colors=label_colors)
        elif label_image is not None:
            raise ValueError("label_image needs an image to overlay")
        for points in _as_list(point_sets):
            self.add_points(points)
        for mesh in _as_list(geometries):
            self.add_mesh(mesh)
        self.cmap = cmap
        window, level = _window_from_range(vmin, vmax, window, level, self._current_range())
        with self.hold_sync():
            if window is not None:
                self.window = window
            if level is not None:
                self.level = level
            if slices is not None:
                self.slices = list(slices)
            if camera is not None:
                self.camera = camera
        if state is not None:
            self.state = state

    # -- data ------------------------------------------------------------------

    @property
    def image(self) -> Image | None:
        """The image shown, as a :class:`voxlite.Image`."""
        return self._current

    @property
    def label_image(self) -> Image | None:
        """The label map shown, if any."""
        return self._current_labels

    def set_image(
        self,
        image: Any,
        label_image: Any = None,
        *,
        component: int | None = None,
        label_colors: dict[int, Any] | None = None,
    ) -> None:
        """Replace the image (and label map) shown, keeping the widget.

        Everything is validated and encoded before the view changes, so a
        rejected call leaves the viewer as it was.

        An image larger than a preview (``max_voxels / 8``, 128³ by default) is
        shown in stages (see :mod:`voxlite.multiscale`): a coarse preview at once;
        once the view has drawn it, the image itself or, over :attr:`max_voxels`,
        the finest level that fits, computed in the kernel's event loop while the
        notebook stays usable (``await viewer.loading`` waits for it); and, over
        the budget, full-resolution planes in slices mode. Outside a Jupyter
        kernel (a script) all of it is done before this returns. A new
        ``set_image`` cancels a pending level. Lazy images (zarr, dask,
        ``read_image(..., lazy=True)``) are read only in the parts these stages
        need.
        """
        new_image = as_image(image, component=component)
        new_labels = self._check_labels(new_image, label_image)
        self._show(new_image, new_labels, label_colors, reset=True)

    def set_label_image(self, label_image: Any, label_colors: dict[int, Any] | None = None) -> None:
        """Overlay a label map on the current image (``None`` removes it)."""
        if self._current is None:
            raise ValueError("set an image before its label map")
        new_labels = self._check_labels(self._current, label_image)
        payload = self._label_payload(new_labels, label_colors)
        planes = (
            self._planes_for(self._current, new_labels, self.slices, reuse=False)
            if self._over_budget
            else []
        )
        with self.hold_sync():
            self._current_labels, self._label_colors = new_labels, label_colors
            self._labels = payload
            self._planes = planes

    @property
    def loading(self) -> asyncio.Task | None:
        """The task computing a finer level of the image, while it runs (else None)."""
        return self._loading if self._loading and not self._loading.done() else None

    def _show(self, image: Image, labels: Image | None, label_colors: Any, reset: bool) -> None:
        """Send an image, or its preview and (once drawn) a finer level."""
        levels = levels_of(image)
        staged = levels.needs_preview(self.max_voxels)
        over_budget = levels.needs_levels(self.max_voxels)
        shown = levels.preview(self.max_voxels) if staged else image.load()
        payload = self._image_payload(shown, image, "preview" if staged else "full")
        label_payload = self._label_payload(labels, label_colors)
        slices = [n // 2 for n in image.size] if reset else self.slices
        planes = self._planes_for(image, labels, slices) if over_budget else []
        self._cancel_loading()
        with self.hold_sync():
            self._current, self._current_labels = image, labels
            self._label_colors, self._over_budget = label_colors, over_budget
            self._image = payload
            self._labels = label_payload
            self._planes = planes
            self._progress = {"text": LOADING, "fraction": 0.0} if staged else {}
            self.slices = slices
            if reset:
                self._reset_window(*payload["range"])
        self._waiting = levels if staged else None
        if staged and tasks.kernel_loop() is None:  # no view will ask: refine now
            self._refine_from(self._serial)

    def _refine_from(self, serial: Any) -> None:
        """Start the finer level of the preview ``serial`` (the view asks once it is drawn)."""
        if serial != self._serial or self._waiting is None:
            return  # an earlier image's preview, or a level already under way
        levels, self._waiting = self._waiting, None
        self._loading = tasks.start_in_kernel(self._refine(levels, serial))

    def _refine(self, levels: Levels, serial: int) -> Iterator[None]:
        """Compute the finest level within the budget, reporting progress, then show it."""
        try:
            level = yield from self._with_progress(levels.refined(self.max_voxels))
            payload = self._refined_payload(levels, level, serial)
        except Exception as error:  # shown in the view; the preview stays
            self._progress = {}
            self.send({"type": "error", "message": f"the finer level failed: {error}"})
            raise
        preview_window = self._window_for(*self._image["range"])
        with self.hold_sync():
            self._image = payload
            self._progress = {}
            if (self.window, self.level) == preview_window:  # not changed since: follow the level
                self._reset_window(*payload["range"])

    def _refined_payload(self, levels: Levels, level: Image, serial: int) -> dict[str, Any]:
        name = "refined" if levels.needs_levels(self.max_voxels) else "full"
        return self._image_payload(level, levels.full, name, serial)

    def _with_progress(self, steps: Progress) -> Iterator[None]:
        """Run a level computation, updating the progress bar every 5%."""
        reported = 0.0
        while True:
            try:
                fraction = next(steps)
            except StopIteration as stop:
                return stop.value
            if fraction - reported >= 0.05:
                reported = fraction
                self._progress = {"text": LOADING, "fraction": round(fraction, 3)}
            yield

    def _cancel_loading(self) -> None:
        self._waiting = None
        if self._loading is not None:
            self._loading.cancel()
            self._loading = None

    def _image_payload(
        self, shown: Image, full: Image, level: str, serial: int | None = None
    ) -> dict[str, Any]:
        """An image level's payload, with the full-resolution grid it stands for."""
        if serial is None:
            self._serial += 1
            serial = self._serial
        return {**encode_image(shown), "full": grid(full), "level": level, "serial": serial}

    def _label_payload(self, labels: Image | None, colors: Any) -> dict[str, Any]:
        """A label map's payload: at most ``max_voxels``, by nearest voxel (labels stay labels)."""
        if labels is None:
            return {}
        return encode_labels(run(Levels([labels]).refined(self.max_voxels, labels=True)), colors)

    def _planes_for(
        self, image: Image, labels: Image | None, slices: list[int], reuse: bool = True
    ) -> list[dict[str, Any]]:
        """Full-resolution planes at ``slices`` (in slices mode only); planes already sent
        for this image are reused, so moving one slice reads one plane."""
        if self.mode != "slices":
            return []
        serial = self._serial
        sent = {(p["axis"], p["index"]): p for p in self._planes if p["serial"] == serial}
        planes = []
        for axis, index in enumerate(slices):
            entry = sent.get((axis, index)) if reuse else None
            if entry is None:
                entry = {"axis": axis, "index": index, "serial": serial,
                         "image": encode_image(plane(image, axis, index))}  # fmt: skip
                if labels is not None:
                    entry["labels"] = encode_labels(plane(labels, axis, index))
            planes.append(entry)
        return planes

    # -- layers ----------------------------------------------------------------

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
        """Add a point set (N x 3 physical coordinates) drawn as spheres; returns its layer name.

        ``scalars`` (N values) are coloured with ``cmap``; ``colors`` (N x 3) are used
        as given; otherwise all points take ``color``. ``size`` is the spheres'
        diameter in millimetres (default: 1% of the scene), ``sizes`` one per point.

        Example:
            >>> import numpy as np, voxlite
            >>> viewer = voxlite.Viewer()
            >>> viewer.add_points(np.random.default_rng(0).normal(size=(100, 3)))
            'points'
        """
        point_set = as_points(points, scalars=scalars, colors=colors, sizes=sizes)
        name = self._layer_name(name, "points")
        size = size or self._default_point_size(point_set.points)
        color = color or self._next_color()
        settings = {"visible": True, "color": color, "opacity": opacity, "size": size, "cmap": cmap}
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
        """Add a triangle mesh; returns its layer name.

        ``mesh`` is a vertices array (with ``faces``), a ``{"vertices", "faces"}``
        dict, or a trimesh, meshio or pyvista mesh, in physical coordinates.
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

        ``label_image`` defaults to the label map shown; the colour defaults to the
        label's colour there. Needs scikit-image (``pip install 'voxlite[surface]'``).
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
        """Change a layer's settings: ``visible``, and for geometries ``color``, ``opacity``,
        and for point sets ``size`` and ``cmap``.

        Example:
            >>> import numpy as np, voxlite
            >>> viewer = voxlite.Viewer(np.zeros((4, 4, 4), np.uint8))
            >>> viewer.update_layer("image", visible=False)
            >>> viewer.layers["image"]
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
        for entry in self._labels.get("colors", []):
            if entry[0] == label:
                return to_hex(entry[1:])
        return to_hex(label_color(label))

    def _default_point_size(self, points: np.ndarray) -> float:
        """1% of the scene's diagonal: the image's if there is one, else the points'."""
        if self._current is not None:
            extent = np.asarray(self._current.size) * np.asarray(self._current.spacing)
        else:
            extent = points.max(axis=0) - points.min(axis=0)
        return float(max(np.linalg.norm(extent) * 0.01, 1e-3))

    def _current_range(self) -> tuple[float, float] | None:
        return tuple(self._image["range"]) if self._image else None

    # -- pictures and saved views -----------------------------------------------

    def screenshot(self, path: str | Path | None = None) -> np.ndarray:
        """The view's current picture as an ``H x W x 3`` uint8 array; with ``path``, also a PNG.

        The view sends its picture each time it settles, so a change made in the
        same cell shows in the next one: call ``screenshot()`` in a later cell
        than the one that displays or changes the viewer.
        """
        from voxlite.screenshot import decode_frame, write_png

        if self._frame is None:
            raise RuntimeError(
                "the viewer has not drawn yet: display it, then call screenshot() in a later cell"
            )
        rgb = decode_frame(*self._frame)[..., :3].copy()
        if path is not None:
            write_png(path, rgb)
        return rgb

    @property
    def state(self) -> dict[str, Any]:
        """The view's settings as plain JSON data; ``viewer.state = saved`` restores them.

        Holds the camera, mode, colormap, window/level, opacities, slices, background,
        and every layer's settings, not the data. Restoring checks every key and value
        first and changes nothing if any is wrong.

        Example:
            >>> import json, numpy as np, voxlite
            >>> viewer = voxlite.view(np.zeros((4, 4, 4), np.uint8), mode="mip")
            >>> saved = json.loads(json.dumps(viewer.state))
            >>> voxlite.view(np.zeros((4, 4, 4), np.uint8), state=saved).mode
            'mip'
        """
        saved = {"version": STATE_VERSION, **{key: getattr(self, key) for key in STATE_KEYS}}
        return json.loads(json.dumps(saved))  # a deep copy made of plain JSON types

    @state.setter
    def state(self, saved: dict[str, Any]) -> None:
        if not isinstance(saved, dict):
            raise ValueError(f"a saved state must be a dict, got {type(saved).__name__}")
        unknown = set(saved) - {"version", *STATE_KEYS}
        if unknown:
            raise ValueError(
                f"unknown state key(s) {', '.join(map(short, sorted(unknown, key=str)))}; "
                f"a state holds {', '.join(STATE_KEYS)}"
            )
        if saved.get("version", STATE_VERSION) != STATE_VERSION:
            raise ValueError(f"state version {short(saved['version'])} is not {STATE_VERSION}")
        previous = {key: getattr(self, key) for key in STATE_KEYS}
        key = ""
        try:
            with self.hold_sync():
                for key in STATE_KEYS:
                    if key in saved:
                        setattr(self, key, saved[key])
        except (traitlets.TraitError, ValueError, TypeError) as error:
            with self.hold_sync():  # all or nothing
                for name, value in previous.items():
                    setattr(self, name, value)
            raise ValueError(f"state[{key!r}]: {_first_line(error)}") from None

    def open_files(self, files: list[tuple[str, bytes]]) -> None:
        """Show an image from files' contents (what the viewer's Open control sends).

        One image file (with its companion data file, for .mhd/.nhdr) is read as
        such; several others are read as one DICOM series. The bytes are written
        to a private temporary folder, read, and deleted.
        """
        from voxlite.io import ImageIOError, read_image

        with tempfile.TemporaryDirectory(prefix="voxlite-open-") as folder:
            paths = _write_received(Path(folder), files)
            if not paths:
                raise ImageIOError("(no file)", "nothing to open")
            image = read_image(_image_source(paths, Path(folder)))
        self.set_image(image)

    def save_html(self, path: str | Path, title: str | None = None) -> Path:
        """Write the current view as one self-contained HTML file (no kernel, no network).

        The page embeds the front end, the voxels and the view's state (camera,
        colormap, window/level, slices ...), and its Content-Security-Policy forbids
        every request.

        Example:
            >>> import numpy as np, tempfile, pathlib, voxlite
            >>> viewer = voxlite.view(np.zeros((4, 4, 4), np.uint8))
            >>> viewer.save_html(pathlib.Path(tempfile.mkdtemp()) / "view.html").suffix
            '.html'
        """
        from voxlite.standalone import write_standalone

        if not _BUNDLE.exists():
            raise FileNotFoundError("the front-end bundle is missing: run `npm run build` in js/")
        name = title or (self._current.name if self._current is not None else "") or "voxlite"
        state = {**self.get_state(), "_progress": {}}
        if self._image.get("level") == "preview":  # no kernel will send the page a finer level
            levels = levels_of(self._current)
            level = run(levels.refined(self.max_voxels))
            state["_image"] = self._refined_payload(levels, level, self._serial)
        return write_standalone(Path(path), state, _BUNDLE.read_text(encoding="utf-8"), title=name)

    def _on_front_end_message(self, widget: Any, content: dict, buffers: list) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "frame" and len(buffers) == 1:
            self._frame = (content.get("width"), content.get("height"), bytes(buffers[0]))
            return
        if content.get("type") == "refine":  # the view has drawn a preview
            self._refine_from(content.get("serial"))
            return
        if content.get("type") != "open":
            return
        names = content.get("names", [])
        try:
            if not isinstance(names, list) or len(names) != len(buffers):
                raise ValueError("malformed open request")
            self.open_files([(str(n), bytes(b)) for n, b in zip(names, buffers, strict=True)])
        except (ValueError, TypeError, OSError) as error:  # ImageIOError is a ValueError
            self.send({"type": "error", "message": str(error)})

    @traitlets.observe("slices", "mode")
    def _send_planes(self, change: dict[str, Any]) -> None:
        if self._current is not None and self._over_budget:
            self._planes = self._planes_for(self._current, self._current_labels, self.slices)

    @traitlets.observe("max_voxels")
    def _reshow(self, change: dict[str, Any]) -> None:
        if self._current is not None:
            self._show(self._current, self._current_labels, self._label_colors, reset=False)

    def _check_labels(self, image: Image, label_image: Any) -> Image | None:
        """A label map on the image's grid (a bare array takes the image's geometry)."""
        if label_image is None:
            return None
        labels = as_image(label_image)
        if labels.shape != image.shape:
            raise ValueError(
                f"label_image shape {labels.shape} does not match the image shape {image.shape}"
            )
        if _has_default_geometry(labels):  # a bare array takes the image's grid
            labels = labels.replace(
                spacing=image.spacing, origin=image.origin, direction=image.direction
            )
        elif not labels.same_geometry(image):
            raise ValueError(
                "label_image geometry (spacing/origin/direction) differs from the image's: "
                f"spacing {labels.spacing} vs {image.spacing}, origin {labels.origin} vs "
                f"{image.origin}; resample the labels onto the image grid first"
            )
        return labels

    def _reset_window(self, low: float, high: float) -> None:
        self.window, self.level = self._window_for(low, high)

    def _window_for(self, low: float, high: float) -> tuple[float, float]:
        """The colormap preset's window/level, else the value range's."""
        preset = COLORMAPS.get(self.cmap, {})
        if "window" in preset:
            return preset["window"], preset["level"]
        return max(high - low, 1e-6), (low + high) / 2

    # -- validation ------------------------------------------------------------

    @traitlets.validate("cmap")
    def _valid_cmap(self, proposal: dict[str, Any]) -> str:
        name = proposal["value"]
        if name not in COLORMAPS:
            raise ValueError(f"unknown cmap {short(name)}; choose one of {', '.join(COLORMAPS)}")
        return name

    @traitlets.observe("cmap")
    def _apply_preset_window(self, change: dict[str, Any]) -> None:
        if self._image:
            self._reset_window(*self._image["range"])

    @traitlets.validate("mode")
    def _valid_mode(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in MODES:
            raise ValueError(f"unknown mode {short(proposal['value'])}; choose one of {MODES}")
        return proposal["value"]

    @traitlets.validate("window")
    def _valid_window(self, proposal: dict[str, Any]) -> float:
        value = proposal["value"]
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"window must be a positive number, got {value}")
        return value

    @traitlets.validate("level")
    def _valid_level(self, proposal: dict[str, Any]) -> float:
        if not np.isfinite(proposal["value"]):
            raise ValueError(f"level must be finite, got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("opacity", "label_opacity", "gradient_opacity")
    def _valid_fraction(self, proposal: dict[str, Any]) -> float:
        value = proposal["value"]
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{proposal['trait'].name} must be between 0 and 1, got {value}")
        return value

    @traitlets.validate("slices")
    def _valid_slices(self, proposal: dict[str, Any]) -> list[int]:
        value = list(proposal["value"])
        if len(value) != 3:
            raise ValueError(f"slices must be 3 voxel indices [i, j, k], got {value}")
        if self._current is not None:
            for axis, (index, size) in enumerate(zip(value, self._current.size, strict=True)):
                if not 0 <= index < size:
                    raise ValueError(
                        f"slice index {index} on axis {'xyz'[axis]} is outside 0..{size - 1}"
                    )
        return value

    @traitlets.validate("camera")
    def _valid_camera(self, proposal: dict[str, Any]) -> dict[str, Any]:
        camera = dict(proposal["value"])
        unknown = set(camera) - {"position", "focal_point", "view_up"}
        if unknown:
            raise ValueError(f"unknown camera keys {short(sorted(unknown, key=str))}")
        for key, value in camera.items():
            numbers = _is_numbers(value)
            vector = np.asarray(value, dtype=float).reshape(-1) if numbers else np.empty(0)
            if vector.size != 3 or not np.all(np.isfinite(vector)):
                raise ValueError(f"camera {key} must be 3 finite numbers, got {short(value)}")
            camera[key] = vector.tolist()
        return camera

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

    @traitlets.validate("bg_color")
    def _valid_bg_color(self, proposal: dict[str, Any]) -> str:
        return to_hex(proposal["value"])

    @traitlets.validate("max_voxels")
    def _valid_max_voxels(self, proposal: dict[str, Any]) -> int:
        value = proposal["value"]
        if not 32**3 <= value <= LIMIT_MAX_VOXELS:
            raise ValueError(
                f"max_voxels must be {32**3}..{LIMIT_MAX_VOXELS} (512³): a browser tab cannot "
                f"hold a larger volume texture; got {value}. Larger images are shown from a "
                "level, their slices at full resolution"
            )
        return value

    @traitlets.validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        if not 64 <= proposal["value"] <= 4096:
            raise ValueError(f"height must be 64..4096 pixels, got {proposal['value']}")
        return proposal["value"]


def _write_received(folder: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    """Write received files under their base names (made unique), never outside ``folder``."""
    paths = []
    for index, (name, data) in enumerate(files):
        base = Path(name.replace("\\", "/")).name.strip()
        if base in ("", ".", ".."):
            base = f"file{index}"
        path = folder / base
        if path.exists():
            path = folder / f"{index:05d}_{base}"
        path.write_bytes(data)
        paths.append(path)
    return paths


def _image_source(paths: list[Path], folder: Path) -> Path:
    """The file to read: the one image file among companions, else the folder (DICOM)."""
    from voxlite.io import SUFFIXES, suffix_of

    images = [p for p in paths if suffix_of(p) in SUFFIXES and suffix_of(p) != ".dcm"]
    return images[0] if len(images) == 1 else (paths[0] if len(paths) == 1 else folder)


def _is_numbers(value: Any) -> bool:
    """A flat sequence of real numbers (not strings, not booleans)?"""
    items = np.asarray(value, dtype=object).reshape(-1) if not isinstance(value, str) else [value]
    return all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in items)


def _as_list(value: Any) -> list[Any]:
    """One item or a list of items (a bare N x 3 array is one point set)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _window_from_range(
    vmin: float | None,
    vmax: float | None,
    window: float | None,
    level: float | None,
    data_range: tuple[float, float] | None,
) -> tuple[float | None, float | None]:
    """itkwidgets' vmin/vmax as voxlite's window/level."""
    if vmin is None and vmax is None:
        return window, level
    if window is not None or level is not None:
        raise ValueError("give either vmin/vmax or window/level, not both")
    low, high = data_range or (0.0, 1.0)
    low = low if vmin is None else float(vmin)
    high = high if vmax is None else float(vmax)
    if not high > low:
        raise ValueError(f"vmax ({high}) must be greater than vmin ({low})")
    return high - low, (low + high) / 2


def _first_line(error: BaseException) -> str:
    return short(str(error).splitlines()[0] if str(error) else type(error).__name__, 300)


def _has_default_geometry(image: Image) -> bool:
    return (
        image.spacing == (1.0, 1.0, 1.0)
        and image.origin == (0.0, 0.0, 0.0)
        and np.array_equal(image.direction, np.eye(3))
    )


def view(
    image: Any = None,
    label_image: Any = None,
    point_sets: Any = None,
    geometries: Any = None,
    **options: Any,
) -> Viewer:
    """Show a 3D image, a label map, point sets and meshes in the notebook.

    ``image`` may be anything :func:`voxlite.as_image` accepts; ``point_sets`` one
    or a list of N x 3 arrays (``point_set`` is accepted too, as in itkwidgets);
    ``geometries`` one or a list of meshes (see :meth:`Viewer.add_mesh`). Options
    are the :class:`Viewer`'s: ``cmap``, ``vmin``/``vmax`` or ``window``/``level``,
    ``mode``, ``opacity``, ``gradient_opacity``, ``label_opacity``, ``label_colors``,
    ``slices``, ``camera``, ``bg_color``, ``ui_collapsed``, ``rotate``, ``height``,
    ``component`` (for 4D inputs) and ``state`` (a saved :attr:`Viewer.state`).

    Example:
        >>> import voxlite
        >>> viewer = voxlite.view(voxlite.data.ct_phantom(), cmap="ct-bone")
        >>> viewer.window, viewer.level
        (1600.0, 500.0)
    """
    if "point_set" in options:
        if point_sets is not None:
            raise ValueError("give point_set or point_sets, not both")
        point_sets = options.pop("point_set")
    return Viewer(image, label_image, point_sets=point_sets, geometries=geometries, **options)
