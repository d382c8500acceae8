"""The viewer app's logic: Python that runs in the browser (Pyodide, in a Web Worker).

The page hands it files (names and bytes, read by the browser: nothing is
uploaded). It writes them to Pyodide's in-memory file system, reads them with
voxlite's own readers (:func:`voxlite.read_image`; DICOM slices as one series),
keeps the list of what was loaded, and shows an image (with a label map over
it) through a :class:`voxlite.viewmodel.ViewModel`, the view model behind the
notebook widget. The page mirrors the model's synced traits into the widget's
front-end bundle, the same renderer as in notebooks. No widget library is
needed (anywidget, ipywidgets and IPython are not in the app's Pyodide).

Every call returns an *update*, a dict the page applies::

    {"state": {trait: value, ...},     # only the traits that changed (bytes for voxels)
     "items": [{"id", "name", "role", "shown", "summary"}, ...],
     "info": [[label, text], ...],     # the metadata panel
     "errors": [str, ...], "notes": [str, ...], "shown": str}

It runs unchanged in CPython, where the tests drive it.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import traitlets

from voxlite.image import Image
from voxlite.io import dicom, read_image
from voxlite.received import LABEL_NAME, as_received, sources_of, write_received
from voxlite.viewmodel import ViewModel

# Otherwise a file on the shown image's grid holding at most this many distinct small
# non-negative integers is taken as a label map (a mask, tissue classes ...).
MAX_LABEL_VALUES = 64
TIMES = " \N{MULTIPLICATION SIGN} "  # between dimensions, as in "197 x 233 x 189"
# Failures a file can cause; the app reports them and goes on with the next file.
READ_ERRORS = (ValueError, TypeError, OSError, EOFError, MemoryError, IndexError, KeyError)
# A study folder's series, each an item of the list, at most this many.
MAX_SERIES = 32
# Traits the page owns (the viewer fills the window); never sent from Python.
PAGE_TRAITS = frozenset({"height"})


@dataclass
class Item:
    """One loaded image or label map."""

    id: int
    name: str
    image: Image
    role: str  # "image" or "labels"
    notes: list[str] = field(default_factory=list)


def page_trait_names(model: ViewModel) -> list[str]:
    """The synced traits the page mirrors: all the front end renders, but those it owns."""
    return [name for name in model.trait_names(sync=True) if name not in PAGE_TRAITS]


class App:
    """The app's state: loaded items, the image shown, the label map over it."""

    def __init__(self, progress: Callable[[str], Any] | None = None) -> None:
        self.viewer = ViewModel()
        self.items: list[Item] = []
        self.shown: Item | None = None
        self.overlay: Item | None = None
        self._progress = progress or (lambda text: None)
        self._names = page_trait_names(self.viewer)
        # Traits changed since the page last heard of them: all of them at first.
        self._dirty: set[str] = set(self._names)
        self._next_id = 1
        self.viewer.observe(self._changed, names=self._names)
        self.viewer.observe(self._level_progress, names="_progress")

    def _level_progress(self, change: dict[str, Any]) -> None:
        """An image over the texture budget: its level is computed here, in the worker."""
        if change["new"]:
            self._progress(f"{change['new']['text']} {round(100 * change['new']['fraction'])}%")

    # -- what the page calls ------------------------------------------------------

    def open(self, files: Iterable[tuple[str, Any]]) -> dict[str, Any]:
        """Read files given as (name, bytes): image files, DICOM slices, or both.

        Each image file (with its companion data file, for .mhd/.nhdr) becomes an
        item, and the DICOM slices among the files one more. A file that cannot
        be read is reported in ``errors``; the others are still loaded.
        """
        errors: list[str] = []
        notes: list[str] = []
        with tempfile.TemporaryDirectory(prefix="voxlite-app-") as folder:
            folder = Path(folder)
            received = [as_received(str(name), _as_bytes(data)) for name, data in files]
            if not received:
                return self.update(errors=["nothing to open: no file was given"])
            self._progress(f"Writing {_count(len(received), 'file')} to memory…")
            try:
                paths = write_received(folder, received)
                del received  # the bytes are in the in-memory file system now
                sources = sources_of(paths)
            except READ_ERRORS as error:  # no image among them, no room in memory ...
                return self.update(errors=[_readable(error, folder)])
            for name, source, series in _each_series(sources):
                self._progress(f"Reading {name}…")
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        image = _read(source, series)
                        if series is not None:  # its description, orientation, slices
                            image = image.replace(name=name)
                        item = self._add(image, name)
                except READ_ERRORS as error:
                    errors.append(_readable(error, folder))
                    continue
                item.notes += [_readable(w.message, folder) for w in caught]
                notes += [f"{item.name}: {note}" for note in item.notes]
        return self.update(errors=errors, notes=notes)

    def stream(self, url: str) -> dict[str, Any]:
        """Stream the OME-Zarr image at ``url`` (``?url=…zarr``): the page reads its chunks."""
        self.viewer.open_stream(str(url))
        self.shown = self.overlay = None
        return self.update(notes=[f"Streaming {url}"])

    def show(self, item_id: int) -> dict[str, Any]:
        """Show an image item, or put a label-map item over the image shown (or take it off)."""
        item = self._item(item_id)
        errors: list[str] = []
        try:
            if item.role == "image":
                self._show_image(item)
            elif self.overlay is item:
                self.viewer.set_label_image(None)
                self.overlay = None
            else:
                self._overlay(item)
        except ValueError as error:
            errors.append(str(error))
        return self.update(errors=errors)

    def set_role(self, item_id: int, role: str) -> dict[str, Any]:
        """Use an item as an image or as a label map."""
        if role not in ("image", "labels"):
            raise ValueError(f"role must be 'image' or 'labels', got {role!r}")
        item = self._item(item_id)
        if item.role == role:
            return self.update()
        previous = item.role
        item.role = role
        result = self.show(item_id)
        if result["errors"]:
            item.role = previous
            result["items"] = self.item_list()
        elif role == "image" and self.overlay is item:
            self.overlay = None
        return result

    def sync(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply trait changes made in the page (the panel, the mouse).

        Values the Viewer refuses are left out; traits that change as a consequence
        (a CT colormap sets window and level) are sent back in the update.
        """
        accepted = {}
        for key, value in changes.items():
            # The page owns no private trait but what a stream read (_stream_info).
            if key not in self._names or (key.startswith("_") and key != "_stream_info"):
                continue
            try:
                setattr(self.viewer, key, value)
            except (traitlets.TraitError, ValueError, TypeError):
                self._dirty.add(key)  # the page shows a refused value: send ours back
                continue
            accepted[key] = value
        for key, value in accepted.items():
            if getattr(self.viewer, key) == value:
                self._dirty.discard(key)
        return self.update()

    def update(self, errors: Sequence[str] = (), notes: Sequence[str] = ()) -> dict[str, Any]:
        """What the page needs to show the current state; the dirty traits are sent once."""
        state = {name: getattr(self.viewer, name) for name in self._names if name in self._dirty}
        self._dirty.clear()
        return {
            "state": state,
            "items": self.item_list(),
            "info": self.info(),
            "errors": list(errors),
            "notes": list(notes),
            "shown": self.shown.name if self.shown else "",
        }

    def item_list(self) -> list[dict[str, Any]]:
        return [
            {
                "id": item.id,
                "name": item.name,
                "role": item.role,
                "shown": item is self.shown or item is self.overlay,
                "summary": _summary(item.image),
            }
            for item in self.items
        ]

    def info(self) -> list[list[str]]:
        """The metadata panel: [label, text] rows for the image shown and its label map."""
        if self.shown is None:
            return []
        image = self.shown.image
        metadata = image.metadata
        rows = [["Name", image.name or self.shown.name]]
        if metadata.get("format"):
            rows.append(["Format", str(metadata["format"])])
        rows += [
            ["Dimensions", TIMES.join(str(n) for n in image.size) + " voxels"],
            ["Voxel type", str(image.array.dtype)],
            ["Spacing", TIMES.join(_number(s) for s in image.spacing) + " mm"],
            ["Origin", "(" + ", ".join(_number(o) for o in image.origin) + ") mm"],
            ["Direction", _direction(image.direction)],
            ["Value range", _value_range(self.viewer.value_range)],
        ]
        for key, label in (
            ("SeriesDescription", "Series description"),
            ("Modality", "Modality"),
            ("slices", "Slices"),
            ("StudyDescription", "Study description"),
            ("description", "Description"),
        ):
            if metadata.get(key) not in (None, ""):
                rows.append([label, str(metadata[key])])
        if self.overlay is not None:
            count = len(self.viewer.label_colors)
            rows.append(["Label map", f"{self.overlay.name} ({_count(count, 'label')})"])
        return rows

    # -- inside --------------------------------------------------------------------

    def _changed(self, change: dict[str, Any]) -> None:
        self._dirty.add(change["name"])

    def _item(self, item_id: int) -> Item:
        for item in self.items:
            if item.id == int(item_id):
                return item
        raise ValueError(f"no item {item_id}")

    def _add(self, image: Image, name: str) -> Item:
        """Keep a newly read image and show it: as a label map over the image shown, or alone."""
        item = Item(self._next_id, image.name or name, image, "image")
        if self._looks_like_labels(image, name):
            try:
                self._overlay(item)
                item.role = "labels"
            except ValueError as error:  # not on the same grid after all
                item.notes.append(f"shown as an image, not a label map: {error}")
        if item.role == "image":
            self._show_image(item)
        self._next_id += 1
        self.items.append(item)
        return item

    def _show_image(self, item: Item) -> None:
        overlay = self.overlay
        labels = overlay.image if overlay is not None else None
        try:
            self.viewer.set_image(item.image, labels)
        except ValueError:
            if labels is None:
                raise
            self.viewer.set_image(item.image)  # the label map does not fit this image
            overlay = None
        self.shown, self.overlay = item, overlay

    def _overlay(self, item: Item) -> None:
        if self.shown is None:
            raise ValueError("open an image before its label map")
        self.viewer.set_label_image(item.image)
        self.overlay = item

    def _looks_like_labels(self, image: Image, name: str) -> bool:
        if self.shown is None or image.shape != self.shown.image.shape:
            return False
        array = image.array
        if array.dtype.kind not in "biu" or array.size == 0:
            return False
        if array.dtype.kind == "b":
            return True
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 65535:
            return False
        if LABEL_NAME.search(name):
            return True
        if high > 255:
            return False
        step = 2 if array.size > 4_000_000 else 1
        sample = array[::step, ::step, ::step].ravel()
        return int(np.count_nonzero(np.bincount(sample))) <= MAX_LABEL_VALUES


def _each_series(
    sources: list[tuple[str, Path | list[Path]]],
) -> Iterator[tuple[str, Path | list[Path], int | None]]:
    """Each source to read, the DICOM slices split into their series (a study folder:
    a localizer, the axial series, a reformat ...), so that the list offers every one."""
    for name, source in sources:
        if not isinstance(source, list):
            yield name, source, None
            continue
        try:
            listed = dicom.series(source)
        except READ_ERRORS:  # read as a whole, so that the error names the files
            listed = []
        if len(listed) <= 1:
            yield name, source, None
            continue
        for entry in listed[:MAX_SERIES]:
            yield str(entry), source, entry.index


def _read(source: Path | list[Path], series: int | None = None) -> Image:
    if isinstance(source, list):  # the app shows no patient fields
        options = {} if series is None else {"series": series}
        return read_image(source, anonymize=True, **options)
    return read_image(source)


def _as_bytes(data: Any) -> bytes:
    """File contents from CPython (bytes) or from the page (a JavaScript ArrayBuffer)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    to_bytes = getattr(data, "to_bytes", None)  # pyodide.ffi.JsProxy of an ArrayBuffer
    if to_bytes is None:
        raise TypeError(f"file contents must be bytes, got {type(data).__name__}")
    return to_bytes()


def _readable(message: Any, folder: Path) -> str:
    """A message without the private temporary folder the files were written to."""
    return str(message).replace(f"{folder}/", "").replace(str(folder), "(the files)")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _number(value: float) -> str:
    return f"{value:.4g}" if value != 0 else "0"


def _direction(direction: np.ndarray) -> str:
    """The 3x3 direction, one line per index axis (x, y, z), in LPS."""
    return "\n".join(
        f"{axis}: [" + ", ".join(_number(round(v, 4) + 0.0) for v in direction[:, i]) + "]"
        for i, axis in enumerate("ijk")
    )


def _value_range(value_range: tuple[float, float] | None) -> str:
    low, high = value_range or (0, 0)
    return f"{_number(low)} … {_number(high)}"


def _summary(image: Image) -> str:
    """What the list says of an image: its kind (colour, channels, time points), its
    size (a 2D image's two sides) and voxel type, e.g. "RGB 512 x 512 uint8"."""
    flat = [n for n in image.size if n > 1]
    size = flat if len(flat) == 2 else image.size  # a 2D image: its two sides
    kind = {"rgb": "RGB ", "rgba": "RGBA "}.get(image.pixel, "")
    extras = []
    if image.pixel == "channels":
        extras.append(_count(image.components, "channel"))
    if image.timeseries:
        extras.append(_count(image.frames, "time point"))
    text = kind + TIMES.join(str(n) for n in size) + f" {image.array.dtype}"
    return ", ".join([text, *extras])
