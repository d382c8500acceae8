"""A small threaded static server for streaming tests: 127.0.0.1 only, HTTP Range
(``bytes=a-b`` and ``bytes=-n``), HEAD, a log of every request (and of when each body
was sent, for benchmarks), an optional delay per chunk request (to catch requests in
flight), and CORS on or off."""

from __future__ import annotations

import contextlib
import http.server
import os
import pathlib
import re
import threading
import time
from collections.abc import Iterator
from urllib.parse import unquote, urlparse

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_METADATA = (".zattrs", ".zgroup", ".zarray", ".zmetadata", "zarr.json")


class RangedServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: pathlib.Path, cors: bool = True, delay: float = 0.0) -> None:
        self.root = pathlib.Path(root).resolve()
        self.cors = cors
        self.delay = delay
        self.slow = ""  # the delay is for chunk paths holding this text
        self.log: list[tuple[str, str]] = []
        # (time.time() when its body was written, path) of every body sent
        self.served: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def requests(self, prefix: str = "", chunks_only: bool = True) -> list[str]:
        """The paths asked for (GET), under ``prefix``; chunks only unless told."""
        with self.lock:
            paths = [path for method, path in self.log if method == "GET"]
        return [
            p for p in paths if p.startswith(prefix) and not (chunks_only and p.endswith(_METADATA))
        ]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: RangedServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_OPTIONS(self) -> None:  # a CORS preflight (a Range header that is not simple)
        self.send_response(204 if self.server.cors else 403)
        if self.server.cors:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "Range")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        path = unquote(urlparse(self.path).path)
        with self.server.lock:
            self.server.log.append((self.command, path))
        target = (self.server.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.server.root) or not target.is_file():
            return self._reply(404, b"not found", body)
        slow = self.server.slow in path
        if body and self.server.delay and slow and not path.endswith(_METADATA):
            time.sleep(self.server.delay)
        data = target.read_bytes()
        wanted = _RANGE.match(self.headers.get("Range", ""))
        if not wanted:
            return self._reply(200, data, body)
        start, stop = wanted.groups()
        if start == "":
            start, stop = max(0, len(data) - int(stop)), len(data) - 1
        start, stop = int(start), min(int(stop or len(data) - 1), len(data) - 1)
        extra = {"Content-Range": f"bytes {start}-{stop}/{len(data)}"}
        self._reply(206, data[start : stop + 1], body, extra)

    def _reply(self, status: int, data: bytes, body: bool, extra: dict | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            if self.server.cors:
                self.send_header("Access-Control-Allow-Origin", "*")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if body:
                self.wfile.write(data)
                with self.server.lock:
                    path = unquote(urlparse(self.path).path)
                    self.server.served.append((time.time(), path))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page cancelled the request


@contextlib.contextmanager
def ranged(root: os.PathLike, cors: bool = True, delay: float = 0.0) -> Iterator[RangedServer]:
    """Serve ``root`` on 127.0.0.1 (a free port) while the block runs."""
    server = RangedServer(pathlib.Path(root), cors=cors, delay=delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
