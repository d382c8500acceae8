"""NIfTI-1/2 through nibabel: RAS affines become LPS geometry, and back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxlite.adapters import convert
from voxlite.image import Image

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def read(path: Path) -> Image:
    import nibabel

    try:
        # Read (and decompress) all of it now: no memory map of a file that may go away.
        nii = nibabel.load(path, mmap=False)
        array = np.asanyarray(nii.dataobj)
    except nibabel.filebasedimages.ImageFileError as error:
        raise ValueError(f"not a NIfTI file ({error})") from None
    except (EOFError, OSError) as error:
        raise ValueError(f"the file is truncated or corrupt ({error})") from None
    image = convert(nii.__class__(array, nii.affine, nii.header))
    description = nii.header.get("descrip")
    text = description.item().decode("latin-1").strip("\0 ") if description is not None else ""
    return image.replace(metadata={"format": "NIfTI", "description": text})


def write(image: Image, path: Path, final: Path | None = None) -> None:
    import nibabel

    affine = _LPS_TO_RAS @ lps_affine(image)
    nii = nibabel.Nifti1Image(np.asarray(image.array).transpose(2, 1, 0), affine)
    nii.set_qform(affine, code=1)
    nii.set_sform(affine, code=1)
    nii.header.set_xyzt_units("mm")
    nii.to_filename(path)


def lps_affine(image: Image) -> np.ndarray:
    """4x4 index (i, j, k) -> LPS affine of an image."""
    affine = np.eye(4)
    affine[:3, :3] = image.direction * np.asarray(image.spacing)
    affine[:3, 3] = image.origin
    return affine
