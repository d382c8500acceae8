"""Demo images that need no download: a real brain MRI and a synthetic CT.

* :func:`mri` and :func:`mri_tissue_labels`: the MNI ICBM152 2009 symmetric
  T1 template and its grey/white matter maps, 197 x 233 x 189 voxels at 1 mm,
  as shipped inside the PyPI ``nilearn`` wheel (see ``mni152/README.md`` for
  the source and licence).
* :func:`ct_phantom`: an abdominal CT made by code, in Hounsfield units: body,
  spine, kidneys and an aortic aneurysm repaired with a bifurcated stent graft
  (a dense wire mesh), the classic case for volume rendering.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from voxlite.image import Image
from voxlite.io import read_image, write_image
from voxlite.io.dicom import write_series

__all__ = ["MNI152_FILES", "ct_phantom", "mri", "mri_tissue_labels"]

MNI152_FILES = {
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}
TISSUE_LABELS = {1: "grey matter", 2: "white matter"}
# What write_demo_files names the MRI and its labels. A zero-server demo site serves them in
# data/ and leaves the volumes out of its copy of voxlite's wheel (no second copy to load).
DEMO_FILES = {"t1": "mni152_t1.nii.gz", "labels": "mni152_tissue_labels.nii.gz"}
# Where the demo's data/ folder is in a site's kernel: beside the notebook, or the drive's root.
DEMO_FOLDERS = ("data", "/drive/data")


def _packaged(kind: str) -> Path | None:
    path = resources.files("voxlite.data").joinpath("mni152", MNI152_FILES[kind])
    return Path(str(path)) if path.is_file() else None


def _demo_file(kind: str) -> Path:
    for folder in DEMO_FOLDERS:
        if (Path(folder) / DEMO_FILES[kind]).is_file():
            return Path(folder) / DEMO_FILES[kind]
    raise FileNotFoundError(
        f"this voxlite carries no MNI152 volumes (a zero-server site serves them in data/ "
        f"instead) and no data/{DEMO_FILES[kind]} was found beside the notebook or in the "
        "site's root: build the site with its demo (voxlite site build, without --no-demo)"
    )


def _mni152(kind: str) -> Image:
    path = _packaged(kind) or _demo_file(kind)
    return read_image(path).replace(name=f"MNI152 2009 {kind.upper()}", metadata={})


def mri() -> Image:
    """The MNI152 2009 T1-weighted brain template (uint8, 1 mm, LPS).

    Example:
        >>> img = mri()
        >>> img.shape, img.spacing
        ((189, 233, 197), (1.0, 1.0, 1.0))
    """
    return _mni152("t1")


def mri_tissue_labels() -> Image:
    """Tissue labels on the :func:`mri` grid: 1 grey matter, 2 white matter.

    A voxel gets the tissue whose probability map is highest, when it is at least 50 %.

    Example:
        >>> sorted(set(mri_tissue_labels().array.ravel().tolist()))
        [0, 1, 2]
    """
    if _packaged("gm") is None:  # in a site: the labels the build wrote from these
        labels = read_image(_demo_file("labels"))
        return labels.replace(name="MNI152 2009 tissue labels",
                              metadata={"label_names": TISSUE_LABELS})  # fmt: skip
    grey, white = _mni152("gm"), _mni152("wm")
    labels = np.zeros(grey.shape, np.uint8)
    labels[(grey.array >= 128) & (grey.array >= white.array)] = 1
    labels[(white.array >= 128) & (white.array > grey.array)] = 2
    return grey.replace(
        array=labels, name="MNI152 2009 tissue labels", metadata={"label_names": TISSUE_LABELS}
    )


def ct_phantom(shape: tuple[int, int, int] = (128, 112, 112), seed: int = 0) -> Image:
    """A synthetic abdominal CT with an aortic stent graft, in Hounsfield units (int16).

    ``shape`` is ``(nz, ny, nx)``; the field of view is fixed (about 190 mm
    across, 200 mm head to foot), so a larger shape means finer voxels.

    Example:
        >>> ct = ct_phantom((64, 56, 56))
        >>> ct.array.dtype.name, int(ct.array.max()) > 2000  # metal wires
        ('int16', True)
    """
    nz, ny, nx = shape
    if min(shape) < 16:
        raise ValueError(f"ct_phantom needs at least 16 voxels per axis, got {shape}")
    spacing = (190.0 / nx, 190.0 / ny, 200.0 / nz)
    # Physical coordinates (mm, LPS) of voxel centres, origin at the volume's centre.
    zs = (np.arange(nz) - (nz - 1) / 2) * spacing[2]
    ys = (np.arange(ny) - (ny - 1) / 2) * spacing[1]
    xs = (np.arange(nx) - (nx - 1) / 2) * spacing[0]
    z, y, x = np.meshgrid(zs, ys, xs, indexing="ij")
    hu = np.full(shape, -1000.0)

    body = (x / 90) ** 2 + ((y - 5) / 70) ** 2 <= 1
    hu[body] = -100  # fat
    hu[(x / 82) ** 2 + ((y - 5) / 62) ** 2 <= 1] = 40  # muscle and organs
    for side in (-1, 1):  # kidneys, beside the spine
        hu[((x - side * 45) / 18) ** 2 + ((y - 30) / 22) ** 2 + ((z - 40) / 45) ** 2 <= 1] = 150
    # Spine: vertebral bodies with discs between them, posterior (+y in LPS).
    vertebra = (x / 18) ** 2 + ((y - 38) / 15) ** 2 <= 1
    hu[vertebra & (np.mod(z + 100, 32) >= 6)] = 700
    hu[vertebra & (np.mod(z + 100, 32) < 6)] = 80
    hu[(x / 6) ** 2 + ((y - 62) / 12) ** 2 <= 1] = 900  # spinous process

    _aorta_with_stent(hu, x, y, z)
    hu += np.random.default_rng(seed).normal(0, 12, shape)
    origin = (float(xs[0]), float(ys[0]), float(zs[0]))
    return Image(
        np.clip(hu, -1024, 3071).astype(np.int16),
        spacing=spacing,
        origin=origin,
        name="CT phantom: aortic stent graft",
        metadata={"units": "HU", "source": "voxlite.data.ct_phantom (synthetic)"},
    )


def _aorta_with_stent(hu: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> None:
    """Aorta bifurcating into the iliac arteries, an aneurysm sac, and the graft's wire mesh."""
    bifurcation = -45.0
    # Centre line of each vessel: the aorta above the bifurcation, two iliacs below.
    below = np.clip(bifurcation - z, 0, None)
    # The abdominal aorta runs left (+x in LPS) of the spine and in front of it (-y).
    centres = [
        (np.where(bifurcation < z, 12.0, 12.0 + side * 0.45 * below), -8.0) for side in (-1, 1)
    ]
    aneurysm = 8.0 * np.exp(-(((z - 5) / 35) ** 2))  # sac bulging mid-abdomen
    vessel_radius = np.where(bifurcation < z, 11.0, 6.5)
    for cx, cy in centres:
        r = np.hypot(x - cx, y - cy)
        hu[r <= vessel_radius + aneurysm + 2] = 45  # wall and thrombus in the sac
        hu[r <= vessel_radius] = 320  # contrast-filled lumen
        _wire_mesh(hu, r, np.arctan2(y - cy, x - cx), z, radius=vessel_radius, top=70.0)


