"""The offline zero-server site, end to end: built, served on 127.0.0.1, run in Chromium."""

import contextlib
import json
import pathlib

import nbformat
import numpy as np
import pytest

import voxlite
from tests.harness.browser import GuardedPage, canvas_pixels, wait_for_frames
from tests.harness.jupyter import wait_for_idle_kernel
from voxlite.builder.csp import CONTENT_SECURITY_POLICY, meta_policy, unlisted_inline_scripts
from voxlite.site import SiteOptions, build_site, find_outside_urls, serving
from voxlite.site.build import MARKER

pytestmark = [pytest.mark.browser, pytest.mark.slow]


CHECKS = """import importlib, json, piplite, voxlite  # preloaded: no install step
from pyodide_js import loadedPackages
readers = ("nibabel", "pydicom", "pynrrd")
result = {"voxlite": voxlite.__version__,
          "readers loaded at start": [n for n in readers if hasattr(loadedPackages, n)]}
# As voxlite's readers import them (an import statement in a cell would have the kernel
# load its package before the cell runs): unpacked from the site by voxlite.on_demand.
importlib.import_module("nibabel"), importlib.import_module("nrrd")
result["readers loaded on import"] = [n for n in ("nibabel", "pynrrd")
                                      if hasattr(loadedPackages, n)]
await piplite.install("jupyterlab-widgets")  # in the site, not preloaded
import jupyterlab_widgets
result["local install"] = jupyterlab_widgets.__version__
try:
    await piplite.install("requests")  # not in the site: PyPI is never asked
except Exception as error:
    result["requests"] = type(error).__name__
try:
    import scipy
except ModuleNotFoundError:
    result["scipy"] = "ModuleNotFoundError"
await piplite.install("tifffile")  # TIFF stacks, read by voxlite in the browser
import importlib._bootstrap_external as loading
compiled = []  # modules compiled from source here: none, the build compiled them
source_to_code = loading.SourceLoader.source_to_code
loading.SourceLoader.source_to_code = lambda self, data, path, **k: (
    compiled.append(path), source_to_code(self, data, path, **k))[1]
import numpy as np, tifffile
loading.SourceLoader.source_to_code = source_to_code
result["compiled in the browser"] = compiled
tifffile.imwrite("stack.tif", np.arange(24, dtype=np.uint16).reshape(2, 3, 4), imagej=True,
                 metadata={"axes": "ZYX"})  # a Z stack (without axes: ImageJ channels)
result["tiff"] = list(voxlite.read_image("stack.tif").shape)
print("CHECKS=" + json.dumps(result))
"""


# A gallery notebook that fits Pyodide (pydicom, ipywidgets): run as it is in the site.
GALLERY = pathlib.Path(__file__).parents[2] / "examples"
OPEN = "import voxlite\nvoxlite.view(voxlite.data.ct_phantom((32, 28, 28)), height=400)"

# 512³ uint16 (256 MB) in Pyodide's heap, shown from a 128³ preview, then a 256³ level.
LARGE = """import numpy as np, voxlite
vol = np.empty((512, 512, 512), np.uint16)
y, x = np.ogrid[:512, :512]
for k in range(512):
    vol[k] = ((x - 256) ** 2 + (y - 256) ** 2 + (k - 256) ** 2 < 150**2) * 1000 + (x % 4 == 0) * 600
voxlite.view(vol, mode="mip", height=400, ui_collapsed=True)
"""

# Three channels, a blob in each, shown red, green and blue in one axial view: the image
# kinds go through Pyodide's Python as through CPython's.
KINDS = """import numpy as np, voxlite
z, y, x = np.ogrid[:16, :64, :64]
blob = lambda cy, cx: ((y - cy) ** 2 + (x - cx) ** 2 < 64) * (z >= 0) * 1000.0
stack = np.stack([blob(16, 16), blob(16, 48), blob(48, 32)], axis=-1).astype(np.float32)
viewer = voxlite.view(stack, views="axial", ui_collapsed=True, height=400,
                      channel_names=["r", "g", "b"])
viewer.channels = [dict(c, color=color) for c, color in
                   zip(viewer.channels, ["#ff0000", "#00ff00", "#0000ff"])]
viewer
"""


