"""What a build made: where, how big (largest parts first), which packages, how long."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

from voxlite.builder.steps import Target

# Top folders whose sub-folders are reported one by one (how many path parts name a part):
# a site's static/pyodide and extensions/NAME, an app's pyodide/FILE.
PART_DEPTH = {"static": 3, "extensions": 3, "pyodide": 2}
# Files a host sends as they are (compressed already); it gzips the others (text, wasm).
PRECOMPRESSED = (".whl", ".zip", ".gz", ".bz2", ".xz", ".png", ".jpg", ".jpeg", ".woff", ".woff2")


@dataclass
class BuildReport:
    """A finished build; :meth:`summary` is what ``voxlite site|app build`` prints."""

    target: Target
    output: Path
    total_bytes: int
    largest: list[tuple[str, int]]
    pyodide_packages: list[str]
    wheels: list[str]
    seconds: float
    # What a host that gzips text and WebAssembly sends: in all, and per part of ``largest``.
    transfer_bytes: int = 0
    transfer_parts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"{self.target.kind}: {self.output} ({self.total_bytes / 1e6:.1f} MB on disk, "
            f"{self.transfer_bytes / 1e6:.1f} MB gzip-sent, built in {self.seconds:.0f} s)"
        ]
        parts = self.transfer_parts
        lines += [
            f"  {size / 1e6:7.1f} MB  ({parts.get(name, size) / 1e6:5.1f} gzip)  {name}"
            for name, size in self.largest
        ]
        packages = (
            ", ".join(self.pyodide_packages)
            if self.target.names_packages
            else str(len(self.pyodide_packages))  # a site has dozens: their number
        )
        lines.append(f"  Pyodide packages: {packages}; wheels: {', '.join(self.wheels)}")
        return "\n".join(lines)


def size_report(
    output: Path, top: int = 8
) -> tuple[int, list[tuple[str, int]], int, dict[str, int]]:
    """The total size of ``output``, its ``top`` largest parts (see :data:`PART_DEPTH`), and
    the same gzip-compressed as a host sends them (:data:`PRECOMPRESSED` files as they are).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "pyodide").mkdir(); _ = (folder / "pyodide" / "numpy.whl").write_bytes(b"x" * 9)
    >>> _ = (folder / "index.html").write_text("<html>")
    >>> size_report(folder)[:2]
    (15, [('pyodide/numpy.whl', 9), ('index.html', 6)])
    """
    sizes: dict[str, int] = {}
    sent: dict[str, int] = {}
    for path in output.rglob("*"):
        if path.is_file():
            size = path.stat().st_size
            parts = path.relative_to(output).parts
            key = "/".join(parts[: PART_DEPTH.get(parts[0], 1)])
            sizes[key] = sizes.get(key, 0) + size
            sent[key] = sent.get(key, 0) + _sent_bytes(path, size)
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:top]
    return sum(sizes.values()), largest, sum(sent.values()), {k: sent[k] for k, _ in largest}


def _sent_bytes(path: Path, size: int) -> int:
    if path.suffix.lower() in PRECOMPRESSED or size < 1024:
        return size
    return len(gzip.compress(path.read_bytes(), compresslevel=6))
