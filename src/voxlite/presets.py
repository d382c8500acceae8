"""The colormap presets, shared by Python (names, default windows) and the front end
(colours, opacity curves): ``presets.json`` beside this module, bundled into the JS too.

Imports: nothing of voxlite.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["COLORMAPS"]

COLORMAPS: dict[str, dict[str, Any]] = json.loads(
    resources.files("voxlite").joinpath("presets.json").read_text()
)["colormaps"]