def write_notebook(path, *cells):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def offline_site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    notebooks = [write_notebook(folder / "checks.ipynb", CHECKS),
                 write_notebook(folder / "open.ipynb", OPEN),
                 write_notebook(folder / "large.ipynb", LARGE),
                 write_notebook(folder / "kinds.ipynb", KINDS),
                 GALLERY / "dicom_study.ipynb"]  # fmt: skip
    output = folder / "_output"
    options = SiteOptions(output=output, notebooks=notebooks)
    report = build_site(options, log=lambda line: None)
    assert report.total_bytes > 0
    return output


# Every violation of the page's Content-Security-Policy, as the page sees it.
RECORD_VIOLATIONS = """window.voxliteCspViolations = [];
addEventListener('securitypolicyviolation', (event) => window.voxliteCspViolations.push(
    `${event.effectiveDirective} ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`));
"""


@contextlib.contextmanager
def policed_page(site, browser, viewport=(1280, 900), allowed_errors=()):
    """A page on the site served with its Content-Security-Policy, enforced (no bypass).

    Yields (guarded page, url, violations): the page's own violation events (read on
    leaving) and the reports of the page and of its workers, which the server collects.
    """
    reports: list[dict] = []
    violations: list = []
    guarded_page = GuardedPage(
        browser, viewport=viewport, bypass_csp=False, allowed_errors=allowed_errors
    )
    with guarded_page as guarded, serving(site, reports=reports) as url:
        guarded.context.add_init_script(RECORD_VIOLATIONS)
        try:
            yield guarded, url, violations
        finally:  # also when the test failed: the violations may say why
            with contextlib.suppress(Exception):  # the page may be gone
                violations.extend(guarded.page.evaluate("window.voxliteCspViolations"))
                guarded.page.wait_for_timeout(500)  # reports are posted asynchronously
            violations.extend(
                f"reported: {r.get('effective-directive')} {r.get('blocked-uri')} "
                f"({r.get('source-file')}:{r.get('line-number')}) in {r.get('document-uri')}"
                for r in reports
            )
            if violations:
                print("Content-Security-Policy violations:", *violations, sep="\n  ")


@contextlib.contextmanager
def notebook_page(site, browser, notebook, run_all=True, viewport=(1280, 900), allowed_errors=()):
    """``notebook`` open in the site served on 127.0.0.1 with its Content-Security-Policy
    enforced, its kernel idle (and its cells run).

    On leaving, the page must have made no request to another host, logged no error, and
    neither the page nor its workers may have violated the policy.
    """
    with policed_page(site, browser, viewport, allowed_errors) as (guarded, url, violations):
        response = guarded.page.goto(f"{url}/lab/index.html?path={notebook}")
        assert response.headers["content-security-policy"].startswith(CONTENT_SECURITY_POLICY)
        wait_for_idle_kernel(guarded.page)
        if run_all:
            guarded.page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        yield guarded.page
    assert violations == [], f"Content-Security-Policy violations: {violations}"


def test_offline_site_names_no_other_origin(offline_site):
    assert find_outside_urls(offline_site) == []


def test_offline_site_carries_its_content_security_policy(offline_site):
    headers = (offline_site / "_headers").read_text()
    assert f"Content-Security-Policy: {CONTENT_SECURITY_POLICY}\n" in headers
    meta = meta_policy(CONTENT_SECURITY_POLICY)
    tag = f'<meta http-equiv="Content-Security-Policy" content="{meta}">'
    pages = {
        page.relative_to(offline_site).as_posix(): page.read_text()
        for page in offline_site.rglob("*.html")
        if page.relative_to(offline_site).parts[0] != "files"
    }
    assert {"index.html", "lab/index.html"} <= set(pages)
    assert [name for name, text in pages.items() if tag not in text] == []
    assert unlisted_inline_scripts(offline_site) == []


