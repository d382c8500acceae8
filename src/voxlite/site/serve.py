"""``voxlite site serve``: a static file server on 127.0.0.1 for a built site."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

MIME_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".ipynb": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".nii": "application/octet-stream",
    ".gz": "application/gzip",
}


class SiteRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the MIME types WebAssembly and ES modules need."""

    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        **MIME_TYPES,
    }
    quiet = False

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)


def make_server(site: Path, port: int = 0, quiet: bool = False) -> http.server.HTTPServer:
    site = Path(site)
    if not site.is_dir():
        raise FileNotFoundError(f"no site at {site}: build one with `voxlite site build`")
    handler = functools.partial(
        type("Handler", (SiteRequestHandler,), {"quiet": quiet}), directory=str(site)
    )
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


@contextlib.contextmanager
def serving(site: Path, port: int = 0) -> Iterator[str]:
    """Serve ``site`` in a background thread for the duration of the block; yields its URL."""
    server = make_server(site, port, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def serve_forever(site: Path, port: int = 8000) -> None:
    server = make_server(site, port)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"serving {Path(site).resolve()} at {url}/  (Ctrl-C stops)")
    print(f"open {url}/lab/index.html?path=Hello3DWorld.ipynb")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
