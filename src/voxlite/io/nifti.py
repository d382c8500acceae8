"""NIfTI-1/2 through nibabel: RAS affines become LPS geometry, and back.

The file is not handed to nibabel directly: nibabel reads a header extension of
whatever size the header states, and allocates the data size the header claims
before reading it. So voxlite reads the bytes itself, in two steps that never
read past what the header claims (checked against the file size and the memory
budget first), and lets nibabel parse them from memory.
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from voxlite.image import Image
from voxlite.io.limits import check_claim, claimed_bytes, max_bytes, read_at_most
from voxlite.io.nibabel_formats import three_d

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
# sizeof_hdr, the first 4 bytes: 348 (NIfTI-1) or 540 (NIfTI-2), in either byte order
_HEADER_SIZES = {348: 348, 540: 540, 0x5C010000: 348, 0x1C020000: 540}


def read(path: Path, lazy: bool = False, component: int | None = None) -> Image:
    """A NIfTI file; ``lazy`` memory-maps an uncompressed, unscaled one instead of reading it.

    A 4D (or vector) file needs ``component=``, the volume shown.
    """
    import nibabel
    from nibabel.fileholders import FileHolder

    try:
        compressed = _is_gzip(path)
        with gzip.open(path, "rb") if compressed else open(path, "rb") as stream:
            size = None if compressed else path.stat().st_size
            klass, blob = _read_bytes(path, stream, size, mapped=lazy)
            # Decompressed, from memory: nibabel cannot read past what was checked. A
            # plain file, whose header, extensions and claimed size passed the same
            # checks, nibabel reads from disk, memory-mapped only when asked (``lazy``:
            # the caller keeps the file while the image is used).
            source = io.BytesIO(blob) if compressed else stream
            holder = (
                FileHolder(filename=str(path))
                if lazy and not compressed
                else FileHolder(fileobj=source)
            )
            nii = klass.from_file_map({"header": holder, "image": holder}, mmap=lazy and "r")
            array = np.asanyarray(nii.dataobj)
        image = Image.from_ijk(three_d(array, component), nii.affine)
    except (
        nibabel.filebasedimages.ImageFileError,
        nibabel.spatialimages.HeaderDataError,
        nibabel.spatialimages.HeaderTypeError,
    ) as error:
        # nibabel's own exception types are not ValueErrors
        raise ValueError(f"not a valid NIfTI file ({error})") from None
    except (EOFError, OSError, zlib.error) as error:
        raise ValueError(f"the file is truncated or corrupt ({error})") from None
    description = nii.header.get("descrip")
    text = description.item().decode("latin-1").strip("\0 ") if description is not None else ""
    return image.replace(metadata={"format": "NIfTI", "description": text})


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(2) == b"\x1f\x8b"


def _read_bytes(
    path: Path, stream: Any, file_size: int | None, mapped: bool = False
) -> tuple[type, bytes]:
    """The header, its extensions and the voxel bytes it claims, once checked.

    ``file_size`` is None for a gzip stream, whose voxels are read here (up to the
    claimed size, no further); for a plain file only the header and extensions are.
    The voxels of a ``mapped`` plain file without scaling, which stay on disk, may
    exceed the memory budget.
    """
    import nibabel

    head = stream.read(544)
    size = _HEADER_SIZES.get(int.from_bytes(head[:4], "little")) if len(head) >= 4 else None
    if size is None or len(head) < size:
        raise ValueError("not a NIfTI file: no NIfTI-1 or NIfTI-2 header at its start")
    klass = nibabel.Nifti1Image if size == 348 else nibabel.Nifti2Image
    # 1. The header and its extensions: up to vox_offset, which must itself be sane.
    offset = float(klass.header_class(head[:size], check=False)["vox_offset"])
    if not math.isfinite(offset) or offset < 0:
        raise ValueError(f"vox_offset = {offset} is not a byte offset")
    # Header and extensions are not voxels: they get the budget and 16 MiB, no more.
    if int(offset) > max_bytes() + (1 << 24) or (file_size is not None and offset > file_size):
        raise ValueError(f"vox_offset = {offset:.0f} is past the end of the file or the budget")
    head = read_at_most(stream, int(offset) - len(head), prefix=head)
    # 2. The voxels, as nibabel will read them (its shape, dtype and offset).
    proxy = klass.from_bytes(head).dataobj
    claim = claimed_bytes(path, proxy.shape, proxy.dtype.itemsize)
    start = int(proxy.offset)
    on_disk = mapped and file_size is not None and (proxy.slope, proxy.inter) == (1.0, 0.0)
    check_claim(path, claim, None if file_size is None else file_size - start, budget=not on_disk)
    if file_size is not None:
        return klass, head
    blob = read_at_most(stream, start + claim - len(head), prefix=head)
    if len(blob) < start + claim:
        raise ValueError(
            f"the file is truncated: its header claims {claim} bytes of voxels from byte "
            f"{start}, the (decompressed) file holds {max(len(blob) - start, 0)}"
        )
    return klass, blob


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
