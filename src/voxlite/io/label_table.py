"""Label tables: the names and colours of a label map's labels, from the files people keep.

Two plain-text formats cover most of what segmentation tools write beside a label map:

* **ITK-SNAP label descriptions** (*Segmentation → Export Label Descriptions*): one
  line per label, ``IDX R G B A VIS MSH "LABEL"``, colours 0..255, opacity 0..1;
* **3D Slicer colour tables** (``.ctbl``, ``.txt``), also FreeSurfer's
  ``FreeSurferColorLUT.txt``: ``index name R G B A``, colours and opacity 0..255.

``#`` starts a comment in both. Label 0 (background) is read but named only if the
file names it. A table is small: a file over :data:`MAX_BYTES` is refused.

Example
-------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "labels.txt"
>>> _ = path.write_text('0 0 0 0 0 0 0 "Clear Label"\\n1 255 0 0 1 1 1 "liver"\\n')
>>> table = read_label_table(path)
>>> table.names, table.colors
({0: 'Clear Label', 1: 'liver'}, {0: (0, 0, 0), 1: (255, 0, 0)})
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from voxlite.io.errors import ImageIOError

__all__ = ["LabelTable", "read_label_table"]

#: The largest table read (FreeSurfer's full LUT is about 60 KB).
MAX_BYTES = 4 << 20
MAX_LABEL = 65535


@dataclass
class LabelTable:
    """``names`` and ``colors`` (RGB 0..255) by label number."""

    names: dict[int, str] = field(default_factory=dict)
    colors: dict[int, tuple[int, int, int]] = field(default_factory=dict)


def read_label_table(path: str | os.PathLike) -> LabelTable:
    """Read an ITK-SNAP label description file or a 3D Slicer / FreeSurfer colour table.

    Parameters
    ----------
    path
        The table's file.

    Raises
    ------
    ImageIOError
        Naming the file and the line that is neither format.
    """
    path = Path(path)
    try:
        if not path.is_file():  # a FIFO would block, a device never end
            raise ValueError("it is not a regular file")
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(f"it is over {MAX_BYTES} bytes: not a label table")
        text = path.read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError) as error:
        raise ImageIOError(path, f"cannot read it as a label table: {error}") from None
    table = LabelTable()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            label, name, rgb = _entry(line)
        except ValueError as error:
            raise ImageIOError(path, f"line {number} is not a label: {error}") from None
        table.names[label] = name
        table.colors[label] = rgb
    if not table.names:
        raise ImageIOError(path, "it names no label")
    return table


def _entry(line: str) -> tuple[int, str, tuple[int, int, int]]:
    """One line of either format: (label, name, (r, g, b))."""
    fields = shlex.split(line, comments=True, posix=True)
    if len(fields) < 5:
        raise ValueError(f"{len(fields)} fields, expected at least 5")
    label = _number(fields[0], 0, MAX_LABEL, "its label")
    if _is_int(fields[1]):  # ITK-SNAP: IDX R G B A VIS MSH "LABEL"
        rgb = tuple(_number(v, 0, 255, "a colour") for v in fields[1:4])
        name = fields[7] if len(fields) >= 8 else f"label {label}"
    else:  # Slicer / FreeSurfer: index name R G B A
        name = fields[1]
        rgb = tuple(_number(v, 0, 255, "a colour") for v in fields[2:5])
    return label, name[:200], rgb  # type: ignore[return-value]


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _number(text: str, low: int, high: int, what: str) -> int:
    if not _is_int(text) or not low <= int(text) <= high:
        raise ValueError(f"{what} {text[:20]!r} is not a whole number {low}..{high}")
    return int(text)
