"""``voxlite app build``: the viewer app as a static folder, offline by default.

The folder holds the page (``index.html``, ``app.js``, ``app.css``), the Python
worker (``worker.js``), the widget's front-end bundle (``widget.js``), a Pyodide
pruned to what the app imports (``pyodide/``) with voxlite's wheel and the
pinned pure wheels of its readers listed in its lock, and demo data
(``data/``). Every URL is relative, so any static host serves it.

The build runs in a staging folder beside the output and replaces the output
with a rename only once every step has passed: a failed build leaves any
previous app as it was.
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import voxlite
from voxlite.site import sources
from voxlite.site.build import SiteReport
from voxlite.site.check import find_outside_urls
from voxlite.site.pyodide import (
    LOCK,
    DistributionError,
    Wheel,
    copy_without_tests,
    lock_entry,
    prune,
)

MARKER = ".voxlite-app"
PAGE_FILES = ("index.html", "app.js", "app.css", "worker.js")
# The pinned browser wheels the app's Python imports (voxlite's readers and theirs).
APP_WHEELS = ("nibabel", "pydicom", "pynrrd", "tifffile", "typing-extensions")
# voxlite's dependencies the app leaves out: anywidget (and with it ipywidgets, comm,
# IPython ...), since the app drives the view model (voxlite.viewmodel) without a widget.
LEFT_OUT = frozenset({"anywidget"})
# The MNI152 demo volumes inside voxlite's wheel (5 MB): the app serves them as data/.
_WHEEL_DATA = ("voxlite/data/mni152/",)
DEMO_LINKS = (
    ("MRI (NIfTI)", ("data/mni152_t1.nii.gz",)),
    ("MRI + tissue labels", ("data/mni152_t1.nii.gz", "data/mni152_tissue_labels.nii.gz")),
    ("CT phantom (DICOM)", ("data/ct_phantom_dicom/",)),
)
# In every folder of data/: the list of its files, since static hosts list no folder.
# ?url=data/folder/ opens them all (a DICOM series).
FOLDER_INDEX = "files.json"


# The app's Content-Security-Policy: scripts, styles, the worker and WebAssembly from the
# app's own folder only; connect-src also allows https: so that ?url= can open a dataset
# on another CORS-enabled host. The page carries it in a <meta> tag (which covers the page
# only); `voxlite app serve` also sends it as a header, which covers the Python worker too.
POLICY = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "connect-src 'self' https:; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "base-uri 'none'; form-action 'none'"
)
HEADER_POLICY = POLICY + "; frame-ancestors 'none'"  # not allowed in a <meta> policy


class AppError(RuntimeError):
    """The app cannot be built as asked; the message says why and what to do."""


@dataclass
class AppOptions:
    output: Path = Path("app")
    demo: bool = True  # the MNI152 MRI, its tissue labels and a DICOM CT phantom in data/
    files: list[Path] = field(default_factory=list)  # more data to serve beside the app
    pyodide: str = "offline"  # "offline" (the fetched cache), a Pyodide folder or a tarball
    voxlite_wheel: Path | None = None


@dataclass
class AppReport(SiteReport):
    """What an app build made; its summary names its few Pyodide packages."""

    KIND: ClassVar[str] = "app"

    def packages(self) -> str:
        return ", ".join(self.pyodide_packages)


def build_app(options: AppOptions, log: Callable[[str], None] = print) -> AppReport:
    """Build the app described by ``options`` into ``options.output``, atomically."""
    from voxlite.site.build import SiteError, open_distribution, replace_atomically

    started = time.monotonic()
    output = Path(options.output).resolve()
    _check_inputs(options, output)
    output.parent.mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix=f".{output.name}-building-", dir=output.parent))
    staging = holder / "app"
    steps = _Steps(log)
    try:
        staging.mkdir()
        wheels = steps.run("wheels", lambda: collect_wheels(options, holder / "wheels"))
        packages = steps.run(
            "pyodide",
            lambda: assemble_pyodide(
                open_distribution(options.pyodide, holder), wheels, staging / "pyodide"
            ),
        )
        steps.run("page", lambda: write_page(staging, demo=options.demo))
        steps.run("data", lambda: write_data(staging / "data", options))
        steps.run("verify", lambda: verify(staging))
        (staging / MARKER).write_text(f"voxlite {voxlite.__version__}\n")
        steps.run("replace", lambda: replace_atomically(staging, output))
    except SiteError as error:
        raise AppError(str(error)) from error
    finally:
        shutil.rmtree(holder, ignore_errors=True)
    total, largest = size_report(output)
    return AppReport(output, total, largest, packages, [w.name for w in wheels],
                     time.monotonic() - started)  # fmt: skip


class _Steps:
    NAMES = ("wheels", "pyodide", "page", "data", "verify", "replace")

    def __init__(self, log: Callable[[str], None]):
        self.log = log

    def run(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        self.log(f"[{self.NAMES.index(name) + 1}/{len(self.NAMES)}] {name} …")
        try:
            result = action()
        except (DistributionError, OSError, ValueError) as error:
            raise AppError(f"step '{name}' failed: {error}") from error
        self.log(f"      {name}: done in {time.monotonic() - started:.1f} s")
        return result


def _check_inputs(options: AppOptions, output: Path) -> None:
    for path in options.files:
        if not Path(path).exists():
            raise AppError(f"file not found: {path}")
    if output.exists() and not output.is_dir():
        raise AppError(f"output {output} exists and is not a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).exists():
        raise AppError(
            f"refusing to replace {output}: it is not empty and not a voxlite app "
            f"(no {MARKER} file); choose another output folder"
        )
    if not (_static_bundle() / "widget.js").exists():
        raise AppError(
            "voxlite's front-end bundle (voxlite/static/widget.js) is missing: "
            "run `npm ci && npm run build` in js/"
        )


def _static_bundle() -> Path:
    return Path(voxlite.__file__).parent / "static"


# -- steps ----------------------------------------------------------------------


def collect_wheels(options: AppOptions, folder: Path) -> list[Wheel]:
    """voxlite's wheel (built from this tree unless given) and the readers' pinned wheels."""
    from voxlite.site.build import build_voxlite_wheel

    folder.mkdir(parents=True, exist_ok=True)
    wheels = [Wheel.read(options.voxlite_wheel or build_voxlite_wheel(folder))]
    pinned = {Wheel.read(path).name: path for path in sources.locked_wheels()}
    wheels += [Wheel.read(pinned[name]) for name in APP_WHEELS]
    return wheels


def assemble_pyodide(distribution: Any, wheels: list[Wheel], target: Path) -> list[str]:
    """Pyodide pruned to what the wheels import, with the wheels listed in its lock.

    The wheels' lock entries name only dependencies the app has, so that loading
    ``voxlite`` loads exactly the app's packages; anything else is an error here,
    not a failed request in the page.
    """
    names = {wheel.name for wheel in wheels}
    roots: set[str] = set()  # no micropip: Pyodide loads everything from the lock
    for wheel in wheels:
        roots.update(d for d in wheel.runtime_dependencies() if d not in names | LEFT_OUT)
    packages = prune(distribution, sorted(roots), target)
    lock_path = target / LOCK
    lock = json.loads(lock_path.read_text())
    available = set(lock["packages"]) | names
    for wheel in wheels:
        depends = [d for d in wheel.runtime_dependencies() if d not in LEFT_OUT]
        missing = [d for d in depends if d not in available]
        if missing:
            raise DistributionError(
                f"{wheel.path.name} needs {', '.join(missing)}, which the app does not have"
            )
        copy_wheel(wheel.path, target / wheel.path.name)
        lock["packages"][wheel.name] = lock_entry(wheel, target / wheel.path.name, depends)
    lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))
    return packages


def copy_wheel(source: Path, target: Path) -> None:
    """Copy a wheel without its test suites and voxlite's demo volumes (RECORD kept valid)."""
    copy_without_tests(
        source, target, lambda name: name.startswith(_WHEEL_DATA) and name.endswith(".nii.gz")
    )


