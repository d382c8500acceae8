"""The view model: everything a view shows, as validated traits, with no browser attached.

:class:`ViewModel` is a :class:`traitlets.HasTraits` holding every trait the front
end renders (tagged ``sync=True``): the payloads of the image, label map, planes
and geometries (private, binary), and the settings a user changes (colormap,
window/level, mode, slices, camera, layers ...), each validated so that a bad value
is refused with a message and changes nothing. It also holds the saved
:attr:`~ViewModel.state` and the data and layer API (``set_image``, ``add_points``
...).

Three front doors share it: the notebook widget (:class:`voxlite.Viewer`, an
anywidget over this class), the saved page (``save_html`` embeds its traits), and
the viewer app, whose Python in the browser drives a plain :class:`ViewModel` and
mirrors its synced traits into the page.

Imports: the data path (:mod:`voxlite.image`, :mod:`voxlite.adapters`,
:mod:`voxlite.geometry`), :mod:`voxlite.display`, :mod:`voxlite.layers`,
:mod:`voxlite.transfer`; never the widget.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import traitlets

from voxlite import checks, comparison, tasks
from voxlite.adapters import as_image
from voxlite.checks import Number, short, to_hex
from voxlite.comparison import resample
from voxlite.display import Display, label_payload
from voxlite.image import Image
from voxlite.io.label_table import read_label_table
from voxlite.layers import LayerTraits
from voxlite.multiscale import DEFAULT_MAX_VOXELS, LIMIT_MAX_VOXELS, Levels, Progress
from voxlite.presets import COLORMAPS
from voxlite.reading import ITKWIDGETS_VIEWS, ReadingTraits, orientations, views_for
from voxlite.stream import (
    DEFAULT_CACHE_MB,
    MAX_CACHE_MB,
    check_info,
    is_stream,
    stream_image,
    stream_source,
)

__all__ = ["COLORMAPS", "MODES", "STATE_KEYS", "ViewModel"]

MODES = ("volume", "mip", "slices")
#: The most channels shown at once (fluorescence microscopy rarely has more).
MAX_CHANNELS = 8
#: Default channel colours, in order (microscopy's usual first four, then more).
CHANNEL_COLORS = (
    *("#00ff00", "#ff00ff", "#00ffff", "#ffff00"),
    *("#ff0000", "#0000ff", "#ff8000", "#ffffff"),
)
STATE_VERSION = 1
LOADING = "Loading a finer level…"
# Traits a saved state holds, in the order they are restored (a cmap preset resets
# window/level, so it comes before them).
STATE_KEYS = (
    *("mode", "cmap", "window", "level", "opacity", "label_opacity", "gradient_opacity"),
    *("slices", "cursor", "camera", "bg_color", "ui_collapsed", "rotate", "layers"),
    *("views", "radiological", "label_display", "hidden_labels", "measurements"),
    *("time", "fps", "channels", "opacity_points", "crop"),
    *("compare_method", "image_mix", "checker"),
)


class ViewModel(ReadingTraits, LayerTraits):
    """What a view shows: an image, a label map, point sets and meshes, and how.

    Every trait tagged ``sync`` is rendered by the front end; changing one changes
    the view, and the front end's panel and mouse change them back.

    Parameters
    ----------
    image
        Anything :func:`voxlite.as_image` takes, or None.
    label_image
        A label map on the image's grid (a bare array takes the image's geometry).
    cmap, mode, window, level, opacity, label_opacity, gradient_opacity
        Initial settings (see the traits of the same names).
    label_colors
        ``{label: colour}`` for the label map ('#rrggbb' or RGB).
    slices, camera, bg_color, ui_collapsed, rotate, height
        Initial settings (see the traits).
    component
        The channel of a 4D input to show.
    point_sets, geometries
        One or a list of point sets (N x 3) and meshes (see :meth:`add_points`,
        :meth:`add_mesh`).
    vmin, vmax
        itkwidgets' names for the value range the colormap spans (instead of
        ``window``/``level``).
    state
        A saved :attr:`state` to restore.
    max_voxels
        Voxels per volume texture: a larger image is shown from a level.

    Example
    -------
    >>> import numpy as np
    >>> model = ViewModel(np.zeros((8, 8, 8), np.uint8), mode="mip")
    >>> model.mode, model.slices
    ('mip', [4, 4, 4])
    """

    _image = traitlets.Dict().tag(sync=True)
    _labels = traitlets.Dict().tag(sync=True)
    # Full-resolution slice planes [x, y, z] of an image shown from a level (slices mode).
    _planes = traitlets.List(traitlets.Dict()).tag(sync=True)
    # {"text", "fraction"} while a finer level is computed; {} otherwise.
    _progress = traitlets.Dict().tag(sync=True)

    cmap = traitlets.Unicode("grayscale").tag(sync=True)
    """Colormap preset, one of :data:`COLORMAPS` (CT presets also set window/level)."""
    mode = traitlets.Unicode("volume").tag(sync=True)
    """'volume' (ray casting), 'mip' (maximum intensity projection) or 'slices'."""
    window = Number(1.0).tag(sync=True)
    """Width of the value range the colormap spans."""
    level = Number(0.5).tag(sync=True)
    """Centre of the value range the colormap spans."""
    opacity = Number(1.0).tag(sync=True)
    """Scale of the volume's opacity, 0..1."""
    label_opacity = Number(0.5).tag(sync=True)
    """Opacity of the label-map overlay, 0..1."""
    gradient_opacity = Number(0.0).tag(sync=True)
    """0..1: how much homogeneous regions fade in volume rendering (edges stay), 0 = off."""
    slices = traitlets.List(traitlets.Int(), [0, 0, 0]).tag(sync=True)
    """Slice positions as voxel indices ``[i, j, k]`` (x, y, z)."""
    camera = traitlets.Dict().tag(sync=True)
    """``{"position", "focal_point", "view_up"}`` in physical (LPS) coordinates."""
    bg_color = traitlets.Unicode("#000000").tag(sync=True)
    ui_collapsed = traitlets.Bool(False).tag(sync=True)
    rotate = traitlets.Bool(False).tag(sync=True)
    """Spin the camera about the view-up axis."""
    height = traitlets.Int(480).tag(sync=True)
    time = traitlets.Int(0).tag(sync=True)
    """The time point shown of a time series (0 otherwise)."""
    # How many time points the image has (1 unless a time series): the page's slider.
    _time_points = traitlets.Int(1).tag(sync=True)
    fps = Number(10.0).tag(sync=True)
    """Time points per second while :attr:`playing`."""
    playing = traitlets.Bool(False).tag(sync=True)
    """Step through the time points, looping, at :attr:`fps`."""
    channels = traitlets.List(traitlets.Dict()).tag(sync=True)
    """Settings of each channel of a multichannel image: ``{"name", "color", "window",
    "level", "opacity", "visible"}``, colours as '#rrggbb'."""
    opacity_points = traitlets.List(traitlets.List()).tag(sync=True)
    """The volume's opacity as ``[value, opacity]`` points in the image's units (the
    transfer-function editor's); empty: the colormap preset's curve over the window."""
    compare_method = traitlets.Unicode("").tag(sync=True)
    """How two images compared (:meth:`compare`) are shown: one of
    :data:`voxlite.comparison.METHODS`; empty when not comparing."""
    image_mix = Number(0.5).tag(sync=True)
    """``"blend"``: how much of the moving image is mixed in, 0..1."""
    checker = traitlets.Int(8).tag(sync=True)
    """``"checkerboard"``: the side of its squares, in voxels."""
    crop = traitlets.Dict().tag(sync=True)
    """The part of the volume shown: ``{"min": [x, y, z], "max": [x, y, z]}``, LPS mm;
    empty: all of it."""
    # An OME-Zarr image the front end streams from a URL (voxlite.stream): {url, base,
    # serial, ...} set here; the geometry the front end read comes back as _stream_info.
    _stream = traitlets.Dict().tag(sync=True)
    _stream_info = traitlets.Dict().tag(sync=True)
    cache_mb = traitlets.Int(DEFAULT_CACHE_MB).tag(sync=True)
    """The page's cache of a streamed image's decoded chunks, in MiB (least recently
    used chunks go first)."""
    max_voxels = traitlets.Int(DEFAULT_MAX_VOXELS)
    """Voxels per volume texture: a larger image is shown from a level that fits
    (see :mod:`voxlite.multiscale`), its slices at full resolution."""

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
        views: str | None = None,
        radiological: bool = True,
        label_names: dict[int, str] | None = None,
        label_display: str = "outline",
        rgb: bool | None = None,
        timeseries: bool | None = None,
        channel_names: Sequence[str] | None = None,
        **traits: Any,
    ) -> None:
        # Checked against the image (its time points, channels, units and extent in mm): set
        # once it is shown (a new image resets them).
        after_image = {
            key: traits.pop(key)
            for key in ("time", "channels", "opacity_points", "crop")
            if key in traits
        }
        # Set before any trait: observers (max_voxels, slices) read them.
        self._display = Display()
        self._current: Image | None = None  # the time point shown
        self._source: Image | None = None  # what was given: a time series, or the same
        self._shown_time = 0
        self._comparison: tuple[Image, Image, bool] | None = None
        self._current_labels: Image | None = None
        self._label_colors: dict[int, Any] | None = None
        self._streams = 0  # serial of the last stream opened
        self.sent: list[dict[str, Any]] = []
        # itkwidgets' mode="x" | "y" | "z" | "v" names a view, not a rendering.
        if mode in ITKWIDGETS_VIEWS and views is None:
            mode, views = "volume", ITKWIDGETS_VIEWS[mode]
        self._views_chosen = views is not None  # else the image chooses (a slice: face on)
        super().__init__(
            mode=mode,
            views=views or "quad",
            radiological=radiological,
            label_display=label_display,
            opacity=opacity,
            label_opacity=label_opacity,
            gradient_opacity=gradient_opacity,
            bg_color=to_hex(bg_color),
            ui_collapsed=ui_collapsed,
            rotate=rotate,
            height=height,
            max_voxels=max_voxels,
            **traits,
        )
        if image is not None:
            self.set_image(
                image,
                label_image,
                component=component,
                label_colors=label_colors,
                label_names=label_names,
                rgb=rgb,
                timeseries=timeseries,
                channel_names=channel_names,
            )
        elif label_image is not None:
            raise ValueError("label_image needs an image to overlay")
        for points in _as_list(point_sets):
            self.add_points(points)
        for mesh in _as_list(geometries):
            self.add_mesh(mesh)
        self.cmap = cmap
        window, level = checks.window_from_range(vmin, vmax, window, level, self._current_range())
        with self.hold_sync():
            if window is not None:
                self.window = window
            if level is not None:
                self.level = level
            if slices is not None:
                self.slices = list(slices)
            if camera is not None:
                self.camera = camera
        for key, value in after_image.items():
            setattr(self, key, value)
        if state is not None:
            self.state = state

    # -- what a widget overrides ---------------------------------------------------

    @contextlib.contextmanager
    def hold_sync(self) -> Iterator[None]:
        """Group trait changes; a widget sends them to its front end as one message."""
        yield

    def send(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        """A message for the front end (an error to show); a widget sends it, here it is kept."""
        self.sent.append(content)

    # -- data ------------------------------------------------------------------------

    @property
    def image(self) -> Image | None:
        """The image shown, as a :class:`voxlite.Image` (a time series whole)."""
        return self._source

    @property
    def label_image(self) -> Image | None:
        """The label map shown, if any."""
        return self._current_labels

    @property
    def value_range(self) -> tuple[float, float] | None:
        """The (min, max) of the image's finite voxels as shown (None without an image)."""
        return self._current_range()

    @property
    def label_colors(self) -> dict[int, str]:
        """The colour of each label present in the label map shown, as '#rrggbb'."""
        return {int(entry[0]): to_hex(entry[1:]) for entry in self._labels.get("colors", [])}

    @property
    def loading(self) -> asyncio.Task | None:
        """The task computing a finer level of the image, while it runs (else None)."""
        return self._display.loading

    def set_image(
        self,
        image: Any,
        label_image: Any = None,
        *,
        component: int | None = None,
        label_colors: dict[int, Any] | None = None,
        label_names: dict[int, str] | None = None,
        rgb: bool | None = None,
        timeseries: bool | None = None,
        channel_names: Sequence[str] | None = None,
    ) -> None:
        """Replace the image (and label map) shown, keeping the view.

        Everything is validated and encoded before the view changes, so a rejected
        call leaves it as it was.

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

        Parameters
        ----------
        image
            Anything :func:`voxlite.as_image` takes.
        label_image
            A label map on the image's grid, or None.
        component
            The channel of a 4D input to show.
        label_colors
            ``{label: colour}`` for the label map.
        label_names
            ``{label: name}`` for the legend and the readout, or the path of a label
            table (ITK-SNAP, 3D Slicer, FreeSurfer; its colours apply too). Default:
            the names the label map's file gives (a DICOM SEG's segments ...).
        rgb, timeseries
            Override how a 4th axis (or a 3D array's last axis of 3 or 4 bytes) is read:
            see :func:`voxlite.as_image`.
        channel_names
            A name for each channel of a multichannel image (default: the file's, such
            as OME-Zarr's omero labels, else "channel 0", ...).

        Example
        -------
        >>> import numpy as np
        >>> model = ViewModel(np.zeros((4, 4, 4), np.uint8))
        >>> model.set_image(np.ones((6, 6, 6), np.int16))
        >>> model.image.shape, model.slices
        ((6, 6, 6), [3, 3, 3])

        A URL of an OME-Zarr image (or, in Pyodide, a ``.zarr`` path) is streamed by the
        front end: see :meth:`open_stream`.
        """
        if is_stream(image):
            if label_image is not None:
                raise ValueError("a streamed image takes no label_image yet")
            self.open_stream(image)
            return
        source = as_image(image, component=component, rgb=rgb, timeseries=timeseries)
        if channel_names is not None:
            source = source.replace(channel_names=tuple(channel_names))
        self._set_image(source, label_image, label_colors, label_names)
        self._comparison = None  # a new image: no more a comparison
        self.compare_method = ""

    def _set_image(
        self, source: Image, label_image: Any, label_colors: Any, label_names: Any
    ) -> None:
        _check_kind(source)
        new_image = source.frame(0)
        new_labels = self._check_labels(new_image, label_image)
        names, label_colors = _label_names(label_names, label_colors, new_labels)
        with self.hold_sync():
            self._show(new_image, new_labels, label_colors, reset=True)
            self._source, self._shown_time = source, 0
            self._time_points = source.frames
            self.time = 0
            self.label_names = names
            # Values and millimetres of the previous image mean nothing for this one.
            self.opacity_points, self.crop = [], {}

    def open_stream(self, url: str) -> None:
        """Show the OME-Zarr image at ``url``, streamed by the view (Python reads no voxel).

        The front end reads the coarsest level first, then what its views need, and
        reports the image's geometry, which then becomes :attr:`image` (its voxels stay
        in the browser) and :attr:`stream_info`. See :mod:`voxlite.stream`.

        Parameters
        ----------
        url
            ``https://…/image.ome.zarr`` (the host must allow the page's origin: CORS),
            a URL relative to the page, or in the JupyterLite site a path in its files.

        Example
        -------
        >>> model = ViewModel()
        >>> model.open_stream("https://example.org/image.ome.zarr")
        >>> model._stream["url"], model.image is None
        ('https://example.org/image.ome.zarr', True)
        """
        self._display.cancel()
        self._streams += 1
        source = stream_source(str(url), self._streams, self.max_voxels, self.cache_mb)
        with self.hold_sync():
            self._current = self._source = self._current_labels = None
            self._comparison = None
            self._image, self._labels, self._planes, self._progress = {}, {}, [], {}
            self._stream_info = {}
            # Nothing of the previous image carries over (its values, millimetres, time).
            self.opacity_points, self.crop, self.compare_method = [], {}, ""
            self._time_points, self.time, self.playing = 1, 0, False
            # OME-Zarr's axes are the patient's (no rotation): the 2D views' geometry now.
            self._orientation = orientations(np.eye(3), self.radiological)
            self._stream = source

    @property
    def stream_info(self) -> dict[str, Any]:
        """What the view read of a streamed image (shape, spacing, origin, levels, dtype,
        range), or ``{"error": ...}`` when it could not; ``{}`` before it reported."""
        return dict(self._stream_info)

    @traitlets.observe("_stream_info")
    def _take_stream_info(self, change: dict[str, Any]) -> None:
        """The front end read the stream's geometry: the image is that grid from now on."""
        info = change["new"]
        if not info or not self._stream or info.get("serial") != self._stream.get("serial"):
            return
        try:
            checked = check_info(info)
        except ValueError as error:
            self.send({"type": "error", "message": str(error)})
            return
        if "error" in checked or self._current is not None:
            return
        image = stream_image(checked)
        slices = [n // 2 for n in image.size]
        with self.hold_sync():
            self._current = self._source = image
            self._shown_time, self._time_points = 0, 1
            self._orientation = orientations(image.direction, self.radiological)
            if not self._views_chosen:
                self.views = views_for(image)
            self.slices = slices
            self._sync_cursor(slices)
            if (self.window, self.level) == (1.0, 0.5):  # not chosen (the front end's rule)
                self._reset_window(checked)

    def set_label_image(
        self,
        label_image: Any,
        label_colors: dict[int, Any] | None = None,
        label_names: dict[int, str] | None = None,
    ) -> None:
        """Overlay a label map on the current image (``None`` removes it).

        Parameters
        ----------
        label_image
            A label map on the image's grid, or None.
        label_colors
            ``{label: colour}`` ('#rrggbb' or RGB).
        label_names
            ``{label: name}``, or a label table's path (see :meth:`set_image`).
        """
        if self._current is None:
            raise ValueError("set an image before its label map")
        new_labels = self._check_labels(self._current, label_image)
        names, label_colors = _label_names(label_names, label_colors, new_labels)
        payload = label_payload(new_labels, label_colors, self.max_voxels)
        planes = self._planes_at(self.slices, new_labels, reuse=False)
        with self.hold_sync():
            self._current_labels, self._label_colors = new_labels, label_colors
            self._labels = payload
            self._planes = planes
            self.label_names = names
            self.hidden_labels = []

    def compare(
        self,
        fixed: Any,
        moving: Any,
        method: str = "checkerboard",
        *,
        image_mix: float = 0.5,
        checker: int = 8,
        swap: bool = False,
    ) -> None:
        """Show two images compared: ``moving`` on ``fixed``'s grid (see :mod:`voxlite.comparison`).

        Parameters
        ----------
        fixed, moving
            Anything :func:`voxlite.as_image` takes (scalar images).
        method
            One of :data:`voxlite.comparison.METHODS`.
        image_mix
            For ``"blend"``: the share of the moving image, 0..1.
        checker
            For ``"checkerboard"``: the squares' side in voxels.
        swap
            Show the moving image first (in colour pairs and blends).
        """
        fixed, moving = as_image(fixed), as_image(moving)
        onto = resample(moving, fixed)  # refuses images that do not overlap
        _check_method(method)
        with self.hold_sync():
            self._comparison = (fixed, onto, swap)
            self.image_mix, self.checker = image_mix, checker
            self.compare_method = method  # shows it (_recompare)

    def _replace_image(self, shown: Image, reset: bool) -> None:
        """Show another image made from the same data (a comparison), as new or in place."""
        if reset:
            self._set_image(shown, None, None, None)
        else:
            self._show(shown, None, None, reset=False)
            self._source = shown

    def _show_comparison(self, reset: bool) -> None:
        """The comparison as its method shows it; ``reset``: as a new image (window ...)."""
        fixed, moving, swap = self._comparison
        if self.compare_method == "checkerboard":
            first, second = (moving, fixed) if swap else (fixed, moving)
            shown = comparison.checkerboard(first, second, self.checker)
        else:
            shown = comparison.pair(fixed, moving, swap)
        self._replace_image(shown, reset=reset)
        if shown.pixel == "channels":
            self.channels = comparison.channel_settings(
                self.channels, self.compare_method, self.image_mix
            )

    @traitlets.observe("compare_method", "image_mix", "checker")
    def _recompare(self, change: dict[str, Any]) -> None:
        if self._comparison is None or not self.compare_method:
            return
        if change["name"] == "compare_method":
            self._show_comparison(reset=True)
        elif change["name"] == "checker" and self.compare_method == "checkerboard":
            self._show_comparison(reset=False)
        elif change["name"] == "image_mix" and self.compare_method == "blend":
            self.channels = comparison.channel_settings(self.channels, "blend", self.image_mix)

    def refine(self, serial: Any) -> None:
        """Compute and show the finer level of the preview ``serial`` (the view asks for
        it once it has drawn the preview; a stale or repeated request is ignored)."""
        levels = self._display.take_waiting(serial)
        if levels is not None:
            self._display.start(self._refine(levels))

    def _show(self, image: Image, labels: Image | None, label_colors: Any, reset: bool) -> None:
        """Send an image, or its preview and (once drawn) a finer level."""
        slices = [n // 2 for n in image.size] if reset else self.slices
        shown = self._display.show(
            image,
            labels,
            label_colors,
            max_voxels=self.max_voxels,
            slices=slices,
            slices_mode=self._shows_planes(),
        )
        with self.hold_sync():
            if self._stream:  # an image of its own: no more a stream
                self._stream, self._stream_info = {}, {}
            self._current, self._current_labels = image, labels
            self._label_colors = label_colors
            self._image = shown.image
            self._labels = shown.labels
            self._planes = shown.planes
            self._progress = {"text": LOADING, "fraction": 0.0} if shown.staged else {}
            self._orientation = orientations(image.direction, self.radiological)
            if reset and not self._views_chosen:
                self.views = views_for(image)
            self.slices = slices
            self._sync_cursor(slices)
            if reset:
                self._reset_window(shown.image)
                self.channels = _default_channels(shown.image)
        if shown.staged and tasks.kernel_loop() is None:
            self.refine(shown.serial)  # no view will ask: refine now

    def _refine(self, levels: Levels) -> Iterator[None]:
        """Compute the finest level within the budget, reporting progress, then show it."""
        try:
            steps = self._display.refined(levels, self.max_voxels)
            payload = yield from self._with_progress(steps)
        except Exception as error:  # shown in the view; the preview stays
            self._progress = {}
            self.send({"type": "error", "message": f"the finer level failed: {error}"})
            raise
        preview_window = self._window_for(self._image)
        with self.hold_sync():
            self._image = payload
            self._progress = {}
            if (self.window, self.level) == preview_window:  # not changed since: follow the level
                self._reset_window(payload)

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

    def _planes_at(
        self, slices: list[int], labels: Image | None, reuse: bool = True
    ) -> list[dict[str, Any]]:
        if self._current is None or not self._display.over_budget:
            return []
        return self._display.planes(
            self._current, labels, slices, self._shows_planes(), reuse=reuse
        )

    def _shows_planes(self) -> bool:
        """Slices are drawn: in 2D views, or as planes in the 3D view."""
        return self.mode == "slices" or self.views != "3d"

    def finest_payload(self) -> dict[str, Any]:
        """The image payload a page without a kernel needs: never a preview."""
        if self._image.get("level") != "preview":
            return self._image
        return self._display.finest_payload(self._current, self.max_voxels)

    @traitlets.observe("slices", "mode", "views")
    def _send_planes(self, change: dict[str, Any]) -> None:
        if self._current is not None and self._display.over_budget:
            self._planes = self._planes_at(self.slices, self._current_labels)

    @traitlets.observe("max_voxels")
    def _reshow(self, change: dict[str, Any]) -> None:
        if self._stream:
            self.open_stream(self._stream["url"])  # the view reads the level that fits now
        elif self._current is not None:
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

    def _current_range(self) -> tuple[float, float] | None:
        return tuple(self._image["range"]) if self._image else None

    def _reset_window(self, payload: dict[str, Any]) -> None:
        self.window, self.level = self._window_for(payload)

    def _window_for(self, payload: dict[str, Any]) -> tuple[float, float]:
        """The colormap preset's window/level, else the image's default one
        (:func:`voxlite.windowing.default_window`)."""
        preset = COLORMAPS.get(self.cmap, {})
        if "window" in preset:
            return preset["window"], preset["level"]
        window, level = payload["default_window"]
        return window, level

    @traitlets.observe("time")
    def _show_time_point(self, change: dict[str, Any]) -> None:
        """Another time point: only its voxels travel; the window and the view stay."""
        source = self._source
        if source is not None and source.timeseries and change["new"] != self._shown_time:
            frame = source.frame(change["new"])
            self._show(frame, self._current_labels, self._label_colors, reset=False)
            self._shown_time = change["new"]

    # -- saved views ---------------------------------------------------------------------

    @property
    def state(self) -> dict[str, Any]:
        """The view's settings as plain JSON data; ``model.state = saved`` restores them.

        Holds the camera, mode, colormap, window/level, opacities, slices, background,
        and every layer's settings, not the data. Restoring checks every key and value
        first and changes nothing if any is wrong.

        Example
        -------
        >>> import json
        >>> model = ViewModel(np.zeros((4, 4, 4), np.uint8), mode="mip")
        >>> saved = json.loads(json.dumps(model.state))
        >>> ViewModel(np.zeros((4, 4, 4), np.uint8), state=saved).mode
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
        except (traitlets.TraitError, ValueError, TypeError, OverflowError) as error:
            with self.hold_sync():  # all or nothing
                for name, value in previous.items():
                    setattr(self, name, value)
            raise ValueError(f"state[{key!r}]: {checks.first_line(error)}") from None

    # -- validation ------------------------------------------------------------------

    @traitlets.validate("cmap")
    def _valid_cmap(self, proposal: dict[str, Any]) -> str:
        name = proposal["value"]
        if name not in COLORMAPS:
            raise ValueError(f"unknown cmap {short(name)}; choose one of {', '.join(COLORMAPS)}")
        return name

    @traitlets.observe("cmap")
    def _apply_preset_window(self, change: dict[str, Any]) -> None:
        if self._image:
            self._reset_window(self._image)
        # A preset with a window of its own (the CT ones) brings its opacity curve too;
        # a colormap without one only recolours, keeping the user's opacity points.
        if "window" in COLORMAPS[change["new"]]:
            self.opacity_points = []

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
                        f"slice index {short(index)} on axis {'xyz'[axis]} is outside 0..{size - 1}"
                    )
        return value

    @traitlets.validate("camera")
    def _valid_camera(self, proposal: dict[str, Any]) -> dict[str, Any]:
        return checks.camera(proposal["value"])

    @traitlets.validate("time")
    def _valid_time(self, proposal: dict[str, Any]) -> int:
        frames = self._source.frames if self._source is not None else 1
        if not 0 <= proposal["value"] < frames:
            what = f"0..{frames - 1}" if frames > 1 else "0 (the image is not a time series)"
            raise ValueError(f"time {short(proposal['value'])} is outside {what}")
        return proposal["value"]

    @traitlets.validate("fps")
    def _valid_fps(self, proposal: dict[str, Any]) -> float:
        if not 0.1 <= proposal["value"] <= 120:
            raise ValueError(
                f"fps must be 0.1..120 time points per second, got {proposal['value']}"
            )
        return proposal["value"]

    @traitlets.validate("channels")
    def _valid_channels(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        settings = list(proposal["value"])
        count = self._current.components if self._current is not None else 0
        if settings and (self._current is None or self._current.pixel != "channels"):
            raise ValueError("channels: the image shown has no channels")
        if settings and len(settings) != count:
            raise ValueError(f"channels: {len(settings)} settings for {count} channels")
        return [checks.channel(i, channel) for i, channel in enumerate(settings)]

    @traitlets.validate("opacity_points")
    def _valid_opacity_points(self, proposal: dict[str, Any]) -> list[list[float]]:
        return checks.opacity_points(proposal["value"])

    @traitlets.validate("compare_method")
    def _valid_compare_method(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value:
            _check_method(value)
        if value and self._comparison is None:
            raise ValueError("compare_method: nothing is compared; call compare(fixed, moving)")
        return value

    @traitlets.validate("image_mix")
    def _valid_image_mix(self, proposal: dict[str, Any]) -> float:
        if not 0.0 <= proposal["value"] <= 1.0:
            raise ValueError(f"image_mix must be between 0 and 1, got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("checker")
    def _valid_checker(self, proposal: dict[str, Any]) -> int:
        if not 1 <= proposal["value"] <= 4096:
            raise ValueError(f"checker must be 1..4096 voxels, got {short(proposal['value'])}")
        return proposal["value"]

    @traitlets.validate("crop")
    def _valid_crop(self, proposal: dict[str, Any]) -> dict[str, list[float]]:
        crop = checks.crop(proposal["value"])
        if crop and self._current is not None:
            checks.crop_overlaps(crop, physical_bounds(self._current))
        return crop

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

    @traitlets.validate("cache_mb")
    def _valid_cache_mb(self, proposal: dict[str, Any]) -> int:
        if not 16 <= proposal["value"] <= MAX_CACHE_MB:
            raise ValueError(f"cache_mb must be 16..{MAX_CACHE_MB} MiB, got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        if not 64 <= proposal["value"] <= 4096:
            raise ValueError(f"height must be 64..4096 pixels, got {proposal['value']}")
        return proposal["value"]


def physical_bounds(image: Image) -> tuple[list[float], list[float]]:
    """The LPS box (min, max in mm) around the centres of an image's voxels.

    Example
    -------
    >>> physical_bounds(Image(np.zeros((2, 3, 4)), spacing=(2.0, 1.0, 1.0)))
    ([0.0, 0.0, 0.0], [6.0, 2.0, 1.0])
    """
    last = np.asarray(image.size) - 1
    corners = np.array([image.index_to_physical(last * np.array(c)) for c in np.ndindex(2, 2, 2)])
    return corners.min(axis=0).tolist(), corners.max(axis=0).tolist()


def _check_method(method: str) -> None:
    if method not in comparison.METHODS:
        choices = ", ".join(comparison.METHODS)
        raise ValueError(f"unknown compare method {short(method)}; choose one of {choices}")


def _check_kind(image: Image) -> None:
    """Refuse what the views cannot show, saying what to do instead."""
    if image.pixel == "channels" and image.components > MAX_CHANNELS:
        raise ValueError(
            f"the image has {image.components} channels; voxlite shows at most {MAX_CHANNELS} "
            "at once: pick some (image.channel(i), or component=i for one)"
        )


def _default_channels(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Each channel's first settings: its colour, its own robust window, shown."""
    if payload.get("pixel") != "channels":
        return []
    names = payload.get("channel_names") or []
    return [
        {
            "name": names[i] if i < len(names) else f"channel {i}",
            "color": CHANNEL_COLORS[i % len(CHANNEL_COLORS)],
            "window": window,
            "level": level,
            "opacity": 1.0,
            "visible": True,
        }
        for i, (window, level) in enumerate(payload["default_windows"])
    ]


def _label_names(
    names: Any, colors: dict[int, Any] | None, labels: Image | None
) -> tuple[dict[str, str], dict[int, Any] | None]:
    """The label names and colours to show: given as a dict, or read from a label table
    (a path: :func:`voxlite.io.label_table.read_label_table`, whose colours apply unless
    ``colors`` are given), else those the label map's file carries (``metadata``)."""
    if isinstance(names, (str, os.PathLike)):
        table = read_label_table(names)
        names, colors = table.names, colors if colors is not None else table.colors
    if names is None and labels is not None:
        names = labels.metadata.get("label_names")
        colors = colors if colors is not None else labels.metadata.get("label_colors")
    return checks.label_names(names or {}), colors


def _as_list(value: Any) -> list[Any]:
    """One item or a list of items (a bare N x 3 array is one point set)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _has_default_geometry(image: Image) -> bool:
    return (
        image.spacing == (1.0, 1.0, 1.0)
        and image.origin == (0.0, 0.0, 0.0)
        and np.array_equal(image.direction, np.eye(3))
    )
