"""The one error every reader and writer raises: :class:`ImageIOError`."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

__all__ = ["ImageIOError", "source_name"]


class ImageIOError(ValueError):
    """A file cannot be read or written; the message names it and says why."""

    def __init__(self, path: Any, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def source_name(source: Any) -> str:
    """How a message names what was read: a path, the one file of a list, or a summary.

    Example:
        >>> source_name(["a.dcm"]), source_name([f"{i}.dcm" for i in range(5)])
        ('a.dcm', '5 files (0.dcm, 1.dcm, 2.dcm, …)')
    """
    if isinstance(source, (str, bytes)) or not hasattr(source, "__iter__"):
        return str(source)
    names = [str(item) for item in source]
    if len(names) == 1:
        return names[0]
    shown = ", ".join(PurePath(n).name for n in names[:3]) + (", …" if len(names) > 3 else "")
    return f"{len(names)} files ({shown})"
