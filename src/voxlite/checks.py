"""Checks of the values a view model takes: each returns the value normalised, or raises
a ValueError whose message names the setting and what it takes.

Settings arrive from Python code, from the page (the panel, the mouse) and from saved
states, which may be hostile: every check bounds sizes, refuses non-finite numbers
(integers too long for a float included) and echoes values only cut short
(:func:`short`).

Imports: nothing of voxlite.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import traitlets

__all__ = [
    "Number",
    "camera",
    "channel",
    "crop",
    "crop_overlaps",
    "finite",
    "first_line",
    "floats",
    "is_numbers",
    "label_names",
    "opacity_points",
    "point",
    "rgb",
    "ruler",
    "short",
    "to_hex",
    "window_from_range",
]

MAX_LABEL = 65535
CHANNEL_KEYS = {"name", "color", "window", "level", "opacity", "visible"}
MAX_OPACITY_POINTS = 64
TWO_D_VIEWS = ("axial", "coronal", "sagittal")


def short(value: Any, limit: int = 60) -> str:
    """repr() cut to ``limit`` characters, so that a hostile value cannot flood a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def rgb(value: Any) -> tuple[float, float, float]:
    """A colour as '#rrggbb' or three numbers (0..1, or 0..255 when any exceeds 1), as 0..1.

    Example
    -------
    >>> rgb("#ff8000"), rgb((255, 0, 0))
    ((1.0, 0.5019607843137255, 0.0), (1.0, 0.0, 0.0))
    """
    if isinstance(value, str):
        text = value.lstrip("#")
        if len(text) != 6:
            raise ValueError(f"colour {value!r} is not '#rrggbb'")
        try:
            return tuple(int(text[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]
        except ValueError:
            raise ValueError(f"colour {value!r} is not '#rrggbb'") from None
    rgb = np.asarray(value, dtype=float).reshape(-1)
    if rgb.size != 3 or not np.all(np.isfinite(rgb)) or rgb.min() < 0:
        raise ValueError(f"colour {value!r} must be '#rrggbb' or three numbers")
    if rgb.max() > 1:
        rgb = rgb / 255
    return tuple(float(c) for c in np.clip(rgb, 0, 1))  # type: ignore[return-value]


def to_hex(value: Any) -> str:
    """Normalise a colour to '#rrggbb'."""
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb(value))


def point(value: Any, what: str) -> list[float]:
    """Three finite numbers (a physical point or vector)."""
    vector = floats(value) if is_numbers(value) else np.empty(0)
    if vector.size != 3 or not np.all(np.isfinite(vector)):
        raise ValueError(f"{what} must be 3 finite numbers, got {short(value)}")
    return vector.tolist()


def camera(value: Any) -> dict[str, list[float]]:
    """``{"position", "focal_point", "view_up"}``, each three finite numbers."""
    camera = dict(value)
    unknown = set(camera) - {"position", "focal_point", "view_up"}
    if unknown:
        raise ValueError(f"unknown camera keys {short(sorted(unknown, key=str))}")
    return {key: point(vector, f"camera {key}") for key, vector in camera.items()}


class Number(traitlets.Float):
    """A float trait that refuses an integer too long for a float with a message.

    (traitlets' Float lets Python's OverflowError escape, which is not a TraitError.)
    """

    def validate(self, obj: Any, value: Any) -> float:
        try:
            return super().validate(obj, value)
        except OverflowError:
            digits = len(str(abs(int(value))))
            raise traitlets.TraitError(
                f"{self.name} must be a number a float can hold, got an integer of {digits} digits"
            ) from None


def is_numbers(value: Any) -> bool:
    """A flat sequence of real numbers (not strings, not booleans)?"""
    items = np.asarray(value, dtype=object).reshape(-1) if not isinstance(value, str) else [value]
    return all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in items)


def channel(index: int, channel: Any) -> dict[str, Any]:
    if not isinstance(channel, dict):
        raise ValueError(f"channels[{index}] must be a dict, got {short(channel)}")
    unknown = set(channel) - CHANNEL_KEYS
    if unknown:
        raise ValueError(
            f"channels[{index}] has no setting {', '.join(map(short, sorted(unknown, key=str)))};"
            f" its settings are {', '.join(sorted(CHANNEL_KEYS))}"
        )
    checked = dict(channel)
    if "color" in checked:
        checked["color"] = to_hex(checked["color"])
    if "name" in checked and (not isinstance(checked["name"], str) or len(checked["name"]) > 200):
        raise ValueError(f"channels[{index}]: name must be text of 200 characters at most")
    bounds = {"window": (1e-12, math.inf), "level": (-math.inf, math.inf), "opacity": (0.0, 1.0)}
    for key, (low, high) in bounds.items():
        if key in checked:
            value = finite(checked[key], f"channels[{index}]: {key}")
            if not low <= value <= high:
                raise ValueError(f"channels[{index}]: {key} must be in {low:g}..{high:g}")
            checked[key] = value
    if "visible" in checked and not isinstance(checked["visible"], bool):
        raise ValueError(f"channels[{index}]: visible must be True or False")
    return checked


