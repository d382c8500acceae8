"""Helpers for real-browser tests: guarded pages, waits, pixel reads.

Every page gets a route that aborts and records any request to a host other
than 127.0.0.1, and collects page errors; a test fails if either is non-empty.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlparse

import numpy as np
from PIL import Image as PILImage

CHROMIUM = os.environ.get("VOXLITE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
ARTIFACTS = pathlib.Path(__file__).parents[2] / "test-artifacts"


class GuardedPage:
    """A page whose outside requests and JavaScript errors are recorded."""

    def __init__(self, browser, viewport=(900, 700), bypass_csp=True):
        # Playwright's polling helpers evaluate code in the page, which the standalone
        # page's CSP forbids; a test of that CSP itself passes bypass_csp=False.
        size = {"width": viewport[0], "height": viewport[1]}
        self.context = browser.new_context(viewport=size, bypass_csp=bypass_csp)
        self.outside_requests: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on(
            "console",
            lambda msg: self.errors.append(msg.text) if msg.type == "error" else None,
        )

    def _route(self, route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", None) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside_requests.append(route.request.url)
            route.abort()

    def check_clean(self, allowed_errors: tuple[str, ...] = ()) -> None:
        assert self.outside_requests == [], f"requests left 127.0.0.1: {self.outside_requests}"
        errors = [e for e in self.errors if not any(a in e for a in allowed_errors)]
        assert errors == [], f"errors in the page: {errors}"

    def close(self) -> None:
        self.context.close()


def wait_for_frames(page, count: int, root: str = ".voxlite-root") -> None:
    """Wait until the widget reports `count` rendered frames (or an error)."""
    page.wait_for_function(
        """([selector, count]) => {
            const root = document.querySelector(selector);
            if (!root) return false;
            if (root.dataset.voxliteState === 'error') throw new Error(root.textContent);
            return Number(root.dataset.voxliteFrames || 0) >= count;
        }""",
        arg=[root, count],
        timeout=60_000,
    )


def wait_for_idle_kernel(page, timeout: float = 180_000) -> None:
    """Wait until the notebook open in JupyterLab(-Lite) has an idle kernel."""
    page.wait_for_function(
        """() => {
            const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const session = widget && widget.sessionContext && widget.sessionContext.session;
            return session && session.kernel && session.kernel.status === 'idle';
        }""",
        timeout=timeout,
        polling=100,
    )


def frames(page, root: str = ".voxlite-root") -> int:
    return page.evaluate(f"Number(document.querySelector('{root}').dataset.voxliteFrames)")


def set_and_render(page, key: str, value) -> None:
    """Change a model trait as Python would, and wait for the next frame."""
    before = frames(page)
    page.evaluate("([k, v]) => window.voxlite.model.set(k, v)", [key, value])
    wait_for_frames(page, before + 1)


def canvas_pixels(page, name: str | None = None, selector: str = ".voxlite-canvas") -> np.ndarray:
    """RGB pixels of the render area as shown on screen; saved under test-artifacts/."""
    png = page.locator(selector).first.screenshot()
    if name:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"{name}.png").write_bytes(png)
    return np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB")).astype(int)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_extensions_without_jupyterlite(folder: pathlib.Path) -> pathlib.Path:
    """The installed JupyterLab extensions but JupyterLite's, linked into ``folder``.

    The site extra installs JupyterLite's kernel extension beside JupyterLab, where it
    cannot load (it needs JupyterLite's in-browser server).
    """
    installed = pathlib.Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    for entry in installed.iterdir():
        packages = sorted(entry.iterdir()) if entry.name.startswith("@") else [entry]
        for package in packages:
            if (package / "package.json").exists() and entry.name != "@jupyterlite":
                link = folder / package.relative_to(installed)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(package)
    return folder


@contextlib.contextmanager
def jupyterlab_server(root: pathlib.Path, *args: str, pythonpath: str = "") -> Iterator[str]:
    """A JupyterLab server on 127.0.0.1 serving ``root``, without a token; yields its URL.

    ``args`` are more command-line options; ``pythonpath`` goes before the kernel's path.
    """
    extensions = lab_extensions_without_jupyterlite(root / ".labextensions")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--allow-root",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.labextensions_path={extensions}",
        "--LabApp.news_url=",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *args,
    ]
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / ".config"),
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "PYTHONPATH": os.pathsep.join(filter(None, [pythonpath, os.environ.get("PYTHONPATH")])),
    }
    url = f"http://127.0.0.1:{port}"
    with open(root / "server.log", "w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status", timeout=2)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"JupyterLab did not start:\n{(root / 'server.log').read_text()}"
                        ) from None
                    time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
