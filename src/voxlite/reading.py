"""Reading an image in 2D: layouts, the crosshair, the view geometry, rulers, the label legend.

:class:`ReadingTraits` holds the traits of multiplanar reading, mixed into
:class:`voxlite.viewmodel.ViewModel`: which views show (:attr:`~ReadingTraits.views`),
the crosshair as a physical point kept in step with the voxel ``slices``
(:attr:`~ReadingTraits.cursor`), the radiological or neurological geometry of each 2D
view (computed by :mod:`voxlite.orientation`), rulers, and which labels show with which
names. It reads the image shown and its ``slices`` from the view model it is part of
(``_current``, ``slices``).

Imports: :mod:`voxlite.checks`, :mod:`voxlite.image`, :mod:`voxlite.orientation`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets

from voxlite import checks
from voxlite.checks import MAX_LABEL, Number, short
from voxlite.image import Image
from voxlite.orientation import TWO_D_VIEWS, face_on_view, view_geometry

__all__ = [
    "ITKWIDGETS_VIEWS",
    "LABEL_DISPLAYS",
    "VIEWS",
    "ReadingTraits",
    "orientations",
    "views_for",
]

#: Layouts: one view, the three 2D views and the 3D view (quad), or the 2D views in a row.
VIEWS = ("quad", "row", "3d", *TWO_D_VIEWS)
#: itkwidgets' view modes (``mode="z"`` ...), as voxlite's views.
ITKWIDGETS_VIEWS = {"x": "sagittal", "y": "coronal", "z": "axial", "v": "3d"}
LABEL_DISPLAYS = ("outline", "filled")
MAX_MEASUREMENTS = 1000


class ReadingTraits(traitlets.HasTraits):
    """The traits of reading an image in 2D views (see the module)."""

    views = traitlets.Unicode("quad").tag(sync=True)
    """The layout: ``"quad"`` (axial, coronal, sagittal and 3D), ``"row"`` (the three 2D
    views side by side, and 3D when wide enough), or one view: ``"3d"``, ``"axial"``,
    ``"coronal"``, ``"sagittal"``. (Not ``layout``: every ipywidget has one.)"""
    radiological = traitlets.Bool(True).tag(sync=True)
    """2D axial and coronal views show the patient's left on the right (False: neurological)."""
    cursor = traitlets.List(Number(), [0.0, 0.0, 0.0]).tag(sync=True)
    """The crosshair: a physical point (LPS, mm). Follows :attr:`slices` and sets them."""
    label_names = traitlets.Dict().tag(sync=True)
    """``{label: name}`` of the label map (shown in the legend and the readout)."""
    hidden_labels = traitlets.List(traitlets.Int()).tag(sync=True)
    """Labels of the label map not drawn."""
    label_display = traitlets.Unicode("outline").tag(sync=True)
    """How 2D views draw the label map: ``"outline"`` or ``"filled"``."""
    measurements = traitlets.List(traitlets.Dict()).tag(sync=True)
    """Rulers drawn in 2D views: ``{"kind": "ruler", "points": [p, q], "length": mm}``."""
    # How each 2D view shows the image (see voxlite.orientation); computed here.
    _orientation = traitlets.Dict().tag(sync=True)

    def _sync_cursor(self, slices: list[int]) -> None:
        """Move the cursor to the voxel ``slices`` names, unless it is already in it."""
        if self._current is not None and self._voxel_of(self.cursor, clip=False) != list(slices):
            self.cursor = self._current.index_to_physical(slices).tolist()

    def _voxel_of(self, point: Any, clip: bool = True) -> list[int]:
        """The voxel ``[i, j, k]`` a physical point is in (``clip``: the nearest one)."""
        image = self._current
        index = [round(v) for v in image.physical_to_index(point)]
        if not clip:
            return [int(v) for v in index]
        return [int(min(max(v, 0), n - 1)) for v, n in zip(index, image.size, strict=True)]

    @traitlets.observe("slices")
    def _cursor_follows_slices(self, change: dict[str, Any]) -> None:
        self._sync_cursor(change["new"])

    @traitlets.observe("cursor")
    def _slices_follow_cursor(self, change: dict[str, Any]) -> None:
        if self._current is not None:
            voxel = self._voxel_of(change["new"])
            if voxel != list(self.slices):
                self.slices = voxel

    @traitlets.observe("radiological")
    def _reorient(self, change: dict[str, Any]) -> None:
        if self._current is not None:
            self._orientation = orientations(self._current.direction, change["new"])

    @traitlets.validate("views")
    def _valid_views(self, proposal: dict[str, Any]) -> str:
        value = ITKWIDGETS_VIEWS.get(proposal["value"], proposal["value"])
        if value not in VIEWS:
            raise ValueError(f"unknown views {short(value)}; choose one of {', '.join(VIEWS)}")
        return value

    @traitlets.validate("label_display")
    def _valid_label_display(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in LABEL_DISPLAYS:
            raise ValueError(
                f"unknown label_display {short(proposal['value'])}; choose one of "
                f"{', '.join(LABEL_DISPLAYS)}"
            )
        return proposal["value"]

    @traitlets.validate("cursor")
    def _valid_cursor(self, proposal: dict[str, Any]) -> list[float]:
        return checks.point(proposal["value"], "cursor")

    @traitlets.validate("label_names")
    def _valid_label_names(self, proposal: dict[str, Any]) -> dict[str, str]:
        return checks.label_names(proposal["value"])

    @traitlets.validate("hidden_labels")
    def _valid_hidden_labels(self, proposal: dict[str, Any]) -> list[int]:
        labels = list(proposal["value"])
        if len(labels) > MAX_LABEL or any(not 0 <= label <= MAX_LABEL for label in labels):
            raise ValueError(f"hidden_labels must be labels 0..{MAX_LABEL}")
        return sorted(set(labels))

    @traitlets.validate("measurements")
    def _valid_measurements(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        rulers = list(proposal["value"])
        if len(rulers) > MAX_MEASUREMENTS:
            raise ValueError(f"at most {MAX_MEASUREMENTS} measurements, got {len(rulers)}")
        return [checks.ruler(ruler) for ruler in rulers]


def orientations(direction: np.ndarray, radiological: bool) -> dict[str, Any]:
    """How each 2D view shows an image of this direction (:mod:`voxlite.orientation`)."""
    return {view: view_geometry(direction, view, radiological).as_json() for view in TWO_D_VIEWS}


def views_for(image: Image) -> str:
    """The layout an image opens in: a single slice face on, a volume in all four views."""
    flat = [axis for axis, n in enumerate(image.size) if n == 1]
    return face_on_view(image.direction, flat[0]) if len(flat) == 1 else "quad"
