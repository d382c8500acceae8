"""Files a user hands to a viewer (Open…, drag and drop): bytes in, what to read out.

The browser reads the files (nothing is uploaded) and gives their names and
bytes to Python: the notebook widget's kernel, or the app's Pyodide. Both write
them to a private folder with :func:`write_received` and read what
:func:`sources_of` finds among them, by the same rules: each image file is read
on its own (with its companion data file, for .mhd/.nhdr), and the DICOM slices
among them as one series.

Imports: :mod:`voxlite.io`.
"""

from __future__ import annotations

import re
from pathlib import Path

from voxlite.io import SUFFIXES, ImageIOError, suffix_of
from voxlite.io.dicom import is_dicom

__all__ = ["LABEL_NAME", "as_received", "sources_of", "write_received"]

# Names that say "segmentation": such a file is read after the images, as a label map.
LABEL_NAME = re.compile(r"seg|label|mask|aseg|dseg|parc|atlas", re.IGNORECASE)

Source = Path | list[Path]


def as_received(name: str, data: bytes) -> tuple[str, bytes]:
    """A ``.gz`` file that is not gzip is the file inside: some hosts serve ``.nii.gz`` with
    ``Content-Encoding: gzip``, and the browser has already decompressed it.

    Example
    -------
    >>> as_received("ct.nii.gz", b"\\x5c\\x01...")[0]
    'ct.nii'
    """
    if name.lower().endswith(".gz") and not data.startswith(b"\x1f\x8b"):
        return name[:-3], data
    return name, data


def write_received(folder: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    """Write received files under their base names (made unique), never outside ``folder``.

    Parameters
    ----------
    folder
        A private temporary folder.
    files
        ``(name, bytes)`` pairs; a name may hold a browser's folder path.

    Example
    -------
    >>> import tempfile
    >>> [p.name for p in write_received(Path(tempfile.mkdtemp()), [("../a.nii", b"")])]
    ['a.nii']
    """
    paths = []
    for index, (name, data) in enumerate(files):
        base = Path(name.replace("\\", "/")).name.strip()
        if base in ("", ".", ".."):
            base = f"file{index}"
        path = folder / base
        if path.exists():
            path = folder / f"{index:05d}_{base}"
        path.write_bytes(data)
        paths.append(path)
    return paths


def sources_of(paths: list[Path]) -> list[tuple[str, Source]]:
    """What to read among received files: each image file, then the DICOM slices as one.

    Files that are neither (an .mhd's .raw, a .nhdr's data file, a DICOMDIR ...)
    are companions, read through the file that names them. Image files come
    before label maps (by name), so that a label map finds its image shown. A
    single file of no known kind is still tried, so that its error names it.

    Returns
    -------
    list
        ``(name, source)`` pairs, ``source`` a path or a list of DICOM files.
    """
    kinds = [suffix_of(p) for p in paths]
    images = [p for p, s in zip(paths, kinds, strict=True) if s in SUFFIXES and s != ".dcm"]
    dicom = [
        p
        for p, s in zip(paths, kinds, strict=True)
        if p not in images and (s == ".dcm" or is_dicom(p))
    ]
    images.sort(key=lambda p: bool(LABEL_NAME.search(p.name)))
    sources: list[tuple[str, Source]] = [(p.name, p) for p in images]
    if dicom:
        first_label = len([p for p in images if not LABEL_NAME.search(p.name)])
        sources.insert(first_label, (f"DICOM series ({_count(len(dicom), 'file')})", dicom))
    if not sources:
        sources = [(p.name, p) for p in paths] if len(paths) == 1 else []
    if not sources:
        names = ", ".join(p.name for p in paths[:5]) + (" …" if len(paths) > 5 else "")
        raise ImageIOError(names, "none of these files is an image voxlite reads")
    return sources


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
