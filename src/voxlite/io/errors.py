"""The one error every reader and writer raises: :class:`ImageIOError`."""

from __future__ import annotations

from typing import Any

__all__ = ["ImageIOError"]


class ImageIOError(ValueError):
    """A file cannot be read or written; the message names it and says why."""

    def __init__(self, path: Any, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")
