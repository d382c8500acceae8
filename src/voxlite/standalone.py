"""One self-contained HTML file that shows a viewer with no kernel and no network.

The page carries the widget's front-end bundle, its state and its voxels
(base64); the bundle's own ``createLocalModel`` stands in for the anywidget model.
A Content-Security-Policy in the page forbids every request, so it shows the same
view from a file, an e-mail attachment or any static host, and cannot leak anything.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

# Nothing may be fetched (but a stream); the bundle runs from a blob: URL made in the page.
from voxlite.builder.csp import standalone_policy
from voxlite.io import atomic_target

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body style="margin:0; background:#fff">
<div id="voxlite" style="width:{width}"></div>
<script type="application/json" id="voxlite-bundle">{bundle}</script>
<script type="application/json" id="voxlite-state">{state}</script>
<script type="module">
const read = (id) => JSON.parse(document.getElementById(id).textContent);
const url = URL.createObjectURL(new Blob([read('voxlite-bundle')], {{ type: 'text/javascript' }}));
const {{ default: widget, createLocalModel }} = await import(url);
const {{ state, buffers }} = read('voxlite-state');
for (const {{ path, data }} of buffers) {{
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  let target = state;
  for (const key of path.slice(0, -1)) target = target[key];
  target[path[path.length - 1]] = new DataView(bytes.buffer);
}}
const saved = [];
const sent = [];
const model = createLocalModel(state, {{
  send: (content, buffers) => sent.push({{ content, buffers }}),
  // What the view would send to Python: its public traits (not the data), as they are now.
  save: (_changes, all) => {{
    const traits = Object.entries(all).filter(([key]) => !key.startsWith('_'));
    saved.push(structuredClone(Object.fromEntries(traits)));
  }},
}});
// Exposed for scripting and tests: the model, and what the view saved or sent.
const el = document.getElementById('voxlite');
window.voxlite = {{ model, saved, sent, cleanup: widget.render({{ model, el }}) }};
</script>
</body>
</html>
"""


def json_in_html(value: Any) -> str:
    """JSON safe inside a <script> element, whatever its strings hold.

    The HTML parser reads a script's text in states that ``</script``, ``<!--`` and
    ``<script`` all change (a ``<!--<script>`` in a name swallows the rest of the
    page); JSON needs ``<`` only inside strings, where ``\\u003c`` means the same.
    """
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def standalone_html(
    state: dict[str, Any], bundle: str, title: str = "voxlite", width: str = "100%"
) -> str:
    """The page for a widget ``state`` (as ``Widget.get_state()`` gives it) and its bundle.

    A streamed image (``_stream``) is streamed by the page too: its policy allows the
    stream's origin (an absolute URL's; a relative one, none: such a page shows nothing
    opened from a file), and nothing else.
    """
    from ipywidgets.widgets.widget import _remove_buffers

    state = {key: value for key, value in state.items() if key not in ("_esm", "_css")}
    state, paths, buffers = _remove_buffers(state)
    document = {
        "state": state,
        "buffers": [
            {"path": path, "data": base64.b64encode(bytes(buffer)).decode("ascii")}
            for path, buffer in zip(paths, buffers, strict=True)
        ],
    }
    return _PAGE.format(
        csp=standalone_policy(_stream_origin(state)),
        title=html.escape(title),
        width=html.escape(width),
        bundle=json_in_html(bundle),
        state=json_in_html(document),
    )


def _stream_origin(state: dict[str, Any]) -> str | None:
    url = urlparse(str((state.get("_stream") or {}).get("url", "")))
    if not state.get("_stream"):
        return None
    return f"{url.scheme}://{url.netloc}" if url.scheme in ("http", "https") else "'self'"


def write_standalone(path: Path, state: dict[str, Any], bundle: str, **options: Any) -> Path:
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder {path.parent} does not exist")
    text = standalone_html(state, bundle, **options)
    with atomic_target(path) as temporary:  # a failed write never leaves half a page behind
        temporary.write_text(text, encoding="utf-8")
    return path
