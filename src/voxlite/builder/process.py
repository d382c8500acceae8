"""Child processes that never outlive the build that started them.

A build runs ``jupyter lite build`` and ``pip wheel`` as child processes. Killed
or interrupted, the build must take them along, or they go on writing into a
staging folder that the next build deletes:

- each child runs in a process group of its own (``start_new_session``), which
  the build kills whatever way it leaves :func:`run_python_module` (an error,
  Ctrl-C, or the SIGTERM/SIGHUP that :func:`exit_on_signals` turns into an exit);
- and since nothing runs in a process killed with SIGKILL, each child also
  watches a pipe from the build: at its end (the build is gone) the child kills
  its own group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

# Runs `python -m MODULE ARGS` once a thread watches stdin: the pipe ends when the build
# that holds its other end exits, however it exits.
_WATCHED_MODULE = """
import os, runpy, signal, sys, threading

def _orphaned():
    while os.read(0, 4096):  # the raw descriptor: a buffered read would block exiting
        pass
    if hasattr(os, "killpg"):
        os.killpg(0, signal.SIGKILL)
    os._exit(1)

threading.Thread(target=_orphaned, daemon=True).start()
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""

# The signals that stop a build the way Ctrl-C does (SIGHUP: its terminal closed).
EXIT_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def run_python_module(
    module: str, args: Sequence[str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module *args`` in a child that dies with this process.

    Parameters
    ----------
    module : str
        The module to run as ``__main__``.
    args : sequence of str
        Its command-line arguments.
    cwd : Path, optional
        Its working folder.

    Returns
    -------
    subprocess.CompletedProcess
        Its return code, and its output (stdout and stderr together) as ``stdout``.

    Examples
    --------
    >>> run_python_module("platform", ["--terse"]).returncode
    0
    """
    command = [sys.executable, "-c", _WATCHED_MODULE, module, *args]
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as output:
        child = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.PIPE,  # held open until the child is done: see _WATCHED_MODULE
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = child.wait()
        finally:
            _kill_group(child)
            child.stdin.close()
        output.seek(0)
        return subprocess.CompletedProcess(command, returncode, output.read())


def _kill_group(child: subprocess.Popen) -> None:
    """Kill a child that is still running, and whatever it started."""
    if child.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if hasattr(os, "killpg"):
            os.killpg(child.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows: no process groups
            child.kill()
    child.wait()


class _Terminated(SystemExit):
    """SIGTERM or SIGHUP during a build: unwinds it (its finally blocks run), then exits."""


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP exit through the stack, as Ctrl-C does.

    Python's default for them is to die at once, leaving the staging folder and the
    children behind; an exception runs every ``finally`` on its way out instead. Only
    the main thread can set handlers: elsewhere the block runs as it is.

    Examples
    --------
    >>> with exit_on_signals():
    ...     pass
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise _Terminated(128 + signum)

    previous = {signum: signal.signal(signum, terminate) for signum in EXIT_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
