"""voxlite: interactive 3D viewing of scientific and medical images, with zero servers.

Example:
    >>> import voxlite
    >>> viewer = voxlite.view(voxlite.data.ct_phantom((32, 32, 32)), cmap="ct-bone")
    >>> viewer.cmap
    'ct-bone'
"""

from voxlite import data
from voxlite.adapters import as_image
from voxlite.geometry import Mesh, PointSet, as_mesh, as_points, surface_from_labels
from voxlite.image import Image
from voxlite.io import ImageIOError, read_image, write_image
from voxlite.viewmodel import COLORMAPS, MODES


def __getattr__(name: str) -> object:
    # The widget needs anywidget (and so ipywidgets and IPython): imported when first
    # used, so that voxlite's readers and view model import without them (the app's Pyodide).
    if name in ("Viewer", "view", "compare"):
        from voxlite import widget

        return getattr(widget, name)
    if name == "to_ome_zarr":  # ngff-zarr and dask are imported when a conversion starts
        from voxlite.convert import to_ome_zarr

        return to_ome_zarr
    raise AttributeError(f"module 'voxlite' has no attribute {name!r}")


__version__ = "0.1.0"
__all__ = [
    "COLORMAPS",
    "MODES",
    "Image",
    "ImageIOError",
    "Mesh",
    "PointSet",
    "Viewer",
    "__version__",
    "as_image",
    "as_mesh",
    "as_points",
    "compare",
    "data",
    "read_image",
    "surface_from_labels",
    "to_ome_zarr",
    "view",
    "write_image",
]
