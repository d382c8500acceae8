"""Zero-server sites: JupyterLite with Pyodide, voxlite and its data, offline by default.

The steps, each its own module: :mod:`~voxlite.site.sources` fetches Pyodide and
the browser wheels once (registries only, sha256-checked), :mod:`~voxlite.site.pyodide`
prunes the distribution to what the site imports, :mod:`~voxlite.site.build` is the
site's target of voxlite's build (:mod:`voxlite.builder`) and drives ``jupyter lite
build``, :mod:`~voxlite.site.check` lists loads from other origins and
:mod:`~voxlite.site.serve` serves a site (or the app) on 127.0.0.1. The app
(:mod:`voxlite.app`) reuses the Pyodide, check and serve modules.
"""

from voxlite.site.build import SiteError, SiteOptions, SiteReport, build_site
from voxlite.site.check import find_outside_urls
from voxlite.site.serve import serve_forever, serving
from voxlite.site.sources import fetch

__all__ = [
    "SiteError",
    "SiteOptions",
    "SiteReport",
    "build_site",
    "fetch",
    "find_outside_urls",
    "serve_forever",
    "serving",
]
