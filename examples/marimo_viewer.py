"""voxlite in marimo: `marimo edit examples/marimo_viewer.py` (or `marimo run`).

The viewer is an anywidget, wrapped with `mo.ui.anywidget`; a marimo slider sets its
axial slice, and what the view changes (a click moves the crosshair and the slices; a
drag, the camera) comes back to Python as the wrapper's value, re-running the cells
that read it. The value follows the view: a change made in Python (the slider's) shows
in `viewer.slices` at once and in `widget.value` once the view reports its next change.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    import voxlite

    return mo, voxlite


@app.cell
def _(mo, voxlite):
    viewer = voxlite.view(
        voxlite.data.ct_phantom((64, 56, 56)), cmap="ct-bone", ui_collapsed=True, height=420
    )
    widget = mo.ui.anywidget(viewer)
    widget
    return viewer, widget


@app.cell
def _(mo, viewer):
    axial = mo.ui.slider(
        0, viewer.image.shape[0] - 1, value=viewer.slices[2], label="axial slice", full_width=True
    )
    axial
    return (axial,)


@app.cell
def _(axial, viewer):
    # The slider drives the view: marimo re-runs this cell whenever it moves.
    i, j, _k = viewer.slices
    viewer.slices = [i, j, axial.value]
    return


@app.cell
def _(mo, widget):
    # ... and the view drives Python: the wrapper's value holds the traits it reported.
    slices = widget.value["slices"]
    mo.md(f"slices shown (i, j, k): `{slices}`").callout()
    return


if __name__ == "__main__":
    app.run()
