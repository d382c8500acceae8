"""NIfTI-1/2 through nibabel: RAS affines become LPS geometry, and back.

The file is not handed to nibabel whole: nibabel reads every header extension
at the size it states (and hands DICOM ones to pydicom), and allocates the data
size the header claims before reading it. voxlite uses no extension, so nibabel
parses the header alone (its extension flag cleared); the bytes between header
and voxels are skipped, not held (at most :data:`MAX_EXTENSION_BYTES` of them),
and the voxels are read only once their claimed size has passed the file size
and the memory budget. nibabel then reads them through its own array proxy: from
the file (memory-mapped when ``lazy``), or, gzip-compressed, from the bytes read.

``.nii.gz`` is inflated by the fastest gzip reader installed
(:mod:`voxlite.io.compression`), the standard library's in Pyodide.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxlite.image import Image, affine_to_lps_geometry
from voxlite.io import compression
from voxlite.io.limits import check_claim, claimed_bytes, read_into, skip_bytes
from voxlite.io.nibabel_formats import volumes

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
# sizeof_hdr, the first 4 bytes: 348 (NIfTI-1) or 540 (NIfTI-2), in either byte order
_HEADER_SIZES = {348: 348, 540: 540, 0x5C010000: 348, 0x1C020000: 540}
#: The most bytes between the header and the voxels (extensions) a file may have: they
#: are skipped, but a gzip stream has to be inflated through them.
MAX_EXTENSION_BYTES = 1 << 26
# Deflate inflates 1032 times at most: a gzip file claiming more than this holds cannot
# hold its voxels, and is refused before anything is allocated for them.
_DEFLATE_RATIO = 1032


def read(path: Path, lazy: bool = False, component: int | None = None) -> Image:
    """A NIfTI file; ``lazy`` memory-maps an uncompressed, unscaled one instead of reading it.

    A 4D (or vector) file needs ``component=``, the volume shown.
    """
    import nibabel
    from nibabel.arrayproxy import ArrayProxy

    fast = compression.implementation()
    try:
        compressed = _is_gzip(path)
        with fast.gzip.open(path, "rb") if compressed else open(path, "rb") as stream:
            size = None if compressed else path.stat().st_size
            nii, voxels, mapped = _read_header(path, stream, size, lazy)
            proxy = nii.dataobj
            # From the bytes read (gzip), the file (memory-mapped: the caller keeps the
            # file while the image is used) or the open stream, at the checked offset.
            source: Any = _Bytes(voxels) if voxels is not None else stream
            source = str(path) if mapped else source
            offset = 0 if voxels is not None else proxy.offset
            spec = (proxy.shape, proxy.dtype, offset, proxy.slope, proxy.inter)
            array = np.asanyarray(ArrayProxy(source, spec, mmap=mapped and "r", order=proxy.order))
        voxels, kind = volumes(array, component)
        image = Image.from_ijk(voxels, nii.affine, **kind)
    except (
        nibabel.filebasedimages.ImageFileError,
        nibabel.spatialimages.HeaderDataError,
        nibabel.spatialimages.HeaderTypeError,
    ) as error:
        # nibabel's own exception types are not ValueErrors
        raise ValueError(f"not a valid NIfTI file ({error})") from None
    except fast.errors as error:
        raise ValueError(f"the file is truncated or corrupt ({error})") from None
    description = nii.header.get("descrip")
    text = description.item().decode("latin-1").strip("\0 ") if description is not None else ""
    return image.replace(metadata={"format": "NIfTI", "description": text})


class _Bytes(io.RawIOBase):
    """A read-only file over a buffer, without copying it (``io.BytesIO`` copies)."""

    def __init__(self, data: Any) -> None:
        self.data, self.position = memoryview(data).cast("B"), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: len(self.data)}
        self.position = max(base[whence] + offset, 0)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        part = self.data[self.position : self.position + len(memoryview(buffer).cast("B"))]
        memoryview(buffer).cast("B")[: len(part)] = part
        self.position += len(part)
        return len(part)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(2) == b"\x1f\x8b"


def _read_header(
    path: Path, stream: Any, file_size: int | None, lazy: bool = False
) -> tuple[Any, Any, bool]:
    """The image nibabel makes of the header alone, the voxel bytes, and whether mapped.

    ``file_size`` is None for a gzip stream, whose voxels are read here (the claimed
    size, no more) and returned; a plain file's are left for nibabel to read from the
    file (None). Those of a ``lazy`` plain file without scaling stay on disk
    (``mapped``) and may exceed the memory budget.
    """
    head = stream.read(544)
    nii, size = header_image(head)
    proxy = nii.dataobj
    claim = claimed_bytes(path, proxy.shape, proxy.dtype.itemsize)
    start = int(proxy.offset)
    if start - (size + 4) > MAX_EXTENSION_BYTES:
        raise ValueError(
            f"vox_offset = {start} leaves {start - size - 4} bytes of extensions before the "
            f"voxels, more than the {MAX_EXTENSION_BYTES} voxlite skips"
        )
    if file_size is not None and start > file_size:
        raise ValueError(f"vox_offset = {start} is past the end of the {file_size}-byte file")
    mapped = lazy and file_size is not None and (proxy.slope, proxy.inter) == (1.0, 0.0)
    check_claim(path, claim, None if file_size is None else file_size - start, budget=not mapped)
    if file_size is None and start + claim > _DEFLATE_RATIO * path.stat().st_size:
        raise ValueError(
            f"the file is truncated: its header claims {claim} bytes of voxels from byte "
            f"{start}, more than its {path.stat().st_size} gzip bytes can inflate to"
        )
    if file_size is not None:
        return nii, None, mapped
    # gzip: skip to the voxels (which may start inside the bytes read already), read them.
    skipped = skip_bytes(stream, start - len(head))
    prefix = head[start : start + claim]
    voxels = read_into(stream, claim - len(prefix))
    voxels = bytes(prefix) + voxels if prefix else voxels
    if len(voxels) < claim or skipped < start - len(head):
        raise ValueError(
            f"the file is truncated: its header claims {claim} bytes of voxels from byte "
            f"{start}, the decompressed file holds {max(len(voxels), 0)} of them"
        )
    return nii, voxels, False


def header_image(head: bytes) -> tuple[Any, int]:
    """The nibabel image of a header alone (its first 544 bytes, extensions ignored), and
    the header's size (348: NIfTI-1, 540: NIfTI-2); its voxels are not read."""
    import nibabel

    size = _HEADER_SIZES.get(int.from_bytes(head[:4], "little")) if len(head) >= 4 else None
    if size is None or len(head) < size:
        raise ValueError("not a NIfTI file: no NIfTI-1 or NIfTI-2 header at its start")
    klass = nibabel.Nifti1Image if size == 348 else nibabel.Nifti2Image
    offset = float(klass.header_class(head[:size], check=False)["vox_offset"])
    if not math.isfinite(offset) or offset < 0:
        raise ValueError(f"vox_offset = {offset} is not a byte offset")
    return klass.from_bytes(head[:size] + b"\0\0\0\0"), size  # the 4 bytes: "no extensions"


