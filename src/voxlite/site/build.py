"""``voxlite site build``: a static, zero-server JupyterLite site that renders 3D offline.

One target of voxlite's build (:mod:`voxlite.builder`): its steps, in
:data:`STEPS`, assemble a JupyterLite folder in the build's scratch folder and
run ``jupyter lite build`` into its staging folder, which replaces the output
only once every step has passed, so a failed build leaves any previous site
untouched.
"""

from __future__ import annotations

import json
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from packaging.version import Version

import voxlite
from voxlite import on_demand
from voxlite.builder.bytecode import compile_distribution
from voxlite.builder.csp import write_csp
from voxlite.builder.files import Selection, log_skipped, publish_files, select_files
from voxlite.builder.process import run_python_module
from voxlite.builder.report import BuildReport
from voxlite.builder.run import REPLACE, BuildOptions, BuildState, build_target, check_paths
from voxlite.builder.steps import BuildError, Step, Target
from voxlite.builder.wheel import build_voxlite_wheel, is_demo_volume
from voxlite.site import sources
from voxlite.site.check import find_outside_urls
from voxlite.site.pyodide import (
    KERNEL_PACKAGES,
    LOCK,
    Distribution,
    Wheel,
    add_wheels,
    lock_entry,
    prune,
    write_wheel,
)

MARKER = ".voxlite-site"
DEMO_NOTEBOOK = "Hello3DWorld.ipynb"
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
# JupyterLab extensions the site needs from the build environment.
LAB_EXTENSIONS = (
    "@jupyterlite/pyodide-kernel-extension",
    "@jupyter-widgets/jupyterlab-manager",
    "anywidget",
)
# The kernel's own wheels (shipped in its JupyterLab extension). Listed in the site's
# Pyodide lock and preloaded, Pyodide fetches them in parallel at start-up instead of
# the kernel installing them one by one through micropip.
KERNEL_WHEELS = ("ipykernel", "piplite", "pyodide-kernel", "widgetsnbextension")
PYODIDE_KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
APPS = ("lab", "notebook")
SETTINGS_OVERRIDES = {
    # Windowed notebooks detach the outputs scrolled out of view, WebGL canvases
    # included; render every cell instead.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    # No news feed to fetch from another origin.
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"},
}


class SiteError(BuildError):
    """A site cannot be built as asked; the message says why and what to do."""


SITE = Target("site", MARKER, SiteError)
SiteReport = BuildReport  # what build_site returns


@dataclass(kw_only=True)
class SiteOptions(BuildOptions):
    """What goes into a site (see :class:`~voxlite.builder.run.BuildOptions` for the rest).

    Parameters
    ----------
    notebooks : list of Path
        Notebooks, or folders of them, besides the demo.
    requirements : list of str
        Pyodide packages the notebooks import.
    wheels : list of Path
        Pure-Python wheels to add.
    preload : tuple of str
        Packages the kernel loads at start-up, so that importing them needs no install.

    Examples
    --------
    >>> SiteOptions(notebooks=[Path("analysis.ipynb")]).output
    PosixPath('_output')
    """

    output: Path = Path("_output")
    notebooks: list[Path] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    wheels: list[Path] = field(default_factory=list)
    preload: tuple[str, ...] = ("voxlite",)


@dataclass
class _SiteState(BuildState):
    @property
    def offline(self) -> bool:
        return self.options.pyodide != "cdn"

    @property
    def lite_dir(self) -> Path:
        return self.staged.scratch / "lite"


def build_site(options: SiteOptions, log: Callable[[str], None] = print) -> BuildReport:
    """Build a site as described by ``options``; see :class:`SiteOptions`.

    Example (needs `voxlite site fetch` once)::

        build_site(SiteOptions(output=Path("_output"), notebooks=[Path("analysis.ipynb")]))
    """
    _check_inputs(options)
    return build_target(SITE, STEPS, _SiteState, options, log)


def _check_inputs(options: SiteOptions) -> None:
    check_paths(SITE, "notebook", options.notebooks)
    check_paths(SITE, "file", options.files)
    check_paths(SITE, "wheel", options.wheels)
    for notebook in options.notebooks:
        if Path(notebook).is_file() and Path(notebook).suffix != ".ipynb":
            raise SiteError(f"not a notebook (.ipynb): {notebook}")


# -- steps ----------------------------------------------------------------------


def _wheels(state: _SiteState) -> None:
    state.wheels = collect_wheels(state.options, state.staged.scratch / "wheels")


def _pyodide(state: _SiteState) -> None:
    target = state.lite_dir / "static" / "pyodide"
    state.pyodide_packages = assemble_pyodide(
        state.options, state.wheels, target, state.staged.scratch
    )
    compile_distribution(target, LOCK, sources.bytecode_cache(), state.log)


