"""A build is a sequence of small named steps, as jupyterlite-core's addons are.

Each step is one function over the target's build state (its options, its
folders, what earlier steps made). :func:`run_steps` runs them in order with
progress (``[3/8] contents …``, then how long it took) and turns a failure into
the target's error, naming the step.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

State = TypeVar("State")


class BuildError(RuntimeError):
    """A build cannot be made as asked; the message says why and what to do."""


# What a step may raise because of its input or the machine (not a bug): reported as
# "step 'NAME' failed: ...". DistributionError is a ValueError.
STEP_FAILURES = (OSError, ValueError, subprocess.SubprocessError)


@dataclass(frozen=True)
class Target:
    """One kind of build output.

    Parameters
    ----------
    kind : str
        Its name in messages ("site", "app"), and the staging folder's name.
    marker : str
        The file in every output of this kind: only such a folder (or an empty
        one) is ever replaced.
    error : type
        The :class:`BuildError` its builds raise.
    names_packages : bool
        Whether the report lists its Pyodide packages by name (else their number).

    Examples
    --------
    >>> Target("site", ".voxlite-site", BuildError).kind
    'site'
    """

    kind: str
    marker: str
    error: type[BuildError]
    names_packages: bool = False


@dataclass(frozen=True)
class Step(Generic[State]):
    """One unit of a build: a name for the progress, and what it does to the state.

    ``applies`` leaves a step out of a build that does not need it (a site whose
    Pyodide stays on its CDN assembles none); its number in the progress stays.
    """

    name: str
    run: Callable[[State], object]
    applies: Callable[[State], bool] = lambda state: True


def run_steps(
    target: Target,
    steps: Sequence[Step[State]],
    state: State,
    log: Callable[[str], None] = print,
) -> None:
    """Run ``steps`` over ``state`` in order, logging progress.

    Parameters
    ----------
    target : Target
        Whose error a failure becomes.
    steps : sequence of Step
        The build, in order.
    state : object
        What the steps read and fill in.
    log : callable
        Receives each progress line.

    Examples
    --------
    >>> made = []
    >>> run_steps(Target("demo", ".demo", BuildError),
    ...           [Step("one", made.append), Step("two", made.append)], "x", log=lambda _: None)
    >>> made
    ['x', 'x']
    """
    for number, step in enumerate(steps, 1):
        if not step.applies(state):
            continue
        started = time.monotonic()
        log(f"[{number}/{len(steps)}] {step.name} …")
        try:
            step.run(state)
        except target.error:
            raise
        except BuildError as error:  # a shared helper's error, as this target's
            raise target.error(str(error)) from error
        except STEP_FAILURES as error:
            raise target.error(f"step '{step.name}' failed: {error}") from error
        log(f"      {step.name}: done in {time.monotonic() - started:.1f} s")
