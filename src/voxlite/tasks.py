"""Work that runs in the notebook kernel's event loop, so that the notebook stays usable.

ipykernel runs cells inside its asyncio loop, and JupyterLite's Pyodide kernel runs
tasks between cells on Pyodide's WebLoop: a generator of steps run there, one step
per turn of the loop, leaves the kernel free to handle messages (a slider moved, a
new cell) in between. Outside a kernel the steps simply run to their end.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator


def kernel_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the Jupyter kernel this runs in; None outside a kernel.

    ipykernel runs cells inside its event loop, and JupyterLite's Pyodide kernel
    runs tasks between cells on its WebLoop. Other running loops (Playwright's, a
    script's) are not the notebook's: there a level is computed at once.
    """
    if sys.platform == "emscripten":
        # JupyterLite's kernel; elsewhere in Pyodide (the app's worker, which answers
        # the page call by call) nothing would send a level computed later.
        return asyncio.get_event_loop() if "pyodide_kernel" in sys.modules else None
    ipython = sys.modules.get("IPython")
    if ipython is None or getattr(ipython.get_ipython(), "kernel", None) is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def start_in_kernel(steps: Iterator[None]) -> asyncio.Task | None:
    """Run ``steps`` in the kernel's event loop, yielding to it between steps, so that
    the notebook stays usable while a level loads; outside a kernel, to the end now."""
    loop = kernel_loop()
    if loop is None:
        for _ in steps:
            pass
        return None
    return loop.create_task(drain(steps))


async def drain(steps: Iterator[None]) -> None:
    try:
        for _ in steps:
            await asyncio.sleep(0)
    except Exception:  # the steps report their own errors (Viewer._refine shows them)
        return