def _contents(state: _SiteState) -> None:
    log_skipped(write_contents(state.options, state.lite_dir / "files"), state.log)


def _config(state: _SiteState) -> None:
    write_config(state.lite_dir, state.wheels, state.offline, state.options.preload)


def _jupyterlite(state: _SiteState) -> None:
    run_jupyterlite(state.lite_dir, state.staged.staging)


def _fonts(state: _SiteState) -> None:
    drop_font_fallbacks(state.staged.staging / "build")


def _csp(state: _SiteState) -> None:
    # _headers and a meta tag in each page: docs/site.md, "Content-Security-Policy".
    write_csp(state.staged.staging)


def _verify(state: _SiteState) -> None:
    verify(state.staged.staging, offline=state.offline)


STEPS = (
    Step("wheels", _wheels),
    Step("pyodide", _pyodide, applies=lambda state: state.offline),
    Step("contents", _contents),
    Step("config", _config),
    Step("jupyter lite build", _jupyterlite),
    Step("font fallbacks", _fonts),
    Step("content security policy", _csp),
    Step("verify", _verify),
    REPLACE,
)


def collect_wheels(options: SiteOptions, folder: Path) -> list[Wheel]:
    """voxlite (from this source tree), its pinned browser dependencies, the user's wheels."""
    folder.mkdir(parents=True)
    voxlite_wheel = options.voxlite_wheel or build_voxlite_wheel(folder)
    wheels = [Wheel.read(voxlite_wheel)]
    wheels += [Wheel.read(path) for path in sources.locked_wheels()]
    wheels += [Wheel.read(path) for path in options.wheels]
    names = [wheel.name for wheel in wheels]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SiteError(f"more than one wheel for {', '.join(duplicates)}")
    return wheels


def assemble_pyodide(
    options: SiteOptions, wheels: list[Wheel], target: Path, scratch: Path
) -> list[str]:
    """A pruned Pyodide that also lists the site's wheels, so it can preload them."""
    distribution = open_distribution(options.pyodide, scratch)
    wheels = [*wheels, *kernel_wheels()]
    wheel_names = {wheel.name for wheel in wheels}
    roots: set[str] = set()
    for wheel in wheels:  # Pyodide packages the wheels import (numpy, traitlets, ...)
        roots.update(d for d in wheel.runtime_dependencies() if d not in wheel_names)
    for requirement in options.requirements:
        name = requirement_in_distribution(requirement, distribution, wheel_names)
        if name:
            roots.add(name)
    tls = bool(set(distribution.closure(roots)) & {"ssl", "openssl"})
    names = prune(distribution, sorted(roots | set(KERNEL_PACKAGES)), target)
    # A demo site serves the MNI152 volumes in files/data: not a second time in voxlite's wheel.
    add_wheels(target, wheels, is_demo_volume if options.demo else lambda name: False)
    defer_readers(target / LOCK)
    if not tls:  # nothing of the site's asks for ssl: the kernel's preload of it costs seconds
        without_tls(target)
        names = [name for name in names if name != "openssl"]
    return names


NO_TLS_VERSION = "0+voxlite.no.tls"
NO_TLS_MODULE = (
    '"""Left out of this offline site (it talks to no other host): no TLS here."""\n'
    "raise ModuleNotFoundError(\n"
    "    \"No module named 'ssl': this voxlite site was built without TLS (nothing of it\"\n"
    "    \" needs ssl); build it with --requirements naming ssl to have it\", name='ssl')\n"
)


def without_tls(target: Path) -> None:
    """Replace the lock's ``ssl`` (and ``openssl``, 2 MB of WebAssembly compiled at every
    start) with an empty package: the kernel preloads ``ssl`` by name (jupyterlite-pyodide-
    kernel 0.6 installs it otherwise), but neither it nor IPython, ipykernel or voxlite imports
    it, and an offline site talks to no other host. ``import ssl`` then fails, as for a
    module left out, so ``try: import ssl`` code runs without it."""
    lock_path = target / LOCK
    lock = json.loads(lock_path.read_text())
    packages = lock["packages"]
    for name in ("ssl", "openssl"):
        (target / packages.pop(name)["file_name"]).unlink()
    wheel = write_wheel(target, "ssl", NO_TLS_VERSION, {"ssl.py": NO_TLS_MODULE})
    packages["ssl"] = lock_entry(Wheel.read(wheel), wheel, [])
    lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))


