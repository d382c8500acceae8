"""The notebook viewer: an anywidget over the view model, rendered by the bundled vtk.js front end.

:class:`Viewer` adds to :class:`voxlite.viewmodel.ViewModel` only what a kernel
connection brings: the front-end module (``_esm``), the messages the view sends
(its settled picture, a request for a finer level, files to open), and what
needs them (:meth:`Viewer.screenshot`, :meth:`Viewer.open_files`,
:meth:`Viewer.save_html`).

Imports: :mod:`voxlite.viewmodel`, :mod:`voxlite.received`,
:mod:`voxlite.screenshot`, :mod:`voxlite.standalone`, :mod:`voxlite.io`.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import numpy as np

from voxlite.adapters import as_image
from voxlite.comparison import resample
from voxlite.io import ImageIOError, read_image
from voxlite.received import LABEL_NAME, as_received, sources_of, write_received
from voxlite.screenshot import decode_frame, write_png
from voxlite.standalone import write_standalone
from voxlite.viewmodel import COLORMAPS, MODES, ViewModel

__all__ = ["COLORMAPS", "MODES", "Viewer", "compare", "view"]

BUNDLE = Path(__file__).parent / "static" / "widget.js"
_MISSING_BUNDLE = """
export default { render({ el }) {
  el.textContent = "voxlite: the front-end bundle (voxlite/static/widget.js) is missing. "
    + "Reinstall voxlite from a wheel, or run `npm ci && npm run build` in js/.";
} };
"""
# Errors a received file can cause; they are shown in the view, which stays as it was.
OPEN_ERRORS = (ValueError, TypeError, OSError)  # ImageIOError is a ValueError


def _front_end() -> Path | str:
    if BUNDLE.exists():
        return BUNDLE
    warnings.warn(
        "voxlite's front-end bundle is missing: viewers will show an error. "
        "Run `npm ci && npm run build` in js/ (scripts/setup does it).",
        stacklevel=3,
    )
    return _MISSING_BUNDLE


class Viewer(anywidget.AnyWidget, ViewModel):
    """An interactive 3D view of an image, a label map, point sets and meshes.

    Every public trait is synced both ways: changing it in Python updates the
    view, and using the control panel or the mouse updates it in Python.
    Coordinates of points and meshes are physical (LPS, millimetres), the same
    space as the image's spacing, origin and direction. The parameters are the
    :class:`voxlite.viewmodel.ViewModel`'s.

    Example
    -------
    >>> import numpy as np, voxlite
    >>> viewer = voxlite.Viewer(np.zeros((8, 8, 8), np.uint8), mode="mip")
    >>> viewer.mode, viewer.slices
    ('mip', [4, 4, 4])
    """

    _esm = _front_end()

    def __init__(self, image: Any = None, label_image: Any = None, **options: Any) -> None:
        self._frame: tuple[int, int, bytes] | None = None
        # ipywidgets' constructor takes keywords only; they reach ViewModel.__init__.
        super().__init__(image=image, label_image=label_image, **options)
        self.on_msg(self._on_front_end_message)

    def screenshot(self, path: str | Path | None = None) -> np.ndarray:
        """The view's current picture as an ``H x W x 3`` uint8 array; with ``path``, also a PNG.

        The view sends its picture each time it settles, so a change made in the
        same cell shows in the next one: call ``screenshot()`` in a later cell
        than the one that displays or changes the viewer.

        Parameters
        ----------
        path
            Where to write the picture as a PNG (atomically), or None.
        """
        if self._frame is None:
            raise RuntimeError(
                "the viewer has not drawn yet: display it, then call screenshot() in a later cell"
            )
        rgb = decode_frame(*self._frame)[..., :3].copy()
        if path is not None:
            write_png(path, rgb)
        return rgb

    def open_files(self, files: list[tuple[str, bytes]]) -> None:
        """Show an image from files' contents (what the viewer's Open control sends).

        The files are grouped as :func:`voxlite.received.sources_of` says: the first
        image is shown (an image file, or the DICOM slices as one series), with a
        file named like a label map (``seg``, ``label``, ``mask`` ...) over it. The
        bytes are written to a private temporary folder, read, and deleted.

        Parameters
        ----------
        files
            ``(name, bytes)`` pairs.
        """
        with tempfile.TemporaryDirectory(prefix="voxlite-open-") as folder:
            received = [as_received(name, data) for name, data in files]
            paths = write_received(Path(folder), received)
            if not paths:
                raise ImageIOError("(no file)", "nothing to open")
            (_, first), *others = sources_of(paths)
            labels = next((s for name, s in others if LABEL_NAME.search(name)), None)
            image = read_image(first)
            label_image = read_image(labels) if labels is not None else None
        self.set_image(image, label_image)

    def save_html(self, path: str | Path, title: str | None = None) -> Path:
        """Write the current view as one self-contained HTML file (no kernel, no network).

        The page embeds the front end, the voxels and the view's state (camera,
        colormap, window/level, slices ...), and its Content-Security-Policy forbids
        every request.

        Parameters
        ----------
        path
            The file to write (atomically).
        title
            The page's title (default: the image's name).

        Example
        -------
        >>> import numpy as np, tempfile, pathlib, voxlite
        >>> viewer = voxlite.view(np.zeros((4, 4, 4), np.uint8))
        >>> viewer.save_html(pathlib.Path(tempfile.mkdtemp()) / "view.html").suffix
        '.html'
        """
        if not BUNDLE.exists():
            raise FileNotFoundError("the front-end bundle is missing: run `npm run build` in js/")
        name = title or (self.image.name if self.image is not None else "") or "voxlite"
        # No kernel will send the page a finer level: it carries the finest one.
        state = {**self.get_state(), "_progress": {}, "_image": self.finest_payload()}
        # It holds the time point shown, not the series: no time bar, no player.
        state.update(_time_points=1, playing=False)
        bundle = BUNDLE.read_text(encoding="utf-8")
        return write_standalone(Path(path), state, bundle, title=name)

    def _on_front_end_message(self, widget: Any, content: Any, buffers: list) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "frame" and len(buffers) == 1:
            self._frame = (content.get("width"), content.get("height"), bytes(buffers[0]))
        elif kind == "refine":  # the view has drawn a preview
            self.refine(content.get("serial"))
        elif kind == "open":
            self._open_from_front_end(content.get("names", []), buffers)

    def _open_from_front_end(self, names: Any, buffers: list) -> None:
        try:
            if not isinstance(names, list) or len(names) != len(buffers):
                raise ValueError("malformed open request")
            self.open_files([(str(n), bytes(b)) for n, b in zip(names, buffers, strict=True)])
        except OPEN_ERRORS as error:
            self.send({"type": "error", "message": str(error)})


def view(
    image: Any = None,
    label_image: Any = None,
    point_sets: Any = None,
    geometries: Any = None,
    **options: Any,
) -> Viewer:
    """Show a 3D image, a label map, point sets and meshes in the notebook.

    Parameters
    ----------
    image
        Anything :func:`voxlite.as_image` accepts: an array, a path, an ITK,
        SimpleITK, nibabel, xarray, zarr, dask, torch or MONAI object.
    label_image
        A label map on the image's grid.
    point_sets
        One or a list of N x 3 arrays (``point_set`` is accepted too, as in
        itkwidgets); see :meth:`Viewer.add_points`.
    geometries
        One or a list of meshes; see :meth:`Viewer.add_mesh`.
    **options
        The :class:`Viewer`'s: ``cmap``, ``vmin``/``vmax`` or ``window``/``level``,
        ``mode``, ``opacity``, ``gradient_opacity``, ``label_opacity``,
        ``label_colors``, ``slices``, ``camera``, ``bg_color``, ``ui_collapsed``,
        ``rotate``, ``height``, ``component`` (for 4D inputs), ``rgb``/``timeseries``
        (how a 4th axis is read), ``channel_names``, ``views``, ``time``, ``channels``,
        ``opacity_points``, ``crop``, ``max_voxels`` and ``state`` (a saved
        :attr:`Viewer.state`).

    Example
    -------
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


