"""voxlite: interactive 3D viewing of scientific and medical images, with zero servers.

Example:
    >>> import voxlite
    >>> viewer = voxlite.view(voxlite.data.ct_phantom((32, 32, 32)), cmap="ct-bone")
    >>> viewer.cmap
    'ct-bone'
"""

from voxlite import data
from voxlite.geometry import Mesh, PointSet, as_mesh, as_points, surface_from_labels
from voxlite.image import Image, as_image
from voxlite.io import ImageIOError, read_image, write_image
from voxlite.widget import COLORMAPS, MODES, Viewer, view

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
    "data",
    "read_image",
    "surface_from_labels",
    "view",
    "write_image",
]
