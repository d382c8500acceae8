"""The staged output of a build: nothing half-written ever takes the output's place.

A build works in a holder folder beside its output, ``.NAME-building-XXXX/``:
``scratch/`` for its intermediate files, ``KIND/`` for the new output. Once every
step has passed, :meth:`StagedOutput.commit` writes the target's marker file and
swaps the new output in with two renames (the old output goes to
``previous/`` in the holder first), and the holder is deleted.

A build killed with SIGKILL cannot clean up; the next build of the same output
does (:func:`recover_leftovers`): a holder whose build is gone is deleted, and if
the kill came between the two renames, the previous output is first renamed
back. A running build holds a lock on ``owner.lock`` in its holder, so two
builds of one output never delete each other's work.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import voxlite
from voxlite.builder.process import exit_on_signals
from voxlite.builder.steps import Target

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK = "owner.lock"
PREVIOUS = "previous"
# A holder without a lock file is a build's for the instant between creating its holder
# and locking it; older than this, it is what a killed build left.
UNLOCKED_GRACE_SECONDS = 60


def holder_prefix(output: Path) -> str:
    """How the holders of ``output``'s builds are named (hidden, beside it)."""
    return f".{output.name}-building-"


@dataclass
class StagedOutput:
    """Where a build writes: ``scratch`` for itself, ``staging`` for the new output."""

    target: Target
    output: Path
    holder: Path

    @property
    def staging(self) -> Path:
        return self.holder / self.target.kind

    @property
    def scratch(self) -> Path:
        return self.holder / "scratch"

    def commit(self) -> None:
        """Mark the staging folder as an output of its target and swap it in."""
        (self.staging / self.target.marker).write_text(f"voxlite {voxlite.__version__}\n")
        previous = self.holder / PREVIOUS
        if self.output.exists():
            self.output.rename(previous)
        try:
            self.staging.rename(self.output)
        except OSError:
            if previous.exists():
                previous.rename(self.output)
            raise


@contextlib.contextmanager
def staged_output(
    target: Target, output: Path, log: Callable[[str], None] = print
) -> Iterator[StagedOutput]:
    """A fresh holder beside ``output`` for one build; deleted when the block ends.

    Parameters
    ----------
    target : Target
        The kind of output (its marker, its error).
    output : Path
        The folder the build replaces: it must be absent, empty, or an output of
        ``target`` (it holds the marker).
    log : callable
        Told what leftovers of earlier builds were cleaned.

    Examples
    --------
    >>> import tempfile
    >>> from voxlite.builder.steps import BuildError
    >>> out = Path(tempfile.mkdtemp()) / "out"
    >>> with staged_output(Target("demo", ".demo", BuildError), out) as staged:
    ...     staged.staging.mkdir()
    ...     staged.commit()
    >>> sorted(p.name for p in out.iterdir()), sorted(p.name for p in out.parent.iterdir())
    (['.demo'], ['out'])
    """
    output = Path(output).resolve()
    check_output(target, output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        recover_leftovers(target, output, log)
        holder = Path(tempfile.mkdtemp(prefix=holder_prefix(output), dir=output.parent))
    except OSError as error:
        message = f"cannot write the output folder {output}: {error.strerror or error}"
        raise target.error(message) from None
    lock = _lock(holder)
    try:
        with exit_on_signals():
            yield StagedOutput(target, output, holder)
    finally:
        shutil.rmtree(holder, ignore_errors=True)
        if lock is not None:
            lock.close()


def check_output(target: Target, output: Path) -> None:
    """Refuse an output folder that a build must not replace."""
    if output.exists() and not output.is_dir():
        raise target.error(f"output {output} exists and is not a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / target.marker).exists():
        raise target.error(
            f"refusing to replace {output}: it is not empty and not a voxlite {target.kind} "
            f"(no {target.marker} file); choose another output folder"
        )


def recover_leftovers(target: Target, output: Path, log: Callable[[str], None] = print) -> None:
    """Clean what killed builds of ``output`` left beside it; restore an output they took.

    Examples
    --------
    >>> import tempfile
    >>> from voxlite.builder.steps import BuildError
    >>> out = Path(tempfile.mkdtemp()) / "out"
    >>> (out.parent / ".out-building-x" / PREVIOUS).mkdir(parents=True)
    >>> _ = (out.parent / ".out-building-x" / LOCK).write_text("")  # and nobody holds it
    >>> recover_leftovers(Target("demo", ".demo", BuildError), out)
    restored the previous demo from an interrupted build
    removed .out-building-x, left by an interrupted build
    >>> [p.name for p in out.parent.iterdir()]
    ['out']
    """
    for holder in sorted(output.parent.glob(glob.escape(holder_prefix(output)) + "*")):
        if not holder.is_dir() or _in_use(holder):
            continue
        previous = holder / PREVIOUS
        if previous.is_dir() and not output.exists():
            previous.rename(output)  # killed between the two renames of commit()
            log(f"restored the previous {target.kind} from an interrupted build")
        shutil.rmtree(holder, ignore_errors=True)
        if holder.exists():
            log(f"could not remove {holder}, left by an interrupted build")
        else:
            log(f"removed {holder.name}, left by an interrupted build")


def _lock(holder: Path) -> IO | None:
    """Hold the holder's lock for as long as this process lives (or until closed)."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    stream = open(holder / LOCK, "w")  # noqa: SIM115 - held for the whole build
    fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
    stream.write(f"voxlite build, process {os.getpid()}\n")
    stream.flush()
    return stream


def _in_use(holder: Path) -> bool:
    """Whether a running build owns ``holder`` (its lock is held)."""
    if fcntl is None:  # pragma: no cover - Windows: cannot tell, so never delete
        return True
    try:
        stream = open(holder / LOCK)  # noqa: SIM115
    except FileNotFoundError:
        try:
            return time.time() - holder.stat().st_mtime < UNLOCKED_GRACE_SECONDS
        except FileNotFoundError:
            return True  # gone already: nothing to clean
    with stream:
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False
