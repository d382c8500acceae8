"""Helpers for real-browser tests: guarded pages, waits, pixel reads.

Every page gets a route that aborts and records any request to a host other
than 127.0.0.1, and collects page errors; a test fails if either is non-empty.
"""

from __future__ import annotations

import io
import os
import pathlib
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