def test_a_violation_of_the_policy_is_seen_in_pages_and_workers(browser, tmp_path):
    """The detector the site tests rely on: violations in a page and in its worker count."""
    (tmp_path / MARKER).write_text("a voxlite site: served with the policy\n")
    (tmp_path / "index.html").write_text("<!doctype html><title>probe</title>")
    (tmp_path / "worker.js").write_text("importScripts('data:text/javascript,1');")
    # The page logs the refusals it is made to cause.
    expected = ("Content Security Policy", "importScripts")
    with policed_page(tmp_path, browser, allowed_errors=expected) as (guarded, url, violations):
        guarded.page.goto(f"{url}/index.html")
        guarded.page.evaluate(
            """() => new Promise((done) => {
                const inline = document.createElement('script');
                inline.textContent = 'window.ran = true';  // no hash allows it
                document.head.append(inline);
                const worker = new Worker('worker.js');  // its importScripts is refused
                worker.onerror = () => done();
                setTimeout(done, 5000);
            })"""
        )
        assert guarded.page.evaluate("window.ran") is None
    assert any(v.startswith("script-src-elem inline") for v in violations), violations
    assert any(v.startswith("reported: script-src-elem inline") for v in violations), violations
    assert any(
        v.startswith("reported: ") and " data " in v and v.endswith("/worker.js")
        for v in violations
    ), violations


def test_hello3dworld_renders_under_the_csp_with_zero_outside_requests(offline_site, browser):
    with notebook_page(offline_site, browser, "Hello3DWorld.ipynb", viewport=(1280, 1000)) as page:
        ct = page.locator(".voxlite-root").first
        ct.wait_for(timeout=180_000)
        wait_for_frames(page, 1)
        page.wait_for_function(
            "() => document.querySelectorAll('.voxlite-root').length >= 2",
            timeout=180_000,
        )
        ct.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        first = canvas_pixels(page, "site-ct")
        assert (first.max(axis=2) > 60).sum() > 2000, "the CT phantom is rendered"

        # A change in the widget's own panel re-renders with other colours.
        frames = int(ct.get_attribute("data-voxlite-frames"))
        ct.locator("[data-control=cmap]").select_option("hot")
        wait_for_frames(page, frames + 1)
        page.wait_for_timeout(500)
        recoloured = canvas_pixels(page, "site-ct-hot")
        assert np.abs(recoloured - first).mean() > 1.0

        brain = page.locator(".voxlite-root").nth(1)
        brain.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => Number(document.querySelectorAll('.voxlite-root')[1]"
            "?.dataset.voxliteFrames || 0) >= 1",
            timeout=120_000,
        )
        page.wait_for_timeout(1000)
        pixels = canvas_pixels(page, "site-mri", selector=".voxlite-canvas >> nth=1")
        assert (pixels.max(axis=2) > 40).sum() > 3000, "the MNI brain is rendered"

        # The same brain read from the site's NIfTI files by Python in the page,
        # and the CT phantom read from its DICOM series.
        page.wait_for_function(
            "() => Number(document.querySelectorAll('.voxlite-root')[2]"
            "?.dataset.voxliteFrames || 0) >= 1",
            timeout=120_000,
        )
        page.locator(".voxlite-root").nth(2).scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        from_files = canvas_pixels(page, "site-files", selector=".voxlite-canvas >> nth=2")
        assert (from_files.max(axis=2) > 40).sum() > 3000, "the NIfTI files are rendered"
        dicom = page.locator(".jp-OutputArea-output", has_text="aortic stent graft")
        assert dicom.count() >= 1, "the DICOM series was read in the browser"


def test_a_512_cubed_volume_shows_coarse_then_refined_in_pyodide(offline_site, browser):
    with notebook_page(offline_site, browser, "large.ipynb") as page:
        page.wait_for_function(
            "() => { const r = document.querySelector('.voxlite-root');"
            " return r && r.dataset.voxliteLevel === 'refined' && !r.dataset.voxliteLoading; }",
            timeout=300_000,
        )
        received = page.evaluate(
            "performance.getEntriesByName('voxlite:image-received').map((m) => m.detail)"
        )
        assert [(m["level"], m["shape"]) for m in received] == [
            ("preview", [128, 128, 128]),
            ("refined", [256, 256, 256]),
        ]
        page.wait_for_timeout(1000)
        pixels = canvas_pixels(page, "site-512")
        assert (pixels.max(axis=2) > 60).sum() > 2000, "the refined level is rendered"


def test_packages_install_from_the_site_and_nothing_else(offline_site, browser):
    with notebook_page(offline_site, browser, "checks.ipynb") as page:
        output = page.locator(".jp-OutputArea-output", has_text="CHECKS=").first
        output.wait_for(timeout=120_000)
        result = json.loads(output.inner_text().split("CHECKS=", 1)[1])
    assert result == {
        "voxlite": voxlite.__version__,
        "readers loaded at start": [],
        "readers loaded on import": ["nibabel", "pynrrd"],
        "local install": "3.0.15",
        "requests": "PiplitePyPIDisabled",
        "scipy": "ModuleNotFoundError",
        "tiff": [2, 3, 4],
        "compiled in the browser": [],
    }