def defer_readers(lock_path: Path) -> None:
    """voxlite's lock entry without the readers' packages: the kernel's preload of voxlite
    leaves them, and their first import unpacks them from the site (voxlite.on_demand)."""
    lock = json.loads(lock_path.read_text())
    entry = lock["packages"]["voxlite"]
    entry["depends"] = [d for d in entry["depends"] if d not in on_demand.PACKAGES.values()]
    lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))


def kernel_wheels() -> list[Wheel]:
    """The newest of each of the Pyodide kernel's own wheels, from its JupyterLab extension."""
    folder = lab_extension_dirs()[0] / "static" / "pypi"
    newest: dict[str, Wheel] = {}
    for path in folder.glob("*.whl"):
        wheel = Wheel.read(path)
        if wheel.name in KERNEL_WHEELS and (
            wheel.name not in newest or Version(wheel.version) > Version(newest[wheel.name].version)
        ):
            newest[wheel.name] = wheel
    missing = set(KERNEL_WHEELS) - set(newest)
    if missing:
        raise SiteError(f"the Pyodide kernel extension lacks its wheels {sorted(missing)}")
    return [newest[name] for name in KERNEL_WHEELS]


def open_distribution(source: str, scratch: Path) -> Distribution:
    if source == "offline":
        folder = sources.pyodide_dir()
        if not (folder / "pyodide-lock.json").exists():
            raise SiteError(
                f"no Pyodide distribution in {folder}: run `voxlite site fetch` once "
                "(it downloads Pyodide from the npm and PyPI registries)"
            )
        return Distribution.open(folder)
    path = Path(source)
    if path.is_dir():
        return Distribution.open(path)
    if path.is_file() and path.name.endswith((".tar.bz2", ".tar.gz", ".tgz")):
        unpacked = scratch / "pyodide-release"
        try:
            with tarfile.open(path) as archive:
                archive.extractall(unpacked, filter="data")
        except tarfile.TarError as error:
            raise SiteError(f"{path} is not a readable Pyodide release tarball: {error}") from None
        locks = sorted(unpacked.rglob("pyodide-lock.json"))
        if not locks:
            raise SiteError(f"{path} is not a Pyodide release: it has no pyodide-lock.json")
        return Distribution.open(locks[0].parent)
    raise SiteError(
        f"--pyodide {source!r}: expected 'offline', 'cdn', a Pyodide folder or a release "
        "tarball (.tar.bz2)"
    )


def requirement_in_distribution(
    line: str, distribution: Distribution, wheels: set[str]
) -> str | None:
    """The Pyodide package a requirement names, or None when a site wheel provides it."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        requirement = Requirement(line)
    except InvalidRequirement as error:
        raise SiteError(f"requirement {line!r} is not valid: {error}") from None
    name = canonicalize_name(requirement.name)
    if name in wheels:
        return None
    entry = distribution.package(name)
    if entry is None:
        raise SiteError(
            f"requirement {line!r}: {name} is not a package of Pyodide {distribution.version} "
            "and no pure-Python wheel of it was given. Pass its py3-none-any wheel with "
            "--wheels (pip download --no-deps --only-binary=:all: --python-version 3.12 "
            f"--platform any {name}); a package with only compiled wheels cannot run in Pyodide"
        )
    if not requirement.specifier.contains(entry["version"], prereleases=True):
        raise SiteError(
            f"requirement {line!r}: Pyodide {distribution.version} has {name} {entry['version']}"
        )
    if not distribution.present(name):
        raise SiteError(
            f"requirement {line!r}: {name} is listed by Pyodide but its file is not in "
            f"{distribution.root} (the offline set has only some packages)"
        )
    return name


def demo_notebook() -> Path:
    """Path of the packaged demo notebook."""
    with resources.as_file(resources.files("voxlite.demo").joinpath(DEMO_NOTEBOOK)) as path:
        return Path(path)


def write_contents(options: SiteOptions, files: Path) -> Selection:
    """The site's file browser: the demo notebook, then the user's notebooks and files.

    Returns what was copied of ``options.files`` (and what was left out).
    """
    files.mkdir(parents=True)
    if options.demo:
        voxlite.data.write_demo_files(files / "data")
    notebooks = ([demo_notebook()] if options.demo else []) + list(options.notebooks)
    for notebook in map(Path, notebooks):
        if notebook.is_dir():  # its notebooks, found as --files are (no links out, no dotfiles)
            found = select_files([notebook], files, keep=lambda path: path.suffix == ".ipynb")
            sources_ = sorted(source for source, _ in found.copies)
        else:
            sources_ = [notebook]
        for source in sources_:
            copy_notebook(source, files / source.name)
    return publish_files(options.files, files, options.max_files_bytes)


def copy_notebook(source: Path, target: Path) -> None:
    """Copy a notebook, pointing it at the site's one kernel (Pyodide)."""
    try:
        notebook = json.loads(source.read_text())
        metadata = notebook.setdefault("metadata", {})
    except (ValueError, AttributeError) as error:
        raise SiteError(f"{source} is not a readable notebook: {error}") from None
    metadata["kernelspec"] = dict(PYODIDE_KERNELSPEC)
    target.write_text(json.dumps(notebook, indent=1))


