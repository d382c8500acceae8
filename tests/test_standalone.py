"""Saved pages (save_html): the embedded data stays data, whatever text it holds."""

import html.parser
import json

import numpy as np
import pytest

import voxlite
from voxlite.standalone import standalone_html

# Each changes the HTML parser's script-data state if it reaches the page as it is.
SCRIPT_STATES = [
    "</script>",
    "</SCRIPT >",
    "<!--",
    "<!--<script>",
    "<!--<script></script>-->",
    "<script>",
    "-->",
    "<\u2028/script>",
]


class Scripts(html.parser.HTMLParser):
    """The text of each <script> element, as a browser's parser splits the page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[list[str]] = []
        self.inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.inside = True
            self.scripts.append([dict(attrs).get("id") or dict(attrs).get("type"), ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.scripts[-1][1] += data


@pytest.mark.parametrize("text", SCRIPT_STATES)
def test_any_text_in_the_state_stays_inside_its_script(text):
    state = {"_image": {"name": text}, "cmap": "grayscale", "extra": [text, {text: text}]}
    page = standalone_html(state, bundle=f"export default {{}}; // {text}", title=text)
    parser = Scripts()
    parser.feed(page)
    assert [kind for kind, _ in parser.scripts] == ["voxlite-bundle", "voxlite-state", "module"]
    scripts = dict(parser.scripts)
    assert json.loads(scripts["voxlite-bundle"]).endswith(text)
    document = json.loads(scripts["voxlite-state"])
    assert document["state"]["_image"]["name"] == text
    assert document["state"]["extra"] == [text, {text: text}]
    assert "<" not in scripts["voxlite-state"] + scripts["voxlite-bundle"]


def test_a_hostile_image_name_is_saved_as_data(tmp_path):
    image = voxlite.Image(np.zeros((4, 4, 4), np.uint8), name="<!--<script>")
    path = voxlite.view(image).save_html(tmp_path / "view.html")
    parser = Scripts()
    parser.feed(path.read_text())
    assert len(parser.scripts) == 3
    assert json.loads(dict(parser.scripts)["voxlite-state"])["state"]["_image"]["name"] == (
        "<!--<script>"
    )
