"""The user's ``--files``, copied into a build so that it publishes only what was meant.

A folder given with ``--files`` is copied with what is really in it:

- a link is followed only when it leads to a file or folder inside the given
  folder; a link out of it (``id_rsa -> ~/.ssh/id_rsa``, ``parent -> ..``) is not;
- a folder is copied once, so a link back into it (``again -> .``) is no loop;
- names starting with a dot (``.env``, ``.git/``, ``.ssh/``) are left out, as are
  sockets, pipes and devices, but for zarr v2's metadata files (``.zarray``,
  ``.zattrs``, ``.zgroup``, ``.zmetadata``: an OME-Zarr published to stream);
- the total size is capped (:data:`MAX_FILES_BYTES`, or ``--max-files-size``),
  checked before anything is copied.

What was left out is returned, to be shown to the user. Files and folders named
on the command line are taken as given.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: zarr v2's metadata, the dotfiles an OME-Zarr folder needs (published, to be streamed).
ZARR_METADATA = frozenset({".zarray", ".zattrs", ".zgroup", ".zmetadata"})
MAX_FILES_BYTES = 1 << 30  # 1 GiB: more than a static host takes (GitHub Pages: 1 GB a site)
_SIZE = re.compile(r"(?i)\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class FilesError(ValueError):
    """The files to publish are more than the limit allows."""


@dataclass
class Selection:
    """What a build copies (source, destination), what it leaves out and why, and the size."""

    max_bytes: int = MAX_FILES_BYTES
    keep: Callable[[Path], bool] = lambda path: True  # files of a folder that are wanted
    copies: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    total_bytes: int = 0

    def add(self, source: Path, destination: Path) -> None:
        self.total_bytes += source.stat().st_size
        if self.total_bytes > self.max_bytes:
            raise FilesError(
                f"the files to publish weigh more than the limit of {format_size(self.max_bytes)}"
                f" (reached at {source}): check that --files names what you mean, or raise "
                f"the limit (--max-files-size {format_size(2 * self.max_bytes)}, or "
                "max_files_bytes= in the options)"
            )
        self.copies.append((source, destination))


def parse_size(text: str) -> int:
    """Bytes from ``"500M"``, ``"2G"``, ``"1.5GiB"`` or a plain number of bytes.

    Examples
    --------
    >>> parse_size("2G"), parse_size("500 MB"), parse_size("1024")
    (2147483648, 524288000, 1024)
    """
    match = _SIZE.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a size (examples: 500M, 2G, 1048576)")
    return int(float(match[1]) * _UNITS[match[2].lower()])


def format_size(size: int) -> str:
    """A size for messages, in the units :func:`parse_size` reads.

    Examples
    --------
    >>> format_size(3 << 30), format_size(5 << 20)
    ('3.0G', '5.0M')
    """
    for unit in "TGM":
        if size >= _UNITS[unit.lower()]:
            return f"{size / _UNITS[unit.lower()]:.1f}{unit}"
    return f"{size}B"


def select_files(
    paths: Iterable[Path],
    target: Path,
    max_bytes: int = MAX_FILES_BYTES,
    keep: Callable[[Path], bool] = lambda path: True,
) -> Selection:
    """Plan the copy of ``paths`` into ``target``; raise :class:`FilesError` over the limit.

    Parameters
    ----------
    paths : iterable of Path
        Files and folders as the user named them; each goes to ``target / its name``.
    target : Path
        The folder of the build that receives them.
    max_bytes : int
        The most the files may weigh together.
    keep : callable
        Which files found in a folder are wanted (by default all).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "data"
    >>> folder.mkdir(); _ = (folder / "scan.nii").write_bytes(b"x" * 10)
    >>> _ = (folder / ".env").write_text("SECRET=1"); (folder / "again").symlink_to(".")
    >>> selection = select_files([folder], Path("out"))
    >>> [str(destination) for _, destination in selection.copies]
    ['out/data/scan.nii']
    >>> selection.skipped
    ['data/.env (a dotfile)', 'data/again (a link to a folder copied already)']
    """
    selection = Selection(max_bytes, keep)
    for path in map(Path, paths):
        name = path.name if path.name != ".." else Path(os.path.abspath(path)).name
        if path.is_dir():
            real = path.resolve()
            _walk(real, real, target / name, Path(name), selection, {real})
        elif path.is_file():
            selection.add(path, target / name)
        else:
            selection.skipped.append(f"{path} (not a regular file)")
    return selection


def _walk(
    folder: Path, root: Path, target: Path, shown: Path, selection: Selection, seen: set[Path]
) -> None:
    """Add ``folder``'s files under ``root`` (both resolved) to the selection."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = shown / entry.name
        why = _left_out(Path(entry.path), root, seen)
        if why:
            selection.skipped.append(f"{name.as_posix()} ({why})")
        elif entry.is_dir():
            real = Path(entry.path).resolve()
            seen.add(real)
            _walk(real, root, target / entry.name, name, selection, seen)
        elif selection.keep(Path(entry.path)):
            selection.add(Path(entry.path), target / entry.name)


def _left_out(path: Path, root: Path, seen: set[Path]) -> str | None:
    """Why ``path`` is not published, or None."""
    if path.name.startswith(".") and path.name not in ZARR_METADATA:
        return "a dotfile"
    if path.is_symlink():
        real = path.resolve()
        if not real.exists():
            return "a broken link"
        if not real.is_relative_to(root):
            return "a link out of the folder"
        if real.is_dir() and real in seen:
            return "a link to a folder copied already"
    if not path.is_dir() and not path.is_file():
        return "not a regular file"
    return None


def copy_selection(selection: Selection) -> None:
    """Copy what :func:`select_files` chose (links become copies of what they point to)."""
    for source, destination in selection.copies:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


def publish_files(
    paths: Iterable[Path], target: Path, max_bytes: int = MAX_FILES_BYTES
) -> Selection:
    """Copy ``paths`` into ``target`` as :func:`select_files` plans it; return the plan.

    Examples
    --------
    >>> import tempfile
    >>> source = Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = source.write_text("hi")
    >>> publish_files([source], source.parent / "out").total_bytes
    2
    """
    selection = select_files(paths, target, max_bytes)
    copy_selection(selection)
    return selection


def log_skipped(selection: Selection, log: Callable[[str], None] = print, most: int = 20) -> None:
    """Tell the user what a build left out of their files, and why.

    Examples
    --------
    >>> log_skipped(Selection(skipped=["data/.env (a dotfile)"]))
          --files: left out 1 (dotfiles and links out of their folder are never published):
            data/.env (a dotfile)
    """
    if not selection.skipped:
        return
    shown = selection.skipped[:most]
    lines = [
        f"      --files: left out {len(selection.skipped)} (dotfiles and links out of their "
        "folder are never published):",
        *(f"        {line}" for line in shown),
    ]
    if len(selection.skipped) > most:
        lines.append(f"        and {len(selection.skipped) - most} more")
    log("\n".join(lines))