def compare(
    fixed: Any,
    moving: Any,
    method: str = "checkerboard",
    *,
    image_mix: float | None = None,
    checker: int | None = None,
    pattern: int | None = None,
    swap_image_order: bool = False,
    **options: Any,
) -> Any:
    """Compare two images in one view: ``moving`` is put on ``fixed``'s grid by their
    geometry (see :mod:`voxlite.comparison`), then shown as ``method`` says.

    Parameters
    ----------
    fixed, moving
        Anything :func:`voxlite.as_image` takes (scalar images).
    method
        ``"checkerboard"``, ``"blend"``, ``"green-magenta"``, ``"cyan-magenta"``,
        ``"cyan-red"``, or ``"side-by-side"`` (two linked viewers in a row, notebook
        only); :attr:`Viewer.compare_method` switches between the others.
    image_mix
        For ``"blend"``: the share of the moving image, 0..1 (itkwidgets' name).
    checker
        For ``"checkerboard"``: the squares' side in voxels.
    pattern
        itkwidgets' checkerboard: the number of squares across the image.
    swap_image_order
        Show the moving image first.
    **options
        The :class:`Viewer`'s (``views``, ``height`` ...).

    Example
    -------
    >>> import numpy as np, voxlite
    >>> fixed = voxlite.Image(np.random.default_rng(0).random((16, 16, 16)), spacing=(2, 2, 2))
    >>> moving = voxlite.Image(np.random.default_rng(1).random((32, 32, 32)))
    >>> voxlite.compare(fixed, moving, "green-magenta").compare_method
    'green-magenta'
    """
    if method == "side-by-side":
        return _side_by_side(fixed, moving, swap_image_order, **options)
    viewer = Viewer(**options)
    if checker is None and pattern is not None:
        checker = max(1, max(as_image(fixed).shape) // max(int(pattern), 1))
    viewer.compare(
        fixed,
        moving,
        method,
        image_mix=0.5 if image_mix is None else image_mix,
        checker=8 if checker is None else checker,
        swap=swap_image_order,
    )
    return viewer


def _side_by_side(fixed: Any, moving: Any, swap: bool, **options: Any) -> Any:
    """Two viewers in a row, moving on fixed's grid, their crosshair and camera linked."""
    fixed = as_image(fixed)
    onto = resample(as_image(moving), fixed)
    first, second = (Viewer(onto, **options), Viewer(fixed, **options))
    if not swap:
        first, second = second, first
    for name in ("cursor", "slices", "camera", "views", "mode"):
        ipywidgets.jslink((first, name), (second, name))
    return ipywidgets.HBox([first, second])
