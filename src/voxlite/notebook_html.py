"""Notebooks as HTML that show their voxlite views offline: ``jupyter nbconvert --to voxlite_html``.

nbconvert's own HTML shows widgets through ``@jupyter-widgets/html-manager``, loaded
from unpkg.com with require.js from cdnjs (and anywidget's module from a CDN again):
offline, or under a policy that forbids other hosts, every voxlite view is blank.
This exporter embeds each view saved in the notebook (the widget state Jupyter stores
in its metadata) as voxlite's self-contained saved page (:mod:`voxlite.standalone`) in
an ``<iframe srcdoc>``, drops the widget manager, MathJax and Mermaid from the page, and
puts voxlite's saved-page Content-Security-Policy on it: the file makes no request.

Boxes of voxlite views (``compare(..., "side-by-side")``, an ``HBox`` of viewers) become
rows or columns of them; any other widget keeps its plain-text form.

Imports: :mod:`voxlite.standalone`, :mod:`voxlite.builder.csp`.
"""

from __future__ import annotations

import base64
import copy
import functools
import html
import os
from importlib import resources
from pathlib import Path
from typing import Any

from voxlite.builder.csp import STANDALONE_POLICY
from voxlite.standalone import standalone_html

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
VIEWER_ID = "voxlite.widget.Viewer"  # anywidget's _anywidget_id of voxlite's Viewer
BOXES = {"HBoxModel": "row", "VBoxModel": "column", "BoxModel": "column"}
TEMPLATES = Path(__file__).parent / "templates"


def installed_bundle() -> str:
    """The installed front end (``voxlite/static/widget.js``).

    Example
    -------
    >>> "createLocalModel" in installed_bundle()  # what a page without a kernel needs
    True
    """
    bundle = resources.files("voxlite").joinpath("static", "widget.js")
    if not bundle.is_file():
        raise FileNotFoundError("the front-end bundle is missing: run `npm run build` in js/")
    return bundle.read_text(encoding="utf-8")


def embed_views(notebook: Any, bundle: str | None = None) -> int:
    """Replace each saved voxlite view in ``notebook`` (an nbformat notebook, changed in
    place) by its self-contained page in an iframe; returns how many outputs changed.

    The views' models (and their layouts) leave the notebook's widget state; when no
    other widget is left, so does the state, and with it nbconvert's widget manager.

    Parameters
    ----------
    notebook
        An ``nbformat.NotebookNode`` executed with widget state saved (JupyterLab's
        "Save Widget State", or nbclient/``nbconvert --execute``, which store it).
    bundle
        The front end to embed; default: the one each view saved (its ``_esm``) when it
        is voxlite's, else the installed one.

    Example
    -------
    >>> import nbformat
    >>> embed_views(nbformat.v4.new_notebook())  # nothing saved, nothing to embed
    0
    """
    saved = notebook.get("metadata", {}).get("widgets", {}).get(STATE_MIME, {})
    models = saved.get("state", {})
    used: set[str] = set()
    changed = 0
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(VIEW_MIME)
            if not view:
                continue
            page = _embedded(models, view.get("model_id", ""), bundle, used)
            if page is not None:
                output["data"] = {"text/html": page}
                changed += 1
    for model_id in used:
        models.pop(model_id, None)
    left = [m for m in models.values() if m.get("model_name") != "LayoutModel"]
    if not left and "widgets" in notebook.get("metadata", {}):
        del notebook["metadata"]["widgets"]
    return changed


def _embedded(models: dict, model_id: str, bundle: str | None, used: set[str]) -> str | None:
    """HTML for one model: a viewer's page, a box of them; None for anything else."""
    model = models.get(model_id)
    if model is None:
        return None
    state = model.get("state", {})
    if state.get("_anywidget_id") == VIEWER_ID:
        used.update({model_id, str(state.get("layout", "")).removeprefix("IPY_MODEL_")})
        return _frame(_restored(model), bundle)
    direction = BOXES.get(model.get("model_name", ""))
    children = [str(c).removeprefix("IPY_MODEL_") for c in state.get("children", [])]
    if direction is None or not children:
        return None
    inner: set[str] = set()  # the children's models leave only if the whole box is embedded
    parts = [_embedded(models, child, bundle, inner) for child in children]
    if any(part is None for part in parts):
        return None
    used.update(inner | {model_id})
    style = f"display:flex;flex-direction:{direction};gap:4px"
    cells = "".join(f'<div style="flex:1;min-width:0">{part}</div>' for part in parts)
    return f'<div style="{style}">{cells}</div>'


def _restored(model: dict) -> dict:
    """A model's state with its saved buffers (base64) back in place, as bytes."""
    state = copy.deepcopy(model.get("state", {}))
    for buffer in model.get("buffers", []):
        target = state
        *parents, last = buffer["path"]
        for key in parents:
            target = target[key]
        target[last] = base64.b64decode(buffer["data"])
    return state


def _frame(state: dict, bundle: str | None) -> str:
    esm = state.get("_esm")
    if bundle is None:
        ours = isinstance(esm, str) and "createLocalModel" in esm
        bundle = esm if ours else installed_bundle()
    # No kernel will send a finer level: the page shows what the notebook saved.
    page = standalone_html({**state, "_progress": {}}, bundle, title="voxlite")
    height = int(state.get("height") or 480)
    return (
        f'<iframe class="voxlite-embed" title="voxlite view" srcdoc="{html.escape(page)}"'
        f' style="width:100%;height:{height + 4}px;border:0;display:block"></iframe>'
    )


@functools.cache
def _exporter_class() -> type:
    from nbconvert.exporters import HTMLExporter
    from traitlets import default

    class VoxliteHTMLExporter(HTMLExporter):
        """nbconvert's HTML (lab template) with voxlite's views embedded, offline."""

        export_from_notebook = "HTML with voxlite views (offline)"

        @default("template_name")
        def _template_name_default(self) -> str:
            return "voxlite_html"

        @default("extra_template_basedirs")
        def _extra_template_basedirs_default(self) -> list[str]:
            return [str(TEMPLATES), os.getcwd()]  # nbconvert's default: the working folder

        def from_notebook_node(self, nb, resources=None, **kw):
            nb = copy.deepcopy(nb)
            embed_views(nb)
            resources = {**(resources or {}), "voxlite_csp": STANDALONE_POLICY}
            return super().from_notebook_node(nb, resources, **kw)

    return VoxliteHTMLExporter


def __getattr__(name: str) -> Any:
    # nbconvert is imported only when the exporter is asked for (its entry point).
    if name == "VoxliteHTMLExporter":
        return _exporter_class()
    raise AttributeError(f"module 'voxlite.notebook_html' has no attribute {name!r}")