def page_defaults() -> dict[str, Any]:
    """The Viewer's initial synced state, so the page renders before Python has started."""
    from voxlite.app.browser import page_trait_names
    from voxlite.viewmodel import ViewModel

    model = ViewModel()
    return {name: getattr(model, name) for name in page_trait_names(model)}


def write_page(target: Path, demo: bool) -> None:
    """The page files, the widget bundle and its licences."""
    page = resources.files("voxlite.app").joinpath("static")
    for name in PAGE_FILES:
        text = page.joinpath(name).read_text(encoding="utf-8")
        if name == "index.html":
            text = render_index(text, demo)
        (target / name).write_text(text, encoding="utf-8")
    for name in ("widget.js", "THIRD_PARTY_LICENSES.txt"):
        if (_static_bundle() / name).exists():
            shutil.copy2(_static_bundle() / name, target / name)


def render_index(template: str, demo: bool) -> str:
    links = ""
    if demo:
        links = "".join(
            f'<a class="demo" href="?{html.escape("&".join("url=" + u for u in urls))}">'
            f"{html.escape(label)}</a>"
            for label, urls in DEMO_LINKS
        )
    defaults = json.dumps(page_defaults(), separators=(",", ":")).replace("</", "<\\/")
    return (
        template.replace("{{csp}}", html.escape(POLICY, quote=False).replace('"', "&quot;"))
        .replace("{{version}}", html.escape(voxlite.__version__))
        .replace("{{demo_links}}", links)
        .replace("{{defaults}}", defaults)
    )