def test_local_files_open_in_the_browser_and_never_leave_it(offline_site, browser, tmp_path):
    files = voxlite.data.write_demo_files(tmp_path)
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"\x1f\x8b this is not a NIfTI file")
    with notebook_page(
        offline_site, browser, "open.ipynb", allowed_errors=("broken.nii.gz",)
    ) as page:
        wait_for_frames(page, 1)
        root = page.locator(".voxlite-root").first
        picker = root.locator("[data-control=open-input]")

        # The viewer's Open control: one NIfTI file.
        picker.set_input_files(str(files["mri"]))
        info = root.locator(".voxlite-info")
        info.filter(has_text="mni152_t1.nii.gz").wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        pixels = canvas_pixels(page, "site-open-nifti")
        assert (pixels.max(axis=2) > 40).sum() > 3000

        # A corrupt file: an error in the widget, and the viewer keeps working.
        picker.set_input_files(str(broken))
        root.locator(".voxlite-message", has_text="broken.nii.gz").wait_for(timeout=60_000)
        picker.set_input_files(sorted(str(p) for p in files["ct_dicom"].iterdir()))
        info.filter(has_text="aortic stent graft").wait_for(timeout=60_000)
        assert root.get_attribute("data-voxlite-state") == "ready"


def test_a_file_uploaded_to_the_file_browser_opens_by_name(offline_site, browser, tmp_path):
    mri = voxlite.write_image(voxlite.data.mri(), tmp_path / "my_scan.nii.gz")
    with notebook_page(offline_site, browser, "open.ipynb", run_all=False) as page:
        page.evaluate("window.jupyterapp.commands.execute('filebrowser:activate')")
        with page.expect_file_chooser() as chooser:
            page.locator(".jp-FileBrowser").get_by_title("Upload Files").first.click()
        chooser.value.set_files(str(mri))
        page.locator(".jp-DirListing-item", has_text="my_scan.nii.gz").wait_for()
        page.evaluate(
            """() => {
                const notebook = window.jupyterapp.shell.currentWidget.content;
                notebook.model.sharedModel.insertCells(0, [{cell_type: 'code',
                    source: 'import voxlite\\nvoxlite.view("my_scan.nii.gz", mode="mip")'}]);
                notebook.activeCellIndex = 0;
            }"""
        )
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-cell')")
        root = page.locator(".voxlite-root").first
        root.locator(".voxlite-info", has_text="my_scan.nii.gz").wait_for(timeout=60_000)
        wait_for_frames(page, 1)
        page.wait_for_timeout(1000)
        assert (canvas_pixels(page, "site-upload").max(axis=2) > 40).sum() > 3000


def test_a_gallery_notebook_runs_in_the_site(offline_site, browser):
    # examples/dicom_study.ipynb: a study written and read back, series by series, in Pyodide.
    with notebook_page(offline_site, browser, "dicom_study.ipynb") as page:
        page.locator(".voxlite-root").first.wait_for(timeout=180_000)
        page.locator(".jp-OutputArea-output", has_text="T1 brain: (").wait_for(timeout=180_000)
        wait_for_frames(page, 1)
        page.locator(".voxlite-root").first.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        pixels = canvas_pixels(page, "site-gallery-dicom")
        assert (pixels.max(axis=2) > 60).sum() > 2000, "the study's CT is rendered"


def test_a_channel_image_shows_each_channel_in_its_colour_in_the_site(offline_site, browser):
    """A 3-channel volume made in Pyodide: each blob in its channel's colour."""
    with notebook_page(offline_site, browser, "kinds.ipynb") as page:
        page.locator(".voxlite-root[data-voxlite-kind]").first.wait_for(timeout=300_000)
        page.wait_for_timeout(1500)
        pixels = canvas_pixels(page, "site-kinds").astype(int)
        red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        for name, (main, others) in {
            "red": (red, green + blue),
            "green": (green, red + blue),
            "blue": (blue, red + green),
        }.items():
            assert ((main > 150) & (others < 60)).sum() > 200, f"no {name} blob on the canvas"
