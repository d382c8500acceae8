"""The notebook viewer: an anywidget whose front end is the bundled vtk.js renderer."""

from __future__ import annotations

import json
import tempfile
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from voxlite.image import Image, as_image
from voxlite.transfer import encode_image, encode_labels, to_hex

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
    """An interactive 3D view of an image and an optional label map.

    Every public trait is synced both ways: changing it in Python updates the
    view, and using the control panel or the mouse updates it in Python.

    Example:
        >>> import numpy as np, voxlite
        >>> viewer = voxlite.Viewer(np.zeros((8, 8, 8), np.uint8), mode="mip")
        >>> viewer.mode, viewer.slices
        ('mip', [4, 4, 4])
    """

    _esm = _front_end()

    _image = traitlets.Dict().tag(sync=True)
    _labels = traitlets.Dict().tag(sync=True)

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
    slices = traitlets.List(traitlets.Int(), [0, 0, 0]).tag(sync=True)
    """Slice positions as voxel indices ``[i, j, k]`` (x, y, z)."""
    camera = traitlets.Dict().tag(sync=True)
    """``{"position", "focal_point", "view_up"}`` in physical (LPS) coordinates."""
    bg_color = traitlets.Unicode("#000000").tag(sync=True)
    ui_collapsed = traitlets.Bool(False).tag(sync=True)
    height = traitlets.Int(480).tag(sync=True)

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
    ) -> None:
        super().__init__(
            mode=mode,
            opacity=opacity,
            label_opacity=label_opacity,
            bg_color=to_hex(bg_color),
            ui_collapsed=ui_collapsed,
            height=height,
        )
        self._current: Image | None = None
        self._current_labels: Image | None = None
        self.on_msg(self._on_front_end_message)
        if image is not None:
            self.set_image(image, label_image, component=component, label_colors=label_colors)
        elif label_image is not None:
            raise ValueError("label_image needs an image to overlay")
        self.cmap = cmap
        with self.hold_sync():
            if window is not None:
                self.window = window
            if level is not None:
                self.level = level
            if slices is not None:
                self.slices = list(slices)
            if camera is not None:
                self.camera = camera

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
        """
        new_image = as_image(image, component=component)
        payload = encode_image(new_image)
        new_labels, label_payload = self._prepare_labels(new_image, label_image, label_colors)
        low, high = payload["range"]
        with self.hold_sync():
            self._current, self._current_labels = new_image, new_labels
            self._image = payload
            self._labels = label_payload
            self.slices = [n // 2 for n in new_image.size]
            self._reset_window(low, high)

    def set_label_image(self, label_image: Any, label_colors: dict[int, Any] | None = None) -> None:
        """Overlay a label map on the current image (``None`` removes it)."""
        if self._current is None:
            raise ValueError("set an image before its label map")
        new_labels, payload = self._prepare_labels(self._current, label_image, label_colors)
        self._current_labels = new_labels
        self._labels = payload

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
        return write_standalone(
            Path(path), self.get_state(), _BUNDLE.read_text(encoding="utf-8"), title=name
        )

    def _on_front_end_message(self, widget: Any, content: dict, buffers: list) -> None:
        if not isinstance(content, dict) or content.get("type") != "open":
            return
        names = content.get("names", [])
        try:
            if not isinstance(names, list) or len(names) != len(buffers):
                raise ValueError("malformed open request")
            self.open_files([(str(n), bytes(b)) for n, b in zip(names, buffers, strict=True)])
        except (ValueError, TypeError, OSError) as error:  # ImageIOError is a ValueError
            self.send({"type": "error", "message": str(error)})

    def _prepare_labels(
        self, image: Image, label_image: Any, label_colors: dict[int, Any] | None
    ) -> tuple[Image | None, dict[str, Any]]:
        if label_image is None:
            return None, {}
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
        return labels, encode_labels(labels, label_colors)

    def _reset_window(self, low: float, high: float) -> None:
        preset = COLORMAPS.get(self.cmap, {})
        if "window" in preset:
            self.window, self.level = preset["window"], preset["level"]
        else:
            self.window = max(high - low, 1e-6)
            self.level = (low + high) / 2

    # -- validation ------------------------------------------------------------

    @traitlets.validate("cmap")
    def _valid_cmap(self, proposal: dict[str, Any]) -> str:
        name = proposal["value"]
        if name not in COLORMAPS:
            raise ValueError(f"unknown cmap {name!r}; choose one of {', '.join(COLORMAPS)}")
        return name

    @traitlets.observe("cmap")
    def _apply_preset_window(self, change: dict[str, Any]) -> None:
        if self._image:
            self._reset_window(*self._image["range"])

    @traitlets.validate("mode")
    def _valid_mode(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in MODES:
            raise ValueError(f"unknown mode {proposal['value']!r}; choose one of {MODES}")
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

    @traitlets.validate("opacity", "label_opacity")
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
            raise ValueError(f"unknown camera keys {sorted(unknown)}")
        for key, value in camera.items():
            vector = np.asarray(value, dtype=float).reshape(-1)
            if vector.size != 3 or not np.all(np.isfinite(vector)):
                raise ValueError(f"camera {key} must be 3 finite numbers, got {value!r}")
            camera[key] = vector.tolist()
        return camera

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


def _has_default_geometry(image: Image) -> bool:
    return (
        image.spacing == (1.0, 1.0, 1.0)
        and image.origin == (0.0, 0.0, 0.0)
        and np.array_equal(image.direction, np.eye(3))
    )


def view(image: Any = None, label_image: Any = None, **options: Any) -> Viewer:
    """Show a 3D image (and optionally a label map) in the notebook.

    ``image`` may be anything :func:`voxlite.as_image` accepts. Options are the
    :class:`Viewer`'s: ``cmap``, ``mode``, ``window``, ``level``, ``opacity``,
    ``label_opacity``, ``label_colors``, ``slices``, ``camera``, ``bg_color``,
    ``ui_collapsed``, ``height`` and ``component`` (for 4D inputs).

    Example:
        >>> import voxlite
        >>> viewer = voxlite.view(voxlite.data.ct_phantom(), cmap="ct-bone")
        >>> viewer.window, viewer.level
        (1600.0, 500.0)
    """
    return Viewer(image, label_image, **options)
