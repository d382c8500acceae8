"""voxlite_html: saved views embedded as self-contained pages, nothing from a CDN."""

import html
import json
import re

import ipywidgets
import nbformat
import numpy as np
import pytest

import voxlite
from voxlite.notebook_html import STATE_MIME, VIEW_MIME, embed_views
from voxlite.standalone import json_in_html


def saved_notebook(*widgets) -> nbformat.NotebookNode:
    """A notebook whose outputs show ``widgets``, with their state saved as Jupyter does."""
    notebook = nbformat.v4.new_notebook()
    for widget in widgets:
        cell = nbformat.v4.new_code_cell("viewer")
        view = {"version_major": 2, "version_minor": 1, "model_id": widget.model_id}
        cell.outputs = [
            nbformat.v4.new_output("display_data", {VIEW_MIME: view, "text/plain": "x"})
        ]
        notebook.cells.append(cell)
    shown = [*widgets, *(child for w in widgets for child in getattr(w, "children", ()))]
    state = ipywidgets.Widget.get_manager_state(drop_defaults=False, widgets=shown)
    notebook.metadata["widgets"] = {STATE_MIME: json.loads(json.dumps(state))}
    return notebook


def page_state(output) -> dict:
    """The state in the page an output's iframe carries."""
    page = html.unescape(re.search(r'srcdoc="([^"]*)"', output["data"]["text/html"])[1])
    text = re.search(r'id="voxlite-state">(.*?)</script>', page, re.S)[1]
    return json.loads(text)


def test_a_saved_view_becomes_its_page_and_leaves_the_widget_state():
    viewer = voxlite.view(np.arange(4 * 5 * 6, dtype=np.uint8).reshape(4, 5, 6), cmap="hot")
    notebook = saved_notebook(viewer)
    assert embed_views(notebook) == 1
    assert "widgets" not in notebook.metadata, "no widget left: no widget manager needed"
    (output,) = notebook.cells[0].outputs
    assert set(output["data"]) == {"text/html"}
    document = page_state(output)
    assert document["state"]["cmap"] == "hot"
    (buffer,) = document["buffers"]
    assert buffer["path"] == ["_image", "data"]  # the voxels travel, as in save_html


def test_a_box_of_viewers_is_a_row_and_other_widgets_are_left_alone():
    images = [np.zeros((4, 4, 4), np.uint8), np.ones((4, 4, 4), np.uint8)]
    row = ipywidgets.HBox([voxlite.view(images[0]), voxlite.view(images[1])])
    slider = ipywidgets.IntSlider(3)
    notebook = saved_notebook(row, slider)
    assert embed_views(notebook) == 1
    shown = notebook.cells[0].outputs[0]["data"]["text/html"]
    assert "flex-direction:row" in shown and shown.count("<iframe") == 2
    assert VIEW_MIME in notebook.cells[1].outputs[0]["data"], "the slider keeps its view"
    left = notebook.metadata["widgets"][STATE_MIME]["state"]
    assert slider.model_id in left and row.model_id not in left


def test_a_box_kept_as_it_was_keeps_the_models_of_its_viewers():
    viewer = voxlite.view(np.zeros((4, 4, 4), np.uint8))
    slider = ipywidgets.IntSlider(3)
    box = ipywidgets.VBox([viewer, slider])  # a slider is not embedded: nor is the box
    notebook = saved_notebook(box)
    assert embed_views(notebook) == 0
    left = notebook.metadata["widgets"][STATE_MIME]["state"]
    assert {box.model_id, viewer.model_id, slider.model_id} <= set(left)


def test_a_notebook_without_saved_state_is_unchanged():
    notebook = saved_notebook()
    del notebook.metadata["widgets"]
    notebook.cells = [nbformat.v4.new_code_cell("1")]
    before = json.dumps(notebook)
    assert embed_views(notebook) == 0
    assert json.dumps(notebook) == before


def test_the_exporter_writes_no_cdn_script(tmp_path):
    pytest.importorskip("nbconvert")
    from voxlite.notebook_html import VoxliteHTMLExporter

    notebook = saved_notebook(voxlite.view(np.zeros((4, 4, 4), np.uint8)))
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell("# A title $x^2$"))
    body, _ = VoxliteHTMLExporter().from_notebook_node(notebook)
    outer = re.sub(r'srcdoc="[^"]*"', "", body)  # the pages carry their own CSP
    assert re.findall(r'<script[^>]+src=|<link[^>]+href="https?:', outer) == []
    assert "Content-Security-Policy" in outer and "default-src 'none'" in outer
    assert "<iframe" in body and json_in_html("x") == '"x"'
