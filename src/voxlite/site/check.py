"""``voxlite site check``: which URLs a built site would load from another origin.

It reads what a page loads by itself: every ``jupyter-lite.json`` (the kernel's
``pyodideUrl``, piplite indexes, extension URLs ...), the wheel index
(``pypi/all.json``), Pyodide's lock, and the HTML and CSS entry points
(``<script src>``, ``<link href>``, ``url(...)``, ``@import``). Links in text
a user may click, or URLs inside minified application code, are not loads and
are not reported.
"""

from __future__ import annotations

import html.parser
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""")
_ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def is_outside(url: str) -> bool:
    """True for a URL that names another host (http(s), ws(s) or protocol-relative)."""
    if not _ABSOLUTE.match(url.strip()):
        return False
    parsed = urlparse(url.strip() if "://" in url else "http:" + url.strip())
    return parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in LOCAL_HOSTS


def find_outside_urls(site: Path) -> list[tuple[str, str]]:
    """(file, url) for every load from another origin that the site's files declare."""
    site = Path(site)
    if not (site / "jupyter-lite.json").exists() and not (site / "index.html").exists():
        raise FileNotFoundError(f"{site} does not look like a built site (no jupyter-lite.json)")
    found = []
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(site).as_posix()
        for url in _urls_in(path):
            if is_outside(url):
                found.append((relative, url))
    return found


def _urls_in(path: Path) -> Iterator[str]:
    name = path.name
    wheel_index = name == "all.json" and path.parent.name == "pypi"
    if (
        wheel_index
        or name in ("jupyter-lite.json", "pyodide-lock.json")
        or name.endswith(".jupyterlab-settings")
    ):
        try:
            yield from _strings(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, UnicodeDecodeError):
            return
    elif name.endswith(".html"):
        parser = _LoadedURLs()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        yield from parser.urls
    elif name.endswith(".css"):
        yield from _CSS_URL.findall(path.read_text(encoding="utf-8", errors="replace"))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class _LoadedURLs(html.parser.HTMLParser):
    """Attributes through which a page loads something without a click."""

    LOADING: ClassVar[dict[str, str]] = {
        "script": "src",
        "img": "src",
        "iframe": "src",
        "source": "src",
        "video": "src",
        "audio": "src",
        "embed": "src",
        "object": "data",
    }

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("href"):
            rel = (values.get("rel") or "").lower()
            if any(
                kind in rel
                for kind in (
                    "stylesheet",
                    "icon",
                    "preload",
                    "modulepreload",
                    "manifest",
                    "prefetch",
                )
            ):
                self.urls.append(values["href"])
        elif tag in self.LOADING and values.get(self.LOADING[tag]):
            self.urls.append(values[self.LOADING[tag]])
        if values.get("style"):
            self.urls.extend(_CSS_URL.findall(values["style"]))
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls.extend(_CSS_URL.findall(data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False
