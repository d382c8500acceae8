"""The viewer app's logic: Python that runs in the browser (Pyodide, in a Web Worker).

The page hands it files (names and bytes, read by the browser: nothing is
uploaded). It writes them to Pyodide's in-memory file system, reads them with
voxlite's own readers (:func:`voxlite.read_image`; DICOM slices as one series),
keeps the list of what was loaded, and shows an image (with a label map over
it) through a :class:`voxlite.Viewer`. The page mirrors that Viewer's synced
traits into the widget's front-end bundle, the same renderer as in notebooks.

Every call returns an *update*, a dict the page applies::

    {"state": {trait: value, ...},     # only the traits that changed (bytes for voxels)
     "items": [{"id", "name", "role", "shown", "summary"}, ...],
     "info": [[label, text], ...],     # the metadata panel
     "errors": [str, ...], "notes": [str, ...], "shown": str}

It runs unchanged in CPython, where the tests drive it.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import traitlets

from voxlite.image import Image
from voxlite.io import SUFFIXES, ImageIOError, read_image, suffix_of

# Names that say "segmentation": such a file on the shown image's grid is a label map
# even with many labels.
LABEL_NAME = re.compile(r"seg|label|mask|aseg|dseg|parc|atlas", re.IGNORECASE)
# Otherwise a file on the shown image's grid holding at most this many distinct small
# non-negative integers is taken as a label map (a mask, tissue classes ...).
MAX_LABEL_VALUES = 64
TIMES = " \N{MULTIPLICATION SIGN} "  # between dimensions, as in "197 x 233 x 189"
# Failures a file can cause; the app reports them and goes on with the next file.
READ_ERRORS = (ValueError, TypeError, OSError, EOFError, MemoryError, IndexError, KeyError)
# Traits the page owns (the viewer fills the window); never sent from Python.
PAGE_TRAITS = frozenset({"height"})
# anywidget's own traits, which it adds to the widget class: the page loads the front end itself.
ANYWIDGET_TRAITS = frozenset({"_esm", "_css", "_anywidget_id"})


@dataclass
class Item:
    """One loaded image or label map."""

    id: int
    name: str
    image: Image
    role: str  # "image" or "labels"
    notes: list[str] = field(default_factory=list)


def view_trait_names(viewer: traitlets.HasTraits) -> list[str]:
    """The synced traits voxlite's Viewer declares (not those of its widget base classes)."""
    names: list[str] = []
    for klass in reversed(type(viewer).__mro__):
        if not klass.__module__.startswith("voxlite."):
            continue
        for name, trait in vars(klass).items():
            if name in ANYWIDGET_TRAITS:
                continue
            if isinstance(trait, traitlets.TraitType) and trait.metadata.get("sync"):
                names.append(name)
    return list(dict.fromkeys(names))


class App:
    """The app's state: loaded items, the image shown, the label map over it."""

    def __init__(self, progress: Callable[[str], Any] | None = None) -> None:
        from voxlite.widget import Viewer

        self.viewer = Viewer()
        self.items: list[Item] = []
        self.shown: Item | None = None
        self.overlay: Item | None = None
        self._progress = progress or (lambda text: None)
        self._names = [n for n in view_trait_names(self.viewer) if n not in PAGE_TRAITS]
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
        from voxlite.widget import _write_received  # the notebook's Open, same rules

        errors: list[str] = []
        notes: list[str] = []
        with tempfile.TemporaryDirectory(prefix="voxlite-app-") as folder:
            folder = Path(folder)
            received = [_as_received(str(name), _as_bytes(data)) for name, data in files]
            if not received:
                return self.update(errors=["nothing to open: no file was given"])
            self._progress(f"Writing {_count(len(received), 'file')} to memory…")
            try:
                paths = _write_received(folder, received)
                del received  # the bytes are in the in-memory file system now
                sources = sources_of(paths)
            except READ_ERRORS as error:  # no image among them, no room in memory ...
                return self.update(errors=[_readable(error, folder)])
            for name, source in sources:
                self._progress(f"Reading {name}…")
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        image = _read(source)
                        item = self._add(image, name)
                except READ_ERRORS as error:
                    errors.append(_readable(error, folder))
                    continue
                item.notes += [_readable(w.message, folder) for w in caught]
                notes += [f"{item.name}: {note}" for note in item.notes]
        return self.update(errors=errors, notes=notes)

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
            if key not in self._names or key.startswith("_"):
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
            ["Value range", _value_range(self.viewer._image)],
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
            labels = self.viewer._labels.get("colors", [])
            rows.append(["Label map", f"{self.overlay.name} ({_count(len(labels), 'label')})"])
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


def sources_of(paths: list[Path]) -> list[tuple[str, Path | list[Path]]]:
    """What to read among received files: each image file, then the DICOM slices as one.

    Files that are neither (an .mhd's .raw, a .nhdr's data file, a DICOMDIR ...)
    are companions, read through the file that names them. A single file of no
    known kind is still tried, so that its error names it.
    """
    from voxlite.io.dicom import is_dicom

    kinds = [suffix_of(p) for p in paths]
    images = [p for p, s in zip(paths, kinds, strict=True) if s in SUFFIXES and s != ".dcm"]
    dicom = [
        p
        for p, s in zip(paths, kinds, strict=True)
        if p not in images and (s == ".dcm" or is_dicom(p))
    ]
    # Image files before label maps, so that a label map finds its image shown.
    images.sort(key=lambda p: bool(LABEL_NAME.search(p.name)))
    sources: list[tuple[str, Path | list[Path]]] = [(p.name, p) for p in images]
    if dicom:
        sources.insert(len([p for p in images if not LABEL_NAME.search(p.name)]),
                       (f"DICOM series ({_count(len(dicom), 'file')})", dicom))  # fmt: skip
    if not sources:
        sources = [(p.name, p) for p in paths] if len(paths) == 1 else []
    if not sources:
        names = ", ".join(p.name for p in paths[:5]) + (" …" if len(paths) > 5 else "")
        raise ImageIOError(names, "none of these files is an image voxlite reads")
    return sources


def _read(source: Path | list[Path]) -> Image:
    if isinstance(source, list):
        return read_image(source, anonymize=True)  # the app shows no patient fields
    return read_image(source)


def _as_bytes(data: Any) -> bytes:
    """File contents from CPython (bytes) or from the page (a JavaScript ArrayBuffer)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    to_bytes = getattr(data, "to_bytes", None)  # pyodide.ffi.JsProxy of an ArrayBuffer
    if to_bytes is None:
        raise TypeError(f"file contents must be bytes, got {type(data).__name__}")
    return to_bytes()


def _as_received(name: str, data: bytes) -> tuple[str, bytes]:
    """A ``.gz`` file that is not gzip is the file inside: some hosts serve ``.nii.gz`` with
    ``Content-Encoding: gzip``, and the browser has already decompressed it."""
    if name.lower().endswith(".gz") and not data.startswith(b"\x1f\x8b"):
        return name[:-3], data
    return name, data


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


def _value_range(payload: dict[str, Any]) -> str:
    low, high = payload.get("range", (0, 0))
    return f"{_number(low)} … {_number(high)}"


def _summary(image: Image) -> str:
    return TIMES.join(str(n) for n in image.size) + f" {image.array.dtype}"