def write_config(
    lite_dir: Path, wheels: list[Wheel], offline: bool, preload: tuple[str, ...] = ("voxlite",)
) -> None:
    kernel: dict = {"disablePyPIFallback": True}
    if not offline:
        kernel["pyodideUrl"] = f"{sources.PYODIDE_CDN}pyodide.js"
    else:
        # Pyodide loads these in parallel at start-up, from the site's own lock:
        # `import voxlite` works in the first cell, with no install step.
        kernel["loadPyodideOptions"] = {
            "packages": [*KERNEL_PACKAGES, *KERNEL_WHEELS, "comm", *preload],
        }
    config = {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "voxlite",
            "exposeAppInBrowser": True,
            "litePluginSettings": {KERNEL_PLUGIN: kernel},
        },
    }
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(config, indent=1))
    (lite_dir / "overrides.json").write_text(json.dumps(SETTINGS_OVERRIDES, indent=1))
    build_config = {
        "LiteBuildConfig": {
            "apps": list(APPS),
            "no_sourcemaps": True,
            "no_unused_shared_packages": True,
            "ignore_sys_prefix": True,
            "federated_extensions": [str(p) for p in lab_extension_dirs()],
            "contents": [str(lite_dir / "files")],
            "settings_overrides": [str(lite_dir / "overrides.json")],
        },
    }
    if not offline:
        # With the CDN's Pyodide the wheels go to piplite's index; offline, the site's
        # own Pyodide lock lists them (and micropip installs from it), so no second copy.
        build_config["PipliteAddon"] = {"piplite_urls": [str(wheel.path) for wheel in wheels]}
    (lite_dir / "jupyter_lite_config.json").write_text(json.dumps(build_config, indent=1))


def lab_extension_dirs() -> list[Path]:
    base = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    found = []
    for name in LAB_EXTENSIONS:
        path = base / name
        if not (path / "package.json").exists():
            raise SiteError(
                f"the JupyterLab extension {name} is not installed in {sys.prefix}: "
                "install voxlite[site]"
            )
        found.append(path)
    return found


def run_jupyterlite(lite_dir: Path, output: Path) -> None:
    arguments = ["build", "--lite-dir", str(lite_dir), "--output-dir", str(output)]
    result = run_python_module("jupyterlite_core", arguments, cwd=lite_dir)
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-25:])
        raise SiteError(f"jupyter lite build failed:\n{tail}")


# Older formats of JupyterLab's icon fonts (Font Awesome): every browser that runs
# WebAssembly takes the .woff2 listed first, so these 2.9 MB are never fetched.
FONT_FALLBACKS = (".eot", ".svg", ".ttf", ".woff")


def drop_font_fallbacks(build: Path) -> list[str]:
    """Remove the fallback formats of each font that JupyterLab's build also has as .woff2.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("fa-solid-900.woff2", "fa-solid-900.ttf", "logo.svg"):
    ...     _ = (folder / name).write_text("x")
    >>> drop_font_fallbacks(folder), sorted(p.name for p in folder.iterdir())
    (['fa-solid-900.ttf'], ['fa-solid-900.woff2', 'logo.svg'])
    """
    dropped = []
    for woff2 in sorted(build.glob("*.woff2")):
        for suffix in FONT_FALLBACKS:
            fallback = woff2.with_suffix(suffix)
            if fallback.exists():
                fallback.unlink()
                dropped.append(fallback.name)
    return dropped


def verify(output: Path, offline: bool) -> None:
    """The built config keeps our settings, and an offline site names no other origin."""
    config = json.loads((output / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config.get("litePluginSettings", {}).get(KERNEL_PLUGIN, {})
    if not kernel.get("disablePyPIFallback"):
        raise SiteError("the built jupyter-lite.json lost disablePyPIFallback (stale build?)")
    if offline:
        if not str(kernel.get("pyodideUrl", "")).startswith("./"):
            raise SiteError(f"pyodideUrl is not local: {kernel.get('pyodideUrl')!r}")
        outside = find_outside_urls(output)
        if outside:
            listed = "\n".join(f"  {f}: {u}" for f, u in outside[:20])
            raise SiteError(f"the offline site would load from other origins:\n{listed}")
