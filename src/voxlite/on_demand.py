"""Readers' packages loaded on first import in Pyodide, from the site's (or app's) own files.

A zero-server site or the app lists nibabel, pydicom, pynrrd, tifffile ... in its
Pyodide lock, with their files beside it, but does not load them at start-up: unpacking
them would delay the kernel (or the app) for every visitor, most of whom open no file
of that format. Instead :func:`install` (run by ``import voxlite`` in Pyodide) appends a
finder to ``sys.meta_path``: the first ``import nibabel`` anywhere (voxlite's readers or
a notebook cell) finds no module, so the finder fetches that package and the
dependencies it lacks from the lock's own folder (same origin: the site stays offline),
checks each file's sha256 against the lock, unpacks it into site-packages and lets the
import proceed. Pyodide runs Python in a Web Worker in both the site and the app, where a
synchronous request is allowed, so an ordinary synchronous import just works.

In CPython :func:`install` does nothing: a missing package fails to import as usual.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import io
import sys
import sysconfig
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

# Import names of the packages loaded on first use -> their name in the Pyodide lock.
PACKAGES = {
    "nibabel": "nibabel",
    "pydicom": "pydicom",
    "nrrd": "pynrrd",
    "tifffile": "tifffile",
    "zarr": "zarr",
}


class OnDemandFinder(importlib.abc.MetaPathFinder):
    """Installs a lock's package when one of :data:`PACKAGES` is imported and absent.

    Parameters
    ----------
    lock : mapping
        The Pyodide lock's packages (name -> entry with ``file_name``, ``sha256``,
        ``depends``).
    fetch : callable
        Returns the bytes of a file of the lock's folder, given its name.
    installed : callable
        Whether a package of the lock is already installed (given its name).
    target : str
        Where packages are unpacked (site-packages).
    unpacked : callable
        Told the name of each package once unpacked.
    packages : mapping
        Import names handled -> package names (default :data:`PACKAGES`).

    Only pure-Python wheels are unpacked so: a compiled one needs Pyodide's own
    (asynchronous) loader for its WebAssembly libraries.

    Examples
    --------
    >>> finder = OnDemandFinder({}, fetch=bytes, installed=lambda name: False, target="/tmp")
    >>> finder.find_spec("json", None) is None
    True
    """

    def __init__(
        self,
        lock: Mapping[str, Any],
        fetch: Callable[[str], bytes],
        installed: Callable[[str], bool],
        target: str,
        unpacked: Callable[[str], None] = lambda name: None,
        packages: Mapping[str, str] = PACKAGES,
    ) -> None:
        self.lock, self.fetch, self.installed, self.target = lock, fetch, installed, target
        self.unpacked, self.packages = unpacked, packages

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        package = self.packages.get(name)
        if path is not None or package is None or not self._pure(package):
            return None
        for dependency in self._missing(package):
            self._unpack(dependency)
        importlib.invalidate_caches()
        return importlib.machinery.PathFinder.find_spec(name, None)

    def _pure(self, package: str) -> bool:
        entry = self.lock.get(package)
        return entry is not None and entry["file_name"].endswith("-none-any.whl")

    def _missing(self, package: str) -> list[str]:
        """``package`` and the dependencies not installed yet, dependencies first."""
        order: list[str] = []
        stack = [package]
        while stack:
            name = stack.pop()
            if name in order or not self._pure(name) or self.installed(name):
                continue
            order.append(name)
            stack.extend(self.lock[name].get("depends", []))
        return order[::-1]

    def _unpack(self, name: str) -> None:
        entry = self.lock[name]
        data = self.fetch(entry["file_name"])
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ImportError(f"{entry['file_name']} does not match the sha256 of the site's lock")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(self.target)
        self.unpacked(name)


def install() -> OnDemandFinder | None:
    """In Pyodide, append the :class:`OnDemandFinder` of the running Pyodide's lock.

    Returns the finder (None in CPython, or if one is installed already).

    Examples
    --------
    >>> install() is None  # CPython: nothing to do
    True
    """
    if sys.platform != "emscripten" or any(isinstance(f, OnDemandFinder) for f in sys.meta_path):
        return None
    import pyodide_js  # the running Pyodide's JavaScript API

    lock = pyodide_js._api.lockfile_packages.to_py()
    base = str(pyodide_js._api.config.indexURL)
    loaded = pyodide_js.loadedPackages

    def installed(name: str) -> bool:
        return getattr(loaded, name, None) is not None

    def fetch(file_name: str) -> bytes:
        from js import XMLHttpRequest

        request = XMLHttpRequest.new()
        request.open("GET", base + file_name, False)  # a worker: synchronous is allowed
        request.responseType = "arraybuffer"
        request.send()
        if request.status != 200:
            raise ImportError(f"{base + file_name}: HTTP {request.status}")
        return request.response.to_bytes()

    def unpacked(name: str) -> None:
        setattr(loaded, name, "voxlite.on_demand")  # so loadPackage does not load it again

    purelib = sysconfig.get_paths()["purelib"]
    finder = OnDemandFinder(lock, fetch, installed, purelib, unpacked)
    sys.meta_path.append(finder)
    return finder


__all__ = ["PACKAGES", "OnDemandFinder", "install"]
