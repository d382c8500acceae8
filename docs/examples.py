"""Render a picture of each example notebook's viewer with the real widget in headless Chromium.

    .venv/bin/python -m docs.examples                       # every examples/*.ipynb
    .venv/bin/python -m docs.examples segmentation_check    # some of them, by name

Each notebook's code cells run here, in order, as the kernel would run them (outputs
are not shown); the picture is of the viewer the notebook leaves in ``viewer``, drawn
from its saved page (:func:`docs.pictures.render`): docs/images/example-NAME.png.
"""

import contextlib
import io
import pathlib
import sys

import nbformat

from docs.pictures import render, save
from tests.harness.browser import CHROMIUM, CHROMIUM_ARGS

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"
# Traits set on a notebook's viewer for its picture (none so far).
PICTURE_TRAITS: dict[str, dict] = {}


def final_viewer(path: pathlib.Path):
    """Run a notebook's code cells in one namespace; the ``viewer`` they end with."""
    namespace: dict = {"__name__": "__main__", "display": lambda *objects: None}
    notebook = nbformat.read(path, as_version=4)
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in notebook.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, f"{path.name}", "exec"), namespace)
    return namespace["viewer"]


def main(names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    paths = [p for p in sorted(EXAMPLES.glob("*.ipynb")) if not names or p.stem in names]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        failed = []
        for path in paths:
            viewer = final_viewer(path)
            viewer.height = 460
            for name, value in PICTURE_TRAITS.get(path.stem, {}).items():
                setattr(viewer, name, value)
            try:
                save(render(viewer, browser, (1000, 480)), f"example-{path.stem}.png")
            except Exception as error:  # the view's own error (say, a kind it cannot show yet)
                failed.append(path.stem)
                print(f"{path.stem}: no picture: {str(error).splitlines()[0][:300]}")
        browser.close()
    if failed:
        sys.exit(f"no picture of {', '.join(failed)}")


if __name__ == "__main__":
    main(sys.argv[1:])