def opacity_points(points: Any) -> list[list[float]]:
    """``[value, opacity]`` pairs, opacities 0..1, sorted by value."""
    points = list(points)
    if len(points) > MAX_OPACITY_POINTS:
        raise ValueError(f"at most {MAX_OPACITY_POINTS} opacity points, got {len(points)}")
    checked = []
    for point in points:
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise ValueError(f"an opacity point is [value, opacity], got {short(point)}")
        value, opacity = (finite(v, "an opacity point") for v in point)
        if not 0.0 <= opacity <= 1.0:
            raise ValueError(f"an opacity point's opacity must be 0..1, got {opacity}")
        checked.append([value, opacity])
    return sorted(checked)


def crop(crop: Any) -> dict[str, list[float]]:
    if not crop:
        return {}
    if not isinstance(crop, dict) or set(crop) != {"min", "max"}:
        raise ValueError(f"crop is {{'min': [x, y, z], 'max': [x, y, z]}} in mm, got {short(crop)}")
    low, high = (
        floats(crop[key]) if is_numbers(crop[key]) else np.empty(0) for key in ("min", "max")
    )
    if low.size != 3 or high.size != 3 or not np.all(np.isfinite(np.r_[low, high])):
        raise ValueError(f"crop's min and max must be 3 finite numbers each, got {short(crop)}")
    if np.any(high <= low):
        raise ValueError(f"crop's max must exceed its min on every axis, got {short(crop)}")
    return {"min": low.tolist(), "max": high.tolist()}


def crop_overlaps(crop: dict[str, list[float]], bounds: tuple[list[float], list[float]]) -> None:
    """Refuse a crop box that leaves nothing of the image.

    Parameters
    ----------
    crop
        The box, ``{"min": [x, y, z], "max": [x, y, z]}`` in mm (LPS).
    bounds
        The image's own box: its min and max corners, mm.

    Examples
    --------
    >>> crop_overlaps({"min": [0, 0, 0], "max": [5, 5, 5]}, ([2, 2, 2], [9, 9, 9]))
    >>> crop_overlaps({"min": [0, 0, 0], "max": [1, 1, 1]}, ([2, 2, 2], [9, 9, 9]))
    Traceback (most recent call last):
    ...
    ValueError: crop ... leaves nothing of the image, which spans x, y, z = 2..9, 2..9, 2..9 mm
    """
    low, high = np.maximum(crop["min"], bounds[0]), np.minimum(crop["max"], bounds[1])
    if np.any(high < low):
        box = ", ".join(f"{a:g}..{b:g}" for a, b in zip(*bounds, strict=True))
        raise ValueError(
            f"crop {short(crop)} leaves nothing of the image, which spans x, y, z = {box} mm"
        )


def finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{what} must be a number, got {short(value)}")
    number = float(floats([value])[0])
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {short(value)}")
    return number


def label_names(names: Any) -> dict[str, str]:
    """``{label: name}`` as JSON: label keys as decimal strings, names as short text."""
    if not isinstance(names, dict):
        raise ValueError(f"label_names must be a dict of label: name, got {short(names)}")
    checked = {}
    for key, name in names.items():
        try:
            label = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"label_names: {short(key)} is not a label number") from None
        if not 0 <= label <= MAX_LABEL or (isinstance(key, float) and key != label):
            raise ValueError(f"label_names: {short(key)} is not a label 0..{MAX_LABEL}")
        if not isinstance(name, str) or len(name) > 200:
            raise ValueError(f"label_names[{label}] must be text of 200 characters at most")
        checked[str(label)] = name
    return checked


def ruler(ruler: Any) -> dict[str, Any]:
    """A ruler as data: two finite LPS points, its length computed here (mm)."""
    if not isinstance(ruler, dict) or ruler.get("kind", "ruler") != "ruler":
        example = "{'kind': 'ruler', 'points': [p, q]}"
        raise ValueError(f"a measurement must be {example}, got {short(ruler)}")
    unknown = set(ruler) - {"kind", "points", "length", "view"}
    if unknown:
        raise ValueError(f"a ruler has no key {', '.join(map(short, sorted(unknown, key=str)))}")
    points = ruler.get("points")
    vector = floats(points) if isinstance(points, list) and is_numbers(points) else np.empty(0)
    if vector.size != 6 or not np.all(np.isfinite(vector)):
        raise ValueError(f"a ruler's points must be two LPS points, got {short(points)}")
    view = ruler.get("view", "")
    if view not in ("", *TWO_D_VIEWS):
        raise ValueError(f"a ruler's view must be one of {', '.join(TWO_D_VIEWS)}")
    p, q = vector.reshape(2, 3)
    checked = {
        "kind": "ruler",
        "points": [p.tolist(), q.tolist()],
        "length": float(np.linalg.norm(q - p)),
    }
    return {**checked, "view": view} if view else checked


def floats(value: Any) -> np.ndarray:
    """Numbers as a flat float array; integers too long for a float become inf."""
    try:
        return np.asarray(value, dtype=float).reshape(-1)
    except OverflowError:
        return np.full(np.size(np.asarray(value, dtype=object)), np.inf)


def window_from_range(
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


def first_line(error: BaseException, limit: int = 300) -> str:
    """An error's first line, cut to ``limit`` characters (values in it are already short)."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
