"""``voxlite site serve`` and ``voxlite app serve``: a static file server that stays local.

It serves one built folder on 127.0.0.1 (or the ``--host`` given) and nothing else:

- it answers only requests addressed to it by a local name (``127.0.0.1``,
  ``localhost``, ``[::1]`` with its port, or the ``--host``): a web page on another
  site cannot reach it by pointing a DNS name of its own at 127.0.0.1 (DNS rebinding);
- it serves only files inside the folder: no link out of it is followed, no name
  starting with a dot (``.git``, ``.env``, the build's marker) is served but zarr v2's
  metadata files (``.zattrs`` ...: an OME-Zarr to stream), and no
  folder is listed (JupyterLite reads its own JSON listings, the app its files.json);
- every response says ``X-Content-Type-Options: nosniff``, and a voxlite build is
  served with the Content-Security-Policy its build wrote (``_headers``; see
  :mod:`voxlite.builder.csp`).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote

from voxlite.builder.csp import site_policy, written_policy
from voxlite.builder.files import ZARR_METADATA
from voxlite.site.build import MARKER

# Where a browser posts the violations of a policy served with reports on (tests).
REPORT_PATH = "/.voxlite-csp-report"
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")

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


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` headers a server on ``host:port`` answers (lower case).

    Examples
    --------
    >>> sorted(allowed_hosts("127.0.0.1", 8000))
    ['127.0.0.1:8000', '[::1]:8000', 'localhost:8000']
    >>> sorted(allowed_hosts("viewer.lan", 80))[-2:]
    ['viewer.lan', 'viewer.lan:80']
    """
    name = f"[{host}]" if ":" in host else host  # an IPv6 address, as a Host header has it
    names = {*LOCAL_NAMES, name.lower()}
    hosts = {f"{n}:{port}" for n in names}
    if port == 80:  # the default port: browsers leave it out
        hosts |= names
    return frozenset(hosts)


class SiteRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of one folder, with the MIME types WebAssembly and ES modules need, a
    Content-Security-Policy header when ``policy`` is set, and the limits of this module."""

    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        **MIME_TYPES,
    }
    quiet = False
    policy: str | None = None
    # When a list: the policy asks browsers to post violations here (report-uri).
    reports: list[dict] | None = None

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in self.server.allowed_hosts:
            self.send_text(
                HTTPStatus.MISDIRECTED_REQUEST,
                f"voxlite serves this folder at {self.server.url}/ only "
                f"(not to the host {host or '(none)'!r})\n",
            )
            return False
        return True

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if not self.publishes(path):
            self.send_text(HTTPStatus.NOT_FOUND, "not found\n")
            return None
        return super().send_head()

    def publishes(self, path: Path) -> bool:
        """Whether ``path`` is a file of the folder (or a folder with its index.html)."""
        root = Path(self.directory).resolve()
        # The URL's path as translate_path reads it: "." and ".." are refused with the rest.
        url_path = unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        parts = url_path.split("/")
        # zarr v2's metadata (.zattrs ...) is the one kind of dotfile served: as a file's name.
        if any(p.startswith(".") for p in parts[:-1]) or (
            parts[-1].startswith(".") and parts[-1] not in ZARR_METADATA
        ):
            return False
        if path.is_dir():
            path = path / "index.html"  # a folder is its index page, never a listing
        return path.resolve().is_relative_to(root) and path.is_file()

    def list_directory(self, path):  # only reached for a folder without index.html
        self.send_text(HTTPStatus.NOT_FOUND, "not found\n")
        return None

    def send_text(self, status: HTTPStatus, text: str) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
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


def default_policy(folder: Path) -> str | None:
    """The policy a folder is served with: the one its build wrote (``_headers``), a
    voxlite site's, else none (its pages may carry their own, as saved viewer pages do)."""
    written = written_policy(folder)
    if written is None and (Path(folder) / MARKER).exists():
        return site_policy(folder)
    return written


_DEFAULT: Any = object()  # make_server's policy when none is given


class _IPv6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def make_server(
    site: Path,
    port: int = 0,
    quiet: bool = False,
    policy: str | None = _DEFAULT,
    reports: list[dict] | None = None,
    host: str = "127.0.0.1",
) -> http.server.ThreadingHTTPServer:
    """A server for ``site`` on ``host`` (127.0.0.1). ``policy``: the Content-Security-Policy
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
    server_type = _IPv6Server if ":" in host else http.server.ThreadingHTTPServer
    server = server_type((host, port), handler)
    bound = server.server_address[1]
    server.allowed_hosts = allowed_hosts(host, bound)
    server.url = f"http://{f'[{host}]' if ':' in host else host}:{bound}"
    return server


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
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


def _loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_forever(
    folder: Path, port: int = 8000, host: str = "127.0.0.1", pages: tuple[str, ...] = ()
) -> None:
    """Serve a built folder until Ctrl-C, printing its URL and ``pages`` to open there."""
    policy = default_policy(folder)
    server = make_server(folder, port, policy=policy, host=host)
    print(f"serving {Path(folder).resolve()} at {server.url}/  (Ctrl-C stops)")
    for page in pages:
        print(f"open {server.url}/{page}")
    if policy:
        print("with the Content-Security-Policy its build wrote (_headers)")
    if not _loopback(host):
        print(f"note: other machines that reach {host} can read this folder")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