def write_data(target: Path, options: AppOptions) -> None:
    """Demo data (the MRI as NIfTI with its labels, the CT phantom as DICOM) and --files."""
    target.mkdir(parents=True, exist_ok=True)
    if options.demo:
        voxlite.data.write_demo_files(target)
    for path in map(Path, options.files):
        if path.is_dir():
            shutil.copytree(path, target / path.name, dirs_exist_ok=True)
        else:
            shutil.copy2(path, target / path.name)
    write_folder_indexes(target)


def write_folder_indexes(root: Path) -> None:
    """A files.json in every folder under ``root``: its files' names, sub-folders included."""
    for folder in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        names = sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and p.name != FOLDER_INDEX
        )
        (folder / FOLDER_INDEX).write_text(json.dumps(names, indent=0))


def verify(folder: Path) -> None:
    """Every file the page needs is there, and nothing is loaded from another origin."""
    needed = [*PAGE_FILES, "widget.js", "pyodide/pyodide.mjs", "pyodide/pyodide.asm.wasm",
              f"pyodide/{LOCK}"]  # fmt: skip
    missing = [name for name in needed if not (folder / name).exists()]
    if missing:
        raise AppError(f"the app lacks {', '.join(missing)}")
    lock = json.loads((folder / "pyodide" / LOCK).read_text())["packages"]
    for name, entry in lock.items():
        if not (folder / "pyodide" / entry["file_name"]).exists():
            raise AppError(f"the app's Pyodide lists {name} but lacks {entry['file_name']}")
    outside = find_outside_urls(folder)
    if outside:
        listed = "\n".join(f"  {f}: {u}" for f, u in outside[:20])
        raise AppError(f"the app would load from other origins:\n{listed}")


def size_report(output: Path, top: int = 6) -> tuple[int, list[tuple[str, int]]]:
    sizes: dict[str, int] = {}
    total = 0
    for path in output.rglob("*"):
        if path.is_file():
            size = path.stat().st_size
            total += size
            parts = path.relative_to(output).parts
            key = "/".join(parts[:2]) if parts[0] == "pyodide" else parts[0]
            sizes[key] = sizes.get(key, 0) + size
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:top]
    return total, largest