def open_lazy(path: Path, component: int | None = None) -> Image:
    """A NIfTI file whose voxels stay in the file, read (and scaled) as they are indexed.

    For converting a file larger than memory: nothing is memory-mapped (a map of a file
    larger than the address space left fails, as under a memory limit), and a scaled or
    gzip file works too. nibabel's array proxy reads the bytes of each slab asked for
    (a ``.nii.gz`` is inflated from its start up to the slab: slow, but bounded).
    """
    import nibabel
    from nibabel.arrayproxy import ArrayProxy

    compressed = _is_gzip(path)
    if compressed != path.name.lower().endswith(".gz"):  # nibabel opens by the name
        raise ValueError("its name and its content disagree on gzip compression")
    fast = compression.implementation()
    try:
        with fast.gzip.open(path, "rb") if compressed else open(path, "rb") as stream:
            nii, _ = header_image(stream.read(544))
    except fast.errors as error:
        raise ValueError(f"the file is truncated or corrupt ({error})") from None
    except (nibabel.spatialimages.HeaderDataError, nibabel.spatialimages.HeaderTypeError) as e:
        raise ValueError(f"not a valid NIfTI file ({e})") from None
    proxy = nii.dataobj
    claim = claimed_bytes(path, proxy.shape, proxy.dtype.itemsize)
    available = None if compressed else path.stat().st_size - int(proxy.offset)
    check_claim(path, claim, available, budget=False)
    spec = (proxy.shape, proxy.dtype, proxy.offset, proxy.slope, proxy.inter)
    source = ArrayProxy(str(path), spec, mmap=False, order=proxy.order)
    if len(source.shape) > 3 and component is None and math.prod(source.shape[3:]) > 1:
        raise ValueError(f"it is 4D {source.shape}: choose the volume with component=")
    array = IjkVolume(source, component)
    return Image(array, **affine_to_lps_geometry(nii.affine), metadata={"format": "NIfTI"})


def _one(index: int, size: int) -> slice:
    """An integer index (negative ones from the end) as a one-wide slice."""
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for an axis of {size}")
    return slice(index % size, index % size + 1)


@dataclass(frozen=True)
class IjkVolume:
    """A ``[z, y, x]`` view of a nibabel array proxy ``[i, j, k(, t or c)]``, read as indexed.

    A plain object of a proxy and a number: it pickles, so dask workers in other
    processes can read it too.
    """

    proxy: Any
    component: int | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in reversed(self.proxy.shape[:3]))  # type: ignore[return-value]

    @property
    def ndim(self) -> int:
        return 3

    @functools.cached_property
    def dtype(self) -> np.dtype:
        return self[0:1, 0:1, 0:1].dtype  # scaled files: the dtype nibabel scales to

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if any(part is Ellipsis for part in key) or len(key) > 3:
            raise IndexError("index a [z, y, x] volume with up to 3 slices or integers")
        key = (*key, *(slice(None),) * (3 - len(key)))
        ranges = [
            k if isinstance(k, slice) else _one(int(k), n)
            for k, n in zip(key, self.shape, strict=True)
        ]
        extra = () if len(self.proxy.shape) <= 3 else (self.component or 0,)
        extra += (0,) * max(len(self.proxy.shape) - 4, 0)
        data = np.asarray(self.proxy[(*reversed(ranges), *extra)]).transpose(2, 1, 0)
        return data[tuple(0 if not isinstance(k, slice) else slice(None) for k in key)]


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
