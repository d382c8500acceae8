"""What a view is sent of an image: its levels of detail, planes and payloads, in order.

The view model decides *what* is shown (an image, a label map, the slices); this
module decides *how it travels* (see :mod:`voxlite.multiscale`): an image larger
than a preview is sent as a preview first, then, once the view has drawn it and
asks, the image itself or the finest level within the budget; over the budget,
slices come as full-resolution planes. Each image sent gets a serial number, so
that a request for a finer level of an earlier image is ignored.

:class:`Display` holds that sequence's state (the serial, the levels waiting to
be refined, the task computing them) and returns payload dicts; it never touches
the view model's traits. Every function here returns what it computed: nothing
is sent as a side effect.

Imports: :mod:`voxlite.image`, :mod:`voxlite.multiscale`, :mod:`voxlite.transfer`,
:mod:`voxlite.tasks`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voxlite import tasks
from voxlite.image import Image
from voxlite.multiscale import Levels, Progress, levels_of, plane, run
from voxlite.transfer import encode_image, encode_labels, grid
from voxlite.windowing import default_window

__all__ = ["Display", "Shown", "image_payload", "label_payload"]


@dataclass
class Shown:
    """The first payloads of a newly shown image."""

    serial: int
    image: dict[str, Any]
    labels: dict[str, Any]
    planes: list[dict[str, Any]]
    #: A preview was sent: a finer level follows once the view asks for it.
    staged: bool
    #: The image is over the budget: it is shown from a level, its slices from planes.
    over_budget: bool


@dataclass
class Display:
    """The state of sending one image after another: serials, levels, planes, the task."""

    serial: int = 0
    over_budget: bool = False
    #: Levels of the image shown whose finer level the view has not asked for yet.
    waiting: Levels | None = None
    task: asyncio.Task | None = None
    planes_sent: list[dict[str, Any]] = field(default_factory=list)

    def show(
        self,
        image: Image,
        labels: Image | None,
        colors: Any,
        *,
        max_voxels: int,
        slices: Sequence[int],
        slices_mode: bool,
    ) -> Shown:
        """Start showing ``image``: a new serial, its first level, label map and planes.

        Everything is computed before anything changes, so a rejected image leaves
        the display as it was; then any level of the image shown before is cancelled.
        """
        levels = levels_of(image)
        staged = levels.needs_preview(max_voxels)
        over_budget = levels.needs_levels(max_voxels)
        serial = self.serial + 1
        shown = levels.preview(max_voxels) if staged else image.load()
        payload = image_payload(shown, image, "preview" if staged else "full", serial)
        labels_payload = label_payload(labels, colors, max_voxels)
        planes = []
        if over_budget and slices_mode:
            planes = [plane_payload(image, labels, a, i, serial) for a, i in enumerate(slices)]
        self.cancel()
        self.serial, self.over_budget, self.planes_sent = serial, over_budget, planes
        self.waiting = levels if staged else None
        return Shown(serial, payload, labels_payload, planes, staged, over_budget)

    def take_waiting(self, serial: Any) -> Levels | None:
        """The levels to refine when the view asks for ``serial``'s finer level, once.

        None for an earlier image's preview, or a level already under way.
        """
        if serial != self.serial or self.waiting is None:
            return None
        levels, self.waiting = self.waiting, None
        return levels

    def refined(self, levels: Levels, max_voxels: int) -> Progress:
        """Compute the finer level's payload, yielding the fraction done."""
        level = yield from levels.refined(max_voxels)
        return self.refined_payload(levels, level, max_voxels)

    def refined_payload(self, levels: Levels, level: Image, max_voxels: int) -> dict[str, Any]:
        name = "refined" if levels.needs_levels(max_voxels) else "full"
        return image_payload(level, levels.full, name, self.serial)

    def finest_payload(self, image: Image, max_voxels: int) -> dict[str, Any]:
        """The finest level within the budget, computed now (a saved page has no kernel)."""
        levels = levels_of(image)
        return self.refined_payload(levels, run(levels.refined(max_voxels)), max_voxels)

    def start(self, steps: Iterator[None]) -> None:
        """Run the refinement ``steps`` in the kernel's loop (at once outside a kernel)."""
        self.task = tasks.start_in_kernel(steps)

    def planes(
        self,
        image: Image,
        labels: Image | None,
        slices: Sequence[int],
        slices_mode: bool,
        reuse: bool = True,
    ) -> list[dict[str, Any]]:
        """Full-resolution planes at ``slices`` (in slices mode only).

        Planes already sent for this image are reused, so moving one slice reads one
        plane; ``reuse=False`` cuts them all again (a new label map).
        """
        if not slices_mode:
            return []
        sent = {(p["axis"], p["index"]): p for p in self.planes_sent if p["serial"] == self.serial}
        planes = []
        for axis, index in enumerate(slices):
            entry = sent.get((axis, index)) if reuse else None
            if entry is None:
                entry = plane_payload(image, labels, axis, index, self.serial)
            planes.append(entry)
        self.planes_sent = planes
        return planes

    @property
    def loading(self) -> asyncio.Task | None:
        """The task computing a finer level, while it runs."""
        return self.task if self.task and not self.task.done() else None

    def cancel(self) -> None:
        """Forget the levels waiting, and cancel a level being computed."""
        self.waiting = None
        if self.task is not None:
            self.task.cancel()
            self.task = None


def image_payload(shown: Image, full: Image, level: str, serial: int) -> dict[str, Any]:
    """An image level's payload, with the full-resolution grid it stands for and the
    window to open it with (:func:`voxlite.windowing.default_window`)."""
    payload = {**encode_image(shown), "full": grid(full), "level": level, "serial": serial}
    voxels = np.frombuffer(payload["data"], dtype=payload["dtype"])
    window = default_window(voxels, full.metadata, tuple(payload["range"]))
    payload["default_window"] = list(window)
    if shown.pixel == "channels":  # each channel its own window
        values = voxels.reshape(-1, shown.components).T
        ranges = [tuple(r) for r in payload["ranges"]]
        windows = [default_window(v, {}, r) for v, r in zip(values, ranges, strict=True)]
        payload["default_windows"] = [list(w) for w in windows]
    return payload


def label_payload(labels: Image | None, colors: Any, max_voxels: int) -> dict[str, Any]:
    """A label map's payload: at most ``max_voxels``, by nearest voxel (labels stay labels)."""
    if labels is None:
        return {}
    return encode_labels(run(Levels([labels]).refined(max_voxels, labels=True)), colors)


def plane_payload(
    image: Image, labels: Image | None, axis: int, index: int, serial: int
) -> dict[str, Any]:
    """One full-resolution plane of the image (and of its label map)."""
    entry = {"axis": axis, "index": index, "serial": serial}
    entry["image"] = encode_image(plane(image, axis, index))
    if labels is not None:
        entry["labels"] = encode_labels(plane(labels, axis, index))
    return entry
