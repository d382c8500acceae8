"""One build of one target: the options every target has, the state its steps fill in,
and :func:`build_target`, which runs the steps in a staged output and reports."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from voxlite.builder.files import MAX_FILES_BYTES
from voxlite.builder.report import BuildReport, size_report
from voxlite.builder.staging import StagedOutput, staged_output
from voxlite.builder.steps import Step, Target, run_steps


@dataclass(kw_only=True)
class BuildOptions:
    """What every target takes; paths are checked before anything is built.

    Parameters
    ----------
    output : Path
        The folder to build; replaced only if empty or an output of the same target.
    files : list of Path
        Data files and folders to publish (see :mod:`voxlite.builder.files`).
    demo : bool
        Whether the demo data (and, for a site, notebook) goes in.
    pyodide : str
        "offline" (the fetched cache), a Pyodide folder or a release tarball
        (a site also takes "cdn").
    voxlite_wheel : Path, optional
        voxlite's wheel; by default built from this source tree.
    max_files_bytes : int
        The most ``files`` may weigh together.

    Examples
    --------
    >>> BuildOptions(output=Path("out")).max_files_bytes == 1 << 30
    True
    """

    output: Path
    files: list[Path] = field(default_factory=list)
    demo: bool = True
    pyodide: str = "offline"
    voxlite_wheel: Path | None = None
    max_files_bytes: int = MAX_FILES_BYTES


@dataclass
class BuildState:
    """What the steps of one build share: its options and folders, and what they made."""

    options: Any
    staged: StagedOutput
    log: Callable[[str], None] = print
    wheels: list[Any] = field(default_factory=list)  # voxlite.site.pyodide.Wheel
    pyodide_packages: list[str] = field(default_factory=list)


State = TypeVar("State", bound=BuildState)

# The last step of every build: the new output takes the old one's place.
REPLACE = Step("replace", lambda state: state.staged.commit())


def build_target(
    target: Target,
    steps: Sequence[Step[State]],
    new_state: Callable[[Any, StagedOutput, Callable[[str], None]], State],
    options: BuildOptions,
    log: Callable[[str], None] = print,
) -> BuildReport:
    """Run ``steps`` in a staged output for ``options.output``; report what was built.

    Parameters
    ----------
    target : Target
        The kind of output.
    steps : sequence of Step
        The build, ending with :data:`REPLACE`.
    new_state : callable
        Makes the steps' state from the options, the staged output and ``log``.
    options : BuildOptions
        What to build.
    log : callable
        Receives the progress lines.

    Examples
    --------
    >>> import tempfile
    >>> from voxlite.builder.steps import BuildError
    >>> demo = Target("demo", ".demo", BuildError)
    >>> write = Step("write", lambda s: s.staged.staging.mkdir())
    >>> out = Path(tempfile.mkdtemp()).resolve() / "out"
    >>> quiet = lambda line: None
    >>> report = build_target(demo, [write, REPLACE], BuildState, BuildOptions(output=out), quiet)
    >>> report.output == out, sorted(p.name for p in out.iterdir())
    (True, ['.demo'])
    """
    started = time.monotonic()
    with staged_output(target, options.output, log) as staged:
        state = new_state(options, staged, log)
        run_steps(target, steps, state, log)
    total, largest, sent, sent_parts = size_report(staged.output)
    return BuildReport(
        target,
        staged.output,
        total,
        largest,
        state.pyodide_packages,
        [wheel.name for wheel in state.wheels],
        time.monotonic() - started,
        sent,
        sent_parts,
    )


def check_paths(target: Target, kind: str, paths: Sequence[Path]) -> None:
    """Raise the target's error naming the first of ``paths`` that does not exist."""
    for path in paths:
        if not Path(path).exists():
            raise target.error(f"{kind} not found: {path}")
