"""``voxlite site serve``: a static file server on 127.0.0.1 for a built site.

A site built by ``voxlite site build`` is served with its Content-Security-Policy
(:mod:`voxlite.site.csp`) on every response; other folders are served as they are.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from voxlite.site.build import MARKER
from voxlite.site.csp import site_policy

# Where a browser posts the violations of a policy served with reports on (tests).
REPORT_PATH = "/.voxlite-csp-report"

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
    """Static files with the MIME types WebAssembly and ES modules need, and a
    Content-Security-Policy header when ``policy`` is set."""

    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        **MIME_TYPES,
    }
    quiet = False
    policy: str | None = None
    # When a list: the policy asks browsers to post violations here (report-uri).
    reports: list[dict] | None = None

    def end_headers(self) -> None:
        if self.policy:
            policy = self.policy
            if self.reports is not None:
                policy += f"; report-uri {REPORT_PATH}"
            self.send_header("Content-Security-Policy", policy)
        super().end_headers()

    def do_POST(self) -> None:
        if self.reports is None or self.path != REPORT_PATH:
            self.send_error(405)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            report = json.loads(body)
        except ValueError:
            report = None
        if not isinstance(report, dict):
            report = {"unreadable report": body.decode("utf-8", "replace")}
        self.reports.append(report.get("csp-report", report))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)


def default_policy(site: Path) -> str | None:
    """The policy a folder is served with: a voxlite site's, else none (the folder's
    pages may carry their own, as the standalone viewer pages do)."""
    return site_policy(site) if (Path(site) / MARKER).exists() else None


_DEFAULT: Any = object()  # make_server's policy when none is given


def make_server(
    site: Path,
    port: int = 0,
    quiet: bool = False,
    policy: str | None = _DEFAULT,
    reports: list[dict] | None = None,
) -> http.server.HTTPServer:
    """A server for ``site`` on 127.0.0.1. ``policy``: the Content-Security-Policy
    header (default: :func:`default_policy`; None sends none). ``reports``: a list
    that collects the violations browsers report."""
    site = Path(site)
    if not site.is_dir():
        raise FileNotFoundError(f"no site at {site}: build one with `voxlite site build`")
    if policy is _DEFAULT:
        policy = default_policy(site)
    attributes = {"quiet": quiet, "policy": policy, "reports": reports}
    handler = functools.partial(
        type("Handler", (SiteRequestHandler,), attributes), directory=str(site)
    )
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


@contextlib.contextmanager
def serving(
    site: Path,
    port: int = 0,
    policy: str | None = _DEFAULT,
    reports: list[dict] | None = None,
) -> Iterator[str]:
    """Serve ``site`` in a background thread for the duration of the block; yields its URL.

    A voxlite site is served with its Content-Security-Policy (see :func:`make_server`);
    pass a list as ``reports`` to collect every violation a browser reports, from the
    pages and from their workers.
    """
    server = make_server(site, port, quiet=True, policy=policy, reports=reports)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def serve_forever(site: Path, port: int = 8000) -> None:
    policy = default_policy(site)
    server = make_server(site, port, policy=policy)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"serving {Path(site).resolve()} at {url}/  (Ctrl-C stops)")
    print(f"open {url}/lab/index.html?path=Hello3DWorld.ipynb")
    if policy:
        print("with the site's Content-Security-Policy (docs/site.md)")
    serve_until_interrupted(server)


def serve_until_interrupted(server: http.server.ThreadingHTTPServer) -> None:
    """Serve until Ctrl-C, then close the server."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
