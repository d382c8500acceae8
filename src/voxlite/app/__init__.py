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

from typing import Any

_BUILD = ("AppError", "AppOptions", "AppReport", "build_app")


def __getattr__(name: str) -> Any:
    # The builder (packaging, the site's machinery) is imported only when asked for: the
    # app's own Python, voxlite.app.browser in Pyodide, runs without it.
    if name in _BUILD:
        from voxlite.app import build

        return getattr(build, name)
    raise AttributeError(f"module 'voxlite.app' has no attribute {name!r}")


__all__ = ["AppError", "AppOptions", "AppReport", "build_app"]
