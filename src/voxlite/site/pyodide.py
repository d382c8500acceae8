"""A Pyodide distribution on disk: its lock, its dependency closure, and pruned copies.

A distribution is a folder with the core files (``pyodide.js``, ``pyodide.asm.wasm``,
``python_stdlib.zip`` ...) and ``pyodide-lock.json``, which lists every package
with its file name, sha256 and dependencies. A site only needs the packages its
kernel and notebooks import, so :func:`prune` copies the dependency closure of
those, and :func:`add_wheels` lists extra pure-Python wheels in the lock so that
Pyodide itself can load them at start-up.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

LOCK = "pyodide-lock.json"
CORE_FILES = (
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "package.json",
)
# What the JupyterLite Pyodide kernel (0.6) loads before the first cell runs.
KERNEL_PACKAGES = ("micropip", "packaging", "ssl", "sqlite3", "jedi", "ipython")
# The environment of a wheel's markers inside Pyodide 0.27 (CPython 3.12 on emscripten).
PYODIDE_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.7",
    "sys_platform": "emscripten",
    "platform_system": "Emscripten",
    "os_name": "posix",
    "platform_machine": "wasm32",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}


class DistributionError(ValueError):
    """A folder is not a usable Pyodide distribution, or a package is missing from it."""


@dataclass(frozen=True)
class Distribution:
    """A Pyodide distribution folder and its parsed lock."""

    root: Path
    lock: dict[str, Any]

    @classmethod
    def open(cls, root: Path) -> Distribution:
        root = Path(root)
        lock_path = root / LOCK
        if not root.is_dir() or not lock_path.exists():
            raise DistributionError(f"{root} is not a Pyodide distribution: it has no {LOCK}")
        missing = [name for name in CORE_FILES if not (root / name).exists()]
        if missing:
            raise DistributionError(
                f"{root} is not a complete Pyodide distribution: missing {', '.join(missing)}"
            )
        try:
            lock = json.loads(lock_path.read_text())
            lock["packages"], lock["info"]["version"]
        except (ValueError, KeyError, TypeError) as error:
            raise DistributionError(f"{lock_path} is not a Pyodide lock file: {error}") from None
        return cls(root, lock)

    @property
    def version(self) -> str:
        return self.lock["info"]["version"]

    @property
    def packages(self) -> dict[str, dict[str, Any]]:
        return self.lock["packages"]

    def package(self, name: str) -> dict[str, Any] | None:
        return self.packages.get(canonicalize_name(name))

    def closure(self, roots: Iterable[str]) -> list[str]:
        """The packages ``roots`` need, themselves included, in a stable order."""
        seen: dict[str, None] = {}
        stack = [canonicalize_name(root) for root in roots]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            entry = self.package(name)
            if entry is None:
                raise DistributionError(
                    f"{name!r} is not in Pyodide {self.version}'s package list ({LOCK})"
                )
            seen[name] = None
            stack.extend(canonicalize_name(dep) for dep in entry.get("depends", []))
        return sorted(seen)

    def present(self, name: str) -> bool:
        entry = self.package(name)
        return entry is not None and (self.root / entry["file_name"]).exists()

    def verify(self, names: Iterable[str]) -> None:
        """Check each package file against the sha256 of the lock."""
        for name in names:
            entry = self.package(name)
            path = self.root / entry["file_name"]
            if not path.exists():
                raise DistributionError(
                    f"package {name} ({entry['file_name']}) is listed in {LOCK} but its file is "
                    f"missing from {self.root}; run `voxlite site fetch`"
                )
            if sha256(path) != entry["sha256"]:
                raise DistributionError(
                    f"{path} does not match the sha256 in {LOCK}: refusing a modified package"
                )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prune(distribution: Distribution, roots: Iterable[str], target: Path) -> list[str]:
    """Copy the core files and the closure of ``roots`` into ``target``; return the names.

    The copied lock lists only the copied packages, so that importing anything
    else fails at once with ModuleNotFoundError instead of a request for a file
    the site does not have.
    """
    names = distribution.closure(roots)
    distribution.verify(names)
    target.mkdir(parents=True, exist_ok=True)
    for name in CORE_FILES:
        shutil.copy2(distribution.root / name, target / name)
    for name in names:
        file_name = distribution.packages[name]["file_name"]
        shutil.copy2(distribution.root / file_name, target / file_name)
    lock = {**distribution.lock, "packages": {n: distribution.packages[n] for n in names}}
    (target / LOCK).write_text(json.dumps(lock, indent=1, sort_keys=True))
    return names


@dataclass(frozen=True)
class Wheel:
    """A pure-Python wheel file and what its metadata says."""

    path: Path
    name: str
    version: str
    requires: tuple[Requirement, ...]
    top_level: tuple[str, ...]

    @classmethod
    def read(cls, path: Path) -> Wheel:
        path = Path(path)
        match = re.fullmatch(
            r"(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-(?P<tags>.+)\.whl", path.name
        )
        if not match:
            raise DistributionError(f"{path.name} is not a wheel file name")
        if not match["tags"].endswith("-none-any"):
            raise DistributionError(
                f"{path.name} is a compiled wheel ({match['tags']}): only pure-Python "
                "(py3-none-any) wheels run in Pyodide besides Pyodide's own packages"
            )
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
                metadata = Parser().parsestr(archive.read(meta_name).decode("utf-8"))
        except (zipfile.BadZipFile, StopIteration, OSError) as error:
            raise DistributionError(f"{path} is not a readable wheel: {error}") from None
        requires = []
        for line in metadata.get_all("Requires-Dist") or []:
            try:
                requires.append(Requirement(line))
            except InvalidRequirement:
                continue
        return cls(
            path,
            canonicalize_name(metadata["Name"]),
            metadata["Version"],
            tuple(requires),
            _top_level_names(names),
        )

    def runtime_dependencies(self) -> list[str]:
        """Names required in Pyodide (markers evaluated for it, extras left out)."""
        return sorted(
            {
                canonicalize_name(req.name)
                for req in self.requires
                if req.marker is None or req.marker.evaluate(PYODIDE_MARKERS)
            }
        )


def _top_level_names(names: list[str]) -> tuple[str, ...]:
    """Importable names of a wheel: its root packages and modules."""
    roots = set()
    for name in names:
        first, _, rest = name.partition("/")
        if first.endswith((".dist-info", ".data")):
            continue
        if rest:
            roots.add(first)
        elif first.endswith(".py"):
            roots.add(first.removesuffix(".py"))
    return tuple(sorted(roots))


def copy_without_tests(
    source: Path, target: Path, also_drop: Callable[[str], bool] = lambda name: False
) -> None:
    """Copy a wheel without its test suites (as Pyodide unvendors its packages' tests),
    nor the files ``also_drop`` names.

    RECORD loses the removed files' lines, so the result is still a valid wheel.
    """
    with (
        zipfile.ZipFile(source) as archive,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy,
    ):
        removed = {n for n in archive.namelist() if _is_test_file(n) or also_drop(n)}
        for info in archive.infolist():
            if info.filename in removed:
                continue
            data = archive.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode("utf-8").splitlines()
                data = (
                    "\n".join(
                        line for line in lines if line.split(",", 1)[0] not in removed
                    ).encode("utf-8")
                    + b"\n"
                )
            copy.writestr(info, data)


def _is_test_file(name: str) -> bool:
    parts = name.split("/")
    return not parts[0].endswith((".dist-info", ".data")) and any(
        part in ("tests", "test") for part in parts[1:-1]
    )


def add_wheels(
    target: Path, wheels: Iterable[Wheel], also_drop: Callable[[str], bool] = lambda name: False
) -> None:
    """Copy pure wheels into a pruned distribution and list them in its lock.

    Every dependency must be in the lock already or among ``wheels``; the files
    ``also_drop`` names are left out of the copies (as their tests are).
    """
    lock_path = target / LOCK
    lock = json.loads(lock_path.read_text())
    packages = lock["packages"]
    wheels = list(wheels)
    available = set(packages) | {wheel.name for wheel in wheels}
    for wheel in wheels:
        depends = wheel.runtime_dependencies()
        for dependency in depends:
            if dependency not in available:
                raise DistributionError(
                    f"{wheel.path.name} needs {dependency!r}, which is neither a Pyodide "
                    "package of this site nor one of its wheels: add it to the requirements"
                )
        copy_without_tests(wheel.path, target / wheel.path.name, also_drop)
        packages[wheel.name] = lock_entry(wheel, target / wheel.path.name, depends)
    lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))


def write_wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A minimal pure wheel of ``files`` (path -> text), with its metadata and RECORD.

    Examples
    --------
    >>> import tempfile
    >>> wheel = write_wheel(Path(tempfile.mkdtemp()), "ssl", "0", {"ssl.py": "x = 1\\n"})
    >>> Wheel.read(wheel).top_level
    ('ssl',)
    """
    info = f"{name}-{version}.dist-info"
    contents = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: voxlite\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    contents[f"{info}/RECORD"] = "".join(f"{n},,\n" for n in [*contents, f"{info}/RECORD"])
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file_name, text in contents.items():
            archive.writestr(file_name, text)
    return path


def lock_entry(wheel: Wheel, file: Path, depends: list[str]) -> dict[str, Any]:
    """The pyodide-lock.json entry of a pure wheel copied to ``file``."""
    return {
        "name": wheel.name,
        "version": wheel.version,
        "file_name": file.name,
        "install_dir": "site",
        "sha256": sha256(file),
        "package_type": "package",
        "imports": list(wheel.top_level),
        "depends": depends,
        "unvendored_tests": False,
    }
