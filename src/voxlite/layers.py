"""Layer settings: how each layer of a view looks, as plain JSON data.

A view has up to two volume layers, ``"image"`` and ``"labels"``, and any number
of named point-set and mesh layers. Each layer's settings are a small dict;
every value is checked here, so settings restored from a saved state are data,
never code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from voxlite.image import Image
from voxlite.transfer import to_hex

VOLUME_LAYERS = ("image", "labels")
# Default colours of point sets and meshes, in the order layers are added.
GEOMETRY_COLORS = ("#ffd23f", "#3fc8ff", "#ff5ca8", "#8cff5c", "#c49bff", "#ff9f40")
SETTING_KEYS = {
    "points": {"visible", "color", "opacity", "size", "cmap"},
    "mesh": {"visible", "color", "opacity"},
    "volume": {"visible"},
}


def short(value: Any, limit: int = 60) -> str:
    """repr() cut to ``limit`` characters, so that a hostile value cannot flood a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_settings(name: str, kind: str, settings: Any, colormaps: Any) -> dict[str, Any]:
    """Validate one layer's settings and return them normalised."""
    if not isinstance(settings, dict):
        raise ValueError(f"settings of layer {name!r} must be a dict, got {short(settings)}")
    unknown = set(settings) - SETTING_KEYS[kind]
    if unknown:
        raise ValueError(
            f"layer {name!r} ({kind}) has no setting {', '.join(map(short, sorted(unknown)))}; "
            f"its settings are {', '.join(sorted(SETTING_KEYS[kind]))}"
        )
    checked: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "visible":
            if not isinstance(value, bool):
                raise ValueError(f"layer {name!r}: visible must be True or False")
            checked[key] = value
        elif key == "color":
            checked[key] = to_hex(value)
        elif key == "opacity":
            checked[key] = _number(name, key, value, 0.0, 1.0)
        elif key == "size":
            checked[key] = _number(name, key, value, 1e-9, 1e9)
        elif key == "cmap":
            if not isinstance(value, str) or value not in colormaps:
                raise ValueError(
                    f"layer {name!r}: unknown cmap {short(value)}; choose one of "
                    f"{', '.join(colormaps)}"
                )
            checked[key] = value
    return checked


def _number(name: str, key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"layer {name!r}: {key} must be a number, got {short(value)}")
    if isinstance(value, int) and abs(value) > 2**53:  # past a float's exact integers
        value = math.copysign(math.inf, value)
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(
            f"layer {name!r}: {key} must be between {low:g} and {high:g}, got {short(value)}"
        )
    return float(value)


def check_name(name: Any, taken: set[str]) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValueError(
            f"a layer name must be a non-empty string of 200 characters at most, got {short(name)}"
        )
    if name in VOLUME_LAYERS or name in taken:
        raise ValueError(f"there is already a layer named {name!r}; pick another name")
    return name


def free_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base 2``, ``base 3`` ... whichever is not taken."""
    if base not in taken:
        return base
    number = 2
    while f"{base} {number}" in taken:
        number += 1
    return f"{base} {number}"


def default_point_size(points: np.ndarray, image: Image | None) -> float:
    """1% of the scene's diagonal: the image's if there is one, else the points'."""
    if image is not None:
        extent = np.asarray(image.size) * np.asarray(image.spacing)
    else:
        extent = points.max(axis=0) - points.min(axis=0)
    return float(max(np.linalg.norm(extent) * 0.01, 1e-3))
