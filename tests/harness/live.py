"""A page whose widget is driven by a live view model in the test's Python: a kernel in small.

The saved page (save_html) has no Python behind it; JupyterLab and the app have, but start
in tens of seconds. This page runs the widget's bundle with the bundle's own local model
(as the app does), and Playwright's ``expose_function`` carries every ``save_changes`` to
a :class:`voxlite.viewmodel.ViewModel` in the test process, which answers with the traits
that changed, voxels included (as the app's worker does, :mod:`voxlite.app.browser`). So
what the page asks for and what Python sends back are both real, and countable.
"""

from __future__ import annotations

import base64
import contextlib
import pathlib
import shutil
from collections.abc import Iterator
from typing import Any

import traitlets

from tests.harness.browser import wait_for_frames
from voxlite.site import serving
from voxlite.viewmodel import ViewModel
from voxlite.widget import BUNDLE

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>voxlite live</title></head>
<body style="margin:0"><div id="voxlite"></div>
<script type="module">
import widget, { createLocalModel } from './widget.js';
const decode = ({ state, buffers }) => {
  for (const { path, data } of buffers) {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    let target = state;
    for (const key of path.slice(0, -1)) target = target[key];
    target[path[path.length - 1]] = new DataView(bytes.buffer);
  }
  return state;
};
const received = []; // the trait names of each update Python sent
const sent = [];
const model = createLocalModel(decode(await window.voxlitePython(null)), {
  send: (content, buffers) => sent.push({ content, buffers }),
  save: async (changes) => {
    const update = decode(await window.voxlitePython(changes));
    received.push(Object.keys(update));
    model.update(update);
  },
});
const el = document.getElementById('voxlite');
window.voxlite = { model, received, sent, cleanup: widget.render({ model, el }) };
</script></body></html>
"""


class LiveModel:
    """The Python half: applies the page's changes to ``model``, returns what changed."""

    def __init__(self, model: ViewModel) -> None:
        self.model = model
        self.names = model.trait_names(sync=True)
        self.dirty: set[str] = set(self.names)
        self.asked: list[dict[str, Any]] = []  # every change the page saved
        model.observe(lambda change: self.dirty.add(change["name"]), names=self.names)

    def __call__(self, changes: dict[str, Any] | None) -> dict[str, Any]:
        if changes:
            self.asked.append(dict(changes))
            for key, value in changes.items():
                if key in self.names and not key.startswith("_"):
                    try:
                        setattr(self.model, key, value)
                    except (traitlets.TraitError, ValueError, TypeError):
                        self.dirty.add(key)  # refused: the page gets Python's value back
        state = {name: getattr(self.model, name) for name in self.names if name in self.dirty}
        self.dirty.clear()
        return encoded(state)


def encoded(state: dict[str, Any]) -> dict[str, Any]:
    """Traits as JSON with their binary buffers in base64 (as standalone.py embeds them)."""
    from ipywidgets.widgets.widget import _remove_buffers

    state, paths, buffers = _remove_buffers(state)
    return {
        "state": state,
        "buffers": [
            {"path": path, "data": base64.b64encode(bytes(buffer)).decode("ascii")}
            for path, buffer in zip(paths, buffers, strict=True)
        ],
    }


@contextlib.contextmanager
def live_page(guarded, model: ViewModel, folder: pathlib.Path) -> Iterator[tuple[Any, LiveModel]]:
    """The widget of ``model`` in ``guarded``'s page, driven live; yields (page, LiveModel)."""
    shutil.copy(BUNDLE, folder / "widget.js")
    (folder / "index.html").write_text(PAGE, encoding="utf-8")
    live = LiveModel(model)
    page = guarded.page
    page.expose_function("voxlitePython", live)
    with serving(folder) as url:
        page.goto(f"{url}/index.html")
        wait_for_frames(page, 1)
        yield page, live
