"""Every Content-Security-Policy voxlite writes: sites, the app, saved pages.

Each policy is a table of directives here, and nowhere else:

- :data:`CONTENT_SECURITY_POLICY`, a JupyterLite site's (``voxlite site build``);
- :data:`APP_POLICY`, the viewer app's (``voxlite app build``);
- :data:`STANDALONE_POLICY`, a saved page's (``Viewer.save_html``): no request at all.

A build writes its policy into what it builds: ``_headers`` (read by Netlify,
Cloudflare Pages, and by ``voxlite site serve`` / ``app serve``, see
:func:`served_policy`), and a ``<meta http-equiv>`` tag in its pages for hosts
that set no headers (:func:`meta_policy` drops what a meta tag cannot carry).

The site's policy: only the site's own origin, and what JupyterLite needs.
docs/site.md says why each directive is there; each source beyond ``'self'``
fixes a violation measured in Chromium:

- ``'unsafe-eval'``: JupyterLab validates every plugin's settings with Ajv,
  which compiles JSON schemas with ``new Function``; without it the settings
  registry fails and the notebook never opens (JupyterLab, not Pyodide).
- ``'wasm-unsafe-eval'``: Pyodide compiles its WebAssembly in the kernel's
  worker (it is all the worker needs; ``'unsafe-eval'`` implies it).
- ``blob:`` scripts: anywidget imports each widget's ES module from a blob: URL.
- ``'sha256-...'``: JupyterLite's pages start with small inline scripts
  (bootstrap, redirects); only these exact scripts may run inline.
- ``style-src 'unsafe-inline'``: JupyterLab, Lumino and the widgets inject
  ``<style>`` elements and ``style=""`` attributes at run time.
- ``img-src data:``: JupyterLab's icons are data: SVG images in its CSS.
- ``worker-src blob:``: the widget streams OME-Zarr chunks in a Web Worker that it
  starts from a blob: URL (its code is inside the widget's bundle).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

# sha256 of the inline scripts of JupyterLite 0.6.4's pages (its app tarball in
# jupyterlite-core), every app included. `write_csp` refuses a built page that has an
# inline script not listed here, so a JupyterLite upgrade cannot silently break a site.
JUPYTERLITE_INLINE_SCRIPTS = {
    "index.html": "sha256-eS4tTJjWJrYO1PwyO42MNYPnmy/RZoMInXbCQ+sMIss=",
    "lab/index.html": "sha256-TL/6QYscEwuP3d60kB9vyH+FiezNriOBJQ7lFGTlorw=",
    "lab/tree/index.html": "sha256-oTxPiF3PvwwUn9/lH1PF2sjeU11rrsltLpEVMiMwRqw=",
    "lab/workspaces/index.html": "sha256-HL+saU6Owh+fvU/DHTGXCxPgvK+24qb2x4N/8OG5LpQ=",
    "doc/tree/index.html": "sha256-gfQrEeWGWI0qAB1yB5OyBnBGaxHk5xt+DMmUHTbFhRA=",
    "doc/workspaces/index.html": "sha256-0CWS7241oPBiinV+urNTayrNgJD2Au8LS1pd0T23NE8=",
    "notebooks/index.html": "sha256-HY9SiqpgkD39RiVXqsRiVjnzzpIPr6JbgDp+Fj12YgY=",
    "tree/index.html": "sha256-WsJHNbx5U27RTdGAha6Sr6OchSDXewKdCQQh539Zyas=",
    "edit/index.html": "sha256-iC/k5Sn/X2LyhpF2xjoZWgn+/RIrXsmZpqkg26No5XY=",
    "consoles/index.html": "sha256-nbBEJR4cAu0Gx7cIR6tVwqiewp9MWrLlo1SIvaVfNkw=",
    "repl/index.html": "sha256-eX6oFGr7SeMUkLcoeErKr3lYO9MCDwAp/1tABEnPl5M=",
}

# The site's policy, directive by directive; anything not named falls back to default-src.
DIRECTIVES: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": (
        "'self'",
        "'unsafe-eval'",
        "'wasm-unsafe-eval'",
        "blob:",
        *(f"'{digest}'" for digest in dict.fromkeys(JUPYTERLITE_INLINE_SCRIPTS.values())),
    ),
    "style-src": ("'self'", "'unsafe-inline'"),
    "img-src": ("'self'", "data:"),
    "connect-src": ("'self'",),
    # The site's own workers, and the widget's stream worker (made from a blob: URL).
    "worker-src": ("'self'", "blob:"),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'none'",),
    "frame-ancestors": ("'self'",),  # header only: browsers ignore it in a meta tag
}
# Directives a <meta http-equiv> policy cannot carry (browsers ignore them and log an error).
HEADER_ONLY = ("frame-ancestors", "report-uri", "sandbox")
# The directives that must also name a remote Pyodide (`--pyodide cdn`).
REMOTE_PYODIDE_DIRECTIVES = ("script-src", "connect-src")
HEADERS_FILE = "_headers"
# Pages of the application; what is under files/ is the user's content and left as it is.
USER_CONTENT = ("files",)


# The app's: scripts, styles, the worker and WebAssembly from the app's own folder only;
# connect-src also allows https: so that ?url= can open a dataset on another CORS-enabled
# host. Its pages carry it in a <meta> tag (which covers the page only); `voxlite app serve`
# sends it as a header from _headers, which covers the Python worker too.
APP_DIRECTIVES: dict[str, tuple[str, ...]] = {
    "default-src": ("'none'",),
    # 'unsafe-eval' and blob: workers: the widget's stream worker (numcodecs' embind glue
    # makes functions with Function(...); see STREAM_SOURCES).
    "script-src": ("'self'", "'unsafe-eval'", "'wasm-unsafe-eval'"),
    "worker-src": ("'self'", "blob:"),
    "connect-src": ("'self'", "https:"),
    "style-src": ("'self'", "'unsafe-inline'"),
    "img-src": ("'self'", "data:", "blob:"),
    "base-uri": ("'none'",),
    "form-action": ("'none'",),
    "frame-ancestors": ("'none'",),  # header only
}
# A saved page's: nothing may be fetched; the bundle runs from a blob: URL made in the page.
STANDALONE_DIRECTIVES: dict[str, tuple[str, ...]] = {
    "default-src": ("'none'",),
    "script-src": ("'unsafe-inline'", "blob:"),
    "style-src": ("'unsafe-inline'",),
    "img-src": ("data:", "blob:"),
}


def join_directives(
    directives: Mapping[str, tuple[str, ...]], extra: Mapping[str, tuple[str, ...]] | None = None
) -> str:
    """A policy as a header value: each directive's sources, plus ``extra`` ones.

    Examples
    --------
    >>> join_directives({"default-src": ("'self'",), "img-src": ("data:",)},
    ...                 {"img-src": ("blob:",)})
    "default-src 'self'; img-src data: blob:"
    """
    extra = extra or {}
    return "; ".join(
        " ".join((name, *sources, *extra.get(name, ()))) for name, sources in directives.items()
    )


def content_security_policy(extra_origins: tuple[str, ...] = ()) -> str:
    """The site's policy; ``extra_origins`` may also serve scripts and data (a CDN's Pyodide)."""
    return join_directives(DIRECTIVES, dict.fromkeys(REMOTE_PYODIDE_DIRECTIVES, extra_origins))


CONTENT_SECURITY_POLICY = content_security_policy()
APP_POLICY = join_directives(APP_DIRECTIVES)
STANDALONE_POLICY = join_directives(STANDALONE_DIRECTIVES)
# A saved page of a streamed OME-Zarr image fetches its chunks from one origin, in a
# worker started from a blob: URL that runs numcodecs' WebAssembly codecs (blosc, zstd,
# lz4): their Emscripten glue (embind) makes functions with `Function(...)`, which needs
# 'unsafe-eval' ('wasm-unsafe-eval' covers the WebAssembly itself); just that more.
STREAM_SOURCES = {"worker-src": ("blob:",), "script-src": ("'unsafe-eval'", "'wasm-unsafe-eval'")}


def standalone_policy(stream_origin: str | None = None) -> str:
    """A saved page's policy; with ``stream_origin``, it may also stream from there.

    Examples
    --------
    >>> standalone_policy() == STANDALONE_POLICY
    True
    >>> "connect-src https://data.example.org" in standalone_policy("https://data.example.org")
    True
    """
    if stream_origin is None:
        return STANDALONE_POLICY
    directives = {**STANDALONE_DIRECTIVES, "connect-src": (stream_origin,), "worker-src": ()}
    return join_directives(directives, STREAM_SOURCES)


def meta_policy(policy: str) -> str:
    """``policy`` without the directives a ``<meta http-equiv>`` tag cannot carry."""
    kept = [part for part in policy.split("; ") if part.split(" ", 1)[0] not in HEADER_ONLY]
    return "; ".join(kept)


def write_headers(folder: Path, policy: str, what: str) -> None:
    """``_headers`` at the root of a built folder: its policy for every path."""
    (Path(folder) / HEADERS_FILE).write_text(
        f"# Content-Security-Policy of this voxlite {what}, for hosts that read _headers\n"
        "# (Netlify, Cloudflare Pages). Each page also carries it in a meta tag.\n"
        f"/*\n  Content-Security-Policy: {policy}\n"
    )


def written_policy(folder: Path) -> str | None:
    """The policy a build wrote into ``folder``'s ``_headers``, or None.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> written_policy(folder) is None
    True
    >>> write_headers(folder, APP_POLICY, "app")
    >>> written_policy(folder) == APP_POLICY
    True
    """
    try:
        lines = (Path(folder) / HEADERS_FILE).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    prefix = "Content-Security-Policy:"
    found = [line.split(":", 1)[1].strip() for line in lines if line.strip().startswith(prefix)]
    return found[0] if found else None


def site_policy(site: Path) -> str:
    """The policy for a built site: :data:`CONTENT_SECURITY_POLICY`, plus the origin
    of its Pyodide when the site loads Pyodide from a CDN (``--pyodide cdn``)."""
    origins: list[str] = []
    try:
        config = json.loads((Path(site) / "jupyter-lite.json").read_text())
        for settings in config["jupyter-config-data"].get("litePluginSettings", {}).values():
            url = urlparse(str(settings.get("pyodideUrl", "")))
            if url.scheme in ("http", "https") and url.netloc:
                origins.append(f"{url.scheme}://{url.netloc}")
    except (OSError, ValueError, KeyError, AttributeError):
        pass  # not a site, or no remote Pyodide named
    return content_security_policy(tuple(dict.fromkeys(origins)))


def script_hash(source: str) -> str:
    """The CSP source (``sha256-...``) that allows one inline script, as browsers hash it."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_TYPE = re.compile(r"""\btype\s*=\s*["']?([^"'\s>]+)""", re.I)
_SRC = re.compile(r"\bsrc\s*=", re.I)
_HEAD = re.compile(r"<head\b[^>]*>", re.I)
_CHARSET = re.compile(r"<meta\s+charset\b[^>]*>", re.I)
_EXECUTABLE_TYPES = ("", "module", "text/javascript", "application/javascript")


def inline_scripts(page: str) -> list[str]:
    """The inline scripts a browser would run in ``page`` (not JSON data blocks)."""
    found = []
    for attributes, body in _SCRIPT.findall(_COMMENT.sub("", page)):
        kind = _TYPE.search(attributes)
        if not _SRC.search(attributes) and (kind.group(1) if kind else "").lower() in (
            _EXECUTABLE_TYPES
        ):
            found.append(body)
    return found


def application_pages(site: Path) -> list[Path]:
    """The site's HTML pages that belong to JupyterLite (not the user's files)."""
    site = Path(site)
    return [
        path
        for path in sorted(site.rglob("*.html"))
        if path.relative_to(site).parts[0] not in USER_CONTENT
    ]


def unlisted_inline_scripts(site: Path, policy: str = CONTENT_SECURITY_POLICY) -> list[str]:
    """``page: sha256-...`` for every inline script of the site that ``policy`` forbids."""
    allowed = set(re.findall(r"'(sha256-[^']+)'", policy))
    return [
        f"{page.relative_to(site).as_posix()}: {digest}"
        for page in application_pages(site)
        for digest in map(script_hash, inline_scripts(page.read_text(encoding="utf-8")))
        if digest not in allowed
    ]


def write_csp(site: Path) -> str:
    """Protect a built site: ``_headers`` at its root, a meta tag in each of its pages.

    Raises ValueError when a page runs an inline script the policy does not allow
    (the site would not start under it). Returns the policy.
    """
    site = Path(site)
    policy = site_policy(site)
    forbidden = unlisted_inline_scripts(site, policy)
    if forbidden:
        raise ValueError(
            "JupyterLite's pages have inline scripts the Content-Security-Policy does not "
            f"allow ({'; '.join(forbidden)}): list their hashes in voxlite/builder/csp.py"
        )
    write_headers(site, policy, "site")
    content = html.escape(meta_policy(policy), quote=False)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{content}">'
    for page in application_pages(site):
        text = page.read_text(encoding="utf-8")
        if "Content-Security-Policy" in text:
            continue
        head = _HEAD.search(text)
        if head is None:
            raise ValueError(f"{page.relative_to(site)} has no <head> for the policy's meta tag")
        # First in <head>, before anything it governs; after <meta charset>, which must
        # stay in the first 1024 bytes.
        at = head.end()
        lower = text.lower()
        first_script = lower.find("<script", at)
        head_end = lower.find("</head>", at)
        charset = _CHARSET.search(text, at, head_end if head_end >= 0 else len(text))
        if charset and (first_script < 0 or charset.start() < first_script):
            at = charset.end()
        page.write_text(f"{text[:at]}\n    {meta}{text[at:]}", encoding="utf-8")
    return policy
