"""The window a viewer opens an image with: one that shows it, as radiologists expect.

Spanning the full value range shows most images as fog: a CT's range runs from air
(-1024 HU) to metal (3000+ HU), and one bright voxel in an MR squeezes the brain
into the dark end. So the first window is, in this order:

1. the file's own, when it has one (DICOM WindowCenter/WindowWidth);
2. for a CT (DICOM Modality ``CT``, or integer data spanning the HU range of air to
   bone), the soft-tissue window, W 400 / L 40 HU;
3. otherwise the 0.5th to 99.5th percentile of the voxels (NiiVue, ITK-SNAP and
   3D Slicer open MR and microscopy images at such a robust range), or the full
   range when that is empty (a mask, a constant image).

A colormap preset with its own window (``ct-bone`` ...) still sets that window.

Example
-------
>>> import numpy as np
>>> ct = np.full((4, 4, 4), -1024, np.int16); ct[1:3, 1:3, 1:3] = 1200
>>> default_window(ct, {"Modality": "CT"})
(400.0, 40.0)
>>> default_window(np.arange(1000.0).reshape(10, 10, 10), {})
(989.01, 499.5)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["SOFT_TISSUE", "default_window", "is_ct"]

#: Width and level of the CT soft-tissue window, in Hounsfield units.
SOFT_TISSUE = (400.0, 40.0)
#: Percentiles of the robust window.
ROBUST = (0.5, 99.5)
#: Voxels sampled for percentiles: enough for a stable estimate, quick for any size.
SAMPLE = 1 << 20


def default_window(
    array: np.ndarray, metadata: Mapping[str, Any], value_range: tuple[float, float] | None = None
) -> tuple[float, float]:
    """The (window, level) to open an image with; see the module's rules.

    Parameters
    ----------
    array
        The voxels shown (a level of a large image is enough), finite values only.
    metadata
        The image's metadata (DICOM fields such as ``Modality``, ``WindowCenter``).
    value_range
        The (min, max) of the voxels, if already known.
    """
    low, high = value_range or (float(array.min()), float(array.max()))
    stored = _stored_window(metadata)
    if stored is not None:
        return stored
    if is_ct(metadata, array.dtype, (low, high)):
        return SOFT_TISSUE
    sample = array.reshape(-1)[:: max(1, array.size // SAMPLE)]
    robust_low, robust_high = (float(v) for v in np.percentile(sample, ROBUST))
    if robust_high > robust_low:
        low, high = robust_low, robust_high
    return max(high - low, 1e-6), (low + high) / 2


def is_ct(metadata: Mapping[str, Any], dtype: Any, value_range: tuple[float, float]) -> bool:
    """A CT: said by its DICOM modality, or integer data from air (< -500) to bone (> 500)."""
    modality = str(metadata.get("Modality", "")).upper()
    if modality:
        return modality == "CT"
    low, high = value_range
    return np.dtype(dtype).kind == "i" and low <= -500 and high >= 500


def _stored_window(metadata: Mapping[str, Any]) -> tuple[float, float] | None:
    """DICOM's first WindowWidth/WindowCenter pair, if it holds positive finite numbers."""
    width, centre = (_first(metadata.get(key)) for key in ("WindowWidth", "WindowCenter"))
    if width is None or centre is None or not width > 0:
        return None
    return width, centre


def _first(value: Any) -> float | None:
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None
