"""Python bytecode compiled at build time, so that Pyodide imports without compiling.

Pyodide's package wheels and pure wheels carry ``.py`` sources only, so every import in
the browser first compiles its module, in WebAssembly, at each page load: the kernel's
start-up (IPython, ipykernel, jedi, ...) spends most of its time there. The build adds,
next to each ``.py`` of each wheel a site or the app serves, its
``__pycache__/NAME.cpython-312.pyc``, compiled by the very Python of the site: the
Pyodide runtime itself, run by Node.js (``node`` on PATH, already needed by
``voxlite site fetch``), so magic number and bytecode match exactly. The ``.pyc`` are
*unchecked-hash* ones (PEP 552): unpacking a wheel does not keep file times, so
timestamp ``.pyc`` would be stale at once; unchecked ones are used as they are. The
sources stay beside them (tracebacks, ``inspect``, jedi), and their paths in the code
objects are where Pyodide installs them (``/lib/python3.12/site-packages``).

The kernel's own machinery (IPython, ipykernel, jedi, parso, pygments, prompt_toolkit
...), which nobody reads in the browser, ships bytecode only, ``NAME.pyc`` in place of
``NAME.py``, as Pyodide's standard library does: a site stays about as large as with
sources only. The packages a user calls (:data:`KEEP_SOURCES`: voxlite, numpy, the
widgets, the readers) keep their sources beside the bytecode.

Compiled wheels are cached by the sha256 of their input under the cache folder, so a
rebuild compiles only new wheels. Each wheel's lock entry gets its new sha256.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

# Where Pyodide 0.27 (Python 3.12) installs "site" packages, as the code objects name it.
SITE_PACKAGES = "/lib/python3.12/site-packages"
CACHE_TAG = "cpython-312"
# Lock names of the packages whose sources stay beside their bytecode (what users call,
# read, step into); the others ship bytecode only.
KEEP_SOURCES = frozenset({
    "voxlite", "numpy", "anywidget", "ipywidgets", "traitlets", "nibabel", "pydicom",
    "pynrrd", "tifffile", "zarr", "pillow", "scipy", "pandas", "matplotlib",
})  # fmt: skip

# Run by Node.js: the site's own Pyodide compiles every tree under /work (one per wheel).
_NODE_SCRIPT = r"""
import { pathToFileURL } from 'node:url';
const [runtime, work, sitePackages] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(`${runtime}/pyodide.mjs`).href);
try {
const pyodide = await loadPyodide({ indexURL: `${runtime}/` });
pyodide.FS.mkdir('/work');
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: work }, '/work');
pyodide.globals.set('SITE', sitePackages);
pyodide.runPython(`
import compileall, os, py_compile
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
for name in sorted(os.listdir('/work')):
    compileall.compile_dir(f'/work/{name}', stripdir=f'/work/{name}', prependdir=SITE,
                           quiet=2, invalidation_mode=mode, workers=1)
`);
} catch (error) {  // its message, not the minified line it was thrown from
  console.error(`compile error: ${error?.message || error}`);
  process.exit(1);
}
"""


def compile_distribution(
    folder: Path, lock_name: str, cache: Path, log: Callable[[str], None] = print
) -> int:
    """Add unchecked-hash ``.pyc`` to every "site" wheel a Pyodide folder's lock lists.

    Parameters
    ----------
    folder : Path
        A Pyodide folder (core files and ``lock_name``) whose wheels are rewritten.
    lock_name : str
        Its lock file (``pyodide-lock.json``); each rewritten wheel's sha256 is updated.
    cache : Path
        Where compiled wheels are kept, by the sha256 of their input.
    log : callable
        Told when bytecode could not be compiled (no Node.js), and why.

    Returns
    -------
    int
        How many wheels carry bytecode now.

    Examples
    --------
    >>> compile_distribution(Path("_output/static/pyodide"), "pyodide-lock.json",
    ...                      Path("~/.cache/voxlite/bytecode"))  # doctest: +SKIP
    31
    """
    lock_path = folder / lock_name
    lock = json.loads(lock_path.read_text())
    entries = [
        entry
        for entry in lock["packages"].values()
        if entry.get("install_dir") == "site" and entry["file_name"].endswith(".whl")
    ]
    cache.mkdir(parents=True, exist_ok=True)
    cached = {e["name"]: cache / _cache_name(e) for e in entries}
    todo = [e for e in entries if not cached[e["name"]].exists()]
    if todo and shutil.which("node") is None:
        log("  no bytecode: Node.js (node) is not on PATH to run Pyodide at build time")
        return 0
    if todo:
        _compile_into_cache(folder, [(folder / e["file_name"], cached[e["name"]]) for e in todo])
    for entry in entries:
        compiled = cached[entry["name"]]
        shutil.copyfile(compiled, folder / entry["file_name"])
        entry["sha256"] = _sha256(compiled)
    lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))
    return len(entries)


def _cache_name(entry: dict) -> str:
    kind = "sources" if entry["name"] in KEEP_SOURCES else "sourceless"
    return f"{entry['sha256']}-{kind}.whl"


def _compile_into_cache(runtime: Path, wheels: list[tuple[Path, Path]]) -> None:
    """Compile each (wheel, cached copy to write) pair's modules in one Pyodide run."""
    with tempfile.TemporaryDirectory(prefix="voxlite-bytecode-") as scratch:
        work = Path(scratch) / "work"
        for index, (wheel, _) in enumerate(wheels):
            with zipfile.ZipFile(wheel) as archive:
                for name in archive.namelist():
                    if name.endswith(".py") and ".dist-info/" not in name:
                        archive.extract(name, work / str(index))
        script = Path(scratch) / "compile.mjs"
        script.write_text(_NODE_SCRIPT)
        work.mkdir(exist_ok=True)
        result = subprocess.run(
            ["node", str(script), str(runtime.resolve()), str(work), SITE_PACKAGES],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            message = result.stderr.rpartition("compile error: ")[2][-2000:]
            raise RuntimeError(f"compiling bytecode with Pyodide failed: {message}")
        for index, (wheel, cached) in enumerate(wheels):
            partial = cached.with_suffix(".partial")
            _add_bytecode(wheel, work / str(index), partial, "-sources" in cached.name)
            partial.replace(cached)


def _add_bytecode(wheel: Path, tree: Path, target: Path, keep_sources: bool) -> None:
    """``wheel`` with the bytecode compiled into ``tree``, RECORD listing what it holds:
    ``__pycache__/NAME.cpython-312.pyc`` beside each source, or (without sources)
    ``NAME.pyc`` in place of ``NAME.py``, where Python finds bytecode without source."""
    compiled = sorted(tree.rglob("*.pyc")) if tree.exists() else []
    names = [p.relative_to(tree).as_posix() for p in compiled]
    if not keep_sources:  # a/__pycache__/b.cpython-312.pyc -> a/b.pyc
        names = [n.replace("__pycache__/", "").replace(f".{CACHE_TAG}", "") for n in names]
    replaced = set() if keep_sources else {n.removesuffix("c") for n in names}
    with (
        zipfile.ZipFile(wheel) as source,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in source.infolist():
            if info.filename in replaced:
                continue
            data = source.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = [ln for ln in data.decode().splitlines()
                         if ln.split(",", 1)[0] not in replaced]  # fmt: skip
                data = "".join(f"{ln}\n" for ln in [*lines, *(f"{n},," for n in names)]).encode()
            out.writestr(info, data)
        for path, name in zip(compiled, names, strict=True):
            out.write(path, name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["CACHE_TAG", "SITE_PACKAGES", "compile_distribution"]
