"""Reading hostile files in a child process, under a memory cap and time limits.

A reader that hangs (a FIFO) or balloons (a decompression bomb) must not take the
test suite down with it: the reads run in one child whose address space is capped
(``RLIMIT_AS``), each under an alarm, and the child is killed if it outlives them
all. For each read the child reports how it ended, how long it took and how much
memory it took: the tracemalloc peak (Python and numpy allocations) and the rise
of the resident set's high-water mark, both above what was held before the read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, math, os, resource, signal, sys, time, tracemalloc
import numpy, nibabel, nrrd, pydicom, tifffile  # imported before the cap and the clocks
import voxlite
from voxlite import ImageIOError, read_image

request = json.loads(sys.argv[1])
try:
    import zarr  # noqa: F401 (optional)
except ImportError:
    pass
if any(read["view"] for read in request["reads"]):
    import voxlite.widget  # noqa: F401 (anywidget, ipywidgets)


class TimedOut(BaseException):  # not an OSError: no reader may turn it into an ImageIOError
    pass


def alarm(signum, frame):
    raise TimedOut()


def rss_high_water():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


signal.signal(signal.SIGALRM, alarm)
with open("/proc/self/statm") as statm:
    address_space = int(statm.read().split()[0]) * resource.getpagesize()
cap = address_space + request["memory"]
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
tracemalloc.start()
for read in request["reads"]:
    tracemalloc.reset_peak()
    held = tracemalloc.get_traced_memory()[0]
    before = rss_high_water()
    start = time.perf_counter()
    signal.alarm(math.ceil(read["timeout"]))
    try:
        if read.get("code"):  # the harness's own test: code that blocks or balloons
            exec(read["code"], {})
            outcome, message = "done", ""
        else:
            image = read_image(read["source"], **read["options"])
            if read["view"]:
                voxlite.view(image)
            outcome, message = "Image", repr(image.shape)
            del image
    except ImageIOError as error:
        outcome, message = "ImageIOError", error.reason
    except TimedOut:
        outcome, message = "timeout", f"still reading after {read['timeout']} s"
    except BaseException as error:  # what the tests are there to catch: report it
        outcome, message = type(error).__name__, str(error)[:300]
    finally:
        signal.alarm(0)
    result = {
        "outcome": outcome,
        "message": message,
        "seconds": time.perf_counter() - start,
        "traced_peak": tracemalloc.get_traced_memory()[1] - held,
        "rss_peak": max(rss_high_water() - before, 0),
    }
    print(json.dumps(result), flush=True)
os._exit(0)  # a reader thread still blocked (on a FIFO) must not hold the exit
"""

SRC = Path(__file__).resolve().parents[1] / "src"


def read(source, *, timeout: float = 10.0, view: bool = False, **options) -> dict:
    """One read for :func:`read_in_child`: ``read_image(source, **options)`` (then ``view``).

    ``source`` is a path, or a list of paths (DICOM files).
    """
    source = [str(p) for p in source] if isinstance(source, list) else str(source)
    return {"source": source, "options": options, "timeout": timeout, "view": view}


def read_in_child(reads: list[dict], memory: int = 512 << 20) -> list[dict]:
    """Run the :func:`read` requests one after the other in a child capped to ``memory``
    bytes above what its imports took.

    Returns one report per read: ``outcome`` ("Image", "ImageIOError", another
    exception's name, "timeout", or "lost" when the child died before it), ``message``,
    ``seconds``, ``traced_peak`` and ``rss_peak`` (bytes).
    """
    request = {"reads": reads, "memory": memory}
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MiB of address space per arena
    }
    command = [sys.executable, "-c", CHILD, json.dumps(request)]
    limit = sum(r["timeout"] for r in reads) + 60  # imports, and every read to its alarm
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, env=env)
        out, err = done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        out, err = expired.stdout or "", expired.stderr or ""
        out, err = [x.decode() if isinstance(x, bytes) else x for x in (out, err)]
    reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    lost = {"outcome": "lost", "message": err[-2000:], "seconds": float("nan")}
    return reports + [lost] * (len(reads) - len(reports))
