"""``voxlite site build``: a static, zero-server JupyterLite site that renders 3D offline.

The build is a sequence of small named steps (as JupyterLite's own addons are)
run in a scratch folder; the result replaces the output folder only once every
step has passed, so a failed build leaves any previous site untouched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import ClassVar

from packaging.version import Version

import voxlite
from voxlite.site import sources
from voxlite.site.check import find_outside_urls
from voxlite.site.csp import write_csp
from voxlite.site.pyodide import (
    KERNEL_PACKAGES,
    Distribution,
    DistributionError,
    Wheel,
    add_wheels,
    prune,
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


class SiteError(RuntimeError):
    """A site cannot be built as asked; the message says why and what to do."""


@dataclass
class SiteOptions:
    """What goes into a site. Paths are checked before anything is built."""

    output: Path = Path("_output")
    notebooks: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    wheels: list[Path] = field(default_factory=list)
    pyodide: str = "offline"  # "offline" (the fetched cache), "cdn", a folder or a tarball
    voxlite_wheel: Path | None = None
    demo: bool = True
    # Packages the kernel loads at start-up, so that importing them needs no install.
    preload: tuple[str, ...] = ("voxlite",)


@dataclass
class SiteReport:
    output: Path
    total_bytes: int
    largest: list[tuple[str, int]]
    pyodide_packages: list[str]
    wheels: list[str]
    seconds: float

    KIND: ClassVar[str] = "site"

    def summary(self) -> str:
        lines = [
            f"{self.KIND}: {self.output} ({self.total_bytes / 1e6:.1f} MB, "
            f"built in {self.seconds:.0f} s)"
        ]
        lines += [f"  {size / 1e6:7.1f} MB  {name}" for name, size in self.largest]
        lines.append(f"  Pyodide packages: {self.packages()}; wheels: {', '.join(self.wheels)}")
        return "\n".join(lines)

    def packages(self) -> str:
        """The Pyodide packages, as the summary lists them (a site has many: their number)."""
        return str(len(self.pyodide_packages))


def build_site(options: SiteOptions, log: Callable[[str], None] = print) -> SiteReport:
    """Build a site as described by ``options``; see :class:`SiteOptions`.

    Example (needs `voxlite site fetch` once)::

        build_site(SiteOptions(output=Path("_output"), notebooks=[Path("analysis.ipynb")]))
    """
    started = time.monotonic()
    output = Path(options.output).resolve()
    _check_inputs(options, output)
    steps = _Steps(log)
    with tempfile.TemporaryDirectory(prefix="voxlite-site-") as scratch:
        scratch = Path(scratch)
        lite_dir = scratch / "lite"
        wheels = steps.run("wheels", lambda: collect_wheels(options, scratch / "wheels"))
        offline = options.pyodide != "cdn"
        packages: list[str] = []
        if offline:
            packages = steps.run(
                "pyodide",
                lambda: assemble_pyodide(options, wheels, lite_dir / "static" / "pyodide", scratch),
            )
        steps.run("contents", lambda: write_contents(options, lite_dir / "files"))
        steps.run(
            "config",
            lambda: write_config(lite_dir, wheels, offline=offline, preload=options.preload),
        )
        staging = _staging_dir(output)
        try:
            steps.run("jupyter lite build", lambda: run_jupyterlite(lite_dir, staging))
            # _headers and a meta tag in each page: docs/site.md, "Content-Security-Policy".
            steps.run("content security policy", lambda: write_csp(staging))
            steps.run("verify", lambda: verify(staging, offline=offline))
            (staging / MARKER).write_text(f"voxlite {voxlite.__version__}\n")
            steps.run("replace", lambda: replace_atomically(staging, output))
        finally:
            shutil.rmtree(staging.parent, ignore_errors=True)
    total, largest = size_report(output)
    return SiteReport(
        output, total, largest, packages, [w.name for w in wheels], time.monotonic() - started
    )


class _Steps:
    """Runs named steps, showing progress and turning failures into SiteError."""

    NAMES = (
        "wheels",
        "pyodide",
        "contents",
        "config",
        "jupyter lite build",
        "content security policy",
        "verify",
        "replace",
    )

    def __init__(self, log: Callable[[str], None]):
        self.log = log

    def run(self, name, action):
        index = self.NAMES.index(name) + 1
        started = time.monotonic()
        self.log(f"[{index}/{len(self.NAMES)}] {name} …")
        try:
            result = action()
        except (DistributionError, OSError, subprocess.CalledProcessError, ValueError) as error:
            raise SiteError(f"step '{name}' failed: {error}") from error
        self.log(f"      {name}: done in {time.monotonic() - started:.1f} s")
        return result


def _check_inputs(options: SiteOptions, output: Path) -> None:
    for kind, paths in (
        ("notebook", options.notebooks),
        ("file", options.files),
        ("wheel", options.wheels),
    ):
        for path in paths:
            if not Path(path).exists():
                raise SiteError(f"{kind} not found: {path}")
    for notebook in options.notebooks:
        if Path(notebook).is_file() and Path(notebook).suffix != ".ipynb":
            raise SiteError(f"not a notebook (.ipynb): {notebook}")
    if output.exists() and not output.is_dir():
        raise SiteError(f"output {output} exists and is not a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).exists():
        raise SiteError(
            f"refusing to replace {output}: it is not empty and not a voxlite site "
            f"(no {MARKER} file); choose another output folder"
        )
    parent = output.parent
    while not parent.exists():
        parent = parent.parent
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".voxlite-probe-"):
            pass
    except OSError as error:
        raise SiteError(f"cannot write the output folder {output}: {error.strerror}") from None


def _staging_dir(output: Path) -> Path:
    """A fresh folder beside the output, so that the final move is a rename."""
    output.parent.mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix=f".{output.name}-building-", dir=output.parent))
    return holder / "site"


# -- steps ----------------------------------------------------------------------


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


def build_voxlite_wheel(folder: Path) -> Path:
    """voxlite's wheel: built from the source tree, else the installed release from PyPI."""
    root = Path(voxlite.__file__).resolve().parents[2]
    if (root / "pyproject.toml").exists():
        how = ["wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(folder), str(root)]
    else:
        how = ["download", "--no-deps", "--dest", str(folder), f"voxlite=={voxlite.__version__}"]
    result = subprocess.run(
        [sys.executable, "-m", "pip", *how, "--quiet"], capture_output=True, text=True
    )
    wheels = sorted(folder.glob("voxlite-*.whl"))
    if result.returncode != 0 or not wheels:
        raise SiteError(
            f"could not get voxlite's wheel (pip {how[0]}): {result.stderr.strip()[-500:]}; "
            "pass one with --voxlite-wheel"
        )
    return wheels[0]


def assemble_pyodide(
    options: SiteOptions, wheels: list[Wheel], target: Path, scratch: Path
) -> list[str]:
    """A pruned Pyodide that also lists the site's wheels, so it can preload them."""
    distribution = open_distribution(options.pyodide, scratch)
    wheels = [*wheels, *kernel_wheels()]
    wheel_names = {wheel.name for wheel in wheels}
    roots = set(KERNEL_PACKAGES)
    for wheel in wheels:  # Pyodide packages the wheels import (numpy, traitlets, ...)
        roots.update(d for d in wheel.runtime_dependencies() if d not in wheel_names)
    for requirement in options.requirements:
        name = requirement_in_distribution(requirement, distribution, wheel_names)
        if name:
            roots.add(name)
    names = prune(distribution, sorted(roots), target)
    add_wheels(target, wheels)
    return names


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


def write_contents(options: SiteOptions, files: Path) -> None:
    """The site's file browser: the demo notebook, then the user's notebooks and files."""
    files.mkdir(parents=True)
    if options.demo:
        voxlite.data.write_demo_files(files / "data")
    notebooks = ([demo_notebook()] if options.demo else []) + list(options.notebooks)
    for notebook in notebooks:
        notebook = Path(notebook)
        sources_ = sorted(notebook.rglob("*.ipynb")) if notebook.is_dir() else [notebook]
        for source in sources_:
            copy_notebook(source, files / source.name)
    for path in options.files:
        path = Path(path)
        if path.is_dir():
            shutil.copytree(path, files / path.name, dirs_exist_ok=True)
        else:
            shutil.copy2(path, files / path.name)


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
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyterlite_core",
            "build",
            "--lite-dir",
            str(lite_dir),
            "--output-dir",
            str(output),
        ],
        cwd=lite_dir,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise SiteError(f"jupyter lite build failed:\n{tail}")


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


def replace_atomically(staging: Path, output: Path) -> None:
    """Swap the new site in with renames; the old one is removed only afterwards."""
    retired = staging.parent / "previous"
    if output.exists():
        output.rename(retired)
    try:
        staging.rename(output)
    except OSError:
        if retired.exists():
            retired.rename(output)
        raise


def size_report(output: Path, top: int = 6) -> tuple[int, list[tuple[str, int]]]:
    sizes: dict[str, int] = {}
    total = 0
    for path in output.rglob("*"):
        if path.is_file():
            size = path.stat().st_size
            total += size
            parts = path.relative_to(output).parts
            key = "/".join(parts[:3]) if parts[0] in ("static", "extensions") else parts[0]
            sizes[key] = sizes.get(key, 0) + size
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:top]
    return total, largest
