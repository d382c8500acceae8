"""The examples gallery (examples/*.ipynb) runs, top to bottom, in a real kernel."""

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

pytestmark = pytest.mark.slow


def test_the_gallery_is_there():
    names = {path.stem for path in NOTEBOOKS}
    assert {"segmentation_check", "dicom_study", "microscopy_channels"} <= names
    assert {"registration_check", "voila_dashboard", "ome_zarr_streaming"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_example_runs(path, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback
    shown = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    views = [o for o in shown if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, f"{path.name} shows no viewer"