def _wire_mesh(
    hu: np.ndarray, r: np.ndarray, theta: np.ndarray, z: np.ndarray, radius: np.ndarray, top: float
) -> None:
    """Zig-zag rings of metal wire on a vessel wall, as in a stent graft."""
    on_wall = np.abs(r - radius) <= 1.0
    ring_pitch, crowns = 14.0, 6
    phase = np.mod(z, ring_pitch)
    zigzag = (ring_pitch / 2) * np.abs(np.mod(theta * crowns / np.pi, 2) - 1)  # 0..pitch/2
    wire = on_wall & (np.abs(phase - zigzag - ring_pitch / 4) <= 1.0) & (z <= top) & (z >= -95)
    hu[wire] = 3000


def write_demo_files(folder: str | Path) -> dict[str, Path]:
    """Write the demo data as files a user would have: NIfTI for the MRI, DICOM for the CT.

    Example:
        >>> import tempfile
        >>> sorted(write_demo_files(tempfile.mkdtemp()))
        ['ct_dicom', 'mri', 'mri_labels']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "mri": write_image(mri(), folder / "mni152_t1.nii.gz"),
        "mri_labels": write_image(mri_tissue_labels(), folder / "mni152_tissue_labels.nii.gz"),
        "ct_dicom": folder / "ct_phantom_dicom",
    }
    write_series(
        ct_phantom((96, 84, 84)), files["ct_dicom"], description="CT phantom: aortic stent graft"
    )
    return files
