"""The zero-server viewer app: drop a file, see it in 3D, no notebook needed.

``voxlite app build -o DIR`` writes a static single-page application: the page
(``static/index.html``, ``app.js``, ``app.css``) renders with the widget's own
front-end bundle (``widget.js``, the notebook's renderer), and its logic is
Python running in the browser: :mod:`voxlite.app.browser`, in Pyodide, in a Web
Worker (``worker.js``). Pyodide is vendored and pruned as for the sites
(:mod:`voxlite.site`), so the app works offline from any static host.

Example (needs ``voxlite site fetch`` once)::

    from pathlib import Path
    from voxlite.app import AppOptions, build_app

    print(build_app(AppOptions(output=Path("app"))).summary())
"""

from voxlite.app.build import AppError, AppOptions, AppReport, build_app

__all__ = ["AppError", "AppOptions", "AppReport", "build_app"]
