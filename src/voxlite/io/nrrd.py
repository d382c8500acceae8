"""NRRD (.nrrd, or .nhdr with a detached data file) through pynrrd."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxlite.image import Image, pick_component

# NRRD's spaces, as the sign flips that take each to LPS.
_TO_LPS = {
    "left-posterior-superior": (1, 1, 1),
    "lps": (1, 1, 1),
    "right-anterior-superior": (-1, -1, 1),
    "ras": (-1, -1, 1),
    "left-anterior-superior": (1, -1, 1),
    "las": (1, -1, 1),
    "scanner-xyz": (1, 1, 1),
    "3d-right-handed": (1, 1, 1),
}


def read(path: Path) -> Image:
    import nrrd

    try:
        data, header = nrrd.read(str(path), index_order="C")
    except nrrd.NRRDError as error:
        raise ValueError(f"not a readable NRRD file ({error})") from None
    space = str(header.get("space", "left-posterior-superior")).lower()
    if space not in _TO_LPS:
        raise ValueError(f"unsupported NRRD space {space!r}")
    flip = np.asarray(_TO_LPS[space], dtype=float)
    # In C order a per-voxel vector axis (NRRD's fastest) comes last, as voxlite wants.
    data = pick_component(data, None)
    directions = header.get("space directions")
    if directions is not None:
        rows = np.asarray(
            [d for d in directions if d is not None and not np.isnan(d).all()], dtype=float
        )
        vectors = rows.T * flip[:, None]  # columns: the x, y, z axes in LPS
        spacing = np.linalg.norm(vectors, axis=0)
        direction = vectors / spacing
    else:
        spacing = np.asarray(header.get("spacings", [1.0, 1.0, 1.0]), dtype=float)
        direction = np.eye(3)
    origin = np.asarray(header.get("space origin", [0.0, 0.0, 0.0]), dtype=float) * flip
    return Image(
        data,
        spacing=spacing,
        origin=origin,
        direction=direction,
        metadata={"format": "NRRD", "space": space},
    )


def write(image: Image, path: Path, final: Path | None = None) -> None:
    import nrrd

    header = {
        "space": "left-posterior-superior",
        "space directions": (image.direction * np.asarray(image.spacing)).T,
        "space origin": np.asarray(image.origin, dtype=float),
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip",
    }
    nrrd.write(str(path), np.ascontiguousarray(image.array), header, index_order="C")
