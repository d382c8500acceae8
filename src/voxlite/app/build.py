"""``voxlite app build``: the viewer app as a static folder, offline by default.

The folder holds the page (``index.html``, ``app.js``, ``app.css``), the Python
worker (``worker.js``), the widget's front-end bundle (``widget.js``), a Pyodide
pruned to what the app imports (``pyodide/``) with voxlite's wheel and the
pinned pure wheels of its readers listed in its lock, demo data (``data/``) and
its Content-Security-Policy (``_headers``). Every URL is relative, so any
static host serves it.

One target of voxlite's build (:mod:`voxlite.builder`): its :data:`STEPS` run in
a staging folder beside the output, which replaces the output with a rename
only once every step has passed: a failed build leaves any previous app as it was.
"""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import voxlite
from voxlite import on_demand
from voxlite.app.browser import page_trait_names
from voxlite.builder.bytecode import compile_distribution
from voxlite.builder.csp import APP_POLICY as HEADER_POLICY
from voxlite.builder.csp import meta_policy, write_headers
from voxlite.builder.files import Selection, log_skipped, publish_files
from voxlite.builder.report import BuildReport
from voxlite.builder.run import REPLACE, BuildOptions, BuildState, build_target, check_paths
from voxlite.builder.steps import BuildError, Step, Target
from voxlite.builder.wheel import build_voxlite_wheel, is_demo_volume
from voxlite.site import sources
from voxlite.site.build import open_distribution
from voxlite.site.check import find_outside_urls
from voxlite.site.pyodide import (
    LOCK,
    DistributionError,
    Wheel,
    copy_without_tests,
    lock_entry,
    prune,
)
from voxlite.standalone import json_in_html
from voxlite.viewmodel import ViewModel

MARKER = ".voxlite-app"
PAGE_FILES = ("index.html", "app.js", "app.css", "worker.js")
# The pinned browser wheels the app's Python imports (voxlite's readers and theirs).
APP_WHEELS = ("nibabel", "pydicom", "pynrrd", "tifffile", "typing-extensions")
# The readers' packages: in the app's lock with their dependencies, but loading `voxlite`
# does not load them (its lock entry leaves them out), so the app is ready sooner; each is
# unpacked on its first import (voxlite.on_demand), the worker warming up the common ones.
ON_DEMAND = tuple(name for name in APP_WHEELS if name in on_demand.PACKAGES.values())
# voxlite's dependencies the app leaves out: anywidget (and with it ipywidgets, comm,
# IPython ...), since the app drives the view model (voxlite.viewmodel) without a widget.
LEFT_OUT = frozenset({"anywidget"})
DEMO_LINKS = (
    ("MRI (NIfTI)", ("data/mni152_t1.nii.gz",)),
    ("MRI + tissue labels", ("data/mni152_t1.nii.gz", "data/mni152_tissue_labels.nii.gz")),
    ("CT phantom (DICOM)", ("data/ct_phantom_dicom/",)),
)
# In every folder of data/: the list of its files, since static hosts list no folder.
# ?url=data/folder/ opens them all (a DICOM series).
FOLDER_INDEX = "files.json"
# The page's <meta> policy; `_headers` has the whole one (HEADER_POLICY, voxlite.builder.csp).
POLICY = meta_policy(HEADER_POLICY)


class AppError(BuildError):
    """The app cannot be built as asked; the message says why and what to do."""


APP = Target("app", MARKER, AppError, names_packages=True)
AppReport = BuildReport  # what build_app returns


@dataclass(kw_only=True)
class AppOptions(BuildOptions):
    """What goes into the app: :class:`~voxlite.builder.run.BuildOptions`; ``files`` are
    served beside it in ``data/``, and ``demo`` adds the MNI152 MRI, its tissue labels and a
    DICOM CT phantom there. ``pyodide`` cannot be "cdn".

    Examples
    --------
    >>> AppOptions(demo=False).output
    PosixPath('app')
    """

    output: Path = Path("app")


def build_app(options: AppOptions, log: Callable[[str], None] = print) -> BuildReport:
    """Build the app described by ``options`` into ``options.output``, atomically.

    Example (needs ``voxlite site fetch`` once)::

        print(build_app(AppOptions(output=Path("app"))).summary())
    """
    _check_inputs(options)
    return build_target(APP, STEPS, BuildState, options, log)


def _check_inputs(options: AppOptions) -> None:
    check_paths(APP, "file", options.files)
    if not (_static_bundle() / "widget.js").exists():
        raise AppError(
            "voxlite's front-end bundle (voxlite/static/widget.js) is missing: "
            "run `npm ci && npm run build` in js/"
        )


def _static_bundle() -> Path:
    return Path(voxlite.__file__).parent / "static"


