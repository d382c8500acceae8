"""What a build made: where, how big (largest parts first), which packages, how long."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voxlite.builder.steps import Target

# Top folders whose sub-folders are reported one by one (how many path parts name a part):
# a site's static/pyodide and extensions/NAME, an app's pyodide/FILE.
PART_DEPTH = {"static": 3, "extensions": 3, "pyodide": 2}


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

    def summary(self) -> str:
        lines = [
            f"{self.target.kind}: {self.output} ({self.total_bytes / 1e6:.1f} MB, "
            f"built in {self.seconds:.0f} s)"
        ]
        lines += [f"  {size / 1e6:7.1f} MB  {name}" for name, size in self.largest]
        packages = (
            ", ".join(self.pyodide_packages)
            if self.target.names_packages
            else str(len(self.pyodide_packages))  # a site has dozens: their number
        )
        lines.append(f"  Pyodide packages: {packages}; wheels: {', '.join(self.wheels)}")
        return "\n".join(lines)


def size_report(output: Path, top: int = 6) -> tuple[int, list[tuple[str, int]]]:
    """The total size of ``output`` and its ``top`` largest parts (see :data:`PART_DEPTH`).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "pyodide").mkdir(); _ = (folder / "pyodide" / "numpy.whl").write_bytes(b"x" * 9)
    >>> _ = (folder / "index.html").write_text("<html>")
    >>> size_report(folder)
    (15, [('pyodide/numpy.whl', 9), ('index.html', 6)])
    """
    sizes: dict[str, int] = {}
    total = 0
    for path in output.rglob("*"):
        if path.is_file():
            size = path.stat().st_size
            total += size
            parts = path.relative_to(output).parts
            key = "/".join(parts[: PART_DEPTH.get(parts[0], 1)])
            sizes[key] = sizes.get(key, 0) + size
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:top]
    return total, largest
