"""How each 2D view looks at an image: which slices it shows, from where, and its letters.

Medical viewers share conventions (DICOM PS3.3 C.7.6.2.1.1, and every viewer from
3D Slicer to OHIF): an **axial** view is seen from the feet, a **coronal** view from
the front, both with the patient's left on the screen's right (*radiological*); a
**sagittal** view is seen from the patient's left, anterior on the screen's left.
*Neurological* display (``radiological=False``) mirrors the axial and coronal views
(the patient's right on the right). Up is anterior in axial views, superior in the
others.

An image's index axes need not be the patient's (an oblique acquisition, a file
stored RAS or upside down). Each view shows the slices across the index axis
closest to its patient axis; the camera looks along that axis, with up as close to
the view's up as the image's plane allows; the letters on the view's edges are the
patient directions its screen axes really point to (two letters when the plane is
oblique, the larger first), and a view whose plane is tilted is marked oblique.

Example
-------
>>> import numpy as np
>>> axial = view_geometry(np.eye(3), "axial")
>>> axial.axis, axial.letters
(2, {'left': 'R', 'right': 'L', 'top': 'A', 'bottom': 'P'})
>>> view_geometry(np.eye(3), "axial", radiological=False).letters["right"]
'R'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["TWO_D_VIEWS", "ViewGeometry", "face_on_view", "letters_of", "view_geometry"]

TWO_D_VIEWS = ("axial", "coronal", "sagittal")
# Each view: the LPS axis it looks across, the direction it looks in (radiological), its up.
_LOOKS = {
    "axial": (2, (0.0, 0.0, 1.0), (0.0, -1.0, 0.0)),  # from the feet, anterior up
    "coronal": (1, (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),  # from the front, superior up
    "sagittal": (0, (-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),  # from the left, superior up
}
# The letter of each LPS axis' positive and negative direction.
_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))
#: A component smaller than this (cos 75°) is not named in a letter.
LETTER_SHARE = 0.26
#: A plane tilted more than this from its patient axis is marked oblique (degrees).
OBLIQUE_DEGREES = 0.5


@dataclass(frozen=True)
class ViewGeometry:
    """A 2D view of an image: ``axis`` the index axis (0, 1, 2 = i, j, k) it slices across;
    ``normal`` (the direction the camera looks in), ``up`` and ``right`` unit LPS vectors;
    the patient ``letters`` of its edges; ``oblique`` when its plane is tilted."""

    view: str
    axis: int
    normal: tuple[float, float, float]
    up: tuple[float, float, float]
    right: tuple[float, float, float]
    letters: dict[str, str]
    oblique: bool

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def letters_of(vector: Any) -> str:
    """The patient directions a vector points to, the larger first ('L', 'LA' ...).

    Example
    -------
    >>> letters_of([0.0, -1.0, 0.0]), letters_of([0.87, -0.5, 0.0])
    ('A', 'LA')
    """
    vector = np.asarray(vector, dtype=float)
    order = np.argsort(-np.abs(vector), kind="stable")
    named = [i for i in order if abs(vector[i]) >= LETTER_SHARE * np.linalg.norm(vector)]
    return "".join(_LETTERS[i][0 if vector[i] > 0 else 1] for i in named[:2])


def slicing_axis(direction: np.ndarray, patient_axis: int) -> int:
    """The index axis whose direction is closest to a patient axis (ties: the last)."""
    shares = np.abs(_unit_columns(direction)[patient_axis])
    return int(max(range(3), key=lambda k: (round(shares[k], 9), k)))


def view_geometry(direction: Any, view: str, radiological: bool = True) -> ViewGeometry:
    """How the 2D ``view`` shows an image whose index axes have this direction matrix.

    Parameters
    ----------
    direction
        The image's 3x3 direction (columns: index axes in LPS).
    view
        ``"axial"``, ``"coronal"`` or ``"sagittal"``.
    radiological
        Patient's left on the screen's right (axial and coronal views).
    """
    if view not in _LOOKS:
        raise ValueError(f"unknown view {view!r}; 2D views are {', '.join(TWO_D_VIEWS)}")
    patient_axis, looks, wanted_up = _LOOKS[view]
    looks = np.asarray(looks)
    if not radiological and view != "sagittal":
        looks = -looks
    columns = _unit_columns(np.asarray(direction, dtype=float))
    axis = slicing_axis(direction, patient_axis)
    normal = columns[:, axis] * (1.0 if columns[:, axis] @ looks >= 0 else -1.0)
    up = _in_plane(np.asarray(wanted_up), normal, fallback=columns[:, (axis + 1) % 3])
    right = np.cross(normal, up)
    tilt = math.degrees(math.acos(min(1.0, abs(float(normal @ looks)))))
    letters = {
        "left": letters_of(-right),
        "right": letters_of(right),
        "top": letters_of(up),
        "bottom": letters_of(-up),
    }
    return ViewGeometry(
        view, axis, _tuple(normal), _tuple(up), _tuple(right), letters, tilt > OBLIQUE_DEGREES
    )


def face_on_view(direction: Any, axis: int = 2) -> str:
    """The 2D view that shows the slices across index ``axis`` face on (a single slice's view).

    Example
    -------
    >>> face_on_view(np.eye(3)), face_on_view(np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0]]))
    ('axial', 'coronal')
    """
    shares = np.abs(_unit_columns(np.asarray(direction, dtype=float))[:, axis])
    return ("sagittal", "coronal", "axial")[int(np.argmax(shares))]


def _unit_columns(direction: np.ndarray) -> np.ndarray:
    return direction / np.linalg.norm(direction, axis=0)


def _in_plane(vector: np.ndarray, normal: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``vector`` projected onto the plane normal to ``normal``, as a unit vector."""
    projected = vector - (vector @ normal) * normal
    if np.linalg.norm(projected) < 1e-6:  # the wanted up is the normal: use the image's
        projected = fallback - (fallback @ normal) * normal
    return projected / np.linalg.norm(projected)


def _tuple(vector: np.ndarray) -> tuple[float, float, float]:
    return tuple(round(float(v), 12) + 0.0 for v in vector)  # type: ignore[return-value]