# -- steps ----------------------------------------------------------------------


def _wheels(state: BuildState) -> None:
    state.wheels = collect_wheels(state.options, state.staged.scratch / "wheels")


def _pyodide(state: BuildState) -> None:
    distribution = open_distribution(state.options.pyodide, state.staged.scratch)
    target = state.staged.staging / "pyodide"
    state.pyodide_packages = assemble_pyodide(distribution, state.wheels, target)
    compile_distribution(target, LOCK, sources.bytecode_cache(), state.log)


def _page(state: BuildState) -> None:
    write_page(state.staged.staging, demo=state.options.demo)


def _data(state: BuildState) -> None:
    log_skipped(write_data(state.staged.staging / "data", state.options), state.log)


def _verify(state: BuildState) -> None:
    verify(state.staged.staging)


STEPS = (
    Step("wheels", _wheels),
    Step("pyodide", _pyodide),
    Step("page", _page),
    Step("data", _data),
    Step("verify", _verify),
    REPLACE,
)


def collect_wheels(options: AppOptions, folder: Path) -> list[Wheel]:
    """voxlite's wheel (built from this tree unless given) and the readers' pinned wheels."""
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
        if wheel.name == "voxlite":
            depends = [d for d in depends if d not in ON_DEMAND]
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
    copy_without_tests(source, target, is_demo_volume)


def page_defaults() -> dict[str, Any]:
    """The Viewer's initial synced state, so the page renders before Python has started."""
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
    write_headers(target, HEADER_POLICY, "app")  # what `voxlite app serve` sends


def render_index(template: str, demo: bool) -> str:
    links = ""
    if demo:
        links = "".join(
            f'<a class="demo" href="?{html.escape("&".join("url=" + u for u in urls))}">'
            f"{html.escape(label)}</a>"
            for label, urls in DEMO_LINKS
        )
    defaults = json_in_html(page_defaults())
    return (
        template.replace("{{csp}}", html.escape(POLICY, quote=False).replace('"', "&quot;"))
        .replace("{{version}}", html.escape(voxlite.__version__))
        .replace("{{demo_links}}", links)
        .replace("{{defaults}}", defaults)
    )


def write_data(target: Path, options: AppOptions) -> Selection:
    """Demo data (the MRI as NIfTI with its labels, the CT phantom as DICOM) and --files.

    Returns what was copied of ``options.files`` (and what was left out).
    """
    target.mkdir(parents=True, exist_ok=True)
    if options.demo:
        voxlite.data.write_demo_files(target)
    selection = publish_files(options.files, target, options.max_files_bytes)
    write_folder_indexes(target)
    return selection


def write_folder_indexes(root: Path) -> None:
    """A files.json in every folder under ``root``: its files, sub-folders included.

    Each entry is the file's path relative to the folder as a percent-encoded relative
    URL (``sub/IM%201.dcm``), so that the page resolves every entry inside the folder:
    a file named ``https:evil.example`` is ``https%3Aevil.example``, not another origin.
    """
    for folder in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        names = sorted(
            quote(p.relative_to(folder).as_posix())
            for p in folder.rglob("*")
            if p.is_file() and p.name != FOLDER_INDEX
        )
        (folder / FOLDER_INDEX).write_text(json.dumps(names, indent=0))


def verify(folder: Path) -> None:
    """Every file the page needs is there, every package of the lock can load with its
    dependencies (the on-demand readers included), and nothing is loaded from another origin.
    """
    needed = [*PAGE_FILES, "widget.js", "_headers", "pyodide/pyodide.mjs",
              "pyodide/pyodide.asm.wasm", f"pyodide/{LOCK}"]  # fmt: skip
    missing = [name for name in needed if not (folder / name).exists()]
    if missing:
        raise AppError(f"the app lacks {', '.join(missing)}")
    lock = json.loads((folder / "pyodide" / LOCK).read_text())["packages"]
    absent = [name for name in ("voxlite", *ON_DEMAND) if name not in lock]
    if absent:
        raise AppError(f"the app's Pyodide does not list {', '.join(absent)}")
    for name, entry in lock.items():
        if not (folder / "pyodide" / entry["file_name"]).exists():
            raise AppError(f"the app's Pyodide lists {name} but lacks {entry['file_name']}")
        unlisted = [d for d in entry.get("depends", []) if d not in lock]
        if unlisted:
            raise AppError(f"{name} in the app's Pyodide needs {', '.join(unlisted)}, not there")
    outside = find_outside_urls(folder)
    if outside:
        listed = "\n".join(f"  {f}: {u}" for f, u in outside[:20])
        raise AppError(f"the app would load from other origins:\n{listed}")
