"""Real-browser helpers: guarded pages, waits, pixel reads, mouse drags.

Every page gets a route that aborts and records any request to a host other
than 127.0.0.1, and collects page errors; the page checks both when it closes
(:meth:`GuardedPage.close`, or leaving ``with GuardedPage(...)``), so a test
fails if either is non-empty, without asking.
"""

from __future__ import annotations

import base64
import io
import os
import pathlib
import time
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
    """A page whose outside requests and JavaScript errors are recorded, and checked
    when it closes: use it as a context manager, or close it (the fixture does).

    ``allowed_errors`` are substrings of page errors a test expects; more can be
    allowed later with :meth:`allow`.
    """

    def __init__(self, browser, viewport=(900, 700), bypass_csp=True, allowed_errors=()):
        # Playwright's polling helpers evaluate code in the page, which the standalone
        # page's CSP forbids; a test of that CSP itself passes bypass_csp=False.
        size = {"width": viewport[0], "height": viewport[1]}
        self.context = browser.new_context(viewport=size, bypass_csp=bypass_csp)
        self.outside_requests: list[str] = []
        self.errors: list[str] = []
        self.allowed_errors: list[str] = list(allowed_errors)
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

    def allow(self, *errors: str) -> None:
        """Expect page errors containing these texts (checked when the page closes)."""
        self.allowed_errors += errors

    def check_clean(self) -> None:
        assert self.outside_requests == [], f"requests left 127.0.0.1: {self.outside_requests}"
        errors = [e for e in self.errors if not any(a in e for a in self.allowed_errors)]
        assert errors == [], f"errors in the page: {errors}"

    def close(self, check: bool = True) -> None:
        """Close the page, then fail if it asked another host for anything or had errors."""
        self.context.close()
        if check:
            self.check_clean()

    def __enter__(self) -> GuardedPage:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.close(check=kind is None)  # a failing test reports its own error first


def drag(page, start, offset, button="left", steps=8) -> None:
    """Press ``button`` at ``start`` (x, y page pixels), move by ``offset``, release."""
    x, y = start
    page.mouse.move(x, y)
    page.mouse.down(button=button)
    page.mouse.move(x + offset[0], y + offset[1], steps=steps)
    page.mouse.up(button=button)


def centre_of(page, selector: str) -> tuple[float, float]:
    """The centre of an element, in page pixels."""
    box = page.locator(selector).first.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


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


def wait_for_locator_frames(root, count: int, timeout: float = 60.0) -> None:
    """:func:`wait_for_frames` for a locator: it finds viewers in shadow roots too
    (marimo renders each widget in one), which ``document.querySelector`` does not."""
    deadline = time.monotonic() + timeout
    while int(root.get_attribute("data-voxlite-frames") or 0) < count:
        if root.get_attribute("data-voxlite-state") == "error":
            raise AssertionError(root.inner_text())
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} frames in {timeout} s")
        time.sleep(0.1)


def frames(page, root: str = ".voxlite-root") -> int:
    return page.evaluate(f"Number(document.querySelector('{root}').dataset.voxliteFrames)")


def set_and_render(page, key: str, value) -> None:
    """Change a model trait as Python would, and wait for the next frame."""
    before = frames(page)
    page.evaluate("([k, v]) => window.voxlite.model.set(k, v)", [key, value])
    wait_for_frames(page, before + 1)


def canvas_pixels(
    page, name: str | None = None, selector: str = ".voxlite-canvas", scope=None
) -> np.ndarray:
    """RGB pixels of the render area as shown on screen; saved under test-artifacts/.

    ``scope`` is where to look instead of the page (a frame locator, for a view in an
    iframe)."""
    png = (scope or page).locator(selector).first.screenshot()
    if name:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"{name}.png").write_bytes(png)
    return np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB")).astype(int)


def frame_sent(page):
    """The last picture the view sent to Python: (content, bytes)."""
    page.wait_for_function("window.voxlite.sent.some((m) => m.content.type === 'frame')")
    content, data = page.evaluate(
        """() => {
            const { content, buffers } = window.voxlite.sent.filter(
                (m) => m.content.type === 'frame').at(-1);
            const bytes = new Uint8Array(buffers[0]);
            let text = '';
            for (let i = 0; i < bytes.length; i += 0x8000)
                text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
            return [content, btoa(text)];
        }"""
    )
    return content, base64.b64decode(data)
