"""A stand-in for anywidget's base class, for a Python without anywidget (the app's Pyodide).

``import voxlite`` imports the notebook widget, whose class derives from
``anywidget.AnyWidget``; anywidget imports ipywidgets, which imports IPython and
its dependencies: a dozen packages and several megabytes that the viewer app
would download and import only to never use them. The app needs the widget's
*Python* side (its validated, synced traits: ``set_image``, window/level
presets, slice checks, label-map checks) but not its comm, so in the app's
Pyodide ``anywidget`` is this module's :class:`HeadlessWidget`: plain traitlets
plus the few widget methods the Viewer calls. The page mirrors the synced
traits into the same front-end bundle the notebook uses.

This module must not import voxlite: it runs before ``import voxlite`` (the
app's worker loads it by path and calls :func:`install`).
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import traitlets


class HeadlessWidget(traitlets.HasTraits):
    """Synced traits without a front-end connection: messages are kept in ``sent``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: list[tuple[Any, list[Any] | None]] = []
        self._message_handlers: list[Callable[..., Any]] = []

    def on_msg(self, callback: Callable[..., Any], remove: bool = False) -> None:
        if remove:
            self._message_handlers = [c for c in self._message_handlers if c is not callback]
        else:
            self._message_handlers.append(callback)

    def send(self, content: Any, buffers: list[Any] | None = None) -> None:
        self.sent.append((content, buffers))

    @contextlib.contextmanager
    def hold_sync(self) -> Iterator[None]:
        yield

    def get_state(self, key: str | list[str] | None = None) -> dict[str, Any]:
        names = (
            self.trait_names(sync=True) if key is None else [key] if isinstance(key, str) else key
        )
        return {name: getattr(self, name) for name in names}


def install() -> bool:
    """Make ``import anywidget`` give the stand-in, unless anywidget is installed.

    Returns True when the stand-in was installed.
    """
    try:
        import anywidget  # noqa: F401
    except ImportError:
        module = types.ModuleType("anywidget", "voxlite's headless stand-in (see voxlite.app)")
        module.AnyWidget = HeadlessWidget  # type: ignore[attr-defined]
        sys.modules["anywidget"] = module
        return True
    return False
